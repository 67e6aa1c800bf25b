"""YouCook2 (Zhou et al., AAAI 2018) dense captioning: every recipe step of a cooking video, timed and described.

Annotations: ``youcookii_annotations_trainval.json`` from the YouCook2 site (``youcookii_annotations_trainval.tar.gz``),
schema ``{"database": {"<youtube_id>": {"duration": 241.62, "subset": "training" | "validation", "recipe_type":
"113", "annotations": [{"segment": [90, 102], "id": 0, "sentence": "..."}, ...], "video_url": "..."}}}``. The test
split's annotations are not public, so the benchmark split is ``validation`` (457 videos in the release; papers
report on it). Videos: ``<videos>/<youtube_id>.mp4`` (the site's raw videos, or any re-encode, flattened).

One sample per video (id = the YouTube id), target = its steps as events in file order, ``meta`` = recipe type.
Scoring: the ActivityNet dense-captioning protocol (``tempeval.scoring.dense``), which is what the YouCook2 papers
(and PDVC, Vid2Seq) run on it: localisation P/R/F1 at tIoU 0.3/0.5/0.7/0.9, BLEU-4 / METEOR / CIDEr on matched
events, SODA_c. A reversed segment is an error naming the video (the release has none).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempeval.benchmarks.grounding import checked_events
from tempeval.data import convert_records, read_json, require, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.task import Task
from tempeval.types import Sample, VideoRef

if TYPE_CHECKING:
    from tempeval.importing import SamplesOf

ANNOTATIONS = "youcookii_annotations_trainval.json"
SUBSETS = ("validation", "training")
QUESTION = "Localize every step of the recipe in the video and describe each in one sentence."


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """Every video of the task's subset (default ``validation``), in file order."""
    subset = task.subset or "validation"
    if subset not in SUBSETS:
        raise TempevalError(f"{task.source_file}: YouCook2 subset {subset!r} is not one of {', '.join(SUBSETS)}.")
    path = require(dataset, options, [ANNOTATIONS])[ANNOTATIONS]
    raw = read_json(path)
    database = raw.get("database") if isinstance(raw, dict) else None
    if not isinstance(database, dict):
        raise TempevalError(
            f"{path}: expected {{\"database\": {{\"<youtube_id>\": {{\"duration\", \"subset\", \"annotations\"}}}}}} "
            "(youcookii_annotations_trainval.json); re-download it."
        )
    videos = video_dir(dataset, options)
    items = (
        (f"video {video}", (video, record))
        for video, record in database.items()
        if isinstance(record, dict) and record.get("subset") == subset
    )
    return convert_records(path, items, lambda _, item: _sample(item[0], item[1], subset, path, videos))


def _sample(video: str, record: dict[str, Any], subset: str, path: Path, videos: Path) -> Sample:
    where = f"{path}: video {video}"
    try:
        duration, steps = float(record["duration"]), record["annotations"]
        pairs = [(step["segment"], str(step["sentence"]).strip()) for step in steps]
    except (KeyError, TypeError, ValueError) as exc:
        raise TempevalError(
            f"{where}: needs duration and annotations of {{segment, sentence}} ({type(exc).__name__}: {exc}); "
            "re-download the file."
        ) from None
    if not pairs:
        raise TempevalError(f"{where}: no annotated step; a dense-captioning sample needs at least one.")
    events = checked_events(pairs, where, "step")
    return Sample(
        id=video,
        kind="dense_captioning",
        question=QUESTION,
        video=VideoRef(str(videos / f"{video}.mp4")),
        target=events,
        meta={"video_id": video, "subset": subset, "duration": duration, "recipe_type": str(record.get("recipe_type"))},
    )


def import_predictions(paths: Sequence[Path], samples_of: SamplesOf) -> dict[str, dict[str, str | None]]:
    """densevid submission files (PDVC, Vid2Seq outputs) as ``{"youcook2_dense": {video: answer}}``."""
    from tempeval.benchmarks.densevid import import_submissions

    return import_submissions(paths, samples_of, ["youcook2_dense"])
