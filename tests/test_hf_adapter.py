"""The hf adapter run for real on CPU, on a tiny random LLaVA that the test builds locally (nothing downloaded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tempeval.adapter import create_adapter
from tempeval.adapters.hf import chat_messages, generate_kwargs
from tempeval.cli import main
from tempeval.errors import TempevalError
from tempeval.results import read_run, summarize
from tempeval.runner import presented
from tempeval.types import FramePolicy, Frames, GenerationConfig, Request
from tests.tiny_models import IMAGE_SIDE, TOKENS_PER_IMAGE, build_tiny_llava


@pytest.fixture(scope="module")
def tiny_llava(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch", reason="the hf adapter test runs a model: needs torch (pip install torch)")
    pytest.importorskip("transformers", reason="the hf adapter test needs transformers (pip install '.[hf]')")
    return build_tiny_llava(tmp_path_factory.mktemp("tiny-llava"))


def test_tiny_llava_runs_on_cpu_and_sees_every_frame(
    tiny_llava: Path, synth_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import transformers

    seen: list[dict[str, Any]] = []
    original = transformers.LlavaForConditionalGeneration.generate

    def spy(model: Any, *args: Any, **kwargs: Any) -> Any:
        image_token = model.config.image_token_index
        seen.append({
            "image_tokens": (kwargs["input_ids"] == image_token).sum(dim=1).tolist(),
            "pixel_values": tuple(kwargs["pixel_values"].shape),
            "last_column_attended": bool(kwargs["attention_mask"][:, -1].all()),
            "do_sample": kwargs.get("do_sample"),
        })
        return original(model, *args, **kwargs)

    monkeypatch.setattr(transformers.LlavaForConditionalGeneration, "generate", spy)
    out = tmp_path / "runs"
    argv = ["run", "--model", f"hf/{tiny_llava}", "-M", "batch_size=2", "--task", "synth_direction", "--limit", "4",
            "--synth-dir", str(synth_dir), "--out", str(out), "--no-progress"]
    assert main(argv) == 0, "no sample may end in an error"

    run = read_run(next(out.rglob("*.jsonl")))
    assert run.header["model_args"]["transformers_version"] == transformers.__version__
    assert len(run.records) == 4
    for record in run.records:
        assert record["error"] is None and isinstance(record["output"], str)
        assert len(record["frame_times"]) == 8
        assert record["parsed"] is False and record["score"] == 0, "random words are unparseable, scored 0"
    summary = summarize(run)
    assert summary.errors == 0 and summary.unparseable == 4

    # The runner hands over what is ready, up to batch_size: 4 requests in at most 2 per generate call.
    rows = [len(call["image_tokens"]) for call in seen]
    assert sum(rows) == 4 and max(rows) <= 2, f"rows per generate call: {rows}"
    for call in seen:
        rows_here = len(call["image_tokens"])
        assert call["image_tokens"] == [8 * TOKENS_PER_IMAGE] * rows_here, "each row carries its 8 frames' tokens"
        assert call["pixel_values"] == (8 * rows_here, 3, IMAGE_SIDE, IMAGE_SIDE), "8 frames per request reached it"
        assert call["last_column_attended"], "left padding: every prompt ends at the last column"
        assert call["do_sample"] is False, "greedy by default"


def test_too_many_frames_is_that_samples_error(tiny_llava: Path) -> None:
    import numpy as np

    adapter = create_adapter(f"hf/{tiny_llava}", {"max_images": 2})
    frames = Frames(tuple(np.zeros((32, 32, 3), np.uint8) for _ in range(3)), (0.5, 1.5, 2.5), (0, 1, 2))
    few = Frames(frames.images[:1], (0.5,), (0,))
    predictions = {p.sample_id: p for p in adapter.generate([Request("many", "Q?", frames, "letter"),
                                                             Request("one", "Q?", few, "letter")])}
    assert predictions["many"].error and "max_images=2" in predictions["many"].error
    assert predictions["one"].error is None and isinstance(predictions["one"].text, str)
    assert predictions["one"].usage["prompt_tokens"] > TOKENS_PER_IMAGE


def test_missing_folder_and_bad_arguments_are_clear(tmp_path: Path) -> None:
    with pytest.raises(TempevalError, match="does not exist"):
        create_adapter(f"hf/{tmp_path / 'nowhere'}")
    with pytest.raises(TempevalError, match="dtype must be one of"):
        create_adapter(f"hf/{tmp_path}", {"dtype": "float8"})
    with pytest.raises(TempevalError, match="needs a model"):
        create_adapter("hf")


def test_unloadable_folder_says_what_was_tried(tmp_path: Path) -> None:
    pytest.importorskip("transformers", reason="loading needs transformers (pip install '.[hf]')")
    pytest.importorskip("torch", reason="loading needs torch")
    adapter = create_adapter(f"hf/{tmp_path}")
    with pytest.raises(TempevalError, match=f"Could not load the local folder {tmp_path}"):
        adapter.generate([Request("s", "Q?", None, "letter")])
    with pytest.raises(TempevalError, match="Could not load"):  # remembered: not loaded again per batch
        adapter.generate([Request("s", "Q?", None, "letter")])


def test_a_permuted_order_reaches_the_chat_messages_with_presentation_labels() -> None:
    images = tuple(np.full((4, 4, 3), i, np.uint8) for i in range(3))
    shown = presented(Frames(images, (2.5, 0.5, 1.5), (75, 15, 45)), FramePolicy(num_frames=3, order="shuffled"))
    request = Request("s", "Which way?", shown, "letter")
    (message,) = chat_messages(request)
    labels = [part["text"] for part in message["content"] if part["type"] == "text"][:-1]
    assert labels == ["Frame at 0.5 s:", "Frame at 1.5 s:", "Frame at 2.5 s:"]
    (video_message,) = chat_messages(request, video=True)
    assert video_message["content"][1]["text"] == "The video's 3 frames are at 0.5, 1.5, 2.5 seconds."


def test_an_empty_reply_is_an_error_not_an_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same meaning as on every other backend (tempeval.adapter.reply_or_error)."""
    pytest.importorskip("torch", reason="the hf adapter checks for torch when it is made (pip install torch)")
    from tempeval.adapters.hf import HFAdapter, HFOptions

    adapter = HFAdapter(str(tmp_path), HFOptions())
    monkeypatch.setattr(adapter, "_load", lambda: (None, None, None))
    monkeypatch.setattr(adapter, "_generate_batch", lambda processor, model, torch, batch: [
        (" \n", {"prompt_tokens": 3, "completion_tokens": 1}, "stop"),
        ("B", {"prompt_tokens": 3, "completion_tokens": 1}, "stop")])
    blank, answer = adapter.generate([Request("blank", "Q?", None, "letter"), Request("b", "Q?", None, "letter")])
    assert blank.text is None and blank.error == "empty reply"
    assert answer.text == "B" and answer.error is None


def test_generation_settings_map_to_generate_arguments() -> None:
    assert generate_kwargs(GenerationConfig(max_tokens=9)) == {"max_new_tokens": 9, "do_sample": False}
    hot = GenerationConfig(max_tokens=9, temperature=0.7, top_p=0.8).with_overrides(
        {"top_k": 5, "think_tags": "<t>,</t>"}
    )
    assert generate_kwargs(hot) == {"max_new_tokens": 9, "do_sample": True, "temperature": 0.7, "top_p": 0.8,
                                    "top_k": 5}, "--gen keys pass on; the harness's think_tags does not"


def test_a_small_token_budget_is_recorded_as_cut_answers(
    tiny_llava: Path, synth_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import transformers

    seen: list[dict[str, Any]] = []
    original = transformers.LlavaForConditionalGeneration.generate

    def spy(model: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append({k: kwargs.get(k) for k in ("max_new_tokens", "do_sample", "top_k", "temperature")})
        return original(model, *args, **kwargs)

    monkeypatch.setattr(transformers.LlavaForConditionalGeneration, "generate", spy)
    out = tmp_path / "runs"
    argv = ["run", "--model", f"hf/{tiny_llava}", "-M", "batch_size=2", "--task", "synth_direction", "--limit", "2",
            "--synth-dir", str(synth_dir), "--out", str(out), "--no-progress", "--max-tokens", "2",
            "--temperature", "0.5", "--gen", "top_k=3"]
    assert main(argv) == 0
    assert seen and all(call == {"max_new_tokens": 2, "do_sample": True, "top_k": 3, "temperature": 0.5}
                        for call in seen), seen  # 2 requests: one call, or two when the first was ready alone
    run = read_run(next(out.rglob("*.jsonl")))
    for record in run.records:
        assert record["usage"]["completion_tokens"] <= 2
        assert record["finish_reason"] == ("length" if record["usage"]["completion_tokens"] == 2 else "stop")
    assert summarize(run).truncated == sum(r["finish_reason"] == "length" for r in run.records)
