"""Dense-captioning metrics on hand-computed cases: localisation P/R/F1, matched-pair captioning, SODA_c."""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence

import pytest

from tempeval.scoring import captions
from tempeval.scoring.dense import (
    DenseSample,
    caption_pairs,
    caption_scores,
    captioning_metrics,
    dense_captioning_metrics,
    from_row,
    localisation,
    localisation_metrics,
    missing_metrics,
    score_events,
)
from tempeval.scoring.events import Event
from tempeval.scoring.metrics import Row
from tempeval.scoring.soda import order_preserving_matching, soda_c, soda_c_corpus

GT = (Event(0, 10, "a man cuts onions"), Event(10, 20, "he fries them"), Event(20, 30, "he eats"))


def exact_match(references: Sequence[str], candidates: Sequence[str]) -> tuple[float, list[float]]:
    """An injectable caption metric: 1 per identical pair; the corpus score is their mean."""
    scores = [float(r == c) for r, c in zip(references, candidates, strict=True)]
    return (sum(scores) / len(scores) if scores else 0.0), scores


def word_overlap(references: Sequence[str], candidates: Sequence[str]) -> list[float]:
    """An injectable SODA pair scorer: Jaccard overlap of the words."""
    out = []
    for r, c in zip(references, candidates, strict=True):
        a, b = set(r.split()), set(c.split())
        out.append(len(a & b) / len(a | b))
    return out


def test_localisation_hand_computed() -> None:
    predicted = (Event(0, 10, "x"), Event(12, 20, "y"), Event(40, 50, "z"), Event(0, 10, "w"))
    # IoUs: p0-g0 1.0, p1-g1 0.8, p2 none, p3-g0 1.0 -> at 0.5 precision 3/4, recall 2/3.
    assert localisation(predicted, GT, 0.5) == pytest.approx((0.75, 2 / 3))
    # At 0.9 (strict >), p1 (0.8) no longer matches: precision 2/4, recall 1/3.
    assert localisation(predicted, GT, 0.9) == pytest.approx((0.5, 1 / 3))
    # An exact 0.5 overlap is below the strict > 0.5 (and the 1e-8 in the denominator).
    assert localisation((Event(0, 5, "x"),), (Event(0, 10, "y"),), 0.5) == (0.0, 0.0)
    assert localisation(None, GT, 0.3) == (0.0, 0.0)


def test_localisation_metrics_average_over_videos_then_f1() -> None:
    samples = [
        DenseSample("a", "va", GT, GT),  # perfect: P = R = 1 at every threshold
        DenseSample("b", "vb", None, GT),  # unparseable: P = R = 0, stays in the mean
        DenseSample("c", "vc", (Event(0, 10, "x"), Event(50, 60, "y")), GT),  # P 1/2, R 1/3 at every threshold
    ]
    out = localisation_metrics(samples)
    precision, recall = (1 + 0 + 0.5) / 3, (1 + 0 + 1 / 3) / 3
    assert out["Precision@0.5"].value == pytest.approx(100 * precision)
    assert out["Recall@0.9"].value == pytest.approx(100 * recall)
    assert out["F1@0.3"].value == pytest.approx(100 * 2 * precision * recall / (precision + recall))
    assert out["F1"].value == pytest.approx(out["F1@0.7"].value)
    assert out["F1"].n == 3
    low, high = out["F1"].ci or (math.nan, math.nan)
    assert 0 <= low <= out["F1"].value <= high <= 100


def test_f1_interval_clusters_by_video() -> None:
    # Two samples of one video and two of another: a cluster bootstrap sees 2 clusters, so the interval is wide.
    samples = [DenseSample(f"s{i}", f"v{i // 2}", GT if i < 2 else None, GT) for i in range(4)]
    interval = localisation_metrics(samples)["F1"].ci
    assert interval is not None and interval[0] == 0.0 and interval[1] == 100.0


def test_caption_pairs_follow_the_official_pairing() -> None:
    sample = DenseSample("s", "v", (Event(0, 10, "cut"), Event(0, 20, "cook"), Event(40, 50, "lost")), GT)
    pairs = caption_pairs(sample, 0.5)
    # p0 matches g0 (1.0); p1 matches g0 (0.5 - just below: tIoU has 1e-8) ... so p1 pairs with garbage, p2 too.
    assert pairs[0] == ("a man cuts onions", "cut")
    assert [c for _, c in pairs] == ["cut", "cook", "lost"]
    assert pairs[1][0].isalpha() and 10 <= len(pairs[1][0]) <= 20
    assert caption_pairs(sample, 0.5) == pairs  # the stand-in reference is seeded
    # At 0.3, p1 (IoU 0.5 with g0 and g1) is paired with both.
    assert [r for r, c in caption_pairs(sample, 0.3) if c == "cook"] == ["a man cuts onions", "he fries them"]


def test_caption_scores_average_pairs_per_video_then_thresholds() -> None:
    gold = DenseSample("a", "va", GT, GT)
    shifted = DenseSample("b", "vb", (Event(0, 10, "a man cuts onions"), Event(2, 10, "he fries them")), GT)
    # shifted: p0 exact at every threshold (score 1); p1 IoU with g0 0.8: paired with g0's caption (score 0) at
    # 0.3, 0.5, 0.7 and with garbage at 0.9 -> per threshold 1/2, 1/2, 1/2, 1/2.
    assert caption_scores([gold, shifted, DenseSample("c", "vc", None, GT)], exact_match) == [1.0, 0.5, 0.0]
    out = captioning_metrics([gold, shifted], {"exact": exact_match}, word_overlap)
    assert out["exact"].value == pytest.approx(75.0)
    shifted_soda = soda_c(shifted.predicted or (), GT, word_overlap).f_measure
    assert out["SODA_c"].value == pytest.approx(100 * (1.0 + shifted_soda) / 2)


def test_order_preserving_matching_hand_computed() -> None:
    # The diagonal 0.5 + 0.5 = 1.0 beats the crossing 0.9 (0.9 alone, since it blocks the rest).
    assert order_preserving_matching([[0.5, 0.9], [0.0, 0.5]]) == (1.0, [(0, 0), (1, 1)])
    # Crossing pairs cannot both be taken: best is one of them.
    total, pairs = order_preserving_matching([[0.0, 0.7], [0.6, 0.0]])
    assert (total, pairs) == (0.7, [(0, 1)])
    assert order_preserving_matching([]) == (0.0, [])


def test_soda_c_hand_computed() -> None:
    target = (Event(0, 10, "a b"), Event(10, 20, "c d"))
    # Predictions given out of order: sorted by start before matching.
    predicted = (Event(10, 20, "c d"), Event(0, 5, "a b"), Event(30, 40, "a b"))
    # Sorted preds: (0,5,"a b"), (10,20,"c d"), (30,40,"a b"); S = IoU x overlap:
    # g0: [0.5 * 1, 0, 0]; g1: [0, 1 * 1, 0] -> matched 1.5; P = 1.5 / 3, R = 1.5 / 2, F = 0.6.
    score = soda_c(predicted, target, word_overlap)
    assert (score.matched, score.precision, score.recall) == pytest.approx((1.5, 0.5, 0.75))
    assert score.f_measure == pytest.approx(0.6)
    assert soda_c((), target, word_overlap).f_measure == 0.0
    empty = soda_c((), target, word_overlap)
    assert soda_c_corpus([score, empty]) == pytest.approx((0.5, 1.5 / 4, 2 * 0.5 * 0.375 / 0.875))
    with pytest.raises(ValueError, match="ground-truth"):
        soda_c(predicted, (), word_overlap)


def test_from_row_reads_event_triples_and_unparseable() -> None:
    target = [e.to_json() for e in GT]
    row = Row("s", 0.0, answer=[[0, 10, "x"]], target=target, meta={"video_id": "v"})
    sample = from_row(row)
    assert sample.predicted == (Event(0, 10, "x"),) and sample.target == GT and sample.cluster == "v"
    assert from_row(Row("s", 0.0, parsed=False, target=target)).predicted is None
    with pytest.raises(ValueError, match="no target events"):
        from_row(Row("s", 0.0, answer=[], target=[]))


def test_missing_metrics_are_reported_not_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(captions, "java_available", lambda: False)
    missing = missing_metrics()
    # Without pycocoevalcap every caption metric is missing for that reason first; with it, METEOR for Java.
    why = "pycocoevalcap" if importlib.util.find_spec("pycocoevalcap") is None else "needs Java"
    assert why in missing["METEOR"] and "METEOR" in missing["SODA_c"]
    rows = [Row("s", 0.0, answer=[e.to_json() for e in GT], target=[e.to_json() for e in GT])]
    out = dense_captioning_metrics(rows)
    assert out["F1"].value == pytest.approx(100.0)
    assert math.isnan(out["METEOR"].value) and out["METEOR"].n == 0
    assert math.isnan(out["SODA_c"].value)
    assert captions.tokenizer_name() == "simple"
    assert captions.tokenize(["A man, cuts Onions."]) == ["a man cuts onions"]


def test_pycocoevalcap_gold_and_wrong() -> None:
    pytest.importorskip("pycocoevalcap.cider.cider", reason="pycocoevalcap is not installed (the dense extra)")
    if captions.java_available():
        assert captions.tokenize(["A man, cuts Onions."]) == ["a man cuts onions"]
    rows = [
        Row(f"s{i}", 0.0, answer=[e.to_json() for e in GT], target=[e.to_json() for e in GT], meta={"video_id": i})
        for i in range(2)
    ]
    gold = dense_captioning_metrics(rows)
    assert gold["BLEU-4"].value == pytest.approx(100.0, abs=1e-3)
    assert gold["CIDEr"].value > 0
    wrong = [Row("w", 0.0, answer=[[0, 10, "zebra"], [10, 20, "zebra"], [20, 30, "zebra"]], target=rows[0].target)]
    assert dense_captioning_metrics(wrong)["CIDEr"].value == pytest.approx(0.0)
    if captions.java_available():
        assert gold["METEOR"].value == pytest.approx(100.0, abs=1e-3)
        assert gold["SODA_c"].value == pytest.approx(100.0, abs=1e-3)
    else:
        assert math.isnan(gold["METEOR"].value), "METEOR needs Java; it must be reported missing without it"


def test_score_events_per_sample() -> None:
    gold = score_events("0 - 10 a man cuts onions\n10 - 20 he fries them\n20 - 30 he eats", GT)
    assert gold.value == pytest.approx(1.0) and gold.parsed
    assert gold.answer == [[0.0, 10.0, "a man cuts onions"], [10.0, 20.0, "he fries them"], [20.0, 30.0, "he eats"]]
    half = score_events("Events:\n0 - 10 cutting", GT)  # P 1, R 1/3 -> F1 0.5
    assert half.value == pytest.approx(0.5) and half.explanation == "1 prose line(s) skipped"
    bad = score_events("He cooks.", GT)
    assert (bad.value, bad.parsed, bad.answer) == (0.0, False, None)


def test_overall_f1_is_the_mean_of_the_per_threshold_f1s_as_pdvc_reports_it() -> None:
    # IoU 0.8 with g1 and 1.0 with g0: at 0.9 only one of two predictions matches (P 1/2, R 1/3), below it both.
    samples = [DenseSample("a", "va", (Event(0, 10, "x"), Event(12, 20, "y")), GT), DenseSample("b", "vb", GT, GT)]
    out = localisation_metrics(samples)
    per_threshold = [out[f"F1@{t}"].value for t in (0.3, 0.5, 0.7, 0.9)]
    assert out["F1"].value == pytest.approx(sum(per_threshold) / 4)
    harmonic = 2 * out["Precision"].value * out["Recall"].value / (out["Precision"].value + out["Recall"].value)
    assert out["F1"].value != pytest.approx(harmonic)
    low, high = out["F1"].ci or (math.nan, math.nan)
    assert low <= out["F1"].value <= high
