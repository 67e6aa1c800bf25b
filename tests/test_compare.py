"""tempeval compare: paired B − A per task, with a clustered bootstrap CI and a sign-flip p-value."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tempeval.cli import main
from tempeval.compare import compare_paths, compare_runs, is_mean_headline
from tempeval.results import read_run


def header(model: str, task: str = "t", **extra: Any) -> dict[str, Any]:
    return {
        "type": "header", "schema_version": 1, "task": task, "task_version": "1", "model": model,
        "headline": "accuracy", "metrics": [{"name": "accuracy"}], **extra,
    }


def record(index: int, score: float | None, error: str | None = None) -> dict[str, Any]:
    return {
        "type": "record", "sample_id": f"s{index:03d}", "video_id": f"v{index // 2:03d}", "meta": {},
        "score": score, "parsed": error is None, "error": error,
    }


def write(path: Path, head: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> Path:
    """A run file of JSON objects (or of a read run's header and records, as their JSON objects)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(dict(line)) + "\n" for line in (head, *records)), encoding="utf-8")
    return path


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    # A right on the first 15 of 60; B right on those and 30 more: +50.0 points exactly.
    a = write(tmp_path / "a" / "t.jsonl", header("model-a"), [record(i, float(i < 15)) for i in range(60)])
    b = write(tmp_path / "b" / "t.jsonl", header("model-b"), [record(i, float(i < 45)) for i in range(60)])
    return a, b


def test_known_difference(pair: tuple[Path, Path]) -> None:
    result = compare_runs(read_run(pair[0]), read_run(pair[1]))
    assert result.diff == pytest.approx(50.0)
    assert (result.a, result.b) == (pytest.approx(25.0), pytest.approx(75.0))
    assert result.n == 60 and result.clusters == 30
    assert result.ci is not None and 0 < result.ci[0] < 50 < result.ci[1]
    assert result.p_value is not None and result.p_value < 0.001
    assert (result.a_lacks, result.b_lacks) == (0, 0) and not result.fallback


def test_identical_runs(pair: tuple[Path, Path]) -> None:
    result = compare_runs(read_run(pair[0]), read_run(pair[0]))
    assert result.diff == 0.0
    assert result.p_value == 1.0
    assert result.ci == (0.0, 0.0)


def test_order_and_seed_fixed(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    run_b = read_run(pair[1])
    shuffled = write(tmp_path / "shuffled.jsonl", run_b.header, list(reversed(run_b.records)))
    first = compare_runs(read_run(pair[0]), run_b)
    again = compare_runs(read_run(pair[0]), read_run(shuffled))
    assert first == again


def test_missing_and_errored_samples_are_lacking(tmp_path: Path) -> None:
    a = write(tmp_path / "a.jsonl", header("a"), [record(i, 1.0) for i in range(10)])
    b_records = [record(i, 1.0) for i in range(8)]  # s008, s009 missing in B
    b_records[0] = record(0, None, error="HTTP 503")  # s000 errored in B
    b_records.append(record(20, 1.0))  # only in B: A lacks it
    b = write(tmp_path / "b.jsonl", header("b"), b_records)
    result = compare_runs(read_run(a), read_run(b))
    assert result.n == 7
    assert (result.a_lacks, result.b_lacks) == (1, 3)
    assert result.diff == 0.0


def test_non_mean_headline_falls_back(tmp_path: Path) -> None:
    head = header("a", headline="pair_consistency", metrics=[{"name": "pair_consistency", "by": "pair_id"}])
    assert not is_mean_headline(head)
    assert is_mean_headline(header("a", headline="mIoU", metrics=[{"name": "iou"}]))
    a = write(tmp_path / "a.jsonl", head, [record(i, 1.0) for i in range(4)])
    result = compare_runs(read_run(a), read_run(a))
    assert result.fallback and result.metric == "mean score"


def test_tasks_matched_by_name(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    write(tmp_path / "a" / "other.jsonl", header("model-a", task="other"), [record(0, 1.0)])
    comparisons, notes = compare_paths(tmp_path / "a", tmp_path / "b")
    assert [c.task for c in comparisons] == ["t"]
    assert notes and "other" in notes[0]


def test_cli_table_and_json(pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    a, b = pair
    assert main(["compare", str(a.parent), str(b.parent)]) == 0
    table = capsys.readouterr().out
    assert "+50.00" in table and "model-a" in table and "model-b" in table
    assert main(["compare", str(a), str(b), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert obj["task"] == "t" and obj["diff"] == pytest.approx(50.0)
    assert obj["ci"][0] > 0 and obj["p_value"] < 0.001
    assert obj["a_lacks"] == 0 and obj["b_lacks"] == 0


def test_cli_no_common_task(tmp_path: Path, pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    other = write(tmp_path / "c.jsonl", header("c", task="nope"), [record(0, 1.0)])
    assert main(["compare", str(pair[0]), str(other)]) == 2
    assert "No task in common" in capsys.readouterr().err


def test_version_mismatch_noted(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    newer = write(tmp_path / "c" / "t.jsonl", header("model-c", task_version="2"), [record(0, 1.0)])
    _, notes = compare_paths(pair[0], newer)
    assert any("version" in note for note in notes)
