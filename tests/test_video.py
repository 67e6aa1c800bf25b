"""Tests of tempeval.video on real mp4 files whose frames carry their own index (tests/videofactory.py)."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

import tempeval.video as video_module
from tempeval.types import FramePolicy, Frames, VideoRef
from tempeval.video import (
    DecodePlan,
    FrameSource,
    PyAVPass,
    VideoError,
    VideoInfo,
    plan_pass,
    probe,
    select_frames,
)
from tests.videofactory import make_barcode_video, read_barcode

# Irregular timing: 30 frames at 30 fps, 20 at 10 fps, then jittered gaps (1 ms .. 0.4 s).
_rng = random.Random(7)
VFR_TIMES = [i / 30 for i in range(30)]
VFR_TIMES += [VFR_TIMES[-1] + (i + 1) * 0.1 for i in range(20)]
for _ in range(30):
    VFR_TIMES.append(VFR_TIMES[-1] + _rng.choice([0.001, 0.02, 0.05, 0.4]))
VFR_TIMES = [round(t, 3) for t in VFR_TIMES]  # the writer stores milliseconds


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    return {
        "cfr": make_barcode_video(folder / "cfr.mp4", 60, 30.0),
        "vfr": make_barcode_video(folder / "vfr.mp4", len(VFR_TIMES), 30.0, frame_times_s=VFR_TIMES),
        "gop": make_barcode_video(folder / "gop.mp4", 240, 30.0, gop=80),
    }


def real_pts(path: Path) -> list[float]:
    """Presentation time of every frame, in the order an independent plain PyAV decode outputs them."""
    with av.open(str(path)) as container:
        return [float(frame.pts * frame.time_base) for frame in container.decode(video=0)]


def synthetic_info(times: list[float] | np.ndarray, duration_s: float, first_offset: float = 0.0) -> VideoInfo:
    """A VideoInfo without a file, for the pure selection tests."""
    array = np.asarray(times, dtype=np.float64) + first_offset
    return VideoInfo(path="synthetic.mp4", frame_times_s=array, width=128, height=96, duration_s=duration_s)


def check_barcodes(frames: Frames) -> None:
    assert [read_barcode(image) for image in frames.images] == list(frames.indices)


def shown_at(times: list[float], t: float) -> int:
    """Brute force: the last frame whose pts is at most t (the first frame when none)."""
    shown = 0
    for index, pts in enumerate(times):
        if pts <= t + video_module.TIME_EPS_S:
            shown = index
    return shown


# -- probe ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cfr", "vfr", "gop"])
def test_probe_timeline_is_the_real_pts(videos: dict[str, Path], name: str) -> None:
    info = probe(str(videos[name]))
    assert info.frame_times_s.tolist() == pytest.approx(real_pts(videos[name]), abs=1e-9)
    assert (info.width, info.height) == (128, 96)
    assert info.duration_s > info.frame_times_s[-1]
    assert info.keyframe_indices[0] == 0
    if name == "gop":
        assert info.keyframe_indices.tolist() == [0, 80, 160]
    if name == "vfr":
        assert info.frame_times_s.tolist() == pytest.approx(VFR_TIMES, abs=1e-6)


# -- every frame is the one asked for ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cfr", "vfr", "gop"])
def test_barcode_matches_index_and_timestamps_are_real(videos: dict[str, Path], name: str) -> None:
    source = FrameSource()
    path = videos[name]
    truth = real_pts(path)
    for num_frames in (1, 7, len(truth)):
        frames = source.frames(VideoRef(str(path)), FramePolicy(num_frames=num_frames), "s1")
        assert len(frames) == num_frames
        check_barcodes(frames)
        assert list(frames.timestamps) == pytest.approx([truth[i] for i in frames.indices], abs=1e-9)
        for image in frames.images:
            assert image.dtype == np.uint8 and image.shape == (96, 128, 3)
    # Asking for every frame of a CFR file gives each exactly once, in order.
    if name == "cfr":
        assert frames.indices == tuple(range(60))


def force_strategy(monkeypatch: pytest.MonkeyPatch, strategy: str) -> None:
    """Every pass follows ``strategy``, whatever the planner would choose."""
    def plan(info: VideoInfo, targets: Any, **options: Any) -> DecodePlan:
        return DecodePlan(tuple(sorted(targets)), strategy, **options)

    monkeypatch.setattr(video_module, "plan_pass", plan)


@pytest.mark.parametrize("strategy", ["seek", "sequential"])
def test_both_decode_strategies_give_the_right_frames(
    videos: dict[str, Path], strategy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    force_strategy(monkeypatch, strategy)
    info = probe(str(videos["gop"]))
    # Around every keyframe (79/80/81, 159/160/161) is where a seek that lands one GOP off would show.
    wanted = [0, 1, 5, 78, 79, 80, 81, 120, 158, 159, 160, 161, 200, 238, 239]
    decoded = video_module._decode_pyav(info, {i: {None, 64} for i in wanted})
    assert set(decoded) == {(i, side) for i in wanted for side in (None, 64)}
    for (index, _side), image in decoded.items():
        assert read_barcode(image) == index


@pytest.mark.parametrize("name", ["cfr", "vfr", "gop"])
@pytest.mark.parametrize("strategy", ["seek", "sequential"])
def test_every_decode_path_gives_identical_frames(
    videos: dict[str, Path], name: str, strategy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept packets (one open) and a fresh open, skipping unneeded non-reference frames or not: same pixels."""
    force_strategy(monkeypatch, strategy)
    path = str(videos[name])
    info = probe(path)
    wanted = sorted({0, 3, 7, info.num_frames // 2, info.num_frames // 2 + 1, info.num_frames - 2})
    wants = {i: {None, 48} for i in wanted}
    plain = PyAVPass(info, wants, skip_nonref=False)
    reference = plain.run()
    assert not plain.missing and not plain.skips_nonref and plain.plan.strategy == strategy
    skipper = PyAVPass(info, wants, skip_nonref=True)
    skipping = skipper.run()
    assert not skipper.missing and skipper.skips_nonref, "h264 skips the non-reference frames nobody asked for"
    kept_info, demuxed = video_module._probe(path, keep_packets=True)
    assert demuxed is not None
    try:
        from_packets = video_module._decode_pyav(kept_info, wants, demuxed)
    finally:
        demuxed.close()
    unthreaded = PyAVPass(info, wants, threaded=False)  # as when several videos decode at once
    assert not unthreaded.plan.threaded
    for decoded in (skipping, from_packets, unthreaded.run()):
        assert decoded.keys() == reference.keys()
        for key, image in reference.items():
            assert np.array_equal(decoded[key], image), key
    assert [read_barcode(reference[(i, None)]) for i in wanted] == wanted


def test_skipping_decodes_fewer_frames(videos: dict[str, Path]) -> None:
    info = probe(str(videos["cfr"]))
    wants = {i: {None} for i in (10, 30, 50)}
    everything, skipping = PyAVPass(info, wants, skip_nonref=False), PyAVPass(info, wants, skip_nonref=True)
    assert everything.run().keys() == skipping.run().keys() == {(10, None), (30, None), (50, None)}
    assert 0 < skipping.frames_out < everything.frames_out


def test_a_frame_lost_to_skipping_is_decoded_again_without_it(
    videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decoder that ignored a per-packet skip setting (dropping a wanted frame) costs a second pass, not frames."""
    real = PyAVPass.run
    calls: list[bool] = []

    def lossy(self: PyAVPass) -> Any:
        out = real(self)
        calls.append(self.skips_nonref)
        if self.skips_nonref:  # as if the decoder had skipped frame 20 too
            out = {key: image for key, image in out.items() if key[0] != 20}
            self.missing = sorted({*self.missing, 20})
        return out

    monkeypatch.setattr(PyAVPass, "run", lossy)
    decoded = video_module._decode_pyav(probe(str(videos["cfr"])), {i: {None} for i in (5, 20, 40)})
    assert calls == [True, False]
    assert {index: read_barcode(image) for (index, _), image in decoded.items()} == {5: 5, 20: 20, 40: 40}


def test_a_new_video_is_opened_once(videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Probe and first decode share one open container; a video seen before is not probed again."""
    opened: list[str] = []
    real_open = av.open
    monkeypatch.setattr(av, "open", lambda path, *a, **k: opened.append(str(path)) or real_open(path, *a, **k))
    source = FrameSource(cache_bytes=0)
    check_barcodes(source.frames(VideoRef(str(videos["gop"])), FramePolicy(num_frames=8), "a"))
    assert len(opened) == 1
    check_barcodes(source.frames(VideoRef(str(videos["gop"])), FramePolicy(num_frames=5), "b"))
    assert len(opened) == 2, "the second sample decodes with a fresh open and no probe"


def test_strategy_choice_follows_the_keyframes(videos: dict[str, Path]) -> None:
    info = probe(str(videos["gop"]))
    assert plan_pass(info, [235, 5]) == DecodePlan((5, 235), "seek")  # two frames, two GOPs apart
    assert plan_pass(info, list(range(0, 240, 4))).strategy == "sequential"  # dense


def test_seeking_decodes_only_from_the_keyframe_before(
    videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sparse plan on a long-GOP file must not decode the whole file (nor land a GOP early)."""
    demuxed: list[int] = []
    real_open = av.open

    class CountingContainer:
        def __init__(self, container: Any) -> None:
            self._container = container

        def __getattr__(self, name: str) -> Any:
            return getattr(self._container, name)

        def demux(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
            for packet in self._container.demux(*args, **kwargs):
                if packet.size:
                    demuxed.append(packet.pts)
                yield packet

    info = probe(str(videos["gop"]))
    monkeypatch.setattr(av, "open", lambda *a, **k: CountingContainer(real_open(*a, **k)))
    out = video_module._decode_pyav(info, {170: {None}, 230: {None}})
    assert {index for index, _ in out} == {170, 230}
    # From keyframe 160 to 230 is 71 frames; B-frame reordering may add a few packets.
    assert 71 <= len(demuxed) <= 80


# -- selection (pure) ----------------------------------------------------------------------------------------


def test_segment_midpoints_worked_by_hand() -> None:
    # 10 frames at 10 fps: pts 0.0, 0.1, ..., 0.9; duration 1.0 s. N = 4 cuts [0, 1] into segments of
    # 0.25 s whose midpoints are 0.125, 0.375, 0.625, 0.875. The frame shown at each (last pts <= t) is
    # 0.1 -> 1, 0.3 -> 3, 0.6 -> 6, 0.8 -> 8.
    info = synthetic_info([i / 10 for i in range(10)], 1.0)
    assert select_frames(info, VideoRef("x"), FramePolicy(num_frames=4), "k") == [1, 3, 6, 8]
    # A clip [0.2, 0.6] with N = 2: segments of 0.2 s, midpoints 0.3 and 0.5 -> frames 3 and 5.
    assert select_frames(info, VideoRef("x", 0.2, 0.6), FramePolicy(num_frames=2), "k") == [3, 5]
    # Midpoints landing exactly on a pts pick that frame, not the one before: 30 frames, N = 15 gives
    # t = (2i + 1) / 30, exactly frame 2i + 1, even though float rounding may put t a hair below it.
    info30 = synthetic_info([i / 30 for i in range(30)], 1.0)
    assert select_frames(info30, VideoRef("x"), FramePolicy(num_frames=15), "k") == list(range(1, 30, 2))


def test_more_frames_than_the_clip_has_repeats_frames() -> None:
    info = synthetic_info([0.0, 0.5], 1.0)
    assert select_frames(info, VideoRef("x"), FramePolicy(num_frames=6), "k") == [0, 0, 0, 1, 1, 1]


def test_vfr_selection_searches_the_real_pts() -> None:
    info = synthetic_info(VFR_TIMES, VFR_TIMES[-1] + 0.05)
    for n in (1, 3, 8, 33, 64):
        chosen = select_frames(info, VideoRef("x"), FramePolicy(num_frames=n), "k")
        length = info.duration_s
        targets = [(i + 0.5) * length / n for i in range(n)]
        assert chosen == [shown_at(VFR_TIMES, t) for t in targets]
    # Index = t * fps would be wrong here: at t = 4.0 s a nominal 30 fps says frame 120, which does not exist.
    assert select_frames(info, VideoRef("x", 3.9, 4.1), FramePolicy(num_frames=1), "k") == [shown_at(VFR_TIMES, 4.0)]


def test_fps_policy_counts_and_caps() -> None:
    info = synthetic_info([i / 10 for i in range(100)], 10.0)  # 10 s at 10 fps
    by_fps = FramePolicy(num_frames=None, fps=2.0, max_frames=64)
    assert len(select_frames(info, VideoRef("x"), by_fps, "k")) == 20
    assert len(select_frames(info, VideoRef("x"), by_fps.replace(max_frames=8), "k")) == 8
    assert len(select_frames(info, VideoRef("x", 2.0, 5.0), by_fps, "k")) == 6
    assert len(select_frames(info, VideoRef("x"), by_fps.replace(fps=0.05), "k")) == 1  # floor(0.5) -> 1
    assert len(select_frames(info, VideoRef("x"), by_fps.replace(fps=0.3), "k")) == 3  # 10 * 0.3 floors to 3
    # With an end-time cap the clip (and so the count) shrinks: 4 s at 2 fps = 8 frames, all before 4 s.
    chosen = select_frames(info, VideoRef("x"), by_fps.replace(end_s=4.0), "k")
    assert len(chosen) == 8 and max(info.frame_times_s[chosen]) <= 4.0


def test_orders_reversed_and_shuffled() -> None:
    info = synthetic_info([i / 30 for i in range(300)], 10.0)
    base = FramePolicy(num_frames=16)
    original = select_frames(info, VideoRef("x"), base, "sample-1")
    assert original == sorted(original)
    assert select_frames(info, VideoRef("x"), base.replace(order="reversed"), "sample-1") == original[::-1]
    shuffled = base.replace(order="shuffled", seed=3)
    first = select_frames(info, VideoRef("x"), shuffled, "sample-1")
    assert sorted(first) == original and first != original
    assert select_frames(info, VideoRef("x"), shuffled, "sample-1") == first  # deterministic
    assert first == _expected_shuffle(original, 3, "sample-1")  # documented seeding
    others = {tuple(select_frames(info, VideoRef("x"), shuffled, f"sample-{i}")) for i in range(2, 8)}
    assert len(others | {tuple(first)}) > 1  # the key (sample id) takes part in the seed
    assert select_frames(info, VideoRef("x"), shuffled.replace(seed=4), "sample-1") != first


def _expected_shuffle(items: list[int], seed: int, key: str) -> list[int]:
    copy = list(items)
    random.Random(f"{seed}:{key}").shuffle(copy)
    return copy


def test_end_cap_is_never_exceeded_property() -> None:
    """Many caps, clips, counts and timelines: no returned frame ever has pts > cap."""
    rng = random.Random(1234)
    timelines = [
        synthetic_info([i / 30 for i in range(300)], 10.0),
        synthetic_info(VFR_TIMES, VFR_TIMES[-1] + 0.1),
        synthetic_info([i / 25 for i in range(100)], 4.0, first_offset=0.37),  # starts late
    ]
    checked = 0
    for info in timelines:
        times = info.frame_times_s
        for _ in range(400):
            cap = rng.uniform(float(times[0]), info.duration_s + 1.0)
            if rng.random() < 0.3:  # caps exactly on a pts, and a hair around it
                cap = float(times[rng.randrange(len(times))]) + rng.choice([0.0, 1e-9, -1e-9, 5e-4, -5e-4])
                cap = max(cap, float(times[0]))
            start = rng.choice([None, 0.0, rng.uniform(0, min(cap, info.duration_s))])
            end = rng.choice([None, rng.uniform(start or 0.0, info.duration_s + 0.5)])
            if rng.random() < 0.5:
                policy = FramePolicy(num_frames=rng.randint(1, 70), end_s=cap)
            else:
                policy = FramePolicy(
                    num_frames=None, fps=rng.uniform(0.1, 40), max_frames=rng.randint(1, 64), end_s=cap
                )
            policy = policy.replace(order=rng.choice(["original", "reversed", "shuffled"]))
            chosen = select_frames(info, VideoRef("x", start, end), policy, f"k{checked}")
            assert chosen, "always at least one frame"
            assert max(times[chosen]) <= cap, (cap, start, end, policy)
            checked += 1
    assert checked == 1200


def test_cap_before_first_frame_is_an_error() -> None:
    info = synthetic_info([i / 25 for i in range(100)], 4.0, first_offset=0.5)
    with pytest.raises(VideoError, match=r"synthetic\.mp4: the end-time cap 0\.200 s is before the first frame"):
        select_frames(info, VideoRef("x"), FramePolicy(num_frames=4, end_s=0.2), "k")
    # A cap exactly on the first frame is allowed: that frame is shown then.
    assert select_frames(info, VideoRef("x"), FramePolicy(num_frames=3, end_s=0.5), "k") == [0, 0, 0]


def test_clip_bounds_are_honoured() -> None:
    info = synthetic_info([i / 30 for i in range(90)], 3.0)
    chosen = select_frames(info, VideoRef("x", 1.0, 2.0), FramePolicy(num_frames=10), "k")
    assert all(30 <= i <= 60 for i in chosen) and len(chosen) == 10
    assert chosen == [shown_at(info.frame_times_s.tolist(), 1.0 + (i + 0.5) / 10) for i in range(10)]
    # An end past the file is clamped to the duration; a start after the end is an error.
    assert select_frames(info, VideoRef("x", 2.0, 99.0), FramePolicy(num_frames=1), "k") == [75]
    with pytest.raises(VideoError, match=r"clip \[5\.000 s, 3\.000 s\] is empty"):
        select_frames(info, VideoRef("x", 5.0, None), FramePolicy(num_frames=1), "k")


# -- FrameSource on real files --------------------------------------------------------------------------------


def test_end_cap_on_a_real_file(videos: dict[str, Path]) -> None:
    source = FrameSource()
    path = str(videos["vfr"])
    truth = real_pts(videos["vfr"])
    caps = [0.0, 0.001, 0.5, truth[29], truth[30] - 1e-4, 2.0, 3.3, truth[-1], 100.0]
    items = [(VideoRef(path), FramePolicy(num_frames=8, end_s=cap), f"q{i}") for i, cap in enumerate(caps)]
    results = source.frames_many(items)
    for cap, frames in zip(caps, results, strict=True):
        assert isinstance(frames, Frames)
        check_barcodes(frames)
        assert max(frames.timestamps) <= cap
        assert list(frames.timestamps) == [truth[i] for i in frames.indices]


def test_clip_on_a_real_file(videos: dict[str, Path]) -> None:
    frames = FrameSource().frames(VideoRef(str(videos["cfr"]), 0.5, 1.5), FramePolicy(num_frames=5), "k")
    check_barcodes(frames)
    # Midpoints 0.6, 0.8, 1.0, 1.2, 1.4 s at 30 fps: frames 18, 24, 30, 36, 42.
    assert frames.indices == (18, 24, 30, 36, 42)
    assert all(0.5 - 1 / 30 <= t <= 1.5 for t in frames.timestamps)


def test_max_side_resizes_keeping_aspect(videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    passes = _count_passes(monkeypatch)
    source = FrameSource()
    ref = VideoRef(str(videos["gop"]))
    small, large, same = source.frames_many(
        [
            (ref, FramePolicy(num_frames=6, max_side=64), "a"),
            (ref, FramePolicy(num_frames=6, max_side=512), "b"),  # never upscaled
            (ref, FramePolicy(num_frames=6), "c"),
        ]
    )
    assert isinstance(small, Frames) and isinstance(large, Frames) and isinstance(same, Frames)
    assert {image.shape for image in small.images} == {(48, 64, 3)}
    assert {image.shape for image in large.images} == {(96, 128, 3)}
    check_barcodes(small)
    check_barcodes(large)
    assert small.indices == same.indices
    assert len(passes) == 1  # both sizes from one pass
    assert not small.images[0].flags.writeable  # cached arrays are shared, so read-only


@pytest.mark.parametrize("kind", ["missing", "corrupt", "empty", "zero-frame"])
def test_bad_files_give_video_errors_naming_the_path(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.mp4"
    if kind == "corrupt":
        path.write_bytes(random.Random(0).randbytes(20_000))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "zero-frame":
        with av.open(str(path), "w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=30)
            stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
            container.start_encoding()
    with pytest.raises(VideoError) as raised:
        probe(str(path))
    message = str(raised.value)
    assert message.startswith(str(path)) and ". " in message  # what is wrong, then the fix
    expected = {"missing": "file not found", "corrupt": "cannot be read", "empty": "empty", "zero-frame": "no video"}
    assert expected[kind] in message
    with pytest.raises(VideoError, match=str(path)):
        FrameSource().frames(VideoRef(str(path)), FramePolicy(), "k")


def test_frames_many_isolates_bad_videos(videos: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    items = [
        (VideoRef(str(videos["cfr"])), FramePolicy(num_frames=4), "a"),
        (VideoRef(str(bad)), FramePolicy(num_frames=4), "b"),
        (VideoRef(str(videos["vfr"])), FramePolicy(num_frames=5, order="reversed"), "c"),
        (VideoRef(str(bad)), FramePolicy(num_frames=2), "d"),
        (VideoRef(str(tmp_path / "gone.mp4")), FramePolicy(num_frames=2), "e"),
        (VideoRef(str(videos["cfr"])), FramePolicy(num_frames=3, end_s=-1.0), "f"),  # bad request, good video
        (VideoRef(str(videos["gop"])), FramePolicy(num_frames=3, max_side=64), "g"),
    ]
    results = FrameSource().frames_many(items)
    assert [type(r).__name__ for r in results] == [
        "Frames", "VideoError", "Frames", "VideoError", "VideoError", "VideoError", "Frames",
    ]  # fmt: skip
    for result, count in zip([results[0], results[2], results[6]], [4, 5, 3], strict=True):
        assert isinstance(result, Frames) and len(result) == count
        check_barcodes(result)
    assert str(bad) in str(results[1]) and "gone.mp4: file not found" in str(results[4])
    assert isinstance(results[2], Frames) and list(results[2].indices) == sorted(results[2].indices, reverse=True)


def _count_passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Spy on the PyAV decode pass; returns the list of frame counts decoded, one entry per pass."""
    passes: list[int] = []
    real = PyAVPass.run

    def spy(self: PyAVPass) -> Any:
        passes.append(len(self.wants))
        return real(self)

    monkeypatch.setattr(PyAVPass, "run", spy)
    return passes


def test_ten_queries_on_one_video_decode_once(videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    passes = _count_passes(monkeypatch)
    source = FrameSource()
    ref = VideoRef(str(videos["gop"]))
    items = [(ref, FramePolicy(num_frames=8, end_s=0.8 * (q + 1)), f"q{q}") for q in range(6)]
    items += [(ref, FramePolicy(num_frames=n, order="shuffled"), f"p{n}") for n in (4, 16, 32)]
    items += [(ref, FramePolicy(num_frames=None, fps=2.0), "fps")]
    results = source.frames_many(items)
    assert len(passes) == 1
    for result in results:
        assert isinstance(result, Frames)
        check_barcodes(result)
    # Asking again, one by one, hits the cache: no more passes.
    for item in items:
        source.frames(*item)
    assert len(passes) == 1 and source.hits > 0


def test_cache_eviction_respects_the_byte_bound(videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    passes = _count_passes(monkeypatch)
    frame_bytes = 96 * 128 * 3
    source = FrameSource(cache_bytes=3 * frame_bytes + 100)
    ref = VideoRef(str(videos["cfr"]))
    first = source.frames(ref, FramePolicy(num_frames=10), "k")
    check_barcodes(first)
    assert source.cache_used_bytes <= source.cache_bytes
    assert source.cache_used_bytes == 3 * frame_bytes  # the three most recent
    # The oldest frames were evicted: asking for them decodes again; the newest three are hits.
    source.frames(ref, FramePolicy(num_frames=10), "k")
    assert len(passes) == 2
    hits_before = source.hits
    frames = source.frames(ref, FramePolicy(num_frames=10), "k")
    check_barcodes(frames)
    assert source.cache_used_bytes <= source.cache_bytes
    assert source.hits - hits_before == 3
    # A zero budget caches nothing and still works.
    uncached = FrameSource(cache_bytes=0)
    check_barcodes(uncached.frames(ref, FramePolicy(num_frames=4), "k"))
    assert uncached.cache_used_bytes == 0


def test_cache_notices_a_rewritten_file(tmp_path: Path) -> None:
    path = make_barcode_video(tmp_path / "v.mp4", 10, 10.0)
    source = FrameSource()
    assert source.frames(VideoRef(str(path)), FramePolicy(num_frames=1), "k").indices == (5,)
    make_barcode_video(path, 40, 10.0)  # same name, new content: new mtime and size
    frames = source.frames(VideoRef(str(path)), FramePolicy(num_frames=1), "k")
    assert frames.indices == (20,)
    check_barcodes(frames)


def test_threads_share_a_frame_source(videos: dict[str, Path]) -> None:
    source = FrameSource(cache_bytes=0)
    failures: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            for n in range(1, 6):
                name = ["cfr", "vfr", "gop"][(seed + n) % 3]
                frames = source.frames(VideoRef(str(videos[name])), FramePolicy(num_frames=n * 3), f"{seed}")
                check_barcodes(frames)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures


def test_unknown_decoder_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="pyav, decord"):
        FrameSource(decoder="opencv")


def test_import_is_light() -> None:
    code = "import sys, tempeval.video; assert 'av' not in sys.modules and 'decord' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


def test_decord_missing_gives_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "decord", None)  # makes `import decord` raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'tempeval\[decord\]'"):
        FrameSource(decoder="decord")


def test_decord_gives_the_same_frames(videos: dict[str, Path]) -> None:
    pytest.importorskip("decord", reason="decord is an optional extra (pip install 'tempeval[decord]')")
    pyav, decord = FrameSource(), FrameSource(decoder="decord")
    policies = [
        FramePolicy(num_frames=16),
        FramePolicy(num_frames=7, max_side=64, order="shuffled"),
        FramePolicy(num_frames=None, fps=4.0, end_s=1.7),
    ]
    for name in ("cfr", "vfr", "gop"):
        for policy in policies:
            ref = VideoRef(str(videos[name]))
            a, b = pyav.frames(ref, policy, "k"), decord.frames(ref, policy, "k")
            assert a.indices == b.indices and a.timestamps == b.timestamps
            check_barcodes(b)
            for x, y in zip(a.images, b.images, strict=True):
                assert x.shape == y.shape
                assert np.abs(x.astype(np.int16) - y.astype(np.int16)).max() <= 2
