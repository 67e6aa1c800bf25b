"""The lines of a run file as typed values: :class:`RunHeader` (line 1) and :class:`RunRecord` (one per sample).

The parts of tempeval that write or read run files (the runner, the scorers, ``results``, ``merge``, ``import``,
``rescore``, ``compare``, ``diagnose`` and the leaderboard) exchange these rather than the dicts they are stored
as, so a record field's name is spelled here once.

On disk nothing changes: ``to_json`` gives back the object the line held, key for key and value for value
(the same order too). A field an older file lacks reads as its old default and is not written back; a key this
version does not know (a kind-specific field such as a streaming task's action log) is kept in ``extra`` and
written back where it was. Both are also read-only dicts of their JSON object (``record["score"]``,
``json.dumps(record)``), for plugins and scripts written against the dicts; changing one raises ``TypeError``
(:meth:`~RunRecord.with_fields` makes a changed copy).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

from tempeval.errors import RunFileError

Line = TypeVar("Line", bound="_JsonLine")

_SEQUENCES = ("choices", "frame_times", "frame_indices", "frame_time_labels", "judge_calls", "group_by", "metrics")
"""Fields held as tuples (lists on disk)."""


class _JsonLine(dict[str, Any]):
    """What :class:`RunHeader` and :class:`RunRecord` share: the JSON object of one line, exactly round-tripped,
    which is also the (read-only) content of the line as a dict."""

    LINE_TYPE: ClassVar[str]
    ALWAYS: ClassVar[tuple[str, ...]] = ()
    """Fields written even when they hold their default (the keys every line of this type has)."""

    extra: Mapping[str, Any]
    key_order: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.key_order:  # built in code: its fields in declaration order, optional ones when set
            defaults, factories = _fields_of(type(self))
            known = [
                name for name in (*defaults, *factories)
                if name in self.ALWAYS or getattr(self, name) != defaults.get(name, {})
            ]
            order = sorted(known, key=_declaration_order(type(self)).index)
            object.__setattr__(self, "key_order", (*order, *self.extra))
        dict.update(self, self._json_of_fields())

    @classmethod
    def from_json(cls: type[Line], obj: Mapping[str, Any]) -> Line:
        """The line of a JSON object (``type`` optional, and checked when present).

        Raises:
            RunFileError: when the object is of another line type (a header where a record belongs).
        """
        line_type = obj.get("type", cls.LINE_TYPE)
        if line_type != cls.LINE_TYPE:
            raise RunFileError(f"expected a '{cls.LINE_TYPE}' line, got type {line_type!r}.")
        known = _names_of(cls)
        values = {key: value for key, value in obj.items() if key in known}
        for key in _SEQUENCES:
            if type(values.get(key)) is list:
                values[key] = tuple(values[key])
        extra = {key: value for key, value in obj.items() if key not in known and key != "type"}
        order = tuple(obj)
        if "type" in obj:
            order = order[1:] if order[0] == "type" else tuple(key for key in order if key != "type")
        line = _made(cls, values, extra, order)
        dict.update(line, {"type": cls.LINE_TYPE, **obj})  # what it was read from is what it writes
        return line

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the line, ``type`` first (a fresh dict each call)."""
        return dict(self)

    def _json_of_fields(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"type": self.LINE_TYPE}
        for key in self.key_order:
            obj[key] = self.extra[key] if key in self.extra else _stored(getattr(self, key))
        return obj

    def with_fields(self: Line, **changes: Any) -> Line:
        """A copy with these fields set (and written, even when ``None``), in place if the line had them, else
        at its end; a name that is not a field goes into ``extra``."""
        defaults, factories = _fields_of(type(self))
        typed = {k: _held(k, v) for k, v in changes.items() if k in defaults or k in factories}
        extra = {**self.extra, **{k: v for k, v in changes.items() if k not in typed}}
        order = self.key_order + tuple(k for k in changes if k not in self.key_order)
        return self._copy(typed, extra, order)

    def without(self: Line, *names: str) -> Line:
        """A copy in which these keys are not written (fields read as their defaults)."""
        defaults, factories = _fields_of(type(self))
        cleared = {name: defaults.get(name, {}) for name in names if name in defaults or name in factories}
        extra = {k: v for k, v in self.extra.items() if k not in names}
        return self._copy(cleared, extra, tuple(k for k in self.key_order if k not in names))

    def _copy(self: Line, values: Mapping[str, Any], extra: dict[str, Any], order: tuple[str, ...]) -> Line:
        """A copy with these field values, made without ``__init__`` (a record is re-made for each score)."""
        line = dict.__new__(type(self))
        held = line.__dict__
        held.update(self.__dict__)
        held.update(values)
        held["extra"] = extra
        held["key_order"] = order
        dict.update(line, line._json_of_fields())
        return line

    # The dict of the JSON object is read-only: the typed fields and it never disagree.
    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"a run {self.LINE_TYPE} is read-only; with_fields(...) makes a changed copy, to_json() a plain dict."
        )

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _read_only

    def __reduce__(self) -> tuple[Any, ...]:  # pickle and copy through the JSON object, not item by item
        return type(self).from_json, (dict(self),)


@functools.cache
def _fields_of(cls: type[_JsonLine]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A line type's fields: (name -> default of those with a plain default, names of those made by a factory:
    the mappings, empty by default); ``extra`` and ``key_order`` are not among them."""
    defaults: dict[str, Any] = {}
    factories: list[str] = []
    for spec in dataclasses.fields(cls):  # type: ignore[arg-type]
        if spec.name in ("extra", "key_order"):
            continue
        if spec.default_factory is not dataclasses.MISSING:
            factories.append(spec.name)
        else:
            defaults[spec.name] = None if spec.default is dataclasses.MISSING else spec.default
    return defaults, tuple(factories)


@functools.cache
def _names_of(cls: type[_JsonLine]) -> frozenset[str]:
    defaults, factories = _fields_of(cls)
    return frozenset((*defaults, *factories))


@functools.cache
def _declaration_order(cls: type[_JsonLine]) -> list[str]:
    return [spec.name for spec in dataclasses.fields(cls)]  # type: ignore[arg-type]


_EMPTY: Mapping[str, Any] = MappingProxyType({})
"""The empty mapping the mapping fields of a line read from JSON start as (read-only: shared by every line)."""


@functools.cache
def _template(cls: type[_JsonLine]) -> dict[str, Any]:
    """Every field of a line type at its default."""
    defaults, factories = _fields_of(cls)
    return {**defaults, **dict.fromkeys(factories, _EMPTY)}


def _made(cls: type[Line], values: Mapping[str, Any], extra: dict[str, Any], order: tuple[str, ...]) -> Line:
    """A line of these field values (the others at their defaults), made without the dataclass's ``__init__``:
    reading a run file makes one per record, and the values are already checked JSON."""
    line = dict.__new__(cls)
    held = line.__dict__
    held.update(_template(cls))
    held.update(values)
    held["extra"] = extra
    held["key_order"] = order
    return line


def _held(key: str, value: Any) -> Any:
    """A JSON value as a field holds it: lists of the sequence fields as tuples."""
    if key in _SEQUENCES and isinstance(value, list):
        return tuple(value)
    return value


def _stored(value: Any) -> Any:
    """A field's value as JSON holds it: tuples as lists, mappings as dicts."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping) and not isinstance(value, dict):
        return dict(value)
    return value


@dataclass(frozen=True, eq=True)
class RunRecord(_JsonLine):
    """One sample's line: its reference, what the model saw, its answer and (once scored) its score."""

    LINE_TYPE: ClassVar[str] = "record"
    ALWAYS: ClassVar[tuple[str, ...]] = (
        "sample_id", "video_id", "video", "question", "choices", "target", "answer_format", "query_time_s",
        "duration_s", "meta", "prompt", "prompt_sha", "context_sha", "frame_times", "frame_indices",
        "frame_time_labels", "output", "error", "latency_s", "usage",
    )

    sample_id: str
    video_id: str | None = None
    video: str | None = None
    """The video file's path as the dataset gave it."""
    question: str | None = None
    choices: tuple[str, ...] = ()
    target: Any = None
    answer_format: str | None = None
    query_time_s: float | None = None
    duration_s: float | None = None
    """Length of the clip the model was shown (the sampler's bounds and query-time cap)."""
    meta: Mapping[str, Any] = field(default_factory=dict)
    prompt: str | None = None
    prompt_sha: str | None = None
    context_sha: str | None = None
    frame_times: tuple[float, ...] = ()
    """The true time of each frame, in the order shown."""
    frame_indices: tuple[int, ...] = ()
    """The stream index of each frame, in the order shown."""
    frame_time_labels: tuple[float, ...] | None = None
    """The times the model was told; ``None`` (records from before they were kept): the true times."""
    output: str | None = None
    error: str | None = None
    """Why there is no answer (a model or preparation error: never scored)."""
    latency_s: float | None = None
    usage: Mapping[str, Any] = field(default_factory=dict)
    reasoning: str | None = None
    """The model's reasoning (kept, never parsed)."""
    finish_reason: str | None = None
    answer: Any = None
    """What the scorer parsed from the output."""
    parsed: bool | None = None
    """Whether the scorer found an answer; ``None``: not scored (read as: parsed unless an error)."""
    score: float | None = None
    note: str | None = None
    judge_calls: tuple[Mapping[str, Any], ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Keys this version does not know (kind-specific fields), kept as read."""
    key_order: tuple[str, ...] = field(default=(), compare=False, repr=False)
    """The keys the line holds, in order (computed for a record built in code)."""

    @property
    def failed(self) -> bool:
        """Whether the sample has an error instead of an answer."""
        return self.error is not None

    @property
    def was_parsed(self) -> bool:
        """Whether an answer was parsed (records never scored: whenever there is no error)."""
        return self.parsed if self.parsed is not None else not self.failed

    @property
    def told_times(self) -> tuple[float, ...]:
        """The frame times the model was told, in the order shown (the true ones for older records)."""
        return self.frame_time_labels if self.frame_time_labels is not None else self.frame_times

    @property
    def video_key(self) -> str:
        """The video a record is clustered by: its ``meta.video_id``, else its ``video_id``, else its sample."""
        return str(self.meta.get("video_id") or self.video_id or self.sample_id)


@dataclass(frozen=True, eq=True)
class RunHeader(_JsonLine):
    """The first line of a run file: what produced its records. Fields the readers rely on are typed; the rest
    (provenance, dataset fingerprint, ...) are in ``extra``, as read."""

    LINE_TYPE: ClassVar[str] = "header"
    ALWAYS: ClassVar[tuple[str, ...]] = ("schema_version", "task", "task_version", "model")

    schema_version: int | None = None
    task: str | None = None
    task_version: str | None = None
    task_kind: str | None = None
    model: str | None = None
    model_args: Mapping[str, Any] | None = None
    label: str | None = None
    made_by: str | None = None
    parser_mode: str | None = None
    scorers: Mapping[str, str] | None = None
    headline: str | None = None
    metrics: tuple[Mapping[str, Any], ...] | None = None
    group_by: tuple[str, ...] | None = None
    frames: Mapping[str, Any] | None = None
    generation: Mapping[str, Any] | None = None
    samples: int | None = None
    dataset_samples: int | None = None
    limit: int | None = None
    shard: str | None = None
    shard_samples: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    key_order: tuple[str, ...] = field(default=(), compare=False, repr=False)


def records_from_json(objects: Sequence[Mapping[str, Any]]) -> list[RunRecord]:
    """Records of JSON objects (records already typed pass through)."""
    return [o if isinstance(o, RunRecord) else RunRecord.from_json(o) for o in objects]
