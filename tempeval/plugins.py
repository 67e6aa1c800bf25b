"""One resolver for the names of loaders, scorers, metrics, importers and model adapters.

A name is looked up, in this order:

1. the kind's built-in table (name -> ``module:attr``, or the object itself);
2. an entry point of that name in the kind's group (``tempeval.loaders``, ``tempeval.scorers``,
   ``tempeval.metrics``, ``tempeval.importers``, ``tempeval.adapters``): what an installed plugin declares;
3. ``module:attr`` of any importable module, or ``path/to/file.py:attr`` of a Python file;
4. the kind's convention inside tempeval (``<benchmark>.<function>`` in ``tempeval.benchmarks``).

A module that exists but fails to import (a dependency it imports is missing, a syntax error) raises its own
error, never "Unknown scorer"; an unknown name lists near matches.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

from tempeval.errors import TempevalError, unknown_name

PYTHON_FILE_SUFFIX = ".py"


def _no_convention(name: str) -> str | None:
    return None


def _no_names() -> Iterable[str]:
    return ()


@dataclass(frozen=True)
class Kind:
    """A kind of named component and where its names are found."""

    noun: str
    """What the error messages call it: ``scorer``, ``model adapter``."""
    group: str
    """The entry-point group plugins register it in."""
    builtin: Mapping[str, Any]
    """Built-in name -> ``module:attr`` (imported on first use) or the object itself."""
    listing: str
    """The command that lists the names (``tempeval list metrics``), for the unknown-name message."""
    convention: Callable[[str], str | None] = _no_convention
    """A name -> the ``module:attr`` it means inside tempeval (``qvhighlights.official``), or ``None``."""
    more_names: Callable[[], Iterable[str]] = field(default=_no_names)
    """Further names to suggest (the benchmark modules), beyond the built-in and entry-point ones."""


def benchmark_function(name: str) -> str | None:
    """``<benchmark>.<function>`` -> ``tempeval.benchmarks.<benchmark>:<function>`` (scorers and metrics)."""
    benchmark, dot, function = name.partition(".")
    return f"tempeval.benchmarks.{benchmark}:{function}" if dot and benchmark and function else None


@cache
def entry_point_targets(group: str) -> Mapping[str, str]:
    """Entry-point name -> ``module:attr`` for every installed plugin's entry in ``group`` (read once per process:
    scanning the installed packages takes tens of milliseconds; :func:`forget_plugins` reads them again)."""
    return MappingProxyType({entry.name: entry.value for entry in importlib.metadata.entry_points(group=group)})


def forget_plugins() -> None:
    """Read the installed entry points again on next use (after installing a plugin in-process, in tests)."""
    entry_point_targets.cache_clear()


def known_names(kind: Kind) -> list[str]:
    """Every built-in and plugin name of ``kind`` (a built-in name wins over a plugin's)."""
    return sorted(set(kind.builtin) | set(entry_point_targets(kind.group)))


def resolve(kind: Kind, name: str) -> Any:
    """The object ``name`` names (see the module docstring for the order names are looked up in).

    Raises:
        UnknownNameError: no such name; the message suggests near matches.
        TempevalError: a ``module:attr`` whose module cannot be found or that has no such attribute.
        ImportError: the module exists but importing it fails; raised as itself.
    """
    builtin = kind.builtin.get(name)
    if builtin is not None and not isinstance(builtin, str):
        return builtin
    plugins = entry_point_targets(kind.group) if builtin is None else {}
    explicit = ":" in name and builtin is None and name not in plugins
    target = builtin or plugins.get(name) or (name if explicit else kind.convention(name))
    if not target:
        raise _unknown(kind, name)
    module_name, _, attribute = target.partition(":")
    module = _import(module_name)
    if module is None:
        if explicit and module_name.endswith(PYTHON_FILE_SUFFIX):
            raise TempevalError(f"Unknown {kind.noun} '{name}': there is no file {Path(module_name).expanduser()}.")
        if explicit:
            raise TempevalError(
                f"Unknown {kind.noun} '{name}': no module '{module_name}' can be imported (is it installed, on "
                "PYTHONPATH, or a .py file that exists?)."
            )
        raise _unknown(kind, name)
    found = getattr(module, attribute, None) if attribute else None
    if found is None:
        if explicit or name in plugins:
            raise TempevalError(f"Unknown {kind.noun} '{name}': module '{module_name}' has no '{attribute}'.")
        raise _unknown(kind, name)
    return found


def _unknown(kind: Kind, name: str) -> TempevalError:
    return unknown_name(kind.noun, name, [*known_names(kind), *kind.more_names()], kind.listing)


def _import(module_name: str) -> ModuleType | None:
    """The module (a dotted name, or a ``.py`` file), or ``None`` when it does not exist; an error raised while
    importing a module that exists propagates as itself."""
    if module_name.endswith(PYTHON_FILE_SUFFIX):
        return import_file(Path(module_name))
    try:
        return importlib.import_module(module_name)
    except ValueError:  # an empty or relative name: not a module
        return None
    except ModuleNotFoundError as exc:
        if exc.name is None or not (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise  # the module exists; something it imports does not
        return None


def import_file(path: Path) -> ModuleType | None:
    """Import a Python file as a module of its own (once per file content), or ``None`` when it does not exist."""
    file = path.expanduser().resolve()
    if not file.is_file():
        return None
    module_name = f"tempeval_file_{file.stem}_{file_sha256(file)[:12]}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses in the file look their module up while it runs
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
