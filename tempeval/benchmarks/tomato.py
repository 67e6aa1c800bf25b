"""TOMATO (yale-nlp/TOMATO @ fe2025f4; ICLR 2025): loader, official scorer and importer.

Format: ``data/<task>.json`` = ``{"<id>": {question, options, answer (0-based index), key, demonstration_type,
...}}`` for the six tasks count, direction, rotation, shape&trend, velocity&frequency, visual_cues; ids restart
at "0" in every file (the sample id is that id: unique within its task). Videos:
``videos/<demonstration_type>/<key>.mp4``. Meta: ``task``, ``demonstration_type``, ``video_id`` (= ``key``).

Prompt (``construct_prompt.py``): the options are shown as the Python dict ``{'A': opt0, 'B': opt1, ...}``. The
loader builds the ``<question>``/``<options>`` block into the question text, since only it knows the options;
the task YAML holds the fixed text around it, starting with the official system prompt ("You are an expert in
understanding dynamics of objects.", put in the user turn as tasks have no system turn). The frame count in the
text is the number of frames shown (``{num_frames}``; 16, the official default, unless ``--frames`` says
otherwise), and the clause "the frames are provided in chronological order of the video" is there only when they
are (``{in_time_order:...}``; not under a shuffled or reversed order). What the official shuffled setting said is
unknown: its code is not in the repository (``evaluate.py`` passes a ``shuffle=`` argument that no
``generate_response`` accepts) and ``construct_prompt`` states chronological order unconditionally. The official
blank lines are kept; its trailing spaces are not. Frames: the official takes ``linspace(0, n - 1, 16)`` frame
indices (first and last frame included); tempeval takes 16 segment midpoints. Generation: temperature 0, 1024
tokens, seed 215.

Official scorer (``parse_result.py``, ``get_categorized_score.py``), reproduced in :func:`official`:

1. rule pre-parse of the stripped response: a single character that is a valid letter (any case); else the
   upper-cased response equal to ``"<letter>: <option>"`` (quirk: the option is *not* upper-cased, so this only
   ever matches options without lower-case letters, such as "2"); else ``^Answer is:?\\(?([A-Fa-f])\\)?$``
   (quirks: no space is allowed after "is" or ":", so "Answer is: A" and "Answer is (B)" fall through while
   "Answer is:(B)" matches; letters A-F only; case-sensitive "Answer is"; a letter beyond the options falls
   through);
2. if no valid letter: the judge (``reference.judge``, when given) with the official gpt-4o-mini extraction
   prompt, up to 5 tries, its reply accepted only when it *is* exactly one valid letter ("AB", "ABC", "", " A" and
   "a" are rejected and asked again);
3. if still none: a random letter. The official ``random.choice`` is **unseeded** (scores not reproducible);
   here it is ``random.Random(f"215:{sample_id}")`` (215 = the official generation seed). Such picks are flagged
   unparseable (they still score, as in the official), so the parse-failure rate shows how many were guessed.

Correct iff the letter equals the first character of the ground truth ``"<letter>. <option>"``. Accuracy is
micro everywhere (per task, per demonstration type, overall). Strict mode (``strict``): one parsed letter, no
judge, no random pick.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempeval.data import convert_records, read_jsonl, read_subset_file, video_dir
from tempeval.errors import TempevalError
from tempeval.judge import JudgeUnavailable
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring.parsers import LETTERS
from tempeval.scoring.scorers import Judge, Reference
from tempeval.task import Task
from tempeval.types import Sample, Score, VideoRef

if TYPE_CHECKING:  # pragma: no cover - typing only
    from tempeval.importing import SamplesOf

TASKS: tuple[str, ...] = ("count", "direction", "rotation", "shape&trend", "velocity&frequency", "visual_cues")
"""The official reasoning types: one annotation file each (``data/<task>.json``)."""

DEMONSTRATION_TYPES: tuple[str, ...] = ("human", "object", "simulated")

OFFICIAL_SEED = 215
"""Seed of the random fallback (the official generation seed; the official fallback itself is unseeded)."""

JUDGE_TRIES = 5
"""The official ``MAX_ITER``: judge calls before falling back to a random letter."""

_ANSWER_IS = re.compile(r"^Answer is:?[\(]?([A-Fa-f])[\)]?$")


def annotation_file(subset: str) -> str:
    """The annotation file of one task, relative to the dataset folder."""
    return f"data/{subset}.json"


def task_name(subset: str) -> str:
    """The tempeval task of an official reasoning type: ``shape&trend`` -> ``tomato_shape_trend``."""
    return "tomato_" + re.sub(r"\W", "_", subset)


def index2ans(options: Sequence[str]) -> dict[str, str]:
    """The official letter -> option mapping (``construct_prompt.py``)."""
    return {LETTERS[i]: option for i, option in enumerate(options)}


def question_block(question: str, options: Sequence[str]) -> str:
    """The official ``<question>`` and ``<options>`` block, options as the Python dict the official prints."""
    return f"<question>\n{question}\n</question>\n\n<options>\n{index2ans(options)}\n</options>"


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """The samples of one TOMATO task (``subset`` in the task file names its reasoning type).

    Raises:
        TempevalError: the subset is unknown, the file is missing, or no record is readable (a malformed record
            is skipped with a warning).
    """
    subset, path, records = read_subset_file(task, dataset, options, TASKS, annotation_file)
    if not isinstance(records, dict):
        raise TempevalError(f"{path}: expected a JSON object of id -> record, got {type(records).__name__}.")
    videos = video_dir(dataset, options)
    items = ((f"record '{key}'", (str(key), record)) for key, record in records.items())
    return convert_records(path, items, lambda _, item: _sample(path, item[0], item[1], subset, task, videos))


def _sample(path: Path, record_id: str, record: Any, subset: str, task: Task, videos: Path) -> Sample:
    def malformed(problem: str) -> TempevalError:
        return TempevalError(
            f"{path}: record '{record_id}' {problem}. Each record needs question, options (a list of texts), "
            f"answer (0-based index into options), key and demonstration_type ({', '.join(DEMONSTRATION_TYPES)}); "
            "fix the record or re-download the file."
        )

    if not isinstance(record, dict):
        raise malformed(f"is a {type(record).__name__}, not an object")
    for field in ("question", "key", "demonstration_type"):
        if not isinstance(record.get(field), str) or not record[field]:
            raise malformed(f"has no text '{field}'")
    options = record.get("options")
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise malformed("has no list of option texts 'options'")
    if not 2 <= len(options) <= len(LETTERS):
        raise malformed(f"has {len(options)} options (2 to {len(LETTERS)} are possible)")
    answer = record.get("answer")
    if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < len(options):
        raise malformed(f"has answer {answer!r}, not an index into its {len(options)} options")
    demonstration = record["demonstration_type"]
    return Sample(
        id=record_id,
        kind=task.kind,
        question=question_block(record["question"], options),
        video=VideoRef(str(videos / demonstration / f"{record['key']}.mp4")),
        choices=tuple(options),
        target=LETTERS[answer],
        meta={"task": subset, "demonstration_type": demonstration, "video_id": record["key"]},
    )


def pre_parse(response: str, choices: Sequence[str]) -> str:
    """The official rule pre-parser (``pre_parser``); "" when no rule gives a valid letter (the official then asks the
    judge: its ``parsed_response not in all_choices`` test). Quirks in the module docstring."""
    all_choices = LETTERS[: len(choices)]
    response = response.strip()
    full_choices = [f"{letter}: {option}" for letter, option in index2ans(choices).items()]
    match = _ANSWER_IS.match(response)
    if len(response) == 1 and response.upper() in all_choices:
        return response.upper()
    if response.upper() in full_choices:
        return response[0].upper()
    if match and match.group(1).upper() in all_choices:  # "Answer is:F" of 4 options falls through to the judge
        return match.group(1).upper()
    return ""


def judge_prompt(response: str, choices: Sequence[str]) -> str:
    """The official gpt-4o-mini extraction prompt (``gpt_parser``), byte for byte (trailing spaces included)."""
    all_choices = list(LETTERS[: len(choices)])
    return (
        "You are given a response, a list of multiple-choice options, and a index2answer mapping. "
        "You are required to extract the letter option from the GPT. \n"
        "    \n"
        f"    response: {response}\n\n"
        f"    all_choices: {all_choices}\n\n"
        f"    index2answer: {index2ans(choices)}\n\n"
        "Only output the single parsed letter from the response. No other texts are needed. \n\n"
        "If you think no options can match the index2answer dictionary, randomly select one letter. \n\n"
        "Your extracted letter is: \n"
    )


def _ask_judge(judge: Judge | None, response: str, choices: Sequence[str]) -> str | None:
    """The judge's letter, "" when its replies name none, ``None`` when no judge reply can be had."""
    if judge is None:
        return None
    prompt = judge_prompt(response, choices)
    for _ in range(JUDGE_TRIES):
        try:
            reply = judge(prompt)
        except JudgeUnavailable:  # no --judge and no logged reply: the official would have asked gpt-4o-mini
            return None
        # The official accepts the reply only as exactly one valid letter (``in all_choices``, a list): not "AB",
        # "ABC" or "" (a substring test on the letters string would take them), not " A" or "a".
        if reply in list(LETTERS[: len(choices)]):
            return reply
    return ""


def official(output: str, reference: Reference) -> Score:
    """Score as TOMATO's ``parse_result.py`` + ``get_categorized_score.py`` do (rule, judge, seeded random).

    Args:
        output: The model's response.
        reference: Target letter, options, sample id (seeds the random fallback) and the judge, if any.

    Returns:
        1.0 when the chosen letter is the target. A random pick is flagged unparseable but still scored.
    """
    choices = reference.choices
    letter, how = pre_parse(output, choices), "rule pre-parse"
    if not letter:
        judged = _ask_judge(reference.judge, output, choices)
        letter = judged or ""
        how = "judge" if judged is not None else "no judge given"
    parsed = bool(letter)
    if not parsed:
        letter = random.Random(f"{OFFICIAL_SEED}:{reference.sample_id}").choice(LETTERS[: len(choices)])
        how = f"seeded random fallback ({'the judge named no option' if how == 'judge' else how})"
    correct = letter == reference.target
    return Score(1.0 if correct else 0.0, letter, parsed=parsed, explanation=f"{how}: {letter}")


def import_predictions(paths: Sequence[Path], samples_of: SamplesOf) -> dict[str, dict[str, str | None]]:
    """Import official result files ``results/<task>+<demonstration>/<frames>/<model>.jsonl``.

    Each line is ``{id, question, response, all_choices, index2ans, gt}``; the task comes from the folder name
    (the file itself does not say it). ``parsed_results/`` files (response = the parsed letter) import the same
    way. Every ``gt`` is checked against the annotations.

    Raises:
        TempevalError: a path outside that layout, an unknown id, a ``gt`` that disagrees with the annotations, or
            one question imported twice (e.g. two frame counts or two models at once).
    """
    imported: dict[str, dict[str, str | None]] = {}
    origin: dict[tuple[str, str], Path] = {}
    for path in paths:
        subset = _subset_of(path)
        name = task_name(subset)
        samples = {sample.id: sample for sample in samples_of(name)}
        outputs = imported.setdefault(name, {})
        for number, line in enumerate(read_jsonl(path), start=1):
            sample = _matching_sample(path, number, line, samples)
            if (name, sample.id) in origin:
                raise TempevalError(
                    f"{path}: line {number} answers {subset} question {sample.id}, already imported from "
                    f"{origin[(name, sample.id)]}; import one model and one frame count at a time."
                )
            origin[(name, sample.id)] = path
            outputs[sample.id] = line["response"]
    return imported


def _subset_of(path: Path) -> str:
    folder = path.parent.parent.name
    subset, _, demonstration = folder.rpartition("+")
    if subset not in TASKS or demonstration not in DEMONSTRATION_TYPES:
        raise TempevalError(
            f"{path}: official results live in results/<task>+<demonstration type>/<frames>/<model>.jsonl "
            f"(task one of {', '.join(TASKS)}); this file's folder '{folder}' does not say its task."
        )
    return subset


def _matching_sample(path: Path, number: int, line: Any, samples: dict[str, Sample]) -> Sample:
    def bad(problem: str) -> TempevalError:
        return TempevalError(f"{path}: line {number} {problem}.")

    if not isinstance(line, dict) or not isinstance(line.get("response"), str):
        raise bad("has no text 'response'")
    sample = samples.get(str(line.get("id")))
    if sample is None:
        raise bad(f"has id {line.get('id')!r}, not in the annotations ({len(samples)} questions)")
    expected = f"{sample.target}. {sample.choices[LETTERS.index(sample.target)]}"
    if line.get("gt") != expected:
        raise bad(
            f"has gt {json.dumps(line.get('gt'))} where the annotations give {json.dumps(expected)}: the results "
            "were made from other annotation files"
        )
    return sample

