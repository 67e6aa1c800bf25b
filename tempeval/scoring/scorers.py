"""Scorers: pure functions from a model's output text and a sample's reference to a Score.

A task names its scorers per parser mode in its YAML (``scorers: {strict: strict, official: tempcompass_mc}``);
``strict`` (tempeval's own parser for the answer format) is always available. Benchmark-specific official
scorers live in their benchmark module and are registered here by name, imported only when used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from tempeval.plugins import Kind, benchmark_function, resolve
from tempeval.scoring.parsers import parse
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
    if answer_format in ("yes_no", "true_false"):
        correct = bool(answer) == bool(target)
    elif answer_format == "number":
        correct = int(answer) == int(target)
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


SCORERS: dict[str, str] = {
    "strict": "tempeval.scoring.scorers:strict",
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
