"""Parsers of dense-captioning answers into timed events: one test group per answer format."""

from __future__ import annotations

import pytest

from tempeval.scoring.events import (
    Event,
    format_events,
    parse_event_json,
    parse_event_lines,
    parse_events,
)


def test_lines_with_seconds_and_bullets() -> None:
    text = "Here are the events:\n0.0 - 12.5 seconds, a man cuts onions\n- 12.5 - 20s: he fries them.\n"
    parsed = parse_event_lines(text)
    assert parsed.ok
    assert parsed.answer == (Event(0.0, 12.5, "a man cuts onions"), Event(12.5, 20.0, "he fries them"))
    assert parsed.reason == "1 prose line(s) skipped"


@pytest.mark.parametrize(
    ("line", "window"),
    [
        ("1. 0:05 - 1:10 a dog runs", (5.0, 70.0)),
        ("[01:00:00 - 01:00:30.5] a dog runs", (3600.0, 3630.5)),
        ("(0:00-0:12) a dog runs", (0.0, 12.0)),
        ("from 3 to 4.5 seconds, a dog runs", (3.0, 4.5)),
        ("2) 3 – 4 a dog runs", (3.0, 4.0)),
    ],
)
def test_lines_time_formats(line: str, window: tuple[float, float]) -> None:
    parsed = parse_event_lines(line)
    assert parsed.ok, parsed.reason
    (event,) = parsed.answer
    assert (event.start, event.end, event.caption) == (*window, "a dog runs")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("The man cooks dinner.", "no timed event found"),
        ("0 - 5 a man walks\n9 - 7 he sits", "line 2: event start 9.0 is after its end 7.0"),
        ("0:10 - 1:75 a man walks", "invalid clock time"),
        ("0 - 5 seconds,", "has no caption"),
        ("", "empty output"),
    ],
)
def test_lines_unparseable(text: str, reason: str) -> None:
    parsed = parse_events(text)
    assert not parsed.ok
    assert parsed.answer is None
    assert reason in parsed.reason


def test_json_objects_triples_and_fences() -> None:
    objects = (
        '```json\n[{"start": 0, "end": 2.5, "caption": "a cat"}, '
        '{"timestamp": ["0:03", "0:04"], "sentence": "it jumps"}]\n```'
    )
    assert parse_events(objects).answer == (Event(0.0, 2.5, "a cat"), Event(3.0, 4.0, "it jumps"))
    triples = '[[0, 1, "a cat"], [1, 2.0, "it jumps"]]'
    assert parse_event_json(triples).answer == (Event(0.0, 1.0, "a cat"), Event(1.0, 2.0, "it jumps"))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[{"start": 0, "end": 2}]', "item 0: start and end must be times and the caption a string"),
        ('[[0, 1]]', "item 0: expected"),
        ('[[5, 1, "x"]]', "item 0: event start 5.0 is after its end 1.0"),
        ('[[true, 1, "x"]]', "item 0: start and end must be times"),
        ("[]", "the JSON list is empty"),
        ('[[0, 1, "x"],', "not valid JSON"),
        ('{"start": 0}', "expected a JSON list"),
    ],
)
def test_json_unparseable(text: str, reason: str) -> None:
    parsed = parse_event_json(text)
    assert not parsed.ok
    assert reason in parsed.reason


def test_format_events_round_trips_and_event_json() -> None:
    events = (Event(0.0, 12.5, "a man cuts onions"), Event(12.5, 30.25, "he fries them"))
    assert parse_events(format_events(events)).answer == events
    assert Event.from_json(events[0].to_json()) == events[0]
    assert Event.from_json({"start": 1, "end": 2, "caption": "x"}) == Event(1.0, 2.0, "x")
    with pytest.raises(ValueError, match="start <= end"):
        Event(2.0, 1.0, "x")
