"""What produced a run: tempeval's version, its git commit, the versions of the packages that matter."""

from __future__ import annotations

import datetime
import importlib.metadata
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

TRACKED_PACKAGES = ("numpy", "av", "decord", "openai", "vllm", "transformers", "torch")


def tempeval_version() -> str:
    """The installed tempeval version (or 'unknown' from a bare source tree)."""
    try:
        return importlib.metadata.version("tempeval")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the source tree tempeval runs from, when it is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def package_versions() -> dict[str, str]:
    """Versions of the installed packages that can change a score."""
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def collect() -> dict[str, Any]:
    """Provenance fields for a run header."""
    return {
        "tempeval_version": tempeval_version(),
        "git_commit": git_commit(),
        "packages": package_versions(),
        "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
    }
