"""Frame folders (a directory of JPEG/PNG frames, as OVBench and MVBench's episodic reasoning ship) read as videos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tempeval.streaming.clock import VirtualClock
from tempeval.streaming.video_frames import VideoFrames
from tempeval.types import FramePolicy, VideoRef
from tempeval.video import FrameSource, VideoError, probe, read_frames
from tests.fixtures import write_image


def folder_of(tmp_path: Path, count: int, fps: str | None = None, name: str = "clip") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for i in range(count):  # unpadded names: natural order must put frame2 before frame10
        write_image(folder / f"frame{i + 1}.png", np.full((16, 24, 3), 20 * i, np.uint8))
    (folder / "notes.txt").write_text("not a frame")
    if fps is not None:
        (folder / "fps.txt").write_text(fps)
    return folder


def level(image: np.ndarray) -> int:
    return int(image[..., 0].mean().round())


def test_a_folder_is_a_video_at_one_frame_per_second_in_natural_name_order(tmp_path: Path) -> None:
    folder = folder_of(tmp_path, 12)
    info = probe(str(folder))
    assert info.num_frames == 12 and (info.width, info.height) == (24, 16) and info.duration_s == 12.0
    assert list(info.frame_times_s) == [float(i) for i in range(12)]
    frames = FrameSource().frames(VideoRef(str(folder)), FramePolicy(num_frames=4), "s")
    assert frames.indices == (1, 4, 7, 10) and frames.timestamps == (1.0, 4.0, 7.0, 10.0)
    assert [level(image) for image in frames.images] == [20, 80, 140, 200], "frame10 comes after frame9"
    assert [level(image) for image in read_frames(str(folder), [11, 0])] == [220, 0]


def test_fps_txt_sets_the_rate_and_a_bad_one_is_refused_naming_the_file(tmp_path: Path) -> None:
    info = probe(str(folder_of(tmp_path, 4, fps="2")))
    assert list(info.frame_times_s) == [0.0, 0.5, 1.0, 1.5] and info.duration_s == 2.0
    with pytest.raises(VideoError, match=r"fps\.txt that says 'fast'"):
        probe(str(folder_of(tmp_path, 2, fps="fast", name="bad")))


def test_a_folder_without_frames_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(VideoError, match="is a folder with no frames"):
        FrameSource().info(str(tmp_path / "empty"))


def test_jpeg_frames_are_read_and_resized_like_video_frames(tmp_path: Path) -> None:
    folder = tmp_path / "jpegs"
    folder.mkdir()
    for i in range(3):
        write_image(folder / f"{i:05d}.jpg", np.full((32, 64, 3), 100, np.uint8), codec="mjpeg")
    frames = FrameSource().frames(VideoRef(str(folder)), FramePolicy(num_frames=3, max_side=32), "s")
    assert all(image.shape == (16, 32, 3) for image in frames.images)
    assert all(abs(level(image) - 100) <= 3 for image in frames.images)


def test_a_folder_streams_on_the_virtual_clock_each_frame_at_its_time(tmp_path: Path) -> None:
    folder = folder_of(tmp_path, 6)
    provider = VideoFrames(FrameSource(), VideoRef(str(folder)), stream_fps=1.0)
    events = list(VirtualClock(provider, []).events())
    assert [(e.t, level(e.image)) for e in events] == [(float(i), 20 * i) for i in range(6)]  # type: ignore[union-attr]
