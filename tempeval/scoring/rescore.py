"""Score run records from their stored outputs and references: predict once, score many times.

Which scorer applies comes from the run header: ``scorers`` maps each parser mode to a scorer name, and
``parser_mode`` is the mode the run was scored in (``tempeval score --parser-mode`` picks another).

Scorers that need an LLM judge get one per record: the record's logged ``judge_calls`` replayed first, then the
live judge (``--judge``), whose new replies are added to the record's log (and saved by :func:`save_judge_calls`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from tempeval.errors import TempevalError
from tempeval.judge import JudgeError, ModelJudge, RecordJudge
from tempeval.results import RunFile, RunWriter
from tempeval.scoring.scorers import Judge, Reference, Scorer, get_scorer
from tempeval.types import Score


def scorer_for(header: Mapping[str, Any], mode: str | None = None) -> tuple[str, Scorer]:
    """The (mode, scorer) a run header asks for; ``mode`` overrides the header's parser mode."""
    scorers = header.get("scorers") or {"strict": "strict"}
    chosen = mode or header.get("parser_mode") or "strict"
    if chosen not in scorers:
        raise TempevalError(
            f"Task '{header.get('task')}' has no '{chosen}' parser mode; it has: {', '.join(sorted(scorers))}."
        )
    return chosen, get_scorer(scorers[chosen])


def reference_of(record: Mapping[str, Any], judge: Judge | None = None) -> Reference:
    """The scorer's view of a record."""
    return Reference(
        answer_format=record["answer_format"],
        target=record.get("target"),
        choices=tuple(record.get("choices") or ()),
        sample_id=str(record.get("sample_id", "")),
        question=record.get("question") or "",
        duration_s=record.get("duration_s"),
        meta=record.get("meta") or {},
        judge=judge,
        stream=record.get("stream"),
    )


def score_record(record: dict[str, Any], scorer: Scorer, judge: ModelJudge | None = None) -> dict[str, Any]:
    """The record with answer, parsed, score and note set by ``scorer`` (errors stay unscored).

    ``judge`` is the live judge; replies logged in the record are reused before it is asked.
    """
    if record.get("error") is not None or record.get("output") is None:
        return {**record, "answer": None, "parsed": False, "score": None}
    record_judge = RecordJudge(record.get("judge_calls") or (), judge)
    try:
        score = scorer(record["output"], reference_of(record, record_judge))
    except JudgeError as exc:  # no judge reply to be had: unparseable and counted, asked again on re-scoring
        score = Score(0.0, None, parsed=False, explanation=str(exc))
    scored = {**record, "answer": score.answer, "parsed": score.parsed, "score": score.value, "note": score.explanation}
    if record_judge.log:
        scored["judge_calls"] = record_judge.log
    return scored


def rescore(run: RunFile, mode: str | None = None, judge: ModelJudge | None = None) -> RunFile:
    """A run with every record scored again by the current scorers (in ``mode``, default the header's)."""
    chosen, scorer = scorer_for(run.header, mode)
    header = {**run.header, "parser_mode": chosen}
    return replace(run, header=header, records=[score_record(r, scorer, judge) for r in run.records])


def save_judge_calls(original: RunFile, rescored: RunFile) -> int:
    """Append the records of ``rescored`` that gained judge replies to the run file; returns how many.

    Later records supersede earlier ones, so the file keeps its append-only history. Scored in the file's own
    parser mode, the re-scored record is appended; in another mode, the original record with the longer judge log
    (stored scores always follow the header's mode).
    """
    same_mode = rescored.header.get("parser_mode") == original.header.get("parser_mode")
    before = {r["sample_id"]: r for r in original.records}
    gained = [
        r if same_mode else {**before[r["sample_id"]], "judge_calls": r["judge_calls"]}
        for r in rescored.records
        if len(r.get("judge_calls") or ()) > len(before[r["sample_id"]].get("judge_calls") or ())
    ]
    if gained:
        with RunWriter(original.path, None) as writer:
            for record in gained:
                writer.append({key: value for key, value in record.items() if key != "type"})
    return len(gained)
