"""Dense-captioning metrics, generic for any task whose target is a list of timed events.

A sample's target is a tuple of :class:`~tempeval.scoring.events.Event`; the model's answer is parsed into one by
:func:`~tempeval.scoring.events.parse_events` (or is ``None`` when unparseable or errored). Every figure below is a
percentage with a 95% bootstrap interval that resamples whole videos (``Row.cluster``), via
``tempeval.scoring.metrics``.

Localisation (the ActivityNet dense-captioning ``evaluate.py``, ranjaykrishna/densevid_eval, ``evaluate_detection``)
at each tIoU threshold ``t`` in 0.3, 0.5, 0.7, 0.9:

1. Per video, precision = share of predicted events whose tIoU with *some* ground-truth event is ``> t`` (strictly),
   recall = share of ground-truth events matched so; no one-to-one assignment. A video without predictions
   (unparseable answer) has precision 0 and recall 0, and stays in the mean.
2. Precision@t and Recall@t are the means over videos; ``Precision`` and ``Recall`` their means over thresholds.
3. F1 is not in ``evaluate.py``; the scorers that report it (PDVC's ``eval_utils.py`` and VidChapters'
   ``dvc_eval/eval_dvc.py``, read for the parity check) take ``F1@t`` as the harmonic mean of Precision@t and
   Recall@t, and ``F1`` as the mean of the four ``F1@t`` (not the harmonic mean of ``Precision`` and ``Recall``).
   (E.T. Bench also averages per-threshold F1s, at other thresholds, and scales by its parse rate:
   ``tempeval.benchmarks.etbench``.)
4. tIoU is the script's: intersection / (union + 1e-8), so an exact 0.5 overlap is just below 0.5.
5. At most the first 1000 predictions of a video count (``max_proposals``).

Captioning (the same script's ``evaluate_tiou``): at each threshold ``t``, every (prediction, ground truth) pair with
tIoU ``>= t`` (not strict) is a scored pair; a prediction that matches no ground truth is paired with a random
string of 10-20 letters (here seeded by the sample id, so runs repeat), which scores about 0. Each video's pairs
are scored together (CIDEr's document frequencies come from that video's pairs alone) and a video without
predictions scores 0; the score is the mean over videos, then over thresholds. Metrics: BLEU-4, METEOR and CIDEr
from pycocoevalcap (``tempeval.scoring.captions``), after the official tokenization. A metric that cannot run here
(no pycocoevalcap, or METEOR without Java) is reported with value NaN and n = 0; :func:`missing_metrics` names why.

SODA_c: ``tempeval.scoring.soda`` (the mean over videos of the per-video F-measure), with METEOR as its caption score.

Differential check (scratch folder, ``evaluate.py``'s ``evaluate_detection`` / ``evaluate_tiou`` in Python 3, an
exact-match scorer in place of the COCO scorers): 1,500 random sets of videos, 0 disagreements in per-video
precision / recall at every threshold and in the per-video caption scores. Against VidChapters' own
``dvc_eval/eval_dvc.py`` (the densevid script with F1, as PDVC runs it), on 1,000 random sets of adversarial
predictions (exact copies, overlaps exactly at a threshold, zero-length windows, empty answers): 0 disagreements
in the 15 localisation figures, once ``F1`` was made the mean of ``F1@t`` (rule 3).

Wiring (the ``dense_captioning`` task kind):

- ``answer_format: events`` is parsed by ``events.parse_events`` (``Parsed.ok`` gives the parse-failure rate like
  every other kind); the gold answer is ``events.format_events(sample.target)`` (``parsers.gold_text``).
- The ``strict`` scorer gives :func:`score_events`'s per-sample ``Score`` (``answer`` = event triples, value = the
  sample's localisation F1 at tIoU 0.5), so ``tempeval show`` has a number per sample.
- The metric ``dense_captioning`` (``metrics.METRICS``) is :func:`dense_captioning_metrics`; it reads ``Row.answer``
  (event triples or ``None``) and ``Row.target`` (event triples, as run records store them).
- Loaders give ``Sample.target`` as a tuple of ``Event`` and ``meta["video_id"]`` for the bootstrap cluster.
"""

from __future__ import annotations

import random
import string
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from tempeval.scoring import captions
from tempeval.scoring.events import Event, events_of, parse_events
from tempeval.scoring.metrics import BOOTSTRAP_RESAMPLES, MetricValue, Row, Unit, cluster_order, kept, ratio
from tempeval.scoring.multi_window import f1
from tempeval.scoring.soda import PairScorer, soda_c
from tempeval.types import Score

TIOU_THRESHOLDS = (0.3, 0.5, 0.7, 0.9)
MAX_PROPOSALS = 1000


@dataclass(frozen=True)
class DenseSample:
    """One video's prediction and target, as the dense-captioning metrics see it."""

    sample_id: str
    cluster: Hashable
    """The bootstrap cluster (the video)."""
    predicted: tuple[Event, ...] | None
    """The parsed events, or None when the answer was unparseable or errored (scores 0 everywhere)."""
    target: tuple[Event, ...]


def from_row(row: Row) -> DenseSample:
    """A metrics row (answer and target as events or event triples) as a :class:`DenseSample`."""
    if not row.target:
        raise ValueError(f"Sample {row.sample_id!r} has no target events; a dense-captioning target needs one.")
    predicted = None if row.answer is None or row.error or not row.parsed else events_of(row.answer)
    return DenseSample(row.sample_id, row.cluster, predicted, events_of(row.target))


def official_tiou(a: Event, b: Event) -> float:
    """The ActivityNet script's tIoU: intersection / (union + 1e-8), union capped at the two lengths' sum."""
    intersection = max(0.0, min(a.end, b.end) - max(a.start, b.start))
    union = min(max(a.end, b.end) - min(a.start, b.start), (a.end - a.start) + (b.end - b.start))
    return intersection / (union + 1e-8)


def localisation(predicted: Sequence[Event] | None, target: Sequence[Event], threshold: float) -> tuple[float, float]:
    """One video's (precision, recall) at tIoU ``> threshold`` (rule 1 of the module docstring), as fractions."""
    if not predicted:
        return 0.0, 0.0
    predicted = predicted[:MAX_PROPOSALS]
    hits = [[official_tiou(p, g) > threshold for g in target] for p in predicted]
    precision = sum(any(row) for row in hits) / len(predicted)
    recall = sum(any(column) for column in zip(*hits, strict=True)) / len(target)
    return precision, recall


def score_events(output: str, target: Sequence[Event]) -> Score:
    """The per-sample verdict: the parsed events as triples, valued at their localisation F1 at tIoU 0.5.

    An unparseable answer scores 0 with ``parsed=False`` and the parser's reason; skipped prose lines are noted in
    the explanation.
    """
    parsed = parse_events(output)
    if not parsed.ok:
        return Score(0.0, None, parsed=False, explanation=parsed.reason)
    precision, recall = localisation(parsed.answer, target, 0.5)
    return Score(f1(precision, recall), [e.to_json() for e in parsed.answer], explanation=parsed.reason)


def _f1_of_means(
    precision: Sequence[float], recall: Sequence[float], clusters: Sequence[Hashable]
) -> tuple[float, np.ndarray | None]:
    """100 x F1 of the mean precision and mean recall, and its cluster-bootstrap draws (None under 2 clusters).

    The draws use one fixed seed, so every threshold's F1 is resampled with the same videos and their mean's
    interval is the percentile interval of the mean of the draws.
    """
    value = 100.0 * f1(float(np.mean(precision)), float(np.mean(recall)))
    keys = sorted(set(clusters), key=cluster_order)
    if len(keys) < 2:
        return value, None
    number = {key: i for i, key in enumerate(keys)}
    index = np.array([number[c] for c in clusters])
    sums = [np.bincount(index, weights=list(v), minlength=len(keys)) for v in (precision, recall)]
    counts = np.bincount(index, minlength=len(keys)).astype(float)
    draws = np.random.default_rng(0).integers(0, len(keys), size=(BOOTSTRAP_RESAMPLES, len(keys)))
    n = counts[draws].sum(axis=1)
    p, r = (s[draws].sum(axis=1) / n for s in sums)
    return value, np.where(p + r > 0, 200.0 * p * r / np.where(p + r > 0, p + r, 1.0), 0.0)


def _with_interval(value: float, boot: np.ndarray | None, n: int) -> MetricValue:
    if boot is None:
        return MetricValue(value, None, n)
    low, high = np.percentile(boot, [2.5, 97.5])
    return MetricValue(value, (float(low), float(high)), n, kept(boot))


def localisation_metrics(samples: Sequence[DenseSample]) -> dict[str, MetricValue]:
    """Precision, Recall and F1 at each tIoU threshold and averaged over them (module docstring, rules 1-3)."""
    clusters = [s.cluster for s in samples]
    per_threshold = {t: [localisation(s.predicted, s.target, t) for s in samples] for t in TIOU_THRESHOLDS}
    out: dict[str, MetricValue] = {}
    f1s: list[tuple[float, np.ndarray | None]] = []
    for t, values in per_threshold.items():
        precision, recall = [v[0] for v in values], [v[1] for v in values]
        out[f"Precision@{t}"] = ratio([Unit(c, p) for c, p in zip(clusters, precision, strict=True)])
        out[f"Recall@{t}"] = ratio([Unit(c, r) for c, r in zip(clusters, recall, strict=True)])
        f1s.append(_f1_of_means(precision, recall, clusters))
        out[f"F1@{t}"] = _with_interval(*f1s[-1], len(samples))
    mean_p = [float(np.mean([per_threshold[t][i][0] for t in TIOU_THRESHOLDS])) for i in range(len(samples))]
    mean_r = [float(np.mean([per_threshold[t][i][1] for t in TIOU_THRESHOLDS])) for i in range(len(samples))]
    out["Precision"] = ratio([Unit(c, p) for c, p in zip(clusters, mean_p, strict=True)])
    out["Recall"] = ratio([Unit(c, r) for c, r in zip(clusters, mean_r, strict=True)])
    boots = [boot for _, boot in f1s]
    mean_boot = None if any(b is None for b in boots) else np.mean(np.stack(boots), axis=0)  # type: ignore[arg-type]
    out["F1"] = _with_interval(float(np.mean([value for value, _ in f1s])), mean_boot, len(samples))
    return out


def _garbage(sample_id: str, index: int) -> str:
    """The stand-in reference of an unmatched prediction: 10-20 random letters, seeded (the script's is unseeded)."""
    rng = random.Random(f"{sample_id}:{index}")
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(10, 20)))


def caption_pairs(sample: DenseSample, threshold: float) -> list[tuple[str, str]]:
    """The (reference, candidate) pairs one video contributes at tIoU ``>= threshold`` (module docstring)."""
    pairs: list[tuple[str, str]] = []
    for index, pred in enumerate((sample.predicted or ())[:MAX_PROPOSALS]):
        matched = [g.caption for g in sample.target if official_tiou(pred, g) >= threshold]
        pairs.extend((ref, pred.caption) for ref in matched or [_garbage(sample.sample_id, index)])
    return pairs


def caption_scores(
    samples: Sequence[DenseSample], metric: captions.CaptionMetric, thresholds: Sequence[float] = TIOU_THRESHOLDS
) -> list[float]:
    """Each video's caption score averaged over the tIoU thresholds (0 for a video without predictions).

    A metric is a pure function of the pairs it is given, so a set of pairs seen before (the same matches at
    several thresholds) is scored once: METEOR's Java round trips are most of the time.
    """
    seen: dict[tuple[tuple[str, str], ...], float] = {}
    out = []
    for sample in samples:
        per_threshold = []
        for t in thresholds:
            pairs = tuple(caption_pairs(sample, t))
            if pairs and pairs not in seen:
                seen[pairs] = metric([r for r, _ in pairs], [c for _, c in pairs])[0]
            per_threshold.append(seen[pairs] if pairs else 0.0)
        out.append(float(np.mean(per_threshold)))
    return out


def tokenized(samples: Sequence[DenseSample]) -> list[DenseSample]:
    """The samples with every caption tokenized once, as the official scripts do before scoring."""
    texts = [e.caption for s in samples for e in (*(s.predicted or ()), *s.target)]
    tokens = iter(captions.tokenize(texts))

    def retoken(events: Iterable[Event]) -> tuple[Event, ...]:
        return tuple(replace(e, caption=next(tokens)) for e in events)

    return [
        replace(s, predicted=None if s.predicted is None else retoken(s.predicted), target=retoken(s.target))
        for s in samples
    ]


def soda_metric(samples: Sequence[DenseSample], caption_score: PairScorer) -> MetricValue:
    """SODA_c: the mean over videos of the per-video F-measure (0 for a video without predictions)."""
    units = [Unit(s.cluster, soda_c(s.predicted or (), s.target, caption_score).f_measure) for s in samples]
    return ratio(units)


def captioning_metrics(
    samples: Sequence[DenseSample], metrics: Mapping[str, captions.CaptionMetric], soda_score: PairScorer | None
) -> dict[str, MetricValue]:
    """Each caption metric on matched pairs, and SODA_c where ``soda_score`` is given; captions already tokenized."""
    out = {
        name: ratio([Unit(s.cluster, v) for s, v in zip(samples, caption_scores(samples, metric), strict=True)])
        for name, metric in metrics.items()
    }
    if soda_score is not None:
        out["SODA_c"] = soda_metric(samples, soda_score)
    return out


def missing_metrics() -> dict[str, str]:
    """The caption metrics (and SODA_c) that cannot run here, each with the reason and the fix."""
    missing = {name: reason for name, reason in captions.caption_metric_status().items() if reason}
    if "METEOR" in missing:
        missing["SODA_c"] = f"SODA_c scores captions with METEOR: {missing['METEOR']}"
    return missing


def dense_captioning_metrics(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """Localisation, BLEU-4 / METEOR / CIDEr on matched pairs and SODA_c: the ``dense_captioning`` metric.

    Metrics that cannot run here have value NaN and n = 0 (:func:`missing_metrics` says why).
    """
    samples = [from_row(row) for row in rows]
    out = localisation_metrics(samples)
    missing = missing_metrics()
    runnable = {name: captions.coco_metric(name) for name in captions.COCO_METRICS if name not in missing}
    meteor = runnable.get("METEOR")
    # SODA's reference code (fujiso/SODA, PDVC's copy) passes (predictions, ground truths) to METEOR's
    # compute_score(references, candidates): METEOR runs with the roles swapped, and METEOR is asymmetric. Kept, so
    # SODA_c equals the published scorer's (the parity check found it).
    soda_score: PairScorer | None = None if meteor is None else (lambda refs, cands: meteor(cands, refs)[1])
    out.update(captioning_metrics(tokenized(samples), runnable, soda_score))
    out.update({name: MetricValue(float("nan"), None, 0) for name in missing})
    return out
