"""Errors a user can see: what went wrong, summarised, and runs that stop when nothing can succeed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tempeval import adapter as adapter_module
from tempeval.cli import main
from tempeval.types import Request


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
