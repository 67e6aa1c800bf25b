"""Temporal diagnostics as users meet them: a model that reads frame order is measured as such, chance is not,
every variant is an ordinary run file, and each video is decoded once for all variants."""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("openai", reason="the diagnosis tests talk to a test server through the openai adapter")
pytest.importorskip("PIL", reason="the openai adapter encodes frames with Pillow (pip install '.[openai]')")

from tempeval import registry  # noqa: E402
from tempeval.adapter import Adapter, create_adapter  # noqa: E402
from tempeval.cli import main  # noqa: E402
from tempeval.diagnose import (  # noqa: E402
    DiagnoseOptions,
    Diagnosis,
    PairedScores,
    diagnose,
    diagnosis_table,
    relative_gain,
)
from tempeval.errors import TempevalError  # noqa: E402
from tempeval.loaders import LOADERS, LoadOptions  # noqa: E402
from tempeval.results import read_run  # noqa: E402
from tempeval.runner import RunOptions  # noqa: E402
from tempeval.video import FrameSource, VideoInfo  # noqa: E402
from tests import barcode_dataset  # noqa: E402
from tests.chat_server import ChatRequest, ChatServer  # noqa: E402
from tests.diagnose_helpers import direction_answer, handpicked_index, label_sorting_direction_answer  # noqa: E402
from tests.videofactory import read_barcode  # noqa: E402

VARIANTS = ["original", "single-middle", "shuffled", "reversed"]


@contextlib.contextmanager
def openai_adapter(base_url: str) -> Iterator[Adapter]:
    adapter = create_adapter("openai/test", {"base_url": base_url, "concurrency": 8, "image_max_side": None})
    try:
        yield adapter
    finally:
        adapter.close()


@dataclass
class Aware:
    """The diagnosis of the frame-order-aware test model on synth_direction, its server, and what it took."""

    diagnosis: Diagnosis
    server: ChatServer
    decoded: Counter[str]
    out: Path
    options: DiagnoseOptions


@pytest.fixture(scope="module")
def aware(load_options: LoadOptions, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Aware]:
    out = tmp_path_factory.mktemp("diagnose-aware")
    decoded: Counter[str] = Counter()
    real_decode = FrameSource._decode

    def spy(self: FrameSource, info: VideoInfo, wants: Any, demuxed: Any = None) -> Any:
        decoded[info.path] += 1
        return real_decode(self, info, wants, demuxed)

    options = DiagnoseOptions(frames=8, run=RunOptions(out_dir=out, load=load_options, progress=False))
    with ChatServer(direction_answer) as server:
        with pytest.MonkeyPatch.context() as patch, openai_adapter(server.base_url) as adapter:
            patch.setattr(FrameSource, "_decode", spy)
            result = diagnose(registry.get_task("synth_direction"), adapter, "openai/test", options)
        yield Aware(result, server, decoded, out, options)


def excludes_zero(interval: list[float] | tuple[float, float] | None) -> bool:
    return interval is not None and (interval[0] > 0 or interval[1] < 0)


def test_a_model_that_reads_frame_order_is_measured_as_such(aware: Aware) -> None:
    d = aware.diagnosis
    # The centroid model reads the motion exactly from 8 ordered frames, backwards from reversed ones, and from
    # one frame not at all (it answers "A", right on the quarter of questions whose answer is A).
    assert d.accuracy["original"] == 100.0 and d.accuracy["reversed"] == 0.0
    assert 15.0 < d.accuracy["single-middle"] < 35.0
    assert d.tau is not None and d.tau.value > 0 and excludes_zero(d.tau.ci)
    assert d.reversal_drop is not None and d.reversal_drop.value == 100.0 and excludes_zero(d.reversal_drop.ci)
    assert d.kappa is not None and d.kappa.value > 100 and excludes_zero(d.kappa.ci)
    assert d.flip_rate is not None and d.flip_rate.value > 20 and excludes_zero(d.flip_rate.ci)
    assert d.pair_consistency is not None and d.pair_consistency.value == 100.0
    assert d.rho is None and any("handpicked" in note for note in d.notes), "synth names no handpicked frame"
    # τ is computed from the same accuracies the table reports.
    expected_tau = 100 * (d.accuracy["original"] - d.accuracy["shuffled"]) / d.accuracy["shuffled"]
    assert d.tau.value == pytest.approx(expected_tau)


def test_time_labels_do_not_reveal_the_true_order(load_options: LoadOptions, tmp_path: Path) -> None:
    # A model that sorts the frames by their "Frame at X s" labels is still a frame-order reader: a shuffled or
    # reversed presentation must beat it, since the labels follow the presentation, not the true times.
    options = DiagnoseOptions(frames=8, run=RunOptions(out_dir=tmp_path, load=load_options, progress=False))
    with ChatServer(label_sorting_direction_answer) as server, openai_adapter(server.base_url) as adapter:
        d = diagnose(registry.get_task("synth_direction"), adapter, "openai/test", options)
    assert not server.problems
    assert all(r.frame_times == sorted(r.frame_times) for r in server.requests), "labels rise with position"
    assert d.accuracy["original"] == 100.0 and d.accuracy["reversed"] == 0.0
    assert d.tau is not None and d.tau.value > 0 and excludes_zero(d.tau.ci)
    assert d.reversal_drop is not None and d.reversal_drop.value == 100.0 and excludes_zero(d.reversal_drop.ci)
    folder = tmp_path / "openai__test"
    for variant, labels in (("original", "source"), ("shuffled", "presentation"), ("reversed", "presentation")):
        run = read_run(folder / f"synth_direction@{variant}.jsonl")
        assert run.header["time_labels"] == labels
        for record in run.records:  # the true times in the order shown, and what the model was told
            assert record["frame_time_labels"] == sorted(record["frame_times"])
    reversed_run = read_run(folder / "synth_direction@reversed.jsonl")
    assert all(r["frame_times"] == sorted(r["frame_times"], reverse=True) for r in reversed_run.records)


def test_each_video_is_decoded_once_for_all_variants(aware: Aware) -> None:
    requests = aware.server.requests[: 4 * 60]
    assert not aware.server.problems
    assert len(requests) == 4 * 60, "each of 60 questions asked once per variant"
    assert Counter(len(r.images) for r in requests) == {8: 180, 1: 60}
    assert len(aware.decoded) == 60 and set(aware.decoded.values()) == {1}, "one decode pass per video, in all"


def test_diagnosis_file_and_variant_runs_are_listed(aware: Aware, capsys: pytest.CaptureFixture[str]) -> None:
    folder = aware.out / "openai__test"
    written = json.loads((folder / "diagnosis-synth_direction.json").read_text())
    assert written == aware.diagnosis.to_json()
    assert {
        "type",
        "task",
        "task_version",
        "model",
        "frames",
        "seed",
        "kappa",
        "tau",
        "rho",
        "reversal_drop",
        "flip_rate",
        "accuracy",
        "runs",
    } <= set(written)
    assert written["type"] == "diagnosis" and written["frames"] == 8 and written["rho"] is None
    assert set(written["tau"]) == {"value", "ci"} and len(written["tau"]["ci"]) == 2
    assert list(written["accuracy"]) == VARIANTS
    assert written["runs"] == {v: f"synth_direction@{v}.jsonl" for v in VARIANTS}
    for variant, name in written["runs"].items():
        run = read_run(folder / name)
        assert run.header["task"] == f"synth_direction@{variant}" and len(run.records) == 60
    shuffled = read_run(folder / "synth_direction@shuffled.jsonl").records[0]
    assert shuffled["frame_times"] != sorted(shuffled["frame_times"]), "the shuffled run logs the order shown"

    table = diagnosis_table(aware.diagnosis)
    assert "frame-order sensitivity τ (%)" in table and "written to" in table

    capsys.readouterr()
    assert main(["show", str(aware.out)]) == 0
    shown = capsys.readouterr().out
    for variant in VARIANTS:
        assert f"synth_direction@{variant}" in shown


def test_a_second_diagnosis_resumes_without_asking_or_decoding(aware: Aware) -> None:
    source, asked = FrameSource(), len(aware.server.requests)
    with openai_adapter(aware.server.base_url) as adapter:
        again = diagnose(
            registry.get_task("synth_direction"), adapter, "openai/test", aware.options, frame_source=source
        )
    assert len(aware.server.requests) == asked and source.passes == 0
    assert again.to_json() == aware.diagnosis.to_json()


def noise_answer(request: ChatRequest) -> str:
    """A model that looks at the frames but reads nothing from them: a letter hashed from the pixels it got."""
    return "ABCD"[hashlib.sha256(b"".join(image[::8, ::8].tobytes() for image in request.images)).digest()[0] % 4]


@pytest.mark.parametrize("model", ["random", "openai/noise"])
def test_chance_is_measured_as_chance(model: str, load_options: LoadOptions, tmp_path: Path) -> None:
    """The random adapter answers each sample alike in every variant (exactly 0); the noise model differs per
    variant, and its intervals still hold 0."""
    options = DiagnoseOptions(frames=8, run=RunOptions(out_dir=tmp_path, load=load_options, progress=False))
    with ChatServer(noise_answer) as server, contextlib.ExitStack() as stack:
        adapter = stack.enter_context(openai_adapter(server.base_url)) if model != "random" else create_adapter(model)
        d = diagnose(registry.get_task("synth_direction"), adapter, model, options)
    for value in (d.tau, d.reversal_drop, d.kappa):
        assert value is not None and value.ci is not None and value.ci[0] <= 0 <= value.ci[1]
    assert all(10 < accuracy < 45 for accuracy in d.accuracy.values())


def test_single_frame_choices_and_handpicked_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Which frame each single-frame variant shows, read back from the pixels the server received."""
    barcode_dataset.register(monkeypatch, tmp_path / "tasks")
    monkeypatch.setitem(LOADERS, "barcode", "tests.diagnose_helpers:load_barcode_with_handpicked")
    load = LoadOptions(data_dir=barcode_dataset.build(tmp_path / "data"))
    single_frames_seen: set[int] = set()

    def answer(request: ChatRequest) -> str:
        # Right only when the handpicked frame is among those shown; otherwise "A" (right a third of the time).
        clip, question = int(request.prompt.split("[clip ")[1][0]), int(request.prompt.split("#")[1][0])
        frames = [read_barcode(image) - clip * 256 for image in request.images]
        if len(frames) == 1:
            single_frames_seen.add(frames[0])
        return "ABC"[(clip + question) % 3] if handpicked_index(f"c{clip}q{question}") in frames else "A"

    source, task = FrameSource(), registry.get_task("barcode_mc")
    options = DiagnoseOptions(single="first", run=RunOptions(out_dir=tmp_path / "runs", load=load, progress=False))
    with ChatServer(answer) as server, openai_adapter(server.base_url) as adapter:
        first = diagnose(task, adapter, "m", options, frame_source=source)
        assert source.passes == 6, "6 clips, each decoded once for all 5 variants"
        assert not server.problems and len(server.requests) == 5 * 18
        asked = len(server.requests)
        second = diagnose(task, adapter, "m", DiagnoseOptions(single="random", run=options.run), frame_source=source)
        assert len(server.requests) - asked == 18, "only the new single-random variant runs; the rest resume"

    folder = tmp_path / "runs" / "m"
    frames_of = {
        variant: {r["sample_id"]: r["frame_indices"] for r in read_run(folder / f"barcode_mc@{variant}.jsonl").records}
        for variant in ("single-first", "single-random", "handpicked")
    }
    for sample_id in frames_of["handpicked"]:
        assert frames_of["single-first"][sample_id] == [0]
        assert frames_of["handpicked"][sample_id] == [handpicked_index(sample_id)]
        assert frames_of["single-random"][sample_id] == [random.Random(f"0:{sample_id}").randint(0, 39)]
    # The frames logged are the frames the model got (their barcodes).
    assert single_frames_seen >= {0, handpicked_index("c5q2")}
    # ρ: the handpicked frame answers every question (100); the first frame a third (33.3): (100 − 33.3) / 33.3.
    assert first.accuracy["handpicked"] == 100.0 and first.accuracy["single-first"] == pytest.approx(100 / 3)
    assert first.rho is not None and first.rho.value == pytest.approx(200.0)
    assert second.rho is not None and list(second.accuracy) == [
        "original",
        "single-random",
        "shuffled",
        "reversed",
        "handpicked",
    ]
    assert first.pair_consistency is None, "the barcode samples carry no pair_id"


def test_paired_intervals_are_seeded_and_null_without_a_denominator() -> None:
    clusters = ["v1", "v1", "v2", "v3", "v4", "v5"]
    scores = {"n": [1, 1, 1, 0, 1, 1], "one": [1, 0, 0, 0, 1, 0], "zero": [0] * 6}
    paired = PairedScores.from_rows(clusters, scores, seed=7)
    # Acc_N = 5/6 = 83.33, Acc_1 = 2/6 = 33.33: κ = (83.33 − 33.33) / 33.33 × 100 = 150.
    kappa = paired.compare("n", "one", relative_gain)
    assert kappa is not None and kappa.value == pytest.approx(150.0)
    again = PairedScores.from_rows(clusters, scores, seed=7).compare("n", "one", relative_gain)
    assert again is not None and kappa.ci == again.ci
    assert paired.compare("n", "zero", relative_gain) is None, "a denominator of 0 is null"
    assert np.isnan(relative_gain(np.array([1.0]), np.array([0.0])))[0]


def test_only_multiple_choice_tasks_are_diagnosed() -> None:
    with pytest.raises(TempevalError, match="multiple-choice"):
        diagnose(registry.get_task("synth_grounding"), create_adapter("random"), "random")


def test_variants_run_chunk_after_chunk_through_one_open_run_each(
    load_options: LoadOptions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of 8 samples (8 chunks of synth_direction's 60): each variant's file is planned, read for resuming
    and opened once, not once per chunk (which re-read the whole file and reloaded the samples every time)."""
    from tempeval import diagnose as diagnosis
    from tempeval import runner

    monkeypatch.setattr(diagnosis, "CHUNK_SAMPLES", 8)
    reads: Counter[str] = Counter()
    loads: list[str] = []
    real_read, real_load = runner.read_run, runner.load_samples
    monkeypatch.setattr(runner, "read_run", lambda path, **kw: reads.update([Path(path).name]) or real_read(path, **kw))
    monkeypatch.setattr(
        runner, "load_samples", lambda task, *a, **kw: loads.append(task.name) or real_load(task, *a, **kw)
    )
    options = DiagnoseOptions(frames=8, run=RunOptions(out_dir=tmp_path, load=load_options, progress=False))
    first = diagnose(registry.get_task("synth_direction"), create_adapter("random"), "random", options)
    assert sorted(loads) == sorted(f"synth_direction@{v}" for v in VARIANTS), "the samples loaded once per variant"
    assert not reads, "a new variant file is never read back while it is written"
    again = diagnose(registry.get_task("synth_direction"), create_adapter("random"), "random", options)
    assert reads == Counter({f"synth_direction@{v}.jsonl": 1 for v in VARIANTS}), "resumed: each read once"
    assert again.accuracy == first.accuracy and first.n == 60
    for variant in VARIANTS:
        run = read_run(tmp_path / "random" / f"synth_direction@{variant}.jsonl")
        assert [r.sample_id for r in run.records] == [r.sample_id for r in read_run(
            tmp_path / "random" / "synth_direction@original.jsonl").records], "every sample once, in dataset order"
