"""``openai``: any OpenAI-compatible chat-completions endpoint (OpenAI, ``vllm serve``, SGLang, Gemini, ...).

Frames go as base64 JPEG ``image_url`` parts, each preceded by its time ("Frame at 2.0 s:"), then the prompt
text last (so requests about one video share a prefix on servers that cache them); with
``-M video_mode=video_url`` the frames go as one ``data:video/jpeg;base64,<jpeg>,<jpeg>,...`` part for servers
that take video, with the frame times written in the text. The payload is built by pure functions
(``build_messages``, ``build_payload``) that tests check without a network.

Requests run concurrently (``-M concurrency=N``, default 16) through the official ``openai`` client, which retries
429 / 5xx / timeouts with exponential back-off and jitter and honours Retry-After; ``-M timeout_s`` is a real
per-request timeout. A request that still fails is recorded as that sample's error, never as an answer. The API
key is read from the environment variable named by ``-M api_key_env`` and is never written anywhere.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import io
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tempeval.adapter import Adapter, Capabilities
from tempeval.errors import TempevalError
from tempeval.types import Prediction, Request

VIDEO_MODES = ("images", "video_url")
HTTP_TRANSPORTS = ("auto", "aiohttp", "httpx")
JPEG_ENCODERS = ("auto", "simplejpeg", "pillow")


@dataclass(frozen=True)
class OpenAIOptions:
    """Arguments of the OpenAI-compatible adapter (``-M key=value``)."""

    base_url: str | None = None
    """Endpoint, e.g. http://127.0.0.1:8000/v1 for `vllm serve`; None is api.openai.com."""
    api_key_env: str = "OPENAI_API_KEY"
    """Name of the environment variable holding the key (the key itself is never recorded)."""
    video_mode: str = "images"
    """``images``: one image part per frame; ``video_url``: one video part (servers that decode video)."""
    jpeg_quality: int = 85
    jpeg_encoder: str = "auto"
    """``simplejpeg`` (libjpeg-turbo, releases the GIL: half the CPU of Pillow per 128 px frame, measured),
    ``pillow``, or ``auto`` (simplejpeg when installed). Both: this quality, 4:2:0 chroma, accurate DCT."""
    image_max_side: int | None = 512
    """Resize frames so the longer side is at most this (None keeps the sampled size)."""
    detail: str | None = None
    """OpenAI image detail: low, high or auto (None omits it; other servers may reject it)."""
    max_images: int = 64
    """Refuse (as an error, before sending) a request with more frames than this."""
    concurrency: int = 16
    http_transport: str = "auto"
    """The openai client's HTTP transport: ``aiohttp`` (the SDK's DefaultAioHttpClient: about 40 % less CPU per
    request than httpx, measured), ``httpx`` (the SDK's default), or ``auto`` (aiohttp when installed)."""
    timeout_s: float = 120.0
    max_retries: int = 6
    system_prompt: str | None = None
    extra_body: dict[str, Any] | None = None
    """Extra JSON fields sent with every request (e.g. mm_processor_kwargs for vLLM)."""


def encode_jpeg(image: np.ndarray, quality: int, max_side: int | None, encoder: str = "pillow") -> bytes:
    """JPEG bytes of an RGB frame, resized (aspect kept, Pillow) so its longer side is at most ``max_side``.

    ``encoder``: ``pillow``, ``simplejpeg`` or ``auto`` (see :attr:`OpenAIOptions.jpeg_encoder`).
    """
    image = np.ascontiguousarray(image)
    height, width = int(image.shape[0]), int(image.shape[1])
    if max_side is not None and max(width, height) > max_side:
        from PIL import Image  # local: only this adapter needs Pillow

        scale = max_side / max(width, height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = np.asarray(Image.fromarray(image).resize(size))
    simplejpeg = _simplejpeg(encoder)
    if simplejpeg is not None:
        jpeg: bytes = simplejpeg.encode_jpeg(
            image, quality=quality, colorspace="RGB", colorsubsampling="420", fastdct=False
        )
        return jpeg
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)  # 4:2:0 and accurate DCT by default
    return buffer.getvalue()


def _simplejpeg(encoder: str) -> Any:
    """The simplejpeg module when ``encoder`` asks for it (``auto``: if installed), else None for Pillow."""
    if encoder == "pillow":
        return None
    try:
        import simplejpeg
    except ImportError as exc:
        if encoder == "auto":
            return None
        raise TempevalError("-M jpeg_encoder=simplejpeg needs simplejpeg: pip install simplejpeg.") from exc
    return simplejpeg


def _data_url(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def build_messages(request: Request, options: OpenAIOptions) -> list[dict[str, Any]]:
    """The chat messages for one request: frames (with their times) first, the prompt text last."""
    content: list[dict[str, Any]] = []
    frames = request.frames
    if frames is not None and len(frames):
        jpegs = [
            encode_jpeg(image, options.jpeg_quality, options.image_max_side, options.jpeg_encoder)
            for image in frames.images
        ]
        if options.video_mode == "video_url":
            url = "data:video/jpeg;base64," + ",".join(base64.b64encode(j).decode("ascii") for j in jpegs)
            times = ", ".join(f"{t:.1f}" for t in frames.timestamps)
            content.append({"type": "video_url", "video_url": {"url": url}})
            content.append({"type": "text", "text": f"The video's {len(jpegs)} frames are at {times} seconds."})
        else:
            for seconds, jpeg in zip(frames.timestamps, jpegs, strict=True):
                image_url: dict[str, Any] = {"url": _data_url(jpeg)}
                if options.detail:
                    image_url["detail"] = options.detail
                content.append({"type": "text", "text": f"Frame at {seconds:.1f} s:"})
                content.append({"type": "image_url", "image_url": image_url})
    content.append({"type": "text", "text": request.prompt})
    messages: list[dict[str, Any]] = []
    if options.system_prompt:
        messages.append({"role": "system", "content": options.system_prompt})
    messages.append({"role": "user", "content": content})
    return messages


def build_payload(request: Request, model: str, options: OpenAIOptions) -> dict[str, Any]:
    """The full chat-completions request body for one request (what the server receives)."""
    generation = request.generation
    payload: dict[str, Any] = {
        "model": model,
        "messages": build_messages(request, options),
        "max_tokens": generation.max_tokens,
        "temperature": generation.temperature,
        "top_p": generation.top_p,
        "seed": generation.seed,
    }
    if options.extra_body:
        payload.update(options.extra_body)
    return payload


class OpenAICompatAdapter(Adapter):
    """Chat completions over HTTP with bounded concurrency, retries and timeouts."""

    name = "openai"
    Options = OpenAIOptions
    requires = "pip install 'tempeval[openai]'"
    batch_size = 256

    def __init__(self, model: str, options: OpenAIOptions) -> None:
        """Check the arguments and read the API key from the environment (never stored in results)."""
        super().__init__(model, options)
        if not model:
            raise TempevalError("The openai adapter needs a model name: --model openai/MODEL (e.g. openai/gpt-4o).")
        if options.video_mode not in VIDEO_MODES:
            raise TempevalError(f"-M video_mode must be one of {', '.join(VIDEO_MODES)}; got {options.video_mode!r}.")
        if options.jpeg_encoder not in JPEG_ENCODERS:
            raise TempevalError(
                f"-M jpeg_encoder must be one of {', '.join(JPEG_ENCODERS)}; got {options.jpeg_encoder!r}."
            )
        _simplejpeg(options.jpeg_encoder)  # an encoder asked for by name must be installed: say so now
        if options.http_transport not in HTTP_TRANSPORTS:
            raise TempevalError(
                f"-M http_transport must be one of {', '.join(HTTP_TRANSPORTS)}; got {options.http_transport!r}."
            )
        if options.concurrency < 1:
            raise TempevalError(f"-M concurrency must be at least 1; got {options.concurrency}.")
        key = os.environ.get(options.api_key_env)
        if not key and options.base_url is None:
            raise TempevalError(
                f"No API key: set the environment variable {options.api_key_env} (or -M api_key_env=NAME), "
                "or point -M base_url at a server that needs none."
            )
        self._api_key = key or "EMPTY"

    @property
    def capabilities(self) -> Capabilities:  # type: ignore[override]
        """Images (up to max_images) or native video, with frame times told in text."""
        return Capabilities(
            images=True,
            max_images=self.options.max_images,
            native_video=self.options.video_mode == "video_url",
            timestamps_in_text=True,
        )

    def generate(self, requests: Sequence[Request]) -> list[Prediction]:
        """Send every request (at most ``concurrency`` in flight) and collect answers or errors."""
        return list(self.stream(requests))

    def stream(self, requests: Iterable[Request]) -> Iterator[Prediction]:
        """Answers as they complete, pulling requests only as fast as they can be sent.

        HTTP runs on an event loop in a background thread; this thread builds the payloads (JPEG encoding) and
        the caller produces the requests (frame decoding), so the three overlap.
        """
        loop = self._event_loop()
        window = 2 * self.options.concurrency  # payloads ready ahead of the in-flight ones
        pending: set[concurrent.futures.Future[Prediction]] = set()
        for request in requests:
            if len(pending) >= window:
                done, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
                yield from (future.result() for future in done)
            pending.add(asyncio.run_coroutine_threadsafe(self._one(request, self._prepare(request)), loop))
        for future in concurrent.futures.as_completed(pending):
            yield future.result()

    def _prepare(self, request: Request) -> dict[str, Any] | str:
        """The request body, or why it is not sent."""
        count = len(request.frames) if request.frames is not None else 0
        if count > self.options.max_images:
            return (
                f"{count} frames exceed max_images={self.options.max_images}; lower --frames or raise "
                "-M max_images (not sent)"
            )
        try:
            return build_payload(request, self.model, self.options)
        except Exception as exc:  # a frame that cannot be encoded fails its sample only
            return f"could not build the request: {type(exc).__name__}: {exc}"

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        """A loop in a daemon thread, with one client and one concurrency gate, kept for the adapter's life."""
        if getattr(self, "_loop", None) is None:
            try:
                from openai import AsyncOpenAI
            except ImportError as exc:
                raise TempevalError(f"The openai adapter needs the openai package: {self.requires}.") from exc
            loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=loop.run_forever, name="tempeval-openai", daemon=True)
            self._thread.start()

            async def setup() -> tuple[Any, asyncio.Semaphore]:
                client = AsyncOpenAI(
                    base_url=self.options.base_url,
                    api_key=self._api_key,
                    timeout=self.options.timeout_s,
                    max_retries=self.options.max_retries,
                    http_client=_http_client(self.options.http_transport),
                )
                return client, asyncio.Semaphore(self.options.concurrency)

            try:
                self._client, self._gate = asyncio.run_coroutine_threadsafe(setup(), loop).result()
            except BaseException:
                loop.call_soon_threadsafe(loop.stop)
                raise
            self._loop: asyncio.AbstractEventLoop | None = loop
        assert self._loop is not None
        return self._loop

    async def _one(self, request: Request, payload: dict[str, Any] | str) -> Prediction:
        if isinstance(payload, str):
            return Prediction(request.sample_id, None, error=payload)
        from openai.types.chat import ChatCompletion

        async with self._gate:
            started = time.perf_counter()
            try:
                # client.post sends the body as built (build_payload is what the server gets) with the client's
                # retries and timeouts, and skips the SDK's per-call re-validation of every message part.
                response = await self._client.post("/chat/completions", body=payload, cast_to=ChatCompletion)
            except Exception as exc:  # every failure after the client's retries is this sample's recorded error
                latency = time.perf_counter() - started
                return Prediction(request.sample_id, None, error=_describe(exc), latency_s=latency)
            latency = time.perf_counter() - started
        return _prediction(request.sample_id, response, latency)

    def close(self) -> None:
        """Close the client and stop the loop thread."""
        loop = getattr(self, "_loop", None)
        if loop is not None:
            asyncio.run_coroutine_threadsafe(self._client.close(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(timeout=10)
            loop.close()
            self._loop = None


def _http_client(transport: str) -> Any:
    """The ``http_client`` for AsyncOpenAI: the SDK's aiohttp client, or None for its default (httpx)."""
    if transport == "httpx":
        return None
    import openai

    factory = getattr(openai, "DefaultAioHttpClient", None)
    try:
        if factory is None:
            raise RuntimeError(f"openai {openai.__version__} has no DefaultAioHttpClient")
        return factory()
    except RuntimeError as exc:  # the SDK raises RuntimeError when aiohttp is not installed
        if transport == "auto":
            return None
        raise TempevalError(
            f"-M http_transport=aiohttp needs the openai SDK's aiohttp extra ({exc}): "
            "pip install 'openai[aiohttp]', or use -M http_transport=httpx."
        ) from exc


def _prediction(sample_id: str, response: Any, latency: float) -> Prediction:
    choices = getattr(response, "choices", None) or []
    text = choices[0].message.content if choices and choices[0].message is not None else None
    usage = getattr(response, "usage", None)
    tokens = (
        {"prompt_tokens": int(usage.prompt_tokens or 0), "completion_tokens": int(usage.completion_tokens or 0)}
        if usage is not None
        else {}
    )
    if not text or not text.strip():
        reason = choices[0].finish_reason if choices else "no choices"
        return Prediction(sample_id, None, error=f"empty response (finish_reason={reason})", latency_s=latency,
                          usage=tokens)
    return Prediction(sample_id, text, latency_s=latency, usage=tokens)


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    message = str(exc).splitlines()[0][:300] if str(exc) else ""
    return f"{name}{f' (HTTP {status})' if status else ''}: {message}"
