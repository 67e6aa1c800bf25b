"""VSI-SUPER (Cambrian-S): VSR spatial recall (multiple choice) and VSC counting over 10-240 minute videos.

Scoring follows lmms-eval's ``lmms_eval/tasks/vsisuper/{recall,count}`` (EvolvingLMMs-Lab/lmms-eval @ 75571cfe; the
Cambrian-S repository itself was not available here). Format: the hub test splits ``nyu-visionx/VSI-SUPER-Recall``
(``{video_path: "10mins/00000000.mp4", question, options: ["A. text", ...], answer, type: "10mins"}``) and
``nyu-visionx/VSI-SUPER-Count`` (``{video_path, question, answer (a count), split: "10mins"}``), as records files;
one task per video length (``type``/``split``): recall 10/30/60/120/240 mins, count 10/30/60/120 mins. Sample id:
the record's position in its file. Meta: ``length``, ``video_id``.

Prompts (``doc_to_text``): recall = question, "Options:", the option lines as given, "Answer with the option's
letter from the given choices directly."; count = "These are frames of a video.", question, "Please answer the
question using a single word or phrase." The loader builds the recall question block (option lines as given).

Official scorers:

- :func:`official_recall` (``vsr_utils.process_results``): the FIRST character A-D anywhere in the upper-cased
  response against the same of the answer ("The answer is B" reads A, from "ANSWER"; "Definitely C" reads D); an
  empty response reads "" and is wrong.
- :func:`official_count` (``vsc_utils.process_results``): the first number (``-?\\d+(?:\\.\\d+)?``; none reads 0,
  scored, not flagged) scored by mean relative accuracy, relative error <= 1 - θ for θ =
  ``np.linspace(0.5, 0.95, 10)`` (inclusive, in floating point: 1 - 0.7 is 0.30000000000000004); a target of 0
  is met only by 0.

Strict: recall = tempeval's letter parser; count = ``mra`` (tempeval's number parser, no number is unparseable,
and the usual strict inequality, relative error < 1 - θ, VSI-Bench's definition).

The streaming count variant (``count_streaming``: several counts at several query times in one generation) belongs
to the streaming protocol; nothing is registered for it (it needs a model that answers while the video plays).

Parity (checked outside the repository against lmms-eval @ 75571cfe): recall 365 cases, count 946 cases (targets 0
to 100, fractional ones too); 0 disagreements.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from tempeval.data import convert_records, require, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.loaders.records import read_records
from tempeval.registry import DatasetEntry
from tempeval.scoring.parsers import LETTERS
from tempeval.scoring.scorers import Reference
from tempeval.task import Task
from tempeval.types import Sample, Score, VideoRef

RECALL_LENGTHS: tuple[str, ...] = ("10mins", "30mins", "60mins", "120mins", "240mins")
COUNT_LENGTHS: tuple[str, ...] = ("10mins", "30mins", "60mins", "120mins")
_OPTION = re.compile(r"^([A-Z])\.\s*")
_FIRST_OPTION = re.compile(r"[A-D]")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
OFFICIAL_THRESHOLDS = np.linspace(0.5, 0.95, int((0.95 - 0.5) / 0.05) + 2)
"""``_mean_relative_accuracy``'s thresholds, computed as the official computes them."""


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """The questions of one video length (``subset``); recall or count by the dataset's ``kind`` option.

    Raises:
        TempevalError: an unknown subset, a missing file, or no readable record (a bad one is skipped, warned).
    """
    counting = dataset.options.get("kind") == "count"
    lengths = COUNT_LENGTHS if counting else RECALL_LENGTHS
    if task.subset not in lengths:
        raise TempevalError(
            f"{task.source_file}: task '{task.name}' needs 'subset' set to one of {', '.join(lengths)}; "
            f"got {task.subset!r}."
        )
    relative = str((dataset.options.get("annotations") or ["test.jsonl"])[0])
    path = require(dataset, options, [relative])[relative]
    videos = video_dir(dataset, options)
    length_field = "split" if counting else "type"
    items = [
        (f"record #{i} ({r.get('video_path')!r})", (i, r))
        for i, r in enumerate(read_records(path), start=1)
        if r.get(length_field) == task.subset
    ]
    convert = _count_sample if counting else _recall_sample
    return convert_records(path, items, lambda _, item: convert(path, item[0], item[1], videos, task))


def _common(record: Any, number: int, videos: Path) -> tuple[str, VideoRef, dict[str, Any]]:
    video = str(record["video_path"])
    meta = {"length": str(record.get("type") or record.get("split")), "video_id": video}
    return str(number), VideoRef(str(videos / video)), meta


def _recall_sample(path: Path, number: int, record: Any, videos: Path, task: Task) -> Sample:
    sample_id, video, meta = _common(record, number, videos)
    raw = [str(option) for option in record["options"]]
    choices = []
    for index, option in enumerate(raw):
        found = _OPTION.match(option)
        if not found or found.group(1) != LETTERS[index]:
            raise TempevalError(f"{path}: record #{number} option {option!r} does not start with '{LETTERS[index]}.'")
        choices.append(option[found.end():])
    answer = _FIRST_OPTION.search(str(record["answer"]).upper())
    if answer is None or answer.group() not in LETTERS[: len(choices)]:
        raise TempevalError(f"{path}: record #{number} has answer {record['answer']!r}, not a letter of its options")
    question = str(record["question"]).strip() + "\nOptions:\n" + "\n".join(raw)
    return Sample(id=sample_id, kind=task.kind, question=question, video=video, choices=tuple(choices),
                  target=answer.group(), meta=meta)


def _count_sample(path: Path, number: int, record: Any, videos: Path, task: Task) -> Sample:
    sample_id, video, meta = _common(record, number, videos)
    answer = record["answer"]
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) or answer < 0:
        raise TempevalError(f"{path}: record #{number} has answer {answer!r}, not a count")
    target: int | float = int(answer) if float(answer).is_integer() else float(answer)
    return Sample(id=sample_id, kind=task.kind, question=str(record["question"]).strip(), video=video,
                  target=target, meta=meta)


def official_recall(output: str, reference: Reference) -> Score:
    """``vsr_utils.process_results``: the first A-D anywhere in the upper-cased response and answer."""
    found = _FIRST_OPTION.search(output.upper())
    letter = found.group() if found else ""
    return Score(1.0 if letter == reference.target else 0.0, letter or None, explanation=f"first A-D: {letter!r}")


def official_mra(predicted: float, target: float) -> float:
    """``_mean_relative_accuracy``: relative error <= 1 - θ over the official thresholds."""
    if target == 0.0:
        return 1.0 if predicted == 0.0 else 0.0
    error = abs(predicted - target) / abs(target)
    return float((error <= (1.0 - OFFICIAL_THRESHOLDS)).mean())


def official_count(output: str, reference: Reference) -> Score:
    """``vsc_utils.process_results``: the first number (none reads 0), mean relative accuracy."""
    found = _NUMBER.search(output)
    predicted = float(found.group()) if found else 0.0
    value = official_mra(predicted, float(reference.target))
    return Score(value, predicted, explanation=f"first number {predicted}; MRA {value:.2f}")
