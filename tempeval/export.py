"""``tempeval export``: the model × task table of headline scores with 95% CIs, as CSV, Markdown or LaTeX.

Rows are model rows (:mod:`tempeval.rows`: a model's ``--label`` or the settings that set its runs apart, such as
``random · 8 f``), columns tasks (both sorted); a cell is the task's headline in percent with its 95% CI. Shards
are left out (a shard is a part of a run, not its score). Of true duplicates (one row, one task and version)
``tempeval export`` keeps the newest and says so; two versions of one task in one row are refused.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence
from pathlib import Path

from tempeval.errors import TempevalError
from tempeval.results import RunSummary
from tempeval.scoring.metrics import MetricValue

FORMATS = ("csv", "markdown", "latex")


def _table(summaries: Sequence[RunSummary]) -> tuple[list[str], list[str], dict[tuple[str, str], RunSummary]]:
    cells: dict[tuple[str, str], RunSummary] = {}
    for summary in summaries:
        if summary.shard:
            continue
        key = (summary.row or summary.model, summary.task)
        if key in cells:
            raise TempevalError(
                f"Two runs of row '{key[0]}' on task '{summary.task}' ({cells[key].path}, version "
                f"{cells[key].task_version}, and {summary.path}, version {summary.task_version}); export one run "
                "per (row, task): leave one out, or give one a --label."
            )
        cells[key] = summary
    if not cells:
        raise TempevalError("No complete runs to export (only shards?).")
    models = sorted({row for row, _ in cells})
    tasks = sorted({task for _, task in cells})
    return models, tasks, cells


def _headline(summary: RunSummary | None) -> MetricValue | None:
    if summary is None:
        return None
    metric = summary.metrics.get(summary.headline)
    return metric if metric is not None and math.isfinite(metric.value) else None


def _number(value: float) -> str:
    return f"{value:.1f}"


def _cell(metric: MetricValue | None) -> str:
    if metric is None:
        return "—"
    if metric.ci is None:
        return _number(metric.value)
    return f"{_number(metric.value)} [{_number(metric.ci[0])}, {_number(metric.ci[1])}]"


def _headlines(tasks: Sequence[str], cells: dict[tuple[str, str], RunSummary]) -> dict[str, str]:
    return {task: next(s.headline for (_, t), s in sorted(cells.items()) if t == task) for task in tasks}


def to_csv(summaries: Sequence[RunSummary]) -> str:
    """One row per model: for each task its headline value, CI low and CI high (empty where missing)."""
    models, tasks, cells = _table(summaries)
    headlines = _headlines(tasks, cells)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["model", *(f"{t} {headlines[t]}{part}" for t in tasks for part in ("", " ci_low", " ci_high"))])
    for model in models:
        row = [model]
        for task in tasks:
            metric = _headline(cells.get((model, task)))
            if metric is None:
                row += ["", "", ""]
            else:
                low, high = metric.ci if metric.ci is not None else ("", "")
                row += [f"{metric.value:.2f}", *(f"{v:.2f}" if isinstance(v, float) else v for v in (low, high))]
        writer.writerow(row)
    return out.getvalue()


def to_markdown(summaries: Sequence[RunSummary]) -> str:
    """A Markdown table: a cell is ``value [low, high]``."""
    models, tasks, cells = _table(summaries)
    headlines = _headlines(tasks, cells)

    def escape(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "| model | " + " | ".join(escape(f"{t} ({headlines[t]})") for t in tasks) + " |",
        "|---|" + "---:|" * len(tasks),
    ]
    for model in models:
        cells_text = [_cell(_headline(cells.get((model, task)))) for task in tasks]
        lines.append(f"| {escape(model)} | " + " | ".join(cells_text) + " |")
    return "\n".join(lines) + "\n"


LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped."""
    return "".join(LATEX_SPECIAL.get(char, char) for char in text)


def to_latex(summaries: Sequence[RunSummary]) -> str:
    """A ``tabular`` (booktabs rules): a cell is ``value`` with its CI in small type."""
    models, tasks, cells = _table(summaries)
    headlines = _headlines(tasks, cells)

    def cell(metric: MetricValue | None) -> str:
        if metric is None:
            return "--"
        text = _number(metric.value)
        if metric.ci is not None:
            text += rf" {{\scriptsize [{_number(metric.ci[0])}, {_number(metric.ci[1])}]}}"
        return text

    lines = [
        r"\begin{tabular}{l" + "r" * len(tasks) + "}",
        r"\toprule",
        "Model & " + " & ".join(f"{latex_escape(t)} ({latex_escape(headlines[t])})" for t in tasks) + r" \\",
        r"\midrule",
    ]
    for model in models:
        row = [cell(_headline(cells.get((model, task)))) for task in tasks]
        lines.append(latex_escape(model) + " & " + " & ".join(row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def render(summaries: Sequence[RunSummary], fmt: str) -> str:
    """The table in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "csv":
        return to_csv(summaries)
    if fmt == "markdown":
        return to_markdown(summaries)
    if fmt == "latex":
        return to_latex(summaries)
    raise TempevalError(f"Unknown export format '{fmt}'; choose one of {', '.join(FORMATS)}.")


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file beside it and ``os.replace``: never a half-written table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
