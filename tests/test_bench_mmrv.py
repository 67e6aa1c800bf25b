"""MMR-V: loader (12 options, "(A) " prefixes, the official prompt block), the official extraction's fallbacks
(hand-worked), the strict scorer, and the importer of official result files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tempeval import registry
from tempeval.benchmarks import mmrv
from tempeval.cli import main
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions, load_samples
from tempeval.scoring.scorers import Reference
from tempeval.types import Sample
from tests.fixtures import mmrv as fixture


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mmrv-data")
    fixture.build(root)
    return root


def samples(root: Path) -> list[Sample]:
    task = registry.get_task("mmrv")
    return load_samples(task, registry.get_dataset(task.dataset), LoadOptions(data_dir=root))


def test_loader(data_root: Path) -> None:
    first, twelve, four = samples(data_root)
    assert first.target == "K" and len(first.choices) == 11 and first.choices[10].startswith("A hidden lighter")
    assert first.question.endswith("[[END OF QUESTION]]\n[[OPTIONS]]\n['(A) He used a holographic projector to "
                                   "simulate the flame.', '(B) He used a special flame-retardant chemical on his hand "
                                   "to create the illusion.', " + first.question.split("illusion.', ", 1)[1])
    assert twelve.target == "L" and len(twelve.choices) == 12
    assert (first.meta["reasoning"], twelve.meta["reasoning"]) == ("Explicit", "Implicit")
    assert four.meta["video_type"] == "Film"


# Hand-worked from server_evaluation_on_MMR.py (first [[X]], \boxed{X}, last \b[A-L]\b of the upper-cased text) and
# main-results.py (last [X]/(X), else the last character A-L anywhere of the upper-cased response).
@pytest.mark.parametrize(
    ("response", "letter"),
    [
        ("[[C]]", "C"),
        ("I think [[B]], no wait [[D]]", "B"),       # the first [[X]]
        ("[[c]] then (D)", "D"),                     # [[x]] is case-sensitive; the last standalone letter wins
        ("\\boxed{F}", "F"),
        ("The answer is (B), not (C).", "C"),        # the LAST standalone letter
        ("I think so", "I"),                         # "I" is a standalone letter
        ("a cat", "A"),                              # upper-cased first
        ("the wolf", "F"),                           # no standalone letter: the last character A-L anywhere
        ("no idea", "A"),
        ("L", "L"),                                  # beyond 4 options, still read (and wrong)
        ("", None),
        ("xyz 123", None),
    ],
)
def test_official_extraction(response: str, letter: str | None) -> None:
    assert mmrv.official_letter(response) == letter


def test_official_and_strict_scores(data_root: Path) -> None:
    four = samples(data_root)[2]  # target C of 4
    ref = Reference("letter", four.target, four.choices)
    assert mmrv.official("Option C is best, since the man smiles", ref).value == 1.0  # C: the last standalone letter
    assert mmrv.official("the wolf", ref).value == 0.0 and mmrv.official("", ref).parsed is False
    assert mmrv.strict("[[C]]", ref).value == 1.0 and mmrv.strict("The answer is [[C]].", ref).value == 1.0
    assert not mmrv.strict("the man", ref).parsed
    assert not mmrv.strict("[[A]] or [[C]]", ref).parsed
    assert mmrv.strict("(C)", ref).value == 1.0


def test_import_and_score(data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = fixture.RECORDS
    key = "gemini-2.5-flash_raw_response"
    results = [{**records[0], key: "[[K]]"}, {**records[1], key: "the theme"}, {**records[2], key: "(C)"}]
    path = tmp_path / "gemini-2.5-flash_on_MMR_V.json"
    path.write_text(json.dumps(results), encoding="utf-8")
    out = tmp_path / "imported"
    assert main(["import", str(path), "--benchmark", "mmrv", "--model", "gemini", "--out", str(out),
                 "--data-dir", str(data_root)]) == 0
    capsys.readouterr()
    assert main(["score", str(out), "--json", "--parser-mode", "official"]) == 0
    (run,) = [o for o in map(json.loads, capsys.readouterr().out.splitlines()) if "task" in o]
    # "the theme" reads E officially (its last character A-L; target L): wrong, parsed; the other two right.
    assert run["metrics"]["accuracy"] == pytest.approx(200 / 3) and run["unparseable"] == 0
    capsys.readouterr()
    assert main(["score", str(out), "--json", "--parser-mode", "strict"]) == 0
    (run,) = [o for o in map(json.loads, capsys.readouterr().out.splitlines()) if "task" in o]
    assert run["unparseable"] == 1 and run["metrics"]["accuracy"] == pytest.approx(200 / 3)

    from tempeval.importing import import_runs

    path.write_text(json.dumps([{**records[0], "question": "other?", key: "A"}]), encoding="utf-8")
    with pytest.raises(TempevalError, match="not a question of the annotations"):
        import_runs("mmrv", "m", [path], tmp_path / "o2", LoadOptions(data_dir=data_root))
