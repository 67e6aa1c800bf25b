"""Where benchmark data lives on this machine, what must be there, and fetching it from the hub.

Layout: ``<data root>/<dataset name>/`` holds the annotation files at the paths the registry lists (the same
paths as in the dataset's hub repository) and the videos under the registry's ``videos`` folder. The data root is
``--data-dir``, else ``$TEMPEVAL_DATA``, else ``~/.cache/tempeval/data``. ``tempeval run`` never touches the network
for data: only ``tempeval data fetch`` does.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any

from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.registry import DatasetEntry
from tempeval.task import Task
from tempeval.types import Sample

SOURCE_FILE = "tempeval-source.json"
"""Written by ``tempeval data fetch`` into the dataset folder: repo, revision and sha256 of each file fetched."""
UNPINNED = "unpinned"


class DataMissingError(TempevalError):
    """Annotation files that are not where they must be."""


def data_root(options: LoadOptions) -> Path:
    """The data root for this run."""
    if options.data_dir is not None:
        return Path(options.data_dir).expanduser()
    env = os.environ.get("TEMPEVAL_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "tempeval" / "data"


def dataset_dir(entry: DatasetEntry, options: LoadOptions) -> Path:
    """The folder of one dataset."""
    return data_root(options) / str(entry.options.get("folder", entry.name))


def annotation_files(entry: DatasetEntry) -> list[str]:
    """The annotation files the registry lists for a dataset (relative paths)."""
    return [str(p) for p in entry.options.get("annotations") or []]


def video_dir(entry: DatasetEntry, options: LoadOptions) -> Path:
    """The folder the dataset's video paths are relative to."""
    return dataset_dir(entry, options) / str(entry.options.get("videos", "videos"))


def require(entry: DatasetEntry, options: LoadOptions, files: Iterable[str] | None = None) -> dict[str, Path]:
    """Paths of the given (default: all listed) annotation files; one clear error naming every missing one."""
    folder = dataset_dir(entry, options)
    wanted = list(files) if files is not None else annotation_files(entry)
    paths = {name: folder / name for name in wanted}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise DataMissingError(
            f"Dataset '{entry.name}' is missing {len(missing)} annotation file(s):\n  "
            + "\n  ".join(missing)
            + f"\n{_how_to_get(entry)}, or point --data-dir (or TEMPEVAL_DATA) at a folder holding "
            f"'{folder.name}/'. 'tempeval data where {entry.name}' lists every file and where it must be."
        )
    return paths


def require_for_run(entries: Iterable[DatasetEntry], options: LoadOptions, whole: Collection[str] = ()) -> None:
    """One error naming every missing annotation file of these datasets at once (not one per attempt): of each
    dataset in ``whole`` (all of its tasks are to run: every file is needed), and of each other dataset none of
    whose files are here. A dataset with some of its files is otherwise left to its loader, which knows which
    file a task needs."""
    absent = []
    for entry in {e.name: e for e in entries}.values():
        folder = dataset_dir(entry, options)
        files = [folder / name for name in annotation_files(entry)]
        missing = [path for path in files if not path.is_file()]
        if missing and (entry.name in whole or len(missing) == len(files)):
            absent.append((entry, missing))
    if not absent:
        return
    lines = [f"{len(absent)} dataset(s) of these tasks miss annotation files:"]
    for entry, files in absent:
        lines.append(f"  {entry.name}: {_how_to_get(entry)}:")
        lines.extend(f"    {path}" for path in files)
    lines.append(
        "Or point --data-dir (or TEMPEVAL_DATA) at a folder holding them; 'tempeval data where NAME' lists every "
        "file of a dataset and where it must be."
    )
    raise DataMissingError("\n".join(lines))


def _how_to_get(entry: DatasetEntry) -> str:
    if entry.source.startswith("hf://"):
        return f"Fetch them with 'tempeval data fetch {entry.name}' (on a machine with network)"
    where_from = entry.options.get("download") or "the benchmark's official site (see tasks/datasets.yaml)"
    return f"Download them from {where_from}"


def read_subset_file(
    task: Task, dataset: DatasetEntry, options: LoadOptions, subsets: Collection[str], file_of: Callable[[str], str]
) -> tuple[str, Path, Any]:
    """(subset, path, parsed JSON) of a task whose ``subset`` names one annotation file of its dataset.

    Raises:
        TempevalError: the task's subset is not one of ``subsets``, or the file is missing or not JSON.
    """
    subset = task.subset
    if subset is None or subset not in subsets:
        raise TempevalError(
            f"{task.source_file}: task '{task.name}' needs 'subset' set to one of {', '.join(subsets)}; got {subset!r}."
        )
    relative = file_of(subset)
    path = require(dataset, options, [relative])[relative]
    return subset, path, read_json(path)


def read_json(path: Path) -> Any:
    """Read an annotation JSON file; errors name the file and the fix."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise TempevalError(f"{path}: not UTF-8 text ({exc}). Re-download the file.") from exc
    except ValueError as exc:
        raise TempevalError(f"{path}: not valid JSON ({exc}). Re-download the file.") from exc


def read_results_json(path: Path) -> Any:
    """Read a JSON file of a model's results that a user gives to an importer; errors name the file."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise TempevalError(f"{path}: cannot read it as JSON ({exc}).") from exc


def read_jsonl(path: Path) -> list[Any]:
    """Read a JSON-lines annotation file; errors name the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise TempevalError(f"{path}: not UTF-8 text ({exc}). Re-download the file.") from exc
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError as exc:
            raise TempevalError(f"{path}: line {number} is not valid JSON ({exc}).") from exc
    return records


class SkippedRecordWarning(UserWarning):
    """An annotation record that could not be read and was left out (the run header counts them)."""


RECORD_ERRORS = (KeyError, ValueError, TypeError, IndexError, TempevalError)
"""What converting one malformed annotation record raises: that record is skipped with a warning."""


def convert_records(
    path: Path, items: Iterable[tuple[str, Any]], convert: Callable[[str, Any], Sample | Iterable[Sample]]
) -> list[Sample]:
    """The samples of every record that converts; each malformed record is one warning and is skipped.

    A file none of whose records converts is the wrong file, not a few bad records: that is a TempevalError.

    Args:
        path: The annotation file, named in each warning.
        items: ``(label, raw record)`` pairs; the label names the record for a reader ("record #3 (id 7)").
        convert: ``convert(label, record)``: one Sample or several; raises one of ``RECORD_ERRORS`` on a bad record.
    """
    samples: list[Sample] = []
    skipped: list[str] = []
    converted_any = False
    for label, record in items:
        try:
            converted = convert(label, record)
            samples.extend([converted] if isinstance(converted, Sample) else converted)
            converted_any = True
        except RECORD_ERRORS as exc:
            skipped.append(skipped_message(path, label, exc))
    if skipped and not converted_any:
        raise TempevalError(
            f"{path}: none of its {len(skipped)} record(s) could be read; the first: {skipped[0]}. Is this the "
            "right file? Re-download it."
        )
    for message in skipped:
        warnings.warn(message, SkippedRecordWarning, stacklevel=2)
    return samples


def skipped_message(path: Path, label: str, exc: BaseException) -> str:
    """One line naming the file, the record, what is wrong with it and the fix."""
    if isinstance(exc, KeyError) and not isinstance(exc, TempevalError):
        problem = f"missing field {exc}"
    else:
        problem = str(exc) or type(exc).__name__
    if str(path) in problem:  # the loader's own message already names the file and the record
        return f"{problem} (record skipped; the other records are loaded)"
    return f"{path}: {label}: {problem} — skipped; fix the record or re-download the file"


def fingerprint(entry: DatasetEntry, options: LoadOptions) -> dict[str, Any]:
    """Identity of the data actually used: registry source and revision, and the annotations' sha256."""
    out: dict[str, Any] = {"name": entry.name, "source": entry.source, "revision": entry.revision}
    if entry.loader == "synth" and options.synth_per_task is not None:
        out["per_task"] = options.synth_per_task  # another size is other samples: never resumed into
    files = annotation_files(entry)
    if not files:
        return out
    folder = dataset_dir(entry, options)
    fetched = folder / SOURCE_FILE
    if fetched.is_file():
        out["revision"] = json.loads(fetched.read_text(encoding="utf-8")).get("revision", entry.revision)
    digest = hashlib.sha256()
    for name in sorted(files):
        path = folder / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    out["annotations_sha256"] = digest.hexdigest()[:16]
    return out


def where(entry: DatasetEntry, options: LoadOptions) -> str:
    """Every file the dataset needs and where it must be, for preparing an offline machine."""
    if entry.loader == "synth":  # generated, not downloaded: its folder is the synthetic suite's
        from tempeval import synth
        from tempeval.loaders.synth import synth_per_task

        suite = synth.suite_dir(options.synth_dir, seed=int(entry.options.get("seed", 0)),
                                per_task=synth_per_task(entry, options))
        state = "generated" if (suite / synth.MARKER).is_file() else "not generated yet (made on first use)"
        return "\n".join([
            f"{entry.name}: the built-in synthetic suite, generated on this machine (licence: {entry.license})",
            f"suite folder: {suite}  ({state}; --synth-dir moves it)",
        ])
    folder = dataset_dir(entry, options)
    lines = [f"{entry.name}: {entry.source} @ {entry.revision} (licence: {entry.license or 'see source'})"]
    lines.append(f"dataset folder: {folder}")
    for name in annotation_files(entry):
        state = "ok" if (folder / name).is_file() else "MISSING"
        lines.append(f"  {state:<8} {folder / name}")
    lines.append(f"videos under:   {video_dir(entry, options)}  (fetched with --videos)")
    for archive in entry.options.get("video_archives") or []:
        lines.append(f"  archive {archive} -> unpack into the videos folder")
    return "\n".join(lines)


def _hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


def _offline_message(entry: DatasetEntry, cause: str) -> str:
    return (
        f"cannot reach the hub at {_hub_endpoint()} ({cause}): fetch on a machine with network, or copy the files "
        f"by hand; 'tempeval data where {entry.name}' lists every file and where it must be."
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_hub_reachable(entry: DatasetEntry, timeout_s: float = 5.0) -> None:
    """Fail at once, in one line, when the hub's host cannot be reached (no DNS, no route, refused)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(_hub_endpoint())
    if parts.hostname is None or os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy"):
        return  # through a proxy only the proxy knows: let the download tell
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout_s).close()
    except OSError as exc:
        raise TempevalError(_offline_message(entry, f"{type(exc).__name__}: {_first_line(exc)}")) from exc


def _is_network_error(exc: BaseException) -> bool:
    """Whether a download failed for want of a connection (not a missing file or a bad revision)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"LocalEntryNotFoundError", "OfflineModeIsEnabled", "ConnectionError", "ConnectTimeout",
                "ReadTimeout", "Timeout", "ConnectError", "TimeoutException", "ProxyError", "SSLError"}:
        return True
    if names & {"HTTPError", "HTTPStatusError", "HfHubHTTPError"}:  # the hub answered: a real error, shown as is
        return False
    return isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError)


def fetch(entry: DatasetEntry, options: LoadOptions, *, videos: bool = False, revision: str | None = None) -> Path:
    """Download a dataset's annotation files (and video archives) at its pinned revision; verify and record them."""
    if not entry.source.startswith("hf://"):
        raise TempevalError(f"Dataset '{entry.name}' comes from {entry.source}, not the hub: nothing to fetch.")
    pinned = revision or entry.revision
    if pinned == UNPINNED:
        raise TempevalError(
            f"Dataset '{entry.name}' has no pinned hub revision in the registry. Look up the commit you want on "
            f"the hub page of {entry.source[5:]} and pass it: tempeval data fetch {entry.name} --revision SHA "
            "(it is recorded in the data folder and in every run header)."
        )
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:
        raise TempevalError("Fetching needs huggingface_hub (only that): pip install huggingface_hub") from exc
    folder = dataset_dir(entry, options)
    names = annotation_files(entry) + (list(entry.options.get("video_archives") or []) if videos else [])
    checksums = dict(entry.options.get("sha256") or {})
    record: dict[str, Any] = {"repo": entry.source[5:], "revision": pinned, "files": {}}
    _check_hub_reachable(entry)
    for name in names:
        try:
            path = Path(
                hf_hub_download(entry.source[5:], name, repo_type="dataset", revision=pinned, local_dir=str(folder))
            )
        except Exception as exc:  # no network, proxy, hub down: one line, not a traceback
            if not _is_network_error(exc):
                raise
            raise TempevalError(_offline_message(entry, f"{type(exc).__name__}: {_first_line(exc)}")) from exc
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if name in checksums and checksums[name] != digest:
            raise TempevalError(
                f"{path}: sha256 {digest} does not match the registry's {checksums[name]}; the file on the hub "
                "changed or the download is damaged. Delete it and fetch again."
            )
        record["files"][name] = digest
    (folder / SOURCE_FILE).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return folder
