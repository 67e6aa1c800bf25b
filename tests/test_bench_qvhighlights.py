"""QVHighlights: parity with standalone_eval/eval.py on the official sample predictions, hand-worked MR and HL
metrics for each quirk, the official and strict scorers, the importer and a run end to end."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tempeval.benchmarks import qvhighlights
from tempeval.cli import main
from tempeval.results import read_run
from tempeval.scoring.metrics import Row
from tempeval.scoring.scorers import Reference, Scorer
from tempeval.types import Sample
from tests.conftest import samples_of
from tests.fixtures import qvhighlights as fixture

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
OFFICIAL = SHARED / "qvhighlights" / "standalone_eval"
needs_shared = pytest.mark.skipif(
    not (OFFICIAL / "sample_val_preds.jsonl").is_file(),
    reason=f"the official QVHighlights files are not at {SHARED}/qvhighlights (shared benchmark folder absent)",
)


def samples(task_name: str, root: Path) -> list[Sample]:
    return samples_of(task_name, root)


@needs_shared
def test_import_and_score_reproduce_the_official_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["import", "--benchmark", "qvhighlights", "--model", "moment_detr_sample",
            str(OFFICIAL / "sample_val_preds.jsonl"), "--data-dir", str(SHARED), "--out", str(tmp_path)]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["score", str(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[0])
    assert (result["task"], result["n"], result["errors"], result["unparseable"]) == ("qvhighlights_val", 1550, 0, 0)
    expected = json.loads((OFFICIAL / "sample_val_preds_metrics_raw.json").read_text(encoding="utf-8"))["brief"]
    assert len(expected) == 14
    for name, value in expected.items():
        assert result["metrics"][name] == pytest.approx(value, abs=0.01), name


@needs_shared
def test_loader_reads_both_real_splits() -> None:
    val, test = samples("qvhighlights_val", SHARED), samples("qvhighlights_test", SHARED)
    assert (len(val), len(test)) == (1550, 1542)
    assert sum(isinstance(s.target[0], list) for s in val) == 530  # queries with several windows
    first = val[0]
    assert first.video is not None and first.video.path.endswith(f"qvhighlights/videos/{first.meta['video_id']}.mp4")
    assert {s.meta["split"] for s in test} == {"test"}


def test_fixture_loads_with_meta_for_highlights(tmp_path: Path) -> None:
    fixture.build(tmp_path)
    val = samples("qvhighlights_val", tmp_path)
    assert [s.id for s in val] == ["5071", "5072", "5073"]
    first = val[0]
    assert (first.target, first.meta["video_id"], first.meta["duration"]) == ([118, 136], "NUsG9BgSes0_60.0_210.0", 150)
    assert first.meta["relevant_clip_ids"] == list(range(59, 68)) and len(first.meta["saliency_scores"]) == 9


def test_records_without_ground_truth_are_refused(tmp_path: Path) -> None:
    record = {k: v for k, v in fixture.RECORDS["val"][1].items() if k != "saliency_scores"}
    fixture.build(tmp_path, {"val": [fixture.RECORDS["val"][0], record]})
    with pytest.warns(UserWarning, match=r"record #1 \(qid 5072\): needs .*highlight_test_release.jsonl has none"):
        assert len(samples("qvhighlights_val", tmp_path)) == 1


# ---------------------------------------------------------------------------------------------------- metrics


def prediction(windows: Sequence[Sequence[float]], saliency: Sequence[float] | None = None) -> str:
    record: dict[str, Any] = {"qid": 1, "pred_relevant_windows": [list(w) for w in windows]}
    if saliency is not None:
        record["pred_saliency_scores"] = list(saliency)
    return json.dumps(record)


def scored(
    target: Any, output: str, scorer: Scorer = qvhighlights.official, meta: Mapping[str, Any] | None = None
) -> Row:
    """A metric row as the runner would make it (one video per row)."""
    meta = {"video_id": output, "duration": 150, "relevant_clip_ids": [], "saliency_scores": [], **(meta or {})}
    score = scorer(output, Reference("window", target, meta=meta))
    return Row(output, score.value, score.parsed, False, meta, answer=score.answer, target=target, output=output)


def test_moment_retrieval_by_hand() -> None:
    # A: two short GT windows; ranked windows TP, FP (IoU 0.4 with [0, 10]), TP at every threshold:
    #    precision 1, 1/2, 2/3; recall 1/2, 1/2, 1 -> VOC AP = 1/2 * 1 + 1/2 * 2/3 = 5/6 at each threshold.
    a = scored([[0, 10], [20, 30]], prediction([[20, 30, 0.9], [0, 4, 0.8], [0, 10, 0.7]]))
    # B: one long GT window matched exactly: AP 1.
    b = scored([30, 100], prediction([[30, 100, 1.0]]))
    # C: a short and a long GT window, one window on the long one: full AP 1/2 (recall 1/2 at precision 1);
    #    the short subset keeps only [0, 6] (AP 0), the long subset only [40, 100] (AP 1). R1: IoU 1 with [40, 100].
    c = scored([[0, 6], [40, 100]], prediction([[40, 100, 0.9]]))
    metrics = {name: m.value for name, m in qvhighlights.moment_retrieval([a, b, c]).items()}
    assert metrics == pytest.approx({
        "MR-full-R1@0.5": 100.0, "MR-full-R1@0.7": 100.0,
        "MR-full-mAP": 100 * (5 / 6 + 1 + 1 / 2) / 3, "MR-full-mAP@0.5": 100 * (5 / 6 + 1 + 1 / 2) / 3,
        "MR-full-mAP@0.75": 100 * (5 / 6 + 1 + 1 / 2) / 3,
        "MR-short-mAP": 100 * (5 / 6 + 0) / 2,  # A and C
        "MR-long-mAP": 100 * (1 + 1) / 2,  # B and C; no query has a middle window: MR-middle-mAP is absent
    })


def test_threshold_dependent_ap() -> None:
    # GT [0, 10]; the only window [0, 6] has IoU 0.6: a TP at 0.5 and 0.55 and 0.6, a FP from 0.65 up.
    # mAP = 3 of 10 thresholds at AP 1 = 30; @0.5 = 100; @0.75 = 0; R1@0.5 = 100, R1@0.7 = 0.
    metrics = {n: m.value for n, m in qvhighlights.moment_retrieval([scored([0, 10], prediction([[0, 6, 1]]))]).items()}
    assert metrics == pytest.approx({"MR-full-R1@0.5": 100.0, "MR-full-R1@0.7": 0.0, "MR-full-mAP": 30.0,
                                     "MR-full-mAP@0.5": 100.0, "MR-full-mAP@0.75": 0.0, "MR-short-mAP": 30.0})


def test_first_ten_listed_windows_quirk() -> None:
    # Ten wrong windows listed first, the right one eleventh with the highest score. Official: mAP sees only the
    # first ten listed (AP 0) and R1 the first listed (miss). Strict ranks by score first: R1 hit, AP 1.
    windows = [[100 + i, 101 + i, 0.1] for i in range(10)] + [[0, 10, 0.99]]
    for scorer, expected in ((qvhighlights.official, 0.0), (qvhighlights.strict, 100.0)):
        metrics = qvhighlights.moment_retrieval([scored([0, 10], prediction(windows), scorer)])
        assert metrics["MR-full-R1@0.5"].value == expected and metrics["MR-full-mAP"].value == expected


def test_reversed_window_as_long_as_the_truth_is_an_official_true_positive() -> None:
    # GT [0, 10] and [50, 70]. [30, 20] is reversed and 10 s long: the mAP code's union (-10) + 10 - 0 = 0, IoU NaN,
    # which passes every threshold: a TP on [0, 10], wherever it lies. [90, 70] (20 s) matches [50, 70] the same way.
    # [40, 35] (5 s) has a negative union: IoU -0, a FP. Officially AP = 1 at precision 1, 1 (then FP): recall 1
    # -> AP 1. R1 uses max end - min start as the union: 0. Strict: every reversed window has IoU 0.
    windows = [[30, 20, 0.9], [90, 70, 0.8], [40, 35, 0.7]]
    official = qvhighlights.moment_retrieval([scored([[0, 10], [50, 70]], prediction(windows))])
    assert official["MR-full-mAP"].value == pytest.approx(100.0)
    assert official["MR-short-mAP"].value == pytest.approx(100.0)  # [30, 20] against [0, 10] alone
    assert official["MR-full-R1@0.5"].value == 0.0
    strict = qvhighlights.moment_retrieval([scored([[0, 10], [50, 70]], prediction(windows), qvhighlights.strict)])
    assert strict["MR-full-mAP"].value == 0.0 and strict["MR-full-R1@0.5"].value == 0.0


@needs_shared
def test_all_reversed_ground_truth_reproduces_the_official_script(tmp_path: Path) -> None:
    # Every val ground-truth window reversed, score 1; the official eval.py gives these (run by hand on the script).
    lines = []
    for line in (SHARED / "qvhighlights" / "data" / "highlight_val_release.jsonl").read_text().splitlines():
        record = json.loads(line)
        windows = [[w[1], w[0], 1.0] for w in record["relevant_windows"]]
        lines.append(json.dumps({"qid": record["qid"], "pred_relevant_windows": windows}))
    path = tmp_path / "reversed.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    val = samples("qvhighlights_val", SHARED)
    with pytest.warns(UserWarning, match=r"2803 predicted window\(s\) are reversed"):
        outputs = qvhighlights.import_predictions([path], lambda task: val if task == "qvhighlights_val" else [])
    by_id = {sample.id: sample for sample in val}
    rows = []
    for qid, output in outputs["qvhighlights_val"].items():
        sample = by_id[qid]
        assert output is not None
        score = qvhighlights.official(output, Reference("window", sample.target, meta=sample.meta))
        rows.append(Row(qid, score.value, score.parsed, False, sample.meta, answer=score.answer,
                        target=sample.target, output=output))
    metrics = {name: round(m.value, 2) for name, m in qvhighlights.moment_retrieval(rows).items()}
    assert metrics == {"MR-full-R1@0.5": 0.0, "MR-full-R1@0.7": 0.0, "MR-full-mAP": 99.76, "MR-full-mAP@0.5": 99.76,
                       "MR-full-mAP@0.75": 99.76, "MR-short-mAP": 79.75, "MR-middle-mAP": 89.8, "MR-long-mAP": 92.73}


HL_META = {"duration": 8, "relevant_clip_ids": [1, 2], "saliency_scores": [[4, 2, 0], [1, 3, 4]]}


def test_highlight_detection_by_hand() -> None:
    # 4 clips (8 s): annotator scores clip0 000, clip1 420, clip2 134, clip3 000. Predicted [0.1, 0.9, 0.5] is
    # zero-padded to 4 clips; ranking: clip1, clip2, clip0, clip3. Hit1 looks at clip1.
    #   VeryGood (>= 4): labels per annotator 0100 / 0000 / 0010 -> AP 1, 0 (all 0), 1/2 -> 1/2; Hit1 = 1 (ann. 0)
    #   Good (>= 3):     0100 / 0010 / 0010 -> AP 1, 1/2, 1/2 -> 2/3; Hit1 = 1
    #   Fair (>= 2):     0100 / 0110 / 0010 -> AP 1, 1, 1/2 -> 5/6; Hit1 = 1
    # A second query answered in free text has no saliency: it counts 0 (AP and Hit1) once any answer has some.
    with_saliency = scored([2, 6], prediction([[2, 6, 1]], [0.1, 0.9, 0.5]), meta=HL_META)
    free_text = scored([2, 6], "The moment is 2 - 6 seconds.", meta=HL_META)
    metrics = {n: m.value for n, m in qvhighlights.highlight_detection([with_saliency]).items()}
    assert metrics == pytest.approx({
        "HL-min-Fair-mAP": 100 * 5 / 6, "HL-min-Fair-Hit1": 100.0, "HL-min-Good-mAP": 100 * 2 / 3,
        "HL-min-Good-Hit1": 100.0, "HL-min-VeryGood-mAP": 50.0, "HL-min-VeryGood-Hit1": 100.0,
    })
    both = {n: m.value for n, m in qvhighlights.highlight_detection([with_saliency, free_text]).items()}
    assert both == pytest.approx({name: value / 2 for name, value in metrics.items()})
    assert qvhighlights.highlight_detection([free_text]) == {}  # absent, not 0, when nothing predicts saliency


def test_highlight_ties_and_clips_beyond_the_video() -> None:
    # Fair labels 0100 / 0110 / 0010. All four scores tied: one threshold, precision = positives / 4, recall 1
    # -> AP 1/4, 2/4, 1/4 (mean 1/3); Hit1 takes the first tied clip, clip0: 0.
    tied = scored([2, 6], prediction([[2, 6, 1]], [0.5, 0.5, 0.5, 0.5]), meta=HL_META)
    # Top score on a 6th clip of a 4-clip video: Hit1 0; the scores are cut to 4 clips, all 0: AP as for ties.
    beyond = scored([2, 6], prediction([[2, 6, 1]], [0, 0, 0, 0, 0, 1.0]), meta=HL_META)
    for row in (tied, beyond):
        metrics = qvhighlights.highlight_detection([row])
        assert metrics["HL-min-Fair-mAP"].value == pytest.approx(100 / 3)
        assert metrics["HL-min-Fair-Hit1"].value == 0.0


# ---------------------------------------------------------------------------------------------------- scorers


def test_official_and_strict_scorers() -> None:
    reference = Reference("window", [[0, 10], [140, 150]], meta={"duration": 150})
    # Free text: official = TimeChat's parser (reversed pair swapped), strict = tempeval's (reversed refused).
    assert qvhighlights.official("150 - 140", reference).value == pytest.approx(1.0)
    assert not qvhighlights.strict("150 - 140", reference).parsed
    # Beyond the video: official keeps 140-160 (IoU 10/20), strict clips to 140-150 (IoU 1).
    assert qvhighlights.official(prediction([[140, 160, 1]]), reference).value == pytest.approx(0.5)
    assert qvhighlights.strict(prediction([[140, 160, 1]]), reference).value == pytest.approx(1.0)
    answer = qvhighlights.official(prediction([[0, 5, 0.2], [140, 150, 0.9]], [1, 2]), reference).answer
    assert answer == {"windows": [[0, 5, 0.2], [140, 150, 0.9]], "saliency": [1.0, 2.0], "official": True}
    malformed = qvhighlights.official(prediction([[0, 5]]), reference)
    assert not malformed.parsed and "[start, end, score]" in malformed.explanation
    assert not qvhighlights.official("no idea", reference).parsed


# ---------------------------------------------------------------------------------------------------- import, run


def test_importer_picks_the_split_and_flags_missing_queries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture.build(tmp_path / "data")
    # Two of the three test queries: 9001 exact (IoU 1), 9002 [20, 31] vs [20, 42] (IoU 0.5); 9003 missing.
    lines = [{"qid": 9001, "pred_relevant_windows": [[10, 16, 0.9]]},
             {"qid": 9002, "pred_relevant_windows": [[20, 31, 0.8]]}]
    path = tmp_path / "hl_test_submission.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    argv = ["import", "--benchmark", "qvhighlights", "--model", "m", str(path), "--data-dir", str(tmp_path / "data"),
            "--out", str(tmp_path / "runs")]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["score", str(tmp_path / "runs"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[0])
    assert (result["task"], result["n"], result["errors"]) == ("qvhighlights_test", 3, 1)
    # R1@0.5 = 2/3; mIoU = (1 + 0.5 + 0) / 3; no saliency predicted: no HL metric.
    assert result["metrics"]["MR-full-R1@0.5"] == pytest.approx(200 / 3)
    assert result["metrics"]["mIoU"] == pytest.approx(50.0)
    assert not any(name.startswith("HL-") for name in result["metrics"])

    path.write_text(json.dumps({"qid": 424242, "pred_relevant_windows": []}), encoding="utf-8")
    assert main(argv) == 2
    assert "424242" in capsys.readouterr().err


def test_random_model_end_to_end(tmp_path: Path) -> None:
    fixture.build(tmp_path / "data")
    argv = ["run", "--model", "random", "--task", "qvhighlights_val", "--data-dir", str(tmp_path / "data"),
            "--out", str(tmp_path / "runs"), "--no-progress"]
    assert main(argv) == 0
    run = read_run(next((tmp_path / "runs").rglob("*.jsonl")))
    assert run.header["task"] == "qvhighlights_val" and len(run.records) == 3
    assert all(record["frame_times"] and record["error"] is None for record in run.records)


def test_importer_warns_on_reversed_windows(tmp_path: Path) -> None:
    fixture.build(tmp_path / "data")
    lines = [{"qid": 9001, "pred_relevant_windows": [[16, 10, 0.9], [10, 16, 0.5]]},
             {"qid": 9002, "pred_relevant_windows": [[31, 20, 0.8]]}]
    path = tmp_path / "submission.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    with pytest.warns(UserWarning, match=r"submission.jsonl: 2 predicted window\(s\) are reversed"):
        outputs = qvhighlights.import_predictions([path], lambda task: samples(task, tmp_path / "data"))
    assert set(outputs["qvhighlights_test"]) == {"9001", "9002"}
