"""EgoSchema: the 500-question subset and the full set apart, subset accuracy on the full set, the submission file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tempeval import registry
from tempeval.adapter import create_adapter
from tempeval.benchmarks import egoschema
from tempeval.loaders import LoadOptions
from tempeval.runner import RunOptions, run_task
from tests.conftest import samples_of
from tests.fixtures import egoschema as fixture
from tests.fixtures import mlvu


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("egoschema-data")
    fixture.build(root, unanswered=2)
    return root


def test_subset_and_full(data_dir: Path) -> None:
    subset, full = samples_of("egoschema_subset", data_dir), samples_of("egoschema_full", data_dir)
    assert len(subset) == 4 and len(full) == 6 and [s.id for s in subset] == [s.id for s in full[:4]]
    assert [s.target for s in subset] == ["A", "D", "B", "E"] and full[5].target is None
    assert full[5].meta == {"answer_public": False, "video_id": full[5].id}
    assert subset[0].question.splitlines()[1] == "A. c is doing thing 0 in clip 0."


def test_full_run_scores_the_public_answers_and_writes_the_submission(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = registry.get_task("egoschema_full")
    full = samples_of("egoschema_full", data_dir)
    # Right on answered questions 0 and 1, wrong on 2, no letter on 3; letters C and "I don't know" on the others.
    replies = {full[0].id: "A", full[1].id: "(D)", full[2].id: "A", full[3].id: "I don't know",
               full[4].id: "C", full[5].id: "I don't know"}
    adapter = create_adapter("scripted", {"policy": lambda request: replies[request.sample_id], "label": "s"})
    summary = run_task(task, adapter, "scripted/s",
                       RunOptions(out_dir=tmp_path / "runs", load=LoadOptions(data_dir=data_dir), progress=False))
    assert summary.headline == "subset_accuracy" and summary.metrics["subset_accuracy"].value == pytest.approx(50.0)
    assert summary.metrics["subset_accuracy"].n == 4
    run_file = next((tmp_path / "runs").rglob("*.jsonl"))
    out = tmp_path / "submission.json"
    assert egoschema.main([str(run_file), "-o", str(out)]) == 0
    assert json.loads(out.read_text()) == {full[0].id: 0, full[1].id: 3, full[2].id: 0, full[3].id: -1,
                                           full[4].id: 2, full[5].id: -1}
    assert "6 answers (2 invalid" in capsys.readouterr().out


def test_submission_refuses_other_tasks(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mlvu.build(data_dir)
    task = registry.get_task("mlvu_count")
    adapter = create_adapter("scripted", {"policy": lambda request: "A", "label": "s"})
    run_task(task, adapter, "scripted/s",
             RunOptions(out_dir=tmp_path / "runs", load=LoadOptions(data_dir=data_dir), progress=False))
    run_file = next((tmp_path / "runs").rglob("*.jsonl"))
    assert egoschema.main([str(run_file), "-o", str(tmp_path / "x.json")]) == 1
    assert "not an EgoSchema task" in capsys.readouterr().err and not (tmp_path / "x.json").exists()
