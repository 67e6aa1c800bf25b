"""``openai``: any OpenAI-compatible chat-completions endpoint (OpenAI, ``vllm serve``, SGLang, Gemini, ...).

Frames go as base64 JPEG ``image_url`` parts, each preceded by its time ("Frame at 2.0 s:"), then the prompt
text last (so requests about one video share a prefix on servers that cache them); with
``-M video_mode=video_url`` the frames go as one ``data:video/jpeg;base64,<jpeg>,<jpeg>,...`` part for servers
that take video, with the frame times written in the text; with ``-M video_mode=file`` the server gets a
``file://`` video of the visible window (:mod:`tempeval.clips`) and samples the frames itself. The payload is
built by pure functions (``build_messages``, ``build_payload``) that tests check without a network.

Requests run concurrently (``-M concurrency=N``, default 16) through the official ``openai`` client, in a process of
its own (:mod:`tempeval.adapters.openai_sender`) so that HTTP and frame work use two cores; the client retries
429 / 5xx / timeouts with exponential back-off and jitter and honours Retry-After; ``-M timeout_s`` bounds each
attempt in wall-clock time (not only each read), so the worst case per sample is ``(max_retries + 1) * timeout_s``
plus the back-off waits between attempts (at most 8 s each, or a server's Retry-After up to 60 s). A request
that still fails is recorded as that sample's error, never as an answer. The API
key is read from the environment variable named by ``-M api_key_env`` and is never written anywhere.
"""

from __future__ import annotations

import base64
import concurrent.futures
import io
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tempeval.adapter import Adapter, Capabilities, check_choice
from tempeval.adapters.openai_sender import Sender
from tempeval.errors import TempevalError
from tempeval.types import Prediction, Request

VIDEO_MODES = ("images", "video_url", "file")
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
    """``images``: one image part per frame; ``video_url``: the harness's frames as one video part, their times in
    the text (servers that take video); ``file``: a ``file://`` video part of the visible window, whose frames the
    server samples itself (``vllm serve --allowed-local-media-path``; the run's frame policy says ``server``)."""
    clip_dir: str | None = None
    """``video_mode=file``: folder for clips of windows smaller than their video (online queries, clip bounds);
    the server must be allowed to read it. None: ``tempeval-clips`` in the system's temporary folder."""
    jpeg_quality: int = 85
    jpeg_encoder: str = "auto"
    """``simplejpeg`` (libjpeg-turbo, releases the GIL: half the CPU of Pillow per 128 px frame, measured),
    ``pillow``, or ``auto`` (simplejpeg when installed). Both: this quality, 4:2:0 chroma, accurate DCT."""
    image_max_side: int | None = 512
    """The largest frame side this endpoint is sent (a capability: the run decodes frames at the smaller of this
    and ``--max-side``, and records it in its frame policy; None: no limit)."""
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
    reasoning: bool = False
    """A reasoning model (o1/o3/gpt-5 style), which rejects ``max_tokens`` and ``temperature=0``: the budget goes
    as ``max_completion_tokens`` and greedy temperature / top_p 1 are left out. Also on with
    ``--gen reasoning_effort=LEVEL``."""


def encode_jpeg(image: np.ndarray, quality: int, encoder: str = "pillow") -> bytes:
    """JPEG bytes of an RGB frame, at the size the harness decoded it (the adapter never resizes: its
    ``image_max_side`` is a capability the run's frame policy honours).

    ``encoder``: ``pillow``, ``simplejpeg`` or ``auto`` (see :attr:`OpenAIOptions.jpeg_encoder`).
    """
    image = np.ascontiguousarray(image)
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


def _check_installed(http_transport: str) -> None:
    """The openai SDK (and aiohttp when asked for by name) must be importable: say so before any work."""
    import importlib.util

    if importlib.util.find_spec("openai") is None:
        raise TempevalError(f"The openai adapter needs the openai package: {OpenAICompatAdapter.requires}.")
    if http_transport == "aiohttp" and importlib.util.find_spec("aiohttp") is None:
        raise TempevalError(
            "-M http_transport=aiohttp needs the openai SDK's aiohttp extra: pip install 'openai[aiohttp]', "
            "or use -M http_transport=httpx."
        )


def check_base_url(base_url: str | None) -> None:
    """An endpoint must be an http(s) URL with a host: say so before the first video is decoded."""
    if base_url is None:
        return
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(base_url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError as exc:
        raise TempevalError(
            f"-M base_url={base_url!r} is not a valid URL ({exc}); e.g. http://127.0.0.1:8000/v1."
        ) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TempevalError(
            f"-M base_url={base_url!r} must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:8000/v1."
        )


def _data_url(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def build_messages(request: Request, options: OpenAIOptions) -> list[dict[str, Any]]:
    """The chat messages for one request: frames (with their times) first, the prompt text last."""
    content: list[dict[str, Any]] = []
    frames = request.frames
    if frames is not None and len(frames):
        jpegs = [
            encode_jpeg(image, options.jpeg_quality, options.jpeg_encoder)
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
    if frames is None and options.video_mode == "file" and request.video_path:
        content.extend(_file_parts(request, options))
    content.append({"type": "text", "text": request.prompt})
    messages: list[dict[str, Any]] = []
    if options.system_prompt:
        messages.append({"role": "system", "content": options.system_prompt})
    messages.append({"role": "user", "content": content})
    return messages


def _file_parts(request: Request, options: OpenAIOptions) -> list[dict[str, Any]]:
    """A ``file://`` video part of the request's visible window (a clip written once when smaller than the file)."""
    from tempeval.clips import clip_of, file_info

    info = file_info(request.video_path or "")
    start, end = request.video_window_s or (0.0, info.duration_s)
    folder = Path(options.clip_dir) if options.clip_dir else Path(tempfile.gettempdir()) / "tempeval-clips"
    clip = clip_of(info, start, end, folder)
    parts: list[dict[str, Any]] = [{"type": "video_url", "video_url": {"url": Path(clip.path).resolve().as_uri()}}]
    if not clip.whole:
        parts.append({"type": "text", "text": f"The video shown is {start:.1f}-{end:.1f} s of the original; "
                      f"its 0 s is {start:.1f} s."})
    return parts


def media_io_kwargs(request: Request) -> dict[str, Any]:
    """The server-side sampling asked for (``video_mode=file``): the run's frame count or rate."""
    policy = request.frame_policy
    if policy is None:
        return {}
    video = {"num_frames": policy.num_frames} if policy.num_frames is not None else {"fps": policy.fps}
    return {"media_io_kwargs": {"video": video}}


def build_payload(request: Request, model: str, options: OpenAIOptions) -> dict[str, Any]:
    """The full chat-completions request body for one request (what the server receives)."""
    generation = request.generation
    extra = generation.backend_extra  # --gen keys (reasoning_effort, top_k, ...) go as request fields
    payload: dict[str, Any] = {"model": model, "messages": build_messages(request, options)}
    if options.reasoning or "reasoning_effort" in extra:
        # Reasoning models refuse max_tokens and any temperature but their default: send only what was asked.
        payload["max_completion_tokens"] = generation.max_tokens
        if generation.temperature > 0:
            payload["temperature"] = generation.temperature
        if generation.top_p < 1:
            payload["top_p"] = generation.top_p
    else:
        payload.update(max_tokens=generation.max_tokens, temperature=generation.temperature, top_p=generation.top_p)
    payload["seed"] = generation.seed
    if options.video_mode == "file" and request.frames is None:
        payload.update(media_io_kwargs(request))
    payload.update(extra)
    if options.extra_body:
        payload.update(options.extra_body)
    return payload


class OpenAICompatAdapter(Adapter):
    """Chat completions over HTTP with bounded concurrency, retries and timeouts."""

    name = "openai"
    Options = OpenAIOptions
    requires = "pip install 'tempeval[openai]'"
    batch_size = 256
    reserved_cores = 1  # this thread encodes JPEGs and feeds the HTTP process (bench/README.md, API throughput)
    transport_args = frozenset(
        {"base_url", "api_key_env", "concurrency", "http_transport", "timeout_s", "max_retries"}
    )

    def __init__(self, model: str, options: OpenAIOptions) -> None:
        """Check the arguments and read the API key from the environment (never stored in results)."""
        super().__init__(model, options)
        if not model:
            raise TempevalError("The openai adapter needs a model name: --model openai/MODEL (e.g. openai/gpt-4o).")
        check_choice("video_mode", options.video_mode, VIDEO_MODES)
        check_choice("jpeg_encoder", options.jpeg_encoder, JPEG_ENCODERS)
        _simplejpeg(options.jpeg_encoder)  # an encoder asked for by name must be installed: say so now
        check_choice("http_transport", options.http_transport, HTTP_TRANSPORTS)
        _check_installed(options.http_transport)
        check_base_url(options.base_url)
        if options.concurrency < 1:
            raise TempevalError(f"-M concurrency must be at least 1; got {options.concurrency}.")
        if not (math.isfinite(options.timeout_s) and options.timeout_s > 0):
            raise TempevalError(f"-M timeout_s must be a positive number of seconds; got {options.timeout_s}.")
        if options.max_retries < 0:
            raise TempevalError(f"-M max_retries must be 0 or more; got {options.max_retries}.")
        if not os.environ.get(options.api_key_env) and options.base_url is None:
            raise TempevalError(
                f"No API key: set the environment variable {options.api_key_env} (or -M api_key_env=NAME), "
                "or point -M base_url at a server that needs none."
            )
        self._http: Sender | None = None  # the HTTP process reads the key from the environment itself

    @property
    def capabilities(self) -> Capabilities:  # type: ignore[override]
        """Images (up to max_images) or native video, with frame times told in text."""
        return Capabilities(
            images=True,
            max_images=self.options.max_images,
            native_video=self.options.video_mode in ("video_url", "file"),
            samples_frames=self.options.video_mode == "file",
            timestamps_in_text=True,
            max_side=self.options.image_max_side,
        )

    def generate(self, requests: Sequence[Request]) -> list[Prediction]:
        """Send every request (at most ``concurrency`` in flight) and collect answers or errors."""
        return list(self.stream(requests))

    def stream(self, requests: Iterable[Request]) -> Iterator[Prediction]:
        """Answers as they complete, pulling requests only as fast as they can be sent.

        HTTP runs in a process of its own (:mod:`tempeval.adapters.openai_sender`); this thread builds the
        payloads (JPEG encoding) and the caller produces the requests (frame decoding), so the two overlap on
        two cores.
        """
        sender = self._sender()
        window = 2 * self.options.concurrency  # payloads handed over ahead of the in-flight ones
        pending: set[concurrent.futures.Future[Prediction]] = set()
        for request in requests:
            if len(pending) >= window:
                done, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
                yield from (future.result() for future in done)
            payload = self._prepare(request)
            if isinstance(payload, str):
                refused: concurrent.futures.Future[Prediction] = concurrent.futures.Future()
                refused.set_result(Prediction(request.sample_id, None, error=payload))
                pending.add(refused)
            else:
                pending.add(sender.submit(request.sample_id, payload))
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

    def _sender(self) -> Sender:
        """The HTTP process, started on first use and kept for the adapter's life."""
        if self._http is None:
            self._http = Sender(
                {
                    "base_url": self.options.base_url,
                    "api_key_env": self.options.api_key_env,
                    "timeout_s": self.options.timeout_s,
                    "max_retries": self.options.max_retries,
                    "http_transport": self.options.http_transport,
                    "concurrency": self.options.concurrency,
                }
            )
        return self._http

    @property
    def http_process_id(self) -> int | None:
        """The HTTP process's id (benchmarks add its CPU time); None before the first request."""
        return self._http.pid if self._http is not None else None

    def close(self) -> None:
        """Let the requests in flight finish and end the HTTP process."""
        if self._http is not None:
            self._http.close()
            self._http = None
