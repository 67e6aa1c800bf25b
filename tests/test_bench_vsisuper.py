"""VSI-SUPER: the quantity parser and mean relative accuracy (strict), lmms-eval's official recall and count
scorers (hand-worked, float thresholds included), and the loader's one task per video length."""

from __future__ import annotations

from pathlib import Path

import pytest

from tempeval import registry
from tempeval.benchmarks import vsisuper
from tempeval.loaders import LoadOptions, load_samples
from tempeval.scoring.parsers import parse_quantity
from tempeval.scoring.scorers import Reference, mean_relative_accuracy, mra
from tempeval.types import Sample
from tests.fixtures import vsisuper as fixture


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("vsisuper-data")
    fixture.build(root)
    return root


def samples(name: str, root: Path) -> list[Sample]:
    task = registry.get_task(name)
    return load_samples(task, registry.get_dataset(task.dataset), LoadOptions(data_dir=root))


@pytest.mark.parametrize(
    ("text", "value"),
    [("12", 12.0), ("about 3.5 chairs", 3.5), ("-2", -2.0), ("There are seven.", 7.0), ("I count 4, maybe 5", 4.0)],
)
def test_parse_quantity(text: str, value: float) -> None:
    parsed = parse_quantity(text)
    assert parsed.ok and parsed.answer == value


def test_parse_quantity_refuses_no_number() -> None:
    assert not parse_quantity("many").ok and not parse_quantity("").ok


@pytest.mark.parametrize(
    ("predicted", "target", "value"),
    [
        (10, 10, 1.0),
        (13, 10, 0.4),   # error 0.3 < 1 - θ for θ = 0.50 .. 0.65 (0.3 < 0.3 is false at θ = 0.70)
        (15, 10, 0.0),   # error 0.5 is not < 0.5
        (0, 0, 1.0),
        (1, 0, 0.0),
        (2, 1, 0.0),
    ],
)
def test_mean_relative_accuracy_strict(predicted: float, target: float, value: float) -> None:
    assert mean_relative_accuracy(predicted, target) == pytest.approx(value)


@pytest.mark.parametrize(
    ("predicted", "target", "official", "strict"),
    [
        # Official: error <= 1 - θ, θ = np.linspace(0.5, 0.95, 10), 1 - θ in floating point (0.30000000000000004,
        # 0.10000000000000009, 0.050000000000000044): the boundary counts, and a little more.
        (13, 10, 0.5, 0.4),    # error 0.3: official counts θ = 0.70 too; strict stops at 0.65
        (7, 10, 0.5, 0.4),
        (15, 10, 0.1, 0.0),    # error 0.5 <= 0.5
        (11, 10, 0.9, 0.8),    # error 0.1 <= 0.10000000000000009
        (19, 20, 1.0, 0.9),    # error 0.05 <= 0.050000000000000044
        (0, 0, 1.0, 1.0),
        (3, 0, 0.0, 0.0),
    ],
)
def test_official_mra_is_inclusive_and_floating(
    predicted: float, target: float, official: float, strict: float
) -> None:
    assert vsisuper.official_mra(predicted, target) == pytest.approx(official)
    assert mean_relative_accuracy(predicted, target) == pytest.approx(strict)


def test_count_scorers_differ_on_a_missing_number() -> None:
    reference = Reference("number", 0)
    official = vsisuper.official_count("I cannot tell", reference)
    assert official.value == 1.0 and official.parsed  # no number reads 0, and the target is 0: full marks
    strict = mra("I cannot tell", reference)
    assert strict.value == 0.0 and not strict.parsed


@pytest.mark.parametrize(
    ("response", "target", "value"),
    [
        ("B", "B", 1.0),
        ("(b)", "B", 1.0),
        ("The answer is B", "B", 0.0),   # the first A-D is the A of "ANSWER"
        ("Definitely C", "C", 0.0),      # the D of "DEFINITELY"
        ("", "A", 0.0),
        ("C. Bed, Chair", "C", 1.0),
    ],
)
def test_official_recall_reads_the_first_a_to_d(response: str, target: str, value: float) -> None:
    assert vsisuper.official_recall(response, Reference("letter", target, ("w", "x", "y", "z"))).value == value


def test_loader_splits_by_length(data_root: Path) -> None:
    recall = samples("vsisuper_recall_240mins", data_root)
    assert len(recall) == 3 and all(s.meta["length"] == "240mins" for s in recall)
    first = recall[0]
    assert first.choices[0] == "Trash can, Bed, Chair, Basket" and first.target == "B"
    assert first.question.endswith("\nOptions:\nA. Trash can, Bed, Chair, Basket\nB. Bed, Chair, Basket, Trash can"
                                   "\nC. Chair, Basket, Trash can, Bed\nD. Basket, Trash can, Bed, Chair")
    count = samples("vsisuper_count_10mins", data_root)
    assert [s.target for s in count] == [0, 1, 0]
    assert "vsisuper_count_240mins" not in registry.tasks()  # the count set has no 240-minute videos
    assert not any(n.startswith("vsisuper") and "stream" in n for n in registry.tasks()), "no count_streaming task"
