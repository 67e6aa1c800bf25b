"""VLM4D: loader (option text answers, numeric options, exo/ego and FP meta), the official judge protocol (prompt,
verdicts, no judge), the strict default, and the importer of official output files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tempeval import registry
from tempeval.benchmarks import vlm4d
from tempeval.cli import main
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions, load_samples
from tempeval.scoring.scorers import Reference, strict
from tempeval.types import Sample
from tests.fixtures import vlm4d as fixture


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("vlm4d-data")
    fixture.build(root)
    return root


def samples(subset: str, root: Path) -> list[Sample]:
    task = registry.get_task(f"vlm4d_{subset}")
    return load_samples(task, registry.get_dataset(task.dataset), LoadOptions(data_dir=root))


def reference(sample: Sample, judge: object = None) -> Reference:
    return Reference("letter", sample.target, sample.choices, sample.id, sample.question, judge=judge)  # type: ignore[arg-type]


def test_loader(data_root: Path) -> None:
    real = samples("real", data_root)
    assert [s.target for s in real] == ["B", "A", "B"]  # option text "there are no buses...", the number 1, "right"
    assert real[1].choices == ("1", "2", "3", "0")
    assert [s.meta["perspective"] for s in real] == ["exo", "exo", "ego"]  # ids 1, 3 <= 922 < 923
    assert real[0].question == ("Question: What direction is the bus moving towards?\nA: not moving\n"
                                "B: there are no buses in the video\nC: right\nD: left")
    assert real[0].video is not None and real[0].video.path.endswith("vlm4d/videos_real/davis/aerobatics.mp4")
    assert [s.meta["synthetic_kind"] for s in samples("synthetic", data_root)] == ["fp", "directional", "directional"]


def test_strict_reads_the_cot_conclusion_or_the_option_text(data_root: Path) -> None:
    sample = samples("real", data_root)[0]  # target B of A-D
    ref = reference(sample)
    # A chain of thought that weighs other options is read by its conclusion (the letter parser alone refuses it).
    reasoning = "A is wrong, so are C and D. Therefore, the final answer is: **B**."
    assert vlm4d.strict(reasoning, ref).value == 1.0 and not strict(reasoning, ref).parsed
    assert vlm4d.strict("Therefore, the final answer is: (C)", ref).value == 0.0
    assert vlm4d.strict("There are no buses in the video.", ref).value == 1.0  # no conclusion: the letter parser
    assert not vlm4d.strict("the final answer is: B ... no, the final answer is: C", ref).parsed
    assert not vlm4d.strict("Therefore, the final answer is: F", ref).parsed   # no option F
    assert not vlm4d.strict("I am not sure.", ref).parsed


def test_official_asks_the_judge_with_the_official_messages(data_root: Path) -> None:
    sample = samples("real", data_root)[0]
    prompts: list[str] = []

    def judge(prompt: str) -> str:
        prompts.append(prompt)
        return '{"extracted_answer": "B: there are no buses in the video", "correct": true}'

    score = vlm4d.official("It's B.", reference(sample, judge))
    assert score.value == 1.0 and score.answer == "B"
    (prompt,) = prompts
    assert prompt.startswith("Your task is to evaluate whether the model's final answer is correct")
    assert prompt.endswith(
        "Question: What direction is the bus moving towards?\n\nOptions:\nA: not moving\n"
        "B: there are no buses in the video\nC: right\nD: left\n\n"
        "Ground Truth Answer: there are no buses in the video\n\nModel Response to the Question: It's B."
    )


@pytest.mark.parametrize(
    ("reply", "value"),
    [
        ('{"extracted_answer": "A: not moving", "correct": false}', 0.0),
        ('```json\n{"extracted_answer": "B: x", "correct": true}\n```', 1.0),
        ("Correct!", 0.0),                                # no JSON: the official's parse exception, wrong
        ('{"extracted_answer": "B", "correct": "yes"}', 0.0),  # not a boolean
    ],
)
def test_official_verdicts(data_root: Path, reply: str, value: float) -> None:
    sample = samples("real", data_root)[0]
    assert vlm4d.official("B", reference(sample, lambda _: reply)).value == value


def test_official_without_a_judge_is_unparseable(data_root: Path) -> None:
    score = vlm4d.official("B", reference(samples("real", data_root)[0]))
    assert score.value == 0.0 and not score.parsed and "--judge" in score.explanation


def test_import_official_outputs(data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = json.loads((data_root / "vlm4d" / "data" / "real_mc.json").read_text(encoding="utf-8"))
    responses = ["Therefore, the final answer is: B", "Therefore, the final answer is: C", "right"]
    path = tmp_path / "outputs" / "real_mc_cot" / "gpt-4o_8frame.json"
    path.parent.mkdir(parents=True)
    lines = [{**r, "response": t} for r, t in zip(records, responses, strict=True)]
    path.write_text(json.dumps(lines), encoding="utf-8")
    out = tmp_path / "imported"
    assert main(["import", str(path), "--benchmark", "vlm4d", "--model", "gpt-4o", "--out", str(out),
                 "--data-dir", str(data_root)]) == 0
    capsys.readouterr()
    assert main(["score", str(out), "--json", "--parser-mode", "strict"]) == 0
    (run,) = [o for o in map(json.loads, capsys.readouterr().out.splitlines()) if "task" in o]
    assert run["task"] == "vlm4d_real" and run["metrics"]["accuracy"] == pytest.approx(200 / 3)
    capsys.readouterr()
    assert main(["score", str(out), "--json"]) == 0  # imported runs score officially: the judge is needed
    (run,) = [o for o in map(json.loads, capsys.readouterr().out.splitlines()) if "task" in o]
    assert run["unparseable"] == 3

    wrong = tmp_path / "outputs" / "real_mc_cot" / "bad.json"
    wrong.write_text(json.dumps([{**records[0], "answer": "left", "response": "D"}]), encoding="utf-8")
    from tempeval.importing import import_runs

    with pytest.raises(TempevalError, match="other annotation files"):
        import_runs("vlm4d", "m", [wrong], tmp_path / "out2", LoadOptions(data_dir=data_root))
    stray = tmp_path / "elsewhere" / "x.json"
    stray.parent.mkdir()
    stray.write_text("[]", encoding="utf-8")
    with pytest.raises(TempevalError, match="does not say its subset"):
        import_runs("vlm4d", "m", [stray], tmp_path / "out3", LoadOptions(data_dir=data_root))


def test_answer_outside_the_options_is_skipped_with_a_warning(tmp_path: Path) -> None:
    fixture.build(tmp_path)
    path = tmp_path / "vlm4d" / "data" / "real_mc.json"
    records = json.loads(path.read_text(encoding="utf-8"))
    records[0]["answer"] = "upwards"
    path.write_text(json.dumps(records), encoding="utf-8")
    with pytest.warns(UserWarning, match=r"real_mc\.json.*validation_1.*not one of its options"):
        assert len(samples("real", tmp_path)) == 2
