"""Your own benchmark, no Python: a questions file, a folder of videos and one task YAML, run from anywhere.

Everything is written by the test into a folder outside the repository (tmp_path) and run through the CLI.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tempeval import registry
from tempeval.adapter import create_adapter
from tempeval.cli import main
from tempeval.data import SkippedRecordWarning
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions, get_loader, load_samples
from tempeval.results import read_run
from tempeval.runner import RunOptions, run_task
from tempeval.task import expand_subsets
from tests.conftest import gold_policy, wrong_policy
from tests.videofactory import make_barcode_video

MCQ_YAML = """\
name: my_mcq
version: 1
kind: multiple_choice
dataset:
  loader: records
  path: {path}
  videos: videos
  fields: {{id: qid, question: question, options: options, answer: answer, video: video}}
answer_format: letter
prompt: "{{question}}\\n{{options}}\\n{{instruction}}"
metrics: [accuracy]
group_by: [category]
"""

QUESTIONS = [
    {"qid": "q1", "question": "Which way does it move?", "options": ["left", "right", "up"], "answer": 0,
     "video": "a.mp4", "category": "direction"},
    {"qid": "q2", "question": "How many flashes?", "options": ["one", "two"], "answer": 1, "video": "b.mp4",
     "category": "count"},
    {"qid": "q3", "question": "What comes first?", "options": ["red", "blue", "green", "cyan"], "answer": 3,
     "video": "c.mp4", "category": "direction"},
]


@pytest.fixture(autouse=True)
def _forget_task_files() -> Iterator[None]:
    yield
    registry.reload()


def make_benchmark(root: Path, fmt: str = "jsonl", answers: str = "index") -> Path:
    """A user's folder: three real mp4s, a questions file and the task YAML; returns the YAML's path."""
    (root / "videos").mkdir(parents=True)
    for name in ("a", "b", "c"):
        make_barcode_video(root / "videos" / f"{name}.mp4", num_frames=20, fps=10)
    rows = [dict(q) for q in QUESTIONS]
    for row in rows:
        if answers == "letter":
            row["answer"] = "ABCD"[row["answer"]]
        elif answers == "text":
            row["answer"] = row["options"][row["answer"]]
    path = f"questions.{fmt}"
    if fmt == "jsonl":
        (root / path).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    elif fmt == "csv":
        with (root / path).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "options": json.dumps(row["options"])})
    else:
        (root / path).write_text(json.dumps(rows), encoding="utf-8")
    task_file = root / "my_mcq.yaml"
    task_file.write_text(MCQ_YAML.format(path=path), encoding="utf-8")
    return task_file


def run_cli(task: str, out: Path, *extra: str) -> int:
    return main(["run", "--model", "random", "--task", task, "--out", str(out), "--no-progress", *extra])


def scores(out: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    registry.reload()  # scoring needs only the run files, not the task file
    capsys.readouterr()
    assert main(["score", str(out), "--json"]) == 0
    return next(o for o in map(json.loads, capsys.readouterr().out.splitlines()) if "task" in o)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "json"])
def test_a_task_yaml_outside_the_repository_runs_from_any_folder(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    task_file = make_benchmark(tmp_path / "bench", fmt)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # paths in the YAML are relative to the YAML, not to the working folder
    relative = os.path.relpath(task_file, elsewhere)
    assert run_cli(relative, tmp_path / "runs") == 0
    log = read_run(tmp_path / "runs" / "random" / "my_mcq.jsonl")
    assert log.header["task"] == "my_mcq" and log.header["dataset"]["annotations_sha256"]
    assert sorted(r["sample_id"] for r in log.records) == ["q1", "q2", "q3"]
    assert all(r["error"] is None and r["frame_times"] for r in log.records)
    summary = scores(tmp_path / "runs", capsys)
    assert summary["n"] == 3
    assert {"accuracy[category=direction]", "accuracy[category=count]"} <= set(summary["metrics"])


@pytest.mark.parametrize("answers", ["index", "letter", "text"])
def test_gold_scores_100_and_wrong_0_whatever_the_answer_is(answers: str, tmp_path: Path) -> None:
    task = registry.get_task(str(make_benchmark(tmp_path / "bench", "jsonl", answers)))
    samples = load_samples(task, registry.get_dataset(task.dataset), LoadOptions())
    assert [s.target for s in samples] == ["A", "B", "D"]
    assert {s.meta["answer_is"] for s in samples} == {answers}  # detected, and recorded
    assert samples[0].meta["category"] == "direction" and "answer" not in samples[0].meta
    for label, policy, expected in (("gold", gold_policy, 100.0), ("wrong", wrong_policy, 0.0)):
        adapter = create_adapter("scripted", {"policy": policy(task, samples), "label": label})
        summary = run_task(task, adapter, f"scripted/{label}", RunOptions(out_dir=tmp_path / label, progress=False))
        assert summary.n == 3 and summary.unparseable == 0
        for name, metric in summary.metrics.items():
            assert metric.value == pytest.approx(expected), f"{label}: {name}"
        assert "accuracy[category=count]" in summary.metrics


def test_answer_is_said_explicitly_wins(tmp_path: Path) -> None:
    task_file = make_benchmark(tmp_path / "bench")
    said = "  videos: videos\n  answer_is: index\n  index_base: 1\n"
    text = task_file.read_text().replace("  videos: videos\n", said)
    rows = [{**q, "answer": q["answer"] + 1} for q in QUESTIONS]
    (tmp_path / "bench" / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    task_file.write_text(text)
    task = registry.get_task(str(task_file))
    samples = load_samples(task, registry.get_dataset(task.dataset), LoadOptions())
    assert [s.target for s in samples] == ["A", "B", "D"]


def test_a_bad_record_is_skipped_with_a_message_naming_the_file_and_record(tmp_path: Path) -> None:
    task_file = make_benchmark(tmp_path / "bench")
    questions = tmp_path / "bench" / "questions.jsonl"
    rows = [dict(q) for q in QUESTIONS]
    rows[1]["answer"] = 7
    del rows[2]["video"]
    rows.append({**QUESTIONS[0], "qid": "q4", "video": "missing.mp4"})
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = registry.get_task(str(task_file))
    with pytest.warns(SkippedRecordWarning) as caught:
        samples = load_samples(task, registry.get_dataset(task.dataset), LoadOptions())
    assert [s.id for s in samples] == ["q1", "q4"]
    messages = [str(w.message) for w in caught]
    assert any(str(questions) in m and "record #2 (qid 'q2')" in m and "outside the 2 options" in m for m in messages)
    assert any("record #3 (qid 'q3')" in m and "missing field 'video'" in m for m in messages)
    # A missing video file is not a bad record: that sample fails in the run, as an error kept in the denominator.
    assert main(["run", "--model", "random", "--task", str(task_file), "--out", str(tmp_path / "runs"),
                 "--no-progress"]) == 1
    records = {r["sample_id"]: r for r in read_run(tmp_path / "runs" / "random" / "my_mcq.jsonl").records}
    assert records["q1"]["error"] is None and "missing.mp4" in records["q4"]["error"]


def test_a_missing_task_file_and_a_missing_records_file_say_so(tmp_path: Path) -> None:
    with pytest.raises(TempevalError, match="no such task file"):
        registry.resolve([str(tmp_path / "nope.yaml")])
    task_file = make_benchmark(tmp_path / "bench")
    (tmp_path / "bench" / "questions.jsonl").unlink()
    task = registry.get_task(str(task_file))
    with pytest.raises(TempevalError, match=r"questions\.jsonl: no such records file"):
        load_samples(task, registry.get_dataset(task.dataset), LoadOptions())


GROUNDING_YAML = """\
name: my_grounding
version: 1
kind: grounding
dataset:
  loader: records
  path: moments.csv
  videos: clips
  fields: {id: id, question: query, video: file, window: [t0, t1], source: origin}
answer_format: window
prompt: |
  The video is {duration} seconds long.
  {question}
  {instruction}
metrics: [iou]
headline: mIoU
group_by: [source]
"""


def test_a_grounding_benchmark_from_a_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "ground"
    (root / "clips").mkdir(parents=True)
    rows = []
    for index in range(3):
        make_barcode_video(root / "clips" / f"v{index}.mp4", num_frames=30, fps=10)
        rows.append({"id": f"m{index}", "query": f"when does thing {index} happen?", "file": f"v{index}.mp4",
                     "t0": 0.5 + index * 0.2, "t1": 2.0, "origin": "web" if index else "lab"})
    with (root / "moments.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (root / "g.yaml").write_text(GROUNDING_YAML)
    task = registry.get_task(str(root / "g.yaml"))
    samples = load_samples(task, registry.get_dataset(task.dataset), LoadOptions())
    assert samples[1].target == (0.7, 2.0) and samples[0].meta["source"] == "lab"
    adapter = create_adapter("scripted", {"policy": gold_policy(task, samples), "label": "gold"})
    summary = run_task(task, adapter, "scripted/gold", RunOptions(out_dir=tmp_path / "gold", progress=False))
    assert summary.metrics["mIoU"].value == pytest.approx(100.0, abs=0.5)
    assert run_cli(str(root / "g.yaml"), tmp_path / "runs") == 0
    assert scores(tmp_path / "runs", capsys)["n"] == 3


def write_pairs_benchmark(root: Path) -> Path:
    """A fact/fib pair about the clip 0.5-2.5 s of one real mp4; returns its task file."""
    (root / "v").mkdir(parents=True, exist_ok=True)
    make_barcode_video(root / "v" / "x.mp4", num_frames=30, fps=10)
    (root / "claims.jsonl").write_text(
        json.dumps({"id": "p1", "fact": "It moves left.", "fib": "It moves right.", "video": "x.mp4", "from": 0.5,
                    "to": 2.5, "genre": "toy"}) + "\n"
    )
    (root / "pairs.yaml").write_text(
        "name: my_pairs\nversion: 1\nkind: binary_pair\nanswer_format: true_false\n"
        "dataset: {loader: records, path: claims.jsonl, videos: v,\n"
        "          fields: {true_claim: fact, false_claim: fib, start: from, end: to}}\n"
        "prompt: \"Claim: {question}\\n{instruction}\"\nmetrics: [{name: pairwise_accuracy, by: pair_id}, accuracy]\n"
        "group_by: [genre]\n"
    )
    return root / "pairs.yaml"


def write_online_benchmark(root: Path) -> Path:
    """A backward question and a forward probe asked at given times of one real mp4; returns its task file."""
    (root / "v").mkdir(parents=True, exist_ok=True)
    make_barcode_video(root / "v" / "x.mp4", num_frames=30, fps=10)
    (root / "stream.jsonl").write_text(
        json.dumps({"id": "o1", "question": "What appeared?", "options": ["a", "b"], "answer": "b", "t": 1.5,
                    "video": "x.mp4", "mode": "backward"}) + "\n"
        + json.dumps({"id": "o2", "question": "Has it appeared?", "answer": "yes", "t": 2.0, "video": "x.mp4",
                      "mode": "forward"}) + "\n"
    )
    (root / "online.yaml").write_text(
        "name: my_online\nversion: 1\nkind: online\nanswer_format: letter\n"
        "dataset: {loader: records, path: stream.jsonl, videos: v, fields: {query_time: t}}\n"
        "prompt: \"{query_time}: {question}\\n{options}\\n{instruction}\"\n"
        "metrics: [accuracy, {name: probe_accuracy, by: mode}]\ngroup_by: [mode]\n"
    )
    return root / "online.yaml"


def test_binary_pairs_and_online_from_records(tmp_path: Path) -> None:
    task = registry.get_task(str(write_pairs_benchmark(tmp_path / "b")))
    pairs = load_samples(task, registry.get_dataset(task.dataset), LoadOptions())
    assert [(s.id, s.target, s.meta["pair_id"]) for s in pairs] == [("p1_true", True, "p1"), ("p1_false", False, "p1")]
    assert (pairs[0].video.start_s, pairs[0].video.end_s, pairs[0].meta["genre"]) == (0.5, 2.5, "toy")
    task = registry.get_task(str(write_online_benchmark(tmp_path / "b")))
    online = load_samples(task, registry.get_dataset(task.dataset), LoadOptions())
    expected = [(1.5, "letter", "B"), (2.0, "yes_no", True)]
    assert [(s.query_time_s, s.answer_format, s.target) for s in online] == expected
    adapter = create_adapter("scripted", {"policy": gold_policy(task, online), "label": "gold"})
    summary = run_task(task, adapter, "scripted/gold", RunOptions(out_dir=tmp_path / "gold", progress=False))
    assert summary.metrics["accuracy"].value == 100.0 and summary.metrics["probe_accuracy"].value == 100.0


def test_tempeval_run_takes_binary_pair_and_online_task_files_from_any_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [write_pairs_benchmark(tmp_path / "bench"), write_online_benchmark(tmp_path / "bench")]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for file in files:
        assert run_cli(os.path.relpath(file, elsewhere), tmp_path / "runs") == 0
    pairs = read_run(tmp_path / "runs" / "random" / "my_pairs.jsonl")
    assert [r["sample_id"] for r in pairs.records] == ["p1_true", "p1_false"]
    assert all(r["error"] is None and 0.5 <= min(r["frame_times"]) <= max(r["frame_times"]) <= 2.5
               for r in pairs.records)  # only the mapped clip is shown
    online = read_run(tmp_path / "runs" / "random" / "my_online.jsonl")
    assert [(r["sample_id"], r["error"]) for r in online.records] == [("o1", None), ("o2", None)]
    assert all(max(r["frame_times"]) <= t for r, t in zip(online.records, (1.5, 2.0), strict=True))  # none later
    registry.reload()
    capsys.readouterr()
    assert main(["score", str(tmp_path / "runs"), "--json"]) == 0
    summaries = {o["task"]: o for o in map(json.loads, capsys.readouterr().out.splitlines()) if "task" in o}
    assert "pairwise_accuracy" in summaries["my_pairs"]["metrics"]
    assert "accuracy[genre=toy]" in summaries["my_pairs"]["metrics"]
    assert "probe_accuracy" in summaries["my_online"]["metrics"]


def test_a_loader_named_module_attr_resolves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_loaders.py").write_text("def load(task, dataset, options):\n    return []\n")
    (tmp_path / "broken_loader.py").write_text("import not_installed_dependency_xyz\n\ndef load(*a):\n    return []\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert get_loader("my_loaders:load")(None, None, None) == []  # type: ignore[arg-type]
    with pytest.raises(ModuleNotFoundError) as caught:  # a real import error inside the module is itself
        get_loader("broken_loader:load")
    assert caught.value.name == "not_installed_dependency_xyz"
    with pytest.raises(TempevalError, match="Unknown loader 'nowhere_xyz:load'"):
        get_loader("nowhere_xyz:load")
    with pytest.raises(TempevalError, match="module 'my_loaders' has no 'nope'"):
        get_loader("my_loaders:nope")
    sys.modules.pop("my_loaders", None)


def test_a_family_in_one_file_expands_into_one_task_per_subset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task_file = make_benchmark(tmp_path / "bench")
    text = task_file.read_text().replace("name: my_mcq", "name: my_{subset}").replace(
        "  videos: videos\n", "  videos: videos\n  subset_field: category\n"
    )
    task_file.write_text(text + "subsets:\n  direction: {}\n  count: {description: Counting, version: 2}\n")
    tasks = registry.resolve([str(task_file)])
    assert [(t.name, t.subset, t.version, t.groups) for t in tasks] == [
        ("my_direction", "direction", "1", ("my",)), ("my_count", "count", "2", ("my",))
    ]
    assert tasks[1].description == "Counting"
    ids = {t.name: [s.id for s in load_samples(t, registry.get_dataset(t.dataset), LoadOptions())] for t in tasks}
    assert ids == {"my_direction": ["q1", "q3"], "my_count": ["q2"]}
    with pytest.raises(TempevalError, match="a family of 2 tasks"):
        registry.get_task(str(task_file))
    assert run_cli(str(task_file), tmp_path / "runs") == 0
    written = sorted(p.name for p in (tmp_path / "runs" / "random").glob("*.jsonl"))
    assert written == ["my_count.jsonl", "my_direction.jsonl"]


def test_subsets_override_and_merge_the_inline_dataset() -> None:
    data = {"name": "fam", "dataset": {"loader": "records", "path": "a.jsonl"}, "groups": ["mine"],
            "subsets": {"x": {"dataset": {"path": "x.jsonl"}}, "y": None}}
    x, y = expand_subsets(data, "f.yaml")
    assert x["name"] == "fam_x" and x["dataset"] == {"loader": "records", "path": "x.jsonl"} and x["subset"] == "x"
    assert y["dataset"]["path"] == "a.jsonl" and y["groups"] == ["mine", "fam"]
    with pytest.raises(TempevalError, match="'subsets' must be"):
        expand_subsets({**data, "subsets": 3}, "f.yaml")


def test_numeric_options_make_the_answer_ambiguous_until_answer_is_says(tmp_path: Path) -> None:
    task_file = make_benchmark(tmp_path / "bench")
    rows = [{**q, "options": ["1", "2", "3", "4"], "answer": 2} for q in QUESTIONS]
    (tmp_path / "bench" / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = registry.get_task(str(task_file))
    with pytest.raises(TempevalError, match="answer_is: index' or 'answer_is: text'"):
        load_samples(task, registry.get_dataset(task.dataset), LoadOptions())
    task_file.write_text(task_file.read_text().replace("  videos: videos\n", "  videos: videos\n  answer_is: text\n"))
    registry.reload()
    task = registry.get_task(str(task_file))
    assert {s.target for s in load_samples(task, registry.get_dataset(task.dataset), LoadOptions())} == {"B"}


def test_a_json_mapping_of_id_to_record(tmp_path: Path) -> None:
    task_file = make_benchmark(tmp_path / "bench", "json")
    rows = {q["qid"]: {k: v for k, v in q.items() if k != "qid"} for q in QUESTIONS}
    (tmp_path / "bench" / "questions.json").write_text(json.dumps(rows))
    task_file.write_text(task_file.read_text().replace("id: qid, ", ""))
    task = registry.get_task(str(task_file))
    assert [s.id for s in load_samples(task, registry.get_dataset(task.dataset), LoadOptions())] == ["q1", "q2", "q3"]


def test_parquet_records(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow", reason="reading Parquet needs pyarrow")
    task_file = make_benchmark(tmp_path / "bench", "json")
    pd.DataFrame(QUESTIONS).to_parquet(tmp_path / "bench" / "questions.parquet")
    task_file.write_text(task_file.read_text().replace("questions.json", "questions.parquet"))
    task = registry.get_task(str(task_file))
    assert [s.target for s in load_samples(task, registry.get_dataset(task.dataset), LoadOptions())] == ["A", "B", "D"]


def test_a_saved_datasets_folder(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets", reason="a saved dataset folder is read with `datasets`")
    task_file = make_benchmark(tmp_path / "bench", "json")
    datasets.Dataset.from_list(QUESTIONS).save_to_disk(str(tmp_path / "bench" / "saved"))
    task_file.write_text(task_file.read_text().replace("questions.json", "saved"))
    task = registry.get_task(str(task_file))
    assert [s.target for s in load_samples(task, registry.get_dataset(task.dataset), LoadOptions())] == ["A", "B", "D"]


def test_the_tempeval_command_runs_a_task_file_from_its_own_folder(tmp_path: Path) -> None:
    import subprocess

    task_file = make_benchmark(tmp_path / "bench", "csv")
    code = "import sys; from tempeval.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, "run", "--model", "random", "--task", task_file.name, "--out", "runs",
         "--no-progress"],
        cwd=task_file.parent, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "my_mcq@1  3" in done.stdout and (task_file.parent / "runs" / "random" / "my_mcq.jsonl").is_file()


def test_diagnose_takes_a_task_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    task_file = make_benchmark(tmp_path / "bench")
    assert main(["diagnose", "--model", "random", "--task", str(task_file), "--out", str(tmp_path / "runs"),
                 "--no-progress", "--frames", "4", "--json"]) == 0
    assert '"my_mcq' in capsys.readouterr().out
