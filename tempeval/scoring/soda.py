"""SODA_c (Fujita et al., ECCV 2020, "SODA: Story Oriented Dense Video Captioning Evaluation Framework").

Written from the paper and the description of its reference implementation (fujiso/SODA ``soda.py``, and the copy
in PDVC's ``densevid_eval3`` that TimeChat, VTG-LLM and VidChapters report):

1. Per video, ground-truth events and predicted events are each sorted by start time (a stable sort on the start
   only), so the matching respects the story order.
2. The score matrix is ``IoU(g_i, p_j) * caption_score(g_i, p_j)`` for every ground truth ``i`` and prediction
   ``j``; the caption score is METEOR of the pair (one reference, one candidate). SODA_c keeps every IoU (its IoU
   threshold is 0); SODA_a/b, which threshold the IoU, are not implemented.
3. The best order-preserving one-to-one matching is found by dynamic programming, like a longest common
   subsequence with weights: ``D[i][j] = max(D[i-1][j], D[i][j-1], D[i-1][j-1] + S[i][j])`` with ``D`` = 0 outside
   the matrix; ``D[n][m]`` is the matched score.
4. Precision = matched score / number of predictions, recall = matched score / number of ground truths,
   F = 2PR / (P + R) (0 when P + R = 0).
5. Over a dataset, SODA_c is the mean over videos of the per-video F (PDVC's ``densevid_eval3``; with several
   reference sets per video it takes the set with the best F). The original repository instead sums matched scores
   over videos before dividing (corpus P/R/F) and, in doing so, swaps the labels of P and R (F is unaffected);
   :func:`soda_c_corpus` gives that variant with the labels right.

The dynamic programme agrees with the reference ``chased_dp_assignment`` on 3,000 random score matrices (a scratch
check). Differences from the reference code, on purpose: a video whose answer could not be parsed (or has no
events) scores F = 0 and stays in the mean; the reference scripts drop videos without predictions from the
denominator. The reference code also scores each pair with METEOR's roles swapped (the prediction as the
reference): ``dense.dense_captioning_metrics`` passes the pairs to :func:`soda_c` that way, so its SODA_c is the
published scorer's (parity check in a scratch folder: equal to 1e-8 once swapped, 0.2092 vs 0.2064 before).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tempeval.scoring.events import Event
from tempeval.scoring.multi_window import f1, temporal_iou

PairScorer = Callable[[Sequence[str], Sequence[str]], Sequence[float]]
"""(references, candidates), aligned one to one -> one caption score per pair (METEOR in SODA_c)."""


@dataclass(frozen=True)
class SodaScore:
    """SODA_c of one video: the matched score and its precision, recall and F-measure."""

    matched: float
    """Sum of IoU x caption score over the optimal order-preserving matching."""
    precision: float
    recall: float
    f_measure: float
    predictions: int
    targets: int


def order_preserving_matching(scores: Sequence[Sequence[float]]) -> tuple[float, list[tuple[int, int]]]:
    """The best total score of a one-to-one matching that keeps row and column order, and its (row, column) pairs."""
    rows = len(scores)
    cols = len(scores[0]) if rows else 0
    best = [[0.0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(1, rows + 1):
        for j in range(1, cols + 1):
            best[i][j] = max(best[i - 1][j], best[i][j - 1], best[i - 1][j - 1] + scores[i - 1][j - 1])
    pairs: list[tuple[int, int]] = []
    i, j = rows, cols
    while i > 0 and j > 0:
        if best[i][j] == best[i - 1][j]:
            i -= 1
        elif best[i][j] == best[i][j - 1]:
            j -= 1
        else:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
    return best[rows][cols], pairs[::-1]


def _by_start(events: Sequence[Event]) -> list[Event]:
    return sorted(events, key=lambda e: e.start)


def soda_c(predicted: Sequence[Event], target: Sequence[Event], caption_score: PairScorer) -> SodaScore:
    """SODA_c of one video (rules 1-4 in the module docstring); no prediction scores 0.

    Args:
        predicted: The model's events (captions tokenized as the caption scorer expects).
        target: The ground-truth events (at least one).
        caption_score: Scores aligned (reference, candidate) pairs; METEOR for SODA_c.
    """
    if not target:
        raise ValueError("SODA_c needs at least one ground-truth event.")
    if not predicted:
        return SodaScore(0.0, 0.0, 0.0, 0.0, 0, len(target))
    gts, preds = _by_start(target), _by_start(predicted)
    refs = [g.caption for g in gts for _ in preds]
    cands = [p.caption for _ in gts for p in preds]
    flat = list(caption_score(refs, cands))
    matrix = [
        [temporal_iou((g.start, g.end), (p.start, p.end)) * flat[i * len(preds) + j] for j, p in enumerate(preds)]
        for i, g in enumerate(gts)
    ]
    matched, _ = order_preserving_matching(matrix)
    precision, recall = matched / len(preds), matched / len(gts)
    return SodaScore(matched, precision, recall, f1(precision, recall), len(preds), len(gts))


def soda_c_corpus(scores: Sequence[SodaScore]) -> tuple[float, float, float]:
    """The original repository's dataset figure: (precision, recall, F) from matched scores summed over videos."""
    matched = sum(s.matched for s in scores)
    predictions = sum(s.predictions for s in scores)
    targets = sum(s.targets for s in scores)
    precision = matched / predictions if predictions else 0.0
    recall = matched / targets if targets else 0.0
    return precision, recall, f1(precision, recall)
