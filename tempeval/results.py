"""Run files: one self-describing JSONL file per (model, task) — a header line, then one record per sample.

Records are appended and flushed as they are produced. A later record for the same sample supersedes an
earlier one (an errored sample retried on resume). Identity comes from the header, never from the file name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import os
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tempeval.errors import RunFileError
from tempeval.records import RunHeader, RunRecord, records_from_json
from tempeval.rows import row_identities
from tempeval.scoring.metrics import MetricValue, Row, compute, keeping_draws

SCHEMA_VERSION = 1

NO_PREDICTION = "no prediction for this sample in the imported files"
"""The error of an imported run's sample that the official prediction files do not answer."""

RESUME_FIELDS: tuple[str, ...] = (
    "task", "task_version", "model", "model_args", "frames", "generation", "seed", "dataset", "parser_mode",
    "time_labels", "judge", "judge_args", "decoder", "scorers", "label", "stream",
)
"""Header fields that must match for a run file to be resumed into. In ``model_args`` only the arguments that
change outputs count: those the header lists in ``transport_args`` (concurrency, timeouts, ...) may differ; in
``judge_args``, its ``transport`` part may."""

HEADER_DEFAULTS: Mapping[str, Any] = {"time_labels": "source"}
"""What a header field meant in run files written before it existed (frames were then told their true times)."""


@dataclass(frozen=True)
class RunFile:
    """A run file read back: its header and its records, the latest per sample, in file order.

    Built from JSON objects (a header or records as dicts), it holds them typed.
    """

    path: Path
    header: RunHeader
    records: list[RunRecord]

    def __post_init__(self) -> None:
        if not isinstance(self.header, RunHeader):
            object.__setattr__(self, "header", RunHeader.from_json(self.header))
        if not all(isinstance(record, RunRecord) for record in self.records):
            object.__setattr__(self, "records", records_from_json(self.records))


def read_run(path: str | Path, *, repair: bool = False) -> RunFile:
    """Read a run file.

    Args:
        path: The JSONL file.
        repair: Truncate a torn last line (an interrupted write) with a warning instead of failing.

    Raises:
        RunFileError: naming the file and line when it is not a tempeval run file.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RunFileError(f"{path}: cannot read run file: {exc.strerror or exc}.") from exc
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        # The last line has no newline: it may be torn by a kill mid-write.
        if repair:
            warnings.warn(f"{path}: dropping a torn last line (an interrupted write); it will be re-run.", stacklevel=2)
            _truncate_to(path, len(raw) - len(lines[-1]))
            lines.pop()
        else:
            try:
                json.loads(lines[-1])
            except ValueError:
                raise RunFileError(
                    f"{path}: the last line is incomplete (an interrupted write). Re-run the same "
                    "'tempeval run' command to repair and resume it."
                ) from None
    if not lines:
        raise RunFileError(f"{path}: empty file; a run file starts with a header line. Delete it or use --fresh.")
    with _collector_paused():
        return _run_file(path, [_parse_line(path, number, line) for number, line in enumerate(lines, start=1)])


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector: reading a run file makes several small objects per record, all
    kept, which its passes would only walk again and again (a third of the time of reading a large file)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run_file(path: Path, parsed: list[dict[str, Any]]) -> RunFile:
    """The run file of its parsed lines."""
    header = parsed[0]
    if header.get("type") != "header":
        raise RunFileError(f"{path}: line 1 is not a tempeval run header (no \"type\": \"header\").")
    if header.get("schema_version") != SCHEMA_VERSION:
        raise RunFileError(
            f"{path}: schema version {header.get('schema_version')} is not {SCHEMA_VERSION}, the one this "
            "tempeval reads. Use the tempeval version that wrote it, or re-run."
        )
    latest: dict[str, RunRecord] = {}
    for number, line in enumerate(parsed[1:], start=2):
        if line.get("type") != "record" or "sample_id" not in line:
            raise RunFileError(f"{path}: line {number} is not a sample record (needs type 'record' and sample_id).")
        record = RunRecord.from_json(line)
        latest.pop(record.sample_id, None)  # re-insert to keep the order of the latest writes
        latest[record.sample_id] = record
    return RunFile(path, RunHeader.from_json(header), list(latest.values()))


def _parse_line(path: Path, number: int, line: bytes) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RunFileError(f"{path}: line {number} is not valid JSON ({exc}). Is this a tempeval run file?") from None
    if not isinstance(value, dict):
        raise RunFileError(f"{path}: line {number} is not a JSON object.")
    return value


def _truncate_to(path: Path, size: int) -> None:
    with path.open("r+b") as handle:
        handle.truncate(size)


def config_differences(header: Mapping[str, Any], expected: Mapping[str, Any]) -> list[str]:
    """The resume fields in which an existing header differs from the run about to start.

    A model argument that differs is named ``model_args.KEY`` (transport arguments are skipped); read either
    kind of name's value with :func:`config_value`.
    """
    transport = set(header.get("transport_args") or ()) | set(expected.get("transport_args") or ())
    differing: list[str] = []
    for name in RESUME_FIELDS:
        if name == "model_args":
            old, new = header.get(name) or {}, expected.get(name) or {}
            differing += [
                f"model_args.{key}" for key in sorted(set(old) | set(new))
                if key not in transport and old.get(key) != new.get(key)
            ]
        elif config_value(header, name) != config_value(expected, name):
            differing.append(name)
    return differing


def config_value(header: Mapping[str, Any], name: str) -> Any:
    """A resume field's value as compared: ``model_args.KEY`` is one model argument; ``judge_args`` without its
    transport part."""
    if name.startswith("model_args."):
        return (header.get("model_args") or {}).get(name.removeprefix("model_args."))
    value = header.get(name, HEADER_DEFAULTS.get(name))
    if name == "judge_args" and isinstance(value, Mapping):
        return {key: part for key, part in value.items() if key != "transport"}
    return value


def frame_time_labels(record: Mapping[str, Any]) -> list[float]:
    """The frame times the model was told, of a record's JSON object (:attr:`RunRecord.told_times` of a record)."""
    if isinstance(record, RunRecord):
        return list(record.told_times)
    labels = record.get("frame_time_labels")
    return list(labels if labels is not None else record.get("frame_times") or [])


@contextlib.contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on a run file for as long as one process writes it.

    A second ``tempeval run`` on the same file refuses with a clear message instead of interleaving records. The
    lock is an OS lock on ``<run file>.lock``: it goes away with the process, even after a kill.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    handle = lock_path.open("a+")
    try:
        try:
            import fcntl
        except ImportError:  # no flock on this platform: run unlocked
            yield
            return
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            raise RunFileError(
                f"{path} is being written by {owner}. Wait for it to finish, or give this run another --out "
                "(for parallel work use --shard K/N)."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"tempeval pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


class RunWriter:
    """Appends records to a run file, one flushed line each."""

    def __init__(self, path: Path, header: Mapping[str, Any] | None) -> None:
        """Open ``path`` for appending; when ``header`` is given, empty the file and write it first (a new run).

        Always append mode, so every line lands at the end of the file, wherever its size stands. The caller
        holds :func:`run_lock` on ``path``.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handle: IO[str] = path.open("a", encoding="utf-8")
        if header is not None:
            self._handle.truncate(0)
            self._write(dict(header))

    def _write(self, obj: Mapping[str, Any]) -> None:
        # One write call per line, then flush: a kill leaves at most one torn last line.
        self._handle.write(json.dumps(obj, ensure_ascii=False, default=_json_default) + "\n")
        self._handle.flush()

    def append(self, record: RunRecord) -> None:
        """Write one sample record."""
        self._write(record.to_json() if isinstance(record, RunRecord) else {"type": "record", **record})

    def sync(self) -> None:
        """Flush the file to disk (``fsync``)."""
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        """Close the file."""
        self._handle.close()

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_run_file(path: Path, header: Mapping[str, Any], records: Iterable[RunRecord]) -> Path:
    """Write a whole run file at once, atomically: the old file stays whole until the new one is complete.

    The records go to a temporary file beside ``path``, which is synced to disk and then renamed onto ``path``;
    a kill midway leaves the previous file (or none) and a stray ``.tmp`` file, never a shorter run file. The
    caller holds :func:`run_lock` on ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # not *.jsonl: never read as a run file
    try:
        with RunWriter(temporary, header) as writer:
            for record in records:
                writer.append(record)
            writer.sync()
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _sync_folder(path.parent)
    return path


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform can open folders)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def _json_default(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "to_json"):  # nouns with a stored form (a dense-captioning target's events)
        return value.to_json()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@dataclass(frozen=True)
class RunSummary:
    """What a run scored: counts and metrics (percent, with 95% CIs)."""

    task: str
    task_version: str
    model: str
    n: int
    errors: int
    unparseable: int
    headline: str
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    path: str = ""
    samples: int | None = None
    """How many records the run should have (after limit, protocol and shard; from the header); None: unknown."""
    partial: bool = False
    """Run with a --limit smaller than the dataset (and not completed later by a run without one)."""
    shard: str | None = None
    """``K/N`` for a ``--shard`` run: one part of a run, not the run's score."""
    truncated: int = 0
    """Answers cut by the token limit (``finish_reason`` ``length``), errors excluded."""
    error_counts: tuple[tuple[str, int], ...] = ()
    """Each distinct error message of the run's records with its count, most frequent first."""
    label: str | None = None
    """The run's ``--label``; ``None``: none given."""
    row: str = ""
    """How tables name the run's row (:func:`tempeval.rows.row_identities`); the model string until rows are
    assigned among a set of runs."""
    frames: Mapping[str, Any] = field(default_factory=dict)
    """The run's frame policy (header ``frames``)."""
    generation: Mapping[str, Any] = field(default_factory=dict)
    """The run's generation settings (header ``generation``)."""
    model_args: Mapping[str, Any] = field(default_factory=dict)
    """The model's arguments (header ``model_args``)."""

    @property
    def complete(self) -> bool:
        """Whether the run holds every sample it should (False for a run killed and never resumed)."""
        return self.samples is None or self.n >= self.samples

    @property
    def parse_failure_rate(self) -> float:
        """Unparseable outputs as a percentage of answered samples."""
        answered = self.n - self.errors
        return 100.0 * self.unparseable / answered if answered else 0.0

    def to_json(self) -> dict[str, Any]:
        """The ``tempeval score --json`` object."""
        return {
            "task": self.task,
            "task_version": self.task_version,
            "model": self.model,
            "row": self.row or self.model,
            "label": self.label,
            "frames": dict(self.frames),
            "generation": dict(self.generation),
            "model_args": dict(self.model_args),
            "n": self.n,
            "errors": self.errors,
            "unparseable": self.unparseable,
            "parse_failure_rate": round(self.parse_failure_rate, 4),
            "truncated": self.truncated,
            "headline": self.headline,
            "metrics": {name: metric.value for name, metric in self.metrics.items()},
            "ci": {name: None if m.ci is None else list(m.ci) for name, m in self.metrics.items()},
            "path": self.path,
            "samples": self.samples,
            "complete": self.complete,
            **({"shard": self.shard} if self.shard else {}),
        }


def rows_of(records: Sequence[RunRecord]) -> list[Row]:
    """Metric rows from run records: errors and unparseable outputs count 0."""
    rows = []
    for record in records_from_json(records):
        meta = dict(record.meta or {})
        meta.setdefault("video_id", record.video_id or record.sample_id)
        value = 0.0 if record.failed or record.score is None else float(record.score)
        rows.append(
            Row(
                record.sample_id,
                value,
                bool(record.was_parsed),
                record.failed,
                meta,
                answer=record.answer,
                target=record.target,
                output=record.output,
            )
        )
    return rows


def spec_metrics(spec: Mapping[str, Any], rows: list[Row]) -> dict[str, MetricValue]:
    """The values one metric entry of a run header gives: its metric on the rows its ``where`` keeps, renamed by
    its ``label``."""
    where = spec.get("where") or {}
    chosen = [r for r in rows if all(r.meta.get(k) == v for k, v in where.items())] if where else rows
    return _labelled(compute(spec["name"], chosen, spec.get("by")), spec.get("label"))


def _labelled(values: dict[str, MetricValue], label: str | None) -> dict[str, MetricValue]:
    """Rename a metric's outputs: one output -> ``label``; breakdowns ``x[key=v]`` -> ``label.format(value=v)``."""
    if not label:
        return values
    if len(values) == 1 and "{" not in label:
        return {label: next(iter(values.values()))}
    renamed = {}
    for name, value in values.items():
        group = name.split("=", 1)[1].rstrip("]") if "[" in name and "=" in name else name
        renamed[label.format(value=group, name=name)] = value
    return renamed


def summarize(run: RunFile, *, headline_draws: bool = False, draws_of: str | None = None) -> RunSummary:
    """Compute a run's metrics from its header's metric list and its records.

    With ``headline_draws`` the headline metric keeps its bootstrap draws (``MetricValue.draws``), which a
    benchmark's macro average combines into its CI; ``draws_of`` names another metric to keep them for instead (a
    group's ``member_metrics``); the other metrics never keep theirs.
    """
    header, records = run.header, run.records
    headline = str(header.get("headline", "accuracy"))
    rows = rows_of(records)
    metrics: dict[str, MetricValue] = {}
    kept = draws_of or (headline if headline_draws else None)
    with keeping_draws() if kept else contextlib.nullcontext():
        for spec in header.get("metrics") or [{"name": "accuracy"}]:
            metrics.update(spec_metrics(spec, rows))
    if kept:
        metrics = {name: m if name == kept else dataclasses.replace(m, draws=None) for name, m in metrics.items()}
    for key in header.get("group_by") or ():
        metrics.update(compute("grouped_accuracy", rows, key))
    return RunSummary(
        task=str(header.get("task")),
        task_version=str(header.get("task_version")),
        model=str(header.get("model")),
        n=len(records),
        errors=sum(r.error for r in rows),
        unparseable=sum(1 for r in rows if not r.error and not r.parsed),
        headline=headline,
        metrics=metrics,
        path=str(run.path),
        samples=_expected_samples(header, len(records)),
        partial=_is_partial(header, len(records)),
        shard=str(header["shard"]) if header.get("shard") else None,
        truncated=sum(1 for r in records if r.finish_reason == "length" and not r.failed),
        error_counts=_error_counts(records),
        label=str(header["label"]) if header.get("label") else None,
        row=str(header.get("label") or header.get("model")),
        frames=_mapping(header.get("frames")),
        generation=_mapping(header.get("generation")),
        model_args=_mapping(header.get("model_args")),
    )


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def with_rows(runs: Sequence[RunFile], summaries: Sequence[RunSummary]) -> list[RunSummary]:
    """The summaries with their rows named among these runs (:func:`tempeval.rows.row_identities`)."""
    rows = row_identities([run.header for run in runs])
    return [dataclasses.replace(s, row=row.display) for s, row in zip(summaries, rows, strict=True)]


def _error_counts(records: Iterable[RunRecord]) -> tuple[tuple[str, int], ...]:
    """Distinct error messages with their counts, most frequent first. Messages that differ only in the sample's
    video file (a folder of missing videos) count as one, named with one of the files as an example."""
    counts: Counter[str] = Counter()
    example: dict[str, str] = {}
    for record in records:
        if record.error is None:
            continue
        message, video = str(record.error), record.video
        if isinstance(video, str) and video and video in message:
            message = message.replace(video, "<video>")
            example.setdefault(message, video)
        counts[message] += 1

    def shown(message: str, count: int) -> str:
        if message not in example:
            return message
        if count == 1:
            return message.replace("<video>", example[message])
        return f"{message} (<video>: e.g. {example[message]})"

    return tuple((shown(message, count), count) for message, count in counts.most_common())


def _expected_samples(header: Mapping[str, Any], n: int) -> int | None:
    """The header's sample count, unless a later resume with a larger --limit wrote past it (then: unknown)."""
    samples = header.get("samples")
    if not isinstance(samples, int) or n > samples:
        return None
    return samples


def _is_partial(header: Mapping[str, Any], n: int) -> bool:
    """A --limit below the dataset's size, unless the file was later filled past that limit by another run."""
    limit, total, samples = header.get("limit"), header.get("dataset_samples"), header.get("samples")
    if limit is None:
        return False
    if not isinstance(total, int):  # older files: the header's limit is all there is to go by
        return True
    return bool(limit < total and (not isinstance(samples, int) or n <= samples))


def find_run_files(root: str | Path) -> Iterator[Path]:
    """Every ``*.jsonl`` file under ``root`` (or ``root`` itself when it is a file), sorted."""
    root = Path(root)
    if root.is_file():
        yield root
        return
    yield from sorted(root.rglob("*.jsonl"))
