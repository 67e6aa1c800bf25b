"""The local-GPU path without a GPU: a stand-in engine behind the real ``vllm`` adapter, fed by the real runner.

The stand-in is a fake ``vllm`` module whose engine takes ``engine_s`` seconds per request (a GPU answering
1 / engine_s requests a second) and answers "A". With ``engine_loop=stream`` (the adapter's default) it is
vLLM V1's ``LLMEngine``: ``add_request`` queues a request for the engine core, which works in its own thread here
(its own process in vLLM), and ``step`` returns the requests finished since the last step (waiting up to one
10 ms engine iteration for one). With ``engine_loop=batch`` it is ``LLM.generate``, sleeping engine_s per request
of the call on the caller's thread. The ``openai`` rows put the loopback server of ``tests/chat_server.py`` (a
fixed latency per request, its JPEG frames decoded) behind the openai adapter instead. The videos are made by
the script (640x360 and 1280x720, 30 fps H.264, moving gradients and a noise patch), 4 questions each, 16 frames
a question. Each
configuration runs in a fresh process (so its peak RSS is its own) and reports:

* ``wall``: run_task, from loading the samples to the last record written;
* ``busy``: the fraction of the wall the engine was working on a request (for ``openai``: the server's ideal
  time, requests x latency / concurrency, over the wall);
* ``decode CPU-s``: CPU time (every thread, FFmpeg's included) of decoding the run's frames once, one video at a
  time, measured before the run (probe, decode, RGB conversion), and ``cores``: the run's CPU time over its wall;
* ``peak RSS``: the process's high-water mark, and the same less the RSS before the run (imports, engine).

Targets (ratios within one run): engine-bound, ``busy >= 0.90``; decode-bound, ``wall <= 1.15 x decode CPU-s /
workers``; 2 workers on 2 cores ``>= 1.7x`` one worker's decode throughput; peak RSS within 20% between 1x and
2x the dataset and between batch_size 32 and 1024.

It first checks the pipeline's scheduling alone (decoding and the engine both sleeps, so a busy machine cannot
blur it): wall against the ideal max(decoding ÷ workers, engine time), and the engine's busy fraction.

Usage: ``python bench/engine_pipeline.py [--quick] [--issue] [--work DIR]`` (videos are kept in DIR between runs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from frame_sampling import synthetic_frames  # noqa: E402

from tempeval import registry  # noqa: E402
from tempeval.loaders import LOADERS, LoadOptions  # noqa: E402
from tempeval.mp4 import write_mp4  # noqa: E402
from tempeval.registry import DatasetEntry  # noqa: E402
from tempeval.task import Task  # noqa: E402
from tempeval.types import Sample, VideoRef  # noqa: E402

FPS = 30
QUESTIONS_PER_VIDEO = 4
SIZES = {"360p": (640, 360), "720p": (1280, 720)}
RSS_BUDGET = 64 << 20  # under the distinct frames of the smaller (quick) dataset, so both sizes fill it
TASK_YAML = """\
name: engine_bench
version: 1
kind: multiple_choice
dataset: engine_bench
answer_format: letter
prompt: |
  {question}
  {options}
  {instruction}
frames: {num_frames: 16}
metrics: [accuracy]
"""
DATASETS_YAML = """\
engine_bench:
  loader: engine_bench
  source: local
  revision: bench
"""


@dataclass(frozen=True)
class Config:
    """One measured run."""

    label: str
    resolution: str
    videos: int
    engine_s: float
    workers: int
    batch_size: int = 1024
    max_inflight_bytes: int = 1 << 30
    engine_loop: str = "stream"
    """``stream`` or ``batch`` (the vllm adapter's ``-M engine_loop``), or ``openai`` (a loopback server)."""
    concurrency: int = 8
    """The openai rows: the adapter's concurrency (the server answers each request after ``engine_s``)."""


def make_videos(root: Path, resolution: str, count: int, seconds: float) -> list[Path]:
    """``count`` videos of one size under ``root`` (kept: made once per work folder)."""
    width, height = SIZES[resolution]
    paths = []
    for index in range(count):
        path = root / f"{resolution}_{seconds:g}s_{index}.mp4"
        if not path.exists():
            frames = synthetic_frames(int(seconds * FPS) + 7 * index, width, height)  # lengths differ a little
            write_mp4(path, frames, FPS, crf=23)
        paths.append(path)
    return paths


def load(task: Task, dataset: DatasetEntry, options: LoadOptions) -> list[Sample]:
    """The bench dataset: the videos listed in ``videos.json`` of the data folder, 4 questions each."""
    root = Path(options.data_dir or ".")
    videos = json.loads((root / "videos.json").read_text())
    return [
        Sample(id=f"v{v}q{q}", kind="multiple_choice", question=f"Which colour moves first? #{q}",
               choices=("red", "green", "blue"), target="A", video=VideoRef(path), meta={"video_id": f"v{v}"})
        for v, path in enumerate(videos)
        for q in range(QUESTIONS_PER_VIDEO)
    ]


class Engine:
    """The stand-in ``vllm.LLM``: ``generate`` sleeps per request; ``llm_engine`` is the step-driven engine."""

    per_request_s = 0.0
    busy_s = 0.0
    calls = 0

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.llm_engine = StepEngine()

    def generate(self, inputs: Sequence[dict[str, Any]], sampling_params: Any = None, use_tqdm: bool = False) -> Any:
        started = time.perf_counter()
        time.sleep(self.per_request_s * len(inputs))
        Engine.busy_s += time.perf_counter() - started
        Engine.calls += 1
        return [answer("") for _ in inputs]


def answer(request_id: str) -> Any:
    completion = SimpleNamespace(text="A", token_ids=[1], finish_reason="stop")
    return SimpleNamespace(request_id=request_id, finished=True, prompt_token_ids=[1] * 8, outputs=[completion])


class StepEngine:
    """The stand-in ``LLMEngine`` of vLLM V1: an engine core on its own thread serves the requests added, one
    ``Engine.per_request_s`` each, while the caller adds more; ``step`` returns those finished meanwhile."""

    ITERATION_S = 0.01

    def __init__(self) -> None:
        self._queued: deque[str] = deque()
        self._finished: list[str] = []
        self._unfinished = 0
        self._changed = threading.Condition()
        threading.Thread(target=self._core, daemon=True, name="stand-in-engine-core").start()

    def add_request(self, request_id: str, prompt: Any, params: Any, **kwargs: Any) -> None:
        with self._changed:
            self._queued.append(request_id)
            self._unfinished += 1
            self._changed.notify_all()

    def step(self) -> list[Any]:
        with self._changed:
            if self._unfinished and not self._finished:
                self._changed.wait(self.ITERATION_S)
            done, self._finished = self._finished, []
            self._unfinished -= len(done)
        Engine.calls += 1
        return [answer(request_id) for request_id in done]

    def abort_request(self, request_ids: list[str]) -> None:
        with self._changed:
            kept = [r for r in self._queued if r not in set(request_ids)]
            self._unfinished -= len(self._queued) - len(kept)
            self._queued = deque(kept)

    def _core(self) -> None:
        while True:
            with self._changed:
                while not self._queued:
                    self._changed.wait()
                request_id = self._queued.popleft()
            started = time.perf_counter()
            time.sleep(Engine.per_request_s)
            with self._changed:
                Engine.busy_s += time.perf_counter() - started
                self._finished.append(request_id)
                self._changed.notify_all()


def fake_vllm() -> Any:
    return SimpleNamespace(LLM=Engine, SamplingParams=lambda **kwargs: kwargs, __version__="bench-stand-in")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def decode_cpu_s(task: Task, data: Path) -> float:
    """CPU-seconds (of every thread, FFmpeg's included) to decode the run's frames once, one video at a time."""
    from tempeval.loaders import load_samples
    from tempeval.video import FrameSource

    samples = load_samples(task, registry.get_dataset(task.dataset), LoadOptions(data_dir=data))
    source = FrameSource(cache_bytes=0)
    started = time.process_time()
    for index in range(0, len(samples), QUESTIONS_PER_VIDEO):
        group = samples[index : index + QUESTIONS_PER_VIDEO]
        source.frames_many([(s.video, task.frames, s.id) for s in group if s.video is not None])
    return time.process_time() - started


def stand_in(config: Config) -> tuple[subprocess.Popen[str] | None, Any]:
    """The adapter for a configuration, and the loopback server behind it for the openai rows."""
    from tempeval.adapter import create_adapter
    from tempeval.adapters.vllm import VLLMAdapter, VLLMOptions

    if config.engine_loop == "openai":
        server = subprocess.Popen([sys.executable, "-m", "tests.chat_server", str(config.engine_s)],
                                  stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        options = {"base_url": base_url, "concurrency": config.concurrency, "image_max_side": None}
        return server, create_adapter("openai/bench", options)
    loop = {"engine_loop": config.engine_loop} if "engine_loop" in VLLMOptions.__dataclass_fields__ else {}
    options = VLLMOptions(batch_size=config.batch_size, **loop)  # type: ignore[arg-type]
    return None, VLLMAdapter("bench/stand-in", options, backend=fake_vllm(), template=lambda messages: "prompt")


def measure(config: Config, work: Path, seconds: float) -> dict[str, Any]:
    """Run one configuration in this process and return its figures."""
    from tempeval.runner import RunOptions, run_task

    videos = make_videos(work / "videos", config.resolution, config.videos, seconds)
    data = work / f"data-{config.resolution}-{config.videos}"
    data.mkdir(parents=True, exist_ok=True)
    (data / "videos.json").write_text(json.dumps([str(p) for p in videos]))
    tasks_dir = work / "tasks"
    tasks_dir.mkdir(parents=True, exist_ok=True)
    (tasks_dir / "engine_bench.yaml").write_text(TASK_YAML)
    (tasks_dir / "datasets.yaml").write_text(DATASETS_YAML)
    original = registry._task_dirs
    registry._task_dirs = lambda: [*original(), tasks_dir]  # type: ignore[assignment]
    LOADERS["engine_bench"] = "engine_pipeline:load"
    registry.reload()

    task = registry.get_task("engine_bench")  # reading the task files is start-up, outside the timed run
    decode_cpu = decode_cpu_s(task, data)
    Engine.per_request_s = config.engine_s
    server, adapter = stand_in(config)
    run_options = {"out_dir": work / "runs" / config.label, "fresh": True, "progress": False,
                   "load": LoadOptions(data_dir=data), "decode_workers": config.workers,
                   "max_inflight_bytes": config.max_inflight_bytes}
    known = {f.name for f in fields(RunOptions)}  # older checkouts (the "before" column) lack the pipeline's
    before_rss = rss_mb()
    cpu_before = time.process_time()
    started = time.perf_counter()
    try:
        model = "openai/bench" if config.engine_loop == "openai" else "vllm/bench"
        summary = run_task(task, adapter, model,
                           RunOptions(**{k: v for k, v in run_options.items() if k in known}))
    finally:
        if server is not None:
            server.kill()
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert summary.errors == 0, f"{summary.errors} errors"
    if config.engine_loop == "openai":
        Engine.busy_s = config.engine_s * summary.n / config.concurrency
    engine_total = config.engine_s * summary.n / (config.concurrency if config.engine_loop == "openai" else 1)
    return {
        **asdict(config),
        "samples": summary.n,
        "wall_s": round(wall, 2),
        "engine_s_total": round(engine_total, 2),
        "busy": round(Engine.busy_s / wall, 3),
        "generate_calls": Engine.calls,
        "decode_cpu_s": round(decode_cpu, 2),
        "decode_bound_ratio": round(wall / (decode_cpu / config.workers), 3),
        "cores": round(cpu / wall, 2),
        "peak_rss_mb": round(peak),
        "run_rss_mb": round(peak - before_rss),
    }


class _SleepFeed:
    """A runner-like :class:`~tempeval.adapter.RequestFeed` over a prefetcher."""

    batch_bytes = 1 << 40

    def __init__(self, prefetch: Any) -> None:
        self.prefetch = prefetch

    def __iter__(self) -> _SleepFeed:
        return self

    def __next__(self) -> Any:
        return self.prefetch.take()

    def ready(self) -> bool:
        return bool(self.prefetch.ready())


def scheduling(decode_s: float, engine_s: float, workers: int, groups: int = 48) -> str:
    """The pipeline's scheduling alone: decoding and the engine both sleep, so no CPU is needed and a loaded
    machine cannot blur it. The real Prefetcher and take_batch; ideal wall = max(decoding ÷ workers, engine)."""
    from tempeval.adapter import take_batch
    from tempeval.prefetch import Prefetcher
    from tempeval.types import Request

    def prepare(group: int) -> list[tuple[Request, int]]:
        time.sleep(decode_s)
        return [(Request(f"q{group}", "p", None, "letter"), 1)]

    prefetch: Prefetcher[int, Request] = Prefetcher(range(groups), prepare, workers=workers, max_bytes=1 << 30)
    busy, started = 0.0, time.perf_counter()
    feed = _SleepFeed(prefetch)
    while batch := take_batch(feed, 1024):
        engine_started = time.perf_counter()
        time.sleep(engine_s * len(batch))
        busy += time.perf_counter() - engine_started
    wall = time.perf_counter() - started
    prefetch.close()
    ideal = max(decode_s * groups / workers, engine_s * groups)
    return (f"| {decode_s} | {engine_s} | {workers} | {wall:.2f} | {ideal:.2f} | {wall / ideal:.3f} | "
            f"{busy / wall:.0%} |")


def configs(quick: bool, issue: bool) -> list[Config]:
    if issue:  # the issue's setting: 48 videos x 4 questions, 20 s of 360p, a GPU at 25 requests/s
        return [Config(f"issue 360p {loop}", "360p", 48, engine_s=0.04, workers=len(os.sched_getaffinity(0)),
                       engine_loop=loop) for loop in ("stream", "batch")]
    videos = 6 if quick else 12
    return [
        # engine-bound: the stand-in needs more time than decoding on the cores here; streamed, then batched
        Config("engine-bound 360p", "360p", videos, engine_s=0.25, workers=2),
        Config("engine-bound 360p batch", "360p", videos, engine_s=0.25, workers=2, engine_loop="batch"),
        Config("engine-bound 360p openai", "360p", videos, engine_s=1.0, workers=2, engine_loop="openai",
               concurrency=4),
        # decode-bound: the engine is nearly free, so decoding is the only limit
        Config("decode-bound 360p w1", "360p", videos, engine_s=0.002, workers=1),
        Config("decode-bound 360p w2", "360p", videos, engine_s=0.002, workers=2),
        Config("decode-bound 720p w2", "720p", max(2, videos // 3), engine_s=0.002, workers=2),
        # memory: flat in the dataset size and in batch_size, with an engine slow enough to fill a 64 MiB budget
        Config("rss 360p x1 b1024", "360p", videos, engine_s=0.05, workers=2, max_inflight_bytes=RSS_BUDGET),
        Config("rss 360p x2 b1024", "360p", 2 * videos, engine_s=0.05, workers=2, max_inflight_bytes=RSS_BUDGET),
        Config("rss 360p x1 b32", "360p", videos, engine_s=0.05, workers=2, batch_size=32,
               max_inflight_bytes=RSS_BUDGET),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="half the videos")
    parser.add_argument("--issue", action="store_true",
                        help="only the issue's setting (48 videos of 20 s, engine 0.04 s, streamed and batched)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each video (default 10 s)")
    parser.add_argument("--work", type=Path, help="folder for the videos and runs (default: a temporary one)")
    parser.add_argument("--only", help="run only the rows whose label contains this text")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process: one configuration as JSON
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="tempeval-engine-"))
    if args.one:
        print(json.dumps(measure(Config(**json.loads(args.one)), work, args.seconds)))
        return
    if not (args.issue or args.only):  # (these also run on checkouts from before the pipeline)
        print("Scheduling alone (48 requests, sleeps for decoding and the engine):\n")
        print("| decode s | engine s | workers | wall s | ideal s | wall ÷ ideal | engine busy |")
        print("|---|---|---|---|---|---|---|")
        for decode_s, engine_s, workers in ((0.05, 0.1, 2), (0.1, 0.01, 1), (0.1, 0.01, 2)):
            print(scheduling(decode_s, engine_s, workers))
        print()
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} cores; videos {args.seconds:g} s at {FPS} fps, {QUESTIONS_PER_VIDEO} questions each, 16 frames")
    results = []
    for config in [c for c in configs(args.quick, args.issue) if not args.only or args.only in c.label]:
        child = subprocess.run([sys.executable, __file__, "--one", json.dumps(asdict(config)), "--work", str(work),
                                "--seconds", str(args.seconds)], capture_output=True, text=True, check=False)
        if child.returncode != 0:
            raise SystemExit(f"{config.label} failed:\n{child.stderr}")
        results.append(json.loads(child.stdout.splitlines()[-1]))
    print("| run | samples | loop | batch | budget MiB | workers | wall s | engine s | busy | decode CPU-s "
          "| wall ÷ (CPU-s ÷ workers) | cores | peak RSS MB | run RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['label']} | {r['samples']} | {r['engine_loop']} | {r['batch_size']} | "
              f"{r['max_inflight_bytes'] >> 20} | {r['workers']} | {r['wall_s']} | "
              f"{r['engine_s_total']} | {r['busy']:.0%} | {r['decode_cpu_s']} | {r['decode_bound_ratio']} | "
              f"{r['cores']} | {r['peak_rss_mb']} | {r['run_rss_mb']} |")
    by = {r["label"]: r for r in results}
    if args.issue or args.only:
        return
    one, two = by["decode-bound 360p w1"], by["decode-bound 360p w2"]
    speedup = (two["samples"] / two["wall_s"]) / (one["samples"] / one["wall_s"])
    rss = [by[label]["peak_rss_mb"] for label in ("rss 360p x1 b1024", "rss 360p x2 b1024", "rss 360p x1 b32")]
    checks = {
        "engine-bound busy >= 0.90": by["engine-bound 360p"]["busy"],
        "decode-bound wall <= 1.15 x CPU-s / workers (w2)": two["decode_bound_ratio"],
        "2 workers >= 1.7x one worker's throughput": round(speedup, 2),
        "peak RSS spread (max / min, <= 1.20)": round(max(rss) / min(rss), 3),
    }
    print()
    for name, value in checks.items():
        print(f"- {name}: {value}")


if __name__ == "__main__":
    main()
