"""``include:`` in task files, base files, and the benchmark families folded into one file each."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tempeval import registry
from tempeval.cli import main
from tempeval.task import TaskError, is_base_file, read_task_file, read_task_files

FOLDED = Path(__file__).parent / "fixtures" / "folded_tasks.json"
"""Every field (but ``source_file``) of each MVBench, TVBench and TOMATO task, and the three groups' members, as
loaded from main's one-file-per-task ``tasks/*.yaml`` before they were folded into one family file each."""

BASE = """\
version: 3
kind: multiple_choice
answer_format: letter
prompt: "{question}\\n{options}\\n{instruction}"
frames: {num_frames: 4, order: reversed}
generation: {max_tokens: 10, seed: 7}
"""


@pytest.fixture(autouse=True)
def _forget_task_files() -> Iterator[None]:
    yield
    registry.reload()


def plain(value: Any) -> Any:
    """A task's fields as JSON data (mappings, lists, scalars)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "items"):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


ADDED_SINCE: dict[str, object] = {"stream": {}}
"""Task fields added after the snapshot was taken, with the value every folded task has (streaming settings)."""


def test_the_folded_families_load_exactly_the_tasks_main_had_one_file_each() -> None:
    expected = json.loads(FOLDED.read_text(encoding="utf-8"))
    loaded = {
        name: {key: value for key, value in plain(task).items()
               if key != "source_file" and not (key in ADDED_SINCE and value == ADDED_SINCE[key])}
        for name, task in registry.tasks().items()
        if task.groups and task.groups[0] in expected["groups"]
    }
    assert loaded == expected["tasks"]
    assert {group: registry.groups()[group] for group in expected["groups"]} == expected["groups"]
    files = {Path(registry.get_task(name).source_file).name for name in loaded}
    assert files == {"mvbench.yaml", "tvbench.yaml", "tomato.yaml"}
    assert [t.name for t in registry.resolve(["tvbench"])] == expected["groups"]["tvbench"]


def test_base_files_in_the_task_folder_are_not_tasks() -> None:
    folder = Path(registry.get_task("mvbench_action_count").source_file).parent
    base = folder / "_mvbench_format.yaml"
    assert is_base_file(base) and base.is_file()
    with pytest.raises(TaskError, match="is not a task"):  # on its own it is no task
        read_task_files(base)
    assert all(not is_base_file(Path(t.source_file)) for t in registry.tasks().values())


def test_an_included_base_is_overridden_key_by_key(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "_base.yaml").write_text(BASE)
    (tmp_path / "shared" / "_more.yaml").write_text("description: from more\ngeneration: {max_tokens: 20}\n")
    (tmp_path / "mine.yaml").write_text(
        "include: [shared/_base.yaml, shared/_more.yaml]\nname: mine\ndataset: synth\nsubset: direction\n"
        "frames: {num_frames: 6}\n"
    )
    task = read_task_file(tmp_path / "mine.yaml")
    assert (task.name, task.version, task.description, task.subset) == ("mine", "3", "from more", "direction")
    assert (task.frames.num_frames, task.frames.order) == (6, "reversed")  # frames merged, not replaced
    assert (task.generation.max_tokens, task.generation.seed) == (20, 7)  # later include over earlier
    assert task.source_file == str(tmp_path / "mine.yaml")


def test_include_works_with_subsets_and_nested_includes(tmp_path: Path, synth_dir: Path) -> None:
    (tmp_path / "_base.yaml").write_text(BASE)
    (tmp_path / "_family.yaml").write_text("include: _base.yaml\ndataset: synth\nsubsets: [direction, count]\n")
    (tmp_path / "fam.yaml").write_text("include: _family.yaml\nname: fam_{subset}\nsubsets: {order: {}}\n")
    tasks = registry.resolve([str(tmp_path / "fam.yaml")])
    assert [(t.name, t.subset, t.groups, t.version) for t in tasks] == [("fam_order", "order", ("fam",), "3")]
    out = tmp_path / "runs"
    argv = ["run", "--model", "random", "--task", str(tmp_path / "fam.yaml"), "--limit", "3", "--out", str(out),
            "--synth-dir", str(synth_dir), "--no-progress"]
    assert main(argv) == 0
    assert len((out / "random" / "fam_order.jsonl").read_text().splitlines()) == 4


def test_an_include_cycle_names_the_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("include: b.yaml\nname: a\n")
    (tmp_path / "b.yaml").write_text("include: [a.yaml]\n")
    with pytest.raises(TaskError, match="cycle") as caught:
        read_task_files(tmp_path / "a.yaml")
    assert str(tmp_path / "a.yaml") in str(caught.value) and str(tmp_path / "b.yaml") in str(caught.value)
    (tmp_path / "self.yaml").write_text("include: self.yaml\n")
    with pytest.raises(TaskError, match="cycle"):
        read_task_files(tmp_path / "self.yaml")


def test_a_missing_or_bad_include_names_both_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "t.yaml").write_text("include: nowhere/_base.yaml\nname: t\n")
    assert main(["run", "--model", "random", "--task", str(tmp_path / "t.yaml"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 't.yaml'}: included file {tmp_path / 'nowhere' / '_base.yaml'} does not exist" in err
    (tmp_path / "t.yaml").write_text("include: {a: 1}\nname: t\n")
    with pytest.raises(TaskError, match="'include' must be a path or a list of paths"):
        read_task_files(tmp_path / "t.yaml")
    (tmp_path / "_list.yaml").write_text("- 1\n")
    (tmp_path / "t.yaml").write_text("include: _list.yaml\nname: t\n")
    with pytest.raises(TaskError, match="_list.yaml must be a YAML mapping"):
        read_task_files(tmp_path / "t.yaml")


def test_running_a_base_file_says_it_is_a_base_file(capsys: pytest.CaptureFixture[str]) -> None:
    base = Path(registry.get_task("mvbench_action_count").source_file).parent / "_mvbench_format.yaml"
    assert main(["run", "--model", "random", "--task", str(base), "--limit", "1"]) != 0
    err = capsys.readouterr().err
    assert "a base file" in err and "include:" in err and "missing required" not in err
