"""VLM4D (ShijieZhou-UCLA/VLM4D @ 23f26807; ICCV 2025): 4D motion questions. Loader, judge scorer and importer.

Format: ``data/real_mc.json`` (1,371 questions) and ``data/synthetic_mc.json`` (445), each a list of ``{id,
video, question_type: "multiple-choice", question, choices: {"A": text, ...}, answer}`` where ``answer`` is the
option's *text* (an int for counting options), not its letter; ``video`` is a hub URL
``https://huggingface.co/datasets/shijiezhou/VLM4D/resolve/main/<path>``, read as ``<path>`` under the videos
folder. 1,816 questions in all (the paper's count). The target is the first option equal to the answer:
``validation_633`` lists "away from the camera" twice (C and D); the judge accepts either, strict only C.
Meta: ``video_id``; real questions have ``perspective``
(``exo`` for id number <= 922, ``ego`` above, as ``acc_final_statistics.py`` splits them); synthetic ones have
``synthetic_kind`` (``fp``: the answer is "no" or starts "no ", the false-positive questions; else
``directional``).

Prompt: the official chain-of-thought prompt (``utils/constant.py`` ``MULTI_CHOICE_COT_PROMPT``, the paper's
``real_mc_cot`` setting) with the options as ``A: text`` lines, built by the loader into the question. The official
generation is temperature 1.0, 1,024 tokens, seed 215 (``utils/constant.py``); tempeval keeps temperature 0 (runs
are reproducible) and says so in the task description.

Strict mode (the default, :func:`strict`): the conclusion the prompt asks for, "the final answer is: B" ("**B**",
"(B)" too; several different conclusions are unparseable), else tempeval's letter parser (a letter, or exactly one
option's text). A chain of thought that weighs other options before concluding is read by its conclusion.

Official mode (:func:`official`, ``acc_evaluation.py`` + ``utils/eval_utils.py``): every answer goes to the LLM judge
(o4-mini in the paper, structured output ``{extracted_answer, correct}``) with the official instruction and user
message; the official sends the instruction as the system turn, tempeval's judge takes one prompt, so the two are
joined by a blank line. The judge's ``correct`` decides; a reply that is not that JSON object (the official's
parse exception) is wrong. Without ``--judge`` every answer is unparseable (0, flagged). The paper numbers were
further verified by hand with o3 and o4-mini (``processed_outputs_paper_results``), which no scorer reproduces.

Parity (checked outside the repository against ``utils/eval_utils.py`` at 23f26807): the judge prompt equals the
official system + user messages for all 1,816 questions x 20 responses. Replaying the verdicts of
``processed_outputs_paper_results`` through :func:`official` reproduces each file's judged accuracy exactly
(Gemini-2.5-Pro CoT: real 63.46, synthetic 57.30, overall 61.95, the paper's 62.0); strict agrees with those
verdicts on all but 0-4 questions per file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempeval.data import convert_records, read_json, read_subset_file, video_dir
from tempeval.errors import TempevalError
from tempeval.judge import NEEDS_JUDGE, JudgeError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring.parsers import LETTERS
from tempeval.scoring.scorers import Reference, marked_letter
from tempeval.scoring.scorers import strict as tempeval_strict
from tempeval.task import Task
from tempeval.types import Sample, Score, VideoRef

if TYPE_CHECKING:  # pragma: no cover - typing only
    from tempeval.importing import SamplesOf

SUBSETS: tuple[str, ...] = ("real", "synthetic")
PAPER_COUNTS: dict[str, int] = {"real": 1371, "synthetic": 445}
EXO_LAST_ID = 922
"""``acc_final_statistics.py``: real questions numbered up to 922 are exo-centric, later ones ego-centric."""
_URL_PREFIX = re.compile(r"^https?://huggingface\.co/datasets/[^/]+/[^/]+/resolve/[^/]+/")

# The official judge instruction (utils/eval_utils.py), verbatim.
INSTRUCTION = """Your task is to evaluate whether the model's final answer is correct by comparing it to the ground-truth answer provided for the given question.

You should first extract the final answer from the model's response, and then compare the extracted answer with the choice that matches the ground-truth answer to determine its correctness.
"""  # noqa: E501
MULTI_CHOICE_INSTRUCTION = INSTRUCTION + "Output your response in the following structured format:\n" + """{
    "extracted_answer": // str value "A" "B" "C" "D", followed by a colon and the corresponding answer text, e.g., "A: Answer A text". If the model's response does not contain a valid choice and reasoning, then "No Valid Answer".
    "correct": // boolean value, True if the extracted answer matches the ground-truth answer (correct choice), False otherwise ("No Valid Answer" is also considered False).
}
"""  # noqa: E501


def annotation_file(subset: str) -> str:
    """The annotation file of one subset, relative to the dataset folder."""
    return f"data/{subset}_mc.json"


def options_block(choices: Sequence[str]) -> str:
    """The official ``optionized_str``: one ``A: text`` line per option."""
    return "\n".join(f"{LETTERS[i]}: {choice}" for i, choice in enumerate(choices))


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """The questions of one subset (``real`` or ``synthetic``).

    Raises:
        TempevalError: an unknown subset, a missing file, or no readable record (a bad one is skipped, warned).
    """
    subset, path, records = read_subset_file(task, dataset, options, SUBSETS, annotation_file)
    if not isinstance(records, list):
        raise TempevalError(f"{path}: expected a list of questions, got {type(records).__name__}.")
    videos = video_dir(dataset, options)
    items = ((f"record #{i} (id {r.get('id') if isinstance(r, dict) else '?'})", r) for i, r in
             enumerate(records, start=1))
    return convert_records(path, items, lambda _, record: _sample(path, record, subset, videos, task))


def _sample(path: Path, record: Any, subset: str, videos: Path, task: Task) -> Sample:
    if not isinstance(record, dict) or not isinstance(record.get("choices"), dict):
        raise TempevalError(f"{path}: a record has no 'choices' object of letter -> option text")
    letters = list(record["choices"])
    if letters != list(LETTERS[: len(letters)]):
        raise TempevalError(f"{path}: record {record.get('id')} has option keys {letters}, not A, B, C, ...")
    choices = tuple(str(value) for value in record["choices"].values())
    answer = str(record["answer"])
    if answer not in choices:
        raise TempevalError(f"{path}: record {record.get('id')} has answer {answer!r}, not one of its options")
    record_id = str(record["id"])
    meta: dict[str, Any] = {"video_id": str(record["video"])}
    if subset == "real":
        meta["perspective"] = "exo" if int(record_id.split("_")[-1]) <= EXO_LAST_ID else "ego"
    else:
        lowered = answer.strip().lower()
        meta["synthetic_kind"] = "fp" if lowered == "no" or lowered.startswith("no ") else "directional"
    return Sample(
        id=record_id,
        kind=task.kind,
        question=f"Question: {record['question']}\n{options_block(choices)}",
        video=VideoRef(str(videos / _URL_PREFIX.sub("", str(record["video"])))),
        choices=choices,
        target=LETTERS[choices.index(answer)],
        meta=meta,
    )


_CONCLUSION = re.compile(r"final answer is\s*:?\s*\**\s*\(?([A-Za-z])\)?(?![A-Za-z])")


def strict(output: str, reference: Reference) -> Score:
    """The prompt's conclusion "the final answer is: X", else tempeval's letter parser."""
    return marked_letter(output, reference, _CONCLUSION) or tempeval_strict(output, reference)


def judge_prompt(question: str, choices: Sequence[str], answer_text: str, response: str) -> str:
    """The official judge messages (``prepare_evaluation_message``): instruction, a blank line, the user message."""
    user = (
        f"Question: {question}\n\nOptions:\n{options_block(choices)}\n\n"
        f"Ground Truth Answer: {answer_text}\n\nModel Response to the Question: {response}"
    )
    return f"{MULTI_CHOICE_INSTRUCTION}\n{user}"


def read_verdict(reply: str) -> tuple[bool, str]:
    """(correct, extracted answer) from the judge's JSON reply; (False, "") when it is not that object."""
    found = re.search(r"\{.*\}", reply, flags=re.DOTALL)
    try:
        verdict = json.loads(found.group() if found else reply)
    except ValueError:
        return False, ""
    if not isinstance(verdict, dict) or not isinstance(verdict.get("correct"), bool):
        return False, ""
    return verdict["correct"], str(verdict.get("extracted_answer", ""))


def original_question(sample_question: str) -> str:
    """The record's question from the sample's question block (``Question: ...`` then the option lines)."""
    return sample_question.removeprefix("Question: ").split("\n", 1)[0]


def official(output: str, reference: Reference) -> Score:
    """Score as ``acc_evaluation.py``: the judge decides ``correct``; a malformed verdict is wrong.

    Returns:
        1.0 when the judge says correct; unparseable (0) when no judge is given.
    """
    if reference.judge is None:
        return Score(0.0, None, parsed=False, explanation=f"the official VLM4D scorer asks an LLM judge; {NEEDS_JUDGE}")
    answer_text = reference.choices[LETTERS.index(str(reference.target))]
    prompt = judge_prompt(original_question(reference.question), reference.choices, answer_text, output)
    try:
        reply = reference.judge(prompt)
    except JudgeError as exc:
        return Score(0.0, None, parsed=False, explanation=str(exc))
    correct, extracted = read_verdict(reply)
    letter = extracted[:1] if extracted[:1] in LETTERS[: len(reference.choices)] else None
    return Score(1.0 if correct else 0.0, letter, explanation=f"judge: correct={correct}, extracted {extracted!r}")


def import_predictions(paths: Sequence[Path], samples_of: SamplesOf) -> dict[str, dict[str, str | None]]:
    """Import official output files ``outputs/<subset>_mc_<prompt>/<model>_<frames>.json`` (a list of the
    questions with the model's ``response`` added); the subset comes from the file's folder name, and each
    record's ``answer`` is checked against the annotations. Judged files (``processed_outputs*``) import too.

    Raises:
        TempevalError: a folder name outside that layout, an unknown id, a disagreeing answer, or an id twice.
    """
    imported: dict[str, dict[str, str | None]] = {}
    for path in paths:
        subset = path.parent.name.split("_mc", 1)[0]
        if subset not in SUBSETS or "_mc" not in path.parent.name:
            raise TempevalError(
                f"{path}: official outputs live in outputs/<real|synthetic>_mc_<prompt>/<model>.json; this file's "
                f"folder '{path.parent.name}' does not say its subset."
            )
        name = f"vlm4d_{subset}"
        samples = {sample.id: sample for sample in samples_of(name)}
        outputs = imported.setdefault(name, {})
        records = read_json(path)
        for number, record in enumerate(records if isinstance(records, list) else [], start=1):
            if not isinstance(record, dict) or "response" not in record:
                raise TempevalError(f"{path}: record #{number} has no 'response'.")
            sample = samples.get(str(record.get("id")))
            if sample is None:
                raise TempevalError(f"{path}: record #{number} has id {record.get('id')!r}, not in the annotations.")
            gold = str(record.get("answer", record.get("ground_truth_answer")))
            if gold != sample.choices[LETTERS.index(str(sample.target))]:
                raise TempevalError(
                    f"{path}: record #{number} ({sample.id}) has answer {gold!r} where the annotations give "
                    f"{sample.choices[LETTERS.index(str(sample.target))]!r}: other annotation files were used."
                )
            if sample.id in outputs:
                raise TempevalError(f"{path}: {sample.id} is imported twice; import one model at a time.")
            outputs[sample.id] = None if record["response"] is None else str(record["response"])
    return imported
