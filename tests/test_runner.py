"""The runner as a user meets it: resume, interruption, bad videos, model errors, online time caps."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tempeval import registry
from tempeval.adapter import create_adapter
from tempeval.errors import RunFileError, TempevalError
from tempeval.loaders import LoadOptions
from tempeval.results import read_run
from tempeval.runner import RunOptions, presented, run_task
from tempeval.types import FramePolicy, Frames, Request, VideoRef
from tests.conftest import gold_policy, task_samples


def options(tmp_path: Path, load_options: LoadOptions, **changes: object) -> RunOptions:
    return RunOptions(out_dir=tmp_path / "runs", load=load_options, progress=False, **changes)  # type: ignore[arg-type]


def test_interrupted_run_resumes_each_sample_once(tmp_path: Path, load_options: LoadOptions) -> None:
    task = registry.get_task("synth_direction")
    samples = task_samples(task, load_options)
    gold = gold_policy(task, samples)
    calls: list[str] = []

    def dies_after_20(request: Request) -> str:
        if len(calls) == 20:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-batch
        calls.append(request.sample_id)
        return gold(request)

    adapter = create_adapter("scripted", {"policy": dies_after_20})
    with pytest.raises(KeyboardInterrupt):
        run_task(task, adapter, "scripted", options(tmp_path, load_options))
    path = next((tmp_path / "runs").rglob("*.jsonl"))
    written = [r["sample_id"] for r in read_run(path).records]
    assert 0 < len(written) <= 20

    resumed: list[str] = []
    adapter = create_adapter("scripted", {"policy": lambda r: resumed.append(r.sample_id) or gold(r)})
    summary = run_task(task, adapter, "scripted", options(tmp_path, load_options))
    assert not set(resumed) & set(written), "finished samples must not be sent again"
    lines = [line for line in path.read_text().splitlines()[1:]]
    assert len(lines) == len(samples), "every sample exactly once in the file"
    assert summary.n == len(samples) and summary.metrics["accuracy"].value == 100


def test_sigkill_midway_then_rerun_completes(tmp_path: Path, synth_dir: Path) -> None:
    out = tmp_path / "runs"
    command = [sys.executable, "-m", "tempeval.cli", "run", "--model", "random", "-M", "latency_s=0.02",
               "--task", "synth_order", "--out", str(out), "--synth-dir", str(synth_dir), "--no-progress"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = out / "random" / "synth_order.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and (not path.exists() or len(path.read_text().splitlines()) < 10):
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    before = len(path.read_text().splitlines()) - 1
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    ids = [r["sample_id"] for r in read_run(path).records]
    total = len(path.read_text().splitlines()) - 1
    assert 0 < before < total == len(ids) == len(set(ids))

    fresh = subprocess.run([*command[:-3], "--out", str(tmp_path / "clean"), "--no-progress", "--synth-dir",
                            str(synth_dir)], capture_output=True, text=True, timeout=120)
    clean = read_run(tmp_path / "clean" / "random" / "synth_order.jsonl")
    assert sorted(ids) == sorted(r["sample_id"] for r in clean.records)
    assert {r["sample_id"]: r["output"] for r in clean.records} == {
        r["sample_id"]: r["output"] for r in read_run(path).records
    }, "the seeded baseline answers the same however the run was interrupted"
    assert fresh.returncode == 0


def test_model_errors_are_recorded_not_scored_and_retried(tmp_path: Path, load_options: LoadOptions) -> None:
    task = registry.get_task("synth_claims")
    samples = task_samples(task, load_options)
    gold = gold_policy(task, samples)
    flaky = {s.id for s in samples[::5]}

    def fails_some(request: Request) -> str:
        if request.sample_id in flaky:
            raise ConnectionError("HTTP 503 from the server")
        return gold(request)

    adapter = create_adapter("scripted", {"policy": fails_some})
    summary = run_task(task, adapter, "scripted", options(tmp_path, load_options))
    records = {r["sample_id"]: r for r in read_run(summary.path).records}
    assert summary.errors == len(flaky)
    for sample_id in flaky:
        assert records[sample_id]["score"] is None and "HTTP 503" in records[sample_id]["error"]
        assert records[sample_id]["output"] is None
    assert summary.metrics["accuracy"].value < 100

    retried: list[str] = []
    adapter = create_adapter("scripted", {"policy": lambda r: retried.append(r.sample_id) or gold(r)})
    summary = run_task(task, adapter, "scripted", options(tmp_path, load_options))
    assert set(retried) == flaky and summary.errors == 0
    assert summary.metrics["pairwise_accuracy"].value == 100


def test_bad_video_fails_its_sample_not_the_run(tmp_path: Path, load_options: LoadOptions,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import tempeval.runner as runner

    task = registry.get_task("synth_speed")
    samples = task_samples(task, load_options)[:6]
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(os.urandom(2048))
    broken = [
        samples[0].__class__(**{**samples[0].__dict__, "video": VideoRef(str(tmp_path / "missing.mp4"))}),
        samples[1].__class__(**{**samples[1].__dict__, "video": VideoRef(str(corrupt))}),
        *samples[2:],
    ]
    monkeypatch.setattr(runner, "load_samples", lambda *args, **kwargs: broken)
    summary = run_task(task, create_adapter("random"), "random", options(tmp_path, load_options))
    records = {r["sample_id"]: r for r in read_run(summary.path).records}
    assert summary.n == 6 and summary.errors == 2
    assert "missing.mp4" in records[samples[0].id]["error"]
    assert "corrupt.mp4" in records[samples[1].id]["error"]
    assert all(records[s.id]["error"] is None and records[s.id]["score"] is not None for s in samples[2:])


def test_online_frames_never_after_query_time(tmp_path: Path, load_options: LoadOptions) -> None:
    task = registry.get_task("synth_online")
    samples = task_samples(task, load_options)
    query_time = {s.id: s.query_time_s for s in samples}
    assert all(t is not None for t in query_time.values())
    latest: dict[str, float] = {}

    def watches(request: Request) -> str:
        assert request.frames is not None and len(request.frames) == task.frames.num_frames
        latest[request.sample_id] = max(request.frames.timestamps)
        return "yes"

    summary = run_task(task, create_adapter("scripted", {"policy": watches}), "scripted",
                       options(tmp_path, load_options))
    assert summary.errors == 0 and len(latest) == len(samples)
    assert all(latest[i] <= query_time[i] for i in latest), "a frame after the query time reached the model"
    for record in read_run(summary.path).records:
        assert max(record["frame_times"]) <= record["query_time_s"]
        assert record["duration_s"] == pytest.approx(record["query_time_s"])


def test_changed_configuration_is_never_resumed_into(tmp_path: Path, load_options: LoadOptions) -> None:
    task = registry.get_task("synth_count")
    run_task(task, create_adapter("random"), "random", options(tmp_path, load_options, limit=4))
    changed = options(tmp_path, load_options, limit=4, frames=FramePolicy(num_frames=4))
    with pytest.raises(RunFileError, match="frames: file has"):
        run_task(task, create_adapter("random"), "random", changed)
    summary = run_task(task, create_adapter("random"), "random", dataclasses.replace(changed, fresh=True))
    assert summary.n == 4 and read_run(summary.path).header["frames"]["num_frames"] == 4


def test_synthetic_suite_size_is_a_load_option_and_part_of_the_run(tmp_path: Path, load_options: LoadOptions) -> None:
    task = registry.get_task("synth_count")
    small = dataclasses.replace(load_options, synth_dir=tmp_path / "synth", synth_per_task=4)
    summary = run_task(task, create_adapter("random"), "random", options(tmp_path, small))
    assert summary.n == 4 and read_run(summary.path).header["dataset"]["per_task"] == 4
    bigger = dataclasses.replace(small, synth_per_task=6)
    with pytest.raises(RunFileError, match="dataset: file has"):
        run_task(task, create_adapter("random"), "random", options(tmp_path, bigger))


def test_frame_times_and_prompt_hash_logged(tmp_path: Path, load_options: LoadOptions) -> None:
    task = registry.get_task("synth_direction")
    summary = run_task(task, create_adapter("constant"), "constant", options(tmp_path, load_options, limit=3))
    for record in read_run(summary.path).records:
        assert len(record["frame_times"]) == 8 and record["frame_times"] == sorted(record["frame_times"])
        assert len(record["prompt_sha"]) == 16 and record["output"] == "A"


def test_a_permuted_order_is_labelled_by_presentation() -> None:
    images = tuple(np.full((4, 4, 3), i, np.uint8) for i in range(3))
    shown = Frames(images, (2.5, 0.5, 1.5), (75, 15, 45))  # the order a shuffle shows them in
    assert presented(shown, FramePolicy(num_frames=3)) is shown, "time order: the true times"
    for order in ("shuffled", "reversed"):
        labelled = presented(shown, FramePolicy(num_frames=3, order=order))  # type: ignore[arg-type]
        assert labelled.images == images, "the same pixels in the same order"
        assert labelled.timestamps == (0.5, 1.5, 2.5) and labelled.indices == (15, 45, 75)
        assert labelled.true_timestamps == (2.5, 0.5, 1.5) and labelled.true_indices == (75, 15, 45)
        assert presented(labelled, FramePolicy(num_frames=3, order=order)).true_indices == (75, 15, 45)


def test_time_blind_adapter_refused_for_grounding(tmp_path: Path, load_options: LoadOptions) -> None:
    from tempeval.adapter import Capabilities
    from tempeval.adapters.constant import ConstantAdapter

    class Blind(ConstantAdapter):
        capabilities = Capabilities(timestamps_in_text=False)

    with pytest.raises(TempevalError, match="told when each frame was shown"):
        run_task(registry.get_task("synth_grounding"), Blind("", None), "blind", options(tmp_path, load_options))


def test_generation_overrides_are_in_the_header_and_a_resume_field(tmp_path: Path, load_options: LoadOptions) -> None:
    task = registry.get_task("synth_count")
    plain = run_task(task, create_adapter("random"), "random", options(tmp_path, load_options, limit=2))
    assert read_run(plain.path).header["generation"] == task.generation.to_dict(), "no extra key when none is set"
    run_task(task, create_adapter("random"), "random", options(tmp_path, load_options, limit=2))  # resumes
    budget = options(tmp_path, load_options, limit=2, generation={"max_tokens": 512, "reasoning_effort": "low"})
    with pytest.raises(RunFileError, match="generation: file has"):
        run_task(task, create_adapter("random"), "random", budget)
    summary = run_task(task, create_adapter("random"), "random", dataclasses.replace(budget, fresh=True))
    header = read_run(summary.path).header
    assert header["generation"]["max_tokens"] == 512 and header["generation"]["extra"] == {"reasoning_effort": "low"}
    again = run_task(task, create_adapter("random"), "random", budget)  # the same overrides resume it
    assert again.n == 2
    with pytest.raises(TempevalError, match="top_p must be"):
        run_task(task, create_adapter("random"), "random", options(tmp_path, load_options, generation={"top_p": 0}))
