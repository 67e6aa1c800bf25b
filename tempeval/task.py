"""A task is data: one YAML file naming its dataset, kind, prompt, answer format, frame policy and metrics."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tempeval.errors import TempevalError
from tempeval.types import TASK_KINDS, AnswerFormat, FramePolicy, GenerationConfig, TaskKind

ANSWER_FORMATS: tuple[str, ...] = (
    "letter", "yes_no", "true_false", "window", "number", "text", "letter_window", "letters", "events",
)

_REQUIRED = ("name", "version", "kind", "dataset", "answer_format", "prompt")
_OPTIONAL = (
    "description", "subset", "groups", "frames", "generation", "metrics", "group_by", "headline", "parser_mode",
    "scorers", "subsets", "stream",
)
STREAM_KEYS: tuple[str, ...] = ("fps", "half_life_s", "pauc_omega", "keep_answered")
"""Keys of a streaming task's ``stream:`` mapping: frames per second of the stream, the timing rule's half-life
and PAUC weight, and whether a polled question stays open after its first answer."""


class TaskError(TempevalError):
    """A task file that does not describe a valid task."""


@dataclass(frozen=True)
class MetricSpec:
    """One metric a task reports: a name from ``tempeval.scoring.metrics`` and its options."""

    name: str
    by: str | None = None
    """Grouping key in ``Sample.meta`` for metrics that need one (macro, grouped, pairs)."""
    label: str | None = None
    """Report under this name; for a breakdown (``accuracy[key=v]``), a format string with ``{value}``."""
    where: Mapping[str, Any] = field(default_factory=dict)
    """Only samples whose meta has these values (e.g. ``{mode: forward}``)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for run headers."""
        return {"name": self.name, "by": self.by, "label": self.label, "where": dict(self.where)}


@dataclass(frozen=True)
class Task:
    """A parsed task file. Build with :func:`parse_task`; samples come from the dataset's loader."""

    name: str
    version: str
    kind: TaskKind
    dataset: str
    answer_format: AnswerFormat
    prompt: str
    subset: str | None = None
    description: str = ""
    groups: tuple[str, ...] = ()
    frames: FramePolicy = field(default_factory=FramePolicy)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    metrics: tuple[MetricSpec, ...] = (MetricSpec("accuracy"),)
    group_by: tuple[str, ...] = ()
    """Meta keys to break accuracy down by."""
    headline: str = "accuracy"
    """The metric shown first in summaries and on the leaderboard."""
    parser_mode: str = "strict"
    """The parser mode runs are scored in by default (a key of ``scorers``)."""
    scorers: Mapping[str, str] = field(default_factory=lambda: {"strict": "strict"})
    """Parser mode -> scorer name: ``strict`` (tempeval's parser) and, for benchmarks, ``official``."""
    source_file: str = ""
    stream: Mapping[str, Any] = field(default_factory=dict)
    """A streaming task's settings (``STREAM_KEYS``); empty for other kinds."""
    dataset_spec: Mapping[str, Any] | None = None
    """An inline ``dataset:`` mapping (loader and its options, paths relative to the task file); ``dataset`` is
    then the task's name. ``None`` when ``dataset`` names an entry of a ``datasets.yaml``."""


def parse_task(data: Mapping[str, Any], source: str) -> Task:
    """Validate one task mapping (as read from YAML) into a :class:`Task`.

    Raises:
        TaskError: naming ``source`` and the field at fault, with what is allowed.
    """

    def fail(message: str) -> TaskError:
        return TaskError(f"{source}: {message}")

    if not isinstance(data, Mapping):
        raise fail("a task file must be a YAML mapping of fields (name, version, kind, dataset, ...).")
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise fail(f"missing required field(s) {', '.join(missing)}.")
    unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise fail(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(_REQUIRED + _OPTIONAL)}.")
    if data["kind"] not in TASK_KINDS:
        raise fail(f"kind {data['kind']!r} is not one of {', '.join(TASK_KINDS)}.")
    if data["answer_format"] not in ANSWER_FORMATS:
        raise fail(f"answer_format {data['answer_format']!r} is not one of {', '.join(ANSWER_FORMATS)}.")
    try:
        frame_fields = dict(data.get("frames") or {"num_frames": 8})
        if "fps" in frame_fields:  # a rate replaces the default frame count unless both are said
            frame_fields.setdefault("num_frames", None)
        frames = FramePolicy.from_dict(frame_fields)
        generation = GenerationConfig(**(data.get("generation") or {}))
    except (TypeError, ValueError) as exc:
        raise fail(f"bad frames/generation settings: {exc}") from exc
    dataset_spec = _dataset_spec(data["dataset"], fail)
    stream = _stream_settings(data, fail)
    metrics = tuple(_metric_spec(entry, fail) for entry in data.get("metrics") or ["accuracy"])
    scorers = {"strict": "strict", **{str(k): str(v) for k, v in (data.get("scorers") or {}).items()}}
    parser_mode = str(data.get("parser_mode", "strict"))
    if parser_mode not in scorers:
        raise fail(f"parser_mode '{parser_mode}' is not one of its scorers' modes ({', '.join(sorted(scorers))}).")
    return Task(
        name=str(data["name"]),
        version=str(data["version"]),
        kind=data["kind"],
        dataset=str(data["name"]) if dataset_spec is not None else str(data["dataset"]),
        answer_format=data["answer_format"],
        prompt=str(data["prompt"]),
        subset=None if data.get("subset") is None else str(data["subset"]),
        description=str(data.get("description", "")).strip(),
        groups=tuple(str(g) for g in data.get("groups") or ()),
        frames=frames,
        generation=generation,
        metrics=metrics,
        group_by=tuple(str(k) for k in data.get("group_by") or ()),
        headline=str(data.get("headline", "accuracy")),
        parser_mode=parser_mode,
        scorers=scorers,
        source_file=source,
        stream=stream,
        dataset_spec=dataset_spec,
    )


def _stream_settings(data: Mapping[str, Any], fail: Any) -> dict[str, Any]:
    """A streaming task's ``stream:`` mapping, checked; other kinds may not have one."""
    value = data.get("stream")
    if value is None:
        return {}
    if data["kind"] != "streaming":
        raise fail("'stream' settings belong to tasks of kind streaming.")
    if not isinstance(value, Mapping) or not set(value) <= set(STREAM_KEYS):
        raise fail(f"'stream' must be a mapping of {', '.join(STREAM_KEYS)}; got {value!r}.")
    for key in ("fps", "half_life_s"):
        if key in value and not (_is_number(value[key]) and value[key] > 0):
            raise fail(f"stream.{key} must be a positive number, got {value[key]!r}.")
    if "pauc_omega" in value and not (_is_number(value["pauc_omega"]) and 0 <= value["pauc_omega"] <= 1):
        raise fail(f"stream.pauc_omega must be a number from 0 to 1, got {value['pauc_omega']!r}.")
    if "keep_answered" in value and not isinstance(value["keep_answered"], bool):
        raise fail(f"stream.keep_answered must be true or false, got {value['keep_answered']!r}.")
    return dict(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _dataset_spec(value: Any, fail: Any) -> dict[str, Any] | None:
    """An inline dataset mapping (it must name a ``loader``), or ``None`` for a registry dataset name."""
    if isinstance(value, str):
        return None
    if not isinstance(value, Mapping) or "loader" not in value:
        raise fail(
            "dataset must be a dataset name from datasets.yaml or a mapping naming a loader "
            "(dataset: {loader: records, path: questions.jsonl, videos: videos, fields: {...}})."
        )
    return {str(key): item for key, item in value.items()}


def _metric_spec(entry: Any, fail: Any) -> MetricSpec:
    if isinstance(entry, str):
        return MetricSpec(entry)
    if isinstance(entry, Mapping) and "name" in entry and set(entry) <= {"name", "by", "label", "where"}:
        return MetricSpec(
            str(entry["name"]),
            None if entry.get("by") is None else str(entry["by"]),
            None if entry.get("label") is None else str(entry["label"]),
            dict(entry.get("where") or {}),
        )
    raise fail(f"metric entry {entry!r} must be a name or a mapping {{name, by, label, where}}.")


def expand_subsets(data: Any, source: str) -> list[Any]:
    """One task mapping per entry of ``subsets:`` (a family written once), or ``[data]`` when it has none.

    ``subsets`` is a list of subset names or a mapping subset -> keys that override the shared ones (an inline
    ``dataset`` mapping is merged key by key). Each task gets ``subset`` set, the name ``name`` with ``{subset}``
    filled in (or ``<name>_<subset>``), and the family's name (``name`` without ``{subset}``) added to ``groups``,
    so ``--task <family>`` runs them all.
    """
    if not isinstance(data, Mapping) or "subsets" not in data:
        return [data]
    raw = data["subsets"]
    if isinstance(raw, list) and raw and all(isinstance(item, (str, int)) for item in raw):
        subsets: dict[str, Any] = {str(item): {} for item in raw}
    elif isinstance(raw, Mapping) and raw and all(v is None or isinstance(v, Mapping) for v in raw.values()):
        subsets = {str(key): dict(value or {}) for key, value in raw.items()}
    else:
        raise TaskError(f"{source}: 'subsets' must be a non-empty list of names or a mapping name -> overrides.")
    base = {key: value for key, value in data.items() if key != "subsets"}
    name = str(base.get("name", ""))
    family = name.replace("_{subset}", "").replace("{subset}", "")
    expanded = []
    for subset, overrides in subsets.items():
        if "subsets" in overrides or "name" in overrides:
            raise TaskError(f"{source}: subset '{subset}' may not override 'name' or 'subsets'.")
        item = {**base, **overrides}
        if isinstance(base.get("dataset"), Mapping) and isinstance(overrides.get("dataset"), Mapping):
            item["dataset"] = {**base["dataset"], **overrides["dataset"]}
        item.setdefault("subset", subset)
        item["name"] = name.replace("{subset}", subset) if "{subset}" in name else f"{name}_{subset}"
        groups = [str(g) for g in item.get("groups") or ()]
        item["groups"] = groups + ([family] if family and family not in groups else [])
        expanded.append(item)
    return expanded


BASE_FILE_PREFIX = "_"
"""A task folder's YAML file whose name starts with this (``_mc_base.yaml``) is a base file: it holds keys that
task files ``include:``, and is never read as a task itself."""


def is_base_file(path: Path) -> bool:
    """Whether ``path`` is a base file for ``include:`` rather than a task file."""
    return path.name.startswith(BASE_FILE_PREFIX)


def overlay(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with the keys of ``override``; a mapping in both (``dataset``, ``frames``, ...) merged key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def read_task_mapping(path: Path, chain: tuple[Path, ...] = ()) -> Any:
    """The YAML of a task file with its ``include:`` files applied: each included file's keys (paths relative to
    the including file; a list is applied in order), then the file's own keys over them.

    Raises:
        TaskError: an unreadable file, a missing included file or an include cycle, naming both files.
    """
    chain = (*chain, path.resolve())
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TaskError(f"{path}: cannot read task file: {exc}") from exc
    if not isinstance(data, Mapping) or "include" not in data:
        return data
    includes = data["include"]
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not includes or not all(isinstance(item, str) for item in includes):
        raise TaskError(f"{path}: 'include' must be a path or a list of paths of YAML files (relative to {path}).")
    merged: dict[str, Any] = {}
    for include in includes:
        included = path.parent / include
        if included.resolve() in chain:
            cycle = " -> ".join(str(p) for p in (*chain[chain.index(included.resolve()):], included.resolve()))
            raise TaskError(f"{path}: including {included} makes a cycle ({cycle}); remove one of the includes.")
        if not included.is_file():
            raise TaskError(f"{path}: included file {included} does not exist (paths are relative to {path}).")
        base = read_task_mapping(included, chain)
        if not isinstance(base, Mapping):
            raise TaskError(f"{path}: included file {included} must be a YAML mapping of task fields.")
        merged = overlay(merged, base)
    return overlay(merged, {key: value for key, value in data.items() if key != "include"})


def read_task_files(path: Path) -> list[Task]:
    """Read and validate one task YAML file: one task, or one per subset of a family (``subsets:``)."""
    if is_base_file(path):
        raise TaskError(
            f"{path}: a base file (named {BASE_FILE_PREFIX}*.yaml) holds keys that task files share through include:; "
            "it is not a task. Run a task file that includes it."
        )
    data = read_task_mapping(path)
    return [parse_task(item, str(path)) for item in expand_subsets(data, str(path))]


def read_task_file(path: Path) -> Task:
    """Read and validate a task YAML file that holds one task."""
    tasks = read_task_files(path)
    if len(tasks) != 1:
        raise TaskError(f"{path}: a family of {len(tasks)} tasks ({', '.join(t.name for t in tasks)}); name one.")
    return tasks[0]
