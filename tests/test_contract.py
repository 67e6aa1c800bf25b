"""The task contract: every registered task loads, renders, and scores a gold policy 100 and a wrong one 0, in its
default parser mode and, re-scored, in its official mode where it has one (exceptions listed in OFFICIAL_EXCEPTIONS)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from tempeval import registry
from tempeval.adapter import create_adapter
from tempeval.cli import main
from tempeval.loaders import LoadOptions
from tempeval.prompt import FIELDS, check_template, render
from tempeval.results import RESUME_FIELDS, read_run
from tempeval.runner import RunOptions, run_task
from tempeval.scoring.metrics import MetricValue
from tests.conftest import gold_policy, task_samples, wrong_policy

TASKS = sorted(registry.tasks())
HEADER_FIELDS = (*RESUME_FIELDS, "schema_version", "task_kind", "tempeval_version", "packages", "started_at")
OFFICIAL_EXCEPTIONS: dict[str, str] = {
    "tempcompass_captioning": "the official scorer always asks the LLM judge (a caption is never rule-scored); "
    "without --judge every answer is unparseable",
    "tempcompass_caption_matching": "for 'Option 1/2' questions the official rule reads only '1', '2', 'Option 1' or "
    "the sentence; the gold letter ('B') goes to the LLM judge, unparseable without --judge",
    "vlm4d_real": "the official scorer always asks the LLM judge (o4-mini protocol); unparseable without --judge",
    "vlm4d_synthetic": "the official scorer always asks the LLM judge (o4-mini protocol); unparseable without --judge",
    "vidtext_text_localization": "the official reads only a JSON object {start, end}; the gold 'start - end' is IoU 0",
}
"""Task -> why its official mode cannot score the gold policy 100 and the wrong one 0 (documented quirks)."""
STREAM_NOT_SCORES: dict[str, Any] = {
    "duplicate_rate": lambda value: value == 0,  # each policy answers each window once
    "mean_delay_s": lambda value: math.isnan(value) or 0 <= value <= 2,  # within the due window, or none answered
    "median_delay_s": lambda value: math.isnan(value) or 0 <= value <= 2,
}
"""Streaming metrics that are not scores from 0 to 100, and what the gold and wrong policies give."""
GOLD_NOT_100: dict[str, str] = {
    "CIDEr": "CIDEr-D of a caption against itself is 10 x its n-gram cosine, not 1 (1000 in percent); "
    "test_dense_wiring checks the value the captions imply",
}
"""Metric -> why the gold policy does not score it 100 (the wrong policy still scores 0)."""
GOLD_LETTER_ONLY: dict[str, str] = {
    task: "GVQ's R@t / mRec / mIoU need the right option and its window; the gold answer is the letter alone"
    for task in ("etbench_gvq", "etbench_subset_gvq")
}
"""Task -> why its grounding figures cannot reach 100 for the gold policy (only ``Acc`` is checked there)."""
OVERLAPPING_EVENTS: dict[str, str] = {
    task: "its first video's two events overlap (tIoU 0.74), and the densevid protocol pairs a prediction with every "
    "event it overlaps by >= t, so even the gold captions meet a wrong reference: BLEU-4 / METEOR / CIDEr < 100"
    for task in ("activitynet_captions_dense_val_1",)
}
"""Task -> why the gold policy's matched-pair caption metrics are below 100 (localisation and SODA_c are checked)."""
PREPROCESSED: dict[str, str] = {
    "hirest_moment_segmentation": "evaluate.py's preprocessing drops windows touching the moment's ends and "
    "suppresses touching ones, then tiles the moment: P/R@t are neither 100 for gold nor 0 for wrong answers "
    "(checked on hand-made cases in test_bench_vidchapters_hirest); the raw figures are checked here",
}
"""Task -> why its official-pipeline figures (names without ``raw``) are not checked by this test."""


def reported_missing(metric: MetricValue) -> bool:
    """A metric that cannot run here is reported as NaN over no units (METEOR without Java, SentSim without a
    local embedding model), never dropped."""
    return metric.n == 0 and math.isnan(metric.value)


def exempt(task: str, metric: str, label: str) -> bool:
    """Whether the contract's 100-for-gold / 0-for-wrong does not apply (the reasons above)."""
    if task in PREPROCESSED and metric[:2] in ("P@", "R@"):
        return True
    gold_only = (
        metric in GOLD_NOT_100
        or (task in GOLD_LETTER_ONLY and not metric.startswith("Acc"))
        or (task in OVERLAPPING_EVENTS and metric in ("BLEU-4", "METEOR", "CIDEr"))
    )
    return label == "gold" and gold_only


def official_summary(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """``tempeval score --parser-mode official --json`` of one run folder (predict once, score again)."""
    capsys.readouterr()
    assert main(["score", str(run_dir), "--json", "--parser-mode", "official"]) == 0
    return next(o for o in map(json.loads, capsys.readouterr().out.splitlines()) if "task" in o)


@pytest.mark.parametrize("name", TASKS)
def test_task_contract(
    name: str, load_options: LoadOptions, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = registry.get_task(name)
    check_template(task)
    samples = task_samples(task, load_options)
    # The synthetic suite is full size; benchmark tasks run on small fixtures in their documented schema.
    assert len(samples) >= (20 if task.dataset == "synth" else 3), "too few samples to test the task"
    assert len({s.id for s in samples}) == len(samples), "sample ids must be unique within a task"
    for sample in samples[:5]:
        prompt = render(task, sample, duration_s=5.0)
        # No placeholder left unfilled (a literal brace is fine: TOMATO's official prompt shows a Python dict).
        assert sample.question in prompt and not re.search(r"\{(" + "|".join(FIELDS) + r")\}", prompt)

    for label, make_policy, expected in (("gold", gold_policy, 100.0), ("wrong", wrong_policy, 0.0)):
        adapter = create_adapter("scripted", {"policy": make_policy(task, samples), "label": label})
        options = RunOptions(out_dir=tmp_path / label, load=load_options, progress=False)
        summary = run_task(task, adapter, f"scripted/{label}", options)
        assert summary.n == len(samples) and summary.errors == 0 and summary.unparseable == 0
        assert summary.headline in summary.metrics
        for metric_name, metric in summary.metrics.items():
            if metric_name in STREAM_NOT_SCORES:  # seconds, or a rate both policies keep at 0
                assert STREAM_NOT_SCORES[metric_name](metric.value), f"{label} policy: {metric_name} = {metric.value}"
                continue
            if reported_missing(metric) or exempt(name, metric_name, label):
                continue
            # abs: pycocoevalcap's BLEU has a tiny floor (1e-9 %) where no n-gram matches
            assert metric.value == pytest.approx(expected, abs=1e-6), f"{label} policy: {metric_name} = {metric.value}"
        if "official" in task.scorers:
            official = official_summary(tmp_path / label, capsys)
            assert (official["n"], official["errors"]) == (len(samples), 0), label
            if name in OFFICIAL_EXCEPTIONS:
                continue
            assert official["unparseable"] == 0, f"official, {label} policy"
            for metric_name, value in official["metrics"].items():
                if metric_name in STREAM_NOT_SCORES:
                    assert STREAM_NOT_SCORES[metric_name](value), f"official, {label} policy: {metric_name} = {value}"
                    continue
                if value is None or math.isnan(value) or exempt(name, metric_name, label):
                    continue
                assert value == pytest.approx(expected), f"official, {label} policy: {metric_name} = {value}"

    header = read_run(next((tmp_path / "gold").rglob("*.jsonl"))).header
    missing = [field for field in HEADER_FIELDS if field not in header]
    assert not missing, f"run header lacks {missing}"
