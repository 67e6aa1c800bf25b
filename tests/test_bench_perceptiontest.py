"""Perception Test MC val: loader (cut frames applied when published), breakdowns, the eval.ai importer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tempeval.benchmarks import perceptiontest
from tempeval.cli import main
from tempeval.errors import TempevalError
from tests.conftest import samples_of
from tests.fixtures import perceptiontest as fixture
from tests.test_bench_vinoground import score_json


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("perceptiontest-data")
    fixture.build(root)
    return root


def test_loader_and_cut_frames(data_dir: Path, tmp_path: Path) -> None:
    loaded = samples_of("perceptiontest_mc_val", data_dir)
    assert [s.id for s in loaded] == ["video_1_0", "video_1_1", "video_2_0", "video_2_1", "video_2_2"]
    first = loaded[0]
    assert first.choices == ("under cup 0", "under cup 1", "under cup 2") and first.target == "B"
    assert first.video is not None and first.video.end_s == 1.0 and first.meta["cut"] is True  # frame 5 at 5 fps
    assert loaded[2].video is not None and loaded[2].video.end_s is None and loaded[2].meta["cut"] is False
    assert first.meta["area"] == "memory" and first.meta["reasoning"] == "descriptive"
    fixture.build(tmp_path)
    (tmp_path / "perceptiontest" / perceptiontest.CUT_FRAMES).unlink()
    uncut = samples_of("perceptiontest_mc_val", tmp_path)[0]
    assert uncut.video is not None and uncut.video.end_s is None and uncut.meta["cut"] is False


def test_import_eval_ai_submission(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loaded = samples_of("perceptiontest_mc_val", data_dir)
    # Right on 3 of 5 (ids 0 and 1 of video_1, id 2 of video_2).
    right = {"video_1_0", "video_1_1", "video_2_2"}
    submission: dict[str, list[dict[str, int]]] = {}
    for sample in loaded:
        video_id, _, qid = sample.id.rpartition("_")
        index = "ABC".index(sample.target)
        submission.setdefault(video_id, []).append(
            {"id": int(qid), "answer_id": index if sample.id in right else (index + 1) % 3})
    path = tmp_path / "submission.json"
    path.write_text(json.dumps(submission), encoding="utf-8")
    runs = tmp_path / "runs"
    assert main(["import", str(path), "--benchmark", "perceptiontest", "--model", "m", "--out", str(runs),
                 "--data-dir", str(data_dir)]) == 0
    assert score_json(runs, capsys)["perceptiontest_mc_val"]["metrics"]["accuracy"] == 60.0
    path.write_text(json.dumps({"video_9": [{"id": 0, "answer_id": 1}]}), encoding="utf-8")
    with pytest.raises(TempevalError, match="video_9 question 0"):
        perceptiontest.import_predictions([path], lambda name: samples_of(name, data_dir))
