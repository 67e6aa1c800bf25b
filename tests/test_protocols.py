"""The multi-binary protocol: any lettered multiple-choice task asked as correct-vs-distractor binary questions."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tempeval import registry
from tempeval.cli import main
from tempeval.errors import TempevalError, UnknownNameError
from tempeval.loaders import LoadOptions, load_samples
from tempeval.prompt import render
from tempeval.protocols import apply_protocol, multi_binary
from tempeval.task import parse_task
from tempeval.types import Sample, VideoRef
from tests.diagnose_helpers import write_scored_run
from tests.fixtures import temporalbench as temporalbench_fixture

HANDMADE = parse_task(
    {
        "name": "handmade_mc",
        "version": "2",
        "kind": "multiple_choice",
        "dataset": "synth",
        "answer_format": "letter",
        "prompt": "{question}\n{options}\n{instruction}",
        "group_by": ["aspect"],
    },
    "handmade_mc.yaml",
)


def mc(sample_id: str, video: str, choices: Sequence[str], target: str, **meta: Any) -> Sample:
    return Sample(
        sample_id,
        "multiple_choice",
        f"Question {sample_id}?",
        VideoRef(f"/videos/{video}.mp4"),
        tuple(choices),
        target,
        meta=meta,
    )


QUESTIONS = [
    mc("q1", "v1", ["left", "right", "up", "down"], "B", aspect="direction"),
    mc("q2", "v1", ["once", "twice", "three times"], "C", aspect="count"),
    mc("q3", "v2", ["red", "blue"], "A", aspect="colour", video_id="clip-2"),
]


def answers(samples: Sequence[Sample], wrong: set[str]) -> dict[str, str]:
    """The scripted model: the right letter, except on the binary questions in ``wrong``."""
    return {s.id: ("B" if s.target == "A" else "A") if s.id in wrong else s.target for s in samples}


def scored(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    """``tempeval score --json`` of one run file: its summary object."""
    capsys.readouterr()
    assert main(["score", str(path), "--json", *extra]) == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    summaries = [o for o in objects if "task" in o]  # a group object too when the run is one of a group's tasks
    assert len(summaries) == 1
    result: dict[str, Any] = summaries[0]
    return result


def test_each_question_becomes_its_correct_option_against_each_distractor() -> None:
    task, binary = multi_binary(HANDMADE, QUESTIONS, seed=0)
    assert (task.name, task.version, task.headline, task.groups) == (
        "handmade_mc@multi-binary",
        "2+multi-binary.1",
        "mba_question",
        (),
    )
    assert [m.label or m.name for m in task.metrics] == ["accuracy", "mba_question", "mba_video"]
    assert [s.id for s in binary] == ["q1#0", "q1#1", "q1#2", "q2#0", "q2#1", "q3#0"]
    correct = {"q1": "right", "q2": "three times", "q3": "red"}
    distractors = [("q1", "left"), ("q1", "up"), ("q1", "down"), ("q2", "once"), ("q2", "twice"), ("q3", "blue")]
    for sample, (question, distractor) in zip(binary, distractors, strict=True):
        assert sample.choices[ord(sample.target) - ord("A")] == correct[question]
        assert set(sample.choices) == {correct[question], distractor} and sample.target in ("A", "B")
        assert sample.meta["question_id"] == question and sample.question == f"Question {question}?"
        options = [line for line in render(task, sample).splitlines() if line.startswith("(")]
        assert options == [f"(A) {sample.choices[0]}", f"(B) {sample.choices[1]}"]
    assert [s.meta["video_id"] for s in binary] == ["v1"] * 5 + ["clip-2"], "meta's video_id, else the file stem"
    assert binary[3].meta["aspect"] == "count", "the original meta is kept"


def test_letters_are_seeded_per_question_and_balanced() -> None:
    many = [mc(f"m{i}", f"w{i}", ["a", "b", "c", "d", "e"], "ABCDE"[i % 5]) for i in range(200)]
    _, first = multi_binary(HANDMADE, many, seed=0)
    _, again = multi_binary(HANDMADE, list(reversed(many)), seed=0)
    assert {s.id: s.choices for s in first} == {s.id: s.choices for s in again}, "independent of sample order"
    assert first[5].target == ("A" if random.Random("0:m1:1").random() < 0.5 else "B")
    share_a = sum(s.target == "A" for s in first) / len(first)
    assert 0.45 < share_a < 0.55
    _, other_seed = multi_binary(HANDMADE, many, seed=1)
    assert sum(a.target != b.target for a, b in zip(first, other_seed, strict=True)) > 300


def test_scores_of_a_handmade_fixture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    task, binary = multi_binary(HANDMADE, QUESTIONS, seed=0)
    run = write_scored_run(tmp_path / "run.jsonl", task, binary, answers(binary, wrong={"q2#1"}))
    metrics = scored(run, capsys)["metrics"]
    # 6 binary questions, 5 right (only q2#1 wrong):                   accuracy     = 5/6 = 83.33
    # questions all of whose binaries are right: q1 (3/3) and q3 (1/1), not q2 (1/2):  mba_question = 2/3 = 66.67
    # videos all of whose binaries are right: v1 holds q1 and q2, so no; clip-2 yes:   mba_video    = 1/2 = 50.00
    assert metrics["accuracy"] == pytest.approx(500 / 6)
    assert metrics["mba_question"] == pytest.approx(200 / 3)
    assert metrics["mba_video"] == pytest.approx(50.0)
    # The task's breakdowns still apply, per binary question: count has q2#0 right, q2#1 wrong.
    assert metrics["accuracy[aspect=count]"] == pytest.approx(50.0)


def test_on_temporalbench_data_it_is_temporalbench_mba(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Split 4-way caption questions, answer them, and score the same answers as TemporalBench records."""
    names = [f"short_video/Charades/V{i}_start_0.0_end_9.0.mp4" for i in range(6)]
    captions = ["A man opens the door.", "A man closes the door.", "A man opens the window.", "A woman opens the door."]
    questions = [
        mc(f"t{i}", Path(name).stem, captions, "ABCD"[i % 4], video_name=name) for i, name in enumerate(names)
    ] + [mc("t6", Path(names[0]).stem, list(reversed(captions)), "C", video_name=names[0])]
    task, binary = multi_binary(HANDMADE, questions, seed=3)
    draw = random.Random(11)
    outputs = answers(binary, wrong={s.id for s in binary if draw.random() < 0.2})
    ours = scored(write_scored_run(tmp_path / "ours.jsonl", task, binary, outputs), capsys)["metrics"]

    # The same binary questions in TemporalBench's own schema: idx = video_name + "_<k>", options in the question.
    per_video: dict[str, int] = {}
    records, by_idx = [], {}
    for sample in binary:
        name = sample.meta["video_name"]
        k = per_video[name] = per_video.get(name, -1) + 1
        right = sample.choices[ord(sample.target) - ord("A")]
        wrong = next(c for c in sample.choices if c != right)
        records.append(
            {
                "idx": f"{name}_{k}",
                "video_name": name,
                "dataset": "Charades",
                "category": "Action Type",
                "question": temporalbench_fixture.question_text(right, wrong, sample.target),
                "GT": sample.target,
            }
        )
        by_idx[f"{name}_{k}"] = outputs[sample.id]
    (tmp_path / "data" / "temporalbench").mkdir(parents=True)
    (tmp_path / "data" / "temporalbench" / "temporalbench_short_qa.json").write_text(json.dumps(records))
    official_task = registry.get_task("temporalbench_short")
    official_samples = load_samples(
        official_task, registry.get_dataset("temporalbench"), LoadOptions(data_dir=tmp_path / "data")
    )
    theirs_run = write_scored_run(tmp_path / "theirs.jsonl", official_task, official_samples, by_idx)
    theirs = scored(theirs_run, capsys, "--parser-mode", "official")["metrics"]

    assert 0 < ours["mba_video"] < 100, "some videos pass, some fail: the comparison means something"
    assert ours["mba_video"] == pytest.approx(theirs["multiple_binary_accuracy"])
    assert ours["accuracy"] == pytest.approx(theirs["accuracy"])
    assert ours["mba_question"] != ours["mba_video"], "video V0 holds two questions"


@pytest.mark.parametrize(
    ("task_name", "message"),
    [("temporalbench_short", "writes its options inside the question"), ("synth_grounding", "multiple-choice")],
)
def test_tasks_it_cannot_split_are_refused(task_name: str, message: str) -> None:
    with pytest.raises(TempevalError, match=message):
        multi_binary(registry.get_task(task_name), [], seed=0)


def test_bad_questions_and_unknown_protocols_are_clear() -> None:
    with pytest.raises(TempevalError, match="at least two options"):
        multi_binary(HANDMADE, [mc("lonely", "v", ["only"], "A")], seed=0)
    with pytest.raises(UnknownNameError, match="Did you mean: multi-binary"):
        apply_protocol("multi-binry", HANDMADE, QUESTIONS, 0)


def test_the_runner_hook_on_a_registered_task(load_options: LoadOptions) -> None:
    """What ``tempeval run --protocol multi-binary`` will run: synth_direction's 4-way questions, 3 binaries each."""
    task = registry.get_task("synth_direction")
    samples = load_samples(task, registry.get_dataset(task.dataset), load_options)[:10]
    derived, binary = apply_protocol("multi-binary", task, samples, 0)
    assert derived.name == "synth_direction@multi-binary" and len(binary) == 30
    by_question: Mapping[str, list[Sample]] = {
        s.id: [b for b in binary if b.meta["question_id"] == s.id] for s in samples
    }
    assert all(len(group) == 3 for group in by_question.values())
    assert all(b.video == next(s for s in samples if s.id == b.meta["question_id"]).video for b in binary)
