"""The run loop of ``streaming`` tasks: each sample is one stream, watched on the virtual clock, one record each.

:func:`tempeval.runner.run_task` loads, limits, shards, locks, resumes and writes as for every task, and hands
the pending stream samples here (:func:`run_streams`) instead of to the request loop. Per stream:

1. its queries (``Sample.target``, :mod:`tempeval.streaming.queries`) become :class:`QueryEvent` s whose text is
   the task's prompt template rendered for each query (question, options, instruction): never a target;
2. its video is decoded once, chunk by chunk, at ``stream_fps`` (:class:`VideoFrames`);
3. the adapter's own stream session (an adapter with a ``stream_session()`` method streams natively), or the
   polling wrapper around it (every ``--poll-every`` seconds on ``--window`` seconds of frames), is driven by
   :func:`run_stream`, in virtual time or ``--realtime``;
4. the record (:func:`stream_record`) carries the action log, which frames reached the model, and the poll
   count; a stream whose model failed (an adapter error on any poll) is an error record, never scored, and is
   run again on resume.

Everything that decides what a model sees (stream fps, Δ, window, real-time policy) and the timing rule is in
the run header's ``stream`` field (:func:`stream_header`), a resume field: a run never resumes into a file
written under other streaming settings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tempeval.errors import TempevalError
from tempeval.prompt import prompt_sha, render
from tempeval.scoring.streaming import TimingRule
from tempeval.streaming.clock import DEFAULT_STREAM_FPS, VirtualClock, check_stream_fps
from tempeval.streaming.events import Errored, Respond, StreamLog
from tempeval.streaming.polling import PollingConfig, PollingSession
from tempeval.streaming.queries import StreamQuery, stream_queries
from tempeval.streaming.session import Realtime, StreamSession, run_stream
from tempeval.streaming.video_frames import VideoFrames
from tempeval.types import Prediction, Sample

if TYPE_CHECKING:
    from tempeval.adapter import Adapter
    from tempeval.runner import RunOptions
    from tempeval.task import Task
    from tempeval.video import FrameSource


@dataclass(frozen=True)
class StreamingOptions:
    """How streams are run (``tempeval run --poll-every --window --realtime --busy --stream-fps``)."""

    poll_every_s: float = 1.0
    """Δ: seconds between polls of an offline model."""
    window_s: float | None = None
    """Seconds of frames a poll shows; ``None``: the whole stream so far (``--window full``)."""
    realtime: Realtime | None = None
    """Real-time mode and its busy policy; ``None``: virtual time."""
    stream_fps: float | None = None
    """Frames per second of the stream; ``None``: the task's (``stream: {fps: ...}``, default 1)."""

    def __post_init__(self) -> None:
        PollingConfig(poll_every_s=self.poll_every_s, window_s=self.window_s)  # refuses bad values by flag
        if self.stream_fps is not None:
            check_stream_fps(self.stream_fps)


def stream_fps_of(task: Task, options: StreamingOptions) -> float:
    """The stream's frames per second: ``--stream-fps``, else the task's, else 1."""
    if options.stream_fps is not None:
        return float(options.stream_fps)
    return float(task.stream.get("fps", DEFAULT_STREAM_FPS))


def timing_rule_of(task: Task) -> TimingRule:
    """The task's declared timing constants (``stream: {half_life_s, pauc_omega}``)."""
    return TimingRule(**{key: float(task.stream[key]) for key in ("half_life_s", "pauc_omega") if key in task.stream})


def polling_config(task: Task, options: RunOptions) -> PollingConfig:
    """How an offline model is polled in this run."""
    from tempeval.runner import frame_policy, generation_of

    streaming = options.streaming
    return PollingConfig(
        poll_every_s=streaming.poll_every_s,
        window_s=streaming.window_s,
        max_frames=frame_policy(task, options).max_frames,
        keep_answered=bool(task.stream.get("keep_answered", False)),
        generation=generation_of(task, options),
    )


def stream_header(task: Task, options: RunOptions) -> dict[str, Any]:
    """The run header's ``stream`` field: the streaming settings that make the run what it is."""
    streaming = options.streaming
    return {
        "stream_fps": stream_fps_of(task, streaming),
        "polling": polling_config(task, options).to_dict(),
        "realtime": streaming.realtime.to_dict() if streaming.realtime is not None else None,
        "timing": timing_rule_of(task).to_dict(),
    }


def check_streams(task: Task, samples: Sequence[Sample]) -> None:
    """Refuse, before anything runs, a streaming sample without a video or with malformed queries.

    Raises:
        TempevalError: naming the task, the sample and the fix.
    """
    for sample in samples:
        where = f"Task '{task.name}' ({task.source_file}), sample {sample.id!r}"
        if sample.video is None:
            raise TempevalError(f"{where}: a streaming sample needs a video (the stream). Fix the annotation.")
        stream_queries(sample.target, where)


def query_text(task: Task, sample: Sample, query: StreamQuery) -> str:
    """What the model is told when ``query`` is asked: the task's template for the query (no target)."""
    asked = Sample(
        id=query.query_id,
        kind=sample.kind,
        question=query.text,
        video=sample.video,
        choices=query.choices,
        query_time_s=query.asked_at_s,
        answer_format=query.answer_format,
    )
    return render(task, asked)


def session_for(adapter: Adapter, config: PollingConfig) -> StreamSession:
    """The adapter's own stream session when it streams natively (``stream_session()``), else polling."""
    native: Callable[[], StreamSession] | None = getattr(adapter, "stream_session", None)
    return native() if native is not None else PollingSession(adapter, config)


def run_streams(
    task: Task,
    adapter: Adapter,
    pending: Sequence[Sample],
    source: FrameSource,
    options: RunOptions,
    write: Callable[[dict[str, Any]], None],
) -> None:
    """Watch every pending stream and write its record (the runner holds the lock and scores each record)."""
    from tempeval.runner import frame_policy

    check_streams(task, pending)
    streaming = options.streaming
    fps = stream_fps_of(task, streaming)
    config = polling_config(task, options)
    rule = timing_rule_of(task)
    max_side = frame_policy(task, options).max_side
    for sample in pending:
        assert sample.video is not None  # checked above
        queries = stream_queries(sample.target, sample.id)
        events = [query.event(query_text(task, sample, query)) for query in queries]
        session = session_for(adapter, config)
        try:
            provider = VideoFrames(source, sample.video, stream_fps=fps, max_side=max_side)
            clock = VirtualClock(provider, events, sample.id)
            log = run_stream(session, clock, video_path=sample.video.path, realtime=streaming.realtime)
        except Exception as exc:  # this stream's video or model failed: its own error, the rest still run
            write(stream_record(task, sample, None, session, rule, error=_failure(exc, adapter)))
            continue
        write(stream_record(task, sample, log, session, rule))


def _failure(exc: Exception, adapter: Adapter) -> str:
    from tempeval.video import VideoError

    if isinstance(exc, VideoError):
        return f"video: {exc}"
    if isinstance(exc, TempevalError):
        return str(exc)
    return f"adapter '{adapter.name}' failed: {type(exc).__name__}: {exc}"


def responses_text(log: StreamLog) -> str:
    """The record's ``output``: one ``T s [query id] text`` line per response, in time order."""
    lines = [
        f"{entry.taken_at_s:.2f} s [{entry.action.query_id or '-'}] {entry.action.text}"
        for entry in sorted(log.entries, key=lambda e: e.taken_at_s)
        if isinstance(entry.action, Respond)
    ]
    return "\n".join(lines)


def log_error(log: StreamLog) -> str | None:
    """Why a stream counts as errored: the model failed on some push (the first failure's message)."""
    failed = [entry.action for entry in log.entries if isinstance(entry.action, Errored)]
    if not failed:
        return None
    return f"{len(failed)} of {len(log.entries)} model call(s) on this stream failed; first: {failed[0].message}"


def stream_record(
    task: Task,
    sample: Sample,
    log: StreamLog | None,
    session: StreamSession,
    rule: TimingRule,
    *,
    error: str | None = None,
) -> dict[str, Any]:
    """The (not yet scored) record of one stream: the common record fields (``build_record``) with the stream's
    own, which :func:`stream_fields` alone produces."""
    from tempeval.runner import build_record

    error = error or (log_error(log) if log is not None else "the stream did not run")
    text = responses_text(log) if log is not None else None
    latency = sum(entry.latency_s for entry in log.entries) if log is not None else 0.0
    record = build_record(task, sample, Prediction(sample.id, text if error is None else None, error, latency))
    record.update(stream_fields(log, session, rule))
    return record


def stream_fields(log: StreamLog | None, session: StreamSession, rule: TimingRule) -> Mapping[str, Any]:
    """The fields only a stream record has (``stream``: log, timing rule, polls) and the frames it saw."""
    prompts: list[str] = list(getattr(session, "prompts", ()))
    delivered = [frame for frame in (log.frames if log is not None else ()) if frame.delivered_at_s is not None]
    return {
        "stream": {
            "log": log.to_dict() if log is not None else None,
            "timing": rule.to_dict(),
            "native": bool(session.native_streaming),
            "polls": len(prompts),
            "dropped_frames": len(log.dropped) if log is not None else 0,
        },
        "prompt": prompts[-1] if prompts else None,
        "prompt_sha": prompt_sha(prompts[-1]) if prompts else None,
        "frame_times": [round(frame.t, 4) for frame in delivered],
        "frame_indices": [frame.source_index for frame in delivered],
        "frame_time_labels": [round(frame.t, 4) for frame in delivered],
        "duration_s": None if log is None or not log.frames else _end(log),
    }


def _end(log: StreamLog) -> float:
    return max((frame.t for frame in log.frames), default=math.nan)
