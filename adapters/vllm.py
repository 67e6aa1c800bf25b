"""``vllm``: offline ``vllm.LLM`` on the local GPUs, requests streamed into its engine as their frames are ready.

``--model vllm/Qwen/Qwen2.5-VL-7B-Instruct``. With ``-M engine_loop=stream`` (the default) each request goes into
vLLM's engine as soon as its frames are decoded (``LLM.llm_engine.add_request``) and the adapter then runs
``step()``, the same loop ``LLM.generate`` runs inside itself: vLLM's scheduler batches whatever is in the engine
(continuous batching), each answer is yielded, and so recorded, the moment its request finishes, and between
steps the next decoded requests are added without waiting. The engine holds at most ``-M batch_size`` unfinished
requests (1024 by default) and at most half the run's ``--max-inflight-bytes`` of their frames, so memory is
bounded by the byte budget whatever ``batch_size`` is. With ``-M engine_loop=batch`` (also used where the ``LLM``
has no ``llm_engine`` with ``add_request`` and ``step``) each batch of what is decoded when the engine is free is
ONE ``LLM.generate`` call and its records are written when the whole call returns. The exact dicts given to
vLLM are built by the pure function ``build_prompt_inputs``, which tests check with a fake engine (no vLLM, no
GPU).

Frames (sampled by tempeval, never by vLLM's own loader) go, with ``-M video_input=video`` (the default), as
ONE native video: a ``uint8`` array T x H x W x 3 in ``multi_modal_data["video"]``, paired with metadata
(``fps``, ``frames_indices``, ``total_num_frames``, ``duration``, ``do_sample_frames=False``) so models that read
frame times from it are told the true ones, and with the frames' sampling rate as the request's
``mm_processor_kwargs["fps"]``. With ``-M video_input=images`` (models without video input) they go as a list of
images. Either way the prompt is the model's chat template applied to: the video (or each image, preceded by
"Frame at X s:"), the frame times in text, then the question last, so requests about one video share a prefix
that vLLM's prefix cache and encoder cache reuse.

How the metadata is read differs between model families and vLLM/transformers versions. What follows was read
in the sources (vLLM's Qwen2.5-VL / Qwen3-VL processors, transformers 5.23's ``VideoMetadata`` and Qwen
processors; ECOSYSTEM.md section 2), not yet run on a GPU: confirm it against the pinned versions.

- Qwen3-VL (and GLM-4.xV) print a time before each temporal patch from ``frames_indices / fps``. ``fps`` is
  therefore the *source* frame rate, estimated from the frames' stream indices and real timestamps, and
  ``frames_indices`` are the real stream indices: the printed times match tempeval's. For variable-frame-rate
  files the estimate is a line fit through the first and last frame, so times can drift slightly. Under a
  permuted frame order (``--order``, ``tempeval diagnose``) the request's times and indices are presentation
  labels (the i-th frame shown carries the i-th sorted time and index), so the metadata rises with position and
  does not reveal the true order; only ``multi_modal_uuids`` use the true indices, which name the pixels.
- Qwen2.5-VL spaces its temporal position ids by ``second_per_grid_ts = temporal_patch_size / sampling fps``.
  transformers 4.x processors take that rate from the ``fps`` processor kwarg (default 2.0); transformers 5.x
  from the metadata, as ``len(frames_indices) / total_num_frames * fps``. Both are set so they give the real
  sampling rate: ``total_num_frames`` is the number of source frames in the visible part of the video (not the
  whole file), so stream indices of a clip that starts late can exceed it.
- Older vLLM versions do not accept ``(array, metadata)`` pairs: ``-M video_metadata=false`` sends the bare
  array. ``-M pass_fps=false`` drops the per-request ``fps`` kwarg for processors that reject it.

``multi_modal_uuids`` (``-M mm_uuids``) name each video by its file, frame size, indices and sampling rate, so
vLLM reuses its processed inputs instead of hashing the pixels again. This needs the video's path on the
request (a ``video_path`` attribute); requests without one are sent without uuids and vLLM hashes the pixels.

A request vLLM refuses (say, a prompt longer than ``max_model_len``: ``add_request`` raises) records that error
alone; in batch mode a ``generate`` call that raises is split in halves and retried to the same end. A failing
``step`` (the engine died) fails the run's remaining samples at once. Engine arguments (parallelism, ``max_model_len``,
``limit_mm_per_prompt``, ``mm_processor_kwargs``, ...) are typed ``-M`` options; anything else goes through
``-M engine_args='{...}'``. The vLLM and transformers versions are recorded in the run header.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tempeval.adapter import Adapter, Capabilities, RequestFeed, check_choice, frame_bytes, reply_or_error
from tempeval.adapters.hf import (
    chat_messages,
    describe_error,
    package_version,
    run_isolating_failures,
    too_many_frames,
)
from tempeval.errors import TempevalError
from tempeval.types import Frames, GenerationConfig, Prediction, Request

VIDEO_INPUTS = ("video", "images")
ENGINE_LOOPS = ("stream", "batch")

ChatTemplate = Callable[[list[dict[str, Any]]], str]
"""Renders Hugging Face chat messages into the model's prompt text (generation prompt included)."""


@dataclass(frozen=True)
class VLLMOptions:
    """Arguments of the offline vLLM adapter (``-M key=value``)."""

    video_input: str = "video"
    """``video``: frames as one native video (models that take video); ``images``: one image per frame."""
    engine_loop: str = "stream"
    """``stream``: each request enters vLLM's engine when its frames are ready and is recorded when it finishes
    (``llm_engine.add_request`` / ``step``); ``batch``: one ``LLM.generate`` call per batch, recorded after it."""
    batch_size: int = 1024
    """The most unfinished requests in the engine at once (stream), or per ``LLM.generate`` call (batch); fewer
    when their frames reach half of ``--max-inflight-bytes``. vLLM's own ``max_num_seqs`` sets how many it runs."""
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    data_parallel_size: int = 1
    """Engine replicas; vLLM's offline DP may need its own launcher depending on the version."""
    max_model_len: int | None = None
    """Context length; set it to what the task needs, so the KV cache fits more sequences at once."""
    max_num_seqs: int | None = None
    gpu_memory_utilization: float = 0.9
    dtype: str = "auto"
    limit_mm_per_prompt: dict[str, Any] | None = None
    """JSON, e.g. '{"video": 1}'; None is one video (video mode) or max_images images (images mode)."""
    mm_processor_kwargs: dict[str, Any] | None = None
    """JSON passed to the HF processor for every request, e.g. '{"max_pixels": 401408}'."""
    seed: int = 0
    """Engine seed; each request's sampling seed comes from the task's GenerationConfig."""
    trust_remote_code: bool = False
    revision: str | None = None
    enforce_eager: bool = False
    """Skip CUDA graph capture (faster start, slower decoding)."""
    max_images: int = 64
    """Images mode: refuse (as that sample's error) a request with more frames than this."""
    video_metadata: bool = True
    """Send (video, metadata) pairs with the true frame indices and rates; false for vLLM versions without."""
    pass_fps: bool = True
    """Send the frames' sampling rate as the request's mm_processor_kwargs fps (Qwen2/2.5-VL time spacing)."""
    mm_uuids: bool = True
    """Name media by file and frame indices (multi_modal_uuids) where the request carries the video path."""
    system_prompt: str | None = None
    engine_args: dict[str, Any] | None = None
    """JSON of further ``vllm.LLM`` arguments (override the ones above)."""


def source_fps(frames: Frames) -> float:
    """The source video's frame rate implied by the frames' stream indices and real timestamps.

    Models that print frame times compute them as ``index / fps``; this rate makes those match the timestamps.
    """
    pairs = sorted(zip(frames.indices, frames.timestamps, strict=True))
    (first_index, first_time), (last_index, last_time) = pairs[0], pairs[-1]
    if last_index > first_index and last_time > first_time:
        return (last_index - first_index) / (last_time - first_time)
    if first_index > 0 and first_time > 0:  # one frame (or one time): the line through the origin
        return first_index / first_time
    return 1.0  # a single frame at 0 s: any rate gives its time


def sampling_fps(frames: Frames, duration_s: float | None) -> float:
    """How many frames per second of video the model is given (frames over the visible duration)."""
    count = len(frames)
    if duration_s and duration_s > 0:
        return count / duration_s
    span = max(frames.timestamps) - min(frames.timestamps)
    return (count - 1) / span if count > 1 and span > 0 else 1.0


def video_metadata(frames: Frames, duration_s: float | None) -> dict[str, Any]:
    """vLLM's per-video metadata for frames tempeval sampled (keys of transformers' ``VideoMetadata``).

    ``frames_indices / fps`` are the frames' real times; ``len(frames) / total_num_frames * fps`` is their
    sampling rate (see the module docstring for which model reads which).
    """
    fps = source_fps(frames)
    rate = sampling_fps(frames, duration_s)
    height, width = frames.images[0].shape[:2]
    return {
        "fps": fps,
        "frames_indices": [int(i) for i in frames.indices],
        "total_num_frames": max(len(frames), round(len(frames) * fps / rate)),
        "duration": duration_s if duration_s else len(frames) / rate,
        "height": int(height),
        "width": int(width),
        "do_sample_frames": False,  # the frames are final: no processor may re-sample them
    }


def media_uuids(request: Request, options: VLLMOptions) -> dict[str, list[str]] | None:
    """Stable ``multi_modal_uuids`` for the request's media, from its video path and frame indices.

    The size and sampling rate are part of the name because resizing or another visible duration changes the
    processed input for the same frame indices. None without a video path (vLLM then hashes the pixels).
    """
    path = getattr(request, "video_path", None)
    frames = request.frames
    if not options.mm_uuids or not path or frames is None or not len(frames):
        return None
    height, width = frames.images[0].shape[:2]
    # The true indices name the pixels: under a permuted order ``indices`` are presentation labels, the same
    # for every order, and vLLM would serve the cached time-ordered clip for a shuffled one.
    if options.video_input == "images":
        return {"image": [f"{path}#frame={index}#{width}x{height}" for index in frames.true_indices]}
    indices = ",".join(str(i) for i in frames.true_indices)
    rate = sampling_fps(frames, request.video_duration_s)
    return {"video": [f"{path}#frames={indices}#{width}x{height}#fps={rate:.6g}"]}


def build_prompt_input(request: Request, options: VLLMOptions, template: ChatTemplate) -> dict[str, Any]:
    """The dict handed to ``LLM.generate`` for one request (raises ValueError for frames it cannot send)."""
    as_video = options.video_input == "video"
    prompt = template(chat_messages(request, video=as_video, system_prompt=options.system_prompt))
    item: dict[str, Any] = {"prompt": prompt}
    frames = request.frames
    if frames is None or not len(frames):
        return item
    images = [np.ascontiguousarray(image, dtype=np.uint8) for image in frames.images]
    if as_video:
        shapes = sorted({image.shape for image in images})
        if len(shapes) > 1:
            raise ValueError(f"frames of different sizes {shapes} cannot form one video; use -M video_input=images")
        clip = np.stack(images)  # T x H x W x 3
        metadata = video_metadata(frames, request.video_duration_s)
        item["multi_modal_data"] = {"video": [(clip, metadata) if options.video_metadata else clip]}
        if options.pass_fps:
            item["mm_processor_kwargs"] = {"fps": sampling_fps(frames, request.video_duration_s)}
    else:
        refused = too_many_frames(request, options.max_images)
        if refused:
            raise ValueError(refused)
        item["multi_modal_data"] = {"image": images}
    uuids = media_uuids(request, options)
    if uuids:
        item["multi_modal_uuids"] = uuids
    return item


def build_prompt_inputs(
    requests: Sequence[Request], options: VLLMOptions, template: ChatTemplate
) -> list[dict[str, Any]]:
    """The exact inputs of one ``LLM.generate`` call, in request order."""
    return [build_prompt_input(request, options, template) for request in requests]


def sampling_kwargs(generation: GenerationConfig) -> dict[str, Any]:
    """``vllm.SamplingParams`` arguments for a GenerationConfig (temperature 0 is greedy); ``--gen`` keys
    (``top_k``, ``min_p``, ``repetition_penalty``, ...) are passed on as SamplingParams arguments."""
    return {
        "temperature": generation.temperature,
        "top_p": generation.top_p,
        "max_tokens": generation.max_tokens,
        "seed": generation.seed,
        **generation.backend_extra,
    }


def engine_kwargs(model: str, options: VLLMOptions) -> dict[str, Any]:
    """``vllm.LLM`` arguments: the typed options (unset ones left to vLLM), then ``engine_args`` on top."""
    if options.limit_mm_per_prompt is not None:
        limit = dict(options.limit_mm_per_prompt)
    else:  # only the modality used: vLLM reserves encoder memory for each allowed item
        limit = {"video": 1} if options.video_input == "video" else {"image": options.max_images}
    kwargs: dict[str, Any] = {
        "model": model,
        "tensor_parallel_size": options.tensor_parallel_size,
        "pipeline_parallel_size": options.pipeline_parallel_size,
        "gpu_memory_utilization": options.gpu_memory_utilization,
        "dtype": options.dtype,
        "seed": options.seed,
        "trust_remote_code": options.trust_remote_code,
        "limit_mm_per_prompt": limit,
    }
    optional = {
        "data_parallel_size": options.data_parallel_size if options.data_parallel_size != 1 else None,
        "max_model_len": options.max_model_len,
        "max_num_seqs": options.max_num_seqs,
        "mm_processor_kwargs": options.mm_processor_kwargs,
        "revision": options.revision,
        "enforce_eager": options.enforce_eager or None,
    }
    kwargs.update({key: value for key, value in optional.items() if value is not None})
    kwargs.update(options.engine_args or {})
    return kwargs


def import_vllm() -> Any:
    """The ``vllm`` module (imported only when this adapter is used)."""
    try:
        import vllm
    except ImportError as exc:
        raise TempevalError(
            f"The vllm adapter needs vLLM and a GPU: {VLLMAdapter.requires} ({describe_error(exc)})."
        ) from exc
    return vllm


def load_chat_template(model: str, options: VLLMOptions, llm: Any) -> ChatTemplate:
    """The model's chat template: its processor's (which knows video and image parts), else its tokenizer's."""
    try:
        import transformers

        auto: Any = transformers  # untyped factory
        processor = auto.AutoProcessor.from_pretrained(
            model, trust_remote_code=options.trust_remote_code, revision=options.revision
        )
    except Exception:  # no processor (or none loadable): the tokenizer's template is the documented fallback
        processor = None
    renderer = processor if getattr(processor, "chat_template", None) else llm.get_tokenizer()

    def render(messages: list[dict[str, Any]]) -> str:
        text = renderer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return str(text)

    return render


def _engine_dead(exc: Exception) -> bool:
    # A dead engine fails every later call too: splitting the batch would only repeat the failure.
    return type(exc).__name__ == "EngineDeadError"


class VLLMAdapter(Adapter):
    """Offline vLLM: requests streamed into its engine (or one ``LLM.generate`` call per batch)."""

    name = "vllm"
    transport_args = frozenset({"batch_size", "engine_loop", "max_num_seqs", "gpu_memory_utilization"})
    Options = VLLMOptions
    requires = "pip install 'tempeval[vllm]'"

    def __init__(
        self,
        model: str,
        options: VLLMOptions,
        *,
        backend: Any | None = None,
        template: ChatTemplate | None = None,
    ) -> None:
        """Check the arguments and import vLLM; the engine starts on the first ``generate``.

        ``backend`` stands in for the ``vllm`` module (anything with ``LLM`` and ``SamplingParams``) and
        ``template`` for the model's chat template: tests pass fakes, users leave both unset.
        """
        super().__init__(model, options)
        if not model:
            raise TempevalError("The vllm adapter needs a model: --model vllm/<hub id or local folder>.")
        check_choice("video_input", options.video_input, VIDEO_INPUTS)
        check_choice("engine_loop", options.engine_loop, ENGINE_LOOPS)
        if options.batch_size < 1:
            raise TempevalError(f"-M batch_size must be at least 1; got {options.batch_size}.")
        for key in ("limit_mm_per_prompt", "mm_processor_kwargs", "engine_args"):
            value = getattr(options, key)
            if value is not None and not isinstance(value, dict):
                raise TempevalError(f"-M {key} must be a JSON object, e.g. {key}='{{\"video\": 1}}'; got {value!r}.")
        self._backend = backend if backend is not None else import_vllm()
        self._template = template
        self._llm: Any = None
        self._load_error: TempevalError | None = None
        self._request_ids = itertools.count()
        """Numbers the engine's requests across streams (a polled online task streams one request at a time)."""

    @property
    def capabilities(self) -> Capabilities:  # type: ignore[override]
        """Native video (default) or images, with frame times also told in text."""
        video = self.options.video_input == "video"
        return Capabilities(images=True, max_images=None if video else self.options.max_images, native_video=video)

    @property
    def batch_size(self) -> int:  # type: ignore[override]
        """Large on purpose: each batch is one ``generate`` call that vLLM schedules itself."""
        return int(self.options.batch_size)

    def describe(self) -> dict[str, Any]:
        """The arguments plus the vLLM and transformers versions (both change outputs)."""
        return {
            **dataclasses.asdict(self.options),
            "vllm_version": getattr(self._backend, "__version__", None) or package_version("vllm"),
            "transformers_version": package_version("transformers"),
        }

    def close(self) -> None:
        """Drop the engine so its GPU memory can be freed."""
        self._llm = None

    def stream(self, requests: Iterable[Request]) -> Iterator[Prediction]:
        """Answers as each request finishes: requests stream into vLLM's engine (see the module docstring), or,
        with ``-M engine_loop=batch`` or an engine without ``add_request``/``step``, one ``generate`` per batch."""
        llm, template = self._engine()
        engine = getattr(llm, "llm_engine", None)
        steps = all(callable(getattr(engine, name, None)) for name in ("add_request", "step"))
        if self.options.engine_loop == "batch" or not steps:
            yield from super().stream(requests)
            return
        yield from _EngineLoop(engine, self._backend, self.options, template, self._request_ids).run(requests)

    def generate(self, requests: Sequence[Request]) -> list[Prediction]:
        """Answer every request: one ``generate`` call per ``batch_size`` requests, errors per sample."""
        llm, template = self._engine()
        predictions: list[Prediction] = []
        size = self.options.batch_size
        for start in range(0, len(requests), size):
            ready: list[tuple[Request, dict[str, Any]]] = []
            for request in requests[start : start + size]:
                try:
                    ready.append((request, build_prompt_input(request, self.options, template)))
                except Exception as exc:  # this sample cannot be sent; the others still are
                    predictions.append(_not_built(request, exc))
            if not ready:
                continue
            started = time.perf_counter()
            outcomes = run_isolating_failures(ready, lambda items: self._generate_once(llm, items), _engine_dead)
            latency = (time.perf_counter() - started) / len(ready)
            predictions.extend(
                _prediction(request.sample_id, outcome, latency)
                for (request, _), outcome in zip(ready, outcomes, strict=True)
            )
        return predictions

    def _generate_once(self, llm: Any, items: Sequence[tuple[Request, dict[str, Any]]]) -> list[Any]:
        """ONE ``LLM.generate`` call for all ``items``; vLLM returns the outputs in input order."""
        params = _SamplingParamsCache(self._backend)
        per_request = [params.of(request.generation) for request, _ in items]
        sampling = per_request[0] if len(params.made) == 1 else per_request
        return list(llm.generate([inputs for _, inputs in items], sampling_params=sampling, use_tqdm=False))

    def _engine(self) -> tuple[Any, ChatTemplate]:
        """The engine and chat template, made once (a failed start is remembered, not retried per batch)."""
        if self._load_error is not None:
            raise self._load_error
        if self._llm is None:
            try:
                self._llm = self._backend.LLM(**engine_kwargs(self.model, self.options))
            except Exception as exc:  # one clear message, kept for every later batch
                self._load_error = TempevalError(
                    f"vLLM could not start '{self.model}': {describe_error(exc)}. Check -M tensor_parallel_size, "
                    "gpu_memory_utilization and max_model_len; a hub id needs network or the model in the HF cache."
                )
                raise self._load_error from exc
        if self._template is None:
            self._template = load_chat_template(self.model, self.options, self._llm)
        return self._llm, self._template


class _SamplingParamsCache:
    """One ``vllm.SamplingParams`` per distinct GenerationConfig."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.made: dict[GenerationConfig, Any] = {}

    def of(self, generation: GenerationConfig) -> Any:
        if generation not in self.made:
            self.made[generation] = self._backend.SamplingParams(**sampling_kwargs(generation))
        return self.made[generation]


@dataclass(frozen=True)
class _Unfinished:
    """A request inside the engine: its sample, the bytes of frames it was given (vLLM holds them, processed, until
    it finishes; this process keeps no pixels of it), when it went in."""

    sample_id: str
    frame_bytes: int
    added_at: float


class _EngineLoop:
    """Requests streamed into vLLM's ``LLMEngine``: added as they are ready, answered as each finishes.

    The loop ``LLM.generate`` runs itself (``add_request`` for every prompt, then ``step`` until nothing is
    unfinished), with the prompts arriving while it runs. Before each ``step`` it adds the requests the feed has
    ready now (all of them from an iterator that is not a :class:`~tempeval.adapter.RequestFeed`), keeping the
    engine's unfinished requests under ``batch_size`` and their frames under the feed's ``batch_bytes`` (the first
    one always goes in); when the engine has nothing to do it waits for the next request.
    """

    def __init__(
        self, engine: Any, backend: Any, options: VLLMOptions, template: ChatTemplate, ids: Iterator[int]
    ) -> None:
        self._engine = engine
        self._options = options
        self._template = template
        self._params = _SamplingParamsCache(backend)
        self._ids = ids
        self._unfinished: dict[str, _Unfinished] = {}
        self._given_ids: dict[str, str] = {}
        """The id each request was given, by the id the engine returned for it where the two differ."""
        self._held = 0

    def run(self, requests: Iterable[Request]) -> Iterator[Prediction]:
        feed = iter(requests)
        budget = feed.batch_bytes if isinstance(feed, RequestFeed) else None
        exhausted = False
        try:
            while True:
                while not exhausted and self._room(feed, budget):
                    request = next(feed, None)
                    if request is None:
                        exhausted = True
                    else:
                        yield from self._add(request)
                if not self._unfinished:
                    if exhausted:
                        return
                    continue
                for output in self._engine.step():
                    request_id = self._given_ids.pop(output.request_id, output.request_id)
                    if getattr(output, "finished", True) and request_id in self._unfinished:
                        entry = self._unfinished.pop(request_id)
                        self._held -= entry.frame_bytes
                        latency = time.perf_counter() - entry.added_at
                        yield _prediction(entry.sample_id, output, latency)
        finally:  # closed early (the run stopped) or the engine failed: nothing of this run keeps the GPU busy
            if self._unfinished:
                abort = getattr(self._engine, "abort_request", None)
                if callable(abort):
                    with contextlib.suppress(Exception):  # a dead engine cannot abort; its requests went with it
                        abort(list(self._unfinished))

    def _room(self, feed: Iterator[Request], budget: int | None) -> bool:
        """Whether to add another request now: always when the engine is empty (waiting for one if need be),
        else while one is ready and the engine is under its request and byte limits."""
        if not self._unfinished:
            return True
        if len(self._unfinished) >= self._options.batch_size:
            return False
        if budget is None:
            return True
        return self._held < budget and isinstance(feed, RequestFeed) and feed.ready()

    def _add(self, request: Request) -> Iterator[Prediction]:
        """Put one request into the engine; one it cannot take is answered with its error at once."""
        try:
            inputs = build_prompt_input(request, self._options, self._template)
        except Exception as exc:  # this sample cannot be sent; the others still are
            yield _not_built(request, exc)
            return
        request_id = f"tempeval-{next(self._ids)}"
        try:
            returned = self._engine.add_request(request_id, inputs, self._params.of(request.generation))
        except Exception as exc:  # vLLM refused this prompt (too long, bad media): its error alone
            if _engine_dead(exc):
                raise
            yield Prediction(request.sample_id, None, error=describe_error(exc))
            return
        if isinstance(returned, str) and returned != request_id:  # newer vLLM may track it by an id of its own
            self._given_ids[returned] = request_id
        nbytes = frame_bytes(request)
        self._unfinished[request_id] = _Unfinished(request.sample_id, nbytes, time.perf_counter())
        self._held += nbytes


def _not_built(request: Request, exc: Exception) -> Prediction:
    return Prediction(request.sample_id, None, error=f"input not built: {describe_error(exc)}")


def _prediction(sample_id: str, outcome: Any, latency: float) -> Prediction:
    """A Prediction from one vLLM ``RequestOutput`` (or the exception its batch isolated)."""
    if isinstance(outcome, Exception):
        return Prediction(sample_id, None, error=describe_error(outcome), latency_s=latency)
    completions = getattr(outcome, "outputs", None) or []
    if not completions:
        return Prediction(sample_id, None, error="vLLM returned no completion", latency_s=latency)
    completion = completions[0]
    usage = {
        "prompt_tokens": len(getattr(outcome, "prompt_token_ids", None) or []),
        "completion_tokens": len(getattr(completion, "token_ids", None) or []),
    }
    finish = getattr(completion, "finish_reason", None)
    finish = finish if isinstance(finish, str) else None
    answer = Prediction(sample_id, str(completion.text), latency_s=latency, usage=usage, finish_reason=finish)
    return reply_or_error(answer, f"finish_reason={finish}" if finish else "")
