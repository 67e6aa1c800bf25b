"""How long `tempeval leaderboard build` takes for 50 models x 20 tasks x 100 records (target: under 5 s).

Writes synthetic run files (headers shaped like the runner's, records with stored scores) for 20 registered
tasks (the synth suite, TVBench and three single tasks, so macro and micro groups both occur) into a temporary
folder, then times one build. Not a test; run it by hand:

    python bench/leaderboard_build.py [--models 50] [--records 100] [--keep DIR]

The tests import :func:`synthetic_header` and :func:`synthetic_records` to write their own fixture runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tempeval import registry
from tempeval.task import Task

TASKS = (
    "synth_claims", "synth_count", "synth_direction", "synth_grounding", "synth_online", "synth_order", "synth_speed",
    "tvbench_action_antonym", "tvbench_action_count", "tvbench_action_localization", "tvbench_action_sequence",
    "tvbench_egocentric_sequence", "tvbench_moving_direction", "tvbench_object_count", "tvbench_object_shuffle",
    "tvbench_scene_transition", "tvbench_unexpected_action", "charades_sta", "spookybench", "vinoground",
)
KEY_VALUES = {"mode": ("forward", "backward", "realtime")}
"""Meta values for keys whose values metrics look for; other keys cycle through a few labels."""


def synthetic_header(
    task: Task, model: str, started_at: str, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A run header for ``task`` as the runner writes it (the fields the leaderboard and metrics read), with
    ``overrides`` replacing fields."""
    header = {
        "type": "header",
        "schema_version": 1,
        "task": task.name,
        "task_version": task.version,
        "task_kind": task.kind,
        "answer_format": task.answer_format,
        "parser_mode": task.parser_mode,
        "judge": None,
        "scorers": dict(task.scorers),
        "headline": task.headline,
        "metrics": [m.to_dict() for m in task.metrics],
        "group_by": list(task.group_by),
        "dataset": {"name": task.dataset, "source": "builtin", "revision": "bench"},
        "model": model,
        "model_args": {},
        "generation": task.generation.to_dict(),
        "frames": task.frames.to_dict(),
        "decoder": "pyav",
        "seed": 0,
        "limit": None,
        "tempeval_version": "0.1.0",
        "git_commit": None,
        "started_at": started_at,
    }
    header.update(overrides or {})
    return header


def _meta_keys(task: Task) -> dict[str, tuple[Any, ...]]:
    """Every meta key a metric of ``task`` (or of its groups) groups or filters by, with values to use."""
    keys: dict[str, set[Any]] = {key: set() for key in task.group_by}
    for spec in task.metrics:
        if spec.by:
            keys.setdefault(spec.by, set())
        for key, value in spec.where.items():
            keys.setdefault(key, set()).add(value)
    for group in task.groups:
        for key in registry.group_spec(group).by:
            keys.setdefault(key, set())
    return {key: tuple(sorted(values, key=str)) or KEY_VALUES.get(key, ("alpha", "beta", "gamma")) for key, values in
            keys.items()}


def synthetic_records(task: Task, count: int, skill: float, seed: str) -> list[dict[str, Any]]:
    """``count`` scored records: right with probability ``skill``, a few unparseable outputs and errors."""
    rng = random.Random(seed)
    keys = _meta_keys(task)
    records = []
    for index in range(count):
        sample_id = f"{task.name}-{index:04d}"
        meta: dict[str, Any] = {key: values[index % len(values)] for key, values in keys.items()}
        meta["video_id"] = f"video-{index // 2:04d}"  # two questions per video: a clustered bootstrap
        meta.setdefault("pair_id", f"pair-{index // 2:04d}")
        draw = rng.random()
        error = "HTTP 503: upstream timeout" if draw > 0.99 else None
        parsed = error is None and draw < 0.97
        if task.kind == "streaming":
            target, answer, output, score = _stream_outcome(rng, skill, parsed)
        elif task.answer_format == "window":
            score = round(rng.random() * skill * 1.6, 4) if parsed else 0.0
            target: Any = [1.0, 4.0]
            output = "2.0 - 5.0" if parsed else "somewhere in the middle"
            answer: Any = [2.0, 5.0] if parsed else None
        elif task.answer_format == "events":  # dense captioning: two events; right = both found and captioned
            right = rng.random() < skill
            score = float(right) if parsed else 0.0
            target = [[1.0, 4.0, "a red circle appears"], [4.0, 7.0, "a blue square appears"]]
            answer = (target if right else [[0.0, 0.5, "nothing happens here"]]) if parsed else None
            output = "\n".join(f"{s} - {e} seconds, {c}" for s, e, c in answer) if answer else "Shapes appear."
        else:
            right = rng.random() < skill
            score = float(right) if parsed else 0.0
            target = "B"
            answer = ("B" if right else "C") if parsed else None
            output = f"The answer is ({answer})." if parsed else "I cannot tell from these frames."
        records.append(
            {
                "type": "record",
                "sample_id": sample_id,
                "video_id": meta["video_id"],
                "question": f"Question {index} about {task.name}: what happens after the flash?",
                "choices": ["a red circle", "a blue square", "a green triangle", "nothing"],
                "target": target,
                "answer_format": task.answer_format,
                "query_time_s": None,
                "duration_s": 8.0,
                "meta": meta,
                "prompt": f"Question {index} about {task.name}: what happens after the flash?\n(A) a red circle\n"
                          "(B) a blue square\n(C) a green triangle\n(D) nothing\nAnswer with the option's letter.",
                "prompt_sha": "0" * 16,
                "frame_times": [round(0.5 + i, 2) for i in range(8)],
                "output": None if error else output,
                "error": error,
                "latency_s": 0.1,
                "answer": answer,
                "parsed": parsed,
                "score": None if error else score,
                "note": "",
            }
        )
    return records


def _stream_outcome(rng: random.Random, skill: float, parsed: bool) -> tuple[Any, Any, str, float]:
    """A stream's (target, outcome, output, score): one event due at 4-6 s, answered on time with probability
    ``skill``, and one count asked at 8 s, right with probability ``skill``."""
    from tempeval.scoring.stream_records import outcome_of
    from tempeval.scoring.streaming import TimingRule
    from tempeval.streaming.events import LogEntry, Respond
    from tempeval.streaming.queries import stream_queries

    target = [
        {"query_id": "when", "asked_at_s": 0.0, "text": "Say when it appears.", "due_windows": [[4.0, 6.0]]},
        {"query_id": "count", "asked_at_s": 8.0, "text": "How many?", "answer_format": "number", "target": 2},
    ]
    at = 4.5 if rng.random() < skill else 9.0
    count = "2" if rng.random() < skill else ("3" if parsed else "many")
    entries = [LogEntry(at, at, Respond("now", "when")), LogEntry(8.0, 8.0, Respond(count, "count"))]
    outcome = outcome_of(entries, stream_queries(target, "synthetic"), TimingRule())
    values = [q["value"] for q in outcome["queries"]] + [w["timing_score"] for w in outcome["windows"]]
    return target, outcome, f"{at:.2f} s [when] now\n8.00 s [count] {count}", sum(values) / len(values)


def write_run(path: Path, header: dict[str, Any], records: Sequence[dict[str, Any]]) -> Path:
    """Write a run file: the header line, then one line per record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for line in (header, *records):
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    return path


def write_suite(root: Path, models: int, records: int) -> int:
    """Run files for ``models`` synthetic models on every task of ``TASKS``; returns how many files."""
    tasks = registry.tasks()
    written = 0
    for m in range(models):
        model = f"bench/model-{m:02d}"
        skill = 0.25 + 0.6 * m / max(1, models - 1)
        for name in TASKS:
            header = synthetic_header(tasks[name], model, f"2025-01-{1 + m % 28:02d}T12:00:00+00:00")
            write_run(root / f"model-{m:02d}" / f"{name}.jsonl", header,
                      synthetic_records(tasks[name], records, skill, f"{model}:{name}"))
            written += 1
    return written


def _cpu_seconds() -> float:
    """CPU time of this process and its finished worker processes."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the suite, build the site once, print the time."""
    from tempeval.leaderboard.build import build

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="write runs and site here instead of a temporary folder")
    args = parser.parse_args(argv)
    load = os.getloadavg()  # other work on the machine stretches the wall time; say how busy it was
    with tempfile.TemporaryDirectory() as scratch:
        root = args.keep or Path(scratch)
        files = write_suite(root / "runs", args.models, args.records)
        start, cpu = time.perf_counter(), _cpu_seconds()
        index = build([root / "runs"], root / "site")
        seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
        size = sum(p.stat().st_size for p in index.parent.rglob("*") if p.is_file())
        data_size = (index.parent / "data.js").stat().st_size
    print(
        f"leaderboard build: {args.models} models x {len(TASKS)} tasks x {args.records} records "
        f"({files} run files) in {seconds:.2f} s wall ({cpu:.1f} CPU-seconds over {os.cpu_count()} cores; "
        f"load average before {load[0]:.1f}); site {size / 1e6:.1f} MB, data.js {data_size / 1e3:.0f} kB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
