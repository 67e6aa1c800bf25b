"""OVBench as streams: questions at their end times, frame folders read as videos, the official letter rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tempeval.benchmarks.ovbench import official_letter
from tempeval.data import SkippedRecordWarning
from tempeval.errors import TempevalError
from tempeval.streaming.queries import stream_queries
from tempeval.video import probe
from tests.conftest import samples_of


def test_each_video_is_one_stream_with_its_questions_at_their_end_times(fixture_data_dir: Path) -> None:
    coin = samples_of("ovbench_coin", fixture_data_dir)
    assert [s.id for s in coin] == ["coin-0", "coin-1", "coin-2"] and all(s.kind == "streaming" for s in coin)
    queries = stream_queries(coin[1].target, coin[1].id)
    assert [(q.asked_at_s, q.target) for q in queries] == [(6.0, "D"), (10.0, "C")]
    assert queries[0].choices == ("a cup", "a pen", "a hat", "a key")
    ava = samples_of("ovbench_ava", fixture_data_dir)
    assert stream_queries(ava[0].target, "a")[0].choices[0] == "a cup", "a Python-list string of candidates"
    assert ava[0].video is not None and probe(ava[0].video.path).duration_s == 12.0, "a 1 fps frame folder"
    tao = samples_of("ovbench_tao", fixture_data_dir)
    assert tao[0].video is not None and probe(tao[0].video.path).duration_s == 12.0, "24 frames at 2 fps"


def test_a_tao_folder_without_its_fps_is_refused_with_the_value_to_write(
    fixture_data_dir: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "data"
    shutil.copytree(fixture_data_dir / "ovbench", copy / "ovbench")
    (copy / "ovbench/videos/tao/frames/val/tao-0/fps.txt").unlink()
    with pytest.warns(SkippedRecordWarning, match=r"tao-0: this TAO frame folder is 2 fps .* Write 2 into"):
        assert [s.id for s in samples_of("ovbench_tao", copy)] == ["tao-1", "tao-2"]  # skipped, and said so
    for n in (1, 2):
        (copy / f"ovbench/videos/tao/frames/val/tao-{n}/fps.txt").unlink()
    with pytest.raises(TempevalError, match="none of its 3 record"):
        samples_of("ovbench_tao", copy)


@pytest.mark.parametrize(("reply", "letter"), [
    ("B. a pen", "B"), ("The answer is (C).", "C"), ("d", "D"), ("I think a pen", "A"), ("no idea", "no idea"),
])
def test_the_official_reading_of_a_reply(reply: str, letter: str) -> None:
    assert official_letter(reply) == letter  # "a pen": the lone article "a" is read as option A, as mcq_acc does
