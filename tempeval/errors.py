"""User-facing errors: each says what went wrong, why, and how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class TempevalError(Exception):
    """An error whose message is meant for the user as it is (the CLI prints it without a traceback)."""


class UnknownNameError(TempevalError, KeyError):
    """A task, group, model or argument name that does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class RunFileError(TempevalError):
    """A run file that cannot be read or resumed."""


def redact(text: str | None, key: str) -> str | None:
    """``text`` without the API key or its last 8 characters (servers echo either in error messages)."""
    if not text or not key:
        return text
    for secret in (key, key[-8:]):
        if len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


def did_you_mean(name: str, candidates: Iterable[str], *, limit: int = 3) -> str:
    """A ' Did you mean: a, b?' suffix naming the closest candidates, or '' when none is close."""
    pool = sorted(set(candidates))
    by_lower: dict[str, str] = {}
    for candidate in pool:  # case-insensitive: 'Synth_Order' finds synth_order
        by_lower.setdefault(candidate.lower(), candidate)
    lower = name.lower()
    close = [by_lower[c] for c in difflib.get_close_matches(lower, list(by_lower), n=limit, cutoff=0.6)]
    prefixed = [c for c in pool if lower and (c.lower().startswith(lower) or lower in c.lower()) and c not in close]
    matches = (close + prefixed)[:limit]
    return f" Did you mean: {', '.join(matches)}?" if matches else ""


def unknown_name(kind: str, name: str, candidates: Iterable[str], listing: str) -> UnknownNameError:
    """Build the standard 'Unknown task ...' error with near matches and where to see all names."""
    pool = sorted(set(candidates))
    return UnknownNameError(
        f"Unknown {kind} '{name}'.{did_you_mean(name, pool)} ('{listing}' shows all {len(pool)}.)"
    )
