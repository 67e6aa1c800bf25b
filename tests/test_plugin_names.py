"""One resolver for loader, scorer, metric, importer and adapter names: built-in, entry point, ``module:attr``,
and an adapter file given to ``--model path/to/adapter.py:Class``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tempeval import benchmarks, registry
from tempeval.adapter import load_adapter_class, model_label, split_model
from tempeval.cli import main
from tempeval.errors import TempevalError, UnknownNameError
from tempeval.importing import get_importer
from tempeval.loaders import get_loader
from tempeval.results import read_run
from tempeval.scoring.metrics import get_metric
from tempeval.scoring.scorers import get_scorer
from tests.test_plugins import ADAPTER_MODULE, write_dist_info

BROKEN = "import not_installed_dependency_xyz\n\ndef official(*args):\n    return None\n"

GETTERS: dict[str, Callable[[str], Any]] = {
    "scorer": get_scorer, "metric": get_metric, "loader": get_loader, "importer": get_importer,
}

PLUGIN_MODULE = '''
from tempeval.scoring.metrics import accuracy
from tempeval.scoring.scorers import strict


def always_right(output, reference):
    """An official scorer from a plugin: every answer is right."""
    return strict(reference.target if isinstance(reference.target, str) else "A", reference)


def doubled(rows, by=None):
    """A metric from a plugin: accuracy under another name."""
    return {"plugin_accuracy": accuracy(rows)["accuracy"]}
'''

ADAPTER_FILE = f"{ADAPTER_MODULE}\n\nNOT_AN_ADAPTER = 3\n"
"""The plugin test's adapter (answers -M letter, default B), as a file of one's own, plus a name that is no class."""


@pytest.fixture(autouse=True)
def _forget_task_files() -> Iterator[None]:
    yield
    registry.reload()


@pytest.mark.parametrize("kind", sorted(GETTERS))
def test_a_failing_import_inside_a_module_is_raised_as_itself(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_plugin_xyz.py").write_text(BROKEN)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as caught:
        GETTERS[kind]("broken_plugin_xyz:official")
    assert caught.value.name == "not_installed_dependency_xyz"
    with pytest.raises(TempevalError, match="no module 'nowhere_xyz' can be imported"):
        GETTERS[kind]("nowhere_xyz:official")


def test_a_benchmark_module_whose_import_fails_is_not_an_unknown_scorer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "brokenbench.py").write_text(BROKEN)
    monkeypatch.setattr(benchmarks, "__path__", [*benchmarks.__path__, str(tmp_path)])
    try:
        for resolve in (lambda: get_scorer("brokenbench.official"), lambda: get_metric("brokenbench.official"),
                        lambda: get_importer("brokenbench"), lambda: get_loader("brokenbench")):
            with pytest.raises(ModuleNotFoundError) as caught:
                resolve()
            assert caught.value.name == "not_installed_dependency_xyz"
    finally:
        sys.modules.pop("tempeval.benchmarks.brokenbench", None)


def test_unknown_names_keep_their_suggestions() -> None:
    with pytest.raises(UnknownNameError, match="Unknown metric 'acuracy'. Did you mean: accuracy"):
        get_metric("acuracy")
    with pytest.raises(UnknownNameError, match="Unknown scorer 'mvbench.nope'"):
        get_scorer("mvbench.nope")
    with pytest.raises(UnknownNameError, match="Unknown benchmark to import 'mvbenc'. Did you mean: mvbench"):
        get_importer("mvbenc")
    with pytest.raises(UnknownNameError, match="Unknown model adapter 'opnai'. Did you mean: openai"):
        load_adapter_class("opnai")
    assert get_scorer("mvbench.official") is benchmarks.mvbench.official  # type: ignore[attr-defined]


def install_plugin(site: Path) -> None:
    """What `pip install` of a package declaring a scorer and a metric by entry point leaves in site-packages."""
    site.mkdir()
    (site / "tempeval_extras_xyz.py").write_text(PLUGIN_MODULE)
    write_dist_info(
        site, "tempeval-extras-xyz",
        "[tempeval.scorers]\nalways_right = tempeval_extras_xyz:always_right\n\n"
        "[tempeval.metrics]\nplugin_accuracy = tempeval_extras_xyz:doubled\nbroken = tempeval_extras_xyz:nope\n",
    )


def test_scorers_and_metrics_from_entry_points_score_a_run(
    tmp_path: Path, synth_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    install_plugin(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    registry.reload()  # entry points are read once per process
    with pytest.raises(TempevalError, match="Unknown metric 'broken': module 'tempeval_extras_xyz' has no 'nope'"):
        get_metric("broken")
    (tmp_path / "t.yaml").write_text(
        "name: plugged\nversion: 1\nkind: multiple_choice\ndataset: synth\nsubset: direction\nanswer_format: letter\n"
        "prompt: \"{question}\\n{options}\\n{instruction}\"\nmetrics: [accuracy, plugin_accuracy]\n"
        "scorers: {official: always_right}\nparser_mode: official\n"
    )
    argv = ["run", "--model", "constant", "--task", str(tmp_path / "t.yaml"), "--limit", "4", "--out",
            str(tmp_path / "runs"), "--synth-dir", str(synth_dir), "--no-progress"]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["score", str(tmp_path / "runs"), "--json"]) == 0
    summary = next(o for o in map(json.loads, capsys.readouterr().out.splitlines()) if "task" in o)
    assert summary["metrics"]["accuracy"] == 100.0  # the plugin's scorer calls every answer right
    assert summary["metrics"]["plugin_accuracy"] == 100.0
    assert main(["score", str(tmp_path / "runs"), "--parser-mode", "strict", "--json"]) == 0
    strict = next(o for o in map(json.loads, capsys.readouterr().out.splitlines()) if "task" in o)
    assert strict["metrics"]["accuracy"] < 100.0  # the constant answer is not always right
    sys.modules.pop("tempeval_extras_xyz", None)


def test_model_strings_that_name_an_adapter_file_or_module() -> None:
    assert split_model("path/to/adapter.py:Echo/tiny") == ("path/to/adapter.py:Echo", "tiny")
    assert split_model("my_pkg.adapters:Echo") == ("my_pkg.adapters:Echo", "")
    assert split_model("openai/llama3:8b") == ("openai", "llama3:8b")  # a registered adapter's model name
    assert model_label("../x/adapter.py:Echo/tiny") == "adapter.py:Echo/tiny"
    assert model_label("my_pkg.adapters:Echo") == "my_pkg.adapters:Echo"
    assert model_label("openai/llama3:8b") == "openai/llama3:8b"


def test_run_an_adapter_from_a_file_without_installing_it(
    tmp_path: Path, synth_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "adapter.py").write_text(ADAPTER_FILE)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "runs"

    def run(model: str, *extra: str) -> int:
        return main(["run", "--model", model, "--task", "synth_direction", "--limit", "3", "--out", str(out),
                     "--synth-dir", str(synth_dir), "--no-progress", *extra])

    assert run("mine/adapter.py:MiddleAdapter/tiny", "-M", "letter=C") == 0
    log = read_run(out / "adapter.py_MiddleAdapter__tiny" / "synth_direction.jsonl")
    assert log.header["model"] == "adapter.py:MiddleAdapter/tiny" and log.header["model_args"] == {"letter": "C"}
    assert [r["output"] for r in log.records] == ["C"] * 3
    monkeypatch.syspath_prepend(str(tmp_path / "mine"))
    assert run("adapter:MiddleAdapter") == 0  # a module on the path, by module:Class
    assert read_run(out / "adapter_MiddleAdapter" / "synth_direction.jsonl").header["model"] == "adapter:MiddleAdapter"
    capsys.readouterr()
    assert run("mine/nope.py:MiddleAdapter") == 2
    assert f"there is no file {Path('mine/nope.py')}" in capsys.readouterr().err
    assert run("mine/adapter.py:Missing") == 2
    assert "has no 'Missing'" in capsys.readouterr().err
    assert run("mine/adapter.py:NOT_AN_ADAPTER") == 2
    assert "is not an adapter: it must be a subclass of tempeval.adapter.Adapter" in capsys.readouterr().err
    sys.modules.pop("adapter", None)
