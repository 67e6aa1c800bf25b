"""StreamingBench (THUNLP-MT/StreamingBench @ 89299232; arXiv 2411.03628) as streaming tasks.

Annotations are in the GitHub repository (``src/data/``); videos on the hub (``mjuicem/StreamingBench``). Counts
in the annotations at this commit, against the paper's 4,500 questions on 900 videos:

============================  ==========================================  ===========================
part (paper)                  file read by tempeval                        questions (paper / files)
============================  ==========================================  ===========================
real-time visual              ``questions_real_stream.json`` (498 videos)  2,500 / 2,495 (5 missing)
omni-source                   ``questions_omni*.json``                     1,500 / 1,500: not offered
sequential QA                 ``questions_sqa_stream.json``                  250 / 250
proactive output              ``questions_proactive.json``                   250 / 250
============================  ==========================================  ===========================

**Audio is not evaluated.** The omni-source tasks (emotion recognition, source discrimination, scene
understanding, multimodal alignment, misleading / anomaly context) need the audio track, which tempeval never
gives a model; they are not offered as tasks, so no tempeval number claims to cover them.

The tasks (each sample one video's stream, watched on the virtual clock):

* ``streamingbench_realtime`` and ``streamingbench_sqa``: each question is a query-time query asked at its
  ``time_stamp`` with its four options, scored on the first answer at or after it. Official view (parser mode
  ``official``, ``src/data/count.py``): right iff the answer's first character is the letter, and a question with
  an empty or missing answer is *dropped from the denominator* (``answered_query_accuracy``); tempeval's
  ``query_time_accuracy`` keeps it, as 0. The official SQA prompt repeats the earlier questions and answers of
  the video; tempeval's poll lists only the open questions (the model has seen the earlier ones asked).
* ``streamingbench_proactive``: "when X happens, output Y" is an event query asked at ``time_stamp``, due from
  ``ground_truth_time_stamp`` for 2 s, its content scored against ``ground_truth_output``. The official runner
  polls with a prompt that contains the target ("Is it the right time to output "Y"?"), from ``time_stamp + 1`` to
  ``ground truth + 4`` s on a clip that starts at ``time_stamp``; tempeval's poll never names the target, and the
  model sees the stream from 0 s. The official ±2 s rule is computed from the same log
  (``proactive_time_accuracy``, ``proactive_answer_accuracy``: ``|t - truth| <= 2`` and the target a
  case-sensitive substring of the reply), reported beside tempeval's timing metrics and never mixed with them.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tempeval.data import convert_records, read_json, require, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring.metrics import MetricValue, Row, Unit, ratio
from tempeval.scoring.parsers import LETTERS
from tempeval.scoring.scorers import Reference
from tempeval.task import Task
from tempeval.types import Sample, Score, VideoRef

FILES: dict[str, str] = {
    "realtime": "src/data/questions_real_stream.json",
    "sqa": "src/data/questions_sqa_stream.json",
    "proactive": "src/data/questions_proactive.json",
}
"""Task subset -> the annotation file it reads."""
PROACTIVE_DUE_S = 2.0
"""tempeval's window for a proactive answer: from the ground-truth time to this many seconds after it."""


def seconds(stamp: str) -> float:
    """``"00:03:10"`` (or ``"3:10"``) -> 190.0, as the official code converts them."""
    return float(sum(int(part) * 60**i for i, part in enumerate(reversed(stamp.split(":")))))


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """One stream sample per video of the task's part (``subset``: realtime, sqa or proactive)."""
    if task.subset not in FILES:
        raise TempevalError(f"{task.source_file}: a streamingbench task needs 'subset' (one of {', '.join(FILES)}).")
    name = FILES[task.subset]
    path = require(dataset, options, [name])[name]
    data = read_json(path)
    if not isinstance(data, list):
        raise TempevalError(f"{path}: expected a JSON list of videos; re-download it from the StreamingBench repo.")
    videos = video_dir(dataset, options)
    subset = task.subset
    entries = [(f"video {index}", entry) for index, entry in enumerate(data)]

    def convert(label: str, entry: Any) -> list[Sample]:
        try:
            return [_stream(entry, subset, videos, label)]
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise TempevalError(
                f"{path}: {label} is malformed ({exc!r}). StreamingBench entries need video_path and questions with "
                "task_type, question, time_stamp and answer/options (proactive: ground_truth_time_stamp and "
                "ground_truth_output); re-download the file."
            ) from None

    return convert_records(path, entries, convert)


def _stream(entry: Any, subset: str, videos: Path, label: str) -> Sample:
    parts = entry if isinstance(entry, list) else [entry]  # the SQA file nests a video's clips in a list
    questions = [q for part in parts for q in part["questions"]]
    video = str(parts[0]["video_path"])
    queries = [_query(question, subset, index) for index, question in enumerate(questions)]
    stem = Path(video).stem
    return Sample(
        id=stem, kind="streaming", question=f"{len(queries)} question(s) on {stem}",
        video=VideoRef(str(videos / Path(video).name)), target=queries,
        meta={"video_id": stem, "part": subset, "task_types": sorted({str(q["task_type"]) for q in questions})},
    )


def _query(question: Mapping[str, Any], subset: str, index: int) -> dict[str, Any]:
    asked = seconds(str(question["time_stamp"]))
    if subset == "proactive":
        truth = seconds(str(question["ground_truth_time_stamp"]))
        return {
            "query_id": f"q{index}", "asked_at_s": asked, "text": str(question["question"]), "answer_format": "text",
            "choices": [], "due_windows": [[truth, truth + PROACTIVE_DUE_S]],
            "target": str(question["ground_truth_output"]),
        }
    options = [str(option) for option in question["options"]]
    letter = str(question["answer"]).strip()
    if letter not in LETTERS[: len(options)]:
        raise ValueError(f"answer {letter!r} is not one of the {len(options)} option letters")
    return {
        "query_id": f"q{index}", "asked_at_s": asked, "text": str(question["question"]), "answer_format": "letter",
        "choices": [_without_letter(option) for option in options], "due_windows": None, "target": letter,
    }


def _without_letter(option: str) -> str:
    """``"A. A map."`` -> ``"A map."`` (tempeval letters the options itself)."""
    head, dot, rest = option.partition(". ")
    return rest if dot and len(head) == 1 and head in LETTERS else option


def official_content(output: str, reference: Reference) -> Score:
    """count.py's rules: a letter is right iff the reply's first character is it (an empty reply is not an answer);
    a proactive reply is right iff the target is a case-sensitive substring of it."""
    if reference.answer_format == "letter":
        first = output[:1]
        return Score(float(first == str(reference.target)), first or None, parsed=bool(first))
    return Score(float(str(reference.target) in output), output, parsed=bool(output))


def official(output: str, reference: Reference) -> Score:
    """The stream scored with answers read by :func:`official_content` (the official view; parser mode official)."""
    from tempeval.scoring.stream_records import stream_scorer

    return stream_scorer(official_content, proactive_view)(output, reference)


def strict(output: str, reference: Reference) -> Score:
    """tempeval's view (the strict parser), with the official proactive verdicts kept beside it."""
    from tempeval.scoring.scorers import strict as strict_parser
    from tempeval.scoring.stream_records import stream_scorer

    return stream_scorer(strict_parser, proactive_view)(output, reference)


def proactive_view(entries: Sequence[Any], queries: Sequence[Any]) -> dict[str, dict[str, bool]]:
    """The official ±2 s verdict of each event query (``tempeval.scoring.streaming.streamingbench_proactive``)."""
    from tempeval.scoring.streaming import streamingbench_proactive

    verdicts = {}
    for query in queries:
        if query.due_windows:
            verdict = streamingbench_proactive(entries, query.query_id, query.asked_at_s, query.due_windows[0][0],
                                               str(query.target))
            verdicts[query.query_id] = {"time_correct": verdict.time_correct, "answer_correct": verdict.answer_correct}
    return verdicts


def proactive_official(rows: Sequence[Row], by: str | None = None) -> dict[str, MetricValue]:
    """The official proactive rule from each stream's log: time right within ±2 s of the truth (answers after
    truth + 4 s are never seen), answer right only when the time is; every question in the denominator (an
    errored stream's questions are wrong)."""
    verdicts: list[tuple[Hashable, bool, bool]] = []
    for row in rows:
        official = row.answer.get("official") if isinstance(row.answer, Mapping) else None
        for query in row.target or ():
            if isinstance(query, Mapping) and query.get("due_windows"):
                verdict = (official or {}).get(query["query_id"]) or {}
                verdicts.append((row.cluster, bool(verdict.get("time_correct")), bool(verdict.get("answer_correct"))))
    return {
        "proactive_time_accuracy": ratio([Unit(c, float(t)) for c, t, _ in verdicts]),
        "proactive_answer_accuracy": ratio([Unit(c, float(a)) for c, _, a in verdicts]),
    }
