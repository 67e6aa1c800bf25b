"""The densevid submission format, shared by the dense-captioning benchmarks' importers.

ActivityNet Captions' ``evaluate.py``, YouCook2 papers (PDVC, Vid2Seq) and VidChapters' ``dvc_eval`` all read
``{"version": ..., "results": {"<video>": [{"timestamp": [s, e], "sentence": "..."}, ...]}, "external_data":
...}``. :func:`submission_outputs` turns one into answer text per video (``events.format_events``), so the
imported run is parsed and scored like a model's answer. A reversed window is an error naming the video and the
entry (the scripts would score it with a negative intersection); a video with an empty list is kept as an answer
with no events (unparseable, counted, scoring 0 as the scripts score it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempeval.benchmarks.grounding import checked_events
from tempeval.data import read_json
from tempeval.errors import TempevalError
from tempeval.scoring.events import format_events

if TYPE_CHECKING:
    from tempeval.importing import SamplesOf


def submission_outputs(path: Path) -> dict[str, str]:
    """Video -> answer text of one densevid submission file."""
    raw = read_json(path)
    results = raw.get("results") if isinstance(raw, Mapping) else None
    if not isinstance(results, Mapping):
        raise TempevalError(
            f"{path}: not a densevid submission. Expected {{\"results\": {{\"<video>\": [{{\"timestamp\": [s, e], "
            "\"sentence\": ...}]}}} (the ActivityNet dense-captioning format)."
        )
    outputs = {}
    for video, entries in results.items():
        where = f"{path}: video {video}"
        if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
            raise TempevalError(f"{where}: expected a list of {{timestamp, sentence}} entries.")
        try:
            events = checked_events(((e["timestamp"], e["sentence"]) for e in entries), where, "entry")
        except KeyError as exc:
            raise TempevalError(f"{where}: an entry lacks {exc}; each needs timestamp and sentence.") from None
        outputs[str(video)] = format_events(events)
    return outputs


def import_submissions(
    paths: Sequence[Path], samples_of: SamplesOf, tasks: Sequence[str]
) -> dict[str, dict[str, str | None]]:
    """Every task in ``tasks`` gets the submissions' answers for its videos; a video in no task is an error."""
    outputs: dict[str, str] = {}
    for path in paths:
        outputs.update(submission_outputs(path))
    known: dict[str, set[str]] = {task: {s.id for s in samples_of(task)} for task in tasks}
    unknown = sorted(set(outputs) - set().union(*known.values()))
    if unknown:
        raise TempevalError(
            f"{len(unknown)} submitted video(s) are in none of {', '.join(tasks)} (first: {unknown[0]}). Is this a "
            "submission for another dataset or split?"
        )
    imported: dict[str, dict[str, Any]] = {
        task: {v: t for v, t in outputs.items() if v in ids} for task, ids in known.items()
    }
    return {task: answers for task, answers in imported.items() if answers}
