"""MLVU (JUNJIE99/MLVU, CVPR 2025) dev, multiple-choice tasks: loader and the official ``check_ans``.

Files (GitHub ``data/`` @ fd060c10; also hub ``MLVU/MVLU``): one JSON list per task, ``{video, duration, question,
candidates (texts), answer (the right candidate's text), question_type}``; videos ``video/<task>/<video>``. The
seven multiple-choice dev tasks and their sizes: plotQA 539, needle 355, ego 352, count 206, order 259,
anomaly_reco 200, topic_reasoning 264 (2,175). **M-Avg** is the unweighted mean of the seven task accuracies
(``choice_bench.py``: ``final_res['Avg'] = total / idx``), tasks/groups.yaml ``mlvu``. The two generation tasks
(8_sub_scene, 9_summary; **G-Avg**) are scored 1-10 by a GPT-4 judge (``generation_evaluation/``) and are not here.

Prompt (``choice_bench.py``): the system text "Carefully watch this video ...", then ``Question: <q>`` /
``Options:`` / ``(A) <candidate>`` lines, then "Only give the best option." (the official concatenates it straight
after the last option and leaves the separator to each model; here it is a new line) and the answer prefix
"Best Option: (" (in the user turn: tasks have no assistant prefix).

Official ``check_ans(pred, gt)``, reproduced in :func:`official`: if the response contains ")", keep only the
character before the first ")"; the (possibly cut) response must then *equal* the letter. So "A", "(A) x", "A) x"
and "the answer is (A)" are right, while "A.", " A", "Answer: A" and ")A" (nothing before the ")") are wrong.
Such responses are flagged unparseable here (scored 0, kept, as officially).

:func:`import_predictions` reads the file ``choice_bench.py`` saves (``{acc_dict, res_list: [{pred, gt, question,
question_type, video}]}``), matching each result by task, video file and question text.

Quirk kept: a question whose answer text is not among its candidates gets the official gt "(@) ..." and can never be
right, yet stays in the denominator (needle questions 34 and 338 @ fd060c10: "Catching a flying drone quadcopter"
vs the candidate "Catching the drone"; needle's best possible score is 353/355). Here its target is ``None`` (meta
``answer_in_candidates: false``): wrong in both modes, kept in the denominator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempeval.data import convert_records, read_results_json, read_subset_file, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring.parsers import LETTERS
from tempeval.scoring.scorers import Reference
from tempeval.task import Task
from tempeval.types import Sample, Score, VideoRef

if TYPE_CHECKING:  # pragma: no cover - typing only
    from tempeval.importing import SamplesOf

TASK_FILES: dict[str, str] = {
    "plotQA": "data/1_plotQA.json", "needle": "data/2_needle.json", "ego": "data/3_ego.json",
    "count": "data/4_count.json", "order": "data/5_order.json", "anomaly_reco": "data/6_anomaly_reco.json",
    "topic_reasoning": "data/7_topic_reasoning.json",
}
"""The multiple-choice dev tasks (the keys of ``choice_bench.py``'s ``data_list``) and their files."""


def question_block(question: str, candidates: list[str]) -> str:
    """The official ``qa_template`` question: ``Question: ...``, ``Options:``, ``(A) ...`` lines, right-stripped."""
    lines = [f"Question: {question}", "Options:", *(f"({LETTERS[i]}) {c}" for i, c in enumerate(candidates))]
    return "\n".join(lines).rstrip()


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """The questions of one MLVU task (``subset`` names it: plotQA, needle, ...)."""
    subset, path, records = read_subset_file(task, dataset, options, TASK_FILES, TASK_FILES.__getitem__)
    if not isinstance(records, list):
        raise TempevalError(f"{path}: expected a JSON list of questions. Re-download it.")
    videos = video_dir(dataset, options) / subset
    items = ((f"question {i + 1} (video {r.get('video')!r})" if isinstance(r, dict) else f"question {i + 1}", (i, r))
             for i, r in enumerate(records))
    return convert_records(path, items, lambda _, item: _sample(item[0], item[1], subset, task, videos))


def _sample(index: int, record: Mapping[str, Any], subset: str, task: Task, videos: Path) -> Sample:
    candidates = [str(c) for c in record["candidates"]]
    answer = str(record["answer"])
    return Sample(
        id=f"{subset}_{index}",
        kind=task.kind,
        question=question_block(str(record["question"]), candidates),
        video=VideoRef(str(videos / str(record["video"]))),
        choices=tuple(candidates),
        target=LETTERS[candidates.index(answer)] if answer in candidates else None,
        meta={"task": subset, "video_id": str(record["video"]), "answer_in_candidates": answer in candidates},
    )


def official(output: str, reference: Reference) -> Score:
    """Score as ``check_ans``: the character before the first ")" (or the whole response) must equal the letter."""
    pred = output
    if ")" in pred:
        cut = pred.index(")")
        pred = pred[cut - 1:cut]  # cut == 0 gives pred[-1:0] == "" (as the official slicing does)
    if pred not in list(LETTERS[: len(reference.choices)]):  # a list: "" is in every string
        return Score(0.0, None, parsed=False, explanation=f"check_ans compares {pred!r} with the letter: wrong")
    return Score(1.0 if pred == reference.target else 0.0, pred, explanation=f"check_ans letter: {pred}")


def task_name(subset: str) -> str:
    """The tempeval task of an MLVU task key: ``plotQA`` -> ``mlvu_plotqa``."""
    return f"mlvu_{subset.lower()}"


def import_predictions(paths: Sequence[Path], samples_of: SamplesOf) -> dict[str, dict[str, str | None]]:
    """``choice_bench.py`` result files -> ``{mlvu_<task>: {sample_id: pred}}``.

    Raises:
        TempevalError: not that schema, a task or question not in the annotations, a ``gt`` that disagrees with them,
            or one question given twice.
    """
    index: dict[str, dict[tuple[str, str], Sample]] = {}
    imported: dict[str, dict[str, str | None]] = {}
    for path in paths:
        for number, result in enumerate(_results(path)):
            where = f"{path}: res_list[{number}]"
            subset = str(result.get("question_type"))
            if subset not in TASK_FILES:
                raise TempevalError(f"{where} has question_type {subset!r}, not one of {', '.join(TASK_FILES)}.")
            name = task_name(subset)
            if name not in index:
                index[name] = {(Path(s.video.path).name if s.video else "", s.question): s for s in samples_of(name)}
            sample = index[name].get((Path(str(result.get("video"))).name, str(result.get("question"))))
            if sample is None:
                raise TempevalError(f"{where}: no {name} question has its video and question text.")
            if sample.target is not None:
                gt = f"({sample.target}) {sample.choices[LETTERS.index(sample.target)]}"
                if result.get("gt") != gt:
                    raise TempevalError(f"{where} has gt {result.get('gt')!r} where the annotations give {gt!r}.")
            outputs = imported.setdefault(name, {})
            if sample.id in outputs:
                raise TempevalError(f"{where} answers {sample.id} a second time; import one model at a time.")
            outputs[sample.id] = str(result.get("pred", ""))
    return imported


def _results(path: Path) -> list[Mapping[str, Any]]:
    saved = read_results_json(path)
    results = saved.get("res_list") if isinstance(saved, dict) else None
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise TempevalError(f"{path}: expected choice_bench.py's output, an object with a 'res_list' of results.")
    return results
