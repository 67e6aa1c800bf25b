"""Tests of the built-in synthetic suite: API, determinism, twins, videos, and pixels against the ground truth."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tempeval.synth import GENERATOR_VERSION, SUBSETS, default_root, ensure_suite, load_samples
from tempeval.synth.draw import PALETTE
from tempeval.synth.generate import plan_subset
from tempeval.types import Sample

av = pytest.importorskip("av")

REPO = Path(__file__).resolve().parents[1]
PER_TASK = 8
N_FRAMES = 8  # the harness default: 8 frames at segment midpoints
EXPECTED_COUNTS = {
    "direction": 8, "order": 8, "count": 8, "speed": 8, "grounding": 8, "claims": 8, "online": 12, "stream": 3,
    "events": 8,
}


# ---------------------------------------------------------------------------------------------------------------
# Pixel helpers: decode, find colours, sample like the harness


def decode(path: str) -> tuple[list[float], list[np.ndarray], Any]:
    """Times and RGB frames of every frame, and the video stream (for size/rate checks)."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        times, images = [], []
        for frame in container.decode(stream):
            times.append(float(frame.time))
            images.append(frame.to_ndarray(format="rgb24"))
        info = {
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "rate": float(stream.average_rate),
            "duration": float(stream.duration * stream.time_base) if stream.duration else None,
        }
    return times, images, info


def color_mask(image: np.ndarray, color: str) -> np.ndarray:
    """Pixels near a palette colour (tolerant of H.264 / 4:2:0 changes, far from the other colours)."""
    diff = image.astype(np.int32) - np.array(PALETTE[color], dtype=np.int32)
    return np.asarray((diff * diff).sum(axis=-1) < 55 * 55)


def present(image: np.ndarray, color: str) -> bool:
    return int(color_mask(image, color).sum()) >= 60  # every shape covers > 250 px


def centroid(image: np.ndarray, color: str) -> np.ndarray:
    ys, xs = np.nonzero(color_mask(image, color))
    return np.array([xs.mean(), ys.mean()])


def sample_frames(times: list[float], images: list[np.ndarray], end_s: float) -> list[np.ndarray]:
    """The frames shown at the midpoints of 8 equal segments of [0, end_s] (the last frame at or before)."""
    out = []
    for k in range(N_FRAMES):
        t = (k + 0.5) * end_s / N_FRAMES
        index = max(i for i, ts in enumerate(times) if ts <= t + 1e-9)
        out.append(images[index])
    return out


def last_frame_at(times: list[float], images: list[np.ndarray], t: float) -> np.ndarray:
    return images[max(i for i, ts in enumerate(times) if ts <= t + 1e-9)]


def answer_text(sample: Sample) -> str:
    return sample.choices["ABCD".index(sample.target)]


def color_of(name: str) -> str:
    return name.split()[0]


# ---------------------------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_suite(tmp_path_factory.mktemp("synth"), seed=0, per_task=PER_TASK)


@pytest.fixture(scope="module")
def samples(suite: Path) -> dict[str, list[Sample]]:
    return {s: load_samples(s, suite.parent, seed=0, per_task=PER_TASK) for s in SUBSETS}


@pytest.fixture(scope="module")
def decoded(samples: dict[str, list[Sample]]) -> dict[str, tuple[list[float], list[np.ndarray], Any]]:
    paths = {s.video.path for subset in samples.values() for s in subset if s.video is not None}
    return {p: decode(p) for p in sorted(paths)}


# ---------------------------------------------------------------------------------------------------------------
# API and records


def test_layout_and_counts(suite: Path, samples: dict[str, list[Sample]]) -> None:
    assert SUBSETS == ("direction", "order", "count", "speed", "grounding", "claims", "online", "stream", "events")
    assert suite.name == f"seed0-n{PER_TASK}"
    manifest = json.loads((suite / "COMPLETE").read_text())
    assert manifest["generator_version"] == GENERATOR_VERSION
    assert {s: len(v) for s, v in samples.items()} == EXPECTED_COUNTS == manifest["records"]
    assert not list(suite.parent.glob(".*tmp-*")), "temporary folders left behind"


def test_record_schema(suite: Path, samples: dict[str, list[Sample]]) -> None:
    kinds = {"grounding": "grounding", "claims": "binary_pair", "online": "online", "stream": "streaming",
             "events": "dense_captioning"}
    for subset, items in samples.items():
        ids = [s.id for s in items]
        assert len(set(ids)) == len(ids)
        lines = (suite / "annotations" / f"{subset}.jsonl").read_text().splitlines()
        for line, sample in zip(lines, items, strict=True):
            record = json.loads(line)
            assert list(record) == [
                "id",
                "kind",
                "video",
                "question",
                "choices",
                "target",
                "answer_format",
                "query_time_s",
                "meta",
            ]
            assert record["video"] == f"videos/{sample.meta['video_id']}.mp4"
            assert sample.answer_format == record["answer_format"]
            assert sample.kind == kinds.get(subset, "multiple_choice")
            assert sample.meta["subset"] == subset
            assert sample.video is not None and Path(sample.video.path).is_absolute()
            assert Path(sample.video.path).stem == sample.meta["video_id"]
            assert Path(sample.video.path).is_file()
            assert sample.question.endswith("?") or subset == "claims"
            assert "A." not in sample.question and "(A)" not in sample.question
            if subset in ("direction", "order", "count", "speed") or sample.answer_format == "letter":
                assert sample.answer_format == "letter" and sample.target in "ABCD"[: len(sample.choices)]
                assert 3 <= len(sample.choices) <= 4 and len(set(sample.choices)) == len(sample.choices)
            if subset == "online":
                assert sample.query_time_s is not None and 0 < sample.query_time_s <= sample.meta["duration_s"]
                assert sample.meta["mode"] in ("backward", "forward")
            else:
                assert sample.query_time_s is None
    grounding = samples["grounding"][0]
    assert grounding.answer_format == "window" and isinstance(grounding.target, tuple)


def test_twins_differ_and_share_pair_id(samples: dict[str, list[Sample]]) -> None:
    for subset in ("direction", "order", "count", "speed"):
        pairs: dict[str, list[Sample]] = defaultdict(list)
        for s in samples[subset]:
            pairs[s.meta["pair_id"]].append(s)
        assert len(pairs) == PER_TASK // 2
        for pair in pairs.values():
            a, b = pair
            assert a.id.endswith("a") and b.id.endswith("b") and a.video != b.video
            assert (a.question, a.choices) == (b.question, b.choices)  # only the video differs
            assert a.target != b.target
    claims: dict[str, list[Sample]] = defaultdict(list)
    for s in samples["claims"]:
        claims[s.meta["pair_id"]].append(s)
    for a, b in claims.values():
        assert a.video == b.video and a.question != b.question
        assert sorted([a.target, b.target]) == [False, True]
        assert {a.meta["claim"]: a.target, b.meta["claim"]: b.target} == {"fact": True, "fib": False}


def test_online_probes(samples: dict[str, list[Sample]]) -> None:
    probes: dict[str, list[Sample]] = defaultdict(list)
    for s in samples["online"]:
        if s.meta["mode"] == "forward":
            assert s.answer_format == "yes_no" and isinstance(s.target, bool)
            probes[s.meta["probe_of"]].append(s)
        else:
            assert s.answer_format == "letter"
    for group in probes.values():
        assert len(group) >= 3 and {p.target for p in group} == {True, False}
        event = group[0].meta["event_time_s"]
        for probe in group:
            assert probe.query_time_s is not None and abs(probe.query_time_s - event) >= 1.0 - 1e-9


def test_letters_spread() -> None:
    for subset in ("direction", "order", "count", "speed", "online"):
        records = [r for r in plan_subset(subset, 0, 60).records if r["answer_format"] == "letter"]
        k = len(records[0]["choices"])
        counts = Counter(r["target"] for r in records)
        assert set(counts) == set("ABCD"[:k])
        assert max(counts.values()) - min(counts.values()) <= 3, (subset, counts)


# ---------------------------------------------------------------------------------------------------------------
# Determinism and the cache


def test_deterministic(tmp_path: Path, suite: Path) -> None:
    again = ensure_suite(tmp_path, seed=0, per_task=PER_TASK)
    for subset in SUBSETS:
        name = f"annotations/{subset}.jsonl"
        assert (again / name).read_bytes() == (suite / name).read_bytes()
    # Videos too, byte for byte: the manifest holds every file's sha256.
    assert (again / "COMPLETE").read_bytes() == (suite / "COMPLETE").read_bytes()
    # Another seed differs (planning only: the annotations are what the seed decides).
    for subset in SUBSETS:
        assert plan_subset(subset, 1, PER_TASK).records != plan_subset(subset, 0, PER_TASK).records


def test_reuse_and_crash_leftovers(tmp_path: Path) -> None:
    dest = tmp_path / "seed0-n1"
    (dest / "videos").mkdir(parents=True)  # a half-written folder without COMPLETE
    (dest / "videos" / "junk.mp4").write_bytes(b"x")
    (tmp_path / ".seed0-n1.tmp-123-dead").mkdir()  # a crashed run's temporary folder
    out = ensure_suite(tmp_path, seed=0, per_task=1)
    assert out == dest and (dest / "COMPLETE").is_file()
    assert not (dest / "videos" / "junk.mp4").exists()
    assert not list(tmp_path.glob(".seed0-n1.tmp-*"))
    stamp = (dest / "COMPLETE").stat().st_mtime_ns
    assert ensure_suite(tmp_path, seed=0, per_task=1) == dest
    assert (dest / "COMPLETE").stat().st_mtime_ns == stamp  # reused, not regenerated


def test_concurrent_ensure(tmp_path: Path) -> None:
    code = "import sys; from tempeval.synth import ensure_suite; print(ensure_suite(sys.argv[1], seed=3, per_task=1))"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, env=env, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs[0] == outs[1] == str(tmp_path / "seed3-n1")
    manifest = json.loads((tmp_path / "seed3-n1" / "COMPLETE").read_text())
    for rel in manifest["files"]:
        assert (tmp_path / "seed3-n1" / rel).is_file()
    assert not list(tmp_path.glob(".seed3-n1.tmp-*"))


def test_unknown_subset(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="direction.*online"):
        load_samples("nope", tmp_path)
    assert not any(tmp_path.iterdir())  # checked before generating anything
    with pytest.raises(ValueError):
        ensure_suite(tmp_path, per_task=0)


def test_env_var_root(monkeypatch: pytest.MonkeyPatch, suite: Path) -> None:
    monkeypatch.delenv("TEMPEVAL_SYNTH_DIR", raising=False)
    assert default_root() == Path.home() / ".cache" / "tempeval" / "synth" / GENERATOR_VERSION
    monkeypatch.setenv("TEMPEVAL_SYNTH_DIR", str(suite.parent))  # read at call time
    assert default_root() == suite.parent
    assert ensure_suite(seed=0, per_task=PER_TASK) == suite  # the existing suite, found through the variable
    loaded = load_samples("grounding", seed=0, per_task=PER_TASK)
    assert loaded[0].video is not None and Path(loaded[0].video.path).parent == suite / "videos"


# ---------------------------------------------------------------------------------------------------------------
# Videos and pixels


def test_videos_decode(samples: dict[str, list[Sample]], decoded: dict[str, Any]) -> None:
    durations = {s.video.path: s.meta["duration_s"] for v in samples.values() for s in v if s.video is not None}
    for path, (times, images, info) in decoded.items():
        assert (info["width"], info["height"]) == (128, 128) and images[0].shape == (128, 128, 3)
        assert info["rate"] == 10
        assert len(images) == round(durations[path] * 10)
        assert 3.0 <= durations[path] <= (20.0 if "/stream-" in path else 12.0)
        assert times[0] == 0 and times[-1] == pytest.approx(durations[path] - 0.1)
        assert info["duration"] == pytest.approx(durations[path], abs=0.01)


def test_pixels_direction(samples: dict[str, list[Sample]], decoded: dict[str, Any]) -> None:
    for s in samples["direction"]:
        assert s.video is not None
        times, images, _ = decoded[s.video.path]
        color = s.meta["object"]["color"]
        frames = sample_frames(times, images, s.meta["duration_s"])
        dx, dy = centroid(frames[-1], color) - centroid(frames[0], color)
        seen = ("right" if dx > 0 else "left") if abs(dx) > abs(dy) else ("down" if dy > 0 else "up")
        assert max(abs(dx), abs(dy)) > 50, "moves must cross most of the frame"
        assert seen == answer_text(s) == s.meta["answer"], s.id


def test_pixels_order(samples: dict[str, list[Sample]], decoded: dict[str, Any]) -> None:
    for s in samples["order"]:
        assert s.video is not None
        times, images, _ = decoded[s.video.path]
        colors = [color_of(c) for c in s.choices]
        seen: list[str] = []
        for frame in sample_frames(times, images, s.meta["duration_s"]):
            on = [c for c in colors if present(frame, c)]
            assert len(on) <= 1
            if on and on[0] not in seen:
                seen.append(on[0])
        assert seen == [color_of(n) for n in s.meta["sequence"]], s.id
        expected = seen[0] if s.meta["asked"] == "first" else seen[-1]
        assert color_of(answer_text(s)) == expected, s.id


def test_pixels_count(samples: dict[str, list[Sample]], decoded: dict[str, Any]) -> None:
    for s in samples["count"]:
        assert s.video is not None
        times, images, _ = decoded[s.video.path]
        color = s.meta["object"]["color"]
        on = [present(f, color) for f in sample_frames(times, images, s.meta["duration_s"])]
        flashes = sum(1 for i, v in enumerate(on) if v and (i == 0 or not on[i - 1]))
        assert str(flashes) == answer_text(s), (s.id, on)
        # Every flash lasts >= 0.4 s, and so does every gap between flashes.
        runs = [(v, len(list(g))) for v, g in itertools.groupby(present(f, color) for f in images)]
        if not runs[0][0]:
            runs = runs[1:]  # the lead-in before the first flash
        if not runs[-1][0]:
            runs = runs[:-1]  # the tail after the last flash
        assert sum(v for v, _ in runs) == flashes and all(n >= 4 for _, n in runs), (s.id, runs)


def test_pixels_speed(samples: dict[str, list[Sample]], decoded: dict[str, Any]) -> None:
    for s in samples["speed"]:
        assert s.video is not None
        times, images, _ = decoded[s.video.path]
        frames = sample_frames(times, images, s.meta["duration_s"])
        moved = {}
        for name in s.choices:
            if name.startswith("both"):
                continue
            shift = centroid(frames[-1], color_of(name)) - centroid(frames[0], color_of(name))
            moved[name] = float(np.abs(shift).max())
        fast = max(moved, key=lambda n: moved[n])
        assert fast == answer_text(s) and moved[fast] > 1.8 * min(moved.values()), (s.id, moved)


def test_pixels_grounding(samples: dict[str, list[Sample]], decoded: dict[str, Any]) -> None:
    for s in samples["grounding"]:
        assert s.video is not None
        times, images, _ = decoded[s.video.path]
        start, end = s.target
        assert end - start >= 1.0 and (start > 0 or end < s.meta["duration_s"])
        color = s.meta["object"]["color"]
        for t, image in zip(times, images, strict=True):
            assert present(image, color) == (start - 1e-6 <= t < end - 1e-6), (s.id, t)
        # At least one of the 8 sampled frames shows it.
        assert any(present(f, color) for f in sample_frames(times, images, s.meta["duration_s"]))


def test_pixels_events(samples: dict[str, list[Sample]], decoded: dict[str, Any]) -> None:
    for s in samples["events"]:
        assert s.video is not None and s.meta["events"] == len(s.target) >= 2
        times, images, _ = decoded[s.video.path]
        for event in s.target:
            assert event.end - event.start >= 1.0
            assert event.caption.startswith("a ") and event.caption.endswith(" appears")
            color = color_of(event.caption.removeprefix("a "))
            for t, image in zip(times, images, strict=True):
                assert present(image, color) == (event.start - 1e-6 <= t < event.end - 1e-6), (s.id, event, t)
        assert [e.start for e in s.target] == sorted(e.start for e in s.target)


def test_pixels_online(samples: dict[str, list[Sample]], decoded: dict[str, Any]) -> None:
    for s in samples["online"]:
        assert s.video is not None and s.query_time_s is not None
        times, images, _ = decoded[s.video.path]
        q = s.query_time_s
        if s.meta["mode"] == "forward":
            color = s.meta["object"]["color"]
            assert present(last_frame_at(times, images, q), color) == s.target, s.id
            frames = sample_frames(times, images, q)
            assert present(frames[-1], color) == s.target and any(present(f, color) for f in frames) == s.target
            continue
        frames = sample_frames(times, images, q)
        kind = s.meta["question_type"]
        answer = answer_text(s)
        if kind == "appeared_so_far":
            shown = [c for c in s.choices if any(present(f, color_of(c)) for f in frames)]
            assert shown == [answer], s.id
        elif kind == "first_colour":
            first = next(c for f in frames for c in PALETTE if present(f, c))
            assert first == answer, s.id
        else:
            assert str(sum(present(frames[-1], c) for c in PALETTE)) == answer, s.id


def test_pixels_stream(samples: dict[str, list[Sample]], decoded: dict[str, Any]) -> None:
    """Each announced shape is absent before its due window opens and present from then on; each count query's
    answer is the number of circles on screen a second before it is asked (what a 1 fps stream has shown)."""
    from tempeval.streaming.queries import stream_queries

    for s in samples["stream"]:
        assert s.video is not None
        times, images, _ = decoded[s.video.path]
        for query in stream_queries(s.target, s.id):
            if query.due_windows is not None:
                color = color_of(query.text.removeprefix("Tell me as soon as the ").removesuffix(" appears."))
                start = query.due_windows[0][0]
                assert not present(last_frame_at(times, images, start - 0.1), color), (s.id, query.query_id)
                assert present(last_frame_at(times, images, start), color), (s.id, query.query_id)
                assert query.due_windows[0][1] == pytest.approx(start + 2.0)
            else:
                for t in (query.asked_at_s - 1.0, query.asked_at_s):
                    frame = last_frame_at(times, images, t)
                    circles = sum(c in s.meta["circle_colors"] and present(frame, c) for c in PALETTE)
                    assert circles == query.target, (s.id, query.query_id, t)
