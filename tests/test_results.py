"""Run files: written line by line, read back strictly, torn lines repaired only on resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tempeval.errors import RunFileError
from tempeval.results import (
    SCHEMA_VERSION,
    RunWriter,
    config_differences,
    frame_time_labels,
    read_run,
    summarize,
)

HEADER = {"type": "header", "schema_version": SCHEMA_VERSION, "task": "t", "task_version": "1", "model": "m",
          "metrics": [{"name": "accuracy"}], "headline": "accuracy"}


def write(path: Path, records: list[dict]) -> None:
    with RunWriter(path, HEADER) as writer:
        for record in records:
            writer.append(record)


def test_latest_record_per_sample_wins(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    write(path, [
        {"sample_id": "a", "error": "timeout", "score": None},
        {"sample_id": "b", "error": None, "score": 1.0, "parsed": True},
        {"sample_id": "a", "error": None, "score": 0.0, "parsed": True},
    ])
    run = read_run(path)
    assert [r["sample_id"] for r in run.records] == ["b", "a"]
    summary = summarize(run)
    assert summary.n == 2 and summary.errors == 0 and summary.metrics["accuracy"].value == 50


def test_errors_count_as_wrong_and_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    write(path, [
        {"sample_id": "a", "error": "HTTP 500", "output": None, "score": None, "parsed": False},
        {"sample_id": "b", "error": None, "score": 1.0, "parsed": True},
        {"sample_id": "c", "error": None, "score": 0.0, "parsed": False},
    ])
    summary = summarize(read_run(path))
    assert (summary.errors, summary.unparseable) == (1, 1)
    assert summary.metrics["accuracy"].value == pytest.approx(100 / 3)
    assert summary.parse_failure_rate == 50.0  # 1 unparseable of 2 answered


def test_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    write(path, [{"sample_id": "a", "error": None, "score": 1.0}])
    with path.open("a") as handle:
        handle.write('{"type": "record", "sample_id": "b", "sco')
    with pytest.raises(RunFileError, match="incomplete"):
        read_run(path)
    with pytest.warns(UserWarning, match="torn last line"):
        run = read_run(path, repair=True)
    assert [r["sample_id"] for r in run.records] == ["a"]
    assert path.read_text().endswith("\n") and len(path.read_text().splitlines()) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("not json\n", "line 1 is not valid JSON"),
        ('{"type": "record"}\n', "not a tempeval run header"),
        (json.dumps({**HEADER, "schema_version": 99}) + "\n", "schema version 99"),
        (json.dumps(HEADER) + '\n{"type": "record"}\n', "line 2 is not a sample record"),
    ],
)
def test_malformed_run_files_name_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(RunFileError, match=message) as info:
        read_run(path)
    assert str(path) in str(info.value)


def test_config_differences_name_the_field() -> None:
    other = {**HEADER, "frames": {"num_frames": 4}}
    assert config_differences({**HEADER, "frames": {"num_frames": 8}}, other) == ["frames"]


def test_time_labels_of_files_written_before_the_field() -> None:
    # Old files told the model the true times: they resume into a time-ordered run, never into a permuted one.
    assert config_differences(HEADER, {**HEADER, "time_labels": "source"}) == []
    assert config_differences(HEADER, {**HEADER, "time_labels": "presentation"}) == ["time_labels"]
    old_record = {"frame_times": [2.5, 0.5, 1.5]}
    assert frame_time_labels(old_record) == [2.5, 0.5, 1.5], "old records: the model was told the true times"
    assert frame_time_labels({**old_record, "frame_time_labels": [0.5, 1.5, 2.5]}) == [0.5, 1.5, 2.5]
    assert frame_time_labels({}) == []


def test_split_reasoning_of_think_tags() -> None:
    from tempeval.runner import split_reasoning

    tags = ("<think>", "</think>")
    assert split_reasoning("<think> a </think>\nB", tags) == ("B", "a")
    assert split_reasoning("a</think>B", tags) == ("B", "a"), "the template opened the block in the prompt"
    assert split_reasoning("<think>still going", tags) == ("", "still going"), "cut while thinking: no answer"
    assert split_reasoning("B", tags) == ("B", None)
    assert split_reasoning("<think>a</think>B", None) == ("<think>a</think>B", None)
    assert split_reasoning("[r]a[/r]B", ("[r]", "[/r]")) == ("B", "a")
    assert split_reasoning(None, tags) == (None, None)
