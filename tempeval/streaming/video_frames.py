"""Frames of a video file for the virtual clock, each decoded once, chunk by chunk, as the clock reaches it.

The stream's frames are the ones an offline policy ``FramePolicy(fps=stream_fps)`` would pick over the whole
clip with no frame cap: the clip ``[start, end]`` is cut into ``N = floor(length * stream_fps)`` equal segments
and each segment's midpoint maps to the frame shown then (:func:`tempeval.video.select_frames`). A frame that the
grid picks twice in a row (a video slower than ``stream_fps``) is delivered once. Each frame's event time is its
real presentation time.

Decoding goes through the public API of :class:`tempeval.video.FrameSource`: the grid is cut into chunks of
``chunk_s`` seconds, and chunk ``c`` is one ``FramePolicy(num_frames=n)`` request over exactly its segments, so
its midpoints are the grid's own. A chunk is decoded the first time the clock asks for one of its frames, and
its frames are released once delivered: each frame is decoded once per stream however many polls see it (the
polling session keeps the delivered frames it needs), and at most one chunk is held undelivered.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import numpy as np

from tempeval.errors import TempevalError
from tempeval.streaming.clock import DEFAULT_STREAM_FPS, check_stream_fps
from tempeval.streaming.events import FrameEvent
from tempeval.types import FramePolicy, VideoRef
from tempeval.video import FrameSource, clip_bounds, select_frames

DEFAULT_CHUNK_S = 30.0
"""Seconds of stream decoded per request to the frame source."""


class VideoFrames:
    """A :class:`~tempeval.streaming.clock.FrameProvider` over one video file (see the module docstring)."""

    def __init__(
        self,
        source: FrameSource,
        video: VideoRef,
        *,
        stream_fps: float = DEFAULT_STREAM_FPS,
        max_side: int | None = None,
        chunk_s: float = DEFAULT_CHUNK_S,
    ) -> None:
        """Plan the stream of ``video`` (demuxing only; nothing is decoded yet).

        Raises:
            VideoError: the video is missing or unreadable, or its clip is empty.
            TempevalError: ``stream_fps`` or ``chunk_s`` is not a positive number.
        """
        check_stream_fps(stream_fps)
        if not (math.isfinite(chunk_s) and chunk_s > 0):
            raise TempevalError(f"chunk_s must be a positive number of seconds, got {chunk_s!r}.")
        self.source = source
        self.video = video
        self.max_side = max_side
        self.stream_fps = float(stream_fps)
        info = source.info(video.path)
        start, end = clip_bounds(info, video, FramePolicy(num_frames=None, fps=self.stream_fps))
        self._start = start
        self.end_s = end
        """End of the clip, in seconds of the video."""
        count = max(1, math.floor((end - start) * self.stream_fps + 1e-9))
        self._segment_s = (end - start) / count
        grid = select_frames(info, VideoRef(video.path, start, end), FramePolicy(num_frames=count), video.path)
        self._grid = grid
        """Stream index of the frame at each grid position."""
        times = info.frame_times_s
        # Positions delivered: the first of each run of equal indices.
        self._positions = [p for p, index in enumerate(grid) if p == 0 or grid[p - 1] != index]
        self._delivered = frozenset(self._positions)
        self._times = [float(times[grid[p]]) for p in self._positions]
        self._chunk_len = max(1, math.ceil(chunk_s * self.stream_fps))
        self._held: dict[int, FrameEvent] = {}
        """Decoded, not yet delivered frames by grid position."""
        self._decoded_chunks: set[int] = set()
        self.decoded_frames = 0
        """Frames asked of the frame source so far (one chunk request counts its frames)."""

    @property
    def frame_times_s(self) -> tuple[float, ...]:
        """Time of every frame the stream delivers, in order (known from demuxing, before any decode)."""
        return tuple(self._times)

    def frames_between(self, after_s: float, until_s: float) -> Sequence[FrameEvent]:
        """The stream's frames with ``after_s < t <= until_s``, decoding the chunks they are in if needed.

        Raises:
            VideoError: the video cannot be decoded.
        """
        low = bisect.bisect_right(self._times, after_s)
        high = bisect.bisect_right(self._times, until_s)
        positions = self._positions[low:high]
        for chunk in sorted({p // self._chunk_len for p in positions} - self._decoded_chunks):
            self._decode_chunk(chunk)
        return [self._held.pop(p) for p in positions]

    def _decode_chunk(self, chunk: int) -> None:
        first = chunk * self._chunk_len
        last = min(first + self._chunk_len, len(self._grid))
        clip = VideoRef(self.video.path, self._start + first * self._segment_s, self._start + last * self._segment_s)
        policy = FramePolicy(num_frames=last - first, max_side=self.max_side)
        frames = self.source.frames(clip, policy, self.video.path)
        self._decoded_chunks.add(chunk)
        self.decoded_frames += len(frames)
        for offset, (image, index, t) in enumerate(zip(frames.images, frames.indices, frames.timestamps, strict=True)):
            position = first + offset
            if index != self._grid[position]:
                raise TempevalError(
                    f"{self.video.path}: chunk {chunk} of the stream decoded frame {index} at grid position "
                    f"{position}, where the plan has frame {self._grid[position]}. This is a bug in tempeval's "
                    "streaming planner; please report it with the video."
                )
            if position in self._delivered:
                self._held[position] = FrameEvent(t=float(t), image=_readonly(image), source_index=int(index))


def _readonly(image: np.ndarray) -> np.ndarray:
    if image.flags.writeable:
        image = image.copy()
        image.setflags(write=False)
    return image
