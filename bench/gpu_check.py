"""GPU check: the hf (and, where installed, vllm) adapter on CUDA sees the same frames, prompts and times as on CPU.

Needs a CUDA GPU, PyTorch and transformers; no network. It builds a tiny randomly initialised LLaVA (nothing
downloaded: ``tests/tiny_models.py``), runs ``tempeval run`` on a few synthetic videos once with ``-M device=cpu``
and once with ``-M device=cuda``, and compares what reached ``generate`` (token ids, pixel values, image token
counts) and what the records say (frame times, prompt hashes). Random weights answer nonsense, so the answers are
reported, not required to match. Where vLLM is installed the vllm adapter runs the same task and its records'
frame times and prompt hashes are compared with the CPU run; where it is not, that part says so and is skipped.

Run: bash bench/gpu_check.sh   (a few minutes at most; exit 0 only when every check held)
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from tempeval.cli import main as tempeval_main  # noqa: E402
from tempeval.results import read_run  # noqa: E402

TASK = "synth_direction"


def _calls_seen(
    device: str, model_dir: Path, synth_dir: Path, out: Path, limit: int
) -> tuple[list[dict[str, Any]], Path]:
    """Run the hf adapter on ``device``; what each ``generate`` call received, and the run file."""
    import transformers

    seen: list[dict[str, Any]] = []
    original = transformers.LlavaForConditionalGeneration.generate

    def spy(model: Any, *args: Any, **kwargs: Any) -> Any:
        pixels = kwargs["pixel_values"].detach().float().cpu().numpy()
        seen.append({
            "device": str(kwargs["input_ids"].device),
            "input_ids": kwargs["input_ids"].cpu().tolist(),
            "pixels_sha": hashlib.sha256(pixels.round(4).tobytes()).hexdigest(),
            "pixels_shape": tuple(pixels.shape),
        })
        return original(model, *args, **kwargs)

    transformers.LlavaForConditionalGeneration.generate = spy  # type: ignore[method-assign]
    try:
        argv = ["run", "--model", f"hf/{model_dir}", "-M", f"device={device}", "-M", "batch_size=2",
                "--task", TASK, "--limit", str(limit), "--synth-dir", str(synth_dir), "--out", str(out),
                "--no-progress"]
        code = tempeval_main(argv)
    finally:
        transformers.LlavaForConditionalGeneration.generate = original  # type: ignore[method-assign]
    if code != 0:
        raise SystemExit(f"tempeval run on {device} exited {code}")
    return seen, next(out.rglob("*.jsonl"))


def _record_view(path: Path) -> list[tuple[str, list[float], str | None]]:
    return [(r.sample_id, list(r.frame_times), r.prompt_sha) for r in read_run(path).records]


def _outputs(path: Path) -> list[str | None]:
    return [r.output for r in read_run(path).records]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=6, help="samples per run (default 6)")
    parser.add_argument("--device", default="cuda", help="the device checked against cpu (default cuda; 'cpu' "
                        "dry-runs the script itself on a machine without a GPU)")
    args = parser.parse_args()
    import torch

    from tests.tiny_models import build_tiny_llava

    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA GPU visible to torch: nothing to check (this script is for a GPU machine)")
        return 2
    shown = torch.cuda.get_device_name(0) if device.startswith("cuda") else device
    print(f"torch {torch.__version__}, device checked: {shown}")
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        model_dir = build_tiny_llava(root / "tiny-llava")
        synth_dir = root / "synth"
        cpu_calls, cpu_run = _calls_seen("cpu", model_dir, synth_dir, root / "cpu", args.limit)
        gpu_calls, gpu_run = _calls_seen(device, model_dir, synth_dir, root / "device", args.limit)

        def check(name: str, held: bool) -> None:
            print(f"  {'ok  ' if held else 'FAIL'} {name}")
            if not held:
                failures.append(name)

        print(f"hf adapter: {len(cpu_calls)} generate calls on cpu, {len(gpu_calls)} on {device}")
        check(f"the {device} run's inputs were on {device}",
              all(c["device"].startswith(device.split(":")[0]) for c in gpu_calls))
        check("same number of generate calls", len(cpu_calls) == len(gpu_calls))
        check("same token ids (prompts, image tokens) per call",
              [c["input_ids"] for c in cpu_calls] == [c["input_ids"] for c in gpu_calls])
        check("same pixel values per call",
              [(c["pixels_shape"], c["pixels_sha"]) for c in cpu_calls]
              == [(c["pixels_shape"], c["pixels_sha"]) for c in gpu_calls])
        check("same frame times and prompt hashes in the records", _record_view(cpu_run) == _record_view(gpu_run))
        same = sum(a == b for a, b in zip(_outputs(cpu_run), _outputs(gpu_run), strict=True))
        print(f"  info: {same} of {args.limit} answers identical on cpu and {device} (random weights; not a check)")

        if importlib.util.find_spec("vllm") is None:
            print("vllm adapter: vLLM is not installed here; skipped (pip install 'tempeval[vllm]' to check it)")
        else:
            out = root / "vllm"
            code = tempeval_main(["run", "--model", f"vllm/{model_dir}", "--task", TASK, "--limit", str(args.limit),
                                  "--synth-dir", str(synth_dir), "--out", str(out), "--no-progress"])
            print(f"vllm adapter: tempeval run exited {code}")
            check("vllm run finished without errors", code == 0)
            if code == 0:
                check("vllm records: same frame times and prompt hashes as the hf cpu run",
                      _record_view(next(out.rglob("*.jsonl"))) == _record_view(cpu_run))
    print("GPU check: " + ("every check held" if not failures else f"{len(failures)} check(s) failed"))
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
