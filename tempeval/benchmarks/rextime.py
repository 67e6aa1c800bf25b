"""ReXTime (ReXTime/ReXTime @ cb9f4841; NeurIPS 2024 D&B): reasoning across time, answered with its evidence window.

Format: the hub's validation records (``load_dataset("ReXTime/ReXTime", split="validation")`` in the official
demo), one JSON object per question with ``qid`` ("qvh_val241", "anet_val92"), ``vid``, ``duration``, ``question``,
``options`` (four texts), ``ans`` (the right letter) and the evidence window as ``relevant_windows`` (``[[s, e],
...]``, as in the GitHub ``data/rextime_val.jsonl``) or ``span`` (``[s, e]``, the demo's field). 921 validation
questions (the test set's 2,143 answers are held by the leaderboard). Videos: QVHighlights clips under
``qvh_videos``, ActivityNet ones under ``anet_videos`` (dataset options), ``<vid>.mp4``, told apart by the qid's
prefix. Meta: ``source`` (``qvh``/``anet``), ``video_id``.

Metrics (``evaluation/rextime_eval.py`` ``eval_submission`` with answers and windows, reproduced in
:func:`grounded_qa`): accuracy (``VQA``: the letter equals ``ans``); for the window, the evidence window with the
highest IoU is chosen (``compute_temporal_iou_batch_cross``: union = the two lengths minus the overlap; ties and
NaN go to the first, as ``np.argmax``), then the IoU is recomputed against it with union = hull (``..._paired``,
"not the correct union though"; the same value for overlapping windows); mIoU, R1@θ (IoU ≥ θ; the brief reports
0.3 and 0.5, here 0.3/0.5/0.7) and Acc@IoU θ (right answer AND IoU ≥ θ; "VQA,mIoU@0.5" in the official brief).
The official rounds each to two decimals; tempeval does not. It asserts that every question has a prediction (the
full denominator, as tempeval). Official mode leaves the window unclipped (:mod:`grounded_qa`).

Importer: the official submission file ``{"qid", "pred_relevant_windows": [[s, e], ...], "ans"}`` per line.

Parity (checked outside the repository against ``rextime_eval.py`` at cb9f4841): 660 questions, all eight reported
metrics equal (the official's two-decimal rounding aside).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempeval.benchmarks.grounded_qa import evidence_windows, make_target, predicted_window
from tempeval.data import convert_records, dataset_dir, read_json, read_jsonl, require
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring.metrics import MetricValue, Row, Unit, ratio
from tempeval.scoring.parsers import LETTERS
from tempeval.task import Task
from tempeval.types import Sample, VideoRef

if TYPE_CHECKING:  # pragma: no cover - typing only
    from tempeval.importing import SamplesOf

ANNOTATIONS = "rextime_val.json"
THRESHOLDS: tuple[float, ...] = (0.3, 0.5, 0.7)
PAPER_COUNT = 921
"""Validation questions (README; ``data/rextime_val.jsonl`` has 921 lines)."""
TASK = "rextime_val"


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """The validation questions with their evidence windows.

    Raises:
        TempevalError: the file is missing or holds no readable record (a malformed one is skipped with a warning).
    """
    relative = str((dataset.options.get("annotations") or [ANNOTATIONS])[0])
    path = require(dataset, options, [relative])[relative]
    records = read_jsonl(path) if path.suffix == ".jsonl" else read_json(path)
    if not isinstance(records, list):
        raise TempevalError(f"{path}: expected a list of question records, got {type(records).__name__}.")
    folder = dataset_dir(dataset, options)
    folders = {
        "qvh": folder / str(dataset.options.get("qvh_videos", "videos")),
        "anet": folder / str(dataset.options.get("anet_videos", "Anet_videos_15fps_short256")),
    }
    items = ((f"record #{i} (qid {r.get('qid') if isinstance(r, dict) else '?'})", r) for i, r in
             enumerate(records, start=1))
    return convert_records(path, items, lambda _, record: _sample(path, record, folders, task))


def _sample(path: Path, record: Any, folders: dict[str, Path], task: Task) -> Sample:
    if not isinstance(record, dict):
        raise TempevalError(f"{path}: a record is a {type(record).__name__}, not an object")
    qid = str(record["qid"])
    source = qid.split("_", 1)[0]
    if source not in folders:
        raise TempevalError(f"{path}: qid {qid} starts neither with qvh_ nor with anet_")
    options = tuple(str(o) for o in record["options"])
    letter = str(record["ans"]).strip().upper()
    if len(options) < 2 or letter not in LETTERS[: len(options)]:
        raise TempevalError(f"{path}: qid {qid} has ans {record['ans']!r}, not a letter of its {len(options)} options")
    windows = record.get("relevant_windows") or [record["span"]]
    if not all(isinstance(w, list) and len(w) >= 2 and float(w[0]) <= float(w[1]) for w in windows):
        raise TempevalError(f"{path}: qid {qid} has evidence windows {windows!r}, not [[start, end], ...]")
    return Sample(
        id=qid,
        kind=task.kind,
        question=str(record.get("question") or record["query"]),
        video=VideoRef(str(folders[source] / f"{record['vid']}.mp4")),
        choices=options,
        target=make_target(letter, [w[:2] for w in windows]),
        meta={"source": source, "video_id": str(record["vid"]), "duration": record.get("duration")},
    )


def _cross_iou(predicted: tuple[float, float], truth: tuple[float, float]) -> float:
    """``compute_temporal_iou_batch_cross`` for one pair (NaN when the union is 0, as numpy's 0/0)."""
    inter = max(min(predicted[1], truth[1]) - max(predicted[0], truth[0]), 0.0)
    union = (predicted[1] - predicted[0]) + (truth[1] - truth[0]) - inter
    if union == 0:
        return math.nan
    return inter / union


def _paired_iou(predicted: tuple[float, float], truth: tuple[float, float]) -> float:
    """``compute_temporal_iou_batch_paired`` for one pair: union = hull, 0 when it is 0."""
    inter = max(0.0, min(predicted[1], truth[1]) - max(predicted[0], truth[0]))
    union = max(predicted[1], truth[1]) - min(predicted[0], truth[0])
    return inter / union if union != 0 else 0.0


def official_iou(row: Row) -> float:
    """The row's IoU by the official rules: pick the evidence window of highest IoU (NaN first), then the hull IoU."""
    predicted = predicted_window(row)
    if predicted is None:
        return 0.0
    windows = evidence_windows(row)
    ious = [_cross_iou(predicted, truth) for truth in windows]
    chosen = next((i for i, v in enumerate(ious) if math.isnan(v)), max(range(len(ious)), key=lambda i: (ious[i], -i)))
    return _paired_iou(predicted, windows[chosen])


def grounded_qa(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """Accuracy, mIoU, R1@θ and Acc@IoU θ over every question."""
    scored = [(row, official_iou(row)) for row in rows]
    out = {
        "accuracy": ratio([Unit(r.cluster, r.value) for r, _ in scored]),
        "mIoU": ratio([Unit(r.cluster, iou) for r, iou in scored]),
    }
    out.update({f"R1@{t}": ratio([Unit(r.cluster, float(iou >= t)) for r, iou in scored]) for t in THRESHOLDS})
    out.update(
        {f"Acc@IoU{t}": ratio([Unit(r.cluster, float(r.value >= 1.0 and iou >= t)) for r, iou in scored])
         for t in THRESHOLDS}
    )
    return out


def import_predictions(paths: Sequence[Path], samples_of: SamplesOf) -> dict[str, dict[str, str | None]]:
    """Import official submission files (JSON lines ``{"qid", "pred_relevant_windows", "ans"}``).

    Each line becomes ``"<ans>, <start> - <end>"`` from the first predicted window (as the official reads it).

    Raises:
        TempevalError: a line without those fields, an unknown qid, or one question imported twice.
    """
    samples = {sample.id: sample for sample in samples_of(TASK)}
    outputs: dict[str, str | None] = {}
    for path in paths:
        for number, line in enumerate(read_jsonl(path), start=1):
            if not isinstance(line, dict) or "qid" not in line or "ans" not in line:
                raise TempevalError(f"{path}: line {number} has no qid and ans; is it a ReXTime submission file?")
            qid = str(line["qid"])
            if qid not in samples:
                raise TempevalError(f"{path}: line {number} has qid {qid!r}, not in the validation annotations.")
            if qid in outputs:
                raise TempevalError(f"{path}: line {number} answers {qid} a second time; import one model at a time.")
            windows = line.get("pred_relevant_windows") or []
            if not windows or len(windows[0]) < 2:
                raise TempevalError(f"{path}: line {number} ({qid}) has no pred_relevant_windows [[start, end]].")
            start, end = windows[0][:2]
            outputs[qid] = f"{line['ans']}, {float(start)} - {float(end)}"
    return {TASK: outputs}
