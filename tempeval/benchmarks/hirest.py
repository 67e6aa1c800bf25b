"""HiREST (Zala et al., CVPR 2023; j-min/HiREST): moment retrieval and moment segmentation.

Annotations (the repository's ``data/``, commit deffc169):

- ``data/splits/all_data_{val,test}.json``: ``{"<query>": {"<video>.mp4": {"relevant", "clip", "v_duration",
  "bounds": [s, e], "steps": [...]}}}``. Moment retrieval (``hirest_moment_retrieval_{val,test}``, kind
  ``grounding``): one sample per (query, video) whose ``clip`` is true, as ``evaluate.py`` scores only those; id
  ``<video>|<query>``. Metric :func:`moment_recall` (``evaluate_moment_retrieval``): ``R@0.5`` / ``R@0.7`` = share
  with IoU ``>= t``, IoU = intersection / (union + 1e-8), union capped at the two lengths' sum; unparseable = miss.
  The test file keeps its quirks (some clippable moments are ``[0, 1]``), as the official numbers do.
- ``data/evaluation/formatted_moment_evaluation_gt.json``: ``{"<video>.mp4": {"captions": [{"start", "end",
  "sentence"}], "bounds": [[s, e], ...]}}``, the file ``evaluate.py`` scores moment segmentation and step captioning
  against. Moment segmentation (``hirest_moment_segmentation``, kind ``dense_captioning``): one sample per video,
  the frames taken from the moment (first step start to last step end), the steps as events. Metric
  :func:`segmentation` (``compute_step_bound_scores`` after ``--preprocess_moment_bounds``, as the README runs it):
  predicted windows strictly inside the moment are kept, non-maximum suppressed (the script's pixel-box NMS, where
  even touching windows suppress each other), and the gaps filled so they tile the moment; then per video recall =
  share of steps with some prediction at IoU ``> t`` and precision = share of predictions with some step so, t = 0.5
  and 0.7, averaged over videos. ``raw`` figures skip the preprocessing. A video without predictions scores 0 (the
  script reads the previous video's count there, or crashes on the first). Step captioning: the ``dense_captioning``
  metric (tempeval's densevid protocol) on the same events; HiREST's own step-captioning scores (pairing by step
  index, CLIPScore on frames) are not reproduced.

Differential check (scratch folder, ``evaluate.py``'s ``evaluate_moment_retrieval``, ``compute_step_bound_scores``,
``preprocess_moment_bounds`` and ``NMS``): 1,500 random sets of moments and of step predictions (copies, off by a
second, overlapping, outside the moment): 0 disagreements in R@0.5/0.7, and in P/R@0.5/0.7 with and without the
preprocessing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tempeval.benchmarks.grounding import check_window, checked_events
from tempeval.data import convert_records, read_json, require, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring.dense import official_tiou
from tempeval.scoring.events import Event, events_of
from tempeval.scoring.metrics import MetricValue, Row, Unit, ratio
from tempeval.task import Task
from tempeval.types import Sample, VideoRef

SPLITS = ("val", "test")
SEGMENTATION_FILE = "data/evaluation/formatted_moment_evaluation_gt.json"
RETRIEVAL_THRESHOLDS = (0.5, 0.7)
SEGMENTATION_THRESHOLDS = (0.5, 0.7)
SEGMENTATION_QUESTION = "Split this how-to moment into its steps: give each step's start and end and a short caption."
Window = tuple[float, float]


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """Moment retrieval (grounding) or moment segmentation (dense captioning), by the task's kind."""
    videos = video_dir(dataset, options)
    if task.kind == "dense_captioning":
        path = require(dataset, options, [SEGMENTATION_FILE])[SEGMENTATION_FILE]
        raw = read_json(path)
        if not isinstance(raw, dict):
            raise TempevalError(f"{path}: expected {{\"<video>.mp4\": {{captions, bounds}}}}; re-download it.")
        items = ((f"video {video}", (video, record)) for video, record in raw.items())
        return convert_records(path, items, lambda where, item: _segmentation(item[0], item[1], videos, path))
    split = task.subset or "test"
    if split not in SPLITS:
        raise TempevalError(f"{task.source_file}: HiREST split {split!r} is not one of {', '.join(SPLITS)}.")
    name = f"data/splits/all_data_{split}.json"
    path = require(dataset, options, [name])[name]
    raw = read_json(path)
    if not isinstance(raw, dict):
        raise TempevalError(f"{path}: expected {{\"<query>\": {{\"<video>.mp4\": {{clip, bounds, ...}}}}}}.")
    moments = (
        (f"query {query!r}, video {video}", (query, video, record))
        for query, by_video in raw.items()
        if isinstance(by_video, dict)
        for video, record in by_video.items()
        if isinstance(record, dict) and record.get("clip")
    )
    return convert_records(path, moments, lambda where, item: _moment(item, split, videos, f"{path}: {where}"))


def _moment(item: tuple[str, str, dict[str, Any]], split: str, videos: Path, where: str) -> Sample:
    query, video, record = item
    return Sample(
        id=f"{video}|{query}",
        kind="grounding",
        question=query,
        video=VideoRef(str(videos / video)),
        target=check_window(record.get("bounds"), where, ordered=True),
        meta={"video_id": video, "split": split, "duration": record.get("v_duration")},
    )


def _segmentation(video: str, record: Any, videos: Path, path: Path) -> Sample:
    where = f"{path}: video {video}"
    try:
        steps = [(step["start"], step["end"], str(step["sentence"]).strip()) for step in record["captions"]]
    except (KeyError, TypeError) as exc:
        raise TempevalError(f"{where}: needs captions of {{start, end, sentence}} ({exc}); re-download it.") from None
    if not steps:
        raise TempevalError(f"{where}: no step; a moment to segment needs at least one.")
    events = checked_events((([start, end], sentence) for start, end, sentence in steps), where, "step")
    return Sample(
        id=video,
        kind="dense_captioning",
        question=SEGMENTATION_QUESTION,
        video=VideoRef(str(videos / video), start_s=events[0].start, end_s=events[-1].end),
        target=events,
        meta={"video_id": video, "steps": len(events)},
    )


def _iou(a: Window, b: Window) -> float:
    return official_tiou(Event(a[0], a[1], ""), Event(b[0], b[1], ""))


def moment_recall(rows: list[Row] | Any, by: str | None = None) -> dict[str, MetricValue]:
    """``R@0.5`` / ``R@0.7``: share of moments whose predicted window has IoU >= t (module docstring)."""
    out = {}
    for t in RETRIEVAL_THRESHOLDS:
        units = []
        for r in rows:
            answer = None if r.error or not r.parsed or r.answer is None else r.answer
            hit = answer is not None and _iou((answer[0], answer[1]), (r.target[0], r.target[1])) >= t
            units.append(Unit(r.cluster, float(hit)))
        out[f"R@{t}"] = ratio(units)
    return out


def _nms(windows: list[Window]) -> list[Window]:
    """The script's NMS on ``[x1, 0, x2, 1]`` boxes with threshold 0 (pixel areas: ``+ 1`` on each side)."""
    if not windows:
        return []
    boxes = np.array([[s, 0.0, e, 1.0] for s, e in windows])
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    idxs = np.argsort(y2)
    pick = []
    while len(idxs) > 0:
        last = len(idxs) - 1
        i = idxs[last]
        pick.append(i)
        w = np.maximum(0, np.minimum(x2[i], x2[idxs[:last]]) - np.maximum(x1[i], x1[idxs[:last]]) + 1)
        h = np.maximum(0, np.minimum(y2[i], y2[idxs[:last]]) - np.maximum(y1[i], y1[idxs[:last]]) + 1)
        overlap = (w * h) / area[idxs[:last]]
        idxs = np.delete(idxs, np.concatenate(([last], np.where(overlap > 0)[0])))
    return [(float(boxes[i, 0]), float(boxes[i, 2])) for i in pick]


def preprocess_windows(predicted: list[Window], moment: Window) -> list[Window]:
    """``preprocess_moment_bounds``: keep windows strictly inside the moment, NMS, fill the gaps (docstring)."""
    low, high = moment
    kept = sorted(_nms([w for w in predicted if w[0] > low and w[1] < high]))
    if not kept:
        return [(low, high)]
    tiled: list[Window] = [(low, kept[0][0])] if kept[0][0] > low else []
    for i, window in enumerate(kept):
        tiled.append(window)
        if i + 1 < len(kept):
            tiled.append((window[1], kept[i + 1][0]))
    if tiled[-1][1] < high:
        tiled.append((tiled[-1][1], high))
    return tiled


def step_bounds(predicted: list[Window], target: list[Window], threshold: float) -> tuple[float, float]:
    """One video's (precision, recall) at IoU ``> threshold`` (``compute_step_bound_scores``)."""
    if not predicted:
        return 0.0, 0.0
    hits = [[_iou(p, g) > threshold for g in target] for p in predicted]
    precision = sum(any(row) for row in hits) / len(predicted)
    recall = sum(any(column) for column in zip(*hits, strict=True)) / len(target)
    return precision, recall


def segmentation(rows: list[Row] | Any, by: str | None = None) -> dict[str, MetricValue]:
    """``P@t`` / ``R@t`` after the official preprocessing, and ``raw P@t`` / ``raw R@t`` without it."""
    out: dict[str, MetricValue] = {}
    for label, preprocess in (("", True), ("raw ", False)):
        for t in SEGMENTATION_THRESHOLDS:
            precision, recall = [], []
            for r in rows:
                target = [(e.start, e.end) for e in events_of(r.target)]
                answer = None if r.error or not r.parsed or r.answer is None else r.answer
                predicted = [(e.start, e.end) for e in events_of(answer)] if answer else []
                if preprocess and predicted:
                    predicted = preprocess_windows(predicted, (target[0][0], target[-1][1]))
                p, rec = step_bounds(predicted, target, t)
                precision.append(Unit(r.cluster, p))
                recall.append(Unit(r.cluster, rec))
            out[f"{label}P@{t}"] = ratio(precision)
            out[f"{label}R@{t}"] = ratio(recall)
    return out
