"""Helpers of the diagnosis and protocol tests: a frame-order-aware test model, a barcode dataset with handpicked
frames, and writing scored run files without a model."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.results import RunWriter
from tempeval.runner import RunOptions, build_record, run_header
from tempeval.scoring.rescore import score_record, scorer_for
from tempeval.synth.draw import BACKGROUND
from tempeval.task import Task
from tempeval.types import Prediction, Sample
from tests import barcode_dataset
from tests.chat_server import ChatRequest

_OPTION = re.compile(r"^\(([A-Z])\) (.+)$", re.MULTILINE)


def centroid(image: np.ndarray) -> np.ndarray:
    """(x, y) mean position of the pixels that are not the synthetic suite's plain background."""
    shape_pixels = np.abs(image.astype(np.int16) - np.array(BACKGROUND, dtype=np.int16)).max(axis=2) > 40
    ys, xs = np.nonzero(shape_pixels)
    return np.array([xs.mean(), ys.mean()])


def direction_answer(request: ChatRequest) -> str:
    """A model that reads motion from the frames in the order received (synth_direction).

    The moving object shifts the centroid of all shape pixels (static shapes add the same mass to both ends)
    from the first image to the last; the larger axis of that shift is the direction, answered with the letter
    the prompt gives that option. One image (or no visible shift) gives no direction: it answers "A".
    """
    letters: dict[str, str] = {text.strip(): letter for letter, text in _OPTION.findall(request.prompt)}
    dx, dy = centroid(request.images[-1]) - centroid(request.images[0])
    if max(abs(dx), abs(dy)) < 1.0:
        return "A"
    direction = ("right" if dx > 0 else "left") if abs(dx) >= abs(dy) else ("down" if dy > 0 else "up")
    return letters[direction]


def label_sorting_direction_answer(request: ChatRequest) -> str:
    """A model that reads the "Frame at X s" labels: it sorts the images by their times, then reads the motion.

    Were the labels the frames' true times under a permuted order, it would undo every shuffle and reversal.
    """
    assert len(request.frame_times) == len(request.images), "every image needs its time label"
    order = sorted(range(len(request.images)), key=lambda i: request.frame_times[i])
    images = [request.images[i] for i in order]
    return direction_answer(dataclasses.replace(request, images=images))


def handpicked_index(sample_id: str) -> int:
    """The frame the barcode dataset's sample names as telling (never frame 0, never the middle frame)."""
    clip, question = (int(n) for n in re.findall(r"\d+", sample_id))
    return 1 + 13 * question + clip


def load_barcode_with_handpicked(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """The barcode dataset, each sample naming a handpicked frame (time in the middle of that frame)."""
    samples = barcode_dataset.load(task, dataset, options)
    times = {s.id: (handpicked_index(s.id) + 0.5) / barcode_dataset.FPS for s in samples}
    return [dataclasses.replace(s, meta={**s.meta, "handpicked_time_s": times[s.id]}) for s in samples]


def write_scored_run(path: Path, task: Task, samples: Sequence[Sample], outputs: Mapping[str, str]) -> Path:
    """A run file of ``task`` holding each sample's given output, scored as the runner scores (no model, no video).

    The header carries what scoring and summaries read (scorers, parser mode, metrics, headline), so
    ``tempeval score`` re-scores it like any run.
    """
    header = run_header(task, "scripted", {}, RunOptions())
    _, scorer = scorer_for(header)
    with RunWriter(path, header) as writer:
        for sample in samples:
            writer.append(score_record(build_record(task, sample, Prediction(sample.id, outputs[sample.id])), scorer))
    return path
