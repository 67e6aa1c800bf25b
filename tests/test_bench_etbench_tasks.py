"""E.T. Bench as tasks: the loader (text variant only, the 470-sample subset, the video copy), the per-sample
official scorer and the set-level official metric, against the benchmark module's own functions."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tempeval import registry
from tempeval.benchmarks import etbench, etbench_tasks
from tempeval.cli import main
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions, load_samples
from tempeval.results import read_run
from tempeval.scoring.events import Event
from tempeval.scoring.metrics import Row
from tempeval.scoring.scorers import Reference
from tests.conftest import samples_of
from tests.fixtures import etbench as fixture


def test_every_task_code_is_a_task_in_both_groups() -> None:
    groups = registry.groups()
    assert sorted(groups["etbench"]) == sorted(f"etbench_{code}" for code in etbench.TASKS)
    assert sorted(groups["etbench_subset"]) == sorted(f"etbench_subset_{code}" for code in etbench.TASKS)
    kinds = {code: registry.get_task(f"etbench_{code}").kind for code in etbench.TASKS}
    assert (kinds["rar"], kinds["tvg"], kinds["dvc"], kinds["gvq"]) == (
        "multiple_choice", "grounding", "dense_captioning", "multiple_choice"
    )


def test_samples_keep_the_record_and_name_the_video_copy(tmp_path: Path) -> None:
    fixture.build(tmp_path)
    dvc = samples_of("etbench_dvc", tmp_path)
    assert [s.id for s in dvc] == ["source_a-0", "source_b-1", "source_a-2", "source_b-3"]
    first = dvc[0]
    assert first.target == [[10.0, 18.0, "a person cuts the onions"], [30.0, 41.0, "the person fries them in a pan"]]
    assert first.meta["video_copy"] == "videos_compressed" and first.meta["etbench"]["task"] == "dvc"
    assert first.video is not None and first.video.path.endswith("etbench/videos_compressed/source_a/dvc_0.mp4")
    rar = samples_of("etbench_rar", tmp_path)[1]
    assert (rar.target, rar.choices) == ("B", tuple(fixture.OPTIONS))
    vhd = samples_of("etbench_vhd", tmp_path)[0]
    assert vhd.target == [[10.0, 14.0], [12.0, 16.0]]  # one window list per annotator, flattened


def test_the_subset_group_reads_only_subset_json(tmp_path: Path) -> None:
    fixture.build(tmp_path)
    assert [s.id for s in samples_of("etbench_subset_tal", tmp_path)] == ["source_a-0", "source_b-1", "source_a-2"]
    (tmp_path / "etbench" / "evaluation" / "subset.json").unlink()
    with pytest.raises(TempevalError, match=r"subset\.json"):
        samples_of("etbench_subset_tal", tmp_path)


def test_the_vid_token_variant_is_refused_with_the_fix(tmp_path: Path) -> None:
    fixture.build(tmp_path, [{**fixture.RECORDS[12], "q": "When does it happen? <vid> <vid>"}])
    with pytest.raises(TempevalError, match=r"<vid>-token annotation variant.*etbench_txt_v1\.0\.json"):
        samples_of("etbench_tvg", tmp_path)
    task = registry.get_task("etbench_tvg")
    entry = registry.get_dataset(task.dataset)
    vid = dataclasses.replace(entry, options={**entry.options, "annotations": ["annotations/etbench_vid_v1.0.json"]})
    with pytest.raises(TempevalError, match=r"<vid>-token variant.*Use annotations/etbench_txt_v1\.0\.json"):
        load_samples(task, vid, LoadOptions(data_dir=tmp_path))


def test_official_scorer_gives_each_sample_its_share(tmp_path: Path) -> None:
    fixture.build(tmp_path)
    rar = samples_of("etbench_rar", tmp_path)[1]  # right option B
    ref = Reference("letter", rar.target, rar.choices, meta=rar.meta)
    assert etbench_tasks.official("(B) washing hands", ref).value == 1.0
    unread = etbench_tasks.official("I think so", ref)
    assert (unread.value, unread.parsed) == (0.0, False)  # the script's embedding step: no model here
    tvg = samples_of("etbench_tvg", tmp_path)[0]  # 10 - 18
    score = etbench_tasks.official("It happens at 14 - 18 seconds.", Reference("window", tvg.target, meta=tvg.meta))
    assert score.value == pytest.approx(0.5)
    vhd = samples_of("etbench_vhd", tmp_path)[0]
    assert etbench_tasks.official("15.5", Reference("window", vhd.target, meta=vhd.meta)).value == 1.0
    with pytest.raises(TempevalError, match="no meta.etbench"):
        etbench_tasks.official("1 - 2", Reference("window", [1, 2]))


def test_metric_reproduces_the_benchmark_functions_per_source(tmp_path: Path) -> None:
    fixture.build(tmp_path)
    samples = samples_of("etbench_dvc", tmp_path)
    outputs = [
        "10 - 18 seconds, a person cuts the onions. 30 - 41 seconds, the person fries them",
        "no times here",  # unparseable: scales P and R down by the parse rate
        "12 - 20 seconds, cutting",
        None,  # an errored request: no answer, counted as failed
    ]
    rows = [Row(s.id, 0.0, error=o is None, meta=s.meta, output=o) for s, o in zip(samples, outputs, strict=True)]
    figures = etbench_tasks.metrics(rows)
    records = [etbench_tasks._record(s.meta["etbench"], o or "") for s, o in zip(samples, outputs, strict=True)]
    expected = etbench.score_all(records)
    for source in ("source_a", "source_b"):
        assert figures[f"F1[{source}]"].value == pytest.approx(100 * expected[("dvc", source)]["F1"])
    assert figures["F1"].value == pytest.approx(50 * (expected[("dvc", "source_a")]["F1"] + 0.0))
    assert figures["F1"].n == 4 and figures["SentSim"].n == 0  # no local embedding model: reported missing
    assert etbench.dense_target(records[0])[0] == Event(10.0, 18.0, "a person cuts the onions")


def test_random_model_end_to_end_on_the_subset_group(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture.build(tmp_path / "data")
    argv = ["run", "--model", "random", "--task", "etbench_subset", "--data-dir", str(tmp_path / "data"),
            "--out", str(tmp_path / "runs"), "--no-progress"]
    assert main(argv) == 0
    runs = [read_run(p) for p in (tmp_path / "runs").rglob("*.jsonl")]
    assert len(runs) == 12 and all(len(run.records) == 3 for run in runs)
    assert all(r["meta"]["video_copy"] == "videos_compressed" for run in runs for r in run.records)
    capsys.readouterr()
    assert main(["score", str(tmp_path / "runs"), "--json", "--parser-mode", "official"]) == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert next(o for o in objects if o.get("group") == "etbench_subset")["metrics"]
