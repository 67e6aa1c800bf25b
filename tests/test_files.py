"""Run files are atomic, locked and complete: no second process repairs, replaces or half-writes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tempeval import registry
from tempeval.adapter import create_adapter
from tempeval.cli import main
from tempeval.errors import RunFileError
from tempeval.loaders import LoadOptions
from tempeval.results import run_lock
from tempeval.runner import RunOptions, run_task


def options(tmp_path: Path, load_options: LoadOptions, **changes: object) -> RunOptions:
    return RunOptions(out_dir=tmp_path / "runs", load=load_options, progress=False, **changes)  # type: ignore[arg-type]


def a_run(tmp_path: Path, load_options: LoadOptions, limit: int = 3) -> Path:
    task = registry.get_task("synth_order")
    return Path(run_task(task, create_adapter("random"), "random", options(tmp_path, load_options, limit=limit)).path)


def test_second_run_never_repairs_a_file_another_process_writes(tmp_path: Path, load_options: LoadOptions) -> None:
    path = a_run(tmp_path, load_options)
    with path.open("ab") as handle:
        handle.write(b'{"type": "record", "sample_id": "half-writ')  # the writer is mid-line
    before = path.read_bytes()
    task = registry.get_task("synth_order")
    with run_lock(path), pytest.raises(RunFileError, match="is being written by"):
        run_task(task, create_adapter("random"), "random", options(tmp_path, load_options, limit=3))
    assert path.read_bytes() == before, "the refused run must not touch the writer's file"


def test_score_with_a_judge_takes_the_lock(tmp_path: Path, load_options: LoadOptions,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = a_run(tmp_path, load_options)
    before = path.read_bytes()
    with run_lock(path):
        assert main(["score", str(path), "--judge", "scripted"]) == 2
    assert "is being written by" in capsys.readouterr().err
    assert path.read_bytes() == before
    assert main(["score", str(path)]) == 0, "plain scoring only reads: no lock needed"
