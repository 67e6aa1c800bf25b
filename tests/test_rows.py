"""Model rows: --label, and runs of one model under other settings (a frame sweep) as rows of their own everywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tempeval import registry
from tempeval.cli import main
from tempeval.leaderboard.build import build
from tempeval.results import read_run
from tempeval.rows import newest_per_row, row_identities
from tests.test_leaderboard import _open, browser  # noqa: F401 - the module's headless Chromium fixture
from tests.test_leaderboard import _run as _leaderboard_run
from tests.test_records import make_benchmark


def _header(model: str = "random", task: str = "synth_order", **changes: Any) -> dict[str, Any]:
    header: dict[str, Any] = {
        "model": model, "task": task, "task_version": "1", "started_at": "2026-01-01T00:00:00+00:00",
        "frames": {"num_frames": 8, "fps": None, "order": "original", "max_side": None, "seed": 0},
        "generation": {"max_tokens": 64, "temperature": 0.0, "extra": {}},
        "model_args": {"seed": 0, "concurrency": 4}, "transport_args": ["concurrency"],
    }
    for name, value in changes.items():
        group, _, key = name.partition("__")
        if key:
            header[group] = {**header[group], key: value}
        else:
            header[group] = value
    return header


def test_rows_are_named_by_the_settings_that_differ_within_a_task() -> None:
    headers = [
        _header(),
        _header(frames__num_frames=16),
        _header(task="synth_count", frames__num_frames=32),  # a task's own frame count splits no row by itself
        _header(model="other", generation__temperature=0.7),
        _header(model="other"),
        _header(model="third", model_args__concurrency=64),  # transport only: the same row
        _header(model="third"),
        _header(model="fourth", model_args__max_side=448),
        _header(model="fourth"),
    ]
    names = [row.display for row in row_identities(headers)]
    assert names == [
        "random · 8 f", "random · 16 f", "random · 32 f", "other · temperature 0.7", "other · temperature 0",
        "third", "third", "fourth · max_side 448", "fourth",
    ]
    across_tasks = [_header(), _header(task="synth_count", frames__num_frames=32)]
    across_versions = [_header(), _header(task_version="2", frames__num_frames=16)]  # a version's own policy
    for headers in (across_tasks, across_versions):
        assert [row.display for row in row_identities(headers)] == ["random", "random"]


def test_a_label_names_the_row_and_takes_it_out_of_the_comparison() -> None:
    rows = row_identities([_header(label="Qwen (64 f)", frames__num_frames=64), _header(), _header(label="x"),
                           _header(model="other", label="x")])
    assert [row.display for row in rows] == ["Qwen (64 f)", "random", "x (random)", "x (other)"]
    assert len({row.key for row in rows}) == 4


def test_newest_per_row_keeps_the_newest_of_true_duplicates_and_says_so() -> None:
    old, new = _header(), _header(started_at="2026-02-01T00:00:00+00:00")
    kept, notes = newest_per_row([new, old, _header(frames__num_frames=4)], ["new.jsonl", "old.jsonl", "four.jsonl"])
    assert kept == [0, 2]
    assert len(notes) == 1 and notes[0].startswith("old.jsonl: left out") and "new.jsonl" in notes[0]


def _run(out: Path, synth_dir: Path, *extra: str) -> int:
    return main(["run", "--model", "random", "--task", "synth_direction", "--limit", "4", "--out", str(out),
                 "--synth-dir", str(synth_dir), "--no-progress", *extra])


def test_a_frame_sweep_is_two_rows_in_score_export_compare_and_the_leaderboard(
    tmp_path: Path, synth_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    four, eight, again = tmp_path / "runs-4", tmp_path / "runs-8", tmp_path / "runs-4-again"
    assert _run(four, synth_dir, "--frames", "4") == 0
    assert _run(eight, synth_dir, "--frames", "8") == 0
    capsys.readouterr()

    assert main(["score", str(four), str(eight), "--json"]) == 0
    runs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"task"' in line]
    assert [(r["row"], r["model"], r["frames"]["num_frames"], r["label"]) for r in runs] == [
        ("random · 4 f", "random", 4, None), ("random · 8 f", "random", 8, None),
    ]
    assert runs[0]["generation"]["max_tokens"] > 0 and runs[0]["model_args"] == {"seed": 0, "latency_s": 0.0}
    assert main(["score", str(four), str(eight)]) == 0
    table = capsys.readouterr().out
    assert "random · 4 f" in table and str(four / "random" / "synth_direction.jsonl") in table

    assert main(["show", str(four), str(eight)]) == 0
    shown = capsys.readouterr().out
    assert "random · 4 f" in shown and "random · 8 f" in shown

    assert main(["export", str(four), str(eight), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["random · 4 f", "random · 8 f"]

    assert main(["compare", str(four), str(eight)]) == 0
    assert "A: random · 4 f   B: random · 8 f" in capsys.readouterr().out

    assert _run(again, synth_dir, "--frames", "4") == 0  # a true duplicate of runs-4: newer, so it counts
    capsys.readouterr()
    assert main(["export", str(four), str(eight), str(again), "--format", "csv"]) == 0
    exported = capsys.readouterr()
    assert len(exported.out.splitlines()) == 3
    assert f"{four / 'random' / 'synth_direction.jsonl'}: left out, an older run of row 'random · 4 f'" in exported.err

    site = tmp_path / "site"
    assert main(["leaderboard", "build", str(four), str(eight), str(again), "-o", str(site)]) == 0
    printed = capsys.readouterr().out
    assert "runs-4/random/synth_direction.jsonl: superseded by runs-4-again/random/synth_direction.jsonl" in printed
    data = json.loads((site / "data.json").read_text(encoding="utf-8"))
    assert sorted(m["id"] for m in data["models"]) == ["random · 4 f", "random · 8 f"]
    assert {m["model"] for m in data["models"]} == {"random"}
    assert sorted((c["model"], c["benchmark"]) for c in data["cells"]) == [
        ("random · 4 f", "synth"), ("random · 8 f", "synth"),
    ]
    statuses = {(r["model"], r["file"].split("/")[0], r["status"]) for r in data["runs"]}
    assert ("random · 4 f", "runs-4", "superseded") in statuses
    assert ("random · 4 f", "runs-4-again", "current") in statuses


def test_a_label_keeps_a_sweep_in_one_folder_and_a_differing_policy_without_one_says_so(
    tmp_path: Path, synth_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs"
    assert _run(out, synth_dir, "--frames", "4") == 0
    capsys.readouterr()
    assert _run(out, synth_dir, "--frames", "8") == 2
    error = capsys.readouterr().err
    assert "frames: file has" in error and "pass --label NAME to keep this run beside it" in error

    assert _run(out, synth_dir, "--frames", "8", "--label", "Random (8 f)") == 0
    labelled = out / "random" / "Random__8_f_" / "synth_direction.jsonl"
    assert read_run(labelled).header["label"] == "Random (8 f)"
    assert read_run(out / "random" / "synth_direction.jsonl").header["frames"]["num_frames"] == 4  # untouched
    assert _run(out, synth_dir, "--frames", "8", "--label", "Random (8 f)") == 0  # resumes its own file
    assert "resuming: 4 of 4 done" in capsys.readouterr().err
    assert main(["score", str(out), "--json"]) == 0
    rows = [json.loads(line)["row"] for line in capsys.readouterr().out.splitlines() if '"task"' in line]
    assert sorted(rows) == ["Random (8 f)", "random"]
    with pytest.raises(SystemExit):
        _run(out, synth_dir, "--label", " ")
    assert "a label names a row" in capsys.readouterr().err


def test_a_users_shuffled_run_is_a_row_and_diagnose_runs_are_variants(
    tmp_path: Path, synth_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs"
    assert _run(out, synth_dir) == 0
    assert _run(tmp_path / "shuffled", synth_dir, "--order", "shuffled") == 0
    assert read_run(out / "random" / "synth_direction.jsonl").header["made_by"] == "run"
    assert main(["diagnose", "--model", "random", "--task", "synth_direction", "--limit", "4", "--frames", "4",
                 "--out", str(out), "--synth-dir", str(synth_dir), "--no-progress"]) == 0
    assert read_run(out / "random" / "synth_direction@shuffled.jsonl").header["made_by"] == "diagnose"
    capsys.readouterr()
    site = tmp_path / "site"
    assert main(["leaderboard", "build", str(out), str(tmp_path / "shuffled"), "-o", str(site)]) == 0
    assert "diagnostic variant run(s) (made by 'tempeval diagnose')" in capsys.readouterr().out
    data = json.loads((site / "data.json").read_text(encoding="utf-8"))
    status = {(r["file"], r["status"], r["model"]) for r in data["runs"]}
    assert ("shuffled/random/synth_direction.jsonl", "current", "random · shuffled") in status
    assert ("runs/random/synth_direction.jsonl", "current", "random · original") in status
    assert {s for f, s, _ in status if "@" in f} == {"variant"}


def test_diagnose_prints_the_most_frequent_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    task_file = make_benchmark(tmp_path / "bench")
    (tmp_path / "bench" / "videos" / "b.mp4").unlink()
    assert main(["diagnose", "--model", "random", "--task", str(task_file), "--out", str(tmp_path / "runs"),
                 "--no-progress", "--frames", "4", "--label", "diag"]) == 1
    err = capsys.readouterr().err
    assert "most frequent errors:" in err and "b.mp4" in err and "4 × video:" in err
    assert (tmp_path / "runs" / "random" / "diag" / "diagnosis-my_mcq.json").is_file()


def test_the_site_shows_a_sweep_as_two_labelled_rows(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    chromium = request.getfixturevalue("browser")  # skips, saying why, without chromium or selenium
    from selenium.webdriver.common.by import By

    policy = registry.tasks()["synth_order"].frames.to_dict()
    for frames in (4, 8):
        _leaderboard_run(tmp_path / "runs", "delta", "synth_order", day=frames, skill=0.5, name=f"order-{frames}",
                         frames={**policy, "num_frames": frames})
    index = build([tmp_path / "runs"], tmp_path / "site")
    _open(chromium, index.as_uri(), "table.overview button.cell")
    script = "return [...document.querySelectorAll('tr[data-model]')].map((t) => t.dataset.model)"
    rows = chromium.execute_script(script)
    assert sorted(rows) == ["delta · 4 f", "delta · 8 f"]
    data = json.loads((tmp_path / "site" / "data.json").read_text(encoding="utf-8"))
    [run] = [r for r in data["runs"] if r["model"] == "delta · 8 f"]
    _open(chromium, index.as_uri() + f"#/run/{run['id']}", "table.samples tbody tr")
    assert "delta (row delta · 8 f)" in chromium.find_element(By.TAG_NAME, "body").text
