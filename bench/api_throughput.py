"""API throughput: tempeval's openai adapter against a loopback server with a fixed latency L.

The server (a separate process, unlimited parallelism, TCP_NODELAY like real servers) answers every request after
L seconds. tempeval runs one synthetic task (8 frames of 128 px per sample; by default synth_order at 640
samples, so the one-off wait for a task's last requests is a small part of the run) at concurrency C, with fresh
run files and a fresh frame source each pass: every video is probed and decoded. Reported: achieved requests per
second as a fraction of the ideal C / L, and the client's CPU time per request (frame decode + JPEG + base64 +
HTTP + scoring and writing the record), measured in this process and the adapter's HTTP process together.
Targets on 2 cores: >= 85% of ideal at C = 32, L = 0.25 s; client CPU <= 10 ms per request.

Run: python bench/api_throughput.py [--latency 0.25] [--concurrency 32 128] [--task synth_order] [--per-task 640]
[--decode-workers 1 0] (several values: the passes alternate between them, so they are compared within one run;
0 is the runner's default for this adapter)
The suite is generated once into the synthetic cache (about 3 min at 640 per task) and reused.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tempeval import registry  # noqa: E402
from tempeval.adapter import create_adapter  # noqa: E402
from tempeval.loaders import LoadOptions, load_samples  # noqa: E402
from tempeval.runner import RunOptions, run_task  # noqa: E402
from tempeval.types import FramePolicy  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of another process so far, from /proc (0.0 where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--repeat", type=int, default=3, help="passes over the task per setting")
    parser.add_argument("--task", default="synth_order", help="synthetic task or group to run (default synth_order)")
    parser.add_argument("--per-task", type=int, default=640, help="records per synthetic task (default 640)")
    parser.add_argument("--http-transport", default="auto", help="the openai adapter's -M http_transport")
    parser.add_argument("--jpeg-encoder", default="auto", help="the openai adapter's -M jpeg_encoder")
    parser.add_argument("--decode-workers", type=int, nargs="+", default=[0],
                        help="--decode-workers of the runs (0: the default); several alternate pass by pass")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tempeval-bench-"))
    load = LoadOptions(synth_per_task=args.per_task)
    tasks = registry.resolve([args.task])
    for task in tasks:  # generate the suite before timing anything
        load_samples(task, registry.get_dataset(task.dataset), load)
    server = subprocess.Popen([sys.executable, "-m", "tests.chat_server", str(args.latency)],
                              stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
    assert server.stdout is not None
    base_url = server.stdout.readline().strip()
    rows = []
    try:
        for concurrency in args.concurrency:
            adapter = create_adapter("openai/bench", {"base_url": base_url, "concurrency": concurrency,
                                                      "image_max_side": None, "http_transport": args.http_transport,
                                                      "jpeg_encoder": args.jpeg_encoder})
            # Warm-up, not timed: imports the client, opens the connections, fills the OS file cache.
            for task in tasks:
                run_task(task, adapter, "openai/bench", RunOptions(out_dir=work / f"warm-{concurrency}", load=load,
                                                                   progress=False, frames=FramePolicy(num_frames=8)))
            totals = {workers: [0, 0.0, 0.0, 0.0, 0.0] for workers in args.decode_workers}
            for repeat in range(args.repeat):
                for workers, total in totals.items():  # alternating: a drift of the machine's speed hits all
                    for task in tasks:
                        options = RunOptions(out_dir=work / f"runs-{concurrency}-{repeat}-{workers}", load=load,
                                             progress=False, frames=FramePolicy(num_frames=8),
                                             decode_workers=workers or None)
                        http_pid = adapter.http_process_id  # the adapter's own HTTP process: client CPU too
                        assert http_pid is not None  # started by the warm-up
                        http_started, server_started = process_cpu_seconds(http_pid), process_cpu_seconds(server.pid)
                        started, cpu_started = time.perf_counter(), cpu_seconds()
                        summary = run_task(task, adapter, "openai/bench", options)
                        total[1] += time.perf_counter() - started
                        total[2] += cpu_seconds() - cpu_started
                        total[3] += process_cpu_seconds(http_pid) - http_started
                        total[4] += process_cpu_seconds(server.pid) - server_started
                        total[0] += summary.n
            adapter.close()
            ideal = concurrency / args.latency
            for workers, (requests, wall, cpu, http_cpu, server_cpu) in totals.items():
                rows.append((concurrency, workers or "default", int(requests), requests / wall, ideal,
                             1000 * (cpu + http_cpu) / requests, 1000 * http_cpu / requests,
                             1000 * server_cpu / requests))
    finally:
        server.kill()
    print(f"latency L = {args.latency} s, 8 frames of 128 px per request, {args.task} at {args.per_task} per task\n")
    print("| C | decode workers | requests | achieved req/s | ideal C/L | % of ideal | client CPU ms/request "
          "| of which HTTP process | server CPU ms/request |")
    print("|---|---|---|---|---|---|---|---|---|")
    for concurrency, workers, requests, achieved, ideal, cpu_ms, http_ms, server_ms in rows:
        print(f"| {concurrency} | {workers} | {requests} | {achieved:.1f} | {ideal:.0f} "
              f"| {100 * achieved / ideal:.0f}% "
              f"| {cpu_ms:.1f} | {http_ms:.1f} | {server_ms:.1f} |")


if __name__ == "__main__":
    main()
