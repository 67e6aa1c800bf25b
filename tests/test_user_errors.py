"""Errors a user can see: what went wrong, summarised, and runs that stop when nothing can succeed."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import sys
from pathlib import Path
from typing import Any

import pytest

from tempeval import adapter as adapter_module
from tempeval import data, registry
from tempeval.adapter import create_adapter
from tempeval.cli import main
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.results import read_run
from tempeval.runner import RepeatedFailureError, RunOptions, run_task
from tempeval.synth import SUBSETS
from tempeval.types import Request, VideoRef
from tests.conftest import task_samples

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def scripted(monkeypatch: pytest.MonkeyPatch, policy: Any) -> None:
    """Make `tempeval run --model scripted` use ``policy``."""
    real = adapter_module.create_adapter
    monkeypatch.setattr(adapter_module, "create_adapter", lambda name, args=None: real(name, {"policy": policy}))


def three_kinds_of_failure(request: Request) -> str:
    number = int("".join(c for c in request.sample_id if c.isdigit()) or 0)
    if number % 2:
        raise ConnectionError("HTTP 503 from the server")
    if number % 3 == 0:
        raise ValueError("bad reply")
    if number % 5 == 0:
        raise RuntimeError("rare")
    if number % 7 == 0:
        raise RuntimeError("rarer")
    return "A"


def test_run_and_show_name_the_most_frequent_errors(
    tmp_path: Path, synth_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted(monkeypatch, three_kinds_of_failure)
    out = tmp_path / "runs"
    argv = ["run", "--model", "scripted", "--task", "synth_direction", "--out", str(out), "--synth-dir",
            str(synth_dir), "--no-progress"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "sample(s) ended in an error" in err
    lines = err.splitlines()
    listed = [line for line in lines if "×" in line]
    assert len(listed) == 3, err
    assert "HTTP 503 from the server" in listed[0] and "bad reply" in listed[1]
    counts = [int(line.split("×")[0]) for line in listed]
    assert counts == sorted(counts, reverse=True)
    assert "other distinct error" in err

    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "HTTP 503 from the server" in shown and "bad reply" in shown


def refused(request: Request) -> str:
    raise ConnectionError("refused")


def test_identical_request_failures_stop_the_run(tmp_path: Path, load_options: LoadOptions) -> None:
    task = registry.get_task("synth_direction")
    run = RunOptions(out_dir=tmp_path / "runs", load=load_options, progress=False, max_consecutive_errors=5)
    with pytest.raises(RepeatedFailureError, match="5 requests in a row .* ConnectionError: refused"):
        run_task(task, create_adapter("scripted", {"policy": refused}), "scripted", run)
    path = next((tmp_path / "runs").rglob("*.jsonl"))
    assert len(read_run(path).records) == 5, "stops at the 5th failure in a row"

    never = dataclasses.replace(run, max_consecutive_errors=0, fresh=True)
    summary = run_task(task, create_adapter("scripted", {"policy": refused}), "scripted", never)
    assert summary.errors == summary.n == 60


def test_a_wrong_url_stops_with_one_message_naming_it(
    tmp_path: Path, synth_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_openai_adapter import free_port

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    url = f"http://127.0.0.1:{free_port()}/v1"
    argv = ["run", "--model", "openai/m", "-M", f"base_url={url}", "-M", "max_retries=0", "--concurrency", "1",
            "--task", "synth_direction", "--synth-dir", str(synth_dir), "--out", str(tmp_path / "runs"),
            "--no-progress", "--max-consecutive-errors", "3"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert "stopped: 3 requests in a row" in line and f"base_url={url}" in line and "ConnectionRefused" in line
    assert "Traceback" not in err


def test_a_task_without_any_of_its_videos_is_one_message(
    tmp_path: Path, load_options: LoadOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempeval.runner as runner

    task = registry.get_task("synth_speed")
    samples = task_samples(task, load_options)[:8]
    gone = [dataclasses.replace(s, video=VideoRef(str(tmp_path / "nowhere" / f"{i}.mp4"))) for i, s in
            enumerate(samples)]
    monkeypatch.setattr(runner, "load_samples", lambda *args, **kwargs: gone)
    run = RunOptions(out_dir=tmp_path / "runs", load=load_options, progress=False)
    with pytest.raises(TempevalError, match=r"none of its 8 video\(s\) exist \(looked in .*nowhere") as caught:
        run_task(task, create_adapter("random"), "random", run)
    assert "\n" not in str(caught.value) and "tempeval data where" in str(caught.value)


def test_resume_says_how_much_is_done(
    tmp_path: Path, load_options: LoadOptions, capsys: pytest.CaptureFixture[str]
) -> None:
    task = registry.get_task("synth_direction")
    run = RunOptions(out_dir=tmp_path / "runs", load=load_options, progress=False, limit=16)
    run_task(task, create_adapter("random"), "random", run)
    assert "resuming" not in capsys.readouterr().err
    run_task(task, create_adapter("random"), "random", dataclasses.replace(run, limit=None))
    assert "resuming: 16 of 60 done" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"tempeval {importlib.metadata.version('tempeval')}"


def test_licence_file_and_an_spdx_licence_in_pyproject() -> None:
    root = Path(__file__).resolve().parents[1]
    assert "Apache License" in (root / "LICENSE").read_text() and "Version 2.0" in (root / "LICENSE").read_text()
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    # A table (license = {text = ...}) is deprecated by setuptools: every install warned about it.
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]


def test_comma_separated_tasks() -> None:
    names = [t.name for t in registry.resolve(["synth_order,synth_count", "synth_order", " synth_speed"])]
    assert names == ["synth_order", "synth_count", "synth_speed"]


def test_did_you_mean_ignores_case(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--model", "random", "--task", "SYNTH_ORDR"]) == 2
    assert "Did you mean: synth_order" in capsys.readouterr().err
    assert main(["run", "--model", "RANDOM", "--task", "synth"]) == 2
    assert "Did you mean: random" in capsys.readouterr().err


def test_diagnose_a_group_says_it_is_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", "--model", "random", "--task", "synth"]) == 2
    err = capsys.readouterr().err
    assert f"'synth' is a group of {len(SUBSETS)} tasks" in err and "synth_order" in err and "synth_claims" in err


def test_a_group_without_its_data_names_every_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = registry.get_dataset("mvbench")
    files = data.annotation_files(entry)
    assert len(files) > 2
    folder = data.dataset_dir(entry, LoadOptions(data_dir=tmp_path))
    (folder / files[0]).parent.mkdir(parents=True, exist_ok=True)
    (folder / files[0]).write_text("[]")  # one file there: the others are still all named
    assert main(["run", "--model", "random", "--task", "mvbench", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert all(name in err for name in files[1:]) and f"{folder / files[0]}\n" not in err
    assert "tempeval data where" in err


def test_fetch_without_network_is_one_line_pointing_at_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    from tests.test_openai_adapter import free_port

    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing listens: as without network
    for proxy in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    started = time.perf_counter()
    assert main(["data", "fetch", "mvbench", "--revision", "abc", "--data-dir", str(tmp_path)]) == 2
    assert time.perf_counter() - started < 10, "no retries with back-off"
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "cannot reach the hub" in err and "'tempeval data where mvbench'" in err and "Traceback" not in err


def test_fetching_needs_only_huggingface_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # not installed
    assert main(["data", "fetch", "mvbench", "--revision", "abc", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "pip install huggingface_hub" in err and "tempeval[hf]" not in err


def test_data_where_synth_names_the_suite_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tempeval import synth

    assert main(["data", "where", "synth", "--synth-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert str(synth.suite_dir(tmp_path, seed=0, per_task=60)) in out and "not generated yet" in out


def test_first_use_of_the_synthetic_suite_says_what_it_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tempeval.synth import ensure_suite

    dest = ensure_suite(tmp_path, seed=0, per_task=1)
    err = capsys.readouterr().err
    assert f"Generating the synthetic suite ({len(SUBSETS)} tasks, about 1 questions each, seed 0) into {dest}" in err
    assert "synth videos" in err and "video/s" in err, "a progress bar on stderr"
    assert "Synthetic suite ready" in err
    ensure_suite(tmp_path, seed=0, per_task=1)
    assert capsys.readouterr().err == "", "reused silently"


def test_errors_differing_only_in_the_video_count_as_one() -> None:
    from tempeval.records import RunRecord
    from tempeval.results import _error_counts

    records = [RunRecord(f"s{i}", video=f"/d/v{i}.mp4", error=f"video: /d/v{i}.mp4: file not found. Fetch it.")
               for i in range(4)]
    records += [RunRecord("x", video="/d/x.mp4", error="video: /d/x.mp4: has no frames."),
                RunRecord("y", video="/d/y.mp4", error=None)]
    assert _error_counts(records) == (
        ("video: <video>: file not found. Fetch it. (<video>: e.g. /d/v0.mp4)", 4),
        ("video: /d/x.mp4: has no frames.", 1),
    )
