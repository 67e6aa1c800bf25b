"""MVBench (OpenGVLab/Ask-Anything ``video_chat2/mvbench.ipynb`` @ 4dd8210b): loader, official answer check, importer.

Format: one file ``json/<task>.json`` per task, a list of ``{video, question, candidates, answer, start?, end?}``
records; ``answer`` is the text of the right candidate. Candidates become options A, B, ... in order and the
target is the letter of ``answer``. Videos live under ``<videos>/<folder>/<video>``, the folder per task taken
from the notebook's ``data_list`` (:data:`MVBENCH_TASKS`). TVBench uses this same format (``tvbench.py``).

Prompt (task YAMLs): the notebook's system text, ``Question: ...\\nOptions:\\n(A) ...`` and "Only give the best
option.", all in the user turn as the notebook's ``system_llm=True`` does. The notebook pre-fills the assistant
turn with "Best option:("; not every adapter can pre-fill, so that text ends the prompt instead. 16 frames.

Official answer check (``check_ans`` with the notebook's post-processing), reproduced in :func:`official`:
prediction = "(" + first line of the stripped generation; ground truth = "(X) <answer text>"; both lowercased,
first space-separated token of each; correct when the prediction token with periods removed is a substring of
the ground-truth token, or the other way round. Quirks, all kept in official mode:

* an empty or whitespace-only generation gives "(", a substring of "(a)": counted **correct** (as is ".");
* only the first line counts, and any text glued to the letter still matches ("((a)" or "(a)b" contain "(a)");
* when ``answer`` occurs twice among the candidates the notebook's loop keeps the last one (so does the loader);
* ``start``/``end`` are used only for the tasks the notebook marks as bounded, and ignored elsewhere.

Strict mode (tempeval's ``strict`` scorer) parses one option letter and never counts an empty answer.
Official-mode scores flag outputs that name no option letter as unparseable, so the parse-failure rate shows
how many were counted by the substring rule alone. Frames: tempeval samples segment midpoints in [start, end]
by time; the notebook picks frame indices ``start_idx + seg/2 + round(seg * i)`` (nearly the same frames).
Episodic reasoning reads TVQA frame folders (3 fps JPEGs) in the notebook; tempeval reads frame folders too
(:mod:`tempeval.video`: frames in natural name order, 1 fps unless an ``fps.txt`` in the folder says otherwise),
so each TVQA folder needs an ``fps.txt`` holding 3 (or point the folder at videos made from those frames).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempeval.data import convert_records, read_json, read_subset_file, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring.parsers import LETTERS
from tempeval.scoring.scorers import Reference
from tempeval.task import Task
from tempeval.types import Sample, Score, VideoRef

if TYPE_CHECKING:  # pragma: no cover - typing only
    from tempeval.importing import SamplesOf

PREFILL = "("
"""What the notebook puts back in front of the generation (its ``return_prompt``) before checking it."""


@dataclass(frozen=True)
class TaskSource:
    """Where a task's videos are and whether its records' ``start``/``end`` bound the clip."""

    folder: str
    """Folder of the task's videos, relative to the dataset's video folder."""
    bounded: bool = False
    """The notebook's ``bound`` flag: sample frames within [start, end] seconds."""


MVBENCH_TASKS: dict[str, TaskSource] = {
    "action_sequence": TaskSource("star/Charades_v1_480", bounded=True),
    "action_prediction": TaskSource("star/Charades_v1_480", bounded=True),
    "action_antonym": TaskSource("ssv2_video"),
    "fine_grained_action": TaskSource("Moments_in_Time_Raw/videos"),
    "unexpected_action": TaskSource("FunQA_test/test"),
    "object_existence": TaskSource("clevrer/video_validation"),
    "object_interaction": TaskSource("star/Charades_v1_480", bounded=True),
    "object_shuffle": TaskSource("perception/videos"),
    "moving_direction": TaskSource("clevrer/video_validation"),
    "action_localization": TaskSource("sta/sta_video", bounded=True),
    "scene_transition": TaskSource("scene_qa/video"),
    "action_count": TaskSource("perception/videos"),
    "moving_count": TaskSource("clevrer/video_validation"),
    "moving_attribute": TaskSource("clevrer/video_validation"),
    "state_change": TaskSource("perception/videos"),
    "fine_grained_pose": TaskSource("nturgbd"),
    "character_order": TaskSource("perception/videos"),
    "egocentric_navigation": TaskSource("vlnqa"),
    "episodic_reasoning": TaskSource("tvqa/frames_fps3_hq", bounded=True),  # frame folders in the notebook
    "counterfactual_inference": TaskSource("clevrer/video_validation"),
}
"""The notebook's ``data_list``: task -> video folder and bound flag (in the notebook's order)."""


def annotation_file(subset: str) -> str:
    """The annotation file of one task, relative to the dataset folder."""
    return f"json/{subset}.json"


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """The samples of one MVBench task (``subset`` in the task file names it)."""
    return load_tasks(MVBENCH_TASKS, task, dataset, options)


def load_tasks(
    table: Mapping[str, TaskSource], task: Task, dataset: DatasetEntry, options: LoadOptions
) -> list[Sample]:
    """Load one task of an MVBench-format benchmark whose tasks are described by ``table``.

    Args:
        table: Task name -> video folder and bound flag.
        task: The task; its ``subset`` is a key of ``table``.
        dataset: The registry entry (data folder, video folder).
        options: Where data lives on this machine.

    Returns:
        One sample per record, in file order; the sample id is the record's index in the file.

    Raises:
        TempevalError: the subset is unknown, the file is missing, or no record is readable (a malformed record
            is skipped with a warning).
    """
    subset, path, records = read_subset_file(task, dataset, options, table, annotation_file)
    if not isinstance(records, list):
        raise TempevalError(f"{path}: expected a JSON list of records, got {type(records).__name__}. Re-download it.")
    source, videos = table[subset], video_dir(dataset, options)
    items = ((f"record {index}", (index, record)) for index, record in enumerate(records))
    return convert_records(
        path, items, lambda _, item: _sample(path, item[0], item[1], subset, task, source, videos)
    )


def _sample(path: Path, index: int, record: Any, subset: str, task: Task, source: TaskSource, videos: Path) -> Sample:
    def malformed(problem: str) -> TempevalError:
        return TempevalError(
            f"{path}: record {index} {problem}. Each record needs video, question, candidates (a list of option "
            "texts) and answer (the text of one candidate)"
            + (", plus start and end in seconds" if source.bounded else "")
            + "; fix the record or re-download the file."
        )

    if not isinstance(record, dict):
        raise malformed(f"is a {type(record).__name__}, not an object")
    for key in ("video", "question", "answer"):
        if not isinstance(record.get(key), str) or not record[key]:
            raise malformed(f"has no text '{key}'")
    candidates = record.get("candidates")
    if not isinstance(candidates, list) or not 2 <= len(candidates) <= len(LETTERS):
        raise malformed(f"has no list of 2 to {len(LETTERS)} 'candidates'")
    if not all(isinstance(c, str) for c in candidates):
        raise malformed("has a candidate that is not text")
    matches = [i for i, candidate in enumerate(candidates) if candidate == record["answer"]]
    if not matches:
        raise malformed(f"(video {record['video']!r}) has answer {record['answer']!r}, which is not a candidate")
    relative = f"{source.folder}/{record['video']}"
    start_s, end_s = _bounds(record, malformed) if source.bounded else (None, None)
    return Sample(
        id=str(index),
        kind=task.kind,
        question=record["question"],
        video=VideoRef(str(videos / relative), start_s, end_s),
        choices=tuple(candidates),
        target=LETTERS[matches[-1]],  # the notebook's loop keeps the last matching candidate
        meta={"task": subset, "video_id": relative},
    )


def _bounds(record: dict[str, Any], malformed: Callable[[str], TempevalError]) -> tuple[float, float]:
    given = (record.get("start"), record.get("end"))
    numbers = [float(v) for v in given if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) != 2:
        raise malformed(f"(video {record['video']!r}) needs numeric start and end, got {given[0]!r} and {given[1]!r}")
    start, end = numbers
    if start > end:
        raise malformed(f"(video {record['video']!r}) has start {given[0]} after end {given[1]}")
    return start, end


def official_ground_truth(target: str, choices: Sequence[str]) -> str:
    """The notebook's ground-truth string: ``"(X) <answer text>"``."""
    return f"({target}) {choices[LETTERS.index(target)]}"


def check_ans(pred: str, gt: str) -> bool:
    """The notebook's ``check_ans``, verbatim in effect: first-token substring test, both ways."""
    pred_option = pred.lower().split(" ")[0]
    gt_option = gt.lower().split(" ")[0]
    return pred_option.replace(".", "") in gt_option or gt_option in pred_option


def official(output: str, reference: Reference) -> Score:
    """Score as the MVBench/TVBench notebooks do (quirks in the module docstring).

    Args:
        output: The generation that followed the prompt (the notebook's pre-fill "Best option:(" precedes it).
        reference: Target letter and option texts.

    Returns:
        1.0 when ``check_ans`` accepts it. ``answer`` is the option letter the first token names, if any;
        outputs naming none are flagged unparseable, even when the substring rule counts them correct.
    """
    prediction = PREFILL + output.strip().split("\n")[0]
    correct = check_ans(prediction, official_ground_truth(reference.target, reference.choices))
    token = prediction.lower().split(" ")[0]
    named = token.replace(".", "").strip("()").upper()
    letter = named if len(named) == 1 and named in LETTERS[: len(reference.choices)] else None
    why = f"official check_ans on first token {token!r}: {'correct' if correct else 'wrong'}"
    if letter is None and correct:
        why += " (no option letter; the substring rule counts it, e.g. the empty-answer quirk)"
    return Score(1.0 if correct else 0.0, letter, parsed=letter is not None, explanation=why)


def import_predictions(paths: Sequence[Path], samples_of: SamplesOf) -> dict[str, dict[str, str | None]]:
    """Import MVBench notebook result files (``{"acc_dict": ..., "res_list": [{"pred", "gt"}, ...]}``)."""
    return import_notebook_results("mvbench", MVBENCH_TASKS, paths, samples_of)


def import_notebook_results(
    benchmark: str, table: Mapping[str, TaskSource], paths: Sequence[Path], samples_of: SamplesOf
) -> dict[str, dict[str, str | None]]:
    """Map the notebook's result file onto sample ids, checking every ground truth on the way.

    ``res_list`` has no ids: it is in dataset order, task after task in ``acc_dict`` order, ``acc_dict[task][1]``
    results per task. Each ``gt`` must equal the loaded sample's ``"(X) <answer>"``, which proves the alignment.
    The leading "(" the notebook added to each ``pred`` is removed, since :func:`official` adds it back (a pred
    whose first line ended in a tab or carriage return before a second line is re-stripped: the one case where
    re-scoring can differ from the file).

    Args:
        benchmark: Task name prefix (``mvbench`` or ``tvbench``).
        table: The benchmark's tasks.
        paths: Result files (``save_path + ".json"`` of the notebook).
        samples_of: Task name -> its loaded samples.

    Returns:
        Task name -> {sample id: output text}.
    """
    imported: dict[str, dict[str, str | None]] = {}
    for path in paths:
        results = read_json(path)
        if not (isinstance(results, dict) and isinstance(results.get("acc_dict"), dict)
                and isinstance(results.get("res_list"), list)):
            raise TempevalError(f"{path}: not a {benchmark} notebook result file (needs 'acc_dict' and 'res_list').")
        res_list: list[Any] = results["res_list"]
        position = 0
        for label, counts in results["acc_dict"].items():
            subset = re.sub(r"[^a-z]+", "_", str(label).lower()).strip("_")
            if subset not in table:
                raise TempevalError(f"{path}: acc_dict names '{label}', not a {benchmark} task ({', '.join(table)}).")
            name = f"{benchmark}_{subset}"
            if name in imported:
                raise TempevalError(f"{path}: '{label}' was already imported from another file; import one run.")
            samples = samples_of(name)
            total = int(counts[1])
            if total != len(samples):
                raise TempevalError(
                    f"{path}: '{label}' has {total} results but its annotation file has {len(samples)} questions; "
                    "only complete task results can be aligned (res_list carries no ids)."
                )
            chunk = res_list[position : position + total]
            imported[name] = {
                sample.id: _notebook_output(path, position + offset, result, sample)
                for offset, (sample, result) in enumerate(zip(samples, chunk, strict=True))
            }
            position += total
        if position != len(res_list):
            raise TempevalError(f"{path}: res_list has {len(res_list)} entries but acc_dict counts {position}.")
    return imported


def _notebook_output(path: Path, index: int, result: Any, sample: Sample) -> str:
    expected = official_ground_truth(sample.target, sample.choices)
    if not isinstance(result, dict) or result.get("gt") != expected:
        got = result.get("gt") if isinstance(result, dict) else result
        raise TempevalError(
            f"{path}: res_list[{index}] has gt {got!r} where the annotations give {expected!r}; the file was made "
            "from other annotation files (or reordered tasks), so its predictions cannot be aligned."
        )
    pred = result.get("pred")
    if not isinstance(pred, str) or not pred.startswith(PREFILL):
        raise TempevalError(f"{path}: res_list[{index}] pred {pred!r} does not start with '(' as the notebook writes.")
    return pred[len(PREFILL) :]
