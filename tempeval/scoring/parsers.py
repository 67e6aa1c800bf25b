"""One tested parser per answer format. Each returns an explicit unparseable outcome instead of guessing.

Strict rules (the default mode):
- ``letter``: the answer is one option letter. Accepted, in this order: a bare letter ("B", "B.", "(B)"); a capital
  letter leading the answer and closed by punctuation ("B) left", "B. left", "B: left"); "answer B" / "option B" /
  "choice B" (with "is", ":" or "is:" between: "the final answer is: B"), or one bracketed letter "(B)", when
  exactly one valid letter is named so;
  the whole answer equal to one option's text (case-insensitive, a final full stop ignored); else exactly one
  option's text mentioned as whole words ("It moves down." -> "down"), only when the answer holds no negation (no,
  not, n't, never, neither, nor, none, without, instead, rather than) outside that option's own words: "There is no
  dimming, complete switching off" is unparseable, not "switching off"; "It is not moving." is option "Not moving".
  More than one distinct letter or option, or none, is unparseable. No fallback to "A" and no random pick.
- ``yes_no`` / ``true_false``: the first word decides; otherwise exactly one of the two words must occur.
- ``window``: the first explicit range, in seconds (``mm:ss`` accepted, an optional "s"/"seconds" after each time):
  "a - b" (or an en/em dash), "a to b", "from a to b", "between a and b"; else "start(s/ing) (at/:/is) a" with
  "end(s/ing) (at/:/is) b"; only then the first two times anywhere. So a prompt echo before the answer ("The video
  is 30 seconds long ... 32.0 - 35.0") and ordinals ("In the 2nd half: 20 - 25") do not supply the start.
  Start > end is unparseable (never silently swapped).
- ``number``: the first integer, or a number word up to twenty. (``parse_quantity``, for scorers of measured
  quantities such as counts scored by relative accuracy: the first number, decimals kept, or a number word.)
- ``letter_window`` (grounded QA: the option and its evidence window, "B, 12.0 - 18.5"): the window is the first
  explicit range as for ``window`` (no fallback to any two numbers), the letter is read from the rest of the
  answer as for ``letter`` (or a letter leading it, closed by a comma: "B, ..."); a JSON-like object with an
  ``"answer"`` letter and a ``"relevant_span"`` (or ``"span"``/``"window"``) ``[start, end]`` is read too
  (ReXTime's GPT prompt asks for one). Both parts are needed: either missing is unparseable.
- ``letters`` (several right options at once): after an optional label ("Correct Answers:", "The answers are"),
  the answer must be a list of option letters (separated by commas, semicolons, "and" or spaces; "(A)" and "A."
  accepted; any case); anything else in it, a letter beyond the options, or no letter is unparseable.
- ``events`` (dense captioning): a list of timed events with captions, one per line or as JSON; the formats and the
  partial-parse policy are in :mod:`tempeval.scoring.events`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tempeval.types import Sample

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_NUMBER_NAMES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty"
)
NUMBER_WORDS = {word: value for value, word in enumerate(_NUMBER_NAMES.split())}


@dataclass(frozen=True)
class Parsed:
    """A parser's outcome: the answer, or ``ok=False`` with the reason."""

    answer: Any
    ok: bool
    reason: str = ""


def unparseable(reason: str) -> Parsed:
    """The explicit failure outcome."""
    return Parsed(None, False, reason)


_NEGATION = re.compile(r"\b(?:no|not|never|neither|nor|none|without|instead|rather than)\b|n't\b")


def parse_letter(text: str, choices: tuple[str, ...]) -> Parsed:
    """Parse a multiple-choice answer into an option letter (rules in the module docstring)."""
    valid = LETTERS[: len(choices)] if choices else LETTERS
    cleaned = text.strip()
    if not cleaned:
        return unparseable("empty output")
    bare = cleaned.strip("()[].:*' \"")
    if len(bare) == 1 and bare.upper() in valid:
        return Parsed(bare.upper(), True)
    bracketed = set(re.findall(r"\(([A-Z])\)", cleaned)) & set(valid)
    if len(bracketed) > 1:
        return unparseable(f"several option letters found: {', '.join(sorted(bracketed))}")
    # A capital letter leading the answer and closed by punctuation: "B. left", "(B) left", "B: left".
    lead = re.match(r"^\W*([A-Z])\s*[).:\]]", cleaned)
    if lead and lead.group(1) in valid:
        return Parsed(lead.group(1), True)
    for pattern in (r"(?:answer|option|choice)\s*(?:is\s*:?|:)?\s*\(?([A-Z])\b", r"\(([A-Z])\)"):
        letters = {m.upper() for m in re.findall(pattern, cleaned, flags=re.IGNORECASE)} & set(valid)
        if len(letters) == 1:
            return Parsed(letters.pop(), True)
        if len(letters) > 1:
            return unparseable(f"several option letters found: {', '.join(sorted(letters))}")
    lowered = cleaned.lower().rstrip(".")
    exact = [LETTERS[i] for i, choice in enumerate(choices) if choice.lower() == lowered]
    if len(exact) == 1:
        return Parsed(exact[0], True)
    mentioned = [
        LETTERS[i] for i, choice in enumerate(choices) if re.search(rf"\b{re.escape(choice.lower())}\b", lowered)
    ]
    # A negation outside the option's own words ("not moving" as an option is fine) voids the mention.
    if len(mentioned) == 1 and _NEGATION.search(lowered.replace(choices[LETTERS.index(mentioned[0])].lower(), " ")):
        return unparseable("the answer mentions one option but holds a negation; not read as choosing it")
    if len(mentioned) == 1:
        return Parsed(mentioned[0], True)
    return unparseable("no single option letter found")


def _parse_binary(text: str, positive: str, negative: str) -> Parsed:
    words = re.findall(r"[a-z]+", text.lower())
    if not words:
        return unparseable("empty output")
    if words[0] in (positive, negative):
        return Parsed(words[0] == positive, True)
    found = {word for word in words if word in (positive, negative)}
    if len(found) == 1:
        return Parsed(found.pop() == positive, True)
    return unparseable(f"neither or both of '{positive}' and '{negative}' found")


def parse_yes_no(text: str) -> Parsed:
    """Parse yes / no into a bool."""
    return _parse_binary(text, "yes", "no")


def parse_true_false(text: str) -> Parsed:
    """Parse TRUE / FALSE into a bool."""
    return _parse_binary(text, "true", "false")


_TIME = r"(\d+(?::\d{1,2}){1,2}(?:\.\d+)?|\d+(?:\.\d+)?)"


def _seconds(token: str) -> float:
    """'75.5', '1:15.5' or '0:01:15.5' in seconds."""
    total = 0.0
    for part in token.split(":"):
        total = total * 60 + float(part)
    return total


_BOUNDED_TIME = rf"(?<![\w.:]){_TIME}(?![\d:]|\.\d|[^\W\ds])"  # "2nd" is no time; "3s" is
_UNIT = r"(?:\s*(?:s|secs?|seconds?)\b)?"
_RANGE = re.compile(
    rf"(?:from\s+)?{_BOUNDED_TIME}{_UNIT}\s*(?:-|–|—|to)\s*{_BOUNDED_TIME}"
    rf"|between\s+{_BOUNDED_TIME}{_UNIT}\s+and\s+{_BOUNDED_TIME}",
    re.IGNORECASE,
)
_START_AT = re.compile(rf"\bstart(?:s|ing|ed)?(?:\s+time)?\s*(?:at|:|is|from)?\s*{_BOUNDED_TIME}", re.IGNORECASE)
_END_AT = re.compile(rf"\bend(?:s|ing|ed)?(?:\s+time)?\s*(?:at|:|is)?\s*{_BOUNDED_TIME}", re.IGNORECASE)


def _explicit_window(text: str) -> tuple[str, str] | None:
    """The times of the first explicit range, else of a start ... end pair; None without either."""
    found = _window_match(text)
    return found[0] if found else None


def _window_match(text: str) -> tuple[tuple[str, str], str] | None:
    """(times, the text with them cut out) of the first explicit range, else of a start ... end pair."""
    found = _RANGE.search(text)
    if found:
        start, end = (group for group in found.groups() if group is not None)
        return (start, end), text[: found.start()] + " " + text[found.end() :]
    start_at = _START_AT.search(text)
    end_at = _END_AT.search(text, start_at.end()) if start_at else None
    if not (start_at and end_at):
        return None
    rest = text[: start_at.start()] + " " + text[start_at.end() : end_at.start()] + " " + text[end_at.end() :]
    return (start_at.group(1), end_at.group(1)), rest


def parse_window(text: str) -> Parsed:
    """Parse a time window into a (start, end) tuple of seconds: an explicit range first (module docstring)."""
    explicit = _explicit_window(text)
    numbers = list(explicit) if explicit else re.findall(_TIME, text)
    if len(numbers) < 2:
        return unparseable("fewer than two times found")
    start, end = _seconds(numbers[0]), _seconds(numbers[1])
    if start > end:
        return unparseable(f"window start {start} is after its end {end}")
    return Parsed((start, end), True)


def parse_number(text: str) -> Parsed:
    """Parse a count into an int."""
    digits = re.search(r"-?\d+", text)
    words = [NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in NUMBER_WORDS]
    if digits:
        return Parsed(int(digits.group()), True)
    if words:
        return Parsed(words[0], True)
    return unparseable("no number found")


_QUANTITY = re.compile(r"-?\d+(?:\.\d+)?")


def parse_quantity(text: str) -> Parsed:
    """Parse a measured quantity into a float: the first number (decimals kept), else a number word."""
    found = _QUANTITY.search(text)
    if found:
        return Parsed(float(found.group()), True)
    words = [NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in NUMBER_WORDS]
    if words:
        return Parsed(float(words[0]), True)
    return unparseable("no number found")


_JSON_LETTER = re.compile(r"[\"']answer[\"']\s*:\s*[\"']?\(?([A-Za-z])\)?(?![A-Za-z])")
_JSON_SPAN = re.compile(
    rf"[\"'](?:relevant_span|span|window)[\"']\s*:\s*\[\s*{_TIME}\s*,\s*{_TIME}\s*\]", re.IGNORECASE
)
_LEADING_LETTER = re.compile(r"^\W*([A-Z])\s*[,;).:\]]")
_TWO_LEADING_LETTERS = re.compile(r"^\W*[A-Z]\s*[,;]\s*(?:and\s+|or\s+)?\(?[A-Z]\)?\s*(?:[,;)]|$)")


def parse_letter_window(text: str, choices: tuple[str, ...]) -> Parsed:
    """Parse a grounded answer into ``(letter, (start, end))``: the option and its evidence window."""
    cleaned = text.strip()
    if not cleaned:
        return unparseable("empty output")
    json_letter, json_span = _JSON_LETTER.search(cleaned), _JSON_SPAN.search(cleaned)
    if json_letter and json_span:
        letter, window_text = json_letter.group(1).upper(), f"{json_span.group(1)} - {json_span.group(2)}"
        if letter not in (LETTERS[: len(choices)] if choices else LETTERS):
            return unparseable(f"answer letter {letter} is not one of the options")
    else:
        found = _window_match(cleaned)
        if found is None:
            return unparseable("no evidence window ('start - end') found")
        (start_text, end_text), rest = found
        window_text = f"{start_text} - {end_text}"
        rest = rest.strip(" \t\n,;:-–—")
        lead = _LEADING_LETTER.match(rest)
        valid = LETTERS[: len(choices)] if choices else LETTERS
        if _TWO_LEADING_LETTERS.match(rest):
            return unparseable("several option letters lead the answer")
        if lead and lead.group(1) in valid:
            letter = lead.group(1)
        else:
            option = parse_letter(rest, choices)
            if not option.ok:
                return unparseable(f"window found but no option letter: {option.reason}")
            letter = option.answer
    window = parse_window(window_text)
    if not window.ok:
        return window
    return Parsed((letter, window.answer), True)


_LETTERS_LABEL = re.compile(
    r"^(?:the\s+)?(?:correct\s+|right\s+|final\s+)?(?:answers?|options?|choices?)\s*(?:are|is)?\s*[:：]?\s*",
    re.IGNORECASE,
)
_LETTERS_SEPARATOR = re.compile(r"\s*(?:[,;/&]|\band\b)\s*|\s+", re.IGNORECASE)


def parse_letters(text: str, choices: tuple[str, ...]) -> Parsed:
    """Parse a list of option letters ("Correct Answers: A, B, E") into a sorted tuple of distinct letters."""
    valid = LETTERS[: len(choices)] if choices else LETTERS
    body = _LETTERS_LABEL.sub("", text.strip().strip("`*")).strip().rstrip(".")
    tokens = [token.strip("()[].*") for token in _LETTERS_SEPARATOR.split(body) if token.strip("()[].*")]
    if not tokens:
        return unparseable("no option letters found")
    if not all(len(token) == 1 and token.upper() in valid for token in tokens):
        return unparseable("not a list of option letters")
    return Parsed(tuple(sorted({token.upper() for token in tokens})), True)


def parse(answer_format: str, text: str, choices: tuple[str, ...] = ()) -> Parsed:
    """Parse ``text`` as an answer of ``answer_format``."""
    if answer_format == "letter":
        return parse_letter(text, choices)
    if answer_format == "yes_no":
        return parse_yes_no(text)
    if answer_format == "true_false":
        return parse_true_false(text)
    if answer_format == "window":
        return parse_window(text)
    if answer_format == "number":
        return parse_number(text)
    if answer_format == "letter_window":
        return parse_letter_window(text, choices)
    if answer_format == "letters":
        return parse_letters(text, choices)
    if answer_format == "text":
        return Parsed(text.strip(), bool(text.strip()), "" if text.strip() else "empty output")
    if answer_format == "events":
        from tempeval.scoring.events import parse_events  # (events.py imports Parsed from here)

        return parse_events(text)
    raise ValueError(f"Unknown answer format {answer_format!r}.")


def gold_text(sample: Sample, answer_format: str) -> str:
    """The text a perfect model would answer: the inverse of :func:`parse` on the sample's target."""
    target = sample.target
    if answer_format == "letter":
        return str(target)
    if answer_format == "yes_no":  # capitalised, as prompts ask ('Answer only with "Yes" or "No"'; OVO-Bench's
        return "Yes" if target else "No"  # official scorer reads a lower-case "yes" as nothing)
    if answer_format == "true_false":
        return "TRUE" if target else "FALSE"
    if answer_format == "window":
        start, end = target[0] if isinstance(target[0], (list, tuple)) else target
        return f"{float(start):.2f} - {float(end):.2f}"
    if answer_format == "letter_window":  # target: (letter, window or windows); the first window
        letter, windows = target
        start, end = windows[0] if isinstance(windows[0], (list, tuple)) else windows
        return f"{letter}, {float(start):.2f} - {float(end):.2f}"
    if answer_format == "letters":
        return ", ".join(target)
    if answer_format == "events":
        from tempeval.scoring.events import events_of, format_events

        return format_events(events_of(target))
    return str(target)
