"""Run files are atomic, locked and complete: no second process repairs, replaces or half-writes them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tempeval import registry
from tempeval.adapter import create_adapter
from tempeval.cli import main
from tempeval.errors import RunFileError
from tempeval.loaders import LoadOptions
from tempeval.results import RunWriter, read_run, run_lock
from tempeval.runner import RunOptions, run_task
from tempeval.sharding import merge
from tempeval.types import Prediction, Request, Sample
from tests.conftest import task_samples


def options(tmp_path: Path, load_options: LoadOptions, **changes: object) -> RunOptions:
    return RunOptions(out_dir=tmp_path / "runs", load=load_options, progress=False, **changes)  # type: ignore[arg-type]


def a_run(tmp_path: Path, load_options: LoadOptions, limit: int = 3) -> Path:
    task = registry.get_task("synth_order")
    return Path(run_task(task, create_adapter("random"), "random", options(tmp_path, load_options, limit=limit)).path)


def test_second_run_never_repairs_a_file_another_process_writes(tmp_path: Path, load_options: LoadOptions) -> None:
    path = a_run(tmp_path, load_options)
    with path.open("ab") as handle:
        handle.write(b'{"type": "record", "sample_id": "half-writ')  # the writer is mid-line
    before = path.read_bytes()
    task = registry.get_task("synth_order")
    with run_lock(path), pytest.raises(RunFileError, match="is being written by"):
        run_task(task, create_adapter("random"), "random", options(tmp_path, load_options, limit=3))
    assert path.read_bytes() == before, "the refused run must not touch the writer's file"


def test_score_with_a_judge_takes_the_lock(tmp_path: Path, load_options: LoadOptions,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = a_run(tmp_path, load_options)
    before = path.read_bytes()
    with run_lock(path):
        assert main(["score", str(path), "--judge", "scripted"]) == 2
    assert "is being written by" in capsys.readouterr().err
    assert path.read_bytes() == before
    assert main(["score", str(path)]) == 0, "plain scoring only reads: no lock needed"


def shards_of(tmp_path: Path, synth_dir: Path) -> list[Path]:
    out = tmp_path / "runs"
    for k in (1, 2):
        assert main(["run", "--model", "random", "--task", "synth_direction", "--synth-dir", str(synth_dir),
                     "--out", str(out), "--no-progress", "--limit", "12", "--shard", f"{k}/2"]) == 0
    return [out / "random" / f"synth_direction.shard-{k}-of-2.jsonl" for k in (1, 2)]


class Killed(BaseException):
    """Stands for a kill mid-write."""


def dies_after(count: int, monkeypatch: pytest.MonkeyPatch) -> None:
    original = RunWriter.append
    calls = [0]

    def append(self: RunWriter, record: dict) -> None:
        calls[0] += 1
        if calls[0] > count:
            raise Killed
        original(self, record)

    monkeypatch.setattr(RunWriter, "append", append)


def test_merge_killed_midway_keeps_the_previous_file(tmp_path: Path, synth_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    shards = shards_of(tmp_path, synth_dir)
    merged = tmp_path / "merged.jsonl"
    merge(shards, merged)
    good = merged.read_bytes()
    assert len(read_run(merged).records) == 12
    dies_after(5, monkeypatch)
    with pytest.raises(Killed):
        merge(shards, merged)
    assert merged.read_bytes() == good, "the previous merged file is whole until the new one replaces it"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged.jsonl", "merged.jsonl.lock", "runs"]
    monkeypatch.undo()
    with run_lock(merged), pytest.raises(RunFileError, match="is being written by"):
        merge(shards, merged)


def import_charades(tmp_path: Path, model: str) -> int:
    from tests.fixtures import charades_sta

    if not (tmp_path / "data").exists():
        charades_sta.build(tmp_path / "data")
    predictions = tmp_path / "preds.json"
    predictions.write_text(json.dumps({"0": {"timestamp": [[24.3, 30.4]]}}), encoding="utf-8")
    return main(["import", "--benchmark", "charades_sta", "--model", model, str(predictions),
                 "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "runs")])


def test_import_replaces_only_an_earlier_import_and_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert import_charades(tmp_path, "timechat") == 0
    imported = tmp_path / "runs" / "timechat" / "charades_sta.jsonl"
    good = imported.read_bytes()
    assert import_charades(tmp_path, "timechat") == 0, "an earlier import of the same thing is replaced"
    dies_after(1, monkeypatch)
    with pytest.raises(Killed):
        import_charades(tmp_path, "timechat")
    monkeypatch.undo()
    assert read_run(imported).header["imported"] and len(imported.read_bytes()) == len(good)

    assert main(["run", "--model", "random", "--task", "charades_sta", "--data-dir", str(tmp_path / "data"),
                 "--out", str(tmp_path / "runs"), "--no-progress"]) == 0
    ran = tmp_path / "runs" / "random" / "charades_sta.jsonl"
    before = ran.read_bytes()
    capsys.readouterr()
    assert import_charades(tmp_path, "random") == 2
    assert "is not an earlier import" in capsys.readouterr().err
    assert ran.read_bytes() == before, "a 'tempeval run' file is never overwritten by an import"


def test_leaderboard_build_killed_midway_keeps_the_previous_site(tmp_path: Path, load_options: LoadOptions,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from tempeval.leaderboard import build as lb

    a_run(tmp_path, load_options)
    site = tmp_path / "site"
    lb.build([tmp_path / "runs"], site)
    (site / "CNAME").write_text("board.example.org\n", encoding="utf-8")  # the user's own file
    before = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert any(p.parts[0] == "samples" for p in before)

    def torn(out: Path, data: dict) -> None:
        (out / "data.js").write_text("", encoding="utf-8")
        raise Killed

    monkeypatch.setattr(lb, "_write_site", torn)
    with pytest.raises(Killed):
        lb.build([tmp_path / "runs"], site)
    after = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert after == before, "a failed build leaves the previous site exactly as it was"
    monkeypatch.undo()
    lb.build([tmp_path / "runs"], site)
    assert (site / "CNAME").read_text(encoding="utf-8") == "board.example.org\n"
    assert (site / "data.js").stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs", "site"], "no staging folder left behind"


def test_a_shard_is_never_a_models_score(tmp_path: Path, synth_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tempeval.leaderboard import build as lb

    shards = shards_of(tmp_path, synth_dir)
    for day, shard in enumerate(shards, start=1):  # the later shard is newer than the merged file's start time
        lines = shard.read_text(encoding="utf-8").splitlines()
        header = {**json.loads(lines[0]), "started_at": f"2025-01-0{day}T10:00:00+00:00"}
        shard.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n", encoding="utf-8")
    merged = merge(shards, tmp_path / "runs" / "random" / "synth_direction.jsonl")
    assert read_run(merged).header["merged_at"]

    lb.build([tmp_path / "runs"], tmp_path / "site")
    data = json.loads((tmp_path / "site" / "data.json").read_text(encoding="utf-8"))
    runs = {Path(r["file"]).name: r for r in data["runs"]}
    whole = runs["synth_direction.jsonl"]
    assert whole["status"] == "current" and whole["merged_at"]
    for shard in shards:
        assert runs[shard.name]["status"] == "shard" and runs[shard.name]["merged_into"] == whole["id"]
    assert sorted(whole["shards"]) == sorted(runs[s.name]["id"] for s in shards)
    assert [c["runs"] for c in data["cells"]] == [[whole["id"]]], "the merged run alone is the model's score"

    capsys.readouterr()
    assert main(["score", str(tmp_path / "runs")]) == 0
    complete, _, parts = capsys.readouterr().out.partition("shards (")
    assert "synth_direction@" in complete and complete.count("synth_direction@") == 1
    assert parts.count("synth_direction@") == 2
    assert main(["score", str(tmp_path / "runs"), "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    runs_listed = [item for item in listed if "group" not in item]
    assert [item.get("shard") for item in runs_listed] == [None, "1/2", "2/2"]
    # The synth group (other members missing) is built from the merged run, never from a shard.
    assert all(item["group"] == "synth" and item["warnings"] for item in listed if "group" in item)


def test_a_request_that_cannot_be_prepared_fails_only_its_sample(tmp_path: Path, load_options: LoadOptions,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import tempeval.runner as runner

    task = registry.get_task("synth_order")
    samples = task_samples(task, load_options)
    broken = samples[5].id
    render = runner.render

    def buggy(task: object, sample: Sample, **kwargs: object) -> str:
        if sample.id == broken:
            raise ZeroDivisionError("a bug in a prompt template")
        return render(task, sample, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "render", buggy)
    summary = run_task(task, create_adapter("random"), "random", options(tmp_path, load_options))
    records = {r["sample_id"]: r for r in read_run(summary.path).records}
    assert summary.n == len(samples) and summary.errors == 1
    assert "could not prepare the request: ZeroDivisionError" in records[broken]["error"]
    assert "adapter" not in records[broken]["error"]


def test_fps_nan_is_an_error_per_sample_not_a_silent_empty_run(tmp_path: Path, load_options: LoadOptions,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import math

    import tempeval.video as video

    def nan_fps(policy: object, clip_len_s: float) -> int:  # what --fps nan did before FramePolicy refused it
        return math.floor(clip_len_s * float("nan"))

    monkeypatch.setattr(video, "_num_frames", nan_fps)
    task = registry.get_task("synth_order")
    summary = run_task(task, create_adapter("random"), "random", options(tmp_path, load_options))
    samples = task_samples(task, load_options)
    assert summary.n == len(samples) == summary.errors
    assert all("could not prepare" in r["error"] for r in read_run(summary.path).records)


def test_after_an_adapter_crash_no_video_is_decoded(tmp_path: Path, load_options: LoadOptions,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from tempeval.video import FrameSource

    task = registry.get_task("synth_order")
    samples = task_samples(task, load_options)
    adapter = create_adapter("random")

    def crashes(requests: Iterator[Request]) -> Iterator[Prediction]:
        for count, request in enumerate(requests):
            if count == 2:
                raise RuntimeError("CUDA out of memory")
            yield Prediction(request.sample_id, "A")

    decoded: list[str] = []
    frames_many = FrameSource.frames_many

    def counting(self: FrameSource, items: list) -> list:
        decoded.extend(key for _, _, key in items)
        return frames_many(self, items)

    monkeypatch.setattr(adapter, "stream", crashes)
    monkeypatch.setattr(FrameSource, "frames_many", counting)
    # One decode worker and a 1 MiB budget: half of it (512 KiB) holds one prepared 128 px sample ahead.
    summary = run_task(task, adapter, "random", options(tmp_path, load_options, decode_workers=1,
                                                         max_inflight_bytes=2**20))
    records = read_run(summary.path).records
    assert summary.n == len(samples) and summary.errors == len(samples) - 2
    assert all("CUDA out of memory" in r["error"] for r in records if r["error"])
    assert len(decoded) <= 5, "3 requests taken, one prepared ahead, one being prepared; the rest marked undecoded"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--limit", "0"], "--limit: must be at least 1, got 0"),
        (["--limit", "-3"], "--limit: must be at least 1, got -3"),
        (["--fps", "nan"], "--fps: must be a positive finite number, got nan"),
        (["--fps", "inf"], "--fps: must be a positive finite number, got inf"),
        (["--fps", "0"], "--fps: must be a positive finite number"),
        (["--frames", "0"], "--frames: must be at least 1"),
        (["--max-frames", "0"], "--max-frames: must be at least 1"),
        (["--concurrency", "0"], "--concurrency: must be at least 1"),
        (["--synth-per-task", "0"], "--synth-per-task: must be at least 1"),
    ],
)
def test_settings_that_mean_nothing_are_refused(flags: list[str], message: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--model", "random", "--task", "synth_order", "--out", str(tmp_path / "runs"), *flags])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_library_callers_get_the_same_refusals(tmp_path: Path, load_options: LoadOptions) -> None:
    from tempeval.errors import TempevalError
    from tempeval.types import FramePolicy

    for fps in (float("nan"), float("inf"), -1.0):
        with pytest.raises(ValueError, match="positive finite"):
            FramePolicy(num_frames=None, fps=fps)
    task = registry.get_task("synth_order")
    with pytest.raises(TempevalError, match="limit must be at least 1"):
        run_task(task, create_adapter("random"), "random", options(tmp_path, load_options, limit=0))


def test_names_never_write_outside_out(tmp_path: Path, load_options: LoadOptions) -> None:
    import dataclasses

    out = tmp_path / "nest" / "runs"
    task = dataclasses.replace(registry.get_task("synth_order"), name="../../x")
    opts = RunOptions(out_dir=out, load=load_options, progress=False, limit=2)
    written = [Path(run_task(task, create_adapter("random"), "random", opts).path)]
    opts = dataclasses.replace(opts, run_name="../../../y")
    written.append(Path(run_task(registry.get_task("synth_order"), create_adapter("random"), "..", opts).path))
    for path in written:
        assert path.resolve().is_relative_to(out.resolve()), path
    assert sorted(p.name for p in (tmp_path / "nest").iterdir()) == ["runs"]


def test_import_model_label_dot_dot_stays_inside_out(tmp_path: Path) -> None:
    assert import_charades(tmp_path, "..") == 0
    written = [p for p in tmp_path.rglob("*.jsonl")]
    assert written and all(p.resolve().is_relative_to((tmp_path / "runs").resolve()) for p in written)


def test_leaderboard_refuses_to_swap_away_the_current_folder(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from tempeval.errors import TempevalError
    from tempeval.leaderboard import build as lb

    monkeypatch.chdir(tmp_path)
    with pytest.raises(TempevalError, match="holds the current folder"):
        lb._prepare(Path("."))


def test_diagnosis_path_stays_inside_out(tmp_path: Path) -> None:
    import dataclasses

    from tempeval.diagnose import diagnosis_path

    task = dataclasses.replace(registry.get_task("synth_order"), name="x/../../../../y")
    path = diagnosis_path(tmp_path / "runs", "..", task)
    assert path.resolve().is_relative_to((tmp_path / "runs").resolve()), path
