"""NExT-QA multiple choice: loader (TP merged into TN, video folders from the map), causal / temporal / descriptive
accuracies, and the importer of official result files against eval_mc.py's arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tempeval.benchmarks import nextqa
from tempeval.cli import main
from tempeval.errors import TempevalError
from tests.conftest import samples_of
from tests.fixtures import nextqa as fixture
from tests.test_bench_vinoground import score_json


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("nextqa-data")
    fixture.build(root)
    return root


def test_loader(data_dir: Path) -> None:
    val = samples_of("nextqa_mc_val", data_dir)
    assert len(val) == 8 and len(samples_of("nextqa_mc_test", data_dir)) == 8
    documented = val[1]
    assert documented.id == "4010069381_6" and documented.target == "A"
    assert documented.question == ("how do the two man play the instrument\nA. roll the handle\nB. tap their feet\n"
                                   "C. strum the string\nD. hit with sticks\nE. pat with hand")
    assert documented.video is not None and documented.video.path.endswith("NExTVideo/0381/4010069381.mp4")
    assert [s.meta["type"] for s in val] == ["CW", "CH", "TN", "TN", "TC", "DC", "DL", "DO"]  # TP -> TN
    assert [s.meta["category"] for s in val] == list("CCTTTDDD")


def test_import_reproduces_eval_mc(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    val = samples_of("nextqa_mc_val", data_dir)
    # Right on questions 0, 2, 5 and 6; wrong elsewhere. eval_mc.py: C 1/2, T 1/3, D 2/3, all 4/8.
    right = {0, 2, 5, 6}
    predictions = {s.id: {"prediction": "ABCDE".index(s.target) if i in right else ("ABCDE".index(s.target) + 1) % 5,
                          "answer": "ABCDE".index(s.target)} for i, s in enumerate(val)}
    path = tmp_path / "HGA-val.json"
    path.write_text(json.dumps(predictions), encoding="utf-8")
    runs = tmp_path / "runs"
    assert main(["import", str(path), "--benchmark", "nextqa", "--model", "hga", "--out", str(runs),
                 "--data-dir", str(data_dir)]) == 0
    metrics = score_json(runs, capsys)["nextqa_mc_val"]["metrics"]
    assert metrics["acc_C"] == 50.0 and metrics["acc_T"] == pytest.approx(100 / 3)
    assert metrics["acc_D"] == pytest.approx(200 / 3) and metrics["accuracy"] == 50.0


def test_import_rejects_mixed_or_foreign_ids(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps({"4010069381_6": {"prediction": 0, "answer": 0},
                                "200000000_0": {"prediction": 0, "answer": 0}}), encoding="utf-8")
    with pytest.raises(TempevalError, match="not all of one split"):
        nextqa.import_predictions([path], lambda name: samples_of(name, data_dir))
