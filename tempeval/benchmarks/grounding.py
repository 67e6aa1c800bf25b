"""Temporal grounding, the parts Charades-STA, ActivityNet Captions and QVHighlights share.

Official mode (``grounding.official``) reads a free-text answer the way TimeChat does (``utils/format_tvg.py``
``extract_time``, commit c60b332b; VTG-LLM and E.T. Bench use the same parser) and scores it the way
``metrics/tvg/eval_tvg.py`` does. Its quirks, reproduced on purpose:

1. The text is lowercased. The intended removal of the prompt's example ("20.8 - 30.0 seconds") is a no-op in the
   original (the ``replace`` result is discarded), so an echoed example is parsed like an answer.
2. Every ``number - number`` pair anywhere in the text is found (regex ``\\d+\\.*\\d*\\s*-\\s*\\d+\\.*\\d*``): "1..5"
   counts as a number, and a dash between two ``HH:MM:SS`` stamps pairs the digits beside the dash
   ("00:00:18 - 00:00:23" reads 18 - 00, i.e. [0, 18] after the swap).
3. Without a pair: the text is split into "sentences" at ``!``, ``?`` and newlines only (not at full stops); in each
   one containing a keyword *as a substring* ("starts", "ends", "happens in", "start time", "end time", "start",
   "end", "happen": "weekend" and "spend" count) the first number is taken; the numbers are paired in order and an
   odd last one is dropped.
4. Without those: the same with ``HH:MM:SS`` stamps, first stamp per sentence. This fallback never yields a window:
   step 3 already reads the leading digits of every stamp as a number, so stamps on two lines give [0, 0]
   ("starts at 00:00:18\\nends at 00:00:23"), and two stamps in one sentence are unparseable.
5. Reversed pairs are swapped; only the first pair is kept.
6. A "number" the regex accepts but ``float`` rejects ("1..5 - 3") crashed the original script; here it is
   unparseable.

Scoring: IoU = max(0, min(ends) - max(starts)) / (max(ends) - min(starts)) against the ground-truth window (the best
one where there are several); the prediction is NOT clipped to the video; an unparseable answer is a miss (IoU 0)
that stays in the denominator. TimeChat reports R@1 at IoU 0.3/0.5/0.7 only; tempeval adds mIoU.

Strict mode is tempeval's ``strict`` scorer: the first explicit range in the answer ("a - b", "from a to b", "between
a and b", ``mm:ss`` accepted), else a "starts at a ... ends at b" pair, else the first two times; start after end is
unparseable (never swapped), and the prediction is clipped to the video before the IoU.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from tempeval.errors import TempevalError
from tempeval.registry import DatasetEntry
from tempeval.scoring.events import Event
from tempeval.scoring.parsers import Parsed, unparseable
from tempeval.scoring.scorers import Reference, judge_answer
from tempeval.task import Task
from tempeval.types import Score

_PAIR = re.compile(r"(\d+\.*\d*)\s*-\s*(\d+\.*\d*)")
_NUMBER = re.compile(r"\b(\d+\.\d+\b|\b\d+)\b")
_HHMMSS = re.compile(r"\b(\d{1,2}:\d{2}:\d{2})\b")
_SENTENCE_BREAK = re.compile(r"[!?\n]")
_KEYWORDS = ("starts", "ends", "happens in", "start time", "end time", "start", "end", "happen")


def _hhmmss_seconds(stamp: str) -> float:
    hours, minutes, seconds = map(int, stamp.split(":"))
    return float(hours * 3600 + minutes * 60 + seconds)


def _first_per_sentence(sentences: list[str], pattern: re.Pattern[str]) -> list[str]:
    """The first match of ``pattern`` in each sentence that has one (TimeChat's fallbacks)."""
    return [found[0] for found in map(pattern.findall, sentences) if found]


def _consecutive_pairs(times: list[float]) -> list[tuple[float, float]]:
    times = times[: len(times) // 2 * 2]
    return [(times[i], times[i + 1]) for i in range(0, len(times), 2)]


def parse_timechat(text: str) -> Parsed:
    """TimeChat's ``extract_time``: the first (start, end) window in a free-text answer, quirks included.

    Args:
        text: The model's answer.

    Returns:
        ``Parsed((start, end))`` with start <= end, or unparseable when no window is found.
    """
    paragraph = text.lower()
    try:
        pairs = [(float(start), float(end)) for start, end in _PAIR.findall(paragraph)]
        candidates = [s for s in _SENTENCE_BREAK.split(paragraph) if any(k in s for k in _KEYWORDS)]
        if not pairs:
            pairs = _consecutive_pairs([float(n) for n in _first_per_sentence(candidates, _NUMBER)])
        if not pairs:
            pairs = _consecutive_pairs([_hhmmss_seconds(s) for s in _first_per_sentence(candidates, _HHMMSS)])
    except ValueError:  # "1..5": the regex takes it, float() does not; the original script crashed here
        return unparseable("a time the official regex accepts is not a number (TimeChat would crash)")
    if not pairs:
        return unparseable("no 'start - end' pair, keyword sentence or HH:MM:SS stamps found (TimeChat parser)")
    start, end = pairs[0]
    return Parsed((start, end) if end > start else (end, start), True)


def official(output: str, reference: Reference) -> Score:
    """TimeChat-compatible official scorer: its parser, IoU with the best target window, no clipping."""
    parsed = parse_timechat(output)
    if not parsed.ok:
        return Score(0.0, None, parsed=False, explanation=parsed.reason)
    return judge_answer("window", parsed.answer, dataclasses.replace(reference, duration_s=None))


def is_number(value: Any) -> bool:
    """An int or float as JSON gives them (a bool is not a number here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_window(value: Any, where: str, *, ordered: bool = False) -> list[float]:
    """A ground-truth ``[start, end]`` as floats; a malformed one is a TempevalError naming ``where``.

    Args:
        value: The raw window from an annotation record.
        where: File and record, for the error message.
        ordered: Also refuse a window whose start is after its end (never swapped silently).
    """
    if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(map(is_number, value))):
        raise TempevalError(
            f"{where}: a window must be [start, end] in seconds, got {value!r}. The annotation file is damaged or "
            "not in the benchmark's format; re-download it."
        )
    start, end = float(value[0]), float(value[1])
    if ordered and start > end:
        raise TempevalError(
            f"{where}: window {value!r} starts after it ends. Fix the record's window (start <= end) or "
            "re-download the annotation file."
        )
    return [start, end]


def split_file(task: Task, dataset: DatasetEntry, files: Mapping[str, str]) -> tuple[str, str]:
    """The (split, annotation file) a task's ``subset`` names, for benchmarks with one file per split."""
    if task.subset is None or task.subset not in files:
        raise TempevalError(
            f"{task.source_file}: task '{task.name}' needs 'subset' naming a split of dataset '{dataset.name}': "
            f"one of {', '.join(files)} (got {task.subset!r})."
        )
    return task.subset, files[task.subset]


def checked_events(pairs: Iterable[tuple[Any, Any]], where: str, item: str) -> tuple[Event, ...]:
    """Ground-truth events from ``(window, caption)`` pairs, in order; a malformed or reversed window is a
    TempevalError naming ``where`` and the ``item`` ("step 3")."""
    events = []
    for index, (window, caption) in enumerate(pairs):
        start, end = check_window(window, f"{where}, {item} {index}", ordered=True)
        events.append(Event(start, end, str(caption).strip()))
    return tuple(events)

