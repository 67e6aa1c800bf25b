"""Multi-event grounding: a query with several ground-truth windows, and a model that may answer several.

Pure functions over windows ``(start, end)`` in seconds; a :class:`~tempeval.scoring.events.Event` or any pair
works. Each rule is the one a benchmark uses, named after it:

- :func:`temporal_iou`: intersection over union of two windows, ``max(0, min(e1, e2) - max(s1, s2)) /
  (max(e1, e2) - min(s1, s2))``; two zero-length windows at one instant (or any union of length 0) give 0.
- :func:`window_set_f1` (E.T. Bench TAL): at a threshold ``t``, recall is the share of ground-truth windows whose best
  IoU with any prediction is >= t, precision the share of predictions whose best IoU with any ground truth is >= t
  (no one-to-one matching: one prediction may cover several ground truths), F1 their harmonic mean, 0 when either is
  0 or a side is empty.
- :func:`top1_best_iou` (E.T. Bench TEM, QVHighlights R1): the first prediction against the ground truth it
  overlaps most.
- :func:`mean_best_iou`: the mean over ground-truth windows of their best IoU with any prediction (a recall-side
  mIoU; 0 for an empty prediction).
- :func:`union_iou` / :func:`union_f1`: the predicted windows' union against the ground truths' union, in
  continuous time (E.T. Bench EVS scores the same thing on whole seconds; see ``tempeval.benchmarks.etbench``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from tempeval.scoring.scorers import iou


class Windowed(Protocol):
    """Anything with a start and an end in seconds (an Event)."""

    @property
    def start(self) -> float: ...  # noqa: D102

    @property
    def end(self) -> float: ...  # noqa: D102


Window = tuple[float, float]


def as_window(value: Windowed | Sequence[float]) -> Window:
    """``(start, end)`` of an event or of a ``[start, end]`` pair."""
    if isinstance(value, Sequence):
        return float(value[0]), float(value[1])
    return float(value.start), float(value.end)


temporal_iou = iou
"""IoU of two windows (0 when the union has no length): the grounding scorer's own :func:`scorers.iou`."""


def f1(precision: float, recall: float) -> float:
    """Harmonic mean, 0 when both are 0."""
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def window_set_f1(
    predicted: Sequence[Window],
    target: Sequence[Window],
    threshold: float,
    iou: Callable[[Window, Window], float] = temporal_iou,
) -> float:
    """E.T. Bench TAL F1 of a set of predicted windows against a set of ground truths at IoU ``threshold``."""
    if not predicted or not target:
        return 0.0
    ious = [[iou(p, g) for g in target] for p in predicted]
    precision = sum(max(row) >= threshold for row in ious) / len(predicted)
    recall = sum(max(column) >= threshold for column in zip(*ious, strict=True)) / len(target)
    return f1(precision, recall)


def top1_best_iou(predicted: Sequence[Window], target: Sequence[Window]) -> float:
    """The first prediction's IoU with the ground truth it overlaps most (0 without a prediction)."""
    if not predicted or not target:
        return 0.0
    return max(temporal_iou(predicted[0], g) for g in target)


def mean_best_iou(predicted: Sequence[Window], target: Sequence[Window]) -> float:
    """Mean over ground truths of the best IoU any prediction reaches with it."""
    if not target:
        raise ValueError("mean_best_iou needs at least one ground-truth window.")
    if not predicted:
        return 0.0
    return sum(max(temporal_iou(p, g) for p in predicted) for g in target) / len(target)


def union_of(windows: Sequence[Window]) -> list[Window]:
    """The disjoint, sorted windows covering the same time as ``windows``."""
    merged: list[Window] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _length(windows: Sequence[Window]) -> float:
    return sum(end - start for start, end in windows)


def _overlap(a: Sequence[Window], b: Sequence[Window]) -> float:
    return sum(max(0.0, min(x[1], y[1]) - max(x[0], y[0])) for x in union_of(a) for y in union_of(b))


def union_iou(predicted: Sequence[Window], target: Sequence[Window]) -> float:
    """IoU of the two unions (time covered by both over time covered by either)."""
    inter = _overlap(predicted, target)
    total = _length(union_of([*predicted, *target]))
    return inter / total if total > 0 else 0.0


def union_f1(predicted: Sequence[Window], target: Sequence[Window]) -> float:
    """F1 of covered time: precision = overlap / predicted time, recall = overlap / ground-truth time."""
    inter = _overlap(predicted, target)
    if inter <= 0:
        return 0.0
    return f1(inter / _length(union_of(predicted)), inter / _length(union_of(target)))
