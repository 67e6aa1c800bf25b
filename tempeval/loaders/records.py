"""The generic ``records`` loader: a benchmark as a file of records plus a folder of videos, no Python.

A task (or a ``datasets.yaml`` entry) says ``loader: records`` and, as options:

- ``path``: a ``.json`` (a list of records, or a mapping id -> record), ``.jsonl``, ``.csv`` or ``.parquet`` file,
  or a folder written by ``datasets.Dataset.save_to_disk`` (``split`` picks one split of a ``DatasetDict``);
- ``videos``: the folder the video field is relative to (default: the file's folder);
- ``fields``: tempeval's name -> the record's column (see :data:`FIELD_NAMES`); a field not mapped is read from
  the column of its own name, when there is one;
- ``answer_is``: ``index`` (0-based; ``index_base: 1`` for 1-based), ``letter`` or ``text``; without it the
  loader detects it from the whole file (all integers: index; all single letters within the options: letter;
  else text) and records what it chose in each sample's meta as ``answer_is``;
- ``subset_field``: a column; a task with ``subset`` set (one of a ``subsets:`` family) keeps only the records
  whose column has that value;
- ``meta``: ``all`` (default: every other column with a scalar value becomes a meta key, for ``group_by``) or
  ``mapped`` (only fields mapped under a name that is not one of :data:`FIELD_NAMES`).

Relative paths in an inline dataset are relative to the task file. Each malformed record is one warning naming
the file and the record, and is skipped (see :func:`tempeval.data.convert_records`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tempeval.data import convert_records, dataset_dir, read_json, read_jsonl
from tempeval.errors import TempevalError
from tempeval.loaders import LoadOptions
from tempeval.prompt import LETTERS
from tempeval.registry import DatasetEntry
from tempeval.task import Task
from tempeval.types import Sample, VideoRef

FIELD_NAMES: tuple[str, ...] = (
    "id", "question", "options", "answer", "video", "start", "end", "query_time", "window", "window_start",
    "window_end", "true_claim", "false_claim", "pair", "context", "answer_format",
)
"""What ``fields`` may map. ``options`` (and ``window``) may also map a list of columns (one per option; start and
end); any other key is a meta key read from the column it names."""

ANSWER_IS = ("index", "letter", "text")
_TRUE = {"true", "yes", "1", "t", "y"}
_FALSE = {"false", "no", "0", "f", "n"}


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """The samples of a records file, in file order."""
    opts = dataset.options
    if "path" not in opts:
        raise TempevalError(f"{task.source_file}: the records loader needs 'path' (the file of records).")
    root = dataset_dir(dataset, options)
    path = root / str(opts["path"])
    records = read_records(path, opts.get("split"))
    if task.subset is not None and opts.get("subset_field") is not None:  # one file, a family of tasks
        column = str(opts["subset_field"])
        records = [r for r in records if str(r.get(column)) == task.subset]
        if not records:
            raise TempevalError(f"{path}: no record has {column} = {task.subset!r} (task '{task.name}').")
    fields = {str(k): v for k, v in (opts.get("fields") or {}).items()}
    videos = root / str(opts["videos"]) if opts.get("videos") is not None else path.parent
    answer_is = str(opts.get("answer_is") or _detect_answer_is(records, fields, task))
    if answer_is not in ANSWER_IS:
        raise TempevalError(f"{task.source_file}: answer_is '{answer_is}' is not one of {', '.join(ANSWER_IS)}.")
    reader = _RecordReader(task, fields, videos, answer_is, opts)
    items = ((_label(index, record, fields), (index, record)) for index, record in enumerate(records))
    samples = convert_records(path, items, reader.convert)
    seen: set[str] = set()
    for sample in samples:
        if sample.id in seen:
            raise TempevalError(f"{path}: sample id '{sample.id}' occurs twice; ids must be unique (map 'id').")
        seen.add(sample.id)
    return samples


def read_records(path: Path, split: Any = None) -> list[Mapping[str, Any]]:
    """Every record of a JSON / JSONL / CSV / Parquet file or a saved ``datasets`` folder, as mappings."""
    if path.is_dir():
        return _read_saved_dataset(path, split)
    if not path.is_file():
        raise TempevalError(
            f"{path}: no such records file. Check 'path' in the task's dataset (relative to the task file)."
        )
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        records: Any = read_jsonl(path)
    elif suffix == ".json":
        records = read_json(path)
        if isinstance(records, Mapping):  # {id: record}: the key is the id unless the record has one
            records = [{"id": key, **value} if isinstance(value, Mapping) else value for key, value in records.items()]
    elif suffix == ".csv":
        try:
            with path.open(encoding="utf-8", newline="") as handle:
                records = list(csv.DictReader(handle))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise TempevalError(f"{path}: cannot read it as UTF-8 CSV with a header row ({exc}).") from exc
    elif suffix == ".parquet":
        try:
            import pandas as pd

            rows = pd.read_parquet(path).to_dict(orient="records")
            # list columns come back as numpy arrays (and numbers as numpy scalars): make them plain values
            records = [{k: v.tolist() if hasattr(v, "tolist") else v for k, v in row.items()} for row in rows]
        except ImportError as exc:
            raise TempevalError(f"{path}: reading Parquet needs pandas and pyarrow: pip install pyarrow ({exc}).") \
                from exc
    else:
        raise TempevalError(
            f"{path}: unknown records format '{suffix}'; use .json, .jsonl, .csv, .parquet or a datasets folder."
        )
    if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
        raise TempevalError(f"{path}: expected a list of records (objects), one per question.")
    return records


def _read_saved_dataset(path: Path, split: Any) -> list[Mapping[str, Any]]:
    try:
        import datasets
    except ImportError as exc:
        raise TempevalError(f"{path}: a folder of records is read with `datasets`: pip install datasets.") from exc
    loaded = datasets.load_from_disk(str(path))
    if isinstance(loaded, datasets.DatasetDict):
        if split is None and len(loaded) == 1:
            split = next(iter(loaded))
        if split not in loaded:
            raise TempevalError(f"{path}: a dataset with splits {', '.join(loaded)}; say which with 'split:'.")
        loaded = loaded[split]
    return [dict(row) for row in loaded]


def _label(index: int, record: Mapping[str, Any], fields: Mapping[str, Any]) -> str:
    key = fields.get("id", "id")
    value = record.get(key) if isinstance(key, str) else None
    return f"record #{index + 1}" + (f" ({key} {value!r})" if value is not None else "")


def _column(fields: Mapping[str, Any], name: str) -> Any:
    return fields.get(name, name)


def _present(record: Mapping[str, Any], column: Any) -> bool:
    return isinstance(column, str) and record.get(column) not in (None, "") and not _is_nan(record.get(column))


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def _options(record: Mapping[str, Any], fields: Mapping[str, Any]) -> tuple[str, ...]:
    column = _column(fields, "options")
    if isinstance(column, list):  # one column per option; empty ones are not options
        return tuple(str(record[c]) for c in column if _present(record, c))
    if not _present(record, column):
        return ()
    value = record[column]
    if isinstance(value, str):  # CSV: a JSON list, else options separated by '|' or newlines
        text = value.strip()
        if text.startswith("["):
            value = json.loads(text)
        else:
            value = [part.strip() for part in text.replace("\n", "|").split("|") if part.strip()]
    if isinstance(value, Mapping):  # {"A": "...", "B": "..."}
        value = [value[key] for key in sorted(value)]
    if hasattr(value, "tolist"):  # a numpy array from Parquet
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"options ({column}) must be a non-empty list of option texts, got {value!r}")
    return tuple(str(option) for option in value)


def _detect_answer_is(records: list[Mapping[str, Any]], fields: Mapping[str, Any], task: Task) -> str:
    """index, letter or text, from every record's answer; ambiguous files (numeric or one-letter options whose
    texts are the answers) must say ``answer_is``."""
    if task.answer_format != "letter":
        return "text"
    column = _column(fields, "answer")
    pairs = [(r[column], _safe_options(r, fields)) for r in records if isinstance(column, str) and _present(r, column)]
    answers = [answer for answer, _ in pairs]
    if all(isinstance(a, int) or (isinstance(a, str) and a.strip().isdigit()) for a in answers):
        guess = "index"
    elif all(isinstance(a, str) and len(a.strip()) == 1 and a.strip().upper() in LETTERS for a in answers):
        guess = "letter"
    else:
        return "text"
    could_be_text = all(str(a).strip() in {o.strip() for o in options} for a, options in pairs)
    if answers and could_be_text:
        raise TempevalError(
            f"{task.source_file}: every answer could be an option's {guess} or the option's text itself (the options "
            f"are numbers or letters); say which with 'answer_is: {guess}' or 'answer_is: text' in the dataset."
        )
    return guess


def _safe_options(record: Mapping[str, Any], fields: Mapping[str, Any]) -> tuple[str, ...]:
    try:
        return _options(record, fields)
    except (ValueError, TypeError):
        return ()


def _boolean(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{what} must be true/false or yes/no, got {value!r}")


def _seconds(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number of seconds, got {value!r}") from None


class _RecordReader:
    """Converts one raw record into the samples of the task's kind."""

    def __init__(
        self, task: Task, fields: Mapping[str, Any], videos: Path, answer_is: str, opts: Mapping[str, Any]
    ) -> None:
        self.task, self.fields, self.videos, self.answer_is = task, fields, videos, answer_is
        self.index_base = int(opts.get("index_base", 0))
        self.all_meta = str(opts.get("meta", "all")) == "all"
        used = [c for c in fields.values() for c in (c if isinstance(c, list) else [c])]
        self.used = {*used, *(name for name in FIELD_NAMES if name not in fields)}

    def column(self, name: str) -> Any:
        return _column(self.fields, name)

    def value(self, record: Mapping[str, Any], name: str) -> Any:
        column = self.column(name)
        if not _present(record, column):
            raise ValueError(f"missing field '{name}' (column '{column}'); map it under 'fields'")
        return record[column]

    def optional(self, record: Mapping[str, Any], name: str) -> Any:
        column = self.column(name)
        return record[column] if _present(record, column) else None

    def meta(self, record: Mapping[str, Any]) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        if self.all_meta:
            for key, value in record.items():
                if key not in self.used and isinstance(value, (str, int, float, bool)) and not _is_nan(value):
                    meta[str(key)] = value
        for name, column in self.fields.items():
            if name not in FIELD_NAMES and isinstance(column, str):
                if not _present(record, column):
                    raise ValueError(f"missing meta field '{name}' (column '{column}')")
                meta[name] = record[column]
        return meta

    def video(self, record: Mapping[str, Any]) -> VideoRef:
        relative = str(self.value(record, "video"))
        path = self.videos / relative  # not checked here: a missing video fails its own sample in the run
        start, end = self.optional(record, "start"), self.optional(record, "end")
        return VideoRef(
            str(path),
            None if start is None else _seconds(start, "start"),
            None if end is None else _seconds(end, "end"),
        )

    def letter(self, record: Mapping[str, Any], choices: tuple[str, ...]) -> str:
        answer = self.value(record, "answer")
        if self.answer_is == "index":
            position = int(answer) - self.index_base
        elif self.answer_is == "letter":
            position = LETTERS.index(str(answer).strip().upper()) if str(answer).strip() else -1
        else:
            texts = [c.strip() for c in choices]
            if str(answer).strip() not in texts:
                raise ValueError(f"answer {answer!r} is not one of the options {list(choices)}")
            position = texts.index(str(answer).strip())
        if not 0 <= position < len(choices):
            raise ValueError(f"answer {answer!r} (read as {self.answer_is}) is outside the {len(choices)} options")
        return LETTERS[position]

    def window(self, record: Mapping[str, Any]) -> tuple[float, float]:
        column = self.column("window")
        if isinstance(column, list) and len(column) == 2:
            start, end = (record.get(c) for c in column)
        elif _present(record, column):
            value = record[column]
            if isinstance(value, str):
                text = value.strip()
                value = json.loads(text) if text.startswith("[") else text.replace(",", " ").replace("-", " ").split()
            if hasattr(value, "tolist"):
                value = value.tolist()
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise ValueError(f"window ({column}) must be [start, end] in seconds, got {value!r}")
            start, end = value
        else:
            start, end = self.value(record, "window_start"), self.value(record, "window_end")
        window = (_seconds(start, "window start"), _seconds(end, "window end"))
        if window[1] < window[0]:
            raise ValueError(f"window {window} ends before it starts")
        return window

    def convert(self, label: str, item: tuple[int, Mapping[str, Any]]) -> Sample | Iterable[Sample]:
        """The sample(s) of one record (two for a binary pair given as true_claim/false_claim)."""
        index, record = item
        kind = self.task.kind
        sample_id = str(self.value(record, "id")) if _present(record, self.column("id")) else str(index + 1)
        meta = self.meta(record)
        if self.task.answer_format == "letter" and "answer_is" not in meta:
            meta["answer_is"] = self.answer_is
        video = self.video(record)
        context = self.optional(record, "context")
        common: dict[str, Any] = {"kind": kind, "video": video, "context": None if context is None else str(context)}
        if kind == "binary_pair" and _present(record, self.column("true_claim")):
            pair = {**meta, "pair_id": sample_id}
            return [
                Sample(id=f"{sample_id}_true", question=str(self.value(record, "true_claim")), target=True,
                       meta={**pair, "claim": "true"}, **common),
                Sample(id=f"{sample_id}_false", question=str(self.value(record, "false_claim")), target=False,
                       meta={**pair, "claim": "false"}, **common),
            ]
        if kind == "binary_pair":
            meta["pair_id"] = str(self.value(record, "pair"))
        question = str(self.value(record, "question"))
        query = self.optional(record, "query_time")
        if query is not None:
            common["query_time_s"] = _seconds(query, "query_time")
        elif kind == "online":
            raise ValueError("an online question needs 'query_time' (seconds into the stream)")
        answer_format = self.optional(record, "answer_format")
        fmt = str(answer_format) if answer_format is not None else self.task.answer_format
        choices = _options(record, self.fields)
        if kind == "online" and answer_format is None:  # a record without options is a yes/no probe
            fmt = "letter" if choices else ("yes_no" if self.task.answer_format == "letter" else fmt)
            common["answer_format"] = fmt
        elif answer_format is not None:
            common["answer_format"] = fmt
        if fmt == "letter":
            if not choices:
                raise ValueError(f"a multiple-choice question needs options (column '{self.column('options')}')")
            target: Any = self.letter(record, choices)
        elif fmt == "window":
            target = self.window(record)
        elif fmt in ("yes_no", "true_false"):
            target = _boolean(self.value(record, "answer"), "answer")
        elif fmt == "number":
            target = float(self.value(record, "answer"))
            target = int(target) if target.is_integer() else target
        else:
            target = str(self.value(record, "answer"))
        return Sample(id=sample_id, question=question, choices=choices, target=target, meta=meta, **common)
