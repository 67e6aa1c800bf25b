"""Streaming scores on hand-computed cases: every formula of tempeval.scoring.streaming, and the official views."""

from __future__ import annotations

import numpy as np
import pytest

from tempeval.adapter import create_adapter
from tempeval.errors import TempevalError
from tempeval.scoring.streaming import (
    AskedQuery,
    DueWindow,
    EventScores,
    ProactiveVerdict,
    TimingRule,
    event_metrics,
    ovo_forward_probe_accuracy,
    pauc,
    query_time_accuracy,
    query_time_outcomes,
    score_events,
    streamingbench_proactive,
    streamingbench_proactive_accuracy,
    timing_score,
)
from tempeval.streaming.clock import InMemoryFrames, VirtualClock
from tempeval.streaming.events import Errored, FrameEvent, LogEntry, QueryEvent, Respond, Silent
from tempeval.streaming.polling import PollingSession
from tempeval.streaming.scripted import Cue, ScriptedStreamSession
from tempeval.streaming.session import run_stream
from tempeval.types import Request

PIXEL = np.zeros((2, 2, 3), dtype=np.uint8)


def said(t: float, text: str, query_id: str | None = "q") -> LogEntry:
    return LogEntry(t, t, Respond(text, query_id))


def clock(seconds: int, queries: list[QueryEvent]) -> VirtualClock:
    frames = [FrameEvent(float(i), PIXEL, i) for i in range(seconds)]
    return VirtualClock(InMemoryFrames(frames, end_s=float(seconds)), queries)


@pytest.mark.parametrize(
    ("t", "expected"),
    [(None, 0.0), (9.9, 0.0), (10.0, 1.0), (11.0, 1.0), (12.0, 1.0), (14.0, 0.5), (16.0, 0.25), (13.0, 2**-0.5)],
)
def test_timing_score_is_full_inside_halves_every_half_life_after_and_zero_before(
    t: float | None, expected: float
) -> None:
    assert timing_score(t, DueWindow("q", 10.0, 12.0), half_life_s=2.0) == pytest.approx(expected)


def test_a_model_that_answers_exactly_two_seconds_late_gets_that_delay_and_half_credit() -> None:
    # The red square appears at 5 s (a point event); the scripted model says so at 7 s.
    session = ScriptedStreamSession([Cue(7.0, "red square", "q")])
    log = run_stream(session, clock(10, [QueryEvent(0.0, "Say when the red square appears.", "q")]))
    point = score_events(log.entries, [DueWindow("q", 5.0, 5.0)], TimingRule(half_life_s=2.0))
    assert point.delays_s == [2.0]
    assert point.windows[0].timing_score == 0.5  # 0.5 ** ((7 - 5) / 2)
    assert (point.event_recall, point.response_precision, point.duplicate_rate) == (1.0, 1.0, 0.0)
    lasting = score_events(log.entries, [DueWindow("q", 5.0, 10.0)])
    assert lasting.delays_s == [2.0] and lasting.windows[0].timing_score == 1.0


def test_a_polled_offline_model_that_answers_two_seconds_late_gets_exactly_that_delay() -> None:
    def two_seconds_late(request: Request) -> str:  # sees the square from the frame at 5 s, speaks from 7 s
        assert request.frames is not None
        return "[q] red square" if request.frames.timestamps[-1] >= 7.0 else "WAIT"

    session = PollingSession(create_adapter("scripted", {"policy": two_seconds_late}))
    log = run_stream(session, clock(10, [QueryEvent(0.0, "Say when the red square appears.", "q")]))
    assert [e.action for e in log.entries] == [Silent()] * 7 + [Respond("red square", "q")]
    scores = score_events(log.entries, [DueWindow("q", 5.0, 6.0)], TimingRule(half_life_s=1.0))
    assert scores.delays_s == [2.0] and scores.windows[0].timing_score == 0.5  # 0.5 ** ((7 - 6) / 1)


def test_responses_are_matched_to_the_latest_started_window_and_counted_hand_by_hand() -> None:
    windows = [DueWindow("q", 2.0, 3.0), DueWindow("q", 6.0, 8.0)]
    entries = [
        said(1.0, "too early"),  # premature
        said(2.5, "one"),  # answers window 1
        said(2.8, "one again"),  # duplicate of window 1
        said(4.0, "no id", None),  # answers nothing
        LogEntry(4.5, 4.5, Silent()),
        LogEntry(4.6, 4.6, Errored("timeout")),
        said(5.0, "B", "mc"),  # a query-time query's answer: not counted here
        said(7.0, "two"),  # answers window 2
        said(9.0, "two again"),  # duplicate of window 2
    ]
    scores = score_events(entries, windows, scored_elsewhere={"mc"})
    assert (scores.counted, scores.answering, scores.duplicates, scores.premature, scores.unattributed) == (
        6, 2, 2, 1, 1,
    )
    assert scores.response_precision == pytest.approx(2 / 6)
    assert scores.duplicate_rate == pytest.approx(2 / 6)
    assert scores.event_recall == 1.0
    assert [o.timing_score for o in scores.windows] == [1.0, 1.0]
    assert scores.delays_s == [0.5, 1.0]


def test_an_answer_after_the_window_still_answers_it_with_decayed_credit() -> None:
    scores = score_events([said(5.0, "late")], [DueWindow("q", 2.0, 3.0)], TimingRule(half_life_s=2.0))
    assert scores.delays_s == [3.0] and scores.windows[0].timing_score == 0.5


def test_a_window_without_an_answer_scores_zero_and_lowers_recall() -> None:
    scores = score_events([said(2.5, "x")], [DueWindow("q", 2.0, 3.0), DueWindow("other", 1.0, 4.0)])
    assert scores.event_recall == 0.5
    assert [o.timing_score for o in scores.windows] == [1.0, 0.0]
    assert [o.delay_s for o in scores.windows] == [0.5, None]


def test_pauc_is_the_mean_quality_over_the_window_weighed_against_the_final_content() -> None:
    window = DueWindow("q", 10.0, 20.0, target="red")
    # q(t) = 0 on [10, 12), 0.4 on [12, 15), 1.0 on [15, 20]: area = (0.4 * 3 + 1.0 * 5) / 10 = 0.62, final 1.0.
    timeline = [(12.0, 0.4), (15.0, 1.0), (21.0, 1.0), (9.0, 1.0)]  # the last two are outside the window
    assert pauc(timeline, window, omega=0.5) == pytest.approx(0.81)
    assert pauc(timeline, window, omega=1.0) == pytest.approx(0.62)
    assert pauc(timeline, window, omega=0.0) == pytest.approx(1.0)
    assert pauc([], window, omega=0.5) == 0.0
    assert pauc([(5.0, 0.7)], DueWindow("q", 5.0, 5.0), omega=0.5) == pytest.approx(0.7)


def test_pauc_from_a_log_uses_the_content_score_of_each_response() -> None:
    entries = [said(12.0, "grey"), said(15.0, "red")]
    content = {"grey": 0.4, "red": 1.0}
    scores = score_events(entries, [DueWindow("q", 10.0, 20.0, "red")], content=lambda text, target: content[text])
    assert scores.windows[0].pauc == pytest.approx(0.81)


def test_query_time_accuracy_takes_the_first_answer_at_or_after_the_query() -> None:
    entries = [said(2.0, "A", "q1"), said(4.0, "B", "q1"), said(4.5, "A", "q1"), said(5.0, "A", "q2")]
    queries = [AskedQuery("q1", 3.0, "B"), AskedQuery("q2", 5.0, "A"), AskedQuery("q3", 8.0, "C")]
    outcomes = query_time_outcomes(entries, queries, lambda text, target: float(text == target))
    assert [(o.value, o.answered_at_s, o.delay_s) for o in outcomes] == [
        (1.0, 4.0, 1.0), (1.0, 5.0, 0.0), (0.0, None, None),
    ]
    assert query_time_accuracy([("video1", outcomes)]).value == pytest.approx(200 / 3)


def test_event_metrics_over_streams_in_percent_and_seconds_with_intervals() -> None:
    rule = TimingRule(half_life_s=2.0)
    a = score_events([said(4.0, "x"), said(13.0, "y")], [DueWindow("q", 2.0, 4.0), DueWindow("q", 10.0, 11.0)], rule)
    b = score_events([said(0.0, "early")], [DueWindow("q", 1.0, 2.0)], rule)
    c = score_events([said(7.0, "z"), said(7.5, "z")], [DueWindow("q", 6.0, 6.0)], rule)
    metrics = event_metrics([("a", a), ("b", b), ("c", c)])
    # windows: a1 at 4 (1.0, delay 2), a2 at 13 (0.5, delay 3), b1 none (0), c1 at 7 (0.5 ** 0.5, delay 1)
    assert metrics["timing_score"].value == pytest.approx(100 * (1.0 + 0.5 + 0.0 + 2**-0.5) / 4)
    assert metrics["event_recall"].value == pytest.approx(75.0)
    assert metrics["response_precision"].value == pytest.approx(100 * 3 / 5)
    assert metrics["duplicate_rate"].value == pytest.approx(100 * 1 / 5)
    assert metrics["mean_delay_s"].value == pytest.approx(2.0)
    assert metrics["median_delay_s"].value == pytest.approx(2.0)
    assert metrics["mean_delay_s"].n == 3 and metrics["timing_score"].n == 4
    for name in ("timing_score", "mean_delay_s", "median_delay_s"):
        low, high = metrics[name].ci or (np.nan, np.nan)
        assert low <= metrics[name].value <= high


def test_event_metrics_without_responses_are_not_a_number_not_zero() -> None:
    silent = score_events([], [DueWindow("q", 1.0, 2.0)])
    metrics = event_metrics([("a", silent)])
    assert metrics["event_recall"].value == 0.0
    assert np.isnan(metrics["response_precision"].value) and metrics["response_precision"].n == 0
    assert np.isnan(metrics["median_delay_s"].value)
    assert isinstance(silent, EventScores) and np.isnan(silent.response_precision)


@pytest.mark.parametrize(
    ("answer_t", "text", "verdict"),
    [
        (11.5, "a red car appears", (11.5, True, True)),
        (8.0, "a red car appears", (8.0, True, True)),  # 2 s early is on time too (|t - gt| <= 2)
        (12.5, "a red car appears", (12.5, False, False)),  # late: the content is not even read
        (11.0, "A Red Car appears", (11.0, True, False)),  # substring, case-sensitive
        (14.0, "a red car appears", (14.0, False, False)),
        (14.0001, "a red car appears", (None, False, False)),  # after gt + 4 s: the official runner has stopped
    ],
)
def test_streamingbench_official_proactive_rule(
    answer_t: float, text: str, verdict: tuple[float | None, bool, bool]
) -> None:
    got = streamingbench_proactive([said(answer_t, text)], "q", 5.0, truth_time_s=10.0, truth_output="red car")
    assert (got.answered_at_s, got.time_correct, got.answer_correct) == verdict


def test_streamingbench_official_accuracies_keep_every_question_in_the_denominator() -> None:
    verdicts = [
        ("v1", ProactiveVerdict("a", 10.0, True, True)),
        ("v1", ProactiveVerdict("b", 10.0, True, False)),
        ("v2", ProactiveVerdict("c", None, False, False)),
        ("v3", ProactiveVerdict("d", 30.0, False, False)),
    ]
    accuracy = streamingbench_proactive_accuracy(verdicts)
    assert (accuracy["time_accuracy"].value, accuracy["answer_accuracy"].value) == (50.0, 25.0)


def test_ovo_forward_official_view_averages_over_probes_not_items() -> None:
    exact = lambda text, target: float(text == target)  # noqa: E731
    item1 = ("v1", [said(t + 0.5, "Yes", f"p{t}") for t in range(4)],
             [AskedQuery(f"p{t}", float(t), "Yes" if t < 3 else "No") for t in range(4)])  # 3 of 4 right
    item2 = ("v2", [], [AskedQuery("p0", 1.0, "2")])  # never answered: wrong
    # Per probe: 3 / 5 = 60 %; a per-item mean would say (75 + 0) / 2 = 37.5 %.
    assert ovo_forward_probe_accuracy([item1, item2], exact).value == pytest.approx(60.0)


def test_bad_windows_and_rules_are_refused() -> None:
    with pytest.raises(TempevalError, match=r"Query 'q': the due window \[5.0, 4.0\]"):
        DueWindow("q", 5.0, 4.0)
    with pytest.raises(TempevalError, match="half_life_s"):
        TimingRule(half_life_s=0.0)
    with pytest.raises(TempevalError, match="pauc_omega"):
        TimingRule(pauc_omega=1.5)
