"""``tempeval compare A B``: is run B better than run A? Paired, per task, on the samples both answered.

For each task present on both sides, the samples both runs answered (same ``sample_id``, no error on either
side) are paired; the difference B − A of the headline (in percentage points) gets a paired cluster-bootstrap 95%
interval (videos resampled jointly for both runs, clusters in sorted key order, seeded) and a two-sided p-value
from a seeded sign-flip permutation test on the per-video sums of differences.

Only headlines that are a mean of per-sample scores (``accuracy``, ``mIoU``) are compared as such; for any other
headline the comparison falls back to the mean per-sample ``score`` and says so.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tempeval.diagnose import PairedScores, difference
from tempeval.errors import TempevalError
from tempeval.results import RunFile, _labelled, find_run_files, read_run, rows_of
from tempeval.rows import row_identities
from tempeval.scoring.metrics import cluster_order, compute

PERMUTATIONS = 9999
"""Sign-flip draws of the p-value (the smallest p it can give is 1 / (PERMUTATIONS + 1))."""

MEAN_METRICS: frozenset[tuple[str, str]] = frozenset({("accuracy", "accuracy"), ("iou", "mIoU")})
"""(metric in a task file, its output) pairs whose value is the mean per-sample score."""


@dataclass(frozen=True)
class Comparison:
    """B − A on one task, over the samples both runs answered."""

    task: str
    model_a: str
    """A's row: its ``--label``, or its model and the settings in which A and B differ (``random · 8 f``)."""
    model_b: str
    metric: str
    """The headline compared, or ``mean score`` when the headline is not a per-sample mean."""
    headline: str
    fallback: bool
    """True when the headline is not a per-sample mean and the mean per-sample score is compared instead."""
    n: int
    """Samples both runs answered."""
    clusters: int
    a: float
    b: float
    diff: float
    ci: tuple[float, float] | None
    p_value: float | None
    a_lacks: int
    """Samples B answered that A did not (absent from A, or an error there)."""
    b_lacks: int

    def to_json(self) -> dict[str, Any]:
        """The ``tempeval compare --json`` object."""
        return {
            "task": self.task,
            "model_a": self.model_a,
            "model_b": self.model_b,
            "metric": self.metric,
            "headline": self.headline,
            "fallback": self.fallback,
            "n": self.n,
            "clusters": self.clusters,
            "a": _finite(self.a),
            "b": _finite(self.b),
            "diff": _finite(self.diff),
            "ci": None if self.ci is None else list(self.ci),
            "p_value": self.p_value,
            "a_lacks": self.a_lacks,
            "b_lacks": self.b_lacks,
        }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def is_mean_headline(header: Mapping[str, Any]) -> bool:
    """Whether the header's headline is a mean of per-sample scores over all samples (accuracy, mIoU)."""
    headline = str(header.get("headline", "accuracy"))
    for spec in header.get("metrics") or [{"name": "accuracy"}]:
        if spec.get("where"):
            continue
        try:
            raw = compute(spec["name"], [], spec.get("by"))
        except (TempevalError, ValueError):
            continue
        labelled = _labelled(raw, spec.get("label"))
        for output, name in zip(raw, labelled, strict=False):
            if name == headline and (spec["name"], output) in MEAN_METRICS:
                return True
    return False


def load_by_task(path: Path) -> dict[str, RunFile]:
    """The run files under ``path`` (a file or a folder), keyed by task; shards are skipped."""
    by_task: dict[str, list[RunFile]] = {}
    for file in find_run_files(path):
        run = read_run(file)
        if not run.header.get("shard"):
            by_task.setdefault(str(run.header.get("task")), []).append(run)
    if not by_task:
        raise TempevalError(f"No run files (*.jsonl) found in {path}.")
    for task, found in by_task.items():
        if len(found) > 1:
            rows = row_identities([run.header for run in found])
            listed = ", ".join(f"'{row.display}' ({run.path})" for row, run in zip(rows, found, strict=True))
            raise TempevalError(
                f"{path}: {len(found)} runs of task '{task}': {listed}. Compare one run per task: pass a run file, "
                "or the folder of one --label."
            )
    return {task: found[0] for task, found in by_task.items()}


def compare_runs(a: RunFile, b: RunFile, *, seed: int = 0) -> Comparison:
    """B − A on the samples both answered, with a paired cluster-bootstrap 95% CI and a sign-flip p-value."""
    rows_a = {row.sample_id: row for row in rows_of(a.records)}
    rows_b = {row.sample_id: row for row in rows_of(b.records)}
    answered_a = {sid for sid, row in rows_a.items() if not row.error}
    answered_b = {sid for sid, row in rows_b.items() if not row.error}
    both = sorted(answered_a & answered_b)
    clusters = [rows_a[sid].cluster for sid in both]
    scores_a = [rows_a[sid].value for sid in both]
    scores_b = [rows_b[sid].value for sid in both]
    fallback = not (is_mean_headline(a.header) and is_mean_headline(b.header))
    row_a, row_b = row_identities([a.header, b.header])  # one model under two settings: named by what differs
    headline = str(a.header.get("headline", "accuracy"))
    value_a = 100.0 * float(np.mean(scores_a)) if both else float("nan")
    value_b = 100.0 * float(np.mean(scores_b)) if both else float("nan")
    ci: tuple[float, float] | None = None
    if both:
        paired = PairedScores.from_rows(clusters, {"a": scores_a, "b": scores_b}, seed=seed)
        estimate = paired.compare("b", "a", difference)
        ci = estimate.ci if estimate is not None else None
    return Comparison(
        task=str(a.header.get("task")),
        model_a=row_a.display,
        model_b=row_b.display,
        metric="mean score" if fallback else headline,
        headline=headline,
        fallback=fallback,
        n=len(both),
        clusters=len(set(clusters)),
        a=value_a,
        b=value_b,
        diff=value_b - value_a,
        ci=ci,
        p_value=sign_flip_p(clusters, np.subtract(scores_b, scores_a), seed=seed) if both else None,
        a_lacks=len(answered_b - answered_a),
        b_lacks=len(answered_a - answered_b),
    )


def sign_flip_p(
    clusters: Sequence[Hashable], differences: np.ndarray, *, seed: int = 0, permutations: int = PERMUTATIONS
) -> float:
    """Two-sided p-value of "no difference": a sign-flip permutation test on the per-cluster sums of differences.

    Under the null each video's summed difference is as likely positive as negative; the p-value is the share of
    random sign assignments (seeded) whose |sum| is at least the observed one, counting the observed one.
    """
    numbers = {key: i for i, key in enumerate(sorted(set(clusters), key=cluster_order))}
    index = np.array([numbers[key] for key in clusters], dtype=np.int64)
    sums = np.bincount(index, weights=np.asarray(differences, dtype=np.float64), minlength=len(numbers))
    observed = abs(float(sums.sum()))
    tolerance = 1e-9 * max(1.0, observed)
    rng = np.random.default_rng(seed)
    hits, done = 0, 0
    rows = max(1, 2_000_000 // max(1, len(sums)))
    while done < permutations:
        size = min(rows, permutations - done)
        signs = rng.integers(0, 2, size=(size, len(sums))) * 2 - 1
        hits += int(np.count_nonzero(np.abs(signs @ sums) >= observed - tolerance))
        done += size
    return (hits + 1) / (permutations + 1)


def compare_paths(path_a: Path, path_b: Path, *, seed: int = 0) -> tuple[list[Comparison], list[str]]:
    """Compare every task present on both sides; also the notes on tasks present on one side only."""
    runs_a, runs_b = load_by_task(path_a), load_by_task(path_b)
    comparisons = [compare_runs(runs_a[task], runs_b[task], seed=seed) for task in sorted(set(runs_a) & set(runs_b))]
    notes = [
        f"task '{task}': A is version {runs_a[task].header.get('task_version')}, B version "
        f"{runs_b[task].header.get('task_version')}; the samples may not be the same questions"
        for task in sorted(set(runs_a) & set(runs_b))
        if runs_a[task].header.get("task_version") != runs_b[task].header.get("task_version")
    ]
    notes += [f"task '{task}' only in A ({path_a}); not compared" for task in sorted(set(runs_a) - set(runs_b))]
    notes += [f"task '{task}' only in B ({path_b}); not compared" for task in sorted(set(runs_b) - set(runs_a))]
    if not comparisons:
        raise TempevalError(f"No task in common between {path_a} and {path_b}.")
    return comparisons, notes


def _fmt(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:.2f}"


def comparison_table(comparisons: Sequence[Comparison]) -> str:
    """One line per task: A, B, B − A with its 95% CI, the p-value, paired n and what each side lacks."""
    rows = [("task", "metric", "A", "B", "B − A [95% CI]", "p", "n", "A lacks", "B lacks")]
    for c in comparisons:
        diff = f"{c.diff:+.2f}" if math.isfinite(c.diff) else "—"
        if c.ci is not None:
            diff += f" [{c.ci[0]:+.2f}, {c.ci[1]:+.2f}]"
        p = "—" if c.p_value is None else f"{c.p_value:.4f}"
        metric = f"{c.metric} (headline {c.headline} is not a per-sample mean)" if c.fallback else c.metric
        rows.append((c.task, metric, _fmt(c.a), _fmt(c.b), diff, p, str(c.n), str(c.a_lacks), str(c.b_lacks)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    if comparisons:
        first = comparisons[0]
        lines.append(f"\nA: {first.model_a}   B: {first.model_b}   (paired samples: both answered, no error)")
    return "\n".join(lines)
