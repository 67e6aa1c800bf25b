"""Dense captioning on ActivityNet Captions and YouCook2: loaders in the official formats, scored end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tempeval.cli import main
from tempeval.errors import TempevalError
from tempeval.results import read_run
from tempeval.scoring.events import Event
from tests.conftest import samples_of
from tests.fixtures import activitynet_captions, youcook2


def test_activitynet_dense_is_one_sample_per_video_with_all_its_events(tmp_path: Path) -> None:
    activitynet_captions.build(tmp_path)
    val1 = samples_of("activitynet_captions_dense_val_1", tmp_path)
    assert [s.id for s in val1] == ["v_uqiMw7tQ1Cc", "v_fixture0001", "v_fixture0004"]
    first = val1[0]
    assert first.kind == "dense_captioning" and first.target == (
        Event(0.28, 55.15, "A weight lifting tutorial is given."),
        Event(13.79, 54.32, "The coach helps the guy in red with the proper body placement and lifting technique."),
    )
    assert first.meta == {"video_id": "v_uqiMw7tQ1Cc", "split": "val_1", "duration": 55.15, "events": 2}
    assert [s.id for s in samples_of("activitynet_captions_dense_val_2", tmp_path)][0] == "v_fixture0002"


def test_activitynet_dense_swaps_a_reversed_window_with_a_warning(tmp_path: Path) -> None:
    activitynet_captions.build(
        tmp_path, {"val_1.json": {"v_x": {"duration": 20.0, "timestamps": [[9.5, 2.0]], "sentences": ["a"]}}}
    )
    with pytest.warns(UserWarning, match=r"v_x, sentence 0: window \[9.5, 2.0\] starts after it ends"):
        assert samples_of("activitynet_captions_dense_val_1", tmp_path)[0].target == (Event(2.0, 9.5, "a"),)


def test_youcook2_reads_the_validation_videos_of_the_release_file(tmp_path: Path) -> None:
    youcook2.build(tmp_path)
    samples = samples_of("youcook2_dense", tmp_path)
    assert [s.id for s in samples] == ["xHr8X2Wpmno", "V53XmPeyjIU", "mZwK0TBI1iY"]  # not the training video
    assert samples[0].target == (Event(10, 40, "crack eggs into a bowl"), Event(45, 80, "whisk the eggs with salt"))
    assert samples[0].meta["recipe_type"] == "101" and samples[0].video is not None
    assert samples[0].video.path.endswith("youcook2/videos/xHr8X2Wpmno.mp4")


def test_youcook2_bad_records_name_the_file_the_video_and_the_fix(tmp_path: Path) -> None:
    youcook2.build(tmp_path, {"v1": {"subset": "validation", "duration": 9.0, "annotations": [{"segment": [5, 1],
                                                                                                 "sentence": "x"}]}})
    with pytest.raises(TempevalError, match=r"youcookii_annotations_trainval\.json.*v1.*step 0"):
        samples_of("youcook2_dense", tmp_path)
    (tmp_path / "youcook2" / "youcookii_annotations_trainval.json").write_text("[]", encoding="utf-8")
    with pytest.raises(TempevalError, match="expected .*database.*re-download"):
        samples_of("youcook2_dense", tmp_path)


def test_random_model_end_to_end_on_both(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    activitynet_captions.build(tmp_path / "data")
    youcook2.build(tmp_path / "data")
    argv = ["run", "--model", "random", "--task", "dense_captioning", "--data-dir", str(tmp_path / "data"),
            "--out", str(tmp_path / "runs"), "--no-progress"]
    assert main(argv) == 0
    runs = {read_run(p).header["task"]: read_run(p) for p in (tmp_path / "runs").rglob("*.jsonl")}
    assert set(runs) == {"activitynet_captions_dense_val_1", "activitynet_captions_dense_val_2", "youcook2_dense"}
    for run in runs.values():
        assert all(r["error"] is None and r["parsed"] and isinstance(r["target"][0], list) for r in run.records)
    capsys.readouterr()
    assert main(["score", str(tmp_path / "runs"), "--json"]) == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    group = next(o for o in objects if o.get("group") == "dense_captioning")
    tasks = {o["task"]: o["metrics"] for o in objects if "task" in o}
    assert group["metrics"]["F1"] == pytest.approx(sum(m["F1"] for m in tasks.values()) / 3)
    assert {"F1@0.3", "Recall@0.9", "BLEU-4", "CIDEr"} <= set(tasks["youcook2_dense"])


def test_densevid_submissions_import_as_scored_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    youcook2.build(tmp_path / "data")
    results = {
        "xHr8X2Wpmno": [{"timestamp": [10, 40], "sentence": "crack eggs into a bowl"},
                        {"timestamp": [45, 80], "sentence": "whisk the eggs with salt"}],
        "V53XmPeyjIU": [],  # a video the model gave no event for: unparseable, counted
    }
    submission = tmp_path / "pdvc_yc2_val.json"
    submission.write_text(json.dumps({"version": "VERSION 1.0", "results": results}), encoding="utf-8")
    argv = ["import", "--benchmark", "youcook2", "--model", "pdvc", "--data-dir", str(tmp_path / "data"),
            "--out", str(tmp_path / "runs"), str(submission)]
    assert main(argv) == 0
    run = read_run(next((tmp_path / "runs").rglob("youcook2_dense.jsonl")))
    by_id = {r["sample_id"]: r for r in run.records}
    assert by_id["xHr8X2Wpmno"]["score"] == 1.0 and by_id["V53XmPeyjIU"]["parsed"] is False
    assert by_id["mZwK0TBI1iY"]["error"] is not None  # not in the submission: an error, never dropped
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"results": {"xHr8X2Wpmno": [{"timestamp": [9, 2], "sentence": "x"}]}}), "utf-8")
    assert main([*argv[:-1], str(bad)]) != 0
    assert "bad.json: video xHr8X2Wpmno, entry 0" in capsys.readouterr().err
