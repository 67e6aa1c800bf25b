"""LongVideoBench (longvideobench/LongVideoBench, NeurIPS 2024 D&B): loader and the official scorer, val split.

Data (hub ``longvideobench/LongVideoBench``, gated, CC BY-NC-SA 4.0): ``lvb_val.json``, a list of 1,337 questions
``{id, video_id, video_path, subtitle_path, duration, duration_group (15/60/600/3600), question, candidates (2-5
texts), correct_choice (0-based), question_category, starting_timestamp_for_subtitles, ...}``; videos
``videos/<video_path>``, subtitles ``subtitles/<subtitle_path>`` (a JSON list of ``{start, end, line}`` with
``HH:MM:SS.mmm`` times, or ``{timestamp: [start, end], text}``). The test split's answers are hidden (leaderboard).

Two protocols, two tasks, never mixed (the repository README and lmms-eval): ``longvideobench_val_v`` (video only)
and ``longvideobench_val_i`` (frames with subtitles). The official ``_i`` interleaves each subtitle between the
frames around its midpoint and keeps only subtitles that cover a sampled frame; a tempeval request carries its
frames as one block, so ``_i`` gives the subtitle lines (times shifted by ``starting_timestamp_for_subtitles``,
lines ending before 0 s dropped), in time order, before the question. Prompt: ``question``, then ``"A. text"``
lines, then "Answer with the option's letter from the given choices directly." (the dataset class and lmms-eval).

Official scorer (lmms-eval ``longvideobench/utils.py`` @ 75571cfe, which the repository README names for
evaluation; "same as the original LongVideoBench paper"), reproduced in :func:`official`: the eight answer
prefixes deleted (this copy has its commas), >10 words and no A-E capital, or no A-E capital at all, gives a
**random** letter of the question's options (unseeded there; seeded here by ``random.Random("lvb:<id>")`` and
flagged unparseable, as TOMATO's fallback is); otherwise the first capital A-E anywhere, even "E" for a 4-option
question (wrong, not re-drawn). Overall accuracy is micro (the official averages the duration groups and the
question categories weighted by size, which counts every question twice: the same micro mean).
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tempeval.benchmarks.videomme import FIXED_PREFIXES, extract_letter
from tempeval.data import convert_records, dataset_dir, read_json, require, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring.parsers import LETTERS
from tempeval.scoring.scorers import Reference
from tempeval.task import Task
from tempeval.types import Sample, Score, VideoRef

ANNOTATIONS = "lvb_val.json"
SUBSETS = ("video", "interleaved")


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """The 1,337 validation questions; ``subset: interleaved`` adds the subtitle lines as context."""
    if task.subset not in SUBSETS:
        raise TempevalError(f"{task.source_file}: task '{task.name}' needs subset one of {', '.join(SUBSETS)}.")
    path = require(dataset, options, [ANNOTATIONS])[ANNOTATIONS]
    records = read_json(path)
    if not isinstance(records, list):
        raise TempevalError(f"{path}: expected a JSON list of questions. Re-download lvb_val.json.")
    videos = video_dir(dataset, options)
    subtitles = dataset_dir(dataset, options) / str(dataset.options.get("subtitles", "subtitles"))
    interleaved = task.subset == "interleaved"

    def convert(label: str, record: Mapping[str, Any]) -> Sample:
        context = subtitle_lines(subtitles / str(record["subtitle_path"]), record) if interleaved else None
        return _sample(record, task, videos, context)

    items = ((f"question {i + 1} (id {r.get('id')!r})" if isinstance(r, dict) else f"question {i + 1}", r)
             for i, r in enumerate(records))
    return convert_records(path, items, convert)


def _sample(record: Mapping[str, Any], task: Task, videos: Path, context: str | None) -> Sample:
    candidates = record["candidates"]
    if not isinstance(candidates, list) or not 2 <= len(candidates) <= 5:
        raise ValueError("needs 'candidates', a list of 2 to 5 option texts")
    answer = record["correct_choice"]
    if not isinstance(answer, int) or not 0 <= answer < len(candidates):
        raise ValueError(f"correct_choice {answer!r} is not an index into its {len(candidates)} candidates")
    lines = [f"{LETTERS[i]}. {candidate}" for i, candidate in enumerate(candidates)]
    return Sample(
        id=str(record["id"]),
        kind=task.kind,
        question="\n".join([str(record["question"]), *lines]),
        video=VideoRef(str(videos / str(record["video_path"]))),
        choices=tuple(str(c) for c in candidates),
        target=LETTERS[answer],
        context=context,
        meta={"duration_group": str(record["duration_group"]), "question_category": str(record["question_category"]),
              "video_id": str(record["video_id"])},
    )


def _seconds(stamp: str) -> float:
    hours, minutes, seconds = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def subtitle_lines(path: Path, record: Mapping[str, Any]) -> str:
    """The subtitle texts in time order, one per line (times relative to the video, as the official shifts them)."""
    if not path.is_file():
        raise ValueError(f"subtitle file {path} is missing (unpack subtitles.tar into {path.parent})")
    try:
        cues = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"subtitle file {path} is not JSON ({exc})") from exc
    offset = float(record.get("starting_timestamp_for_subtitles") or 0.0)
    timed = []
    for cue in cues:
        if "timestamp" in cue:
            start, end = cue["timestamp"]
            end = float(record["duration"]) if not isinstance(end, float) else end
            text = cue["text"]
        else:
            start, end, text = _seconds(cue["start"]), _seconds(cue["end"]), cue["line"]
        if end - offset >= 0:
            timed.append((float(start) - offset, str(text).strip()))
    return "\n".join(text for _, text in sorted(timed, key=lambda item: item[0]) if text)


def official(output: str, reference: Reference) -> Score:
    """Score as lmms-eval's ``longvideobench_process_results``: first A-E, else a (seeded) random option letter."""
    letter = extract_letter(output, "ABCDE", FIXED_PREFIXES)
    if letter:
        return Score(1.0 if letter == reference.target else 0.0, letter, explanation=f"first A-E letter: {letter}")
    guess = random.Random(f"lvb:{reference.sample_id}").choice(LETTERS[: len(reference.choices)])
    return Score(1.0 if guess == reference.target else 0.0, guess, parsed=False,
                 explanation=f"no A-E letter: seeded random fallback {guess}")
