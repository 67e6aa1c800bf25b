"""The dense_captioning kind wired end to end: task file, prompt, parser, strict scorer, run records, metrics."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tempeval import registry
from tempeval.adapter import create_adapter
from tempeval.adapters._answers import first_answer, random_answer
from tempeval.cli import main
from tempeval.loaders import LoadOptions
from tempeval.prompt import render
from tempeval.results import read_run, summarize
from tempeval.runner import RunOptions, run_task
from tempeval.scoring import captions
from tempeval.scoring.events import Event, events_of
from tempeval.scoring.parsers import gold_text, parse
from tempeval.scoring.scorers import score_output
from tempeval.task import TaskError, parse_task
from tempeval.types import Request
from tests.conftest import gold_policy, task_samples

LIMIT = 8  # samples per run here; the contract test runs the whole task

needs_java = pytest.mark.skipif(
    bool(captions.caption_metric_status()["METEOR"]), reason="METEOR and the PTB tokenizer need Java (no 'java' here)"
)


def test_task_file_accepts_the_kind_and_the_answer_format() -> None:
    base = {"name": "t", "version": 1, "dataset": "synth", "prompt": "{question}"}
    task = parse_task({**base, "kind": "dense_captioning", "answer_format": "events"}, "t.yaml")
    assert (task.kind, task.answer_format) == ("dense_captioning", "events")
    with pytest.raises(TaskError, match="answer_format 'event' is not one of .*events"):
        parse_task({**base, "kind": "dense_captioning", "answer_format": "event"}, "t.yaml")


def test_events_parse_through_the_answer_format_and_gold_text_inverts_it(load_options: LoadOptions) -> None:
    task = registry.get_task("synth_events")
    sample = task_samples(task, load_options)[0]
    assert all(isinstance(e, Event) for e in sample.target) and len(sample.target) >= 2
    assert "one per line, as 'start - end seconds, caption'" in render(task, sample, duration_s=5.0)
    gold = gold_text(sample, "events")
    assert parse("events", gold).answer == sample.target
    unparseable = parse("events", "I cannot tell.")
    assert not unparseable.ok and "no timed event" in unparseable.reason


def test_strict_scorer_values_events_at_localisation_f1() -> None:
    target = (Event(0, 10, "a"), Event(10, 20, "b"))
    half = score_output("events", "0 - 10 seconds, a\n40 - 50 seconds, c", [e.to_json() for e in target])
    assert half.value == pytest.approx(0.5) and half.answer == [[0.0, 10.0, "a"], [40.0, 50.0, "c"]]
    bad = score_output("events", "20 - 10 seconds, backwards", target)
    assert (bad.value, bad.parsed) == (0.0, False) and "after its end" in bad.explanation


def test_baseline_answers_are_parseable_events() -> None:
    request = Request("s", "prompt", None, answer_format="events", video_duration_s=30.0)
    for seed in range(20):
        parsed = parse("events", random_answer(request, random.Random(seed)))
        assert parsed.ok and all(0 <= e.start <= e.end <= 30 for e in parsed.answer)
    assert parse("events", first_answer(request)).answer == (Event(0.0, 30.0, "something happens"),)


def _run(tmp_path: Path, load_options: LoadOptions, policy_of: object, label: str) -> Path:
    task = registry.get_task("synth_events")
    samples = task_samples(task, load_options)[:LIMIT]
    adapter = create_adapter("scripted", {"policy": policy_of(task, samples), "label": label})  # type: ignore[operator]
    options = RunOptions(out_dir=tmp_path, load=load_options, progress=False, limit=LIMIT)
    run_task(task, adapter, f"scripted/{label}", options)
    return next(tmp_path.rglob("*.jsonl"))


@needs_java
def test_gold_scores_full_localisation_and_the_cider_its_captions_imply(
    tmp_path: Path, load_options: LoadOptions
) -> None:
    path = _run(tmp_path, load_options, gold_policy, "gold")
    run = read_run(path)
    record = run.records[0]
    assert isinstance(record["target"][0], list) and record["score"] == 1.0  # stored as [start, end, caption]
    metrics = summarize(run).metrics
    for t in (0.3, 0.5, 0.7, 0.9):
        assert metrics[f"F1@{t}"].value == pytest.approx(100.0)
    assert metrics["METEOR"].value == pytest.approx(100.0) and metrics["SODA_c"].value == pytest.approx(100.0)
    # CIDEr-D of each video's captions scored against themselves (one video's pairs per call, as the protocol does).
    cider = captions.coco_metric("CIDEr")
    implied = []
    for r in run.records:
        tokens = captions.tokenize([e.caption for e in events_of(r["target"])])
        implied.append(cider(tokens, tokens)[0])
    assert metrics["CIDEr"].value == pytest.approx(100.0 * sum(implied) / len(implied))
    assert metrics["CIDEr"].value > 0


def test_unparseable_and_errored_answers_stay_in_the_denominator(tmp_path: Path, load_options: LoadOptions) -> None:
    def policy(task: object, samples: list) -> object:  # type: ignore[type-arg]
        answers = {s.id: gold_text(s, "events") for s in samples}
        answers[samples[0].id] = "Shapes appear, one after another."  # no timed event: unparseable
        return lambda request: answers[request.sample_id]

    path = _run(tmp_path, load_options, policy, "mixed")
    summary = summarize(read_run(path))
    assert (summary.n, summary.unparseable) == (LIMIT, 1)
    assert summary.metrics["Recall@0.5"].value == pytest.approx(100.0 * (LIMIT - 1) / LIMIT)


def test_rescoring_from_the_file_gives_the_same_figures(
    tmp_path: Path, load_options: LoadOptions, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _run(tmp_path, load_options, gold_policy, "gold")
    stored = summarize(read_run(path)).metrics
    capsys.readouterr()
    assert main(["score", str(path), "--json"]) == 0
    scored = next(o for o in map(json.loads, capsys.readouterr().out.splitlines()) if "task" in o)
    assert scored["metrics"]["F1@0.5"] == pytest.approx(stored["F1@0.5"].value) == pytest.approx(100.0)
