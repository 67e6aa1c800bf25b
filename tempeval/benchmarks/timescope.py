"""TimeScope (Apollo-LMMs/TimeScope, 2025): short needles in 1 min - 8 h videos; loader and the official scorer.

Rows (as lmms-eval ``timescope`` @ 75571cfe reads them): ``{id, video, input, answer, type, length}``: ``input`` is
the whole question text with its lettered options (sent verbatim, then "Answer with the option's letter from the
given choices directly."), ``answer`` the letter, ``type`` the task (``QA`` localized retrieval, ``OCR``,
``temporal`` fine-grained motion), ``length`` the video length in seconds. The options are read back from the
``input`` lines ``A. text`` (or ``(A) text``/``A) text``) so strict mode knows the valid letters. The annotation file
name on the hub was not verified (``test.jsonl`` in tasks/datasets.yaml; a ``.json`` list or ``.parquet`` is read
the same way via the records reader).

Official scorer (lmms-eval ``timescope/utils.py``), reproduced in :func:`official`: the eight answer prefixes
deleted; a response of more than 10 words with no capital A-F gives ""; otherwise the **first capital A-F
anywhere** (the article "A" counts); "" is wrong and stays in the denominator; the letter is compared lower-cased.
Scores are reported per length x task (``accuracy[length_task=<length>_<type>]``), per length, per task, overall
(all micro, as the official aggregation).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tempeval.benchmarks.videomme import FIXED_PREFIXES, extract_letter
from tempeval.data import convert_records, require, video_dir
from tempeval.loaders import LoadOptions
from tempeval.loaders.records import read_records
from tempeval.registry import DatasetEntry
from tempeval.scoring.parsers import LETTERS
from tempeval.scoring.scorers import Reference
from tempeval.task import Task
from tempeval.types import Sample, Score, VideoRef

_OPTION = re.compile(r"^\s*\(?([A-F])[.):]\s*(.+?)\s*$")


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """Every TimeScope question, in file order."""
    relative = str((dataset.options.get("annotations") or ["test.jsonl"])[0])
    path = require(dataset, options, [relative])[relative]
    videos = video_dir(dataset, options)
    items = ((f"row {i + 1} (id {r.get('id')!r})", r) for i, r in enumerate(read_records(path)))
    return convert_records(path, items, lambda _, record: _sample(record, task, videos))


def options_of(text: str) -> tuple[str, ...]:
    """The option texts of the ``A. ...`` lines of a question text, which must run A, B, C, ... in order."""
    found = [(m[1], m[2]) for m in map(_OPTION.match, text.splitlines()) if m]
    letters = "".join(letter for letter, _ in found)
    if len(found) < 2 or letters != LETTERS[: len(found)]:
        raise ValueError(f"its input has no option lines A., B., ... in order (found {letters or 'none'})")
    return tuple(option for _, option in found)


def _sample(record: Mapping[str, Any], task: Task, videos: Path) -> Sample:
    text = str(record["input"])
    choices = options_of(text)
    answer = str(record["answer"]).strip().upper()
    if answer not in list(LETTERS[: len(choices)]):
        raise ValueError(f"answer {record['answer']!r} is not a letter of its {len(choices)} options")
    length, kind = str(record["length"]), str(record["type"])
    return Sample(
        id=str(record["id"] if "id" in record else record["index"]),  # TimeScope-v0 rows say "index"
        kind=task.kind,
        question=text,
        video=VideoRef(str(videos / str(record["video"]))),
        choices=choices,
        target=answer,
        meta={"length": length, "type": kind, "length_task": f"{length}_{kind}", "video_id": str(record["video"])},
    )


def official(output: str, reference: Reference) -> Score:
    """Score as lmms-eval's ``timescope_process_results``: the first A-F after the prefixes, "" wrong (kept)."""
    letter = extract_letter(output, "ABCDEF", FIXED_PREFIXES)
    if not letter:
        return Score(0.0, None, parsed=False, explanation="no A-F letter (>10 words, or none at all): wrong")
    correct = letter.lower() == str(reference.target).lower()
    return Score(1.0 if correct else 0.0, letter, explanation=f"first A-F letter: {letter}")
