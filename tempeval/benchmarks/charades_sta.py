"""Charades-STA (Gao et al. 2017): find the moment of a Charades video that a sentence describes.

Annotations: TimeChat's COCO-style conversion of the test split (``metrics/tvg/example_gt_file.json``; 3,720
queries over 1,334 videos): ``{"annotations": [{"image_id": "3MSZA.mp4", "caption": "person turn a light on.",
"timestamp": [24.3, 30.4], "id": 0}, ...]}``. Videos: Charades_v1_480 ``<VID>.mp4`` under the videos folder.

Scoring: R1@0.3/0.5/0.7 and mIoU; official mode is TimeChat's parser and ``eval_tvg.py`` (see
:mod:`tempeval.benchmarks.grounding` for its quirks), strict mode is tempeval's window parser.

Importer: TimeChat's prediction files keyed by the annotation ``id`` — the raw inference output (a list of
``{"id", "generated_cap", ...}``; the text is kept and parsed at scoring time) or the formatted file
``{"<id>": {"timestamp": [[start, end]] or []}}`` that ``eval_tvg.py`` reads. A formatted entry is kept as its JSON
(``{"timestamp": [[start, end]]}``, the first window only, as ``eval_tvg.py`` reads) and its numbers are scored as
given, never re-parsed from text: officially a reversed or negative window is used as it is (IoU by the formula, no
swap, no clipping); strict clips it to the video and refuses a reversed one. ``[]`` is unparseable (a miss).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempeval.benchmarks import grounding
from tempeval.benchmarks.grounding import check_window
from tempeval.data import convert_records, read_json, require, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring import scorers
from tempeval.scoring.scorers import Reference, iou, judge_answer, target_windows
from tempeval.task import Task
from tempeval.types import Sample, Score, VideoRef

if TYPE_CHECKING:
    from tempeval.importing import SamplesOf

TASK = "charades_sta"


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """Every query of the annotation file, in file order; the sample id is the annotation ``id``."""
    path = next(iter(require(dataset, options).values()))
    raw = read_json(path)
    records = raw.get("annotations") if isinstance(raw, dict) else None
    if not isinstance(records, list):
        raise TempevalError(
            f"{path}: expected TimeChat's COCO-style file {{\"annotations\": [{{\"image_id\", \"caption\", "
            "\"timestamp\", \"id\"}, ...]}. Fetch it again with 'tempeval data fetch charades_sta'."
        )
    videos = video_dir(dataset, options)
    items = ((f"annotation #{index}", record) for index, record in enumerate(records))
    return convert_records(path, items, lambda label, record: _sample(record, f"{path}: {label}", videos))


def _sample(record: Any, where: str, videos: Path) -> Sample:
    try:
        video, caption, query_id = str(record["image_id"]), str(record["caption"]), record["id"]
        window = check_window(record["timestamp"], f"{where} (id {query_id})", ordered=True)
    except (KeyError, TypeError) as exc:
        raise TempevalError(
            f"{where}: needs image_id, caption, timestamp and id (missing {exc}). The file is not TimeChat's "
            "Charades-STA conversion; re-download it."
        ) from None
    return Sample(
        id=str(query_id),
        kind="grounding",
        question=caption.strip(),
        video=VideoRef(str(videos / video)),
        target=window,
        meta={"video_id": Path(video).stem},
    )


def import_predictions(paths: Sequence[Path], samples_of: SamplesOf) -> dict[str, dict[str, str | None]]:
    """TimeChat prediction files (raw or formatted) as ``{"charades_sta": {sample_id: output}}``."""
    known = {sample.id for sample in samples_of(TASK)}
    outputs: dict[str, str | None] = {}
    for path in paths:
        for query_id, text in _predictions(read_json(path), path).items():
            if query_id not in known:
                raise TempevalError(
                    f"{path}: prediction for id {query_id}, which is not a Charades-STA test query. Is this a "
                    "prediction file for another dataset?"
                )
            outputs[query_id] = text
    return {TASK: outputs}


def _predictions(raw: Any, path: Path) -> dict[str, str]:
    """Query id -> answer text, from either TimeChat prediction format."""
    if isinstance(raw, list) and all(isinstance(r, Mapping) and {"id", "generated_cap"} <= r.keys() for r in raw):
        return {str(r["id"]): str(r["generated_cap"]) for r in raw}
    if isinstance(raw, Mapping) and all(isinstance(v, Mapping) and "timestamp" in v for v in raw.values()):
        # The formatted file holds the parsed window (or none): kept as numbers in JSON, never re-parsed as text.
        return {str(k): _formatted_text(v["timestamp"], f"{path}: id {k}") for k, v in raw.items()}
    raise TempevalError(
        f"{path}: not a TimeChat prediction file. Expected the inference output [{{\"id\", \"generated_cap\", ...}}] "
        "or the formatted file {\"<id>\": {\"timestamp\": [[start, end]]}}."
    )


def _formatted_text(windows: Any, where: str) -> str:
    if not isinstance(windows, list):
        raise TempevalError(f"{where}: 'timestamp' must be a list of [start, end] windows, got {windows!r}.")
    return json.dumps({"timestamp": [check_window(w, where) for w in windows[:1]]})


_FREE_TEXT = (False, None)


def _formatted_window(output: str) -> tuple[bool, tuple[float, float] | None]:
    """(is an imported formatted entry, its window or None when empty); ``(False, None)`` for free text.

    Only the exact shape the importer writes counts: ``{"timestamp": [[s, e], ...]}`` with numbers (not booleans).
    Anything else starting with ``{"timestamp"`` (``[5, 9]``, ``[["a", 2]]``, ``[[5]]``) is free text, read by the
    free-text parser as the official pipeline would, never an exception. A live model that writes exactly the
    importer's shape is read as a formatted entry too (the two cannot be told apart from the text).
    """
    if not output.startswith('{"timestamp"'):
        return _FREE_TEXT
    try:
        windows = json.loads(output)["timestamp"]
    except (ValueError, KeyError, TypeError):
        return _FREE_TEXT
    if not isinstance(windows, list) or not all(_is_window(w) for w in windows):
        return _FREE_TEXT
    return True, ((float(windows[0][0]), float(windows[0][1])) if windows else None)


def _is_window(value: object) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) for x in value
    )


def official(output: str, reference: Reference) -> Score:
    """An imported formatted window as given (``eval_tvg.py``: no swap, no clip); free text by TimeChat's parser."""
    formatted, window = _formatted_window(output)
    if not formatted:
        return grounding.official(output, reference)
    if window is None:
        return Score(0.0, None, parsed=False, explanation="no predicted window in the formatted file")
    value = max(iou(window, truth) for truth in target_windows(reference.target))  # not even clipped at 0
    return Score(value, list(window), explanation=f"IoU {value:.3f} (formatted window as given)")


def strict(output: str, reference: Reference) -> Score:
    """An imported formatted window clipped to the video (reversed: unparseable); free text by tempeval's parser."""
    formatted, window = _formatted_window(output)
    if not formatted:
        return scorers.strict(output, reference)
    if window is None or window[0] > window[1]:
        reason = "no predicted window" if window is None else f"start after end ({window[0]:g} > {window[1]:g})"
        return Score(0.0, None, parsed=False, explanation=f"{reason} in the formatted file")
    return judge_answer("window", window, reference)
