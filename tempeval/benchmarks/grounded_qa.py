"""Grounded video QA, the parts NExT-GQA and ReXTime share: one answer carries the option and its evidence window.

The answer format is ``letter_window`` ("B, 12.0 - 18.5"; rules in :mod:`tempeval.scoring.parsers`). A sample's
target is ``[letter, [[start, end], ...]]`` (every evidence window); the score's value is 1 when the letter is
right, and its answer ``[letter, [start, end]]`` keeps the window for the benchmark's metrics to compare.

Strict mode (``strict``) clips the predicted window to the video before the metrics see it. Official mode
(:func:`official`) does not: neither ``eval_ground.py`` (NExT-GQA) nor ``rextime_eval.py`` (ReXTime) clips a
prediction, so a window running past the end of the video is scored as given. Neither official script reads model
text (their models output windows directly, or ReXTime's GPT demo a JSON object, which the parser reads too), so
both modes read the answer with the same parser.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from tempeval.scoring.metrics import Row
from tempeval.scoring.parsers import parse_letter_window
from tempeval.scoring.scorers import Reference, judge_answer
from tempeval.types import Score


def official(output: str, reference: Reference) -> Score:
    """The parsed option and window, the window NOT clipped to the video (as both official scripts)."""
    parsed = parse_letter_window(output, reference.choices)
    if not parsed.ok:
        return Score(0.0, None, parsed=False, explanation=parsed.reason)
    return judge_answer("letter_window", parsed.answer, dataclasses.replace(reference, duration_s=None))


def predicted_window(row: Row) -> tuple[float, float] | None:
    """The window a row's answer gave; None for an unparseable answer or an error."""
    answer: Any = row.answer
    if not isinstance(answer, (list, tuple)) or len(answer) != 2:
        return None
    start, end = answer[1]
    return float(start), float(end)


def evidence_windows(row: Row) -> list[tuple[float, float]]:
    """The ground-truth evidence windows of a row (its target's second part)."""
    windows: Sequence[Any] = row.target[1]
    return [(float(w[0]), float(w[1])) for w in windows]


def make_target(letter: str, windows: Sequence[Sequence[float]]) -> list[Any]:
    """A grounded QA target: the right letter and every evidence window."""
    return [letter, [[float(w[0]), float(w[1])] for w in windows]]
