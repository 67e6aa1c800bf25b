"""Scores of a stream: pure functions of its action log and the ground truth.

Only :class:`~tempeval.streaming.events.Respond` actions count as answers; silence and errors answer nothing. A
response's time is the time the action was taken (``taken_at_s``: in real-time mode it includes the model's
latency).

**Query-time accuracy** (OVO-Bench backward / real-time, StreamingBench real-time, OVBench): a query's answer is
the first response naming it taken at or after the time it was asked; a task's scorer turns the text into a
value; an unanswered query scores 0 and stays in the denominator.

**Timing-aware event scores**, for answers due within windows ``[s, e]`` (a query may have several, e.g. "say
each time a red square appears"). The responses naming a query are matched to its windows in time order: a
response at ``r`` belongs to the latest window that has started by ``r`` (``s_i <= r < s_{i+1}``); one before
the first window is *premature*. The first response of a window answers it, later ones are *duplicates*.

* ``timing_score`` of a window: 1 when its answer comes inside ``[s, e]``; ``0.5 ** ((r - e) / half_life_s)``
  when after ``e``; 0 without an answer (a premature response scores 0 and does not answer the window).
* ``delay_s`` of an answered window: ``r - s``. ``mean_delay_s`` / ``median_delay_s`` are over answered windows.
* ``event_recall``: answered windows / windows.
* ``response_precision``: responses that answered a window / responses counted (those naming a query with
  windows, plus those naming no query or an unknown one: a response that answers nothing counts against it).
* ``duplicate_rate``: duplicate responses / responses counted.
* ``pauc`` (PAUC-style area, tempeval's definition; the official ProactiveVideoQA code was not available to
  check against): inside ``[s, e]`` the quality ``q(t)`` is the content score of the latest response taken in
  ``[s, t]`` (0 before the first); ``area = mean of q over [s, e]`` (``q(s)`` when ``s == e``), and
  ``pauc = omega * area + (1 - omega) * q(e)``: ``omega`` weighs answering early against the final content.
  Content scores come from a given callable (a parser or a judge); without one every response scores 1.

Official views are separate named functions and never mixed with the above: :func:`streamingbench_proactive`
(the ±2 s rule of StreamingBench's ``src/data/count.py``) and :func:`ovo_forward_probe_accuracy` (OVO-Bench
forward active responding, accuracy over probes).

Aggregates over many streams (:func:`event_metrics`, :func:`query_time_accuracy`) are percentages (delays in
seconds) with the same cluster-bootstrap 95% intervals as every other metric (``tempeval.scoring.metrics``).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tempeval.errors import TempevalError
from tempeval.scoring.metrics import BOOTSTRAP_RESAMPLES, MetricValue, Unit, cluster_order, ratio
from tempeval.streaming.events import LogEntry, Respond


@dataclass(frozen=True)
class TimedResponse:
    """A response as scoring sees it."""

    t: float
    """When it was taken (``LogEntry.taken_at_s``)."""
    text: str
    query_id: str | None


def responses(entries: Sequence[LogEntry]) -> list[TimedResponse]:
    """The log's responses in time order (silence and errors left out)."""
    found = [TimedResponse(e.taken_at_s, e.action.text, e.action.query_id) for e in entries
             if isinstance(e.action, Respond)]
    return sorted(found, key=lambda response: response.t)  # stable: equal times keep the log's order


def first_answer(entries: Sequence[LogEntry], query_id: str, asked_at_s: float) -> TimedResponse | None:
    """The first response naming ``query_id`` taken at or after ``asked_at_s``, or ``None``."""
    return next((r for r in responses(entries) if r.query_id == query_id and r.t >= asked_at_s), None)


# -- query-time accuracy ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AskedQuery:
    """A query scored at its time, with its ground truth (never shown to a session)."""

    query_id: str
    asked_at_s: float
    target: Any = None


ContentScore = Callable[[str, Any], float]
"""(response text, ground truth) -> score in [0, 1]: a task's parser and scorer, or a judge."""


@dataclass(frozen=True)
class QueryOutcome:
    """How one query-time query was answered."""

    query_id: str
    value: float
    """The content score of the answer; 0 when unanswered."""
    answered_at_s: float | None
    delay_s: float | None
    """``answered_at_s - asked_at_s``."""


def query_time_outcomes(
    entries: Sequence[LogEntry], queries: Sequence[AskedQuery], score: ContentScore
) -> list[QueryOutcome]:
    """Each query scored on its first answer at or after its time (``score(text, query.target)``)."""
    outcomes = []
    for query in queries:
        answer = first_answer(entries, query.query_id, query.asked_at_s)
        if answer is None:
            outcomes.append(QueryOutcome(query.query_id, 0.0, None, None))
        else:
            value = float(score(answer.text, query.target))
            outcomes.append(QueryOutcome(query.query_id, value, answer.t, answer.t - query.asked_at_s))
    return outcomes


def query_time_accuracy(streams: Sequence[tuple[Hashable, Sequence[QueryOutcome]]]) -> MetricValue:
    """Mean query-time score over every query of every stream, in percent, clustered by stream."""
    return ratio([Unit(cluster, outcome.value) for cluster, outcomes in streams for outcome in outcomes])


# -- timing-aware event scores ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueWindow:
    """When an answer to a query is due: from ``start_s`` (the event) to ``end_s``."""

    query_id: str
    start_s: float
    end_s: float
    target: Any = None
    """What the answer should say (for content scores)."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start_s) and math.isfinite(self.end_s) and self.start_s <= self.end_s):
            raise TempevalError(
                f"Query {self.query_id!r}: the due window [{self.start_s}, {self.end_s}] is not a window of "
                "finite times with start <= end. Fix the window in the task's data."
            )


@dataclass(frozen=True)
class TimingRule:
    """The declared constants of the event scores (recorded with the scores)."""

    half_life_s: float = 2.0
    """A late answer's credit halves every this many seconds after the window's end."""
    pauc_omega: float = 0.5
    """Weight of the area against the final content score in ``pauc``."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.half_life_s) and self.half_life_s > 0):
            raise TempevalError(f"half_life_s must be a positive number of seconds, got {self.half_life_s!r}.")
        if not 0.0 <= self.pauc_omega <= 1.0:
            raise TempevalError(f"pauc_omega must be between 0 and 1, got {self.pauc_omega!r}.")

    def to_dict(self) -> dict[str, float]:
        """Plain-data form."""
        return {"half_life_s": self.half_life_s, "pauc_omega": self.pauc_omega}


def timing_score(response_t: float | None, window: DueWindow, half_life_s: float) -> float:
    """1 inside ``[s, e]``, ``0.5 ** ((r - e) / half_life_s)`` after ``e``, 0 before ``s`` or without answer."""
    if response_t is None or response_t < window.start_s:
        return 0.0
    if response_t <= window.end_s:
        return 1.0
    return float(0.5 ** ((response_t - window.end_s) / half_life_s))


def pauc(in_window: Sequence[tuple[float, float]], window: DueWindow, omega: float) -> float:
    """PAUC-style area of one window from its responses' ``(time, content score)`` (module docstring)."""
    inside = sorted((t, c) for t, c in in_window if window.start_s <= t <= window.end_s)
    if not inside:
        return 0.0
    final = inside[-1][1]
    length = window.end_s - window.start_s
    if length == 0:
        return final
    area = 0.0
    for (t, content), (t_next, _) in zip(inside, [*inside[1:], (window.end_s, 0.0)], strict=True):
        area += content * (t_next - t)
    return omega * (area / length) + (1 - omega) * final


@dataclass(frozen=True)
class WindowOutcome:
    """How one due window was answered."""

    window: DueWindow
    answered_at_s: float | None
    delay_s: float | None
    timing_score: float
    pauc: float


@dataclass(frozen=True)
class EventScores:
    """The event scores of one stream (counts; the rates are properties)."""

    windows: tuple[WindowOutcome, ...]
    counted: int
    """Responses counted for precision."""
    answering: int
    """Responses that answered a window (its first)."""
    duplicates: int
    premature: int
    unattributed: int
    """Responses naming no query, or a query with neither windows nor a score of its own."""

    @property
    def answered(self) -> int:
        """Windows that got an answer."""
        return sum(1 for outcome in self.windows if outcome.answered_at_s is not None)

    @property
    def event_recall(self) -> float:
        """Answered windows / windows (nan without windows)."""
        return self.answered / len(self.windows) if self.windows else math.nan

    @property
    def response_precision(self) -> float:
        """Answering responses / responses counted (nan without responses)."""
        return self.answering / self.counted if self.counted else math.nan

    @property
    def duplicate_rate(self) -> float:
        """Duplicate responses / responses counted (nan without responses)."""
        return self.duplicates / self.counted if self.counted else math.nan

    @property
    def delays_s(self) -> list[float]:
        """The delay of every answered window."""
        return [outcome.delay_s for outcome in self.windows if outcome.delay_s is not None]


def score_events(
    entries: Sequence[LogEntry],
    windows: Sequence[DueWindow],
    rule: TimingRule | None = None,
    *,
    content: ContentScore | None = None,
    scored_elsewhere: Collection[str] = (),
) -> EventScores:
    """Match one stream's responses to its due windows and score them (rules in the module docstring).

    Args:
        entries: The stream's log.
        windows: Every due window of the stream's event queries.
        rule: Half-life and ω.
        content: ``(text, window.target) -> [0, 1]`` for ``pauc``; ``None`` scores every response 1.
        scored_elsewhere: Ids of the stream's query-time queries: their responses are not counted here.
    """
    rule = rule or TimingRule()
    by_query: dict[str, list[DueWindow]] = {}
    for window in windows:
        by_query.setdefault(window.query_id, []).append(window)
    for query_windows in by_query.values():
        query_windows.sort(key=lambda window: window.start_s)
    hits: dict[int, list[TimedResponse]] = {id(window): [] for window in windows}
    counted = premature = unattributed = 0
    for response in responses(entries):
        if response.query_id in scored_elsewhere:
            continue
        counted += 1
        candidates = by_query.get(response.query_id or "")
        if not candidates:
            unattributed += 1
            continue
        place = bisect.bisect_right([window.start_s for window in candidates], response.t) - 1
        if place < 0:
            premature += 1
        else:
            hits[id(candidates[place])].append(response)
    outcomes = []
    for window in windows:
        got = hits[id(window)]
        first = got[0].t if got else None
        scored = [(r.t, 1.0 if content is None else float(content(r.text, window.target))) for r in got]
        outcomes.append(WindowOutcome(
            window=window,
            answered_at_s=first,
            delay_s=None if first is None else first - window.start_s,
            timing_score=timing_score(first, window, rule.half_life_s),
            pauc=pauc(scored, window, rule.pauc_omega),
        ))
    answering = sum(1 for outcome in outcomes if outcome.answered_at_s is not None)
    duplicates = sum(max(0, len(got) - 1) for got in hits.values())
    return EventScores(tuple(outcomes), counted, answering, duplicates, premature, unattributed)


def event_metrics(streams: Sequence[tuple[Hashable, EventScores]]) -> dict[str, MetricValue]:
    """Every event score over many streams (``(cluster, scores)`` per stream), with 95% intervals.

    Rates are percentages; ``mean_delay_s`` and ``median_delay_s`` are seconds.
    """
    def per_window(value: Callable[[WindowOutcome], float]) -> MetricValue:
        return ratio([Unit(cluster, value(outcome)) for cluster, scores in streams for outcome in scores.windows])

    def per_response(count: Callable[[EventScores], int]) -> MetricValue:
        units = [Unit(cluster, count(scores), scores.counted) for cluster, scores in streams if scores.counted]
        return ratio(units) if units else MetricValue(math.nan, None, 0)

    delays = [(cluster, delay) for cluster, scores in streams for delay in scores.delays_s]
    return {
        "timing_score": per_window(lambda outcome: outcome.timing_score),
        "event_recall": per_window(lambda outcome: float(outcome.answered_at_s is not None)),
        "response_precision": per_response(lambda scores: scores.answering),
        "duplicate_rate": per_response(lambda scores: scores.duplicates),
        "pauc": per_window(lambda outcome: outcome.pauc),
        "mean_delay_s": _seconds(ratio([Unit(cluster, delay) for cluster, delay in delays])),
        "median_delay_s": median_with_interval(delays),
    }


def _seconds(percent: MetricValue) -> MetricValue:
    """A ratio of seconds computed by :func:`ratio` (which multiplies by 100) back in seconds."""
    ci = None if percent.ci is None else (percent.ci[0] / 100.0, percent.ci[1] / 100.0)
    return MetricValue(percent.value / 100.0, ci, percent.n)


def median_with_interval(values: Sequence[tuple[Hashable, float]], *, seed: int = 0) -> MetricValue:
    """The median of ``(cluster, value)`` values, with a cluster-bootstrap 95% percentile interval."""
    if not values:
        return MetricValue(math.nan, None, 0)
    clusters: dict[Hashable, list[float]] = {}
    for cluster, value in values:
        clusters.setdefault(cluster, []).append(value)
    groups = [np.asarray(sorted(clusters[key])) for key in sorted(clusters, key=cluster_order)]
    median = float(np.median([value for _, value in values]))
    if len(groups) < 2:
        return MetricValue(median, None, len(values))
    rng = np.random.default_rng(seed)
    draws = [
        float(np.median(np.concatenate([groups[i] for i in rng.integers(0, len(groups), size=len(groups))])))
        for _ in range(BOOTSTRAP_RESAMPLES)
    ]
    low, high = np.percentile(draws, [2.5, 97.5])
    return MetricValue(median, (float(low), float(high)), len(values))


# -- official views -----------------------------------------------------------------------------------------

STREAMINGBENCH_TOLERANCE_S = 2.0
"""StreamingBench proactive output: the answer's time is right within this many seconds of the ground truth."""
STREAMINGBENCH_POLL_AFTER_S = 4.0
"""The official runner polls until the ground-truth time plus this; a later answer is never seen."""


@dataclass(frozen=True)
class ProactiveVerdict:
    """StreamingBench's official verdict on one proactive-output question."""

    query_id: str
    answered_at_s: float | None
    time_correct: bool
    answer_correct: bool


def streamingbench_proactive(
    entries: Sequence[LogEntry], query_id: str, asked_at_s: float, truth_time_s: float, truth_output: str
) -> ProactiveVerdict:
    """The official ±2 s rule (``src/data/count.py``) applied to a stream's log.

    The official runner stops at the first answer, or at ``truth_time_s + 4`` s; its verdict reads that last
    reply: ``time_correct`` when ``|t - truth_time_s| <= 2``, and ``answer_correct`` only when the time is
    correct and ``truth_output`` is a substring of the reply (case-sensitive). Every question is in the
    denominator of both accuracies (see :func:`streamingbench_proactive_accuracy`).
    """
    answer = first_answer(entries, query_id, asked_at_s)
    if answer is None or answer.t > truth_time_s + STREAMINGBENCH_POLL_AFTER_S:
        return ProactiveVerdict(query_id, None, False, False)
    on_time = abs(answer.t - truth_time_s) <= STREAMINGBENCH_TOLERANCE_S
    return ProactiveVerdict(query_id, answer.t, on_time, on_time and truth_output in answer.text)


def streamingbench_proactive_accuracy(
    verdicts: Sequence[tuple[Hashable, ProactiveVerdict]],
) -> dict[str, MetricValue]:
    """``time_accuracy`` and ``answer_accuracy`` (percent) over every question, as ``count.py`` reports them."""
    return {
        "time_accuracy": ratio([Unit(cluster, float(v.time_correct)) for cluster, v in verdicts]),
        "answer_accuracy": ratio([Unit(cluster, float(v.answer_correct)) for cluster, v in verdicts]),
    }


def ovo_forward_probe_accuracy(
    streams: Sequence[tuple[Hashable, Sequence[LogEntry], Sequence[AskedQuery]]], score: ContentScore
) -> MetricValue:
    """OVO-Bench forward active responding, official view: accuracy over **probes** (not items).

    Each probe is a query at its annotated time; its answer is the first response naming it at or after that
    time, scored by the official probe scorer ``score(text, target)``; an unanswered probe is wrong. The mean is
    over probes, as in the official ``OVOBenchScore.py`` (TimeChat-Online's per-item mean is not the official
    number). Clustered by stream.
    """
    return query_time_accuracy([(cluster, query_time_outcomes(log, probes, score)) for cluster, log, probes in streams])
