"""Third-party adapters and tasks are found by entry point, as an installed plugin package would be.

The test writes a tiny installed distribution (a package plus its ``*.dist-info`` with ``entry_points.txt``) into a
folder on ``PYTHONPATH``: exactly what ``pip install`` leaves behind, without needing the network.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ADAPTER_MODULE = '''
"""A complete third-party adapter: always answers the middle option."""
from dataclasses import dataclass

from tempeval.adapter import Adapter
from tempeval.types import Prediction


@dataclass(frozen=True)
class Options:
    letter: str = "B"


class MiddleAdapter(Adapter):
    name = "middle"
    Options = Options

    def generate(self, requests):
        return [Prediction(r.sample_id, self.options.letter) for r in requests]
'''

BASE_YAML = """\
version: 1
kind: multiple_choice
dataset: synth
answer_format: letter
prompt: |
  {question}
  {options}
  {instruction}
"""
"""A base file (named _*.yaml): the plugin's tasks include it; the registry does not read it as a task."""

TASK_YAML = """\
include: _base.yaml
name: plugin_direction
description: synth_direction, shipped by a plugin.
subset: direction
"""


def install_plugin(site: Path) -> None:
    """What `pip install tempeval-middle` would leave in site-packages."""
    package = site / "tempeval_middle"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(ADAPTER_MODULE)
    (package / "tasks").mkdir()
    (package / "tasks" / "__init__.py").write_text("")
    (package / "tasks" / "plugin_direction.yaml").write_text(TASK_YAML)
    (package / "tasks" / "_base.yaml").write_text(BASE_YAML)
    write_dist_info(
        site, "tempeval-middle",
        "[tempeval.adapters]\nmiddle = tempeval_middle:MiddleAdapter\n\n"
        "[tempeval.tasks]\nmiddle_tasks = tempeval_middle.tasks\n",
    )


def write_dist_info(site: Path, distribution: str, entry_points: str) -> None:
    """The ``*.dist-info`` folder pip leaves for an installed distribution with these entry points."""
    dist = site / f"{distribution.replace('-', '_')}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(entry_points)


def tempeval_cli(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "tempeval.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_plugin_adapter_and_task_found_and_run(tmp_path: Path, synth_dir: Path) -> None:
    site = tmp_path / "site"
    install_plugin(site)
    listed = tempeval_cli(site, "list", "models")
    assert listed.returncode == 0 and "middle" in listed.stdout and "letter='B'" in listed.stdout
    tasks = tempeval_cli(site, "list", "tasks")
    assert "plugin_direction" in tasks.stdout

    out = tmp_path / "runs"
    ran = tempeval_cli(site, "run", "--model", "middle", "--task", "plugin_direction", "--limit", "6",
                       "--synth-dir", str(synth_dir), "--out", str(out), "--no-progress")
    assert ran.returncode == 0, ran.stderr
    lines = (out / "middle" / "plugin_direction.jsonl").read_text().splitlines()
    assert len(lines) == 7 and all('"output": "B"' in line for line in lines[1:])
