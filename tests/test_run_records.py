"""RunRecord / RunHeader: the typed lines of a run file, exactly round-tripped to and from their JSON objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tempeval.errors import RunFileError
from tempeval.records import RunHeader, RunRecord
from tempeval.results import RunWriter, read_run, rows_of, write_run_file
from tempeval.scoring.rescore import score_record
from tempeval.scoring.scorers import get_scorer

SCORED = {
    "type": "record", "sample_id": "q1", "video_id": "v1", "video": "videos/v1.mp4", "question": "Which?",
    "choices": ["left", "right"], "target": "B", "answer_format": "letter", "query_time_s": None, "duration_s": 4.0,
    "meta": {"dimension": "direction"}, "prompt": "[prompt]", "prompt_sha": "abc", "context_sha": None,
    "frame_times": [0.5, 1.5], "frame_indices": [15, 45], "frame_time_labels": [0.5, 1.5], "output": "B",
    "error": None, "latency_s": 0.01, "usage": {"prompt_tokens": 3}, "finish_reason": "stop", "answer": "B",
    "parsed": True, "score": 1.0, "note": None,
}
OLD = {"type": "record", "sample_id": "q2", "output": "A", "error": None, "score": 0.0, "answer_format": "letter"}
"""A record of an early run file: most fields did not exist yet."""


@pytest.mark.parametrize("line", [SCORED, OLD, {**SCORED, "actions": [{"t": 1.0, "say": "now"}], "events": []}],
                         ids=["scored", "old", "kind-specific"])
def test_a_record_round_trips_key_for_key_in_order(line: dict[str, object]) -> None:
    record = RunRecord.from_json(json.loads(json.dumps(line)))
    assert record.to_json() == line
    assert list(record.to_json()) == list(line), "the keys in the order they were read"
    assert json.dumps(record.to_json()) == json.dumps(line), "the same bytes"


def test_missing_fields_read_as_their_old_defaults_and_unknown_keys_are_kept() -> None:
    old = RunRecord.from_json(OLD)
    assert (old.choices, old.meta, old.frame_times, old.parsed, old.reasoning) == ((), {}, (), None, None)
    assert old.was_parsed, "a record scored before 'parsed' existed: parsed unless an error"
    assert old.told_times == (), "no labels: the true times were told"
    assert "choices" not in old.to_json(), "a default is not written into an old record"
    streaming = RunRecord.from_json({**OLD, "actions": [{"t": 1.0}]})
    assert streaming.extra == {"actions": [{"t": 1.0}]}
    assert streaming["actions"] == [{"t": 1.0}], "the mapping view reads the JSON object"
    assert streaming.with_fields(score=1.0)["actions"] == [{"t": 1.0}], "a new score keeps kind-specific fields"


def test_with_fields_writes_what_it_sets_even_when_none_and_without_drops_keys() -> None:
    built = RunRecord(sample_id="q", answer_format="letter", output=None, error="boom")
    assert "answer" not in built.to_json() and "reasoning" not in built.to_json()
    scored = built.with_fields(answer=None, parsed=False, score=None)
    assert list(scored.to_json())[-3:] == ["answer", "parsed", "score"]
    assert scored.to_json()["answer"] is None
    assert "score" not in scored.without("score").to_json() and scored.without("score").score is None


def test_a_line_of_another_type_is_refused() -> None:
    with pytest.raises(RunFileError, match="expected a 'record' line"):
        RunRecord.from_json({"type": "header", "sample_id": "x"})


def test_run_files_keep_every_key_through_read_score_and_write(tmp_path: Path) -> None:
    header = {"type": "header", "schema_version": 1, "task": "t", "task_version": "1", "model": "m",
              "scorers": {"strict": "strict"}, "parser_mode": "strict", "provenance_field": {"x": 1}}
    path = tmp_path / "run.jsonl"
    lines = [header, {**SCORED, "events": [[0.0, 1.0, "a"]]}, OLD]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    run = read_run(path)
    assert isinstance(run.header, RunHeader) and run.header.task == "t" and run.header["provenance_field"] == {"x": 1}
    assert all(isinstance(record, RunRecord) for record in run.records)
    copy = write_run_file(tmp_path / "copy.jsonl", run.header, run.records)
    assert copy.read_text() == path.read_text(), "read then written: byte for byte the same file"
    rescored = score_record(run.records[0], get_scorer("strict"))
    assert rescored.extra == {"events": [[0.0, 1.0, "a"]]} and rescored.score == 1.0
    with RunWriter(path, None) as writer:
        writer.append(rescored.with_fields(output="A"))
    again = read_run(path)
    assert again.records[-1].output == "A" and again.records[-1]["events"] == [[0.0, 1.0, "a"]]
    assert [row.value for row in rows_of(again.records)] == [0.0, 1.0]


def test_a_line_is_a_read_only_dict_of_its_json_object() -> None:
    import copy
    import pickle

    record = RunRecord.from_json({**OLD, "actions": [1]})
    assert json.dumps(record) == json.dumps(OLD | {"actions": [1]}), "scripts json.dumps what they read"
    assert record == {**OLD, "actions": [1]} and isinstance(record, dict)
    with pytest.raises(TypeError, match="read-only"):
        record["score"] = 1.0
    with pytest.raises(TypeError, match="read-only"):
        record.update(score=1.0)
    assert record.score == 0.0, "the typed field and the dict never disagree"
    for clone in (pickle.loads(pickle.dumps(record)), copy.deepcopy(record)):
        assert clone == record and clone.to_json() == record.to_json() and clone.extra == {"actions": [1]}
    built = RunRecord(sample_id="b", output="A").with_fields(score=1.0)
    assert json.loads(json.dumps(built))["score"] == 1.0 and built["output"] == "A"
