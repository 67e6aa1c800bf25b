"""Video-MME (BradyFU/Video-MME, CVPR 2025): loader, the official extractor and denominator, importer.

Data (hub ``lmms-lab/Video-MME``): ``videomme/test-00000-of-00001.parquet``, 2,700 rows ``{video_id, duration
(short/medium/long), domain, sub_category, url, videoID, question_id, task_type, question, options ("A. ..."),
answer (letter)}`` = 900 videos x 3 questions, 300 videos per duration. Reading the parquet needs pyarrow; the same
rows as JSON Lines (``test-00000-of-00001.jsonl``, e.g. ``datasets``' ``to_json``) are read instead when only they
are there. Videos ``data/<videoID>.mp4`` (``videos_chunked_*.zip``); subtitles ``subtitle/<videoID>.srt``
(``subtitle.zip``; 744 of the 900 videos have one, every long video does).

Two tasks, never mixed: ``videomme_wo_subtitle`` and ``videomme_w_subtitle`` (the subtitle text reaches the prompt
as ``Sample.context``: the text of every subtitle cue in order; a video without one says "No subtitles available",
as lmms-eval does). Known difference: the README asks for only the subtitles at the sampled frames' times; the
harness builds the prompt before frames are chosen, so tempeval gives the whole subtitle text (lmms-eval's
``gemini_api`` "full subtitle" mode). The prompt is the README's, options verbatim ("A. Black.").

Official scorer (``evaluation/eval_your_results.py`` @ 4e7566d3, deleted from the repository at 49a2e67 and now
linked from ``thanku-all/parse_answer``), reproduced in :func:`official` and :func:`answered_accuracy`:

1. ``extract_characters_regex``: strip; delete every occurrence of each answer prefix (``str.replace``); if more
   than 10 words remain and no A-D capital, nothing; else the *first* capital A, B, C or D anywhere ("Dogs are
   ..." gives "D"; the article "A" counts).
2. Quirk: the prefix list is missing two commas, so Python joins ``"The best option is" "The correct option is"``
   and ``"Best answer:" "Best option:"`` into two strings that never occur: those four prefixes are never deleted,
   so their words count towards the 10-word rule and the capital B of "Best" is read as the answer: "Best answer:
   C" and "Best option: D" both give B.
3. Quirk: a question whose extraction is empty is *dropped from the denominator* (``answered`` counts only
   non-empty extractions), per task type, domain, sub-category and duration alike.

Here the official scorer marks an empty extraction ``answer=""`` (unparseable), and the metric
``videomme.answered_accuracy`` leaves exactly those rows out: under ``--parser-mode official`` it is the official
number; in strict mode nothing is marked so, and it equals ``accuracy``. ``accuracy`` always keeps all 2,700.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempeval.data import DataMissingError, convert_records, dataset_dir, read_results_json, require, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.loaders.records import read_records
from tempeval.registry import DatasetEntry
from tempeval.scoring.metrics import MetricValue, Row, Unit, ratio
from tempeval.scoring.parsers import LETTERS
from tempeval.scoring.scorers import Reference
from tempeval.task import Task
from tempeval.types import Sample, Score, VideoRef

if TYPE_CHECKING:  # pragma: no cover - typing only
    from tempeval.importing import SamplesOf

ANNOTATIONS = "videomme/test-00000-of-00001.parquet"
DURATIONS = ("short", "medium", "long")
SUBSETS = ("wo_subtitle", "w_subtitle")
NO_SUBTITLES = "No subtitles available"

OFFICIAL_PREFIXES: tuple[str, ...] = (
    "The best answer is",
    "The correct answer is",
    "The answer is",
    "The answer",
    "The best option is" "The correct option is",  # noqa: ISC001 - the official missing comma, kept on purpose
    "Best answer:" "Best option:",  # noqa: ISC001 - likewise
)
"""The official ``answer_prefixes`` as Python reads them: six strings, two of them joined by missing commas."""

FIXED_PREFIXES: tuple[str, ...] = (
    "The best answer is", "The correct answer is", "The answer is", "The answer", "The best option is",
    "The correct option is", "Best answer:", "Best option:",
)
"""The list with its commas (lmms-eval's copies for LongVideoBench, TimeScope and others)."""


def extract_letter(response: str, letters: str, prefixes: Sequence[str]) -> str:
    """``extract_characters_regex``: prefixes deleted, then the first of ``letters`` anywhere; "" when none, or when
    more than 10 words remain and none of ``letters`` occurs."""
    text = response.strip()
    for prefix in prefixes:
        text = text.replace(prefix, "")
    pattern = f"[{letters}]"
    if len(text.split()) > 10 and not re.search(pattern, text):
        return ""
    match = re.search(pattern, text)
    return match[0] if match else ""


def official(output: str, reference: Reference) -> Score:
    """Score as ``eval_your_results.py``: the first A-D after the prefixes; "" (dropped officially) otherwise."""
    letter = extract_letter(output, "ABCD", OFFICIAL_PREFIXES)
    if not letter:
        return Score(0.0, "", parsed=False, explanation="no A-D letter: left out of the official denominator")
    return Score(1.0 if letter == reference.target else 0.0, letter, explanation=f"first A-D letter: {letter}")


def dropped(row: Row) -> bool:
    """A question the official script leaves out of its denominator (empty extraction; errors stay in)."""
    return not row.error and not row.parsed and row.answer == ""


def answered_accuracy(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """Accuracy over the questions the official extractor answered; with ``by``, also per value of that key."""
    kept = [row for row in rows if not dropped(row)]
    out = {"answered_accuracy": ratio([Unit(r.cluster, r.value) for r in kept])}
    if by:
        groups: dict[str, list[Row]] = {}
        for row in kept:
            groups.setdefault(str(row.meta.get(by)), []).append(row)
        for value in sorted(groups):
            out[f"answered_accuracy[{by}={value}]"] = ratio([Unit(r.cluster, r.value) for r in groups[value]])
    return out


def hub_records(dataset: DatasetEntry, options: LoadOptions, relative: str) -> tuple[Path, list[Mapping[str, Any]]]:
    """The rows of a hub parquet file, or of its JSON Lines twin (same stem, ``.jsonl``) when only that is there."""
    folder = dataset_dir(dataset, options)
    twin = Path(relative).with_suffix(".jsonl").as_posix()
    if not (folder / relative).is_file() and (folder / twin).is_file():
        relative = twin
    try:
        path = require(dataset, options, [relative])[relative]
    except DataMissingError as exc:
        raise DataMissingError(f"{exc}\n(The same rows as JSON Lines, {folder / twin}, are read too.)") from exc
    return path, read_records(path)


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """The 2,700 questions (``subset`` ``wo_subtitle`` or ``w_subtitle``)."""
    if task.subset not in SUBSETS:
        raise TempevalError(f"{task.source_file}: task '{task.name}' needs subset one of {', '.join(SUBSETS)}.")
    path, records = hub_records(dataset, options, ANNOTATIONS)
    videos = video_dir(dataset, options)
    subtitles = dataset_dir(dataset, options) / str(dataset.options.get("subtitles", "subtitle"))
    with_subtitles = task.subset == "w_subtitle"
    cache: dict[str, str] = {}

    def convert(label: str, record: Mapping[str, Any]) -> Sample:
        context = None
        if with_subtitles:
            name = str(record["videoID"])
            if name not in cache:
                cache[name] = subtitle_text(subtitles / f"{name}.srt")
            context = cache[name]
        return _sample(record, task, videos, context)

    items = ((f"row {i + 1} (question_id {r.get('question_id')!r})", r) for i, r in enumerate(records))
    return convert_records(path, items, convert)


def _sample(record: Mapping[str, Any], task: Task, videos: Path, context: str | None) -> Sample:
    options = [str(option) for option in record["options"]]
    choices = tuple(_option_text(option, index) for index, option in enumerate(options))
    answer = str(record["answer"]).strip()
    if answer not in list(LETTERS[: len(choices)]):
        raise ValueError(f"answer {answer!r} is not a letter of its {len(choices)} options")
    if record["duration"] not in DURATIONS:
        raise ValueError(f"duration {record['duration']!r} is not one of {', '.join(DURATIONS)}")
    return Sample(
        id=str(record["question_id"]),
        kind=task.kind,
        question="\n".join([str(record["question"]), *options]),
        video=VideoRef(str(videos / f"{record['videoID']}.mp4")),
        choices=choices,
        target=answer,
        context=context,
        meta={"duration": record["duration"], "domain": record["domain"], "sub_category": record["sub_category"],
              "task_type": record["task_type"], "video_id": str(record["video_id"])},
    )


def _option_text(option: str, index: int) -> str:
    prefix = f"{LETTERS[index]}. "
    if not option.startswith(prefix):
        raise ValueError(f"option {index + 1} {option!r} does not start with {prefix!r}")
    return option[len(prefix):]


_SRT_TIMING = re.compile(r"^\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->")


def subtitle_text(path: Path) -> str:
    """The cue texts of an ``.srt`` file in order, one per line (cue numbers and timings dropped)."""
    if not path.is_file():
        return NO_SUBTITLES
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TempevalError(f"{path}: not UTF-8 text ({exc}). Re-extract subtitle.zip.") from exc
    lines: list[str] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        cue = [line for line in block.strip().split("\n") if line.strip()]
        if len(cue) >= 2 and cue[0].strip().isdigit() and _SRT_TIMING.match(cue[1].strip()):
            cue = cue[2:]
        lines.extend(line.strip() for line in cue if not _SRT_TIMING.match(line.strip()))
    return "\n".join(lines) if lines else NO_SUBTITLES


def import_predictions(paths: Sequence[Path], samples_of: SamplesOf) -> dict[str, dict[str, str | None]]:
    """Official results files (the schema ``eval_your_results.py`` reads): a JSON list of videos, each with
    ``questions: [{question_id, answer, response, ...}]``. A file whose name says ``w_subtitle`` (or
    ``with_subtitle``) goes to ``videomme_w_subtitle``, any other to ``videomme_wo_subtitle``.

    Raises:
        TempevalError: not that schema, an unknown question id, an answer that disagrees with the annotations, or a
            question given twice.
    """
    imported: dict[str, dict[str, str | None]] = {}
    for path in paths:
        stem = path.stem.lower()
        subtitled = ("w_subtitle" in stem and "wo_subtitle" not in stem) or "with_subtitle" in stem
        name = "videomme_w_subtitle" if subtitled else "videomme_wo_subtitle"
        samples = {sample.id: sample for sample in samples_of(name)}
        outputs = imported.setdefault(name, {})
        for question in _questions(path):
            qid = str(question.get("question_id"))
            sample = samples.get(qid)
            where = f"{path}: question {qid!r}"
            if sample is None:
                raise TempevalError(f"{where} is not in the annotations ({len(samples)} questions).")
            if "answer" in question and str(question["answer"]).strip() != sample.target:
                raise TempevalError(
                    f"{where} has answer {question['answer']!r} where the annotations give {sample.target!r}: the "
                    "results were made from other annotations (re-annotated on 2024-06-15?)."
                )
            if qid in outputs:
                raise TempevalError(f"{where} occurs twice; import one model's results at a time.")
            if not isinstance(question.get("response"), str):
                raise TempevalError(f"{where} has no text 'response' (the official results schema).")
            outputs[qid] = question["response"]
    return imported


def _questions(path: Path) -> list[Mapping[str, Any]]:
    videos = read_results_json(path)
    if not isinstance(videos, list) or not all(isinstance(v, dict) and isinstance(v.get("questions"), list)
                                                for v in videos):
        raise TempevalError(
            f"{path}: expected the official results schema: a JSON list of videos, each with a 'questions' list "
            "(see evaluation/output_test_template.json in BradyFU/Video-MME)."
        )
    return [question for video in videos for question in video["questions"]]
