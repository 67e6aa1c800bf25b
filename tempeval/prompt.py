"""Strict prompt rendering: a task's template over exactly the fields a sample provides.

Placeholders (:data:`FIELDS`): ``{question}``, ``{options}`` (lettered, one per line), ``{instruction}`` (the
answer format's instruction), ``{duration}`` and ``{query_time}`` (seconds, one decimal), ``{context}``,
``{num_frames}`` (how many frames this request shows) and ``{in_time_order:TEXT}``, which renders TEXT when the
frames are shown in time order and nothing under a permuted order (``--order shuffled|reversed``, the
diagnostics), so a prompt states the order only when it is true. A line that a placeholder left empty is
dropped; every other line, blank ones included, is kept as the template (and the values) have it.
"""

from __future__ import annotations

import hashlib
import string

from tempeval.errors import TempevalError
from tempeval.task import Task
from tempeval.types import AnswerFormat, Sample

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

INSTRUCTIONS: dict[str, str] = {
    "letter": "Answer with the option's letter from the given choices directly.",
    "yes_no": "Answer with yes or no.",
    "true_false": "Is this claim true or false? Answer with TRUE or FALSE.",
    "window": "Answer with the start and end time in seconds, as 'start - end' (for example '2.5 - 4.0').",
    "number": "Answer with a single number.",
    "text": "Answer briefly.",
    "letter_window": "Answer with the option's letter, then the start and end time in seconds of the moment that "
    "supports it, as 'letter, start - end' (for example 'B, 2.5 - 4.0').",
    "letters": "Answer with the letters of every right option, separated by commas (for example 'A, C').",
    "events": (
        "List every event in time order, one per line, as 'start - end seconds, caption' "
        "(for example '0.0 - 12.5 seconds, a man cuts onions')."
    ),
}
"""The answer instruction for each answer format; templates place it with ``{instruction}``."""

FIELDS: tuple[str, ...] = (
    "question", "options", "instruction", "duration", "query_time", "context", "num_frames", "in_time_order",
)
"""The placeholders a template may use (see the module docstring)."""


class TemplateError(TempevalError):
    """A prompt template that uses a placeholder no sample provides."""


def template_fields(template: str) -> list[str]:
    """The placeholder names a template uses, in order."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def check_template(task: Task) -> None:
    """Fail at task load, not mid-run, when the template uses an unknown placeholder."""
    unknown = [name for name in template_fields(task.prompt) if name not in FIELDS]
    if unknown:
        raise TemplateError(
            f"{task.source_file}: task '{task.name}' uses {{{unknown[0]}}}; templates may use "
            f"{', '.join('{' + f + '}' for f in FIELDS)}."
        )


def format_options(choices: tuple[str, ...]) -> str:
    """Options lettered in order: '(A) left' on one line each."""
    if len(choices) > len(LETTERS):
        raise TemplateError(f"{len(choices)} options are more than the {len(LETTERS)} letters available.")
    return "\n".join(f"({LETTERS[i]}) {choice}" for i, choice in enumerate(choices))


def answer_format_of(task: Task, sample: Sample) -> AnswerFormat:
    """The sample's own answer format where it has one (online probes), else the task's."""
    return sample.answer_format or task.answer_format


class _WhenInTimeOrder:
    """The value of ``{in_time_order:TEXT}``: formats as TEXT when the frames are in time order, else as ''."""

    def __init__(self, in_time_order: bool) -> None:
        self.in_time_order = in_time_order

    def __format__(self, text: str) -> str:
        return text if self.in_time_order else ""


def render(
    task: Task,
    sample: Sample,
    *,
    duration_s: float | None = None,
    num_frames: int | None = None,
    in_time_order: bool = True,
) -> str:
    """The prompt text for one sample.

    Args:
        task: Its template.
        sample: The question, options and other fields.
        duration_s: Length of the visible video (``{duration}``).
        num_frames: Frames the request shows (``{num_frames}``); ``None`` leaves it empty.
        in_time_order: Whether they are shown in time order (``{in_time_order:TEXT}`` renders TEXT only then).

    A template line that its placeholders left blank is dropped, and so is a blank line the drop would leave
    doubled; blank lines the template itself has are kept, and so are those inside values. Whitespace at the
    start and end is trimmed.
    """
    values = {
        "question": sample.question,
        "options": format_options(sample.choices) if sample.choices else "",
        "instruction": INSTRUCTIONS[answer_format_of(task, sample)],
        "duration": "" if duration_s is None else f"{duration_s:.1f}",
        "query_time": "" if sample.query_time_s is None else f"{sample.query_time_s:.1f}",
        "context": sample.context or "",
        "num_frames": "" if num_frames is None else str(num_frames),
        "in_time_order": _WhenInTimeOrder(in_time_order),
    }
    lines: list[str] = []
    dropped = False  # whether a line was dropped since the last one kept
    for line in task.prompt.splitlines():
        text = line.format_map(values)
        if not text.strip() and template_fields(line):  # a placeholder emptied it
            dropped = True
            continue
        if not text.strip() and dropped and lines and not lines[-1].strip():
            continue  # the dropped line sat between two blank lines: keep one
        lines.append(text)
        dropped = False
    return "\n".join(lines).strip()


def prompt_sha(prompt: str) -> str:
    """Short stable hash of a prompt, logged with every record."""
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16]
