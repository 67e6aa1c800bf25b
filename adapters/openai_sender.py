"""The HTTP side of the ``openai`` adapter, in a process of its own.

The adapter's process decodes frames and builds payloads; this process sends them through the official ``openai``
client (at most ``concurrency`` in flight, the client's retries with back-off and Retry-After, a real timeout) and
returns each answer or error. In one process the client's per-request work and the frame work took turns on one
interpreter lock, which capped a run at about one core; two processes use two.

Protocol, over the child's stdin and stdout: length-prefixed pickles. The first message is the settings dict; then
one ``(key, payload)`` per request, answered by ``(key, text, error, latency_s, usage)`` in completion order.
Closing stdin ends the process once the requests in flight are answered. The API key never crosses the pipe: the
child reads it from the environment it inherits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, Any

from tempeval.errors import TempevalError
from tempeval.types import Prediction

_HEADER = struct.Struct(">I")


def write_message(stream: IO[bytes], obj: Any) -> None:
    """One length-prefixed pickle, flushed."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def read_message(stream: IO[bytes]) -> Any | None:
    """The next message, or None at the end of the stream."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)


class Sender:
    """Parent side: starts the HTTP process and turns each payload into a future :class:`Prediction`."""

    def __init__(self, settings: dict[str, Any]) -> None:
        """Start ``python -m tempeval.adapters.openai_sender`` with these settings (see :func:`serve`)."""
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - the child's stderr for its life, quoted if it dies
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tempeval.adapters.openai_sender"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._input: IO[bytes] = self._process.stdin
        self._output: IO[bytes] = self._process.stdout
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._pending: dict[int, tuple[str, concurrent.futures.Future[Prediction]]] = {}
        self._keys = itertools.count()
        self._gone: str | None = None
        write_message(self._input, settings)
        self._reader = threading.Thread(target=self._read, name="tempeval-openai-replies", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        """The HTTP process's id."""
        return self._process.pid

    def submit(self, sample_id: str, payload: dict[str, Any]) -> concurrent.futures.Future[Prediction]:
        """Send one request; its future completes with the answer or the recorded error."""
        future: concurrent.futures.Future[Prediction] = concurrent.futures.Future()
        with self._lock:
            if self._gone is not None:
                future.set_result(Prediction(sample_id, None, error=self._gone))
                return future
            key = next(self._keys)
            self._pending[key] = (sample_id, future)
        try:
            with self._write_lock:
                write_message(self._input, (key, payload))
        except (BrokenPipeError, OSError, ValueError):
            pass  # the process is gone; the reader fails every pending request with the reason
        return future

    def _read(self) -> None:
        while (reply := read_message(self._output)) is not None:
            key, text, error, latency, usage = reply
            with self._lock:
                sample_id, future = self._pending.pop(key)
            future.set_result(Prediction(sample_id, text, error=error, latency_s=latency, usage=usage))
        code = self._process.wait()
        self._errors.seek(0)
        tail = self._errors.read().decode("utf-8", "replace").strip().splitlines()[-3:]
        reason = f"the openai adapter's HTTP process exited (code {code})" + (f": {' | '.join(tail)}" if tail else "")
        with self._lock:
            self._gone = reason
            pending = list(self._pending.values())
            self._pending.clear()
        for sample_id, future in pending:
            future.set_result(Prediction(sample_id, None, error=reason))

    def close(self, timeout_s: float = 30.0) -> None:
        """Let the requests in flight finish, then end the process (killed after ``timeout_s``)."""
        with contextlib.suppress(OSError):
            self._input.close()
        try:
            self._process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._reader.join(timeout=timeout_s)
        self._output.close()
        self._errors.close()


async def serve(settings: dict[str, Any], requests: IO[bytes], replies: IO[bytes]) -> None:
    """Child side: send every request read from ``requests`` and write each reply to ``replies``."""
    from openai import AsyncOpenAI

    loop = asyncio.get_running_loop()
    client = AsyncOpenAI(
        base_url=settings["base_url"],
        api_key=os.environ.get(settings["api_key_env"]) or "EMPTY",
        timeout=settings["timeout_s"],
        max_retries=settings["max_retries"],
        http_client=http_client(settings["http_transport"]),
    )
    gate = asyncio.Semaphore(settings["concurrency"])
    tasks: set[asyncio.Task[None]] = set()
    ended = asyncio.Event()

    async def one(key: int, payload: dict[str, Any]) -> None:
        async with gate:
            started = time.perf_counter()
            try:
                # client.post sends the body as built (build_payload is what the server gets) with the client's
                # retries and timeouts, and skips the SDK's per-call re-validation of every message part;
                # cast_to=object returns the parsed JSON without building the SDK's models (a quarter of the
                # client's CPU per request, measured).
                response = await client.post("/chat/completions", body=payload, cast_to=object)
            except Exception as exc:  # every failure after the client's retries is this sample's recorded error
                reply = (key, None, describe(exc), time.perf_counter() - started, {})
            else:
                answer = prediction("", response, time.perf_counter() - started)
                reply = (key, answer.text, answer.error, answer.latency_s, answer.usage)
        write_message(replies, reply)

    def start(message: tuple[int, dict[str, Any]]) -> None:
        task = loop.create_task(one(*message))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def read_all() -> None:
        while (message := read_message(requests)) is not None:
            loop.call_soon_threadsafe(start, message)
        loop.call_soon_threadsafe(ended.set)

    threading.Thread(target=read_all, name="tempeval-openai-requests", daemon=True).start()
    await ended.wait()
    while tasks:
        await asyncio.gather(*list(tasks))
    await client.close()


def http_client(transport: str) -> Any:
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


def prediction(sample_id: str, response: Any, latency: float) -> Prediction:
    """A chat completion's JSON as a Prediction: its text and token usage, or an error when there is no text."""
    choices = response.get("choices") if isinstance(response, dict) else None
    first = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = first.get("message")
    text = message.get("content") if isinstance(message, dict) else None
    usage = response.get("usage") if isinstance(response, dict) else None
    tokens = (
        {
            "prompt_tokens": int(usage.get("prompt_tokens") or 0),
            "completion_tokens": int(usage.get("completion_tokens") or 0),
        }
        if isinstance(usage, dict)
        else {}
    )
    if not isinstance(text, str) or not text.strip():
        reason = first.get("finish_reason") if first else "no choices"
        return Prediction(sample_id, None, error=f"empty response (finish_reason={reason})", latency_s=latency,
                          usage=tokens)
    return Prediction(sample_id, text, latency_s=latency, usage=tokens)


def describe(exc: Exception) -> str:
    """One line naming a failed request's exception and HTTP status."""
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    message = str(exc).splitlines()[0][:300] if str(exc) else ""
    return f"{name}{f' (HTTP {status})' if status else ''}: {message}"


def _main() -> None:
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print in a library must not corrupt the replies
    sys.stdout = sys.stderr
    requests = sys.stdin.buffer
    settings = read_message(requests)
    if settings is None:
        return
    asyncio.run(serve(settings, requests, replies))


if __name__ == "__main__":
    _main()
