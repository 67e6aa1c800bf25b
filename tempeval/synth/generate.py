"""Writing one complete synthetic suite into an empty folder (the caching and locking live in ``__init__``)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tempeval.synth.draw import encode_scene
from tempeval.synth.scenes import BUILDERS, FPS, LAYOUT, SIZE, Group, letter_schedule


def plan_subset(subset: str, seed: int, per_task: int) -> Group:
    """All scenes and records of one subset (no file is written).

    Args:
        subset: One of the eight subset names.
        seed: Suite seed.
        per_task: Wanted records; rounded up to whole groups (twin pairs, or the 6 records of an online stream).

    Returns:
        The subset's scenes and records, in id order.
    """
    per_group, k, slots, distinct = LAYOUT[subset]
    n_groups = -(-per_task // per_group)
    schedule = letter_schedule(seed, subset, n_groups, k, slots, distinct) if slots else [()] * n_groups
    out = Group()
    for i in range(n_groups):
        group = BUILDERS[subset](seed, i, schedule[i])
        out.scenes.extend(group.scenes)
        out.records.extend(group.records)
    return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_suite(
    dest: Path,
    *,
    seed: int,
    per_task: int,
    subsets: Iterable[str],
    version: str,
    workers: int = 1,
    marker: str = "COMPLETE",
    progress: bool = False,
) -> dict[str, Any]:
    """Generate the suite into ``dest`` and write the ``marker`` manifest last.

    Args:
        dest: An empty (or new) folder; the caller renames it into place afterwards.
        seed: Suite seed.
        per_task: Records per subset (about).
        subsets: Subset names, in order.
        version: Generator version recorded in the manifest.
        workers: Encoding threads. One by default: concurrent encodes in threads were measured to give
            different bytes run to run (and only about 5% speed), and a suite must be reproducible.
        marker: File name of the manifest whose presence means "complete".
        progress: Show a progress bar of the videos encoded (on stderr).

    Returns:
        The manifest written.
    """
    videos = dest / "videos"
    annotations = dest / "annotations"
    videos.mkdir(parents=True, exist_ok=True)
    annotations.mkdir(parents=True, exist_ok=True)
    plans = {subset: plan_subset(subset, seed, per_task) for subset in subsets}
    jobs = [(scene, str(videos)) for plan in plans.values() for scene in plan.scenes]
    from tqdm import tqdm

    with tqdm(total=len(jobs), desc="synth videos", unit="video", file=sys.stderr, disable=not progress,
              leave=False) as bar:
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for _ in pool.map(encode_scene, jobs):
                    bar.update(1)
        else:
            for job in jobs:
                encode_scene(job)
                bar.update(1)
    for subset, plan in plans.items():
        lines = [json.dumps(record, ensure_ascii=False) for record in plan.records]
        (annotations / f"{subset}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    files = sorted(p for p in dest.rglob("*") if p.is_file())
    manifest = {
        "generator_version": version,
        "seed": seed,
        "per_task": per_task,
        "size": SIZE,
        "fps": FPS,
        "records": {subset: len(plan.records) for subset, plan in plans.items()},
        "videos": len(jobs),
        "files": {p.relative_to(dest).as_posix(): _sha256(p) for p in files},
    }
    tmp_marker = dest / f".{marker}.partial"
    tmp_marker.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp_marker, dest / marker)
    return manifest
