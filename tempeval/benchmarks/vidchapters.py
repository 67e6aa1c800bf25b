"""VidChapters-7M (Yang et al., NeurIPS 2023 D&B; antoyang/VidChapters): chapter generation and chapter grounding.

Annotations, as the repository's ``preproc/chapters_to_dvc.py`` and ``preproc/chapters_to_vmr.py`` (commit
fa3900c6) write them from ``chapters.pkl``:

- ``chapters_dvc_{val,test}.json``: ``{"<youtube_id>": {"duration", "timestamps": [[s, e], ...], "sentences": [...],
  "path"}}`` (the ActivityNet Captions schema). Chapter generation (``vidchapters_generation_{val,test}``, kind
  ``dense_captioning``): one sample per video, its chapters as events, scored by the densevid protocol the repository
  ships (``dvc_eval/eval_dvc.py``, tIoU 0.3/0.5/0.7/0.9) and SODA_c: ``tempeval.scoring.dense``.
- ``chapters_vmr_{val,test}.json``: JSON lines ``{"qid", "query", "vid", "duration", "split", "relevant_windows":
  [[s, e]]}``, one query per chapter title, ``vid`` = a per-video counter prepended to the YouTube id ("0abc..."), so
  the video is the id without that counter (YouTube ids are 11 characters). Chapter grounding
  (``vidchapters_grounding_{val,test}``, kind ``grounding``): one sample per query.

Grounding metric (:func:`grounding_recall`, the repository's ``zs_vcgr.py`` ``evaluate_predictions``): ``R@t`` =
share of queries whose first predicted window has tIoU ``> t`` (strictly; tIoU = intersection / (union + 1e-8),
union capped at the two lengths' sum) at t = 0.3, 0.5, 0.7, 0.9, and ``R@Ns`` = share whose predicted start is
less than N seconds from the true start, N = 1, 3, 5, 10; an unparseable answer counts as a miss. Videos:
``<videos>/<youtube_id>.mp4``.

Differential check (scratch folder, ``zs_vcgr.py``'s ``evaluate_predictions``): 2,000 random query sets with
windows exactly at each threshold and starts exactly 1-10 s off: 0 disagreements in the 8 figures. Chapter
generation was checked with the dense-captioning protocol against ``dvc_eval/eval_dvc.py`` (``tempeval.scoring.dense``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempeval.benchmarks.grounding import check_window, checked_events
from tempeval.data import convert_records, read_json, read_jsonl, require, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring.dense import official_tiou
from tempeval.scoring.events import Event
from tempeval.scoring.metrics import MetricValue, Row, Unit, ratio
from tempeval.task import Task
from tempeval.types import Sample, VideoRef

if TYPE_CHECKING:
    from tempeval.importing import SamplesOf

SPLITS = ("val", "test")
TIOU_THRESHOLDS = (0.3, 0.5, 0.7, 0.9)
START_DISTANCES_S = (1, 3, 5, 10)
YOUTUBE_ID = 11
GENERATION_QUESTION = "Split the video into chapters: give each chapter's start and end and a short chapter title."


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """Chapter generation (one sample per video) or chapter grounding (one per chapter title), by the task's kind."""
    split = task.subset or "test"
    if split not in SPLITS:
        raise TempevalError(f"{task.source_file}: VidChapters split {split!r} is not one of {', '.join(SPLITS)}.")
    videos = video_dir(dataset, options)
    if task.kind == "dense_captioning":
        name = f"chapters_dvc_{split}.json"
        path = require(dataset, options, [name])[name]
        raw = read_json(path)
        if not isinstance(raw, dict):
            raise TempevalError(f"{path}: expected {{\"<youtube_id>\": {{duration, timestamps, sentences}}}}.")
        items = ((f"video {video}", (video, record)) for video, record in raw.items())
        return convert_records(path, items, lambda where, item: _chapters(item[0], item[1], split, videos, path))
    name = f"chapters_vmr_{split}.json"
    path = require(dataset, options, [name])[name]
    lines = ((f"line {i + 1}", record) for i, record in enumerate(read_jsonl(path)))
    return convert_records(path, lines, lambda where, record: _query(record, split, videos, f"{path}: {where}"))


def _chapters(video: str, record: Any, split: str, videos: Path, path: Path) -> Sample:
    where = f"{path}: video {video}"
    try:
        duration, windows, titles = float(record["duration"]), record["timestamps"], record["sentences"]
    except (KeyError, TypeError, ValueError) as exc:
        raise TempevalError(f"{where}: needs duration, timestamps and sentences ({exc}); re-download it.") from None
    if not isinstance(windows, list) or not isinstance(titles, list) or len(windows) != len(titles) or not windows:
        raise TempevalError(f"{where}: 'timestamps' and 'sentences' must be non-empty lists of one length.")
    events = checked_events(zip(windows, titles, strict=True), where, "chapter")
    return Sample(
        id=video,
        kind="dense_captioning",
        question=GENERATION_QUESTION,
        video=VideoRef(str(videos / f"{video}.mp4")),
        target=events,
        meta={"video_id": video, "split": split, "duration": duration, "chapters": len(events)},
    )


def youtube_id(vid: str) -> str:
    """The video of a ``chapters_vmr`` ``vid``: the YouTube id after the per-video query counter."""
    return vid[-YOUTUBE_ID:] if re.fullmatch(r"\d+.{11}", vid) else vid


def _query(record: Any, split: str, videos: Path, where: str) -> Sample:
    try:
        qid, query, vid, windows = record["qid"], str(record["query"]), str(record["vid"]), record["relevant_windows"]
    except (KeyError, TypeError) as exc:
        raise TempevalError(f"{where}: needs qid, query, vid and relevant_windows ({exc}); re-download it.") from None
    if not isinstance(windows, list) or len(windows) != 1:
        raise TempevalError(f"{where}: a val/test query has exactly one relevant window, got {windows!r}.")
    video = youtube_id(vid)
    return Sample(
        id=str(qid),
        kind="grounding",
        question=query.strip(),
        video=VideoRef(str(videos / f"{video}.mp4")),
        target=check_window(windows[0], where, ordered=True),
        meta={"video_id": video, "split": split, "duration": record.get("duration")},
    )


def grounding_recall(rows: list[Row] | Any, by: str | None = None) -> dict[str, MetricValue]:
    """``R@t`` (tIoU > t) and ``R@Ns`` (start within N s) of the first predicted window (module docstring)."""
    out: dict[str, MetricValue] = {}
    pairs = [(r, None if r.error or not r.parsed or r.answer is None else r.answer) for r in rows]
    for t in TIOU_THRESHOLDS:
        out[f"R@{t}"] = ratio([Unit(r.cluster, float(a is not None and _tiou(a, r.target) > t)) for r, a in pairs])
    for n in START_DISTANCES_S:
        units = [Unit(r.cluster, float(a is not None and abs(float(a[0]) - float(r.target[0])) < n)) for r, a in pairs]
        out[f"R@{n}s"] = ratio(units)
    return out


def _tiou(answer: Any, target: Any) -> float:
    return official_tiou(Event(float(answer[0]), float(answer[1]), ""), Event(float(target[0]), float(target[1]), ""))


def import_predictions(paths: Sequence[Path], samples_of: SamplesOf) -> dict[str, dict[str, str | None]]:
    """densevid submission files (Vid2Seq, PDVC on VidChapters) as chapter-generation runs of val and test."""
    from tempeval.benchmarks.densevid import import_submissions

    return import_submissions(paths, samples_of, [f"vidchapters_generation_{s}" for s in SPLITS])
