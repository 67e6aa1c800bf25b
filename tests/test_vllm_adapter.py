"""The vllm adapter: its generate inputs and batching checked against a fake engine (no vLLM, no GPU), and a
real small video model run where vLLM and a GPU are present (``pytest -m gpu``)."""

from __future__ import annotations

import dataclasses
import gc
import importlib.util
import os
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tempeval import registry
from tempeval.adapter import create_adapter
from tempeval.adapters.vllm import VLLMAdapter, VLLMOptions, build_prompt_inputs, engine_kwargs
from tempeval.cli import main
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.results import read_run, summarize
from tempeval.runner import RunOptions, run_task
from tempeval.types import Frames, GenerationConfig, Request

SOURCE_FPS = 30.0


@dataclass(frozen=True, eq=False)
class PathRequest(Request):
    """A Request that also names its video file (what multi_modal_uuids are built from)."""

    video_path: str | None = None


def frames(count: int, height: int = 24, width: int = 32) -> Frames:
    """``count`` frames one second apart from a 30 fps video, at the midpoints of 1 s segments."""
    indices = tuple(int(SOURCE_FPS * (0.5 + i)) for i in range(count))
    images = tuple(np.full((height, width, 3), 10 * i, np.uint8) for i in range(count))
    return Frames(images, tuple(i / SOURCE_FPS for i in indices), indices)


def request(sample_id: str, count: int = 4, **changes: Any) -> Request:
    return Request(sample_id, f"Which way? [{sample_id}]", frames(count) if count else None, "letter", ("l", "r"),
                   video_duration_s=float(count) if count else None, **changes)


def template(messages: list[dict[str, Any]]) -> str:
    """A stand-in chat template: placeholders where the media go, text as is."""
    parts = {"video": "<video>", "image": "<image>"}
    rendered = [parts.get(p["type"], p.get("text", "")) for m in messages for p in m["content"]]
    return "USER: " + " ".join(rendered) + " ASSISTANT:"


class FakeSamplingParams:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


@dataclass
class FakeCompletion:
    text: str
    token_ids: list[int]
    finish_reason: str | None = None


@dataclass
class FakeOutput:
    prompt_token_ids: list[int]
    outputs: list[FakeCompletion]
    request_id: str = ""
    finished: bool = True


class EngineDeadError(RuntimeError):
    """Named like vLLM's: the engine process is gone."""


@dataclass
class FakeLLM:
    """Records every generate call; answers with the sample tag found in each prompt; fails on tagged prompts."""

    engine: dict[str, Any]
    calls: list[tuple[list[dict[str, Any]], Any]] = field(default_factory=list)
    llm_engine: FakeEngine = field(init=False)

    def __post_init__(self) -> None:
        self.llm_engine = FakeEngine(self)

    def reply(self, prompt: dict[str, Any]) -> FakeOutput:
        if "DEAD" in prompt["prompt"]:
            raise EngineDeadError("engine core died")
        tag = re.search(r"\[(.+?)\]", prompt["prompt"])
        return FakeOutput([0] * 5, [FakeCompletion(f"answer {tag.group(1) if tag else '?'}", [1, 2])])

    def generate(self, prompts: list[dict[str, Any]], sampling_params: Any = None, use_tqdm: bool = True) -> list[Any]:
        self.calls.append((list(prompts), sampling_params))
        if any("TOO-LONG" in p["prompt"] for p in prompts):  # vLLM rejects the whole call for one bad prompt
            raise ValueError("The decoder prompt is longer than the maximum model length")
        return [self.reply(p) for p in prompts]

    def sent(self) -> list[dict[str, Any]]:
        """Every prompt given to the engine, through generate or add_request, in order."""
        return [p for call, _ in self.calls for p in call] + [prompt for _, prompt, _ in self.llm_engine.added]


@dataclass
class FakeEngine:
    """vLLM's ``LLMEngine`` as ``LLM.generate`` drives it (``add_request``, then ``step`` until nothing is
    unfinished); each step finishes the ``per_step`` oldest requests. Validation fails in ``add_request`` (a
    too-long prompt), a dead engine in ``step``. It tracks the most requests it held unfinished at once."""

    llm: FakeLLM
    per_step: int = 1
    added: list[tuple[str, dict[str, Any], Any]] = field(default_factory=list)
    unfinished: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    most_unfinished: int = 0
    returns_own_ids: bool = False

    def add_request(self, request_id: str, prompt: dict[str, Any], params: Any, arrival_time: float | None = None,
                    **kwargs: Any) -> str | None:
        if "TOO-LONG" in prompt["prompt"]:
            raise ValueError("The decoder prompt is longer than the maximum model length")
        tracked = f"{request_id}-internal" if self.returns_own_ids else request_id
        self.added.append((request_id, prompt, params))
        self.unfinished.append((tracked, prompt))
        self.most_unfinished = max(self.most_unfinished, len(self.unfinished))
        return tracked if self.returns_own_ids else None

    def step(self) -> list[Any]:
        done, self.unfinished = self.unfinished[: self.per_step], self.unfinished[self.per_step :]
        outputs = []
        for request_id, prompt in done:
            outputs.append(dataclasses.replace(self.llm.reply(prompt), request_id=request_id))
        running = [FakeOutput([0], [FakeCompletion("partial", [1])], request_id, finished=False)
                   for request_id, _ in self.unfinished[:1]]  # vLLM also returns unfinished ones (streaming)
        return outputs + running

    def has_unfinished_requests(self) -> bool:
        return bool(self.unfinished)

    def abort_request(self, request_ids: list[str]) -> None:
        self.aborted.extend(request_ids)
        self.unfinished = [(rid, p) for rid, p in self.unfinished if rid not in request_ids]


class FakeVLLM:
    """Stands in for the vllm module."""

    __version__ = "0.0-fake"
    SamplingParams = FakeSamplingParams

    def __init__(self) -> None:
        self.engines: list[FakeLLM] = []

    def LLM(self, **kwargs: Any) -> FakeLLM:  # noqa: N802 - the module's class name
        self.engines.append(FakeLLM(kwargs))
        return self.engines[-1]


def template_of(request: Request) -> str:
    return f"USER: <video> The video's 4 frames are at 0.5, 1.5, 2.5, 3.5 seconds. {request.prompt} ASSISTANT:"


def fake_adapter(**options: Any) -> tuple[VLLMAdapter, FakeVLLM]:
    backend = FakeVLLM()
    return VLLMAdapter("org/video-model", VLLMOptions(**options), backend=backend, template=template), backend


def test_video_inputs_carry_array_metadata_and_times() -> None:
    path_request = PathRequest("s1", "Which way? [s1]", frames(4), "letter", video_duration_s=4.0,
                               video_path="/data/v.mp4")
    first, second = build_prompt_inputs([path_request, request("s2", count=6)], VLLMOptions(), template)
    assert first["prompt"] == (
        "USER: <video> The video's 4 frames are at 0.5, 1.5, 2.5, 3.5 seconds. Which way? [s1] ASSISTANT:"
    ), "video first, times in text, question last"
    ((clip, metadata),) = first["multi_modal_data"]["video"]
    assert clip.shape == (4, 24, 32, 3) and clip.dtype == np.uint8 and clip.flags["C_CONTIGUOUS"]
    assert int(clip[3, 0, 0, 0]) == 30, "frames in the order given"
    assert metadata["frames_indices"] == [15, 45, 75, 105] and metadata["do_sample_frames"] is False
    assert metadata["fps"] == pytest.approx(SOURCE_FPS)
    times = np.array(metadata["frames_indices"]) / metadata["fps"]
    assert np.allclose(times, [0.5, 1.5, 2.5, 3.5]), "index / fps gives the real times (Qwen3-VL)"
    sampled = len(metadata["frames_indices"]) / metadata["total_num_frames"] * metadata["fps"]
    assert sampled == pytest.approx(1.0), "frames / total * fps gives the sampling rate (Qwen2.5-VL, transformers 5)"
    assert first["mm_processor_kwargs"] == {"fps": pytest.approx(1.0)}, "the sampling rate (Qwen2.5-VL, 4.x)"
    assert first["multi_modal_uuids"] == {"video": ["/data/v.mp4#frames=15,45,75,105#32x24#fps=1"]}
    assert "multi_modal_uuids" not in second, "no video path on the request: vLLM hashes the pixels"
    assert second["multi_modal_data"]["video"][0][0].shape == (6, 24, 32, 3)


def test_image_inputs_and_switches() -> None:
    options = VLLMOptions(video_input="images", max_images=4)
    with_frames, text_only = build_prompt_inputs([request("s1", count=2), request("s2", count=0)], options, template)
    assert with_frames["prompt"] == "USER: Frame at 0.5 s: <image> Frame at 1.5 s: <image> Which way? [s1] ASSISTANT:"
    images = with_frames["multi_modal_data"]["image"]
    assert [image.shape for image in images] == [(24, 32, 3)] * 2 and images[0].dtype == np.uint8
    assert "mm_processor_kwargs" not in with_frames
    assert text_only == {"prompt": "USER: Which way? [s2] ASSISTANT:"}
    with pytest.raises(ValueError, match="max_images=4"):
        build_prompt_inputs([request("s3", count=5)], options, template)

    (bare,) = build_prompt_inputs([request("s4")], VLLMOptions(video_metadata=False, pass_fps=False), template)
    assert isinstance(bare["multi_modal_data"]["video"][0], np.ndarray) and "mm_processor_kwargs" not in bare


def test_engine_arguments_from_options() -> None:
    kwargs = engine_kwargs("m", VLLMOptions(tensor_parallel_size=2, max_model_len=8192, dtype="bfloat16",
                                            mm_processor_kwargs={"max_pixels": 1024}, engine_args={"max_num_seqs": 8}))
    assert kwargs["tensor_parallel_size"] == 2 and kwargs["max_model_len"] == 8192 and kwargs["dtype"] == "bfloat16"
    assert kwargs["limit_mm_per_prompt"] == {"video": 1} and kwargs["mm_processor_kwargs"] == {"max_pixels": 1024}
    assert kwargs["max_num_seqs"] == 8 and "data_parallel_size" not in kwargs and "enforce_eager" not in kwargs
    assert engine_kwargs("m", VLLMOptions(video_input="images", max_images=16))["limit_mm_per_prompt"] == {"image": 16}


def test_one_generate_call_per_batch_in_request_order() -> None:
    adapter, backend = fake_adapter(batch_size=4, tensor_parallel_size=2, seed=7)
    assert adapter.batch_size == 4 and adapter.capabilities.native_video
    requests = [request(f"q{i}") for i in range(7)]
    predictions = adapter.generate(requests)

    (engine,) = backend.engines
    assert engine.engine["model"] == "org/video-model" and engine.engine["tensor_parallel_size"] == 2
    assert engine.engine["seed"] == 7
    assert [len(prompts) for prompts, _ in engine.calls] == [4, 3], "one generate call per batch, never one by one"
    sent = [p["prompt"] for prompts, _ in engine.calls for p in prompts]
    assert sent == [template_of(r) for r in requests], "inputs in request order"
    params = engine.calls[0][1]
    assert isinstance(params, FakeSamplingParams), "one SamplingParams for a batch that shares its config"
    assert params.kwargs == {"temperature": 0.0, "top_p": 1.0, "max_tokens": 64, "seed": 0}, "greedy by default"
    assert {p.sample_id: p.text for p in predictions} == {f"q{i}": f"answer q{i}" for i in range(7)}
    assert all(p.error is None and p.usage == {"prompt_tokens": 5, "completion_tokens": 2} for p in predictions)

    describe = adapter.describe()
    assert describe["vllm_version"] == "0.0-fake" and "transformers_version" in describe
    assert describe["batch_size"] == 4


def test_mixed_generation_configs_share_one_call() -> None:
    adapter, backend = fake_adapter()
    hot = GenerationConfig(temperature=0.7, seed=3)
    adapter.generate([request("a"), request("b", generation=hot)])
    ((_, params),) = backend.engines[0].calls
    assert [p.kwargs["temperature"] for p in params] == [0.0, 0.7], "per-request SamplingParams, still one call"


def test_failures_stay_with_their_samples() -> None:
    adapter, backend = fake_adapter()
    bad_frames = Frames((np.zeros((8, 8, 3), np.uint8), np.zeros((8, 6, 3), np.uint8)), (0.0, 1.0), (0, 30))
    requests = [request(f"q{i}") for i in range(8)]
    requests[5] = Request("q5", "TOO-LONG [q5]", frames(4), "letter")
    requests.append(Request("odd", "[odd]", bad_frames, "letter"))
    predictions = {p.sample_id: p for p in adapter.generate(requests)}

    assert len(predictions) == 9
    assert predictions["q5"].error == "ValueError: The decoder prompt is longer than the maximum model length"
    assert predictions["odd"].error and predictions["odd"].error.startswith("input not built: ValueError: frames of")
    assert all(predictions[f"q{i}"].text == f"answer q{i}" for i in range(8) if i != 5)
    calls = backend.engines[0].calls
    assert len(calls[0][0]) == 8 and len(calls) <= 7, "the failing call is split in halves, not sent one by one"
    assert all("[odd]" not in p["prompt"] for prompts, _ in calls for p in prompts), "unbuildable input never sent"

    adapter, backend = fake_adapter()
    dead = adapter.generate([request("a"), Request("b", "DEAD [b]", None, "letter"), request("c")])
    assert all(p.error == "EngineDeadError: engine core died" for p in dead)
    assert len(backend.engines[0].calls) == 1, "a dead engine is not retried half by half"


class ReadyFeed:
    """A runner-like RequestFeed: ``ready`` counts out how many requests are decoded ahead of the adapter."""

    def __init__(self, requests: list[Request], batch_bytes: int = 1 << 40, ready_ahead: int = 1 << 20) -> None:
        self.batch_bytes = batch_bytes
        self.taken: list[str] = []
        self._requests = iter(requests)
        self._ready_ahead = ready_ahead

    def __iter__(self) -> ReadyFeed:
        return self

    def __next__(self) -> Request:
        request = next(self._requests)
        self.taken.append(request.sample_id)
        return request

    def ready(self) -> bool:
        return len(self.taken) % (self._ready_ahead + 1) != self._ready_ahead


def test_requests_stream_into_the_engine_and_each_answer_comes_as_it_finishes() -> None:
    adapter, backend = fake_adapter()  # batch_size 1024
    feed = ReadyFeed([request(f"q{i}") for i in range(6)], ready_ahead=2)
    answers = adapter.stream(feed)
    first = next(answers)
    assert first.sample_id == "q0" and first.text == "answer q0" and first.latency_s is not None
    assert feed.taken == ["q0", "q1"], "the first answer is yielded (recorded) before the later requests are taken"
    rest = list(answers)
    assert [p.sample_id for p in rest] == [f"q{i}" for i in range(1, 6)] and all(p.error is None for p in rest)
    (llm,) = backend.engines
    assert not llm.calls, "no generate call: requests go into the engine one by one"
    assert [prompt["prompt"] for _, prompt, _ in llm.llm_engine.added] == [template_of(request(f"q{i}"))
                                                                           for i in range(6)]
    params = {id(p) for _, _, p in llm.llm_engine.added}
    assert len(params) == 1, "one SamplingParams for requests that share their config"
    assert not llm.llm_engine.aborted


def test_the_engine_holds_at_most_batch_size_requests_and_the_byte_budget() -> None:
    one_request = frames(4).images[0].nbytes * 4
    adapter, backend = fake_adapter()  # batch_size 1024: the bytes are the limit
    feed = ReadyFeed([request(f"q{i}") for i in range(12)], batch_bytes=3 * one_request)
    assert len(list(adapter.stream(feed))) == 12
    assert backend.engines[0].llm_engine.most_unfinished == 3, "frames in the engine bounded by the feed's bytes"

    adapter, backend = fake_adapter(batch_size=2)
    assert len(list(adapter.stream(ReadyFeed([request(f"q{i}") for i in range(12)])))) == 12
    assert backend.engines[0].llm_engine.most_unfinished == 2, "and by batch_size"

    adapter, backend = fake_adapter(batch_size=5)
    assert len(list(adapter.stream([request(f"q{i}") for i in range(12)]))) == 12, "any iterable: batch_size bounds"
    assert backend.engines[0].llm_engine.most_unfinished == 5


def test_a_request_in_the_engine_keeps_no_frames_in_this_process() -> None:
    adapter, _ = fake_adapter()
    alive: list[weakref.ref[Request]] = []

    def requests() -> Iterator[Request]:
        for i in range(3):
            made = request(f"q{i}")
            alive.append(weakref.ref(made))
            yield made

    answers = adapter.stream(requests())
    assert next(answers).sample_id == "q0"  # all three are in the engine now (a plain iterator: all ready)
    gc.collect()
    assert [ref() for ref in alive] == [None] * 3, "the engine has the inputs; the adapter keeps only sample ids"
    assert [p.sample_id for p in answers] == ["q1", "q2"]
    (again,) = adapter.stream([request("q3")])  # a polled online task streams one request at a time
    assert again.text == "answer q3"
    ids = [request_id for request_id, _, _ in adapter._engine()[0].llm_engine.added]
    assert len(set(ids)) == 4, "request ids never repeat across streams"


def test_streamed_failures_stay_with_their_samples_and_a_dead_engine_stops() -> None:
    adapter, backend = fake_adapter()
    bad_frames = Frames((np.zeros((8, 8, 3), np.uint8), np.zeros((8, 6, 3), np.uint8)), (0.0, 1.0), (0, 30))
    requests = [request("q0"), Request("q1", "TOO-LONG [q1]", frames(4), "letter"),
                Request("odd", "[odd]", bad_frames, "letter"), request("q3")]
    answers = {p.sample_id: p for p in adapter.stream(ReadyFeed(requests))}
    assert answers["q1"].error == "ValueError: The decoder prompt is longer than the maximum model length"
    assert answers["odd"].error and answers["odd"].error.startswith("input not built: ValueError: frames of")
    assert answers["q0"].text == "answer q0" and answers["q3"].text == "answer q3"
    added = [prompt["prompt"] for _, prompt, _ in backend.engines[0].llm_engine.added]
    assert added == [template_of(request("q0")), template_of(request("q3"))], "refused and unbuilt inputs not in"

    adapter, backend = fake_adapter()
    answers_iter = adapter.stream(ReadyFeed([request("a"), Request("b", "DEAD [b]", None, "letter"), request("c")]))
    assert next(answers_iter).sample_id == "a"
    with pytest.raises(EngineDeadError):  # the runner records it on every sample not answered, decoding no more
        next(answers_iter)
    assert backend.engines[0].llm_engine.aborted == ["tempeval-1", "tempeval-2"], "the unanswered ones are aborted"


def test_closing_the_stream_aborts_what_is_in_the_engine_and_engine_ids_are_mapped_back() -> None:
    adapter, backend = fake_adapter()
    llm = adapter._engine()[0]
    llm.llm_engine.returns_own_ids = True  # newer vLLM: add_request returns the id outputs carry
    answers = adapter.stream(ReadyFeed([request(f"q{i}") for i in range(5)]))
    assert next(answers).text == "answer q0", "outputs found by the engine's own ids"
    answers.close()  # the run stopped (say, too many errors in a row)
    assert llm.llm_engine.aborted == [f"tempeval-{i}" for i in range(1, 5)], "aborted by the ids given"


def test_batch_loop_when_asked_or_when_the_engine_cannot_step() -> None:
    adapter, backend = fake_adapter(engine_loop="batch", batch_size=3)
    answers = list(adapter.stream([request(f"q{i}") for i in range(5)]))
    assert [p.text for p in answers] == [f"answer q{i}" for i in range(5)]
    (llm,) = backend.engines
    assert [len(prompts) for prompts, _ in llm.calls] == [3, 2] and not llm.llm_engine.added

    adapter, backend = fake_adapter()
    llm = adapter._engine()[0]
    llm.llm_engine = None  # type: ignore[assignment]  # an LLM without the engine API: generate it is
    assert [p.text for p in adapter.stream([request("a")])] == ["answer a"] and len(llm.calls) == 1
    with pytest.raises(TempevalError, match="engine_loop must be one of stream, batch"):
        fake_adapter(engine_loop="async")


def test_runner_hands_over_frames_and_records_answers(synth_dir: Path, tmp_path: Path) -> None:
    adapter, backend = fake_adapter()
    summary = run_task(registry.get_task("synth_direction"), adapter, "vllm/org/video-model",
                       RunOptions(out_dir=tmp_path, limit=4, load=LoadOptions(synth_dir=synth_dir), progress=False))
    # Batches are cut at what is decoded when the engine is free, so the 4 requests may come in several calls.
    prompts = backend.engines[0].sent()
    assert len(prompts) == 4, "every request handed over, in order"
    assert not backend.engines[0].calls, "streamed into the engine, not in generate calls"
    run = read_run(Path(summary.path))
    assert run.header["model_args"]["vllm_version"] == "0.0-fake"
    for record, sent in zip(run.records, prompts, strict=True):
        ((clip, metadata),) = sent["multi_modal_data"]["video"]
        assert clip.ndim == 4 and clip.shape[0] == len(record["frame_times"]) == 8 and clip.shape[3] == 3
        assert metadata["frames_indices"] == record["frame_indices"]
        times = ", ".join(f"{t:.1f}" for t in record["frame_times"])
        assert f"frames are at {times} seconds." in sent["prompt"]
        assert record["error"] is None and record["output"].startswith("answer ")


def test_a_permuted_order_is_labelled_by_presentation_in_metadata_and_text(synth_dir: Path, tmp_path: Path) -> None:
    adapter, backend = fake_adapter()
    frames_policy = registry.get_task("synth_direction").frames.replace(order="shuffled")
    options = RunOptions(out_dir=tmp_path, limit=4, load=LoadOptions(synth_dir=synth_dir), progress=False,
                         frames=frames_policy)
    summary = run_task(registry.get_task("synth_direction"), adapter, "vllm/org/video-model", options)
    prompts = backend.engines[0].sent()
    run = read_run(Path(summary.path))
    assert run.header["time_labels"] == "presentation"
    permuted = 0
    for record, sent in zip(run.records, prompts, strict=True):
        ((_, metadata),) = sent["multi_modal_data"]["video"]
        assert metadata["frames_indices"] == sorted(record["frame_indices"]), "indices rise with position"
        labels = ", ".join(f"{t:.1f}" for t in sorted(record["frame_times"]))
        assert f"frames are at {labels} seconds." in sent["prompt"], "text times rise with position"
        assert record["frame_time_labels"] == sorted(record["frame_times"])
        permuted += record["frame_times"] != sorted(record["frame_times"])
        # The uuid names the pixels by their true (shuffled) indices, never the labels shared with time order.
        assert sent["multi_modal_uuids"]["video"][0].split("#")[1] == "frames=" + ",".join(
            str(i) for i in record["frame_indices"]
        )
    assert permuted, "the records keep the true times, in the order shown"


def test_bad_arguments_and_missing_vllm_are_clear() -> None:
    with pytest.raises(TempevalError, match="video_input must be one of video, images"):
        create_adapter("vllm/m", {"video_input": "gif"})
    with pytest.raises(TempevalError, match="limit_mm_per_prompt must be a JSON object"):
        create_adapter("vllm/m", {"limit_mm_per_prompt": "video=1"})
    with pytest.raises(TempevalError, match="needs a model"):
        create_adapter("vllm")
    if importlib.util.find_spec("vllm") is None:
        with pytest.raises(TempevalError, match=r"needs vLLM and a GPU: pip install 'tempeval\[vllm\]'"):
            create_adapter("vllm/m")


def _gpu_ready() -> str | None:
    """Why the real-model test cannot run here, or None when it can."""
    if importlib.util.find_spec("vllm") is None:
        return "vLLM is not installed (pip install '.[vllm]')"
    import torch

    if not torch.cuda.is_available():
        return "no CUDA GPU visible"
    return None


@pytest.mark.gpu
def test_real_small_video_model(synth_dir: Path, tmp_path: Path) -> None:
    """A real small video model answers synth_direction end to end (weights from the HF cache or the hub).

    TEMPEVAL_VLLM_TEST_MODEL picks the model (default Qwen/Qwen2.5-VL-3B-Instruct; a local folder works offline).
    """
    reason = _gpu_ready()
    if reason:
        pytest.skip(f"needs vLLM and a GPU: {reason}")
    model = os.environ.get("TEMPEVAL_VLLM_TEST_MODEL", "Qwen/Qwen2.5-VL-3B-Instruct")
    out = tmp_path / "runs"
    argv = ["run", "--model", f"vllm/{model}", "--task", "synth_direction", "--limit", "8", "--synth-dir",
            str(synth_dir), "--out", str(out), "--no-progress", "-M", "max_model_len=8192", "-M",
            "gpu_memory_utilization=0.6", "-M", "enforce_eager=true"]
    assert main(argv) == 0
    run = read_run(next(out.rglob("*.jsonl")))
    summary = summarize(run)
    assert summary.n == 8 and summary.errors == 0
    assert all(isinstance(r["output"], str) for r in run.records)
    assert summary.unparseable <= 4, f"a real model mostly answers with a letter: {[r['output'] for r in run.records]}"
    assert run.header["model_args"]["vllm_version"]


def test_an_empty_reply_is_the_same_error_on_every_backend() -> None:
    """vllm, hf, openai and any plugin: an empty or blank reply is an 'empty reply' error, never a scored answer."""
    from tempeval.adapter import create_adapter
    from tempeval.adapters.vllm import _prediction

    blank = _prediction("s", FakeOutput([0] * 3, [FakeCompletion("  \n", [2])]), 0.1)
    assert blank.text is None and blank.error is not None and blank.error.startswith("empty reply"), blank
    scripted = create_adapter("scripted", {"policy": lambda request: ""})
    (answer,) = scripted.stream([Request("s", "Q?", None, "letter")])
    assert answer.text is None and answer.error == "empty reply"


class ThinkingLLM(FakeLLM):
    """A reasoning model: thinks in <think> tags; the prompt tagged CUT runs out of tokens while thinking."""

    def reply(self, prompt: dict[str, Any]) -> FakeOutput:
        if "CUT" in prompt["prompt"]:
            return FakeOutput([0] * 5, [FakeCompletion("<think>Let me see, the", [1] * 5, "length")])
        return FakeOutput([0] * 5, [FakeCompletion("<think>left? no</think> right", [1] * 4, "stop")])


def test_run_generation_overrides_reach_sampling_params_and_think_tags_are_stripped(
    synth_dir: Path, tmp_path: Path
) -> None:
    adapter, backend = fake_adapter()
    backend.LLM = lambda **kwargs: backend.engines.append(ThinkingLLM(kwargs)) or backend.engines[-1]  # type: ignore
    overrides = {"max_tokens": 5, "temperature": 0.5, "top_p": 0.9, "top_k": 20}
    summary = run_task(registry.get_task("synth_direction"), adapter, "vllm/org/video-model",
                       RunOptions(out_dir=tmp_path, limit=2, load=LoadOptions(synth_dir=synth_dir), progress=False,
                                  generation=overrides))
    (engine,) = backend.engines
    assert len(engine.llm_engine.added) == 2
    for _, _, params in engine.llm_engine.added:
        assert params.kwargs == {"temperature": 0.5, "top_p": 0.9, "max_tokens": 5, "seed": 0, "top_k": 20}
    run = read_run(Path(summary.path))
    assert run.header["generation"] == {"max_tokens": 5, "temperature": 0.5, "top_p": 0.9, "seed": 0,
                                        "extra": {"top_k": 20}}
    for record in run.records:
        assert record["output"] == "right" and record["reasoning"] == "left? no" and record["finish_reason"] == "stop"

    cut = fake_adapter()[0]
    cut._backend.LLM = lambda **kwargs: ThinkingLLM(kwargs)  # type: ignore[attr-defined]
    (answer,) = cut.generate([request("CUT")])
    assert answer.error is None and answer.finish_reason == "length" and answer.usage["completion_tokens"] == 5
