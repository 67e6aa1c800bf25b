"""TimeScope: loader (options read back from the input text), per length x task breakdown, the official extractor."""

from __future__ import annotations

from pathlib import Path

import pytest

from tempeval.benchmarks import timescope
from tempeval.scoring.scorers import Reference
from tests.conftest import samples_of
from tests.fixtures import timescope as fixture

SIX = tuple("uvwxyz")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("timescope-data")
    fixture.build(root)
    return root


def test_loader(data_dir: Path) -> None:
    loaded = samples_of("timescope", data_dir)
    assert len(loaded) == 6 and loaded[0].choices == tuple(f"answer {n} to question 0" for n in range(4))
    assert loaded[0].meta == {"length": "60", "type": "QA", "length_task": "60_QA", "video_id": "videos/60s_0.mp4"}
    cells = {f"{n}_{t}" for n in (60, 3600) for t in ("QA", "OCR", "temporal")}
    assert {s.meta["length_task"] for s in loaded} == cells


def test_options_must_run_in_order() -> None:
    assert timescope.options_of("Q?\n(A) one\n(B) two") == ("one", "two")
    with pytest.raises(ValueError, match="found AC"):
        timescope.options_of("Q?\nA. one\nC. two")


# Hand-worked from timescope/utils.extract_characters_regex (the eight prefixes with their commas, [ABCDEF]).
@pytest.mark.parametrize(
    ("response", "letter"),
    [
        ("F", "F"),
        ("The answer is E.", "E"),
        ("A needle appears, so C", "A"),          # the first capital A-F anywhere: the article "A"
        ("(b)", None),                            # lower case is not read
        ("the needle clip showed a person walking through a park with a small dog", None),  # >10 words, no A-F
        ("", None),
    ],
)
def test_official_extractor(response: str, letter: str | None) -> None:
    score = timescope.official(response, Reference("letter", "E", SIX))
    assert (score.answer, score.parsed, score.value) == (letter, letter is not None, float(letter == "E"))
