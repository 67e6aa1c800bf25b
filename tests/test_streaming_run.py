"""Streaming tasks end to end: `tempeval run` watches each stream on the virtual clock and scores its action log."""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tempeval import registry
from tempeval.adapter import create_adapter
from tempeval.cli import main
from tempeval.errors import RunFileError, TempevalError
from tempeval.loaders import LoadOptions
from tempeval.results import read_run
from tempeval.runner import RunOptions, run_task
from tempeval.streaming.events import Action, Respond, StreamEvent
from tempeval.streaming.queries import StreamQuery, stream_queries
from tempeval.streaming.run import StreamingOptions
from tempeval.streaming.session import StreamOpening
from tempeval.types import Request, Sample
from tests.conftest import poll_time, stream_policy, task_samples

LIMIT = 3
STREAMING_TASKS = sorted(name for name, task in registry.tasks().items() if task.kind == "streaming")


def options(tmp_path: Path, load: LoadOptions, **changes: Any) -> RunOptions:
    return RunOptions(out_dir=tmp_path / "runs", load=load, progress=False, limit=LIMIT, **changes)


def truth(load: LoadOptions, name: str = "synth_stream") -> dict[str, tuple[StreamQuery, ...]]:
    samples = task_samples(registry.get_task(name), load)[:LIMIT]
    return {s.id: stream_queries(s.target, s.id) for s in samples}


def test_random_streams_synth_stream_and_every_metric_comes_with_its_interval(
    load_options: LoadOptions, tmp_path: Path
) -> None:
    summary = run_task(registry.get_task("synth_stream"), create_adapter("random", {}), "random",
                       options(tmp_path, load_options))
    assert (summary.n, summary.errors) == (LIMIT, 0)
    expected = {"timing_score", "event_recall", "response_precision", "duplicate_rate", "mean_delay_s",
                "median_delay_s", "query_time_accuracy"}
    assert expected <= set(summary.metrics)
    run = read_run(summary.path)
    assert run.header["stream"] == {
        "stream_fps": 1.0,
        "polling": run.header["stream"]["polling"],
        "realtime": None,
        "timing": {"half_life_s": 2.0, "pauc_omega": 0.5},
    }
    polling = run.header["stream"]["polling"]
    assert polling["poll_every_s"] == 1.0 and polling["window_s"] is None
    record = run.records[0]
    assert record["stream"]["polls"] > 0 and record["stream"]["log"]["entries"], "the action log is in the record"
    assert record["frame_times"] == sorted(record["frame_times"]) and len(record["frame_times"]) >= 10


class LateStreamer:
    """A native streaming model whose timing is known: it says each event's answer exactly ``late_s`` after the
    event (at the first event the clock pushes at or after that time) and each count when asked."""

    def __init__(self, queries: dict[str, tuple[StreamQuery, ...]], late_s: float) -> None:
        self.queries, self.late_s = queries, late_s
        self.pushed: list[StreamEvent] = []

    def stream_session(self) -> LateStreamer:
        return self

    native_streaming = True

    def open(self, opening: StreamOpening) -> None:
        self.due = [(w[0] + self.late_s, q.query_id, "now") for q in self.queries[opening.stream_id]
                    for w in q.due_windows or ()]
        self.due += [(q.asked_at_s, q.query_id, str(q.target)) for q in self.queries[opening.stream_id]
                     if not q.is_event]
        self.due.sort()

    def push(self, event: StreamEvent) -> Sequence[Action]:
        self.pushed.append(event)
        said = [Respond(text, query_id) for at, query_id, text in self.due if at <= event.t]
        self.due = [item for item in self.due if item[0] > event.t]
        return said

    def close(self) -> None:
        pass


def test_a_model_two_seconds_late_gets_exactly_the_delay_and_score_the_formulas_give(
    load_options: LoadOptions, tmp_path: Path
) -> None:
    queries = truth(load_options)
    adapter = create_adapter("random", {})
    streamer = LateStreamer(queries, late_s=2.0)
    adapter.stream_session = streamer.stream_session  # type: ignore[attr-defined]
    summary = run_task(registry.get_task("synth_stream"), adapter, "late", options(tmp_path, load_options))
    delays, scores = [], []
    for record in read_run(summary.path).records:
        frames = [frame["t"] for frame in record["stream"]["log"]["frames"]]  # exact times, as the clock pushed them
        times = sorted({*frames, *(q.asked_at_s for q in queries[record["sample_id"]])})
        for query in queries[record["sample_id"]]:
            for start, end in query.due_windows or ():
                answered = min(t for t in times if t >= start + 2.0)  # the first event at or after s + 2
                delays.append(answered - start)
                scores.append(1.0 if answered <= end else 0.5 ** ((answered - end) / 2.0))
        assert record["stream"]["native"] is True and record["stream"]["polls"] == 0
    assert min(delays) >= 2.0
    assert summary.metrics["mean_delay_s"].value == pytest.approx(sum(delays) / len(delays))
    assert summary.metrics["median_delay_s"].value == pytest.approx(statistics.median(delays))
    assert summary.metrics["timing_score"].value == pytest.approx(100 * sum(scores) / len(scores))
    assert summary.metrics["timing_score"].value < 100, "2 s late on a 2 s window is late for most events"
    assert summary.metrics["event_recall"].value == 100 and summary.metrics["response_precision"].value == 100
    assert summary.metrics["query_time_accuracy"].value == 100 and summary.metrics["duplicate_rate"].value == 0


def recording(samples: list[Sample]) -> tuple[list[Request], Any]:
    gold = stream_policy(samples, gold=True)
    seen: list[Request] = []

    def policy(request: Request) -> str:
        seen.append(request)
        return gold(request)

    return seen, policy


def without_times(prompt: str) -> str:
    """A poll prompt without its stream times ("up to 12.4 s", "asked at 3.0 s") and query ids ("[count-1]"),
    which are not answers."""
    return re.sub(r"\[[^\]\n]+\]", "[ID]", re.sub(r"\d+\.\d+ s\b", "T s", prompt))


@pytest.mark.parametrize("name", STREAMING_TASKS)
def test_no_poll_sees_a_future_frame_and_no_prompt_holds_a_target(
    name: str, load_options: LoadOptions, tmp_path: Path
) -> None:
    """Every poll's frames end at its time; and once the questions' own texts (the benchmark's words, options
    included) are taken out of a poll prompt, what the harness wrote there holds no target of any query."""
    from tempeval.streaming.run import query_text

    task = registry.get_task(name)
    samples = task_samples(task, load_options)[:LIMIT]
    seen, policy = recording(samples)
    run_task(task, create_adapter("scripted", {"policy": policy}), "scripted", options(tmp_path, load_options))
    assert seen, "the task was never polled"
    for request in seen:
        stream, now = poll_time(request)
        assert request.frames is not None and max(request.frames.timestamps) <= now + 1e-9, "a frame from the future"
        sample = next(s for s in samples if s.id == stream)
        queries = stream_queries(sample.target, stream)
        harness = request.prompt
        for query in queries:
            harness = harness.replace(query_text(task, sample, query), "QUESTION")
        harness = without_times(harness)
        assert harness.count("QUESTION") == len(request.poll.open_queries if request.poll else ())
        for query in queries:
            for target in [query.target] if query.target is not None else []:
                flags = 0 if query.answer_format == "letter" else re.IGNORECASE
                assert not re.search(rf"\b{re.escape(str(target))}\b", harness, flags), (target, harness)


def test_the_leak_check_would_catch_a_target_in_a_poll_prompt() -> None:
    prompt = "[count-2] (asked at 12.4 s) How many circles have appeared so far? Is it 2?"
    assert re.search(r"\b2\b", without_times(prompt)) and not re.search(r"\b2\b", without_times(prompt[:-9]))


def test_a_failing_model_makes_error_records_never_scored_and_resume_retries_only_them(
    load_options: LoadOptions, tmp_path: Path
) -> None:
    task = registry.get_task("synth_stream")
    samples = task_samples(task, load_options)[:LIMIT]
    gold = stream_policy(samples, gold=True)
    broken = samples[1].id

    def flaky(request: Request) -> str:
        if poll_time(request)[0] == broken:
            raise RuntimeError("server down")
        return gold(request)

    first = run_task(task, create_adapter("scripted", {"policy": flaky}), "m", options(tmp_path, load_options))
    records = {r["sample_id"]: r for r in read_run(first.path).records}
    assert first.errors == 1 and "server down" in records[broken]["error"]
    assert records[broken]["score"] is None and records[broken]["output"] is None, "an error is never scored"
    assert first.metrics["event_recall"].value < 100, "an errored stream's windows count as unanswered"
    polled: set[str] = set()

    def counting(request: Request) -> str:
        polled.add(poll_time(request)[0])
        return gold(request)

    second = run_task(task, create_adapter("scripted", {"policy": counting}), "m", options(tmp_path, load_options))
    assert polled == {broken}, "resume runs only the stream that failed"
    assert second.errors == 0 and second.metrics["timing_score"].value == 100


def test_streaming_settings_are_part_of_the_runs_identity(load_options: LoadOptions, tmp_path: Path) -> None:
    task = registry.get_task("synth_stream")
    run_task(task, create_adapter("random", {}), "random", options(tmp_path, load_options))
    changed = options(tmp_path, load_options, streaming=StreamingOptions(poll_every_s=2.0))
    with pytest.raises(RunFileError, match="stream"):
        run_task(task, create_adapter("random", {}), "random", changed)


def test_the_cli_records_poll_window_realtime_and_stream_fps(
    synth_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs"
    argv = ["run", "--model", "random", "--task", "synth_stream", "--out", str(out), "--synth-dir", str(synth_dir),
            "--no-progress", "--limit", "2", "--poll-every", "2", "--window", "5", "--realtime", "--busy", "queue",
            "--stream-fps", "2"]
    assert main(argv) == 0
    assert "timing_score" in capsys.readouterr().out
    header = read_run(next(out.rglob("*.jsonl"))).header["stream"]
    assert header["stream_fps"] == 2.0 and header["realtime"] == {"busy": "queue"}
    assert (header["polling"]["poll_every_s"], header["polling"]["window_s"]) == (2.0, 5.0)
    assert main([*argv[:-9], "--window", "soon"]) != 0
    assert "--window must be 'full' or a number of seconds (e.g. 30), got 'soon'" in capsys.readouterr().err


def test_a_malformed_stream_query_is_refused_naming_the_sample_and_the_fix() -> None:
    with pytest.raises(TempevalError, match=r"s1: query 0 \(q\): due_windows must be"):
        stream_queries([{"query_id": "q", "asked_at_s": 0, "text": "when?", "due_windows": [[3, 1]]}], "s1")
    with pytest.raises(TempevalError, match="needs a target"):
        stream_queries([{"query_id": "q", "asked_at_s": 0, "text": "how many?"}], "s1")


def test_stream_settings_belong_to_streaming_tasks_only() -> None:
    from tempeval.task import TaskError, parse_task

    base = {"name": "t", "version": "1", "dataset": "synth", "answer_format": "text", "prompt": "{question}"}
    with pytest.raises(TaskError, match="belong to tasks of kind streaming"):
        parse_task({**base, "kind": "online", "stream": {"fps": 1}}, "t.yaml")
    with pytest.raises(TaskError, match="stream.half_life_s must be a positive number"):
        parse_task({**base, "kind": "streaming", "stream": {"half_life_s": 0}}, "t.yaml")
    assert parse_task({**base, "kind": "streaming", "stream": {"fps": 2}}, "t.yaml").stream == {"fps": 2}


def test_rescoring_a_streaming_run_reads_the_log_again(
    load_options: LoadOptions, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = run_task(registry.get_task("synth_stream"), create_adapter("random", {}), "random",
                       options(tmp_path, load_options))
    capsys.readouterr()
    assert main(["score", summary.path, "--json"]) == 0
    scored = next(o for o in map(json.loads, capsys.readouterr().out.splitlines()) if "task" in o)
    assert scored["metrics"]["timing_score"] == pytest.approx(summary.metrics["timing_score"].value)
    assert math.isfinite(scored["metrics"]["query_time_accuracy"])


def test_a_streaming_run_decodes_each_frame_of_a_stream_once_however_many_polls_see_it(
    load_options: LoadOptions, tmp_path: Path
) -> None:
    from tempeval.video import FrameSource

    source = FrameSource(cache_bytes=0)  # no cache to hide a second decode
    task = registry.get_task("synth_stream")
    seen, policy = recording(task_samples(task, load_options)[:LIMIT])
    summary = run_task(task, create_adapter("scripted", {"policy": policy}), "m", options(tmp_path, load_options),
                       frame_source=source)
    delivered = sum(len(r["frame_times"]) for r in read_run(summary.path).records)
    shown = sum(len(request.frames or ()) for request in seen)
    assert source.misses == delivered, "each frame of a stream is decoded once"
    assert shown > 3 * delivered, "while the polls showed each frame many times"
