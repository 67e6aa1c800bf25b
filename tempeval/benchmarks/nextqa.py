"""NExT-QA multiple choice (doc-doc/NExT-QA, CVPR 2021): loader and importer of official prediction files.

Files (GitHub ``dataset/nextqa/`` @ 6b92588a): ``val.csv`` (4,996 questions) and ``test.csv`` (8,564), columns
``video, frame_count, width, height, question, answer (0-4), qid, type, a0..a4``; ``map_vid_vidorID.json`` maps a
video to its ``<folder>/<video>`` path under ``NExTVideo/`` (``.mp4``). The sample id is the official
``<video>_<qid>``.

Question types (``eval_mc.py``): causal CW (why) / CH (how), temporal TN (before/after; the official merges TP
"previous" into TN) / TC (when), descriptive DC (count) / DL (location) / DO (other). Reported: ``acc_C``,
``acc_T``, ``acc_D`` (val: 2,607 / 1,612 / 777) and ``accuracy`` over all, each micro, plus per type. The official
script compares the predicted option index with the answer, so there is no text extractor to reproduce: strict
letter parsing gives the index, and every question stays in the denominator.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempeval.data import convert_records, read_json, read_results_json, require, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring.parsers import LETTERS
from tempeval.task import Task
from tempeval.types import Sample, VideoRef

if TYPE_CHECKING:  # pragma: no cover - typing only
    from tempeval.importing import SamplesOf

SPLITS = ("val", "test")
MAP_FILE = "dataset/nextqa/map_vid_vidorID.json"
TYPES = ("CW", "CH", "TN", "TC", "DC", "DL", "DO")


def split_file(split: str) -> str:
    """The annotation CSV of a split."""
    return f"dataset/nextqa/{split}.csv"


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """The multiple-choice questions of one split (``subset`` val or test)."""
    if task.subset not in SPLITS:
        raise TempevalError(f"{task.source_file}: task '{task.name}' needs subset one of {', '.join(SPLITS)}.")
    relative = split_file(task.subset)
    paths = require(dataset, options, [relative, MAP_FILE])
    folders = read_json(paths[MAP_FILE])
    try:
        with paths[relative].open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise TempevalError(f"{paths[relative]}: cannot read it as CSV ({exc}). Re-download it.") from exc
    videos = video_dir(dataset, options)
    items = ((f"line {i + 2} (video {r.get('video')!r}, qid {r.get('qid')!r})", r) for i, r in enumerate(rows))
    return convert_records(paths[relative], items, lambda _, row: _sample(row, folders, task, videos))


def _sample(row: Mapping[str, Any], folders: Mapping[str, str], task: Task, videos: Path) -> Sample:
    qtype = "TN" if row["type"] == "TP" else str(row["type"])
    if qtype not in TYPES:
        raise ValueError(f"type {row['type']!r} is not one of {', '.join(TYPES)} (or TP)")
    video = str(row["video"])
    if video not in folders:
        raise ValueError(f"video {video} is not in {MAP_FILE}")
    choices = tuple(str(row[f"a{i}"]).strip() for i in range(5))
    answer = int(row["answer"])
    if not 0 <= answer < len(choices):
        raise ValueError(f"answer {answer} is not an index 0-4")
    lines = [f"{LETTERS[i]}. {choice}" for i, choice in enumerate(choices)]
    return Sample(
        id=f"{video}_{row['qid']}",
        kind=task.kind,
        question="\n".join([str(row["question"]).strip(), *lines]),
        video=VideoRef(str(videos / f"{folders[video]}.mp4")),
        choices=choices,
        target=LETTERS[answer],
        meta={"category": qtype[0], "type": qtype, "video_id": video},
    )


def import_predictions(paths: Sequence[Path], samples_of: SamplesOf) -> dict[str, dict[str, str | None]]:
    """Official result files (``results/*.json``: ``{"<video>_<qid>": {"prediction": i, "answer": j}}``); each goes
    to the split whose question ids it covers, its predictions written as option letters.

    Raises:
        TempevalError: not that schema, ids of neither split, or an answer that disagrees with the annotations.
    """
    splits = {f"nextqa_mc_{split}": {s.id: s for s in samples_of(f"nextqa_mc_{split}")} for split in SPLITS}
    imported: dict[str, dict[str, str | None]] = {}
    for path in paths:
        predictions = read_results_json(path)
        if not isinstance(predictions, dict) or not predictions:
            raise TempevalError(f"{path}: expected the official {{'<video>_<qid>': {{prediction, answer}}}} object.")
        name = next((n for n, samples in splits.items() if set(predictions) <= set(samples)), None)
        if name is None:
            raise TempevalError(f"{path}: its question ids are not all of one split ({', '.join(SPLITS)}).")
        outputs = imported.setdefault(name, {})
        for qid, entry in predictions.items():
            sample = splits[name][qid]
            if not isinstance(entry, dict) or not isinstance(entry.get("prediction"), int):
                raise TempevalError(f"{path}: {qid} has no integer 'prediction'.")
            if "answer" in entry and LETTERS[int(entry["answer"])] != sample.target:
                raise TempevalError(f"{path}: {qid} has answer {entry['answer']} where the annotations give "
                                    f"{LETTERS.index(str(sample.target))}: the results were made from other files.")
            prediction = entry["prediction"]
            outputs[qid] = LETTERS[prediction] if 0 <= prediction < len(sample.choices) else str(prediction)
    return imported
