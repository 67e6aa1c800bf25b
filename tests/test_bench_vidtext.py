"""VidText: loader (each task's official prompt, the record shapes, minutes:seconds windows), the OCR tokeniser and
F1, local OCR's JSON join, the JSON-only localization scorer, and the inference script's single-option parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from tempeval import registry
from tempeval.benchmarks import vidtext
from tempeval.cli import main
from tempeval.loaders import LoadOptions, load_samples
from tempeval.scoring.scorers import Reference, strict
from tempeval.types import Sample
from tests.fixtures import vidtext as fixture


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("vidtext-data")
    fixture.build(root)
    return root


def samples(subset: str, root: Path) -> list[Sample]:
    task = registry.get_task(f"vidtext_{subset}")
    return load_samples(task, registry.get_dataset(task.dataset), LoadOptions(data_dir=root))


def test_every_registered_task_loads_with_its_official_prompt(data_root: Path) -> None:
    assert set(vidtext.TASKS) == {name.removeprefix("vidtext_") for name in registry.tasks() if
                                  name.startswith("vidtext_")}
    ocr = samples("holistic_ocr", data_root)[0]
    assert ocr.question.startswith("Recognize all visual texts in the video.") and ocr.target.startswith("12岁")
    local = samples("local_ocr", data_root)[0]
    assert local.target == "CHANNEL F SWIMWEAR PALMACEA"
    assert "based on its content.Question: What texts appear between 11 seconds and 13 seconds?Please output" in \
        local.question  # the official joins its sentences without spaces
    tracking = samples("text_tracking", data_root)[0]
    assert "bounding boxes:Option A: start_points=[" in tracking.question and tracking.question.endswith(
        "Which option (A/B/C/D) is correct?")
    assert tracking.video is not None and tracking.video.path.endswith("TextTracking/videos/Cls10_Program_video0.mp4")


def test_multiple_choice_record_shapes(data_root: Path) -> None:
    order, dict_answer, _ = samples("local_reasoning", data_root)
    assert order.target == "B" and order.choices[0] == "['Any homework tonight?', 'Yesterday’s Homework']"
    assert dict_answer.target == "B" and "Option B: Taking photos of elementary school students" in dict_answer.question
    assert dict_answer.question.endswith("\n\nOnly output the correct option.")
    assert [s.target for s in samples("temporal_causal", data_root)] == ["B", "C", "A"]


@pytest.mark.parametrize(
    ("text", "window"),
    [("[0.0s, 30.0s]", (0.0, 30.0)), ("[20:15s, 20:20s]", (1215.0, 1220.0)), ("[00:25s, 00:29s]", (25.0, 29.0))],
)
def test_ground_truth_windows(text: str, window: tuple[float, float]) -> None:
    assert vidtext.gt_window(text) == window


def test_bad_ground_truth_window_is_refused() -> None:
    with pytest.raises(ValueError, match="is not"):
        vidtext.gt_window("0 - 30")
    with pytest.raises(ValueError, match="ends before"):
        vidtext.gt_window("[30.0s, 0.0s]")


def test_tokeniser_and_f1() -> None:
    expected = ["open", "24/7", "caf", "é", "17309/c", "中国达人秀", "!"]
    assert vidtext.tokens("OPEN 24/7 Café 17309/C 中国达人秀!") == expected
    assert vidtext.f1("open open cafe", "OPEN CAFE") == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))
    assert vidtext.f1("", "OPEN") == 0.0 and vidtext.f1("OPEN", "open") == 1.0


def test_local_ocr_json_join() -> None:
    ref = Reference("text", "SALE 50%")
    assert vidtext.local_ocr_official('["SALE", "50%"]', ref).value == 1.0
    # A JSON string is joined character by character officially ("S A L E"); strict reads it as the text.
    assert vidtext.local_ocr_official('"SALE"', ref).answer == "S A L E"
    assert vidtext.local_ocr_strict('"SALE"', ref).answer == '"SALE"'
    assert vidtext.local_ocr_strict('["SALE", "50%"]', ref).value == 1.0
    assert not vidtext.local_ocr_strict("", ref).parsed


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ('{"start": 2.5, "end": 6.6}', 1.0),
        ('{"start": 0.0, "end": 4.55}', pytest.approx(2.05 / 6.6)),
        ('```json\n{"start": 2.5, "end": 6.6}\n```', 0.0),   # json.loads of the whole answer fails
        ("2.5 - 6.6", 0.0),
        ('{"start": 6.6, "end": 2.5}', 0.0),                  # end before start
        ("[2.5, 6.6]", 0.0),                                  # not an object (the official crashed)
        ('{"start": "2.5", "end": 6.6}', 0.0),
        ('{"start": 2.5, "end": 100}', pytest.approx(4.1 / 97.5)),  # no clipping
    ],
)
def test_localization_official(answer: str, value: float) -> None:
    assert vidtext.localization_official(answer, Reference("window", [2.5, 6.6])).value == value


def test_localization_strict_reads_the_json_object_too() -> None:
    assert strict('{"start": 2.5, "end": 6.6}', Reference("window", [2.5, 6.6], duration_s=200.0)).value == 1.0


@pytest.mark.parametrize(
    ("answer", "letter"),
    [
        ("B", "B"), ("Option B", "B"), ("Answer: C", "C"), ("Correct Answer: D", "C"),  # "Correct : D" -> "C"
        ("(B)", "INVALID"), ("Both", "B"), ("b", "INVALID"), ("E", "INVALID"), ("", "INVALID"),
    ],
)
def test_single_option(answer: str, letter: str) -> None:
    assert vidtext.single_option(answer) == letter


def test_single_option_official_scores(data_root: Path) -> None:
    sample = samples("spatial_reasoning", data_root)[0]
    ref = Reference("letter", sample.target, sample.choices)
    assert vidtext.single_option_official("B. Bottom-middle", ref).value == 1.0
    invalid = vidtext.single_option_official("(B)", ref)
    assert invalid.value == 0.0 and invalid.parsed  # wrong, not flagged: the official counts it wrong


SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
ISSUE_17B_DATASETS = ("vlm4d", "mmrv", "vidtext", "vsisuper_recall", "vsisuper_count", "nextgqa", "rextime")


@pytest.mark.parametrize("name", ISSUE_17B_DATASETS)
def test_data_where_lists_every_file(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entry = registry.get_dataset(name)
    assert entry.license and entry.revision
    capsys.readouterr()
    assert main(["data", "where", name, "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert all(f"MISSING  {tmp_path / name / str(f)}" in out for f in entry.options["annotations"])


@pytest.mark.parametrize(
    ("prefix", "counts"),
    [("vidtext_", vidtext.PAPER_COUNTS), ("vlm4d_", {"real": 1371, "synthetic": 445}),
     ("nextgqa_", {"val": 3358, "test": 5553})],
)
def test_paper_counts_on_the_real_files(prefix: str, counts: dict[str, int]) -> None:
    # The real annotation files, read in place from <SHARED>/<dataset>/ (as the registry lays them out).
    dataset = prefix.rstrip("_")
    if not (SHARED / dataset).is_dir():
        pytest.skip(f"the real {dataset} annotations are not in {SHARED / dataset}")
    task_counts = {}
    for subset in counts:
        task = registry.get_task(prefix + subset)
        task_counts[subset] = len(load_samples(task, registry.get_dataset(task.dataset), LoadOptions(data_dir=SHARED)))
    assert task_counts == counts


def test_holistic_reasoning(data_root: Path) -> None:
    first = samples("holistic_reasoning", data_root)[0]
    assert first.target == ["A", "B", "D"] and len(first.choices) == 6
    assert first.question.endswith("F: The background music is instrumental with no lyrics.\n\nPlease output your "
                                   "answer in the format: `Correct Answers: A, B, C`\nDo not provide any additional "
                                   "explanations.")
    ref = Reference("letters", first.target, first.choices)
    assert strict("Correct Answers: A, B, D", ref).value == 1.0
    assert strict("D, B and A", ref).value == 1.0 and strict("A, B", ref).value == 0.0
    assert not strict("I think A and B", ref).parsed
    # Officially the label itself adds C and A: the asked-for format reads {A, B, C, D} here, wrong.
    assert vidtext.multi_options_official("Correct Answers: A, B, D", ref).value == 0.0
    assert vidtext.multi_options_official("A, B, D", ref).value == 1.0
    assert vidtext.multi_options_official("abd", ref).value == 1.0  # any A-D anywhere, upper-cased
    # Options E-G are never read: a truth with E is matched without it.
    with_e = Reference("letters", ["A", "B", "E"], first.choices)
    assert vidtext.multi_options_official("A, B", with_e).value == 1.0
    assert vidtext.multi_options_official("A, B, E", with_e).value == 1.0
