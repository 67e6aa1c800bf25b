"""VidText (shuyansy/VidText @ 6f5c110c): video text understanding. Loader and scorers for its eight tasks.

Format: ``data/<file>.json`` (GitHub; the hub has the videos), a list of records per task; videos
``<folder>/videos/<video_id>.mp4`` (hub folders, one per task, ``video_folders`` in the dataset options). Sample id:
the record's position (1-based; ids repeat across and within files). Tasks, their files and counts (2,878 in all):

=======================  ===========================  ======  =============================================
task (subset)            file                         items   answer, metric
=======================  ===========================  ======  =============================================
holistic_ocr             holisticOCRTest1.json        511     all text in the video; token F1
local_ocr                LocalOCRtest.json            546     the texts of a time interval; token F1
text_localization        TextLocalization.json        554     when a text appears; mIoU
local_reasoning          LocalReasoning.json          405     multiple choice; accuracy
temporal_causal          tempCausalReasoning.json      99     multiple choice; accuracy
spatial_reasoning        spatialReasoning.json         88     multiple choice; accuracy
text_tracking            TextTracking.json            472     which bounding boxes (A-D); accuracy
holistic_reasoning       holisticReasoning.json       203     three right options at once; accuracy
=======================  ===========================  ======  =============================================

Prompts: each task's official prompt from ``Evaluation/benchmark.py``, built by the loader into the question (the
task files' template is ``{question}``), quirks kept: the local OCR and text localization prompts join their
sentences without a space ("...based on its content.Question: ..."), and text tracking joins its lines with no
separator at all. Local reasoning's "temporal text order" records have ``choices`` (letter -> list of texts)
instead of ``options``, which ``run_Local_reasoning`` does not read (it raises KeyError on them); here the list is
printed as Python prints it.

Official scoring (``Evaluation/Evaluation.py``), with the deviations the released files force:

1. **OCR F1** (:func:`text_f1`, ``prf1``): lower-cased tokens (``\\d+/[a-z0-9]+``, runs of CJK, ``[a-z0-9/]+``, any
   other symbol), overlap counted with multiplicity; precision over the prediction's tokens, recall over the
   truth's, F1 per item, averaged. Local OCR first reads the answer as JSON and joins it with spaces when that
   works (a JSON *string* is joined character by character: '"AB"' reads "A B"; :func:`local_ocr_official`).
   ``eval_ocr`` and ``eva_TextLocalization`` read a ``ground_truth`` key that the released files do not have
   (they have ``answer``): read literally, every holistic OCR and localization item scores 0. tempeval reads
   ``answer``.
2. **Localization** (:func:`localization_official`): the official prompt never names the text to find
   (``run_TextLocalization`` omits the record's question); tempeval puts the question before it. The answer must be
   a JSON object ``{"start": s, "end": e}``
   (``json.loads`` of the whole answer: a code fence or any prose makes it IoU 0; a non-object crashed the
   original, here IoU 0); IoU 0 when an end precedes its start; no clipping. The ground truth "[0.0s, 30.0s]" (or
   "[20:15s, 20:20s]", minutes:seconds) is converted to seconds.
3. **Accuracy tasks**: ``eval_accuracy`` reads an ``is_correct`` that the inference script wrote (text tracking's
   never writes one, so its official accuracy is 0 for every model). tempeval scores from the raw answer with the
   inference script's ``parse_single_option`` (:func:`single_option_official`): remove "Answer", "Correct
   Answer", "Option" and ":", strip, and take the first character if it is A-D ("(B)" is wrong, "Both" reads B,
   "Correct Answer: D" reads C).

Strict: F1 tasks score the same F1 (an empty answer is flagged unparseable), localization uses tempeval's window
parser (first explicit range, else the first two times, so '{"start": 1, "end": 2}' reads too; clipped to the
video), multiple choice tempeval's letter parser.

4. **Holistic reasoning** (:func:`multi_options_official`) asks for three options at once ("Correct Answers: A, B,
   C"); the inference script's ``parse_multi_options`` keeps the *set* of letters A-D found anywhere in the
   upper-cased answer and in the ground truth, and they must be equal. So the requested label "CORRECT ANSWERS"
   itself adds C and A (the asked-for format "Correct Answers: A, B, E" reads {A, B, C}), options E-G are never
   read on either side (the truth "A, B, E" is {A, B}: "A, B" is right), and prose adds whatever capitals it
   holds. Strict (answer format ``letters``): a label, then a list of option letters, the same set as the truth.

Parity (checked outside the repository against ``Evaluation.py`` / ``benchmark.py`` at 6f5c110c, ``ground_truth``
supplied as the official expects): OCR and local OCR F1 720 cases, localization 64, ``parse_single_option`` 292,
``parse_multi_options`` 320; 0 disagreements.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tempeval.data import convert_records, dataset_dir, read_subset_file
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring.parsers import LETTERS
from tempeval.scoring.scorers import Reference, iou
from tempeval.task import Task
from tempeval.types import Sample, Score, VideoRef


@dataclass(frozen=True)
class VidTextTask:
    """One VidText task: its annotation file, hub video folder and how a record becomes a question."""

    file: str
    folder: str
    build: Callable[[Path, Mapping[str, Any]], tuple[str, tuple[str, ...], Any]]
    """(prompt text, option texts, target) of one record."""


def _holistic_ocr(path: Path, record: Mapping[str, Any]) -> tuple[str, tuple[str, ...], Any]:
    prompt = (
        "Recognize all visual texts in the video. If the text is not in English, do not provide an English "
        "translation. Do not include any descriptions, narrative, or context. Output only the extracted text lines, "
        "each on a new line."
    )
    return prompt, (), str(record["answer"])


def _local_ocr(path: Path, record: Mapping[str, Any]) -> tuple[str, tuple[str, ...], Any]:
    answer = record["answer"]
    if not isinstance(answer, list):
        raise TempevalError(f"{path}: question {record.get('question_id')} has answer {answer!r}, not a list of texts")
    prompt = (
        "Watch the video and answer the following question based on its content."
        f"Question: {record['question']}"
        "Please output only the texts that appear in the specified time interval as a JSON array of strings, "
        "with each element representing one piece of text. Do not include any additional description or translation."
    )
    return prompt, (), " ".join(str(text) for text in answer)


_GT_TIME = r"(\d+(?::\d+)?(?:\.\d+)?)s"
_GT_WINDOW = re.compile(rf"^\[\s*{_GT_TIME}\s*,\s*{_GT_TIME}\s*\]$")


def gt_seconds(token: str) -> float:
    """A ground-truth time "12.5" or "20:15" (minutes:seconds) in seconds."""
    total = 0.0
    for part in token.split(":"):
        total = total * 60 + float(part)
    return total


def gt_window(text: str) -> tuple[float, float]:
    """A TextLocalization ground truth "[0.0s, 30.0s]" / "[20:15s, 20:20s]" as (start, end) seconds."""
    found = _GT_WINDOW.match(text.strip())
    if not found:
        raise ValueError(f"answer {text!r} is not '[<start>s, <end>s]'")
    start, end = gt_seconds(found.group(1)), gt_seconds(found.group(2))
    if start > end:
        raise ValueError(f"answer {text!r} ends before it starts")
    return start, end


def _text_localization(path: Path, record: Mapping[str, Any]) -> tuple[str, tuple[str, ...], Any]:
    prompt = (
        "Watch the video and answer the following question based on its content."
        "Please provide the time interval (in seconds, precise to 0.1s) during which the text appears in the video. "
        "Output your answer in JSON format with keys 'start' and 'end'. For example: {\"start\": 0.0, \"end\": 30.0}. "
        "Do not include any extra commentary."
    )
    # The official prompt does not name the text; the record's question does ("When does the text '...' exist").
    return f"{record['question']}\n{prompt}", (), list(gt_window(str(record["answer"])))


def _option_text(value: Any) -> str:
    return str(value)  # a list of texts prints as Python prints it (the official f-string would)


def _multiple_choice(path: Path, record: Mapping[str, Any]) -> tuple[str, tuple[str, ...], Any]:
    raw = record.get("options", record.get("choices"))
    if isinstance(raw, dict):
        pairs = [(str(k), _option_text(v)) for k, v in raw.items()]
    elif isinstance(raw, list):
        pairs = [(str(o["option_id"]), _option_text(o["text"])) for o in raw]
    else:
        raise TempevalError(f"{path}: a record has neither 'options' nor 'choices'")
    if [k for k, _ in pairs] != list(LETTERS[: len(pairs)]):
        raise TempevalError(f"{path}: option ids {[k for k, _ in pairs]} are not A, B, C, ...")
    answer = record["answer"]
    letter = str(answer["option_id"] if isinstance(answer, dict) else answer).strip()
    if letter not in LETTERS[: len(pairs)]:
        raise TempevalError(f"{path}: answer {answer!r} is not one of the option ids")
    body = "\n".join(f"Option {k}: {text}" for k, text in pairs)
    prompt = (
        "Watch the video and answer the following multiple-choice question based on its content.\n\n"
        f"Question: {record['question']}\n\nOptions:\n{body}\n\nOnly output the correct option."
    )
    return prompt, tuple(text for _, text in pairs), letter


def _holistic_reasoning(path: Path, record: Mapping[str, Any]) -> tuple[str, tuple[str, ...], Any]:
    options = record["option"]
    if not isinstance(options, dict) or sorted(options) != list(LETTERS[: len(options)]):
        raise TempevalError(f"{path}: a record's 'option' is not an object of letters A, B, ... -> text")
    answer = sorted({letter.strip() for letter in str(record["answer"]).split(",")})
    if not answer or not all(letter in options for letter in answer):
        raise TempevalError(f"{path}: answer {record['answer']!r} is not a list of its option letters")
    prompt = (
        "Watch the video carefully and select the correct three answers.\n\n"
        f"Question: {record['question']}\n\nOptions:\n"
        + "\n".join(f"{k}: {v}" for k, v in sorted(options.items()))
        + "\n\nPlease output your answer in the format: `Correct Answers: A, B, C`\nDo not provide any additional "
        "explanations."
    )
    return prompt, tuple(str(options[k]) for k in sorted(options)), answer


def _text_tracking(path: Path, record: Mapping[str, Any]) -> tuple[str, tuple[str, ...], Any]:
    boxes = record["choices"]
    labels = [str(c["label"]) for c in boxes]
    if labels != list(LETTERS[: len(labels)]) or str(record["correct_label"]) not in labels:
        raise TempevalError(f"{path}: choice labels {labels} / correct_label {record.get('correct_label')!r} are bad")
    texts = tuple(f"start_points={c['start_points']}, end_points={c['end_points']}" for c in boxes)
    lines = [f"{record['question']} We have four possible bounding boxes:"]
    lines += [f"Option {label}: {text}" for label, text in zip(labels, texts, strict=True)]
    lines.append("Which option (A/B/C/D) is correct?")
    return "".join(lines), texts, str(record["correct_label"])


TASKS: dict[str, VidTextTask] = {
    "holistic_ocr": VidTextTask("data/holisticOCRTest1.json", "HolisticOCR", _holistic_ocr),
    "holistic_reasoning": VidTextTask("data/holisticReasoning.json", "HolisticReasoning", _holistic_reasoning),
    "local_ocr": VidTextTask("data/LocalOCRtest.json", "LocalOCR", _local_ocr),
    "text_localization": VidTextTask("data/TextLocalization.json", "TextLocalization", _text_localization),
    "local_reasoning": VidTextTask("data/LocalReasoning.json", "LocalReasoning", _multiple_choice),
    "temporal_causal": VidTextTask("data/tempCausalReasoning.json", "TemporalCausalReasoning", _multiple_choice),
    "spatial_reasoning": VidTextTask("data/spatialReasoning.json", "SpatialReasoning", _multiple_choice),
    "text_tracking": VidTextTask("data/TextTracking.json", "TextTracking", _text_tracking),
}
PAPER_COUNTS: dict[str, int] = {
    "holistic_ocr": 511, "holistic_reasoning": 203, "local_ocr": 546, "text_localization": 554, "local_reasoning": 405,
    "temporal_causal": 99, "spatial_reasoning": 88, "text_tracking": 472,
}
"""Items per task in the annotation files at 6f5c110c: 2,878 in all."""


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """The items of one task (``subset``: a key of :data:`TASKS`).

    Raises:
        TempevalError: an unknown subset, a missing file, or no readable record (a bad one is skipped, warned).
    """
    subset, path, records = read_subset_file(task, dataset, options, TASKS, lambda s: TASKS[s].file)
    if not isinstance(records, list):
        raise TempevalError(f"{path}: expected a list of records, got {type(records).__name__}.")
    spec = TASKS[subset]
    folders = dict(dataset.options.get("video_folders") or {})
    videos = dataset_dir(dataset, options) / str(folders.get(subset, f"{spec.folder}/videos"))
    items = ((f"record #{i} (video {r.get('video_id') if isinstance(r, dict) else '?'})", (i, r)) for i, r in
             enumerate(records, start=1))

    def convert(_: str, item: tuple[int, Any]) -> Sample:
        number, record = item
        if not isinstance(record, dict):
            raise TempevalError(f"{path}: record #{number} is a {type(record).__name__}, not an object")
        prompt, choices, target = spec.build(path, record)
        video_id = str(record["video_id"])
        return Sample(
            id=str(number), kind=task.kind, question=prompt, video=VideoRef(str(videos / f"{video_id}.mp4")),
            choices=choices, target=target, meta={"task": subset, "video_id": video_id},
        )

    return convert_records(path, items, convert)


_TOKEN = re.compile(r"\d+/[a-z0-9]+|[\u4e00-\u9fff]+|[a-z0-9/]+|[^\u4e00-\u9fffa-z0-9\s]")


def tokens(text: str) -> list[str]:
    """The official OCR tokeniser (``tokenize``)."""
    return _TOKEN.findall(text.lower())


def f1(predicted: str, truth: str) -> float:
    """The official ``prf1`` F1 of two texts."""
    predicted_tokens, truth_tokens = tokens(predicted), tokens(truth)
    same = sum(min(predicted_tokens.count(t), truth_tokens.count(t)) for t in set(predicted_tokens) & set(truth_tokens))
    precision = same / len(predicted_tokens) if predicted_tokens else 0.0
    recall = same / len(truth_tokens) if truth_tokens else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def text_f1(output: str, reference: Reference) -> Score:
    """Token F1 against the ground-truth text (both modes); an empty answer is flagged (it scores 0 either way)."""
    value = f1(output, str(reference.target))
    return Score(value, output, parsed=bool(output.strip()), explanation=f"F1 {value:.3f}")


def local_ocr_official(output: str, reference: Reference) -> Score:
    """``eva_localOCR``: a JSON answer is joined with spaces first (whatever JSON it is), else the raw text."""
    predicted: Any = output
    try:
        predicted = " ".join(json.loads(output))
    except Exception:  # noqa: BLE001 - the official ``except Exception: pass``
        predicted = output
    value = f1(str(predicted), str(reference.target))
    return Score(value, str(predicted), explanation=f"F1 {value:.3f}")


def local_ocr_strict(output: str, reference: Reference) -> Score:
    """A JSON array of texts is joined with spaces; any other answer is read as text."""
    try:
        parsed = json.loads(output)
    except ValueError:
        parsed = None
    joined = " ".join(parsed) if isinstance(parsed, list) and all(isinstance(t, str) for t in parsed) else output
    return text_f1(joined, reference)


def localization_official(output: str, reference: Reference) -> Score:
    """``eva_TextLocalization``: the whole answer as a JSON object {start, end}; anything else is IoU 0."""
    try:
        predicted = json.loads(output)
    except ValueError:
        return Score(0.0, None, explanation="not JSON: IoU 0 (the official reads only {\"start\", \"end\"})")
    if not isinstance(predicted, dict):
        return Score(0.0, None, explanation="JSON but not an object: IoU 0 (the official crashed)")
    start, end = predicted.get("start"), predicted.get("end")
    if not all(isinstance(v, (int, float)) for v in (start, end)):  # true/false count as 1/0, as in Python
        return Score(0.0, None, explanation="start or end missing or not a number: IoU 0 (text crashed the official)")
    truth = (float(reference.target[0]), float(reference.target[1]))
    window = (float(start), float(end))  # type: ignore[arg-type]
    value = 0.0 if window[1] < window[0] or truth[1] < truth[0] else iou(window, truth)
    return Score(value, list(window), explanation=f"IoU {value:.3f}")


_A_TO_D = re.compile(r"[A-D]")


def multi_options_official(output: str, reference: Reference) -> Score:
    """``parse_multi_options`` on both sides: the sets of letters A-D anywhere in the upper-cased texts."""
    predicted = sorted(set(_A_TO_D.findall(output.upper())))
    truth = sorted(set(_A_TO_D.findall(", ".join(reference.target).upper())))
    return Score(1.0 if predicted == truth else 0.0, predicted, explanation=f"letters A-D found: {predicted}")


def single_option(text: str) -> str:
    """The inference script's ``parse_single_option``: a letter A-D, or "INVALID"."""
    cleaned = text.replace("Answer", "").replace("Correct Answer", "").replace("Option", "").replace(":", "").strip()
    return cleaned[0] if cleaned and cleaned[0] in "ABCD" else "INVALID"


def single_option_official(output: str, reference: Reference) -> Score:
    """Multiple choice as the inference script decided ``is_correct``; "INVALID" is wrong, not flagged."""
    letter = single_option(output)
    return Score(1.0 if letter == reference.target else 0.0, None if letter == "INVALID" else letter,
                 explanation=f"parse_single_option: {letter}")

