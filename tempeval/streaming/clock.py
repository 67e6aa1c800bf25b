"""The virtual clock: frames and queries of one stream, delivered in time order, never a frame before its time.

The clock advances in steps of ``1 / stream_fps`` seconds. At each step it asks its :class:`FrameProvider` for
the frames whose time lies in the step, ``(previous step, this step]``, checks that the provider kept to that
window (a frame from the future, a frame out of order or one already delivered is refused), and merges them
with the queries asked in the same step. Events come out sorted by time; at equal times a frame comes before a
query, so a question asked at ``t`` is asked about the video up to and including ``t``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator, Sequence
from typing import Protocol

from tempeval.errors import TempevalError
from tempeval.streaming.events import FrameEvent, QueryEvent, StreamEvent

DEFAULT_STREAM_FPS = 1.0
"""Frames per second a stream is decoded at unless its task says otherwise (recorded with the run)."""


class FrameProvider(Protocol):
    """Where a clock's frames come from: sampled at ``stream_fps``, handed over one window at a time."""

    @property
    def stream_fps(self) -> float:
        """Frames per second the stream is sampled at."""
        ...

    @property
    def end_s(self) -> float:
        """Time the stream ends, in seconds."""
        ...

    def frames_between(self, after_s: float, until_s: float) -> Sequence[FrameEvent]:
        """The frames whose time ``t`` has ``after_s < t <= until_s``, in time order."""
        ...


class InMemoryFrames:
    """A provider over frames already in memory (tests, and streams built from pixels)."""

    def __init__(self, frames: Sequence[FrameEvent], stream_fps: float = DEFAULT_STREAM_FPS,
                 end_s: float | None = None) -> None:
        """Hold ``frames`` (sorted here by time); the stream ends at ``end_s``, else at the last frame."""
        check_stream_fps(stream_fps)
        self._frames = sorted(frames, key=lambda frame: frame.t)
        self._times = [frame.t for frame in self._frames]
        self.stream_fps = float(stream_fps)
        self.end_s = float(end_s) if end_s is not None else (self._times[-1] if self._times else 0.0)

    def frames_between(self, after_s: float, until_s: float) -> Sequence[FrameEvent]:
        """The frames with ``after_s < t <= until_s``."""
        low = bisect.bisect_right(self._times, after_s)
        high = bisect.bisect_right(self._times, until_s)
        return self._frames[low:high]


def check_stream_fps(stream_fps: float) -> None:
    """Refuse a rate that is not a positive finite number."""
    if isinstance(stream_fps, bool) or not isinstance(stream_fps, int | float) or not (
        math.isfinite(stream_fps) and stream_fps > 0
    ):
        raise TempevalError(f"stream_fps must be a positive number of frames per second, got {stream_fps!r}.")


class VirtualClock:
    """Delivers one stream's frames and queries in time order (see the module docstring)."""

    def __init__(self, provider: FrameProvider, queries: Sequence[QueryEvent], stream_id: str = "stream") -> None:
        """A clock over ``provider``'s frames and ``queries`` (any order; ids must be unique).

        Raises:
            TempevalError: two queries share an id, or the provider's rate is not positive.
        """
        check_stream_fps(provider.stream_fps)
        seen: set[str] = set()
        for query in queries:
            if query.query_id in seen:
                raise TempevalError(
                    f"Stream {stream_id!r}: two queries have the id {query.query_id!r}. Give each query of a "
                    "stream its own id (responses name the query they answer)."
                )
            seen.add(query.query_id)
        self.provider = provider
        self.stream_id = stream_id
        self.queries = tuple(sorted(queries, key=lambda query: (query.t, query.query_id)))
        self.now_s = -math.inf
        """Time of the last event delivered (``-inf`` before the first)."""

    @property
    def step_s(self) -> float:
        """Seconds between two requests to the provider."""
        return 1.0 / self.provider.stream_fps

    def events(self) -> Iterator[StreamEvent]:
        """Every event of the stream, sorted by time (a frame before a query at the same time).

        Raises:
            TempevalError: the provider handed over a frame outside the window asked for, or out of order.
        """
        pending = list(self.queries)
        last_t = self.provider.end_s
        if pending:
            last_t = max(last_t, pending[-1].t)
        after = -math.inf
        step = 0
        while after < last_t:
            step += 1
            until = min(step * self.step_s, last_t)
            frames = self._checked(self.provider.frames_between(after, until), after, until)
            asked = [query for query in pending if query.t <= until]
            pending = pending[len(asked):]
            merged: list[StreamEvent] = [*frames, *asked]
            merged.sort(key=lambda event: (event.t, isinstance(event, QueryEvent)))
            for event in merged:
                self.now_s = event.t
                yield event
            after = until

    def _checked(self, frames: Sequence[FrameEvent], after: float, until: float) -> Sequence[FrameEvent]:
        previous = after
        for frame in frames:
            if not after < frame.t <= until or frame.t < previous:
                raise TempevalError(
                    f"Stream {self.stream_id!r}: the frame provider returned frame {frame.source_index} at "
                    f"{frame.t:.3f} s when asked for the frames in ({after:.3f} s, {until:.3f} s] (after "
                    f"{previous:.3f} s); delivering it would show the model a frame out of its time. Fix the "
                    f"provider ({type(self.provider).__name__}) to return only that window, in time order."
                )
            previous = frame.t
        return frames
