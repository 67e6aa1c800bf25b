"""Streaming tasks' scorer and metrics: a stream record's action log scored against its queries' truth.

The scorer ``stream`` (a task's ``scorers: {strict: stream}``) scores one stream record: its query-time
queries by the first answer at or after their time (the content read by the strict parser of each query's
answer format), and its event queries by the timing rules of :mod:`tempeval.scoring.streaming`. The record's
``answer`` keeps each query's and each window's outcome as plain data, so the metrics below, and ``tempeval
score``, never need the log again. A stream's ``score`` is the mean of its query-time values and its windows'
timing scores (a per-stream summary; the task's metrics are the numbers to report).

Metrics over the records, each with cluster-bootstrap 95% intervals (clustered by video):

* ``stream_events``: ``timing_score``, ``event_recall``, ``response_precision``, ``duplicate_rate`` (percent) and
  ``mean_delay_s``, ``median_delay_s`` (seconds) over the event queries' due windows;
* ``stream_pauc``: the PAUC-style area (for benchmarks that define one);
* ``query_time_accuracy``: the mean query-time score over every query-time query; ``query_time_macro`` its
  unweighted mean over the groups of a meta key; ``answered_query_accuracy`` the official views that leave
  unanswered questions out of the denominator (StreamingBench, OVBench), reported beside, never instead.

An errored stream (the model failed) is never scored: it counts as unanswered, every window and query 0 and in
the denominators, as errors count everywhere else.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from tempeval.errors import TempevalError
from tempeval.scoring.metrics import (
    MetricValue,
    Row,
    Unit,
    keeping_draws,
    mean_of_draws,
    percentile_interval,
    ratio,
)
from tempeval.scoring.scorers import Reference, Scorer, strict
from tempeval.scoring.streaming import (
    DueWindow,
    EventScores,
    QueryOutcome,
    TimingRule,
    WindowOutcome,
    event_metrics,
    query_time_accuracy,
    query_time_outcomes,
    score_events,
)
from tempeval.streaming.events import LogEntry, StreamLog
from tempeval.streaming.queries import StreamQuery, stream_queries
from tempeval.types import Score


def query_content(query: StreamQuery, text: str, content: Scorer = strict) -> Score:
    """``content``'s verdict (default the strict parser) on ``text`` as an answer to ``query``."""
    return content(text, Reference(query.answer_format, query.target, query.choices, sample_id=query.query_id))


def outcome_of(
    entries: Sequence[LogEntry], queries: Sequence[StreamQuery], rule: TimingRule, content: Scorer = strict
) -> dict[str, Any]:
    """One stream's outcome as plain data (what a stream record's ``answer`` holds)."""
    timed = [q for q in queries if not q.is_event]
    unparsed: list[str] = []
    outcomes: list[QueryOutcome] = []
    for query in timed:
        verdicts: list[Score] = []

        def scored(text: str, _target: Any, query: StreamQuery = query, verdicts: list[Score] = verdicts) -> float:
            verdicts.append(query_content(query, text, content))
            return verdicts[-1].value

        outcomes += query_time_outcomes(entries, [query.asked()], scored)
        if verdicts and not verdicts[-1].parsed:
            unparsed.append(query.query_id)
    windows = [w for q in queries for w in q.windows()]
    def said(text: str, query: Any) -> float:  # an event's answer: its content, when its query says one
        if not isinstance(query, StreamQuery) or query.target is None:
            return 1.0
        return query_content(query, text, content).value

    events = score_events(entries, windows, rule, content=said, scored_elsewhere={q.query_id for q in timed})
    return {
        "queries": [
            {"query_id": o.query_id, "value": o.value, "answered_at_s": o.answered_at_s, "delay_s": o.delay_s}
            for o in outcomes
        ],
        "windows": [
            {
                "query_id": w.window.query_id, "start_s": w.window.start_s, "end_s": w.window.end_s,
                "answered_at_s": w.answered_at_s, "delay_s": w.delay_s, "timing_score": w.timing_score,
                "pauc": w.pauc,
            }
            for w in events.windows
        ],
        "counted": events.counted,
        "answering": events.answering,
        "duplicates": events.duplicates,
        "premature": events.premature,
        "unattributed": events.unattributed,
        "unparsed": unparsed,
    }


OfficialView = Callable[[Sequence[LogEntry], Sequence[StreamQuery]], Any]
"""A benchmark's official verdicts computed from a stream's log (kept in the outcome's ``official``)."""


def stream_scorer(content: Scorer, view: OfficialView | None = None) -> Scorer:
    """A scorer of stream records whose answers' content is read by ``content`` (a benchmark's official rule);
    ``view``'s verdicts, when given, are kept beside tempeval's in the outcome (``official``), never mixed in."""

    def score(output: str, reference: Reference) -> Score:
        stream = reference.stream
        if not isinstance(stream, Mapping) or "log" not in stream:
            raise TempevalError(
                f"Record {reference.sample_id!r} has no stream log: stream scorers score records of streaming "
                "tasks only (written by `tempeval run` on a task of kind streaming)."
            )
        where = f"record {reference.sample_id!r}"
        log = StreamLog.from_dict(stream["log"], f"{where}: stream log")
        rule = TimingRule(**(stream.get("timing") or {}))
        queries = stream_queries(reference.target, where)
        outcome = outcome_of(log.entries, queries, rule, content)
        if view is not None:
            outcome["official"] = view(log.entries, queries)
        values = [q["value"] for q in outcome["queries"]] + [w["timing_score"] for w in outcome["windows"]]
        value = sum(values) / len(values) if values else 0.0
        parts = [f"{len(outcome['queries'])} query-time", f"{len(outcome['windows'])} due window(s)"]
        if outcome["unparsed"]:
            parts.append(f"unparseable answer to {', '.join(outcome['unparsed'])}")
        return Score(value, outcome, parsed=not outcome["unparsed"], explanation="; ".join(parts))

    return score


score_stream = stream_scorer(strict)
"""The ``stream`` scorer: a stream record's outcome, answers read by the strict parser (module docstring)."""


# -- metrics ------------------------------------------------------------------------------------------------


def _outcome(row: Row) -> Mapping[str, Any]:
    """A row's stream outcome; an errored or unscored stream as if nothing was said (every window unanswered)."""
    if isinstance(row.answer, Mapping) and "windows" in row.answer:
        return row.answer
    queries = stream_queries(row.target, f"record {row.sample_id!r}")
    return outcome_of((), queries, TimingRule())


def event_scores_of(outcome: Mapping[str, Any]) -> EventScores:
    """The :class:`EventScores` an outcome's plain data holds."""
    windows = tuple(
        WindowOutcome(
            DueWindow(w["query_id"], w["start_s"], w["end_s"]), w["answered_at_s"], w["delay_s"], w["timing_score"],
            w["pauc"],
        )
        for w in outcome["windows"]
    )
    return EventScores(windows, outcome["counted"], outcome["answering"], outcome["duplicates"],
                       outcome["premature"], outcome["unattributed"])


def _streams(rows: Sequence[Row]) -> list[tuple[Hashable, EventScores]]:
    return [(row.cluster, event_scores_of(_outcome(row))) for row in rows]


def stream_events(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """Streaming: timing score, event recall, response precision, duplicate rate (%) and delays (s)."""
    metrics = event_metrics(_streams(rows))
    return {name: value for name, value in metrics.items() if name != "pauc"}


def stream_pauc(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """Streaming: PAUC-style area of content over time within each due window (%)."""
    return {"pauc": event_metrics(_streams(rows))["pauc"]}


def stream_query_accuracy(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """Streaming: mean score of each query-time query's first answer at or after its time (%)."""
    streams = [
        (row.cluster, [QueryOutcome(q["query_id"], q["value"], q["answered_at_s"], q["delay_s"])
                       for q in _outcome(row)["queries"]])
        for row in rows
    ]
    value = query_time_accuracy(streams)
    return {"query_time_accuracy": value if value.n else MetricValue(math.nan, None, 0)}


def stream_query_macro(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """Streaming: unweighted mean over the groups of a meta key (``by``) of each group's query-time accuracy (%)."""
    if not by:
        raise ValueError("Metric 'query_time_macro' needs a grouping key ('by:' in the task file).")
    groups: dict[Any, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.meta.get(by), []).append(row)
    with keeping_draws():
        values = [stream_query_accuracy(members)["query_time_accuracy"] for _, members in sorted(
            groups.items(), key=lambda item: str(item[0]))]
    values = [v for v in values if v.n]
    if not values:
        return {"query_time_macro": MetricValue(math.nan, None, 0)}
    mean = float(sum(v.value for v in values) / len(values))
    draws = [v.draws for v in values if v.draws is not None]
    ci = percentile_interval(mean_of_draws(draws)) if len(draws) == len(values) else None
    return {"query_time_macro": MetricValue(mean, ci, sum(v.n for v in values))}


def stream_answered_accuracy(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """Streaming, official views that drop unanswered questions (StreamingBench's count.py, OVBench's
    aggregate): the query-time accuracy over the queries that got an answer only (%)."""
    units = [
        Unit(row.cluster, float(query["value"]))
        for row in rows if isinstance(row.answer, Mapping)
        for query in row.answer["queries"] if query["answered_at_s"] is not None
    ]
    return {"answered_query_accuracy": ratio(units) if units else MetricValue(math.nan, None, 0)}
