"""Clips of a sample's visible window, for servers that sample frames themselves (openai ``-M video_mode=file``).

A server started with local-media access (``vllm serve --allowed-local-media-path DIR``) can read a video file
and sample its frames with its own loader. The harness then sends a file, not frames; to keep causality (an online
query sees nothing after its time) and a sample's clip bounds, a window smaller than the file is first written as
a clip of its own: every frame of the source shown in ``[start, end]`` (the frame already on screen at ``start``,
then each frame whose time is at most ``end``), re-encoded as H.264 at the source's frame times shifted so that the
clip starts at 0 s. Odd frame sides lose their last row or column (H.264 4:2:0 needs even sides). Clips are
cached by the source file's path, size and mtime and the window, so each is written once, atomically.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from tempeval.mp4 import write_mp4
from tempeval.video import TIME_EPS_S, VideoError, VideoInfo, probe


@dataclass(frozen=True)
class Clip:
    """A file holding exactly the visible window of a sample's video."""

    path: str
    """The file to send (the source itself when the window is the whole video)."""
    start_s: float
    """Where the window starts in the source, in seconds (the clip's 0 s)."""
    end_s: float
    """Where the window ends in the source, in seconds."""
    whole: bool
    """The window is the whole source file: ``path`` is the source."""


def window_indices(info: VideoInfo, start_s: float, end_s: float) -> range:
    """Stream indices of the frames shown in ``[start_s, end_s]``: the one on screen at the start, then each frame
    whose time is at most ``end_s`` (never one after it)."""
    times = info.frame_times_s
    first = max(0, int(np.searchsorted(times, start_s + TIME_EPS_S, side="right")) - 1)
    last = int(np.searchsorted(times, end_s, side="right")) - 1
    if last < first:
        raise VideoError(f"{info.path}: no frame is shown in [{start_s:.3f} s, {end_s:.3f} s].")
    return range(first, last + 1)


def clip_of(info: VideoInfo, start_s: float, end_s: float, folder: Path) -> Clip:
    """The file holding the window ``[start_s, end_s]`` of ``info``'s video, written into ``folder`` once.

    Raises:
        VideoError: No frame in the window, or the source cannot be decoded.
    """
    indices = window_indices(info, start_s, end_s)
    if indices.start == 0 and indices.stop == info.num_frames:
        return Clip(info.path, start_s, end_s, whole=True)
    stat = os.stat(info.path)
    key = f"{os.path.abspath(info.path)}|{stat.st_size}|{stat.st_mtime_ns}|{indices.start}|{indices.stop}"
    target = folder / f"{Path(info.path).stem}.{hashlib.sha256(key.encode()).hexdigest()[:16]}.mp4"
    if not target.exists():
        times = info.frame_times_s[indices.start:indices.stop]
        shifted = [float(t - times[0]) for t in times]
        rate = (len(shifted) - 1) / shifted[-1] if len(shifted) > 1 and shifted[-1] > 0 else 1.0
        write_mp4(target, _frames(info, indices), rate, frame_times_s=shifted)
    return Clip(str(target), start_s, end_s, whole=False)


def file_info(path: str) -> VideoInfo:
    """The video's timeline, probed once per file version (every question about a video asks for it again)."""
    stat = os.stat(path)
    return _probed(path, stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=64)
def _probed(path: str, size: int, mtime_ns: int) -> VideoInfo:
    del size, mtime_ns  # the cache key: a changed file is probed again
    return probe(path)


def _frames(info: VideoInfo, indices: range) -> Iterator[np.ndarray]:
    """The RGB frames of ``indices`` in order, decoded in one sequential pass (even sides)."""
    import av  # local: keeps `import tempeval` light

    first = float(info.frame_times_s[indices.start])
    last = float(info.frame_times_s[indices.stop - 1])
    seen = 0
    try:
        with av.open(info.path) as container:
            stream = container.streams.video[0]
            if first > 0 and stream.time_base is not None:
                container.seek(int(first / stream.time_base), stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                if frame.time is None or frame.time < first - TIME_EPS_S:
                    continue
                if frame.time > last + TIME_EPS_S:
                    break
                image = frame.to_ndarray(format="rgb24")
                yield image[: image.shape[0] // 2 * 2, : image.shape[1] // 2 * 2]
                seen += 1
    except av.error.FFmpegError as exc:
        raise VideoError(f"{info.path}: cannot be decoded for a clip ({exc}).") from exc
    if seen != len(indices):
        raise VideoError(
            f"{info.path}: the clip needs {len(indices)} frame(s) and the decoder gave {seen}; the file is damaged "
            "(re-encode it: `ffmpeg -i IN -c:v libx264 OUT.mp4`)."
        )
