"""Group scores: a benchmark's overall number formed from its tasks' runs, by the benchmark's own rule.

Each group takes the newest run per (model, task, task version), and of a task's versions the newest: runs of
different versions of one task never mix in one group number. A group object says, in ``warnings``, whatever
makes its number differ from what the benchmark's own script would print or from a full evaluation: a member
task with no run (then there is no overall number), breakdown values with no prediction at all (OVO-Bench probes
of a submission that lacks them), outputs that the official protocol sends to an LLM judge when none was given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tempeval import registry
from tempeval.judge import NEEDS_JUDGE
from tempeval.records import RunRecord
from tempeval.results import NO_PREDICTION, RunFile, RunSummary, rows_of, summarize
from tempeval.scoring.metrics import MetricValue, compute, keeping_draws, mean_of_draws, percentile_interval


@dataclass(frozen=True)
class GroupSummary:
    """One model's score on one group; without the overall metric when a member task has no run."""

    group: str
    model: str
    aggregate: str
    tasks: tuple[str, ...]
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    """What makes this number incomplete or differ from the official one (empty when nothing does)."""
    task_versions: dict[str, str] = field(default_factory=dict)
    """The version of each member task whose run was used."""
    ci_note: str = ""
    """Why the overall metric has no confidence interval (empty when it has one, or has no value)."""

    def to_json(self) -> dict[str, Any]:
        """The ``tempeval score --json`` object of a group."""
        return {
            "group": self.group,
            "model": self.model,
            "aggregate": self.aggregate,
            "tasks": list(self.tasks),
            "task_versions": dict(self.task_versions),
            "metrics": {name: metric.value for name, metric in self.metrics.items()},
            "ci": {name: None if m.ci is None else list(m.ci) for name, m in self.metrics.items()},
            "warnings": list(self.warnings),
        }


def _version_key(version: str) -> tuple[Any, ...]:
    """Order versions numerically where they are numbers ('2' < '10'), else as text."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in str(version).split("."))


def newest_runs(
    runs: Sequence[RunFile], summaries: Sequence[RunSummary]
) -> dict[tuple[str, str], tuple[RunFile, RunSummary]]:
    """(row, task) -> the newest run of the task's newest version (by start time, then input order)."""
    newest: dict[tuple[str, str, str], tuple[tuple[str, int], RunFile, RunSummary]] = {}
    for index, (run, summary) in enumerate(zip(runs, summaries, strict=True)):
        key = (summary.row or summary.model, summary.task, summary.task_version)  # one model's rows apart
        order = (str(run.header.get("started_at") or ""), index)
        if key not in newest or order >= newest[key][0]:
            newest[key] = (order, run, summary)
    out: dict[tuple[str, str], tuple[RunFile, RunSummary]] = {}
    for model, task, version in sorted(newest, key=lambda k: (k[0], k[1], _version_key(k[2]))):
        _, run, summary = newest[(model, task, version)]
        out[(model, task)] = (run, summary)  # sorted by version: the newest version is written last
    return out


def summarize_groups(runs: Sequence[RunFile], summaries: Sequence[RunSummary]) -> list[GroupSummary]:
    """Every (group, model) with a run of at least one member task; warnings say what is missing or differs."""
    latest = newest_runs(runs, summaries)
    out = []
    models = sorted({model for model, _ in latest})
    for group, members in registry.groups().items():
        spec = registry.group_spec(group)
        for model in models:
            present = [task for task in members if (model, task) in latest]
            if not present:
                continue
            chosen = [latest[(model, task)] for task in present]
            missing = [task for task in members if task not in present]
            notes = [f"no run of {task}: no {spec.metric} for this group" for task in missing]
            notes += [note for run, summary in chosen for note in _judge_warnings(run, summary)]
            metrics, empty_notes, ci_note = _metrics(spec, group, chosen)
            if missing:
                metrics.pop(spec.metric, None)
                ci_note = ""
            versions = {summary.task: summary.task_version for _, summary in chosen}
            out.append(
                GroupSummary(
                    group, model, spec.aggregate, tuple(members), metrics, tuple(notes + empty_notes), versions,
                    ci_note,
                )
            )
    return out


def _judge_warnings(run: RunFile, summary: RunSummary) -> list[str]:
    needs = sum(1 for record in run.records if NEEDS_JUDGE in str(record.note or ""))
    if not needs:
        return []
    return [
        f"{summary.task}: {needs} output(s) go to an LLM judge under the official protocol and none was given: "
        "they score 0, so this is below the official number (pass --judge MODEL to 'tempeval score')"
    ]


def member_metric(spec: registry.GroupSpec, summary: RunSummary) -> str:
    """The metric of a member's run that enters the group's macro mean: its headline unless the group names one."""
    return spec.member_metrics.get(summary.task, summary.headline)


def _headline(
    spec: registry.GroupSpec, run: RunFile, summary: RunSummary
) -> tuple[MetricValue | None, list[str]]:
    """A member's headline (or the metric the group's ``member_metrics`` names for it), and a warning for
    breakdown values with no prediction at all (official: left out)."""
    name = member_metric(spec, summary)
    value = summary.metrics.get(name)
    if value is None and name != summary.headline:
        return None, [f"{summary.task}: its run has no {name}, the metric group {spec.name} averages for it"]
    metric_spec = next((m for m in run.header.get("metrics") or () if m.get("name") == name), None)
    if value is None or metric_spec is None or not metric_spec.get("by"):
        return value, []
    by, where = metric_spec["by"], metric_spec.get("where") or {}
    pairs = [(r, rec) for r, rec in zip(rows_of(run.records), run.records, strict=True)
             if all(r.meta.get(k) == v for k, v in where.items())]
    rows = [row for row, _ in pairs]
    by_value: dict[str, list[RunRecord]] = {}
    for row, record in pairs:
        by_value.setdefault(str(row.meta.get(by)), []).append(record)
    # No prediction at all (imported files that lack them), not failed calls: those a resume retries.
    empty = sorted(name for name, members in by_value.items() if all(r.error == NO_PREDICTION for r in members))
    if not empty or len(empty) == len(by_value):
        return value, []
    official = spec.official_skips_empty and run.header.get("parser_mode") == "official"
    listed = ", ".join(empty)
    if not official:
        return value, [
            f"{summary.task}: no predictions for {by} {listed}; they count 0 in {name} "
            f"{value.value:.2f} (the official script would average only the ones present)"
        ]
    kept = [r for r in rows if str(r.meta.get(by)) not in empty]
    adjusted = compute(name, kept, by)[name]
    return adjusted, [
        f"{summary.task}: no predictions for {by} {listed}; as the official script does, {name} "
        f"averages the {len(by_value) - len(empty)} present ({adjusted.value:.2f}; {value.value:.2f} counting them 0, "
        "as strict mode does)"
    ]


def _metrics(
    spec: registry.GroupSpec, group: str, chosen: list[tuple[RunFile, RunSummary]]
) -> tuple[dict[str, MetricValue], list[str], str]:
    """The group's metrics, warnings, and why its overall metric has no CI (empty when it has one)."""
    if spec.aggregate == "micro":
        # One cluster bootstrap over the samples of every member (a video is resampled as a whole).
        rows = [row for run, _ in chosen for row in rows_of(run.records)]
        metrics = {spec.metric: compute("accuracy", rows)["accuracy"]}
        for key in spec.by:
            for name, value in compute("grouped_accuracy", rows, key).items():
                metrics[name] = value
        no_ci = "" if metrics[spec.metric].ci else "no CI: fewer than two videos across the member tasks"
        return metrics, [], no_ci
    headlines: dict[str, MetricValue] = {}
    notes: list[str] = []
    for run, summary in chosen:
        headline, more = _headline(spec, run, summary)
        notes += more
        if headline is not None:
            headlines[summary.task] = headline
    mean = float(np.mean([m.value for m in headlines.values()]))
    ci, no_ci = macro_interval(spec, chosen, headlines)
    metrics = {spec.metric: MetricValue(mean, ci, len(headlines))}
    for task, value in headlines.items():
        metrics[task.removeprefix(f"{group}_")] = value
    if spec.carry:  # members' own metrics (e.g. OVO-Bench task codes), unless a name collides
        for _, summary in chosen:
            for name, value in summary.metrics.items():
                if name != summary.headline:
                    metrics.setdefault(name, value)
    return metrics, notes, no_ci


def macro_interval(
    spec: registry.GroupSpec, chosen: Sequence[tuple[RunFile, RunSummary]], headlines: dict[str, MetricValue]
) -> tuple[tuple[float, float] | None, str]:
    """95% CI of a mean of member headlines, and why there is none: a bootstrap of the mean.

    Each member's headline is bootstrapped on its own (its videos resampled, as its own CI is), and the mean of
    draw ``i`` of every member is draw ``i`` of the group. Members' draws are put in an order of their own
    (seeded by the member's place among the sorted task names), so members resampled with the same seed and
    cluster count do not move together. Deterministic, and independent of record order.
    """
    if len(headlines) < len(chosen):
        return None, "no CI: a member task has no headline value"
    member_draws = []
    for place, (run, summary) in enumerate(sorted(chosen, key=lambda pair: pair[1].task)):
        member: MetricValue | None = headlines[summary.task]
        if member is not None and member.draws is None:  # a summary made without them: compute it again
            with keeping_draws():
                member, _ = _headline(spec, run, summarize(run, draws_of=member_metric(spec, summary)))
        if member is None or member.draws is None:
            return None, (
                f"no CI: {summary.task}'s {member_metric(spec, summary)} has no bootstrap interval to combine "
                "(fewer than two videos, or a metric that gives none)"
            )
        if member.value != headlines[summary.task].value:
            return None, f"no CI: {summary.task}'s scores differ from those in its run file (rescored)"
        member_draws.append(np.random.default_rng(place).permutation(member.draws))
    return percentile_interval(mean_of_draws(member_draws)), ""

