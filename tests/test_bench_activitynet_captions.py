"""ActivityNet Captions grounding: the densevid schema, one task per split, the split in every run file."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tempeval import registry
from tempeval.cli import main
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions, load_samples
from tempeval.results import read_run
from tempeval.types import Sample
from tests.conftest import samples_of
from tests.fixtures import activitynet_captions as fixture


def samples(task_name: str, root: Path) -> list[Sample]:
    return samples_of(task_name, root)


def test_each_split_is_its_own_task(tmp_path: Path) -> None:
    fixture.build(tmp_path)
    val1, val2 = samples("activitynet_captions_val1", tmp_path), samples("activitynet_captions_val2", tmp_path)
    assert [s.id for s in val1] == ["v_uqiMw7tQ1Cc#0", "v_uqiMw7tQ1Cc#1", "v_fixture0001#0", "v_fixture0004#0"]
    assert [s.id for s in val2] == ["v_fixture0002#0", "v_fixture0002#1", "v_fixture0003#0", "v_fixture0005#0"]
    first, second = val1[0], val1[1]
    assert (first.question, first.target) == ("A weight lifting tutorial is given.", [0.28, 55.15])
    assert second.question.startswith("The coach helps")  # the files' leading space is stripped
    assert first.meta == {"video_id": "v_uqiMw7tQ1Cc", "split": "val_1", "duration": 55.15, "sentence_index": 0}
    assert first.video is not None and first.video.path.endswith("activitynet_captions/videos/v_uqiMw7tQ1Cc.mp4")
    assert {s.meta["split"] for s in val2} == {"val_2"}
    assert registry.get_task("activitynet_captions_val1").scorers["official"] == "grounding.official"


def test_only_the_split_file_is_required(tmp_path: Path) -> None:
    fixture.build(tmp_path, {"val_2.json": fixture.SPLITS["val_2.json"]})
    assert len(samples("activitynet_captions_val2", tmp_path)) == 4
    with pytest.raises(TempevalError, match=r"val_1\.json"):
        samples("activitynet_captions_val1", tmp_path)


def test_reversed_ground_truth_is_swapped(tmp_path: Path) -> None:
    fixture.build(tmp_path, {"val_1.json": {"v_x": {"duration": 20.0, "timestamps": [[9.5, 2.0]], "sentences": ["a"]}}})
    with pytest.warns(UserWarning, match=r"val_1\.json: video v_x, sentence 0: window .* starts after it ends"):
        assert samples("activitynet_captions_val1", tmp_path)[0].target == [2.0, 9.5]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"duration": 20.0, "timestamps": [[1, 2]], "sentences": ["a", "b"]}, "same length"),
        ({"timestamps": [[1, 2]], "sentences": ["a"]}, "needs duration, timestamps and sentences"),
        ({"duration": 20.0, "timestamps": [["1", 2]], "sentences": ["a"]}, r"sentence 0: a window must be"),
    ],
)
def test_malformed_records_name_file_and_video(tmp_path: Path, record: dict[str, object], message: str) -> None:
    fixture.build(tmp_path, {"val_1.json": {"v_bad": record}})
    with pytest.raises(TempevalError, match=rf"val_1\.json: video v_bad.*{message}"):
        samples("activitynet_captions_val1", tmp_path)


def test_unknown_split_lists_the_known_ones(tmp_path: Path) -> None:
    fixture.build(tmp_path)
    task = dataclasses.replace(registry.get_task("activitynet_captions_val1"), subset="val_3")
    with pytest.raises(TempevalError, match="one of val_1, val_2"):
        load_samples(task, registry.get_dataset(task.dataset), LoadOptions(data_dir=tmp_path))


def test_random_model_end_to_end_records_the_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture.build(tmp_path / "data")
    argv = ["run", "--model", "random", "--task", "activitynet_captions", "--data-dir", str(tmp_path / "data"),
            "--out", str(tmp_path / "runs"), "--no-progress"]
    assert main(argv) == 0
    for split in ("val_1", "val_2"):
        run = read_run(next((tmp_path / "runs").rglob(f"activitynet_captions_{split.replace('_', '')}.jsonl")))
        assert run.header["task"] == f"activitynet_captions_{split.replace('_', '')}" and len(run.records) == 4
        assert all(r["frame_times"] and r["error"] is None and r["meta"]["split"] == split for r in run.records)
    capsys.readouterr()
    assert main(["score", str(tmp_path / "runs"), "--json"]) == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    group = next(o for o in objects if o.get("group") == "activitynet_captions")
    tasks = {o["task"]: o for o in objects if "task" in o}
    val1, val2 = (tasks[f"activitynet_captions_val{n}"]["metrics"]["R1@0.5"] for n in (1, 2))
    assert group["metrics"] == pytest.approx({"R1@0.5": (val1 + val2) / 2, "val1": val1, "val2": val2})
