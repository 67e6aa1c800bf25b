"""MLVU dev: loader (answers given as text), the official check_ans, M-Avg as the mean over the seven tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tempeval import registry
from tempeval.benchmarks import mlvu
from tempeval.cli import main
from tempeval.errors import TempevalError
from tempeval.scoring.scorers import Reference, strict
from tests.conftest import samples_of
from tests.fixtures import mlvu as fixture
from tests.test_bench_vinoground import score_json

COUNTS = {"plotQA": 539, "needle": 355, "ego": 352, "count": 206, "order": 259, "anomaly_reco": 200,
          "topic_reasoning": 264}
"""The dev multiple-choice sizes (data/*.json @ fd060c10, counted); each task's description states its count."""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mlvu-data")
    fixture.build(root)
    return root


def test_loader_and_prompt_block(data_dir: Path) -> None:
    plot = samples_of("mlvu_plotqa", data_dir)
    first = plot[0]
    assert first.question == ("Question: What color is the main male character in the video?\nOptions:\n(A) Yellow\n"
                              "(B) Red\n(C) Green\n(D) Blue")
    assert first.target == "A" and first.id == "plotQA_0" and first.video is not None
    assert first.video.path.endswith("mlvu/video/plotQA/movie101_66.mp4")


def test_every_task_states_the_paper_count() -> None:
    for task, count in COUNTS.items():
        description = registry.get_task(f"mlvu_{task.lower()}").description
        assert f"{count} questions" in description, task
    assert sum(COUNTS.values()) == 2175


# Hand-worked from choice_bench.check_ans: cut to the character before the first ")", then it must equal the letter.
@pytest.mark.parametrize(
    ("response", "correct", "parsed"),
    [("B", True, True), ("B) Red", True, True), ("(B) Red", True, True), ("the answer is (B)", True, True),
     ("B.", False, False), (" B", False, False), ("Answer: B", False, False), (")B", False, False),
     ("A) Yellow", False, True), ("", False, False)],
)
def test_official_check_ans(response: str, correct: bool, parsed: bool) -> None:
    score = mlvu.official(response, Reference("letter", "B", ("Yellow", "Red", "Green", "Blue")))
    assert (score.value, score.parsed) == (float(correct), parsed)


def test_m_avg_is_a_mean_over_tasks() -> None:
    spec = registry.group_spec("mlvu")
    assert (spec.aggregate, spec.metric) == ("macro", "m_avg")


def test_answer_outside_candidates_is_kept_and_never_right(tmp_path: Path) -> None:
    fixture.build(tmp_path)
    path = tmp_path / "mlvu" / mlvu.TASK_FILES["needle"]
    records = json.loads(path.read_text())
    records[1]["answer"] = "Catching a flying drone quadcopter"  # as needle questions 34 and 338 @ fd060c10
    path.write_text(json.dumps(records))
    loaded = samples_of("mlvu_needle", tmp_path)
    assert len(loaded) == 3 and loaded[1].target is None and loaded[1].meta["answer_in_candidates"] is False
    for letter in "ABCD":
        assert mlvu.official(letter, Reference("letter", None, loaded[1].choices)).value == 0.0
        assert strict(letter, Reference("letter", None, loaded[1].choices)).value == 0.0


def test_import_choice_bench_results(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # choice_bench.py's saved file; count: 2 of 3 right ("(X) text" and a bare letter); plotQA: 1 of 3 ("X." wrong).
    results = []
    for task, answers in (("count", ["{t}) x", "{t}", "Z"]), ("plotQA", ["{t}.", "({t}) y", "{t}."])):
        for sample, answer in zip(samples_of(mlvu.task_name(task), data_dir), answers, strict=True):
            assert sample.target is not None and sample.video is not None
            results.append({"pred": answer.format(t=sample.target), "question": sample.question,
                            "gt": f"({sample.target}) {sample.choices['ABCDEF'.index(sample.target)]}",
                            "question_type": task, "video": f"/MLVU_all/video/{task}/{Path(sample.video.path).name}"})
    path = tmp_path / "test_all_choice.json"
    path.write_text(json.dumps({"acc_dict": {}, "res_list": results}), encoding="utf-8")
    runs = tmp_path / "runs"
    assert main(["import", str(path), "--benchmark", "mlvu", "--model", "m", "--out", str(runs),
                 "--data-dir", str(data_dir)]) == 0
    scored = score_json(runs, capsys)
    assert scored["mlvu_count"]["metrics"]["accuracy"] == pytest.approx(200 / 3)
    assert scored["mlvu_plotqa"]["metrics"]["accuracy"] == pytest.approx(100 / 3)
    results[0]["gt"] = "(@) nothing"
    path.write_text(json.dumps({"res_list": results}), encoding="utf-8")
    with pytest.raises(TempevalError, match="where the annotations give"):
        mlvu.import_predictions([path], lambda name: samples_of(name, data_dir))
