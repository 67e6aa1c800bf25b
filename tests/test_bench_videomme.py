"""Video-MME: loader (both subtitle settings), the official extractor with its two quirks, the official denominator,
the strict full denominator, the parquet and JSON Lines forms, and the importer of official results files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tempeval.benchmarks import videomme
from tempeval.cli import main
from tempeval.data import DataMissingError
from tempeval.scoring.metrics import Row
from tempeval.scoring.scorers import Reference, strict
from tempeval.types import Sample
from tests.conftest import samples_of
from tests.fixtures import videomme as fixture
from tests.test_bench_vinoground import score_json

CHOICES = ("Black.", "Gray.", "Green.", "Brown.")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("videomme-data")
    fixture.build(root)
    return root


def test_loader_both_settings(data_dir: Path) -> None:
    plain, subtitled = samples_of("videomme_wo_subtitle", data_dir), samples_of("videomme_w_subtitle", data_dir)
    assert len(plain) == len(subtitled) == 9 and [s.id for s in plain] == [s.id for s in subtitled]
    first = plain[0]
    assert first.choices == ("Apples.", "Candles.", "Berries.", "The three kinds are of the same number.")
    assert first.question.endswith("\nA. Apples.\nB. Candles.\nC. Berries.\nD. The three kinds are of the same number.")
    assert first.target == "C" and first.context is None and first.video is not None
    assert first.video.path.endswith("videomme/data/fFjv93ACGo8.mp4") and Path(first.video.path).is_file()
    assert first.meta == {"duration": "short", "domain": "Knowledge", "sub_category": "Humanity & History",
                          "task_type": "Counting Problem", "video_id": "001"}
    assert subtitled[0].context == "Hello and welcome.\nToday we bake bread."
    assert subtitled[-1].context == videomme.NO_SUBTITLES  # the long video has no .srt
    assert sorted({s.meta["duration"] for s in plain}) == sorted(videomme.DURATIONS)


# Hand-worked from eval_your_results.extract_characters_regex (prefixes deleted, first [ABCD], >10 words and none: "").
@pytest.mark.parametrize(
    ("response", "letter"),
    [
        ("C", "C"),
        ("(c)", ""),                                    # lower case is not read
        ("The best answer is D.", "D"),
        ("The best option is C", "C"),                  # never deleted, but "The best option is" has no A-D capital
        ("Best answer: C", "B"),                        # quirk: "Best answer:" is never deleted; "Best" gives B
        ("Best option: D", "B"),                        # likewise
        ("Dogs are shown; the answer is A", "D"),       # the first capital A-D anywhere
        ("A dog. The answer is C.", "A"),               # the article "A"
        ("", ""),
        ("I think the person in the video wears clothes that are mostly grey in colour", ""),  # >10 words, no A-D
        ("I think the person in the video wears clothes that are mostly grey, so B", "B"),
        ("E", ""),
    ],
)
def test_official_extractor(response: str, letter: str) -> None:
    assert videomme.extract_letter(response, "ABCD", videomme.OFFICIAL_PREFIXES) == letter
    score = videomme.official(response, Reference("letter", "B", CHOICES))
    assert (score.answer, score.parsed, score.value) == (letter, bool(letter), float(letter == "B"))


def test_missing_commas_change_the_answer() -> None:
    # With the commas the list would delete "Best answer:" and read C; the official list reads B.
    assert videomme.extract_letter("Best answer: C", "ABCD", videomme.FIXED_PREFIXES) == "C"
    assert len(videomme.OFFICIAL_PREFIXES) == 6 and "Best answer:Best option:" in videomme.OFFICIAL_PREFIXES


def test_official_denominator_drops_unanswered_strict_keeps_all() -> None:
    # 4 questions: right, wrong, no letter (official: dropped), a failed request (an error: kept, as 0).
    official_rows = [Row("1", 1.0), Row("2", 0.0), Row("3", 0.0, parsed=False, answer=""),
                     Row("4", 0.0, parsed=False, error=True)]
    assert videomme.answered_accuracy(official_rows)["answered_accuracy"].value == pytest.approx(100 / 3)
    strict_rows = [*official_rows[:2], Row("3", 0.0, parsed=False, answer=None), official_rows[3]]
    assert videomme.answered_accuracy(strict_rows)["answered_accuracy"].value == pytest.approx(25.0)
    by = videomme.answered_accuracy(
        [Row("1", 1.0, meta={"duration": "short"}), Row("2", 0.0, parsed=False, answer="", meta={"duration": "long"})],
        "duration",
    )
    assert set(by) == {"answered_accuracy", "answered_accuracy[duration=short]"}


def test_strict_reads_what_official_drops() -> None:
    reference = Reference("letter", "B", CHOICES)
    assert strict("The answer is (B) Gray.", reference).value == 1.0
    assert videomme.official("the answer is b, gray", reference).parsed is False
    assert strict("the answer is b, gray", reference).value == 1.0  # strict reads "answer is b"; it stays counted


def write_results(path: Path, samples: list[Sample], responses: dict[str, str]) -> None:
    """An official results file (eval_your_results.py's schema) for the fixture's questions."""
    videos: dict[str, dict[str, object]] = {}
    for sample in samples:
        video = videos.setdefault(sample.meta["video_id"], {
            "video_id": sample.meta["video_id"], "duration_category": sample.meta["duration"],
            "video_category": sample.meta["domain"], "video_subcategory": sample.meta["sub_category"],
            "questions": []})
        video["questions"].append({  # type: ignore[union-attr]
            "question_id": sample.id, "task_type": sample.meta["task_type"], "answer": sample.target,
            "response": responses.get(sample.id, sample.target)})
    path.write_text(json.dumps(list(videos.values())), encoding="utf-8")


def test_import_official_results(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    samples = samples_of("videomme_wo_subtitle", data_dir)
    # 9 questions: 6 right letters, one wrong, one verbose with no letter, one "Best answer: <target>" (official B).
    responses = {samples[2].id: "I cannot tell from these frames what the right option would be, sorry about that",
                 samples[1].id: "A" if samples[1].target != "A" else "B",
                 samples[0].id: f"Best answer: {samples[0].target}"}
    assert samples[0].target != "B"
    write_results(tmp_path / "model_wo_subtitle.json", samples, responses)
    write_results(tmp_path / "model_w_subtitle.json", samples, {})
    runs = tmp_path / "runs"
    argv = ["import", str(tmp_path / "model_wo_subtitle.json"), str(tmp_path / "model_w_subtitle.json"),
            "--benchmark", "videomme", "--model", "m", "--out", str(runs), "--data-dir", str(data_dir)]
    assert main(argv) == 0
    official = score_json(runs, capsys, "--parser-mode", "official")
    plain = official["videomme_wo_subtitle"]["metrics"]
    assert plain["answered_accuracy"] == pytest.approx(100 * 6 / 8) and plain["accuracy"] == pytest.approx(100 * 6 / 9)
    assert official["videomme_w_subtitle"]["metrics"]["answered_accuracy"] == 100.0
    strict_scores = score_json(runs, capsys, "--parser-mode", "strict")["videomme_wo_subtitle"]["metrics"]
    assert strict_scores["answered_accuracy"] == strict_scores["accuracy"] == pytest.approx(100 * 7 / 9)


def test_import_rejects_other_annotations(data_dir: Path, tmp_path: Path) -> None:
    samples = samples_of("videomme_wo_subtitle", data_dir)
    path = tmp_path / "results.json"
    write_results(path, samples, {})
    videos = json.loads(path.read_text())
    videos[0]["questions"][0]["answer"] = "D" if samples[0].target != "D" else "A"
    path.write_text(json.dumps(videos))
    with pytest.raises(Exception, match="other annotations"):
        videomme.import_predictions([path], lambda name: samples_of(name, data_dir))


def test_parquet_and_missing_data(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DataMissingError, match="as JSON Lines"):
        samples_of("videomme_wo_subtitle", tmp_path)
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow", reason="writing the hub's parquet needs pyarrow")
    target = tmp_path / "videomme" / videomme.ANNOTATIONS
    target.parent.mkdir(parents=True)
    pd.DataFrame(fixture.rows()).to_parquet(target)
    def essentials(root: Path) -> list[tuple[object, ...]]:
        return [(s.id, s.question, s.choices, s.target, dict(s.meta)) for s in samples_of("videomme_wo_subtitle", root)]

    assert essentials(tmp_path) == essentials(data_dir)


def test_a_malformed_row_is_skipped_naming_file_and_row(tmp_path: Path) -> None:
    fixture.build(tmp_path)
    path = tmp_path / "videomme" / Path(videomme.ANNOTATIONS).with_suffix(".jsonl")
    rows = fixture.rows()
    rows[1]["options"] = ["Apples.", "B. Candles.", "C. Berries.", "D. Same."]  # the "A. " prefix is missing
    rows[2]["answer"] = ""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.warns(UserWarning) as caught:
        loaded = samples_of("videomme_wo_subtitle", tmp_path)
    assert len(loaded) == 7
    messages = [str(w.message) for w in caught]
    assert any(str(path) in m and "row 2 (question_id '001-2')" in m and "does not start with 'A. '" in m
               for m in messages)
    assert any("row 3 (question_id '001-3')" in m and "answer ''" in m for m in messages)
