"""Frame strips for the sample browser: small JPEG pictures of exactly the frames a model saw, at their times.

``leaderboard build`` decodes, for the first :data:`STRIP_SAMPLES` records of each run (the browser's first
page), the stream frames the record names in ``frame_indices`` with :func:`tempeval.video.read_frames`, and
writes each as ``thumbs/<hash>.jpg`` (:data:`THUMB_SIDE` px on the longer side). The name hashes the video's
resolved path, size, modification time and the frame index, so runs of many models on one task share their
pictures (each decoded once per build). A record whose video is absent (a site built on another
machine) gets a note instead of pictures.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempeval.records import RunRecord
from tempeval.video import VideoError, read_frames

if TYPE_CHECKING:
    import numpy as np

THUMBS_DIR = "thumbs"
THUMB_SIDE = 96
"""Longer side of a picture in pixels."""
STRIP_SAMPLES = 12
"""Records per run that get a frame strip (the first ones, in run-file order)."""
STRIP_FRAMES = 16
"""Pictures per strip at most (evenly spaced over the frames seen when the model saw more)."""


@dataclass(frozen=True)
class Strip:
    """One sample's frame strip: site-relative picture files with the true time of each, or why there is none."""

    files: tuple[str, ...] = ()
    times: tuple[float, ...] = ()
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"files": list(self.files), "times": list(self.times), "note": self.note}


def frame_strips(records: Sequence[RunRecord], run_path: Path, site: Path) -> dict[int, Strip]:
    """Record index -> its frame strip, for the first :data:`STRIP_SAMPLES` records that saw frames."""
    strips: dict[int, Strip] = {}
    wanted: dict[Path, list[tuple[int, list[int], list[float]]]] = {}
    for index, record in enumerate(records[:STRIP_SAMPLES]):
        indices, times = _shown(record)
        if not indices:
            strips[index] = Strip(note="no frame indices in this record (a run file from before they were kept)")
            continue
        video = _video_path(record.video, run_path)
        if video is None:
            strips[index] = Strip(note=f"frames not shown: video {record.video or '(none recorded)'} is not "
                                       "on the machine that built this site")
            continue
        wanted.setdefault(video, []).append((index, indices, times))
    for video, samples in wanted.items():
        try:
            files = _pictures(video, sorted({i for _, indices, _ in samples for i in indices}), site)
        except VideoError as exc:
            for index, _, _ in samples:
                strips[index] = Strip(note=f"frames not shown: {exc}")
            continue
        for index, indices, times in samples:
            strips[index] = Strip(tuple(files[i] for i in indices), tuple(times))
    return dict(sorted(strips.items()))


def _shown(record: RunRecord) -> tuple[list[int], list[float]]:
    """The stream indices and true times of the frames shown, thinned to :data:`STRIP_FRAMES` evenly spaced."""
    indices = [int(i) for i in record.frame_indices if isinstance(i, int)]
    times = [float(t) for t in record.frame_times]
    if not indices or len(times) != len(indices):
        return [], []
    if len(indices) > STRIP_FRAMES:
        keep = [round(k * (len(indices) - 1) / (STRIP_FRAMES - 1)) for k in range(STRIP_FRAMES)]
        indices, times = [indices[k] for k in keep], [times[k] for k in keep]
    return indices, times


def _video_path(video: Any, run_path: Path) -> Path | None:
    """The recorded video as it is here: as written (absolute, or from the current folder), or beside the run."""
    if not isinstance(video, str) or not video:
        return None
    for candidate in (Path(video), run_path.parent / video):
        if candidate.is_file():
            return candidate.resolve()
    return None


def _pictures(video: Path, indices: Sequence[int], site: Path) -> dict[int, str]:
    """Frame index -> site-relative picture file, decoding only the frames not written before."""
    stat = video.stat()
    names = {
        index: hashlib.sha1(f"{video}\0{stat.st_size}\0{stat.st_mtime_ns}\0{index}".encode()).hexdigest()[:16] + ".jpg"
        for index in indices
    }
    folder = site / THUMBS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    missing = [index for index in indices if not (folder / names[index]).exists()]
    if missing:
        for index, image in zip(missing, read_frames(str(video), missing, THUMB_SIDE), strict=True):
            temporary = folder / f".{names[index]}.{os.getpid()}"
            temporary.write_bytes(jpeg(image))
            os.replace(temporary, folder / names[index])
    return {index: f"{THUMBS_DIR}/{name}" for index, name in names.items()}


def jpeg(image: np.ndarray) -> bytes:
    """An RGB array as JPEG bytes (PyAV's MJPEG encoder: no imaging library needed)."""
    import av

    height, width = int(image.shape[0]), int(image.shape[1])
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height, codec.pix_fmt, codec.time_base = width, height, "yuvj420p", Fraction(1, 25)
    frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuvj420p")
    return b"".join(bytes(packet) for packet in [*codec.encode(frame), *codec.encode(None)])
