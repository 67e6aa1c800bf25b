"""Spreading one run over machines: ``--shard K/N`` picks a deterministic share, ``merge`` joins the shards.

Shards are balanced by video (every sample of a video goes to the same shard, so a video is decoded on one
machine only): videos are ordered by a stable hash and dealt round-robin, which keeps shard sizes within one
video of each other. A shard's header records which share it holds and how many samples that share has, so
``merge`` can prove the shards cover every sample exactly once without the dataset at hand.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tempeval.errors import RunFileError, TempevalError
from tempeval.records import RunRecord
from tempeval.results import RunFile, config_differences, config_value, read_run, run_lock, write_run_file
from tempeval.types import Sample


@dataclass(frozen=True)
class Shard:
    """Share ``index`` (1-based) of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """'2/8' -> Shard(2, 8); anything else is a clear error."""
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise TempevalError(f"--shard takes K/N with whole numbers (e.g. 2/8), not '{text}'.") from None
        if not 1 <= index <= count:
            raise TempevalError(f"--shard {text}: K must be between 1 and N.")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def video_key(sample: Sample) -> str:
    """What keeps a sample's video on one machine."""
    return str(sample.meta.get("video_id") or (sample.video.path if sample.video else sample.id))


def select(samples: Sequence[Sample], shard: Shard) -> list[Sample]:
    """The samples of one shard, in dataset order."""
    videos = sorted({video_key(s) for s in samples}, key=lambda v: hashlib.sha256(v.encode()).hexdigest())
    owner = {video: position % shard.count + 1 for position, video in enumerate(videos)}
    return [s for s in samples if owner[video_key(s)] == shard.index]


def merge(paths: Sequence[Path], out: Path) -> Path:
    """Join shard run files into one run file whose scores equal an unsharded run's.

    Raises:
        RunFileError: when the shards differ in configuration (naming the field), a shard is missing or doubled,
            a sample appears in two shards, or a shard is incomplete (re-run that shard to finish it).
    """
    runs = [read_run(path) for path in paths]
    if not runs:
        raise TempevalError("merge needs at least one shard file.")
    first = runs[0]
    for run in runs[1:]:
        for name in config_differences(run.header, first.header):
            raise RunFileError(
                f"{run.path} differs from {first.path} in '{name}' ({config_value(run.header, name)!r} vs "
                f"{config_value(first.header, name)!r}): these shards are not parts of one run."
            )
    shards = [_shard_of(run) for run in runs]
    count = shards[0].count
    seen = sorted(s.index for s in shards)
    if any(s.count != count for s in shards) or seen != list(range(1, count + 1)):
        raise RunFileError(f"merge needs shards 1..{count} exactly once each; got {', '.join(map(str, shards))}.")
    owner: dict[str, Path] = {}
    records: list[RunRecord] = []
    for run in runs:
        expected = int(run.header.get("shard_samples", -1))
        if len(run.records) != expected:
            raise RunFileError(
                f"{run.path} holds {len(run.records)} of its shard's {expected} samples: re-run that shard "
                "(the same command resumes it) before merging."
            )
        for record in run.records:
            if record.sample_id in owner:
                other = owner[record.sample_id]
                raise RunFileError(f"sample {record.sample_id} is in both {other} and {run.path}.")
            owner[record.sample_id] = run.path
            records.append(record)
    header = first.header.without("shard", "shard_samples").with_fields(
        merged_from=[str(run.path) for run in runs],
        samples=len(records),
        merged_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    )
    with run_lock(out):  # written whole into a temporary file, then renamed: a kill never leaves a shorter file
        return write_run_file(out, header, records)


def _shard_of(run: RunFile) -> Shard:
    text = run.header.get("shard")
    if not text:
        raise RunFileError(f"{run.path} is not a shard (its header has no 'shard'); merge takes `--shard K/N` runs.")
    return Shard.parse(str(text))
