"""LLM judges: any model adapter asked text-only questions about a model's output, replies cached and logged.

A benchmark whose official protocol asks an LLM to decide some outputs (TempCompass: rule failures and all
captions) gets the judge through ``Reference.judge``. Every reply is logged in the run record that needed it
(``judge_calls: [{"model", "prompt", "output"}]``), and re-scoring replays the logged replies before asking a live
judge, so ``tempeval score`` stays model-free once a run has been judged.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from tempeval.adapter import Adapter, build_options, load_adapter_class, split_model
from tempeval.errors import TempevalError, redact
from tempeval.prompt import prompt_sha
from tempeval.types import GenerationConfig, Request

JUDGE_GENERATION = GenerationConfig(max_tokens=128, temperature=0.0)
"""Judges answer deterministically unless asked otherwise (``--judge-arg temperature=1.0``)."""

GENERATION_KEYS = frozenset(field.name for field in dataclasses.fields(GenerationConfig))
"""``--judge-arg`` keys that set the judge's decoding (the rest are the judge adapter's own arguments)."""

NEEDS_JUDGE = "pass --judge MODEL (e.g. --judge openai/gpt-4o-mini) to 'tempeval run' or 'tempeval score'"


class JudgeError(TempevalError):
    """No judge reply could be had: none was configured (``JudgeUnavailable``) or the judge model failed."""


class JudgeUnavailable(JudgeError):
    """A scorer needs a judge reply that is neither logged in the record nor obtainable (no ``--judge``)."""


class ModelJudge:
    """A judge backed by a model adapter: text-only requests, replies cached by prompt hash.

    The adapter is created on the first call, so a run whose outputs never need the judge never loads it.
    """

    def __init__(self, model: str, args: Mapping[str, Any] | None = None) -> None:
        """Validate the judge model and its arguments now; create the adapter only when first asked.

        Args:
            model: A model string as for ``--model`` (``ADAPTER`` or ``ADAPTER/MODEL``).
            args: Adapter arguments; keys named like ``GenerationConfig`` fields set the judge's decoding.
        """
        args = dict(args or {})
        self.model = model
        self.generation = dataclasses.replace(
            JUDGE_GENERATION, **{key: args.pop(key) for key in list(args) if key in GENERATION_KEYS}
        )
        adapter_name, self._model_name = split_model(model)
        self._adapter_class = load_adapter_class(adapter_name)
        self._options = build_options(self._adapter_class, args)
        self._adapter: Adapter | None = None
        self._cache: dict[str, str] = {}
        self.calls = 0
        """How many requests reached the judge model (cache hits and logged replies do not count)."""

    def __call__(self, prompt: str) -> str:
        """The judge's reply to ``prompt``; raises :class:`JudgeError` when the judge model fails."""
        key = prompt_sha(prompt)
        if key not in self._cache:
            self._cache[key] = self._ask(key, prompt)
        return self._cache[key]

    def _ask(self, key: str, prompt: str) -> str:
        if self._adapter is None:
            self._adapter = self._adapter_class(self._model_name, self._options)
        request = Request(
            sample_id=f"judge-{key}", prompt=prompt, frames=None, answer_format="text", generation=self.generation
        )
        self.calls += 1
        try:
            predictions = self._adapter.generate([request])
        except Exception as exc:  # the judge's failure is recorded on the record it was asked for, never a verdict
            raise JudgeError(self._redact(f"judge '{self.model}' failed: {type(exc).__name__}: {exc}")) from exc
        # An empty judge reply stays a reply: official protocols score it (TempCompass: -1), unlike a model's.
        reply = next((p for p in predictions if p.sample_id == request.sample_id), None)
        if reply is None or reply.error is not None or reply.text is None:
            reason = "no reply" if reply is None else reply.error or "no output"
            raise JudgeError(self._redact(f"judge '{self.model}' failed: {reason}"))
        return self._redact(reply.text)

    def _redact(self, text: str) -> str:
        """``text`` without the judge's API key (its adapter's ``api_key_env``), which is logged in run records."""
        key_env = getattr(self._options, "api_key_env", None)
        return redact(text, os.environ.get(key_env, "") if key_env else "") or text

    def describe(self) -> dict[str, Any]:
        """The judge's settings for run headers (JSON-safe: a scripted policy is shown by its repr)."""
        options = self._options
        is_instance = dataclasses.is_dataclass(options) and not isinstance(options, type)
        adapter_args = dataclasses.asdict(options) if is_instance else {}
        transport = self._adapter_class.transport_args
        return {
            "generation": self.generation.to_dict(),
            "args": {k: _json_safe(v) for k, v in adapter_args.items() if k not in transport},
            "transport": {k: _json_safe(v) for k, v in adapter_args.items() if k in transport},
        }

    def close(self) -> None:
        """Release the judge adapter's resources."""
        if self._adapter is not None:
            self._adapter.close()


def _json_safe(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


class RecordJudge:
    """The judge a scorer sees for one run record: the record's logged replies first, then the live judge.

    ``log`` is the record's judge log afterwards: the calls it had plus the new ones.
    """

    def __init__(self, logged: Sequence[Mapping[str, Any]], live: ModelJudge | None) -> None:
        """``logged``: the record's ``judge_calls``; ``live``: the ``--judge`` model, if any."""
        self.log: list[dict[str, Any]] = [dict(call) for call in logged]
        self.live = live
        self.new_calls = 0

    def __call__(self, prompt: str) -> str:
        """A logged reply to this exact prompt (from the live judge's model when one is given), else ask it."""
        for call in self.log:
            if call.get("prompt") == prompt and (self.live is None or call.get("model") == self.live.model):
                return str(call.get("output") or "")
        if self.live is None:
            raise JudgeUnavailable(f"this output needs an LLM judge and no reply is logged for it: {NEEDS_JUDGE}.")
        output = self.live(prompt)
        self.log.append({"model": self.live.model, "prompt": prompt, "output": output})
        self.new_calls += 1
        return output
