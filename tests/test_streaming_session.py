"""The stream driver (virtual and real time), the scripted native session, and the log's record form."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tempeval.errors import TempevalError
from tempeval.streaming import (
    Errored,
    FrameEvent,
    FrameStamp,
    InMemoryFrames,
    LogEntry,
    QueryEvent,
    Realtime,
    Respond,
    Silent,
    StreamEvent,
    StreamLog,
    VirtualClock,
    run_stream,
)
from tempeval.streaming.scripted import Cue, ScriptedStreamSession

PIXEL = np.zeros((2, 2, 3), dtype=np.uint8)


def ten_seconds(queries: list[QueryEvent] | None = None) -> VirtualClock:
    frames = [FrameEvent(float(i), PIXEL, i) for i in range(10)]
    return VirtualClock(InMemoryFrames(frames, end_s=10.0), queries or [QueryEvent(1.0, "say when", "q")], "s1")


class FakeTimer:
    """Wall-clock time that passes only when a test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_scripted_session_answers_at_the_first_event_at_or_after_each_cue() -> None:
    session = ScriptedStreamSession([Cue(4.5, "now", "q"), Cue(2.0, "early", "q")])
    log = run_stream(session, ten_seconds())
    assert [(e.taken_at_s, e.event_t_s, e.action) for e in log.entries] == [
        (2.0, 2.0, Respond("early", "q")),
        (5.0, 5.0, Respond("now", "q")),
    ]
    assert session.opening is not None and session.opening.query_times == (("q", 1.0),)
    assert all(frame.delivered_at_s == frame.t for frame in log.frames) and len(log.frames) == 10


def test_the_opening_tells_query_times_but_no_query_text() -> None:
    session = ScriptedStreamSession([])
    run_stream(session, ten_seconds([QueryEvent(3.0, "is the square red?", "q")]))
    assert session.opening is not None
    assert "red" not in json.dumps(session.opening.__dict__)


def test_virtual_time_measures_latency_but_does_not_charge_it() -> None:
    timer = FakeTimer()

    def slow(event: StreamEvent) -> None:
        timer.now += 3.0

    log = run_stream(ScriptedStreamSession([Cue(2.0, "x", "q")], on_push=slow), ten_seconds(), timer=timer)
    assert [(e.taken_at_s, e.latency_s) for e in log.entries] == [(2.0, 3.0)]
    assert not log.dropped


def test_realtime_drop_charges_latency_and_logs_the_frames_missed() -> None:
    timer = FakeTimer()
    seen: list[float] = []

    def push(event: StreamEvent) -> None:
        seen.append(event.t)
        if event.t == 2.0:  # the push at 2 s takes 2.5 s of wall clock: busy until 4.5 s
            timer.now += 2.5

    session = ScriptedStreamSession([Cue(2.0, "x", "q")], on_push=push)
    log = run_stream(session, ten_seconds(), realtime=Realtime(busy="drop"), timer=timer)
    assert [(e.taken_at_s, e.event_t_s, e.latency_s) for e in log.entries] == [(4.5, 2.0, 2.5)]
    assert [(f.t, f.delivered_at_s) for f in log.dropped] == [(3.0, None), (4.0, None)]
    assert 3.0 not in seen and 4.0 not in seen and 5.0 in seen


def test_realtime_queue_delivers_late_frames_in_order_once_free() -> None:
    timer = FakeTimer()

    def push(event: StreamEvent) -> None:
        if event.t == 2.0:
            timer.now += 2.5

    log = run_stream(ScriptedStreamSession([], on_push=push), ten_seconds(), realtime=Realtime("queue"), timer=timer)
    assert not log.dropped
    late = [(f.t, f.delivered_at_s) for f in log.frames if f.delivered_at_s != f.t]
    assert late == [(3.0, 4.5), (4.0, 4.5)]


def test_realtime_never_drops_a_query() -> None:
    timer = FakeTimer()
    asked: list[float] = []

    def push(event: StreamEvent) -> None:
        if isinstance(event, QueryEvent):
            asked.append(event.t)
        if event.t == 0.0:
            timer.now += 5.0

    queries = [QueryEvent(1.0, "a", "a"), QueryEvent(2.0, "b", "b")]
    run_stream(ScriptedStreamSession([], on_push=push), ten_seconds(queries), realtime=Realtime("drop"), timer=timer)
    assert asked == [1.0, 2.0]


def test_an_unknown_busy_policy_is_refused() -> None:
    with pytest.raises(TempevalError, match="drop, queue"):
        Realtime(busy="skip")  # type: ignore[arg-type]


def test_the_log_round_trips_through_json() -> None:
    log = StreamLog(
        "s1",
        (
            LogEntry(1.0, 1.0, Silent(), 0.1),
            LogEntry(2.5, 2.0, Respond("a red square", "q"), 0.5),
            LogEntry(3.0, 3.0, Respond("hm", None)),
            LogEntry(4.0, 4.0, Errored("empty reply")),
        ),
        (FrameStamp(0.0, 0, 0.0), FrameStamp(1.0, 30, None)),
    )
    assert StreamLog.from_dict(json.loads(json.dumps(log.to_dict()))) == log


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"stream_id": "s", "entries": {}, "frames": []}, "a stream log needs .*entries \\(a list\\)"),
        ({"stream_id": "s", "entries": [{"taken_at_s": "1", "event_t_s": 1, "latency_s": 0}], "frames": []},
         "entry 0: taken_at_s must be a finite number"),
        ({"stream_id": "s", "entries": [{"taken_at_s": 1, "event_t_s": 1, "latency_s": 0,
                                         "action": {"kind": "shout"}}], "frames": []},
         "entry 0: action: .* is not an action"),
        ({"stream_id": "s", "entries": [], "frames": [{"t": 0, "source_index": 1.5}]},
         "frame 0: source_index must be a whole number"),
        ({"stream_id": "s", "entries": [[1.0, 1.0]], "frames": []}, "entry 0: expected a JSON object"),
    ],
)
def test_a_bad_log_record_names_the_entry_and_the_fix(record: dict[str, object], message: str) -> None:
    with pytest.raises(TempevalError, match=f"runs/x.jsonl line 3: {message}"):
        StreamLog.from_dict(record, where="runs/x.jsonl line 3")


def test_a_query_with_a_bad_time_is_refused() -> None:
    with pytest.raises(TempevalError, match="Query 'q': its time must be"):
        QueryEvent(float("nan"), "x", "q")
