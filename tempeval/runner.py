"""Orchestrates one (model, task) run: samples -> frames -> requests -> predictions -> scores -> run file.

The runner owns no transformation logic; every arrow lives in its own module. It resumes: samples already
answered in the run file are not sent again, errored ones are.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tempeval import data, protocols, provenance, registry, sharding
from tempeval.adapter import Adapter, frame_max_side
from tempeval.errors import RunFileError, TempevalError
from tempeval.judge import ModelJudge
from tempeval.loaders import LoadOptions, load_samples
from tempeval.prefetch import Prefetcher
from tempeval.prompt import answer_format_of, check_template, prompt_sha, render
from tempeval.records import RunRecord
from tempeval.results import (
    SCHEMA_VERSION,
    RunSummary,
    RunWriter,
    config_differences,
    config_value,
    read_run,
    run_lock,
    summarize,
)
from tempeval.scoring.rescore import score_record, scorer_for
from tempeval.sharding import Shard
from tempeval.streaming.run import StreamingOptions, run_streams, stream_header
from tempeval.task import Task
from tempeval.types import FramePolicy, Frames, GenerationConfig, Prediction, Request, Sample
from tempeval.video import FrameSource, VideoError, VideoInfo, clip_bounds

TIME_AWARE_KINDS = ("grounding", "online", "streaming", "dense_captioning")


class RepeatedFailureError(TempevalError):
    """The same request failure many times in a row: the run stops instead of grinding through every sample."""


DEFAULT_MAX_INFLIGHT_BYTES = 1 << 30
"""1 GiB of frames in flight by default: at 16 frames of 360p (11 MB a request) about 90 requests, at 32 frames
of 720p (88 MB) about 12, enough to keep an engine fed (bench/engine_pipeline.py), and small next to a laptop's
RAM and a GPU node's."""


@dataclass(frozen=True)
class RunOptions:
    """How to run a task (everything but the task and the model)."""

    out_dir: Path = Path("runs")
    limit: int | None = None
    """Only the first N samples (in dataset order)."""
    seed: int = 0
    fresh: bool = False
    """Start over instead of resuming an existing run file."""
    frames: FramePolicy | None = None
    """Overrides the task's frame policy."""
    load: LoadOptions = field(default_factory=LoadOptions)
    decoder: str = "pyav"
    progress: bool = True
    run_name: str | None = None
    """File stem of the run file; the task name by default."""
    parser_mode: str | None = None
    """Score in this parser mode (``strict`` / ``official``) instead of the task's default."""
    judge: str | None = None
    """Model string of the LLM judge for scorers that need one (``--judge``); ``None``: no judge."""
    judge_args: Mapping[str, Any] = field(default_factory=dict)
    """The judge adapter's arguments (``--judge-arg``); generation keys such as ``temperature`` set its decoding."""
    shard: Shard | None = None
    """Evaluate only this share of the samples (balanced by video); ``tempeval merge`` joins the shards."""
    protocol: str | None = None
    """Ask the task under this scoring protocol (``multi-binary``): the run is of the derived task."""
    generation: Mapping[str, Any] = field(default_factory=dict)
    """Overrides of the task's generation settings (``--max-tokens``, ``--temperature``, ``--top-p``, ``--gen``)."""
    label: str | None = None
    """Names the run's row in every table (``--label``); the run file goes to ``<model>/<label>/`` so that runs of
    one task under other settings (a frame sweep) never overwrite or resume into each other."""
    made_by: str = "run"
    """Which command made the run (``run``; ``diagnose`` for its variant runs, which the leaderboard shows as
    diagnostics, never as a model's row)."""
    max_consecutive_errors: int | None = 20
    """Stop the run after this many requests in a row fail with the same error (a wrong URL, a bad key);
    ``None`` or 0: never stop."""
    decode_workers: int | None = None
    """Threads decoding videos at once (``--decode-workers``); ``None``: one per core this process may use."""
    max_inflight_bytes: int = DEFAULT_MAX_INFLIGHT_BYTES
    """Bytes of decoded frames held ahead of and inside the adapter (``--max-inflight-bytes``): half for requests
    prepared and not yet taken, half for the batch the adapter works on."""
    streaming: StreamingOptions = field(default_factory=StreamingOptions)
    """How streaming tasks' streams are run (polling interval, window, real time, stream fps)."""


def model_slug(model: str) -> str:
    """A folder name for a model string: 'openai/gpt-4o' -> 'openai__gpt-4o'; never '', '.' or '..'."""
    slug = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in model.replace("/", "__"))
    return slug.replace(".", "_") if set(slug) <= {"."} else slug


def run_path(
    out_dir: Path, model: str, task: Task, run_name: str | None = None, label: str | None = None
) -> Path:
    """Where the run file of (model, task) lives: ``<out>/<model>/<task>.jsonl``, or with a label
    ``<out>/<model>/<label>/<task>.jsonl``; inside ``out_dir`` whatever the model, task, run name or label holds
    ('../../x' included)."""
    folder = Path(out_dir) / model_slug(model)
    if label:
        folder /= model_slug(label)
    return folder / f"{model_slug(run_name or task.name)}.jsonl"


def frame_policy(task: Task, options: RunOptions) -> FramePolicy:
    """The policy every sample of this run uses (before the per-sample query-time cap)."""
    return (options.frames or task.frames).replace(seed=options.seed)


def generation_of(task: Task, options: RunOptions) -> GenerationConfig:
    """The generation settings every request of this run carries: the task's, with the run's overrides."""
    try:
        return task.generation.with_overrides(options.generation) if options.generation else task.generation
    except ValueError as exc:
        raise TempevalError(f"Bad generation settings for task '{task.name}': {exc}.") from exc


def time_labels(policy: FramePolicy) -> str:
    """How the frames' times are labelled for the model: ``source`` (their true times) in time order,
    ``presentation`` (the i-th frame shown gets the i-th sorted time) under a permuted order, so that a model
    reading the times cannot undo the permutation. Run files written before this field were all ``source``."""
    return "source" if policy.order == "original" else "presentation"


def presented(frames: Frames, policy: FramePolicy) -> Frames:
    """The frames as the request carries them: labelled by presentation under a permuted order."""
    return frames if time_labels(policy) == "source" else frames.labelled_by_presentation()


def run_header(task: Task, model: str, model_args: dict[str, Any], options: RunOptions) -> dict[str, Any]:
    """The header line: everything needed to know what produced the records."""
    dataset = data.fingerprint(registry.get_dataset(task.dataset), options.load)
    policy = frame_policy(task, options)
    return {
        "type": "header",
        "schema_version": SCHEMA_VERSION,
        "task": task.name,
        "task_version": task.version,
        "task_kind": task.kind,
        "answer_format": task.answer_format,
        "parser_mode": options.parser_mode or task.parser_mode,
        "judge": options.judge,
        "scorers": dict(task.scorers),
        "headline": task.headline,
        "metrics": [m.to_dict() for m in task.metrics],
        "group_by": list(task.group_by),
        "dataset": dataset,
        "model": model,
        "model_args": model_args,
        "label": options.label,
        "made_by": options.made_by,
        "generation": generation_of(task, options).to_dict(),
        "frames": policy.to_dict(),
        "time_labels": time_labels(policy),
        "decoder": options.decoder,
        "seed": options.seed,
        "limit": options.limit,
        **provenance.collect(),
    }


SKIPPED_SHOWN = 10
"""How many skipped-record messages the run header keeps (it always keeps their count)."""

QUERY_TIME_SLACK_S = 1.0
"""How far a query time may pass the video's probed end (rounding in annotations) before it is an error."""


def run_task(
    task: Task,
    adapter: Adapter,
    model: str,
    options: RunOptions | None = None,
    *,
    frame_source: FrameSource | None = None,
) -> RunSummary:
    """Run (or resume) ``model`` on ``task`` and return the summary of the whole run file."""
    plan = plan_run(task, adapter, model, options or RunOptions())
    with open_run(plan, adapter) as run:
        # A caller running several variants of one task passes one FrameSource, so each video is decoded once.
        run.answer(run.pending, frame_source or frame_source_for(plan.options, adapter=adapter))
    return summarize(read_run(plan.path))


@dataclass(frozen=True)
class RunPlan:
    """What a run will do, before anything is read or written: its task, samples, file and header."""

    task: Task
    """The task as run (the derived task under a ``--protocol``)."""
    model: str
    options: RunOptions
    """The run's options, with the frame policy the adapter allows (the one recorded)."""
    samples: list[Sample]
    """Every sample the run file should end with (after limit, protocol and shard)."""
    path: Path
    header: dict[str, Any]


def plan_run(task: Task, adapter: Adapter, model: str, options: RunOptions) -> RunPlan:
    """The plan of running ``model`` on ``task``: its samples loaded, its header built, its file named.

    Raises:
        TempevalError: a bad limit, template or generation setting, or an adapter the task cannot use.
    """
    if options.limit is not None and options.limit < 1:
        raise TempevalError(f"limit must be at least 1 sample, got {options.limit}; leave it out to run every sample.")
    check_template(task)
    _check_capabilities(task, adapter)
    policy = frame_policy(task, options)
    capped = frame_max_side(policy.max_side, adapter.capabilities.max_side)
    if adapter.capabilities.samples_frames:  # the server samples: nothing is decoded here, and the policy says so
        options = dataclasses.replace(options, frames=policy.replace(sampling="server", max_side=None))
    elif capped != policy.max_side:  # the adapter's largest frame is part of the recorded frame policy
        options = dataclasses.replace(options, frames=policy.replace(max_side=capped))
    with warnings.catch_warnings(record=True) as caught:  # records skipped by the loader go into the header too
        warnings.simplefilter("always")
        samples = load_samples(task, registry.get_dataset(task.dataset), options.load)
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    skipped = [str(w.message) for w in caught if issubclass(w.category, data.SkippedRecordWarning)]
    dataset_samples = len(samples)
    if options.limit is not None:
        samples = samples[: options.limit]
    if options.protocol is not None:  # after the limit, so every question keeps all its binary questions
        task, samples = protocols.apply_protocol(options.protocol, task, samples, options.seed)
    run_name = options.run_name or task.name
    if options.shard is not None:
        samples = sharding.select(samples, options.shard)
        run_name = f"{run_name}.shard-{options.shard.index}-of-{options.shard.count}"
    path = run_path(options.out_dir, model, task, run_name, options.label)
    header = run_header(task, model, adapter.describe(), options)
    header["stream"] = stream_header(task, options) if task.kind == "streaming" else None
    # How many records this run should end with (after limit, protocol and shard), and how many samples the
    # dataset has: `score` tells a killed run (INCOMPLETE n/N) from a --limit run (partial).
    header.update(samples=len(samples), dataset_samples=dataset_samples)
    header["transport_args"] = sorted(adapter.transport_args & header["model_args"].keys())
    if options.shard is not None:
        header.update(shard=str(options.shard), shard_samples=len(samples))
    if skipped:  # never silently a smaller denominator
        header["skipped_records"] = {"count": len(skipped), "first": skipped[:SKIPPED_SHOWN]}
    return RunPlan(task, model, options, list(samples), path, header)


class OpenRun:
    """A run file held open for writing, its lock held (:func:`open_run`): :meth:`answer` runs samples into it."""

    def __init__(
        self, plan: RunPlan, adapter: Adapter, pending: list[Sample], writer: RunWriter, judge: ModelJudge | None
    ) -> None:
        self.plan = plan
        self.adapter = adapter
        self.pending = pending
        """The plan's samples the file does not yet answer (all of them for a fresh run)."""
        self._writer = writer
        self._judge = judge
        _, self._scorer = scorer_for(plan.header)

    def answer(self, samples: Sequence[Sample], source: FrameSource) -> None:
        """Run ``samples`` (pending ones) through the adapter, decoding their frames from ``source``, and write
        each one's scored record as its answer arrives: the one place records are written."""
        plan = self.plan
        with _progress(len(samples), f"{plan.model} · {plan.task.name}", plan.options.progress) as bar:

            def write(record: RunRecord) -> None:
                self._writer.append(score_record(record, self._scorer, self._judge))
                bar.update(1)

            if plan.task.kind == "streaming":  # streams have their own loop (tempeval.streaming.run)
                run_streams(plan.task, self.adapter, samples, source, plan.options, write)
                return
            for record in _run_records(plan.task, self.adapter, samples, source, plan.options):
                write(record)


@contextlib.contextmanager
def open_run(plan: RunPlan, adapter: Adapter) -> Iterator[OpenRun]:
    """Lock the plan's run file, check that an existing one can be resumed into, and hold it open for writing.

    Raises:
        RunFileError: the file is being written by another process, or was written with another configuration.
        TempevalError: none of the pending samples' videos exist.
    """
    # The lock comes first: reading (and repairing a torn last line of) a file another process is writing would
    # truncate that writer's file.
    with run_lock(plan.path):
        judge = ModelJudge(plan.options.judge, plan.options.judge_args) if plan.options.judge else None
        try:
            plan.header["judge_args"] = judge.describe() if judge is not None else None  # a resume field
            done = _finished_ids(plan.path, plan.header, plan.options)
            pending = [s for s in plan.samples if s.id not in done]
            if len(pending) < len(plan.samples):
                print(f"resuming: {len(plan.samples) - len(pending)} of {len(plan.samples)} done ({plan.path})",
                      file=sys.stderr)
            _check_videos_exist(plan.task, pending)
            fresh = plan.options.fresh or not plan.path.exists()
            with RunWriter(plan.path, plan.header if fresh else None) as writer:
                yield OpenRun(plan, adapter, pending, writer, judge)
        finally:
            if judge is not None:
                judge.close()


def _check_capabilities(task: Task, adapter: Adapter) -> None:
    caps = adapter.capabilities
    if task.kind in TIME_AWARE_KINDS and not (caps.timestamps_in_text or caps.native_video):
        raise TempevalError(
            f"Task '{task.name}' is a {task.kind} task: the model must be told when each frame was shown, and "
            f"adapter '{adapter.name}' can take neither timestamps in text nor native video."
        )


def _check_videos_exist(task: Task, pending: Sequence[Sample]) -> None:
    """One error for a task none of whose videos exist, instead of one error record per sample."""
    paths = sorted({s.video.path for s in pending if s.video is not None})
    if not paths or any(Path(p).exists() for p in paths):
        return
    folders = sorted({str(Path(p).parent) for p in paths})
    where = folders[0] if len(folders) == 1 else f"{folders[0]} and {len(folders) - 1} other folder(s)"
    raise TempevalError(
        f"Task '{task.name}': none of its {len(paths)} video(s) exist (looked in {where}, e.g. {paths[0]}). "
        f"`tempeval data where {task.dataset}` shows where they must be; "
        f"`tempeval data fetch {task.dataset} --videos` fetches them, or pass --data-dir."
    )


def _finished_ids(path: Path, header: dict[str, Any], options: RunOptions) -> set[str]:
    """Samples already answered without error in an existing run file of the same configuration (none when the
    run starts afresh)."""
    if options.fresh or not path.exists():
        return set()
    existing = read_run(path, repair=True)
    differing = config_differences(existing.header, header)
    if differing:
        details = "; ".join(
            f"{name}: file has {config_value(existing.header, name)!r}, this run {config_value(header, name)!r}"
            for name in differing
        )
        raise RunFileError(
            f"{path} was written with a different configuration ({details}). It is never resumed into: "
            "pass --label NAME to keep this run beside it as a row of its own (in a NAME folder), --fresh to "
            "overwrite it, or --out to write elsewhere."
        )
    return {r.sample_id for r in existing.records if not r.failed}


def _video_groups(samples: Sequence[Sample]) -> list[list[Sample]]:
    """The samples grouped by video (groups in order of first appearance, samples in order inside each), so
    each video's frames are decoded in one planned pass; samples without a video are one group each."""
    groups: dict[str, list[Sample]] = {}
    for sample in samples:
        key = sample.video.path if sample.video else f"\0{sample.id}"
        groups.setdefault(key, []).append(sample)
    return list(groups.values())


def decode_workers(options: RunOptions, adapter: Adapter | None = None) -> int:
    """How many videos a run decodes at once: ``--decode-workers``, by default one per core this process may use,
    less the adapter's :attr:`~tempeval.adapter.Adapter.reserved_cores` (at least one)."""
    if options.decode_workers:
        return options.decode_workers
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores - (adapter.reserved_cores if adapter is not None else 0))


def frame_source_for(options: RunOptions, cache_bytes: int = 0, adapter: Adapter | None = None) -> FrameSource:
    """A frame source for runs with these options: their decoder, single-threaded decoders when several videos
    decode at once (one per core: threads of their own would only outnumber the cores), and no frame cache by
    default: a run decodes each video in one pass for all its samples, so a cache would only hold memory
    (256 MiB once full) that grows with the dataset. Callers that ask for a video again (diagnose's variants)
    pass a cache budget."""
    workers = decode_workers(options, adapter)
    return FrameSource(decoder=options.decoder, cache_bytes=cache_bytes, threaded_decoders=workers == 1)


_Prepared = tuple[Sample, Request | None, float | None, str | None]
"""(sample, request or None, visible duration, error) of one sample."""

_NO_PIXELS = np.zeros((0, 0, 3), dtype=np.uint8)


def _without_pixels(request: Request) -> Request:
    """The request as the runner keeps it for its record: its frames' times and indices, not their pixels, which
    go with the adapter's copy once it has built its payload."""
    frames = request.frames
    if frames is None:
        return request
    return dataclasses.replace(request, frames=dataclasses.replace(frames, images=(_NO_PIXELS,) * len(frames)))


def _with_sizes(prepared: list[_Prepared]) -> list[tuple[_Prepared, int]]:
    """Each prepared sample with the bytes of frames it is the first of its group to hold (samples of one video
    share decoded frames)."""
    seen: set[int] = set()
    sized = []
    for item in prepared:
        request = item[1]
        images = request.frames.images if request is not None and request.frames is not None else ()
        fresh = {id(image): int(image.nbytes) for image in images if id(image) not in seen}
        seen.update(fresh)
        sized.append((item, sum(fresh.values())))
    return sized


@dataclass(frozen=True)
class _Sent:
    """A request handed to the adapter and not yet answered, kept for its record without its pixels."""

    sample: Sample
    request: Request
    duration_s: float | None


class _Feed:
    """The requests handed to the adapter (a :class:`~tempeval.adapter.RequestFeed`), taken in order from the
    prefetcher. It writes nothing: a sample that could not be prepared becomes an error record held until the
    answer of the request before it (:meth:`settle`), so that records come in the same order for any number of
    decode workers."""

    def __init__(self, prefetch: Prefetcher[list[Sample], _Prepared], task: Task, batch_bytes: int) -> None:
        self.batch_bytes = batch_bytes
        self.sent: dict[str, _Sent] = {}
        """Requests handed over and not yet answered."""
        self.failure: str | None = None
        """Why preparing stopped (a bug in preparing: the rest of the samples are marked with it)."""
        self._held: dict[str | None, list[RunRecord]] = {}
        """Error records to write once the answer to the sample named is written (``None``: before any)."""
        self._prefetch = prefetch
        self._task = task
        self._last_sent: str | None = None

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> Request:
        while True:
            try:
                sample, request, duration, error = self._prefetch.take()
            except StopIteration:
                raise
            except Exception as exc:  # a bug in preparing: the adapter is not to blame, and the rest is marked
                self.failure = _cannot_prepare(exc)
                self.close()
                raise StopIteration from exc
            if request is not None:
                self.sent[sample.id] = _Sent(sample, _without_pixels(request), duration)
                self._last_sent = sample.id
                return request
            failed = build_record(self._task, sample, Prediction(sample.id, None, error=error), None, duration)
            waits_on = self._last_sent if self._last_sent in self.sent else None
            self._held.setdefault(waits_on, []).append(failed)

    def ready(self) -> bool:
        """Whether the next request is prepared (or the samples are done)."""
        return self._prefetch.ready()

    def settle(self, prediction: Prediction) -> list[RunRecord]:
        """The records an answer completes, in order: errors held before it, its own, the errors after it. An
        answer to no request handed over (or to one already answered) completes only the held errors."""
        records = self._held.pop(None, [])
        sent = self.sent.pop(prediction.sample_id, None)
        if sent is not None:
            records.append(build_record(self._task, sent.sample, prediction, sent.request, sent.duration_s))
            records += self._held.pop(sent.sample.id, [])
        return records

    def unanswered(self, error: str) -> list[RunRecord]:
        """Records for every request handed over and never answered (``error`` on each) and the errors held."""
        records = self._held.pop(None, [])
        for sent in self.sent.values():
            prediction = Prediction(sent.sample.id, None, error=error)
            records.append(build_record(self._task, sent.sample, prediction, sent.request, sent.duration_s))
            records += self._held.pop(sent.sample.id, [])
        self.sent.clear()
        for held in self._held.values():
            records += held
        self._held.clear()
        return records

    def close(self) -> None:
        """Decode nothing more."""
        self._prefetch.close()


def _run_records(
    task: Task, adapter: Adapter, pending: Sequence[Sample], source: FrameSource, options: RunOptions
) -> Iterator[RunRecord]:
    """The run as one loop: samples are prepared (decoded) ahead of the adapter, queued, answered, and each
    answer's (unscored) record is yielded as it arrives, for the caller to score and write.

    Frames are decoded ahead of the adapter, one video per task on ``options.decode_workers`` threads, bounded by
    ``options.max_inflight_bytes``: half for the requests prepared and not yet taken, half for the batch the
    adapter holds. A sample whose video cannot be read, or whose request cannot be prepared, is an error record;
    an adapter that crashes or skips a sample leaves an error on each sample it did not answer, and samples never
    prepared after a crash are marked without decoding their videos. Every pending sample gets exactly one
    record, or the run fails loudly.

    Raises:
        RepeatedFailureError: after ``options.max_consecutive_errors`` identical request errors in a row.
        TempevalError: when, after all that, the records do not match the pending samples (a bug).
    """
    half_budget = max(1, options.max_inflight_bytes // 2)
    prefetch: Prefetcher[list[Sample], _Prepared] = Prefetcher(  # prepare
        _video_groups(pending),
        lambda group: _with_sizes(list(_prepare(task, group, source, options))),
        workers=decode_workers(options, adapter),
        max_bytes=half_budget,
    )
    feed = _Feed(prefetch, task, batch_bytes=half_budget)  # queue
    written: set[str] = set()
    failure = None
    limit = options.max_consecutive_errors or 0
    streak: tuple[str | None, int] = (None, 0)  # the last request error and how many times in a row
    predictions = adapter.stream(feed)  # adapter
    try:
        for prediction in predictions:
            answered = prediction.sample_id in feed.sent
            for record in feed.settle(prediction):  # record
                written.add(record.sample_id)
                yield record
            if answered:
                error = prediction.error
                streak = (error, streak[1] + 1 if error is not None and error == streak[0] else int(error is not None))
                if limit and streak[1] >= limit:
                    break
    except Exception as exc:  # the adapter's failure is the model's error on each unanswered sample, never scored
        failure = f"adapter '{adapter.name}' failed: {type(exc).__name__}: {exc}"
    finally:
        feed.close()  # nothing more is decoded: samples never handed over are marked below without their videos
    if limit and streak[1] >= limit:  # the run stops loudly; a re-run resumes the samples not yet written
        getattr(predictions, "close", lambda: None)()
        raise RepeatedFailureError(_repeated_failure(adapter, limit, str(streak[0])))
    unanswered = feed.unanswered(failure or f"adapter '{adapter.name}' returned no prediction for this sample")
    unasked = feed.failure or failure or f"adapter '{adapter.name}' stopped asking for requests before this sample"
    for record in unanswered:
        written.add(record.sample_id)
        yield record
    for sample in pending:  # never prepared: marked from the sample alone, its video never decoded
        if sample.id not in written:
            written.add(sample.id)
            yield build_record(task, sample, Prediction(sample.id, None, error=unasked))
    if written != {s.id for s in pending}:
        raise TempevalError(
            f"{len(written)} record(s) written for {len(pending)} pending sample(s): the runner lost track of "
            "samples (a bug in tempeval; please report it). Re-run the same command to retry the missing ones."
        )


def _repeated_failure(adapter: Adapter, count: int, error: str) -> str:
    described = adapter.describe()
    server = ""
    if "base_url" in described:
        server = f" (base_url={described['base_url'] or 'the default endpoint'})"
    return (
        f"stopped: {count} requests in a row to adapter '{adapter.name}'{server} failed with the same error: "
        f"{error}. Fix the cause (URL, API key, model name) and re-run the same command: finished samples are "
        "kept; --max-consecutive-errors 0 never stops."
    )


def _sample_policy(task: Task, sample: Sample, options: RunOptions) -> FramePolicy:
    policy = frame_policy(task, options)
    if sample.query_time_s is not None:
        cap = sample.query_time_s if policy.end_s is None else min(policy.end_s, sample.query_time_s)
        policy = policy.replace(end_s=cap)
    return policy


def _prepare(
    task: Task, chunk: list[Sample], source: FrameSource, options: RunOptions
) -> Iterator[tuple[Sample, Request | None, float | None, str | None]]:
    """(sample, request or None, visible duration, error) for each sample of a chunk, decoding its frames once."""
    policies: dict[str, FramePolicy] = {}
    failed: dict[str, str] = {}
    for sample in chunk:
        try:
            policies[sample.id] = _sample_policy(task, sample, options)
        except Exception as exc:  # one sample's bad settings fail that sample, never the rest of the run
            failed[sample.id] = _cannot_prepare(exc)
    with_video = [
        (s, s.video)
        for s in chunk
        if s.video is not None and s.id not in failed and policies[s.id].sampling != "server"
    ]
    generation = generation_of(task, options)
    frames: dict[str, Frames | VideoError | str] = {}
    try:
        decoded = source.frames_many([(video, policies[s.id], s.id) for s, video in with_video])
        frames.update({s.id: f for (s, _), f in zip(with_video, decoded, strict=True)})
    except Exception:  # decode alone, so that what failed fails only its own sample
        for sample, video in with_video:
            try:
                frames[sample.id] = source.frames_many([(video, policies[sample.id], sample.id)])[0]
            except Exception as exc:
                frames[sample.id] = _cannot_prepare(exc)
    for sample in chunk:
        got = frames.get(sample.id)
        if sample.id in failed or isinstance(got, str):
            yield sample, None, None, failed.get(sample.id) or str(got)
            continue
        if isinstance(got, VideoError):
            yield sample, None, None, f"video: {got}"
            continue
        try:
            request, duration = _request_of(task, sample, got, source, policies[sample.id], generation)
        except _QueryTimeError as exc:
            yield sample, None, None, str(exc)
            continue
        except Exception as exc:
            yield sample, None, None, _cannot_prepare(exc)
            continue
        yield sample, request, duration, None


class _QueryTimeError(Exception):
    """A query time past the end of the video (an annotation error: the sample's own error)."""


def _cannot_prepare(exc: Exception) -> str:
    return f"could not prepare the request: {type(exc).__name__}: {exc}"


def _request_of(
    task: Task,
    sample: Sample,
    got: Frames | None,
    source: FrameSource,
    policy: FramePolicy,
    generation: GenerationConfig,
) -> tuple[Request, float | None]:
    """The request of one sample whose frames are decoded, and the length of its visible clip."""
    info = source.info(sample.video.path) if sample.video else None
    if info is not None and sample.query_time_s is not None and (
        sample.query_time_s > info.duration_s + QUERY_TIME_SLACK_S
    ):
        raise _QueryTimeError(
            f"query time {sample.query_time_s:g}s is past the end of {info.path} ({info.duration_s:g}s long): "
            "fix the annotation's time or the video file"
        )
    duration = None
    if info is not None and sample.video is not None:  # the sampler's own clip: bounds and query-time cap
        start, end = clip_bounds(info, sample.video, policy)
        duration = end - start
    request = Request(
        sample_id=sample.id,
        prompt=render(
            task,
            sample,
            duration_s=duration,
            num_frames=len(got) if got is not None else policy.num_frames if policy.sampling == "server" else None,
            in_time_order=policy.order == "original",
        ),
        frames=presented(got, policy) if got is not None else None,
        answer_format=answer_format_of(task, sample),
        choices=sample.choices,
        generation=generation,
        video_duration_s=duration,
        video_path=sample.video.path if sample.video else None,
        **_server_sampling(info, sample, policy),
    )
    return request, duration


def _server_sampling(info: VideoInfo | None, sample: Sample, policy: FramePolicy) -> dict[str, Any]:
    """What a request carries for a server that samples frames itself: the visible window and the policy."""
    if policy.sampling != "server" or info is None or sample.video is None:
        return {}
    return {"video_window_s": clip_bounds(info, sample.video, policy), "frame_policy": policy}


def build_record(
    task: Task, sample: Sample, prediction: Prediction, request: Request | None = None, duration_s: float | None = None
) -> RunRecord:
    """The (not yet scored) run record of one sample: its reference, what the model saw, and its answer."""
    answer_format = answer_format_of(task, sample)
    frames = request.frames if request else None
    tags = request.generation.think_tags() if request else None
    output, thought = split_reasoning(prediction.text, tags)
    parts = [part for part in (prediction.reasoning, thought) if part]
    reasoning = "\n".join(parts) if parts else None
    prompt = request.prompt if request else None
    if prompt is not None and sample.context:  # a context (a transcript) is in many records: kept once, by its hash
        prompt = prompt.replace(sample.context, f"[context {prompt_sha(sample.context)}, not repeated here]")
    return RunRecord(
        sample_id=sample.id,
        video_id=sample.meta.get("video_id") or (Path(sample.video.path).stem if sample.video else None),
        video=sample.video.path if sample.video else None,
        question=sample.question,
        choices=tuple(sample.choices),
        target=sample.target,
        answer_format=answer_format,
        query_time_s=sample.query_time_s,
        duration_s=duration_s,
        meta=dict(sample.meta),
        prompt=prompt,
        prompt_sha=prompt_sha(request.prompt) if request else None,
        context_sha=prompt_sha(sample.context) if sample.context else None,
        # The true time and stream index of each frame, in the order shown; the times the model was told.
        frame_times=tuple(round(t, 4) for t in frames.true_timestamps) if frames else (),
        frame_indices=tuple(frames.true_indices) if frames else (),
        frame_time_labels=tuple(round(t, 4) for t in frames.timestamps) if frames else (),
        output=output,
        error="no output" if prediction.error is None and prediction.text is None else prediction.error,
        latency_s=round(prediction.latency_s, 4),
        usage=dict(prediction.usage),
        reasoning=reasoning,  # kept, never parsed; written only when there is some
        finish_reason=prediction.finish_reason,
    )


def split_reasoning(text: str | None, tags: tuple[str, str] | None) -> tuple[str | None, str | None]:
    """(answer, reasoning) of a model's text whose reasoning sits between think tags.

    ``<think>a</think>b`` -> (``b``, ``a``); a text with only the closing tag (chat templates that open the
    block in the prompt) -> everything before it is reasoning; an opened block never closed (cut by the token
    limit) -> no answer text (``""``: unparseable, not an error) and all of it is reasoning.
    """
    if text is None or tags is None:
        return text, None
    open_tag, close_tag = tags
    start = text.find(open_tag)
    end = text.find(close_tag, start + len(open_tag) if start >= 0 else 0)
    if end >= 0 and (start < 0 or start <= end):
        inner = text[start + len(open_tag) : end] if start >= 0 else text[:end]
        before = text[:start] if start >= 0 else ""
        return (before + text[end + len(close_tag) :]).strip(), inner.strip()
    if start >= 0:
        return text[:start].strip(), text[start + len(open_tag) :].strip()
    return text, None


class _Progress:
    def __init__(self, total: int, label: str, enabled: bool) -> None:
        self._bar: Any = None
        if enabled and total:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=label, unit="sample", file=sys.stderr, leave=False)

    def update(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()


def _progress(total: int, label: str, enabled: bool) -> _Progress:
    return _Progress(total, label, enabled)
