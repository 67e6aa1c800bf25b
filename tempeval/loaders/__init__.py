"""Loaders turn a registered dataset's raw records into Samples: one small module per benchmark format.

Loading annotations never reads a video.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tempeval.errors import TempevalError
from tempeval.plugins import Kind, resolve
from tempeval.registry import DatasetEntry
from tempeval.task import Task
from tempeval.types import Sample

LOADERS: dict[str, str] = {
    "synth": "tempeval.loaders.synth:load",
    "records": "tempeval.loaders.records:load",
}
"""Loader name -> ``module:function``; modules are imported only when their loader is used."""


@dataclass(frozen=True)
class LoadOptions:
    """Where data lives on this machine."""

    data_dir: Path | None = None
    """Root of downloaded benchmark data; ``None`` is the default data folder."""
    synth_dir: Path | None = None
    """Root of the generated synthetic suite; ``None`` is the default cache folder."""
    synth_per_task: int | None = None
    """Records per synthetic subset; ``None`` is the registry's size (60). Recorded in the run header's dataset."""


Loader = Callable[[Task, DatasetEntry, LoadOptions], list[Sample]]


LOADER_KIND = Kind(
    "loader", "tempeval.loaders", LOADERS, "tempeval list tasks",
    convention=lambda name: f"tempeval.benchmarks.{name}:load",
)


def get_loader(name: str) -> Loader:
    """The loader called ``name``: built-in, a ``tempeval.loaders`` entry point, ``module:function``, else
    ``tempeval.benchmarks.<name>:load`` (see :mod:`tempeval.plugins`).

    A module that exists but fails to import (a missing dependency inside it) raises its own ImportError, not
    "Unknown loader".
    """
    loader = resolve(LOADER_KIND, name)
    if not callable(loader):
        raise TempevalError(f"Loader '{name}' is not a function (task, dataset, options) -> list[Sample].")
    return loader  # type: ignore[no-any-return]


def load_samples(task: Task, dataset: DatasetEntry, options: LoadOptions | None = None) -> list[Sample]:
    """All samples of ``task``, in the dataset's order."""
    return get_loader(dataset.loader)(task, dataset, options or LoadOptions())
