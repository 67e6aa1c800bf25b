"""Loaders turn a registered dataset's raw records into Samples: one small module per benchmark format.

Loading annotations never reads a video.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tempeval.errors import TempevalError, unknown_name
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


def get_loader(name: str) -> Loader:
    """The loader called ``name``: from ``LOADERS``, a ``module:attr`` path, else ``tempeval.benchmarks.<name>:load``.

    A module that exists but fails to import (a missing dependency inside it) raises its own ImportError, not
    "Unknown loader".
    """
    target = LOADERS.get(name) or (name if ":" in name else f"tempeval.benchmarks.{name}:load")
    module_name, _, function_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise  # the module exists; something it imports does not
        if ":" in name:
            raise TempevalError(
                f"Unknown loader '{name}': no module '{module_name}' can be imported (is it installed, or on "
                "PYTHONPATH?)."
            ) from exc
        raise unknown_name("loader", name, LOADERS, "tempeval list tasks") from exc
    loader = getattr(module, function_name or "load", None)
    if not callable(loader):
        raise TempevalError(f"Unknown loader '{name}': module '{module_name}' has no function '{function_name}'.")
    return loader  # type: ignore[no-any-return]


def load_samples(task: Task, dataset: DatasetEntry, options: LoadOptions | None = None) -> list[Sample]:
    """All samples of ``task``, in the dataset's order."""
    return get_loader(dataset.loader)(task, dataset, options or LoadOptions())
