"""The nouns of the pipeline, as frozen dataclasses.

Data flows one way: a loader makes ``Sample``s, the runner turns each into a ``Request`` (prompt plus the
``Frames`` the harness sampled under a ``FramePolicy``), an adapter answers with a ``Prediction``, and a scorer
turns (``Sample``, ``Prediction``) into a ``Score``. Stages return new values; nothing is filled in later.

This module imports nothing from the rest of the package.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

TaskKind = Literal["multiple_choice", "grounding", "binary_pair", "online", "streaming", "dense_captioning"]
"""The kinds of task tempeval knows (``streaming``: a model watches a stream and decides when to answer;
``dense_captioning``: every event of a video, when and what)."""

AnswerFormat = Literal[
    "letter", "yes_no", "true_false", "window", "number", "text", "letter_window", "letters", "events"
]
"""What shape a well-formed answer has; adapters such as ``random`` use it to answer in kind."""

FrameOrder = Literal["original", "reversed", "shuffled"]
Sampling = Literal["uniform", "server"]

TASK_KINDS: tuple[str, ...] = (
    "multiple_choice", "grounding", "binary_pair", "online", "streaming", "dense_captioning"
)
FRAME_ORDERS: tuple[str, ...] = ("original", "reversed", "shuffled")


@dataclass(frozen=True)
class VideoRef:
    """Where a video is, and which part of it a sample is about."""

    path: str
    """Absolute path (or path relative to the working folder) of the video file."""
    start_s: float | None = None
    """Start of the clip the sample is about, in seconds; ``None`` is the start of the file."""
    end_s: float | None = None
    """End of the clip the sample is about, in seconds; ``None`` is the end of the file."""


@dataclass(frozen=True)
class FramePolicy:
    """How the harness samples frames from a video: the same policy for every model.

    Exactly one of ``num_frames`` and ``fps`` is set. With ``fps``, the number of frames is
    ``duration * fps`` capped at ``max_frames`` (and at least one).
    """

    num_frames: int | None = 8
    """Number of frames, sampled at the midpoints of equal segments of the clip."""
    fps: float | None = None
    """Frames per second instead of a fixed number."""
    max_frames: int = 64
    """Cap on the number of frames when sampling by ``fps``."""
    sampling: Sampling = "uniform"
    """Where frames are taken: ``uniform`` is segment-midpoint sampling by the harness; ``server``: the model's
    server samples them itself from a file of the visible window (openai ``-M video_mode=file``), asked for
    ``num_frames`` (or ``fps``) frames, so which frames it saw is not known to the harness."""
    order: FrameOrder = "original"
    """Order in which the frames are given to the model."""
    seed: int = 0
    """Seed for ``order='shuffled'`` (combined with the sample id)."""
    end_s: float | None = None
    """No frame after this time is ever returned (online queries)."""
    max_side: int | None = None
    """Resize so that the longer side is at most this many pixels; ``None`` keeps the size."""

    def __post_init__(self) -> None:
        if (self.num_frames is None) == (self.fps is None):
            raise ValueError("FramePolicy needs exactly one of num_frames and fps.")
        if self.num_frames is not None and self.num_frames < 1:
            raise ValueError(f"FramePolicy.num_frames must be at least 1, got {self.num_frames}.")
        if self.fps is not None and not (math.isfinite(self.fps) and self.fps > 0):  # nan > 0 is False too
            raise ValueError(f"FramePolicy.fps must be a positive finite number, got {self.fps}.")
        if self.max_frames < 1:
            raise ValueError(f"FramePolicy.max_frames must be at least 1, got {self.max_frames}.")
        if self.order not in FRAME_ORDERS:
            raise ValueError(f"FramePolicy.order must be one of {', '.join(FRAME_ORDERS)}; got {self.order!r}.")
        if self.max_side is not None and self.max_side < 8:
            raise ValueError(f"FramePolicy.max_side must be at least 8 pixels, got {self.max_side}.")

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for run headers."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FramePolicy:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"Unknown frame policy field(s) {unknown}; known: {sorted(known)}.")
        return cls(**dict(data))

    def replace(self, **changes: Any) -> FramePolicy:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, eq=False)
class Frames:
    """Decoded frames with the times a model is told they were shown at: their real times, except under a
    permuted order, where the runner labels them by presentation (:meth:`labelled_by_presentation`)."""

    images: tuple[np.ndarray, ...]
    """RGB frames, each ``uint8`` of shape (height, width, 3), in the order the model sees them."""
    timestamps: tuple[float, ...]
    """Time of each frame in seconds as the model is told it: the stream's own timestamps, or presentation
    labels (``source_timestamps`` then holds the true ones)."""
    indices: tuple[int, ...]
    """Index of each frame in the decoded stream (0 = first frame of the file), or its presentation label."""
    source_timestamps: tuple[float, ...] = ()
    """The true time of each frame, in the order shown, when ``timestamps`` are presentation labels instead
    (see :meth:`labelled_by_presentation`); empty when ``timestamps`` are the true times."""
    source_indices: tuple[int, ...] = ()
    """The true stream index of each frame, in the order shown, when ``indices`` are presentation labels;
    empty when ``indices`` are the true ones."""

    def __post_init__(self) -> None:
        if not (len(self.images) == len(self.timestamps) == len(self.indices)):
            raise ValueError("Frames: images, timestamps and indices must have the same length.")
        if len(self.source_timestamps) != len(self.source_indices) or (
            self.source_timestamps and len(self.source_timestamps) != len(self.images)
        ):
            raise ValueError("Frames: source_timestamps and source_indices must both be empty or one per image.")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def true_timestamps(self) -> tuple[float, ...]:
        """The real time of each frame shown, in the order shown (whatever the labels say)."""
        return self.source_timestamps or self.timestamps

    @property
    def true_indices(self) -> tuple[int, ...]:
        """The real stream index of each frame shown, in the order shown: what identifies its pixels."""
        return self.source_indices or self.indices

    def labelled_by_presentation(self) -> Frames:
        """The same images in the same order, the i-th labelled with the i-th of the sorted true times (and
        stream indices), so that labels rise with position and say nothing of a permuted order.

        A model that reads times (in text, or from video metadata) then cannot sort permuted frames back. The
        true times stay in ``source_timestamps`` / ``source_indices`` for the run record.
        """
        times, indices = self.true_timestamps, self.true_indices
        return Frames(
            images=self.images,
            timestamps=tuple(sorted(times)),
            indices=tuple(sorted(indices)),
            source_timestamps=times,
            source_indices=indices,
        )


@dataclass(frozen=True)
class Sample:
    """One question of a task, with its ground truth. The ground truth never reaches an adapter."""

    id: str
    """Unique within its task."""
    kind: TaskKind
    question: str
    video: VideoRef | None = None
    choices: tuple[str, ...] = ()
    """Option texts for multiple choice (lettered A, B, ... in order)."""
    target: Any = None
    """Ground truth: a letter, a (start, end) window in seconds, a bool, a number, or (dense captioning) a tuple of
    timed events (``tempeval.scoring.events.Event``)."""
    query_time_s: float | None = None
    """For online queries: the model sees only the video up to this time."""
    answer_format: AnswerFormat | None = None
    """Overrides the task's answer format for this sample (online tasks mix questions and yes/no probes)."""
    context: str | None = None
    """Long text shared by many samples that a prompt includes with ``{context}`` (e.g. a movie transcript);
    run records keep only its hash, so a run file does not repeat it per sample."""
    meta: Mapping[str, Any] = field(default_factory=dict)
    """Grouping keys and provenance (``pair_id``, ``aspect``, ``video_id``, ...)."""


@dataclass(frozen=True)
class GenerationConfig:
    """Decoding settings sent with every request of a task."""

    max_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    extra: tuple[tuple[str, Any], ...] = ()
    """Further settings (``--gen key=value``), sorted by key: backend decoding keys (``top_k``,
    ``reasoning_effort``, ...) that each adapter maps, and ``think_tags`` (see :meth:`think_tags`), which the
    harness itself reads."""

    def __post_init__(self) -> None:
        # Values a backend would reject (or silently clamp) are refused here, wherever they come from.
        if isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            raise ValueError(f"max_tokens must be a whole number of at least 1; got {self.max_tokens!r}")
        if not _number(self.temperature) or not math.isfinite(self.temperature) or self.temperature < 0:
            raise ValueError(f"temperature must be a finite number >= 0 (0 is greedy); got {self.temperature!r}")
        if not _number(self.top_p) or not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be a number with 0 < top_p <= 1; got {self.top_p!r}")

    @property
    def options(self) -> dict[str, Any]:
        """The ``extra`` settings as a dict."""
        return dict(self.extra)

    @property
    def backend_extra(self) -> dict[str, Any]:
        """The ``extra`` settings an adapter passes to its backend (all but the harness's own keys)."""
        return {key: value for key, value in self.extra if key not in HARNESS_GENERATION_KEYS}

    def think_tags(self) -> tuple[str, str] | None:
        """The (open, close) tags around a model's reasoning in its text, stripped before parsing:
        ``<think>``/``</think>`` unless ``--gen think_tags=OPEN,CLOSE`` says otherwise (``none``: keep all)."""
        value = self.options.get("think_tags", DEFAULT_THINK_TAGS)
        if value is None or value in ("", "none"):
            return None
        if isinstance(value, str):
            value = value.split(",")
        if len(value) != 2 or not all(isinstance(tag, str) and tag for tag in value):
            raise ValueError(f"think_tags must be OPEN,CLOSE (e.g. <think>,</think>) or none; got {value!r}")
        return str(value[0]), str(value[1])

    def with_overrides(self, changes: Mapping[str, Any]) -> GenerationConfig:
        """These settings with ``changes`` applied (``--max-tokens`` and friends): the four named fields replace
        their values, any other key goes into ``extra`` (``None`` removes it). Raises ValueError on a bad value."""
        named = {f.name for f in dataclasses.fields(self)} - {"extra"}
        fields: dict[str, Any] = {k: v for k, v in changes.items() if k in named}
        extra = self.options
        for key, value in changes.items():
            if key in named:
                continue
            if key == "extra" or not key.isidentifier():
                raise ValueError(f"generation setting {key!r} is not a valid name (e.g. --gen top_k=20)")
            if value is not None and not isinstance(value, str | int | float | bool):
                raise ValueError(f"generation setting {key}={value!r} must be a single value (text or number)")
            if value is None:
                extra.pop(key, None)
            else:
                extra[key] = value
        if "max_tokens" in fields and isinstance(fields["max_tokens"], float) and fields["max_tokens"].is_integer():
            fields["max_tokens"] = int(fields["max_tokens"])
        for key in ("temperature", "top_p"):
            if key in fields and _number(fields[key]):
                fields[key] = float(fields[key])
        config = dataclasses.replace(self, **fields, extra=tuple(sorted(extra.items())))
        config.think_tags()  # a malformed think_tags is refused now, not at the first answer
        return config

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for run headers (``extra`` only when set, so older headers still match)."""
        data = dataclasses.asdict(self)
        data.pop("extra")
        if self.extra:
            data["extra"] = self.options
        return data


DEFAULT_THINK_TAGS = ("<think>", "</think>")
HARNESS_GENERATION_KEYS = frozenset({"think_tags"})
"""``--gen`` keys the harness reads itself and never sends to a backend."""


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True, eq=False)
class Request:
    """What an adapter is asked: no ground truth, only what a model may see."""

    sample_id: str
    prompt: str
    """The rendered prompt text (question, options, instructions)."""
    frames: Frames | None
    answer_format: AnswerFormat
    choices: tuple[str, ...] = ()
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    video_duration_s: float | None = None
    """Length of the part of the video the model may see, in seconds (to the query time for online)."""
    video_path: str | None = None
    """The source video, for backends that cache per media item (e.g. vLLM's multi_modal_uuids)."""
    video_window_s: tuple[float, float] | None = None
    """The part of the source video the model may see, in seconds (the clip, capped at the query time); set when
    the adapter's server samples frames itself (then ``frames`` is None)."""
    frame_policy: FramePolicy | None = None
    """How many frames to take from that window, for an adapter whose server samples frames itself."""
    poll: Poll | None = None
    """Set when the request is a poll of a stream (``tempeval.streaming.polling``): which questions are open and
    the reply that means "nothing to say yet"; ``None`` for an ordinary question."""


@dataclass(frozen=True)
class Poll:
    """What a poll of a stream asks, for adapters that answer polls themselves (the random baseline)."""

    wait_token: str
    """The reply that means "I cannot answer any question yet"."""
    open_queries: tuple[tuple[str, AnswerFormat, tuple[str, ...]], ...]
    """``(query id, answer format, options)`` of each open question, in the order the prompt lists them."""


@dataclass(frozen=True)
class Prediction:
    """An adapter's answer to one request: text, or an error, never both scored."""

    sample_id: str
    text: str | None
    error: str | None = None
    """Why no answer came back (request failed, video unreadable, ...). An error is never scored as text."""
    latency_s: float = 0.0
    usage: Mapping[str, int] = field(default_factory=dict)
    """Token usage where the backend reports it (``prompt_tokens``, ``completion_tokens``, ``reasoning_tokens``)."""
    reasoning: str | None = None
    """The model's reasoning where the backend returns it apart from the answer (``reasoning_content``)."""
    finish_reason: str | None = None
    """Why generation stopped, where the backend says: ``stop``, or ``length`` (cut by the token limit)."""


@dataclass(frozen=True)
class Score:
    """The scorer's verdict on one prediction."""

    value: float
    """Per-sample score: 1.0 / 0.0 for correctness, the IoU for grounding."""
    answer: Any = None
    """The parsed answer; ``None`` when unparseable."""
    parsed: bool = True
    """False when the output could not be parsed: scored 0, kept in the denominator, counted."""
    explanation: str = ""
