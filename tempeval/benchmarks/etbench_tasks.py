"""E.T. Bench wired into tasks: its loader, the per-sample official scorer and the set-level official metric.

The readers and metrics themselves are :mod:`tempeval.benchmarks.etbench` (rules 1-14 there); this module only
maps between its records and tempeval's samples, rows and scores.

- Data: ``annotations/etbench_txt_v1.0.json`` (a list of records; the ``<vid>`` variant is refused, rule 1) and, for
  the 470-sample subset of the paper's commercial models (dataset ``etbench_subset``, its own task group),
  ``evaluation/subset.json``. Videos: ``<videos>/<record video>``; the dataset's ``videos`` option names the copy
  (the docs recommend the 3 fps / 224 px re-encode, ``videos_compressed``) and every sample's ``meta.video_copy``
  records which one was read.
- One task per E.T. Bench task code (``etbench_rar`` ... ``etbench_gvq``), samples in file order, id
  ``<source>-<idx>``. The prompt is the record's own ``q``. Its target, in tempeval's terms: the right option's
  letter (RAR, ECA, RVQ, GVQ), the target windows (TVG, EPM, TAL, EVS, VHD, TEM) or the events (DVC, SLC); the record
  itself (windows, options, captions) is in ``meta.etbench`` so the official metric can rebuild it.
- Scoring: ``strict`` is tempeval's parser for the answer format (letter, window, events); ``official``
  (:func:`official`) gives each sample its own share of the script's figure (choice right, first-window IoU, TAL F1
  at 0.5, EVS F1, VHD hit, DVC localisation F1 at 0.5; an answer the script cannot read is unparseable). The
  official figures are set-level (DVC scales by the parse rate, EVS leaves unparsed answers out), so the metric
  :func:`metrics` recomputes them from the outputs per (task, source) and reports the script's per-task mean over
  sources, plus each source's figures as ``<metric>[<source>]``; they have no bootstrap interval. SentSim, which
  needs a local sentence-embedding model, is NaN with n = 0 when there is none (the nearest-option step of the
  choice readers likewise: such answers are counted wrong, a lower bound).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tempeval.benchmarks import etbench
from tempeval.data import annotation_files, convert_records, read_json, require, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring.dense import localisation
from tempeval.scoring.metrics import MetricValue, Row
from tempeval.scoring.multi_window import f1, window_set_f1
from tempeval.scoring.scorers import Reference
from tempeval.task import Task
from tempeval.types import Sample, Score, TaskKind, VideoRef

ANNOTATIONS = "annotations/etbench_txt_v1.0.json"
VID_VARIANT = "annotations/etbench_vid_v1.0.json"
SUBSET_FILE = "evaluation/subset.json"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
KINDS: dict[str, TaskKind] = {
    **dict.fromkeys(("rar", "eca", "rvq", "gvq"), "multiple_choice"),
    **dict.fromkeys(("tvg", "epm", "tal", "evs", "vhd", "tem"), "grounding"),
    **dict.fromkeys(("dvc", "slc"), "dense_captioning"),
}
"""Each E.T. Bench task's tempeval kind."""
COUNTS = ("Total", "Failed", "NeedSimilarity")
"""The script's counts: tempeval reports them as its own n and parse-failure rate, not as metrics."""


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """The records of the task's E.T. Bench task code (``subset``), restricted to ``subset.json`` when the dataset
    says ``subset_file``."""
    code = task.subset
    if code not in etbench.TASKS:
        raise TempevalError(f"{task.source_file}: subset must be an E.T. Bench task ({', '.join(etbench.TASKS)}).")
    name = next((f for f in annotation_files(dataset) if f.startswith("annotations/")), ANNOTATIONS)
    if name.endswith(VID_VARIANT.rsplit("/", 1)[-1]):
        raise TempevalError(
            f"{dataset.name}: {name} is the <vid>-token variant, whose timestamps are hidden as <vid> tokens for "
            f"models like E.T. Chat; tempeval scores answers given as text. Use {ANNOTATIONS}."
        )
    subset_file = dataset.options.get("subset_file")
    wanted = [name] + ([str(subset_file)] if subset_file else [])
    paths = require(dataset, options, wanted)
    raw = read_json(paths[name])
    if not isinstance(raw, list):
        raise TempevalError(f"{paths[name]}: expected a JSON list of E.T. Bench records; re-download it.")
    chosen: Mapping[str, Mapping[str, Sequence[int]]] | None = None
    if subset_file:
        chosen = read_json(paths[str(subset_file)])
        if not isinstance(chosen, dict):
            raise TempevalError(
                f"{paths[str(subset_file)]}: expected {{task: {{source: [idx, ...]}}}}; re-download it."
            )
    videos = video_dir(dataset, options)
    copy = str(dataset.options.get("videos", "videos"))
    items = (
        (f"record {i}", item) for i, item in enumerate(raw) if isinstance(item, dict) and item.get("task") == code
    )

    def convert(where: str, item: Any) -> list[Sample]:
        record = etbench.parse_etbench_record(item, f"{paths[name]}: {where}")
        if chosen is not None and not etbench.in_subset(record, chosen):
            return []
        return [_sample(record, videos, copy)]

    return convert_records(paths[name], items, convert)


def _target(record: etbench.EtbenchRecord) -> Any:
    if record.task in ("rar", "eca", "rvq", "gvq"):
        return LETTERS[record.correct or 0]
    if record.task in ("dvc", "slc"):
        return [[s, e, c] for (s, e), c in zip(record.target_windows, record.captions, strict=True)]
    if record.task in ("tvg", "epm"):
        return list(record.target_windows[0])
    return [list(w) for w in record.target_windows]


def _sample(record: etbench.EtbenchRecord, videos: Any, copy: str) -> Sample:
    stored = {
        "task": record.task, "source": record.source, "idx": record.idx, "video": record.video,
        "duration": record.duration, "windows": [list(w) for w in record.target_windows],
        "options": list(record.options), "correct": record.correct, "captions": list(record.captions),
    }
    return Sample(
        id=f"{record.source}-{record.idx}",
        kind=KINDS[record.task],
        question=record.question,
        video=VideoRef(str(videos / record.video)),
        choices=record.options if record.task in ("rar", "eca", "rvq", "gvq") else (),
        target=_target(record),
        meta={"video_id": record.video, "task": record.task, "source": record.source, "video_copy": copy,
              "etbench": stored},
    )


def _record(stored: Mapping[str, Any], answer: str | None) -> etbench.EtbenchRecord:
    return etbench.EtbenchRecord(
        idx=int(stored["idx"]), task=str(stored["task"]), source=str(stored["source"]), video=str(stored["video"]),
        duration=float(stored["duration"]), question="",
        target_windows=tuple((float(s), float(e)) for s, e in stored["windows"]),
        options=tuple(stored["options"]), correct=stored["correct"], captions=tuple(stored["captions"]),
        answer=answer,
    )


def _stored(meta: Mapping[str, Any], sample_id: str) -> Mapping[str, Any]:
    stored = meta.get("etbench")
    if not isinstance(stored, Mapping):
        raise TempevalError(
            f"Sample {sample_id!r} has no meta.etbench (the E.T. Bench record); it was not loaded by the etbench "
            "loader, so the official E.T. Bench scorer cannot score it."
        )
    return stored


def official(output: str, reference: Reference) -> Score:
    """One sample's share of the official figure (module docstring); unreadable answers are unparseable."""
    record = _record(_stored(reference.meta, reference.sample_id), output)
    task = record.task
    if task in ("rar", "eca", "rvq", "gvq"):
        read = (etbench.read_gvq_choice if task == "gvq" else etbench.read_choice)(output, record.options, None)
        if read.index is None:
            return Score(0.0, None, parsed=False, explanation="no option letter (the script's embedding step)")
        letter = LETTERS[read.index]
        return Score(float(read.index == record.correct), letter, explanation="")
    if task == "vhd":
        moment = etbench.vhd_moment(output)
        if moment is None:
            return Score(0.0, None, parsed=False, explanation="no number")
        return Score(float(any(s <= moment <= e for s, e in record.target_windows)), moment)
    if task in ("dvc", "slc"):
        parsed = etbench.parse_dense(output)
        if not parsed.ok:
            return Score(0.0, None, parsed=False, explanation=parsed.reason)
        target = etbench.dense_target(record)
        precision, recall = localisation(parsed.answer, target, 0.5)
        return Score(f1(precision, recall), [e.to_json() for e in parsed.answer])
    parsed = etbench.parse_windows(output)
    if not parsed.ok:
        return Score(0.0, None, parsed=False, explanation=parsed.reason)
    windows = [tuple(w) for w in parsed.answer]
    if task == "tal":
        value = window_set_f1(windows, record.target_windows, 0.5, etbench.iou_float32)
    elif task == "evs":
        value = etbench.evs_f1([record])["F1"]
    else:
        value = max(etbench.iou_float32(windows[0], t) for t in record.target_windows)
    return Score(float(value), [list(w) for w in windows])


def metrics(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """The script's figures: each figure's mean over sources (as its summary averages the headline), and each
    source's figures as ``<figure>[<source>]`` (module docstring)."""
    records = [_record(_stored(r.meta, r.sample_id), "" if r.error or r.output is None else r.output) for r in rows]
    sentsim = etbench.local_sentence_similarity()
    models = etbench.SimilarityModels(captions=None if isinstance(sentsim, str) else sentsim)
    scores = etbench.score_all(records, models)
    sizes: dict[tuple[str, str], int] = {}
    for record in records:
        sizes[record.group] = sizes.get(record.group, 0) + 1
    figures = {group: {k: float(v) for k, v in f.items() if k not in COUNTS and isinstance(v, (int, float))}
               for group, f in scores.items()}
    out: dict[str, MetricValue] = {}
    for task in sorted({task for task, _ in scores}):
        groups = [group for group in figures if group[0] == task]
        n = sum(sizes[group] for group in groups)
        shared = [name for name in figures[groups[0]] if all(name in figures[g] for g in groups)]
        out.update({name: MetricValue(100.0 * sum(figures[g][name] for g in groups) / len(groups), None, n)
                    for name in shared})
        if etbench.TASKS[task] == "dense captioning" and "SentSim" not in shared:
            out["SentSim"] = MetricValue(math.nan, None, 0)  # no local sentence-embedding model: reported missing
    for (_, source), values in figures.items():
        size = sizes[(_, source)]
        out.update({f"{name}[{source}]": MetricValue(100.0 * v, None, size) for name, v in values.items()})
    return out
