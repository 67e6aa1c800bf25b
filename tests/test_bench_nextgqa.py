"""NExT-GQA and the grounded answer format: the ``letter_window`` parser, the loader, eval_ground.py's metrics
(hand-worked), official (unclipped) against strict (clipped), and the importer of official result pairs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tempeval import registry
from tempeval.benchmarks import grounded_qa, nextgqa
from tempeval.cli import main
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions, load_samples
from tempeval.scoring.metrics import Row
from tempeval.scoring.parsers import gold_text, parse, parse_letter_window
from tempeval.scoring.scorers import Reference, strict
from tempeval.types import Sample
from tests.fixtures import nextgqa as fixture

CHOICES = ("run", "walk", "sit", "jump", "wave")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("nextgqa-data")
    fixture.build(root)
    return root


def samples(split: str, root: Path) -> list[Sample]:
    task = registry.get_task(f"nextgqa_{split}")
    return load_samples(task, registry.get_dataset(task.dataset), LoadOptions(data_dir=root))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("B, 12.0 - 18.5", ("B", (12.0, 18.5))),
        ("(B) 12 to 18.5 s", ("B", (12.0, 18.5))),
        ("b; 1-2", ("B", (1.0, 2.0))),
        ("The answer is C, supported by 3.0 - 7.5 seconds.", ("C", (3.0, 7.5))),
        ("D; the evidence runs from 0:10 to 0:20", ("D", (10.0, 20.0))),
        ("Answer: E. Evidence: starts at 2 and ends at 4", ("E", (2.0, 4.0))),
        ('```json{\n "relevant_span": [3.0, 10.5],\n "answer": "A"\n}```', ("A", (3.0, 10.5))),
        ('{"answer": "(c)", "span": [1, 2]}', ("C", (1.0, 2.0))),
        ("walk, 1.0 - 2.0", ("B", (1.0, 2.0))),  # the option's text, as the letter parser reads it
    ],
)
def test_letter_window_parser_reads(text: str, expected: tuple[str, tuple[float, float]]) -> None:
    parsed = parse("letter_window", text, CHOICES)
    assert parsed.ok and parsed.answer == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty output"),
        ("B", "no evidence window"),
        ("B, at 12 seconds", "no evidence window"),         # one time is no window (no fallback to any two numbers)
        ("1.0 - 2.0", "no option letter"),
        ("A, B, 1 - 2", "several option letters"),
        ("F, 1 - 2", "no option letter"),                    # beyond the five options
        ("B, 18 - 12", "after its end"),                     # reversed: never swapped
        ('{"answer": "F", "relevant_span": [1, 2]}', "not one of the options"),
    ],
)
def test_letter_window_parser_refuses(text: str, reason: str) -> None:
    parsed = parse_letter_window(text, CHOICES)
    assert not parsed.ok and reason in parsed.reason


def test_gold_text_round_trips() -> None:
    target = grounded_qa.make_target("C", [[1.5, 4.0], [6.0, 9.0]])
    assert gold_text(Sample("s", "grounding", "q", choices=CHOICES, target=target), "letter_window") == "C, 1.50 - 4.00"
    assert parse("letter_window", "C, 1.50 - 4.00", CHOICES).answer == ("C", (1.5, 4.0))


def test_loader_keeps_grounded_questions_only(data_root: Path) -> None:
    test = samples("test", data_root)
    # The DC row (qid 6) has no evidence window and is left out, as eval_next.py's eval_ground subset does.
    assert [s.id for s in test] == ["2574374895_8", "3083302557_3", "3083302557_5"]
    first = test[0]
    assert first.target == ["C", [[18.1, 23.9]]] and first.choices[2] == "lay on floor"
    assert first.meta["type"] == "TN" and first.video is not None
    assert first.video.path.endswith("videos/0001/2574374895.mp4")
    assert test[1].target == ["B", [[12.1, 17.1], [20.0, 23.5]]]
    assert len(samples("val", data_root)) == 3


def row(answer: str | None, target: list[object], duration: float | None = None, official: bool = False) -> Row:
    reference = Reference("letter_window", target, CHOICES, duration_s=duration)
    score = (grounded_qa.official if official else strict)(answer or "", reference)
    return Row("s", score.value, score.parsed, answer=score.answer, target=target)


def test_eval_ground_overlaps_hand_worked() -> None:
    two = grounded_qa.make_target("B", [[10.0, 20.0], [30.0, 40.0]])
    # [15, 35] against [10, 20]: IoU 5/25, IoP 5/20; against [30, 40]: IoU 5/30, IoP 5/20: maxima 0.2 and 0.25.
    assert nextgqa.best_overlap(row("B, 15 - 35", two)) == pytest.approx((0.2, 0.25))
    # Inside one window: IoP 1, IoU 4/10.
    assert nextgqa.best_overlap(row("B, 12 - 16", two)) == pytest.approx((0.4, 1.0))
    # A zero-length window inside the evidence: IoU 0, IoP 1 (get_tIoU's first branch); outside: 0, 0.
    assert nextgqa.best_overlap(row("B, 12 - 12", two)) == (0.0, 1.0)
    assert nextgqa.best_overlap(row("B, 25 - 25", two)) == (0.0, 0.0)
    # Disjoint: the negative intersection never beats the 0 the maxima start from.
    assert nextgqa.best_overlap(row("B, 21 - 29", two)) == (0.0, 0.0)
    assert nextgqa.best_overlap(row("no answer", two)) == (0.0, 0.0)


def test_acc_at_gqa_needs_the_answer_and_iop() -> None:
    target = grounded_qa.make_target("B", [[10.0, 20.0]])
    rows = [
        row("B, 12 - 16", target),   # right, IoP 1: counts for Acc@GQA
        row("B, 0 - 40", target),    # right, IoP 0.25: not grounded
        row("A, 12 - 16", target),   # wrong answer, IoP 1
        row("nothing", target),      # unparseable: 0 everywhere, in the denominator
    ]
    metrics = nextgqa.grounded_qa(rows)
    assert metrics["Acc@QA"].value == pytest.approx(50.0) and metrics["Acc@GQA"].value == pytest.approx(25.0)
    assert metrics["mIoP"].value == pytest.approx(100 * (1 + 0.25 + 1) / 4)
    assert metrics["IoP@0.5"].value == pytest.approx(50.0) and metrics["IoP@0.3"].value == pytest.approx(50.0)
    assert metrics["mIoU"].value == pytest.approx(100 * (0.4 + 0.25 + 0.4) / 4)
    assert metrics["IoU@0.3"].value == pytest.approx(50.0) and metrics["IoU@0.5"].value == 0.0


def test_official_does_not_clip_to_the_video_strict_does() -> None:
    target = grounded_qa.make_target("B", [[20.0, 30.0]])
    # A 30-s video, a prediction running to 40 s: official IoU 10/20, strict clips to [20, 30]: IoU 1.
    assert nextgqa.best_overlap(row("B, 20 - 40", target, duration=30.0, official=True))[0] == pytest.approx(0.5)
    assert nextgqa.best_overlap(row("B, 20 - 40", target, duration=30.0))[0] == pytest.approx(1.0)


def write_pair(root: Path, split: str, answers: dict[str, dict[str, int]], spans: dict[str, list[float]]) -> list[Path]:
    res, ground = root / f"{split}-res.json", root / f"{split}_ground_att.json"
    res.write_text(json.dumps(answers), encoding="utf-8")
    ground.write_text(json.dumps(spans), encoding="utf-8")
    return [res, ground]


def test_import_and_score(data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Targets: 2574374895_8 C (index 2), 3083302557_3 B, 3083302557_5 B.
    files = write_pair(
        tmp_path, "test",
        {"2574374895_8": {"answer": 2, "prediction": 2}, "3083302557_3": {"answer": 1, "prediction": 1},
         "3083302557_5": {"answer": 1, "prediction": 0}},
        {"2574374895_8": [18.1, 23.9], "3083302557_3": [0.0, 5.0], "3083302557_5": [30.0, 41.5]},
    )
    out = tmp_path / "imported"
    assert main(["import", *map(str, files), "--benchmark", "nextgqa", "--model", "m", "--out", str(out),
                 "--data-dir", str(data_root)]) == 0
    capsys.readouterr()
    assert main(["score", str(out), "--json"]) == 0
    (run,) = [o for o in map(json.loads, capsys.readouterr().out.splitlines()) if "task" in o]
    # Right and grounded; right but window off the evidence; wrong but grounded: Acc@QA 2/3, Acc@GQA 1/3.
    assert run["metrics"]["Acc@QA"] == pytest.approx(200 / 3) and run["metrics"]["Acc@GQA"] == pytest.approx(100 / 3)
    assert run["metrics"]["mIoP"] == pytest.approx(200 / 3)


def test_import_refuses_disagreeing_answers(data_root: Path, tmp_path: Path) -> None:
    from tempeval.importing import import_runs

    files = write_pair(tmp_path, "test", {"2574374895_8": {"answer": 0, "prediction": 0}}, {})
    with pytest.raises(TempevalError, match="other annotation files"):
        import_runs("nextgqa", "m", files, tmp_path / "out", LoadOptions(data_dir=data_root))
    with pytest.raises(TempevalError, match="come in pairs"):
        import_runs("nextgqa", "m", files[:1], tmp_path / "out", LoadOptions(data_dir=data_root))


def test_malformed_record_is_skipped_with_a_warning(tmp_path: Path) -> None:
    fixture.build(tmp_path)
    path = tmp_path / "nextgqa" / "test.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("thumbs up,3,TC", "high five,3,TC"), encoding="utf-8")
    with pytest.warns(UserWarning, match=r"test\.csv.*qid 3.*not one of its options"):
        assert len(samples("test", tmp_path)) == 2
