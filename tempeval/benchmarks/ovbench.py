"""OVBench (MCG-NJU/VideoChat-Online @ 012712af, MIT; CVPR 2025) as streams: past / current / future questions
asked at their times.

Annotations are in the repository (``lmms-eval-ovbench/lmms_eval/tasks/ovbench_full/ovbench_full/json/``), one
file per source: ``coin.json`` (1,948 questions on 601 videos) and ``hirest.json`` (1,714 on 450) point at mp4
files; ``ava.json`` (1,396 on 64) and ``tao.json`` (1,947 on 326) at frame folders. In all, 7,005 questions on
1,441 videos at this commit (the paper's own count was not checked here). Each item has ``video``, ``start``,
``end`` (the part shown), ``question``, ``candidates``, ``answer`` (the right candidate's text) and
``answer_type`` (PastMemory, SpatialPerception, TemporalPerception, SpatioTemporalPerception, Hallucination,
FuturePrediction).

tempeval's protocol: one stream per video; each question is a query-time multiple-choice query asked at its
``end`` (every ``start`` is 0 in these files, so the official clip and the stream up to ``end`` agree), scored on
the first answer at or after it. Frame folders are read by :mod:`tempeval.video`: AVA's are 1 fps, as tempeval
assumes without an ``fps.txt``; TAO's have per-item rates (8-60 fps), so each TAO folder needs an ``fps.txt``
holding its item's ``fps`` (the loader refuses one that lacks it and names the value to write).

Official view (parser mode ``official``, ``utils.py``): the reply's letter is read as ``mcq_acc`` does (a leading
"X." option, else the first lone A-E in the punctuation-stripped reply), right iff it is the answer's letter,
and ``answered_query_accuracy`` leaves unanswered questions out of the denominator as
``ovbench_aggregate_results`` does; tempeval's ``query_time_accuracy`` keeps them, as 0.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tempeval.data import convert_records, read_json, require, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring.parsers import LETTERS
from tempeval.scoring.scorers import Reference
from tempeval.task import Task
from tempeval.types import Sample, Score, VideoRef
from tempeval.video import FRAME_FOLDER_FPS, FRAME_FOLDER_FPS_FILE

FOLDER_SOURCES = ("ava", "tao")
"""Sources whose videos are frame folders."""
JSON_DIR = "json"


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """One stream sample per video of the task's source (``subset``: coin, hirest, ava or tao)."""
    sources = dict(dataset.options.get("sources") or {})
    if task.subset not in sources:
        raise TempevalError(f"{task.source_file}: an ovbench task needs 'subset' (one of {', '.join(sources)}).")
    name = f"{JSON_DIR}/{task.subset}.json"
    path = require(dataset, options, [name])[name]
    items = read_json(path)
    if not isinstance(items, list):
        raise TempevalError(f"{path}: expected a JSON list of questions; re-download it from VideoChat-Online.")
    videos = video_dir(dataset, options) / str(sources[task.subset])
    by_video: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
    for index, item in enumerate(items):
        if isinstance(item, Mapping) and isinstance(item.get("video"), str):
            by_video.setdefault(item["video"], []).append((index, item))
    subset = str(task.subset)

    def convert(label: str, group: list[tuple[int, Mapping[str, Any]]]) -> list[Sample]:
        try:
            return [_stream(group, subset, videos)]
        except (KeyError, TypeError, ValueError, IndexError, SyntaxError) as exc:
            raise TempevalError(
                f"{path}: {label} is malformed ({exc!r}). OVBench items need video, end, question, candidates and "
                "answer (one of the candidates); re-download the file."
            ) from None

    return convert_records(path, [(f"video {video!r}", group) for video, group in by_video.items()], convert)


def _stream(group: Sequence[tuple[int, Mapping[str, Any]]], subset: str, videos: Path) -> Sample:
    video = str(group[0][1]["video"])
    path = videos / video
    if subset == "tao":
        _check_fps(path, group[0][1])
    queries = [_query(index, item) for index, item in group]
    return Sample(
        id=Path(video).stem if subset not in FOLDER_SOURCES else video, kind="streaming",
        question=f"{len(queries)} question(s) on {video}", video=VideoRef(str(path)), target=queries,
        meta={"video_id": video, "source": subset,
              "answer_types": sorted({str(item["answer_type"]) for _, item in group})},
    )


def _check_fps(folder: Path, item: Mapping[str, Any]) -> None:
    fps = float(item.get("fps", FRAME_FOLDER_FPS))
    if fps != FRAME_FOLDER_FPS and folder.is_dir() and not (folder / FRAME_FOLDER_FPS_FILE).is_file():
        raise TempevalError(
            f"{folder}: this TAO frame folder is {fps:g} fps (its annotation says so) but has no "
            f"{FRAME_FOLDER_FPS_FILE}; tempeval would read it as {FRAME_FOLDER_FPS:g} fps. Write {fps:g} into "
            f"{folder / FRAME_FOLDER_FPS_FILE}."
        )


def _candidates(value: Any) -> list[str]:
    """The candidates: a JSON list, or the string of a Python list as some copies store them."""
    if isinstance(value, str):
        value = ast.literal_eval(value)
    if not isinstance(value, list) or not value:
        raise ValueError(f"candidates {value!r} is not a non-empty list")
    return [str(candidate) for candidate in value]


def _query(index: int, item: Mapping[str, Any]) -> dict[str, Any]:
    candidates = _candidates(item["candidates"])
    answer = str(item["answer"])
    if answer not in candidates:
        raise ValueError(f"answer {answer!r} is not one of its candidates")
    return {
        "query_id": f"q{index}", "asked_at_s": float(item["end"]), "text": str(item["question"]),
        "answer_format": "letter", "choices": candidates, "due_windows": None,
        "target": LETTERS[candidates.index(answer)],
    }


_PUNCTUATION = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",",
                "?", "!")
_PERIOD = re.compile(r"(?!<=\d)(\.)(?!\d)")
_COMMA = re.compile(r"(\d)(\,)(\d)")


def official_letter(reply: str) -> str:
    """``mcq_acc``'s reading of a reply: a leading ``X.`` option's letter, else the first lone A-E after its
    punctuation is stripped, else the stripped lower-case text."""
    leading = re.match(r"^([A-E])\.\s*(.+)$", reply.strip(), re.IGNORECASE)
    if leading:
        return leading.group(1).upper()
    original = text = reply.replace("\n", " ").replace("\t", " ").strip()
    for mark in _PUNCTUATION:  # each mark is judged on the unstripped text, as processPunctuation does
        spaced = mark + " " in original or " " + mark in original or _COMMA.search(original) is not None
        text = text.replace(mark, "" if spaced else " ")
    text = _PERIOD.sub("", text).strip("'").strip('"').strip(")").strip("(").strip().lower()
    lone = re.search(r"\b([A-E])\b", text, re.IGNORECASE)
    return lone.group(1).upper() if lone else text


def official_content(output: str, reference: Reference) -> Score:
    """The official rule on one answer: right iff :func:`official_letter` of the reply is the answer's letter."""
    letter = official_letter(output)
    return Score(float(letter == str(reference.target)), letter or None, parsed=letter in LETTERS[:5])


def official(output: str, reference: Reference) -> Score:
    """The stream scored with answers read by the official rule (parser mode ``official``)."""
    from tempeval.scoring.stream_records import stream_scorer

    return stream_scorer(official_content)(output, reference)
