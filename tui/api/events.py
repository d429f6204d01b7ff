"""Stream events, typed by their `type` string; unknown types are kept, never fatal.

Both spellings seen in the wild are accepted: OpenAI's `response.mcp_call_arguments.delta`
and Fireworks' `response.mcp_call.arguments.delta` (whose delta may be a dict).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tui.api.errors import parse_error_body

TERMINAL = (
    "response.completed",
    "response.failed",
    "response.incomplete",
    "response.cancelled",
    "error",
)


@dataclass(frozen=True)
class StreamEvent:
    type: str
    data: dict[str, Any] = field(repr=False)

    @property
    def sequence_number(self) -> int | None:
        value = self.data.get("sequence_number")
        return value if isinstance(value, int) else None

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL


@dataclass(frozen=True)
class ResponseEvent(StreamEvent):
    """created / queued / in_progress / completed / failed / incomplete / cancelled."""

    response: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class OutputItemEvent(StreamEvent):
    """`response.output_item.added` / `.done`."""

    output_index: int = 0
    item: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TextDelta(StreamEvent):
    """`response.output_text.delta` (and refusal deltas)."""

    item_id: str = ""
    output_index: int = 0
    content_index: int = 0
    delta: str = ""


@dataclass(frozen=True)
class TextDone(StreamEvent):
    item_id: str = ""
    output_index: int = 0
    content_index: int = 0
    text: str = ""


@dataclass(frozen=True)
class ReasoningDelta(StreamEvent):
    """`response.reasoning_text.delta` and `response.reasoning_summary_text.delta`."""

    item_id: str = ""
    output_index: int = 0
    delta: str = ""


@dataclass(frozen=True)
class ToolEvent(StreamEvent):
    """MCP, function-call and hosted-tool progress (`response.mcp_call.*`, ...)."""

    item_id: str = ""
    output_index: int = 0
    delta: Any = None


@dataclass(frozen=True)
class ErrorEvent(StreamEvent):
    """An SSE `error` event: the stream failed on the server side."""

    code: str | None = None
    message: str = ""
    param: str | None = None


@dataclass(frozen=True)
class UnknownEvent(StreamEvent):
    """Any type this client does not know: passed through untouched."""


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_event(data: dict[str, Any], sse_event: str = "") -> StreamEvent:
    """The typed event for one decoded `data:` object (the SSE `event:` name is a fallback)."""
    kind = _str(data.get("type"))
    if not kind and "response" not in data and isinstance(data.get("error"), dict | str):
        kind = "error"  # Llama Stack: `data: {"error": {...}}`, no `type`, no `event:` line
    elif not kind and "response" not in data and isinstance(data.get("detail"), str | list):
        # A proxy that wraps its upstream's FastAPI error in a 200 stream (open-responses-
        # server behind a wrong base URL): `data: {"detail": "Not Found"}`.
        said = parse_error_body(json.dumps(data))[0] or "the server reported an error"
        data = {"error": {"message": said}, **data}
        kind = "error"
    kind = kind or sse_event or "unknown"
    if (
        kind.startswith("response.")
        and isinstance(data.get("response"), dict)
        and kind.count(".") == 1
    ):
        return ResponseEvent(kind, data, response=data["response"])
    if kind in ("response.output_item.added", "response.output_item.done"):
        item = data.get("item") if isinstance(data.get("item"), dict) else {}
        return OutputItemEvent(kind, data, output_index=_int(data.get("output_index")), item=item)
    if kind in ("response.output_text.delta", "response.refusal.delta"):
        return TextDelta(
            kind,
            data,
            item_id=_str(data.get("item_id")),
            output_index=_int(data.get("output_index")),
            content_index=_int(data.get("content_index")),
            delta=_str(data.get("delta")),
        )
    if kind in ("response.output_text.done", "response.refusal.done"):
        return TextDone(
            kind,
            data,
            item_id=_str(data.get("item_id")),
            output_index=_int(data.get("output_index")),
            content_index=_int(data.get("content_index")),
            text=_str(data.get("text") or data.get("refusal")),
        )
    if kind in ("response.reasoning_text.delta", "response.reasoning_summary_text.delta"):
        return ReasoningDelta(
            kind,
            data,
            item_id=_str(data.get("item_id")),
            output_index=_int(data.get("output_index")),
            delta=_str(data.get("delta")),
        )
    if kind == "error":
        error = data.get("error") if isinstance(data.get("error"), dict) else data
        message = _str(error.get("message")) or _str(data.get("error"))
        code = error.get("code")
        return ErrorEvent(
            kind,
            data,
            code=str(code) if isinstance(code, str | int) and not isinstance(code, bool) else None,
            message=message or "the server reported an error",
            param=error.get("param") if isinstance(error.get("param"), str) else None,
        )
    if kind.startswith("response.") and ("_call" in kind or "mcp" in kind):
        return ToolEvent(
            kind,
            data,
            item_id=_str(data.get("item_id")),
            output_index=_int(data.get("output_index")),
            delta=data.get("delta"),
        )
    return UnknownEvent(kind, data)
