"""``hf``: a Hugging Face transformers vision-language model run in-process (CPU or GPU).

``--model hf/<hub id or local folder>`` loads ``AutoProcessor`` + ``AutoModelForImageTextToText``. Each request
becomes one user turn rendered with the processor's own chat template: every frame as an image preceded by its
time ("Frame at 2.0 s:"), then the prompt text last. Requests are generated in batches of ``-M batch_size``
with left padding; decoding is greedy unless the run's GenerationConfig sets a temperature (``--gen`` keys go
to ``generate``).

A hub id needs the network the first time (or a filled Hugging Face cache with ``HF_HUB_OFFLINE=1``); a local
folder (anything that looks like a path: ``hf//abs/path``, ``hf/./rel``) works offline. ``torch`` and
``transformers`` load only when the adapter is used. A batch that fails is split in halves and retried, so one
bad request (say, an out-of-memory prompt) is recorded as that sample's error and the others still answer.

``chat_messages`` and ``run_isolating_failures`` are shared with the ``vllm`` adapter.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from tempeval.adapter import Adapter, Capabilities, check_choice, reply_or_error
from tempeval.errors import TempevalError
from tempeval.types import GenerationConfig, Prediction, Request

DTYPES = ("auto", "float32", "float16", "bfloat16")
Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(frozen=True)
class HFOptions:
    """Arguments of the transformers adapter (``-M key=value``)."""

    device: str = "cpu"
    """``cpu``, ``cuda``, ``cuda:1``, ...; ``auto`` is cuda when available, else cpu."""
    dtype: str = "auto"
    """Weights dtype: auto (as saved in the checkpoint), float32, float16 or bfloat16."""
    batch_size: int = 8
    """Requests per ``generate`` call (left-padded); also how many the runner hands over at once."""
    trust_remote_code: bool = False
    """Allow the checkpoint's own Python code (needed by some models; it runs on your machine)."""
    revision: str | None = None
    """Hub revision (commit, branch or tag) to load; None is the default branch."""
    max_images: int = 64
    """Refuse (as that sample's error, before generation) a request with more frames than this."""
    system_prompt: str | None = None
    attn_implementation: str | None = None
    """Passed to ``from_pretrained`` (e.g. sdpa, eager, flash_attention_2); None lets transformers choose."""


def frame_times_text(timestamps: Sequence[float]) -> str:
    """The sentence telling a model when the frames of one video input were shown."""
    times = ", ".join(f"{t:.1f}" for t in timestamps)
    return f"The video's {len(timestamps)} frames are at {times} seconds."


def chat_messages(request: Request, video: bool = False, system_prompt: str | None = None) -> list[dict[str, Any]]:
    """Hugging Face chat messages for one request, for ``processor.apply_chat_template``.

    Frames first, prompt last (requests about one video then share a prefix): as one ``{"type": "video"}`` part
    followed by the frame times in text when ``video``, else one ``{"type": "image"}`` part per frame, each
    preceded by "Frame at X s:". The pixels travel separately (the processor or engine pairs them with the
    parts in order).
    """
    content: list[dict[str, Any]] = []
    frames = request.frames
    if frames is not None and len(frames):
        if video:
            content.append({"type": "video"})
            content.append({"type": "text", "text": frame_times_text(frames.timestamps)})
        else:
            for seconds in frames.timestamps:
                content.append({"type": "text", "text": f"Frame at {seconds:.1f} s:"})
                content.append({"type": "image"})
    content.append({"type": "text", "text": request.prompt})
    messages: list[dict[str, Any]] = []
    if system_prompt:
        messages.append({"role": "system", "content": [{"type": "text", "text": system_prompt}]})
    messages.append({"role": "user", "content": content})
    return messages


def run_isolating_failures(
    items: Sequence[Item],
    run: Callable[[Sequence[Item]], Sequence[Result]],
    fatal: Callable[[Exception], bool] = lambda exc: False,
) -> list[Result | Exception]:
    """``run(items)`` in one call; if it raises, split the items in halves and retry each half.

    One bad item then fails alone (its slot holds the exception) while the rest still go through in large
    calls: a handful of extra calls, never one call per item. An exception for which ``fatal`` is true (a dead
    engine) is not retried and fills every slot. ``run`` must return one result per item, in order.
    """
    if not items:
        return []
    try:
        results: list[Result | Exception] = list(run(items))
    except Exception as exc:  # isolated below; the caller records it as the failing samples' errors
        if len(items) == 1 or fatal(exc):
            return [exc] * len(items)
        middle = len(items) // 2
        return run_isolating_failures(items[:middle], run, fatal) + run_isolating_failures(items[middle:], run, fatal)
    if len(results) != len(items):
        mismatch = RuntimeError(f"the backend returned {len(results)} outputs for {len(items)} inputs")
        return [mismatch] * len(items)
    return results


def describe_error(exc: BaseException) -> str:
    """One line naming the exception type and its first message line (for a record's ``error``)."""
    message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def looks_like_path(model: str) -> bool:
    """True for a model string meant as a local folder (absolute, ./, ../, ~) rather than a hub id."""
    return model.startswith(("/", "./", "../", "~")) or Path(model).expanduser().is_dir()


def package_version(name: str) -> str | None:
    """Installed version of a distribution, without importing it; None when absent."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def too_many_frames(request: Request, max_images: int) -> str | None:
    """The error for a request with more frames than an adapter takes, else None."""
    count = len(request.frames) if request.frames is not None else 0
    if count > max_images:
        return f"{count} frames exceed max_images={max_images}; lower --frames or raise -M max_images (not sent)"
    return None


class HFAdapter(Adapter):
    """transformers ``AutoModelForImageTextToText`` with the processor's chat template, batched and greedy."""

    name = "hf"
    Options = HFOptions
    requires = "pip install 'tempeval[hf]' torch"

    def __init__(self, model: str, options: HFOptions) -> None:
        """Check the arguments and that torch and transformers are installed; the model loads on first use."""
        super().__init__(model, options)
        if not model:
            raise TempevalError("The hf adapter needs a model: --model hf/<hub id or local folder>.")
        check_choice("dtype", options.dtype, DTYPES)
        if options.batch_size < 1:
            raise TempevalError(f"-M batch_size must be at least 1; got {options.batch_size}.")
        if looks_like_path(model) and not Path(model).expanduser().is_dir():
            raise TempevalError(
                f"Model folder {model} does not exist. Pass the folder written by save_pretrained "
                "(--model hf//abs/path or hf/./rel/path), or a hub id such as hf/org/name."
            )
        missing = [name for name in ("torch", "transformers") if importlib.util.find_spec(name) is None]
        if missing:
            raise TempevalError(f"The hf adapter needs {' and '.join(missing)}: {self.requires}.")
        self._loaded: tuple[Any, Any, Any] | None = None
        self._load_error: TempevalError | None = None

    @property
    def capabilities(self) -> Capabilities:  # type: ignore[override]
        """Frames as images (up to max_images), their times told in text."""
        return Capabilities(images=True, max_images=self.options.max_images, native_video=False)

    @property
    def batch_size(self) -> int:  # type: ignore[override]
        """The runner hands over one generation batch at a time, so records are written as batches finish."""
        return int(self.options.batch_size)

    def describe(self) -> dict[str, Any]:
        """The arguments plus the transformers and torch versions (they change outputs)."""
        return {
            **dataclasses.asdict(self.options),
            "transformers_version": package_version("transformers"),
            "torch_version": package_version("torch"),
        }

    def close(self) -> None:
        """Drop the model (frees its memory once nothing else holds it)."""
        self._loaded = None

    def generate(self, requests: Sequence[Request]) -> list[Prediction]:
        """Answer every request in batches of ``batch_size``; failures are recorded per sample."""
        processor, model, torch = self._load()
        predictions: list[Prediction] = []
        runnable: list[Request] = []
        for request in requests:
            refused = too_many_frames(request, self.options.max_images)
            if refused:
                predictions.append(Prediction(request.sample_id, None, error=refused))
            else:
                runnable.append(request)
        size = self.options.batch_size
        for batch in batches_by_generation(runnable, size):
            started = time.perf_counter()
            outcomes = run_isolating_failures(batch, lambda chunk: self._generate_batch(processor, model, torch, chunk))
            latency = (time.perf_counter() - started) / len(batch)
            for request, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    predictions.append(Prediction(request.sample_id, None, error=describe_error(outcome),
                                                  latency_s=latency))
                else:
                    text, usage, finish = outcome
                    predictions.append(reply_or_error(Prediction(request.sample_id, text, latency_s=latency,
                                                                 usage=usage, finish_reason=finish)))
        return predictions

    def _load(self) -> tuple[Any, Any, Any]:
        """Processor, model and the torch module, loaded once (a failure is remembered, not retried per batch)."""
        if self._loaded is not None:
            return self._loaded
        if self._load_error is not None:
            raise self._load_error
        import torch
        import transformers

        auto: Any = transformers  # untyped factories: the loaded objects are used duck-typed

        options = self.options
        source = str(Path(self.model).expanduser()) if looks_like_path(self.model) else self.model
        common: dict[str, Any] = {"trust_remote_code": options.trust_remote_code, "revision": options.revision}
        model_kwargs = dict(common)
        dtype = options.dtype if options.dtype == "auto" else getattr(torch, options.dtype)
        # transformers 4.56 renamed torch_dtype to dtype (the old name warns in 5.x).
        model_kwargs["dtype" if _version_tuple(transformers.__version__) >= (4, 56) else "torch_dtype"] = dtype
        if options.attn_implementation:
            model_kwargs["attn_implementation"] = options.attn_implementation
        try:
            processor = auto.AutoProcessor.from_pretrained(source, **common)
            model = auto.AutoModelForImageTextToText.from_pretrained(source, **model_kwargs)
        except Exception as exc:  # turned into one clear message, kept for every later batch
            where = (
                f"the local folder {source}"
                if looks_like_path(self.model)
                else f"'{source}' from the Hugging Face Hub (this needs network access, or the model already in "
                "the HF cache with HF_HUB_OFFLINE=1; a local folder works offline: --model hf//path/to/folder)"
            )
            self._load_error = TempevalError(f"Could not load {where}: {describe_error(exc)}")
            raise self._load_error from exc
        device = resolve_device(options.device, torch)
        model.to(device)
        model.eval()
        tokenizer = getattr(processor, "tokenizer", processor)
        tokenizer.padding_side = "left"  # decoder-only batches must end aligned, where generation starts
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        self._loaded = (processor, model, torch)
        return self._loaded

    def _generate_batch(
        self, processor: Any, model: Any, torch: Any, batch: Sequence[Request]
    ) -> list[tuple[str, dict[str, int], str]]:
        """One padded ``model.generate`` call for ``batch``: decoded texts, token counts and finish reasons."""
        texts = [
            processor.apply_chat_template(
                chat_messages(request, system_prompt=self.options.system_prompt),
                add_generation_prompt=True,
                tokenize=False,
            )
            for request in batch
        ]
        images = [[np.ascontiguousarray(i) for i in r.frames.images] if r.frames else [] for r in batch]
        inputs = processor(
            text=texts, images=images if any(images) else None, return_tensors="pt", padding=True
        ).to(model.device, dtype=model.dtype)  # dtype casts only the pixel tensors, never token ids
        generation = batch[0].generation  # batches_by_generation: one GenerationConfig per batch
        kwargs = generate_kwargs(generation)
        if kwargs["do_sample"]:
            torch.manual_seed(generation.seed)
        tokenizer = getattr(processor, "tokenizer", processor)
        kwargs["pad_token_id"] = tokenizer.pad_token_id
        with torch.inference_mode():
            output = model.generate(**inputs, **kwargs)
        prompt_length = inputs["input_ids"].shape[1]
        new_tokens = output[:, prompt_length:]
        decoded = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        results = []
        for row, text, mask in zip(new_tokens, decoded, inputs["attention_mask"], strict=True):
            completion = int((row != tokenizer.pad_token_id).sum()) if tokenizer.pad_token_id is not None else len(row)
            usage = {"prompt_tokens": int(mask.sum()), "completion_tokens": completion}
            stopped = tokenizer.eos_token_id is not None and bool((row == tokenizer.eos_token_id).any())
            finish = "length" if completion >= generation.max_tokens and not stopped else "stop"
            results.append((text, usage, finish))
        return results


def generate_kwargs(generation: GenerationConfig) -> dict[str, Any]:
    """``model.generate`` arguments for a GenerationConfig: greedy at temperature 0, else sampling with its
    temperature and top_p; ``--gen`` keys (``top_k``, ``repetition_penalty``, ...) are passed on as they are."""
    sample = generation.temperature > 0
    kwargs: dict[str, Any] = {"max_new_tokens": generation.max_tokens, "do_sample": sample}
    if sample:
        kwargs.update(temperature=generation.temperature, top_p=generation.top_p)
    kwargs.update(generation.backend_extra)
    return kwargs


def batches_by_generation(requests: Sequence[Request], size: int) -> list[list[Request]]:
    """Consecutive batches of at most ``size`` requests sharing one GenerationConfig, in request order.

    A task gives all its requests the same config, so this is plain chunking in practice; a mixed list is
    grouped (stable) so that each ``generate`` call has one set of decoding settings.
    """
    groups: dict[Any, list[Request]] = {}
    for request in requests:
        groups.setdefault(request.generation, []).append(request)
    return [group[start : start + size] for group in groups.values() for start in range(0, len(group), size)]


def resolve_device(device: str, torch: Any) -> str:
    """``auto`` -> cuda when available, else cpu; any other value is used as given."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)
