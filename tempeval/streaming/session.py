"""The stream session contract, and the driver that feeds a session its clock's events and logs what it does.

A session is opened for one stream (:class:`StreamOpening`: the video, its rate, and when queries will come),
pushed every event in time order, answers each push with a list of actions, and is closed. A session says
whether it streams natively (a model that watches frame by frame) or is an offline model polled by
:class:`~tempeval.streaming.polling.PollingSession`.

:func:`run_stream` is the driver. In virtual time (the default) every action is taken at the time of the event
that produced it. In real-time mode (:class:`Realtime`) each push's measured wall-clock latency advances the
stream: the session is busy until ``event time + latency``, frames that arrive meanwhile are dropped or queued
(the declared ``busy`` policy), queries always wait in the queue (a question is never lost), and the log records
when each frame reached the session or that it never did.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from tempeval.errors import TempevalError
from tempeval.streaming.clock import VirtualClock
from tempeval.streaming.events import Action, FrameEvent, FrameStamp, LogEntry, StreamEvent, StreamLog

BusyPolicy = Literal["drop", "queue"]
BUSY_POLICIES: tuple[str, ...] = ("drop", "queue")


@dataclass(frozen=True)
class StreamOpening:
    """What a session is told when its stream opens. Query texts are not in it: each reaches the session at its
    time, so a model cannot watch for the answer to a question it has not been asked yet."""

    stream_id: str
    video_path: str | None
    """The source video (for backends that name media), or ``None`` for frames from memory."""
    end_s: float
    """When the stream ends, in seconds."""
    stream_fps: float
    query_times: tuple[tuple[str, float], ...] = ()
    """``(query id, time asked)`` of every query to come, in time order."""


class StreamSession(Protocol):
    """What a streaming adapter implements (the polling wrapper implements it for any offline adapter)."""

    native_streaming: bool
    """True for a model that watches the stream itself; False for an offline model polled at intervals."""

    def open(self, opening: StreamOpening) -> None:
        """Start a stream (a session is opened once per stream, and may be reused after :meth:`close`)."""
        ...

    def push(self, event: StreamEvent) -> Sequence[Action]:
        """Take one event; answer with the actions taken now (empty: nothing to say)."""
        ...

    def close(self) -> None:
        """End the stream and release what it held."""
        ...


@dataclass(frozen=True)
class Realtime:
    """Real-time mode: measured latency costs stream time."""

    busy: BusyPolicy = "drop"
    """Frames arriving while the session is busy: ``drop`` (never seen, logged as dropped) or ``queue`` (pushed
    in order once it is free, logged with the time they reached it)."""

    def __post_init__(self) -> None:
        if self.busy not in BUSY_POLICIES:
            raise TempevalError(f"The busy policy must be one of {', '.join(BUSY_POLICIES)}; got {self.busy!r}.")

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for run headers."""
        return {"busy": self.busy}


def opening_for(clock: VirtualClock, video_path: str | None = None) -> StreamOpening:
    """The :class:`StreamOpening` of a clock's stream."""
    return StreamOpening(
        stream_id=clock.stream_id,
        video_path=video_path,
        end_s=clock.provider.end_s,
        stream_fps=clock.provider.stream_fps,
        query_times=tuple((query.query_id, query.t) for query in clock.queries),
    )


def run_stream(
    session: StreamSession,
    clock: VirtualClock,
    *,
    video_path: str | None = None,
    realtime: Realtime | None = None,
    timer: Callable[[], float] = time.perf_counter,
) -> StreamLog:
    """Open ``session``, push it every event of ``clock`` and close it; the log of what it did.

    Args:
        session: The stream session (native, or a polling wrapper).
        clock: The stream's events.
        video_path: Told to the session in its opening.
        realtime: Real-time mode, or ``None`` for virtual time (latency is measured and logged, costs nothing).
        timer: Wall clock in seconds (tests pass a fake one).

    Returns:
        The stream's log.
    """
    driver = _Driver(session, realtime, timer)
    session.open(opening_for(clock, video_path))
    try:
        for event in clock.events():
            driver.arrive(event)
        driver.flush()
    finally:
        session.close()
    return StreamLog(clock.stream_id, tuple(driver.entries), tuple(driver.frames))


class _Driver:
    """Pushes events into a session, keeps its busy time and the log (one stream)."""

    def __init__(self, session: StreamSession, realtime: Realtime | None, timer: Callable[[], float]) -> None:
        self.session = session
        self.realtime = realtime
        self.timer = timer
        self.busy_until = -math.inf
        self.waiting: list[StreamEvent] = []
        self.entries: list[LogEntry] = []
        self.frames: list[FrameStamp] = []

    def arrive(self, event: StreamEvent) -> None:
        """An event reaches the stream at its time."""
        self._free_up_to(event.t)
        if event.t >= self.busy_until:
            self._push(event, event.t)
        elif isinstance(event, FrameEvent) and self.realtime is not None and self.realtime.busy == "drop":
            self.frames.append(FrameStamp(event.t, event.source_index, None))
        else:
            self.waiting.append(event)

    def flush(self) -> None:
        """Push whatever still waits (the stream has ended)."""
        self._free_up_to(math.inf)

    def _free_up_to(self, t: float) -> None:
        # Waiting events are pushed, in order, each as soon as the session is free, while that is no later than t.
        while self.waiting and self.busy_until <= t:
            self._push(self.waiting.pop(0), self.busy_until)

    def _push(self, event: StreamEvent, at: float) -> None:
        at = max(at, event.t)
        if isinstance(event, FrameEvent):
            self.frames.append(FrameStamp(event.t, event.source_index, at))
        started = self.timer()
        actions = self.session.push(event)
        latency = max(0.0, self.timer() - started)
        taken_at = at + latency if self.realtime is not None else at
        if self.realtime is not None:
            self.busy_until = taken_at
        self.entries.extend(LogEntry(taken_at, event.t, action, latency) for action in actions)

