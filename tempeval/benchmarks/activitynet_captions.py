"""ActivityNet Captions (Krishna et al. 2017) as sentence grounding: each (sentence, timestamp) is one query.

Annotations: ``val_1.json`` / ``val_2.json`` from the densevid ``captions.zip``, schema
``{"v_<youtube_id>": {"duration": 55.15, "timestamps": [[0.28, 55.15], ...], "sentences": ["...", ...]}}``.
Videos: ``<videos>/v_<youtube_id>.mp4``.

Papers ground on val_2, val_1 or both, so the split is part of the task: ``activitynet_captions_val1`` and
``activitynet_captions_val2`` (the run header names the task; every record's meta carries ``split``).
A reversed ground-truth window is swapped (as E.T. Chat does); windows are not clipped to the duration.
Scoring as Charades-STA: R1@0.3/0.5/0.7 and mIoU, official mode = TimeChat's parser (see
:mod:`tempeval.benchmarks.grounding`).

Dense captioning (a task of kind ``dense_captioning``, ``activitynet_captions_dense_val1`` / ``_val2``): one sample
per video (id = the video), its target every (window, sentence) of the split as events, scored by the ActivityNet
dense-captioning protocol (``tempeval.scoring.dense``: densevid ``evaluate.py``). Two differences from that script,
said here so figures are compared knowingly: the script can take val_1 and val_2 together (per video the best
precision and recall over the two reference files, caption pairs pooled over both), while each task here scores
against one file; and the script's unmatched-prediction stand-in is unseeded random text, seeded here (it scores
about 0 either way). A reversed ground-truth window is swapped with a warning, as for grounding.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempeval.benchmarks.grounding import check_window, split_file
from tempeval.data import convert_records, read_json, require, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring.events import Event
from tempeval.task import Task
from tempeval.types import Sample, VideoRef

if TYPE_CHECKING:
    from tempeval.importing import SamplesOf

SPLIT_FILES = {"val_1": "val_1.json", "val_2": "val_2.json"}


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """Every (sentence, window) of the split's videos, in file order; ids are ``<video>#<sentence index>``."""
    split, name = split_file(task, dataset, SPLIT_FILES)
    path = require(dataset, options, [name])[name]
    raw = read_json(path)
    if not isinstance(raw, dict):
        raise TempevalError(
            f"{path}: expected {{\"v_<id>\": {{\"duration\", \"timestamps\", \"sentences\"}}}} (densevid "
            "captions.zip); re-download it."
        )
    videos = video_dir(dataset, options)
    items = ((f"video {video}", (video, record)) for video, record in raw.items())
    convert = _dense_sample if task.kind == "dense_captioning" else _samples
    return convert_records(path, items, lambda _, item: convert(item[0], item[1], split, path, videos))


def _fields(video: str, record: Any, path: Path) -> tuple[float, list[Any], list[Any]]:
    """A video record's duration, windows and sentences, checked (one window per sentence)."""
    where = f"{path}: video {video}"
    try:
        duration, windows, sentences = float(record["duration"]), record["timestamps"], record["sentences"]
    except (KeyError, TypeError, ValueError) as exc:
        raise TempevalError(
            f"{where}: needs duration, timestamps and sentences ({type(exc).__name__}: {exc}); re-download the file."
        ) from None
    if not isinstance(windows, list) or not isinstance(sentences, list) or len(windows) != len(sentences):
        raise TempevalError(
            f"{where}: 'timestamps' and 'sentences' must be lists of the same length (one window per sentence); "
            "re-download the file."
        )
    return duration, windows, sentences


def _samples(video: str, record: Any, split: str, path: Path, videos: Path) -> list[Sample]:
    duration, windows, sentences = _fields(video, record, path)
    where = f"{path}: video {video}"
    return [
        Sample(
            id=f"{video}#{index}",
            kind="grounding",
            question=str(sentence).strip(),
            video=VideoRef(str(videos / f"{video}.mp4")),
            target=_ordered(check_window(window, f"{where}, sentence {index}"), f"{where}, sentence {index}"),
            meta={"video_id": video, "split": split, "duration": duration, "sentence_index": index},
        )
        for index, (window, sentence) in enumerate(zip(windows, sentences, strict=True))
    ]


def _dense_sample(video: str, record: Any, split: str, path: Path, videos: Path) -> Sample:
    """One video with all its (window, sentence) pairs as target events, in file order."""
    duration, windows, sentences = _fields(video, record, path)
    where = f"{path}: video {video}"
    events = []
    for i, (window, sentence) in enumerate(zip(windows, sentences, strict=True)):
        start, end = _ordered(check_window(window, f"{where}, sentence {i}"), f"{where}, sentence {i}")
        events.append(Event(start, end, str(sentence).strip()))
    return Sample(
        id=video,
        kind="dense_captioning",
        question="Localize every event in the video and describe each in one sentence.",
        video=VideoRef(str(videos / f"{video}.mp4")),
        target=tuple(events),
        meta={"video_id": video, "split": split, "duration": duration, "events": len(events)},
    )


def _ordered(window: list[float], where: str) -> list[float]:
    """The window, a reversed one swapped as E.T. Chat does, with a warning naming the record."""
    if window[0] <= window[1]:
        return window
    warnings.warn(
        f"{where}: window {window} starts after it ends; swapped to {sorted(window)} as the official evaluation "
        "does. Fix the record if that is not the intended moment.",
        UserWarning,
        stacklevel=2,
    )
    return sorted(window)


def import_predictions(paths: Sequence[Path], samples_of: SamplesOf) -> dict[str, dict[str, str | None]]:
    """densevid submission files as the dense-captioning runs of both splits (val_1 and val_2 share videos)."""
    from tempeval.benchmarks.densevid import import_submissions

    return import_submissions(paths, samples_of, [f"activitynet_captions_dense_{s}" for s in SPLIT_FILES])
