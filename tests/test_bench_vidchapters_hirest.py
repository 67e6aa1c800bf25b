"""VidChapters-7M and HiREST: loaders on their official files, and their official metrics on hand-computed cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from tempeval.benchmarks import hirest, vidchapters
from tempeval.scoring.events import Event
from tempeval.scoring.metrics import Row
from tests.conftest import samples_of
from tests.fixtures import hirest as hirest_fixture
from tests.fixtures import vidchapters as vidchapters_fixture


def test_vidchapters_generation_and_grounding_samples(tmp_path: Path) -> None:
    vidchapters_fixture.build(tmp_path)
    generation = samples_of("vidchapters_generation_test", tmp_path)
    assert [s.id for s in generation] == list(vidchapters_fixture.CHAPTERS)
    assert generation[1].target == (Event(0, 60, "Warm up before training"), Event(60, 120, "The main workout begins"))
    grounding = samples_of("vidchapters_grounding_val", tmp_path)
    assert len(grounding) == 7 and grounding[3].question == "Warm up before training"
    assert grounding[3].meta["video_id"] == "bbbbbbbbbb2" and grounding[3].target == [0.0, 60.0]
    assert grounding[3].video is not None and grounding[3].video.path.endswith("videos/bbbbbbbbbb2.mp4")
    assert vidchapters.youtube_id("12ccccccccc-3") == "ccccccccc-3" and vidchapters.youtube_id("odd") == "odd"


def _row(answer: list[float] | None, target: list[float], video: str = "v") -> Row:
    return Row(video, 0.0, parsed=answer is not None, meta={"video_id": video}, answer=answer, target=target)


def test_vidchapters_grounding_recall_hand_computed() -> None:
    rows = [
        _row([0.0, 10.0], [0.0, 10.0], "a"),  # tIoU just under 1 (the 1e-8): hits every threshold
        _row([5.0, 15.0], [0.0, 10.0], "b"),  # tIoU 1/3: > 0.3 only; start 5 s off: R@10s only
        _row([0.0, 5.0], [0.0, 10.0], "c"),  # tIoU exactly 0.5 (just under): a miss at 0.5; start exact
        _row(None, [0.0, 10.0], "d"),  # unparseable: a miss everywhere
    ]
    out = vidchapters.grounding_recall(rows)
    assert out["R@0.3"].value == pytest.approx(100 * 3 / 4)
    assert out["R@0.5"].value == pytest.approx(100 * 1 / 4)
    assert out["R@0.9"].value == pytest.approx(100 * 1 / 4)
    assert out["R@1s"].value == pytest.approx(100 * 2 / 4) and out["R@10s"].value == pytest.approx(100 * 3 / 4)


def test_hirest_moment_retrieval_reads_only_clippable_moments(tmp_path: Path) -> None:
    hirest_fixture.build(tmp_path)
    samples = samples_of("hirest_moment_retrieval_test", tmp_path)
    assert [s.id for s in samples] == ["clay01.mp4|Make a Monkey Out of Clay", "knot002.mp4|Tie a Knot",
                                       "cake003.mp4|Bake a Cake"]  # the unclippable knot002 of the clay query: out
    assert samples[0].target == [40.0, 100.0] and samples[0].meta["duration"] == 160.0
    rows = [_row([40.0, 100.0], [40.0, 100.0], "a"), _row([40.0, 82.0], [40.0, 100.0], "b"), _row(None, [0, 1], "c")]
    out = hirest.moment_recall(rows)  # IoU 1 (just under); 42/60 = 0.7 less the 1e-8: under 0.7; unparseable
    assert out["R@0.5"].value == pytest.approx(100 * 2 / 3) and out["R@0.7"].value == pytest.approx(100 * 1 / 3)


def test_hirest_segmentation_samples_cover_the_moment(tmp_path: Path) -> None:
    hirest_fixture.build(tmp_path)
    samples = samples_of("hirest_moment_segmentation", tmp_path)
    clay = samples[0]
    assert clay.id == "clay01.mp4" and clay.video is not None and (clay.video.start_s, clay.video.end_s) == (40, 100)
    assert clay.target[1] == Event(52, 70, "Roll it into a ball")


def test_hirest_preprocessing_as_evaluate_py() -> None:
    moment = (40.0, 100.0)
    # Windows touching the moment's ends are dropped; touching windows suppress each other (the + 1 of pixel
    # boxes); the survivors tile the moment with the gaps.
    assert hirest.preprocess_windows([(40, 52), (52, 70), (70, 100)], moment) == [(40, 52), (52, 70), (70, 100)]
    assert hirest.preprocess_windows([(45, 52), (60, 80)], moment) == [(40, 45), (45, 52), (52, 60), (60, 80),
                                                                        (80, 100)]
    # Overlapping: the later box is kept first (argsort of equal heights) and suppresses the other.
    assert hirest.preprocess_windows([(45, 60), (59, 80)], moment) == [(40, 59), (59, 80), (80, 100)]
    assert hirest.preprocess_windows([], moment) == [(40, 100)]
    assert hirest.preprocess_windows([(0, 10)], moment) == [(40, 100)]


def test_hirest_segmentation_metric_hand_computed() -> None:
    target = [[40, 52, "a"], [52, 70, "b"], [70, 100, "c"]]
    gold = Row("g", 0.0, meta={"video_id": "g"}, answer=target, target=target)
    out = hirest.segmentation([gold])
    # Raw: every step found exactly. Preprocessed: (40, 52) and (70, 100) touch the ends and are dropped, (52, 70)
    # stays, and the tiling gives back the same three windows.
    assert out["raw R@0.5"].value == pytest.approx(100.0) and out["raw P@0.7"].value == pytest.approx(100.0)
    assert out["R@0.5"].value == pytest.approx(100.0)
    half = Row("h", 0.0, meta={"video_id": "h"}, answer=[[40, 70, "x"]], target=target)
    raw = hirest.segmentation([half])  # (40, 70) vs (52, 70): IoU 0.6 > 0.5, not > 0.7
    assert (raw["raw R@0.5"].value, raw["raw P@0.5"].value, raw["raw R@0.7"].value) == pytest.approx(
        (100 / 3, 100.0, 0.0)
    )
