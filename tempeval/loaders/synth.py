"""Loader for the built-in synthetic temporal suite (generated on first use, then reused)."""

from __future__ import annotations

from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.task import Task
from tempeval.types import Sample


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """Generate the suite if needed and return the samples of the task's subset."""
    from tempeval import synth

    if task.subset is None:
        raise ValueError(f"{task.source_file}: a synth task needs 'subset' (one of {', '.join(synth.SUBSETS)}).")
    return synth.load_samples(
        task.subset,
        options.synth_dir,
        seed=int(dataset.options.get("seed", 0)),
        per_task=synth_per_task(dataset, options),
    )


def synth_per_task(dataset: DatasetEntry, options: LoadOptions) -> int:
    """Records per subset: ``options.synth_per_task`` when given, else the registry's ``per_task``."""
    if options.synth_per_task is not None:
        return options.synth_per_task
    return int(dataset.options.get("per_task", 60))
