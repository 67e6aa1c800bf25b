"""NExT-GQA (doc-doc/NExT-GQA @ 63772e02; CVPR 2024): visually grounded video QA. Loader, metrics and importer.

Format (``datasets/nextgqa/``): ``{val,test}.csv`` with ``video_id, frame_count, width, height, question, answer
(the option text), qid, type, a0..a4``; ``gsub_{val,test}.json`` = ``{video_id: {duration, location: {qid: [[s, e],
...]}, fps}}``, the evidence windows in seconds (one or several per question); ``map_vid_vidorID.json`` maps a
``video_id`` to its path under the NExT-QA video folder (``<folder>/<video_id>``, read as ``.mp4``). The sample id is
``<video_id>_<qid>``, as the official scripts key it. Only questions with evidence windows are loaded (the csv
files hold no others): val 3,358 questions on 570 videos, test 5,553 on 999 (the paper's counts). The target is the
*first* option equal to the answer text (one test question lists its answer twice). Meta: ``type`` (``CW``, ``CH``,
``TN``, ``TC``, ``TP``), ``video_id``.

Metrics (``code/TempGQA/eval_ground.py`` ``get_tIoU`` / ``eval_ground``, reproduced in :func:`grounded_qa`): per
question, IoU and IoP (intersection over the *predicted* window's length) against every evidence window, each
maximised separately; a zero-length prediction has IoU 0 and IoP 1 when it lies inside the window (0 otherwise);
Acc@GQA counts a question when its answer is right AND its IoP is at least 0.5. Reported: Acc@QA, Acc@GQA, mIoP,
IoP@0.3, IoP@0.5, mIoU, IoU@0.3, IoU@0.5. One quirk is not reproduced: ``eval_ground`` skips a question that has
no prediction at all (it leaves the denominator); in tempeval every question has a record, and an error or an
unreadable answer counts 0 in every metric. Official mode leaves the window unclipped (:mod:`grounded_qa`).

Parity (checked outside the repository against ``eval_ground.py`` at 63772e02): 1,152 windows x evidence sets
(reversed, zero-length, beyond the video), per-question IoU/IoP and ``eval_ground``'s printed line identical. A
negative start time cannot be written in the answer format ("-5 - 12" reads as 5 - 12), the one gap found.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempeval.benchmarks.grounded_qa import evidence_windows, make_target, predicted_window
from tempeval.data import convert_records, read_json, require, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring.metrics import MetricValue, Row, Unit, ratio
from tempeval.scoring.parsers import LETTERS
from tempeval.task import Task
from tempeval.types import Sample, VideoRef

if TYPE_CHECKING:  # pragma: no cover - typing only
    from tempeval.importing import SamplesOf

SPLITS: tuple[str, ...] = ("val", "test")
OPTION_COLUMNS: tuple[str, ...] = ("a0", "a1", "a2", "a3", "a4")
VIDEO_MAP = "map_vid_vidorID.json"
THRESHOLDS: tuple[float, ...] = (0.3, 0.5)
PAPER_COUNTS: dict[str, int] = {"val": 3358, "test": 5553}
"""Questions per split (the paper's, and the annotation files' at 63772e02)."""
GQA_IOP = 0.5
"""Acc@GQA: right answer and IoP at least this."""


def questions_file(split: str) -> str:
    """The questions of one split, relative to the dataset folder."""
    return f"{split}.csv"


def windows_file(split: str) -> str:
    """The evidence windows of one split, relative to the dataset folder."""
    return f"gsub_{split}.json"


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """The grounded questions of one split (``subset``: ``val`` or ``test``).

    Raises:
        TempevalError: an unknown subset, a missing or malformed file (a malformed record is skipped with a warning).
    """
    split = task.subset
    if split not in SPLITS:
        raise TempevalError(
            f"{task.source_file}: task '{task.name}' needs 'subset' set to one of {', '.join(SPLITS)}; got {split!r}."
        )
    paths = require(dataset, options, [questions_file(split), windows_file(split), VIDEO_MAP])
    questions = paths[questions_file(split)]
    windows = read_json(paths[windows_file(split)])
    video_paths = read_json(paths[VIDEO_MAP])
    if not isinstance(windows, dict) or not isinstance(video_paths, dict):
        raise TempevalError(f"{paths[windows_file(split)]} and {paths[VIDEO_MAP]} must each be a JSON object.")
    try:
        with questions.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise TempevalError(f"{questions}: not a readable CSV file ({exc}). Re-download it.") from exc
    videos = video_dir(dataset, options)
    items = [(f"row {number} (video {row.get('video_id')}, qid {row.get('qid')})", row) for number, row in
             enumerate(rows, start=2)]
    return convert_records(
        questions, items, lambda _, row: _sample(questions, row, windows, video_paths, videos, task)
    )


def _sample(
    path: Path, row: dict[str, str], windows: dict[str, Any], video_paths: dict[str, Any], videos: Path, task: Task
) -> list[Sample]:
    video_id, qid = str(row["video_id"]), str(row["qid"])
    located = windows.get(video_id, {}).get("location", {})
    if qid not in located:  # a question without evidence windows is not a grounded question
        return []
    options = tuple(str(row[column]) for column in OPTION_COLUMNS)
    if row["answer"] not in options:
        raise TempevalError(f"{path}: video {video_id}, qid {qid} has answer {row['answer']!r}, not one of its options")
    spans = located[qid]
    if not spans or not all(isinstance(s, list) and len(s) == 2 and s[0] <= s[1] for s in spans):
        raise TempevalError(f"{path}: video {video_id}, qid {qid} has evidence windows {spans!r}, not [[start, end]]")
    relative = video_paths.get(video_id)
    if not isinstance(relative, str):
        raise TempevalError(f"{path}: video {video_id} is not in {VIDEO_MAP}")
    return [
        Sample(
            id=f"{video_id}_{qid}",
            kind=task.kind,
            question=str(row["question"]),
            video=VideoRef(str(videos / f"{relative}.mp4")),
            choices=options,
            target=make_target(LETTERS[options.index(row["answer"])], spans),
            meta={"type": str(row["type"]), "video_id": video_id, "duration": windows[video_id].get("duration")},
        )
    ]


def window_overlap(truth: tuple[float, float], predicted: tuple[float, float]) -> tuple[float, float]:
    """The official ``get_tIoU(loc, span)``: (IoU, IoP) of a prediction against one evidence window."""
    if predicted[0] == predicted[1]:
        return 0.0, 1.0 if truth[0] <= predicted[0] <= truth[1] else 0.0
    union = (min(truth[0], predicted[0]), max(truth[1], predicted[1]))
    intersection = min(truth[1], predicted[1]) - max(truth[0], predicted[0])  # not clamped: max() starts at 0
    iou = intersection / (union[1] - union[0]) if union[1] > union[0] else 0.0
    iop = intersection / (predicted[1] - predicted[0]) if predicted[1] > predicted[0] else 0.0
    return iou, iop


def best_overlap(row: Row) -> tuple[float, float]:
    """(max IoU, max IoP) over the row's evidence windows, each maximised on its own from 0; (0, 0) without a window."""
    predicted = predicted_window(row)
    best_iou, best_iop = 0.0, 0.0
    if predicted is None:
        return best_iou, best_iop
    for truth in evidence_windows(row):
        iou, iop = window_overlap(truth, predicted)
        best_iou, best_iop = max(best_iou, iou), max(best_iop, iop)
    return best_iou, best_iop


def grounded_qa(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """Acc@QA, Acc@GQA (right and IoP ≥ 0.5), mIoP, IoP@θ, mIoU, IoU@θ over every question."""
    overlaps = [(row, *best_overlap(row)) for row in rows]
    out = {
        "Acc@QA": ratio([Unit(r.cluster, r.value) for r, _, _ in overlaps]),
        "Acc@GQA": ratio([Unit(r.cluster, float(r.value >= 1.0 and iop >= GQA_IOP)) for r, _, iop in overlaps]),
        "mIoP": ratio([Unit(r.cluster, iop) for r, _, iop in overlaps]),
    }
    out.update({f"IoP@{t}": ratio([Unit(r.cluster, float(iop >= t)) for r, _, iop in overlaps]) for t in THRESHOLDS})
    out["mIoU"] = ratio([Unit(r.cluster, iou) for r, iou, _ in overlaps])
    out.update({f"IoU@{t}": ratio([Unit(r.cluster, float(iou >= t)) for r, iou, _ in overlaps]) for t in THRESHOLDS})
    return out


def import_predictions(paths: Sequence[Path], samples_of: SamplesOf) -> dict[str, dict[str, str | None]]:
    """Import official result pairs: ``<split>-res.json`` (``{"<video>_<qid>": {"answer", "prediction"}}``, option
    indices) with the ``<split>_ground*.json`` beside it (``{"<video>_<qid>": [start, end]}``, seconds).

    Each pair becomes one output ``"<letter>, <start> - <end>"`` per question; a question missing from either
    file gets no output (it runs as missing). Every ``answer`` is checked against the annotations.

    Raises:
        TempevalError: a file name outside that layout, an unknown question, or an answer that disagrees.
    """
    imported: dict[str, dict[str, str | None]] = {}
    answers = [p for p in paths if p.name.endswith("-res.json")]
    grounds = [p for p in paths if "_ground" in p.name and p.suffix == ".json"]
    stray = [str(p) for p in paths if p not in answers and p not in grounds]
    if stray or len(answers) != len(grounds):
        raise TempevalError(
            f"NExT-GQA results come in pairs: <split>-res.json (answers) and <split>_ground*.json (windows), "
            f"one pair per split; got {', '.join(str(p) for p in paths)}."
        )
    for answer_path in answers:
        split = answer_path.name.removesuffix("-res.json")
        ground_path = next((p for p in grounds if p.name.startswith(f"{split}_ground")), None)
        if split not in SPLITS or ground_path is None:
            raise TempevalError(f"{answer_path}: no {split}_ground*.json given beside it (split one of val, test).")
        name = f"nextgqa_{split}"
        samples = {sample.id: sample for sample in samples_of(name)}
        results, spans = read_json(answer_path), read_json(ground_path)
        outputs = imported.setdefault(name, {})
        for key, result in dict(results).items():
            sample = samples.get(str(key))
            if sample is None:
                raise TempevalError(f"{answer_path}: question {key!r} is not in the {split} annotations.")
            if LETTERS[int(result["answer"])] != sample.target[0]:
                raise TempevalError(
                    f"{answer_path}: question {key} has answer {result['answer']} where the annotations give option "
                    f"{sample.target[0]}: the results were made from other annotation files."
                )
            span = spans.get(str(key))
            if span is not None:
                outputs[sample.id] = f"{LETTERS[int(result['prediction'])]}, {float(span[0])} - {float(span[1])}"
    return imported
