"""Any offline adapter as a stream session: poll it every Δ seconds on the frames so far.

At every poll time while a question is open (the first frame at or after each multiple of ``poll_every_s``,
and, with ``poll_on_query``, the moment a question is asked once a frame has arrived), the wrapped adapter gets
one :class:`~tempeval.types.Request`: the frames delivered so far (the whole prefix, or the last ``window_s``
seconds), and :data:`POLL_INSTRUCTION` listing the open questions. The instruction is built only from the
questions' ids, times and texts, which is all a session ever receives: no target, option key or ground-truth
time reaches it. The model answers ``[ID] answer`` per question it can answer now, or the wait token.

Frames are the ones the clock delivered, kept in memory by this session and shared by every poll: a poll never
decodes. An adapter error is logged as :class:`~tempeval.streaming.events.Errored`, never as a response.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tempeval.adapter import Adapter
from tempeval.errors import TempevalError
from tempeval.streaming.events import Action, Errored, FrameEvent, QueryEvent, Respond, Silent, StreamEvent
from tempeval.streaming.session import StreamOpening
from tempeval.types import Frames, GenerationConfig, Poll, Request

WAIT_TOKEN = "WAIT"

POLL_INSTRUCTION = (
    "You are watching a live video. The frames shown are the video so far, up to {now_s:.1f} s{window}.\n"
    "Questions asked so far:\n{questions}\n"
    "If you can answer a question now, reply with its id in brackets and your answer, one question per line, "
    'for example "[{example_id}] your answer". If you cannot answer any question yet, reply with exactly '
    "{wait_token}."
)
"""The poll prompt. Placeholders: ``now_s``, ``window`` (empty, or a note on the sliding window), ``questions``
(one ``[ID] (asked at T s) TEXT`` line per open question), ``example_id``, ``wait_token``."""

_ID_LINE = re.compile(r"^\s*\[([^\]\n]+)\]\s*[:.\-]?\s*(.*)$")


@dataclass(frozen=True)
class PollingConfig:
    """How an offline model is polled. Part of the run's identity (``to_dict`` goes in the header)."""

    poll_every_s: float = 1.0
    """Δ: seconds between polls."""
    window_s: float | None = None
    """``None``: every frame so far; a number: only the frames of the last this many seconds."""
    max_frames: int | None = None
    """At most this many frames per poll, taken uniformly from the window (always with the newest frame)."""
    wait_token: str = WAIT_TOKEN
    poll_on_query: bool = True
    """Also poll the moment a question is asked, not only at the next multiple of Δ."""
    keep_answered: bool = False
    """Keep a question open after it is answered (proactive questions that want an answer per event)."""
    generation: GenerationConfig = field(default_factory=GenerationConfig)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.poll_every_s) and self.poll_every_s > 0):
            raise TempevalError(f"--poll-every must be a positive number of seconds, got {self.poll_every_s!r}.")
        if self.window_s is not None and not (math.isfinite(self.window_s) and self.window_s > 0):
            raise TempevalError(f"--window must be 'full' or a positive number of seconds, got {self.window_s!r}.")
        if self.max_frames is not None and self.max_frames < 1:
            raise TempevalError(f"max_frames must be at least 1, got {self.max_frames!r}.")
        if not self.wait_token.strip() or "\n" in self.wait_token:
            raise TempevalError(f"The wait token must be one non-empty line, got {self.wait_token!r}.")

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for run headers."""
        data = asdict(self)
        data["generation"] = self.generation.to_dict()
        return data


def parse_window(text: str) -> float | None:
    """``--window full|SECONDS`` -> ``None`` or seconds."""
    if text.strip().lower() == "full":
        return None
    try:
        seconds = float(text)
    except ValueError:
        raise TempevalError(f"--window must be 'full' or a number of seconds (e.g. 30), got {text!r}.") from None
    if not (math.isfinite(seconds) and seconds > 0):
        raise TempevalError(f"--window must be 'full' or a positive number of seconds, got {text!r}.")
    return seconds


class PollingSession:
    """A :class:`~tempeval.streaming.session.StreamSession` over an offline adapter (see the module docstring)."""

    native_streaming = False

    def __init__(self, adapter: Adapter, config: PollingConfig | None = None) -> None:
        """Wrap ``adapter``; it is called once per poll, with one request."""
        self.adapter = adapter
        self.config = config or PollingConfig()
        self.opening: StreamOpening | None = None
        self.prompts: list[str] = []
        """Every poll prompt sent on the current stream, in order (for the run record's prompt hashes)."""
        self._frames: list[FrameEvent] = []
        self._open: dict[str, QueryEvent] = {}
        self._next_poll = 0

    def open(self, opening: StreamOpening) -> None:
        """Start a stream: no frames, no questions, the first poll at time 0."""
        self.opening = opening
        self.prompts = []
        self._frames = []
        self._open = {}
        self._next_poll = 0

    def push(self, event: StreamEvent) -> Sequence[Action]:
        """Keep a frame or a question; poll when a poll is due and a question is open."""
        if isinstance(event, FrameEvent):
            # The poll grid moves with the frames: a frame at or after the next multiple of Δ is a poll time.
            self._frames.append(event)
            self._trim(event.t)
            step = self.config.poll_every_s
            due = event.t >= self._next_poll * step - 1e-9
            if due:
                self._next_poll = math.floor(event.t / step + 1e-9) + 1
        else:
            self._open[event.query_id] = event
            due = self.config.poll_on_query
        if not due or not self._open or not self._frames:
            return []
        return self._poll(event.t)

    def close(self) -> None:
        """Drop the stream's frames."""
        self._frames = []
        self._open = {}

    def _trim(self, now_s: float) -> None:
        if self.config.window_s is not None:
            start = now_s - self.config.window_s
            keep = [frame for frame in self._frames if frame.t > start]
            self._frames = keep or self._frames[-1:]

    def poll_frames(self) -> list[FrameEvent]:
        """The frames the next poll shows: the window, thinned to ``max_frames`` and to the adapter's
        ``capabilities.max_images`` (the newest frame always kept)."""
        frames = self._frames
        caps = [cap for cap in (self.config.max_frames, self.adapter.capabilities.max_images) if cap is not None]
        cap = min(caps, default=None)
        if cap is None or len(frames) <= cap:
            return list(frames)
        picks = np.unique(np.round(np.linspace(0, len(frames) - 1, cap)).astype(int))
        return [frames[int(i)] for i in picks]

    def poll_prompt(self, now_s: float) -> str:
        """The instruction for a poll at ``now_s`` over the open questions."""
        questions = self._open_in_order()
        window = f" (the last {self.config.window_s:g} s)" if self.config.window_s is not None else ""
        return POLL_INSTRUCTION.format(
            now_s=now_s,
            window=window,
            questions="\n".join(f"[{q.query_id}] (asked at {q.t:.1f} s) {q.text}" for q in questions),
            example_id=questions[0].query_id,
            wait_token=self.config.wait_token,
        )

    def _open_in_order(self) -> list[QueryEvent]:
        return sorted(self._open.values(), key=lambda query: (query.t, query.query_id))

    def _poll(self, now_s: float) -> list[Action]:
        shown = self.poll_frames()
        prompt = self.poll_prompt(now_s)
        self.prompts.append(prompt)
        stream_id = self.opening.stream_id if self.opening else "stream"
        seen_from = shown[0].t if self.config.window_s is not None else 0.0
        request = Request(
            sample_id=f"{stream_id}#poll{len(self.prompts)}@{now_s:.3f}",
            prompt=prompt,
            frames=Frames(
                images=tuple(frame.image for frame in shown),
                timestamps=tuple(frame.t for frame in shown),
                indices=tuple(frame.source_index for frame in shown),
            ),
            answer_format="text",
            generation=self.config.generation,
            video_duration_s=max(now_s - seen_from, 0.0),
            video_path=self.opening.video_path if self.opening else None,
            poll=Poll(
                self.config.wait_token,
                tuple((q.query_id, q.answer_format, q.choices) for q in self._open_in_order()),
            ),
        )
        prediction = next(iter(self.adapter.stream([request])))
        if prediction.error is not None or prediction.text is None:
            return [Errored(prediction.error or "no reply")]
        actions = self.read_reply(prediction.text)
        if not self.config.keep_answered:
            for action in actions:
                if isinstance(action, Respond) and action.query_id is not None:
                    query = self._open.get(action.query_id)
                    if query is not None and not query.stays_open:
                        del self._open[action.query_id]
        return actions

    def read_reply(self, text: str) -> list[Action]:
        """A reply as actions: the wait token is :class:`Silent`; ``[ID] answer`` lines answer open questions;
        any other text answers the only open question, or no question when several are open."""
        if _is_wait(text, self.config.wait_token):
            return [Silent()]
        answers: list[Action] = []
        named = False
        for line in text.splitlines():
            match = _ID_LINE.match(line)
            if match and match.group(1).strip() in self._open:
                named = True
                if not _is_wait(match.group(2), self.config.wait_token):
                    answers.append(Respond(match.group(2).strip(), match.group(1).strip()))
        if named:
            return answers or [Silent()]
        only = next(iter(self._open)) if len(self._open) == 1 else None
        return [Respond(text.strip(), only)]


def _is_wait(text: str, token: str) -> bool:
    return text.strip().strip("\"'.`*!").strip().lower() == token.lower()
