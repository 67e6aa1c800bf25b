"""MMR-V (GaryStack/MMR-V @ 87ac4e53; "What's left unsaid"): long-range multi-frame reasoning, up to 12 options.

Format: the hub's test split (``load_dataset("JokerJan/MMR-VBench", split="test")``) as a records file (JSON,
JSONL or Parquet), each ``{video, videoType, question, options: ["(A) text", ...], correctAnswer: "(K)",
abilityType_L2, abilityType_L3, question_idx}``; videos ``videos/<video>``. 1,257 questions on 317 videos (the
paper's count). Options carry their "(A) " prefix, which the loader strips; up to 12 (A-L). The sample id is the
record's position (1-based): the official keys a question by its text. Meta: ``video_type``, ``ability_l2``,
``ability_l3``, ``reasoning`` (``Implicit``/``Explicit``, ``main-results.py``'s mapping of the L2 type, else
``Other``), ``video_id``.

Prompt: the official direct prompt of ``evaluation/server_evaluation_on_MMR.py`` (``prompt_template``; the CoT one
differs only in asking for the thinking first; its trailing spaces are not kept), the options printed as the Python
list the official formats (``['(A) ...', '(B) ...']``), built by the loader into the question. Frames: 32
(``--frame_count`` default).

Official scorer (:func:`official`: the inference script's extraction, then ``scripts/main-results.py``):

1. the first ``[[X]]`` (X in A-L, case-sensitive), else the first ``\\boxed{X}``, else the *last* standalone letter
   A-L (``\\b([A-L])\\b``) of the upper-cased response ("I think" reads I, "a cat" reads A);
2. with none of those, ``main-results.py`` reads the raw response upper-cased: the last ``[X]``/``(X)``, else **the
   last character A-L anywhere** ("the wolf" reads F, "no idea" reads A);
3. a letter beyond the question's options counts (wrong); only a response without any of A-L is unparsed, and
   it is wrong, in the denominator.

Correct iff the letter equals the one in ``correctAnswer``. Strict mode (:func:`strict`): exactly one distinct
``[[X]]`` (a marked letter beyond the options is unparseable), else tempeval's letter parser; no fallback to a stray
letter.

Parity (checked outside the repository against the official code at 87ac4e53): 81 adversarial responses x 4
targets, 0 disagreements with the official pipeline's letter and verdict.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempeval.data import convert_records, read_json, require, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.loaders.records import read_records
from tempeval.registry import DatasetEntry
from tempeval.scoring.parsers import LETTERS
from tempeval.scoring.scorers import Reference, marked_letter
from tempeval.scoring.scorers import strict as tempeval_strict
from tempeval.task import Task
from tempeval.types import Sample, Score, VideoRef

if TYPE_CHECKING:  # pragma: no cover - typing only
    from tempeval.importing import SamplesOf

OFFICIAL_LETTERS = "ABCDEFGHIJKL"
PAPER_COUNT = 1257
REASONING_CATEGORY: dict[str, str] = {
    "Metaphor Understanding": "Implicit",
    "Theme Understanding": "Implicit",
    "Emotion Recognition": "Implicit",
    "Implicit Symbol": "Implicit",
    "Comment Matching": "Implicit",
    "Counterintuitive Reasoning": "Explicit",
    "Causal Reasoning": "Explicit",
    "Sequential Structure Reasoning": "Explicit",
    "Video Type and Intent": "Explicit",
    "Cross-modal Creative Transfer": "Explicit",
}
"""``main-results.py``'s ``REASONING_CATEGORY_MAPPING`` (L2 ability type -> reasoning category)."""

_PREFIX = re.compile(r"^\(([A-L])\)\s*")
_DOUBLE_BRACKET = re.compile(r"\[\[([A-L])\]\]")
_BOXED = re.compile(r"\\boxed\{([A-L])\}")
_STANDALONE = re.compile(r"\b([A-L])\b")
_BRACKETED = re.compile(r"[\[\(]([A-L])[\]\)]")


def question_block(question: str, options: Sequence[str]) -> str:
    """The official ``{question}`` ... ``{options}`` part of the prompt (options as the Python list)."""
    return f"{question}\n[[END OF QUESTION]]\n[[OPTIONS]]\n{list(options)!r}"


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """Every question of the test split.

    Raises:
        TempevalError: the file is missing or none of its records reads (a bad one is skipped with a warning).
    """
    relative = str((dataset.options.get("annotations") or ["test.json"])[0])
    path = require(dataset, options, [relative])[relative]
    records = read_records(path)
    videos = video_dir(dataset, options)
    items = ((f"record #{i} (video {r.get('video')!r})", (i, r)) for i, r in enumerate(records, start=1))
    return convert_records(path, items, lambda _, item: _sample(path, item[0], item[1], videos, task))


def _sample(path: Path, number: int, record: Any, videos: Path, task: Task) -> Sample:
    raw = record["options"]
    if not isinstance(raw, list) or not 2 <= len(raw) <= len(OFFICIAL_LETTERS):
        raise TempevalError(f"{path}: record #{number} has options {raw!r}, not a list of 2 to 12 '(A) text' strings")
    choices = []
    for index, option in enumerate(raw):
        found = _PREFIX.match(str(option))
        if not found or found.group(1) != LETTERS[index]:
            raise TempevalError(f"{path}: record #{number} option {index + 1} {option!r} does not start with "
                                f"'({LETTERS[index]}) '")
        choices.append(str(option)[found.end():])
    answer = re.search(r"\(([A-L])\)", str(record["correctAnswer"]).strip().upper())
    if answer is None or answer.group(1) not in LETTERS[: len(choices)]:
        raise TempevalError(f"{path}: record #{number} has correctAnswer {record['correctAnswer']!r}, not '(X)' of "
                            "its options")
    level2 = str(record.get("abilityType_L2") or "Unknown").strip() or "Unknown"
    return Sample(
        id=str(number),
        kind=task.kind,
        question=question_block(str(record["question"]), [str(o) for o in raw]),
        video=VideoRef(str(videos / str(record["video"]))),
        choices=tuple(choices),
        target=answer.group(1),
        meta={
            "video_type": str(record.get("videoType") or "Unknown").strip() or "Unknown",
            "ability_l2": level2,
            "ability_l3": str(record.get("abilityType_L3") or "Unknown").strip() or "Unknown",
            "reasoning": REASONING_CATEGORY.get(level2, "Other"),
            "video_id": str(record["video"]),
        },
    )


def official_letter(response: str) -> str | None:
    """The letter the official pipeline reads from a response (module docstring), None when it reads none."""
    for pattern in (_DOUBLE_BRACKET, _BOXED):
        found = pattern.search(response)
        if found:
            return found.group(1)
    standalone = _STANDALONE.findall(response.upper())
    if standalone:
        return str(standalone[-1])
    upper = response.upper()
    bracketed = _BRACKETED.findall(upper)
    if bracketed:
        return str(bracketed[-1])
    return next((char for char in reversed(upper) if char in OFFICIAL_LETTERS), None)


def official(output: str, reference: Reference) -> Score:
    """Score as the official extraction + ``main-results.py``; only a response without any A-L is unparsed."""
    letter = official_letter(output)
    if letter is None:
        return Score(0.0, None, parsed=False, explanation="no letter A-L anywhere in the response")
    return Score(1.0 if letter == reference.target else 0.0, letter, explanation=f"official extraction: {letter}")


def strict(output: str, reference: Reference) -> Score:
    """One distinct ``[[X]]`` of a valid option, else tempeval's letter parser."""
    return marked_letter(output, reference, _DOUBLE_BRACKET) or tempeval_strict(output, reference)


def import_predictions(paths: Sequence[Path], samples_of: SamplesOf) -> dict[str, dict[str, str | None]]:
    """Import official result files ``results/<model>_on_MMR_V[_cot].json``: the test records with
    ``<model>_raw_response`` added. Records are matched by question and video (the official keys them by question).

    Raises:
        TempevalError: no ``*_raw_response`` key, an unknown question, or one imported twice.
    """
    samples = {(sample.question, sample.meta["video_id"]): sample for sample in samples_of("mmrv")}
    outputs: dict[str, str | None] = {}
    for path in paths:
        records = read_json(path)
        for number, record in enumerate(records if isinstance(records, list) else [], start=1):
            keys = [k for k in record if isinstance(k, str) and k.endswith("_raw_response")]
            if len(keys) != 1:
                raise TempevalError(f"{path}: record #{number} has no single '<model>_raw_response' field.")
            sample = samples.get((question_block(str(record.get("question")), record.get("options") or []),
                                  str(record.get("video"))))
            if sample is None:
                raise TempevalError(f"{path}: record #{number} (video {record.get('video')!r}) is not a question of "
                                    "the annotations: other annotation files were used.")
            if sample.id in outputs:
                raise TempevalError(f"{path}: record #{number} answers question {sample.id} again.")
            response = record[keys[0]]
            outputs[sample.id] = response if isinstance(response, str) else None
    return {"mmrv": outputs}
