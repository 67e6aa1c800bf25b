"""Trust at scale: kills at random points, two writers on one file, shards over machines and their merge."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tempeval.cli import main
from tempeval.errors import RunFileError
from tempeval.results import read_run, run_lock, summarize


def tempeval_command(synth_dir: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "tempeval.cli", "run", "--model", "random", "-M", "latency_s=0.01", "--task",
            "synth_order", "--synth-dir", str(synth_dir), "--out", str(out), "--no-progress", *extra]


def test_sigkill_at_random_points_loses_nothing(tmp_path: Path, synth_dir: Path) -> None:
    out = tmp_path / "runs"
    command = tempeval_command(synth_dir, out)
    path = out / "random" / "synth_order.jsonl"
    rng = random.Random(7)
    kills = 0
    for _ in range(8):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.0))  # from start-up to mid-run, including mid-write
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait()
    finished = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert finished.returncode == 0, finished.stderr
    assert kills >= 3, "the test must really interrupt runs"
    lines = path.read_text().splitlines()
    parsed = [json.loads(line) for line in lines]  # no torn line survives
    ids = [p["sample_id"] for p in parsed[1:]]
    assert len(ids) == len(set(ids)) == 60, "every sample exactly once, none duplicated"

    clean = tmp_path / "clean"
    assert subprocess.run(tempeval_command(synth_dir, clean), capture_output=True, timeout=180).returncode == 0
    interrupted = summarize(read_run(path)).metrics
    uninterrupted = summarize(read_run(clean / "random" / "synth_order.jsonl")).metrics
    assert {k: v.value for k, v in interrupted.items()} == {k: v.value for k, v in uninterrupted.items()}


def test_torn_line_repaired_with_a_warning(tmp_path: Path, synth_dir: Path) -> None:
    out = tmp_path / "runs"
    argv = tempeval_command(synth_dir, out, "--limit", "5")[3:]
    assert main(argv) == 0
    path = out / "random" / "synth_order.jsonl"
    with path.open("a") as handle:
        handle.write('{"type": "record", "sample_id": "order-0002a", "outp')
    with pytest.warns(UserWarning, match="dropping a torn last line"):
        assert main(argv) == 0
    assert len(read_run(path).records) == 5


def test_second_writer_refused(tmp_path: Path, synth_dir: Path) -> None:
    out = tmp_path / "runs"
    path = out / "random" / "synth_order.jsonl"
    with run_lock(path):
        second = subprocess.run(tempeval_command(synth_dir, out, "--limit", "3"), capture_output=True, text=True,
                                timeout=120)
    assert second.returncode == 2 and "is being written by tempeval pid" in second.stderr
    with run_lock(path), pytest.raises(RunFileError), run_lock(path):  # within one process too (a second open)
        pass


def test_shards_cover_everything_once_and_merge_to_the_unsharded_scores(tmp_path: Path, synth_dir: Path) -> None:
    out = tmp_path / "runs"
    base = ["run", "--model", "random", "--task", "synth_direction", "--synth-dir", str(synth_dir), "--out", str(out),
            "--no-progress"]
    for k in (1, 2, 3):
        assert main([*base, "--shard", f"{k}/3"]) == 0
    shards = [out / "random" / f"synth_direction.shard-{k}-of-3.jsonl" for k in (1, 2, 3)]
    per_shard = [read_run(p).records for p in shards]
    sizes = [len(r) for r in per_shard]
    assert sum(sizes) == 60 and max(sizes) - min(sizes) <= 4, f"shards balanced by video: {sizes}"
    videos = [{r["video_id"] for r in records} for records in per_shard]
    assert not (videos[0] & videos[1] or videos[0] & videos[2] or videos[1] & videos[2]), "a video on one shard only"

    merged = tmp_path / "merged.jsonl"
    assert main(["merge", *map(str, shards), "-o", str(merged)]) == 0
    assert main([*base, "--out", str(tmp_path / "whole")]) == 0
    whole = summarize(read_run(tmp_path / "whole" / "random" / "synth_direction.jsonl"))
    joined = summarize(read_run(merged))
    assert joined.n == 60 and {k: v.value for k, v in joined.metrics.items()} == {
        k: v.value for k, v in whole.metrics.items()
    }
    assert "shard" not in read_run(merged).header
    # Same records, another order: the same confidence intervals too; the merged run expects all 60 samples.
    assert joined.metrics == whole.metrics
    assert joined.samples == 60 and joined.complete


def test_merge_refuses_bad_shard_sets(tmp_path: Path, synth_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs"
    base = ["run", "--model", "random", "--task", "synth_count", "--synth-dir", str(synth_dir), "--no-progress"]
    for k in (1, 2):
        assert main([*base, "--out", str(out), "--shard", f"{k}/2"]) == 0
    assert main([*base, "--out", str(tmp_path / "other"), "--shard", "2/2", "--seed", "5"]) == 0
    one, two = (out / "random" / f"synth_count.shard-{k}-of-2.jsonl" for k in (1, 2))
    other = tmp_path / "other" / "random" / "synth_count.shard-2-of-2.jsonl"
    target = str(tmp_path / "m.jsonl")
    assert main(["merge", str(one), "-o", target]) == 2
    assert "shards 1..2 exactly once" in capsys.readouterr().err
    assert main(["merge", str(one), str(other), "-o", target]) == 2
    assert "differs from" in capsys.readouterr().err and not Path(target).exists()
    lines = two.read_text().splitlines()
    two.write_text("\n".join(lines[:-1]) + "\n")  # an unfinished shard
    assert main(["merge", str(one), str(two), "-o", target]) == 2
    assert "re-run that shard" in capsys.readouterr().err
