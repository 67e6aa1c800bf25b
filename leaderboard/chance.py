"""Chance level of a task's headline metric, from its records, where it is well defined.

A guess among a record's options is right with probability 1 / (number of options) for a lettered choice and
1/2 for a yes/no or true/false answer. The headline's rule then gives the level: ``accuracy`` the mean over
samples; ``macro_accuracy`` the mean over its groups of that mean; ``pairwise_accuracy`` and
``pair_consistency`` (every member of a pair right) the mean over pairs of the product (0.25 for binary pairs).
Grounding windows, free-form answers and other metrics have none, and the reason is kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tempeval.records import RunRecord

BINARY_FORMATS = ("yes_no", "true_false")
ALL_RIGHT_METRICS = ("pairwise_accuracy", "pair_consistency")


@dataclass(frozen=True)
class Chance:
    """A chance level in percent (None: not defined), and how it was found or why there is none."""

    value: float | None
    rule: str

    def to_json(self) -> dict[str, Any]:
        return {"value": None if self.value is None else round(self.value, 4), "rule": self.rule}


def chance_level(header: Mapping[str, Any], records: Sequence[RunRecord]) -> Chance:
    """The chance level of the run's headline metric (see the module docstring)."""
    headline = str(header.get("headline") or "accuracy")
    if header.get("task_kind") == "grounding":
        return Chance(None, "none: a grounding answer is a time window, not a choice")
    odds = [_guess_odds(record, header) for record in records]
    if not odds or any(p is None for p in odds):
        return Chance(None, "none: not every answer is a choice among listed options or yes/no")
    known = [float(p) for p in odds if p is not None]
    spec: Mapping[str, Any] = next((m for m in header.get("metrics") or () if m.get("name") == headline), {})
    by = spec.get("by")
    if headline == "accuracy":
        return Chance(100.0 * float(np.mean(known)), "mean over samples of 1 / number of options")
    if headline == "macro_accuracy" and by:
        groups = _by_key(records, known, by)
        return Chance(100.0 * float(np.mean([np.mean(g) for g in groups.values()])),
                      f"mean over {by} of the mean of 1 / number of options")
    if headline in ALL_RIGHT_METRICS:
        groups = _by_key(records, known, by or "pair_id")
        return Chance(100.0 * float(np.mean([np.prod(g) for g in groups.values()])),
                      "every member of a pair right by guessing: mean over pairs of the product of the odds")
    return Chance(None, f"none: not defined for the headline metric {headline}")


def _guess_odds(record: RunRecord, header: Mapping[str, Any]) -> float | None:
    answer_format = record.answer_format or header.get("answer_format")
    if answer_format in BINARY_FORMATS:
        return 0.5
    choices = record.choices
    if answer_format == "letter" and len(choices) >= 2:
        return 1.0 / len(choices)
    return None


def _by_key(records: Sequence[RunRecord], odds: Sequence[float], key: str) -> dict[str, list[float]]:
    groups: dict[str, list[float]] = {}
    for record, p in zip(records, odds, strict=True):
        groups.setdefault(str((record.meta or {}).get(key, record.sample_id)), []).append(p)
    return groups


def group_chance(aggregate: str, members: Sequence[tuple[Chance, int]]) -> Chance:
    """A benchmark's chance level from its members' (chance, sample count): their mean for a macro average,
    the sample-weighted mean for a micro one; none when a member has none."""
    if not members or any(c.value is None for c, _ in members):
        return Chance(None, "none: a member task has no chance level")
    values = [float(c.value) for c, _ in members if c.value is not None]
    if aggregate == "micro":
        weights = [n for _, n in members]
        return Chance(float(np.average(values, weights=weights)), "sample-weighted mean of the member tasks'")
    return Chance(float(np.mean(values)), "mean of the member tasks'")
