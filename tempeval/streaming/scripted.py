"""A native stream session that answers at given times: the streaming counterpart of the ``scripted`` adapter.

A model whose timing is known makes every timing formula testable: a script that answers 2 s after an event
must get exactly a 2 s delay and the score the formulas give it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tempeval.streaming.events import Action, Respond, StreamEvent
from tempeval.streaming.session import StreamOpening


@dataclass(frozen=True)
class Cue:
    """One scripted response: said at the first event at or after ``at_s``."""

    at_s: float
    text: str
    query_id: str | None = None


class ScriptedStreamSession:
    """Says each cue's text at the first pushed event whose time is at or after the cue's time."""

    native_streaming = True

    def __init__(self, cues: Sequence[Cue], on_push: Callable[[StreamEvent], None] | None = None) -> None:
        """``on_push`` is called with every event before it is answered (tests use it to spend fake time or to
        record what the session saw)."""
        self.cues = tuple(sorted(cues, key=lambda cue: cue.at_s))
        self.on_push = on_push
        self.opening: StreamOpening | None = None
        self._next = 0

    def open(self, opening: StreamOpening) -> None:
        """Start over for a new stream."""
        self.opening = opening
        self._next = 0

    def push(self, event: StreamEvent) -> Sequence[Action]:
        """The cues that are due at this event's time."""
        if self.on_push is not None:
            self.on_push(event)
        due: list[Action] = []
        while self._next < len(self.cues) and self.cues[self._next].at_s <= event.t:
            cue = self.cues[self._next]
            due.append(Respond(cue.text, cue.query_id))
            self._next += 1
        return due

    def close(self) -> None:
        """Nothing to release."""
