"""Caption similarity for dense captioning: the field's own scorers (pycocoevalcap), loaded lazily, and their status.

A :data:`CaptionMetric` scores aligned pairs: ``metric(references, candidates)`` with one reference per candidate
returns the corpus score over the pairs and one score per pair, the shape of pycocoevalcap's ``compute_score``.
The backends are BLEU-4, METEOR and CIDEr(-D) from ``pycocoevalcap`` (the ``dense`` extra), as the ActivityNet
dense-captioning ``evaluate.py`` and SODA use them; METEOR runs the Java jar that package ships, so it needs a
``java`` on PATH. :func:`caption_metric_status` says for each metric whether it can run here and, if not, why, so
a summary can report a metric as missing instead of silently dropping it.

Tokenization follows the official scripts: non-ASCII characters become spaces, then the PTB tokenizer
(pycocoevalcap's, which also runs on Java) lowercases and removes punctuation. Without Java, :func:`tokenize` falls
back to :func:`simple_tokenize` (lowercase, split on anything but letters, digits and apostrophes), which agrees
with PTB on plain sentences but not on contractions ("don't" stays one token); the tokenizer used is named by
:func:`tokenizer_name` so a result can record it.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

CaptionMetric = Callable[[Sequence[str], Sequence[str]], tuple[float, list[float]]]
"""(references, candidates), aligned one to one -> (corpus score, per-pair scores)."""

COCO_METRICS = ("BLEU-4", "METEOR", "CIDEr")
INSTALL_HINT = "install the dense extra: pip install 'tempeval[dense]'"


def java_available() -> bool:
    """Whether a ``java`` executable is on PATH (METEOR and the PTB tokenizer need one)."""
    return shutil.which("java") is not None


def _pycocoevalcap_available() -> bool:
    try:
        import pycocoevalcap.cider.cider  # noqa: F401
    except ImportError:
        return False
    return True


def caption_metric_status() -> dict[str, str | None]:
    """For each of ``COCO_METRICS``: None when it can run here, else the reason it cannot and the fix."""
    status: dict[str, str | None] = {}
    for name in COCO_METRICS:
        if not _pycocoevalcap_available():
            status[name] = f"pycocoevalcap is not installed; {INSTALL_HINT}"
        elif name == "METEOR" and not java_available():
            status[name] = "METEOR needs Java and no 'java' is on PATH; install a JRE (Debian: default-jre-headless)"
        else:
            status[name] = None
    return status


def remove_nonascii(text: str) -> str:
    """Every non-ASCII character replaced by a space, as the official scripts do before tokenizing."""
    return "".join(c if ord(c) < 128 else " " for c in text)


def simple_tokenize(text: str) -> str:
    """Lowercased words (letters, digits, apostrophes) joined by single spaces: PTB's result on plain text."""
    return " ".join(re.findall(r"[a-z0-9']+", remove_nonascii(text).lower()))


def tokenizer_name() -> str:
    """``ptb`` where Java and pycocoevalcap are present, else ``simple``."""
    return "ptb" if java_available() and _pycocoevalcap_available() else "simple"


def tokenize(captions: Sequence[str]) -> list[str]:
    """Each caption tokenized as the official scripts do (PTB), or by :func:`simple_tokenize` without Java."""
    if not captions:
        return []
    if tokenizer_name() == "simple":
        return [simple_tokenize(c) for c in captions]
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    tokenized = PTBTokenizer().tokenize(
        {i: [{"caption": remove_nonascii(c)}] for i, c in enumerate(captions)}
    )
    return [tokenized[i][0] for i in range(len(captions))]


def _close_meteor(process: subprocess.Popen[bytes], owner: int) -> None:
    """End METEOR's Java process and close all its pipes (pycocoevalcap's own ``__del__`` leaves two open).

    Only in the process that started it: a forked worker (a parallel leaderboard build) inherits this exit hook and
    would otherwise kill the parent's METEOR mid-run.
    """
    if os.getpid() != owner:
        return
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()
    process.kill()
    process.wait()


def _scorer(name: str) -> Any:
    """One pycocoevalcap scorer per process (METEOR keeps its Java process open between calls); a forked child
    starts its own instead of writing to its parent's METEOR."""
    return _scorer_of_process(name, os.getpid())


@cache
def _scorer_of_process(name: str, pid: int) -> Any:
    if name == "BLEU-4":
        from pycocoevalcap.bleu.bleu import Bleu

        return Bleu(4)
    if name == "METEOR":
        from pycocoevalcap.meteor.meteor import Meteor

        meteor = Meteor()
        atexit.register(_close_meteor, meteor.meteor_p, pid)
        return meteor
    from pycocoevalcap.cider.cider import Cider

    return Cider()


def coco_metric(name: str) -> CaptionMetric:
    """The pycocoevalcap metric called ``name`` (one of ``COCO_METRICS``) on pre-tokenized captions.

    Raises:
        ValueError: for an unknown name, or when the metric cannot run here (the reason and the fix).
    """
    if name not in COCO_METRICS:
        raise ValueError(f"Unknown caption metric {name!r}; known: {', '.join(COCO_METRICS)}.")
    reason = caption_metric_status()[name]
    if reason:
        raise ValueError(f"Caption metric {name} cannot run: {reason}.")

    def score(references: Sequence[str], candidates: Sequence[str]) -> tuple[float, list[float]]:
        if len(references) != len(candidates):
            raise ValueError(f"{len(references)} references for {len(candidates)} candidates; pairs must align.")
        if not candidates:
            return 0.0, []
        refs = {i: [r] for i, r in enumerate(references)}
        cands = {i: [c] for i, c in enumerate(candidates)}
        scorer = _scorer(name)
        if name == "BLEU-4":
            corpus, per_pair = scorer.compute_score(refs, cands, verbose=0)
            return float(corpus[3]), [float(s) for s in per_pair[3]]
        corpus, per_pair = scorer.compute_score(refs, cands)
        return float(corpus), [float(s) for s in per_pair]

    return score
