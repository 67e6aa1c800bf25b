"""Charades-STA: the loader on the real test file, TimeChat's official parser, hand-worked IoU metrics, import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tempeval.benchmarks.grounding import official, parse_timechat
from tempeval.cli import main
from tempeval.data import DataMissingError
from tempeval.errors import TempevalError
from tempeval.results import read_run
from tempeval.scoring.scorers import Reference, strict
from tempeval.types import Sample
from tests.conftest import samples_of
from tests.fixtures import charades_sta as fixture

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
needs_shared = pytest.mark.skipif(
    not (SHARED / "charades_sta" / "example_gt_file.json").is_file(),
    reason=f"the real Charades-STA test file is not at {SHARED}/charades_sta (shared benchmark folder absent)",
)


def samples(root: Path) -> list[Sample]:
    return samples_of("charades_sta", root)


@needs_shared
def test_loader_reads_every_test_query() -> None:
    loaded = samples(SHARED)
    assert len(loaded) == 3720 and len({s.id for s in loaded}) == 3720
    assert len({s.meta["video_id"] for s in loaded}) == 1334
    first = loaded[0]
    assert (first.id, first.question, first.target) == ("0", "person turn a light on.", [24.3, 30.4])
    assert first.video is not None and first.video.path.endswith("charades_sta/videos/3MSZA.mp4")
    assert all(s.kind == "grounding" and s.target[0] <= s.target[1] for s in loaded)


def test_missing_and_malformed_annotations_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DataMissingError, match="tempeval data fetch charades_sta"):
        samples(tmp_path)
    broken = [dict(fixture.ANNOTATIONS[0]), {k: v for k, v in fixture.ANNOTATIONS[1].items() if k != "timestamp"}]
    fixture.build(tmp_path, broken)
    with pytest.warns(UserWarning, match=r"example_gt_file.json: annotation #1: .*timestamp.*re-download"):
        assert len(samples(tmp_path)) == 1
    fixture.build(tmp_path, [{**fixture.ANNOTATIONS[0], "timestamp": [24.3]}])
    with pytest.raises(TempevalError, match=r"annotation #0 \(id 0\): a window must be \[start, end\]"):
        samples(tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The prompt's own format.
        ("The event happens in the 24.3 - 30.4 seconds.", (24.3, 30.4)),
        # Several pairs: only the first counts, even the echoed prompt example (its removal is a no-op).
        ("A specific example is : 20.8 - 30.0 seconds. Here: 1 - 2.", (20.8, 30.0)),
        ("5-3 and 7 - 9", (3.0, 5.0)),  # reversed pair swapped; the second pair is ignored
        # No pair: first number of each keyword "sentence" (split at ! ? newline only), paired in order.
        ("Start: 3.5\nEnd: 7", (3.5, 7.0)),
        ("The start time is 5 seconds!The end time is 12 seconds.", (5.0, 12.0)),
        ("It ends at 9 s\nit starts at 4 s", (4.0, 9.0)),  # (9, 4) swapped
        # Keywords match inside words: "weekend" and "spend".
        ("over the weekend 4 people\nthey spend 9 dollars", (4.0, 9.0)),
        # Full stops do not split: one sentence, one number, dropped as odd.
        ("The start time is 5 seconds. The end time is 12 seconds.", None),
        # HH:MM:SS: a dash pairs the digits beside it (18 - 00 -> swapped to 0 - 18) ...
        ("starts at 00:00:18 - 00:00:23", (0.0, 18.0)),
        # ... on two lines the number fallback reads each stamp's leading "00" ...
        ("The event starts at 00:00:18\nand ends at 00:00:23.", (0.0, 0.0)),
        # ... and in one sentence the stamp fallback finds one stamp: unparseable.
        ("The event starts at 00:00:18 and ends at 00:00:23.", None),
        ("1..5 - 3", None),  # the regex takes "1..5", float() does not (the original crashed)
        ("I cannot find this event.", None),
        ("", None),
    ],
)
def test_timechat_parser(text: str, expected: tuple[float, float] | None) -> None:
    parsed = parse_timechat(text)
    assert (parsed.answer if parsed.ok else None) == expected
    assert parsed.ok == (expected is not None) and (parsed.ok or parsed.reason)


def test_official_and_strict_differ_on_the_quirks() -> None:
    reference = Reference("window", [24.3, 30.4], duration_s=28.0)
    # Reversed pair: official swaps it (IoU 1); strict refuses it.
    assert official("30.4 - 24.3", reference).value == pytest.approx(1.0)
    assert not strict("30.4 - 24.3", reference).parsed
    # Beyond a 28-s video: official keeps 24.3 - 30.4 (IoU 1); strict clips it to 24.3 - 28 (3.7 / 6.1 = 0.607).
    assert official("24.3 - 30.4", reference).value == pytest.approx(1.0)
    assert strict("24.3 - 30.4", reference).value == pytest.approx(3.7 / 6.1)
    # Two bare times without a dash or keyword: unparseable for TimeChat; strict reads 24.3 - 26 (1.7 / 6.1).
    assert not official("The moment lasts from 24.3 to 26.0 s", reference).parsed
    assert strict("The moment lasts from 24.3 to 26.0 s", reference).value == pytest.approx(1.7 / 6.1)
    unparsed = official("no idea", reference)
    assert (unparsed.value, unparsed.parsed, unparsed.answer) == (0.0, False, None)


# Hand-made answers for the four fixture queries, in TimeChat's two prediction formats:
#   id 0, target 24.3-30.4: "24.3 - 30.4"                         -> IoU 1
#   id 1, target 24.3-30.4: "26.3 - 32.4"   inter 30.4-26.3 = 4.1, union 32.4-24.3 = 8.1  -> IoU 0.50617
#   id 4, target 4.3-12.5:  keyword lines "starts at 12.5" / "ends at 6.0", swapped to 6.0 - 12.5:
#                           inter 6.5, union 12.5-4.3 = 8.2                                -> IoU 0.79268
#   id 7, target 0-4:       "starts at 00:00:01 and ends at 00:00:03." -> unparseable     -> IoU 0 (counted)
# R1@0.3 = 3/4 = 75, R1@0.5 = 3/4 = 75, R1@0.7 = 2/4 = 50, mIoU = (1 + 0.50617 + 0.79268 + 0) / 4 = 57.47.
RAW = [
    {"id": 0, "vname": "3MSZA.mp4", "generated_cap": "The event happens in the 24.3 - 30.4 seconds."},
    {"id": 1, "vname": "3MSZA.mp4", "generated_cap": "The event happens in the 26.3 - 32.4 seconds."},
    {"id": 4, "vname": "AMT7R.mp4", "generated_cap": "The event starts at 12.5 seconds!It ends at 6.0 seconds."},
    {"id": 7, "vname": "VXJS4.mp4", "generated_cap": "It starts at 00:00:01 and ends at 00:00:03."},
]
FORMATTED = {"0": {"timestamp": [[24.3, 30.4]]}, "1": {"timestamp": [[26.3, 32.4]]},
             "4": {"timestamp": [[6.0, 12.5]]}, "7": {"timestamp": []}}


@pytest.mark.parametrize("predictions", [RAW, FORMATTED], ids=["raw", "formatted"])
def test_import_and_score_hand_made_predictions(
    predictions: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture.build(tmp_path / "data")
    path = tmp_path / "timechat_charades.json"
    path.write_text(json.dumps(predictions), encoding="utf-8")
    argv = ["import", "--benchmark", "charades_sta", "--model", "timechat", str(path),
            "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "runs")]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["score", str(tmp_path / "runs"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[0])
    assert (result["task"], result["n"], result["errors"], result["unparseable"]) == ("charades_sta", 4, 0, 1)
    expected = {"R1@0.3": 75.0, "R1@0.5": 75.0, "R1@0.7": 50.0, "mIoU": 100 * (1 + 4.1 / 8.1 + 6.5 / 8.2) / 4}
    assert result["metrics"] == pytest.approx(expected)


def test_import_rejects_foreign_ids(tmp_path: Path) -> None:
    fixture.build(tmp_path / "data")
    path = tmp_path / "preds.json"
    path.write_text(json.dumps([{"id": 99999, "generated_cap": "1 - 2"}]), encoding="utf-8")
    argv = ["import", "--benchmark", "charades_sta", "--model", "x", str(path), "--data-dir", str(tmp_path / "data"),
            "--out", str(tmp_path / "runs")]
    assert main(argv) == 2


def test_random_model_end_to_end(tmp_path: Path) -> None:
    fixture.build(tmp_path / "data")
    argv = ["run", "--model", "random", "--task", "charades_sta", "--data-dir", str(tmp_path / "data"),
            "--out", str(tmp_path / "runs"), "--no-progress"]
    assert main(argv) == 0
    run = read_run(next((tmp_path / "runs").rglob("charades_sta.jsonl")))
    assert run.header["task"] == "charades_sta" and len(run.records) == len(fixture.ANNOTATIONS)
    assert all(record["frame_times"] and record["error"] is None for record in run.records)


@pytest.mark.parametrize("mode", ["official", "strict"])
def test_formatted_windows_keep_their_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: str) -> None:
    # eval_tvg.py uses the formatted numbers as given. Targets: id 0, 1 -> 24.3-30.4; 4 -> 4.3-12.5; 7 -> 0-4.
    #   id 0 [30.4, 24.3] reversed: official IoU max(0, 24.3 - 30.4) / (30.4 - 24.3) = 0; strict unparseable
    #   id 1 [-2.0, 1e+17]: officially IoU 6.1 / (1e17 + 2), not "2.0 - 1" (IoU 0); strict clips at 0: 6.1 / 1e17
    #   id 4 [1e-05, 12.5]: IoU 8.2 / (12.5 - 1e-05), not 5 - 12.5 (IoU 0.65)
    #   id 7 [-2.0, 2.0]: officially 2 / 6 (not 2 - 2: IoU 0); strict clips to 0-2: 2 / 4
    # (An imported run has no video duration: strict clips at 0 only.)
    fixture.build(tmp_path / "data")
    formatted = {"0": {"timestamp": [[30.4, 24.3]]}, "1": {"timestamp": [[-2.0, 1e17]]},
                 "4": {"timestamp": [[1e-05, 12.5]]}, "7": {"timestamp": [[-2.0, 2.0]]}}
    path = tmp_path / "formatted.json"
    path.write_text(json.dumps(formatted), encoding="utf-8")
    argv = ["import", "--benchmark", "charades_sta", "--model", "m", str(path), "--data-dir", str(tmp_path / "data"),
            "--out", str(tmp_path / "runs")]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["score", str(tmp_path / "runs"), "--json", "--parser-mode", mode]) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[0])
    if mode == "official":
        ious = [0.0, 6.1 / (1e17 + 2), 8.2 / (12.5 - 1e-05), 2 / 6]
        assert result["unparseable"] == 0
    else:
        ious = [0.0, 6.1 / 1e17, 8.2 / (12.5 - 1e-05), 2 / 4]
        assert result["unparseable"] == 1
    assert result["metrics"]["mIoU"] == pytest.approx(100 * sum(ious) / 4)


@pytest.mark.parametrize(
    "output",
    ['{"timestamp": "x"}', '{"timestamp": [["a", 2]]}', '{"timestamp": 5}', '{"timestamp": [5, 9]}',
     '{"timestamp": [[5]]}', '{"timestamp": [[true, 5]]}', '{"timestamp": null}'],
)
def test_odd_formatted_shapes_are_free_text_not_a_crash(output: str) -> None:
    # Found by differential testing against TimeChat's eval_tvg.py: these crashed the scorer; officially a miss.
    from tempeval.benchmarks import charades_sta

    reference = Reference("window", [24.3, 30.4], duration_s=28.0)
    for scorer in (charades_sta.official, charades_sta.strict):
        score = scorer(output, reference)
        assert score.value == 0.0
