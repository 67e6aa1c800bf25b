"""The openai adapter against a real HTTP server on 127.0.0.1, through the real openai client."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openai", reason="the openai adapter's tests need the openai extra (pip install '.[openai]')")
pytest.importorskip("PIL", reason="the openai adapter encodes frames with Pillow (pip install '.[openai]')")

from tempeval import registry  # noqa: E402
from tempeval.adapter import create_adapter  # noqa: E402
from tempeval.adapters.openai_compat import OpenAIOptions, build_payload, encode_jpeg  # noqa: E402
from tempeval.cli import main  # noqa: E402
from tempeval.errors import TempevalError  # noqa: E402
from tempeval.loaders import LoadOptions  # noqa: E402
from tempeval.results import read_run  # noqa: E402
from tempeval.runner import RunOptions, run_task  # noqa: E402
from tempeval.types import Frames, GenerationConfig, Request  # noqa: E402
from tests import barcode_dataset  # noqa: E402
from tests.chat_server import ChatRequest, ChatServer, completion, decode_images  # noqa: E402
from tests.videofactory import read_barcode  # noqa: E402

SECRET = "sk-test-0123456789-DO-NOT-LEAK"


def frames(n: int) -> Frames:
    images = tuple(np.full((64, 96, 3), 40 * i, np.uint8) for i in range(n))
    return Frames(images, tuple(0.5 + i for i in range(n)), tuple(range(n)))


def test_payload_images_with_times_then_prompt() -> None:
    request = Request("s1", "Which way? (A) left (B) right", frames(3), "letter", ("left", "right"),
                      GenerationConfig(max_tokens=7, temperature=0.0, seed=3))
    payload = build_payload(request, "gpt-test", OpenAIOptions(detail="low", system_prompt="Be brief."))
    assert payload["model"] == "gpt-test" and payload["max_tokens"] == 7 and payload["seed"] == 3
    system, user = payload["messages"]
    assert system == {"role": "system", "content": "Be brief."}
    kinds = [part["type"] for part in user["content"]]
    assert kinds == ["text", "image_url"] * 3 + ["text"], "each frame is preceded by its time; prompt last"
    assert [p["text"] for p in user["content"][0:6:2]] == ["Frame at 0.5 s:", "Frame at 1.5 s:", "Frame at 2.5 s:"]
    assert user["content"][1]["image_url"]["detail"] == "low"
    assert user["content"][1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert user["content"][-1]["text"] == request.prompt


def test_the_adapter_never_resizes_frames() -> None:
    payload = build_payload(Request("s", "Q?", frames(1), "letter"), "m", OpenAIOptions(image_max_side=48))
    (image,) = decode_images(payload["messages"][0]["content"])
    assert image.shape == (64, 96, 3), "frames are sent at the size the harness decoded them"
    adapter = create_adapter("openai/m", {"base_url": "http://127.0.0.1:1/v1", "image_max_side": 48})
    assert adapter.capabilities.max_side == 48


def test_payload_video_url_mode() -> None:
    request = Request("s1", "Q?", frames(4), "letter")
    payload = build_payload(request, "m", OpenAIOptions(video_mode="video_url", extra_body={"top_k": 1}))
    content = payload["messages"][0]["content"]
    assert [p["type"] for p in content] == ["video_url", "text", "text"]
    assert content[0]["video_url"]["url"].startswith("data:video/jpeg;base64,")
    assert content[0]["video_url"]["url"].count(",") == 4  # the prefix's comma + one between each of 4 JPEGs
    assert "0.5, 1.5, 2.5, 3.5 seconds" in content[1]["text"] and payload["top_k"] == 1


def test_both_jpeg_encoders_give_the_same_picture() -> None:
    pytest.importorskip("simplejpeg", reason="simplejpeg is the optional faster encoder (pip install simplejpeg)")
    import io

    from PIL import Image

    rng = np.random.default_rng(0)
    image = (np.linspace(0, 200, 96)[None, :, None] + rng.integers(0, 40, (64, 96, 3))).astype(np.uint8)
    image = np.asarray(Image.fromarray(image).resize((48, 32)))  # as the harness's decoder would give it
    decoded = {}
    for encoder in ("pillow", "simplejpeg"):
        jpeg = encode_jpeg(image, 85, encoder)
        picture = Image.open(io.BytesIO(jpeg))
        assert picture.format == "JPEG" and picture.size == (48, 32), "never resized by the adapter"
        decoded[encoder] = np.asarray(picture.convert("RGB"), dtype=np.float64)
    assert np.abs(decoded["pillow"] - decoded["simplejpeg"]).mean() < 1.0, "same quality, chroma and DCT settings"


def test_an_encoder_asked_for_by_name_must_be_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def without_simplejpeg(name: str, *args: object, **kwargs: object) -> object:
        if name == "simplejpeg":
            raise ImportError("No module named 'simplejpeg'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", without_simplejpeg)
    with pytest.raises(TempevalError, match="pip install simplejpeg"):
        create_adapter("openai/m", {"base_url": "http://127.0.0.1:1/v1", "jpeg_encoder": "simplejpeg"})
    payload = build_payload(Request("s", "Q?", frames(2), "letter"), "m", OpenAIOptions(jpeg_encoder="auto"))
    assert payload["messages"][0]["content"][1]["image_url"]["url"].startswith("data:image/jpeg;base64,/9j/")


def test_replies_become_answers_or_errors() -> None:
    from tempeval.adapters.openai_sender import prediction

    ok = prediction("s", json.loads(completion("B", prompt_tokens=7, completion_tokens=1)), 0.5)
    assert (ok.text, ok.error, ok.usage) == ("B", None, {"prompt_tokens": 7, "completion_tokens": 1})
    for reply, reason in [
        (json.loads(completion("  ")), "finish_reason=stop"),
        ({"choices": []}, "finish_reason=no choices"),
        ({"choices": [{"message": None, "finish_reason": "length"}]}, "finish_reason=length"),
        (["not", "an", "object"], "finish_reason=no choices"),
    ]:
        answer = prediction("s", reply, 0.1)
        assert answer.text is None and answer.error is not None and reason in answer.error, reply


def test_missing_key_and_bad_arguments_are_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(TempevalError, match="set the environment variable OPENAI_API_KEY"):
        create_adapter("openai/gpt-4o-mini")
    with pytest.raises(TempevalError, match="video_mode must be one of"):
        create_adapter("openai/m", {"base_url": "http://127.0.0.1:1/v1", "video_mode": "gif"})
    with pytest.raises(TempevalError, match="jpeg_encoder must be one of auto, simplejpeg, pillow"):
        create_adapter("openai/m", {"base_url": "http://127.0.0.1:1/v1", "jpeg_encoder": "png"})
    with pytest.raises(TempevalError, match="http_transport must be one of auto, aiohttp, httpx"):
        create_adapter("openai/m", {"base_url": "http://127.0.0.1:1/v1", "http_transport": "curl"})
    with pytest.raises(TempevalError, match="Valid arguments: api_key_env, base_url"):
        create_adapter("openai/m", {"bse_url": "x"})


def barcode_answer(request: ChatRequest) -> str:
    """Answer like the barcode dataset's gold: the letter derived from the clip and question numbers."""
    clip = int(request.prompt.split("[clip ")[1].split("]")[0])
    question = int(request.prompt.split("#")[1].split("\n")[0])
    return "ABC"[(clip + question) % 3]


def check_own_frames(server: ChatServer) -> list[str]:
    """Every request must carry exactly frames of its own clip, in time order, matching the stated times."""
    wrong = []
    for request in server.requests:
        clip = int(request.prompt.split("[clip ")[1].split("]")[0])
        codes = [read_barcode(image) for image in request.images]
        indices = [c - clip * 256 for c in codes]
        expected_times = [i / barcode_dataset.FPS for i in indices]
        if any(c // 256 != clip for c in codes) or indices != sorted(indices) or not np.allclose(
            expected_times, request.frame_times, atol=0.051
        ):
            wrong.append(f"{request.prompt.splitlines()[0]}: codes {codes}, times {request.frame_times}")
    return wrong


@pytest.fixture()
def barcode_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LoadOptions:
    barcode_dataset.register(monkeypatch, tmp_path / "plugin-tasks")
    yield LoadOptions(data_dir=barcode_dataset.build(tmp_path / "barcode-data"))
    monkeypatch.undo()
    registry.reload()


def test_every_request_carries_exactly_its_own_frames(barcode_task: LoadOptions, tmp_path: Path) -> None:
    with ChatServer(barcode_answer, latency_s=0.02) as server:
        adapter = create_adapter("openai/test-model", {"base_url": server.base_url, "concurrency": 8,
                                                       "image_max_side": 64})
        summary = run_task(registry.get_task("barcode_mc"), adapter, "openai/test-model",
                           RunOptions(out_dir=tmp_path / "runs", load=barcode_task, progress=False))
        adapter.close()
    assert not server.problems
    assert len(server.requests) == 18 and all(len(r.images) == 8 for r in server.requests)
    assert check_own_frames(server) == [], "a request carried a frame of another sample or out of order"
    assert all(max(image.shape[:2]) <= 64 for r in server.requests for image in r.images)
    assert read_run(summary.path).header["frames"]["max_side"] == 64, "the adapter's largest frame is recorded"
    assert server.in_flight_peak > 1, "requests should run concurrently"
    assert summary.errors == 0 and summary.metrics["accuracy"].value == 100
    usage = [r["usage"] for r in read_run(summary.path).records]
    assert all(u == {"prompt_tokens": 10, "completion_tokens": 2} for u in usage)


def faults(request: ChatRequest, attempt: int) -> tuple[int, dict[str, str], bytes] | None:
    """Per-question faults: #0 rate-limited once, #1 a 500 once, #2 always broken (by clip)."""
    clip = int(request.prompt.split("[clip ")[1].split("]")[0])
    question = int(request.prompt.split("#")[1].split("\n")[0])
    if question == 0 and attempt == 0:
        return 429, {"Retry-After": "0"}, b'{"error": {"message": "rate limited"}}'
    if question == 1 and attempt == 0:
        return 500, {}, b'{"error": {"message": "boom"}}'
    if question == 2:
        if clip % 3 == 0:
            return 200, {}, b'{"choices": [ not json'
        if clip % 3 == 1:
            return 200, {}, completion("")
        import time

        time.sleep(1.5)  # past the client's timeout
    return None


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_faults_end_as_answers_or_recorded_errors(barcode_task: LoadOptions, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch, transport: str) -> None:
    if transport == "aiohttp":
        pytest.importorskip("aiohttp", reason="the openai SDK's aiohttp transport needs aiohttp (openai[aiohttp])")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    out = tmp_path / "runs"
    with ChatServer(barcode_answer, fault=faults) as server:
        argv = ["run", "--model", "openai/test-model", "-M", f"base_url={server.base_url}", "-M", "timeout_s=0.5",
                "-M", "max_retries=2", "-M", f"http_transport={transport}", "--task", "barcode_mc",
                "--data-dir", str(barcode_task.data_dir), "--out", str(out), "--no-progress"]
        assert main(argv) == 1, "a run with errored samples exits non-zero"
        run = read_run(next(out.rglob("*.jsonl")))
        records = {r["sample_id"]: r for r in run.records}
        for sample_id, record in records.items():
            if sample_id.endswith("q2"):
                assert record["error"] and record["score"] is None and record["output"] is None
            else:  # retried through 429 (Retry-After honoured) and 500
                assert record["error"] is None and record["score"] == 1.0
        assert "empty reply" in records["c1q2"]["error"]
        assert "Timeout" in records["c2q2"]["error"]
        sent_before = len(server.requests)

        server.fault = None
        assert main(argv) == 0
        retried = {r.prompt.splitlines()[0] for r in server.requests[sent_before:]}
        assert retried == {f"[clip {c}] Which? #2" for c in range(6)}, "a re-run retries only the errored samples"
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(), f"the API key leaked into {path}"
    header = json.loads(next(out.rglob("*.jsonl")).read_text().splitlines()[0])
    assert header["model_args"]["api_key_env"] == "OPENAI_API_KEY"


def test_a_dead_http_process_leaves_errors_not_answers() -> None:
    """The HTTP side runs in its own process; if it dies, every request it held ends as a recorded error."""
    import os
    import signal

    with ChatServer(barcode_answer, latency_s=0.3) as server:
        adapter = create_adapter("openai/m", {"base_url": server.base_url, "concurrency": 2})
        requests = [Request(f"s{i}", f"[clip 0] Which? #{i}", frames(2), "letter") for i in range(6)]
        answers = adapter.stream(iter(requests))
        first = next(answers)
        assert adapter.http_process_id is not None
        os.kill(adapter.http_process_id, signal.SIGKILL)
        rest = list(answers)
        adapter.close()
    assert first.error is None and first.text in {"A", "B", "C"}
    assert sorted(p.sample_id for p in [first, *rest]) == sorted(r.sample_id for r in requests)
    failed = [p for p in rest if p.error is not None]
    assert failed, "requests still in flight when the process died"
    for prediction in failed:
        assert prediction.text is None and "HTTP process exited (code -9)" in prediction.error


def test_too_many_frames_refused_before_sending(barcode_task: LoadOptions, tmp_path: Path) -> None:
    with ChatServer(barcode_answer) as server:
        adapter = create_adapter("openai/m", {"base_url": server.base_url, "max_images": 4})
        summary = run_task(registry.get_task("barcode_mc"), adapter, "openai/m",
                           RunOptions(out_dir=tmp_path / "runs", load=barcode_task, progress=False))
        adapter.close()
    assert not server.requests and summary.errors == summary.n
    assert "exceed max_images=4" in read_run(summary.path).records[0]["error"]


def echo_key(request: ChatRequest, attempt: int) -> tuple[int, dict[str, str], bytes] | None:
    """A careless server: echoes the bearer key in its error, and its last 8 characters in an answer."""
    auth = {name.lower(): value for name, value in request.headers.items()}.get("authorization", "")
    key = auth.removeprefix("Bearer ")
    assert key == SECRET
    if "#0" in request.prompt:
        return 401, {}, json.dumps({"error": {"message": f"Incorrect API key provided: {key}"}}).encode()
    return 200, {}, completion(f"A (key ...{key[-8:]})")


def test_the_api_key_is_redacted_before_it_leaves_the_http_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with ChatServer(barcode_answer, fault=echo_key) as server:
        adapter = create_adapter("openai/m", {"base_url": server.base_url, "max_retries": 0})
        answers = {p.sample_id: p for p in adapter.generate(
            [Request(f"s{i}", f"[clip 0] Which? #{i}", frames(1), "letter") for i in range(2)])}
        adapter.close()
    assert "HTTP 401" in answers["s0"].error and "[redacted]" in answers["s0"].error
    assert answers["s1"].text == "A (key ...[redacted])"
    for answer in answers.values():
        assert SECRET[-8:] not in f"{answer.text} {answer.error}", "the key (or its tail) crossed the pipe"


def test_the_judge_never_logs_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from tempeval.judge import JudgeError, ModelJudge

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with ChatServer(barcode_answer, fault=echo_key) as server:
        judge = ModelJudge("openai/judge", {"base_url": server.base_url, "max_retries": 0})
        with pytest.raises(JudgeError) as failure:
            judge("[clip 0] Which? #0")
        reply = judge("[clip 0] Which? #1")
        judge.close()
    assert SECRET[-8:] not in str(failure.value) and "[redacted]" in str(failure.value)
    assert SECRET[-8:] not in reply


def trickle(request: ChatRequest, attempt: int) -> tuple[int, dict[str, str], bytes] | None:
    """A server that answers one byte every 0.25 s: each read is quick, the whole reply takes a minute."""
    from tests.chat_server import TRICKLE_HEADER

    if "#0" not in request.prompt:
        return None
    return 200, {TRICKLE_HEADER: "0.25"}, completion("A") + b" " * 100


def test_timeout_s_bounds_each_attempt_in_wall_clock_time() -> None:
    import time

    with ChatServer(barcode_answer, fault=trickle) as server:
        adapter = create_adapter("openai/m", {"base_url": server.base_url, "timeout_s": 1, "max_retries": 1})
        adapter.generate([Request("warm", "[clip 0] Which? #1", frames(1), "letter")])  # the HTTP process is up
        started = time.perf_counter()
        (answer,) = adapter.generate([Request("s", "[clip 0] Which? #0", frames(1), "letter")])
        elapsed = time.perf_counter() - started
        adapter.close()
    assert answer.text is None and answer.error.startswith("Timeout") and "after 2 attempts" in answer.error
    assert elapsed < 6, f"two attempts of at most 1 s each (and a back-off) took {elapsed:.1f} s"
    assert len(server.requests) == 3


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_a_refused_connection_says_so_and_names_the_endpoint(transport: str) -> None:
    if transport == "aiohttp":
        pytest.importorskip("aiohttp", reason="the openai SDK's aiohttp transport needs aiohttp (openai[aiohttp])")
    port = free_port()
    adapter = create_adapter("openai/m", {"base_url": f"http://127.0.0.1:{port}/v1", "max_retries": 0,
                                          "http_transport": transport, "timeout_s": 5})
    (answer,) = adapter.generate([Request("s", "Q?", frames(1), "letter")])
    adapter.close()
    assert answer.error.startswith("ConnectionRefused") and f"127.0.0.1:{port}" in answer.error, answer.error
    assert "timed out" not in answer.error.lower()


def test_an_error_body_with_status_200_keeps_the_servers_message() -> None:
    def error_200(request: ChatRequest, attempt: int) -> tuple[int, dict[str, str], bytes]:
        return 200, {}, b'{"error": {"message": "model overloaded, try later", "code": "overloaded"}}'

    with ChatServer(barcode_answer, fault=error_200) as server:
        adapter = create_adapter("openai/m", {"base_url": server.base_url})
        (answer,) = adapter.generate([Request("s", "Q?", frames(1), "letter")])
        adapter.close()
    assert answer.text is None and "model overloaded, try later" in answer.error and "overloaded" in answer.error


@pytest.mark.parametrize("base_url", ["127.0.0.1:8000/v1", "http:///v1", "ftp://host/v1", "http://host:port/v1"])
def test_base_url_is_checked_when_the_adapter_is_made(base_url: str) -> None:
    with pytest.raises(TempevalError, match="base_url"):
        create_adapter("openai/m", {"base_url": base_url})


@pytest.mark.parametrize(
    ("args", "message"),
    [({"concurrency": 0}, "concurrency"), ({"timeout_s": 0.0}, "timeout_s"), ({"timeout_s": float("nan")}, "timeout_s"),
     ({"max_retries": -1}, "max_retries")],
)
def test_transport_settings_that_mean_nothing_are_refused(args: dict[str, object], message: str) -> None:
    with pytest.raises(TempevalError, match=rf"-M {message} must be"):
        create_adapter("openai/m", {"base_url": "http://127.0.0.1:9/v1", **args})


PARENT = """
import sys, time
from tempeval.adapters.openai_sender import Sender
from tests.test_openai_adapter import frames
from tempeval.adapters.openai_compat import OpenAIOptions, build_payload
from tempeval.types import Request
sender = Sender({"base_url": sys.argv[1], "api_key_env": "OPENAI_API_KEY", "timeout_s": 30, "max_retries": 0,
                 "http_transport": "auto", "concurrency": 2})
for i in range(20):
    sender.submit(f"s{i}", build_payload(Request(f"s{i}", f"[clip 0] Which? #{i}", frames(1), "letter"), "m",
                                         OpenAIOptions()))
import os
helper = 0
if sys.argv[2] == "fork":  # a forked helper keeps the HTTP process's input pipe open after the parent dies
    helper = os.fork()
    if helper == 0:
        time.sleep(30)
        os._exit(0)
print(sender.pid, helper, flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("helper", ["none", "fork"])
def test_the_http_process_dies_with_its_parent(tmp_path: Path, helper: str) -> None:
    """A killed run must not leave its HTTP process sending requests nobody will read."""
    import os
    import signal
    import subprocess
    import sys
    import time

    def alive(pid: int) -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        return state not in ("Z", "X")

    with ChatServer(barcode_answer, latency_s=12.0) as server:  # no reply comes before the parent is gone
        parent = subprocess.Popen([sys.executable, "-c", PARENT, server.base_url, helper], stdout=subprocess.PIPE,
                                  cwd=Path(__file__).parent.parent, text=True)
        child, forked = map(int, parent.stdout.readline().split())
        deadline = time.monotonic() + 30
        while len(server.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        sent = len(server.requests)
        deadline = time.monotonic() + 6.0
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        still_alive = alive(child)
        for pid in (child, forked) if still_alive else (forked,):
            if pid:
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
    assert not still_alive, "the HTTP process outlived its parent"
    assert len(server.requests) == sent == 2, "requests were sent after the parent died"


def test_resume_at_other_concurrency_but_not_with_other_outputs(barcode_task: LoadOptions, tmp_path: Path) -> None:
    task = registry.get_task("barcode_mc")
    options = RunOptions(out_dir=tmp_path / "runs", load=barcode_task, progress=False)
    with ChatServer(barcode_answer) as server:
        def run(**args: object) -> object:
            adapter = create_adapter("openai/m", {"base_url": server.base_url, "image_max_side": 64, **args})
            try:
                return run_task(task, adapter, "openai/m", options)
            finally:
                adapter.close()

        first = run(concurrency=8)
        sent = len(server.requests)
        resumed = run(concurrency=1, timeout_s=600, max_retries=1)
        assert resumed.n == first.n and len(server.requests) == sent, "resumed at lower concurrency, nothing re-sent"
        assert read_run(first.path).header["transport_args"] == [
            "api_key_env", "base_url", "concurrency", "http_transport", "max_retries", "timeout_s"]
        with pytest.raises(TempevalError, match=r"model_args.jpeg_quality: file has 85, this run 50"):
            run(jpeg_quality=50)


def test_reasoning_models_get_max_completion_tokens_and_no_greedy_temperature() -> None:
    plain = build_payload(Request("s", "Q?", None, "letter", generation=GenerationConfig(max_tokens=7)), "m",
                          OpenAIOptions())
    assert plain["max_tokens"] == 7 and plain["temperature"] == 0.0 and "max_completion_tokens" not in plain
    effort = GenerationConfig(max_tokens=7).with_overrides({"reasoning_effort": "low", "think_tags": "none"})
    body = build_payload(Request("s", "Q?", None, "letter", generation=effort), "m", OpenAIOptions())
    assert body["max_completion_tokens"] == 7 and body["reasoning_effort"] == "low"
    assert not {"max_tokens", "temperature", "top_p", "think_tags"} & set(body), "a harness key went to the API"
    asked = GenerationConfig(max_tokens=9, temperature=0.6, top_p=0.95).with_overrides({"top_k": 20})
    body = build_payload(Request("s", "Q?", None, "letter", generation=asked), "m", OpenAIOptions(reasoning=True))
    assert body["max_completion_tokens"] == 9 and body["temperature"] == 0.6 and body["top_p"] == 0.95
    assert body["top_k"] == 20 and "max_tokens" not in body


def reasoning_reply(request: ChatRequest, attempt: int) -> tuple[int, dict[str, str], bytes]:
    """A reasoning model: clip 0 thinks in a separate field, clip 1 in think tags, clips 2 and 3 run out of tokens
    (in tags, in the field), the others answer plainly."""
    clip = int(request.prompt.split("[clip ")[1].split("]")[0])
    letter = barcode_answer(request)
    if clip == 0:
        message = {"role": "assistant", "content": letter, "reasoning_content": "The barcode says so."}
        finish = "stop"
    elif clip == 1:
        message = {"role": "assistant", "content": f"<think>Count the bars. Maybe B?</think>\n{letter}"}
        finish = "stop"
    elif clip == 2:
        message = {"role": "assistant", "content": "<think>Count the bars: one, two, thr"}
        finish = "length"
    elif clip == 3:
        message = {"role": "assistant", "content": None, "reasoning": "Hmm, the first bar is"}
        finish = "length"
    else:
        message = {"role": "assistant", "content": letter}
        finish = "stop"
    body = {
        "id": "x", "object": "chat.completion", "created": 0, "model": "r",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 30, "total_tokens": 40,
                  "completion_tokens_details": {"reasoning_tokens": 25}},
    }
    return 200, {}, json.dumps(body).encode()


def test_a_reasoning_models_thoughts_are_kept_apart_and_cut_answers_counted(
    barcode_task: LoadOptions, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs"
    with ChatServer(barcode_answer, fault=reasoning_reply) as server:
        argv = ["run", "--model", "openai/r", "-M", f"base_url={server.base_url}", "-M", "reasoning=true",
                "--task", "barcode_mc", "--data-dir", str(barcode_task.data_dir), "--out", str(out),
                "--no-progress", "--max-tokens", "30", "--gen", "reasoning_effort=low"]
        assert main(argv) == 0
    assert not server.problems
    body = server.requests[0].body
    assert body["max_completion_tokens"] == 30 and body["reasoning_effort"] == "low"
    assert "max_tokens" not in body and "temperature" not in body
    printed = capsys.readouterr().out
    run = read_run(next(out.rglob("*.jsonl")))
    assert run.header["generation"]["max_tokens"] == 30
    assert run.header["generation"]["extra"] == {"reasoning_effort": "low"}
    by_clip: dict[int, list[dict]] = {}
    for record in run.records:
        by_clip.setdefault(int(record["sample_id"][1:].split("q")[0]), []).append(record)
    for record in by_clip[0]:
        assert record["reasoning"] == "The barcode says so." and record["score"] == 1.0
        assert record["finish_reason"] == "stop" and record["usage"]["reasoning_tokens"] == 25
        assert record["usage"]["completion_tokens"] == 30
    for record in by_clip[1]:  # the tags are stripped before parsing (the "B" inside them is not the answer)
        assert record["reasoning"] == "Count the bars. Maybe B?" and record["output"] in "ABC"
        assert record["score"] == 1.0
    for record in by_clip[2] + by_clip[3]:  # cut while thinking: unparseable answers, not errors
        assert record["finish_reason"] == "length" and record["error"] is None
        assert record["output"] == "" and record["score"] == 0.0 and record["reasoning"]
    summary = read_summary(out)
    assert summary["truncated"] == len(by_clip[2]) + len(by_clip[3]) == 6 and summary["errors"] == 0
    assert "6 answer(s) were cut by the token limit" in printed


def read_summary(out: Path) -> dict:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        main(["score", "--json", str(out)])
    return json.loads(buffer.getvalue().splitlines()[0])


def test_file_mode_sends_the_visible_window_and_lets_the_server_sample(synth_dir: Path, tmp_path: Path) -> None:
    """``-M video_mode=file``: no frame is decoded by the harness; the server gets a file:// video of exactly what
    may be seen (a clip ending at the query time for online questions) and the run's frame count to sample."""
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    from tempeval.video import probe

    seen: list[ChatRequest] = []

    def answer(request: ChatRequest) -> str:
        seen.append(request)
        return "A"

    clips = tmp_path / "clips"
    with ChatServer(answer) as server:
        argv = ["run", "--model", "openai/m", "-M", f"base_url={server.base_url}", "-M", "video_mode=file",
                "-M", f"clip_dir={clips}", "--task", "synth_online", "--limit", "6", "--synth-dir", str(synth_dir),
                "--out", str(tmp_path / "runs"), "--no-progress"]
        assert main(argv) == 0
    assert not server.problems
    run = read_run(next((tmp_path / "runs").rglob("*.jsonl")))
    assert run.header["frames"]["sampling"] == "server" and run.header["frames"]["max_side"] is None
    assert len(seen) == 6
    cut = 0
    for request in seen:
        (video,) = [p for p in request.body["messages"][-1]["content"] if p["type"] == "video_url"]
        url = video["video_url"]["url"]
        assert url.startswith("file://") and not request.images, "a file, not frames"
        assert request.body["media_io_kwargs"] == {"video": {"num_frames": 8}}
        clip = probe(url2pathname(urlparse(url).path))
        now = float(request.prompt.split("it is now ", 1)[1].split(" seconds", 1)[0])
        assert clip.duration_s <= now + 0.5, "no frame after the query time is in the file the server reads"
        cut += clip.path.startswith(str(clips))
    assert cut >= 3, "questions asked before the end of their video are sent as clips"
    for record in run.records:
        assert record["frame_times"] == [] and record["error"] is None


def test_a_polled_openai_model_streams_synth_stream_and_gets_every_metric(
    load_options: LoadOptions, tmp_path: Path
) -> None:
    from tempeval.streaming.queries import stream_queries
    from tests.conftest import task_samples

    task = registry.get_task("synth_stream")
    stream = task_samples(task, load_options)[0]
    queries = {q.query_id: q for q in stream_queries(stream.target, stream.id)}

    def answer(request: ChatRequest) -> str:  # the truth is the test's own; the prompt only names the questions
        now = float(re.search(r"up to ([\d.]+) s", request.prompt).group(1))  # type: ignore[union-attr]
        lines = []
        for query_id in re.findall(r"^\[([^\]]+)\] \(asked at", request.prompt, re.MULTILINE):
            query = queries[query_id]
            if query.due_windows is None:
                lines.append(f"[{query_id}] {query.target}")
            elif query.due_windows[0][0] <= now:
                lines.append(f"[{query_id}] it is there")
        return "\n".join(lines) or "WAIT"

    with ChatServer(answer) as server:
        adapter = create_adapter("openai/test-model", {"base_url": server.base_url, "image_max_side": 64})
        summary = run_task(task, adapter, "openai/test-model",
                           RunOptions(out_dir=tmp_path / "runs", load=load_options, progress=False, limit=1))
        adapter.close()
    assert not server.problems and len(server.requests) == read_run(summary.path).records[0]["stream"]["polls"]
    assert all(len(r.images) == len(r.frame_times) for r in server.requests)
    assert summary.errors == 0
    for name in ("timing_score", "event_recall", "response_precision", "query_time_accuracy"):
        assert summary.metrics[name].value == 100, name
    assert summary.metrics["duplicate_rate"].value == 0
    assert 0 <= summary.metrics["mean_delay_s"].value <= 1.5 and 0 <= summary.metrics["median_delay_s"].value <= 1.5
