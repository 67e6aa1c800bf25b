"""tempeval export: the model × task table of headlines with 95% CIs, as CSV, Markdown and LaTeX."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tempeval.cli import main
from tempeval.errors import TempevalError
from tempeval.export import latex_escape, render
from tempeval.results import read_run, summarize


def write(path: Path, model: str, task: str, right: int, total: int = 40, **extra: Any) -> Path:
    head = {
        "type": "header", "schema_version": 1, "task": task, "task_version": "1", "model": model,
        "headline": "accuracy", "metrics": [{"name": "accuracy"}], **extra,
    }
    records = [
        {"type": "record", "sample_id": f"s{i:03d}", "video_id": f"v{i:03d}", "meta": {}, "answer_format": "letter",
         "choices": ["x", "y"], "target": "A", "output": "A" if i < right else "B", "score": float(i < right),
         "parsed": True, "error": None}
        for i in range(total)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in (head, *records)), encoding="utf-8")
    return path


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    write(root / "m1" / "task_a.jsonl", "m1", "task_a", 10)  # 25.0
    write(root / "m1" / "task_b.jsonl", "m1", "task_b", 30)  # 75.0
    write(root / "m2" / "task_a.jsonl", "m2", "task_a", 20)  # 50.0; no task_b: a missing cell
    return root


def test_csv(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(runs), "--format", "csv"]) == 0
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0] == [
        "model", "task_a accuracy", "task_a accuracy ci_low", "task_a accuracy ci_high",
        "task_b accuracy", "task_b accuracy ci_low", "task_b accuracy ci_high",
    ]
    assert [row[0] for row in table[1:]] == ["m1", "m2"]
    assert table[1][1] == "25.00" and table[1][4] == "75.00"
    assert float(table[1][2]) < 25.0 < float(table[1][3])
    assert table[2][1] == "50.00" and table[2][4:] == ["", "", ""]


def test_markdown(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(runs), "--format", "markdown"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "| model | task_a (accuracy) | task_b (accuracy) |"
    assert lines[1] == "|---|---:|---:|"
    assert lines[2].startswith("| m1 | 25.0 [") and "| 75.0 [" in lines[2]
    assert lines[3].startswith("| m2 | 50.0 [") and lines[3].endswith("| — |")


def test_latex_to_file(runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "paper" / "table.tex"
    assert main(["export", str(runs), "--format", "latex", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    text = out.read_text(encoding="utf-8")
    assert text.startswith(r"\begin{tabular}{lrr}") and text.rstrip().endswith(r"\end{tabular}")
    assert r"task\_a (accuracy) & task\_b (accuracy) \\" in text
    assert r"m1 & 25.0 {\scriptsize [" in text
    assert r"m2 & 50.0 {\scriptsize [" in text and text.count("--") == 1
    assert not list(out.parent.glob(".*.tmp"))  # the temporary file is gone


def test_latex_escape() -> None:
    assert latex_escape("a_b & 50% #1") == r"a\_b \& 50\% \#1"


def test_duplicate_and_shards(tmp_path: Path) -> None:
    first = summarize(read_run(write(tmp_path / "a.jsonl", "m", "t", 1)))
    second = summarize(read_run(write(tmp_path / "b.jsonl", "m", "t", 2)))
    shard = summarize(read_run(write(tmp_path / "c.jsonl", "m", "t", 3, shard="1/2")))
    with pytest.raises(TempevalError, match="Two runs"):
        render([first, second], "markdown")
    assert "| m | 2.5 [" in render([first, shard], "markdown")  # the shard is left out
