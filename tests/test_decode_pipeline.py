"""Decoding on every core, ahead of the adapter: parallel across videos, in order, bounded in bytes."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pytest

import tempeval.runner as runner
from tempeval import registry
from tempeval.adapter import Adapter, create_adapter, take_batch
from tempeval.cli import main
from tempeval.loaders import LoadOptions
from tempeval.prefetch import Prefetcher
from tempeval.results import read_run
from tempeval.runner import RunOptions, run_task
from tempeval.types import Prediction, Request, Sample, VideoRef
from tempeval.video import FrameSource
from tests.conftest import gold_policy, task_samples


def options(tmp_path: Path, load_options: LoadOptions, **changes: object) -> RunOptions:
    return RunOptions(out_dir=tmp_path / "runs", load=load_options, progress=False, fresh=True, **changes)  # type: ignore[arg-type]


def pinned_samples(count: int, load_options: LoadOptions, monkeypatch: pytest.MonkeyPatch) -> list[Sample]:
    """The first ``count`` samples of synth_speed, which the runner then loads (a test may change them first)."""
    samples = task_samples(registry.get_task("synth_speed"), load_options)[:count]
    monkeypatch.setattr(runner, "load_samples", lambda *args, **kwargs: samples)
    return samples


def with_video(sample: Sample, path: str) -> Sample:
    return sample.__class__(**{**sample.__dict__, "video": VideoRef(path)})


def test_any_worker_count_writes_the_same_records_in_the_same_order(
    tmp_path: Path, load_options: LoadOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = registry.get_task("synth_speed")
    samples = pinned_samples(14, load_options, monkeypatch)
    # A missing video in the middle: its error record must keep its place whichever video finishes first.
    samples[5] = with_video(samples[5], str(tmp_path / "missing.mp4"))
    gold = gold_policy(task, samples)

    def records(workers: int) -> list[str]:
        adapter = create_adapter("scripted", {"policy": gold})
        summary = run_task(task, adapter, "scripted", options(tmp_path / str(workers), load_options,
                                                               decode_workers=workers))
        lines = []
        for record in read_run(summary.path).records:
            line = record.to_json()
            assert line.pop("latency_s") >= 0
            lines.append(json.dumps(line, sort_keys=True))
        return lines

    one, three = records(1), records(3)
    assert len(one) == 14 and one == three, "byte-identical records, in the same order, for 1 and 3 workers"
    assert [json.loads(line)["sample_id"] for line in one] == [s.id for s in samples]
    assert "missing.mp4" in json.loads(one[5])["error"]


def test_two_workers_decode_two_videos_at_the_same_time(
    tmp_path: Path, load_options: LoadOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = registry.get_task("synth_speed")
    pinned_samples(4, load_options, monkeypatch)
    both_decoding = threading.Barrier(2, timeout=5)
    met: list[bool] = []
    real_decode = FrameSource._decode

    def meets_another(self: FrameSource, *args: object) -> object:
        try:
            both_decoding.wait()  # passes only when a second pass is running at the same moment
            met.append(True)
        except threading.BrokenBarrierError:
            met.append(False)
        return real_decode(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(FrameSource, "_decode", meets_another)
    summary = run_task(task, create_adapter("random"), "random", options(tmp_path, load_options, decode_workers=2))
    assert summary.n == 4 and summary.errors == 0
    assert met[:2] == [True, True], "the first two videos were decoded at once, on two threads"


def test_decoding_stays_within_the_byte_budget_ahead_of_a_slow_consumer() -> None:
    started: list[int] = []
    size = 10 * 2**20  # each group holds 10 MiB of frames

    def prepare(group: int) -> list[tuple[int, int]]:
        started.append(group)
        return [(group, size)]

    prefetch: Prefetcher[int, int] = Prefetcher(range(100), prepare, workers=2, max_bytes=35 * 2**20)
    try:
        deadline = time.monotonic() + 5
        while prefetch.peak_bytes < 30 * 2**20 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # a consumer that takes nothing: the workers must stop at the budget
        assert 3 <= len(started) <= 5, f"{len(started)} groups prepared ahead of a consumer that took none"
        assert prefetch.peak_bytes <= 35 * 2**20 + 2 * size, "at most the budget, plus the groups then running"
        taken = [prefetch.take() for _ in range(100)]
        assert taken == list(range(100)), "in group order"
        with pytest.raises(StopIteration):
            prefetch.take()
    finally:
        prefetch.close()


def test_a_group_that_fails_to_prepare_raises_at_its_turn_and_close_stops_the_rest() -> None:
    started: list[int] = []

    def prepare(group: int) -> list[tuple[int, int]]:
        started.append(group)
        if group == 2:
            raise RuntimeError("bug in preparing")
        return [(group, 1)]

    prefetch: Prefetcher[int, int] = Prefetcher(range(1000), prepare, workers=2, max_bytes=3)
    assert [prefetch.take(), prefetch.take()] == [0, 1]
    with pytest.raises(RuntimeError, match="bug in preparing"):
        prefetch.take()
    prefetch.close()
    assert len(started) < 20, "nothing more is prepared after close"
    with pytest.raises(StopIteration):
        prefetch.take()


class _CrashesAfterOne(Adapter):
    name = "crashes"

    def generate(self, requests: Sequence[Request]) -> list[Prediction]:
        raise AssertionError("stream is overridden")

    def stream(self, requests: Iterable[Request]) -> Iterator[Prediction]:
        first = next(iter(requests))
        yield Prediction(first.sample_id, "A")
        raise RuntimeError("engine died")


def test_after_an_adapter_crash_the_remaining_videos_are_not_decoded(
    tmp_path: Path, load_options: LoadOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = registry.get_task("synth_speed")
    samples = pinned_samples(30, load_options, monkeypatch)
    source = FrameSource()
    summary = run_task(task, _CrashesAfterOne("", None), "crashes", options(tmp_path, load_options, decode_workers=1,
                       max_inflight_bytes=2**20), frame_source=source)
    records = read_run(summary.path).records
    assert len(records) == 30 and sum(r["error"] is not None for r in records) == 29
    assert all("engine died" in r["error"] for r in records if r["error"] is not None)
    videos = len({s.video.path for s in samples if s.video})
    assert source.passes <= 4 < videos, f"{source.passes} of {videos} videos decoded only to be marked as errors"


class _Feed:
    """A runner-like feed: 3 requests ready, then nothing until the batch has gone."""

    batch_bytes = 10**9

    def __init__(self) -> None:
        self.items = [Request(f"q{i}", "p", None, "letter") for i in range(5)]

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> Request:
        if not self.items:
            raise StopIteration
        return self.items.pop(0)

    def ready(self) -> bool:
        return len(self.items) > 2


def test_a_batch_is_cut_at_what_is_ready_and_a_plain_iterator_fills_it() -> None:
    feed = _Feed()
    assert [r.sample_id for r in take_batch(feed, 16)] == ["q0", "q1", "q2"], "an idle engine gets what is ready"
    assert [r.sample_id for r in take_batch(feed, 16)] == ["q3"]
    assert [r.sample_id for r in take_batch(iter(_Feed().items), 4)] == ["q0", "q1", "q2", "q3"]
    assert take_batch(iter([]), 4) == []


def test_cli_takes_decode_workers_and_a_byte_budget(tmp_path: Path, synth_dir: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    common = ["run", "--model", "random", "--task", "synth_speed", "--limit", "4", "--synth-dir", str(synth_dir),
              "--out", str(tmp_path), "--no-progress"]
    assert main([*common, "--decode-workers", "3", "--max-inflight-bytes", "256M"]) == 0
    with pytest.raises(SystemExit):
        main([*common, "--max-inflight-bytes", "10k"])
    assert "must be at least 1M" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*common, "--decode-workers", "0"])


def test_default_decode_workers_leave_the_cores_an_adapter_reserves(monkeypatch: pytest.MonkeyPatch) -> None:
    """The openai adapter's own thread encodes JPEGs: by default it gets a core, decoding the rest (at least one)."""
    openai = create_adapter("openai/m", {"base_url": "http://127.0.0.1:9/v1"})
    random = create_adapter("random")
    assert openai.reserved_cores == 1 and random.reserved_cores == 0
    monkeypatch.setattr(runner.os, "sched_getaffinity", lambda pid: set(range(4)))
    assert runner.decode_workers(RunOptions(), random) == 4
    assert runner.decode_workers(RunOptions(), openai) == 3
    assert runner.decode_workers(RunOptions(decode_workers=4), openai) == 4, "--decode-workers decides"
    monkeypatch.setattr(runner.os, "sched_getaffinity", lambda pid: {0})
    assert runner.decode_workers(RunOptions(), openai) == 1, "always one decoding"
    monkeypatch.setattr(runner.os, "sched_getaffinity", lambda pid: {0, 1})
    assert runner.frame_source_for(RunOptions(), adapter=openai).threaded_decoders, "one worker: FFmpeg's threads"
    assert not runner.frame_source_for(RunOptions(), adapter=random).threaded_decoders


def test_a_consumer_faster_than_the_workers_bookkeeping_still_gets_every_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A future's result is visible before its done-callbacks run: the prefetcher must not take the groups for done
    while one is still counted as running (a run once marked its last samples 'stopped asking' that way)."""
    import concurrent.futures

    original = concurrent.futures.Future._invoke_callbacks

    def late_callbacks(self: concurrent.futures.Future[object]) -> None:
        time.sleep(0.05)  # the consumer wakes up first, as it may under load
        original(self)

    monkeypatch.setattr(concurrent.futures.Future, "_invoke_callbacks", late_callbacks)
    prefetch: Prefetcher[list[int], int] = Prefetcher(
        [[1], [2], [3], [4]], lambda group: [(item, 1) for item in group], workers=1, max_bytes=10
    )
    taken: list[int] = []
    with contextlib.suppress(StopIteration):
        while True:
            taken.append(prefetch.take())
    prefetch.close()
    assert taken == [1, 2, 3, 4]
