"""The polling wrapper: an offline adapter polled every Δ seconds on the frames so far, never shown a target."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tempeval.adapter import Capabilities, create_adapter
from tempeval.adapters.scripted import ScriptedAdapter
from tempeval.errors import TempevalError
from tempeval.streaming.clock import InMemoryFrames, VirtualClock
from tempeval.streaming.events import Errored, FrameEvent, QueryEvent, Respond, Silent
from tempeval.streaming.polling import PollingConfig, PollingSession, parse_window
from tempeval.streaming.session import Realtime, run_stream
from tempeval.streaming.video_frames import VideoFrames
from tempeval.types import Request, VideoRef
from tempeval.video import FrameSource
from tests.videofactory import make_barcode_video

PIXEL = np.zeros((2, 2, 3), dtype=np.uint8)


def frames(count: int) -> InMemoryFrames:
    return InMemoryFrames([FrameEvent(float(i), PIXEL, i) for i in range(count)], end_s=float(count))


def polled(policy: Callable[[Request], str], config: PollingConfig | None = None) -> PollingSession:
    return PollingSession(create_adapter("scripted", {"policy": policy}), config)


Policy = Callable[[Request], str]


def recorder(reply: Policy = lambda request: "WAIT") -> tuple[list[Request], Policy]:
    seen: list[Request] = []

    def policy(request: Request) -> str:
        seen.append(request)
        return reply(request)

    return seen, policy


def test_polls_come_every_delta_and_when_a_question_is_asked_each_on_the_prefix_so_far() -> None:
    seen, policy = recorder()
    session = polled(policy, PollingConfig(poll_every_s=2.0))
    log = run_stream(session, VirtualClock(frames(9), [QueryEvent(1.0, "what?", "q")]))
    assert [r.frames.timestamps[-1] for r in seen if r.frames] == [1.0, 2.0, 4.0, 6.0, 8.0]
    assert [len(r.frames) for r in seen if r.frames] == [2, 3, 5, 7, 9]  # the whole prefix, t <= now
    assert all(max(r.frames.timestamps) <= float(r.sample_id.split("@")[1]) for r in seen if r.frames)
    assert [e.action for e in log.entries] == [Silent()] * 5  # every poll is in the log


def test_nothing_is_polled_before_a_question_is_open() -> None:
    seen, policy = recorder()
    run_stream(polled(policy), VirtualClock(frames(6), [QueryEvent(4.0, "what?", "q")]))
    assert [r.frames.timestamps[-1] for r in seen if r.frames] == [4.0, 5.0]


def test_a_sliding_window_shows_only_its_last_seconds() -> None:
    seen, policy = recorder()
    run_stream(polled(policy, PollingConfig(window_s=3.0)), VirtualClock(frames(8), [QueryEvent(0.0, "?", "q")]))
    assert seen[-1].frames is not None and seen[-1].frames.timestamps == (5.0, 6.0, 7.0)
    assert seen[-1].video_duration_s == pytest.approx(2.0)
    assert "(the last 3 s)" in seen[-1].prompt


def test_max_frames_thins_the_window_and_keeps_the_newest_frame() -> None:
    seen, policy = recorder()
    run_stream(polled(policy, PollingConfig(max_frames=3)), VirtualClock(frames(9), [QueryEvent(0.0, "?", "q")]))
    assert seen[-1].frames is not None and seen[-1].frames.timestamps == (0.0, 4.0, 8.0)


QUESTIONS = [
    # (question as asked, the ground truth a scorer holds)
    ("What colour is the square now?", "magenta"),
    ("Which shape appeared first? A. circle B. triangle C. star", "B"),
    ("Tell me when the ball stops moving.", "the ball stopped"),
    ("How many circles have appeared so far?", "seven"),
]


def leaks(prompt: str, target: str) -> bool:
    """The target in the prompt as a word (a lone option letter) or as text."""
    if len(target) == 1:
        return f" {target}\n" in prompt or f"answer {target}" in prompt or f'"{target}"' in prompt
    return target.lower() in prompt.lower()


def test_no_poll_prompt_contains_any_target() -> None:
    seen, policy = recorder()
    queries = [QueryEvent(float(i), text, f"q{i}") for i, (text, _) in enumerate(QUESTIONS)]
    run_stream(polled(policy, PollingConfig(keep_answered=True)), VirtualClock(frames(8), queries))
    assert len(seen) == 11  # a poll per frame once a question is open, and one as each question is asked
    for request in seen:
        asked = [text for text, _ in QUESTIONS if text in request.prompt]
        assert asked  # the questions do reach the prompt ...
        for _, target in QUESTIONS:
            assert not leaks(request.prompt, target), (target, request.prompt)  # ... their answers never


def test_the_leak_check_catches_streamingbenchs_own_polling_prompt() -> None:
    # StreamingBench's proactive prompt names the answer: the check above would fail on it.
    text, target = QUESTIONS[2]
    assert leaks(f'{text} Is it the right time to output "{target}"? You can only answer yes or no.', target)


@pytest.mark.parametrize("reply", ["WAIT", " wait.", '"WAIT"', "[q] WAIT"])
def test_the_wait_token_is_silence(reply: str) -> None:
    session = polled(lambda request: reply)
    log = run_stream(session, VirtualClock(frames(2), [QueryEvent(0.0, "?", "q")]))
    assert {e.action for e in log.entries} == {Silent()}


def test_bracketed_answers_name_their_question_and_close_it() -> None:
    seen, policy = recorder(lambda r: "[b] blue\n[a] WAIT" if "[b]" in r.prompt else "[a] red")
    queries = [QueryEvent(0.0, "colour of a?", "a"), QueryEvent(0.0, "colour of b?", "b")]
    log = run_stream(polled(policy, PollingConfig(poll_on_query=False)), VirtualClock(frames(4), queries))
    responses = [(e.taken_at_s, e.action) for e in log.entries if isinstance(e.action, Respond)]
    assert responses == [(1.0, Respond("blue", "b")), (2.0, Respond("red", "a"))]
    assert "[b]" not in seen[1].prompt  # answered, so no longer asked
    assert len(seen) == 2  # nothing left open: no more polls


def test_a_plain_answer_answers_the_only_open_question_and_none_of_several() -> None:
    one = run_stream(polled(lambda r: "red"), VirtualClock(frames(1), [QueryEvent(0.0, "?", "q")]))
    assert [e.action for e in one.entries] == [Respond("red", "q")]
    two = [QueryEvent(0.0, "?", "a"), QueryEvent(0.0, "?", "b")]
    several = run_stream(polled(lambda r: "red", PollingConfig(poll_on_query=False)), VirtualClock(frames(2), two))
    assert [(e.taken_at_s, e.action) for e in several.entries] == [(1.0, Respond("red", None))]


def test_model_failures_are_logged_as_errors_never_as_answers() -> None:
    def broken(request: Request) -> str:
        raise RuntimeError("server down")

    log = run_stream(polled(broken), VirtualClock(frames(2), [QueryEvent(0.0, "?", "q")]))
    assert [type(e.action) for e in log.entries] == [Errored, Errored]
    assert "server down" in log.entries[0].action.message  # type: ignore[union-attr]
    empty = run_stream(polled(lambda r: "  "), VirtualClock(frames(1), [QueryEvent(0.0, "?", "q")]))
    assert [e.action for e in empty.entries] == [Errored("empty reply")]


def test_many_polls_share_one_decode_of_each_frame(tmp_path: Path) -> None:
    video = make_barcode_video(tmp_path / "v.mp4", 60, 10.0)  # 6 s
    source = FrameSource(cache_bytes=0)
    provider = VideoFrames(source, VideoRef(str(video)), stream_fps=2.0, chunk_s=2.0)
    seen, policy = recorder()
    run_stream(polled(policy, PollingConfig(poll_every_s=0.5)), VirtualClock(provider, [QueryEvent(0.0, "?", "q")]))
    shown = sum(len(r.frames) for r in seen if r.frames)
    assert len(seen) == 12 and shown == 78  # 1 + 2 + ... + 12 frames shown over the polls
    assert source.misses == 12  # yet each of the 12 frames was decoded once


def test_bad_polling_settings_are_refused_with_the_flag_to_fix() -> None:
    with pytest.raises(TempevalError, match="--poll-every"):
        PollingConfig(poll_every_s=0)
    with pytest.raises(TempevalError, match="--window must be 'full' or a number"):
        parse_window("ten")
    assert parse_window("full") is None and parse_window("30") == 30.0


def test_realtime_polling_charges_each_calls_latency_and_logs_the_frames_it_missed() -> None:
    wall = [0.0]

    def slow(request: Request) -> str:  # every call takes 2.5 s of wall clock
        wall[0] += 2.5
        return "WAIT"

    log = run_stream(
        polled(slow), VirtualClock(frames(8), [QueryEvent(0.0, "?", "q")]),
        realtime=Realtime(busy="drop"), timer=lambda: wall[0],
    )
    # Polls at 0 s (busy to 2.5 s), 3 s (to 5.5 s), 6 s (to 8.5 s): frames 1, 2, 4, 5 and 7 arrive while busy.
    assert [(e.event_t_s, e.taken_at_s) for e in log.entries] == [(0.0, 2.5), (3.0, 5.5), (6.0, 8.5)]
    assert [f.t for f in log.dropped] == [1.0, 2.0, 4.0, 5.0, 7.0]


def test_polls_never_send_more_images_than_the_adapter_takes() -> None:
    class FewImages(ScriptedAdapter):
        capabilities = Capabilities(max_images=2)

    seen, policy = recorder()
    adapter = FewImages("", ScriptedAdapter.Options(policy=policy))
    run_stream(PollingSession(adapter), VirtualClock(frames(5), [QueryEvent(0.0, "?", "q")]))
    assert seen[-1].frames is not None and seen[-1].frames.timestamps == (0.0, 4.0)
    assert len({r.sample_id for r in seen}) == len(seen) == 5  # every poll has its own id
