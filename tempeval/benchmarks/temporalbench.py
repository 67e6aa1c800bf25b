"""TemporalBench (mu-cai/TemporalBench, arXiv 2410.10818): binary caption questions, scored per video.

Records (``temporalbench_{short,long}_qa.json``, a JSON list): ``idx``, ``video_name`` (a path relative to the hub
repository root), ``question`` (the stem, two lettered options ``A. ...``/``B. ...`` on their own lines and the
answer instruction: the official prompt, sent verbatim), ``GT`` (the letter), ``dataset`` (the source dataset) and,
for short QA, ``category`` (the kind of negative caption).

Official scoring (``get_qa_acc.py``; the same logic in lmms-eval):

- a response is right iff ``GT.lower() == response[0].lower()``: only the FIRST CHARACTER counts, so "Because A
  ..." is read as "B" and " A" (leading space) is wrong. An empty response raises IndexError in the official script;
  here it is unparseable (scores 0, stays in the denominator, counted in the parse-failure rate).
- a ``response`` written as a list (Qwen scripts do) is indexed, not sliced: ``response[0]`` is then its first
  ELEMENT, compared whole with GT, so ``["A"]`` is right and ``["A. The man ..."]`` wrong (an empty list raises
  IndexError). ``tempeval import`` keeps such a response as the JSON of the list, reproduces that, and warns: lists
  are not the official form (a string is). Any output that is a JSON list of strings is read this way.
- Binary Accuracy (BA) is micro over questions; Multiple Binary Accuracy (MBA) is the share of videos
  (``video_name``) all of whose questions are right. Per-dataset and per-category MBA group by video *within* the
  dataset/category, so a video counts once in every category it has questions in.
- The script's denominator is the prediction file's lines; ``tempeval import`` records a question with no
  prediction as an error (scored 0, kept), so an incomplete file scores lower here than officially.

Strict mode (tempeval's letter parser) reads the answer letter wherever it is unambiguous and flags the rest as
unparseable, instead of trusting the first character.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tempeval.data import convert_records, read_json, require, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring.metrics import MetricValue, Row, all_correct
from tempeval.scoring.parsers import LETTERS
from tempeval.scoring.scorers import Reference
from tempeval.task import Task
from tempeval.types import Sample, Score, VideoRef

SUBSETS = ("short", "long")
TASKS = {subset: f"temporalbench_{subset}" for subset in SUBSETS}
"""Subset -> task name (the importer maps prediction files onto these)."""
_OPTION_LINE = re.compile(r"^\s*([A-Z])[.)]\s+(.*\S)\s*$")


def annotation_file(subset: str) -> str:
    """The QA file of a subset (``short`` or ``long``), as named in the hub repository."""
    return f"temporalbench_{subset}_qa.json"


def option_texts(question: str) -> tuple[str, ...]:
    """The lettered options of an official question text ("A. ..." then "B. ...", one per line), in order."""
    options: list[str] = []
    for line in question.splitlines():
        match = _OPTION_LINE.match(line)
        if match and len(options) < len(LETTERS) and match.group(1) == LETTERS[len(options)]:
            options.append(match.group(2))
    return tuple(options)


def lettered_choices(question: str, gt: Any, where: str) -> tuple[str, ...]:
    """The options of a two-or-more-way lettered question whose answer is ``gt``; a clear error otherwise.

    Args:
        question: The official question text.
        gt: The record's ground-truth letter.
        where: "file, record" for the error message.
    """
    choices = option_texts(question)
    if len(choices) < 2:
        raise TempevalError(
            f"{where}: the question has {len(choices)} lettered option line(s); expected 'A. ...' and 'B. ...' on "
            "lines of their own. The file is not in the official format: re-download it."
        )
    if not isinstance(gt, str) or gt.upper() not in tuple(LETTERS[: len(choices)]):
        raise TempevalError(
            f"{where}: GT {gt!r} is not one of the option letters {', '.join(LETTERS[: len(choices)])}. "
            "Re-download the file."
        )
    return choices


def _field(record: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in record or record[key] in (None, ""):
        raise TempevalError(
            f"{where}: the record has no '{key}' (the official scorer reads 'video_name', 'question', 'GT' and "
            "'dataset', not the README's 'source_dataset'). Re-download the file from the hub."
        )
    return record[key]


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """The binary questions of the task's subset (``short`` or ``long``), in file order; reads no video."""
    if task.subset not in SUBSETS:
        raise TempevalError(f"{task.source_file}: a TemporalBench task needs 'subset' (one of {', '.join(SUBSETS)}).")
    name = annotation_file(task.subset)
    path = require(dataset, options, [name])[name]
    records = read_json(path)
    if not isinstance(records, list):
        raise TempevalError(f"{path}: expected a JSON list of question records. Re-download the file.")
    root = video_dir(dataset, options)

    def convert(label: str, record: Any) -> Sample:
        if not isinstance(record, dict):
            raise TempevalError(f"{path}, {label}: expected a JSON object. Re-download the file.")
        where = f"{path}, {label} (idx {record.get('idx')!r})"
        idx, video_name, question, gt = (_field(record, key, where) for key in ("idx", "video_name", "question", "GT"))
        meta = {"video_id": str(video_name), "video_name": str(video_name),
                "dataset": str(_field(record, "dataset", where))}
        if record.get("category"):
            meta["category"] = str(record["category"])
        return Sample(
            id=str(idx),
            kind="multiple_choice",
            question=str(question),
            video=VideoRef(str(root / str(video_name))),
            choices=lettered_choices(str(question), gt, where),
            target=str(gt).upper(),
            meta=meta,
        )

    # A malformed record is skipped with a warning naming it; the others load.
    samples = convert_records(path, ((f"record {i}", r) for i, r in enumerate(records)), convert)
    if len({s.id for s in samples}) != len(samples):
        raise TempevalError(f"{path}: some idx values repeat; each question must appear once. Re-download the file.")
    return samples


def first_character(output: str, reference: Reference) -> Score:
    """Official rule: right iff the response's first character equals the GT letter (case-insensitive).

    The response is not stripped ("Because A" reads as "B"; " A" is wrong). An empty response, an IndexError in the
    official script, is unparseable here.
    """
    if not output:
        return Score(0.0, None, parsed=False, explanation="empty response (the official script raises IndexError)")
    target = str(reference.target)
    listed = listed_response(output)
    if listed is not None:  # response[0] of a list is its first element, compared whole
        if not listed:
            return Score(0.0, None, parsed=False, explanation="empty list (the official script raises IndexError)")
        correct = listed[0].lower() == target.lower()
        return Score(1.0 if correct else 0.0, listed[0].upper() if correct else listed[0],
                     explanation=f"list response: first element {listed[0]!r} compared whole")
    # output[:len(target)] mirrors Vinoground's response[0][:len(GT)]; for a one-letter GT both are the first char.
    correct = output[: len(target)].lower() == target.lower()
    return Score(1.0 if correct else 0.0, output[0].upper(), explanation=f"first character {output[0]!r}")


def listed_response(output: str) -> list[str] | None:
    """The strings of an output that is a JSON list of strings (an imported list response), else None."""
    if not output.startswith("["):
        return None
    try:
        value = json.loads(output)
    except ValueError:
        return None
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def breakdown_all_correct(rows: Sequence[Row], by: str | None, unit: str, name: str) -> dict[str, MetricValue]:
    """For each value of the meta key ``by``: the share of ``unit`` groups (videos, pairs) all of whose rows are right.

    A list-valued key puts the row under each of its values. Outputs are named ``name[by=value]``.
    """
    if not by:
        raise ValueError(f"Metric '{name}' breakdown needs a grouping key ('by:' in the task file).")
    members: dict[str, list[Row]] = {}
    for row in rows:
        value = row.meta.get(by)
        if value is None:
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            members.setdefault(str(item), []).append(row)
    return {
        f"{name}[{by}={value}]": all_correct(group, name, unit)[name] for value, group in sorted(members.items())
    }


def multiple_binary_accuracy_by(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """MBA within each value of ``by`` (``dataset``, ``category``): videos grouped inside that value only."""
    return breakdown_all_correct(rows, by, "video_name", "multiple_binary_accuracy")


def _read_prediction_lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TempevalError(f"{path}: cannot read the prediction file ({exc}).") from exc
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise TempevalError(f"{path}: line {number} is not valid JSON ({exc}).") from exc
        if not isinstance(item, dict) or "idx" not in item or "response" not in item:
            raise TempevalError(
                f"{path}: line {number} is not an official prediction line {{\"idx\": ..., \"response\": ...}}."
            )
        out.append((number, item))
    return out


def response_text(response: Any) -> str:
    """An official ``response`` as text: a string, or the first string of a list (Qwen scripts write lists)."""
    if isinstance(response, list):
        return str(response[0]) if response else ""
    return "" if response is None else str(response)


def read_responses(path: Path) -> dict[str, Any]:
    """``idx -> response`` as written (string or list) from an official JSON-lines file; a repeated idx is an error."""
    predictions: dict[str, Any] = {}
    for number, item in _read_prediction_lines(path):
        idx = str(item["idx"])
        if idx in predictions:
            raise TempevalError(f"{path}: line {number} repeats idx {idx!r}; keep one prediction per question.")
        predictions[idx] = item["response"]
    return predictions


def read_predictions(path: Path) -> dict[str, str]:
    """``idx -> response`` text (:func:`response_text`) from an official JSON-lines prediction file."""
    return {idx: response_text(response) for idx, response in read_responses(path).items()}


def import_predictions(
    paths: Sequence[Path], samples_of: Callable[[str], list[Sample]]
) -> dict[str, dict[str, str | None]]:
    """Official ``outputs/temporalbench_{short,long}_qa/<model>.jsonl`` files -> ``{task: {idx: response}}``.

    Each line's ``idx`` decides its task (short or long); an idx in neither is an error naming the file. A list
    response is kept as its JSON, which the official scorer reads as the script does, with a warning.
    """
    ids = {task: {s.id for s in samples_of(task)} for task in _tasks_named(paths)}
    out: dict[str, dict[str, str | None]] = {}
    for path in paths:
        responses = read_responses(path)
        lists = [idx for idx, response in responses.items() if isinstance(response, list)]
        if lists:
            warnings.warn(
                f"{path}: {len(lists)} response(s) are lists (first: idx {lists[0]!r}); the official form is a string. "
                "get_qa_acc.py then compares the list's first element whole with GT (['A'] right, ['A. ...'] wrong), "
                "and official mode reproduces that; write each response as a string to score its first character.",
                stacklevel=2,
            )
        for idx, raw in responses.items():
            response = json.dumps([str(v) for v in raw]) if isinstance(raw, list) else response_text(raw)
            task = next((name for name, known in ids.items() if idx in known), None)
            if task is None:
                raise TempevalError(
                    f"{path}: idx {idx!r} is not a question of {' or '.join(ids)}. Is this a TemporalBench QA "
                    "prediction file, and are the annotations the ones it was made with?"
                )
            if idx in out.get(task, {}):
                raise TempevalError(f"{path}: idx {idx!r} was already predicted in another file.")
            out.setdefault(task, {})[idx] = response
    return out


def _tasks_named(paths: Sequence[Path]) -> list[str]:
    """The tasks whose predictions the files may hold: the subset named in the path where it is, else both."""
    named = {task for subset, task in TASKS.items() for path in paths if f"temporalbench_{subset}" in str(path)}
    return sorted(named) if named else sorted(TASKS.values())
