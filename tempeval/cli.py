"""The ``tempeval`` command: a thin argparse layer over the runner, the scorers and the result files."""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tempeval.errors import TempevalError

EPILOG = "Examples:\n  tempeval run --model random --task synth\n  tempeval score runs/random/synth_order.jsonl --json"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tempeval`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    warnings.simplefilter("default")
    warnings.formatwarning = lambda message, *rest: f"warning: {message}\n"
    try:
        status: int = args.handler(args)
    except TempevalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted: finished samples are saved; re-run the same command to resume.", file=sys.stderr)
        return 130
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tempeval",
        description="Benchmark and evaluation suite for temporal video understanding.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tempeval {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="run a model on tasks (resumes an existing run)")
    _add_model_arguments(run)
    run.add_argument(
        "--task", action="append", required=True,
        help="task or group name, or a task YAML file path (repeatable, or a,b; see docs/TASKS.md)",
    )
    run.add_argument("--shard", help="evaluate only share K of N (K/N, balanced by video); join with 'tempeval merge'")
    frames = run.add_mutually_exclusive_group()
    frames.add_argument("--frames", type=_count, help="number of uniformly sampled frames (overrides the task)")
    frames.add_argument("--fps", type=_positive_finite, help="frames per second instead of a fixed number")
    run.add_argument("--max-frames", type=_count, help="cap on frames when sampling by --fps")
    run.add_argument("--order", choices=("original", "reversed", "shuffled"), help="frame order shown to the model")
    run.add_argument("--max-side", type=_count, help="resize frames so the longer side is at most this many pixels")
    run.add_argument("--limit", type=_count, help="only the first N samples of each task")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--fresh", action="store_true", help="start over instead of resuming")
    run.add_argument(
        "--protocol", choices=("multi-binary",), help="ask each question as correct-vs-distractor binary questions"
    )
    run.add_argument("--max-tokens", type=int, help="token budget of each answer (overrides the task's generation)")
    run.add_argument("--temperature", type=float, help="sampling temperature, 0 greedy (overrides the task)")
    run.add_argument("--top-p", type=float, help="nucleus sampling, 0 < P <= 1 (overrides the task)")
    run.add_argument(
        "--gen",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="other generation setting (repeatable): reasoning_effort=low, top_k=20, think_tags=<think>,</think>",
    )
    stream = run.add_argument_group("streaming tasks (kind streaming; all recorded in the run header)")
    stream.add_argument("--poll-every", type=_positive_finite, default=1.0, metavar="SECONDS",
                        help="poll an offline model every SECONDS of stream time (default: 1)")
    stream.add_argument("--window", default="full", metavar="full|SECONDS",
                        help="frames each poll shows: the whole stream so far (full, default) or its last SECONDS")
    stream.add_argument("--realtime", action="store_true",
                        help="each call's measured latency costs stream time (frames arriving meanwhile: --busy)")
    stream.add_argument("--busy", choices=("drop", "queue"), default="drop",
                        help="with --realtime, frames that arrive while the model is busy (default: drop)")
    stream.add_argument("--stream-fps", type=_positive_finite, metavar="FPS",
                        help="frames per second the stream is decoded at (default: the task's, else 1)")
    _add_run_arguments(run)
    _add_judge_arguments(run)
    run.set_defaults(handler=_cmd_run)

    diag = commands.add_parser(
        "diagnose", help="does a model use time? one task under 1 / N / shuffled / reversed frames: κ, τ, ρ, flips"
    )
    _add_model_arguments(diag)
    diag.add_argument("--task", required=True, help="a multiple-choice task (a name or a task YAML file path)")
    diag.add_argument("--frames", type=_count, help="N, frames of the multi-frame variants (default: the task's)")
    diag.add_argument("--seed", type=int, default=0, help="seeds the shuffles, the random frame and the CIs")
    diag.add_argument(
        "--single", choices=("middle", "first", "random"), default="middle", help="which frame the 1-frame run shows"
    )
    diag.add_argument("--limit", type=_count, help="only the first N samples")
    diag.add_argument("--fresh", action="store_true", help="start the variant runs over instead of resuming")
    _add_run_arguments(diag)
    diag.add_argument("--json", action="store_true", help="print the diagnosis object instead of the table")
    _add_judge_arguments(diag)
    diag.set_defaults(handler=_cmd_diagnose)

    score = commands.add_parser("score", help="re-score run files (no model is called; only a --judge, if given)")
    score.add_argument("paths", nargs="+", type=Path, help="run files or folders of them")
    score.add_argument("--json", action="store_true", help="one JSON object per run, then one per complete group")
    score.add_argument("--parser-mode", help="re-score in this parser mode (default: the one each run used)")
    _add_judge_arguments(score)
    score.set_defaults(handler=_cmd_score)

    importing = commands.add_parser("import", help="convert a benchmark's official prediction files into run files")
    importing.add_argument("paths", nargs="+", type=Path, help="prediction files or folders of them")
    importing.add_argument("--benchmark", required=True, help="benchmark whose official format the files are in")
    importing.add_argument("--model", required=True, help="label for the model that made the predictions")
    importing.add_argument("--out", type=Path, default=Path("runs"), help="folder for run files (default: runs)")
    importing.add_argument("--data-dir", type=Path, help="root of downloaded benchmark data (annotations)")
    importing.set_defaults(handler=_cmd_import)

    data = commands.add_parser("data", help="fetch benchmark data, or show where it must be")
    data.add_argument("action", choices=("fetch", "where"))
    data.add_argument("benchmark", help="dataset name (as in tasks/datasets.yaml)")
    data.add_argument("--data-dir", type=Path, help="root of benchmark data (default: $TEMPEVAL_DATA or cache)")
    data.add_argument("--videos", action="store_true", help="fetch the video archives too")
    data.add_argument("--revision", help="hub commit to fetch where the registry pins none")
    data.add_argument("--synth-dir", type=Path, help="where the synthetic suite is generated (default: cache)")
    data.set_defaults(handler=_cmd_data)

    leaderboard = commands.add_parser("leaderboard", help="build or preview the static leaderboard site")
    actions = leaderboard.add_subparsers(dest="leaderboard_action", metavar="ACTION", required=True)
    board_build = actions.add_parser("build", help="write the static site from run files (no model is called)")
    board_build.add_argument("runs", nargs="+", type=Path, metavar="RUNS_DIR", help="folders of run files, or files")
    board_build.add_argument("-o", "--out", type=Path, required=True, metavar="SITE_DIR", help="folder for the site")
    board_build.add_argument("--models", type=Path, help="model metadata YAML (default: models.yaml beside the runs)")
    board_build.add_argument("--thumbnails", action=argparse.BooleanOptionalAction, default=True,
                             help="pictures of the frames the first samples of each run saw, where the videos are "
                                  "found (default: on)")
    board_build.set_defaults(handler=_cmd_leaderboard_build)
    board_serve = actions.add_parser("serve", help="preview a built site on http://127.0.0.1")
    board_serve.add_argument("site", type=Path, metavar="SITE_DIR")
    board_serve.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default: 8000)")
    board_serve.set_defaults(handler=_cmd_leaderboard_serve)

    merging = commands.add_parser("merge", help="join the shard files of one run into one run file")
    merging.add_argument("shards", nargs="+", type=Path, help="run files written with --shard K/N")
    merging.add_argument("-o", required=True, type=Path, help="the merged run file to write")
    merging.set_defaults(handler=_cmd_merge)

    listing = commands.add_parser("list", help="list tasks, groups, models, metrics or datasets")
    listing.add_argument("what", choices=("tasks", "models", "metrics", "datasets"))
    listing.set_defaults(handler=_cmd_list)

    comparing = commands.add_parser("compare", help="B − A per task on the samples both answered: paired CI, p")
    comparing.add_argument("a", type=Path, metavar="A", help="run file or folder of run files (the baseline)")
    comparing.add_argument("b", type=Path, metavar="B", help="run file or folder of run files (matched by task)")
    comparing.add_argument("--seed", type=int, default=0, help="seeds the bootstrap and the permutation test")
    comparing.add_argument("--json", action="store_true", help="one JSON object per task instead of the table")
    comparing.set_defaults(handler=_cmd_compare)

    exporting = commands.add_parser("export", help="model × task table of headlines with 95% CIs for a paper")
    exporting.add_argument("runs", nargs="+", type=Path, metavar="RUNS", help="run files or folders of them")
    exporting.add_argument("--format", choices=("csv", "markdown", "latex"), default="markdown")
    exporting.add_argument("-o", "--out", type=Path, help="write the table to this file (default: stdout)")
    exporting.set_defaults(handler=_cmd_export)

    show = commands.add_parser("show", help="table of all runs under folders (or of run files)")
    show.add_argument(
        "paths", type=Path, nargs="*", default=[Path("runs")], metavar="PATH",
        help="folders or run files (default: runs)",
    )
    show.set_defaults(handler=_cmd_show)
    return parser


def _count(text: str) -> int:
    """An argparse type: a whole number of at least 1 (a count of frames, samples, requests...)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


_BYTE_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def _byte_size(text: str) -> int:
    """An argparse type: a size in bytes of at least 1 MiB, plain or with a binary unit (``512M``, ``2G``)."""
    cleaned = text.strip().lower().removesuffix("ib").removesuffix("b")
    number, unit = (cleaned[:-1], cleaned[-1]) if cleaned[-1:] in "kmgt" and cleaned[-1:] else (cleaned, "")
    try:
        value = int(float(number) * _BYTE_UNITS[unit])
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"expected a size such as 1G or 512M, got '{text}'") from None
    if value < 2**20:
        raise argparse.ArgumentTypeError(f"must be at least 1M (one frame of 720p alone is 2.6M), got '{text}'")
    return value


def _label(text: str) -> str:
    """An argparse type: a row label, not blank."""
    if not text.strip():
        raise argparse.ArgumentTypeError("a label names a row: give some text, e.g. --label 'Qwen2.5-VL (64 f)'")
    return text.strip()


def _positive_finite(text: str) -> float:
    """An argparse type: a positive finite number (nan and inf mean nothing as a rate)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("tempeval")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


def _add_model_arguments(command: argparse.ArgumentParser) -> None:
    """--model and its arguments (read back by :func:`_model_arguments`)."""
    command.add_argument(
        "--model", required=True,
        help="ADAPTER or ADAPTER/MODEL (random, openai/gpt-4o-mini), or an adapter file: path/to/adapter.py:Class",
    )
    command.add_argument("-M", "--model-arg", action="append", default=[], metavar="KEY=VALUE", help="adapter argument")
    command.add_argument("--model-config", type=Path, help="YAML file of adapter arguments (-M values override it)")
    command.add_argument(
        "--concurrency", type=_count, help="requests in flight, for adapters that overlap them (openai)"
    )


def _add_run_arguments(command: argparse.ArgumentParser) -> None:
    """Where runs read data and write files, and how they score (shared by run and diagnose)."""
    command.add_argument("--out", type=Path, default=Path("runs"), help="folder for run files (default: runs)")
    command.add_argument(
        "--label", type=_label,
        help="name of this run's row in every table, e.g. 'Qwen2.5-VL (64 f)'; its files go to OUT/MODEL/LABEL/",
    )
    command.add_argument("--decoder", default="pyav", choices=("pyav", "decord"))
    command.add_argument("--data-dir", type=Path, help="root of downloaded benchmark data")
    command.add_argument("--synth-dir", type=Path, help="where the synthetic suite is generated (default: cache)")
    command.add_argument(
        "--synth-per-task", type=_count, metavar="N",
        help="records per synthetic task (default 60; larger: tighter CIs)",
    )
    command.add_argument("--no-progress", action="store_true", help="no progress bar")
    command.add_argument(
        "--max-consecutive-errors", type=int, default=20, metavar="N",
        help="stop after N requests in a row fail with the same error (default 20; 0: never stop)",
    )
    command.add_argument("--parser-mode", help="score in this parser mode (strict, or official where a task has it)")
    command.add_argument(
        "--decode-workers", type=_count, metavar="N",
        help="videos decoded at once, one thread each (default: the cores this process may use, less those the "
        "adapter reserves for its own work: one for openai)",
    )
    command.add_argument(
        "--max-inflight-bytes", type=_byte_size, default="1G", metavar="SIZE",
        help="decoded frames held ahead of and inside the model adapter, e.g. 512M, 4G (default 1G)",
    )


def _add_judge_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--judge", metavar="MODEL", help="LLM judge for outputs the scorers cannot decide by rule (logged, reused)"
    )
    command.add_argument(
        "--judge-arg", action="append", default=[], metavar="KEY=VALUE",
        help="judge adapter argument, or its decoding (temperature, max_tokens, top_p, seed)",
    )


def _judge(args: argparse.Namespace) -> Any:
    from tempeval.adapter import parse_model_args
    from tempeval.judge import ModelJudge

    return ModelJudge(args.judge, parse_model_args(args.judge_arg)) if args.judge else None


def _frame_override(args: argparse.Namespace, base: Any) -> Any:
    changes: dict[str, Any] = {}
    if args.frames is not None:
        changes.update(num_frames=args.frames, fps=None)
    if args.fps is not None:
        changes.update(fps=args.fps, num_frames=None)
    for name in ("max_frames", "order", "max_side"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    try:
        return base.replace(**changes) if changes else None
    except ValueError as exc:
        raise TempevalError(f"Bad frame settings: {exc}") from exc


def _cmd_run(args: argparse.Namespace) -> int:
    from tempeval import registry
    from tempeval.adapter import create_adapter, model_label
    from tempeval.report import error_summary, summary_table
    from tempeval.runner import run_task
    from tempeval.sharding import Shard

    tasks = registry.resolve(args.task)
    generation = _generation_overrides(args)  # a bad value is refused before a model is loaded
    from tempeval import data
    from tempeval.loaders import LoadOptions

    chosen = {t.name for t in tasks}
    # Datasets whose every task (two or more: a group) is to run need all their files: name all missing at once.
    several = {d for d in {t.dataset for t in tasks} if sum(t.dataset == d for t in tasks) > 1}
    whole = several - {t.dataset for t in registry.tasks().values() if t.name not in chosen}
    data.require_for_run([registry.get_dataset(t.dataset) for t in tasks], LoadOptions(data_dir=args.data_dir), whole)
    streaming = _streaming_options(args)  # a bad --window is refused before a model is loaded
    adapter = create_adapter(args.model, _model_arguments(args))
    shard = Shard.parse(args.shard) if args.shard else None
    summaries = []
    try:
        for task in tasks:
            frames = _frame_override(args, task.frames)
            options = _run_options(
                args, frames=frames, shard=shard, protocol=args.protocol, generation=generation, streaming=streaming
            )
            summaries.append(run_task(task, adapter, model_label(args.model), options))
    finally:
        adapter.close()
    print(summary_table(summaries))
    print(f"\nRun files are in {args.out}/ ('tempeval show {args.out}' lists them).")
    truncated = sum(s.truncated for s in summaries)
    if truncated:
        print(
            f"{truncated} answer(s) were cut by the token limit (finish_reason=length); raise --max-tokens "
            "if they should be complete."
        )
    errors = sum(s.errors for s in summaries)
    if errors:
        print(
            f"{errors} sample(s) ended in an error (counted as wrong above); re-run the same command to retry them.",
            file=sys.stderr,
        )
        print("most frequent errors:", *error_summary(summaries), sep="\n", file=sys.stderr)
        return 1
    return 0


def _run_options(args: argparse.Namespace, **extra: Any) -> Any:
    """RunOptions from the arguments run and diagnose share (see :func:`_add_run_arguments`), plus ``extra``."""
    from tempeval.adapter import parse_model_args
    from tempeval.loaders import LoadOptions
    from tempeval.runner import RunOptions

    return RunOptions(
        out_dir=args.out,
        limit=args.limit,
        seed=args.seed,
        fresh=args.fresh,
        load=LoadOptions(data_dir=args.data_dir, synth_dir=args.synth_dir, synth_per_task=args.synth_per_task),
        decoder=args.decoder,
        progress=not args.no_progress,
        parser_mode=args.parser_mode,
        judge=args.judge,
        judge_args=parse_model_args(args.judge_arg),
        max_consecutive_errors=args.max_consecutive_errors,
        decode_workers=args.decode_workers,
        max_inflight_bytes=args.max_inflight_bytes,
        label=args.label,
        **extra,
    )


def _streaming_options(args: argparse.Namespace) -> Any:
    """--poll-every, --window, --realtime, --busy and --stream-fps as StreamingOptions."""
    from tempeval.streaming.polling import parse_window
    from tempeval.streaming.run import StreamingOptions
    from tempeval.streaming.session import Realtime

    return StreamingOptions(
        poll_every_s=args.poll_every,
        window_s=parse_window(args.window),
        realtime=Realtime(busy=args.busy) if args.realtime else None,
        stream_fps=args.stream_fps,
    )


def _generation_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """--max-tokens, --temperature, --top-p and --gen as generation overrides, checked before any work."""
    from tempeval.adapter import parse_model_args
    from tempeval.types import GenerationConfig

    overrides: dict[str, Any] = {}
    for pair in args.gen:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise TempevalError(f"--gen {pair!r} is not of the form key=value (e.g. --gen reasoning_effort=low).")
    overrides.update(parse_model_args(args.gen))
    named = {"max_tokens": args.max_tokens, "temperature": args.temperature, "top_p": args.top_p}
    overrides.update({key: value for key, value in named.items() if value is not None})
    try:
        GenerationConfig().with_overrides(overrides)
    except ValueError as exc:
        flag = next((f"--{k.replace('_', '-')}" for k in named if k in str(exc).split(" ", 1)[0]), "--gen")
        raise TempevalError(f"Bad {flag} value: {exc}.") from exc
    return overrides


def _model_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """Adapter arguments: --model-config, then --concurrency, then -M (later ones win)."""
    from tempeval.adapter import parse_model_args

    model_args = _model_config(args.model_config)
    if args.concurrency is not None:
        model_args["concurrency"] = args.concurrency
    model_args.update(parse_model_args(args.model_arg))
    return model_args


def _cmd_diagnose(args: argparse.Namespace) -> int:
    from tempeval import registry
    from tempeval.adapter import create_adapter, model_label
    from tempeval.diagnose import DiagnoseOptions, diagnose, diagnosis_table
    from tempeval.report import error_summary
    from tempeval.results import read_run, summarize

    task = registry.get_task(args.task)
    adapter = create_adapter(args.model, _model_arguments(args))
    run = _run_options(args)
    try:
        options = DiagnoseOptions(frames=args.frames, single=args.single, run=run)
        result = diagnose(task, adapter, model_label(args.model), options)
    finally:
        adapter.close()
    print(json.dumps(result.to_json(), indent=1) if args.json else diagnosis_table(result))
    errors = sum(result.errors.values())
    if errors:
        print(f"{errors} sample(s) ended in an error (counted as wrong); re-run to retry them.", file=sys.stderr)
        folder = Path(result.path).parent  # the variant runs are beside the diagnosis
        variant_runs = [summarize(read_run(folder / name)) for name in result.runs.values()]
        print("most frequent errors:", *error_summary(variant_runs), sep="\n", file=sys.stderr)
        return 1
    return 0


def _model_config(path: Path | None) -> dict[str, Any]:
    """Adapter arguments from a --model-config YAML mapping."""
    if path is None:
        return {}
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TempevalError(f"{path}: cannot read the model config: {exc}") from exc
    if not isinstance(loaded, dict):
        raise TempevalError(f"{path}: a model config is a YAML mapping of adapter arguments (key: value).")
    return dict(loaded)


def _cmd_leaderboard_build(args: argparse.Namespace) -> int:
    from tempeval.leaderboard.build import build

    # every run left off the overview, and why
    index = build(args.runs, args.out, args.models, report=print, thumbnails=args.thumbnails)
    print(f"Leaderboard written to {index.parent}/: open {index.resolve()} in a browser, or run "
          f"'tempeval leaderboard serve {index.parent}'.")
    return 0


def _cmd_leaderboard_serve(args: argparse.Namespace) -> int:
    from tempeval.leaderboard.serve import serve

    serve(args.site, args.port)
    return 0


def _cmd_merge(args: argparse.Namespace) -> int:
    from tempeval.report import summary_table
    from tempeval.results import read_run, summarize
    from tempeval.sharding import merge

    merged = merge(args.shards, args.o)
    print(summary_table([summarize(read_run(merged))]))
    print(f"\nmerged {len(args.shards)} shard(s) into {merged}")
    return 0


def _load_runs(paths: Sequence[Path], parser_mode: str | None = None, judge: Any = None) -> tuple[list[Any], list[Any]]:
    import contextlib

    from tempeval.results import find_run_files, read_run, run_lock, summarize, with_rows
    from tempeval.scoring.rescore import rescore, save_judge_calls

    files = [file for path in paths for file in find_run_files(path)]
    if not files:
        raise TempevalError(f"No run files (*.jsonl) found in {', '.join(map(str, paths))}.")
    runs = []
    for file in files:
        # A judge's replies are appended to the file: hold its lock, as a run does, from read to write.
        with run_lock(file) if judge is not None else contextlib.nullcontext():
            original = read_run(file)
            runs.append(rescore(original, parser_mode, judge))
            saved = save_judge_calls(original, runs[-1]) if judge is not None else 0
        if saved:
            print(f"{file}: {saved} record(s) judged; replies saved in the file for later scoring.", file=sys.stderr)
    return runs, with_rows(runs, [summarize(run) for run in runs])


def _cmd_score(args: argparse.Namespace) -> int:
    from tempeval.groups import summarize_groups
    from tempeval.report import group_table, summary_table

    judge = _judge(args)
    try:
        runs, summaries = _load_runs(args.paths, args.parser_mode, judge)
    finally:
        if judge is not None:
            judge.close()
    # A shard is one part of a run: listed apart, never a run's score nor a member of a benchmark group.
    complete = [(run, s) for run, s in zip(runs, summaries, strict=True) if not s.shard]
    shards = [s for s in summaries if s.shard]
    groups = summarize_groups([run for run, _ in complete], [s for _, s in complete])
    if args.json:
        for item in [*(s for _, s in complete), *groups, *shards]:
            print(json.dumps(item.to_json()))
    else:
        if complete:
            print(summary_table([s for _, s in complete], files=True))
        if groups:
            print()
            print(group_table(groups))
        if shards:
            gap = "\n" if complete else ""
            print(f"{gap}shards (parts of runs, not their scores; 'tempeval merge' joins them into one run):")
            print(summary_table(shards, files=True))
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from tempeval.importing import import_runs
    from tempeval.loaders import LoadOptions

    written = import_runs(args.benchmark, args.model, args.paths, args.out, LoadOptions(data_dir=args.data_dir))
    for path in written:
        print(path)
    print(f"\n{len(written)} run file(s) written; 'tempeval score {args.out}' scores them.")
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    from tempeval import data, registry
    from tempeval.loaders import LoadOptions

    entry = registry.get_dataset(args.benchmark)
    options = LoadOptions(data_dir=args.data_dir, synth_dir=args.synth_dir)
    if args.action == "where":
        print(data.where(entry, options))
        return 0
    folder = data.fetch(entry, options, videos=args.videos, revision=args.revision)
    print(f"{entry.name}: fetched into {folder}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    if args.what == "tasks":
        from tempeval import registry

        for task in registry.tasks().values():
            print(f"{task.name:<28} {task.kind:<16} v{task.version:<4} {task.description}")
        print("\ngroups:")
        for group, members in registry.groups().items():
            print(f"  {group:<26} {', '.join(members)}")
    elif args.what == "models":
        from tempeval.adapter import adapter_names, load_adapter_class

        for name in adapter_names():
            try:
                cls = load_adapter_class(name)
                arguments = _adapter_arguments(cls)
                needs = cls.requires or "nothing extra"
            except TempevalError as exc:
                arguments, needs = "", f"not importable: {exc}"
            print(f"{name:<12} needs: {needs:<24} arguments: {arguments or 'none'}")
    elif args.what == "datasets":
        from tempeval import registry

        for entry in registry.datasets().values():
            print(f"{entry.name:<22} {entry.source:<36} {entry.revision:<40}  {entry.license or 'see source'}")
    else:
        from tempeval.scoring.metrics import METRICS, get_metric

        for name in METRICS:
            function = get_metric(name)
            print(f"{name:<26} {(function.__doc__ or '').strip().splitlines()[0]}")
    return 0


def _adapter_arguments(cls: Any) -> str:
    import dataclasses

    return ", ".join(
        f"{f.name}={f.default!r}" if f.default is not dataclasses.MISSING else f.name
        for f in dataclasses.fields(cls.Options)
    )


def _cmd_show(args: argparse.Namespace) -> int:
    import pandas as pd

    from tempeval.report import count_cell, error_summary

    _, summaries = _load_runs(args.paths)
    table = pd.DataFrame(
        [
            {
                "model": s.row or s.model,
                "task": s.task,
                "version": s.task_version,
                "n": count_cell(s),
                "errors": s.errors,
                "unparseable %": round(s.parse_failure_rate, 1),
                "headline": s.headline,
                "score": round(s.metrics[s.headline].value, 2) if s.headline in s.metrics else None,
                "file": s.path,
            }
            for s in summaries
        ]
    )
    with pd.option_context("display.max_rows", None, "display.width", 200, "display.max_colwidth", 60):
        print(table.sort_values(["model", "task"]).to_string(index=False))
    errors = sum(s.errors for s in summaries)
    if errors:
        print(f"\n{errors} sample(s) ended in an error; most frequent:", *error_summary(summaries), sep="\n")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from tempeval.compare import compare_paths, comparison_table

    comparisons, notes = compare_paths(args.a, args.b, seed=args.seed)
    if args.json:
        for comparison in comparisons:
            print(json.dumps(comparison.to_json()))
    else:
        print(comparison_table(comparisons))
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from tempeval.export import render, write_atomic
    from tempeval.rows import newest_per_row

    runs, summaries = _load_runs(args.runs)  # scored as 'tempeval score' scores them
    kept, notes = newest_per_row([run.header for run in runs], [str(run.path) for run in runs])
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    text = render([summaries[index] for index in kept], args.format)
    if args.out is None:
        sys.stdout.write(text)
    else:
        write_atomic(args.out, text)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
