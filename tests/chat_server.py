"""A real HTTP server on 127.0.0.1 speaking OpenAI's ``/v1/chat/completions``, for adapter tests and benchmarks.

It checks every request's shape, decodes the JPEG frames it receives, answers from a script, and can inject
faults (429 with Retry-After, 500, slow responses, malformed JSON, empty content) per request.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np


@dataclass
class ChatRequest:
    """What the server received in one request, decoded."""

    body: dict[str, Any]
    texts: list[str]
    images: list[np.ndarray]
    frame_times: list[float]
    headers: dict[str, str]

    @property
    def prompt(self) -> str:
        """The last text part: the task prompt."""
        return self.texts[-1] if self.texts else ""


TRICKLE_HEADER = "X-Test-Trickle-S"
"""A fault's response header (not sent): write the body one byte at a time, this many seconds apart."""

Answer = Callable[[ChatRequest], str]
Fault = Callable[[ChatRequest, int], "tuple[int, dict[str, str], bytes] | None"]
"""(request, attempt number for this prompt) -> a raw (status, headers, body) response, or None to answer."""


def decode_images(content: list[dict[str, Any]]) -> list[np.ndarray]:
    """The RGB frames of a message's image parts."""
    from PIL import Image

    images = []
    for part in content:
        if part.get("type") == "image_url":
            url = part["image_url"]["url"]
            assert url.startswith("data:image/jpeg;base64,"), "frames must be inline base64 JPEG"
            raw = base64.b64decode(url.split(",", 1)[1])
            images.append(np.asarray(Image.open(io.BytesIO(raw)).convert("RGB")))
    return images


@dataclass
class ChatServer:
    """Start with ``with ChatServer(answer) as server:``; ``server.base_url`` is the /v1 URL."""

    answer: Answer
    fault: Fault | None = None
    latency_s: float = 0.0
    inspect: bool = True
    """Decode and check every request (tests); False answers without looking (throughput benchmarks)."""
    requests: list[ChatRequest] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Request-shape violations seen (a test asserts this stays empty)."""
    in_flight_peak: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._attempts: dict[str, int] = {}
        self._in_flight = 0

    def __enter__(self) -> ChatServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                status, headers, body = server._handle(self.path, raw, dict(self.headers))
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    if key == TRICKLE_HEADER:
                        continue
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # The client may have given up (timeout): that is the point of a slow-response fault.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    trickle = float(headers.get(TRICKLE_HEADER, 0))
                    for start in range(0, len(body), 1 if trickle else max(1, len(body))):
                        self.wfile.write(body[start : start + 1] if trickle else body)
                        if trickle:
                            self.wfile.flush()
                            time.sleep(trickle)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def base_url(self) -> str:
        """The OpenAI base URL of this server."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def _handle(self, path: str, raw: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self._in_flight += 1
            self.in_flight_peak = max(self.in_flight_peak, self._in_flight)
        try:
            return self._respond(path, raw, headers)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _respond(self, path: str, raw: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if path != "/v1/chat/completions":
            return 404, {}, b'{"error": {"message": "not found"}}'
        if not self.inspect:
            if self.latency_s:
                time.sleep(self.latency_s)
            return 200, {}, completion(self.answer(ChatRequest({}, [], [], [], headers)))
        body = json.loads(raw)
        request = self._decode(body, headers)
        with self._lock:
            self.requests.append(request)
            attempt = self._attempts.get(request.prompt, 0)
            self._attempts[request.prompt] = attempt + 1
        if self.fault is not None:
            injected = self.fault(request, attempt)
            if injected is not None:
                return injected
        if self.latency_s:
            time.sleep(self.latency_s)
        return 200, {}, completion(self.answer(request))

    def _decode(self, body: dict[str, Any], headers: dict[str, str]) -> ChatRequest:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or messages[-1].get("role") != "user":
            self.problems.append("messages must be a list ending with a user message")
            return ChatRequest(body, [], [], [], headers)
        content = messages[-1]["content"]
        texts = [part["text"] for part in content if part.get("type") == "text"]
        images = decode_images(content)
        times = [float(m) for t in texts for m in re.findall(r"^Frame at ([0-9.]+) s:$", t)]
        if len(times) != len(images):
            self.problems.append(f"{len(images)} images but {len(times)} frame times in the text")
        if not isinstance(body.get("model"), str) or ("max_tokens" in body) == ("max_completion_tokens" in body):
            self.problems.append("model and one of max_tokens / max_completion_tokens (reasoning models) are required")
        return ChatRequest(body, texts, images, times, headers)


def completion(text: str | None, *, prompt_tokens: int = 10, completion_tokens: int = 2) -> bytes:
    """A chat.completion response body."""
    return json.dumps(
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": "test-model",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    ).encode()


def _serve(latency_s: float) -> None:
    """Run a server that answers "A" after ``latency_s`` until killed; prints its base URL first."""
    with ChatServer(lambda request: "A", latency_s=latency_s, inspect=False) as server:
        print(server.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    import sys

    _serve(float(sys.argv[1]) if len(sys.argv) > 1 else 0.25)
