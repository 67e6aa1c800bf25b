"""OVO-Bench: loader, official scoring quirks, stale-id import, query-time caps, parity with the official Gemini run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tempeval import registry
from tempeval.adapter import create_adapter
from tempeval.benchmarks import ovobench
from tempeval.cli import main
from tempeval.data import DataMissingError
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.results import read_run
from tempeval.runner import RunOptions, run_task
from tempeval.scoring.scorers import Reference, strict
from tempeval.types import Request, Sample
from tests.conftest import samples_of
from tests.fixtures import ovobench as fixture

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
TASKS = ("ovobench_backward", "ovobench_realtime", "ovobench_forward")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ovo-data")
    fixture.build(root)
    return root


def samples(name: str, root: Path) -> list[Sample]:
    return samples_of(name, root)


def test_loader_issues_every_query_at_its_realtime(data_root: Path) -> None:
    backward = {s.id: s for s in samples("ovobench_backward", data_root)}
    assert list(backward) == ["0", "1", "2"]
    epm = backward["0"]
    assert (epm.target, epm.query_time_s, epm.choices[2], epm.kind) == ("C", 6.5, "blue", "online")
    assert epm.meta == {"task_code": "EPM", "mode": "backward", "video_id": "Ego4D/clips/a.mp4", "item_id": 0,
                        "chunk_end_s": 7}  # the official chunk would end at ceil(6.5); we stop at 6.5
    assert epm.video is not None and epm.video.path == str(data_root / "ovo_bench/src_videos/Ego4D/clips/a.mp4")

    forward = {s.id: s for s in samples("ovobench_forward", data_root)}
    assert list(forward) == ["9_0", "9_1", "10_0", "10_1", "11_0", "11_1"]  # one sample per probe
    assert [s.query_time_s for s in forward.values()] == [5, 14, 4, 16, 3, 13]
    assert [s.target for s in forward.values()] == [1, 2, True, False, False, True]
    assert [s.answer_format for s in forward.values()] == ["number", "number"] + ["yes_no"] * 4
    assert "How many times did they jumping?" in forward["9_0"].question
    assert "crack the eggs" in forward["10_0"].question
    assert "What does the man take from the car?" in forward["11_1"].question


def test_missing_and_malformed_annotations_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DataMissingError, match="tempeval data fetch ovobench"):
        samples("ovobench_backward", tmp_path)
    fixture.build(tmp_path)
    broken = fixture.items()
    del broken[1]["gt"]
    (tmp_path / "ovo_bench/data/ovo_bench_new.json").write_text(json.dumps(broken))
    with pytest.warns(UserWarning, match=r"ovo_bench_new.json: item 1 \(id 1, task ASI\) is malformed"):
        loaded = samples("ovobench_backward", tmp_path)
    assert loaded and "1" not in {s.id for s in loaded}


def ref(answer_format: str, target: object, choices: int = 4) -> Reference:
    return Reference(answer_format, target, tuple(f"option {i}" for i in range(choices)))


@pytest.mark.parametrize(
    ("output", "reference", "official", "strict_value"),
    [
        # Letters: the official rule is "gt letter is a case-sensitive substring of the reply".
        ("C", ref("letter", "C"), 1, 1),
        ("Answer: C", ref("letter", "A"), 1, 0),  # the "A" of "Answer" counts; strict reads C
        ("A, B", ref("letter", "B"), 1, 0),  # two letters: official takes either, strict none
        ("b", ref("letter", "B"), 0, 1),  # case-sensitive officially; strict accepts a bare lower-case letter
        ("", ref("letter", "A"), 0, 0),
        # REC: every digit run concatenated, compared with str(count).
        ("3", ref("number", 3), 1, 1),
        ("2 times, after 1 try", ref("number", 2), 0, 1),  # "21" officially; strict takes the first integer
        ("1, 2", ref("number", 12), 1, 0),  # "12" officially
        ("three", ref("number", 3), 0, 1),  # no digits officially; strict reads number words
        # SSR/CRR: exact Y/N, else a case-sensitive "Yes"/"No" substring.
        ("Yes", ref("yes_no", True), 1, 1),
        ("Not sure", ref("yes_no", False), 1, 0),  # contains "No"; strict: unparseable
        ("None", ref("yes_no", False), 1, 0),
        ("N", ref("yes_no", False), 1, 0),
        ("Y", ref("yes_no", False), 0, 0),
        ("yes", ref("yes_no", True), 0, 1),  # lower case is nothing officially
        ("No, Yes", ref("yes_no", True), 1, 0),  # both substrings: right whatever the truth
    ],
)
def test_official_rules_and_their_strict_fixes(
    output: str, reference: Reference, official: int, strict_value: int
) -> None:
    assert ovobench.official(output, reference).value == official
    assert strict(output, reference).value == strict_value


def official_file(items: dict[str, list[dict[str, object]]]) -> dict[str, list[dict[str, object]]]:
    return {"backward": [], "realtime": [], "forward": [], **items}


def mc(item_id: int, code: str, question_of: int, ground_truth: str, response: object) -> dict[str, object]:
    """An official backward/real-time result entry (utils/OVOBench.py's fields)."""
    task = next(i for i in fixture.items() if i["id"] == question_of)
    return {"id": item_id, "video": "/mnt/x.mp4", "task": code, "question": task["question"],
            "response": response, "ground_truth": ground_truth}


def write_gemini_like_results(folder: Path) -> None:
    """Two result files as the official evaluator writes them, with hand-picked responses (scores below)."""
    forward = [dict(item) for item in fixture.items() if "test_info" in item]
    responses = {9: ["1", "2 times, after 1 try"], 10: ["Yes", "Not sure"], 11: ["N", "yes"]}
    for item in forward:
        item["test_info"] = [
            {**probe, "response": text}
            for probe, text in zip(item["test_info"], responses[int(item["id"])], strict=True)
        ]
    first = official_file({
        "backward": [
            mc(0, "EPM", 0, "C", "C"),  # right, both modes
            mc(1, "ASI", 1, "A", "Answer: C"),  # official right, strict wrong
            mc(1, "HLD", 2, "B", "b"),  # stale id 1 (item 2's question and truth): official wrong, strict right
        ],
        "forward": forward,
    })
    second = official_file({
        "realtime": [
            mc(3, "STU", 3, "D", "D"),  # right
            mc(4, "OJR", 4, "B", "A, B"),  # official right, strict unparseable
            mc(5, "ATR", 5, "A", None),  # failed call: an error, 0 in both modes
            mc(6, "ACR", 6, "B", "The answer is B."),  # right in both
            mc(7, "OCR", 7, "C", "D"),  # wrong
            mc(8, "FPD", 8, "A", "B"),  # wrong
            mc(99, "FPD", 8, "C", "C"),  # a question no longer in the annotation: left out, with a warning
        ]
    })
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Model_EPM_ASI_HLD_REC_SSR_CRR_offline.json").write_text(json.dumps(first))
    (folder / "Model_STU_OJR_ATR_ACR_OCR_FPD_offline.json").write_text(json.dumps(second))
    (folder / "notes.txt").write_text("not a result file")


def scored(out: Path, capsys: pytest.CaptureFixture[str], *mode: str) -> dict[str, dict[str, float]]:
    assert main(["score", str(out), "--json", *mode]) == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return {o.get("task") or o["group"]: o["metrics"] for o in objects}


def test_import_then_score_by_hand(data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results, out = tmp_path / "results", tmp_path / "runs"
    write_gemini_like_results(results)
    with pytest.warns(UserWarning, match="1 OVO-Bench realtime prediction"):
        argv = ["import", "--benchmark", "ovobench", "--model", "M", str(results), "--data-dir", str(data_root)]
        assert main([*argv, "--out", str(out)]) == 0
    capsys.readouterr()
    runs = {read_run(p).header["task"]: read_run(p) for p in out.rglob("*.jsonl")}
    assert runs["ovobench_backward"].header["parser_mode"] == "official"
    hld = next(r for r in runs["ovobench_backward"].records if r["sample_id"] == "2")
    assert hld["output"] == "b", "the stale id 1 entry is item 2's prediction"

    # Official, by hand. Backward: EPM 1/1, ASI 1/1, HLD 0/1 -> 66.67. Real-time: STU, OJR, ACR right; ATR (error),
    # OCR, FPD wrong -> 50.00. Forward over probes: REC 1/2, SSR 2/2, CRR 1/2 -> mean(50, 100, 50) = 66.67.
    # Overall = mean of the three modes = 61.11 (the mean of the 12 codes would be 58.33).
    official = scored(out, capsys)
    group = official["ovobench"]
    expected = {"EPM": 100, "ASI": 100, "HLD": 0, "STU": 100, "OJR": 100, "ATR": 0, "ACR": 100, "OCR": 0, "FPD": 0,
                "REC": 50, "SSR": 100, "CRR": 50, "backward": 66.667, "realtime": 50, "forward": 66.667,
                "overall": 61.111}
    assert {k: round(group[k], 2) for k in expected} == {k: round(v, 2) for k, v in expected.items()}
    assert official["ovobench_forward"]["macro_accuracy"] == pytest.approx(66.667, abs=1e-3)

    # Strict: ASI 0, HLD 100; OJR 0; REC 2/2, SSR 1/2 ("Not sure"), CRR 1/2 ("N" unparseable, "yes" right).
    # Backward 66.67, real-time mean(100, 0, 0, 100, 0, 0) = 33.33, forward mean(100, 50, 50) = 66.67 -> 55.56.
    strict_group = scored(out, capsys, "--parser-mode", "strict")["ovobench"]
    expected_strict = {"ASI": 0, "HLD": 100, "OJR": 0, "REC": 100, "SSR": 50, "CRR": 50, "realtime": 33.333,
                       "overall": 55.556}
    assert {k: round(strict_group[k], 2) for k in expected_strict} == {
        k: round(v, 2) for k, v in expected_strict.items()
    }


def test_import_rejects_files_that_are_not_official_results(data_root: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"answers": []}))
    with pytest.raises(TempevalError, match="not an OVO-Bench result file"):
        ovobench.import_predictions([bad], lambda name: samples(name, data_root))


def test_no_frame_after_the_query_time_reaches_the_model(data_root: Path, tmp_path: Path) -> None:
    latest: dict[str, float] = {}

    def policy(request: Request) -> str:
        assert request.frames is not None and len(request.frames) > 0
        latest[request.sample_id] = max(request.frames.timestamps)
        return {"letter": "A", "number": "1"}.get(request.answer_format, "yes")

    load = LoadOptions(data_dir=data_root)
    for name in TASKS:
        task = registry.get_task(name)
        adapter = create_adapter("scripted", {"policy": policy})
        summary = run_task(task, adapter, "scripted/probe", RunOptions(out_dir=tmp_path, load=load, progress=False))
        assert summary.errors == 0
        for record in read_run(summary.path).records:
            assert max(record["frame_times"]) <= record["query_time_s"]
    queries = {s.id: float(s.query_time_s or 0.0) for name in TASKS for s in samples(name, data_root)}
    assert set(latest) == set(queries)
    for sample_id, seen in latest.items():
        query = queries[sample_id]
        assert seen <= query, f"sample {sample_id} saw {seen} s after its query at {query} s"
    # The cap mattered: the 20 s streams go on after every query but one (FPD at 20.5 s sees it all).
    assert sum(queries[s] < fixture.VIDEO_SECONDS - 1 and latest[s] < fixture.VIDEO_SECONDS - 1 for s in latest) == 14


def test_random_model_runs_the_group_end_to_end(data_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    argv = ["run", "--model", "random", "--task", "ovobench", "--data-dir", str(data_root), "--out", str(out)]
    assert main([*argv, "--no-progress"]) == 0
    files = sorted(out.rglob("*.jsonl"))
    assert [p.stem for p in files] == sorted(TASKS)
    for path in files:
        assert all(record["frame_times"] for record in read_run(path).records)


@pytest.mark.skipif(not (SHARED / "ovo_bench").is_dir(), reason=f"official OVO-Bench files not found in {SHARED}")
def test_parity_with_the_official_gemini_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs"
    argv = ["import", "--benchmark", "ovobench", "--model", "Gemini", str(SHARED / "ovo_bench/results/Gemini")]
    assert main([*argv, "--data-dir", str(SHARED), "--out", str(out)]) == 0
    capsys.readouterr()
    group = scored(out, capsys)["ovobench"]
    # README / leaderboard of JoeLeelyf/OVO-Bench @ c34093f9 (Gemini-1.5-Pro, offline).
    published = {"ASI": 76.35, "HLD": 52.69, "EPM": 58.59, "ATR": 79.31, "ACR": 66.97, "OCR": 85.91, "STU": 58.43,
                 "OJR": 61.96, "FPD": 63.37, "REC": 35.53, "SSR": 74.24, "CRR": 61.67, "backward": 62.54,
                 "realtime": 69.32, "forward": 57.15, "overall": 63.00}
    assert {name: round(group[name], 2) for name in published} == published


def test_one_element_list_responses_are_unwrapped_with_a_warning(data_root: Path, tmp_path: Path) -> None:
    forward = [dict(item) for item in fixture.items() if "test_info" in item][:1]
    forward[0]["test_info"] = [{**probe, "response": ["1"]} for probe in forward[0]["test_info"]]
    results = official_file({"backward": [mc(0, "EPM", 0, "C", ["C"]), mc(1, "ASI", 1, "A", "A")], "forward": forward})
    path = tmp_path / "Model_offline.json"
    path.write_text(json.dumps(results))
    n_probes = len(forward[0]["test_info"])
    with pytest.warns(UserWarning, match=rf"Model_offline.json: {1 + n_probes} response\(s\) are one-element lists"):
        outputs = ovobench.import_predictions([path], lambda name: samples(name, data_root))
    assert outputs["ovobench_backward"] == {"0": "C", "1": "A"}


def test_a_submission_without_some_probe_codes_is_averaged_as_officially_and_warned(
    data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Like the official GPT folder (no REC/SSR files): the official script averages the forward codes present."""
    results, out = tmp_path / "results", tmp_path / "runs"
    write_gemini_like_results(results)
    path = results / "Model_EPM_ASI_HLD_REC_SSR_CRR_offline.json"
    content = json.loads(path.read_text())
    content["forward"] = [item for item in content["forward"] if item["task"] == "CRR"]
    path.write_text(json.dumps(content))
    with pytest.warns(UserWarning):
        argv = ["import", "--benchmark", "ovobench", "--model", "M", str(results), "--data-dir", str(data_root)]
        assert main([*argv, "--out", str(out)]) == 0
    capsys.readouterr()

    def group(*mode: str) -> dict[str, Any]:
        assert main(["score", str(out), "--json", *mode]) == 0
        objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        found: dict[str, Any] = next(o for o in objects if o.get("group") == "ovobench")
        return found

    # Official: forward = CRR alone (50), overall mean(66.67, 50, 50); REC/SSR are left out and that is said.
    official = group()
    assert round(official["metrics"]["forward"], 2) == 50.0 and round(official["metrics"]["overall"], 2) == 55.56
    (warning,) = official["warnings"]
    assert "REC, SSR" in warning and "as the official script does" in warning
    # Strict keeps counting them: forward mean(0, 0, 50), overall mean(66.67, 33.33, 16.67); warned too.
    strict_group = group("--parser-mode", "strict")
    assert round(strict_group["metrics"]["forward"], 2) == 16.67
    assert round(strict_group["metrics"]["overall"], 2) == 38.89
    (warning,) = strict_group["warnings"]
    assert "REC, SSR" in warning and "count 0" in warning
    assert main(["score", str(out)]) == 0
    assert "warning: ovobench_forward: no predictions for task_code REC, SSR" in capsys.readouterr().out


def test_forward_items_stream_with_their_probes_at_their_times_and_the_events_the_annotation_times(
    fixture_data_dir: Path,
) -> None:
    from tempeval.streaming.queries import stream_queries

    streams = {s.meta["task_code"]: s for s in samples_of("ovobench_forward_stream", fixture_data_dir)}
    assert sorted(streams) == ["CRR", "REC", "SSR"] and all(s.kind == "streaming" for s in streams.values())
    rec = {q.query_id: q for q in stream_queries(streams["REC"].target, "REC")}
    assert [(q.asked_at_s, q.target) for q in (rec["probe-0"], rec["probe-1"])] == [(5.0, 1), (14.0, 2)]
    assert rec["count"].due_windows == ((4.0, 6.0), (11.0, 13.0)) and rec["count"].repeats
    ssr = {q.query_id: q for q in stream_queries(streams["SSR"].target, "SSR")}
    assert ssr["step-1"].due_windows == ((10.0, 12.0),) and "whisk" in ssr["step-1"].text
    crr = {q.query_id: q for q in stream_queries(streams["CRR"].target, "CRR")}
    assert (crr["answer"].asked_at_s, crr["answer"].due_windows) == (3.0, ((12.0, 14.0),))
    assert "A red bag" not in json.dumps([q.to_dict() for q in crr.values()]), "the answer text is never a query"


def test_the_streaming_official_view_reads_probe_answers_by_the_official_rule() -> None:
    from tempeval.benchmarks.ovobench import stream_official
    from tempeval.scoring.scorers import Reference
    from tempeval.scoring.stream_records import score_stream
    from tempeval.streaming.events import LogEntry, Respond, StreamLog

    target = [{"query_id": "probe-0", "asked_at_s": 4.0, "text": "Is he cracking eggs?", "answer_format": "yes_no",
               "target": False}]
    log = StreamLog("s", (LogEntry(4.0, 4.0, Respond("Not sure", "probe-0")),), ())
    reference = Reference("text", target, sample_id="s", stream={"log": log.to_dict(), "timing": {}})
    official, strict = stream_official("", reference), score_stream("", reference)
    assert official.answer["queries"][0]["value"] == 1.0, "official: 'Not sure' contains 'No'"
    assert strict.answer["queries"][0]["value"] == 0.0 and not strict.parsed
