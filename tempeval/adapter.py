"""The adapter contract and the lazy adapter registry.

An adapter has one job: ``generate(requests) -> predictions``. It declares what it can take in
``capabilities`` and its typed arguments in a dataclass ``Options``. Adapters are found by name in the
entry-point group ``tempeval.adapters`` (the built-in ones are registered there too, and listed in
``BUILTIN_ADAPTERS`` so a source checkout works without installing); their modules are imported only when used.

A model is one string: ``ADAPTER`` or ``ADAPTER/MODEL`` (``random``, ``openai/gpt-4o-mini``). ``ADAPTER`` may
also be ``package.module:Class`` or ``path/to/adapter.py:Class``: an adapter that is not installed (see
:mod:`tempeval.plugins`).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, get_type_hints, runtime_checkable

from tempeval.errors import TempevalError, UnknownNameError
from tempeval.plugins import PYTHON_FILE_SUFFIX, Kind, known_names, resolve
from tempeval.types import Prediction, Request

BUILTIN_ADAPTERS: dict[str, str] = {
    "random": "tempeval.adapters.random_baseline:RandomAdapter",
    "constant": "tempeval.adapters.constant:ConstantAdapter",
    "scripted": "tempeval.adapters.scripted:ScriptedAdapter",
    "openai": "tempeval.adapters.openai_compat:OpenAICompatAdapter",
    "vllm": "tempeval.adapters.vllm:VLLMAdapter",
    "hf": "tempeval.adapters.hf:HFAdapter",
}


@dataclass(frozen=True)
class Capabilities:
    """What an adapter can be given."""

    images: bool = True
    """Takes frames as images."""
    max_images: int | None = None
    """Most images per request; ``None`` is no limit."""
    native_video: bool = False
    """Takes a video (frames with their timing) as one input."""
    timestamps_in_text: bool = True
    """Frame times can be told to the model (needed for grounding and online tasks)."""
    samples_frames: bool = False
    """The model's server takes a video file and samples its frames itself: the harness decodes nothing, sends the
    visible window (``Request.video_path``, ``video_window_s``, ``frame_policy``) and records the frame policy with
    ``sampling='server'``."""
    max_side: int | None = None
    """Largest frame side (pixels) the adapter sends; ``None`` is no limit. The harness decodes at the smaller of
    this and ``--max-side`` and records it in the run's frame policy: an adapter never resizes frames itself."""


@dataclass(frozen=True)
class NoOptions:
    """An adapter without arguments."""


class Adapter(ABC):
    """Base class of model adapters."""

    name: ClassVar[str] = ""
    """The adapter's registry name."""
    Options: ClassVar[type[Any]] = NoOptions
    """Dataclass of the adapter's ``-M`` arguments, with defaults."""
    capabilities: ClassVar[Capabilities] = Capabilities()
    batch_size: ClassVar[int] = 16
    """The most requests one :meth:`generate` call gets (fewer when fewer are decoded when it is free, or when
    their frames reach the run's byte budget; see :func:`take_batch`); records are written after each call."""
    reserved_cores: ClassVar[int] = 0
    """Cores the adapter's own work in this process keeps busy (building payloads, talking to its HTTP process):
    by default a run decodes on the cores it may use less these, at least one (``--decode-workers`` overrides it).
    More decode threads would only contend with that work for the interpreter lock."""
    requires: ClassVar[str] = ""
    """What must be installed, for ``tempeval list models``."""
    transport_args: ClassVar[frozenset[str]] = frozenset()
    """Arguments that change how requests travel (concurrency, timeouts, retries, endpoint), never what the model
    answers. They are recorded but are not resume fields: a run may be resumed with other values. Every other
    argument (model, video mode, JPEG quality, system prompt, ...) is part of the run's identity."""

    def __init__(self, model: str, options: Any) -> None:
        """``model`` is the part after ``ADAPTER/`` (may be empty); ``options`` an instance of ``Options``."""
        self.model = model
        self.options = options

    @abstractmethod
    def generate(self, requests: Sequence[Request]) -> list[Prediction]:
        """Answer every request: one Prediction each, with text or an error, in any order."""

    def stream(self, requests: Iterable[Request]) -> Iterator[Prediction]:
        """Answers as they are ready. The default hands batches to :meth:`generate` (see :func:`take_batch`:
        from the runner, what is ready, up to ``batch_size`` and the feed's bytes); adapters that overlap
        requests (HTTP APIs) override it to keep their concurrency full."""
        feed = iter(requests)
        while batch := take_batch(feed, self.batch_size):
            yield from self._generate_safely(batch)

    def _generate_safely(self, batch: list[Request]) -> list[Prediction]:
        """``generate`` with its latency spread over the batch, and a crash turned into an error per sample."""
        started = time.perf_counter()
        try:
            predictions = self.generate(batch)
        except Exception as exc:  # the adapter's failure is the model's error, recorded per sample, never scored
            message = f"adapter '{self.name}' failed: {type(exc).__name__}: {exc}"
            return [Prediction(r.sample_id, None, error=message) for r in batch]
        share = (time.perf_counter() - started) / len(batch)
        predictions = [reply_or_error(p) for p in predictions]  # an empty reply means the same on every backend
        return [p if p.latency_s else dataclasses.replace(p, latency_s=share) for p in predictions]

    def describe(self) -> dict[str, Any]:
        """Model identity and arguments for the run header (never secrets)."""
        if dataclasses.is_dataclass(self.options) and not isinstance(self.options, type):
            return dataclasses.asdict(self.options)
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (servers, GPU memory)."""


@runtime_checkable
class RequestFeed(Protocol):
    """The runner's requests: prepared ahead of the adapter, so a batch can be cut at what is ready now."""

    batch_bytes: int
    """The most bytes of frames one batch should hold: the rest of the run's in-flight budget is the next batch,
    prepared while the engine works on this one."""

    def __next__(self) -> Request: ...

    def ready(self) -> bool:
        """Whether the next request (or the end) is there without waiting for decoding."""
        ...


def frame_bytes(request: Request) -> int:
    """Bytes of the decoded frames a request holds."""
    return sum(int(image.nbytes) for image in request.frames.images) if request.frames is not None else 0


def take_batch(requests: Iterator[Request], size: int) -> list[Request]:
    """The next batch for :meth:`Adapter.generate`: empty at the end of the requests.

    It waits for one request. From the runner's :class:`RequestFeed` it then takes only the requests ready now,
    up to ``size`` and the feed's ``batch_bytes``, so an idle engine never waits for a batch to fill while frames
    are decoded, and a batch's frames never exceed the budget whatever ``size`` is. From any other iterator it
    takes up to ``size``.
    """
    batch = [request for request in itertools.islice(requests, 1)]
    if not isinstance(requests, RequestFeed):
        batch.extend(itertools.islice(requests, size - 1))
        return batch
    held = sum(frame_bytes(request) for request in batch)
    while batch and len(batch) < size and held < requests.batch_bytes and requests.ready():
        try:
            request = next(requests)
        except StopIteration:
            break
        batch.append(request)
        held += frame_bytes(request)
    return batch


ADAPTER_KIND = Kind("model adapter", "tempeval.adapters", BUILTIN_ADAPTERS, "tempeval list models")

_ADAPTER_SPEC = re.compile(r"^(?P<module>.+?\.py|[A-Za-z_][\w.]*):(?P<cls>[A-Za-z_]\w*)(?:/(?P<model>.*))?$")
"""``path/to/adapter.py:ClassName`` or ``package.module:ClassName``, optionally followed by ``/MODEL``."""


def adapter_names() -> list[str]:
    """Every registered adapter name, built-in and plugin."""
    return known_names(ADAPTER_KIND)


def load_adapter_class(name: str) -> type[Adapter]:
    """Import the adapter class registered as ``name``, or named ``module:Class`` / ``file.py:Class``."""
    try:
        cls = resolve(ADAPTER_KIND, name)
    except ImportError as exc:
        raise TempevalError(f"Adapter '{name}' could not be imported ({exc}). Install what it needs.") from exc
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise TempevalError(f"'{name}' is not an adapter: it must be a subclass of tempeval.adapter.Adapter.")
    return cls


def split_model(model: str) -> tuple[str, str]:
    """'openai/gpt-4o' -> ('openai', 'gpt-4o'); 'random' -> ('random', '');
    'my/adapter.py:Echo/m' -> ('my/adapter.py:Echo', 'm')."""
    adapter, _, name = model.partition("/")
    spec = _ADAPTER_SPEC.match(model)
    if spec is not None and adapter not in adapter_names():
        return f"{spec['module']}:{spec['cls']}", spec["model"] or ""
    return adapter, name


def model_label(model: str) -> str:
    """The name a run records for a model string: the string itself, except that an adapter given as a file path
    is named by its file and class (``adapter.py:Echo/m``), whatever folder it was run from."""
    adapter, name = split_model(model)
    module, colon, cls = adapter.partition(":")
    if not colon or not module.endswith(PYTHON_FILE_SUFFIX):
        return model
    label = f"{Path(module).name}:{cls}"
    return f"{label}/{name}" if name else label


def parse_value(text: str) -> Any:
    """Type a ``-M key=value`` value: int, float, bool, null, JSON list/object, else the string."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def parse_model_args(pairs: Sequence[str]) -> dict[str, Any]:
    """``["k=v", ...]`` -> typed dict; a pair without '=' is an error that shows the form."""
    args: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise TempevalError(f"Model argument '{pair}' is not of the form key=value (e.g. -M temperature=0).")
        args[key.strip()] = parse_value(value.strip())
    return args


GENERATION_FLAGS: Mapping[str, str] = {
    "max_tokens": "--max-tokens N",
    "max_new_tokens": "--max-tokens N",
    "temperature": "--temperature T",
    "top_p": "--top-p P",
    "top_k": "--gen top_k=K",
    "seed": "--gen seed=N",
    "reasoning_effort": "--gen reasoning_effort=LEVEL",
}
"""Generation keys people try as ``-M``, and the ``tempeval run`` flag that sets each."""


def build_options(cls: type[Adapter], args: Mapping[str, Any]) -> Any:
    """Instantiate ``cls.Options`` from ``args``; unknown names list the valid ones."""
    fields = {f.name: f for f in dataclasses.fields(cls.Options)}
    for key in args:
        if key not in fields:
            valid = ", ".join(sorted(fields)) or "none"
            hint = ""
            if key in GENERATION_FLAGS:  # decoding is the run's, recorded in its header, never an adapter's
                hint = f" {key} is a generation setting: pass {GENERATION_FLAGS[key]} to 'tempeval run'."
            raise UnknownNameError(
                f"Unknown argument '{key}' for adapter '{cls.name}'. Valid arguments: {valid}.{hint}"
            )
    hints = get_type_hints(cls.Options)
    typed = {key: _coerce(cls.name, key, value, hints.get(key)) for key, value in args.items()}
    return cls.Options(**typed)


EMPTY_REPLY = "empty reply"
"""What every adapter's error text starts with when a model answered nothing (see :func:`reply_or_error`)."""


def reply_or_error(prediction: Prediction, detail: str = "") -> Prediction:
    """The one meaning of an empty reply on every backend: an error ``empty reply (...)``, never an answer.

    A reply that is ``None``, empty or only whitespace is recorded as that sample's error (counted in the run's
    errors, re-run on resume, never scored), so an API, vLLM and transformers agree on it. ``detail`` says why
    when the backend knows (``finish_reason=length``).
    """
    if prediction.error is not None or (prediction.text is not None and prediction.text.strip()):
        return prediction
    reason = f"{EMPTY_REPLY} ({detail})" if detail else EMPTY_REPLY
    return dataclasses.replace(prediction, text=None, error=reason)


def frame_max_side(requested: int | None, capability: int | None) -> int | None:
    """The frame size a run decodes at: the smaller of ``--max-side`` and the adapter's ``max_side``."""
    sides = [side for side in (requested, capability) if side is not None]
    return min(sides) if sides else None


def check_choice(key: str, value: str, choices: Sequence[str]) -> None:
    """Raise the standard error for an adapter argument ``-M key=value`` outside ``choices``."""
    if value not in choices:
        raise TempevalError(f"-M {key} must be one of {', '.join(choices)}; got {value!r}.")


def _coerce(adapter: str, key: str, value: Any, hint: Any) -> Any:
    # A YAML/CLI int where a float is declared is fine; a string where a number is declared is not.
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, bool) and not isinstance(value, hint):
        raise TempevalError(
            f"Argument '{key}' of adapter '{adapter}' must be {hint.__name__}, got {value!r}."
        )
    return value


def create_adapter(model: str, args: Mapping[str, Any] | None = None) -> Adapter:
    """Build the adapter for a model string and its typed arguments."""
    adapter_name, model_name = split_model(model)
    cls = load_adapter_class(adapter_name)
    return cls(model_name, build_options(cls, args or {}))
