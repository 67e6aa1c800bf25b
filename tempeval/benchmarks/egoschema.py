"""EgoSchema (egoschema/EgoSchema, NeurIPS 2023 D&B): 5-way questions on 3-minute egocentric clips.

Files (GitHub @ 505c7873): ``questions.json``, a list of 5,031 ``{q_uid, google_drive_id, question, option 0, ...,
option 4}``, and ``subset_answers.json``, ``{q_uid: answer index}`` for the 500 questions whose answers are public.
Videos ``videos/<q_uid>.mp4`` (Kaggle ``egoschema-public``).

Two tasks, so a paper says which it reports: ``egoschema_subset`` (the 500, scored here) and ``egoschema_full``
(all 5,031; only ``subset_accuracy``, over the 500 public answers, is scored here; the full-set number comes from
the server). :func:`submission` turns a run of either task into the file the server expects (README "Option B/C":
``{q_uid: index 0-4}``, posted to ``https://validation-server.onrender.com/api/upload/`` or submitted to Kaggle):

    python -m tempeval.benchmarks.egoschema runs/MODEL/egoschema_full.jsonl -o submission.json

There is no official text extractor: the server compares option indices. tempeval's strict letter parser gives the
index; an unparseable, missing or failed answer is written as -1, which the server counts as "invalid" (wrong, kept
in its denominator) rather than left out ("missing").
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tempeval.data import convert_records, read_json, require, video_dir
from tempeval.errors import TempevalError
from tempeval.export import write_atomic
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.results import read_run
from tempeval.scoring.parsers import LETTERS
from tempeval.task import Task
from tempeval.types import Sample, VideoRef

QUESTIONS, ANSWERS = "questions.json", "subset_answers.json"
SUBSETS = ("subset", "full")
OPTIONS = 5


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """``subset: subset``: the 500 questions with public answers; ``subset: full``: all of them (target ``None``
    where the answer is not public; meta ``answer_public`` says which)."""
    if task.subset not in SUBSETS:
        raise TempevalError(f"{task.source_file}: task '{task.name}' needs subset one of {', '.join(SUBSETS)}.")
    paths = require(dataset, options, [QUESTIONS, ANSWERS])
    questions, answers = read_json(paths[QUESTIONS]), read_json(paths[ANSWERS])
    if not isinstance(questions, list) or not isinstance(answers, dict):
        raise TempevalError(
            f"{paths[QUESTIONS].parent}: expected {QUESTIONS} to be a list of questions and {ANSWERS} an object "
            "q_uid -> answer index. Re-download both."
        )
    if task.subset == "subset":
        questions = [q for q in questions if isinstance(q, dict) and q.get("q_uid") in answers]
    videos = video_dir(dataset, options)
    items = ((f"question {i + 1} (q_uid {q.get('q_uid')!r})" if isinstance(q, dict) else f"question {i + 1}", q)
             for i, q in enumerate(questions))
    return convert_records(paths[QUESTIONS], items, lambda _, q: _sample(q, answers, task, videos))


def _sample(record: Mapping[str, Any], answers: Mapping[str, Any], task: Task, videos: Path) -> Sample:
    uid = str(record["q_uid"])
    choices = tuple(str(record[f"option {i}"]) for i in range(OPTIONS))
    answer = answers.get(uid)
    if answer is not None and (not isinstance(answer, int) or not 0 <= answer < OPTIONS):
        raise ValueError(f"its answer in {ANSWERS} is {answer!r}, not an index 0-4")
    lines = [f"{LETTERS[i]}. {choice}" for i, choice in enumerate(choices)]
    return Sample(
        id=uid,
        kind=task.kind,
        question="\n".join([str(record["question"]), *lines]),
        video=VideoRef(str(videos / f"{uid}.mp4")),
        choices=choices,
        target=None if answer is None else LETTERS[answer],
        meta={"answer_public": answer is not None, "video_id": uid},
    )


def submission(records: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """``{q_uid: index}`` from run records: the parsed letter's index, -1 when there is none (server: invalid)."""
    out: dict[str, int] = {}
    for record in records:
        answer = record.get("answer")
        valid = record.get("error") is None and isinstance(answer, str) and answer in list(LETTERS[:OPTIONS])
        out[str(record["sample_id"])] = LETTERS.index(answer) if valid and isinstance(answer, str) else -1
    return out


def write_submission(run_path: Path, out: Path) -> dict[str, int]:
    """Write the server's submission file for one EgoSchema run file; returns what was written."""
    run = read_run(run_path)
    if not str(run.header.get("task", "")).startswith("egoschema"):
        raise TempevalError(f"{run_path}: a run of task '{run.header.get('task')}', not an EgoSchema task.")
    answers = submission(run.records)
    write_atomic(out, json.dumps(answers, indent=1) + "\n")
    return answers


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tempeval.benchmarks.egoschema RUN.jsonl -o submission.json``."""
    parser = argparse.ArgumentParser(prog="python -m tempeval.benchmarks.egoschema",
                                     description="Write EgoSchema's server submission file from a run file.")
    parser.add_argument("run", type=Path, help="a run file of egoschema_full (or egoschema_subset)")
    parser.add_argument("-o", "--out", type=Path, required=True, help="the submission JSON to write")
    args = parser.parse_args(argv)
    try:
        answers = write_submission(args.run, args.out)
    except TempevalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    invalid = sum(1 for index in answers.values() if index < 0)
    print(f"{args.out}: {len(answers)} answers ({invalid} invalid: no parsed letter, or a failed request)")
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through main()
    sys.exit(main())
