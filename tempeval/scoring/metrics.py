"""Aggregate per-sample scores into metrics, each with a 95% bootstrap confidence interval.

Every metric here is a ratio of sums over *units* (a sample, a pair, a question group), and the units are
clustered (by video, or by the grouping key for group metrics) for the bootstrap: resampling whole clusters
keeps questions about one video together, so the interval is not falsely narrow. Values are percentages.

Intervals never depend on the order records were written: clusters are numbered in sorted key order (and
``compute`` sorts rows by sample id) before resampling, so a resumed, merged or sharded run and its
uninterrupted twin print the same interval.

Errored samples count as wrong (value 0) and stay in the denominator; the summary reports how many there were.
Unparseable outputs likewise score 0 and stay in the denominator.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from tempeval.plugins import Kind, benchmark_function, resolve

BOOTSTRAP_RESAMPLES = 1000
IOU_THRESHOLDS = (0.3, 0.5, 0.7)


@dataclass(frozen=True)
class Row:
    """One sample's outcome, as metrics see it."""

    sample_id: str
    value: float
    """The per-sample score (0 for errors and unparseable outputs)."""
    parsed: bool = True
    error: bool = False
    meta: Mapping[str, Any] = field(default_factory=dict)
    answer: Any = None
    """The parsed answer (for metrics that need more than the score, e.g. ranked windows)."""
    target: Any = None
    output: str | None = None

    @property
    def cluster(self) -> Hashable:
        """The bootstrap cluster: the video the sample is about."""
        cluster: Hashable = self.meta.get("video_id", self.sample_id)
        return cluster


@dataclass(frozen=True)
class MetricValue:
    """A metric in percent with its 95% confidence interval and the number of units behind it."""

    value: float
    ci: tuple[float, float] | None
    n: int
    draws: np.ndarray | None = field(default=None, compare=False, repr=False)
    """The bootstrap draws behind ``ci``, kept only inside :func:`keeping_draws` (for intervals of means of
    metrics, such as a benchmark's macro average); None otherwise, so summaries stay small."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        return {"value": self.value, "ci": None if self.ci is None else list(self.ci), "n": self.n}


@dataclass(frozen=True)
class Unit:
    """A counted unit: ``num / den`` contributes to the ratio; ``cluster`` is resampled as a whole."""

    cluster: Hashable
    num: float
    den: float = 1.0


_KEEP_DRAWS: contextvars.ContextVar[bool] = contextvars.ContextVar("tempeval_keep_draws", default=False)


@contextlib.contextmanager
def keeping_draws() -> Iterator[None]:
    """Metrics computed inside this block keep their bootstrap draws (``MetricValue.draws``)."""
    token = _KEEP_DRAWS.set(True)
    try:
        yield
    finally:
        _KEEP_DRAWS.reset(token)


def kept(draws: np.ndarray) -> np.ndarray | None:
    """``draws`` inside :func:`keeping_draws`, else None (metrics outside this module build their values so too)."""
    return draws if _KEEP_DRAWS.get() else None


def mean_of_draws(draws: Sequence[np.ndarray]) -> np.ndarray:
    """Bootstrap draws of the mean of independent estimates: draw ``i`` of each, averaged."""
    size = min(len(d) for d in draws)
    mean: np.ndarray = np.mean([d[:size] for d in draws], axis=0)
    return mean


def percentile_interval(draws: np.ndarray) -> tuple[float, float]:
    """The 95% percentile interval of bootstrap draws."""
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(low), float(high)


def cluster_order(key: Hashable) -> tuple[str, str]:
    """A total order on cluster keys of any type (str, int, tuple, None), for order-free bootstraps."""
    return (type(key).__name__, repr(key))


def _cluster_index(keys: Sequence[Hashable]) -> tuple[np.ndarray, int]:
    """Each key's cluster number, clusters numbered in sorted key order (not in order of appearance)."""
    numbers = {key: i for i, key in enumerate(sorted(set(keys), key=cluster_order))}
    return np.array([numbers[key] for key in keys], dtype=np.int64), len(numbers)


def ratio(units: Sequence[Unit], *, seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES) -> MetricValue:
    """sum(num) / sum(den) in percent, with a cluster bootstrap 95% percentile interval.

    Units are put in a canonical order first (by cluster key, then value), so the result is the same for any
    order of the input, down to the last bit of the float sums.
    """
    if not units:
        return MetricValue(float("nan"), None, 0)
    units = sorted(units, key=lambda u: (cluster_order(u.cluster), u.num, u.den))
    index, count = _cluster_index([u.cluster for u in units])
    num = np.bincount(index, weights=[u.num for u in units], minlength=count)
    den = np.bincount(index, weights=[u.den for u in units], minlength=count)
    value = 100.0 * num.sum() / den.sum()
    if count < 2:
        return MetricValue(float(value), None, len(units))
    draws = _bootstrap_ratios(num, den, seed=seed, resamples=resamples)
    return MetricValue(float(value), percentile_interval(draws), len(units), kept(draws))


BLOCK_CELLS = 4_000_000
"""Resampled cluster indices drawn at once (memory bound: 32 MB of int64)."""


@lru_cache(maxsize=8)
def _resample_indices(count: int, seed: int, resamples: int) -> np.ndarray:
    """Cluster indices of every bootstrap resample (rows), shared by metrics over the same clusters."""
    indices: np.ndarray = np.random.default_rng(seed).integers(0, count, size=(resamples, count))
    indices.setflags(write=False)
    return indices


def _bootstrap_ratios(num: np.ndarray, den: np.ndarray, *, seed: int, resamples: int) -> np.ndarray:
    """Bootstrap draws of 100 * sum(num) / sum(den), resampling clusters with replacement.

    Each resample draws ``count`` cluster indices uniformly (the same distribution as multinomial counts, and
    much faster to sum by gathering). Small problems reuse one cached index matrix across metrics; large ones
    are drawn block by block so memory stays bounded.
    """
    count = len(num)
    blocks: Iterable[np.ndarray]
    if count * resamples <= BLOCK_CELLS:
        blocks = [_resample_indices(count, seed, resamples)]
    else:
        rng = np.random.default_rng(seed)
        rows = max(1, BLOCK_CELLS // count)
        blocks = (
            rng.integers(0, count, size=(min(rows, resamples - start), count)) for start in range(0, resamples, rows)
        )
    out = []
    for indices in blocks:
        totals = den[indices].sum(axis=1)
        out.append(100.0 * num[indices].sum(axis=1) / np.where(totals == 0, np.nan, totals))
    draws: np.ndarray = np.concatenate(out)
    finite: np.ndarray = draws[~np.isnan(draws)]
    return finite


def _groups(rows: Sequence[Row], key: str) -> dict[Any, list[Row]]:
    grouped: dict[Any, list[Row]] = {}
    for row in rows:
        grouped.setdefault(_hashable(row.meta.get(key)), []).append(row)
    return grouped


def _hashable(value: Any) -> Hashable:
    return tuple(value) if isinstance(value, list) else value


def _need_key(name: str, by: str | None) -> str:
    if not by:
        raise ValueError(f"Metric '{name}' needs a grouping key ('by:' in the task file).")
    return by


def accuracy(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """Micro accuracy: the mean per-sample score."""
    return {"accuracy": ratio([Unit(r.cluster, r.value) for r in rows])}


def all_correct(rows: Sequence[Row], name: str, by: str | None) -> dict[str, MetricValue]:
    """Share of groups (``by``) whose every member is right; one unit per group, resampled per group."""
    key = _need_key(name, by)
    units = [Unit(group, float(all(r.value >= 1.0 for r in members))) for group, members in _groups(rows, key).items()]
    return {name: ratio(units)}


def pairwise_accuracy(rows: Sequence[Row], by: str | None = "pair_id") -> dict[str, MetricValue]:
    """Both claims of a fact/fib pair judged right (MF²-style pairwise accuracy)."""
    return all_correct(rows, "pairwise_accuracy", by or "pair_id")


def pair_consistency(rows: Sequence[Row], by: str | None = "pair_id") -> dict[str, MetricValue]:
    """Both members of a conflicting pair (a video and its twin) answered right."""
    return all_correct(rows, "pair_consistency", by or "pair_id")


def multiple_binary_accuracy(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """TemporalBench-style: a group of binary questions counts only when all are right."""
    return all_correct(rows, "multiple_binary_accuracy", by)


def grouped_accuracy(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """Accuracy within each value of a meta key, named ``accuracy[key=value]``."""
    key = _need_key("grouped_accuracy", by)
    return {
        f"accuracy[{key}={group}]": accuracy(members)["accuracy"]
        for group, members in sorted(_groups(rows, key).items(), key=lambda item: str(item[0]))
    }


def macro_accuracy(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """Unweighted mean of per-group accuracies; CI by resampling within each group (stratified bootstrap)."""
    key = _need_key("macro_accuracy", by)
    groups = _groups(rows, key)
    means: list[float] = []
    draws: list[np.ndarray] = []
    for _, members in sorted(groups.items(), key=lambda item: cluster_order(item[0])):
        members = sorted(members, key=lambda r: (cluster_order(r.cluster), r.value))
        index, count = _cluster_index([r.cluster for r in members])
        num = np.bincount(index, weights=[r.value for r in members], minlength=count)
        den = np.bincount(index, minlength=count).astype(float)
        means.append(100.0 * num.sum() / den.sum())
        if count >= 2:
            draws.append(_bootstrap_ratios(num, den, seed=len(draws), resamples=BOOTSTRAP_RESAMPLES))
    if not means:
        return {"macro_accuracy": MetricValue(float("nan"), None, 0)}
    if len(draws) != len(means):
        return {"macro_accuracy": MetricValue(float(np.mean(means)), None, len(rows))}
    mean = mean_of_draws(draws)
    return {"macro_accuracy": MetricValue(float(np.mean(means)), percentile_interval(mean), len(rows), kept(mean))}


def iou_recall(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """Grounding: R1@θ (share of samples with IoU ≥ θ) and mIoU; the row value is the IoU."""
    out = {f"R1@{t}": ratio([Unit(r.cluster, float(r.value >= t)) for r in rows]) for t in IOU_THRESHOLDS}
    out["mIoU"] = ratio([Unit(r.cluster, r.value) for r in rows])
    return out


def probe_accuracy(rows: Sequence[Row], by: str | None = "mode") -> dict[str, MetricValue]:
    """Online: accuracy over forward-responding probes only (rows whose ``mode`` is ``forward``)."""
    key = by or "mode"
    probes = [r for r in rows if r.meta.get(key) == "forward"]
    return {"probe_accuracy": ratio([Unit(r.cluster, r.value) for r in probes])}


def dense_captioning(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """Dense captioning: localisation P/R/F1 at tIoU 0.3-0.9, BLEU-4 / METEOR / CIDEr on matched events, SODA_c
    (``tempeval.scoring.dense``, imported when used)."""
    from tempeval.scoring.dense import dense_captioning_metrics

    return dense_captioning_metrics(rows, by)


MetricFunction = Callable[[Sequence[Row], "str | None"], dict[str, MetricValue]]

METRICS: dict[str, MetricFunction | str] = {
    "accuracy": accuracy,
    "macro_accuracy": macro_accuracy,
    "grouped_accuracy": grouped_accuracy,
    "pairwise_accuracy": pairwise_accuracy,
    "pair_consistency": pair_consistency,
    "multiple_binary_accuracy": multiple_binary_accuracy,
    "iou": iou_recall,
    "probe_accuracy": probe_accuracy,
    "stream_events": "tempeval.scoring.stream_records:stream_events",
    "stream_pauc": "tempeval.scoring.stream_records:stream_pauc",
    "query_time_accuracy": "tempeval.scoring.stream_records:stream_query_accuracy",
    "query_time_macro": "tempeval.scoring.stream_records:stream_query_macro",
    "answered_query_accuracy": "tempeval.scoring.stream_records:stream_answered_accuracy",
    "dense_captioning": dense_captioning,
}
"""Metric name (as written in task files) -> function of (rows, grouping key), or its ``module:function``
(imported on first use)."""


METRIC_KIND = Kind("metric", "tempeval.metrics", METRICS, "tempeval list metrics", convention=benchmark_function)


def get_metric(name: str) -> MetricFunction:
    """The metric called ``name``: from ``METRICS``, a ``tempeval.metrics`` entry point, ``module:function``,
    else ``<benchmark>.<function>`` in ``tempeval.benchmarks`` (see :mod:`tempeval.plugins`)."""
    metric: MetricFunction = resolve(METRIC_KIND, name)
    return metric


def compute(name: str, rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """Run the metric called ``name`` on ``rows`` sorted by sample id (stable), so record order never matters."""
    return get_metric(name)(sorted(rows, key=lambda r: r.sample_id), by)
