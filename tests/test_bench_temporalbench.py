"""TemporalBench: loader, the official first-character rule, BA / MBA (overall, per dataset, per category), import."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tempeval import registry
from tempeval.benchmarks import temporalbench
from tempeval.cli import main
from tempeval.data import DataMissingError
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions, load_samples
from tempeval.results import read_run
from tempeval.scoring.metrics import Row, accuracy, multiple_binary_accuracy
from tempeval.scoring.scorers import Reference, strict
from tempeval.types import Sample
from tests.fixtures import temporalbench as fixture

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
V1, V2, V3, V4 = (
    "short_video/Charades/EEVD3_start_11.4_end_16.9.mp4",
    "short_video/Charades/K2Q8L_start_0.0_end_9.5.mp4",
    "short_video/COIN/Xq3_start_2.0_end_12.0.mp4",
    "short_video/Oops/fall_start_1.0_end_4.0.mp4",
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("temporalbench-data")
    fixture.build(root)
    return root


def samples(task: str, data_dir: Path) -> list[Sample]:
    spec = registry.get_task(task)
    return load_samples(spec, registry.get_dataset(spec.dataset), LoadOptions(data_dir=data_dir))


def test_loader_reads_the_hub_schema(data_dir: Path) -> None:
    short = samples("temporalbench_short", data_dir)
    assert [s.id for s in short[:2]] == [f"{V1}_0", f"{V1}_1"] and len(short) == 8
    first = short[0]
    assert first.question.startswith("Which caption best describes this video?\nA. ")  # the official prompt, verbatim
    assert first.choices == ("A person closes the fridge with the right hand.",
                             "A person closes the fridge with the left hand.")
    assert first.target == "B"
    assert first.meta == {"video_id": V1, "video_name": V1, "dataset": "Charades", "category": "Action Effector"}
    assert first.video is not None and Path(first.video.path) == data_dir / "temporalbench" / V1
    assert Path(first.video.path).is_file()
    long = samples("temporalbench_long", data_dir)
    assert len(long) == 3 and "category" not in long[0].meta  # long QA has an empty category


@pytest.mark.parametrize(
    ("output", "target", "official", "strict_value"),
    [
        ("Because A is the left hand", "B", 1.0, None),  # official reads only the first character: "B"
        ("b", "B", 1.0, 1.0),  # case-insensitive
        ("B. the left hand", "B", 1.0, 1.0),
        (" B", "B", 0.0, 1.0),  # not stripped officially: the first character is a space
        ("A", "B", 0.0, 0.0),
        ("", "B", None, None),  # IndexError officially: unparseable here, in both modes
    ],
)
def test_first_character_rule(output: str, target: str, official: float | None, strict_value: float | None) -> None:
    reference = Reference("letter", target, ("He waves with one hand.", "He waves with both hands."))
    for scorer, expected in ((temporalbench.first_character, official), (strict, strict_value)):
        score = scorer(output, reference)
        assert (score.value, score.parsed) == ((0.0, False) if expected is None else (expected, True)), scorer


def write_predictions(path: Path, responses: Mapping[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"idx": k, "response": v}) + "\n" for k, v in responses.items()))
    return path


# Hand-worked example on the short fixture (8 questions, 4 videos; GT in brackets):
#   V1 Charades: q0 [B] "Because A..." -> official "B" right, strict unparseable | q1 [A] "a" right | q2 [B] "B" right
#   V2 Charades: q0 [A] "A" right | q1 [B] "A" wrong                              -> mixed outcomes
#   V3 COIN:     q0 [A] "A." right | q1 [B] "B" right
#   V4 Oops:     q0 [A] "" -> unparseable in both modes (an IndexError in the official script)
RESPONSES = {f"{V1}_0": "Because A is the left hand", f"{V1}_1": "a", f"{V1}_2": "B", f"{V2}_0": "A",
             f"{V2}_1": "A", f"{V3}_0": "A.", f"{V3}_1": "B", f"{V4}_0": ""}
OFFICIAL = {
    "accuracy": 75.0,  # BA: 6 right of 8 (q0..q2 of V1, q0 of V2, both of V3)
    "multiple_binary_accuracy": 50.0,  # MBA: V1 and V3 all right, of 4 videos
    "multiple_binary_accuracy[dataset=Charades]": 50.0,  # V1 right, V2 not
    "multiple_binary_accuracy[dataset=COIN]": 100.0,
    "multiple_binary_accuracy[dataset=Oops]": 0.0,
    "accuracy[dataset=Charades]": 80.0,  # BA within Charades: 4 of 5
    # Per category, videos are grouped inside the category: V2 fails overall but its one Action Type question is
    # right, so Action Type MBA is 3/3 videos; Action Effector holds V1 (q0, q2 right) and V2 (q1 wrong): 1/2.
    "multiple_binary_accuracy[category=Action Effector]": 50.0,
    "multiple_binary_accuracy[category=Action Type]": 100.0,
    "multiple_binary_accuracy[category=Motion Direction/Orientation]": 100.0,
    "multiple_binary_accuracy[category=Others]": 0.0,
    "accuracy[category=Action Effector]": pytest.approx(200 / 3),  # q0, q2 of V1 right; q1 of V2 wrong
}
STRICT = {
    "accuracy": 62.5,  # 5 of 8: V1's "Because A..." is unparseable now
    "multiple_binary_accuracy": 25.0,  # only V3
    "multiple_binary_accuracy[dataset=Charades]": 0.0,
    "multiple_binary_accuracy[category=Action Effector]": 0.0,  # V1 fails on q0 now
    "multiple_binary_accuracy[category=Action Type]": 100.0,
}


def score_json(paths: list[Path], capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["score", *map(str, paths), "--json", *extra]) == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return {o.get("task", o.get("group")): o for o in objects}


def test_import_and_score_hand_worked(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = tmp_path / "outputs"
    write_predictions(outputs / "temporalbench_short_qa" / "model-frame16.jsonl", RESPONSES)
    # The long file lacks one question: it is recorded as an error (the official script would drop it instead).
    long_ids = [s.id for s in samples("temporalbench_long", data_dir)]
    write_predictions(outputs / "temporalbench_long_qa" / "model-frame16.jsonl", {long_ids[0]: "A", long_ids[1]: "B"})
    runs = tmp_path / "runs"
    argv = ["import", str(outputs), "--benchmark", "temporalbench", "--model", "m", "--out", str(runs),
            "--data-dir", str(data_dir)]
    assert main(argv) == 0

    official = score_json([runs], capsys)
    short = official["temporalbench_short"]
    assert short["headline"] == "multiple_binary_accuracy" and short["unparseable"] == 1
    assert {k: short["metrics"][k] for k in OFFICIAL} == OFFICIAL
    assert official["temporalbench_long"]["errors"] == 1
    assert official["temporalbench_long"]["metrics"]["accuracy"] == pytest.approx(200 / 3)
    group = official["temporalbench"]
    assert group["metrics"]["short"] == 50.0 and group["metrics"]["long"] == 50.0  # long: video Xq3 right, v_abc not
    assert group["metrics"]["average"] == 50.0

    strict_scores = score_json([runs], capsys, "--parser-mode", "strict")["temporalbench_short"]
    assert strict_scores["unparseable"] == 2
    assert {k: strict_scores["metrics"][k] for k in STRICT} == STRICT


def official_get_qa_acc(records: list[dict[str, str]], responses: Mapping[str, str]) -> dict[str, float]:
    """The official get_qa_acc.py loop, transcribed: BA, MBA, per-dataset and per-category MBA (percent)."""
    correct, per_video, per_dataset, per_category = 0, {}, {}, {}
    for record in records:
        right = record["GT"].lower() == responses[record["idx"]][0].lower()
        correct += right
        video = record["video_name"]
        per_video[video] = per_video.get(video, True) and right
        for table, key in ((per_dataset, record["dataset"]), (per_category, record["category"])):
            table.setdefault(key, {})
            table[key][video] = table[key].get(video, True) and right
    out = {"accuracy": 100 * correct / len(records),
           "multiple_binary_accuracy": 100 * sum(per_video.values()) / len(per_video)}
    for name, table in (("dataset", per_dataset), ("category", per_category)):
        for key, videos in table.items():
            out[f"multiple_binary_accuracy[{name}={key}]"] = 100 * sum(videos.values()) / len(videos)
    return out


def test_metrics_match_the_official_loop_on_random_data() -> None:
    rng = random.Random(7)
    records, rows = [], []
    for v in range(60):
        video, dataset = f"short_video/S{v % 4}/clip{v}.mp4", f"S{v % 4}"
        for k in range(rng.randint(1, 4)):
            gt = rng.choice("AB")
            records.append({"idx": f"{video}_{k}", "video_name": video, "dataset": dataset, "GT": gt,
                            "category": rng.choice(["Action Order", "Action Type", "Others"])})
    responses = {r["idx"]: rng.choice(["A", "B", "a", "b.", "Because", " A", "Answer: B"]) for r in records}
    for r in records:
        score = temporalbench.first_character(responses[r["idx"]], Reference("letter", r["GT"]))
        meta = {"video_id": r["video_name"], "video_name": r["video_name"], "dataset": r["dataset"],
                "category": r["category"]}
        rows.append(Row(r["idx"], score.value, score.parsed, meta=meta))
    ours = {**accuracy(rows), **multiple_binary_accuracy(rows, "video_name"),
            **temporalbench.multiple_binary_accuracy_by(rows, "dataset"),
            **temporalbench.multiple_binary_accuracy_by(rows, "category")}
    expected = official_get_qa_acc(records, responses)
    assert {name: ours[name].value for name in expected} == pytest.approx(expected)


def test_missing_annotations_name_the_file_and_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(DataMissingError, match=r"temporalbench_short_qa\.json[\s\S]*tempeval data fetch temporalbench"):
        samples("temporalbench_short", tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"question": "Which caption?\nA person closes the fridge."}, "0 lettered option line"),
        ({"GT": "C"}, "GT 'C' is not one of the option letters A, B"),
        ({"dataset": None}, "no 'dataset'"),
    ],
)
def test_malformed_records_name_file_record_and_fix(
    data_dir: Path, tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    folder = tmp_path / "temporalbench"
    folder.mkdir()
    records = json.loads((data_dir / "temporalbench" / "temporalbench_short_qa.json").read_text())
    records[2].update(change)
    (folder / "temporalbench_short_qa.json").write_text(json.dumps(records))
    # The bad record is skipped with one warning naming the file, the record and the problem; the others load.
    with pytest.warns(UserWarning, match=rf"temporalbench_short_qa\.json, record 2 \(idx '{V1}_2'\)") as caught:
        loaded = samples("temporalbench_short", tmp_path)
    assert message in str(caught[0].message)
    assert len(loaded) == len(records) - 1 and f"{V1}_2" not in {s.id for s in loaded}


def test_unknown_prediction_idx_is_an_error(data_dir: Path, tmp_path: Path) -> None:
    path = write_predictions(tmp_path / "temporalbench_short_qa" / "m.jsonl", {"no/such/video.mp4_0": "A"})
    with pytest.raises(TempevalError, match="is not a question of temporalbench_short"):
        temporalbench.import_predictions([path], lambda task: samples(task, data_dir))


def test_run_random_end_to_end(data_dir: Path, tmp_path: Path) -> None:
    argv = ["run", "--model", "random", "--task", "temporalbench_short", "--data-dir", str(data_dir), "--out",
            str(tmp_path), "--no-progress"]
    assert main(argv) == 0
    run = read_run(next(tmp_path.rglob("*.jsonl")))
    assert len(run.records) == 8 and all(record["frame_times"] for record in run.records)


@pytest.mark.skipif(
    not (SHARED / "temporalbench" / "temporalbench_short_qa.json").is_file(),
    reason="no TemporalBench annotations in ../shared/benchmarks (the hub dataset is gated and none were saved); "
    "tests/fixtures/temporalbench.py stands in",
)
def test_real_annotations_load() -> None:
    # PROTOCOLS.md §2: 9,867 short QA on 2,179 clips, per-category counts from the paper's Table 6; 5,485 long QA.
    short = samples("temporalbench_short", SHARED)
    assert len(short) == 9867 and len({s.meta["video_name"] for s in short}) == 2179
    per_category = Counter(s.meta["category"] for s in short)
    assert sorted(per_category.values()) == [129, 320, 530, 1109, 1342, 1536, 2099, 2802]
    assert len(samples("temporalbench_long", SHARED)) == 5485


def test_one_element_list_responses_compare_the_whole_element(data_dir: Path, tmp_path: Path) -> None:
    # get_qa_acc.py: GT.lower() == response[0].lower(); for a list response[0] is its first element, whole.
    short = samples("temporalbench_short", data_dir)
    responses: dict[str, Any] = {s.id: [f"{s.target}. {s.choices[0]}"] for s in short}  # right letter, with text
    responses[short[1].id] = [short[1].target.lower()]  # exactly the letter: right
    responses[short[2].id] = []  # IndexError officially
    path = write_predictions(tmp_path / "temporalbench_short_qa" / "m.jsonl", responses)
    with pytest.warns(UserWarning, match=r"8 response\(s\) are lists .*the official form is a string"):
        outputs = temporalbench.import_predictions([path], lambda task: samples(task, data_dir))
    scores = [temporalbench.first_character(outputs["temporalbench_short"][s.id] or "", Reference("letter", s.target))
              for s in short]
    assert [score.value for score in scores] == [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert not scores[2].parsed and all(score.parsed for i, score in enumerate(scores) if i != 2)
    # A plain string still reads its first character.
    assert temporalbench.first_character("A. text", Reference("letter", "A")).value == 1.0
