"""Well-formed answers of each answer format, shared by the baseline adapters."""

from __future__ import annotations

import dataclasses
import random

from tempeval.types import Request

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def random_answer(request: Request, rng: random.Random) -> str:
    """A uniformly random well-formed answer to ``request``; to a poll of a stream, each open question is
    answered (a random answer of its format) or left open with even odds, and the wait token when none is."""
    if request.poll is not None:
        lines = [
            f"[{query_id}] {random_answer(Request(request.sample_id, '', None, fmt, choices), rng)}"
            for query_id, fmt, choices in request.poll.open_queries
            if rng.random() < 0.5
        ]
        return "\n".join(lines) if lines else request.poll.wait_token
    kind = request.answer_format
    if kind == "letter":
        return LETTERS[rng.randrange(max(1, len(request.choices)))]
    if kind == "yes_no":
        return rng.choice(("yes", "no"))
    if kind == "true_false":
        return rng.choice(("TRUE", "FALSE"))
    if kind == "window":
        duration = request.video_duration_s or 10.0
        start, end = sorted(rng.uniform(0.0, duration) for _ in range(2))
        return f"{start:.1f} - {end:.1f}"
    if kind == "number":
        return str(rng.randint(0, 5))
    if kind == "letters":
        count = max(1, len(request.choices))
        return ", ".join(sorted(rng.sample(LETTERS[:count], rng.randint(1, count))))
    if kind == "letter_window":
        letter = LETTERS[rng.randrange(max(1, len(request.choices)))]
        return f"{letter}, {random_answer(dataclasses.replace(request, answer_format='window'), rng)}"
    if kind == "events":  # 1-4 random windows, in time order, with a caption that says nothing
        duration = request.video_duration_s or 10.0
        windows = sorted(tuple(sorted(rng.uniform(0.0, duration) for _ in range(2))) for _ in range(rng.randint(1, 4)))
        return "\n".join(f"{start:.1f} - {end:.1f} seconds, something happens" for start, end in windows)
    return rng.choice(("yes", "no"))


def first_answer(request: Request) -> str:
    """The same answer every time: the first option, yes, TRUE, the whole video (one event for events), 1."""
    kind = request.answer_format
    if kind == "letter":
        return "A"
    if kind == "yes_no":
        return "yes"
    if kind == "true_false":
        return "TRUE"
    if kind == "window":
        return f"0.0 - {request.video_duration_s or 10.0:.1f}"
    if kind == "letter_window":
        return f"A, 0.0 - {request.video_duration_s or 10.0:.1f}"
    if kind == "letters":
        return "A"
    if kind == "events":
        return f"0.0 - {request.video_duration_s or 10.0:.1f} seconds, something happens"
    return "1"
