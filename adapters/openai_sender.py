"""The HTTP side of the ``openai`` adapter, in a process of its own.

The adapter's process decodes frames and builds payloads; this process sends them through the official ``openai``
client (at most ``concurrency`` in flight, the client's retries with back-off and Retry-After, a real timeout) and
returns each answer or error. In one process the client's per-request work and the frame work took turns on one
interpreter lock, which capped a run at about one core; two processes use two.

Protocol, over the child's stdin and stdout: length-prefixed pickles. The first message is the settings dict; then
one ``(key, payload)`` per request, answered by ``(key, text, error, latency_s, usage, reasoning, finish_reason)``
in completion order.
The message ``"close"`` ends the process once the requests in flight are answered; an end of input without it
(the parent was killed) cancels them and ends the process at once, so no request is sent for a dead run. The API
key never crosses the pipe: the child reads it from the environment it inherits, and removes it (and its last 8
characters) from every answer and error before they cross the pipe, since some servers echo it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import os
import pickle
import random
import struct
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, Any

from tempeval.adapter import reply_or_error
from tempeval.errors import TempevalError, redact
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
        self._api_key_env: str = settings.get("api_key_env") or ""
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
            key, text, error, latency, usage, reasoning, finish_reason = reply
            with self._lock:
                sample_id, future = self._pending.pop(key)
            future.set_result(Prediction(sample_id, text, error=error, latency_s=latency, usage=usage,
                                         reasoning=reasoning, finish_reason=finish_reason))
        code = self._process.wait()
        self._errors.seek(0)
        tail = self._errors.read().decode("utf-8", "replace").strip().splitlines()[-3:]
        reason = f"the openai adapter's HTTP process exited (code {code})" + (f": {' | '.join(tail)}" if tail else "")
        reason = redact(reason, os.environ.get(self._api_key_env, "")) or reason
        with self._lock:
            self._gone = reason
            pending = list(self._pending.values())
            self._pending.clear()
        for sample_id, future in pending:
            future.set_result(Prediction(sample_id, None, error=reason))

    def close(self, timeout_s: float = 30.0) -> None:
        """Let the requests in flight finish, then end the process (killed after ``timeout_s``)."""
        with contextlib.suppress(OSError, ValueError), self._write_lock:
            write_message(self._input, CLOSE)
        with contextlib.suppress(OSError):
            self._input.close()
        try:
            self._process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._reader.join(timeout=timeout_s)
        self._output.close()
        self._errors.close()


CLOSE = "close"
"""The parent's last message: finish the requests in flight, then exit. A bare end of input (the parent died)
cancels them instead."""

RETRY_STATUSES = frozenset({408, 409, 429})
"""HTTP statuses retried (with every 5xx), as the openai client does."""
INITIAL_RETRY_DELAY_S = 0.5
MAX_RETRY_DELAY_S = 8.0
MAX_RETRY_AFTER_S = 60.0
"""A server's Retry-After is honoured up to this; a longer one ends the sample with its error."""


async def serve(settings: dict[str, Any], requests: IO[bytes], replies: IO[bytes]) -> None:
    """Child side: send every request read from ``requests`` and write each reply to ``replies``.

    Each attempt is bounded in wall-clock time by ``timeout_s`` (the client's own timeout is per read: a server
    trickling bytes would never trip it), and attempts are retried here (429 / 408 / 409 / 5xx / timeouts /
    connection errors) with exponential back-off and jitter, Retry-After honoured up to ``MAX_RETRY_AFTER_S``. The
    worst case per sample is ``(max_retries + 1) * timeout_s`` plus the waits between attempts (each at most
    ``MAX_RETRY_DELAY_S``, or a server's Retry-After up to ``MAX_RETRY_AFTER_S``).
    """
    from openai import AsyncOpenAI

    loop = asyncio.get_running_loop()
    key = os.environ.get(settings["api_key_env"]) or ""
    client = AsyncOpenAI(
        base_url=settings["base_url"],
        api_key=key or "EMPTY",
        timeout=settings["timeout_s"],
        max_retries=0,  # retried in attempt(), where each attempt is bounded in wall-clock time
        http_client=http_client(settings["http_transport"]),
    )
    endpoint = host_port(settings["base_url"])
    gate = asyncio.Semaphore(settings["concurrency"])
    tasks: set[asyncio.Task[None]] = set()
    ended = asyncio.Event()
    parent_gone = False

    async def one(request_key: int, payload: dict[str, Any]) -> None:
        async with gate:
            started = time.perf_counter()
            try:
                response = await attempts(client, payload, settings)
            except Exception as exc:  # every failure after the retries is this sample's recorded error
                reply: tuple[Any, ...] = (request_key, None, describe(exc, endpoint, settings["timeout_s"]),
                                          time.perf_counter() - started, {}, None, None)
            else:
                answer = prediction("", response, time.perf_counter() - started)
                reply = (request_key, answer.text, answer.error, answer.latency_s, answer.usage, answer.reasoning,
                         answer.finish_reason)
        request_key, text, error, latency, usage, reasoning, finish_reason = reply
        write_message(replies, (request_key, redact(text, key), redact(error, key), latency, usage,
                                redact(reasoning, key), finish_reason))

    def start(message: tuple[int, dict[str, Any]]) -> None:
        task = loop.create_task(one(*message))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def read_all() -> None:
        nonlocal parent_gone
        while (message := read_message(requests)) is not None:
            if message == CLOSE:
                break
            loop.call_soon_threadsafe(start, message)
        else:
            parent_gone = True  # the input ended without CLOSE: the parent is gone, nobody reads the replies
        loop.call_soon_threadsafe(ended.set)

    async def watch_parent(parent: int) -> None:
        # Another process may hold our input pipe open (a forked worker): a new parent id also means ours died.
        nonlocal parent_gone
        while os.getppid() == parent:
            await asyncio.sleep(0.5)
        parent_gone = True
        ended.set()

    threading.Thread(target=read_all, name="tempeval-openai-requests", daemon=True).start()
    watchdog = loop.create_task(watch_parent(os.getppid()))
    await ended.wait()
    watchdog.cancel()
    if parent_gone:
        for task in list(tasks):
            task.cancel()
    while tasks:
        await asyncio.gather(*list(tasks), return_exceptions=parent_gone)
    await client.close()


async def attempts(client: Any, payload: dict[str, Any], settings: dict[str, Any]) -> Any:
    """The reply's JSON after at most ``max_retries + 1`` attempts, each cut off after ``timeout_s`` seconds."""
    import openai

    retries = 0
    while True:
        try:
            # client.post sends the body as built (build_payload is what the server gets) and skips the SDK's
            # per-call re-validation of every message part; cast_to=object returns the parsed JSON without
            # building the SDK's models (a quarter of the client's CPU per request, measured).
            return await asyncio.wait_for(
                client.post("/chat/completions", body=payload, cast_to=object), settings["timeout_s"]
            )
        except (asyncio.TimeoutError, openai.APIConnectionError, openai.APIStatusError) as exc:
            delay = retry_delay(exc, retries)
            if delay is None or retries >= settings["max_retries"]:
                if retries:
                    exc.add_note(f"after {retries + 1} attempts")
                raise
        retries += 1
        await asyncio.sleep(delay)


def retry_delay(exc: BaseException, retries: int) -> float | None:
    """Seconds to wait before retrying after ``exc``, or None when it is not worth retrying."""
    response = getattr(exc, "response", None)
    if response is not None and getattr(exc, "status_code", None) is not None:
        status = int(exc.status_code)  # type: ignore[attr-defined]
        headers = response.headers
        should = headers.get("x-should-retry")
        if should == "false" or (should != "true" and status not in RETRY_STATUSES and status < 500):
            return None
        for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
            try:
                after = float(headers.get(header)) / divisor
            except (TypeError, ValueError):
                continue
            if after > MAX_RETRY_AFTER_S:
                return None
            if after >= 0:
                return after
    backoff = min(INITIAL_RETRY_DELAY_S * 2.0**retries, MAX_RETRY_DELAY_S)
    return backoff * (1 - 0.25 * random.random())


def host_port(base_url: str | None) -> str:
    """``host:port`` of the endpoint, for errors."""
    from urllib.parse import urlsplit

    parts = urlsplit(base_url or "https://api.openai.com/v1")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


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
    details = usage.get("completion_tokens_details") if isinstance(usage, dict) else None
    if isinstance(details, dict) and details.get("reasoning_tokens") is not None:
        tokens["reasoning_tokens"] = int(details["reasoning_tokens"] or 0)
    # Reasoning apart from the answer: DeepSeek / vLLM / SGLang say reasoning_content, OpenRouter / Ollama reasoning.
    thought = next(
        (message[name] for name in ("reasoning_content", "reasoning")
         if isinstance(message, dict) and isinstance(message.get(name), str) and message[name]),
        None,
    )
    if isinstance(response, dict) and isinstance(response.get("error"), dict) and not choices:
        # Some servers answer a failure with HTTP 200 and an error body: keep the server's message.
        error = response["error"]
        code = error.get("code") or error.get("type")
        message = str(error.get("message") or error)[:300]
        return Prediction(sample_id, None, error=f"server error in an HTTP 200 reply{f' ({code})' if code else ''}: "
                          f"{message}", latency_s=latency, usage=tokens)
    reason = first.get("finish_reason") if first else "no choices"
    finish = reason if isinstance(reason, str) else None
    text = text if isinstance(text, str) else None
    if text is None and thought is not None and finish == "length":
        text = ""  # reasoning cut by the token limit before any answer: unparseable and counted, not an error
    answer = Prediction(sample_id, text, latency_s=latency, usage=tokens, reasoning=thought, finish_reason=finish)
    if text == "" and thought is not None and finish == "length":
        return answer
    return reply_or_error(answer, f"finish_reason={reason}")


def describe(exc: BaseException, endpoint: str = "", timeout_s: float | None = None) -> str:
    """One line naming a failed request's cause: a timeout, a refused or reset connection (with host:port), or
    the HTTP status and the server's message."""
    notes = " ".join(getattr(exc, "__notes__", []))
    suffix = f" ({notes})" if notes else ""
    if isinstance(exc, asyncio.TimeoutError):
        return f"Timeout: no complete reply from {endpoint} within timeout_s={timeout_s}{suffix}"
    cause = root_cause(exc)
    if isinstance(cause, ConnectionRefusedError):
        return f"ConnectionRefused: nothing accepts connections at {endpoint}: {_first_line(cause)}{suffix}"
    if isinstance(cause, ConnectionResetError):
        return f"ConnectionReset: {endpoint} reset the connection: {_first_line(cause)}{suffix}"
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    message = _first_line(exc)
    if cause is not exc and status is None:
        message = f"{message} ({type(cause).__name__}: {_first_line(cause)}) at {endpoint}"
    return f"{name}{f' (HTTP {status})' if status else ''}: {message}{suffix}"


def root_cause(exc: BaseException) -> BaseException:
    """The innermost exception of the ``__cause__`` / ``__context__`` chain."""
    seen = {id(exc)}
    while (inner := exc.__cause__ or exc.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        exc = inner
    return exc


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else ""


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
