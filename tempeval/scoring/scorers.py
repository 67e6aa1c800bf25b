"""Scorers: pure functions from a model's output text and a sample's reference to a Score.

A task names its scorers per parser mode in its YAML (``scorers: {strict: strict, official: tempcompass_mc}``);
``strict`` (tempeval's own parser for the answer format) is always available. Benchmark-specific official
scorers live in their benchmark module and are registered here by name, imported only when used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from tempeval.plugins import Kind, benchmark_function, resolve
from tempeval.scoring.parsers import LETTERS, parse, parse_quantity
from tempeval.types import Score


class Judge(Protocol):
    """An LLM judge: a prompt in, the judge model's reply out (cached and logged by the caller)."""

    def __call__(self, prompt: str) -> str: ...


@dataclass(frozen=True)
class Reference:
    """What a scorer may know about a sample: everything in its run record except the model's output."""

    answer_format: str
    target: Any
    choices: tuple[str, ...] = ()
    sample_id: str = ""
    """For seeded choices a scorer must make (``random.Random(f"{seed}:{sample_id}")``)."""
    question: str = ""
    duration_s: float | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    judge: Judge | None = None
    """Set when the user passed ``--judge``; scorers that need one and find none return an unparseable Score."""
    stream: Mapping[str, Any] | None = None
    """A streaming record's ``stream`` (its action log and timing rule, :mod:`tempeval.streaming.run`)."""


Scorer = Callable[[str, Reference], Score]


def iou(predicted: tuple[float, float], target: tuple[float, float]) -> float:
    """Temporal intersection over union of two windows (0 when either is empty)."""
    (ps, pe), (ts, te) = predicted, target
    intersection = max(0.0, min(pe, te) - max(ps, ts))
    union = max(pe, te) - min(ps, ts)
    return intersection / union if union > 0 else 0.0


def target_windows(target: Any) -> list[tuple[float, float]]:
    """A grounding target as a list of windows: one ``[s, e]`` or several ``[[s, e], ...]`` (IoU takes the best)."""
    if target and isinstance(target[0], (list, tuple)):
        return [(float(t[0]), float(t[1])) for t in target]
    return [(float(target[0]), float(target[1]))]


def clip_window(window: tuple[float, float], duration_s: float | None) -> tuple[float, float]:
    """A predicted window clipped to [0, duration]."""
    start, end = max(0.0, window[0]), max(0.0, window[1])
    if duration_s is not None:
        start, end = min(start, duration_s), min(end, duration_s)
    return start, end


def judge_answer(answer_format: str, answer: Any, reference: Reference) -> Score:
    """Compare a parsed answer with the target (IoU for windows)."""
    target = reference.target
    if answer_format == "window":
        window = clip_window(answer, reference.duration_s)
        value = max(iou(window, (float(t[0]), float(t[1]))) for t in target_windows(target))
        return Score(value, list(window), explanation=f"IoU {value:.3f}")
    if answer_format == "letter_window":  # the letter decides the value; metrics read the window from the answer
        letter, predicted = answer
        window = clip_window((float(predicted[0]), float(predicted[1])), reference.duration_s)
        correct = letter == target[0]
        return Score(1.0 if correct else 0.0, [letter, list(window)], explanation=f"option {letter}")
    if answer_format in ("yes_no", "true_false"):
        correct = bool(answer) == bool(target)
    elif answer_format == "number":
        correct = int(answer) == int(target)
    elif answer_format == "letters":
        correct = set(answer) == set(target)
    elif answer_format == "text":
        correct = str(answer).strip().lower() == str(target).strip().lower()
    else:
        correct = answer == target
    return Score(1.0 if correct else 0.0, answer)


def strict(output: str, reference: Reference) -> Score:
    """tempeval's own parser for the answer format; unparseable scores 0 and is flagged, never guessed.

    Dense captioning (``events``) is valued at the localisation F1 at tIoU 0.5 (``tempeval.scoring.dense``).
    """
    if reference.answer_format == "events":
        from tempeval.scoring.dense import score_events
        from tempeval.scoring.events import events_of

        return score_events(output, events_of(reference.target))
    parsed = parse(reference.answer_format, output, reference.choices)
    if not parsed.ok:
        return Score(0.0, None, parsed=False, explanation=parsed.reason)
    return judge_answer(reference.answer_format, parsed.answer, reference)


def marked_letter(output: str, reference: Reference, marker: re.Pattern[str]) -> Score | None:
    """Strict reading of the answer mark a benchmark's prompt asks for ("[[B]]", "the final answer is: B"): one
    distinct valid letter marked so is the answer, several are unparseable; ``None`` when nothing is marked (the
    caller then falls back to :func:`strict`)."""
    marked = {letter.upper() for letter in marker.findall(output)}
    valid = set(LETTERS[: len(reference.choices)] if reference.choices else LETTERS)
    if marked - valid:
        beyond = ", ".join(sorted(marked - valid))
        return Score(0.0, None, parsed=False, explanation=f"marked answer {beyond} is not one of the options")
    if len(marked) > 1:
        return Score(0.0, None, parsed=False, explanation=f"several marked answers: {', '.join(sorted(marked))}")
    if marked:
        letter = marked.pop()
        return Score(1.0 if letter == reference.target else 0.0, letter, explanation=f"marked answer {letter}")
    return None


MRA_THRESHOLDS: tuple[float, ...] = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
"""Mean relative accuracy's confidence thresholds θ = 0.50, 0.55, ..., 0.95 (VSI-Bench, VSI-SUPER)."""


def mean_relative_accuracy(predicted: float, target: float, thresholds: tuple[float, ...] = MRA_THRESHOLDS) -> float:
    """The share of thresholds θ at which the relative error |predicted - target| / |target| is below 1 - θ (both
    rounded to 12 places, so 13 against 10 is an error of exactly 0.3, not below 1 - 0.7); a target of 0 is met only
    by 0 (the relative error is undefined)."""
    if target == 0:
        return 1.0 if predicted == 0 else 0.0
    error = round(abs(predicted - target) / abs(target), 12)
    return sum(error < round(1.0 - theta, 12) for theta in thresholds) / len(thresholds)


def mra(output: str, reference: Reference) -> Score:
    """A count or measure scored by mean relative accuracy (strict: no number is unparseable, never 0)."""
    parsed = parse_quantity(output)
    if not parsed.ok:
        return Score(0.0, None, parsed=False, explanation=parsed.reason)
    value = mean_relative_accuracy(parsed.answer, float(reference.target))
    return Score(value, parsed.answer, explanation=f"MRA {value:.2f}")


SCORERS: dict[str, str] = {
    "strict": "tempeval.scoring.scorers:strict",
    "mra": "tempeval.scoring.scorers:mra",
    "stream": "tempeval.scoring.stream_records:score_stream",
}
"""Scorer name -> ``module:function``. Benchmark modules add their official scorers here."""


SCORER_KIND = Kind("scorer", "tempeval.scorers", SCORERS, "tempeval list metrics", convention=benchmark_function)


def get_scorer(name: str) -> Scorer:
    """The scorer called ``name``: from ``SCORERS``, a ``tempeval.scorers`` entry point, ``module:function``,
    else ``<benchmark>.<function>`` in ``tempeval.benchmarks`` (see :mod:`tempeval.plugins`)."""
    scorer: Scorer = resolve(SCORER_KIND, name)
    return scorer


def score_output(
    answer_format: str,
    output: str,
    target: Any,
    choices: tuple[str, ...] = (),
    duration_s: float | None = None,
) -> Score:
    """Score with the strict scorer (a shorthand for tests and simple callers)."""
    return strict(output, Reference(answer_format, target, tuple(choices), duration_s=duration_s))
