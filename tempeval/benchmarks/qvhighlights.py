"""QVHighlights (Lei et al. 2021, jayleicn/moment_detr): moment retrieval and highlight detection.

Annotations: ``data/highlight_val_release.jsonl`` (1,550 queries) and ``data/highlight_test_with_gt.jsonl``
(1,542), one query per line: ``qid``, ``query``, ``duration``, ``vid`` (``{youtube_id}_{start}_{end}``),
``relevant_windows`` ([[start, end], ...] in seconds; several for a third of the queries), ``relevant_clip_ids``
(2-s clips) and ``saliency_scores`` (three annotators, 0-4, per relevant clip). Videos: ``<videos>/<vid>.mp4``.

Answers. A model's free text gives one window (score 1, no saliency). An official prediction
``{"qid", "pred_relevant_windows": [[start, end, score], ...], "pred_saliency_scores": [one per 2-s clip]}``
(``tempeval import --benchmark qvhighlights``) is kept as its JSON in the record's output, and the scorers read it.
The parsed answer is ``{"windows": [[start, end, score], ...], "saliency": [...] or null}``; the per-sample score
is the IoU of the top window with the closest ground-truth window.

Metrics: ``standalone_eval/eval.py``'s, under its names. ``MR-full-R1@0.5/0.7``: the top window's IoU with the
closest ground-truth window reaches the threshold. ``MR-full-mAP`` (mean over IoU 0.5, 0.55, ..., 0.95),
``MR-full-mAP@0.5/@0.75``: ActivityNet detection AP per query (greedy one-to-one matching, VOC-interpolated), averaged
over queries; ``MR-{short,middle,long}-mAP``: the same over queries with ground-truth windows of length (0, 10],
(10, 30], (30, 150] s, each query keeping only its windows in that range (a subset without queries is omitted).
``HL-min-{Fair,Good,VeryGood}-{mAP,Hit1}``: clip saliency labels binarised at >= 2 / 3 / 4; Hit1 = the top-scored
clip is positive for at least one annotator; mAP = mean over queries and annotators of the AP of the predicted clip
scores. The HL metrics are reported only when some answer predicts saliency (absent, not 0, for free text).

Official quirks (reproduced by ``qvhighlights.official``):

1. mAP takes the first 10 windows *as listed*, then ranks them by score; R1 takes the first listed window,
   whatever its score.
2. Saliency AP (``get_ap``) is the mean interpolated precision at each distinct score threshold where recall rises
   (tied scores are one step); a query whose binary labels are all 0 has AP 0, all 1 AP 1. The predicted scores are
   cut or zero-padded to ``int(duration / 2)`` clips; Hit1 takes the first of tied top clips, 0 when it lies beyond
   the video.
3. Predictions are not clipped to the video. Free text is read by TimeChat's parser
   (:mod:`tempeval.benchmarks.grounding`).
4. The official script rejects a submission that misses a query; here a missing, failed or unparseable answer is a
   query with no windows and no saliency (AP 0, R1 miss, Hit1 0), kept in the denominator.
5. Reversed windows (start > end) are kept. In the mAP code a reversed window whose length equals a ground-truth
   window's length has union ``(e - s) + (ge - gs) - 0 = 0`` and IoU 0/0 = NaN; NaN fails the "below threshold"
   test and sorts first, so it is a true positive at every threshold wherever it lies (the val ground truth with every
   window reversed scores MR-full-mAP 99.76, R1 0, with the official script). R1 uses another IoU (union = max
   end - min start): 0 there.
   The official scorer marks its answers ``"official": true`` and the mAP metric then reproduces this; strict
   answers give such windows IoU 0. The importer warns when a submission has reversed windows.

Strict mode (``qvhighlights.strict``) ranks windows by score before taking the top 1 / top 10, clips them to the
video, and reads free text with tempeval's window parser.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tempeval.benchmarks.grounding import check_window, is_number, parse_timechat, split_file
from tempeval.data import convert_records, read_jsonl, require, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring.metrics import MetricValue, Row, Unit, ratio
from tempeval.scoring.parsers import Parsed, parse_window
from tempeval.scoring.scorers import Reference, clip_window, iou, target_windows
from tempeval.task import Task
from tempeval.types import Sample, Score, VideoRef

if TYPE_CHECKING:
    from tempeval.importing import SamplesOf

SPLIT_FILES = {"val": "data/highlight_val_release.jsonl", "test": "data/highlight_test_with_gt.jsonl"}
TASKS = {"val": "qvhighlights_val", "test": "qvhighlights_test"}
CLIP_SECONDS = 2
MAX_PREDICTED_WINDOWS = 10
MR_IOU_THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
LENGTH_RANGES = {"short": (0.0, 10.0), "middle": (10.0, 30.0), "long": (30.0, 150.0)}
"""Ground-truth window lengths (low, high] in seconds of the mAP subsets; ``full`` keeps every window."""
SALIENCY_LEVELS = {"Fair": 2, "Good": 3, "VeryGood": 4}
"""Minimum annotator score of a positive clip, per HL level."""

Windows = list[list[float]]
"""Ranked predicted windows, each [start, end, score]."""


# ---------------------------------------------------------------------------------------------------- loading


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """Every query of the task's split, in file order; the sample id is the ``qid``."""
    split, name = split_file(task, dataset, SPLIT_FILES)
    path = require(dataset, options, [name])[name]
    videos = video_dir(dataset, options)
    items = ((f"record #{n}", record) for n, record in enumerate(read_jsonl(path)))
    return convert_records(path, items, lambda label, record: _sample(record, split, f"{path}: {label}", videos))


def _sample(record: Any, split: str, where: str, videos: Path) -> Sample:
    try:
        qid, vid, query = record["qid"], str(record["vid"]), str(record["query"])
        where = f"{where} (qid {qid})"
        windows = [check_window(window, where, ordered=True) for window in record["relevant_windows"]]
        clip_ids = [int(clip) for clip in record["relevant_clip_ids"]]
        saliency = [[int(score) for score in scores] for scores in record["saliency_scores"]]
        duration = float(record["duration"])
    except (KeyError, TypeError, ValueError) as exc:
        raise TempevalError(
            f"{where}: needs qid, query, vid, duration, relevant_windows, relevant_clip_ids and saliency_scores "
            f"({type(exc).__name__}: {exc}). Use the files with ground truth (highlight_val_release.jsonl, "
            "highlight_test_with_gt.jsonl); highlight_test_release.jsonl has none."
        ) from None
    if not windows or len(clip_ids) != len(saliency) or any(not 0 <= c < duration // CLIP_SECONDS for c in clip_ids):
        raise TempevalError(
            f"{where}: needs at least one relevant window and one saliency triple per relevant clip id, each clip "
            f"inside the {duration:g}-s video. The file is damaged; re-download it."
        )
    return Sample(
        id=str(qid),
        kind="grounding",
        question=query,
        video=VideoRef(str(videos / f"{vid}.mp4")),
        target=windows[0] if len(windows) == 1 else windows,
        meta={
            "video_id": vid, "qid": qid, "split": split, "duration": duration,
            "relevant_clip_ids": clip_ids, "saliency_scores": saliency,
        },
    )


# ---------------------------------------------------------------------------------------------------- scoring


def official(output: str, reference: Reference) -> Score:
    """``standalone_eval/eval.py``'s reading: windows as listed, not clipped; free text by TimeChat's parser."""
    return _score(output, reference, strict_mode=False)


def strict(output: str, reference: Reference) -> Score:
    """Windows ranked by score and clipped to the video; free text by tempeval's window parser."""
    return _score(output, reference, strict_mode=True)


def _score(output: str, reference: Reference, *, strict_mode: bool) -> Score:
    windows: Windows
    saliency: list[float] | None
    prediction = _official_prediction(output)
    if prediction is None:
        parsed: Parsed = parse_window(output) if strict_mode else parse_timechat(output)
        if not parsed.ok:
            return Score(0.0, None, parsed=False, explanation=parsed.reason)
        windows, saliency = [[*parsed.answer, 1.0]], None
    else:
        try:
            windows, saliency = _prediction_fields(prediction)
        except ValueError as exc:
            return Score(0.0, None, parsed=False, explanation=f"malformed official prediction: {exc}")
    if strict_mode:
        duration = reference.duration_s if reference.duration_s is not None else reference.meta.get("duration")
        ranked = sorted(windows, key=lambda window: -window[2])  # stable, as the official sort
        windows = [[*clip_window((start, end), duration), score] for start, end, score in ranked]
    value = _top_iou(windows, target_windows(reference.target))
    answer: dict[str, Any] = {"windows": windows, "saliency": saliency}
    if not strict_mode:
        answer["official"] = True  # the mAP metric then reproduces the reversed-window quirk (docstring, 5)
    return Score(value, answer, explanation=f"IoU {value:.3f} (top window of {len(windows)})")


def _official_prediction(output: str) -> Mapping[str, Any] | None:
    """The official prediction object an imported record holds, or None for a model's free text."""
    if not output.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(output)
    except ValueError:
        return None
    keys = ("pred_relevant_windows", "pred_saliency_scores")
    return value if isinstance(value, dict) and any(key in value for key in keys) else None


def _prediction_fields(prediction: Mapping[str, Any]) -> tuple[Windows, list[float] | None]:
    """(windows as listed, saliency or None); ValueError for anything the official script could not read."""
    windows = []
    for window in prediction.get("pred_relevant_windows") or []:
        if not (isinstance(window, list) and len(window) == 3 and all(map(is_number, window))):
            raise ValueError(f"a window must be [start, end, score], got {window!r}")
        windows.append([float(v) for v in window])
    saliency = prediction.get("pred_saliency_scores")
    if saliency is not None and not (isinstance(saliency, list) and saliency and all(map(is_number, saliency))):
        raise ValueError("pred_saliency_scores must be a non-empty list of numbers (one per 2-s clip)")
    return windows, None if saliency is None else [float(s) for s in saliency]


def _top_iou(windows: Windows, ground_truth: Sequence[tuple[float, float]]) -> float:
    """IoU of the first window with the closest ground-truth window; 0 without windows."""
    if not windows:
        return 0.0
    top = (windows[0][0], windows[0][1])
    return max(iou(top, window) for window in ground_truth)


def _ranked(answer: Any) -> tuple[Windows, list[float] | None]:
    """(windows, saliency) from a record's answer: the scorers' dict, a plain [start, end], or None."""
    if answer is None:
        return [], None
    if isinstance(answer, Mapping):
        return [list(w) for w in answer.get("windows") or []], answer.get("saliency")
    return [[float(answer[0]), float(answer[1]), 1.0]], None


def _is_official(answer: Any) -> bool:
    """Whether a record's answer came from the official scorer (the mAP code's NaN IoU applies)."""
    return isinstance(answer, Mapping) and bool(answer.get("official"))


# ---------------------------------------------------------------------------------------------------- metrics


def moment_retrieval(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """MR-full-R1@0.5/0.7, MR-full-mAP(@0.5, @0.75) and MR-{short,middle,long}-mAP, as ``eval.py`` defines them."""
    answers = [_ranked(row.answer)[0] for row in rows]
    official = [_is_official(row.answer) for row in rows]
    truths = [target_windows(row.target) for row in rows]
    tops = [(row.cluster, _top_iou(windows, truth)) for row, windows, truth in zip(rows, answers, truths, strict=True)]
    out = {
        f"MR-full-R1@{threshold}": ratio([Unit(cluster, float(value >= threshold)) for cluster, value in tops])
        for threshold in (0.5, 0.7)
    }
    memo: dict[tuple[int, tuple[tuple[float, float], ...]], list[float]] = {}
    for subset, bounds in (("full", None), *LENGTH_RANGES.items()):
        units: list[tuple[Row, list[float]]] = []
        for index, (row, windows, truth) in enumerate(zip(rows, answers, truths, strict=True)):
            kept = tuple(truth if bounds is None else (w for w in truth if bounds[0] < w[1] - w[0] <= bounds[1]))
            if kept:
                if (index, kept) not in memo:
                    memo[(index, kept)] = _detection_ap(windows, kept, official=official[index])
                units.append((row, memo[(index, kept)]))
        if not units:
            continue
        out[f"MR-{subset}-mAP"] = ratio([Unit(row.cluster, sum(ap) / len(ap)) for row, ap in units])
        if subset == "full":
            for threshold in (0.5, 0.75):
                column = MR_IOU_THRESHOLDS.index(threshold)
                out[f"MR-full-mAP@{threshold}"] = ratio([Unit(row.cluster, ap[column]) for row, ap in units])
    return out


def _detection_ap(
    windows: Windows, ground_truth: Sequence[tuple[float, float]], *, official: bool = False
) -> list[float]:
    """AP of one query's windows at each MR threshold (MMAction2's ``compute_average_precision_detection``).

    ``official``: an IoU of 0/0 (a reversed window as long as a ground-truth one) is NaN, sorts first and matches
    at every threshold, as in the official numpy code; otherwise it is 0.
    Plain Python: with ten windows and a few ground-truth windows per query, numpy's per-call cost dominates.
    """
    predictions = sorted(windows[:MAX_PREDICTED_WINDOWS], key=lambda window: -window[2])
    matched: list[set[int]] = [set() for _ in MR_IOU_THRESHOLDS]
    hits: list[list[bool]] = [[] for _ in MR_IOU_THRESHOLDS]
    for start, end, _ in predictions:
        ious = [_detection_iou((start, end), window, official=official) for window in ground_truth]
        # numpy's argsort()[::-1] of the original: descending, NaN first, ties in reverse index order.
        closest_first = sorted(range(len(ious)), key=lambda j: (math.isnan(ious[j]), 0.0 if math.isnan(ious[j])
                                                                 else ious[j]))[::-1]
        for t, threshold in enumerate(MR_IOU_THRESHOLDS):
            # The closest ground-truth window not below the threshold (NaN is not) that no higher-scored window
            # matched.
            match = next((j for j in closest_first if not ious[j] < threshold and j not in matched[t]), None)
            if match is not None:
                matched[t].add(match)
            hits[t].append(match is not None)
    # Neighbouring thresholds mostly give the same hits: compute each distinct ranking's AP once.
    aps: dict[tuple[bool, ...], float] = {}
    for column in map(tuple, hits):
        if column not in aps:
            aps[column] = _voc_ap(column, len(ground_truth))
    return [aps[tuple(column)] for column in hits]


def _detection_iou(predicted: tuple[float, float], truth: tuple[float, float], *, official: bool = False) -> float:
    """The mAP code's IoU: the union is both lengths minus the intersection (not max end - min start).

    A union of 0 (a reversed window exactly as long as the truth) is NaN when ``official``, else IoU 0.
    """
    intersection = max(0.0, min(predicted[1], truth[1]) - max(predicted[0], truth[0]))
    union = (predicted[1] - predicted[0]) + (truth[1] - truth[0]) - intersection
    if union == 0 and official:
        return math.nan
    return intersection / union if union > 0 else 0.0


def _voc_ap(hits: Sequence[bool], positives: int) -> float:
    """VOC 2011 interpolated AP of ranked hits: the precision envelope times each rise in recall."""
    precision, recall, found = [0.0], [0.0], 0
    for rank, hit in enumerate(hits, start=1):
        found += hit
        precision.append(found / rank)
        recall.append(found / positives)
    precision.append(0.0)
    recall.append(1.0)
    for k in range(len(precision) - 2, -1, -1):
        precision[k] = max(precision[k], precision[k + 1])
    return sum((recall[k] - recall[k - 1]) * precision[k] for k in range(1, len(recall)))


def highlight_detection(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """HL-min-{Fair,Good,VeryGood}-{mAP,Hit1}; empty when no answer predicts clip saliency."""
    predicted = [_ranked(row.answer)[1] for row in rows]
    if all(saliency is None for saliency in predicted):
        return {}
    absent = np.zeros((len(SALIENCY_LEVELS), 2))
    scores = [
        absent if saliency is None else _highlight_scores(saliency, _clip_scores(row.meta))
        for row, saliency in zip(rows, predicted, strict=True)
    ]
    out: dict[str, MetricValue] = {}
    for level_index, level in enumerate(SALIENCY_LEVELS):
        for column, metric in enumerate(("mAP", "Hit1")):
            units = [Unit(row.cluster, float(s[level_index, column])) for row, s in zip(rows, scores, strict=True)]
            out[f"HL-min-{level}-{metric}"] = ratio(units)
    return out


def _clip_scores(meta: Mapping[str, Any]) -> np.ndarray:
    """Annotator scores of every 2-s clip of the video, (clips, 3); clips outside the relevant ones score 0."""
    scores = np.zeros((int(float(meta["duration"]) / CLIP_SECONDS), 3))
    scores[np.asarray(meta["relevant_clip_ids"], dtype=int)] = meta["saliency_scores"]
    return scores


def _highlight_scores(saliency: Sequence[float], clip_scores: np.ndarray) -> np.ndarray:
    """(AP averaged over the annotators, Hit@1) of one query's clip scores, one row per saliency level.

    AP is ``get_ap`` of ``standalone_eval/utils.py``: sklearn's precision-recall curve over the distinct scores,
    precision interpolated, then the mean precision at each point where recall changes. All levels and annotators
    are computed at once, one column each.
    """
    predicted = np.asarray(saliency, dtype=float)
    top = int(np.argmax(predicted))
    clips, annotators = clip_scores.shape
    fitted = np.zeros(clips)  # cut or zero-padded to the video's clips
    fitted[: min(clips, len(predicted))] = predicted[:clips]
    minima = np.asarray(list(SALIENCY_LEVELS.values()))
    labels = (clip_scores[:, None, :] >= minima[None, :, None]).reshape(clips, -1).astype(float)
    hit1 = labels[top].reshape(len(minima), annotators).max(axis=1) if top < clips else np.zeros(len(minima))
    order = np.argsort(fitted, kind="mergesort")[::-1]
    last_of_each_score = np.append(np.flatnonzero(np.diff(fitted[order])), clips - 1)
    positives = np.cumsum(labels[order], axis=0)[last_of_each_score][::-1]  # lowest threshold first
    ones = np.ones((1, labels.shape[1]))
    precision = np.maximum.accumulate(np.vstack([positives / (last_of_each_score[::-1, None] + 1), ones]), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):  # all-0 columns: replaced below
        recall = np.vstack([positives / positives[0], 0 * ones]).astype(np.float32)
    steps = np.diff(recall, axis=0) != 0
    ap = (precision[:-1] * steps).sum(axis=0) / np.maximum(steps.sum(axis=0), 1)
    constant = labels.min(axis=0) == labels.max(axis=0)  # all 0 -> AP 0, all 1 -> AP 1 (get_ap's special case)
    ap = np.where(constant, labels[0], ap).reshape(len(minima), annotators).mean(axis=1)
    return np.stack([ap, hit1], axis=1)


# ---------------------------------------------------------------------------------------------------- importing


def import_predictions(paths: Sequence[Path], samples_of: SamplesOf) -> dict[str, dict[str, str | None]]:
    """Official ``.jsonl`` submissions, each matched to the split whose qids it covers; output = the JSON line."""
    outputs: dict[str, dict[str, str | None]] = {}
    submissions = [path for path in paths if path.suffix == ".jsonl"]
    if not submissions:
        raise TempevalError(
            f"No .jsonl prediction file among {', '.join(map(str, paths))}; QVHighlights submissions are JSON lines "
            '{"qid", "pred_relevant_windows", "pred_saliency_scores"}.'
        )
    for path in submissions:
        records = read_jsonl(path)
        if not all(isinstance(r, dict) and "qid" in r for r in records):
            raise TempevalError(f"{path}: every line must be an object with a 'qid' (the official submission format).")
        qids = [str(record["qid"]) for record in records]
        task = _task_covering(qids, path, samples_of)
        _warn_reversed(path, records)
        lines = {qid: json.dumps(record, separators=(",", ":")) for qid, record in zip(qids, records, strict=True)}
        outputs.setdefault(task, {}).update(lines)
    return outputs


def _warn_reversed(path: Path, records: Sequence[Mapping[str, Any]]) -> None:
    """Warn that reversed windows (start > end) are scored as the official script does, which can reward them."""
    reversed_windows = sum(
        1
        for record in records
        for window in record.get("pred_relevant_windows") or []
        if isinstance(window, list) and len(window) >= 2 and all(map(is_number, window[:2])) and window[0] > window[1]
    )
    if reversed_windows:
        warnings.warn(
            f"{path}: {reversed_windows} predicted window(s) are reversed (start > end). They are kept as the official "
            "script keeps them; its mAP counts a reversed window as long as a ground-truth window as a true positive "
            "at every IoU threshold (IoU 0/0 = NaN), so official MR-mAP overrates this submission. Strict mode "
            "scores them IoU 0.",
            stacklevel=2,
        )


def _task_covering(qids: list[str], path: Path, samples_of: SamplesOf) -> str:
    """The task (split) whose samples include every qid of a submission; val is tried first."""
    unknown: set[str] = set()
    for task in TASKS.values():
        unknown = set(qids) - {sample.id for sample in samples_of(task)}
        if not unknown:
            return task
    raise TempevalError(
        f"{path}: qids {', '.join(sorted(unknown)[:5])} ... are in neither split "
        f"({', '.join(TASKS.values())}); is this a QVHighlights submission?"
    )
