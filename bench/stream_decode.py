"""Streaming decode cost: a stream's frames at stream_fps, decoded chunk by chunk as the virtual clock reaches them.

Reports the time for the virtual clock to deliver every frame of every video (``VideoFrames`` over a
``FrameSource`` without cache, polled by nobody: polls never decode) as a multiple of one sequential decode per
video with plain PyAV that converts to RGB only the frames on the same stream_fps grid. Target: <= 1.3x.

Run: python bench/stream_decode.py [--videos 10] [--seconds 120] [--stream-fps 1] [--chunk-s 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.online_workload import FPS, make_videos  # noqa: E402
from tempeval.streaming.clock import VirtualClock  # noqa: E402
from tempeval.streaming.events import FrameEvent  # noqa: E402
from tempeval.streaming.video_frames import VideoFrames  # noqa: E402
from tempeval.types import VideoRef  # noqa: E402
from tempeval.video import FrameSource  # noqa: E402


def sequential_at_rate(paths: list[Path], stream_fps: float) -> tuple[float, int]:
    """One plain PyAV pass per video, converting the first frame at or after each grid time (k + 0.5) / fps."""
    import av

    started = time.perf_counter()
    converted = 0
    for path in paths:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            next_t = 0.5 / stream_fps
            for frame in container.decode(stream):
                if frame.time is not None and frame.time + 1e-3 >= next_t:
                    frame.to_ndarray(format="rgb24")
                    converted += 1
                    next_t += 1.0 / stream_fps
    return time.perf_counter() - started, converted


def streamed(paths: list[Path], stream_fps: float, chunk_s: float) -> tuple[float, int]:
    """Every video through the virtual clock; the frames delivered."""
    source = FrameSource(cache_bytes=0)
    started = time.perf_counter()
    delivered = 0
    for path in paths:
        provider = VideoFrames(source, VideoRef(str(path)), stream_fps=stream_fps, chunk_s=chunk_s)
        delivered += sum(isinstance(event, FrameEvent) for event in VirtualClock(provider, []).events())
    return time.perf_counter() - started, delivered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--stream-fps", type=float, default=1.0)
    parser.add_argument("--chunk-s", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_videos(Path(tmp), args.videos, args.seconds)
        runs = []
        for _ in range(3):  # interleaved, best of 3 each
            runs.append((sequential_at_rate(paths, args.stream_fps), streamed(paths, args.stream_fps, args.chunk_s)))
        (once, converted), _ = min(runs, key=lambda run: run[0][0])
        _, (ours, delivered) = min(runs, key=lambda run: run[1][0])
    print(f"{args.videos} videos, {args.seconds} s at {FPS} fps, 160x120, stream_fps {args.stream_fps:g}, "
          f"chunks of {args.chunk_s:g} s")
    print(f"one sequential decode per video (plain PyAV, {converted} frames converted): {once:.2f} s")
    print(f"tempeval virtual clock ({delivered} frames delivered, each decoded once): {ours:.2f} s")
    print(f"ratio: {ours / once:.2f}x (target <= 1.3x)")


if __name__ == "__main__":
    main()
