"""Perception Test (google-deepmind/perception_test, NeurIPS 2023 D&B) multiple-choice video QA, validation split.

File ``mc_question_valid.json`` (from ``mc_question_valid_annotations.zip``): ``{video_id: {metadata: {video_id,
frame_rate, num_frames, ...}, mc_question: [{id, question, options (3 texts), answer_id, area, reasoning, tag}]}}``
(README "Multiple-choice video question-answers"); videos ``videos/<video_id>.mp4`` (``valid_videos.zip``). The
sample id is ``<video_id>_<id>``. Test answers are hidden (eval.ai), so the validation split is what papers compare.

Cut videos: in the test split the end of some videos (e.g. cup games) is cut because it gives the answer away; for
validation the README publishes the cut frames instead (``cut_frame_mapping_valid.json``, ``{video_id: frame}``).
When that file is in the dataset folder, such a video's clip ends at ``frame / frame_rate`` (meta ``cut: true``),
as the test videos do; without it the whole video is used (``cut: false``).

Official metric: top-1 accuracy of the chosen option id (eval.ai; ``baselines/mc_vqa.ipynb`` breaks it down by area
and reasoning). There is no text extractor to reproduce: strict letter parsing, every question in the denominator.
The importer reads the eval.ai submission format ``{video_id: [{id, answer_id}, ...]}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempeval.data import convert_records, dataset_dir, read_json, read_results_json, require, video_dir
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.scoring.parsers import LETTERS
from tempeval.task import Task
from tempeval.types import Sample, VideoRef

if TYPE_CHECKING:  # pragma: no cover - typing only
    from tempeval.importing import SamplesOf

ANNOTATIONS = "mc_question_valid.json"
CUT_FRAMES = "cut_frame_mapping_valid.json"
TASK = "perceptiontest_mc_val"


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """Every validation multiple-choice question, video by video."""
    path = require(dataset, options, [ANNOTATIONS])[ANNOTATIONS]
    annotations = read_json(path)
    if not isinstance(annotations, dict):
        raise TempevalError(f"{path}: expected an object video_id -> {{metadata, mc_question}}. Re-download it.")
    cut_path = dataset_dir(dataset, options) / str(dataset.options.get("cut_frames", CUT_FRAMES))
    cuts = read_json(cut_path) if cut_path.is_file() else {}
    videos = video_dir(dataset, options)
    items = (
        (f"video {video_id!r}, question {index + 1}", (video_id, entry, question))
        for video_id, entry in annotations.items()
        for index, question in enumerate((entry or {}).get("mc_question") or [])
    )
    return convert_records(path, items, lambda _, item: _sample(item, cuts, task, videos))


def _sample(item: tuple[str, Mapping[str, Any], Mapping[str, Any]], cuts: Mapping[str, Any], task: Task,
            videos: Path) -> Sample:
    video_id, entry, question = item
    choices = tuple(str(option) for option in question["options"])
    answer = question["answer_id"]
    if not isinstance(answer, int) or not 0 <= answer < len(choices):
        raise ValueError(f"answer_id {answer!r} is not an index into its {len(choices)} options")
    end = None
    if video_id in cuts:
        end = float(cuts[video_id]) / float(entry["metadata"]["frame_rate"])
    reasoning = question.get("reasoning")
    return Sample(
        id=f"{video_id}_{question['id']}",
        kind=task.kind,
        question="\n".join([str(question["question"]), *(f"{LETTERS[i]}. {c}" for i, c in enumerate(choices))]),
        video=VideoRef(str(videos / f"{video_id}.mp4"), None, end),
        choices=choices,
        target=LETTERS[answer],
        meta={"area": str(question["area"]),
              "reasoning": ", ".join(reasoning) if isinstance(reasoning, list) else str(reasoning),
              "cut": end is not None, "video_id": video_id},
    )


def import_predictions(paths: Sequence[Path], samples_of: SamplesOf) -> dict[str, dict[str, str | None]]:
    """eval.ai submission files ``{video_id: [{id, answer_id}, ...]}`` -> option letters for the val task.

    Raises:
        TempevalError: not that schema, or a question that is not in the annotations.
    """
    samples = {sample.id: sample for sample in samples_of(TASK)}
    outputs: dict[str, str | None] = {}
    for path in paths:
        submission = read_results_json(path)
        if not isinstance(submission, dict):
            raise TempevalError(f"{path}: expected the eval.ai schema {{video_id: [{{id, answer_id}}, ...]}}.")
        for video_id, answers in submission.items():
            for answer in answers if isinstance(answers, list) else []:
                sample_id = f"{video_id}_{answer.get('id')}"
                if sample_id not in samples:
                    raise TempevalError(f"{path}: video {video_id} question {answer.get('id')!r} is not in "
                                        f"{ANNOTATIONS}.")
                index = answer.get("answer_id")
                valid = isinstance(index, int) and 0 <= index < len(samples[sample_id].choices)
                outputs[sample_id] = LETTERS[index] if valid else str(index)
    return {TASK: outputs}
