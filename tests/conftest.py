"""Shared fixtures: one synthetic suite per test session, generated into a temporary folder."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from tempeval import registry
from tempeval.loaders import LoadOptions, load_samples
from tempeval.scoring.events import events_of
from tempeval.scoring.parsers import LETTERS, gold_text
from tempeval.task import Task
from tempeval.types import Request, Sample


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session-wide synthetic suite folder (generated on first use by the loader)."""
    return tmp_path_factory.mktemp("synth")


@pytest.fixture(scope="session")
def fixture_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every benchmark's small fixture dataset (documented schema, stand-in videos), built once per session."""
    from tests.fixtures import build_all

    return build_all(tmp_path_factory.mktemp("benchmark-data"))


@pytest.fixture(scope="session")
def load_options(synth_dir: Path, fixture_data_dir: Path) -> LoadOptions:
    return LoadOptions(synth_dir=synth_dir, data_dir=fixture_data_dir)


def samples_of(task_name: str, data_dir: Path) -> list[Sample]:
    """A task's samples from a benchmark data folder: what the loader gives ``tempeval run --data-dir``."""
    task = registry.get_task(task_name)
    return load_samples(task, registry.get_dataset(task.dataset), LoadOptions(data_dir=data_dir))


def task_samples(task: Task, options: LoadOptions) -> list[Sample]:
    return load_samples(task, registry.get_dataset(task.dataset), options)


def answer_format(task: Task, sample: Sample) -> str:
    return sample.answer_format or task.answer_format


def wrong_text(sample: Sample, fmt: str) -> str:
    """An answer that is well-formed and certainly wrong (IoU 0 for windows)."""
    target = sample.target
    if fmt == "letter":
        return LETTERS[(LETTERS.index(target) + 1) % len(sample.choices)]
    if fmt == "yes_no":
        return "No" if target else "Yes"  # capitalised like gold_text (OVO-Bench official is case-sensitive)
    if fmt == "true_false":
        return "FALSE" if target else "TRUE"
    if fmt == "window":  # one window [s, e] or several [[s, e], ...]: answer outside all of them
        windows = target if isinstance(target[0], (list, tuple)) else [target]
        start, end = min(float(w[0]) for w in windows), max(float(w[1]) for w in windows)
        return f"0.0 - {start:.3f}" if start > 0 else f"{end:.3f} - {end + 1:.3f}"
    if fmt == "letter_window":  # the wrong letter and a window outside every evidence window
        letter, windows = target
        wrong_letter = LETTERS[(LETTERS.index(letter) + 1) % len(sample.choices)]
        return f"{wrong_letter}, {wrong_text(dataclasses.replace(sample, target=windows), 'window')}"
    if fmt == "number":
        return str(int(target) + 1)
    if fmt == "letters":  # one right option too few (or, for a single one, the next option)
        letters = list(target)
        if len(letters) > 1:
            return ", ".join(letters[:-1])
        return LETTERS[(LETTERS.index(letters[0]) + 1) % len(sample.choices)]
    if fmt == "events":  # one event after every target event, with a caption sharing none of their words
        end = max(float(e.end) for e in events_of(target))
        return f"{end + 1:.2f} - {end + 2:.2f} seconds, nothing else"
    return "certainly not the answer"


def policy_from(task: Task, samples: list[Sample], answer: Callable[[Sample, str], str]) -> Callable[[Request], str]:
    """A scripted policy built by the test from samples it loaded itself (the adapter never sees targets)."""
    by_id = {s.id: answer(s, answer_format(task, s)) for s in samples}
    return lambda request: by_id[request.sample_id]


def gold_policy(task: Task, samples: list[Sample]) -> Callable[[Request], str]:
    if task.kind == "streaming":
        return stream_policy(samples, gold=True)
    return policy_from(task, samples, gold_text)


def wrong_policy(task: Task, samples: list[Sample]) -> Callable[[Request], str]:
    if task.kind == "streaming":
        return stream_policy(samples, gold=False)
    return policy_from(task, samples, wrong_text)


def poll_time(request: Request) -> tuple[str, float]:
    """(stream id, stream time) of a poll request (its id is ``<stream>#poll<N>@<time>``)."""
    stream, _, rest = request.sample_id.partition("#poll")
    return stream, float(rest.split("@")[1])


def stream_policy(samples: list[Sample], *, gold: bool) -> Callable[[Request], str]:
    """A polled model built from the streams' truth the test loaded itself: gold answers each event query at the
    first poll inside its due window and each query-time query right when asked; wrong answers each event query
    before its window opens (premature) and each query-time query with a wrong answer."""
    from tempeval.streaming.queries import stream_queries

    truth = {s.id: {q.query_id: q for q in stream_queries(s.target, s.id)} for s in samples}
    answered: set[tuple[str, str, int]] = set()  # (stream, query, window): gold answers each window once

    def policy(request: Request) -> str:
        assert request.poll is not None, "a streaming task's requests are polls"
        stream, now = poll_time(request)
        lines = []
        for query_id, fmt, _choices in request.poll.open_queries:
            query = truth[stream][query_id]
            as_sample = Sample(query_id, "streaming", query.text, choices=query.choices, target=query.target)
            if query.due_windows is not None:
                inside = [i for i, (s, e) in enumerate(query.due_windows) if s <= now <= e]
                due = bool(inside) and (stream, query_id, inside[0]) not in answered
                if not gold:
                    due = now < query.due_windows[0][0]
                text = "now" if query.target is None else (gold_text if gold else wrong_text)(as_sample, fmt)
                if due:
                    answered.update((stream, query_id, i) for i in inside)
                    lines.append(f"[{query_id}] {text}")
            else:
                lines.append(f"[{query_id}] {(gold_text if gold else wrong_text)(as_sample, fmt)}")
        return "\n".join(lines) or request.poll.wait_token

    return policy
