"""Row identity: which runs of a model form one row of a table (score, show, export, compare, the leaderboard).

A run made with ``--label TEXT`` is in the row named ``TEXT`` (one per model and label). Runs without a label
are told apart by the settings that change outputs: the frame policy, the generation settings and the model
arguments (not the transport ones: concurrency, timeouts). For each model, a setting that takes two values
among the unlabelled runs of one task version is part of that model's row identity; each row is then labelled by
the model and its values of those settings: ``random · 16 f`` and ``random · 32 f``, ``qwen · max_side 448``,
``gpt · temperature 0.7``. Settings that differ only between tasks (each task's own frame count) or between task
versions (a new version with a new frame policy) never split a row. Runs of one row and one task version are
true duplicates: tables keep the newest (see :func:`newest_per_row`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SETTING_GROUPS = ("frames", "generation", "model_args")
"""Header fields whose values change a model's outputs, compared setting by setting."""


@dataclass(frozen=True)
class RowIdentity:
    """The row of one run: who made it and which settings (or which ``--label``) set it apart."""

    model: str
    label: str | None
    """The run's ``--label``; ``None`` for an unlabelled run."""
    settings: tuple[tuple[str, str], ...]
    """For an unlabelled run: (setting, value as JSON) of each setting that splits its model's runs."""
    display: str
    """How tables name the row: the label, or ``model · what differs``."""

    @property
    def key(self) -> tuple[str, str | None, tuple[tuple[str, str], ...]]:
        """What two runs share when they are in one row."""
        return (self.model, self.label, self.settings)


def settings_of(header: Mapping[str, Any]) -> dict[str, Any]:
    """The output-changing settings of a run header, flat: ``frames.num_frames``, ``generation.temperature``,
    ``generation.extra.top_k``, ``model_args.max_side`` (transport arguments left out)."""
    transport = set(header.get("transport_args") or ())
    flat: dict[str, Any] = {}
    for group in SETTING_GROUPS:
        values = header.get(group)
        if not isinstance(values, Mapping):
            continue
        for key, value in values.items():
            if group == "model_args" and key in transport:
                continue
            if isinstance(value, Mapping):
                flat.update({f"{group}.{key}.{inner}": part for inner, part in value.items()})
            else:
                flat[f"{group}.{key}"] = value
    return flat


def row_identities(headers: Sequence[Mapping[str, Any]]) -> list[RowIdentity]:
    """The row of each run header, in order (see the module docstring for the rule)."""
    settings = [settings_of(header) for header in headers]
    by_task: dict[tuple[str, str, str], list[dict[str, Any]]] = {}  # unlabelled runs of each model, task, version
    for header, flat in zip(headers, settings, strict=True):
        if _label(header) is None:
            task = (str(header.get("model")), str(header.get("task")), str(header.get("task_version")))
            by_task.setdefault(task, []).append(flat)
    splitting: dict[str, list[str]] = {}
    for (model, _task, _version), flats in sorted(by_task.items()):
        for name in sorted({name for flat in flats for name in flat}):
            # A setting one header lacks (an older file) differs too: those runs are kept apart.
            if len({_json(flat.get(name)) for flat in flats}) > 1 and name not in splitting.get(model, []):
                splitting.setdefault(model, []).append(name)
    out = []
    for header, flat in zip(headers, settings, strict=True):
        model, label = str(header.get("model")), _label(header)
        if label is not None:
            out.append(RowIdentity(model, label, (), label))
            continue
        chosen = tuple((name, _json(flat.get(name))) for name in splitting.get(model, []))
        parts = [_describe(name, flat[name]) for name in splitting.get(model, []) if flat.get(name) is not None]
        out.append(RowIdentity(model, None, chosen, " · ".join([model, *parts])))
    return _disambiguated(out)


def _disambiguated(rows: list[RowIdentity]) -> list[RowIdentity]:
    """Two rows that would read the same (one label given to two models) say whose they are."""
    keys_by_display: dict[str, set[tuple[Any, ...]]] = {}
    for row in rows:
        keys_by_display.setdefault(row.display, set()).add(row.key)
    return [
        RowIdentity(row.model, row.label, row.settings, f"{row.display} ({row.model})")
        if len(keys_by_display[row.display]) > 1 else row
        for row in rows
    ]


def _label(header: Mapping[str, Any]) -> str | None:
    label = header.get("label")
    return str(label) if label not in (None, "") else None


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


FRAME_WORDS = {"num_frames": "{} f", "fps": "{} fps", "max_frames": "max {} f"}
"""How a frame setting reads in a row label ('16 f'); other settings read 'name value' ('max_side 448')."""


def _describe(name: str, value: Any) -> str:
    """One setting's value in a row label: '16 f', '1 fps', 'shuffled', 'max_side 448', 'temperature 0.7'."""
    group, _, key = name.partition(".")
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    if group == "frames" and key in FRAME_WORDS:
        return FRAME_WORDS[key].format(shown)
    if group == "frames" and key in ("sampling", "order"):
        return shown
    return f"{key.rsplit('.', 1)[-1]} {shown}"


def newest_per_row(
    headers: Sequence[Mapping[str, Any]], paths: Sequence[str]
) -> tuple[list[int], list[str]]:
    """Of runs sharing a row, a task and a task version (true duplicates), the newest by ``started_at``.

    Returns:
        The indexes of the runs kept (in input order), and one note per run left out, naming it and the run kept.
    """
    rows = row_identities(headers)
    newest: dict[tuple[Any, ...], int] = {}
    for index, (header, row) in enumerate(zip(headers, rows, strict=True)):
        key = (row.key, header.get("task"), header.get("task_version"))
        kept = newest.get(key)
        if kept is None or str(header.get("started_at") or "") >= str(headers[kept].get("started_at") or ""):
            newest[key] = index
    kept_indexes = sorted(newest.values())
    notes = []
    for index, (header, row) in enumerate(zip(headers, rows, strict=True)):
        winner = newest[(row.key, header.get("task"), header.get("task_version"))]
        if winner != index:
            notes.append(
                f"{paths[index]}: left out, an older run of row '{row.display}' on {header.get('task')}"
                f"@{header.get('task_version')} than {paths[winner]} (give runs that should be rows of their own "
                "a --label)"
            )
    return kept_indexes, notes
