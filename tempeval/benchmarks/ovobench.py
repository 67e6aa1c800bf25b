"""OVO-Bench (JoeLeelyf/OVO-Bench @ c34093f9; CVPR 2025): questions asked at a moment of a video stream.

Data: one JSON list ``data/ovo_bench_new.json`` (1,640 items, 12 task codes in three modes). Backward tracing
(EPM, ASI, HLD) and real-time perception (STU, OJR, ATR, ACR, OCR, FPD) items are multiple-choice questions
asked at ``realtime`` seconds. Forward active responding items (REC, SSR, CRR) carry ``test_info`` probes; each
probe is one sample (id ``<id>_<i>``, as the official chunk files are named), asked independently at its own
``realtime`` with the official per-code prompt (REC wants a count, SSR and CRR a Yes/No).

Query time: the official offline evaluator feeds a pre-cut file ``[0, ceil(realtime)]``. tempeval never pre-cuts:
each sample's ``query_time_s`` is ``realtime`` itself, the moment the question is asked, and the harness decodes
nothing after it. For the 722 questions whose ``realtime`` is fractional the model sees up to one second less than
the official chunk (every probe time is whole, so probes see exactly the official chunk); the official chunk end
is kept in ``meta['chunk_end_s']``.

Official scoring (``ovobench.official``, utils/OVOBenchScore.py), quirks included:

- multiple choice: right iff the ground-truth letter is a case-sensitive *substring* of the response, so a verbose
  reply counts wherever the letter appears ("Answer: C" is right when the answer is A);
- REC: every digit run in the response is concatenated and compared with the count ("2 men, 3 times" -> "23");
- SSR/CRR: right iff the response is exactly "Y"/"N", or contains "Yes"/"No" case-sensitively, so "Not sure"
  and "None" count as No and a lower-case "yes" as nothing;
- a missing response (the official run's exception) scores 0; tempeval records it as an error, also 0;
- the official script scores every entry of the result file against the file's own ``ground_truth``; the
  importer matches entries to annotation items by id, question and that ground truth, so the two agree.

Strict mode is tempeval's ``strict`` scorer (one option letter, yes/no, the first integer; anything else
unparseable) against the current annotation. Aggregation: accuracy per task code over items (forward: over
probes); a mode score is the unweighted mean of its codes (each task's headline); the group's overall is the
mean of the three mode scores (the Jan-2025 code averaged the 12 codes instead).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from tempeval.data import convert_records, read_json, require, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring.parsers import LETTERS
from tempeval.scoring.scorers import Reference
from tempeval.task import Task
from tempeval.types import Sample, Score, VideoRef

ANNOTATIONS = "data/ovo_bench_new.json"
MODES: dict[str, tuple[str, ...]] = {
    "backward": ("EPM", "ASI", "HLD"),
    "realtime": ("STU", "OJR", "ATR", "ACR", "OCR", "FPD"),
    "forward": ("REC", "SSR", "CRR"),
}
"""Mode (the task's ``subset``; tasks are named ``ovobench_<mode>``) -> its task codes."""

# The official prompts (constant.py); multiple-choice questions use the task file's template instead.
REC_PROMPT = """You're watching a video in which people may perform a certain type of action repetively.
The person performing this kind of action are referred to as 'they' in the following statement.
You're task is to count how many times have different people in the video perform this kind of action in total.
One complete motion counts as one.
Now, answer the following question: How many times did they {activity}?
Provide your answer as a single number (e.g., 0, 1, 2, 3…) indicating the total count.
Do not include any additional text or explanation in your response."""
SSR_PROMPT = """You're watching a tutorial video which contain a sequential of steps.
The following is one step from the whole procedures:
{step}
Your task is to determine if the man or woman in the video is currently performing this step.
Answer only with “Yes” or “No”.
Do not include any additional text or explanation in your response."""
CRR_PROMPT = """You're responsible of answering questions based on the video content.
The following question are relevant to the latest frames, i.e. the end of the video.
{question}
Decide whether existing visual content, especially latest frames, i.e. frames that near the end of the video, \
provide enough information for answering the question.
Answer only with “Yes” or “No”.
Do not include any additional text or explanation in your response."""


def mode_of(code: str) -> str:
    """The mode a task code belongs to."""
    for mode, codes in MODES.items():
        if code in codes:
            return mode
    raise KeyError(code)


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """The samples of one mode (the task's ``subset``): one per question, one per forward probe; for a streaming
    task (forward only), one stream per forward item (:func:`_item_stream`)."""
    if task.kind == "streaming" and task.subset != "forward":
        raise TempevalError(f"{task.source_file}: a streaming ovobench task is the forward mode (subset: forward).")
    if task.subset not in MODES:
        raise TempevalError(f"{task.source_file}: an ovobench task needs 'subset' (one of {', '.join(MODES)}).")
    path = require(dataset, options, [ANNOTATIONS])[ANNOTATIONS]
    items = read_json(path)
    if not isinstance(items, list):
        raise TempevalError(f"{path}: expected a JSON list of items; re-download the file.")
    videos = video_dir(dataset, options)
    mode = task.subset
    chosen = (
        (f"item {index} (id {item.get('id')}, task {item.get('task')})", item)
        for index, item in enumerate(items)
        if isinstance(item, Mapping) and item.get("task") in MODES[mode]
    )

    def convert(label: str, item: Mapping[str, Any]) -> list[Sample]:
        try:
            if task.kind == "streaming":
                return [_item_stream(item, videos)]
            return _item_samples(item, mode, videos)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise TempevalError(
                f"{path}: {label} is malformed ({exc!r}). Re-download the annotation file; OVO-Bench items need "
                "id, video, and realtime/question/options/gt (forward: test_info)."
            ) from None

    return convert_records(path, chosen, convert)


def _item_samples(item: Mapping[str, Any], mode: str, videos: Path) -> list[Sample]:
    code, item_id = str(item["task"]), int(item["id"])
    video = VideoRef(str(videos / str(item["video"])))
    meta = {"task_code": code, "mode": mode, "video_id": str(item["video"]), "item_id": item_id}
    if mode != "forward":
        choices = tuple(str(option) for option in item["options"])
        gt = int(item["gt"])
        if not 0 <= gt < len(choices):
            raise IndexError(f"gt {gt} is not an index into its {len(choices)} options")
        return [
            Sample(
                id=str(item_id), kind="online", question=str(item["question"]), video=video, choices=choices,
                target=LETTERS[gt], query_time_s=float(item["realtime"]),
                meta={**meta, "chunk_end_s": math.ceil(float(item["realtime"]))},
            )
        ]
    return [
        Sample(
            id=f"{item_id}_{index}", kind="online", question=_probe_prompt(code, item, probe), video=video,
            target=int(probe["count"]) if code == "REC" else int(probe["type"]) == 1,
            query_time_s=float(probe["realtime"]), answer_format="number" if code == "REC" else "yes_no",
            meta={**meta, "probe": index, "chunk_end_s": math.ceil(float(probe["realtime"]))},
        )
        for index, probe in enumerate(item["test_info"])
    ]


STREAM_DUE_S = 2.0
"""Streaming forward mode: an answer the annotation says is possible from time ``t`` is due in ``[t, t + 2 s]``
(tempeval's choice; OVO-Bench defines no window)."""


def _item_stream(item: Mapping[str, Any], videos: Path) -> Sample:
    """One forward item as one stream: every probe a query-time query at its ``realtime`` with the official prompt
    (the official probe view), plus the event queries the annotation times: REC "say the count each time they
    complete one more" (due after each ``end_times``), SSR "tell me when they start each step" (due after its
    ``start_time``), CRR the question itself, asked at ``ask_time`` and due from ``clue_time``."""
    code, item_id = str(item["task"]), int(item["id"])
    probes: list[dict[str, Any]] = [
        {
            "query_id": f"probe-{index}",
            "asked_at_s": float(probe["realtime"]),
            "text": _probe_prompt(code, item, probe),
            "answer_format": "number" if code == "REC" else "yes_no",
            "choices": [],
            "due_windows": None,
            "target": int(probe["count"]) if code == "REC" else int(probe["type"]) == 1,
        }
        for index, probe in enumerate(item["test_info"])
    ]

    def due(times: Sequence[Any]) -> list[list[float]]:
        return [[float(t), float(t) + STREAM_DUE_S] for t in times]

    if code == "REC":
        events = [{"query_id": "count", "asked_at_s": 0.0, "repeats": True, "answer_format": "number",
                   "text": f"Each time they complete one more {item['activity']}, say how many times in total "
                           "they have done it so far, as a single number.",
                   "due_windows": due(item["end_times"])}]
    elif code == "SSR":
        events = [{"query_id": f"step-{index}", "asked_at_s": 0.0, "answer_format": "text",
                   "text": f"Tell me as soon as they start this step: {step}", "due_windows": due([start])}
                  for index, (step, start) in enumerate(zip(item["all_steps"], item["start_time"], strict=True))]
    else:
        events = [{"query_id": "answer", "asked_at_s": float(item["ask_time"]), "answer_format": "text",
                   "text": f"{item['question']} Answer as soon as the video shows enough to answer it.",
                   "due_windows": due([max(float(item["clue_time"]), float(item["ask_time"]))])}]
    return Sample(
        id=str(item_id), kind="streaming", question=f"{code} item {item_id}",
        video=VideoRef(str(videos / str(item["video"]))),
        target=[*events, *probes],
        meta={"task_code": code, "mode": "forward", "video_id": str(item["video"]), "item_id": item_id},
    )


def stream_official(output: str, reference: Reference) -> Score:
    """Streaming forward mode, official view: the stream scored with each answer read by :func:`official`, so
    ``query_time_accuracy`` over the probes is OVO-Bench's forward probe accuracy."""
    from tempeval.scoring.stream_records import stream_scorer

    return stream_scorer(official)(output, reference)


def _probe_prompt(code: str, item: Mapping[str, Any], probe: Mapping[str, Any]) -> str:
    if code == "REC":
        return REC_PROMPT.format(activity=item["activity"])
    if code == "SSR":
        return SSR_PROMPT.format(step=probe["step"])
    return CRR_PROMPT.format(question=item["question"])


def official(output: str, reference: Reference) -> Score:
    """The official OVO-Bench rule for the sample's answer format (quirks in the module docstring).

    The official script has no "unparseable"; here an output counts as unparsed (for the parse-failure rate only)
    when the rule finds nothing answer-shaped in it: no option letter, no digit, no Y/N/Yes/No.
    """
    if reference.answer_format == "number":
        digits = "".join(re.findall(r"\d+", output))
        correct = digits == str(reference.target)
        return Score(float(correct), int(digits) if digits else None, parsed=bool(digits),
                     explanation=f"digits concatenated: {digits!r}")
    if reference.answer_format == "yes_no":
        return _official_yes_no(output, bool(reference.target))
    gt = str(reference.target)
    found = "".join(letter for letter in LETTERS[: len(reference.choices) or 26] if letter in output)
    correct = gt in output
    return Score(float(correct), gt if correct else (found or None), parsed=bool(found),
                 explanation=f"'{gt}' {'is' if correct else 'is not'} a substring of the response")


def _official_yes_no(output: str, target: bool) -> Score:
    exact = {"Y": True, "N": False}.get(output)
    says_yes, says_no = "Yes" in output, "No" in output
    if exact is not None:
        answer: bool | None = exact
    else:
        answer = says_yes if says_yes != says_no else None
    correct = exact == target if exact is not None else (says_yes if target else says_no)
    return Score(float(correct), answer, parsed=exact is not None or says_yes or says_no,
                 explanation="exact Y/N" if exact is not None else f"'Yes' in response: {says_yes}, 'No': {says_no}")


class _Entry(NamedTuple):
    """One prediction of an official result file: a question's response, or one forward probe's."""

    code: str
    sample_id: str
    """The id the file implies: the item id, or ``<item id>_<probe index>``."""
    response: str | None
    question: str | None = None
    ground_truth: str | None = None
    realtime: float | None = None


def import_predictions(
    paths: Sequence[Path], samples_of: Callable[[str], list[Sample]]
) -> dict[str, dict[str, str | None]]:
    """Official result files (``{backward, realtime, forward}`` lists, e.g. ``results/Gemini/*.json``) -> outputs.

    Question responses match the annotation item with their id when its question and ground-truth letter agree,
    else the first unmatched item of their code that does: some official files carry stale ids (Gemini's EPM file
    has ids 192, 225 and 239 twice, for items 194, 283 and 240). Probes match ``<id>_<index>`` at the same time.
    A ``null`` response (the official run's failed call) becomes a missing output, recorded as an error (0); a
    one-element list (raw ``batch_decode`` output, as in the official Qwen2-VL files) is its string, with a warning
    naming the file (the official script crashes on such lists). Predictions matching no current item are left out
    with a warning (the official script would count them).
    """
    entries = [entry for path in paths if path.suffix == ".json" for entry in _file_entries(path)]
    outputs: dict[str, dict[str, str | None]] = {}
    for mode in MODES:
        mine = [entry for entry in entries if mode_of(entry.code) == mode]
        if not mine:
            continue
        samples = samples_of(f"ovobench_{mode}")
        matched = _match(mine, samples)
        left_out = len(mine) - len(matched)
        if left_out:
            warnings.warn(
                f"{left_out} OVO-Bench {mode} prediction(s) match no item of the current annotation (questions "
                "changed or removed since the predictions were made, or the same item given twice); they are "
                "left out, though the official script would count them.",
                stacklevel=2,
            )
        outputs[f"ovobench_{mode}"] = {sample_id: entry.response for sample_id, entry in matched.items()}
    return outputs


def _fits(entry: _Entry, sample: Sample) -> bool:
    if entry.realtime is not None:  # a forward probe
        return sample.id == entry.sample_id and sample.query_time_s == entry.realtime
    return (
        sample.meta.get("task_code") == entry.code
        and sample.question.strip() == (entry.question or "").strip()
        and sample.target == entry.ground_truth
    )


def _match(entries: Sequence[_Entry], samples: Sequence[Sample]) -> dict[str, _Entry]:
    """Sample id -> its prediction: by the file's id first, then by question and ground truth (stale ids)."""
    by_id = {sample.id: sample for sample in samples}
    matched: dict[str, _Entry] = {}
    stale: list[_Entry] = []
    for entry in entries:
        sample = by_id.get(entry.sample_id)
        if sample is not None and sample.id not in matched and _fits(entry, sample):
            matched[sample.id] = entry
        else:
            stale.append(entry)
    for entry in stale:
        if entry.realtime is None:
            found = next((s for s in samples if s.id not in matched and _fits(entry, s)), None)
            if found is not None:
                matched[found.id] = entry
    return matched


def _file_entries(path: Path) -> list[_Entry]:
    """Every prediction in one official result file."""
    data = read_json(path)
    if not isinstance(data, Mapping) or not set(data) <= set(MODES):
        raise TempevalError(
            f"{path}: not an OVO-Bench result file (expected an object with lists 'backward', 'realtime', "
            "'forward', as utils/OVOBench.py writes). Pass only official result files."
        )
    found: list[_Entry] = []
    listed = 0
    for index, item in enumerate(item for items in data.values() for item in items):
        listed += sum(_is_listed(entry) for entry in [item, *(item.get("test_info") or [])] if isinstance(entry, dict))
        try:
            code, item_id = str(item["task"]), int(item["id"])
            mode_of(code)
            if "test_info" not in item:
                found.append(
                    _Entry(code, str(item_id), _response(item), str(item["question"]), str(item["ground_truth"]))
                )
                continue
            for probe, info in enumerate(item["test_info"]):
                found.append(_Entry(code, f"{item_id}_{probe}", _response(info), realtime=float(info["realtime"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise TempevalError(
                f"{path}: prediction {index} (id {item.get('id') if isinstance(item, Mapping) else '?'}) is "
                f"malformed ({exc!r}); official items need task, id, question, ground_truth and response "
                "(forward: test_info with realtime and response)."
            ) from None
    if listed:
        warnings.warn(
            f"{path}: {listed} response(s) are one-element lists (raw batch_decode output); each is read as its "
            "string. The official OVOBenchScore.py crashes on them, so these scores have no official counterpart "
            "until the file holds strings.",
            stacklevel=3,
        )
    return found


def _is_listed(entry: Mapping[str, Any]) -> bool:
    response = entry.get("response")
    return isinstance(response, list) and len(response) == 1


def _response(entry: Mapping[str, Any]) -> str | None:
    response = entry.get("response")
    if isinstance(response, list) and len(response) == 1:  # a batch_decode list as some official files store it
        response = response[0]
    if response is not None and not isinstance(response, str):
        raise TypeError(f"response {response!r} is not text")
    return response
