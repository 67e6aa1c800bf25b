"""Clips of a visible window (``-M video_mode=file``): exactly the source frames shown in the window, nothing later."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tempeval.clips import clip_of, window_indices
from tempeval.types import FramePolicy, VideoRef
from tempeval.video import FrameSource, VideoError, probe
from tests.videofactory import make_barcode_video, read_barcode


def test_a_window_becomes_a_clip_of_exactly_its_frames(tmp_path: Path) -> None:
    source = make_barcode_video(tmp_path / "v.mp4", 50, 10.0, gop=12)  # frame i at i / 10 s
    info = probe(str(source))
    assert list(window_indices(info, 1.25, 3.0)) == list(range(12, 31)), "the frame on screen at 1.25 s, to 3.0 s"
    clip = clip_of(info, 1.25, 3.0, tmp_path / "clips")
    assert not clip.whole and Path(clip.path).parent == tmp_path / "clips"
    clipped = probe(clip.path)
    assert clipped.num_frames == 19
    np.testing.assert_allclose(clipped.frame_times_s, np.arange(19) / 10.0, atol=1e-3)  # re-timed from 0 s
    frames = FrameSource().frames(VideoRef(clip.path), FramePolicy(num_frames=19), "k")
    assert [read_barcode(image) for image in frames.images] == list(range(12, 31)), "the source's own frames"
    again = clip_of(info, 1.25, 3.0, tmp_path / "clips")
    assert again.path == clip.path and Path(clip.path).stat().st_mtime_ns == Path(again.path).stat().st_mtime_ns


def test_the_whole_video_is_sent_as_itself(tmp_path: Path) -> None:
    source = make_barcode_video(tmp_path / "v.mp4", 20, 10.0)
    info = probe(str(source))
    clip = clip_of(info, 0.0, info.duration_s, tmp_path / "clips")
    assert clip.whole and clip.path == info.path and not (tmp_path / "clips").exists()


def test_an_empty_window_is_an_error(tmp_path: Path) -> None:
    info = probe(str(make_barcode_video(tmp_path / "v.mp4", 20, 10.0, frame_times_s=[1 + i / 10 for i in range(20)])))
    with pytest.raises(VideoError, match="no frame is shown"):
        clip_of(info, 0.0, 0.5, tmp_path / "clips")
