"""Benchmark: ms per sample for uniform frame sampling, tempeval's FrameSource against plain decoder loops.

Makes synthetic H.264 videos (30 s and 5 min, 320x240 and 640x360, 30 fps) in a temporary folder, then for
N = 8, 32, 64 uniform frames times, per sample (file opened each time, as a harness does per sample):

* ``tempeval fresh``: ``FrameSource.frames`` with every cache cleared first (includes the demux probe);
* ``tempeval probed``: the same with the video's timeline already probed (the per-sample cost in a run,
  where each video is probed once) but no decoded frame cached;
* ``pyav seek``: a plain PyAV loop, seek to the keyframe before each target, decode forward to it;
* ``pyav seq``: plain PyAV, one threaded sequential decode up to the last target;
* ``decord``: ``VideoReader(path).get_batch(indices)``, when decord is installed.

All methods decode the same frame indices (the segment midpoints tempeval selects) at full size to RGB.
Prints a markdown table with the ratio of tempeval's time to the fastest plain method.

Usage: ``python bench/frame_sampling.py [--quick] [--repeats R]`` (``--quick``: 10 s and 60 s videos).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from tempeval.mp4 import write_mp4  # noqa: E402
from tempeval.types import FramePolicy, VideoRef  # noqa: E402
from tempeval.video import FrameSource, plan_pass, select_frames  # noqa: E402

FPS = 30


def synthetic_frames(count: int, width: int, height: int) -> Iterator[np.ndarray]:
    """Moving gradients plus a drifting noise patch: enough motion for real P/B frames, cheap to make."""
    rng = np.random.default_rng(0)
    rows = np.arange(height, dtype=np.int32)[:, None]
    cols = np.arange(width, dtype=np.int32)[None, :]
    patch = rng.integers(0, 256, size=(height // 4, width // 4, 3), dtype=np.uint8)
    for index in range(count):
        image = np.empty((height, width, 3), dtype=np.uint8)
        image[..., 0] = (cols + 3 * index) % 256
        image[..., 1] = (rows + 2 * index) % 256
        image[..., 2] = (rows + cols + index) % 256
        x = (index * 4) % (width - patch.shape[1])
        y = (index * 2) % (height - patch.shape[0])
        image[y : y + patch.shape[0], x : x + patch.shape[1]] = patch
        if index % 150 == 0:  # an occasional cut, so the encoder places scene-cut keyframes
            patch = rng.integers(0, 256, size=patch.shape, dtype=np.uint8)
        yield image


def make_videos(folder: Path, quick: bool) -> list[tuple[str, Path]]:
    lengths = [(10, "10 s"), (60, "1 min")] if quick else [(30, "30 s"), (300, "5 min")]
    videos = []
    for seconds, length_name in lengths:
        for width, height in [(320, 240), (640, 360)]:
            name = f"{height}p {length_name}"
            path = folder / f"v{height}_{seconds}s.mp4"
            started = time.perf_counter()
            write_mp4(path, synthetic_frames(seconds * FPS, width, height), FPS, crf=23)
            print(f"made {name} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s")
            videos.append((name, path))
    return videos


def pyav_seek(path: Path, indices: list[int]) -> list[np.ndarray]:
    import av

    images = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.time_base is not None
        for index in sorted(indices):
            target = round(Fraction(index, FPS) / stream.time_base)  # CFR: the plain way
            container.seek(target, stream=stream, backward=True)
            for frame in container.decode(stream):
                if frame.pts is not None and frame.pts >= target:
                    images.append(frame.to_ndarray(format="rgb24"))
                    break
    return images


def pyav_sequential(path: Path, indices: list[int]) -> list[np.ndarray]:
    import av

    wanted = set(indices)
    last = max(indices)
    images = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for position, frame in enumerate(container.decode(stream)):
            if position in wanted:
                images.append(frame.to_ndarray(format="rgb24"))
            if position >= last:
                break
    return images


def decord_batch(path: Path, indices: list[int]) -> list[np.ndarray]:
    import decord

    reader = decord.VideoReader(str(path), ctx=decord.cpu(0))
    return list(reader.get_batch(sorted(set(indices))).asnumpy())


def median_ms(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median ms of each method; the methods take turns in every round, so load changes hit them alike."""
    for run in runs.values():
        run()  # warm-up: page cache, lazy imports
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="10 s and 1 min videos instead of 30 s and 5 min")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per cell (median reported)")
    args = parser.parse_args()
    try:
        import decord  # noqa: F401

        has_decord = True
    except ImportError:
        has_decord = False

    rows = []
    with tempfile.TemporaryDirectory(prefix="tempeval-bench-") as tmp:
        for name, path in make_videos(Path(tmp), args.quick):
            ref = VideoRef(str(path))
            for count in (8, 32, 64):
                policy = FramePolicy(num_frames=count)
                fresh_source = FrameSource()
                probed_source = FrameSource(cache_bytes=0)
                info = probed_source.info(str(path))
                indices = select_frames(info, ref, policy, "bench")
                strategy = plan_pass(info, indices).strategy

                def fresh(
                    source: FrameSource = fresh_source, ref: VideoRef = ref, policy: FramePolicy = policy
                ) -> object:
                    source.clear_cache()
                    return source.frames(ref, policy, "bench")

                def probed(
                    source: FrameSource = probed_source, ref: VideoRef = ref, policy: FramePolicy = policy
                ) -> object:
                    return source.frames(ref, policy, "bench")

                runs: dict[str, Callable[[], object]] = {
                    "tempeval fresh": fresh,
                    "tempeval probed": probed,
                    "pyav seek": lambda p=path, i=indices: pyav_seek(p, i),
                    "pyav seq": lambda p=path, i=indices: pyav_sequential(p, i),
                }
                if has_decord:
                    runs["decord"] = lambda p=path, i=indices: decord_batch(p, i)
                cells = median_ms(runs, args.repeats)
                rows.append((name, count, strategy, cells))
                print(f"{name} N={count}: " + ", ".join(f"{k} {v:.0f} ms" for k, v in cells.items()), flush=True)

    plain = ["pyav seek", "pyav seq"] + (["decord"] if has_decord else [])
    header = ["video", "N", "tempeval fresh", "tempeval probed", "strategy", *plain, "ratio fresh", "ratio probed"]
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, count, strategy, cells in rows:
        best = min(cells[k] for k in plain)
        values = [f"{cells['tempeval fresh']:.0f}", f"{cells['tempeval probed']:.0f}", strategy]
        values += [f"{cells[k]:.0f}" for k in plain]
        values += [f"{cells['tempeval fresh'] / best:.2f}", f"{cells['tempeval probed'] / best:.2f}"]
        print(f"| {name} | {count} | " + " | ".join(values) + " |")
    print(f"\nms per sample, median of {args.repeats}; ratio = tempeval / fastest plain method ({', '.join(plain)}).")


if __name__ == "__main__":
    main()
