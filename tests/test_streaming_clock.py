"""The virtual clock and its frame providers: time order, no frame before its time, each frame decoded once."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from tempeval.errors import TempevalError
from tempeval.streaming.clock import InMemoryFrames, VirtualClock
from tempeval.streaming.events import FrameEvent, QueryEvent, StreamEvent
from tempeval.streaming.video_frames import VideoFrames
from tempeval.types import VideoRef
from tempeval.video import FrameSource
from tests.videofactory import make_barcode_video, read_barcode

PIXEL = np.zeros((2, 2, 3), dtype=np.uint8)


def frame(t: float, index: int = 0) -> FrameEvent:
    return FrameEvent(t=t, image=PIXEL, source_index=index)


def times_and_kinds(events: Sequence[StreamEvent]) -> list[tuple[float, str]]:
    return [(e.t, "q" if isinstance(e, QueryEvent) else "f") for e in events]


def test_events_come_in_time_order_with_a_frame_before_a_query_at_the_same_time() -> None:
    provider = InMemoryFrames([frame(float(i), i) for i in range(5)], end_s=5.0)
    queries = [QueryEvent(3.0, "how many?", "q2"), QueryEvent(0.5, "what?", "q1")]
    events = list(VirtualClock(provider, queries).events())
    assert times_and_kinds(events) == [
        (0.0, "f"), (0.5, "q"), (1.0, "f"), (2.0, "f"), (3.0, "f"), (3.0, "q"), (4.0, "f"),
    ]


def test_a_query_after_the_last_frame_is_still_asked() -> None:
    provider = InMemoryFrames([frame(0.0), frame(1.0, 1)], end_s=2.0)
    events = list(VirtualClock(provider, [QueryEvent(7.5, "late?", "q")]).events())
    assert times_and_kinds(events)[-1] == (7.5, "q")


def test_duplicate_query_ids_are_refused() -> None:
    with pytest.raises(TempevalError, match="two queries have the id 'q'"):
        VirtualClock(InMemoryFrames([]), [QueryEvent(1.0, "a", "q"), QueryEvent(2.0, "b", "q")])


class Leaky:
    """An adversarial provider: hands over the whole stream whatever window it is asked for."""

    stream_fps = 1.0
    end_s = 4.0

    def __init__(self, frames: list[FrameEvent]) -> None:
        self.frames = frames

    def frames_between(self, after_s: float, until_s: float) -> Sequence[FrameEvent]:
        return self.frames


@pytest.mark.parametrize(
    "frames",
    [
        [frame(0.0), frame(3.0, 3)],  # a frame from the future in the first window
        [frame(0.5, 1), frame(0.2, 0)],  # out of order
    ],
    ids=["future", "unordered"],
)
def test_a_provider_that_hands_over_frames_out_of_their_time_is_refused(frames: list[FrameEvent]) -> None:
    clock = VirtualClock(Leaky(frames), [])
    with pytest.raises(TempevalError, match="out of its time"):
        list(clock.events())


def test_a_provider_that_repeats_an_already_delivered_frame_is_refused() -> None:
    provider = Leaky([frame(0.0)])  # asked for (1, 2] next, it hands over the t=0 frame again
    with pytest.raises(TempevalError, match=r"frame 0 at 0.000 s .* \(1.000 s, 2.000 s\]"):
        list(VirtualClock(provider, []).events())


def test_the_clock_asks_for_windows_that_never_reach_past_its_step() -> None:
    asked: list[tuple[float, float]] = []

    class Recording(InMemoryFrames):
        def frames_between(self, after_s: float, until_s: float) -> Sequence[FrameEvent]:
            asked.append((after_s, until_s))
            return super().frames_between(after_s, until_s)

    provider = Recording([frame(i / 2, i) for i in range(7)], stream_fps=2.0, end_s=3.0)
    clock = VirtualClock(provider, [QueryEvent(1.2, "q?", "q")])
    for event in clock.events():
        # When an event at t is delivered, nothing was asked beyond the step that contains t.
        assert asked[-1][1] - event.t < 0.5 + 1e-12
        assert asked[-1][0] < event.t <= asked[-1][1]
    assert asked[0] == (-math.inf, 0.5) and asked[-1] == (2.5, 3.0)


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 10 s at 10 fps: frame i shows barcode i and is shown at i / 10 s.
    return make_barcode_video(tmp_path_factory.mktemp("stream") / "ten.mp4", 100, 10.0)


def test_video_frames_never_deliver_a_pixel_from_after_the_delivery_time(video: Path) -> None:
    provider = VideoFrames(FrameSource(cache_bytes=0), VideoRef(str(video)), stream_fps=2.0, chunk_s=3.0)
    queries = [QueryEvent(t, "what now?", f"q{t}") for t in (0.0, 2.25, 7.5, 9.9)]
    shown: list[float] = []
    for event in VirtualClock(provider, queries).events():
        if isinstance(event, FrameEvent):
            index = read_barcode(event.image)  # the pixels say which frame this is
            assert index == event.source_index
            assert index / 10.0 == pytest.approx(event.t)
            shown.append(event.t)
        else:
            assert all(t <= event.t for t in shown)  # every frame seen before a query is from before it
    # 2 fps over [0, 10]: segment midpoints 0.25, 0.75, ... map to frames 2, 7, 12, ... (shown at 0.2, 0.7, ...)
    assert shown == pytest.approx([0.2 + 0.5 * k for k in range(20)])


def test_video_frames_decode_each_frame_once_however_many_chunks(video: Path) -> None:
    source = FrameSource(cache_bytes=0)  # no cache to hide a second decode
    provider = VideoFrames(source, VideoRef(str(video)), stream_fps=4.0, chunk_s=2.0)
    delivered = [e for e in VirtualClock(provider, []).events() if isinstance(e, FrameEvent)]
    assert len(delivered) == 40
    assert source.misses == 40 and provider.decoded_frames == 40
    assert source.passes == 5  # one pass per 2 s chunk


def test_video_frames_decode_lazily_as_the_clock_advances(video: Path) -> None:
    provider = VideoFrames(FrameSource(cache_bytes=0), VideoRef(str(video)), stream_fps=1.0, chunk_s=5.0)
    events = VirtualClock(provider, []).events()
    first = next(events)
    assert first.t == pytest.approx(0.5) and provider.decoded_frames == 5  # only the first chunk so far
    rest = list(events)
    assert len(rest) == 9 and provider.decoded_frames == 10


def test_a_video_slower_than_the_stream_rate_delivers_each_frame_once(tmp_path: Path) -> None:
    slow = make_barcode_video(tmp_path / "slow.mp4", 4, 1.0)  # 4 s at 1 fps, streamed at 3 fps
    provider = VideoFrames(FrameSource(), VideoRef(str(slow)), stream_fps=3.0)
    delivered = [e for e in VirtualClock(provider, []).events() if isinstance(e, FrameEvent)]
    assert [e.source_index for e in delivered] == [0, 1, 2, 3]
    assert [e.t for e in delivered] == pytest.approx([0.0, 1.0, 2.0, 3.0])


def test_video_frames_of_a_clip_at_a_reduced_size(video: Path) -> None:
    clip = VideoRef(str(video), start_s=2.0, end_s=6.0)
    provider = VideoFrames(FrameSource(), clip, stream_fps=1.0, max_side=64)
    delivered = [e for e in VirtualClock(provider, []).events() if isinstance(e, FrameEvent)]
    # 1 fps over [2, 6]: midpoints 2.5, 3.5, 4.5, 5.5 -> frames 25, 35, 45, 55, on the video's own timeline.
    assert [e.source_index for e in delivered] == [25, 35, 45, 55]
    assert [read_barcode(e.image) for e in delivered] == [25, 35, 45, 55]
    assert {e.image.shape for e in delivered} == {(48, 64, 3)} and provider.end_s == 6.0
