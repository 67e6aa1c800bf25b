"""The nouns of a stream: events on one timeline, the actions a model takes, and the log of a session.

Events are what the harness delivers (a :class:`FrameEvent` or a :class:`QueryEvent`); actions are what a stream
session answers with (:class:`Silent`, :class:`Respond`, or :class:`Errored` when the model failed). The
:class:`StreamLog` of one stream holds every action with its times, and which frames were delivered, dropped or
delivered late; scoring (``tempeval.scoring.streaming``) is a pure function of it. Every logged noun has
``to_dict`` / ``from_dict`` for run records; ``from_dict`` raises a :class:`TempevalError` naming what is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tempeval.errors import TempevalError
from tempeval.types import AnswerFormat


@dataclass(frozen=True, eq=False)
class FrameEvent:
    """One decoded frame, delivered at its own presentation time."""

    t: float
    """Presentation time of the frame in seconds (the stream's real pts): it is never delivered before this."""
    image: np.ndarray
    """RGB ``uint8`` of shape (height, width, 3), read-only."""
    source_index: int
    """Index of the frame in the decoded stream (0 = first frame of the file)."""


@dataclass(frozen=True)
class QueryEvent:
    """A question asked at a time of the stream."""

    t: float
    """When the question is asked, in seconds of the stream."""
    text: str
    """The question as the model sees it (never the answer)."""
    query_id: str
    """Unique within the stream; responses name it."""
    answer_format: AnswerFormat = "text"
    """The shape of a well-formed answer (what the text's instruction asks for; baselines answer in kind)."""
    choices: tuple[str, ...] = ()
    """The options the text lists, for a multiple-choice question."""
    stays_open: bool = False
    """The question wants an answer at every event it names ("say each time ..."): a polled question stays open
    after it is answered."""

    def __post_init__(self) -> None:
        if not (isinstance(self.t, int | float) and math.isfinite(self.t) and self.t >= 0):
            raise TempevalError(f"Query {self.query_id!r}: its time must be a finite number of seconds >= 0, "
                                f"got {self.t!r}. Fix the query's time in the task's data.")
        if not self.query_id:
            raise TempevalError(f"A query at {self.t} s has an empty id. Give every query of a stream an id.")


StreamEvent = FrameEvent | QueryEvent
"""What the virtual clock delivers, in time order."""


@dataclass(frozen=True)
class Silent:
    """The model chose not to speak (a polled offline model replied with the wait token)."""


@dataclass(frozen=True)
class Respond:
    """The model spoke: an answer, to a query when it said which one."""

    text: str
    query_id: str | None = None
    """The query answered; ``None`` when the response names none (it then answers nothing in scoring)."""


@dataclass(frozen=True)
class Errored:
    """The model failed to act (request failed, empty reply): recorded as an error, never scored as text."""

    message: str


Action = Silent | Respond | Errored


def action_to_dict(action: Action) -> dict[str, Any]:
    """Plain-data form of an action: ``{"kind": "silent" | "respond" | "error", ...}``."""
    if isinstance(action, Respond):
        return {"kind": "respond", "text": action.text, "query_id": action.query_id}
    if isinstance(action, Errored):
        return {"kind": "error", "message": action.message}
    return {"kind": "silent"}


def action_from_dict(data: Mapping[str, Any], where: str = "action") -> Action:
    """Inverse of :func:`action_to_dict`; ``where`` names the record in the error message."""
    kind = data.get("kind") if isinstance(data, Mapping) else None
    if kind == "silent":
        return Silent()
    if kind == "respond" and isinstance(data.get("text"), str) and isinstance(data.get("query_id"), str | None):
        return Respond(data["text"], data.get("query_id"))
    if kind == "error" and isinstance(data.get("message"), str):
        return Errored(data["message"])
    raise TempevalError(
        f"{where}: {dict(data) if isinstance(data, Mapping) else data!r} is not an action. An action is "
        '{"kind": "silent"}, {"kind": "respond", "text": TEXT, "query_id": ID or null} or '
        '{"kind": "error", "message": TEXT}; rewrite the record or re-run the stream.'
    )


@dataclass(frozen=True)
class LogEntry:
    """One action with its times."""

    taken_at_s: float
    """Stream time the action was taken: the time of the event it answered, plus, in real-time mode, the time
    the session waited busy and its measured latency."""
    event_t_s: float
    """Time of the event (frame or query) whose push produced the action."""
    action: Action
    latency_s: float = 0.0
    """Measured wall-clock time of the push that produced the action."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for run records."""
        return {
            "taken_at_s": self.taken_at_s,
            "event_t_s": self.event_t_s,
            "action": action_to_dict(self.action),
            "latency_s": self.latency_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "log entry") -> LogEntry:
        """Inverse of :meth:`to_dict`; a missing or non-numeric time is an error naming ``where``."""
        _need_object(data, where)
        times = [_seconds(data, key, where) for key in ("taken_at_s", "event_t_s", "latency_s")]
        return cls(times[0], times[1], action_from_dict(data.get("action", {}), f"{where}: action"), times[2])


@dataclass(frozen=True)
class FrameStamp:
    """Which frame reached (or missed) a session, and when."""

    t: float
    """The frame's presentation time."""
    source_index: int
    delivered_at_s: float | None
    """Stream time it was pushed: ``t``, later when it waited in the queue of a busy session, ``None`` when it
    was dropped."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for run records."""
        return {"t": self.t, "source_index": self.source_index, "delivered_at_s": self.delivered_at_s}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "frame stamp") -> FrameStamp:
        """Inverse of :meth:`to_dict`."""
        _need_object(data, where)
        index = data.get("source_index")
        if isinstance(index, bool) or not isinstance(index, int):
            raise TempevalError(f"{where}: source_index must be a whole number, got {index!r}. Re-run the stream.")
        delivered = None if data.get("delivered_at_s") is None else _seconds(data, "delivered_at_s", where)
        return cls(_seconds(data, "t", where), index, delivered)


@dataclass(frozen=True)
class StreamLog:
    """Everything one stream session did: the record scoring reads."""

    stream_id: str
    entries: tuple[LogEntry, ...]
    """Every action, in the order taken."""
    frames: tuple[FrameStamp, ...]
    """Every frame the clock delivered, in time order, with when it reached the session (or that it was
    dropped because the session was busy)."""

    @property
    def dropped(self) -> tuple[FrameStamp, ...]:
        """The frames the session missed because it was busy (real-time mode, ``busy='drop'``)."""
        return tuple(frame for frame in self.frames if frame.delivered_at_s is None)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for run records."""
        return {
            "stream_id": self.stream_id,
            "entries": [entry.to_dict() for entry in self.entries],
            "frames": [frame.to_dict() for frame in self.frames],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "stream log") -> StreamLog:
        """Inverse of :meth:`to_dict`; errors name ``where`` and the entry."""
        _need_object(data, where)
        stream_id = data.get("stream_id")
        entries, frames = data.get("entries"), data.get("frames")
        if not isinstance(stream_id, str) or not isinstance(entries, list) or not isinstance(frames, list):
            raise TempevalError(
                f"{where}: a stream log needs stream_id (text), entries (a list) and frames (a list); got keys "
                f"{sorted(data)}. Re-run the stream to write it again."
            )
        return cls(
            stream_id,
            tuple(LogEntry.from_dict(e, f"{where}: entry {i}") for i, e in enumerate(entries)),
            tuple(FrameStamp.from_dict(f, f"{where}: frame {i}") for i, f in enumerate(frames)),
        )


def _seconds(data: Mapping[str, Any], key: str, where: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TempevalError(f"{where}: {key} must be a finite number of seconds, got {value!r}. Re-run the stream.")
    return float(value)


def _need_object(data: Any, where: str) -> None:
    if not isinstance(data, Mapping):
        raise TempevalError(f"{where}: expected a JSON object, got {data!r}. Re-run the stream to write it again.")
