"""StreamingBench as streams: its annotations read in the official schema, tempeval's view and the official view
from one log, never mixed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tempeval import registry
from tempeval.adapter import create_adapter
from tempeval.benchmarks.streamingbench import seconds
from tempeval.loaders import LoadOptions
from tempeval.results import read_run
from tempeval.runner import RunOptions, run_task
from tempeval.streaming.queries import stream_queries
from tempeval.types import Request
from tests.conftest import poll_time, samples_of


def test_each_part_is_one_stream_per_video_with_its_questions_at_their_times(fixture_data_dir: Path) -> None:
    real = samples_of("streamingbench_realtime", fixture_data_dir)
    assert [s.id for s in real] == ["sample_1_real", "sample_2_real", "sample_3_real"]
    first = stream_queries(real[0].target, real[0].id)
    assert [(q.asked_at_s, q.target) for q in first] == [(6.0, "B"), (15.0, "D")]
    assert first[0].choices == ("a map", "a compass", "a radar", "a clock"), "the file's 'A. ' prefixes are dropped"
    sqa = samples_of("streamingbench_sqa", fixture_data_dir)
    assert [len(stream_queries(s.target, s.id)) for s in sqa] == [2, 2, 2], "a video's nested clips are one stream"
    proactive = stream_queries(samples_of("streamingbench_proactive", fixture_data_dir)[2].target, "p")
    assert [(q.asked_at_s, q.due_windows, q.target) for q in proactive] == [(2.0, ((10.0, 12.0),), "3")]
    assert seconds("00:10:18") == 618.0 and seconds("3:10") == 190.0


def run(task: str, policy: object, load: LoadOptions, out: Path) -> list[dict[str, object]]:
    adapter = create_adapter("scripted", {"policy": policy})
    summary = run_task(registry.get_task(task), adapter, "m", RunOptions(out_dir=out, load=load, progress=False))
    return read_run(summary.path).records


def test_official_accuracy_drops_unanswered_questions_and_tempevals_keeps_them(
    load_options: LoadOptions, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tempeval.results import summarize

    def policy(request: Request) -> str:  # answers the first question of each stream right, never the others
        assert request.poll is not None
        ids = [query_id for query_id, _, _ in request.poll.open_queries]
        stream = poll_time(request)[0]
        right = {"sample_1_real": "B", "sample_2_real": "A", "sample_3_real": "C"}[stream]
        return f"[q0] {right}" if "q0" in ids else "WAIT"

    run("streamingbench_realtime", policy, load_options, tmp_path)
    summary = summarize(read_run(next(tmp_path.rglob("*.jsonl"))))
    assert summary.metrics["query_time_accuracy"].value == pytest.approx(75.0), "3 right of 4, the 4th unanswered"
    assert summary.metrics["answered_query_accuracy"].value == pytest.approx(100.0), "count.py leaves the 4th out"


def test_the_official_proactive_rule_and_tempevals_timing_read_the_same_log(
    load_options: LoadOptions, tmp_path: Path
) -> None:
    def policy(request: Request) -> str:  # answers 1.5 s before each ground-truth time, in a sentence
        assert request.poll is not None
        stream, now = poll_time(request)
        n = int(stream.split("_")[1])
        return f"[q0] it shows {n} now" if now >= 4 + 2 * n - 1.5 else "WAIT"

    from tempeval.results import summarize

    run("streamingbench_proactive", policy, load_options, tmp_path)
    summary = summarize(read_run(next(tmp_path.rglob("*.jsonl"))))
    assert summary.metrics["proactive_time_accuracy"].value == 100, "within ±2 s of the truth"
    assert summary.metrics["proactive_answer_accuracy"].value == 100, "the target is a substring of the reply"
    assert summary.metrics["timing_score"].value == 0 and summary.metrics["event_recall"].value == 0, (
        "tempeval's view: an answer before the event is premature"
    )


def test_the_omni_source_audio_tasks_are_not_offered() -> None:
    import tempeval.benchmarks.streamingbench as module

    assert "Audio is not evaluated" in (module.__doc__ or "")
    assert not [name for name in registry.tasks() if name.startswith("streamingbench") and "omni" in name]


def test_the_group_averages_proactive_answer_accuracy_not_its_timing_score(
    load_options: LoadOptions, tmp_path: Path
) -> None:
    from tempeval.groups import summarize_groups
    from tempeval.results import summarize

    def realtime(request: Request) -> str:  # every question of every stream answered "A" (some right)
        assert request.poll is not None
        return " ".join(f"[{query_id}] A" for query_id, _, _ in request.poll.open_queries)

    def proactive(request: Request) -> str:  # right content 1.5 s early: official right, tempeval's timing 0
        assert request.poll is not None
        stream, now = poll_time(request)
        n = int(stream.split("_")[1])
        return f"[q0] it shows {n} now" if now >= 4 + 2 * n - 1.5 else "WAIT"

    for task, policy in (("realtime", realtime), ("sqa", realtime), ("proactive", proactive)):
        run(f"streamingbench_{task}", policy, load_options, tmp_path / task)
    runs = [read_run(path) for path in sorted(tmp_path.rglob("*.jsonl"))]
    summaries = [summarize(r) for r in runs]
    by_task = {s.task: s for s in summaries}
    [group] = summarize_groups(runs, summaries)
    assert group.group == "streamingbench" and "accuracy" not in group.metrics, "the mean is named 'average'"
    assert by_task["streamingbench_proactive"].metrics["timing_score"].value == 0
    expected = (by_task["streamingbench_realtime"].metrics["query_time_accuracy"].value
                + by_task["streamingbench_sqa"].metrics["query_time_accuracy"].value + 100) / 3
    assert group.metrics["average"].value == pytest.approx(expected)
    assert group.metrics["proactive"].value == 100, "the member enters with proactive_answer_accuracy"
    assert group.metrics["average"].ci is not None, "its CI is bootstrapped from that metric's draws"


def test_a_group_file_with_a_malformed_member_metrics_says_which_group_and_how(tmp_path: Path) -> None:
    from tempeval.errors import TempevalError
    from tempeval.registry import _read_groups

    path = tmp_path / "groups.yaml"
    path.write_text("mine:\n  aggregate: macro\n  member_metrics: [proactive_answer_accuracy]\n", encoding="utf-8")
    with pytest.raises(TempevalError, match=r"groups.yaml: group 'mine': member_metrics must map a member task"):
        _read_groups(path)
