"""Plain-text tables of run summaries for the terminal."""

from __future__ import annotations

import math
from collections.abc import Sequence

from tempeval.groups import GroupSummary
from tempeval.results import RunSummary


def _fmt(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.2f}"


def metric_cell(summary: RunSummary | GroupSummary, name: str) -> str:
    """'45.57 [41.2, 50.0]' for one metric of a run or group."""
    metric = summary.metrics.get(name)
    if metric is None:
        return "—"
    if metric.ci is None:
        return _fmt(metric.value)
    return f"{_fmt(metric.value)} [{_fmt(metric.ci[0])}, {_fmt(metric.ci[1])}]"


def main_metrics(summary: RunSummary) -> list[str]:
    """The headline first, then the other overall metrics (breakdowns such as accuracy[key=v] left out)."""
    names = [name for name in summary.metrics if "[" not in name]
    return sorted(names, key=lambda name: (name != summary.headline, names.index(name)))


def count_cell(summary: RunSummary) -> str:
    """'60', '40 INCOMPLETE 40/60' (killed, never resumed) or '20 partial' (a --limit run)."""
    text = str(summary.n)
    if not summary.complete:
        text += f" INCOMPLETE {summary.n}/{summary.samples}"
    if summary.partial:
        text += " partial"
    return text


def summary_table(summaries: Sequence[RunSummary], *, files: bool = False) -> str:
    """One line per run: its row, counts (and with ``files`` its run file), then each main metric with its CI."""
    rows = [("model", "task", "n", "errors", "unparseable", *(("file",) if files else ()), "metrics (95% CI)")]
    for s in summaries:
        metrics = "  ".join(f"{name} {metric_cell(s, name)}" for name in main_metrics(s))
        unparsed = f"{s.unparseable} ({s.parse_failure_rate:.1f}%)"
        shown = (s.row or s.model, f"{s.task}@{s.task_version}", count_cell(s), str(s.errors), unparsed)
        rows.append((*shown, *((s.path,) if files else ()), metrics))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])
        if index == 0:
            lines.append("-" * (sum(widths) + 2 * len(widths) + len(row[-1])))
    return "\n".join(line.rstrip() for line in lines)


def group_table(groups: Sequence[GroupSummary]) -> str:
    """One line per (group, model): how it was aggregated and its metrics, then one line per warning."""
    lines = []
    for g in groups:
        metrics = "  ".join(f"{name} {metric_cell(g, name)}" for name in g.metrics if "[" not in name)
        lines.append(f"{g.model}  {g.group} ({g.aggregate} over {len(g.tasks)} tasks)  {metrics}")
        lines.extend(f"  warning: {warning}" for warning in g.warnings)
    return "\n".join(lines)


def error_summary(summaries: Sequence[RunSummary], top: int = 3) -> list[str]:
    """The most frequent distinct error messages across runs, one line each with its count ('' when none)."""
    counts: dict[str, int] = {}
    for summary in summaries:
        for message, count in summary.error_counts:
            counts[message] = counts.get(message, 0) + count
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    lines = [f"  {count} × {_shorten(message)}" for message, count in ranked[:top]]
    if len(ranked) > top:
        rest = sum(count for _, count in ranked[top:])
        lines.append(f"  {rest} more in {len(ranked) - top} other distinct error(s) (see the run files)")
    return lines


def _shorten(message: str, width: int = 300) -> str:
    line = " ".join(message.split())
    return line if len(line) <= width else line[: width - 1] + "…"
