"""Confidence intervals of benchmark (group) scores: a bootstrap of the mean of member headlines for macro
groups, one cluster bootstrap over every member's samples for micro groups, or a reason why there is none."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from bench.leaderboard_build import synthetic_header, synthetic_records, write_run
from tempeval import registry
from tempeval.groups import GroupSummary, summarize_groups
from tempeval.results import RunFile, read_run, summarize


def _group(tmp_path: Path, group: str, *, records: int = 40, shuffle: bool = False,
           edit: Any = None, draws: bool = False) -> GroupSummary:
    tasks = registry.tasks()
    runs: list[RunFile] = []
    for index, task in enumerate(sorted(registry.groups()[group])):
        rows = synthetic_records(tasks[task], records, 0.3 + 0.1 * index, f"m:{task}")
        if edit:
            rows = edit(task, rows)
        if shuffle:
            random.Random(task).shuffle(rows)
        header = synthetic_header(tasks[task], "m", "2025-03-01T10:00:00+00:00")
        runs.append(read_run(write_run(tmp_path / f"{task}.jsonl", header, rows)))
    [found] = summarize_groups(runs, [summarize(r, headline_draws=draws) for r in runs])
    return found


def test_macro_group_ci_is_a_bootstrap_of_the_mean_of_member_headlines(tmp_path: Path) -> None:
    group = _group(tmp_path / "a", "synth")
    average = group.metrics["average"]
    assert average.ci is not None and group.ci_note == ""
    low, high = average.ci
    assert low < average.value < high
    members = [group.metrics[t.removeprefix("synth_")] for t in registry.groups()["synth"]]
    member_widths = [m.ci[1] - m.ci[0] for m in members if m.ci]
    assert len(member_widths) == len(members)
    # Averaging independent members narrows the interval: below the mean member width, above width / members.
    assert sum(member_widths) / len(members) ** 2 < high - low < sum(member_widths) / len(members)
    assert group.to_json()["ci"]["average"] == [low, high]


def test_group_ci_is_deterministic_and_independent_of_record_order(tmp_path: Path) -> None:
    first = _group(tmp_path / "a", "synth")
    again = _group(tmp_path / "b", "synth", shuffle=True)
    assert first.metrics["average"].ci == again.metrics["average"].ci
    assert first.metrics["average"].value == again.metrics["average"].value


def test_summaries_with_headline_draws_give_the_same_ci_without_computing_again(tmp_path: Path) -> None:
    kept = _group(tmp_path / "a", "synth", draws=True)  # what the leaderboard passes: draws kept by summarize
    again = _group(tmp_path / "b", "synth")  # what 'tempeval score' passes: computed again for the CI
    assert kept.metrics["average"].ci == again.metrics["average"].ci is not None
    run = read_run(next((tmp_path / "a").glob("synth_order.jsonl")))
    summary = summarize(run, headline_draws=True)
    assert summary.metrics["accuracy"].draws is not None and len(summary.metrics["accuracy"].draws) > 900
    assert all(m.draws is None for name, m in summary.metrics.items() if name != "accuracy")


def test_micro_group_ci_resamples_videos_across_members(tmp_path: Path) -> None:
    group = _group(tmp_path, "tempcompass")
    overall = group.metrics[registry.group_spec("tempcompass").metric]
    assert overall.ci is not None and overall.ci[0] < overall.value < overall.ci[1] and group.ci_note == ""


def test_a_member_without_an_interval_leaves_the_group_without_one_and_says_why(tmp_path: Path) -> None:
    def one_video(task: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if task != "synth_order":
            return rows
        return [{**row, "video_id": "v", "meta": {**row["meta"], "video_id": "v"}} for row in rows]

    group = _group(tmp_path, "synth", edit=one_video)
    members = [group.metrics[t.removeprefix("synth_")].value for t in registry.groups()["synth"]]
    assert group.metrics["average"].ci is None
    assert group.metrics["average"].value == pytest.approx(sum(members) / len(members))
    assert group.ci_note.startswith("no CI: synth_order's accuracy has no bootstrap interval")
