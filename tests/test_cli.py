"""The command line as a user meets it: listing, running, re-scoring, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tempeval import registry
from tempeval.cli import main

SYNTH_TASKS = ["synth_claims", "synth_count", "synth_direction", "synth_events", "synth_grounding", "synth_online",
               "synth_order", "synth_speed", "synth_stream"]


def test_list_tasks_shows_the_synth_group(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "tasks"]) == 0
    out = capsys.readouterr().out
    for name in SYNTH_TASKS:
        assert name in out
    assert registry.groups()["synth"] == SYNTH_TASKS


def test_list_models(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "models"]) == 0
    out = capsys.readouterr().out
    assert "random" in out and "constant" in out and "seed=0" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--model", "random", "--task", "synth_oder"], "Unknown task 'synth_oder'. Did you mean: synth_order"),
        (["run", "--model", "randon", "--task", "synth"], "Unknown model adapter 'randon'. Did you mean: random"),
        (["run", "--model", "random", "-M", "sed=1", "--task", "synth"], "Valid arguments: latency_s, seed"),
        (["run", "--model", "random", "-M", "seed", "--task", "synth"], "not of the form key=value"),
        (["run", "--model", "random", "-M", "seed=abc", "--task", "synth"], "must be int"),
        (["run", "--model", "random", "--task", "synth", "--max-tokens", "0"], "Bad --max-tokens value: max_tokens"),
        (["run", "--model", "random", "--task", "synth", "--temperature", "-1"], "Bad --temperature value"),
        (["run", "--model", "random", "--task", "synth", "--temperature", "inf"], "finite number >= 0"),
        (["run", "--model", "random", "--task", "synth", "--top-p", "1.5"], "0 < top_p <= 1"),
        (["run", "--model", "random", "--task", "synth", "--gen", "top_k"], "--gen 'top_k' is not of the form"),
        (["run", "--model", "random", "--task", "synth", "--gen", "think_tags=<t>"], "think_tags must be OPEN,CLOSE"),
        (["run", "--model", "random", "-M", "temperature=0", "--task", "synth"], "pass --temperature T"),
    ],
)
def test_bad_names_get_clear_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_run_then_score_json(tmp_path: Path, synth_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs"
    argv = ["run", "--model", "random", "--task", "synth_grounding", "--task", "synth_direction",
            "--out", str(out), "--synth-dir", str(synth_dir), "--no-progress"]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "synth_grounding@2" in table and "mIoU" in table and "accuracy" in table

    assert main(["score", str(out), "--json"]) == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_task = {o["task"]: o for o in objects if "task" in o}
    assert set(by_task) == {"synth_grounding", "synth_direction"}
    (group,) = [o for o in objects if "group" in o]  # synth, with all but 2 of its tasks missing: no average, warned
    assert "average" not in group["metrics"] and len(group["warnings"]) == len(SYNTH_TASKS) - 2
    direction = by_task["synth_direction"]
    assert direction["model"] == "random" and direction["n"] == 60 and direction["errors"] == 0
    assert direction["unparseable"] == 0
    assert 10 < direction["metrics"]["accuracy"] < 45, "random should land near chance (25% with 4 options)"
    assert set(by_task["synth_grounding"]["metrics"]) >= {"R1@0.3", "R1@0.5", "R1@0.7", "mIoU"}

    assert main(["show", str(out)]) == 0
    assert "synth_direction" in capsys.readouterr().out


def test_score_malformed_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hello": 1}\n')
    assert main(["score", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "not a tempeval run header" in err


def test_score_nothing_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", str(tmp_path)]) == 2
    assert "No run files" in capsys.readouterr().err


def test_import_tempeval_stays_light() -> None:
    import subprocess
    import sys

    code = ("import sys, tempeval, tempeval.cli, tempeval.runner; "
            "heavy = [m for m in ('torch', 'vllm', 'openai', 'transformers', 'av', 'decord', 'pandas') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_score_json_does_not_depend_on_record_order(
    tmp_path: Path, synth_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same records written in another order (resume, merge, shards) print byte-identical scores and CIs."""
    out = tmp_path / "runs"
    argv = ["run", "--model", "random", "--task", "synth", "--out", str(out), "--synth-dir", str(synth_dir),
            "--no-progress"]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["score", str(out), "--json"]) == 0
    before = capsys.readouterr().out
    assert '"ci"' in before and "synth" in before
    for file in out.rglob("*.jsonl"):
        header, *records = file.read_text().splitlines()
        file.write_text("\n".join([header, *reversed(records)]) + "\n")
    assert main(["score", str(out), "--json"]) == 0
    assert capsys.readouterr().out == before


def test_killed_run_is_incomplete_and_limit_run_is_partial_until_completed(
    tmp_path: Path, synth_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tempeval.leaderboard import build as lb

    out = tmp_path / "runs"
    base = ["run", "--model", "random", "--out", str(out), "--synth-dir", str(synth_dir), "--no-progress"]
    assert main([*base, "--task", "synth_direction"]) == 0
    assert main([*base, "--task", "synth_order", "--limit", "20"]) == 0
    killed = out / "random" / "synth_direction.jsonl"
    killed.write_text("\n".join(killed.read_text().splitlines()[:41]) + "\n")  # header + 40 of 60: a kill
    capsys.readouterr()

    assert main(["score", str(out), "--json"]) == 0
    by_task = {o["task"]: o for o in map(json.loads, capsys.readouterr().out.splitlines()) if "task" in o}
    assert (by_task["synth_direction"]["samples"], by_task["synth_direction"]["complete"]) == (60, False)
    assert (by_task["synth_order"]["samples"], by_task["synth_order"]["complete"]) == (20, True)
    assert main(["score", str(out)]) == 0
    table = capsys.readouterr().out
    assert "INCOMPLETE 40/60" in table and "20 partial" in table
    assert main(["show", str(out)]) == 0
    assert "INCOMPLETE 40/60" in capsys.readouterr().out
    lb.build([out], tmp_path / "site")
    runs = {r["task"]: r for r in json.loads((tmp_path / "site" / "data.json").read_text())["runs"]}
    assert (runs["synth_direction"]["complete"], runs["synth_direction"]["samples"]) == (False, 60)
    assert runs["synth_order"]["partial"] is True
    data = json.loads((tmp_path / "site" / "data.json").read_text())
    (cell,) = [c for c in data["cells"] if c["benchmark"] == "synth"]
    assert len(cell["warnings"]) == len(SYNTH_TASKS) - 2
    assert all(w.startswith("no run of synth_") for w in cell["warnings"])
    (group,) = [g for g in data["group_results"] if g["group"] == "synth"]
    assert group["warnings"] == cell["warnings"]

    assert main([*base, "--task", "synth_order"]) == 0  # the --limit 20 run completed: no longer partial
    capsys.readouterr()
    assert main(["score", str(out / "random" / "synth_order.jsonl")]) == 0
    assert "partial" not in capsys.readouterr().out
    lb.build([out], tmp_path / "site2")
    runs = {r["task"]: r for r in json.loads((tmp_path / "site2" / "data.json").read_text())["runs"]}
    assert runs["synth_order"]["partial"] is False and runs["synth_order"]["complete"] is True
