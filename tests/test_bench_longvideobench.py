"""LongVideoBench: loader (video-only and subtitle tasks kept apart), subtitle timing, the official scorer."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tempeval import registry
from tempeval.benchmarks import longvideobench
from tempeval.scoring.scorers import Reference
from tests.conftest import samples_of
from tests.fixtures import longvideobench as fixture

FOUR = ("w", "x", "y", "z")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lvb-data")
    fixture.build(root)
    return root


def test_two_protocols_two_tasks(data_dir: Path) -> None:
    video_only, subtitled = samples_of("longvideobench_val_v", data_dir), samples_of("longvideobench_val_i", data_dir)
    assert [s.id for s in video_only] == [s.id for s in subtitled] == ["q0_1", "q1_2", "q2_1", "q3_2"]
    assert all(s.context is None for s in video_only)
    first = video_only[0]
    assert first.question.splitlines()[1:] == [f"{letter}. option {n} of question 0" for n, letter in enumerate("ABCD")]
    assert first.target == "C" and first.meta == {"duration_group": "15", "question_category": "S2E",
                                                  "video_id": "vid1"}
    # Sorted by time; video 2's cue that ends before its clip starts (10-12.5 s, offset 20 s) is left out, and a cue
    # without an end runs to the end of the video.
    assert subtitled[0].context == "Hello there.\nFirst we open the box."
    assert subtitled[1].context == "The goal!"
    assert {registry.get_task(n).subset for n in ("longvideobench_val_v", "longvideobench_val_i")} == set(
        longvideobench.SUBSETS)


@pytest.mark.parametrize(
    ("response", "letter", "parsed"),
    [
        ("C", "C", True),
        ("The best option is D", "D", True),     # the prefixes have their commas in this copy
        ("Best answer: C", "C", True),
        ("E", "E", True),                        # outside the 4 options: taken, and wrong
        ("A cat sits. C", "A", True),            # the first capital A-E anywhere
    ],
)
def test_official_letters(response: str, letter: str, parsed: bool) -> None:
    score = longvideobench.official(response, Reference("letter", "C", FOUR, sample_id="q"))
    assert (score.answer, score.parsed, score.value) == (letter, parsed, float(letter == "C"))


def test_official_random_fallback_is_seeded() -> None:
    for response in ("", "c", "the person in the video opens a box and then leaves the room quickly"):
        score = longvideobench.official(response, Reference("letter", "B", FOUR, sample_id="q7"))
        expected = random.Random("lvb:q7").choice("ABCD")
        assert (score.answer, score.parsed, score.value) == (expected, False, float(expected == "B"))
