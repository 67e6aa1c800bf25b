"""The harness's one frame sampler: which frames a model sees, decoded once, with their real timestamps.

Everything is expressed in seconds and mapped to frames by searching the stream's real presentation
timestamps (pts), never as ``index = t * fps``: variable-frame-rate files (phone video, screen recordings,
concatenated clips) make the two disagree by hundreds of frames.

Three layers:

* :func:`probe` demuxes a file (no decoding) into a :class:`VideoInfo`: the sorted pts of every frame and
  where the keyframes are.
* :func:`select_frames` is pure: (info, clip, policy) -> stream frame indices, in the order the model
  sees them.
* :class:`FrameSource` decodes. It plans per video (the union of every frame any request needs), decodes that
  union in one sorted pass (seeking or sequential, whichever the keyframe layout says is cheaper), and keeps
  decoded frames in an LRU bounded in bytes.

A *frame folder* (a directory of JPEG or PNG frames, as OVBench and MVBench's episodic reasoning ship) is a
video too: its frames in natural name order (``frame2`` before ``frame10``), frame ``i`` shown at
``i / fps`` with ``fps`` from an ``fps.txt`` in the folder, else 1 (:data:`FRAME_FOLDER_FPS`). Every layer
above treats it as any video.

Importing this module imports neither PyAV nor decord; they are imported when first needed.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import os
import random
import re
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from tempeval.errors import TempevalError
from tempeval.types import FramePolicy, Frames, VideoRef

if TYPE_CHECKING:  # pragma: no cover - typing only
    import av.video.frame

DECODERS: tuple[str, ...] = ("pyav", "decord")
"""Valid values of ``FrameSource(decoder=...)``."""

TIME_EPS_S = 1e-3
"""A frame whose pts is at most this far after a target time counts as shown at that time.

Segment midpoints often land exactly on a frame's pts (e.g. 30 frames at 30 fps, N = 15 gives
t = (2i + 1) / 30, exactly frame 2i + 1); float rounding must not flip such a tie to the previous frame
depending on how the two numbers happened to be computed. 1 ms is far below any real frame interval.
The ``policy.end_s`` cap is still enforced exactly.
"""

_DIGITS = re.compile(r"(\d+)")

_DECORD_BATCH = 32
"""Frames per decord ``get_batch`` call, to bound peak memory on large plans."""

KEEP_PACKETS_MAX_BYTES = 32 * 2**20
"""A video's first decode pass reuses the container and packets of its probe when the file is at most this big
(one open and one demux instead of two: about 1 ms of the 5 ms a 128 px synthetic clip costs, measured); larger
files are opened again, so a long film's packets are never all held in memory."""

_INFO_CACHE_ENTRIES = 4096
"""How many probed videos a FrameSource remembers (a VideoInfo is about 8-16 bytes per frame)."""

_DATA_FIX = (
    "Check the dataset's video folder: `tempeval data where BENCHMARK` shows where it must be, and "
    "`tempeval data fetch BENCHMARK --videos` fetches the videos."
)


class VideoError(TempevalError):
    """A video cannot be used: the message names the file, what is wrong with it, and the fix."""


class DecoderUnavailableError(TempevalError, ImportError):
    """An optional decoder backend is not installed; the message gives the install command."""


def _error(path: str, what: str, fix: str) -> VideoError:
    return VideoError(f"{path}: {what}. {fix}")


@dataclass(frozen=True, eq=False)
class VideoInfo:
    """What demuxing a video tells: the real timeline of its frames, without decoding any.

    Frame ``i`` of the stream (``Frames.indices``) is the ``i``-th frame in presentation order, shown from
    ``frame_times_s[i]`` until ``frame_times_s[i + 1]`` (the last one until ``duration_s``).
    """

    path: str
    """The file, as given to :func:`probe`."""
    frame_times_s: np.ndarray
    """Sorted presentation time of every frame in seconds (float64, read-only)."""
    width: int
    """Coded width in pixels (0 when the container does not say)."""
    height: int
    """Coded height in pixels (0 when the container does not say)."""
    duration_s: float
    """End of the last frame in seconds: its pts plus its duration."""
    keyframe_indices: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Sorted stream indices of the keyframes; empty when unknown (then decoders never plan seeks)."""
    pts: np.ndarray | None = None
    """Integer pts of every frame in ``time_base`` units, sorted like ``frame_times_s`` (None: unknown)."""
    time_base: Fraction | None = None
    """Unit of ``pts``."""

    @property
    def num_frames(self) -> int:
        """Number of frames in the stream."""
        return int(len(self.frame_times_s))


def _check_file(path: str) -> None:
    """Errors that need no demuxer: missing, not a file, empty."""
    if not os.path.exists(path):
        raise _error(path, "file not found", _DATA_FIX)
    if not os.path.isfile(path):
        raise _error(path, "is not a regular file (a folder?)", _DATA_FIX)
    if os.path.getsize(path) == 0:
        raise _error(
            path,
            "file is empty (0 bytes), so it has no frames",
            "Download or extract the video again (an interrupted download leaves empty files).",
        )


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


FRAME_FOLDER_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png")
"""Files of a frame folder that are frames (case-insensitive); anything else in it is ignored."""
FRAME_FOLDER_FPS = 1.0
"""Frames per second of a frame folder without an ``fps.txt``."""
FRAME_FOLDER_FPS_FILE = "fps.txt"


def _natural_key(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in _DIGITS.split(name)]


def frame_files(path: str) -> list[str]:
    """The frames of a frame folder, in natural name order.

    Raises:
        VideoError: the folder holds no JPEG or PNG file.
    """
    names = sorted((n for n in os.listdir(path) if n.lower().endswith(FRAME_FOLDER_EXTENSIONS)), key=_natural_key)
    if not names:
        raise _error(path, "is a folder with no frames (no .jpg, .jpeg or .png file)",
                     "Point at the video file, or at a folder of its frames.")
    return [os.path.join(path, name) for name in names]


def frame_folder_fps(path: str) -> float:
    """A frame folder's rate: its ``fps.txt`` (one positive number), else :data:`FRAME_FOLDER_FPS`.

    Raises:
        VideoError: ``fps.txt`` does not hold a positive number.
    """
    fps_file = os.path.join(path, FRAME_FOLDER_FPS_FILE)
    if not os.path.exists(fps_file):
        return FRAME_FOLDER_FPS
    with open(fps_file, encoding="utf-8") as handle:
        text = handle.read().strip()
    try:
        fps = float(text)
    except ValueError:
        fps = math.nan
    if not (math.isfinite(fps) and fps > 0):
        raise _error(path, f"has an {FRAME_FOLDER_FPS_FILE} that says {text!r}, not a frame rate",
                     f"Write the folder's frames per second (e.g. 1) in {fps_file}, or delete it for 1 fps.")
    return fps


def _read_image(path: str) -> np.ndarray:
    """One JPEG or PNG file as an RGB array (decoded by PyAV, so no other image library is needed)."""
    import av

    try:
        with av.open(path) as container:
            frame = next(container.decode(video=0))
            return np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
    except (av.FFmpegError, StopIteration, OSError) as exc:
        raise _error(path, f"cannot be read as an image ({type(exc).__name__}: {exc})",
                     "Extract the frame again; the file is damaged or not an image.") from exc


def _probe_folder(path: str) -> VideoInfo:
    """The timeline of a frame folder: frame ``i`` at ``i / fps``; its size read from the first frame."""
    files = frame_files(path)
    fps = frame_folder_fps(path)
    height, width = _read_image(files[0]).shape[:2]
    count = len(files)
    return VideoInfo(
        path=path,
        frame_times_s=_readonly(np.arange(count, dtype=np.float64) / fps),
        width=int(width),
        height=int(height),
        duration_s=count / fps,
        keyframe_indices=_readonly(np.arange(count, dtype=np.int64)),
    )


def _decode_folder(
    info: VideoInfo, wants: Mapping[int, Collection[int | None]]
) -> dict[tuple[int, int | None], np.ndarray]:
    """The wanted frames of a frame folder, each file read once; contract as :func:`_decode_pyav`."""
    files = frame_files(info.path)
    if len(files) != info.num_frames:
        raise _error(info.path, f"holds {len(files)} frames where it held {info.num_frames} when probed",
                     "Leave the folder unchanged while a run reads it.")
    out: dict[tuple[int, int | None], np.ndarray] = {}
    for index in sorted(wants):
        image = _read_image(files[index])
        for max_side in wants[index]:
            out[(index, max_side)] = _resize_rgb(image, max_side)
    return out


def probe(path: str) -> VideoInfo:
    """Read a video's frame timeline by demuxing only (no frame is decoded).

    Args:
        path: The video file.

    Returns:
        The sorted pts of every frame (seconds and raw), keyframe positions, size and duration.

    Raises:
        VideoError: The file is missing, empty, not a readable video, has no video stream, or has no frames.
    """
    return _probe(path, keep_packets=False)[0]


@dataclass
class _Demuxed:
    """A container left open after probing, with every packet it holds, for the first decode pass.

    Used for small files only (the packets are the file's bytes, in memory): the pass then needs no second open
    and no second demux, and a seek is a jump in the packet list.
    """

    container: Any
    packets: list[Any]
    """Every packet of the video stream in decode order, discarded ones included (they are decoded, not shown)."""
    keyframe_packets: dict[int, int]
    """pts of each keyframe -> its position in ``packets``."""

    def close(self) -> None:
        """Close the container; the packets go with this object."""
        self.container.close()


def _probe(path: str, keep_packets: bool) -> tuple[VideoInfo, _Demuxed | None]:
    """:func:`probe`; with ``keep_packets`` the open container and its packets come back too (close them)."""
    import av  # local: `import tempeval.video` stays light

    if os.path.isdir(path):
        return _probe_folder(path), None
    _check_file(path)
    raw_pts: list[int] = []
    durations: list[int] = []
    keyframe: list[bool] = []
    packets: list[Any] = []
    keyframe_packets: dict[int, int] = {}
    container = None
    try:
        container = av.open(path)
        if not container.streams.video:
            raise _error(
                path,
                "has no video stream (audio only, or not a video)",
                "Check that the path points at the video file itself.",
            )
        stream = container.streams.video[0]
        width = int(stream.codec_context.width or 0)
        height = int(stream.codec_context.height or 0)
        time_base = stream.time_base or Fraction(1, 1)
        average_rate = stream.average_rate
        for packet in container.demux(stream):
            if packet.size == 0:
                continue  # the empty packet at the end only flushes the demuxer
            if keep_packets:
                if packet.is_keyframe and packet.pts is not None:
                    keyframe_packets.setdefault(int(packet.pts), len(packets))
                packets.append(packet)
            # Discarded packets (edit lists) are decoded for reference but never output: not frames.
            if packet.is_discard:
                continue
            timestamp = packet.pts if packet.pts is not None else packet.dts
            if timestamp is None:
                continue
            raw_pts.append(int(timestamp))
            durations.append(int(packet.duration or 0))
            keyframe.append(bool(packet.is_keyframe))
    except VideoError:
        if container is not None:
            container.close()
        raise
    except (av.error.FFmpegError, OSError, ValueError, RuntimeError) as exc:
        if container is not None:
            container.close()
        raise _error(
            path,
            f"cannot be read as a video ({type(exc).__name__}: {exc})",
            "The file is corrupt or not a video; download it again, or inspect it with `ffprobe`.",
        ) from exc
    if not keep_packets or not raw_pts:
        container.close()
    if not raw_pts:
        raise _error(
            path,
            "has a video stream but no frames",
            "Download or re-encode the video (e.g. `ffmpeg -i IN -c:v libx264 OUT.mp4`).",
        )

    # Packets come in decode order; B-frames make pts non-monotonic, so sort by pts for display order.
    order = np.argsort(np.asarray(raw_pts, dtype=np.int64), kind="stable")
    pts = np.asarray(raw_pts, dtype=np.int64)[order]
    if len(pts) > 1 and np.any(pts[1:] == pts[:-1]):
        # A broken mux with two packets at one pts: the decoder shows one frame there, so count one.
        pts, first = np.unique(pts, return_index=True)
        order = order[first]
    # pts * numerator is exact; one division then rounds exactly like float(pts * time_base).
    times = (pts * time_base.numerator).astype(np.float64) / time_base.denominator
    key_positions = np.flatnonzero(np.asarray(keyframe, dtype=bool)[order]).astype(np.int64)
    last_duration = durations[int(order[-1])] * float(time_base)
    if last_duration <= 0:
        # No duration on the last packet: assume it lasts as long as a typical frame.
        if len(times) > 1:
            last_duration = float(np.median(np.diff(times)))
        elif average_rate:
            last_duration = 1.0 / float(average_rate)
        else:
            last_duration = 0.0
    info = VideoInfo(
        path=path,
        frame_times_s=_readonly(times),
        width=width,
        height=height,
        duration_s=float(times[-1] + last_duration),
        keyframe_indices=_readonly(key_positions),
        pts=_readonly(pts),
        time_base=time_base,
    )
    return info, (_Demuxed(container, packets, keyframe_packets) if keep_packets else None)


def clip_bounds(info: VideoInfo, video: VideoRef, policy: FramePolicy) -> tuple[float, float]:
    """The part of the video frames are taken from, in seconds: the sample's clip, capped at ``policy.end_s``.

    Raises:
        VideoError: the cap is before the first frame, or the clip is empty.
    """
    start = max(0.0, float(video.start_s or 0.0))
    # Annotations often run a little past the real end of the file; clamp rather than fail.
    end = info.duration_s if video.end_s is None else min(float(video.end_s), info.duration_s)
    if policy.end_s is not None:
        first = float(info.frame_times_s[0])
        if policy.end_s < first:
            raise _error(
                info.path,
                f"the end-time cap {policy.end_s:.3f} s is before the first frame (shown at {first:.3f} s), "
                "so no frame may be shown",
                "Ask the query after the video starts, or drop it.",
            )
        end = min(end, float(policy.end_s))
    if start > end:
        raise _error(
            info.path,
            f"the clip [{start:.3f} s, {end:.3f} s] is empty (video duration {info.duration_s:.3f} s"
            + (f", query time {policy.end_s:.3f} s" if policy.end_s is not None else "")
            + ")",
            "Check the sample's start/end times against the video's length.",
        )
    return start, end


def _num_frames(policy: FramePolicy, clip_len_s: float) -> int:
    if policy.num_frames is not None:
        return int(policy.num_frames)
    assert policy.fps is not None  # FramePolicy guarantees exactly one of the two
    # The tiny epsilon keeps e.g. 10 s x 0.3 fps = 2.9999999999999996 from flooring to 2.
    return max(1, min(policy.max_frames, math.floor(clip_len_s * policy.fps + 1e-9)))


def select_frames(info: VideoInfo, video: VideoRef, policy: FramePolicy, key: str) -> list[int]:
    """Choose which frames the model sees, as stream indices in the order it sees them. Pure.

    The clip is ``[video.start_s or 0, video.end_s or duration]``, capped at ``policy.end_s``. It is cut
    into N equal segments (N = ``policy.num_frames``, or ``floor(clip length * policy.fps)`` clamped to
    ``[1, policy.max_frames]``) and each segment's midpoint maps to the frame being shown at that time: the
    last frame whose pts is at most the midpoint (binary search on the real pts, with a 1 ms tolerance, see
    :data:`TIME_EPS_S`). No frame with a pts after ``policy.end_s`` is ever chosen. When N exceeds the frames
    in the clip, frames repeat so that there are always N.

    Args:
        info: The video's timeline, from :func:`probe` or :meth:`FrameSource.info`.
        video: The clip the sample is about.
        policy: How many frames, the end-time cap, and the order.
        key: The sample id; with ``order='shuffled'`` it seeds the shuffle with ``policy.seed``.

    Returns:
        N stream frame indices in the order the model sees them.

    Raises:
        VideoError: The video has no frames, the clip is empty, or the cap is before the first frame.
    """
    times = info.frame_times_s
    if len(times) == 0:
        raise _error(info.path, "has no frames", "Download or re-encode the video.")
    start, end = clip_bounds(info, video, policy)
    length = end - start
    count = _num_frames(policy, length)
    targets = start + (np.arange(count, dtype=np.float64) + 0.5) * (length / count)
    indices = np.searchsorted(times, targets + TIME_EPS_S, side="right") - 1
    if policy.end_s is not None:
        # The tolerance may have picked a frame up to 1 ms after the target; never one after the cap.
        last_allowed = int(np.searchsorted(times, policy.end_s, side="right")) - 1
        indices = np.minimum(indices, last_allowed)
    # A target before the first pts (a file starting late) gets the first frame: nothing earlier exists.
    chosen = [int(i) for i in np.clip(indices, 0, len(times) - 1)]
    if policy.order == "reversed":
        chosen.reverse()
    elif policy.order == "shuffled":
        random.Random(f"{policy.seed}:{key}").shuffle(chosen)
    return chosen


def _output_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """Size with the longer side at most ``max_side``, aspect kept; never upscales."""
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resize_rgb(image: np.ndarray, max_side: int | None) -> np.ndarray:
    """RGB array -> read-only RGB array with the longer side at most ``max_side`` (PyAV's swscale, AREA)."""
    import av

    height, width = int(image.shape[0]), int(image.shape[1])
    new_width, new_height = _output_size(width, height, max_side)
    if (new_width, new_height) == (width, height):
        return _readonly(np.ascontiguousarray(image))
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    resized = _reformatter().reformat(
        frame, format="rgb24", width=new_width, height=new_height, interpolation="AREA"
    )
    return _readonly(np.ascontiguousarray(resized.to_ndarray()))


def _keyframe_before(info: VideoInfo, index: int) -> int:
    """Position in ``info.keyframe_indices`` of the last keyframe at or before ``index``; -1 when none."""
    # bisect over the few keyframes costs less than a numpy call per target
    return bisect.bisect_right(info.keyframe_indices, index) - 1


SEEK_COST_FRAMES = 6.0
"""What one seek costs, in frames decoded (demuxer seek, decoder flush, B-frame reordering delay). A rough figure,
checked by its effect: ``bench/frame_sampling.py`` prints the strategy the planner picks for each video and N,
and tempeval's time against a plain seek loop and a plain sequential decode of the same frames."""


def sequential_frame_cost() -> float:
    """Cost of a frame in a sequential pass (frame-threaded decoding) relative to one decoded after a seek.

    Rough, by core count: on 2 cores frame threading barely helps (measured with ``bench/frame_sampling.py``:
    decode-all and seeking cost about the same per frame, and a 0.6 guess picked sequential where seeking was
    1.5x faster); more cores make the sequential pass cheaper per frame (not measured here: no machine with
    more than 2 cores was at hand).
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 0.9 if cores <= 2 else 0.7 if cores <= 4 else 0.5


@dataclass(frozen=True)
class DecodePlan:
    """How one pass decodes a video's wanted frames: their sorted stream indices and the strategy.

    ``sequential``: decode from the keyframe before the first target through the last one (frame-threaded for
    large frames). ``seek``: for each target, keep decoding forward or, when that would decode more than
    :data:`SEEK_COST_FRAMES` frames, jump to the keyframe before it.
    """

    targets: tuple[int, ...]
    strategy: str
    """``seek`` or ``sequential``."""
    threaded: bool = True
    """Whether the decoder may run threads of its own (see :func:`_set_threads`); False when every core already
    decodes a video of its own."""


def plan_pass(info: VideoInfo, targets: Sequence[int], *, threaded: bool = True) -> DecodePlan:
    """The cheaper way to decode sorted ``targets`` in one pass, counting frames decoded (weighted). Pure.

    A video without known keyframes is always decoded sequentially (there is nowhere to seek to). An unthreaded
    decoder's sequential frame costs as much as one after a seek: only the seek itself differs.
    """
    ordered = tuple(sorted(targets))
    if len(info.keyframe_indices) == 0 or info.pts is None:
        return DecodePlan(ordered, "sequential", threaded)
    keyframes = info.keyframe_indices
    first = _keyframe_before(info, ordered[0])
    start = int(keyframes[first]) if first >= 0 else 0
    sequential = (ordered[-1] - start + 1) * (sequential_frame_cost() if threaded else 1.0)
    seeking = 0.0
    position = -1  # index of the last frame decoded
    for target in ordered:
        k = _keyframe_before(info, target)
        keyframe = int(keyframes[k]) if k >= 0 else 0
        if position < 0 or keyframe - position > SEEK_COST_FRAMES:
            seeking += SEEK_COST_FRAMES + (target - keyframe + 1)
        else:
            seeking += max(0, target - position)
        position = max(position, target)
    return DecodePlan(ordered, "seek" if seeking < sequential else "sequential", threaded)


class _Indexer:
    """Maps a decoded frame to its stream index through its pts (never by counting frames)."""

    _LOOKAHEAD = 8
    """Frames come out in presentation order, a few apart at most when unneeded non-reference ones are skipped."""

    def __init__(self, info: VideoInfo) -> None:
        self._pts = info.pts
        self._times = info.frame_times_s
        self._next = 0  # where the next frame usually is

    def __call__(self, frame: av.video.frame.VideoFrame) -> int | None:
        timestamp = frame.pts if frame.pts is not None else frame.dts
        if timestamp is None:
            return None
        pts = self._pts
        if pts is not None:
            near = pts[self._next : self._next + self._LOOKAHEAD].tolist()
            # Not near: after a seek, or a retry from an earlier keyframe.
            position = self._next + near.index(timestamp) if timestamp in near else int(np.searchsorted(pts, timestamp))
            if position < len(pts) and int(pts[position]) == timestamp:
                self._next = position + 1
                return position
        # Only when the info came without raw pts (or the decoder rescaled them): nearest time within 1 ms.
        if frame.time_base is None:
            return None
        seconds = float(timestamp * frame.time_base)
        nearest = int(np.searchsorted(self._times, seconds))
        for candidate in (nearest - 1, nearest):
            if 0 <= candidate < len(self._times) and abs(self._times[candidate] - seconds) <= TIME_EPS_S:
                return candidate
        return None


FRAME_THREADING_MIN_PIXELS = 640 * 360
"""Frame-threaded decoding is used for frames at least this large. On small frames its hand-offs cost more CPU
than they save (measured on the 128 px synthetic clips: 13.2 ms of CPU per clip with frame threads against 9.7 ms
without, the RGB conversion included)."""


def _set_threads(stream: av.video.stream.VideoStream, info: VideoInfo, plan: DecodePlan) -> None:
    """Decoder threads for one pass, by frame size and strategy.

    Large frames: frame threading over a sequential run (it pays off over a long run; after a seek it would
    only decode frames we drop), the codec's default slice threads otherwise. Small frames, or a plan that is not
    ``threaded`` (several videos decoding at once, one per core): one thread, since hand-offs between threads cost
    more than they save (on the 128 px synthetic clips, measured: 2.7 ms of CPU per clip with one thread, 3.1 ms
    with slice threads, 5.9 ms with frame threads).
    """
    if not plan.threaded or info.width * info.height < FRAME_THREADING_MIN_PIXELS:
        stream.codec_context.thread_count = 1
    elif plan.strategy == "sequential":
        stream.thread_type = "AUTO"


_NONREF_SKIP_CODECS = frozenset({"h264", "hevc"})
"""Codecs whose decoders honour ``skip_frame`` packet by packet. For them a pass skips the non-reference frames it
does not need (nothing is predicted from them, so the frames it keeps are identical): on the 128 px synthetic
clips about 40 % of the frames, and 18 % of the decode time, measured. Other decoders (e.g. dav1d) read the
setting once, so skipping could drop a wanted frame; they decode everything."""

_thread_state = threading.local()


def _reformatter() -> Any:
    """This thread's PyAV ``VideoReformatter``: it keeps its scaler while the frame format stays the same.

    ``frame.to_ndarray(format=...)`` builds a new scaler for every frame, which costs more than the conversion
    itself (0.22 against 0.07 ms per 128 px frame, measured).
    """
    reformatter = getattr(_thread_state, "reformatter", None)
    if reformatter is None:
        from av.video.reformatter import VideoReformatter

        reformatter = _thread_state.reformatter = VideoReformatter()
    return reformatter


def _open_container(path: str) -> Any:
    import av

    try:
        return av.open(path)
    except (av.error.FFmpegError, OSError) as exc:
        raise _error(path, f"cannot be opened ({type(exc).__name__}: {exc})", "Download it again.") from exc


def _decode_pyav(
    info: VideoInfo,
    wants: Mapping[int, Collection[int | None]],
    demuxed: _Demuxed | None = None,
    threaded: bool = True,
) -> dict[tuple[int, int | None], np.ndarray]:
    """Decode the frames in ``wants`` (index -> max_sides needed) with PyAV: one :class:`PyAVPass`, skipping the
    non-reference frames nobody asked for; should a wanted frame not come out while skipping, a second pass
    decodes the missing ones without skipping.

    Returns:
        ``{(index, max_side): read-only RGB array}`` for every wanted pair.

    Raises:
        VideoError: The file cannot be opened or decoded, or some wanted frames never came out of the decoder.
    """
    first = PyAVPass(info, wants, demuxed, skip_nonref=True, threaded=threaded)
    out = first.run()
    missing = first.missing
    if missing and first.skips_nonref:
        again = PyAVPass(info, {i: wants[i] for i in missing}, demuxed, skip_nonref=False, threaded=threaded)
        out.update(again.run())
        missing = again.missing
    if missing:
        raise _error(
            info.path,
            f"{len(missing)} frame(s) listed by the container never came out of the decoder "
            f"(first: frame {missing[0]} at {info.frame_times_s[missing[0]]:.3f} s)",
            "The file is truncated or damaged; download it again or re-encode it "
            "(`ffmpeg -i IN -c:v libx264 OUT.mp4`).",
        )
    return out


RETRIES_FROM_EARLIER_KEYFRAMES = 2
"""When a run passes a wanted frame without it (a seek that landed after it), it is decoded again from the
keyframe before, then the one before that, and then from the very start of the file."""


class PyAVPass:
    """One PyAV decode pass over a video's wanted frames, in sorted order, following its :class:`DecodePlan`.

    Opens its own container (decoders are never shared between threads), or decodes the packets of ``demuxed``
    (the caller's, from probing; the caller closes it). A *run* is the decoder's output from one starting point (a
    keyframe, or the file's start) onwards; the pass starts a new run when the plan says a seek is cheaper than
    decoding on, and when a run passes a target without producing it. With ``skip_nonref``, the decoders that honour
    it per packet (h264, hevc) skip the non-reference frames no one asked for.

    After :meth:`run`: ``missing`` lists the wanted frames that never came out, ``frames_out`` counts the frames
    the decoder produced (kept or not), ``skips_nonref`` says whether non-reference frames were skipped.
    """

    def __init__(
        self,
        info: VideoInfo,
        wants: Mapping[int, Collection[int | None]],
        demuxed: _Demuxed | None = None,
        *,
        skip_nonref: bool = True,
        threaded: bool = True,
    ) -> None:
        self.info = info
        self.wants = wants
        self.plan = plan_pass(info, list(wants), threaded=threaded)
        self.missing: list[int] = []
        self.frames_out = 0
        self._demuxed = demuxed
        self._indexer = _Indexer(info)
        self._out: dict[tuple[int, int | None], np.ndarray] = {}
        self._done: set[int] = set()
        self._container: Any = None
        self._frames: Iterator[av.video.frame.VideoFrame] | None = None
        self._position = -1  # highest index decoded in the current run
        self._floor = 0  # after a seek to keyframe K, frames before K (broken leading frames) are not trusted
        self._wanted_pts: set[int] | None = None
        self.skips_nonref = False
        self._skip_nonref = skip_nonref

    def run(self) -> dict[tuple[int, int | None], np.ndarray]:
        """Decode: ``{(index, max_side): read-only RGB array}`` for every wanted frame that came out.

        Raises:
            VideoError: The file cannot be opened or decoding fails.
        """
        import av

        info = self.info
        self._container = self._demuxed.container if self._demuxed is not None else _open_container(info.path)
        context = self._stream.codec_context
        if self._skip_nonref and info.pts is not None and context.name in _NONREF_SKIP_CODECS:
            self._wanted_pts = {int(info.pts[index]) for index in self.plan.targets}
            self.skips_nonref = True
        try:
            if not context.is_open:  # threads are set before the decoder opens (a kept container may be open)
                _set_threads(self._stream, info, self.plan)
            for target in self.plan.targets:
                if target not in self._done and not self._decode_to(target):
                    break  # the stream ended without it (damaged file): reported as missing
        except (av.error.FFmpegError, OSError, ValueError, RuntimeError) as exc:
            raise _error(
                info.path,
                f"decoding failed ({type(exc).__name__}: {exc})",
                "The file is damaged; download it again or re-encode it (`ffmpeg -i IN -c:v libx264 OUT.mp4`).",
            ) from exc
        finally:
            if self._demuxed is None:
                self._container.close()
        self.missing = [index for index in self.plan.targets if index not in self._done]
        return self._out

    @property
    def _stream(self) -> Any:
        return self._container.streams.video[0]

    def _decode_to(self, target: int) -> bool:
        """Decode on until ``target`` is kept, starting new runs as the plan and the retries say."""
        k = _keyframe_before(self.info, target)
        keyframe = int(self.info.keyframe_indices[k]) if k >= 0 else 0
        if self._frames is None:
            # The first run starts at the target's keyframe, unless that is the first keyframe (no seek needed);
            # a jump in kept packets is free.
            self._frames = self._run_from(k) if k > 0 or self._demuxed is not None else self._decoded(
                self._container.demux(self._stream)
            )
        elif self.plan.strategy == "seek" and keyframe - self._position > SEEK_COST_FRAMES:
            self._frames = self._run_from(k)
        retries = [k - step for step in range(1, RETRIES_FROM_EARLIER_KEYFRAMES + 1)] + [-1]
        while True:
            passed = self._advance_to(target)
            if target in self._done or not passed or not retries:
                return target in self._done
            self._frames = self._run_from(retries.pop(0))

    def _advance_to(self, target: int) -> bool:
        """Take frames of the current run up to ``target``; False when the run ended before reaching it."""
        assert self._frames is not None
        for frame in self._frames:
            self.frames_out += 1
            index = self._indexer(frame)
            if index is None or index < self._floor:
                continue
            self._position = max(self._position, index)
            self._keep(frame, index)
            if index >= target:
                return True
        return False

    def _keep(self, frame: av.video.frame.VideoFrame, index: int) -> None:
        if index in self.wants and index not in self._done:
            # Full-size RGB first, then resize RGB -> RGB: the same path as decord's frames, so both decoders
            # give identical pixels, and one colour conversion serves every max_side.
            full = _reformatter().reformat(frame, format="rgb24").to_ndarray()
            for max_side in self.wants[index]:
                self._out[(index, max_side)] = _resize_rgb(full, max_side)
            self._done.add(index)

    def _decoded(self, packets: Iterator[Any]) -> Iterator[av.video.frame.VideoFrame]:
        """The frames of a run: decode ``packets`` (skipping unwanted non-reference ones), then drain."""
        context = self._stream.codec_context
        for packet in packets:
            if packet.size == 0:
                continue  # the demuxer's end-of-stream packet; the decoder is drained below
            if self._wanted_pts is not None:
                wanted = packet.pts is None or packet.pts in self._wanted_pts
                context.skip_frame = "DEFAULT" if wanted else "NONREF"
            yield from context.decode(packet)
        context.skip_frame = "DEFAULT"
        yield from context.decode(None)

    def _run_from(self, k: int) -> Iterator[av.video.frame.VideoFrame]:
        """A new run from keyframe position ``k`` (from the file's start when k < 0)."""
        info = self.info
        keyframe_pts = int(info.pts[int(info.keyframe_indices[k])]) if k >= 0 and info.pts is not None else None
        if self._demuxed is not None:
            # In memory: a seek is a jump in the packet list.
            start = self._demuxed.keyframe_packets.get(keyframe_pts, 0) if keyframe_pts is not None else 0
            self._position, self._floor = -1, int(info.keyframe_indices[k]) if start else 0
            self._stream.codec_context.flush_buffers()
            return self._decoded(iter(self._demuxed.packets[start:]))
        if keyframe_pts is None:
            # Back to the very start: reopening is the one way that works for every container.
            self._container.close()
            self._container = _open_container(info.path)
            _set_threads(self._stream, info, self.plan)
            self._position, self._floor = -1, 0
        else:
            # Seek by the keyframe's own pts: measured on mp4 to land exactly on it (its dts lands one GOP
            # early); a demuxer that lands late anyway is caught by the retries.
            self._container.seek(keyframe_pts, stream=self._stream, backward=True)
            self._stream.codec_context.flush_buffers()
            self._position, self._floor = -1, int(info.keyframe_indices[k])
        return self._decoded(self._container.demux(self._stream))


def _import_decord() -> Any:
    try:
        import decord
    except ImportError as exc:
        raise DecoderUnavailableError(
            "FrameSource(decoder='decord') needs the optional decord package, which is not installed. "
            "Install it with `pip install 'tempeval[decord]'`, or use decoder='pyav' (the default)."
        ) from exc
    return decord


def _probe_decord(path: str) -> VideoInfo:
    """The PyAV timeline, checked against decord's ``get_frame_timestamp``.

    Both decoders select from the same timeline, so they give the same frames: decord's own duration differs
    on variable-frame-rate files (it guesses the last frame's length) and its timestamps are float32, either
    of which would shift some segment midpoints to a neighbouring frame. A file on which the two disagree
    about the frames themselves is refused rather than sampled differently.
    """
    decord = _import_decord()
    info = probe(path)  # also gives the clear missing / empty / corrupt errors
    if os.path.isdir(path):
        return info  # a frame folder: its images are read the same way whatever the decoder
    try:
        reader = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1)
        count = len(reader)
        stamps = np.asarray(reader.get_frame_timestamp(list(range(count))), dtype=np.float64) if count else None
    except Exception as exc:  # decord raises its own DECORDError (a RuntimeError) and sometimes others
        raise _error(
            path,
            f"decord cannot read it ({type(exc).__name__}: {exc})",
            "The file is corrupt or in a codec decord 0.6 lacks (e.g. AV1); use decoder='pyav'.",
        ) from exc
    if count != info.num_frames or stamps is None:
        raise _error(
            path,
            f"decord counts {count} frames where the container lists {info.num_frames}",
            "decord would sample different frames here; use decoder='pyav'.",
        )
    # float32 timestamps: a few microseconds off at most, far inside TIME_EPS_S.
    worst = float(np.max(np.abs(stamps[:, 0] - info.frame_times_s)))
    if worst > TIME_EPS_S:
        raise _error(
            path,
            f"decord's frame timestamps differ from the container's by up to {worst:.4f} s",
            "decord would sample different frames here; use decoder='pyav'.",
        )
    return info


def _decode_decord(
    info: VideoInfo, wants: Mapping[int, Collection[int | None]], threaded: bool = True
) -> dict[tuple[int, int | None], np.ndarray]:
    """One decode pass with decord (``get_batch`` over the sorted union); contract as :func:`_decode_pyav`."""
    decord = _import_decord()
    targets = sorted(wants)
    out: dict[tuple[int, int | None], np.ndarray] = {}
    try:
        reader = decord.VideoReader(info.path, ctx=decord.cpu(0), num_threads=0 if threaded else 1)
        if targets[-1] >= len(reader):
            raise _error(info.path, "decord sees fewer frames than the plan needs", "Use decoder='pyav'.")
        for start in range(0, len(targets), _DECORD_BATCH):
            chunk = targets[start : start + _DECORD_BATCH]
            batch = reader.get_batch(chunk).asnumpy()
            for index, image in zip(chunk, batch, strict=True):
                for max_side in wants[index]:
                    out[(index, max_side)] = _resize_rgb(image, max_side)
    except VideoError:
        raise
    except Exception as exc:
        what = f"decord failed ({type(exc).__name__}: {exc})"
        raise _error(info.path, what, "Try decoder='pyav'.") from exc
    return out


_CacheKey = tuple[str, int, int, int, int | None]


class FrameSource:
    """Decodes the frames :func:`select_frames` picks, grouped per video and cached.

    Thread-safe, and parallel across videos: threads asking for different videos probe and decode them at the
    same time (PyAV and decord release the GIL while decoding); threads asking for the same video take turns on
    that video's lock, so it is still decoded in one pass and the second is served from the cache. Each pass
    opens its own container, so no decoder is ever shared between threads (sharing one crashes PyAV and decord).
    A short lock guards the caches and counters only. Cached arrays are read-only and shared between the Frames
    that use them.
    """

    def __init__(
        self, decoder: str = "pyav", cache_bytes: int = 256 * 2**20, *, threaded_decoders: bool = True
    ) -> None:
        """Make a frame source.

        Args:
            decoder: ``'pyav'`` (default) or ``'decord'`` (optional extra, for reproducing older numbers).
            cache_bytes: Budget of the decoded-frame LRU in bytes; 0 disables caching.
            threaded_decoders: Let each decoder run threads of its own (frame threading for large frames); pass
                False when several videos are decoded at once, one per core, so threads do not outnumber cores.

        Raises:
            ValueError: Unknown decoder name or negative budget.
            DecoderUnavailableError: ``decoder='decord'`` and decord is not installed (an ImportError; the
                message gives the install command).
        """
        if decoder not in DECODERS:
            raise ValueError(f"Unknown decoder {decoder!r}; valid decoders: {', '.join(DECODERS)}.")
        if cache_bytes < 0:
            raise ValueError(f"cache_bytes must be >= 0, got {cache_bytes}.")
        if decoder == "decord":
            _import_decord()  # fail at start-up, not on the first video
        self.decoder = decoder
        self.cache_bytes = int(cache_bytes)
        self.threaded_decoders = threaded_decoders
        self._lock = threading.Lock()
        """Guards the two caches and the counters; never held while probing or decoding."""
        self._video_locks: dict[str, tuple[threading.Lock, int]] = {}
        """Per video: the lock its probe and decode pass hold, and how many threads use it now."""
        self._cache: OrderedDict[_CacheKey, np.ndarray] = OrderedDict()
        self._cache_used = 0
        self._infos: OrderedDict[str, tuple[tuple[int, int], VideoInfo]] = OrderedDict()
        self.hits = 0
        """Frames served from the cache."""
        self.misses = 0
        """Frames that had to be decoded."""
        self.passes = 0
        """Decode passes run (one per video per :meth:`frames_many` call that needed decoding)."""

    # -- cache -------------------------------------------------------------------------------------------

    @property
    def cache_used_bytes(self) -> int:
        """Bytes of decoded frames held in the cache now (never above ``cache_bytes``)."""
        return self._cache_used

    def clear_cache(self) -> None:
        """Drop every cached frame and probed timeline."""
        with self._lock:
            self._cache.clear()
            self._cache_used = 0
            self._infos.clear()

    def _cache_get(self, key: _CacheKey) -> np.ndarray | None:
        image = self._cache.get(key)
        if image is not None:
            self._cache.move_to_end(key)
        return image

    def _cache_put(self, key: _CacheKey, image: np.ndarray) -> None:
        size = int(image.nbytes)
        if size > self.cache_bytes or key in self._cache:
            return
        while self._cache_used + size > self.cache_bytes:
            _, evicted = self._cache.popitem(last=False)
            self._cache_used -= int(evicted.nbytes)
        self._cache[key] = image
        self._cache_used += size

    # -- public API --------------------------------------------------------------------------------------

    def info(self, path: str) -> VideoInfo:
        """The video's timeline (cached; probed again when the file's mtime or size changes).

        Args:
            path: The video file.

        Returns:
            Its :class:`VideoInfo` (``info.path`` is the absolute path).

        Raises:
            VideoError: As :func:`probe`.
        """
        path = os.path.abspath(path)
        with self._video_lock(path):
            return self._info(path)[1]

    @contextlib.contextmanager
    def _video_lock(self, path: str) -> Iterator[None]:
        """Hold ``path``'s own lock: one thread at a time probes or decodes a video, others run beside it."""
        with self._lock:
            lock, users = self._video_locks.get(path, (threading.Lock(), 0))
            self._video_locks[path] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._lock:
                users = self._video_locks[path][1] - 1
                if users:
                    self._video_locks[path] = (lock, users)
                else:
                    del self._video_locks[path]

    def _info(self, path: str, keep_packets: bool = False) -> tuple[tuple[int, int], VideoInfo, _Demuxed | None]:
        """``(file stamp, timeline, kept container or None)``; a container is kept only when ``keep_packets``,
        the timeline was not cached, the decoder is PyAV and the file is small (the caller closes it). Called
        with ``path``'s video lock held."""
        try:
            stat = os.stat(path)
        except OSError:
            _check_file(path)  # raises the right message
            raise
        stamp = (int(stat.st_mtime_ns), int(stat.st_size))
        with self._lock:
            cached = self._infos.get(path)
            if cached is not None and cached[0] == stamp:
                self._infos.move_to_end(path)
                return cached[0], cached[1], None
        demuxed = None
        if self.decoder == "pyav":
            info, demuxed = _probe(path, keep_packets=keep_packets and stat.st_size <= KEEP_PACKETS_MAX_BYTES)
        else:
            info = _probe_decord(path)
        with self._lock:
            self._infos[path] = (stamp, info)
            if len(self._infos) > _INFO_CACHE_ENTRIES:
                self._infos.popitem(last=False)
        return stamp, info, demuxed

    def frames(self, video: VideoRef, policy: FramePolicy, key: str) -> Frames:
        """Decode the frames a model sees for one sample.

        Args:
            video: The clip.
            policy: The frame policy.
            key: The sample id (seeds ``order='shuffled'``).

        Returns:
            The frames, with their stream indices and real pts in seconds.

        Raises:
            VideoError: The video is missing or unreadable, or the clip/cap selects nothing.
        """
        result = self.frames_many([(video, policy, key)])[0]
        if isinstance(result, VideoError):
            raise result
        return result

    def frames_many(self, items: Sequence[tuple[VideoRef, FramePolicy, str]]) -> list[Frames | VideoError]:
        """Decode the frames of many samples, each video once.

        Requests are grouped by video file; the union of the frames they need (at every needed
        ``max_side``) that is not already cached is decoded in one sorted pass per video, and every request
        is served from it.

        Args:
            items: ``(video, policy, key)`` per sample.

        Returns:
            One entry per item, in order: its Frames, or the VideoError that stopped it. A bad video fails
            only its own items; this never raises for the batch.
        """
        results: list[Frames | VideoError | None] = [None] * len(items)
        groups: dict[str, list[int]] = {}
        for position, (video, _, _) in enumerate(items):
            groups.setdefault(os.path.abspath(video.path), []).append(position)
        for path, positions in groups.items():
            with self._video_lock(path):
                self._serve_video(path, positions, items, results)
        assert all(result is not None for result in results)
        return [result for result in results if result is not None]

    def _serve_video(
        self,
        path: str,
        positions: list[int],
        items: Sequence[tuple[VideoRef, FramePolicy, str]],
        results: list[Frames | VideoError | None],
    ) -> None:
        """Plan, decode and serve every item of one video (called with its video lock held)."""
        try:
            stamp, info, demuxed = self._info(path, keep_packets=True)
        except VideoError as exc:
            for position in positions:
                results[position] = exc
            return
        try:
            self._serve_probed(path, stamp, info, demuxed, positions, items, results)
        finally:
            if demuxed is not None:
                demuxed.close()

    def _serve_probed(
        self,
        path: str,
        stamp: tuple[int, int],
        info: VideoInfo,
        demuxed: _Demuxed | None,
        positions: list[int],
        items: Sequence[tuple[VideoRef, FramePolicy, str]],
        results: list[Frames | VideoError | None],
    ) -> None:
        selections: dict[int, list[int]] = {}
        for position in positions:
            video, policy, key = items[position]
            try:
                selections[position] = select_frames(info, video, policy, key)
            except VideoError as exc:
                results[position] = exc
        # Plan: every (index, max_side) any item needs; what is cached is taken now, the rest decoded at once.
        images: dict[tuple[int, int | None], np.ndarray] = {}
        wants: dict[int, set[int | None]] = {}
        with self._lock:
            for position, indices in selections.items():
                max_side = items[position][1].max_side
                for index in indices:
                    pair = (index, max_side)
                    if pair in images or (index in wants and max_side in wants[index]):
                        continue
                    cached = self._cache_get((path, *stamp, index, max_side))
                    if cached is not None:
                        images[pair] = cached
                        self.hits += 1
                    else:
                        wants.setdefault(index, set()).add(max_side)
                        self.misses += 1
            self.passes += bool(wants)
        if wants:
            try:
                decoded = self._decode(info, wants, demuxed)
            except VideoError as exc:
                for position in selections:
                    results[position] = exc
                return
            with self._lock:
                for (index, max_side), image in decoded.items():
                    self._cache_put((path, *stamp, index, max_side), image)
            images.update(decoded)
        times = info.frame_times_s
        for position, indices in selections.items():
            max_side = items[position][1].max_side
            results[position] = Frames(
                images=tuple(images[(index, max_side)] for index in indices),
                timestamps=tuple(float(times[index]) for index in indices),
                indices=tuple(indices),
            )

    def _decode(
        self, info: VideoInfo, wants: Mapping[int, Collection[int | None]], demuxed: _Demuxed | None = None
    ) -> dict[tuple[int, int | None], np.ndarray]:
        if os.path.isdir(info.path):
            return _decode_folder(info, wants)
        if self.decoder == "decord":
            return _decode_decord(info, wants, self.threaded_decoders)
        return _decode_pyav(info, wants, demuxed, self.threaded_decoders)


def read_frames(path: str, indices: Sequence[int], max_side: int | None = None) -> list[np.ndarray]:
    """The frames at the stream ``indices`` of one video, in the order given (RGB, read-only, the longer side at
    most ``max_side``): exactly the frames a run recorded as seen (its records' ``frame_indices``).

    Raises:
        VideoError: The video is missing or unreadable, or has no frame at one of ``indices``.
    """
    info = probe(path)
    wanted = sorted(set(indices))
    outside = [index for index in wanted if not 0 <= index < info.num_frames]
    if outside:
        raise _error(
            path, f"has no frame {outside[0]} (it has {info.num_frames})",
            "The file is not the one the run read; put that video back, or rebuild without it.",
        )
    plan: dict[int, Collection[int | None]] = {index: {max_side} for index in wanted}
    decoded = _decode_folder(info, plan) if os.path.isdir(path) else _decode_pyav(info, plan)
    return [decoded[(index, max_side)] for index in indices]
