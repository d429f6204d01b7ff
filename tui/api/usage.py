"""Token usage of one response, from either naming scheme a server may use.

OpenAI (and the Responses API spec) names it
`{input_tokens, input_tokens_details: {cached_tokens}, output_tokens,
output_tokens_details: {reasoning_tokens}, total_tokens}`; Fireworks and servers built on Chat
Completions name it `{prompt_tokens, prompt_tokens_details: {cached_tokens}, completion_tokens,
completion_tokens_details: {reasoning_tokens}, total_tokens}`. Both are read; when a server
sends both, the Responses names win.

The server's JSON is not trusted: a figure counts only if it is a sane non-negative whole
number (an int, or a float with no fraction, below `MAX_TOKENS`). Strings, bools, negatives,
NaN, huge numbers and nested objects are ignored, field by field, and a detail larger than
the figure it details (cached > input, reasoning > output) is dropped as inconsistent.
Pure: no Textual, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# A trillion tokens in one response is not a count, it is a hostile or broken value.
MAX_TOKENS = 10**12


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one response; None where the server did not say (or said nonsense)."""

    input: int | None = None
    cached: int | None = None
    output: int | None = None
    reasoning: int | None = None
    total: int | None = None

    @property
    def empty(self) -> bool:
        return all(
            v is None for v in (self.input, self.cached, self.output, self.reasoning, self.total)
        )


NO_USAGE = Usage()


def count(value: Any) -> int | None:
    """`value` as a token count, or None when it is not a sane non-negative whole number."""
    if type(value) is int:  # not bool, not an int subclass with odd behaviour
        number = value
    elif type(value) is float and math.isfinite(value) and value.is_integer():
        number = int(value)
    else:
        return None
    return number if 0 <= number < MAX_TOKENS else None


def _first(mapping: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        number = count(mapping.get(key))
        if number is not None:
            return number
    return None


def _detail(mapping: dict[str, Any], containers: tuple[str, ...], key: str) -> int | None:
    for container in containers:
        details = mapping.get(container)
        if isinstance(details, dict):
            number = count(details.get(key))
            if number is not None:
                return number
    return None


def parse_usage(usage: Any) -> Usage:
    """The usage object of a response (its `usage` field) as a `Usage`; `NO_USAGE` when it is
    missing or not an object."""
    if not isinstance(usage, dict):
        return NO_USAGE
    tokens_in = _first(usage, "input_tokens", "prompt_tokens")
    tokens_out = _first(usage, "output_tokens", "completion_tokens")
    cached = _detail(usage, ("input_tokens_details", "prompt_tokens_details"), "cached_tokens")
    reasoning = _detail(
        usage, ("output_tokens_details", "completion_tokens_details"), "reasoning_tokens"
    )
    if cached is not None and tokens_in is not None and cached > tokens_in:
        cached = None
    if reasoning is not None and tokens_out is not None and reasoning > tokens_out:
        reasoning = None
    total = count(usage.get("total_tokens"))
    if total is None and tokens_in is not None and tokens_out is not None:
        total = tokens_in + tokens_out
    return Usage(tokens_in, cached, tokens_out, reasoning, total)


def response_usage(response: Any) -> Usage:
    """The usage of a response object (`NO_USAGE` when it has none)."""
    if not isinstance(response, dict):
        return NO_USAGE
    return parse_usage(response.get("usage"))
