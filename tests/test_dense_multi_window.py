"""Multi-event grounding rules on hand-computed cases."""

from __future__ import annotations

import pytest

from tempeval.scoring.events import Event
from tempeval.scoring.multi_window import (
    as_window,
    mean_best_iou,
    temporal_iou,
    top1_best_iou,
    union_f1,
    union_iou,
    union_of,
    window_set_f1,
)


def test_temporal_iou() -> None:
    assert temporal_iou((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert temporal_iou((0, 10), (10, 20)) == 0.0
    assert temporal_iou((3, 3), (3, 3)) == 0.0
    assert as_window(Event(1, 2, "x")) == (1.0, 2.0) == as_window([1, 2])


def test_window_set_f1_hand_computed() -> None:
    target = [(0, 10), (20, 30)]
    # (0, 9) covers gt 0 with IoU 0.9; (40, 50) covers nothing: precision 1/2, recall 1/2 -> F1 0.5.
    assert window_set_f1([(0, 9), (40, 50)], target, 0.5) == pytest.approx(0.5)
    # At 0.95 nothing matches.
    assert window_set_f1([(0, 9), (40, 50)], target, 0.95) == 0.0
    # One wide prediction (0, 30) has IoU 1/3 with each gt: at 0.3, precision 1, recall 1 (no one-to-one rule).
    assert window_set_f1([(0, 30)], target, 0.3) == pytest.approx(1.0)
    # Three predictions, one matching: precision 1/3, recall 1/2 -> F1 = 2 * (1/6) / (5/6) = 0.4.
    assert window_set_f1([(0, 10), (50, 60), (70, 80)], target, 0.5) == pytest.approx(0.4)
    assert window_set_f1([], target, 0.1) == 0.0


def test_miou_variants_hand_computed() -> None:
    target = [(0, 10), (20, 30)]
    predicted = [(22, 30), (0, 5)]
    assert top1_best_iou(predicted, target) == pytest.approx(0.8)
    assert mean_best_iou(predicted, target) == pytest.approx((0.5 + 0.8) / 2)
    assert mean_best_iou([], target) == 0.0
    with pytest.raises(ValueError, match="ground-truth"):
        mean_best_iou(predicted, [])


def test_union_rules_hand_computed() -> None:
    assert union_of([(5, 8), (0, 6), (10, 12)]) == [(0, 8), (10, 12)]
    target = [(0, 10), (20, 30)]
    predicted = [(5, 25)]
    # overlap 5 + 5 = 10; union covers 0..30 = 30 -> IoU 1/3; precision 10/20, recall 10/20 -> F1 0.5.
    assert union_iou(predicted, target) == pytest.approx(1 / 3)
    assert union_f1(predicted, target) == pytest.approx(0.5)
    # Overlapping predictions are not counted twice.
    assert union_f1([(0, 10), (0, 10)], [(0, 10)]) == pytest.approx(1.0)
    assert union_f1([(40, 50)], target) == 0.0
