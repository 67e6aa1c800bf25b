"""Official prediction files in, tempeval run files out (the same schema ``tempeval run`` writes).

Each benchmark module that can import provides ``import_predictions(paths, samples_of) -> {task: {sample_id:
output}}``: it reads the benchmark's official prediction files and maps each prediction onto the sample ids its
loader produces. The rest (headers, records, scoring in the official parser mode) is shared here, so an imported
run is re-scored, shown and compared exactly like a new one.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tempeval import benchmarks, registry
from tempeval.errors import RunFileError, TempevalError
from tempeval.loaders import LoadOptions, load_samples
from tempeval.plugins import Kind, resolve
from tempeval.results import NO_PREDICTION, read_run, run_lock, write_run_file
from tempeval.runner import RunOptions, build_record, run_header, run_path
from tempeval.scoring.rescore import score_record, scorer_for
from tempeval.types import Prediction, Sample

IMPORTERS: dict[str, str] = {}
"""Benchmark name -> ``module:function`` of its official-prediction importer."""

SamplesOf = Callable[[str], list[Sample]]
Importer = Callable[[Sequence[Path], SamplesOf], Mapping[str, Mapping[str, str | None]]]

MISSING = NO_PREDICTION


IMPORTER_KIND = Kind(
    "benchmark to import", "tempeval.importers", IMPORTERS, "tempeval list tasks",
    convention=lambda name: f"tempeval.benchmarks.{name}:import_predictions",
    more_names=lambda: [m.name for m in pkgutil.iter_modules(benchmarks.__path__)],
)


def get_importer(benchmark: str) -> Importer:
    """The importer of ``benchmark``: from ``IMPORTERS``, a ``tempeval.importers`` entry point,
    ``module:function``, else ``tempeval.benchmarks.<benchmark>:import_predictions``."""
    importer: Importer = resolve(IMPORTER_KIND, benchmark)
    return importer


def import_runs(
    benchmark: str, model: str, paths: Sequence[Path], out_dir: Path, load: LoadOptions | None = None
) -> list[Path]:
    """Convert official prediction files into one run file per task; returns the files written.

    Runs are scored in the task's ``official`` parser mode where it has one. A sample with no prediction in the
    files is recorded as an error (so it is counted, never silently dropped).
    """
    load = load or LoadOptions()
    files = [file for path in paths for file in (sorted(path.rglob("*")) if path.is_dir() else [path])]
    files = [file for file in files if file.is_file()]
    if not files:
        raise TempevalError(f"No prediction files found in {', '.join(map(str, paths))}.")
    cache: dict[str, list[Sample]] = {}

    def samples_of(task_name: str) -> list[Sample]:
        if task_name not in cache:
            task = registry.get_task(task_name)
            cache[task_name] = load_samples(task, registry.get_dataset(task.dataset), load)
        return cache[task_name]

    written = []
    for task_name, outputs in get_importer(benchmark)(files, samples_of).items():
        task = registry.get_task(task_name)
        mode = "official" if "official" in task.scorers else task.parser_mode
        options = RunOptions(out_dir=out_dir, load=load, parser_mode=mode, progress=False)
        header = run_header(task, model, {"imported_from": [str(f) for f in files]}, options)
        header.update(frames=None, decoder=None, imported=True)
        _, scorer = scorer_for(header)
        path = run_path(out_dir, model, task)
        records = []
        for sample in samples_of(task_name):
            text = outputs.get(sample.id)
            prediction = Prediction(sample.id, text, error=None if sample.id in outputs else MISSING)
            records.append(score_record(build_record(task, sample, prediction), scorer))
        with run_lock(path):  # written whole, then renamed onto the path: a kill keeps the previous file
            _check_replaceable(path, header)
            written.append(write_run_file(path, header, records))
    return written


def _check_replaceable(path: Path, header: Mapping[str, Any]) -> None:
    """Refuse to replace anything but an earlier import of the same task for the same model."""
    if not path.exists():
        return
    existing: Mapping[str, Any]
    try:
        existing = read_run(path).header
    except RunFileError as exc:
        existing, problem = {}, f" ({exc})"
    else:
        problem = ""
    same = existing.get("imported") is True and all(existing.get(k) == header.get(k) for k in ("task", "model"))
    if not same:
        raise RunFileError(
            f"{path} exists and is not an earlier import of {header.get('task')} for model {header.get('model')!r}"
            f"{problem}; import never replaces it. Give --out another folder or another --model label, or "
            "delete that file first."
        )
