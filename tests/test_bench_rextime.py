"""ReXTime: loader (both window fields, both video folders), rextime_eval.py's IoU rules (hand-worked) and metrics,
the submission importer."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tempeval import registry
from tempeval.benchmarks import grounded_qa, rextime
from tempeval.cli import main
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions, load_samples
from tempeval.scoring.metrics import Row
from tempeval.types import Sample
from tests.fixtures import rextime as fixture


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rextime-data")
    fixture.build(root)
    return root


def samples(root: Path) -> list[Sample]:
    task = registry.get_task("rextime_val")
    return load_samples(task, registry.get_dataset(task.dataset), LoadOptions(data_dir=root))


def test_loader(data_root: Path) -> None:
    loaded = samples(data_root)
    assert [s.id for s in loaded] == ["qvh_val241", "anet_val92", "anet_val93"]
    assert loaded[0].target == ["A", [[0.0, 28.0]]] and loaded[2].target == ["C", [[40.0, 52.5]]]  # span field
    assert loaded[0].video is not None and "/videos/2I9-kvemtSU_510.0_660.0.mp4" in loaded[0].video.path
    assert loaded[1].video is not None and "/Anet_videos_15fps_short256/v_ZMTi498qnPc.mp4" in loaded[1].video.path
    assert [s.meta["source"] for s in loaded] == ["qvh", "anet", "anet"]


def row(letter: str, window: tuple[float, float] | None, target: list[object], right: bool = True) -> Row:
    answer = None if window is None else [letter, list(window)]
    return Row("s", 1.0 if right else 0.0, answer is not None, answer=answer, target=target)


def test_iou_picks_the_window_of_highest_true_iou_then_uses_the_hull() -> None:
    target = grounded_qa.make_target("A", [[0.0, 10.0], [20.0, 30.0]])
    # [8, 22]: true IoU 2/22 with both windows (a tie, the first wins); hull IoU with [0, 10]: 2/22.
    assert rextime.official_iou(row("A", (8.0, 22.0), target)) == pytest.approx(2 / 22)
    # [18, 30] overlaps the second window: IoU 10/12.
    assert rextime.official_iou(row("A", (18.0, 30.0), target)) == pytest.approx(10 / 12)
    # A zero-length prediction on a zero-length window: union 0, NaN picks it (np.argmax), hull union 0 -> 0.
    point = grounded_qa.make_target("A", [[5.0, 9.0], [3.0, 3.0]])
    assert math.isnan(rextime._cross_iou((3.0, 3.0), (3.0, 3.0)))
    assert rextime.official_iou(row("A", (3.0, 3.0), point)) == 0.0
    assert rextime.official_iou(row("A", None, target)) == 0.0


def test_metrics_hand_worked() -> None:
    target = grounded_qa.make_target("A", [[10.0, 20.0]])
    rows = [
        row("A", (10.0, 20.0), target),              # right, IoU 1
        row("A", (10.0, 15.0), target),              # right, IoU 0.5
        row("B", (12.0, 20.0), target, right=False),  # wrong, IoU 0.8
        row("A", (30.0, 40.0), target),              # right, IoU 0
    ]
    metrics = rextime.grounded_qa(rows)
    assert metrics["accuracy"].value == pytest.approx(75.0)
    assert metrics["mIoU"].value == pytest.approx(100 * 2.3 / 4)
    assert metrics["R1@0.5"].value == pytest.approx(75.0) and metrics["R1@0.7"].value == pytest.approx(50.0)
    assert metrics["Acc@IoU0.5"].value == pytest.approx(50.0) and metrics["Acc@IoU0.7"].value == pytest.approx(25.0)


def test_import_submission_and_score(data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [
        {"qid": "qvh_val241", "pred_relevant_windows": [[0.0, 28.0]], "ans": "A"},
        {"qid": "anet_val92", "pred_relevant_windows": [[5.0, 6.5], [0, 1]], "ans": "A"},
        {"qid": "anet_val93", "pred_relevant_windows": [[40.0, 52.5]], "ans": "B"},
    ]
    path = tmp_path / "preds.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    out = tmp_path / "imported"
    assert main(["import", str(path), "--benchmark", "rextime", "--model", "m", "--out", str(out),
                 "--data-dir", str(data_root)]) == 0
    capsys.readouterr()
    assert main(["score", str(out), "--json", "--parser-mode", "official"]) == 0
    (run,) = [o for o in map(json.loads, capsys.readouterr().out.splitlines()) if "task" in o]
    assert run["metrics"]["accuracy"] == pytest.approx(200 / 3)
    assert run["metrics"]["mIoU"] == pytest.approx(100 * (1 + 0.5 + 1) / 3)
    assert run["metrics"]["Acc@IoU0.5"] == pytest.approx(200 / 3)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"qid": "qvh_val999", "pred_relevant_windows": [[0, 1]], "ans": "A"}, "not in the validation annotations"),
        ({"qid": "qvh_val241", "ans": "A"}, "no pred_relevant_windows"),
        ({"pred_relevant_windows": [[0, 1]]}, "no qid and ans"),
    ],
)
def test_import_errors(data_root: Path, tmp_path: Path, line: dict[str, object], message: str) -> None:
    from tempeval.importing import import_runs

    path = tmp_path / "preds.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    with pytest.raises(TempevalError, match=message):
        import_runs("rextime", "m", [path], tmp_path / "out", LoadOptions(data_dir=data_root))
