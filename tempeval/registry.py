"""Where tasks and datasets are found: the installed ``tasks/`` folder plus ``tempeval.tasks`` entry points.

A plugin registers tasks by an entry point in the group ``tempeval.tasks`` whose value is a module; every
``*.yaml`` file in that module's folder is a task file (one task, or a family), except ``datasets.yaml`` (its
dataset entries), ``groups.yaml`` (how groups aggregate) and base files named ``_*.yaml`` (keys that task files
``include:``).
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from tempeval.errors import TempevalError, unknown_name
from tempeval.plugins import forget_plugins
from tempeval.task import Task, TaskError, is_base_file, read_task_files

DATASETS_FILE = "datasets.yaml"
GROUPS_FILE = "groups.yaml"


@dataclass(frozen=True)
class DatasetEntry:
    """One pinned dataset of the registry."""

    name: str
    loader: str
    """Name of the loader function in ``tempeval.loaders`` that turns its records into Samples."""
    source: str
    """``builtin``, ``hf://owner/repo`` or ``local``."""
    revision: str
    """Pinned revision (a commit hash, or the generator version for built-in data); never 'latest'."""
    license: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Loader-specific settings (annotation files, video folder, ...)."""


def _task_dirs() -> list[Path]:
    dirs = [Path(importlib.import_module("tempeval.tasks").__file__ or "").parent]
    for entry_point in importlib.metadata.entry_points(group="tempeval.tasks"):
        module = entry_point.load()
        module_file = getattr(module, "__file__", None)
        if module_file:
            dirs.append(Path(module_file).parent)
    return dirs


@dataclass(frozen=True)
class GroupSpec:
    """How a group's overall score is formed from its tasks' runs."""

    name: str
    aggregate: str = "macro"
    """``micro``: one metric over all samples of all member tasks; ``macro``: mean of the members' headlines."""
    metric: str = "accuracy"
    """Name of the group's overall metric."""
    by: tuple[str, ...] = ()
    """Meta keys to break a micro group down by."""
    carry: bool = False
    """Also report the member runs' other metrics (task-level breakdowns) in the group's result."""
    official_skips_empty: bool = False
    """Official mode: a member's macro headline leaves out the breakdown values (e.g. task codes) that have no
    prediction at all, as the official script averages only the ones present (OVO-Bench); strict counts them 0."""
    member_metrics: Mapping[str, str] = field(default_factory=dict)
    """Member task -> the metric of its run that enters a macro mean, where that is not the member's headline
    (StreamingBench's proactive task enters with its answer accuracy, not its timing score)."""


@lru_cache(maxsize=1)
def _catalogue() -> tuple[dict[str, Task], dict[str, DatasetEntry], dict[str, GroupSpec]]:
    tasks: dict[str, Task] = {}
    datasets: dict[str, DatasetEntry] = {}
    specs: dict[str, GroupSpec] = {}
    for folder in _task_dirs():
        datasets_path = folder / DATASETS_FILE
        if datasets_path.exists():
            datasets.update(_read_datasets(datasets_path))
        if (folder / GROUPS_FILE).exists():
            specs.update(_read_groups(folder / GROUPS_FILE))
        for path in sorted(folder.glob("*.yaml")):
            if path.name in (DATASETS_FILE, GROUPS_FILE) or is_base_file(path):
                continue
            for task in read_task_files(path):
                if task.name in tasks:
                    raise TaskError(
                        f"{path}: task name '{task.name}' is also defined in {tasks[task.name].source_file}."
                    )
                tasks[task.name] = task
                if task.dataset_spec is not None:
                    datasets[task.dataset] = inline_dataset(task)
    for task in tasks.values():
        if task.dataset not in datasets:
            raise TaskError(
                f"{task.source_file}: dataset '{task.dataset}' is not in any {DATASETS_FILE} "
                f"(known: {', '.join(sorted(datasets))})."
            )
    return tasks, datasets, specs


def _read_groups(path: Path) -> dict[str, GroupSpec]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return {
            name: GroupSpec(
                name,
                aggregate=str(spec.get("aggregate", "macro")),
                metric=str(spec.get("metric", "accuracy")),
                by=tuple(spec.get("by") or ()),
                carry=bool(spec.get("carry", False)),
                official_skips_empty=bool(spec.get("official_skips_empty", False)),
                member_metrics=_member_metrics(path, name, spec.get("member_metrics")),
            )
            for name, spec in raw.items()
        }
    except (OSError, yaml.YAMLError, AttributeError) as exc:
        raise TempevalError(f"{path}: cannot read group definitions: {exc}") from exc


def _member_metrics(path: Path, group: str, raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise TempevalError(
            f"{path}: group '{group}': member_metrics must map a member task's name to one of its metrics' names "
            f"(e.g. {{streamingbench_proactive: proactive_answer_accuracy}}), not {raw!r}."
        )
    return dict(raw)


def _read_datasets(path: Path) -> dict[str, DatasetEntry]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TempevalError(f"{path}: cannot read the dataset registry: {exc}") from exc
    entries: dict[str, DatasetEntry] = {}
    for name, spec in raw.items():
        try:
            entries[name] = DatasetEntry(
                name=name,
                loader=str(spec["loader"]),
                source=str(spec["source"]),
                revision=str(spec["revision"]),
                license=str(spec.get("license", "")),
                options=dict(spec.get("options") or {}),
            )
        except (KeyError, TypeError) as exc:
            raise TempevalError(
                f"{path}: dataset '{name}' needs loader, source and revision (missing {exc})."
            ) from exc
        if entries[name].revision.lower() in {"", "latest", "main", "master", "none", "head"}:
            raise TempevalError(
                f"{path}: dataset '{name}' must pin a revision (a commit), or say 'unpinned' so that fetching "
                f"asks for one; not '{entries[name].revision}'."
            )
    return entries


def inline_dataset(task: Task) -> DatasetEntry:
    """The dataset entry of a task whose ``dataset:`` is a mapping; its paths are relative to the task file.

    The entry's folder is the task file's folder, so ``path``, ``videos`` and ``folder`` given relative resolve
    from there whatever the working folder; ``path`` is listed as its annotation file, so run headers carry its
    sha256.
    """
    spec = dict(task.dataset_spec or {})
    base = Path(task.source_file).expanduser().resolve().parent
    options = {key: value for key, value in spec.items() if key not in ("loader", "source", "revision", "license")}
    options["folder"] = str(base / str(options.get("folder", ".")))
    if "path" in options:
        options.setdefault("annotations", [str(options["path"])])
    return DatasetEntry(
        name=task.dataset,
        loader=str(spec["loader"]),
        source=str(spec.get("source", "local")),
        revision=str(spec.get("revision", "local")),
        license=str(spec.get("license", "")),
        options=options,
    )


_FILE_TASKS: dict[str, tuple[Task, DatasetEntry | None]] = {}
"""Tasks given as a path to their YAML file (``--task path/to/my.yaml``), by task name, with their datasets."""

TASK_FILE_SUFFIXES = (".yaml", ".yml")


def is_task_path(name: str) -> bool:
    """Whether a ``--task`` value names a task file rather than a registered task or group."""
    return name.endswith(TASK_FILE_SUFFIXES) or "/" in name or "\\" in name


def load_task_path(path: str | Path) -> list[Task]:
    """Read a task YAML file outside the registry and make its task(s) (and inline datasets) resolvable by name.

    Returns:
        Its task, or every task of a family (``subsets:``).

    Raises:
        TaskError: the file is missing or invalid, a dataset is unknown, or a name is a registered task's.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise TaskError(f"{file}: no such task file (a --task value with a '/' or ending in .yaml is a file path).")
    known_tasks, known_datasets = _catalogue()[0], _catalogue()[1]
    loaded = []
    for task in read_task_files(file):
        if task.name in known_tasks and Path(known_tasks[task.name].source_file).resolve() != file.resolve():
            raise TaskError(
                f"{file}: task name '{task.name}' is also a registered task ({known_tasks[task.name].source_file}); "
                "rename it so that run files and results do not mix."
            )
        entry = inline_dataset(task) if task.dataset_spec is not None else None
        if entry is not None and task.name in known_datasets:
            raise TaskError(
                f"{file}: task name '{task.name}' is also a registered dataset's; an inline dataset goes by its "
                "task's name, so rename the task."
            )
        if entry is None and task.dataset not in known_datasets:
            raise TaskError(
                f"{file}: dataset '{task.dataset}' is not in any {DATASETS_FILE}; give a registered dataset name or "
                "an inline mapping (dataset: {loader: records, path: ..., fields: {...}}); see docs/TASKS.md."
            )
        _FILE_TASKS[task.name] = (task, entry)
        loaded.append(task)
    return loaded


def reload() -> None:
    """Forget cached task files and plugin entry points (after installing a plugin in-process, in tests)."""
    _catalogue.cache_clear()
    forget_plugins()
    _FILE_TASKS.clear()


def tasks() -> dict[str, Task]:
    """All registered tasks by name."""
    return dict(_catalogue()[0])


def datasets() -> dict[str, DatasetEntry]:
    """All registered datasets by name."""
    return dict(_catalogue()[1])


def group_spec(name: str) -> GroupSpec:
    """How the group ``name`` is aggregated (macro over its tasks unless groups.yaml says otherwise)."""
    return _catalogue()[2].get(name, GroupSpec(name))


def groups() -> dict[str, list[str]]:
    """Group name -> the names of its tasks (sorted)."""
    members: dict[str, list[str]] = {}
    for task in tasks().values():
        for group in task.groups:
            members.setdefault(group, []).append(task.name)
    return {group: sorted(names) for group, names in sorted(members.items())}


def get_task(name: str) -> Task:
    """The task called ``name`` (or the task file at that path); an unknown name suggests near matches."""
    if name in _FILE_TASKS:
        return _FILE_TASKS[name][0]
    if is_task_path(name):
        loaded = load_task_path(name)
        if len(loaded) != 1:
            names = ", ".join(t.name for t in loaded)
            raise TaskError(f"{name}: a family of {len(loaded)} tasks; name one of {names}.")
        return loaded[0]
    known = tasks()
    if name not in known:
        member_lists = groups()
        if name in member_lists:
            members = member_lists[name]
            raise TempevalError(
                f"'{name}' is a group of {len(members)} tasks, not one task: {', '.join(members)}. "
                f"Name one of them here, e.g. --task {members[0]}."
            )
        raise unknown_name("task", name, list(known) + list(member_lists), "tempeval list tasks")
    return known[name]


def get_dataset(name: str) -> DatasetEntry:
    """The dataset entry called ``name`` (an inline dataset goes by its task's name)."""
    file_entry = _FILE_TASKS.get(name, (None, None))[1]
    if file_entry is not None:
        return file_entry
    known = datasets()
    if name not in known:
        raise unknown_name("dataset", name, known, "tempeval list tasks")
    return known[name]


def resolve(names: Iterable[str]) -> list[Task]:
    """Expand task and group names (each may be a comma-separated list) and task file paths into tasks, in
    order, each once."""
    known, member_lists = tasks(), groups()
    chosen: list[str] = []
    for name in (part.strip() for given in names for part in given.split(",") if part.strip()):
        if is_task_path(name):
            loaded = load_task_path(name)
            known.update({task.name: task for task in loaded})
            expanded = [task.name for task in loaded]
        else:
            expanded = member_lists.get(name, [name])
        for task_name in expanded:
            if task_name not in known:
                raise unknown_name("task", task_name, list(known) + list(member_lists), "tempeval list tasks")
            if task_name not in chosen:
                chosen.append(task_name)
    return [known[name] for name in chosen]
