"""TOMATO: loader, the official rule pre-parser / judge / seeded fallback, parity with the real files, importer.

The real annotation files are read in place from ../shared/benchmarks/tomato/data (tests skip without them).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tempeval import registry
from tempeval.adapter import create_adapter
from tempeval.benchmarks import tomato
from tempeval.cli import main
from tempeval.errors import TempevalError
from tempeval.judge import JudgeUnavailable
from tempeval.loaders import LoadOptions, load_samples
from tempeval.results import read_run
from tempeval.runner import RunOptions, run_task
from tempeval.scoring.scorers import Reference, strict
from tempeval.types import Request, Sample
from tests.fixtures import tomato as fixture

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
REAL_COUNTS = {"count": 292, "direction": 403, "rotation": 286, "shape&trend": 223, "velocity&frequency": 210,
               "visual_cues": 70}
NUMBERS = ("2", "1", "3", "4")
"""Options without lower-case letters: the only kind the official "<letter>: <option>" rule can match."""
WORDS = ("No rotation.", "Clockwise.", "Counter-clockwise.", "Both.")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tomato-data")
    fixture.build(root)
    return root


def samples(subset: str, root: Path) -> list[Sample]:
    task = registry.get_task(tomato.task_name(subset))
    return load_samples(task, registry.get_dataset(task.dataset), LoadOptions(data_dir=root))


# Hand-worked from parse_result.pre_parser: strip; one valid letter (any case); upper-cased response equal to
# "<letter>: <option>" (option not upper-cased); ^Answer is:?\(?([A-Fa-f])\)?$ (no space after "is" or ":").
@pytest.mark.parametrize(
    ("response", "choices", "letter"),
    [
        ("B", NUMBERS, "B"),
        (" b \n", NUMBERS, "B"),
        ("E", NUMBERS, ""),                    # not one of the 4 options
        ("a: 2", NUMBERS, "A"),                # "A: 2" is a full choice
        ("B: Clockwise.", WORDS, ""),          # upper-cased "B: CLOCKWISE." never equals "B: Clockwise."
        ("Answer is:(D)", WORDS, "D"),
        ("Answer isc", WORDS, "C"),
        ("Answer is: C", WORDS, ""),           # the space after ":" defeats the pattern
        ("Answer is (B)", WORDS, ""),          # so does the space after "is"
        ("answer is:B", WORDS, ""),            # case-sensitive "Answer"
        ("Answer is:G", WORDS + ("x",) * 3, ""),  # the pattern stops at F even with 7 options
        ("Answer is:F", WORDS, ""),            # a letter beyond the 4 options falls through (to the judge)
        ("Answer is:(e)", WORDS, ""),
        ("The answer is B", WORDS, ""),
    ],
)
def test_rule_pre_parser(response: str, choices: tuple[str, ...], letter: str) -> None:
    assert tomato.pre_parse(response, choices) == letter


def test_seeded_fallback_is_reproducible() -> None:
    # No rule applies and no judge: random.Random("215:<sample id>").choice(letters). For sample "2" with
    # 6 options that is "F", for sample "0" it is "B" (worked out once with Python's Mersenne Twister).
    six = ("o1", "o2", "o3", "o4", "o5", "o6")
    picks = {sid: tomato.official("I cannot tell.", Reference("letter", "F", six, sample_id=sid)) for sid in "02"}
    assert (picks["2"].answer, picks["2"].value, picks["2"].parsed) == ("F", 1.0, False)
    assert (picks["0"].answer, picks["0"].value) == ("B", 0.0)
    assert "seeded random fallback (no judge given)" in picks["0"].explanation
    again = tomato.official("I cannot tell.", Reference("letter", "F", six, sample_id="2"))
    assert again == picks["2"] and random.Random("215:2").choice("ABCDEF") == "F"
    assert strict("I cannot tell.", Reference("letter", "F", six)).parsed is False  # strict never guesses


def test_judge_then_fallback() -> None:
    prompts: list[str] = []

    def judge_saying(reply: str) -> Reference:
        def judge(prompt: str) -> str:
            prompts.append(prompt)
            return reply

        return Reference("letter", "C", WORDS, sample_id="1", judge=judge)

    score = tomato.official("I think it turns clockwise.", judge_saying("C"))
    assert (score.answer, score.value, score.parsed, len(prompts)) == ("C", 1.0, True, 1)
    assert prompts[0].startswith("You are given a response, a list of multiple-choice options, and a index2answer")
    assert "    response: I think it turns clockwise.\n\n    all_choices: ['A', 'B', 'C', 'D']\n\n" in prompts[0]
    assert "index2answer: {'A': 'No rotation.', 'B': 'Clockwise.', " in prompts[0]
    prompts.clear()
    # "c" is not exactly a valid letter: asked 5 times (MAX_ITER), then Random("215:1") picks "A" of 4.
    score = tomato.official("I think it turns clockwise.", judge_saying("c"))
    assert (len(prompts), score.answer, score.value, score.parsed) == (5, "A", 0.0, False)
    prompts.clear()
    assert tomato.official("B", judge_saying("C")).answer == "B" and not prompts  # the rule settles it first
    # Only exactly one valid letter is accepted: "AB", "ABC", "" and " C" are asked again 5 times, then the pick.
    for reply in ("AB", "ABC", "BC", "", " C"):
        prompts.clear()
        score = tomato.official("I think it turns clockwise.", judge_saying(reply))
        assert (len(prompts), score.answer, score.parsed) == (5, "A", False), reply
    # "Answer is:F" of 4 options: no rule letter, so the judge is asked.
    prompts.clear()
    score = tomato.official("Answer is:F", judge_saying("C"))
    assert (score.answer, score.value, score.parsed, len(prompts)) == ("C", 1.0, True, 1)


def test_no_logged_judge_reply_falls_back() -> None:
    def unavailable(prompt: str) -> str:
        raise JudgeUnavailable("no judge")

    score = tomato.official("hmm", Reference("letter", "A", WORDS, sample_id="1", judge=unavailable))
    assert (score.answer, score.parsed) == ("A", False) and "no judge given" in score.explanation


def test_loader_builds_the_official_options_dict(data_root: Path) -> None:
    first = samples("count", data_root)[0]
    assert first.question == (
        "<question>\nHow many trapezoid(s) does the person draw in the air throughout the entire video?\n"
        "</question>\n\n"
        "<options>\n{'A': '2', 'B': '1', 'C': '3', 'D': '4', 'E': '5', 'F': '0'}\n</options>"
    )
    assert first.target == "C" and first.choices[2] == "3"  # answer 2 is a 0-based index
    assert first.meta == {"task": "count", "demonstration_type": "human", "video_id": "0209-03"}
    assert first.video is not None and first.video.path.endswith("tomato/videos/human/0209-03.mp4")
    for subset in tomato.TASKS:
        loaded = samples(subset, data_root)
        assert [s.id for s in loaded] == ["0", "1", "2"]
        assert {s.meta["demonstration_type"] for s in loaded} == set(tomato.DEMONSTRATION_TYPES)
    task = registry.get_task("tomato_shape_trend")
    assert task.subset == "shape&trend" and task.group_by == ("demonstration_type",)
    assert task.generation.seed == 215 and task.frames.num_frames == 16


def official_prompt(num_frames: int, question: str, options: dict[str, str]) -> str:
    """``construct_prompt.py`` (fe2025f4) with its trailing spaces removed, after the official system prompt."""
    return (
        "You are an expert in understanding dynamics of objects.\n"
        f"You will be provided with {num_frames} separate frames uniformly sampled from a video, the frames are "
        "provided in chronological order of the video. Analyze these frames and provide the answer to the question "
        "about the video content. Answer the multiple-choice question about the video content.\n\n"
        "You must use these frames to answer the multiple-choice question; do not rely on any externel knowledge "
        "or commonsense.\n\n"
        f"<question>\n{question}\n</question>\n\n<options>\n{options}\n</options>\n\n"
        "Even if the information in these separate frames is not enough to answer the question, PLEASE TRY YOUR "
        "BEST TO GUESS AN ANSWER WHICH YOU THINK WOULD BE THE MOST POSSIBLE ONE BASED ON THE QUESTION.\n\n"
        "DO NOT GENERATE ANSWER SUCH AS 'NOT POSSIBLE TO DETERMINE.'"
    )


def test_prompt_states_the_frames_shown_and_their_order_only_when_true(data_root: Path, tmp_path: Path) -> None:
    prompts: dict[str, str] = {}

    def listen(request: Request) -> str:
        prompts[request.sample_id] = request.prompt
        return "A"

    task = registry.get_task("tomato_count")
    first = samples("count", data_root)[0]
    question = "How many trapezoid(s) does the person draw in the air throughout the entire video?"
    options = {"A": "2", "B": "1", "C": "3", "D": "4", "E": "5", "F": "0"}
    for order in ("original", "shuffled"):
        policy = task.frames.replace(num_frames=8, order=order)
        run_options = RunOptions(out_dir=tmp_path / order, load=LoadOptions(data_dir=data_root), progress=False,
                                 frames=policy)
        run_task(task, create_adapter("scripted", {"policy": listen}), "scripted", run_options)
        expected = official_prompt(8, question, options)
        if order == "shuffled":  # the frames are not in chronological order: the prompt does not say they are
            expected = expected.replace(", the frames are provided in chronological order of the video.", ".")
        assert prompts[first.id] == expected, order


def test_malformed_record_names_file_and_id(tmp_path: Path) -> None:
    path = tmp_path / "tomato" / tomato.annotation_file("rotation")
    path.parent.mkdir(parents=True)
    record = {"question": "q?", "options": ["a", "b"], "answer": 2, "key": "k", "demonstration_type": "human"}
    path.write_text(json.dumps({"0": {**record, "answer": 0}, "1": record}), encoding="utf-8")
    with pytest.warns(UserWarning, match=r"rotation\.json: record '1' has answer 2, not an index into its 2"):
        assert [s.id for s in samples("rotation", tmp_path)] == ["0"]


@pytest.mark.skipif(not (SHARED / "tomato" / "data").is_dir(), reason="../shared/benchmarks/tomato/data is absent")
def test_parity_with_the_real_files() -> None:
    # The files are read in place: <SHARED>/tomato/data/<task>.json.
    loaded = {subset: samples(subset, SHARED) for subset in tomato.TASKS}
    assert {subset: len(s) for subset, s in loaded.items()} == REAL_COUNTS
    everything = [sample for batch in loaded.values() for sample in batch]
    demos = [s.meta["demonstration_type"] for s in everything]
    assert {d: demos.count(d) for d in tomato.DEMONSTRATION_TYPES} == {"human": 595, "object": 656, "simulated": 233}
    expected_random = 100 * sum(1 / len(s.choices) for s in everything) / len(everything)
    assert round(expected_random, 1) == 19.9  # PROTOCOLS.md: "expected random ~19.9 %"
    # An answer no rule can read falls back to the seeded pick: reproducible, and at chance.
    fallback = [tomato.official("no idea", Reference("letter", s.target, s.choices, s.id)) for s in everything]
    accuracy = 100 * sum(score.value for score in fallback) / len(fallback)
    again = [tomato.official("no idea", Reference("letter", s.target, s.choices, s.id)).value for s in everything]
    assert [score.value for score in fallback] == again and abs(accuracy - expected_random) < 3.0


def write_results(root: Path, folder: str, lines: list[dict[str, object]]) -> Path:
    path = root / "results" / folder / "16" / "gpt-4o.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def result_line(sample: Sample, response: str) -> dict[str, object]:
    """A line as src/generate_lib/gpt.py writes it."""
    letters = [chr(65 + i) for i in range(len(sample.choices))]
    gt = f"{sample.target}. {sample.choices[letters.index(sample.target)]}"
    return {"id": sample.id, "question": "q", "response": response, "all_choices": letters,
            "index2ans": dict(zip(letters, sample.choices, strict=True)), "gt": gt}


def test_run_import_and_score(data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs"
    assert main(["run", "--model", "random", "--task", "tomato_count", "--data-dir", str(data_root),
                 "--out", str(out), "--no-progress"]) == 0
    records = read_run(out / "random" / "tomato_count.jsonl").records
    assert len(records) == 3 and all(len(r["frame_times"]) == 16 for r in records)

    # Official result files, one per demonstration type (fixture count questions: ids 0, 1, 2 = human, object,
    # simulated; targets C of 6, D of 4, A of 5; numeric options "0", "1", ...). Hand-worked official verdicts:
    #   0: "C"               -> single-letter rule, C: right
    #   1: "It is unclear."  -> no rule, no judge: Random("215:1").choice("ABCD") = "A": wrong, flagged unparseable
    #   2: "A: 0"            -> "<letter>: <option>" rule (a numeric option survives the upper-casing), A: right
    # Official 2/3 = 66.67 with 1 unparseable, and 0.0 for the object demonstration type.
    count = {s.id: s for s in samples("count", data_root)}
    assert [count[i].target for i in "012"] == ["C", "D", "A"] and count["2"].choices[0] == "0"
    answers = (("0", "human", "C"), ("1", "object", "It is unclear."), ("2", "simulated", "A: 0"))
    files = [write_results(tmp_path, f"count+{demo}", [result_line(count[sid], text)]) for sid, demo, text in answers]
    imported = tmp_path / "imported"
    assert main(["import", *map(str, files), "--benchmark", "tomato", "--model", "gpt-4o", "--out", str(imported),
                 "--data-dir", str(data_root)]) == 0
    capsys.readouterr()
    assert main(["score", str(imported), "--json"]) == 0
    (run,) = [o for o in map(json.loads, capsys.readouterr().out.splitlines()) if "task" in o]
    assert run["task"] == "tomato_count" and run["metrics"]["accuracy"] == pytest.approx(200 / 3)
    assert run["unparseable"] == 1 and run["metrics"]["accuracy[demonstration_type=object]"] == 0.0
    record = read_run(next(imported.rglob("tomato_count.jsonl"))).records[1]
    assert record["answer"] == "A" and "seeded random fallback" in record["note"]


@pytest.mark.parametrize(
    ("folder", "edit", "message"),
    [
        ("count", {}, "does not say its task"),
        ("count+human", {"id": "9"}, "has id '9', not in the annotations"),
        ("count+human", {"gt": "A. 2"}, 'has gt "A. 2" where the annotations give "C. 3"'),
    ],
)
def test_import_errors(data_root: Path, tmp_path: Path, folder: str, edit: dict[str, str], message: str) -> None:
    from tempeval.importing import import_runs

    sample = samples("count", data_root)[0]
    path = write_results(tmp_path, folder, [{**result_line(sample, "C"), **edit}])
    with pytest.raises(TempevalError, match=message):
        import_runs("tomato", "m", [path], tmp_path / "out", LoadOptions(data_dir=data_root))


def test_import_refuses_the_same_question_twice(data_root: Path, tmp_path: Path) -> None:
    from tempeval.importing import import_runs

    line = result_line(samples("count", data_root)[0], "C")
    first = write_results(tmp_path, "count+human", [line])
    second = first.parent.parent / "8" / "gpt-4o.jsonl"  # another frame count of the same model
    second.parent.mkdir()
    second.write_text(json.dumps(line) + "\n", encoding="utf-8")
    with pytest.raises(TempevalError, match="import one model and one frame count at a time"):
        import_runs("tomato", "m", [first, second], tmp_path / "out", LoadOptions(data_dir=data_root))
