"""One parser per answer format, with an explicit unparseable outcome (never a guess)."""

from __future__ import annotations

import pytest

from tempeval.scoring.parsers import gold_text, parse
from tempeval.scoring.scorers import iou, score_output
from tempeval.types import Sample

CHOICES = ("left", "right", "up", "down")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("B", "B"),
        ("b", "B"),
        ("(C)", "C"),
        ("D. down", "D"),
        ("A) left", "A"),
        ("Answer: B", "B"),
        ("The answer is (C) up.", "C"),
        ("option d", "D"),
        ("right", "B"),
        ("It moves down.", "D"),
    ],
)
def test_letter_parsed(text: str, expected: str) -> None:
    parsed = parse("letter", text, CHOICES)
    assert parsed.ok and parsed.answer == expected


@pytest.mark.parametrize(
    "text",
    ["", "   ", "A red circle", "It moves left, then right", "(A) or (B)", "E", "I cannot tell"],
)
def test_letter_unparseable_never_guessed(text: str) -> None:
    parsed = parse("letter", text, CHOICES)
    assert not parsed.ok and parsed.answer is None and parsed.reason


@pytest.mark.parametrize(
    ("fmt", "text", "expected"),
    [
        ("yes_no", "Yes.", True),
        ("yes_no", "no, it has not", False),
        ("yes_no", "I think yes", True),
        ("true_false", "TRUE", True),
        ("true_false", "The claim is false.", False),
        ("number", "3", 3),
        ("number", "three times", 3),
        ("window", "2.5 - 4.0", (2.5, 4.0)),
        ("window", "from 0:02 to 0:04.5", (2.0, 4.5)),
        ("window", "The square appears between 1 and 3 seconds.", (1.0, 3.0)),
    ],
)
def test_other_formats(fmt: str, text: str, expected: object) -> None:
    parsed = parse(fmt, text)
    assert parsed.ok and parsed.answer == expected


@pytest.mark.parametrize(
    ("fmt", "text"),
    [("yes_no", "maybe"), ("yes_no", "maybe yes, maybe no"), ("true_false", ""), ("window", "at 3 s"),
     ("window", "5 - 2"), ("number", "several")],
)
def test_other_formats_unparseable(fmt: str, text: str) -> None:
    assert not parse(fmt, text).ok


def test_iou_by_hand() -> None:
    assert iou((0, 2), (1, 3)) == pytest.approx(1 / 3)  # overlap 1, union 3
    assert iou((0, 1), (1, 2)) == 0.0  # touching windows do not overlap
    assert iou((2, 4), (2, 4)) == 1.0
    assert iou((3, 3), (3, 3)) == 0.0  # empty union


def test_window_clipped_to_video() -> None:
    # The prediction 8-20 s on a 10 s video is clipped to 8-10; target 8-10 -> IoU 1.
    score = score_output("window", "8 - 20", [8.0, 10.0], duration_s=10.0)
    assert score.value == pytest.approx(1.0) and score.answer == [8.0, 10.0]


def test_unparseable_scores_zero_and_is_flagged() -> None:
    score = score_output("letter", "no idea", "A", CHOICES)
    assert score.value == 0.0 and not score.parsed


@pytest.mark.parametrize(
    ("fmt", "target"),
    [("letter", "C"), ("yes_no", True), ("yes_no", False), ("true_false", False), ("window", (1.25, 3.5)),
     ("number", 4)],
)
def test_gold_text_round_trips(fmt: str, target: object) -> None:
    sample = Sample(id="s", kind="multiple_choice", question="q", choices=CHOICES, target=target)
    assert score_output(fmt, gold_text(sample, fmt), target, CHOICES).value == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The video is 30 seconds long. The moment is 32.0 - 35.0 seconds.", (32.0, 35.0)),
        ("In the 2nd half: 20 - 25", (20.0, 25.0)),
        ("Of the 60 s video, from 12.5 seconds to 20 seconds.", (12.5, 20.0)),
        ("In a 40 s clip it happens between 3s and 7s.", (3.0, 7.0)),
        ("Clip 1: 0:05–0:09", (5.0, 9.0)),
        ("The video is 30 seconds long; it starts at 4.5 and ends at 9.", (4.5, 9.0)),
        ("12 15", (12.0, 15.0)),  # no explicit range: the first two times
        ("Answer: 3 to 8", (3.0, 8.0)),
    ],
)
def test_window_prefers_an_explicit_range(text: str, expected: tuple[float, float]) -> None:
    parsed = parse("window", text)
    assert parsed.ok and parsed.answer == expected


@pytest.mark.parametrize(
    ("text", "choices"),
    [
        ("There is no dimming, complete switching off", ("Gradual dimming", "Flickering", "Switching off")),
        ("It does not move left, I think", CHOICES),
        ("It isn't going down.", CHOICES),
    ],
)
def test_letter_negated_mention_is_not_an_answer(text: str, choices: tuple[str, ...]) -> None:
    parsed = parse("letter", text, choices)
    assert not parsed.ok and "negation" in parsed.reason


def test_letter_negation_inside_the_option_text_is_fine() -> None:
    parsed = parse("letter", "I think it is not moving at all.", ("Moving left", "Not moving", "Moving right"))
    assert parsed.ok and parsed.answer == "B"
