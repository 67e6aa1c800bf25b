"""E.T. Bench (Liu et al., NeurIPS 2024 D&B; PolyU-ChenLab/ETBench): its record format, answer readers and metrics.

Pure functions over parsed answers; no loader here (wiring: read ``etbench_txt_v1.0.json`` with
:func:`parse_etbench_record`, one sample per record, ``meta`` = task and source, and score each (task, source)
group with :data:`TASK_METRICS`).

Sources. ``docs/BENCHMARK.md`` (commit 445f620e) gives the record format and says: "``etbench_txt_v1.0.json`` - for
models representing timestamps in pure text, e.g., '2.5 - 4.8 seconds'" and "``etbench_vid_v1.0.json`` - for models
using special tokens for timestamps", "In ``vid`` style annotations, all the timestamps in ``q`` have been replaced
with ``<vid>``", and "``--subset`` ... (same as the commercial models in Table 1 of the paper)" with 470 samples. It
recommends "``compress_videos.py --fps 3 --size 224``". The official ``evaluation/compute_metrics.py`` ships only
with the Hugging Face dataset; the rules below were written from a third-party copy of it (read, not copied; marked
**[2nd]**, function names as there) and from the paper's task table (RAR/ECA/RVQ accuracy, grounding F1,
captioning F1 + Sim, TEM/GVQ recall); the paper's own wording was not available offline, so where it and the
script could differ, the script's behaviour is what is reproduced.

Differential check (scratch folder, the script's functions transcribed, ``nncore``'s own ``temporal_iou``): 20,000
adversarial answers through the window, dense, choice and VHD readers and 1,500 random sample sets per task through
TVG, TEM, TAL, EVS, DVC (F1) and GVQ: 0 disagreements, once IoU was computed in float32 as there. Answers on which
the script crashes (a "1..5" that its regex takes and ``float`` refuses: the whole run stops there) are unparseable
here; SentSim and the nearest-option step were checked with a stand-in similarity, not all-MiniLM-L6-v2.

Records (:func:`parse_etbench_record`):

1. The ``vid`` variant is refused: its ``q`` holds ``<vid>`` in place of every timestamp (BENCHMARK.md, above).
2. ``tgt`` is one window ``[s, e]`` (TVG, EPM, GVQ), a list of windows (TAL, EVS, TEM, DVC, SLC) or, for VHD, one
   list of windows per annotator; all are read as a flat tuple of windows (VHD's hit rule is "inside any window of
   any annotator", so flattening loses nothing).

Answer readers (own code; **[2nd]** ``tvg_format``, ``dvc_format``, ``rvq_eval``, ``gvq_eval``, ``vhd_eval``):

3. :func:`parse_windows`: lowercased; every ``number - number`` pair anywhere; else every ``number to number``;
   else TimeChat's keyword-sentence fallbacks (``tempeval.benchmarks.grounding``: the first number of each sentence
   holding a keyword, paired in order; then the same with ``HH:MM:SS``); reversed pairs swapped. All windows are
   kept (TVG, EPM, TEM and GVQ score the first; TAL and EVS all).
4. :func:`parse_dense` (DVC, SLC): lowercased; every ``number - number`` pair gives a window, and the text between
   pairs (with "seconds" removed) gives the captions, keeping pieces longer than 5 characters and truncating both
   lists to the shorter: so a preamble longer than 5 characters before the first time shifts every caption by one,
   as in the original. Else "start time: a ... end time: b" pairs with "description: ..." (or "* ...") captions.
   Else an answer with "start time a, end time b" is unparseable (the original asserts there and catches its own
   error). Else the first line (or, without newlines, sentence) longer than 7 characters that holds a time gives one
   event: "a - b" before the word "seconds", or two ``mm:ss``, or two numbers; a lone ``mm:ss`` or number ``t``
   becomes the 40-second window ``[t - 20, t + 20]`` (``[t, t + 40]`` when ``t <= 20``), times rounded to 2
   decimals; a line with one colon but no ``mm:ss`` ("start time: 12") or two colons but not two ``mm:ss`` is
   skipped (the original raised and caught). Windows are put in order.
5. :func:`read_choice` (RAR, ECA, RVQ): the first "(X)" whose letter is an option; else, lowercased and without a
   leading "best option:" and "(", a first character that is an option letter followed by nothing or one of
   ". , )" or a space; else the option whose "(X) text" is most similar to the answer by sentence embedding
   (all-MiniLM-L6-v2 there), and this last case is also counted as ``Failed`` unless a letter step was reached
   with a letter that is no option ("I think ...": "i" then a space). An empty answer is failed and
   wrong. GVQ (:func:`read_gvq_choice`) skips the "(X)" step and does not count the embedding step as failed.
   Without a similarity model (``similarity=None``) the embedding step is not taken: such answers are wrong, and
   ``NeedSimilarity`` says how many there were, so the figure is a lower bound.
6. VHD: the first signed number in the raw answer.

Metrics (fractions in [0, 1]; ``Total`` and ``Failed`` counts as the script prints; ``IOU_THRESHOLDS`` = 0.1, 0.3,
0.5, 0.7; IoU = intersection / (length + length - intersection) in float32, as ``torch`` and ``nncore`` compute it
there, :func:`iou_float32`; TAL also compares in float32):

7. RAR/ECA/RVQ ``Acc`` = right / all.
8. TVG/EPM (``tvg_eval``): IoU of the first window with the target; "F1@t" is the share of all samples with IoU >= t
   (a recall, labelled F1 there), ``F1`` its mean over thresholds, ``mIoU`` the mean IoU; unparseable = IoU 0.
9. TEM (``tem_eval``): as TVG, but against the best of several target windows, labelled ``R@t`` and ``mRec``.
10. TAL (``tal_eval``): per sample, at each t, F1 of the predicted window set (``window_set_f1``: a ground truth is
    found when some prediction reaches IoU >= t, a prediction is right when it reaches some ground truth), summed
    and divided by all samples; ``F1`` = mean over t.
11. EVS (``evs_eval``): per parsed sample, 1-second bins over the first 1000 s, a bin covered from
    ``round(start)`` to ``round(end)`` (Python's half-to-even rounding); F1 of covered bins; ``F1`` is the mean over
    *parsed* samples only (unparseable answers leave the denominator, unlike every other task).
12. VHD (``vhd_eval``): ``F1`` = share of all samples whose number lies in a target window (ends included).
13. DVC/SLC (``dvc_eval``): the ActivityNet dense-captioning protocol (``tempeval.scoring.dense``) at t = 0.1, 0.3,
    0.5, 0.7 over the *parsed* samples, keyed by video (a later sample of the same video replaces an earlier one),
    then precision and recall are multiplied by parsed videos / all samples; ``F1@t`` = harmonic mean of the scaled
    P and R, ``F1`` = mean of ``F1@t``. ``SentSim`` = mean over t of the mean over parsed videos of the mean cosine
    similarity of each matched (prediction, reference) caption pair (unmatched predictions against a random string),
    on PTB-tokenized captions, unscaled. Without a local sentence-embedding model SentSim is absent and
    :func:`dvc_scores` says so.
14. GVQ (``gvq_eval``): the choice (rule 5, GVQ variant); for samples answered right, IoU of the first window with the
    target; ``R@t`` = share of all samples right *and* at IoU >= t, ``mRec`` its mean, ``Acc`` = share right.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tempeval.benchmarks.grounding import (
    _HHMMSS,
    _KEYWORDS,
    _NUMBER,
    _PAIR,
    _SENTENCE_BREAK,
    _consecutive_pairs,
    _first_per_sentence,
    _hhmmss_seconds,
    is_number,
)
from tempeval.errors import TempevalError
from tempeval.scoring.dense import DenseSample, caption_scores, localisation, tokenized
from tempeval.scoring.events import Event
from tempeval.scoring.multi_window import Window, f1, window_set_f1
from tempeval.scoring.parsers import Parsed, unparseable

TASKS = {
    "rar": "referring",
    "eca": "referring",
    "rvq": "referring",
    "tvg": "grounding",
    "epm": "grounding",
    "tal": "grounding",
    "evs": "grounding",
    "vhd": "grounding",
    "dvc": "dense captioning",
    "slc": "dense captioning",
    "tem": "complex",
    "gvq": "complex",
}
"""The 12 tasks and their capability (BENCHMARK.md's taxonomy)."""
IOU_THRESHOLDS = (0.1, 0.3, 0.5, 0.7)
RECOMMENDED_COPY = "videos_compressed (compress_videos.py --fps 3 --size 224)"
"""The video copy the docs recommend; a run should record which copy it used."""
SENTSIM_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

Similarity = Callable[[str, str], float]
"""Sentence similarity of two texts (the official script: dot product of all-MiniLM-L6-v2 embeddings)."""
PairSimilarity = Callable[[Sequence[str], Sequence[str]], list[float]]
"""Similarity of aligned (reference, candidate) pairs, one per pair (SentSim)."""


def local_sentence_similarity(model: str = SENTSIM_MODEL) -> PairSimilarity | str:
    """SentSim's pair similarity from a sentence-embedding model already on this machine, or why there is none.

    The dot product of the two embeddings, as the script computes it (all-MiniLM-L6-v2 normalizes its embeddings,
    so this is their cosine). Nothing is downloaded: the model must be in the local Hugging Face cache.
    """
    try:
        import sentence_transformers
    except ImportError:
        return f"SentSim needs sentence-transformers and {model}: pip install sentence-transformers, cache the model"
    try:
        encoder = sentence_transformers.SentenceTransformer(model, local_files_only=True)
    except Exception as error:  # the library raises OSError, ValueError or hub errors for a model not cached
        return f"SentSim needs {model} in the local model cache, which lacks it ({type(error).__name__}: {error})"

    def similarity(references: Sequence[str], candidates: Sequence[str]) -> list[float]:
        left, right = encoder.encode(list(references)), encoder.encode(list(candidates))
        return [float(np.dot(a, b)) for a, b in zip(left, right, strict=True)]

    return similarity


@dataclass(frozen=True)
class EtbenchRecord:
    """One E.T. Bench sample (``etbench_txt_v1.0.json`` entry), with the model's answer when present."""

    idx: int
    task: str
    source: str
    video: str
    duration: float
    question: str
    """``q``: the prompt sent with the video."""
    target_windows: tuple[Window, ...] = ()
    """``tgt`` as a flat tuple of windows (rule 2)."""
    options: tuple[str, ...] = ()
    """``o``, each option as text (a window option as "s - e")."""
    correct: int | None = None
    """``p``: index of the right option."""
    captions: tuple[str, ...] = ()
    """``g``: the ground-truth captions of DVC / SLC, one per target window."""
    answer: str | None = None
    """``a``: the model's raw text answer."""

    @property
    def group(self) -> tuple[str, str]:
        """(task, source): the unit the official script scores and the tables average."""
        return self.task, self.source


def _windows(value: Any, where: str) -> tuple[Window, ...]:
    """``tgt`` in any of its shapes (rule 2) as a flat tuple of windows."""
    if isinstance(value, list) and len(value) == 2 and all(map(is_number, value)):
        return ((float(value[0]), float(value[1])),)
    if isinstance(value, list) and value:
        return tuple(window for item in value for window in _windows(item, where))
    raise TempevalError(
        f"{where}: 'tgt' must be [start, end], a list of them, or one list per annotator, got {value!r}. "
        "The annotation file is damaged; re-download etbench_txt_v1.0.json."
    )


def _option_text(option: Any) -> str:
    if isinstance(option, (list, tuple)) and len(option) == 2:
        return f"{option[0]} - {option[1]}"
    return str(option)


def parse_etbench_record(raw: Any, where: str = "E.T. Bench record") -> EtbenchRecord:
    """An ``etbench_txt_v1.0.json`` entry as an :class:`EtbenchRecord`; a bad entry is a TempevalError naming it.

    Args:
        raw: The JSON object.
        where: File and position for error messages ("etbench_txt_v1.0.json: record 12").
    """
    if not isinstance(raw, dict):
        raise TempevalError(f"{where}: expected a JSON object, got {type(raw).__name__}; re-download the file.")
    missing = [key for key in ("idx", "task", "source", "video", "duration", "q") if key not in raw]
    if missing:
        raise TempevalError(
            f"{where}: missing {', '.join(missing)}. An E.T. Bench record has idx, task, source, video, duration and q "
            "(docs/BENCHMARK.md); re-download etbench_txt_v1.0.json."
        )
    where = f"{where} (idx {raw['idx']})"
    if "<vid>" in str(raw["q"]):
        raise TempevalError(
            f"{where}: this is the <vid>-token annotation variant (etbench_vid_v1.0.json): its timestamps are "
            "hidden as <vid> tokens for models like E.T. Chat, so a text-answer model would ground blind. Use "
            "annotations/etbench_txt_v1.0.json (timestamps as text) instead."
        )
    task = str(raw["task"])
    if task not in TASKS:
        raise TempevalError(f"{where}: unknown task {task!r}; E.T. Bench has {', '.join(TASKS)}.")
    tgt = raw.get("tgt")
    captions = raw.get("g") or []
    record = EtbenchRecord(
        idx=int(raw["idx"]),
        task=task,
        source=str(raw["source"]),
        video=str(raw["video"]),
        duration=float(raw["duration"]),
        question=str(raw["q"]),
        target_windows=() if tgt is None else _windows(tgt, where),
        options=tuple(_option_text(o) for o in raw.get("o") or ()),
        correct=None if raw.get("p") is None else int(raw["p"]),
        captions=tuple(str(c) for c in captions),
        answer=None if raw.get("a") is None else str(raw["a"]),
    )
    if task not in ("rar", "eca", "rvq") and not record.target_windows:
        raise TempevalError(f"{where}: task {task} needs target windows 'tgt'; the record has none. Re-download it.")
    if task in ("dvc", "slc") and len(record.captions) != len(record.target_windows):
        raise TempevalError(
            f"{where}: {len(record.captions)} captions ('g') for {len(record.target_windows)} windows ('tgt'); they "
            "must pair one to one. Re-download the annotation file."
        )
    chooses = task in ("rar", "eca", "rvq", "gvq")
    if chooses and (record.correct is None or not 0 <= record.correct < len(record.options)):
        count = len(record.options)
        raise TempevalError(f"{where}: 'p' must index one of the {count} options 'o', got {raw.get('p')!r}.")
    return record


def in_subset(record: EtbenchRecord, subset: Mapping[str, Mapping[str, Sequence[int]]]) -> bool:
    """Whether the record is in ``evaluation/subset.json`` (task -> source -> idx list), the 470-sample subset."""
    return record.idx in subset.get(record.task, {}).get(record.source, ())


_TO_PAIR = re.compile(r"(\d+\.*\d*)\s* to \s*(\d+\.*\d*)")


def parse_windows(text: str) -> Parsed:
    """Every window in a free-text answer, E.T. Bench's way (rule 3); unparseable when there is none."""
    paragraph = text.lower()
    candidates = [s for s in _SENTENCE_BREAK.split(paragraph) if any(k in s for k in _KEYWORDS)]
    try:
        pairs = [(float(a), float(b)) for a, b in _PAIR.findall(paragraph)]
        if not pairs:
            pairs = [(float(a), float(b)) for a, b in _TO_PAIR.findall(paragraph)]
        if not pairs:
            pairs = _consecutive_pairs([float(n) for n in _first_per_sentence(candidates, _NUMBER)])
        if not pairs:
            pairs = _consecutive_pairs([_hhmmss_seconds(s) for s in _first_per_sentence(candidates, _HHMMSS)])
    except ValueError:
        return unparseable("a time the official regex accepts is not a number ('1..5')")
    if not pairs:
        return unparseable("no window found (E.T. Bench parser)")
    return Parsed(tuple((min(a, b), max(a, b)) for a, b in pairs), True)


_DENSE_START = re.compile(r"(?:start(?:ing)? time: (\d+\.*\d*)(?:s| seconds)?)")
_DENSE_END = re.compile(r"(?:end(?:ing)? time: (\d+\.*\d*)(?:s| seconds)?)")
_START_END_COMMA = re.compile(r"start time (\d+\.*\d*), end time (\d+\.*\d*)")
_CLOCK_MMSS = re.compile(r"\d+\.*\d*:\d+\.*\d*")
_ANY_NUMBER = re.compile(r"\d+\.*\d*(?!\.)")
RADIUS = 20.0


def _lone_time_window(t: float) -> tuple[float, float]:
    return (t - RADIUS, t + RADIUS) if t > RADIUS else (t, t + 2 * RADIUS)


def _mmss(token: str) -> float:
    minutes, seconds = token.split(":")
    return float(int(minutes) * 60 + int(seconds))


def _window_in(part: str) -> tuple[float, float] | None:
    """The window a line's time part gives in the last fallback of rule 4, or None.

    Raises:
        ValueError, IndexError: where the original raised too (one colon but no ``mm:ss``, two colons but not two
            ``mm:ss``, a fractional ``mm:ss``); the caller skips the line, as the original's ``except`` did.
    """
    pair = _PAIR.search(part)
    if pair:
        return float(pair.group(1)), float(pair.group(2))
    clocks = _CLOCK_MMSS.findall(part)
    if part.count(":") == 1:
        return _lone_time_window(_mmss(clocks[0]))
    if part.count(":") == 2:
        first, second = clocks
        return _mmss(first), _mmss(second)
    numbers = _ANY_NUMBER.findall(part)
    if len(numbers) == 1:
        return _lone_time_window(float(numbers[0]))
    if len(numbers) == 2:
        return float(numbers[0]), float(numbers[1])
    return None


def _first_timed_line(text: str) -> list[tuple[tuple[float, float], str]]:
    if "\n" in text:
        pieces = [c for c in text.split("\n") if len(c) > 7]
    else:
        pieces = [c + "." for c in text.split(".") if len(c) > 7]
    for piece in pieces:
        parts = [p.strip(",") for p in piece.split("seconds")]
        try:
            window = _window_in(parts[0])
        except (ValueError, IndexError):
            continue
        if window is not None:
            return [((round(window[0], 2), round(window[1], 2)), parts[-1].strip())]
    return []


def _timed_paragraph(paragraph: str) -> list[tuple[tuple[float, float], str]] | None:
    """The first three ways of rule 4; None for the "start time a, end time b" dead end."""
    pairs = _PAIR.findall(paragraph)
    windows: list[tuple[float, float]] = []
    texts: list[str] = []
    if pairs:
        windows = [(float(a), float(b)) for a, b in pairs]
        rest = paragraph
        for found in re.findall(r"(\d+\.*\d*\s*-\s*\d+\.*\d*)", paragraph):
            rest = rest.replace(found, "\n")
        texts = rest.replace("seconds", "").split("\n")
    else:
        starts, ends = _DENSE_START.findall(paragraph), _DENSE_END.findall(paragraph)
        if starts and ends:
            windows = [(float(a), float(b)) for a, b in zip(starts, ends, strict=False)]
            texts = re.findall(r"description: (.*)", paragraph) or re.findall(r"\*\s*(.*)", paragraph)
        elif _START_END_COMMA.search(paragraph):
            return None
    kept = [t.strip().strip(", ").rstrip() for t in texts if len(t) > 5]
    size = min(len(windows), len(kept))
    return list(zip(windows[:size], kept[:size], strict=True))


def parse_dense(text: str) -> Parsed:
    """Timed captions from a DVC / SLC answer, E.T. Bench's way (rule 4), as a tuple of Event."""
    try:
        found = _timed_paragraph(text.lower())
    except ValueError:
        return unparseable("a time the official regex accepts is not a number ('1..5')")
    if found is None:
        return unparseable("'start time a, end time b' answers are unparseable in the official script")
    if not found:
        found = _first_timed_line(text)
    if not found:
        return unparseable("no timed caption found (E.T. Bench parser)")
    return Parsed(tuple(Event(min(w), max(w), caption) for w, caption in found), True)


@dataclass(frozen=True)
class ChoiceRead:
    """How an answer was read as an option (rule 5)."""

    index: int | None
    """The chosen option, or None when no rule chose one."""
    failed: bool
    """Counted in the script's ``Failed`` column."""
    needs_similarity: bool = False
    """Only the sentence-embedding step could decide, and no similarity model was given."""


_BRACKETED = re.compile(r"\(([A-Za-z])\)")


def _nearest_option(text: str, options: Sequence[str], similarity: Similarity) -> int:
    labelled = [f"({chr(65 + i)}) {o}" for i, o in enumerate(options)]
    scores = [similarity(text, option) for option in labelled]
    return scores.index(max(scores))


def read_choice(answer: str, options: Sequence[str], similarity: Similarity | None = None) -> ChoiceRead:
    """The option a RAR / ECA / RVQ answer chooses (rule 5).

    As in the script, an answer that reached a letter step (a "(X)", or a leading letter followed by punctuation)
    is not counted as failed even when that letter is no option and the embedding step decides.
    """
    letter_seen = False
    bracketed = _BRACKETED.search(answer)
    if bracketed:
        letter_seen = True
        index = ord(bracketed.group(1).lower()) - ord("a")
        if 0 <= index < len(options):
            return ChoiceRead(index, False)
    text = answer.lower()
    if text.startswith("best option:"):
        text = text[12:]
    text = text.lstrip().lstrip("(").lstrip()
    if not text:
        return ChoiceRead(None, True)
    if len(text) == 1 or text[1] in ".,) ":
        letter_seen = True
        index = ord(text[0]) - ord("a")
        if 0 <= index < len(options):
            return ChoiceRead(index, False)
    if similarity is None:
        return ChoiceRead(None, not letter_seen, needs_similarity=True)
    return ChoiceRead(_nearest_option(text, options, similarity), not letter_seen)


def read_gvq_choice(answer: str, options: Sequence[str], similarity: Similarity | None = None) -> ChoiceRead:
    """The option a GVQ answer chooses (rule 5, GVQ variant: no "(X)" step, the embedding step is not failed)."""
    text = answer[12:] if answer.lower().startswith("best option:") else answer
    text = text.lstrip().lstrip("(").lstrip()
    if not text:
        return ChoiceRead(None, True)
    if len(text) == 1 or text[1] in ".,) ":
        index = ord(text[0].lower()) - ord("a")
        if 0 <= index < len(options):
            return ChoiceRead(index, False)
    if similarity is None:
        return ChoiceRead(None, False, needs_similarity=True)
    return ChoiceRead(_nearest_option(text, options, similarity), False)


def _answer(record: EtbenchRecord) -> str:
    if record.answer is None:
        raise TempevalError(
            f"E.T. Bench idx {record.idx} ({record.task}/{record.source}) has no answer 'a'; every record needs the "
            "model's response before scoring (docs/BENCHMARK.md)."
        )
    return record.answer


def _counts(records: Sequence[EtbenchRecord], failed: int) -> dict[str, float]:
    if not records:
        raise ValueError("An E.T. Bench metric needs at least one record.")
    return {"Total": float(len(records)), "Failed": float(failed)}


def referring_accuracy(records: Sequence[EtbenchRecord], similarity: Similarity | None = None) -> dict[str, float]:
    """RAR / ECA / RVQ: ``Acc`` (rule 7), with ``NeedSimilarity`` answers counted wrong when no model is given."""
    reads = [read_choice(_answer(r), r.options, similarity) for r in records]
    out = _counts(records, sum(read.failed for read in reads))
    out["Acc"] = sum(read.index == r.correct for read, r in zip(reads, records, strict=True)) / len(records)
    out["NeedSimilarity"] = float(sum(read.needs_similarity for read in reads))
    return out


def iou_float32(a: Window, b: Window) -> float:
    """IoU as the script computes it: in float32 (``torch.Tensor``), ``inter / (len_a + len_b - inter)``.

    The float32 rounding of the times decides ties at a threshold ("7.9 - 11.4" against "0 - 35" is just under 0.1
    there, exactly 0.1 in float64). A zero-length window against an equal one is NaN there and 0 here.
    """
    s1, e1, s2, e2 = (np.float32(v) for v in (a[0], a[1], b[0], b[1]))
    inter = max(np.float32(0.0), min(e1, e2) - max(s1, s2))
    union = (e1 - s1) + (e2 - s2) - inter
    return float(inter / union) if union > 0 else 0.0


def _first_window_ious(records: Sequence[EtbenchRecord]) -> tuple[list[float], int]:
    """Each record's IoU of its first parsed window with its best target window (0 when unparseable)."""
    ious, failed = [], 0
    for record in records:
        parsed = parse_windows(_answer(record))
        if not parsed.ok:
            failed += 1
            ious.append(0.0)
            continue
        ious.append(max(iou_float32(parsed.answer[0], g) for g in record.target_windows))
    return ious, failed


def _recall_table(ious: Sequence[float], total: int, label: str, mean_label: str) -> dict[str, float]:
    recalls = [sum(iou >= t for iou in ious) / total for t in IOU_THRESHOLDS]
    out = {f"{label}@{t}": r for t, r in zip(IOU_THRESHOLDS, recalls, strict=True)}
    out[mean_label] = sum(recalls) / len(recalls)
    out["mIoU"] = sum(ious) / total
    return out


def grounding_recall(records: Sequence[EtbenchRecord]) -> dict[str, float]:
    """TVG / EPM (rule 8): "F1@t" (a recall), ``F1`` and ``mIoU``."""
    ious, failed = _first_window_ious(records)
    return {**_counts(records, failed), **_recall_table(ious, len(records), "F1", "F1")}


def tem_recall(records: Sequence[EtbenchRecord]) -> dict[str, float]:
    """TEM (rule 9): ``R@t``, ``mRec`` and ``mIoU`` against the best target window."""
    ious, failed = _first_window_ious(records)
    return {**_counts(records, failed), **_recall_table(ious, len(records), "R", "mRec")}


def tal_f1(records: Sequence[EtbenchRecord]) -> dict[str, float]:
    """TAL (rule 10): ``F1@t`` summed over samples / all samples, and their mean ``F1``."""
    sums, failed = [0.0] * len(IOU_THRESHOLDS), 0
    for record in records:
        parsed = parse_windows(_answer(record))
        if not parsed.ok:
            failed += 1
            continue
        for i, t in enumerate(IOU_THRESHOLDS):
            # The script compares a float32 tensor with t, so t is rounded to float32 too.
            sums[i] += window_set_f1(parsed.answer, record.target_windows, float(np.float32(t)), iou_float32)
    scores = [s / len(records) for s in sums]
    out = _counts(records, failed)
    out.update({f"F1@{t}": s for t, s in zip(IOU_THRESHOLDS, scores, strict=True)})
    out["F1"] = sum(scores) / len(scores)
    return out


EVS_BINS = 1000


def _covered_bins(windows: Sequence[Window]) -> set[int]:
    return {b for s, e in windows for b in range(max(0, round(s)), min(EVS_BINS, round(e)))}


def evs_f1(records: Sequence[EtbenchRecord]) -> dict[str, float]:
    """EVS (rule 11): mean over parsed samples of the F1 of covered 1-second bins."""
    scores, failed = [], 0
    for record in records:
        parsed = parse_windows(_answer(record))
        if not parsed.ok:
            failed += 1
            continue
        truth, predicted = _covered_bins(record.target_windows), _covered_bins(parsed.answer)
        hits = len(truth & predicted)
        scores.append(f1(hits / len(predicted), hits / len(truth)) if hits else 0.0)
    out = _counts(records, failed)
    out["F1"] = sum(scores) / len(scores) if scores else 0.0
    return out


_SIGNED_NUMBER = re.compile(r"[-+]?\d*\.\d+|[-+]?\d+")


def vhd_moment(answer: str) -> float | None:
    """VHD's reading of an answer (rule 6): the first signed number, or None."""
    found = _SIGNED_NUMBER.search(answer)
    return None if found is None else float(found.group(0))


def dense_target(record: EtbenchRecord) -> tuple[Event, ...]:
    """A DVC / SLC record's ground truth as events (``tgt`` windows paired with ``g`` captions)."""
    return tuple(Event(s, e, c) for (s, e), c in zip(record.target_windows, record.captions, strict=True))


def vhd_hit(records: Sequence[EtbenchRecord]) -> dict[str, float]:
    """VHD (rule 12): ``F1`` = share of samples whose first number lies in a target window."""
    hits, failed = 0, 0
    for record in records:
        moment = vhd_moment(_answer(record))
        if moment is None:
            failed += 1
            continue
        hits += any(s <= moment <= e for s, e in record.target_windows)
    out = _counts(records, failed)
    out["F1"] = hits / len(records)
    return out


def dvc_scores(records: Sequence[EtbenchRecord], sentence_similarity: PairSimilarity | None = None) -> dict[str, Any]:
    """DVC / SLC (rule 13): ``F1@t``, ``F1`` and, with a sentence-similarity model, ``SentSim``.

    Without one, the result has ``"missing": {"SentSim": reason}`` instead of a SentSim figure.
    """
    by_video: dict[str, DenseSample] = {}
    failed = 0
    for record in records:
        parsed = parse_dense(_answer(record))
        if not parsed.ok:
            failed += 1
            continue
        by_video[record.video] = DenseSample(str(record.idx), record.video, parsed.answer, dense_target(record))
    videos = list(by_video.values())
    scale = len(videos) / len(records)
    out: dict[str, Any] = _counts(records, failed)
    per_threshold = []
    for t in IOU_THRESHOLDS:
        values = [localisation(v.predicted, v.target, t) for v in videos]
        precision = scale * sum(p for p, _ in values) / len(values) if values else 0.0
        recall = scale * sum(r for _, r in values) / len(values) if values else 0.0
        out[f"F1@{t}"] = f1(precision, recall)
        per_threshold.append(out[f"F1@{t}"])
    out["F1"] = sum(per_threshold) / len(per_threshold)
    if sentence_similarity is None:
        out["missing"] = {
            "SentSim": f"needs a local sentence-embedding model ({SENTSIM_MODEL} in the official script); "
            "pass sentence_similarity= to report it"
        }
        return out

    def mean_similarity(references: Sequence[str], candidates: Sequence[str]) -> tuple[float, list[float]]:
        scores = sentence_similarity(references, candidates)
        return sum(scores) / len(scores), scores

    sims = caption_scores(tokenized(videos), mean_similarity, IOU_THRESHOLDS)  # on tokenized captions, as there
    out["SentSim"] = sum(sims) / len(sims) if sims else 0.0
    return out


def gvq_scores(records: Sequence[EtbenchRecord], similarity: Similarity | None = None) -> dict[str, float]:
    """GVQ (rule 14): ``Acc``, and ``R@t`` / ``mRec`` / ``mIoU`` over samples answered right."""
    reads = [read_gvq_choice(_answer(r), r.options, similarity) for r in records]
    right = [r for read, r in zip(reads, records, strict=True) if read.index == r.correct]
    ious, failed = _first_window_ious(right)
    out = _counts(records, failed + sum(read.failed for read in reads))
    out.update(_recall_table(ious, len(records), "R", "mRec"))
    out["Acc"] = len(right) / len(records)
    out["NeedSimilarity"] = float(sum(read.needs_similarity for read in reads))
    return out


TASK_METRICS: dict[str, Callable[[Sequence[EtbenchRecord]], Mapping[str, Any]]] = {
    "rar": referring_accuracy,
    "eca": referring_accuracy,
    "rvq": referring_accuracy,
    "tvg": grounding_recall,
    "epm": grounding_recall,
    "tal": tal_f1,
    "evs": evs_f1,
    "vhd": vhd_hit,
    "dvc": dvc_scores,
    "slc": dvc_scores,
    "tem": tem_recall,
    "gvq": gvq_scores,
}
"""Each task's metric function (the similarity models, where a task uses one, are keyword arguments)."""

HEADLINE = {"referring": "Acc", "grounding": "F1", "dense captioning": "F1", "complex": "mRec"}
"""The figure the script's summary gives per task: the mean over the task's sources of this metric (and, for dense
captioning, of ``SentSim`` too)."""


@dataclass(frozen=True)
class SimilarityModels:
    """The optional sentence-embedding scorers; a task that needs a missing one reports it (rules 5 and 13)."""

    choice: Similarity | None = None
    """For the nearest-option step of RAR / ECA / RVQ / GVQ."""
    captions: PairSimilarity | None = None
    """For DVC / SLC SentSim."""


def score_group(records: Sequence[EtbenchRecord], models: SimilarityModels = SimilarityModels()) -> Mapping[str, Any]:
    """The metrics of one (task, source) group, as the script scores it."""
    tasks = {r.task for r in records}
    if len(tasks) != 1 or len({r.source for r in records}) != 1:
        raise ValueError(f"score_group needs records of one task and one source, got tasks {sorted(tasks)}.")
    task = tasks.pop()
    if task in ("rar", "eca", "rvq"):
        return referring_accuracy(records, models.choice)
    if task == "gvq":
        return gvq_scores(records, models.choice)
    if task in ("dvc", "slc"):
        return dvc_scores(records, models.captions)
    return TASK_METRICS[task](records)


def score_all(
    records: Sequence[EtbenchRecord], models: SimilarityModels = SimilarityModels()
) -> dict[tuple[str, str], Mapping[str, Any]]:
    """Every (task, source) group's metrics, groups in sorted order."""
    groups: dict[tuple[str, str], list[EtbenchRecord]] = {}
    for record in records:
        groups.setdefault(record.group, []).append(record)
    return {group: score_group(members, models) for group, members in sorted(groups.items())}


def task_means(scores: Mapping[tuple[str, str], Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Per task, the mean over its sources of the headline metric (and of SentSim where every source has it)."""
    by_task: dict[str, list[Mapping[str, Any]]] = {}
    for (task, _), metrics in scores.items():
        by_task.setdefault(task, []).append(metrics)
    out: dict[str, dict[str, float]] = {}
    for task, sources in by_task.items():
        names = [HEADLINE[TASKS[task]]]
        if TASKS[task] == "dense captioning" and all("SentSim" in m for m in sources):
            names.append("SentSim")
        out[task] = {name: sum(float(m[name]) for m in sources) / len(sources) for name in names}
    return out
