"""Temporal diagnostics: does a model use time, or would one frame, or frames in any order, do as well?

A benchmark score alone cannot say. :func:`diagnose` runs one multiple-choice task under several frame policies
(*variants*) and compares the accuracies, TOMATO-style (PROTOCOLS.md §3):

=================  ===========================================================================================
``original``       N uniformly sampled frames in time order (Acc_N)
``single-<how>``   one frame: the clip's ``middle`` (default), its ``first`` frame, or a seeded ``random`` one (Acc_1)
``shuffled``       the same N frames in a seeded random order (Acc_N,shuffled)
``reversed``       the same N frames in reverse order (Acc_N,reversed)
``handpicked``     the one frame the dataset names (``Sample.meta["handpicked_time_s"]``, seconds on the video
                   file's clock); run only when every sample names one (Acc_1,handpicked)
=================  ===========================================================================================

and reports, each with a paired cluster-bootstrap 95% interval (videos resampled jointly for both accuracies):

- multi-frame gain κ = (Acc_N − Acc_1) / Acc_1 × 100,
- frame-order sensitivity τ = (Acc_N − Acc_N,shuffled) / Acc_N,shuffled × 100,
- frame-information disparity ρ = (Acc_1,handpicked − Acc_1) / Acc_1 × 100 (null without handpicked frames),
- the reversal drop Acc_N − Acc_N,reversed in percentage points,
- the answer-flip rate: the share of samples whose parsed answer differs between original and shuffled order,
- pair consistency (both members of a conflicting pair right, original order) when samples carry ``pair_id``.

A value whose denominator is 0 is null. Every variant is an ordinary run file of the derived task
``<task>@<variant>`` (so it resumes, re-scores, and is listed by ``tempeval show``; the derived name keeps it out of
group scores), and all variants share one :class:`~tempeval.video.FrameSource`: the variants advance together, a
chunk of samples at a time, and the union of the frames every variant needs for a chunk is decoded first, in one
pass per video, so each video is decoded once for all variants.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tempeval import registry
from tempeval.adapter import Adapter
from tempeval.errors import TempevalError
from tempeval.loaders import load_samples
from tempeval.results import read_run, rows_of
from tempeval.runner import (
    RunOptions,
    RunPlan,
    frame_policy,
    frame_source_for,
    model_slug,
    open_run,
    plan_run,
    run_path,
)
from tempeval.scoring.metrics import (
    BOOTSTRAP_RESAMPLES,
    MetricValue,
    Row,
    Unit,
    cluster_order,
    pair_consistency,
    ratio,
)
from tempeval.task import Task
from tempeval.types import FramePolicy, Frames, Sample, VideoRef
from tempeval.video import TIME_EPS_S, FrameSource, VideoError, VideoInfo

SingleFrame = Literal["middle", "first", "random"]
SINGLE_FRAMES: tuple[str, ...] = ("middle", "first", "random")
"""How the single-frame variant picks its frame (``--single``)."""

FramePick = Literal["first", "random", "handpicked"]
"""Single-frame choices that are not a uniform frame policy, made per sample by :class:`PickedFrameSource`."""

HANDPICKED_KEY = "handpicked_time_s"
"""Sample meta key: the time (seconds on the video file's clock) of the frame a dataset names as the telling one."""

CHUNK_SAMPLES = 64
"""Samples every variant runs before the next chunk: bounds the frames the shared cache must hold at once."""

DIAGNOSE_CACHE_BYTES = 256 * 2**20
"""The shared frame cache: the variants of a chunk ask for the same videos, each decoded once for all of them."""

_Item = tuple[VideoRef, FramePolicy, str]


@dataclass(frozen=True)
class DiagnoseOptions:
    """How to diagnose a task (everything but the task and the model)."""

    frames: int | None = None
    """N, the frame count of the multi-frame variants; ``None``: the task's own count (its cap for fps tasks)."""
    single: SingleFrame = "middle"
    """Which one frame the single-frame variant shows: the clip's ``middle``, ``first``, or a seeded ``random`` one."""
    run: RunOptions = field(default_factory=RunOptions)
    """Options of every variant run (out_dir, seed, limit, fresh, load, decoder, ...); ``frames`` and ``run_name``
    are set per variant. ``run.seed`` seeds the shuffles, the random single frame and the bootstrap."""
    resamples: int = BOOTSTRAP_RESAMPLES
    """Bootstrap resamples of the confidence intervals."""


@dataclass(frozen=True)
class Variant:
    """One frame policy the task is run under."""

    name: str
    """``original``, ``single-middle`` / ``single-first`` / ``single-random``, ``shuffled``, ``reversed`` or
    ``handpicked``; the run file is ``<task>@<name>.jsonl``."""
    frames: FramePolicy
    pick: FramePick | None = None
    """Per-sample single-frame choice that no frame policy expresses; ``None``: the policy alone decides."""

    def task_of(self, task: Task) -> Task:
        """The derived task whose ordinary run this variant is (outside every group, so no group score mixes it)."""
        return dataclasses.replace(task, name=f"{task.name}@{self.name}", groups=())


def plan_variants(task: Task, frames: int, single: SingleFrame, *, handpicked: bool) -> list[Variant]:
    """The variants a diagnosis runs, in order. Pure.

    Args:
        task: The task (its frame policy's other fields, such as ``max_side``, are kept).
        frames: N for the multi-frame variants.
        single: The single-frame choice.
        handpicked: Whether every sample names a handpicked frame.

    Returns:
        original, single-<single>, shuffled, reversed, and handpicked when asked.
    """
    if single not in SINGLE_FRAMES:
        raise TempevalError(f"Unknown single-frame choice {single!r}; choose one of {', '.join(SINGLE_FRAMES)}.")
    try:
        multi = task.frames.replace(num_frames=frames, fps=None, order="original")
    except ValueError as exc:
        raise TempevalError(f"Bad frame count for the diagnosis: {exc}") from exc
    one = multi.replace(num_frames=1)  # 1 uniform segment: its midpoint is the clip's middle frame
    variants = [
        Variant("original", multi),
        Variant(f"single-{single}", one, None if single == "middle" else single),
        Variant("shuffled", multi.replace(order="shuffled")),
        Variant("reversed", multi.replace(order="reversed")),
    ]
    if handpicked:
        variants.append(Variant("handpicked", one, "handpicked"))
    return variants


def pick_frame(
    info: VideoInfo, video: VideoRef, pick: FramePick, *, key: str, seed: int = 0, time_s: float | None = None
) -> int:
    """Stream index of the one frame a sample shows under ``pick``. Pure.

    Args:
        info: The video's timeline.
        video: The sample's clip (``start_s``/``end_s`` bound the choice).
        pick: ``first`` (the frame shown at the clip's start), ``random`` (a frame of the clip drawn from
            ``random.Random(f"{seed}:{key}")``) or ``handpicked`` (the frame shown at ``time_s``, clamped to the clip).
        key: The sample id.
        seed: The run seed.
        time_s: The handpicked time, seconds on the video file's clock.

    Raises:
        VideoError: The clip holds no frame, or ``pick`` is ``handpicked`` without a time.
    """
    times = info.frame_times_s
    start = max(0.0, float(video.start_s or 0.0))
    end = info.duration_s if video.end_s is None else min(float(video.end_s), info.duration_s)
    if len(times) == 0 or start > end:
        raise VideoError(f"{info.path}: the clip [{start:.3f} s, {end:.3f} s] holds no frame to show.")
    # The same rule as the sampler: the frame shown at t is the last one whose pts is at most t (1 ms tolerance).
    first = max(0, int(np.searchsorted(times, start + TIME_EPS_S, side="right")) - 1)
    last = max(first, int(np.searchsorted(times, end, side="left")) - 1)
    if pick == "first":
        return first
    if pick == "random":
        return random.Random(f"{seed}:{key}").randint(first, last)
    if time_s is None:
        raise VideoError(f"{info.path}: sample '{key}' has no '{HANDPICKED_KEY}' for its handpicked frame.")
    shown = int(np.searchsorted(times, float(time_s) + TIME_EPS_S, side="right")) - 1
    return min(max(shown, first), last)


class PickedFrameSource(FrameSource):
    """A view of a shared :class:`FrameSource` that shows each sample the one frame ``pick`` chooses.

    The runner asks it for frames as usual. It narrows each sample's clip to the instant of the chosen frame (a
    zero-length clip, whose one uniform frame is exactly that frame) and lets the shared source decode and cache
    it. So the sampler still picks every frame, the record's frame times are those really shown, and the prompt
    (question, stated duration) stays the same as in every other variant. Decoding statistics (``passes``,
    ``hits``) live on the shared source.
    """

    def __init__(
        self, shared: FrameSource, pick: FramePick, *, seed: int = 0, times: Mapping[str, float] | None = None
    ) -> None:
        """Make the view.

        Args:
            shared: The source that decodes and caches.
            pick: ``first``, ``random`` or ``handpicked``.
            seed: Seed of the ``random`` pick.
            times: Sample id -> handpicked time in seconds (for ``handpicked``).
        """
        super().__init__(decoder=shared.decoder, cache_bytes=0)
        self.shared = shared
        self.pick: FramePick = pick
        self.seed = seed
        self.times = dict(times or {})

    def info(self, path: str) -> VideoInfo:
        """The shared source's timeline of ``path``."""
        return self.shared.info(path)

    def narrow(self, item: _Item) -> _Item:
        """The item with its clip narrowed to the chosen frame's instant.

        Raises:
            VideoError: As :func:`pick_frame`, or when the video cannot be probed.
        """
        video, policy, key = item
        if policy.end_s is not None:  # a time cap bounds the choice like the clip's end
            video = dataclasses.replace(
                video, end_s=policy.end_s if video.end_s is None else min(video.end_s, policy.end_s)
            )
        info = self.shared.info(video.path)
        index = pick_frame(info, video, self.pick, key=key, seed=self.seed, time_s=self.times.get(key))
        instant = float(info.frame_times_s[index])
        return VideoRef(video.path, start_s=instant, end_s=instant), policy.replace(num_frames=1, fps=None), key

    def frames_many(self, items: Sequence[_Item]) -> list[Frames | VideoError]:
        """The chosen frame of each item (a VideoError for the items whose frame cannot be chosen or decoded)."""
        results: list[Frames | VideoError | None] = [None] * len(items)
        narrowed: list[tuple[int, _Item]] = []
        for position, item in enumerate(items):
            try:
                narrowed.append((position, self.narrow(item)))
            except VideoError as exc:
                results[position] = exc
        decoded = self.shared.frames_many([item for _, item in narrowed])
        for (position, _), result in zip(narrowed, decoded, strict=True):
            results[position] = result
        return [result for result in results if result is not None]


# -- results --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Diagnosis:
    """What :func:`diagnose` measured. Values are percentages (the reversal drop: percentage points)."""

    task: str
    task_version: str
    model: str
    frames: int
    seed: int
    single: str
    kappa: MetricValue | None
    """Multi-frame gain κ; null when Acc_1 is 0."""
    tau: MetricValue | None
    """Frame-order sensitivity τ; null when Acc_N,shuffled is 0."""
    rho: MetricValue | None
    """Frame-information disparity ρ; null without handpicked frames or when Acc_1 is 0."""
    reversal_drop: MetricValue | None
    flip_rate: MetricValue | None
    """Null when no sample was answered without error in both orders."""
    pair_consistency: MetricValue | None
    """Null when the samples carry no ``pair_id``."""
    accuracy: dict[str, float]
    """Variant name -> accuracy on the diagnosed samples."""
    runs: dict[str, str]
    """Variant name -> run file name (in the folder of the diagnosis file)."""
    n: int
    """Samples diagnosed."""
    errors: dict[str, int] = field(default_factory=dict)
    """Variant name -> samples that ended in an error (counted as wrong; a re-run retries them)."""
    notes: tuple[str, ...] = ()
    """Why a value is null, and errored samples."""
    path: str = ""
    """Where the diagnosis was written."""

    def to_json(self) -> dict[str, Any]:
        """The ``diagnosis-<task>.json`` object (what ``tempeval diagnose --json`` prints)."""
        return {
            "type": "diagnosis",
            "task": self.task,
            "task_version": self.task_version,
            "model": self.model,
            "frames": self.frames,
            "seed": self.seed,
            "single": self.single,
            "n": self.n,
            "kappa": _estimate_json(self.kappa),
            "tau": _estimate_json(self.tau),
            "rho": _estimate_json(self.rho),
            "reversal_drop": _estimate_json(self.reversal_drop),
            "flip_rate": _estimate_json(self.flip_rate),
            "pair_consistency": _estimate_json(self.pair_consistency),
            "accuracy": dict(self.accuracy),
            "runs": dict(self.runs),
            "errors": dict(self.errors),
            "notes": list(self.notes),
        }


def _estimate_json(value: MetricValue | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"value": value.value, "ci": None if value.ci is None else list(value.ci)}


def diagnosis_path(out_dir: Path, model: str, task: Task, label: str | None = None) -> Path:
    """Where the diagnosis of (model, task) is written: ``<out>/<model slug>/diagnosis-<task>.json`` (in the
    ``<label>`` folder below it with a label), beside its variant runs."""
    return run_path(out_dir, model, task, label=label).with_name(f"diagnosis-{model_slug(task.name)}.json")


# -- the statistics -------------------------------------------------------------------------------------------


def relative_gain(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """100 × (a − b) / b elementwise; NaN where b is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out: np.ndarray = np.where(b == 0, np.nan, 100.0 * (a - b) / np.where(b == 0, 1.0, b))
    return out


def difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a − b elementwise (percentage points when a and b are percentages)."""
    out: np.ndarray = a - b
    return out


Statistic = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class PairedScores:
    """Every variant's per-sample scores on the same samples, and the video (cluster) of each sample.

    One bootstrap draw resamples videos with replacement and recomputes every variant's accuracy on that draw, so
    both accuracies of a comparison always come from the same videos (a paired bootstrap): the interval reflects
    how the model's gain varies across videos, not the sampling noise of two independent accuracies.
    """

    clusters: np.ndarray
    """Cluster number of each sample (0 .. clusters - 1)."""
    scores: Mapping[str, np.ndarray]
    """Variant -> per-sample score (0 for errors and unparseable outputs)."""
    seed: int = 0
    resamples: int = BOOTSTRAP_RESAMPLES

    @classmethod
    def from_rows(
        cls,
        clusters: Sequence[Any],
        scores: Mapping[str, Sequence[float]],
        *,
        seed: int = 0,
        resamples: int = BOOTSTRAP_RESAMPLES,
    ) -> PairedScores:
        """Build from each sample's cluster key and each variant's per-sample scores (aligned)."""
        # Clusters numbered in sorted key order, so the interval does not depend on the order of the records.
        numbers = {c: i for i, c in enumerate(sorted(set(clusters), key=cluster_order))}
        index = np.array([numbers[c] for c in clusters], dtype=np.int64)
        arrays = {name: np.asarray(values, dtype=np.float64) for name, values in scores.items()}
        return cls(index, arrays, seed, resamples)

    @property
    def cluster_count(self) -> int:
        """Number of distinct clusters."""
        return int(self.clusters.max()) + 1 if len(self.clusters) else 0

    def accuracy(self, variant: str) -> float:
        """Accuracy of a variant in percent."""
        return float(100.0 * self.scores[variant].mean())

    def _weights(self) -> np.ndarray:
        # Resample counts per cluster, one row per draw; seeded, so the same for every comparison.
        count = self.cluster_count
        weights: np.ndarray = (
            np.random.default_rng(self.seed)
            .multinomial(count, np.full(count, 1.0 / count), size=self.resamples)
            .astype(np.float64)
        )
        return weights

    def compare(self, a: str, b: str, statistic: Statistic) -> MetricValue | None:
        """``statistic(Acc_a, Acc_b)`` with its paired 95% percentile interval; ``None`` when it is undefined.

        Draws in which the statistic is undefined (a resampled denominator of 0) are left out, as the metrics'
        bootstrap leaves out empty draws.
        """
        point = float(statistic(np.array([self.accuracy(a)]), np.array([self.accuracy(b)]))[0])
        if not math.isfinite(point):
            return None
        count = self.cluster_count
        if count < 2:
            return MetricValue(point, None, len(self.clusters))
        weights = self._weights()
        sizes = weights @ np.bincount(self.clusters, minlength=count)

        def resampled(variant: str) -> np.ndarray:
            totals = np.bincount(self.clusters, weights=self.scores[variant], minlength=count)
            out: np.ndarray = 100.0 * (weights @ totals) / sizes
            return out

        draws = statistic(resampled(a), resampled(b))
        draws = draws[np.isfinite(draws)]
        if not len(draws):
            return MetricValue(point, None, len(self.clusters))
        low, high = np.percentile(draws, [2.5, 97.5])
        return MetricValue(point, (float(low), float(high)), len(self.clusters))


def flip_rate(
    original: Sequence[Row], shuffled: Sequence[Row], *, seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES
) -> MetricValue | None:
    """Share of samples (answered without error in both orders) whose parsed answers differ, with a video-cluster CI.

    Rows are aligned by position. An unparseable answer is ``None``: two unparseable answers agree, a parsed and an
    unparseable one differ. ``None`` when no sample was answered in both orders.
    """
    units = [
        Unit(first.cluster, float(first.answer != second.answer))
        for first, second in zip(original, shuffled, strict=True)
        if not first.error and not second.error
    ]
    return ratio(units, seed=seed, resamples=resamples) if units else None


def _pair_consistency(rows: Sequence[Row]) -> MetricValue | None:
    if not any(row.meta.get("pair_id") is not None for row in rows):
        return None
    return pair_consistency([row for row in rows if row.meta.get("pair_id") is not None], "pair_id")["pair_consistency"]


# -- running --------------------------------------------------------------------------------------------------


def diagnose(
    task: Task,
    adapter: Adapter,
    model: str,
    options: DiagnoseOptions | None = None,
    *,
    frame_source: FrameSource | None = None,
) -> Diagnosis:
    """Run ``task`` under every variant (resuming what is done), measure, and write ``diagnosis-<task>.json``.

    Args:
        task: A multiple-choice task.
        adapter: The model's adapter.
        model: The model string (``openai/gpt-4o``); names the run folder.
        options: Frame count, single-frame choice, and the run options every variant shares.
        frame_source: The frame source every variant shares (a new one by default).

    Returns:
        The diagnosis (also written next to the variant run files).

    Raises:
        TempevalError: The task is not multiple choice or has no samples; a variant's run file was written with
            another configuration (``run.fresh`` or another ``run.out_dir`` fixes it).
    """
    options = options or DiagnoseOptions()
    if getattr(options.run, "shard", None) is not None:
        # A shard's run files are named and sampled per shard; the variants would not line up with the samples.
        raise TempevalError("A diagnosis runs whole tasks; run it without --shard.")
    if task.kind != "multiple_choice":
        raise TempevalError(
            f"Task '{task.name}' is a {task.kind} task; temporal diagnostics compare accuracies of multiple-choice "
            "tasks. Choose a multiple-choice task ('tempeval list tasks' shows each task's kind)."
        )
    samples = load_samples(task, registry.get_dataset(task.dataset), options.run.load)
    samples = samples[: options.run.limit] if options.run.limit is not None else samples
    if not samples:
        raise TempevalError(f"Task '{task.name}' has no samples to diagnose (check --limit and the dataset).")
    frames = options.frames or task.frames.num_frames or task.frames.max_frames
    handpicked = {s.id: float(s.meta[HANDPICKED_KEY]) for s in samples if s.meta.get(HANDPICKED_KEY) is not None}
    notes: list[str] = []
    if not handpicked:
        notes.append(f"rho is null: no sample names a handpicked frame (meta '{HANDPICKED_KEY}').")
    elif len(handpicked) < len(samples):
        # A partial set would compare Acc_1 of all samples with Acc_1,handpicked of some: not run at all.
        notes.append(
            f"rho is null: {len(samples) - len(handpicked)} of {len(samples)} samples name no handpicked frame "
            f"(meta '{HANDPICKED_KEY}'); the handpicked variant runs only when every sample names one."
        )
    variants = plan_variants(task, frames, options.single, handpicked=len(handpicked) == len(samples))
    shared = frame_source or frame_source_for(options.run, cache_bytes=DIAGNOSE_CACHE_BYTES, adapter=adapter)
    _run_variants(task, variants, samples, shared, _Target(adapter, model, options.run), handpicked)
    rows = {
        v.name: _rows_of(run_path(options.run.out_dir, model, v.task_of(task), label=options.run.label), samples)
        for v in variants
    }
    errors = {name: sum(row.error for row in variant_rows) for name, variant_rows in rows.items()}
    notes += [
        f"{name}: {count} sample(s) ended in an error, counted as wrong; re-run to retry them."
        for name, count in errors.items()
        if count
    ]
    diagnosis = measure(task, model, variants, rows, options, frames)
    diagnosis = dataclasses.replace(diagnosis, errors=errors, notes=(*notes, *diagnosis.notes))
    path = diagnosis_path(options.run.out_dir, model, task, options.run.label)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(diagnosis.to_json(), indent=1) + "\n", encoding="utf-8")
    return dataclasses.replace(diagnosis, path=str(path))


def measure(
    task: Task,
    model: str,
    variants: Sequence[Variant],
    rows: Mapping[str, Sequence[Row]],
    options: DiagnoseOptions,
    frames: int,
) -> Diagnosis:
    """The diagnosis from each variant's rows (aligned: the same samples in the same order). Pure.

    Args:
        task: The diagnosed task.
        model: The model string.
        variants: The variants run (as :func:`plan_variants` made them).
        rows: Variant name -> its rows.
        options: The diagnosis options (single-frame choice, seed, resamples).
        frames: N.
    """
    seed = options.run.seed
    original = rows["original"]
    single = next(v.name for v in variants if v.name.startswith("single-"))
    paired = PairedScores.from_rows(
        [row.cluster for row in original],
        {name: [row.value for row in variant_rows] for name, variant_rows in rows.items()},
        seed=seed,
        resamples=options.resamples,
    )
    notes = []
    kappa = paired.compare("original", single, relative_gain)
    tau = paired.compare("original", "shuffled", relative_gain)
    rho = paired.compare("handpicked", single, relative_gain) if "handpicked" in rows else None
    for name, value, denominator in (("kappa", kappa, single), ("tau", tau, "shuffled")):
        if value is None:
            notes.append(f"{name} is null: the {denominator} accuracy is 0.")
    if rho is None and "handpicked" in rows:
        notes.append(f"rho is null: the {single} accuracy is 0.")
    return Diagnosis(
        task=task.name,
        task_version=task.version,
        model=model,
        frames=frames,
        seed=seed,
        single=options.single,
        kappa=kappa,
        tau=tau,
        rho=rho,
        reversal_drop=paired.compare("original", "reversed", difference),
        flip_rate=flip_rate(original, rows["shuffled"], seed=seed, resamples=options.resamples),
        pair_consistency=_pair_consistency(original),
        accuracy={v.name: paired.accuracy(v.name) for v in variants},
        runs={v.name: f"{v.task_of(task).name}.jsonl" for v in variants},
        n=len(original),
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class _Target:
    """Who is run, and how: the adapter, the model string and the shared run options."""

    adapter: Adapter
    model: str
    run: RunOptions


def _source_for(variant: Variant, shared: FrameSource, seed: int, times: Mapping[str, float]) -> FrameSource:
    if variant.pick is None:
        return shared
    return PickedFrameSource(shared, variant.pick, seed=seed, times=times if variant.pick == "handpicked" else None)


def _variant_options(variant: Variant, task: Task, run: RunOptions, *, limit: int | None) -> RunOptions:
    return dataclasses.replace(run, frames=variant.frames, run_name=variant.task_of(task).name, limit=limit,
                               made_by="diagnose")


def _run_variants(
    task: Task,
    variants: Sequence[Variant],
    samples: Sequence[Sample],
    shared: FrameSource,
    target: _Target,
    handpicked: Mapping[str, float],
) -> None:
    """Run every variant over ``samples``, chunk by chunk, decoding each chunk's frames for all variants at once.

    Each variant's run file is opened once (planned, locked, read for resuming) and every chunk goes through the
    runner's entry point into it, so a chunk costs neither a reload of the samples nor a re-read of the file.
    """
    run = target.run
    sources = {v.name: _source_for(v, shared, run.seed, handpicked) for v in variants}
    with contextlib.ExitStack() as stack:
        opened = {
            v.name: stack.enter_context(open_run(plan_run(
                v.task_of(task), target.adapter, target.model, _variant_options(v, task, run, limit=run.limit)
            ), target.adapter))
            for v in variants
        }
        todo = {name: {s.id: s for s in variant_run.pending} for name, variant_run in opened.items()}
        step = max(CHUNK_SAMPLES, target.adapter.batch_size)
        for start in range(0, len(samples), step):
            chunk = samples[start : start + step]
            wanted = [_frame_items(opened[v.name].plan, chunk, sources[v.name], todo[v.name]) for v in variants]
            shared.frames_many([item for items in wanted for item in items])
            for variant in variants:
                pending = [todo[variant.name][s.id] for s in chunk if s.id in todo[variant.name]]
                if pending:
                    opened[variant.name].answer(pending, sources[variant.name])


def _frame_items(
    plan: RunPlan, chunk: Sequence[Sample], source: FrameSource, todo: Mapping[str, Sample]
) -> list[_Item]:
    """What the variant's run will ask the shared source for, for the chunk's samples it has still to answer."""
    policy = frame_policy(plan.task, plan.options)
    items: list[_Item] = []
    for sample in chunk:
        if sample.video is None or sample.id not in todo:
            continue
        item = (sample.video, policy, sample.id)
        if isinstance(source, PickedFrameSource):
            try:
                item = source.narrow(item)
            except VideoError:
                continue  # the variant's run records the error
        items.append(item)
    return items


def _rows_of(path: Path, samples: Sequence[Sample]) -> list[Row]:
    """The run's rows for ``samples``, in their order; a sample without a record counts as an error."""
    by_id = {row.sample_id: row for row in rows_of(read_run(path).records)}
    return [by_id.get(s.id) or Row(s.id, 0.0, parsed=False, error=True, meta=dict(s.meta)) for s in samples]


# -- the terminal table ---------------------------------------------------------------------------------------


def _cell(value: MetricValue | None) -> str:
    if value is None:
        return "—"
    if value.ci is None:
        return f"{value.value:.1f}"
    return f"{value.value:.1f} [{value.ci[0]:.1f}, {value.ci[1]:.1f}]"


def diagnosis_table(diagnosis: Diagnosis) -> str:
    """A plain-text table of a diagnosis for the terminal."""
    accuracies = "  ".join(f"{name} {value:.1f}" for name, value in diagnosis.accuracy.items())
    rows = [
        ("multi-frame gain κ (%)", diagnosis.kappa),
        ("frame-order sensitivity τ (%)", diagnosis.tau),
        ("frame-information disparity ρ (%)", diagnosis.rho),
        ("reversal drop (points)", diagnosis.reversal_drop),
        ("answer-flip rate, shuffled (%)", diagnosis.flip_rate),
        ("pair consistency (%)", diagnosis.pair_consistency),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [
        f"{diagnosis.model} · {diagnosis.task}@{diagnosis.task_version} · {diagnosis.n} samples · "
        f"N = {diagnosis.frames} frames · single frame: {diagnosis.single} · seed {diagnosis.seed}",
        f"accuracy (%): {accuracies}",
        "",
        f"{'diagnostic'.ljust(width)}  value [95% CI]",
        "-" * (width + 24),
        *(f"{label.ljust(width)}  {_cell(value)}" for label, value in rows),
    ]
    lines += [f"note: {note}" for note in diagnosis.notes]
    if diagnosis.path:
        lines.append(f"\nwritten to {diagnosis.path}; the variant runs are beside it ('tempeval show' lists them).")
    return "\n".join(lines)
