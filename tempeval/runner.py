"""Orchestrates one (model, task) run: samples -> frames -> requests -> predictions -> scores -> run file.

The runner owns no transformation logic; every arrow lives in its own module. It resumes: samples already
answered in the run file are not sent again, errored ones are.
"""

from __future__ import annotations

import dataclasses
import sys
import warnings
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tempeval import data, protocols, provenance, registry, sharding
from tempeval.adapter import Adapter, frame_max_side
from tempeval.errors import RunFileError, TempevalError
from tempeval.judge import ModelJudge
from tempeval.loaders import LoadOptions, load_samples
from tempeval.prompt import answer_format_of, check_template, prompt_sha, render
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
from tempeval.task import Task
from tempeval.types import FramePolicy, Frames, GenerationConfig, Prediction, Request, Sample
from tempeval.video import FrameSource, VideoError, VideoInfo, clip_bounds

TIME_AWARE_KINDS = ("grounding", "online", "dense_captioning")


class RepeatedFailureError(TempevalError):
    """The same request failure many times in a row: the run stops instead of grinding through every sample."""


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
    options = options or RunOptions()
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
    # How many records this run should end with (after limit, protocol and shard), and how many samples the
    # dataset has: `score` tells a killed run (INCOMPLETE n/N) from a --limit run (partial).
    header.update(samples=len(samples), dataset_samples=dataset_samples)
    header["transport_args"] = sorted(adapter.transport_args & header["model_args"].keys())
    if options.shard is not None:
        header.update(shard=str(options.shard), shard_samples=len(samples))
    if skipped:  # never silently a smaller denominator
        header["skipped_records"] = {"count": len(skipped), "first": skipped[:SKIPPED_SHOWN]}
    _, scorer = scorer_for(header)
    # The lock comes first: reading (and repairing a torn last line of) a file another process is writing would
    # truncate that writer's file.
    with run_lock(path):
        judge = ModelJudge(options.judge, options.judge_args) if options.judge else None
        header["judge_args"] = judge.describe() if judge is not None else None  # a resume field, checked next
        done = set() if options.fresh else _finished_ids(path, header)
        pending = [s for s in samples if s.id not in done]
        if len(pending) < len(samples):
            print(f"resuming: {len(samples) - len(pending)} of {len(samples)} done ({path})", file=sys.stderr)
        _check_videos_exist(task, pending)
        # A caller running several variants of one task passes one FrameSource, so each video is decoded once.
        source = frame_source or FrameSource(decoder=options.decoder)
        writer = RunWriter(path, header if options.fresh or not path.exists() else None)
        try:
            with _progress(len(pending), f"{model} · {task.name}", options.progress) as bar:

                def write(record: dict[str, Any]) -> None:
                    writer.append(score_record(record, scorer, judge))
                    bar.update(1)

                _stream_records(task, adapter, pending, source, options, write)
        finally:
            writer.close()
            if judge is not None:
                judge.close()
        return summarize(read_run(path))


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


def _finished_ids(path: Path, header: dict[str, Any]) -> set[str]:
    """Samples already answered without error in an existing run file of the same configuration."""
    if not path.exists():
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
    return {r["sample_id"] for r in existing.records if r.get("error") is None}


def _by_video(samples: Sequence[Sample]) -> list[Sample]:
    """Group samples of one video together (stable), so its frames are decoded in one pass."""
    first_seen: dict[str, int] = {}
    for position, sample in enumerate(samples):
        first_seen.setdefault(sample.video.path if sample.video else "", position)
    return sorted(samples, key=lambda s: first_seen[s.video.path if s.video else ""])


def _chunks(samples: Sequence[Sample], largest: int) -> Iterator[list[Sample]]:
    """Consecutive chunks: 4 samples first, doubling up to ``largest``, so the first requests go out sooner."""
    start, size = 0, min(FIRST_CHUNK, largest)
    while start < len(samples):
        yield list(samples[start : start + size])
        start += size
        size = min(largest, 2 * size)


FIRST_CHUNK = 4
DECODE_CHUNK = 32
"""Samples whose frames are decoded together (grouped by video) before their requests are handed over."""


def _stream_records(
    task: Task,
    adapter: Adapter,
    pending: Sequence[Sample],
    source: FrameSource,
    options: RunOptions,
    write: Callable[[dict[str, Any]], None],
) -> None:
    """Feed requests to the adapter as it asks for them and write each record as its answer arrives.

    Frames are decoded lazily, a chunk of samples at a time, while the adapter works on earlier requests. A sample
    whose video cannot be read, or whose request cannot be prepared, is written at once as an error; an adapter
    that crashes or skips a sample leaves an error on each sample it did not answer, and samples never prepared
    after a crash are marked without decoding their videos. Every pending sample gets exactly one record, or the
    run fails loudly.

    Raises:
        TempevalError: when, after all that, the records written do not match the pending samples (a bug).
    """
    out: dict[str, tuple[Sample, Request, float | None]] = {}
    written: set[str] = set()
    prepare_failure: list[str] = []

    def record(entry: dict[str, Any]) -> None:
        written.add(entry["sample_id"])
        write(entry)

    def requests() -> Generator[Request, None, None]:
        try:
            for chunk in _chunks(_by_video(pending), DECODE_CHUNK):
                for sample, request, duration, error in _prepare(task, chunk, source, options):
                    if request is None:
                        record(build_record(task, sample, Prediction(sample.id, None, error=error), None, duration))
                    else:
                        out[sample.id] = (sample, request, duration)
                        yield request
        except Exception as exc:  # a bug in preparing: the adapter is not to blame, and the rest is marked below
            prepare_failure.append(_cannot_prepare(exc))

    feed = requests()
    failure = None
    limit = options.max_consecutive_errors or 0
    streak: tuple[str | None, int] = (None, 0)  # the last request error and how many times in a row
    predictions = adapter.stream(feed)
    try:
        for prediction in predictions:
            if prediction.sample_id in out:
                sample, request, duration = out.pop(prediction.sample_id)
                record(build_record(task, sample, prediction, request, duration))
                error = prediction.error
                streak = (error, streak[1] + 1 if error is not None and error == streak[0] else int(error is not None))
                if limit and streak[1] >= limit:
                    break
    except Exception as exc:  # the adapter's failure is the model's error on each unanswered sample, never scored
        failure = f"adapter '{adapter.name}' failed: {type(exc).__name__}: {exc}"
    if limit and streak[1] >= limit:  # the run stops loudly; a re-run resumes the samples not yet written
        getattr(predictions, "close", lambda: None)()
        feed.close()
        raise RepeatedFailureError(_repeated_failure(adapter, limit, str(streak[0])))
    feed.close()  # nothing more is decoded: samples never handed over are marked below without their videos
    for sample, request, duration in out.values():
        error = failure or f"adapter '{adapter.name}' returned no prediction for this sample"
        record(build_record(task, sample, Prediction(sample.id, None, error=error), request, duration))
    for sample in pending:
        if sample.id not in written:
            error = (prepare_failure[0] if prepare_failure else None) or failure or (
                f"adapter '{adapter.name}' stopped asking for requests before this sample"
            )
            record(build_record(task, sample, Prediction(sample.id, None, error=error)))
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
) -> dict[str, Any]:
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
    record: dict[str, Any] = {
        "sample_id": sample.id,
        "video_id": sample.meta.get("video_id") or (Path(sample.video.path).stem if sample.video else None),
        "video": sample.video.path if sample.video else None,
        "question": sample.question,
        "choices": list(sample.choices),
        "target": sample.target,
        "answer_format": answer_format,
        "query_time_s": sample.query_time_s,
        "duration_s": duration_s,
        "meta": dict(sample.meta),
        "prompt": prompt,
        "prompt_sha": prompt_sha(request.prompt) if request else None,
        "context_sha": prompt_sha(sample.context) if sample.context else None,
        # The true time and stream index of each frame, in the order shown; the times the model was told.
        "frame_times": [round(t, 4) for t in frames.true_timestamps] if frames else [],
        "frame_indices": list(frames.true_indices) if frames else [],
        "frame_time_labels": [round(t, 4) for t in frames.timestamps] if frames else [],
        "output": output,
        "error": prediction.error,
        "latency_s": round(prediction.latency_s, 4),
        "usage": dict(prediction.usage),
    }
    if reasoning is not None:  # kept, never parsed
        record["reasoning"] = reasoning
    if prediction.finish_reason is not None:
        record["finish_reason"] = prediction.finish_reason
    if prediction.error is None and prediction.text is None:
        record["error"] = "no output"
    return record


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
