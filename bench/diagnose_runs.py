"""What `tempeval diagnose` costs beyond the model: run-file reads, sample loads and wall, on a synthetic task.

A multiple-choice task of ``--videos`` small generated videos with ``--questions`` questions each, diagnosed with
the ``random`` baseline (no model time), 4 variants, chunks of 64 samples. Counted: every read of a run file
(``Path.read_bytes`` of a ``*.jsonl``) and the bytes read, every load of the task's samples, and the decode
passes of the shared frame source.

Run: python bench/diagnose_runs.py [--videos 16] [--questions 64] [--code DIR]
``--code DIR`` measures another checkout's tempeval (e.g. ``git archive main | tar -x -C /tmp/main``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def make_task(root: Path, videos: int, questions: int) -> Path:
    """Videos (64 px, 10 fps, 3 s, H.264), a questions file and the task YAML; returns the YAML's path."""
    import av
    import numpy as np

    (root / "videos").mkdir(parents=True)
    for index in range(videos):
        with av.open(str(root / "videos" / f"v{index}.mp4"), "w") as container:
            stream = container.add_stream("libx264", rate=10)
            stream.width = stream.height = 64
            stream.pix_fmt = "yuv420p"
            for frame_index in range(30):
                image = np.full((64, 64, 3), (index * 37 + frame_index * 8) % 256, dtype=np.uint8)
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    with (root / "questions.jsonl").open("w", encoding="utf-8") as handle:
        for index in range(videos * questions):
            row = {"qid": f"q{index}", "question": f"Question {index}?", "options": ["left", "right", "up"],
                   "answer": index % 3, "video": f"v{index % videos}.mp4"}
            handle.write(json.dumps(row) + "\n")
    task = root / "bench_mcq.yaml"
    task.write_text(
        "name: bench_mcq\nversion: 1\nkind: multiple_choice\n"
        "dataset: {loader: records, path: questions.jsonl, videos: videos,\n"
        "          fields: {id: qid, question: question, options: options, answer: answer, video: video}}\n"
        "answer_format: letter\nprompt: \"{question}\\n{options}\\n{instruction}\"\n"
        "frames: {num_frames: 8}\nmetrics: [accuracy]\n",
        encoding="utf-8",
    )
    return task


def measure(task_file: Path, out: Path) -> dict[str, Any]:
    from tempeval import diagnose as diagnosis
    from tempeval import registry, runner
    from tempeval.adapter import create_adapter
    from tempeval.runner import RunOptions
    from tempeval.video import FrameSource

    reads = {"count": 0, "bytes": 0, "loads": 0}
    read_bytes = Path.read_bytes

    def counted_read(self: Path) -> bytes:
        raw = read_bytes(self)
        if self.suffix == ".jsonl" and self.parent != task_file.parent:
            reads["count"] += 1
            reads["bytes"] += len(raw)
        return raw

    Path.read_bytes = counted_read  # type: ignore[method-assign]
    for module in (runner, diagnosis):
        load = module.load_samples

        def counted_load(*args: Any, _load: Any = load, **kwargs: Any) -> Any:
            reads["loads"] += 1
            return _load(*args, **kwargs)

        module.load_samples = counted_load  # type: ignore[attr-defined]
    task = registry.get_task(str(task_file))
    source = FrameSource(cache_bytes=diagnosis.DIAGNOSE_CACHE_BYTES)
    options = diagnosis.DiagnoseOptions(run=RunOptions(out_dir=out, progress=False))
    started = time.perf_counter()
    result = diagnosis.diagnose(task, create_adapter("random"), "random", options, frame_source=source)
    wall = time.perf_counter() - started
    return {"samples": result.n, "wall_s": round(wall, 2), "run_file_reads": reads["count"],
            "run_file_mib_read": round(reads["bytes"] / 2**20, 1), "sample_loads": reads["loads"],
            "decode_passes": source.passes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=16)
    parser.add_argument("--questions", type=int, default=64, help="questions per video")
    parser.add_argument("--code", type=Path, help="the checkout whose tempeval is measured (default: this one)")
    args = parser.parse_args()
    sys.path.insert(0, str(args.code or Path(__file__).resolve().parents[1]))
    with tempfile.TemporaryDirectory() as folder:
        task_file = make_task(Path(folder) / "task", args.videos, args.questions)
        print(json.dumps(measure(task_file, Path(folder) / "runs")))


if __name__ == "__main__":
    main()
