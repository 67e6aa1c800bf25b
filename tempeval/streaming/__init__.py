"""True streaming evaluation: a model watches a stream on a virtual clock and decides when to answer.

The parts, one module each:

* :mod:`~tempeval.streaming.events`: the nouns. ``FrameEvent(t, image, source_index)`` and
  ``QueryEvent(t, text, query_id)`` on one timeline; the actions ``Silent``, ``Respond(text, query_id)`` and
  ``Errored(message)``; ``LogEntry`` (time taken, event time answered, action, latency) and the ``StreamLog``
  of a stream, with ``to_dict`` / ``from_dict`` for run records.
* :mod:`~tempeval.streaming.clock`: ``VirtualClock(provider, queries)`` yields the events in time order and
  refuses any frame a provider hands over before its time; ``FrameProvider`` is the protocol
  (``stream_fps``, ``end_s``, ``frames_between(after_s, until_s)``), ``InMemoryFrames`` the in-memory one.
* :mod:`~tempeval.streaming.video_frames`: ``VideoFrames(source, video, stream_fps=...)`` decodes a video file
  through ``tempeval.video.FrameSource``, chunk by chunk as the clock reaches it, each frame once per stream.
* :mod:`~tempeval.streaming.session`: the ``StreamSession`` protocol (``open`` / ``push`` -> actions /
  ``close``, ``native_streaming``) and ``run_stream(session, clock, realtime=...)``, the driver that logs
  every action and, in real-time mode, lets latency cost stream time (frames dropped or queued while busy).
* :mod:`~tempeval.streaming.polling`: ``PollingSession(adapter, PollingConfig(poll_every_s, window_s, ...))``
  streams any offline adapter by polling it with a neutral instruction that never contains a target.
* :mod:`~tempeval.streaming.scripted`: ``ScriptedStreamSession(cues)``, a native session that answers at given
  times, for tests.
* Scores live in :mod:`tempeval.scoring.streaming` (pure functions of a ``StreamLog``'s entries and the truth).

How to wire it into the runner, CLI and registry (nothing here imports them)::

    # registry / task: a task kind "stream" whose samples group into streams: one video, its queries
    #   (QueryEvent: time, text, id) and their truth (AskedQuery for query-time scoring, DueWindow for events).
    # cli: `tempeval run --stream-fps F --poll-every S --window full|SECONDS --realtime [--busy drop|queue]`
    #   -> PollingConfig(poll_every_s=S, window_s=parse_window(W), generation=task generation),
    #      Realtime(busy=...) or None; all of it goes into the run header (PollingConfig.to_dict(),
    #      Realtime.to_dict(), stream_fps, TimingRule.to_dict()) as part of the run's identity.
    # runner, per stream (holding the run lock, writing the record via a temp file and rename as today):
    session = getattr(adapter, "stream_session", None)          # a natively streaming adapter offers one
    session = session() if session else PollingSession(adapter, polling_config)
    provider = VideoFrames(frame_source, VideoRef(path), stream_fps=stream_fps, max_side=max_side)
    log = run_stream(session, VirtualClock(provider, queries, stream_id), video_path=path, realtime=realtime)
    record = log.to_dict()                                       # plus prompt hashes of session.prompts
    # scoring (rescoring never calls a model): StreamLog.from_dict(record), then query_time_outcomes(...)
    #   with the task's scorer as the content score, score_events(...), and event_metrics(...) over streams;
    #   official views (streamingbench_proactive, ovo_forward_probe_accuracy) reported beside, never mixed.
"""

from tempeval.streaming.clock import DEFAULT_STREAM_FPS, FrameProvider, InMemoryFrames, VirtualClock
from tempeval.streaming.events import (
    Action,
    Errored,
    FrameEvent,
    FrameStamp,
    LogEntry,
    QueryEvent,
    Respond,
    Silent,
    StreamEvent,
    StreamLog,
)
from tempeval.streaming.session import Realtime, StreamOpening, StreamSession, run_stream

__all__ = [
    "DEFAULT_STREAM_FPS",
    "Action",
    "Errored",
    "FrameEvent",
    "FrameProvider",
    "FrameStamp",
    "InMemoryFrames",
    "LogEntry",
    "QueryEvent",
    "Realtime",
    "Respond",
    "Silent",
    "StreamEvent",
    "StreamLog",
    "StreamOpening",
    "StreamSession",
    "VirtualClock",
    "run_stream",
]
