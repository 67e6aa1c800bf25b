"""Timed events (start, end, caption) and the parsers of a model's dense-captioning answer into them.

One parser per answer format, each returning :class:`~tempeval.scoring.parsers.Parsed` whose answer is a tuple of
:class:`Event` (in the order the model gave them), or the explicit unparseable outcome with its reason, so a
parse-failure rate can be reported like every other kind:

- ``lines`` (:func:`parse_event_lines`): one event per line, "START - END[ seconds][,:.] caption". Accepted before the
  range: a bullet ("-", "*", "•") or a number ("1.", "2)") followed by a space, and an opening bracket ("[0.0 -
  12.5] ...", "(0:00-0:12) ..."). The dash may be "-", "–", "—" or the word "to"; "from START to END" is read too.
  Each time is seconds ("12", "12.5", "12.5s"), ``mm:ss`` or ``hh:mm:ss`` (a fraction allowed on the last part;
  minutes and seconds must be below 60 when they follow a colon).
- ``json`` (:func:`parse_event_json`): a JSON list, optionally inside a Markdown code fence, of objects
  ``{"start": s, "end": e, "caption": c}`` (``"timestamp": [s, e]`` and ``"sentence"`` are accepted as the
  ActivityNet spellings), or of triples ``[s, e, "caption"]``. Times are numbers or time strings as above.
- :func:`parse_events` picks the format: ``json`` when the answer (fences stripped) starts with "[", else ``lines``.

Partial-parse policy (the same for both formats, strict on purpose):

1. A line that does not start with a time range is prose and is skipped ("Here are the events:"), and so is a
   blank line; the number of skipped prose lines is given in ``Parsed.reason`` (empty when none was skipped).
2. An answer with no event at all is unparseable ("no timed event found").
3. One malformed event makes the whole answer unparseable, never a silent repair: a start after its end (never
   swapped), an invalid clock time ("1:75"), an event without a caption, or a JSON item of another shape. The
   reason names the line or item, so the failure can be read in ``tempeval show``.
4. Events are kept as given: not sorted, not deduplicated, not clipped to the video (scorers clip if their
   protocol does). Captions are stripped of surrounding whitespace and trailing separators only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tempeval.scoring.parsers import Parsed, unparseable


@dataclass(frozen=True)
class Event:
    """One timed event: a window in seconds and what happens in it."""

    start: float
    """Start of the event in seconds from the start of the video."""
    end: float
    """End of the event in seconds (``end >= start``)."""
    caption: str
    """The sentence that describes the event."""

    def __post_init__(self) -> None:
        if not self.start <= self.end:
            raise ValueError(f"An event must have start <= end, got {self.start} - {self.end}.")

    def to_json(self) -> list[Any]:
        """The ``[start, end, caption]`` triple a result record stores."""
        return [self.start, self.end, self.caption]

    @classmethod
    def from_json(cls, value: Any) -> Event:
        """The inverse of :meth:`to_json` (also accepts the ``{"start", "end", "caption"}`` object)."""
        if isinstance(value, dict):
            return cls(float(value["start"]), float(value["end"]), str(value["caption"]))
        start, end, caption = value
        return cls(float(start), float(end), str(caption))


def events_of(value: Any) -> tuple[Event, ...]:
    """A target or stored answer as events: a sequence of :class:`Event`, ``[start, end, caption]`` triples or
    ``{"start", "end", "caption"}`` objects (run records store triples)."""
    return tuple(v if isinstance(v, Event) else Event.from_json(v) for v in value)


_CLOCK = r"\d+(?::\d{1,2}){0,2}(?:\.\d+)?"
_UNIT = r"(?:\s*(?:s|secs?|seconds?)\b)?"
_LEAD = re.compile(r"^\s*(?:[-*•]\s+|\d+[.)]\s+)?[\[(]?\s*(?:from\s+)?", re.IGNORECASE)
_RANGE = re.compile(rf"({_CLOCK}){_UNIT}\s*(?:-|–|—|\bto\b)\s*({_CLOCK}){_UNIT}\s*[\])]?", re.IGNORECASE)
_SEPARATORS = " \t,:;.-–—|"


def clock_seconds(token: str) -> float | None:
    """'75.5', '1:15.5' or '0:01:15.5' in seconds; None for an invalid clock time ('1:75')."""
    parts = token.split(":")
    if any(float(part) >= 60 for part in parts[1:]):
        return None
    total = 0.0
    for part in parts:
        total = total * 60 + float(part)
    return total


def _event(start_token: str, end_token: str, caption: str, where: str) -> Event | str:
    """The event, or the reason it is malformed."""
    start, end = clock_seconds(start_token), clock_seconds(end_token)
    if start is None or end is None:
        return f"{where}: invalid clock time in {start_token} - {end_token} (minutes and seconds must be < 60)"
    if start > end:
        return f"{where}: event start {start} is after its end {end}"
    caption = caption.strip().strip(_SEPARATORS).strip()
    if not caption:
        return f"{where}: event {start} - {end} has no caption"
    return Event(start, end, caption)


def _skipped(count: int) -> str:
    return f"{count} prose line(s) skipped" if count else ""


def parse_event_lines(text: str) -> Parsed:
    """One event per line, "START - END caption" (rules and partial-parse policy in the module docstring)."""
    events: list[Event] = []
    prose = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        lead = _LEAD.match(line)
        found = _RANGE.match(line, lead.end() if lead else 0)
        if not found:
            prose += 1
            continue
        event = _event(found.group(1), found.group(2), line[found.end() :], f"line {number}")
        if isinstance(event, str):
            return unparseable(event)
        events.append(event)
    if not events:
        return unparseable("no timed event found (expected lines like '0.0 - 12.5 seconds, a man cuts onions')")
    return Parsed(tuple(events), True, _skipped(prose))


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL | re.IGNORECASE)


def _strip_fence(text: str) -> str:
    fenced = _FENCE.match(text)
    return fenced.group(1) if fenced else text.strip()


def _time_token(value: Any) -> str | None:
    """A JSON time (number or clock string) as a clock token, or None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and value >= 0:
        return repr(float(value))
    if isinstance(value, str) and re.fullmatch(rf"\s*{_CLOCK}{_UNIT}\s*", value, re.IGNORECASE):
        return re.sub(r"[^\d:.]", "", value)
    return None


def _json_item(item: Any, where: str) -> Event | str:
    start: Any
    end: Any
    caption: Any
    if isinstance(item, dict):
        window = item.get("timestamp")
        if isinstance(window, list) and len(window) == 2:
            start, end = window
        else:
            start, end = item.get("start"), item.get("end")
        caption = item.get("caption", item.get("sentence"))
    elif isinstance(item, list) and len(item) == 3:
        start, end, caption = item
    else:
        return f"{where}: expected {{'start', 'end', 'caption'}} or [start, end, caption], got {item!r}"
    start_token, end_token = _time_token(start), _time_token(end)
    if start_token is None or end_token is None or not isinstance(caption, str):
        return f"{where}: start and end must be times and the caption a string, got {item!r}"
    return _event(start_token, end_token, caption, where)


def parse_event_json(text: str) -> Parsed:
    """A JSON list of events (shapes in the module docstring); anything else is unparseable."""
    body = _strip_fence(text)
    try:
        items = json.loads(body)
    except json.JSONDecodeError as error:
        return unparseable(f"not valid JSON ({error.msg} at character {error.pos})")
    if not isinstance(items, list):
        return unparseable(f"expected a JSON list of events, got {type(items).__name__}")
    events: list[Event] = []
    for index, item in enumerate(items):
        event = _json_item(item, f"item {index}")
        if isinstance(event, str):
            return unparseable(event)
        events.append(event)
    if not events:
        return unparseable("no timed event found (the JSON list is empty)")
    return Parsed(tuple(events), True)


def parse_events(text: str) -> Parsed:
    """A dense-captioning answer in either format: JSON when it starts with '[' (fences stripped), else lines."""
    if not text.strip():
        return unparseable("empty output")
    if _strip_fence(text).startswith("["):
        return parse_event_json(text)
    return parse_event_lines(text)


def format_events(events: Sequence[Event]) -> str:
    """The ``lines`` answer a perfect model would give: the inverse of :func:`parse_event_lines`."""
    return "\n".join(f"{e.start:.2f} - {e.end:.2f} seconds, {e.caption}" for e in events)
