"""The queries of a stream sample, with their truth: what a ``streaming`` task's ``Sample.target`` holds.

A streaming sample is one stream (one video); its ``target`` is a list of query objects::

    {"query_id": "when-1", "asked_at_s": 0.0, "text": "Tell me as soon as the red square appears.",
     "answer_format": "text", "choices": [], "due_windows": [[6.3, 8.3]], "target": null}
    {"query_id": "count-1", "asked_at_s": 12.4, "text": "How many circles have appeared so far?",
     "answer_format": "number", "choices": [], "due_windows": null, "target": 2}

A query with ``due_windows`` is an *event* query: its answers are due within those windows and get the timing
scores (``target``, when set, is what the answer should say; ``"repeats": true`` keeps it open after an answer,
for a query due at several windows). A query without is a *query-time* query: its first
answer at or after ``asked_at_s`` is scored against ``target`` by the task's parser. Only ``query_id``,
``asked_at_s``, ``text``, ``answer_format`` and ``choices`` ever reach a model (:meth:`StreamQuery.event`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tempeval.errors import TempevalError
from tempeval.scoring.streaming import AskedQuery, DueWindow
from tempeval.streaming.events import QueryEvent
from tempeval.task import ANSWER_FORMATS
from tempeval.types import AnswerFormat


@dataclass(frozen=True)
class StreamQuery:
    """One query of a stream with its ground truth (the truth never reaches a session)."""

    query_id: str
    asked_at_s: float
    text: str
    answer_format: AnswerFormat = "text"
    choices: tuple[str, ...] = ()
    due_windows: tuple[tuple[float, float], ...] | None = None
    """``None``: a query-time query; else the windows its answers are due in (an event query)."""
    target: Any = None
    repeats: bool = False
    """An event query answered at each of its windows ("say each time ..."): it stays open after an answer."""

    @property
    def is_event(self) -> bool:
        """Whether the query is scored by timing (it has due windows)."""
        return self.due_windows is not None

    def event(self, text: str | None = None) -> QueryEvent:
        """The query as the clock delivers it: id, time, text (``text`` overrides it, e.g. rendered by the task's
        template), answer format and options. No truth."""
        return QueryEvent(self.asked_at_s, self.text if text is None else text, self.query_id,
                          self.answer_format, self.choices, self.repeats)

    def asked(self) -> AskedQuery:
        """The query for query-time scoring."""
        return AskedQuery(self.query_id, self.asked_at_s, self.target)

    def windows(self) -> list[DueWindow]:
        """The query's due windows for event scoring (none for a query-time query); each window's ``target`` is
        this query, so a content score reads the answer by the query's format and truth."""
        return [DueWindow(self.query_id, s, e, self) for s, e in self.due_windows or ()]

    def to_dict(self) -> dict[str, Any]:
        """The target-list form (module docstring)."""
        return {
            "query_id": self.query_id,
            "asked_at_s": self.asked_at_s,
            "text": self.text,
            "answer_format": self.answer_format,
            "choices": list(self.choices),
            "due_windows": None if self.due_windows is None else [list(w) for w in self.due_windows],
            "target": self.target,
            "repeats": self.repeats,
        }


def stream_queries(target: Any, where: str) -> tuple[StreamQuery, ...]:
    """The queries of a streaming sample's ``target`` (module docstring), in time order.

    Raises:
        TempevalError: naming ``where`` (the sample) and the query at fault, with the schema to fix it to.
    """
    if not isinstance(target, Sequence) or isinstance(target, str) or not target:
        raise TempevalError(
            f"{where}: a streaming sample's target must be a non-empty list of queries "
            '({"query_id", "asked_at_s", "text", "answer_format", "due_windows" or "target"}); '
            f"got {target!r}. Fix the annotation."
        )
    queries = [_query(item, f"{where}: query {i}") for i, item in enumerate(target)]
    ids = [q.query_id for q in queries]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise TempevalError(f"{where}: query id(s) {', '.join(repeated)} appear more than once; give each its own id.")
    return tuple(sorted(queries, key=lambda q: (q.asked_at_s, q.query_id)))


def _query(item: Any, where: str) -> StreamQuery:
    if not isinstance(item, Mapping):
        raise TempevalError(f"{where}: expected an object with query_id, asked_at_s and text; got {item!r}.")
    query_id, text, asked = item.get("query_id"), item.get("text"), item.get("asked_at_s")
    if not isinstance(query_id, str) or not query_id or not isinstance(text, str) or not text.strip():
        raise TempevalError(f"{where}: query_id and text must be non-empty text; got {query_id!r}, {text!r}.")
    if isinstance(asked, bool) or not isinstance(asked, int | float) or not math.isfinite(asked) or asked < 0:
        raise TempevalError(f"{where} ({query_id}): asked_at_s must be a number of seconds >= 0, got {asked!r}.")
    answer_format = item.get("answer_format", "text")
    if answer_format not in ANSWER_FORMATS:
        raise TempevalError(
            f"{where} ({query_id}): answer_format {answer_format!r} is not one of {', '.join(ANSWER_FORMATS)}."
        )
    windows = item.get("due_windows")
    due: tuple[tuple[float, float], ...] | None = None
    if windows is not None:
        if not isinstance(windows, list) or not windows or not all(_is_window(w) for w in windows):
            raise TempevalError(
                f"{where} ({query_id}): due_windows must be a non-empty list of [start_s, end_s] with "
                f"start <= end, or null for a query-time query; got {windows!r}."
            )
        due = tuple((float(w[0]), float(w[1])) for w in windows)
    elif item.get("target") is None:
        raise TempevalError(
            f"{where} ({query_id}): a query-time query (no due_windows) needs a target to be scored against."
        )
    return StreamQuery(
        query_id=query_id,
        asked_at_s=float(asked),
        text=text,
        answer_format=answer_format,
        choices=tuple(str(c) for c in item.get("choices") or ()),
        due_windows=due,
        target=item.get("target"),
        repeats=bool(item.get("repeats", False)),
    )


def _is_window(value: Any) -> bool:
    return (
        isinstance(value, list | tuple) and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value)
        and value[0] <= value[1]
    )
