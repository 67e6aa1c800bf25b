"""Scene layouts and annotation records of the eight synthetic subsets.

Each subset is made of *groups*: one group is a twin pair of videos (direction, order, count, speed), one video
with one question (grounding), one video with a fact/fib claim pair (claims), one stream video with its
questions and probes (online), one stream video with its timed queries as one record (stream), or one video of
several timed events (events). Group ``i`` draws all its randomness from ``random.Random(f"{seed}:{subset}:{i}")``,
so a group never depends on how many groups come before or after it. The one cross-group choice, where the
correct option goes, comes from a balanced schedule (:func:`letter_schedule`).

Timing rules that keep every answer readable from 8 frames sampled at segment midpoints:
moves cross most of the frame and last the whole clip; order and count clips are ``8 * m`` frames long with
``m >= 5`` and change only at segment boundaries (so every on/off state lasts whole segments of >= 0.5 s and
holds a sampled frame); grounding windows are >= 1 s and >= a quarter of the clip; online events are >= 1 s
from every query time.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tempeval.synth.draw import COLORS, SHAPES

SIZE = 128  # 128, not 112: x264 output at 112 px was measured not byte-reproducible run to run
"""Frame side in pixels."""
FPS = 10
"""Frame rate of every video: frame ``i`` is shown during ``[i / 10, (i + 1) / 10)`` seconds."""
RADIUS = 12
"""Nominal shape radius in pixels."""
LO, HI = 18.0, SIZE - 18.0
"""Range of shape centres that keeps whole shapes inside the frame."""
LETTERS = "ABCD"
DIRECTIONS: tuple[str, ...] = ("left", "right", "up", "down")
OPPOSITE = {"left": "right", "right": "left", "up": "down", "down": "up"}
COUNT_WORDS = {1: "once", 2: "twice", 3: "three times", 4: "four times"}


@dataclass
class Group:
    """What one group contributes: scenes to encode and annotation records to write."""

    scenes: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------------
# Helpers


def desc(obj: dict[str, Any]) -> str:
    """How questions name an object, e.g. ``red circle``."""
    return f"{obj['color']} {obj['shape']}"


def _obj(
    color: str, shape: str, p0: Sequence[float], p1: Sequence[float] | None = None, visible: Any = None
) -> dict[str, Any]:
    obj: dict[str, Any] = {"shape": shape, "color": color, "r": RADIUS, "p0": [round(p0[0], 2), round(p0[1], 2)]}
    if p1 is not None:
        obj["p1"] = [round(p1[0], 2), round(p1[1], 2)]
    obj["visible"] = visible
    return obj


def _scene(stem: str, n_frames: int, objects: list[dict[str, Any]], reverse: bool = False) -> dict[str, Any]:
    return {"stem": stem, "fps": FPS, "n_frames": n_frames, "size": SIZE, "reverse": reverse, "objects": objects}


def _spot(
    rng: random.Random,
    taken: Sequence[Sequence[float]],
    lanes: Sequence[tuple[int, float]] = (),
) -> tuple[float, float]:
    """A random centre well away from other static shapes and from the bands that moving shapes sweep.

    ``lanes`` holds ``(axis, coordinate)``: axis 1 is a horizontal move at row ``coordinate``, axis 0 vertical.
    """
    gap = 2 * RADIUS + 8  # no touching shapes: colour masks stay separate
    for _ in range(2000):
        x, y = rng.uniform(LO, HI), rng.uniform(LO, HI)
        if all(math.hypot(x - tx, y - ty) >= gap for tx, ty in taken) and all(
            abs((x, y)[axis] - coord) >= gap for axis, coord in lanes
        ):
            return x, y
    raise RuntimeError("synth: could not place a shape")  # cannot happen with <= 3 static shapes


def _distractors(
    rng: random.Random,
    used_colors: Sequence[str],
    count: int,
    lanes: Sequence[tuple[int, float]] = (),
    taken: Sequence[Sequence[float]] = (),
) -> list[dict[str, Any]]:
    """Static, always-visible shapes in colours not used by the shapes a question names."""
    colors = rng.sample([c for c in COLORS if c not in used_colors], count)
    placed = list(taken)
    out = []
    for color in colors:
        spot = _spot(rng, placed, lanes)
        placed.append(spot)
        out.append(_obj(color, rng.choice(SHAPES), spot))
    return out


def _absent_names(rng: random.Random, used_colors: Sequence[str], count: int) -> list[str]:
    """Names of shapes clearly not in a video: their colour is used by nothing in it."""
    colors = rng.sample([c for c in COLORS if c not in used_colors], count)
    return [f"{c} {rng.choice(SHAPES)}" for c in colors]


def _arrange(k: int, fixed: dict[int, str], fillers: Sequence[str], rng: random.Random) -> list[str]:
    """Options list of length ``k``: ``fixed`` texts at their positions, the shuffled fillers elsewhere."""
    rest = list(fillers)
    rng.shuffle(rest)
    options = [fixed[p] if p in fixed else rest.pop() for p in range(k)]
    assert not rest
    return options


def letter_schedule(seed: int, subset: str, count: int, k: int, per_slot: int, distinct: bool) -> list[tuple[int, ...]]:
    """Positions of the correct options, balanced over the letters.

    Args:
        seed: Suite seed.
        subset: Subset name (part of the RNG key).
        count: Number of groups.
        k: Number of options per question.
        per_slot: Positions per group (2 for a twin pair, or the number of questions of an online stream).
        distinct: Whether a group's positions must differ: twins share one options list, and their correct
            answers differ, so they sit at different letters.

    Returns:
        ``count`` tuples of ``per_slot`` option indices. Blocks of all combinations are shuffled one by one,
        so every prefix is nearly balanced too.
    """
    rng = random.Random(f"{seed}:{subset}:letters")
    if distinct:
        # Twins: every ordered pair of distinct positions once per block.
        block: list[tuple[int, ...]] = list(itertools.permutations(range(k), per_slot))
        out: list[tuple[int, ...]] = []
        while len(out) < count:
            chunk = list(block)
            rng.shuffle(chunk)
            out.extend(chunk)
        return out[:count]
    # Independent questions: a flat sequence with every position once per block, cut into groups.
    flat: list[int] = []
    while len(flat) < count * per_slot:
        chunk_positions = list(range(k))
        rng.shuffle(chunk_positions)
        flat.extend(chunk_positions)
    return [tuple(flat[g * per_slot : (g + 1) * per_slot]) for g in range(count)]


def _record(
    rid: str,
    kind: str,
    stem: str,
    question: str,
    *,
    choices: Sequence[str] = (),
    target: Any,
    answer_format: str,
    query_time_s: float | None = None,
    meta: dict[str, Any],
) -> dict[str, Any]:
    """One JSONL annotation record, with the keys in the documented order."""
    return {
        "id": rid,
        "kind": kind,
        "video": f"videos/{stem}.mp4",
        "question": question,
        "choices": list(choices),
        "target": target,
        "answer_format": answer_format,
        "query_time_s": query_time_s,
        "meta": meta,
    }


def _seconds(frames: int) -> float:
    return round(frames / FPS, 6)


def _segment_windows(bits: Sequence[int], m: int) -> list[list[int]]:
    """Half-open frame windows of the runs of ones in a segment pattern with ``m`` frames per segment."""
    windows: list[list[int]] = []
    for index, bit in enumerate(bits):
        if bit and (index == 0 or not bits[index - 1]):
            windows.append([index * m, (index + 1) * m])
        elif bit:
            windows[-1][1] = (index + 1) * m
    return windows


def _flash_pattern(rng: random.Random, flashes: int) -> tuple[int, ...]:
    """8 segments, off at the start (so the first flash is seen to begin), ``flashes`` runs of 1-2 segments."""
    candidates = []
    for bits in itertools.product((0, 1), repeat=8):
        runs = [len(list(g)) for bit, g in itertools.groupby(bits) if bit]
        if bits[0] == 0 and len(runs) == flashes and max(runs) <= 2:
            candidates.append(bits)
    return rng.choice(candidates)


# ---------------------------------------------------------------------------------------------------------------
# Scene makers shared by the subsets and the claims


def _moving_scene(rng: random.Random) -> tuple[int, list[dict[str, Any]], dict[str, Any], str]:
    """One shape crossing most of the frame in one of four directions, plus 1-2 static shapes."""
    n_frames = rng.randint(30, 60)
    color, shape = rng.choice(COLORS), rng.choice(SHAPES)
    direction = rng.choice(DIRECTIONS)
    start, end = rng.uniform(16.0, 22.0), rng.uniform(90.0, 96.0)
    if direction in ("left", "up"):
        start, end = SIZE - start, SIZE - end
    lane = rng.uniform(LO, HI)
    if direction in ("left", "right"):
        mover = _obj(color, shape, (start, lane), (end, lane))
        lanes = [(1, lane)]
    else:
        mover = _obj(color, shape, (lane, start), (lane, end))
        lanes = [(0, lane)]
    objects = _distractors(rng, [color], rng.randint(1, 2), lanes) + [mover]
    return n_frames, objects, mover, direction


def _sequence_scene(rng: random.Random, k: int) -> tuple[int, list[dict[str, Any]]]:
    """``k`` shapes shown one after another, each for >= 2 segments, in segment-aligned windows."""
    m = rng.randint(5, 8)
    colors, shapes = rng.sample(COLORS, k), rng.sample(SHAPES, k)
    lengths, gaps = [2] * k, [0] * (k + 1)
    for _ in range(8 - 2 * k):
        slot = rng.randrange(2 * k + 1)
        if slot < k and lengths[slot] < 3:
            lengths[slot] += 1
        else:
            gaps[rng.randrange(k + 1)] += 1
    objects: list[dict[str, Any]] = []
    taken: list[tuple[float, float]] = []
    cursor = 0
    for j in range(k):
        cursor += gaps[j]
        spot = _spot(rng, taken)
        taken.append(spot)
        objects.append(_obj(colors[j], shapes[j], spot, visible=[[cursor * m, (cursor + lengths[j]) * m]]))
        cursor += lengths[j]
    return 8 * m, objects


def _flash_scene(rng: random.Random) -> tuple[int, int, dict[str, Any], list[dict[str, Any]]]:
    """A flashing shape (windows left empty) and 1-2 static shapes; returns (n_frames, m, flasher, others)."""
    m = rng.randint(5, 8)
    flasher_spot = _spot(rng, [])
    flasher = _obj(rng.choice(COLORS), rng.choice(SHAPES), flasher_spot, visible=[])
    others = _distractors(rng, [flasher["color"]], rng.randint(1, 2), taken=[flasher_spot])
    return 8 * m, m, flasher, others


def _with_visible(obj: dict[str, Any], windows: list[list[int]]) -> dict[str, Any]:
    return {**obj, "visible": windows}


def _meta(subset: str, stem: str, n_frames: int, **extra: Any) -> dict[str, Any]:
    return {"subset": subset, "video_id": stem, "duration_s": _seconds(n_frames), "fps": FPS, **extra}


# ---------------------------------------------------------------------------------------------------------------
# The subsets


def build_direction(seed: int, i: int, slots: tuple[int, ...]) -> Group:
    """Twin clips of one moving shape: played forwards and in reverse, so the direction flips."""
    rng = random.Random(f"{seed}:direction:{i}")
    n_frames, objects, mover, direction = _moving_scene(rng)
    pair_id = f"direction-{i:04d}"
    answers = {"a": direction, "b": OPPOSITE[direction]}
    pa, pb = slots
    fillers = [d for d in DIRECTIONS if d not in answers.values()]
    choices = _arrange(4, {pa: answers["a"], pb: answers["b"]}, fillers, rng)
    question = f"In which direction does the {desc(mover)} move?"
    group = Group()
    for twin, pos in (("a", pa), ("b", pb)):
        stem = f"{pair_id}{twin}"
        group.scenes.append(_scene(stem, n_frames, objects, reverse=twin == "b"))
        meta = _meta(
            "direction",
            stem,
            n_frames,
            pair_id=pair_id,
            twin=twin,
            aspect="direction",
            reversed=twin == "b",
            object={"color": mover["color"], "shape": mover["shape"]},
            answer=answers[twin],
        )
        group.records.append(
            _record(
                stem,
                "multiple_choice",
                stem,
                question,
                choices=choices,
                target=LETTERS[pos],
                answer_format="letter",
                meta=meta,
            )
        )
    return group


def build_order(seed: int, i: int, slots: tuple[int, ...]) -> Group:
    """Twin clips of 2-3 shapes shown briefly one after another: forwards and reversed."""
    rng = random.Random(f"{seed}:order:{i}")
    k = rng.choice((2, 3, 3))
    n_frames, objects = _sequence_scene(rng, k)
    names = [desc(o) for o in objects]
    which = rng.choice(("first", "last"))
    pair_id = f"order-{i:04d}"
    sequences = {"a": names, "b": names[::-1]}
    answers = {t: (seq[0] if which == "first" else seq[-1]) for t, seq in sequences.items()}
    pa, pb = slots
    fillers = [n for n in names if n not in answers.values()] + _absent_names(rng, [o["color"] for o in objects], 4 - k)
    choices = _arrange(4, {pa: answers["a"], pb: answers["b"]}, fillers, rng)
    question = f"Which shape appears {which}?"
    group = Group()
    for twin, pos in (("a", pa), ("b", pb)):
        stem = f"{pair_id}{twin}"
        group.scenes.append(_scene(stem, n_frames, objects, reverse=twin == "b"))
        meta = _meta(
            "order",
            stem,
            n_frames,
            pair_id=pair_id,
            twin=twin,
            aspect="order",
            reversed=twin == "b",
            sequence=sequences[twin],
            asked=which,
            answer=answers[twin],
        )
        group.records.append(
            _record(
                stem,
                "multiple_choice",
                stem,
                question,
                choices=choices,
                target=LETTERS[pos],
                answer_format="letter",
                meta=meta,
            )
        )
    return group


def build_count(seed: int, i: int, slots: tuple[int, ...]) -> Group:
    """Twin clips of one shape flashing a different number of times (1-4) among static shapes."""
    rng = random.Random(f"{seed}:count:{i}")
    n_frames, m, flasher, others = _flash_scene(rng)
    counts = {"a": rng.randint(1, 4)}
    counts["b"] = rng.choice([c for c in (1, 2, 3, 4) if c != counts["a"]])
    patterns = {t: _flash_pattern(rng, c) for t, c in counts.items()}
    pair_id = f"count-{i:04d}"
    pa, pb = slots
    fillers = [str(c) for c in (1, 2, 3, 4) if c not in counts.values()]
    choices = _arrange(4, {pa: str(counts["a"]), pb: str(counts["b"])}, fillers, rng)
    question = f"How many times does the {desc(flasher)} flash?"
    group = Group()
    for twin, pos in (("a", pa), ("b", pb)):
        stem = f"{pair_id}{twin}"
        objects = [*others, _with_visible(flasher, _segment_windows(patterns[twin], m))]
        group.scenes.append(_scene(stem, n_frames, objects))
        meta = _meta(
            "count",
            stem,
            n_frames,
            pair_id=pair_id,
            twin=twin,
            aspect="count",
            object={"color": flasher["color"], "shape": flasher["shape"]},
            pattern="".join(map(str, patterns[twin])),
            answer=counts[twin],
        )
        group.records.append(
            _record(
                stem,
                "multiple_choice",
                stem,
                question,
                choices=choices,
                target=LETTERS[pos],
                answer_format="letter",
                meta=meta,
            )
        )
    return group


def build_speed(seed: int, i: int, slots: tuple[int, ...]) -> Group:
    """Twin clips of two shapes moving in parallel lanes, one ~2.5x faster; the twin swaps the speeds."""
    rng = random.Random(f"{seed}:speed:{i}")
    n_frames = rng.randint(30, 60)
    colors, shapes = rng.sample(COLORS, 2), rng.sample(SHAPES, 2)
    axis = rng.choice((0, 1))  # 1: both move horizontally (lanes are rows); 0: vertically
    lanes = [rng.uniform(LO, LO + 20.0), rng.uniform(HI - 20.0, HI)]  # >= 36 px apart: never touching
    rng.shuffle(lanes)
    lane1, lane2 = lanes
    fast, slow = rng.uniform(68.0, 76.0), rng.uniform(22.0, 30.0)
    signs = (rng.choice((-1, 1)), rng.choice((-1, 1)))
    starts = [rng.uniform(16.0, 20.0) if s > 0 else rng.uniform(92.0, 96.0) for s in signs]

    def mover(j: int, lane: float, distance: float) -> dict[str, Any]:
        a, b = starts[j], starts[j] + signs[j] * distance
        p0, p1 = ((a, lane), (b, lane)) if axis == 1 else ((lane, a), (lane, b))
        return _obj(colors[j], shapes[j], p0, p1)

    scenes = {"a": [mover(0, lane1, fast), mover(1, lane2, slow)], "b": [mover(0, lane1, slow), mover(1, lane2, fast)]}
    names = [f"{colors[j]} {shapes[j]}" for j in range(2)]
    answers = {"a": names[0], "b": names[1]}
    pair_id = f"speed-{i:04d}"
    pa, pb = slots
    choices = _arrange(3, {pa: answers["a"], pb: answers["b"]}, ["both move at the same speed"], rng)
    group = Group()
    for twin, pos in (("a", pa), ("b", pb)):
        stem = f"{pair_id}{twin}"
        group.scenes.append(_scene(stem, n_frames, scenes[twin]))
        meta = _meta("speed", stem, n_frames, pair_id=pair_id, twin=twin, aspect="speed", answer=answers[twin])
        group.records.append(
            _record(
                stem,
                "multiple_choice",
                stem,
                "Which object moves faster?",
                choices=choices,
                target=LETTERS[pos],
                answer_format="letter",
                meta=meta,
            )
        )
    return group


def build_grounding(seed: int, i: int, slots: tuple[int, ...]) -> Group:
    """One shape visible in a window of >= 1 s (and >= 1/4 of the clip) inside the clip, among static shapes."""
    del slots  # no options
    rng = random.Random(f"{seed}:grounding:{i}")
    n_frames = rng.randint(40, 100)
    length = rng.randint(max(10, math.ceil(n_frames / 4)), n_frames // 2)
    start = rng.randint(5, n_frames - length - 5)  # >= 0.5 s from either end
    color, shape = rng.choice(COLORS), rng.choice(SHAPES)
    spot = _spot(rng, [])
    others = _distractors(rng, [color], rng.randint(1, 2), taken=[spot])
    target_obj = _obj(color, shape, spot, visible=[[start, start + length]])
    stem = f"grounding-{i:04d}"
    meta = _meta("grounding", stem, n_frames, object={"color": color, "shape": shape}, frames=[start, start + length])
    record = _record(
        stem,
        "grounding",
        stem,
        f"When does the {color} {shape} appear?",
        target=[_seconds(start), _seconds(start + length)],
        answer_format="window",
        meta=meta,
    )
    return Group(scenes=[_scene(stem, n_frames, [*others, target_obj])], records=[record])


def build_claims(seed: int, i: int, slots: tuple[int, ...]) -> Group:
    """One video with a true claim and a false claim about it (direction, order or count, in turn)."""
    del slots
    rng = random.Random(f"{seed}:claims:{i}")
    aspect = ("direction", "order", "count")[i % 3]
    stem = f"claims-{i:04d}"
    extra: dict[str, Any] = {}
    if aspect == "direction":
        n_frames, objects, mover, direction = _moving_scene(rng)
        fib_direction = OPPOSITE[direction]
        fact, fib = f"The {desc(mover)} moves {direction}.", f"The {desc(mover)} moves {fib_direction}."
        extra["object"] = {"color": mover["color"], "shape": mover["shape"]}
    elif aspect == "order":
        n_frames, objects = _sequence_scene(rng, rng.choice((2, 3)))
        x, y = sorted(rng.sample(range(len(objects)), 2))
        first, later = desc(objects[x]), desc(objects[y])
        if rng.random() < 0.5:
            fact, fib = f"The {first} appears before the {later}.", f"The {first} appears after the {later}."
        else:
            fact, fib = f"The {later} appears after the {first}.", f"The {later} appears before the {first}."
        extra["sequence"] = [desc(o) for o in objects]
    else:
        n_frames, m, flasher, others = _flash_scene(rng)
        flashes = rng.randint(1, 4)
        wrong = rng.choice([c for c in (1, 2, 3, 4) if c != flashes])
        objects = [*others, _with_visible(flasher, _segment_windows(_flash_pattern(rng, flashes), m))]
        fact = f"The {desc(flasher)} flashes {COUNT_WORDS[flashes]}."
        fib = f"The {desc(flasher)} flashes {COUNT_WORDS[wrong]}."
        extra["object"] = {"color": flasher["color"], "shape": flasher["shape"]}
    fact_twin = rng.choice(("a", "b"))
    group = Group(scenes=[_scene(stem, n_frames, objects)])
    for twin in ("a", "b"):
        is_fact = twin == fact_twin
        meta = _meta("claims", stem, n_frames, pair_id=stem, claim="fact" if is_fact else "fib", aspect=aspect, **extra)
        group.records.append(
            _record(
                f"{stem}{twin}",
                "binary_pair",
                stem,
                fact if is_fact else fib,
                target=is_fact,
                answer_format="true_false",
                meta=meta,
            )
        )
    return group


def build_online(seed: int, i: int, slots: tuple[int, ...]) -> Group:
    """A stream where three shapes appear one by one and stay: 2 backward questions, 4 forward probes."""
    rng = random.Random(f"{seed}:online:{i}")
    colors, shapes = rng.sample(COLORS, 3), rng.sample(SHAPES, 3)
    f1 = rng.randint(10, 20)
    f2 = f1 + rng.randint(25, 35)
    f3 = f2 + rng.randint(25, 35)
    n_frames = f3 + rng.randint(20, 30)
    appear = [f1, f2, f3]
    objects: list[dict[str, Any]] = []
    taken: list[tuple[float, float]] = []
    for j in range(3):
        spot = _spot(rng, taken)
        taken.append(spot)
        objects.append(_obj(colors[j], shapes[j], spot, visible=[[appear[j], n_frames]]))
    names = [desc(o) for o in objects]
    stem = f"online-{i:04d}"
    group = Group(scenes=[_scene(stem, n_frames, objects)])

    def backward(suffix: str, question: str, q: int, correct: str, fillers: list[str], pos: int, qtype: str) -> None:
        choices = _arrange(4, {pos: correct}, fillers, rng)
        meta = _meta("online", stem, n_frames, mode="backward", question_type=qtype, answer=correct)
        group.records.append(
            _record(
                f"{stem}{suffix}",
                "online",
                stem,
                question,
                choices=choices,
                target=LETTERS[pos],
                answer_format="letter",
                query_time_s=_seconds(q),
                meta=meta,
            )
        )

    # (a) Only the first shape is on screen at q; the later shapes are options, so peeking ahead is punished.
    q = rng.randint(f1 + 10, f2 - 10)
    backward(
        "a",
        "Which shape has appeared so far?",
        q,
        names[0],
        [names[1], names[2], *_absent_names(rng, colors, 1)],
        slots[0],
        "appeared_so_far",
    )
    # (b) Query times >= 1 s from every appearance, after 1, 2 or 3 shapes have appeared.
    stages = [range(f1 + 10, f2 - 9), range(f2 + 10, f3 - 9), range(f3 + 10, n_frames + 1)]
    if rng.random() < 0.5:
        q = rng.choice([*stages[1], *stages[2]])  # two shapes seen, so "first" is a real question
        absent_color = rng.choice([c for c in COLORS if c not in colors])
        backward(
            "b",
            "What colour was the first shape to appear?",
            q,
            colors[0],
            [colors[1], colors[2], absent_color],
            slots[1],
            "first_colour",
        )
    else:
        so_far = rng.randint(1, 3)  # the answer is drawn first, so 1, 2 and 3 are equally likely
        q = rng.choice(stages[so_far - 1])
        backward(
            "b",
            "How many shapes have appeared so far?",
            q,
            str(so_far),
            [str(c) for c in (1, 2, 3, 4) if c != so_far],
            slots[1],
            "count_so_far",
        )
    # Forward probes of one appearance: two before it, two after it, each >= 1 s away.
    event = rng.choice((1, 2))
    fe = appear[event]
    before = rng.sample(range(10, fe - 9), 2)
    after = rng.sample(range(fe + 10, n_frames + 1), 2)
    probe_of = f"{stem}-{colors[event]}-{shapes[event]}"
    for suffix, q in zip("cdef", sorted(before + after), strict=True):
        meta = _meta(
            "online",
            stem,
            n_frames,
            mode="forward",
            probe_of=probe_of,
            event_time_s=_seconds(fe),
            object={"color": colors[event], "shape": shapes[event]},
        )
        group.records.append(
            _record(
                f"{stem}{suffix}",
                "online",
                stem,
                f"Has the {names[event]} appeared yet?",
                target=q >= fe,
                answer_format="yes_no",
                query_time_s=_seconds(q),
                meta=meta,
            )
        )
    return group


STREAM_DUE_S = 2.0
"""synth_stream: an answer to "tell me when X appears" is due from the appearance to this many seconds after it."""


def build_stream(seed: int, i: int, slots: tuple[int, ...]) -> Group:
    """One stream (one record): two shapes (squares or triangles) appear at known times, and one to three
    circles appear and stay. Its four queries: "tell me as soon as the X appears" for each shape, asked at 0 s
    and due within ``STREAM_DUE_S`` of the appearance, and "how many circles have appeared so far?" once in each half
    of the stream, >= 1 s from every circle's appearance (so a 1 fps stream has seen the answer)."""
    rng = random.Random(f"{seed}:stream:{i}")
    colors = rng.sample(COLORS, 5)
    events = [rng.randint(40, 90)]
    events.append(events[0] + rng.randint(30, 60))
    n_frames = events[1] + rng.randint(30, 50)
    circles = sorted(rng.sample(range(10, n_frames - 20), rng.randint(1, 3)))
    objects: list[dict[str, Any]] = []
    taken: list[tuple[float, float]] = []
    names = []
    for j, frame in enumerate(events):
        spot = _spot(rng, taken)
        taken.append(spot)
        objects.append(_obj(colors[j], rng.choice(("square", "triangle")), spot, visible=[[frame, n_frames]]))
        names.append(desc(objects[-1]))
    for j, frame in enumerate(circles):
        spot = _spot(rng, taken)
        taken.append(spot)
        objects.append(_obj(colors[2 + j], "circle", spot, visible=[[frame, n_frames]]))
    quiet = [q for q in range(10, n_frames + 1) if all(abs(q - c) >= 10 for c in circles)]
    stem = f"stream-{i:04d}"
    queries: list[dict[str, Any]] = [
        {
            "query_id": f"when-{j + 1}",
            "asked_at_s": 0.0,
            "text": f"Tell me as soon as the {name} appears.",
            "answer_format": "text",
            "choices": [],
            "due_windows": [[_seconds(frame), round(_seconds(frame) + STREAM_DUE_S, 6)]],
            "target": None,
        }
        for j, (name, frame) in enumerate(zip(names, events, strict=True))
    ]
    halves = [[q for q in quiet if q <= n_frames // 2], [q for q in quiet if q > n_frames // 2]]
    for j, q in enumerate(rng.choice(half) for half in halves):
        queries.append({
            "query_id": f"count-{j + 1}",
            "asked_at_s": _seconds(q),
            "text": "How many circles have appeared so far?",
            "answer_format": "number",
            "choices": [],
            "due_windows": None,
            "target": sum(1 for c in circles if c <= q),
        })
    meta = _meta("stream", stem, n_frames, event_times_s=[_seconds(f) for f in events],
                 circle_times_s=[_seconds(c) for c in circles], circle_colors=colors[2:2 + len(circles)])
    question = " / ".join(query["text"] for query in queries)
    group = Group(scenes=[_scene(stem, n_frames, objects)])
    group.records.append(_record(stem, "streaming", stem, question, target=queries, answer_format="text", meta=meta))
    return group


def build_events(seed: int, i: int, slots: tuple[int, ...]) -> Group:
    """Dense captioning: 2-3 shapes shown one after another (segment-aligned, >= 1 s each), each shown span an
    event captioned "a <colour> <shape> appears", with one static shape that never is an event."""
    del slots  # no options
    rng = random.Random(f"{seed}:events:{i}")
    k = rng.choice((2, 3, 3))
    n_frames, objects = _sequence_scene(rng, k)
    others = _distractors(rng, [o["color"] for o in objects], 1, taken=[o["p0"] for o in objects])
    events = [
        [_seconds(o["visible"][0][0]), _seconds(o["visible"][0][1]), f"a {desc(o)} appears"] for o in objects
    ]
    stem = f"events-{i:04d}"
    meta = _meta("events", stem, n_frames, events=len(events))
    record = _record(
        stem,
        "dense_captioning",
        stem,
        "Shapes appear one after another. When does each appear, and which shape is it?",
        target=events,
        answer_format="events",
        meta=meta,
    )
    return Group(scenes=[_scene(stem, n_frames, [*others, *objects])], records=[record])


BUILDERS = {
    "direction": build_direction,
    "order": build_order,
    "count": build_count,
    "speed": build_speed,
    "grounding": build_grounding,
    "claims": build_claims,
    "online": build_online,
    "stream": build_stream,
    "events": build_events,
}
"""Subset name -> group builder ``(seed, i, slots) -> Group``."""

LAYOUT: dict[str, tuple[int, int, int, bool]] = {
    "direction": (2, 4, 2, True),
    "order": (2, 4, 2, True),
    "count": (2, 4, 2, True),
    "speed": (2, 3, 2, True),
    "grounding": (1, 0, 0, False),
    "claims": (2, 0, 0, False),
    "online": (6, 4, 2, False),
    "stream": (3, 0, 0, False),
    "events": (1, 0, 0, False),
}
"""Subset name -> (records per group, options per question, correct-option slots per group, slots distinct).
A ``stream`` group is one stream (one record) that counts as 3, so ``per_task=60`` gives 20 streams."""
