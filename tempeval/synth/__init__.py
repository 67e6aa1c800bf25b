"""The built-in synthetic temporal suite: procedurally generated, deterministic from a seed, no download.

Eight subsets of small H.264 videos (128x128 px, 10 fps, 3-12 s) of coloured circles, squares and triangles on
a plain background:

- ``direction``, ``order``, ``count``, ``speed``: multiple choice; every video has a conflicting twin (same
  static content, different answer; ``meta["pair_id"]`` shared) and the twins share one options list.
- ``grounding``: when is a shape visible; the target window matches the encoded frames exactly.
- ``claims``: a true and a false statement about one video (``meta["claim"]`` ``fact``/``fib``).
- ``online``: stream questions with ``query_time_s``; backward multiple choice and forward yes/no probes.
- ``stream``: one record per stream for the ``streaming`` kind: "tell me as soon as the X appears" (due within
  2 s of a known time) and "how many circles have appeared so far?" (asked at known times).
- ``events``: dense captioning; 2-3 shapes shown one after another, each a timed event with a known caption.

The suite is generated on first use into ``<root>/seed<seed>-n<per_task>/`` (``root`` defaults to
:func:`default_root`) and reused afterwards. A finished folder holds a ``COMPLETE`` manifest; generation
happens in a temporary folder beside it that is renamed into place, under a lock file, so a crash never leaves
a half suite behind and concurrent callers all end with the same complete suite.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tempeval.types import Sample, VideoRef

GENERATOR_VERSION: str = "2"
"""Bump whenever the generated output changes: it names the default cache folder and is checked on reuse."""

SUBSETS: tuple[str, ...] = (
    "direction", "order", "count", "speed", "grounding", "claims", "online", "stream", "events"
)
"""The subset names, in suite order."""

ENV_VAR = "TEMPEVAL_SYNTH_DIR"
MARKER = "COMPLETE"
_WORKERS = 1  # concurrent encodes are not byte-reproducible (see generate.write_suite)

__all__ = ["GENERATOR_VERSION", "SUBSETS", "default_root", "ensure_suite", "load_samples", "suite_dir"]


def default_root() -> Path:
    """Where suites are cached unless a root is given.

    Returns:
        ``$TEMPEVAL_SYNTH_DIR`` if set and non-empty (read now, not at import), else
        ``~/.cache/tempeval/synth/<GENERATOR_VERSION>/``. Each suite is a subfolder ``seed<seed>-n<per_task>``.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "tempeval" / "synth" / GENERATOR_VERSION


def suite_dir(root: Path | str | None = None, *, seed: int = 0, per_task: int = 60) -> Path:
    """The folder a suite lives in (generated or not): ``<root or default_root()>/seed<seed>-n<per_task>``."""
    base = Path(root) if root is not None else default_root()
    return base.expanduser().absolute() / f"seed{seed}-n{per_task}"


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a complete suite of this generator version, else ``None``."""
    try:
        manifest = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("generator_version") != GENERATOR_VERSION:
        return None
    return manifest


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[bool]:
    """Hold an exclusive lock on ``lock_path`` (blocking); yields whether a real lock is held.

    Where ``fcntl`` is missing (Windows) nothing is locked and the rename race in :func:`ensure_suite` decides.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield False
        return
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def ensure_suite(root: Path | str | None = None, *, seed: int = 0, per_task: int = 60) -> Path:
    """Generate the suite unless a complete one is already there, and return its folder.

    Idempotent and crash-safe: the suite is written into a temporary folder beside the final one, which is
    renamed into place only once its ``COMPLETE`` manifest is written. Concurrent callers serialise on a lock
    file (``.seed<seed>-n<per_task>.lock`` beside the folder); the later ones find the suite complete. A folder
    without a manifest, or with another generator version's, is replaced.

    Args:
        root: Parent folder of the suites; ``None`` is :func:`default_root`.
        seed: Seed of all randomness.
        per_task: About how many records per subset (rounded up to whole twin pairs / online streams).

    Returns:
        The absolute folder holding ``annotations/<subset>.jsonl``, ``videos/*.mp4`` and ``COMPLETE``.

    Raises:
        ValueError: ``per_task`` is not a positive integer.
    """
    if isinstance(per_task, bool) or not isinstance(per_task, int) or per_task < 1:
        raise ValueError(f"per_task must be a positive integer, got {per_task!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}.")
    dest = suite_dir(root, seed=seed, per_task=per_task)
    if _read_manifest(dest) is not None:
        return dest  # fast path: no lock, works on a read-only cache
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _locked(dest.parent / f".{dest.name}.lock") as exclusive:
        if _read_manifest(dest) is not None:
            return dest  # another process finished it while we waited
        if exclusive:
            # Holding the lock, any temporary folder of this suite is a crashed run's leftover.
            for stale in dest.parent.glob(f".{dest.name}.tmp-*"):
                shutil.rmtree(stale, ignore_errors=True)
        from tempeval.synth.generate import write_suite  # local: numpy/PyAV only when generating

        tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        print(
            f"Generating the synthetic suite ({len(SUBSETS)} tasks, about {per_task} questions each, seed {seed}) "
            f"into {dest}: first use only, later runs reuse it.",
            file=sys.stderr,
        )
        started = time.perf_counter()
        try:
            manifest = write_suite(
                tmp,
                seed=seed,
                per_task=per_task,
                subsets=SUBSETS,
                version=GENERATOR_VERSION,
                workers=_WORKERS,
                marker=MARKER,
                progress=True,
            )
            print(f"Synthetic suite ready: {manifest['videos']} videos in {time.perf_counter() - started:.0f} s.",
                  file=sys.stderr)
            if _read_manifest(dest) is None:  # (re-checked: without a real lock another process may be done)
                if dest.exists():  # incomplete or outdated: move it aside, so the rename below is atomic
                    old = dest.parent / f".{dest.name}.tmp-old-{uuid.uuid4().hex[:8]}"
                    with contextlib.suppress(FileNotFoundError):
                        os.replace(dest, old)
                        shutil.rmtree(old, ignore_errors=True)
                try:
                    os.replace(tmp, dest)
                except OSError:
                    # Lost a lock-free race to another process: keep theirs if it is complete.
                    if _read_manifest(dest) is None:
                        raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _sample(record: dict[str, Any], folder: Path) -> Sample:
    """A ``Sample`` from one JSONL record; the video path is made absolute."""
    target = record.get("target")
    if record.get("answer_format") == "window" and isinstance(target, list):
        target = (float(target[0]), float(target[1]))
    if record.get("answer_format") == "events" and isinstance(target, list):
        from tempeval.scoring.events import events_of

        target = events_of(target)
    video = record.get("video")
    return Sample(
        id=record["id"],
        kind=record["kind"],
        question=record["question"],
        video=VideoRef(path=str(folder / video)) if video else None,
        choices=tuple(record.get("choices") or ()),
        target=target,
        query_time_s=record.get("query_time_s"),
        answer_format=record.get("answer_format"),
        meta=dict(record.get("meta") or {}),
    )


def load_samples(subset: str, root: Path | str | None = None, *, seed: int = 0, per_task: int = 60) -> list[Sample]:
    """The samples of one subset, generating the suite first if needed.

    Args:
        subset: One of :data:`SUBSETS`.
        root: Parent folder of the suites; ``None`` is :func:`default_root`.
        seed: Seed of the suite.
        per_task: About how many records per subset.

    Returns:
        The subset's samples in file order; grounding targets are ``(start_s, end_s)`` tuples,
        dense-captioning targets tuples of ``Event``.

    Raises:
        ValueError: Unknown subset (the message lists the valid ones), or a bad ``per_task``.
    """
    if subset not in SUBSETS:
        raise ValueError(f"Unknown synthetic subset {subset!r}; valid subsets: {', '.join(SUBSETS)}.")
    folder = ensure_suite(root, seed=seed, per_task=per_task)
    samples = []
    with open(folder / "annotations" / f"{subset}.jsonl", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                samples.append(_sample(json.loads(line), folder))
    return samples
