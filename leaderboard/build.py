"""Build the static leaderboard site from run files, and nothing else.

``build(run_dirs, out)`` reads every run file (``*.jsonl``) and every ``tempeval diagnose`` result
(``*.json`` with ``"type": "diagnosis"``) under the given folders, summarises each run with
:func:`tempeval.results.summarize` (the stored scores, as read: no output is parsed again, no model or judge is
called), forms benchmark scores with :func:`tempeval.groups.summarize_groups`, and writes a site that opens from
disk (``file://``) as well as from any static host::

    index.html  app.js  style.css   the page (vanilla JS, inline-SVG charts, no network)
    data.js                         window.TEMPEVAL_DATA = {...}: everything the page shows (loaded by <script>)
    data.json   overview.csv        the same data, and the overview table, for download
    samples/<run id>.js             one per run: its records, loaded only when its sample browser opens
    thumbs/<hash>.jpg               pictures of the frames the first samples of each run saw (when the videos
                                    are on the building machine; see leaderboard/thumbnails.py)

Browsers refuse ``fetch()`` of local files from ``file://`` pages, so data ships as scripts that assign to a
global. Every string from a run file is untrusted: JSON embedded in scripts escapes ``<``, ``>``, ``&`` and
U+2028/2029, the page writes text only through ``textContent``, and CSV cells are guarded against formula
injection.

Which run counts: a model's runs form rows (:mod:`tempeval.rows`: by ``--label``, or by the frame policy,
generation settings and model arguments that set them apart, as in ``random · 8 f``); per (row, task, task
version) the newest by header ``started_at``; per task, the newest task version among the runs is the one the
overview shows, and runs of older versions are listed apart. The build reports each run it leaves off the
overview and why. Diagnostic variant runs (made by ``tempeval diagnose``: header ``made_by``, in older files a
derived task ``<task>@<variant>``; or a run a diagnosis names as a variant) feed the diagnostics view, never a
leaderboard column; a user's own ``--order shuffled`` run is a row like any other.

Work is split by model: first every run header is read (cheap) to decide which run counts, then each model's runs
are read, summarised, grouped and written out, in parallel processes for large leaderboards.
"""

from __future__ import annotations

import concurrent.futures
import csv
import dataclasses
import datetime
import hashlib
import io
import json
import math
import operator
import os
import re
import shutil
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tempeval import registry
from tempeval.errors import TempevalError
from tempeval.groups import GroupSummary, summarize_groups
from tempeval.leaderboard.chance import Chance, chance_level, group_chance
from tempeval.leaderboard.thumbnails import THUMBS_DIR, Strip, frame_strips
from tempeval.results import SCHEMA_VERSION, RunSummary, find_run_files, read_run, summarize
from tempeval.rows import RowIdentity, row_identities
from tempeval.scoring.metrics import MetricValue

ASSETS = ("index.html", "app.js", "style.css")
"""The page's own files, copied from ``leaderboard/assets``."""
SAMPLES_DIR = "samples"
MODELS_FILE = "models.yaml"
MAX_OUTPUT_CHARS = 20_000
"""Longer model outputs are cut in the sample browser's data (the run file keeps them whole)."""
SAMPLE_FIELDS = (
    "sample_id", "question", "choices", "target", "output", "answer", "parsed", "score", "error", "note",
    "frame_times", "query_time_s", "meta", "prompt", "duration_s",
)
"""Record fields the sample browser shows; the rest (video paths, usage, judge logs) stays in the run file."""
SHOWN_FIELDS = (*SAMPLE_FIELDS, "stream_view")
"""The sample browser's columns: the record fields, then a streaming record's timeline (:func:`stream_view`)."""
MAX_RESPONSE_CHARS = 120
"""A response's text on a stream timeline is cut to this many characters (the run file keeps it whole)."""
UNIFORM_ROLES = ("original", "uniform")
"""Diagnosis run roles holding the unperturbed run (``tempeval diagnose`` writes ``original``)."""
DIAGNOSIS_FIELDS = ("kappa", "tau", "rho", "reversal_drop", "flip_rate", "pair_consistency")
PARALLEL_MIN_RUNS = 48
"""Below this many run files a build stays in one process (starting workers would cost more than it saves)."""

# Run statuses: only "current" runs feed the overview and the benchmark scores.
CURRENT, OLDER_VERSION, SUPERSEDED, VARIANT = "current", "older_version", "superseded", "variant"
SHARD = "shard"
"""A ``--shard K/N`` run: one part of a run, never a model's score; shown under the run ``merge`` made of it."""


@dataclass(frozen=True)
class _Run:
    """One run file: where it is, its header, how the leaderboard uses it and (once read) its summary."""

    id: str
    path: Path
    file: str
    """Path shown on the site: the runs folder's name, then the path inside it."""
    header: dict[str, Any]
    status: str = CURRENT
    summary: RunSummary | None = None
    row: RowIdentity | None = None
    """The model row the run is in (:mod:`tempeval.rows`); ``None`` for diagnostic variants."""
    why: str = ""
    """Why a run that is not current is left off the overview (printed by the build)."""
    chance: Chance | None = None
    """The chance level of its headline metric (once read)."""

    @property
    def model(self) -> str:
        return str(self.header.get("model"))

    @property
    def task(self) -> str:
        return str(self.header.get("task"))

    @property
    def version(self) -> str:
        return str(self.header.get("task_version"))

    @property
    def row_name(self) -> str:
        """The row's name on the site: the model string when the model has one row (see :mod:`tempeval.rows`)."""
        return self.row.display if self.row is not None else self.model

    @property
    def summarized(self) -> RunSummary:
        """The summary of a run that was read (every run on the site was)."""
        if self.summary is None:
            raise RuntimeError(f"{self.file} has not been summarised")
        return self.summary


def build(
    run_dirs: Sequence[Path],
    out: Path,
    models_file: Path | None = None,
    report: Callable[[str], None] = lambda line: None,
    *,
    thumbnails: bool = True,
) -> Path:
    """Write the leaderboard site for the run files under ``run_dirs`` into ``out``.

    Args:
        run_dirs: Folders of run files (searched recursively), or single run files.
        out: The site folder (created; the files named in this module's docstring are overwritten).
        models_file: Model metadata (display name, size, link, date, open/closed); by default the first
            ``models.yaml`` found directly in one of ``run_dirs``.
        report: Called with one line per run left off the overview, saying why (superseded by which run, an
            older task version) and one line counting the diagnostic variants.
        thumbnails: Write frame strips for the first samples of each run whose videos are found here.

    Returns:
        The path of the site's ``index.html``.

    Raises:
        TempevalError: when no run file is found, or ``models_file`` cannot be read.
    """
    run_dirs = [Path(d) for d in run_dirs]
    missing = [str(d) for d in run_dirs if not d.exists()]
    if missing:
        raise TempevalError(f"No such runs folder or file: {', '.join(missing)}.")
    out = Path(out)
    metadata = _load_models(run_dirs, models_file)  # fail on a bad models file before any work
    runs, skipped = _read_headers(run_dirs)
    diagnoses = _read_diagnoses(run_dirs)
    staging = _prepare(out)
    try:
        _build_into(staging, runs, skipped, diagnoses, metadata, run_dirs, report, thumbnails)
        _swap_in(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out / "index.html"


def _build_into(
    staging: Path,
    runs: list[_Run],
    skipped: list[dict[str, str]],
    diagnoses: list[dict[str, Any]],
    metadata: dict[str, dict[str, Any]],
    run_dirs: Sequence[Path],
    report: Callable[[str], None],
    thumbnails: bool = True,
) -> None:
    """Write the whole site into ``staging`` (a folder no reader looks at yet)."""
    registry.groups()  # read the task catalogue once here, so that forked workers inherit it
    while True:
        runs = _classify(runs, _variant_paths(diagnoses))
        read, groups, failed = _read_all(runs, staging / SAMPLES_DIR, thumbnails)
        if not failed:
            break
        # A file that passed the header check but not read_run or summarize: drop it, decide again what counts.
        for run, reason in failed:
            warnings.warn(f"leaderboard: skipping {run.path}: {reason}", stacklevel=2)
            skipped.append({"file": run.file, "reason": reason.replace(str(run.path), run.file)})
        runs = [r for r in runs if r.id not in {run.id for run, _ in failed}]
    if not read:
        raise TempevalError(
            f"No readable run files (*.jsonl) under {', '.join(map(str, run_dirs))}. Run "
            "'tempeval run --model MODEL --task TASK --out DIR' first, then build from DIR."
        )
    for run in read:
        if run.why:
            report(f"{run.file}: {run.why}")
    variants = sum(r.status == VARIANT for r in read)
    if variants:
        report(f"{variants} diagnostic variant run(s) (made by 'tempeval diagnose') are in the diagnostics view.")
    models = _models(read, metadata)
    data = _site_data(read, groups, models, diagnoses, skipped, run_dirs)
    _write_site(staging, data)


# ---------------------------------------------------------------------------------------------------------------
# Reading


def _read_headers(run_dirs: Sequence[Path]) -> tuple[list[_Run], list[dict[str, str]]]:
    """Every run file once (by resolved path) with its header line; files that are not run files are reported."""
    runs: list[_Run] = []
    skipped: list[dict[str, str]] = []
    seen: set[Path] = set()
    for root, label in zip(run_dirs, _root_labels(run_dirs), strict=True):
        for path in find_run_files(root):
            resolved = path.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            shown = _shown_path(label, root, path)
            header, reason = _header_of(path)
            if header is None:
                warnings.warn(f"leaderboard: skipping {path}: {reason}", stacklevel=3)
                skipped.append({"file": shown, "reason": reason})
                continue
            runs.append(_Run(_run_id(shown), path, shown, header))
    return runs, skipped


def _header_of(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The header line of a run file, or None and why not (the checks read_run makes of line 1)."""
    try:
        with path.open("rb") as handle:
            header = json.loads(handle.readline())
    except (OSError, ValueError) as exc:
        return None, f"line 1 is not a JSON run header ({exc})"
    if not isinstance(header, dict) or header.get("type") != "header":
        return None, 'line 1 is not a tempeval run header (no "type": "header")'
    if header.get("schema_version") != SCHEMA_VERSION:
        version = header.get("schema_version")
        return None, f"schema version {version} is not {SCHEMA_VERSION}, the one this tempeval reads"
    return header, ""


def _root_labels(run_dirs: Sequence[Path]) -> list[str]:
    """A short label per runs folder: its name, or as much of its path as tells it from another of that name."""
    resolved = [d.resolve() for d in run_dirs]
    labels = []
    for index, folder in enumerate(resolved):
        depth = 1
        while depth < len(folder.parts):
            others = {"/".join(o.parts[-depth:]) for i, o in enumerate(resolved) if i != index and o != folder}
            if "/".join(folder.parts[-depth:]) not in others:
                break
            depth += 1
        labels.append("/".join(folder.parts[-depth:]))
    return labels


def _shown_path(label: str, root: Path, path: Path) -> str:
    """'runs/random/synth_order.jsonl': no absolute paths of the machine that built the site."""
    if root.is_file():
        return label
    return "/".join((label, *path.relative_to(root).parts))


def _run_id(shown: str) -> str:
    # Stable across builds (links to a run's samples survive a rebuild) and safe as a file name.
    return "r" + hashlib.sha1(shown.encode("utf-8")).hexdigest()[:12]


def _read_diagnoses(run_dirs: Sequence[Path]) -> list[dict[str, Any]]:
    """Every ``tempeval diagnose`` result under ``run_dirs``, its run files resolved against its folder."""
    found = []
    for root, label in zip(run_dirs, _root_labels(run_dirs), strict=True):
        if root.is_file():
            continue
        for path in sorted(root.rglob("*.json")):
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # not ours: any JSON file may sit beside the runs
            if not isinstance(raw, dict) or raw.get("type") != "diagnosis":
                continue
            named = raw["runs"] if isinstance(raw.get("runs"), dict) else {}
            paths = {str(role): (path.parent / name).resolve() for role, name in named.items() if isinstance(name, str)}
            found.append({"raw": raw, "file": _shown_path(label, root, path), "paths": paths})
    return found


def _variant_paths(diagnoses: Iterable[Mapping[str, Any]]) -> set[Path]:
    return {path for d in diagnoses for role, path in d["paths"].items() if role not in UNIFORM_ROLES}


def _load_models(run_dirs: Sequence[Path], models_file: Path | None) -> dict[str, dict[str, Any]]:
    """Model metadata by model string, from ``models_file`` or a ``models.yaml`` beside the runs."""
    if models_file is None:
        candidates = [d / MODELS_FILE for d in run_dirs if (d / MODELS_FILE).is_file()]
        if not candidates:
            return {}
        models_file = candidates[0]
    try:
        raw = yaml.safe_load(Path(models_file).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TempevalError(f"{models_file}: cannot read model metadata: {exc}") from exc
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise TempevalError(
            f"{models_file}: expected a mapping of model string -> fields, e.g.\n"
            "  openai/gpt-4o: {name: GPT-4o, size: null, link: 'https://openai.com', date: 2024-05-13, open: false}"
        )
    return {str(model): fields for model, fields in raw.items()}


# ---------------------------------------------------------------------------------------------------------------
# Which runs count


def _classify(runs: Sequence[_Run], variant_paths: set[Path]) -> list[_Run]:
    """Each run with its status, oldest first.

    Statuses: ``current``; ``superseded`` (a newer run of the same model, task and task version exists);
    ``older_version`` (the task has runs of a newer version); ``variant`` (a diagnostics input).
    """
    ranked = sorted(runs, key=lambda r: (_started(r), r.file), reverse=True)
    is_variant = {r.id: _is_variant(r, variant_paths) for r in runs}
    is_shard = {r.id: bool(r.header.get("shard")) for r in runs}
    in_rows = [r for r in ranked if not is_variant[r.id]]
    rows = dict(zip([r.id for r in in_rows], row_identities([r.header for r in in_rows]), strict=True))
    newest_version: dict[str, str] = {}
    for run in ranked:
        known = newest_version.get(run.task)
        if is_variant[run.id] or is_shard[run.id]:
            continue
        if known is None or _version_key(run.version) > _version_key(known):
            newest_version[run.task] = run.version
    taken: dict[tuple[Any, ...], _Run] = {}
    out = []
    for run in ranked:
        row = rows.get(run.id)
        key = (row.key if row else None, run.task, run.version)
        why = ""
        if is_shard[run.id]:
            status = SHARD
        elif is_variant[run.id] or row is None:
            status = VARIANT
        elif key in taken:
            status = SUPERSEDED
            why = (
                f"superseded by {taken[key].file}, a newer run of row '{row.display}' on {run.task}@{run.version} "
                "(give runs meant as rows of their own a --label)"
            )
        else:
            status = CURRENT if run.version == newest_version[run.task] else OLDER_VERSION
            if status == OLDER_VERSION:
                why = (
                    f"listed apart: {run.task} version {run.version} is older than version "
                    f"{newest_version[run.task]}, the one the overview shows"
                )
            taken[key] = run
        out.append(dataclasses.replace(run, status=status, row=row, why=why))
    return out[::-1]


def _is_variant(run: _Run, variant_paths: set[Path]) -> bool:
    """A run made by ``tempeval diagnose`` (its header says so; older files: a derived task ``<task>@<variant>``),
    or one a diagnosis names as a variant. A user's own ``--order shuffled`` run is a row like any other."""
    made_by = run.header.get("made_by")
    made_by_diagnose = made_by == "diagnose" or (made_by is None and "@" in run.task)
    return made_by_diagnose or run.path.resolve() in variant_paths


def _started(run: _Run) -> datetime.datetime:
    """The header's start time (timezone-aware; a missing or odd one sorts oldest)."""
    try:
        when = datetime.datetime.fromisoformat(str(run.header.get("started_at")))
    except ValueError:
        return datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Natural order of task versions: '2' < '10', '1.2' < '1.10'."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.findall(r"\d+|\D+", version))


def _read_all(
    runs: Sequence[_Run], samples_dir: Path, thumbnails: bool = True
) -> tuple[list[_Run], list[GroupSummary], list[tuple[_Run, str]]]:
    """Read, summarise and write out every run, a model at a time (in worker processes when there are many).

    Returns:
        The runs with summaries (oldest first), the group scores, and the runs that could not be read or
        summarised, with why.
    """
    by_model: dict[str, list[_Run]] = {}
    for run in runs:
        by_model.setdefault(run.model, []).append(run)
    jobs = list(by_model.values())
    workers = min(len(jobs), os.cpu_count() or 1, 8)
    if len(runs) < PARALLEL_MIN_RUNS or workers < 2:
        results = [_read_model(job, samples_dir, thumbnails) for job in jobs]
    else:
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_read_model, jobs, [samples_dir] * len(jobs), [thumbnails] * len(jobs)))
    summaries = {run_id: read for done, _, _ in results for run_id, read in done.items()}
    read = [
        dataclasses.replace(r, summary=summaries[r.id][0], chance=summaries[r.id][1]) for r in runs if r.id in summaries
    ]
    return read, [g for _, groups, _ in results for g in groups], [f for _, _, found in results for f in found]


def _read_model(
    runs: Sequence[_Run], samples_dir: Path, thumbnails: bool = True
) -> tuple[dict[str, tuple[RunSummary, Chance]], list[GroupSummary], list[tuple[_Run, str]]]:
    """One model's runs (oldest first): summaries and chance levels by run id, its group scores (from current
    runs), failures. Writes each run's samples file (and frame pictures, with ``thumbnails``)."""
    summaries: dict[str, tuple[RunSummary, Chance]] = {}
    current = []
    failed = []
    for run in runs:
        try:
            run_file = read_run(run.path)
            # An unknown metric (a plugin not installed here) fails too. Groups are formed per row. The headline's
            # bootstrap draws are kept for the CIs of the benchmarks that average it.
            summary = dataclasses.replace(summarize(run_file, headline_draws=True), row=run.row_name)
        except TempevalError as exc:
            failed.append((run, str(exc)))
            continue
        except (ValueError, TypeError, KeyError) as exc:  # records no tempeval wrote (a score that is not a number)
            failed.append((run, f"its records cannot be summarised ({type(exc).__name__}: {exc})"))
            continue
        summaries[run.id] = (summary, chance_level(run.header, run_file.records))
        strips = frame_strips(run_file.records, run.path, samples_dir.parent) if thumbnails else {}
        _write_samples(samples_dir / f"{run.id}.js", run.id, run_file.records, strips)
        if run.status == CURRENT:
            current.append((run_file, summary))
    groups = summarize_groups([r for r, _ in current], [s for _, s in current]) if current and not failed else []
    return summaries, groups, failed


# ---------------------------------------------------------------------------------------------------------------
# The site's data


def _site_data(
    runs: Sequence[_Run],
    groups: Sequence[GroupSummary],
    models: list[dict[str, Any]],
    diagnoses: Sequence[Mapping[str, Any]],
    skipped: list[dict[str, str]],
    run_dirs: Sequence[Path],
) -> dict[str, Any]:
    current = [r for r in runs if r.status == CURRENT]
    merged_into = _merged_into(runs)
    tasks = _tasks(current)
    benchmarks = _benchmarks(tasks)
    cells = _cells(current, groups, benchmarks)
    _add_chance(tasks, benchmarks, current)
    return {
        "schema": 1,
        "sources": _root_labels(run_dirs),
        "data_as_of": max((str(r.header.get("started_at") or "") for r in runs), default=""),
        "models": models,
        "benchmarks": benchmarks,
        "tasks": tasks,
        "cells": cells,
        "averages": _averages(models, benchmarks, cells),
        "model_frames": _model_frames(current),
        "group_results": [
            {
                "group": g.group,
                "model": g.model,
                "aggregate": g.aggregate,
                "metrics": _metric_map(g.metrics),
                "warnings": list(g.warnings),
                "ci_note": g.ci_note,
            }
            for g in sorted(groups, key=lambda g: (g.group, g.model))
        ],
        "runs": [_run_entry(r, merged_into) for r in runs],
        "diagnoses": _diagnoses(diagnoses, runs),
        "skipped": skipped,
    }


def _tasks(current: Sequence[_Run]) -> dict[str, dict[str, Any]]:
    """Per task with a current run: kind, version, headline (from run headers); description, groups (registry)."""
    known, grouped = registry.tasks(), registry.groups()
    out: dict[str, dict[str, Any]] = {}
    for run in current:  # oldest first: the newest run's header describes the task
        task = known.get(run.task)
        out[run.task] = {
            "kind": run.header.get("task_kind") or (task.kind if task else "unknown"),
            "version": run.version,
            "headline": run.summarized.headline,
            "description": task.description if task else "",
            "groups": [g for g in (task.groups if task else ()) if g in grouped],
        }
    return dict(sorted(out.items()))


def _benchmarks(tasks: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The overview's columns: each group with a current run of one of its tasks, and each task in no group."""
    member_lists = registry.groups()
    out: list[dict[str, Any]] = []
    for group in sorted({g for t in tasks.values() for g in t["groups"]}):
        spec, members = registry.group_spec(group), member_lists[group]
        out.append(
            {
                "id": group,
                "label": group,
                "is_group": True,
                "tasks": members,
                "kinds": sorted({tasks[t]["kind"] for t in members if t in tasks}),
                "metric": spec.metric,
                "aggregate": spec.aggregate,
                "description": _group_description(spec, members),
            }
        )
    for name, task in tasks.items():
        if not task["groups"]:
            out.append(
                {
                    "id": name,
                    "label": name,
                    "is_group": False,
                    "tasks": [name],
                    "kinds": [task["kind"]],
                    "metric": task["headline"],
                    "aggregate": "task",
                    "description": task["description"],
                }
            )
    return sorted(out, key=lambda b: str(b["label"]))


def _group_description(spec: registry.GroupSpec, members: Sequence[str]) -> str:
    if spec.aggregate == "micro":
        rule = f"'{spec.metric}' is one accuracy over all samples of its {len(members)} tasks (micro average)"
    else:
        rule = f"'{spec.metric}' is the unweighted mean of its {len(members)} tasks' headline metrics (macro average)"
    return f"Benchmark group: {rule}. A model gets a score once it has a current run of every task."


def _cells(
    current: Sequence[_Run], groups: Sequence[GroupSummary], benchmarks: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One cell per (model, benchmark) with at least one current run: its score, CI and the runs behind it."""
    by_key = {(r.row_name, r.task): r for r in current}
    group_scores = {(g.model, g.group): g for g in groups}  # a group's "model" is the row it was formed for
    models = sorted({r.row_name for r in current})
    cells = []
    for bench in benchmarks:
        for model in models:
            members = [by_key[(model, t)] for t in bench["tasks"] if (model, t) in by_key]
            if not members:
                continue
            metric: MetricValue | None
            notes: list[str] = []
            ci_note = ""
            if bench["is_group"]:
                group = group_scores.get((model, bench["id"]))
                notes = list(group.warnings) if group else []
                ci_note = group.ci_note if group else ""
                metric = group.metrics.get(bench["metric"]) if group else None
            else:
                metric = members[0].summarized.metrics.get(bench["metric"])
            summaries = [r.summarized for r in members]
            cells.append(
                {
                    "model": model,
                    "benchmark": bench["id"],
                    **_metric_json(metric),
                    "metric": bench["metric"],
                    "runs": [r.id for r in members],
                    "missing": [t for t in bench["tasks"] if (model, t) not in by_key],
                    "warnings": notes,
                    "ci_note": ci_note,
                    "samples": sum(s.n for s in summaries),
                    "errors": sum(s.errors for s in summaries),
                    "unparseable": sum(s.unparseable for s in summaries),
                }
            )
    return cells


def _add_chance(
    tasks: dict[str, dict[str, Any]], benchmarks: Sequence[dict[str, Any]], current: Sequence[_Run]
) -> None:
    """Each task's chance level (from its newest current run's records) and each benchmark's (from its tasks')."""
    newest = {r.task: r for r in current}  # oldest first: the newest run of each task is the last one
    chances = {task: newest[task].chance or Chance(None, "none: not computed") for task in tasks}
    for task, info in tasks.items():
        info["chance"] = chances[task].to_json()
    for bench in benchmarks:
        members = [(chances[t], newest[t].summarized.n) for t in bench["tasks"] if t in chances]
        if not bench["is_group"]:
            bench["chance"] = members[0][0].to_json()
        elif len(members) < len(bench["tasks"]):
            bench["chance"] = Chance(None, "none: a member task has no run").to_json()
        else:
            bench["chance"] = group_chance(bench["aggregate"], members).to_json()


def _model_frames(current: Sequence[_Run]) -> dict[str, list[str]]:
    """Row (model, or model · label) -> the distinct frame policies of its current runs ("8 frames, native")."""
    out: dict[str, set[str]] = {}
    for run in current:
        out.setdefault(run.row_name, set()).add(frames_and_resolution(run.header.get("frames")))
    return {model: sorted(labels) for model, labels in sorted(out.items())}


def frames_and_resolution(policy: Any) -> str:
    """A frame policy's frames and resolution: '16 frames, native', '1 fps (max 64), max 448 px'."""
    if not isinstance(policy, Mapping):
        return "unknown"
    return frames_label(policy) if policy.get("max_side") else f"{frames_label(policy)}, native"


def _averages(
    models: Sequence[Mapping[str, Any]], benchmarks: Sequence[Mapping[str, Any]], cells: Sequence[Mapping[str, Any]]
) -> dict[str, float | None]:
    """Mean over all benchmarks, for the models that have a score on every one (else None)."""
    scores = {(c["model"], c["benchmark"]): c["value"] for c in cells}
    out: dict[str, float | None] = {}
    for model in models:
        values = [scores.get((model["id"], b["id"])) for b in benchmarks]
        numbers = [v for v in values if v is not None]
        out[model["id"]] = _round(sum(numbers) / len(values)) if values and len(numbers) == len(values) else None
    return out


def _merged_into(runs: Sequence[_Run]) -> dict[str, str]:
    """Shard run id -> id of the merged run made of it (same model, task and version; named in ``merged_from``)."""
    out = {}
    for merged in runs:
        names = {Path(str(p)).name for p in merged.header.get("merged_from") or ()}
        for shard in runs:
            same = (shard.model, shard.task, shard.version) == (merged.model, merged.task, merged.version)
            if shard.status == SHARD and same and shard.path.name in names:
                out[shard.id] = merged.id
    return out


def _run_entry(run: _Run, merged_into: Mapping[str, str]) -> dict[str, Any]:
    header, summary = run.header, run.summarized
    dataset = header["dataset"] if isinstance(header.get("dataset"), dict) else {}
    return {
        "id": run.id,
        "model": run.row_name,
        "model_id": run.model,
        "label": header.get("label"),
        "made_by": header.get("made_by"),
        "task": run.task,
        "task_version": run.version,
        "kind": header.get("task_kind"),
        "status": run.status,
        "file": run.file,
        "started_at": header.get("started_at"),
        "shard": header.get("shard"),
        "merged_into": merged_into.get(run.id),
        "merged_at": header.get("merged_at"),
        "shards": sorted(shard for shard, merged in merged_into.items() if merged == run.id),
        "frames": frames_label(header.get("frames")),
        "frame_policy": header.get("frames"),
        "parser_mode": header.get("parser_mode"),
        "judge": header.get("judge"),
        "model_args": header.get("model_args"),
        "generation": header.get("generation"),
        "generation_label": generation_label(header.get("generation")),
        "dataset_revision": dataset.get("revision"),
        "tempeval_version": header.get("tempeval_version"),
        "git_commit": header.get("git_commit"),
        "limit": header.get("limit"),
        "partial": summary.partial,
        "samples": summary.samples,
        "complete": summary.complete,
        "n": summary.n,
        "errors": summary.errors,
        "unparseable": summary.unparseable,
        "error_rate": _round(100.0 * summary.errors / summary.n) if summary.n else 0.0,
        "parse_failure_rate": _round(summary.parse_failure_rate),
        "truncated": summary.truncated,
        "headline": summary.headline,
        "metrics": _metric_map(summary.metrics),
        "stream": stream_label(header.get("stream")),
    }


def stream_label(stream: Any) -> str | None:
    """A streaming run's settings in words ('1 fps, polled every 1 s on the whole stream, virtual time');
    ``None`` for other runs."""
    if not isinstance(stream, Mapping):
        return None
    polling: Mapping[str, Any] = stream["polling"] if isinstance(stream.get("polling"), Mapping) else {}
    window = polling.get("window_s")
    seen = "the whole stream" if window is None else f"its last {window:g} s"
    realtime = stream.get("realtime")
    clock = f"real time (busy: {realtime.get('busy')})" if isinstance(realtime, Mapping) else "virtual time"
    return f"{stream.get('stream_fps', 1):g} fps, polled every {polling.get('poll_every_s', 1):g} s on {seen}, {clock}"


def frames_label(policy: Any) -> str:
    """A frame policy in words: '16 frames', '1 fps (max 64)', '8 frames, shuffled, max 448 px'."""
    if not isinstance(policy, Mapping):
        return "unknown"
    if policy.get("fps") is not None:
        parts = [f"{policy['fps']:g} fps (max {policy.get('max_frames', '?')})"]
    else:
        count = policy.get("num_frames")
        parts = [f"{count} frame{'' if count == 1 else 's'}"]
    if policy.get("sampling", "uniform") != "uniform":
        parts.append(str(policy["sampling"]))
    if policy.get("order", "original") != "original":
        parts.append(str(policy["order"]))
    if policy.get("max_side"):
        parts.append(f"max {policy['max_side']} px")
    return ", ".join(parts)


def generation_label(generation: Any) -> str:
    """Decoding settings in words: 'max 64 tokens, greedy' or
    'max 4096 tokens, T=0.6, top-p 0.95, reasoning_effort=low'."""
    if not isinstance(generation, Mapping):
        return "unknown"
    parts = [f"max {generation.get('max_tokens', '?')} tokens"]
    temperature = generation.get("temperature")
    parts.append("greedy" if temperature == 0 else f"T={temperature:g}" if _is_number(temperature) else "T=?")
    top_p = generation.get("top_p", 1)
    if _is_number(top_p) and top_p != 1:
        parts.append(f"top-p {top_p:g}")
    extra = generation.get("extra")
    if isinstance(extra, Mapping):
        parts.extend(f"{key}={value}" for key, value in extra.items())
    return ", ".join(parts)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _diagnoses(diagnoses: Sequence[Mapping[str, Any]], runs: Sequence[_Run]) -> list[dict[str, Any]]:
    """Diagnosis results with their runs linked.

    The plotted accuracy is the unperturbed run's accuracy (with its CI) when that run is on the site, else the
    accuracy the diagnosis file states; each variant's accuracy likewise.
    """
    by_path = {r.path.resolve(): r for r in runs}
    out = []
    for found in diagnoses:
        raw = found["raw"]
        linked = {role: by_path.get(path) for role, path in found["paths"].items()}
        stated = raw.get("accuracy")
        variant_accuracy: dict[str, float | None] = {}
        for role, run in linked.items():
            variant_accuracy[role] = _accuracy_of(run)["value"] if run else None
            if variant_accuracy[role] is None and isinstance(stated, Mapping):
                variant_accuracy[role] = _round(_number(stated.get(role)))
        uniform = next((role for role in UNIFORM_ROLES if role in found["paths"]), None)
        accuracy = _accuracy_of(linked[uniform]) if uniform and linked[uniform] else None
        if accuracy is None or accuracy["value"] is None:
            from_file = stated.get(uniform) if isinstance(stated, Mapping) and uniform else stated
            accuracy = _measure(from_file)
        out.append(
            {
                "task": str(raw.get("task")),
                "model": str(raw.get("model")),
                "file": found["file"],
                **{name: _measure(raw.get(name)) for name in DIAGNOSIS_FIELDS},
                "accuracy": accuracy,
                "uniform": uniform,
                "runs": {role: run.id if run else None for role, run in linked.items()},
                "variant_accuracy": variant_accuracy,
                "notes": [str(n) for n in raw.get("notes") or [] if isinstance(n, str)],
            }
        )
    return out


def _accuracy_of(run: _Run | None) -> dict[str, Any]:
    """A run's accuracy (its headline when it has no plain accuracy)."""
    if run is None:
        return _metric_json(None)
    metrics = run.summarized.metrics
    return _metric_json(metrics.get("accuracy") or metrics.get(run.summarized.headline))


def _number(raw: Any) -> float | None:
    return float(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else None


def _measure(raw: Any) -> dict[str, Any] | None:
    """A diagnosis number: ``{"value": v, "ci": [lo, hi]}``, a bare number, or null."""
    if _number(raw) is not None:
        return {"value": _round(_number(raw)), "ci": None}
    if isinstance(raw, Mapping) and _number(raw.get("value")) is not None:
        ci = raw.get("ci")
        bounds = [_number(x) for x in ci] if isinstance(ci, (list, tuple)) and len(ci) == 2 else [None]
        good = None not in bounds
        return {"value": _round(_number(raw["value"])), "ci": [_round(b) for b in bounds] if good else None}
    return None


def _models(runs: Sequence[_Run], meta: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per model row: its id is the row's name; its metadata is the model's (``models.yaml`` is keyed by
    model string), its name the row's ``--label``, or the model's name with what sets the row apart."""
    rows = {run.row_name: run for run in sorted(runs, key=lambda r: r.row_name)}
    out = []
    for row_name, run in rows.items():
        model = run.model
        fields = meta.get(model, {})
        is_open = fields.get("open")
        if isinstance(is_open, str):
            is_open = is_open.strip().lower() in {"open", "yes", "true", "open-source", "open source", "open weights"}
        name = str(fields.get("name") or fields.get("display_name") or model)
        if run.row is not None and run.row.label is not None:
            name = row_name
        elif row_name != model:
            name += row_name.removeprefix(model)  # ' · 8 f'
        out.append(
            {
                "id": row_name,
                "model": model,
                "name": name,
                "size": _text(fields.get("size")),
                "link": _text(fields.get("link")),
                "date": _text(fields.get("date")),
                "type": None if is_open is None else ("open" if is_open else "closed"),
            }
        )
    return out


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _metric_map(metrics: Mapping[str, MetricValue]) -> dict[str, dict[str, Any]]:
    return {name: _metric_json(value) for name, value in metrics.items()}


def _metric_json(metric: MetricValue | None) -> dict[str, Any]:
    if metric is None:
        return {"value": None, "ci": None, "n": 0}
    ci = None if metric.ci is None else [_round(metric.ci[0]), _round(metric.ci[1])]
    return {"value": _round(metric.value), "ci": ci, "n": metric.n}


def _round(value: float | None) -> float | None:
    """Four decimals (percentage points) keep the data small; NaN (no units) becomes null."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 4)


# ---------------------------------------------------------------------------------------------------------------
# Writing


SITE_FILES = (*ASSETS, "data.js", "data.json", "overview.csv", SAMPLES_DIR, THUMBS_DIR)
"""What a build writes; anything else a user keeps in the site folder (a CNAME, notes) is carried over."""


def _prepare(out: Path) -> Path:
    """An empty staging folder beside ``out``: the site is built there whole, then renamed into place.

    A kill mid-build leaves the previous site as it was (and a hidden staging folder), never a ``data.js`` of
    0 bytes or one naming sample files that are gone.
    """
    if out.exists() and not out.is_dir():
        raise TempevalError(f"{out} is a file; the leaderboard is written into a folder. Give -o a folder.")
    out = out.resolve()
    if Path.cwd().resolve().is_relative_to(out):
        raise TempevalError(
            f"{out} holds the current folder; the site is swapped into place as a whole folder, so give it a "
            "folder of its own (e.g. -o site)."
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.building-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    (staging / SAMPLES_DIR).mkdir(parents=True)
    return staging


def _swap_in(staging: Path, out: Path) -> None:
    """Put the built site at ``out``: the user's own files are carried over, then two renames swap folders."""
    out = out.resolve()
    if not out.exists():
        os.replace(staging, out)
        return
    for entry in out.iterdir():
        if entry.name not in SITE_FILES:
            if entry.is_dir():
                shutil.copytree(entry, staging / entry.name, symlinks=True)
            else:
                shutil.copy2(entry, staging / entry.name, follow_symlinks=False)
    retired = out.parent / f".{out.name}.old-{os.getpid()}"
    os.replace(out, retired)
    os.replace(staging, out)
    shutil.rmtree(retired, ignore_errors=True)


def _write_site(out: Path, data: dict[str, Any]) -> None:
    assets = Path(__file__).parent / "assets"
    for name in ASSETS:
        shutil.copyfile(assets / name, out / name)
    text = script_json(data)
    (out / "data.json").write_text(text + "\n", encoding="utf-8")
    (out / "data.js").write_text(f"window.TEMPEVAL_DATA = {text};\n", encoding="utf-8")
    (out / "overview.csv").write_text(overview_csv(data), encoding="utf-8", newline="")


def _write_samples(
    path: Path, run_id: str, records: Sequence[Mapping[str, Any]], strips: Mapping[int, Strip] | None = None
) -> None:
    """The sample browser's data of one run, as a script that files it under its run id.

    Columns (``fields``, then one row per record) rather than one object per record: the file is a third smaller
    and twice as fast to write. ``cut`` maps a row to the full length of an output that was shortened;
    ``strips`` a row to its frame strip (pictures and times, or why there are none).
    """
    try:
        rows: list[Any] = [(*_SAMPLE_ROW(record), stream_view(record)) for record in records]
    except KeyError:  # a record without one of the fields (an older run file)
        rows = [[*(record.get(name) for name in SAMPLE_FIELDS), stream_view(record)] for record in records]
    cut: dict[int, int] = {}
    for index, row in enumerate(rows):
        output = row[_OUTPUT]
        if isinstance(output, str) and len(output) > MAX_OUTPUT_CHARS:
            rows[index] = (*row[:_OUTPUT], output[:MAX_OUTPUT_CHARS], *row[_OUTPUT + 1 :])
            cut[index] = len(output)
    shown = {index: strip.to_json() for index, strip in (strips or {}).items()}
    payload = script_json({"fields": SHOWN_FIELDS, "rows": rows, "cut": cut, "strips": shown})
    path.write_text(
        f"(window.TEMPEVAL_SAMPLES = window.TEMPEVAL_SAMPLES || {{}})[{json.dumps(run_id)}] = {payload};\n",
        encoding="utf-8",
    )


def stream_view(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """A streaming record's timeline for the sample browser, or ``None`` for any other record: the frames
    delivered (and dropped), the times the model was pushed an event it answered (polls), its responses, each
    query's time, each due window with its answer and delay, and each query-time answer with its delay."""
    stream = record.get("stream")
    if not isinstance(stream, Mapping) or not isinstance(stream.get("log"), Mapping):
        return None
    log: Mapping[str, Any] = stream["log"]
    frames = [f for f in log.get("frames") or () if isinstance(f, Mapping)]
    entries = [e for e in log.get("entries") or () if isinstance(e, Mapping)]
    answer: Mapping[str, Any] = record["answer"] if isinstance(record.get("answer"), Mapping) else {}
    queries = [q for q in record.get("target") or () if isinstance(q, Mapping)]
    actions = [(e, e.get("action") or {}) for e in entries]

    def t(value: Any) -> float | None:
        return round(float(value), 3) if _is_number(value) else None

    return {
        "frames": [t(f.get("t")) for f in frames if f.get("delivered_at_s") is not None],
        "dropped": [t(f.get("t")) for f in frames if f.get("delivered_at_s") is None],
        "polls": sorted({t(e.get("event_t_s")) for e in entries if _is_number(e.get("event_t_s"))}),
        "responses": [[t(e.get("taken_at_s")), a.get("query_id"), str(a.get("text", ""))[:MAX_RESPONSE_CHARS]]
                      for e, a in actions if a.get("kind") == "respond"],
        "errors": [[t(e.get("taken_at_s")), str(a.get("message", ""))[:MAX_RESPONSE_CHARS]]
                   for e, a in actions if a.get("kind") == "error"],
        "queries": [[q.get("query_id"), t(q.get("asked_at_s"))] for q in queries],
        "windows": [[w.get("query_id"), t(w.get("start_s")), t(w.get("end_s")), t(w.get("answered_at_s")),
                     t(w.get("delay_s"))] for w in answer.get("windows") or () if isinstance(w, Mapping)],
        "answers": [[q.get("query_id"), t(q.get("answered_at_s")), t(q.get("delay_s")), q.get("value")]
                    for q in answer.get("queries") or () if isinstance(q, Mapping)],
        "polled": bool(not stream.get("native")),
    }


_SAMPLE_ROW = operator.itemgetter(*SAMPLE_FIELDS)
_OUTPUT = SAMPLE_FIELDS.index("output")


_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(value: Any) -> str:
    """JSON that is also safe inside a ``<script>`` and as a JavaScript literal.

    ``</script>`` or ``<!--`` in a model output cannot end or bend the script, and U+2028/2029 cannot end a line
    of it; the escapes sit inside JSON strings, so the text still parses as the same JSON. NaN and infinities
    (not JSON) become null.
    """
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    except ValueError:
        text = json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"), default=str)
    for char, escape in _SCRIPT_ESCAPES.items():
        if char in text:  # a C-speed scan; most texts have none of these
            text = text.replace(char, escape)
    return text


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def csv_cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: a leading = + - @ (or tab, CR) gets a ' in front; numbers stay."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def overview_csv(data: Mapping[str, Any]) -> str:
    """The overview table: one row per model, score and 95% CI bounds per benchmark, and the average."""
    benchmarks = data["benchmarks"]
    cells = {(c["model"], c["benchmark"]): c for c in data["cells"]}
    header = ["model", "name", "size", "date", "type", "average"]
    for bench in benchmarks:
        header += [bench["id"], f"{bench['id']} ci_low", f"{bench['id']} ci_high"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_cell(h) for h in header])
    for model in data["models"]:
        if not any(key[0] == model["id"] for key in cells):
            continue  # only older-version or variant runs: not on the overview
        row = [model["id"], model["name"], model["size"], model["date"], model["type"], data["averages"][model["id"]]]
        for bench in benchmarks:
            cell = cells.get((model["id"], bench["id"])) or {}
            ci = cell.get("ci") or [None, None]
            row += [cell.get("value"), ci[0], ci[1]]
        writer.writerow([csv_cell(value) for value in row])
    return buffer.getvalue()
