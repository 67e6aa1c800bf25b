"""Prompt rendering: an official prompt's blank lines survive, lines a placeholder emptied do not, and the frame
count and order are stated as they are."""

from __future__ import annotations

import dataclasses

import pytest

from tempeval import registry
from tempeval.prompt import TemplateError, check_template, render
from tempeval.task import Task
from tempeval.types import Sample

SAMPLE = Sample(id="s", kind="multiple_choice", question="Which way?", choices=("left", "right"))


def task_with(prompt: str) -> Task:
    return dataclasses.replace(registry.get_task("synth_direction"), prompt=prompt)


def test_blank_lines_of_the_template_are_kept_and_emptied_lines_dropped() -> None:
    template = "Intro.\n\n{context}\n\n{question}\n{options}\n\nAnswer.\n"
    assert render(task_with(template), SAMPLE) == "Intro.\n\nWhich way?\n(A) left\n(B) right\n\nAnswer."
    with_context = dataclasses.replace(SAMPLE, context="Para one.\n\nPara two.")
    assert render(task_with(template), with_context) == (
        "Intro.\n\nPara one.\n\nPara two.\n\nWhich way?\n(A) left\n(B) right\n\nAnswer."
    ), "a value's own blank lines are content"
    no_options = dataclasses.replace(SAMPLE, choices=())
    assert render(task_with("\n{question}\n{options}\nEnd.\n\n"), no_options) == "Which way?\nEnd."


def test_frame_count_and_order_are_stated_as_they_are() -> None:
    task = task_with("{num_frames} frames{in_time_order:, in chronological order}.\n{in_time_order:In order.}\n"
                     "{question}")
    check_template(task)
    assert render(task, SAMPLE, num_frames=8) == "8 frames, in chronological order.\nIn order.\nWhich way?"
    assert render(task, SAMPLE, num_frames=8, in_time_order=False) == "8 frames.\nWhich way?"
    with pytest.raises(TemplateError, match="uses {frame_count}"):
        check_template(task_with("{frame_count} frames. {question}"))
