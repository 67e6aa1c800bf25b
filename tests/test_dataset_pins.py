"""The dataset registry says truthfully what is pinned: commits, generator versions or 'unpinned', and where checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tempeval import registry
from tempeval.cli import main
from tempeval.synth import GENERATOR_VERSION

REGISTRY_FILE = Path(__file__).resolve().parents[1] / "tasks" / "datasets.yaml"
COMMIT = re.compile(r"[0-9a-f]{40}")
ENTRY_START = re.compile(r"^([A-Za-z0-9_]+):(.*)$")
REVISION_LINE = re.compile(r"^\s+revision:\s*(\S+)\s*(?:#(.*))?$")


def entry_blocks(text: str) -> dict[str, list[str]]:
    """The lines of each top-level entry, its ``name:`` line first."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        start = ENTRY_START.match(line)
        if start:
            current = blocks.setdefault(start.group(1), [])
        if current is not None:
            current.append(line)
    return blocks


def pin_problems(text: str) -> list[str]:
    """What is wrong with the revisions of a raw datasets.yaml text (comments are lost to a YAML parser)."""
    problems: list[str] = []
    for name, lines in entry_blocks(text).items():
        spec = yaml.safe_load("\n".join(lines))[name]
        revision, source = str(spec["revision"]), str(spec["source"])
        revision_comment = next((m.group(2) or "" for m in map(REVISION_LINE.match, lines) if m), "")
        if source == "builtin":
            if revision != f"generator-{GENERATOR_VERSION}":
                problems.append(f"{name}: builtin data must say generator-{GENERATOR_VERSION}, not '{revision}'")
        elif revision != "unpinned" and not COMMIT.fullmatch(revision):
            problems.append(f"{name}: revision '{revision}' is neither a 40-hex commit nor 'unpinned'")
        elif source.startswith("hf://") and revision != "unpinned":
            # the page that showed the files at this commit, on the revision line (or the entry's first line)
            comments = revision_comment + " " + lines[0]
            page = re.search(r"checked\b.*huggingface\.co/datasets/" + re.escape(source[5:]) + r"/(?:tree|blob)/(\w+)",
                             comments)
            if page is None or not revision.startswith(page.group(1)[:8]):
                problems.append(f"{name}: pinned to {revision[:8]} but no '# checked: <page at that commit>' comment")
    return problems


def test_every_revision_is_a_commit_a_generator_version_or_unpinned() -> None:
    text = REGISTRY_FILE.read_text(encoding="utf-8")
    assert pin_problems(text) == []
    parsed = yaml.safe_load(text)
    inline = {name for name, entry in registry.datasets().items() if entry.revision == "local"}  # task files' own
    assert set(parsed) == set(entry_blocks(text)) == set(registry.datasets()) - inline
    assert any(COMMIT.fullmatch(str(spec["revision"])) for spec in parsed.values() if spec["source"].startswith("hf://"))


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("x:\n  loader: x\n  source: hf://o/r\n  revision: main\n", "neither a 40-hex commit"),
        ("x:\n  loader: x\n  source: local\n  revision: latest\n", "neither a 40-hex commit"),
        ("x:\n  loader: x\n  source: builtin\n  revision: generator-0\n", "builtin data must say"),
        ("x:\n  loader: x\n  source: hf://o/r\n  revision: " + "a" * 40 + "\n", "no '# checked:"),
        ("x:\n  loader: x\n  source: hf://o/r\n  revision: " + "a" * 40
         + "   # checked: https://huggingface.co/datasets/o/r/tree/" + "b" * 40 + "\n", "no '# checked:"),
        ("x:\n  loader: x\n  source: hf://o/r\n  revision: " + "a" * 40
         + "   # checked: https://huggingface.co/datasets/other/repo/tree/" + "a" * 40 + "\n", "no '# checked:"),
    ],
)
def test_bad_pins_are_caught(entry: str, problem: str) -> None:
    (found,) = pin_problems(entry)
    assert problem in found


def test_a_checked_pin_passes() -> None:
    sha = "c" * 40
    good = f"x:\n  loader: x\n  source: hf://o/r\n  revision: {sha}   # checked: https://huggingface.co/datasets/o/r/blob/{sha}/a.json\n"
    assert pin_problems(good) == []


def test_list_datasets_says_what_is_pinned(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "datasets"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}
    for name, entry in registry.datasets().items():
        assert rows[name][1:3] == [entry.source, entry.revision]
    assert rows["synth"][2] == f"generator-{GENERATOR_VERSION}"
    assert rows["tvbench"][2] == "ad7968f6e376cd1fa70ab344174cc9bd81b042ef"
    assert rows["mvbench"][2] == "unpinned"
    assert "CC BY 4.0" in " ".join(rows["tvbench"][3:])
