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
    config_value,
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


def test_groups_take_the_newest_run_of_the_newest_task_version(tmp_path: Path) -> None:
    """Runs of two versions of one task never mix in a group number; within a version, the newest run wins."""
    from bench.leaderboard_build import synthetic_header, synthetic_records, write_run
    from tempeval import registry
    from tempeval.groups import summarize_groups

    tasks = registry.tasks()
    members = registry.groups()["synth"]

    def run(name: str, task: str, day: int, skill: float, version: str = "1") -> Path:
        header = synthetic_header(tasks[task], "m", f"2025-03-{day:02d}T10:00:00+00:00", {"task_version": version})
        return write_run(tmp_path / f"{name}.jsonl", header, synthetic_records(tasks[task], 40, skill, f"{name}"))

    for task in members:
        run(f"b_{task}", task, day=1, skill=0.5)
    # synth_order: version 2 (written first, in file order), a newer v1 run, and an older v1 run listed last.
    run("a_order_v2", "synth_order", day=2, skill=0.9, version="2")
    run("c_order_v1_newer", "synth_order", day=5, skill=0.1)
    run("z_order_v1_older", "synth_order", day=3, skill=0.3)

    files = sorted(tmp_path.glob("*.jsonl"))
    runs = [read_run(p) for p in files]
    summaries = [summarize(r) for r in runs]
    (group,) = summarize_groups(runs, summaries)
    by_path = {Path(s.path).stem: s for s in summaries}
    assert group.task_versions["synth_order"] == "2"
    assert group.metrics["order"] == by_path["a_order_v2"].metrics[by_path["a_order_v2"].headline]
    # Without the v2 run, the newest v1 run (by start time, not file order) is the one used.
    keep = [i for i, p in enumerate(files) if p.stem != "a_order_v2"]
    (group,) = summarize_groups([runs[i] for i in keep], [summaries[i] for i in keep])
    newer = by_path["c_order_v1_newer"]
    assert group.task_versions["synth_order"] == "1" and group.metrics["order"] == newer.metrics[newer.headline]


@pytest.mark.parametrize(
    ("fields", "records", "complete", "partial"),
    [
        ({"limit": None, "samples": 40, "dataset_samples": 40}, 40, True, False),
        ({"limit": None, "samples": 40, "dataset_samples": 40}, 25, False, False),  # killed, never resumed
        ({"limit": 100, "samples": 40, "dataset_samples": 40}, 40, True, False),  # a limit above the dataset size
        ({"limit": 20, "samples": 20, "dataset_samples": 40}, 20, True, True),
        ({"limit": 20, "samples": 20, "dataset_samples": 40}, 40, True, False),  # completed later without a limit
        ({"limit": None}, 30, True, False),  # an older file without the counts: nothing to go by
    ],
)
def test_complete_and_partial_come_from_the_counts(
    tmp_path: Path, fields: dict[str, object], records: int, complete: bool, partial: bool
) -> None:
    from bench.leaderboard_build import synthetic_header, synthetic_records, write_run
    from tempeval import registry

    task = registry.tasks()["synth_order"]
    header = synthetic_header(task, "m", "2025-03-01T10:00:00+00:00", fields)
    summary = summarize(read_run(write_run(tmp_path / "r.jsonl", header, synthetic_records(task, records, 0.5, "s"))))
    assert (summary.complete, summary.partial) == (complete, partial)


def test_transport_arguments_are_not_resume_fields_and_outputs_ones_are_named() -> None:
    first = {**HEADER, "model_args": {"concurrency": 16, "timeout_s": 120, "video_mode": "images", "jpeg_quality": 85},
             "transport_args": ["concurrency", "timeout_s"]}
    slower = {**first, "model_args": {**first["model_args"], "concurrency": 2, "timeout_s": 600}}
    assert config_differences(first, slower) == [], "a rate-limited run may resume at lower concurrency"
    changed = {**first, "model_args": {**first["model_args"], "video_mode": "video_url", "jpeg_quality": 50}}
    assert config_differences(first, changed) == ["model_args.jpeg_quality", "model_args.video_mode"]
    assert config_value(changed, "model_args.video_mode") == "video_url"


def test_judge_decoder_and_scorers_are_resume_fields() -> None:
    judged = {**HEADER, "judge": "openai/j", "decoder": "pyav", "scorers": {"mc": "letter"},
              "judge_args": {"generation": {"temperature": 0.0}, "args": {"model": "x"}, "transport": {"timeout_s": 5}}}
    for name, value in [("judge", None), ("decoder", "decord"), ("scorers", {"mc": "official"}),
                        ("judge_args", {**judged["judge_args"], "generation": {"temperature": 1.0}})]:
        assert config_differences(judged, {**judged, name: value}) == [name]
    other_transport = {**judged, "judge_args": {**judged["judge_args"], "transport": {"timeout_s": 60}}}
    assert config_differences(judged, other_transport) == []


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
