"""Lenient readers for response objects and items, dispatched on the `type` string.

Nothing here assumes a shape beyond "a dict with maybe a `type`": real servers differ
(Fireworks' `mcp_call` nests `mcp: {name, arguments}` with arguments as a dict, puts
`<think>...</think>` inline in the text, and names usage `prompt_tokens/completion_tokens`).
Unknown item types are kept and passed through untouched.
"""

from __future__ import annotations

import json
import re
from typing import Any

_THINK = re.compile(r"<think>(.*?)(?:</think>|$)", re.DOTALL)
_SAFE_ID = re.compile(r"^(?!\.+$)[A-Za-z0-9_.:-]{1,256}$")


def safe_id(value: object) -> bool:
    """True for an id fit to store, show and put in a URL: letters, digits, `_ . : -` only,
    and not dots alone (`..`). A server that sends anything else (escape sequences, spaces,
    slashes, NUL) is not trusted with the terminal or the URL."""
    return isinstance(value, str) and bool(_SAFE_ID.fullmatch(value))  # `$` allows "x\n"


def item_type(item: Any) -> str:
    if isinstance(item, dict):
        kind = item.get("type")
        if isinstance(kind, str) and kind:
            return kind
        if "role" in item and "content" in item:
            return "message"  # an EasyInputMessage has no type
    return "unknown"


def normalize_input(value: Any) -> list[dict[str, Any]]:
    """The `input` of a request as a list of items (a string is one user message)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": value}],
            }
        ]
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, dict):
                item = dict(item)
                if item_type(item) == "message":
                    item["type"] = "message"
                    if isinstance(item.get("content"), str):
                        kind = "output_text" if item.get("role") == "assistant" else "input_text"
                        item["content"] = [{"type": kind, "text": item["content"]}]
                out.append(item)
        return out
    return []


def output_items(response: Any) -> list[Any]:
    """The `output` list of a response; [] when the response or its `output` is not what
    the API says (a number, a string, a dict)."""
    output = response.get("output") if isinstance(response, dict) else None
    return output if isinstance(output, list) else []


def parts(value: Any) -> list[Any]:
    """A list field of an item (`content`, `summary`, `tools`), [] when it is not a list."""
    return value if isinstance(value, list) else []


def text_field(value: Any, default: str = "") -> str:
    """A field that should be a string (a name, a label, a status): itself when it is a
    non-empty string, numbers as digits, anything else `default`."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return default


def content_text(content: Any) -> str:
    """The text of a message's `content` (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = []
    for part in content:
        if isinstance(part, dict):
            text = part.get("text")
            if isinstance(text, str):
                parts.append(text)
            elif part.get("type") == "refusal" and isinstance(part.get("refusal"), str):
                parts.append(part["refusal"])
        elif isinstance(part, str):
            parts.append(part)
    return "".join(parts)


def input_text(input_items: Any, role: str | None = "user") -> str:
    """The text the user sent: message text of the given role (all roles when None)."""
    chunks = []
    for item in normalize_input(input_items):
        if item_type(item) != "message":
            if item_type(item) == "function_call_output":
                chunks.append(f"[function output] {as_text(item.get('output'))}")
            elif item_type(item) == "mcp_approval_response":
                chunks.append("[approved]" if item.get("approve") else "[denied]")
            continue
        if role is None or item.get("role", "user") == role:
            chunks.append(content_text(item.get("content")))
    return "\n\n".join(c for c in chunks if c)


def split_think(text: str) -> tuple[str, str]:
    """(reasoning, answer): `<think>` blocks inlined in the text are moved out of the answer.

    An unclosed `<think>` (a stream cut mid-thought) is all reasoning.
    """
    if "<think>" not in text and "</think>" not in text:
        return "", text
    reasoning = [m.group(1).strip() for m in _THINK.finditer(text)]
    answer = _THINK.sub("", text)
    if "</think>" in answer:  # a closing tag with no opener: everything before it is thought
        before, _, answer = answer.rpartition("</think>")
        reasoning.insert(0, before.strip())
    return "\n\n".join(r for r in reasoning if r), answer.strip()


def response_text(response: Any, *, strip_think: bool = True) -> str:
    """The assistant's visible answer: `output_text` parts of assistant messages."""
    if not isinstance(response, dict):
        return ""
    chunks = []
    for item in output_items(response):
        if item_type(item) == "message" and item.get("role", "assistant") == "assistant":
            chunks.append(content_text(item.get("content")))
    text = "\n\n".join(c for c in chunks if c)
    if not text and isinstance(response.get("output_text"), str):
        text = response["output_text"]
    return split_think(text)[1] if strip_think else text


def reasoning_text(response: Any) -> str:
    """Reasoning from `reasoning` items and from inline `<think>` blocks."""
    if not isinstance(response, dict):
        return ""
    chunks = []
    for item in output_items(response):
        if item_type(item) == "reasoning":
            for key in ("summary", "content"):
                chunks.append(content_text(item.get(key)))
    chunks.append(split_think(response_text(response, strip_think=False))[0])
    return "\n\n".join(c for c in chunks if c)


def as_text(value: Any) -> str:
    """Any JSON value as text: strings as they are, None as "", the rest as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        try:
            return str(value)
        except (ValueError, RecursionError):  # nested past any sense
            return "…"


def normalize_mcp_call(item: dict[str, Any]) -> dict[str, Any]:
    """One shape for both MCP call forms: OpenAI's flat `server_label/name/arguments` string
    and Fireworks' nested `mcp: {name, arguments}` with arguments as a dict."""
    nested = item.get("mcp") if isinstance(item.get("mcp"), dict) else {}
    name = text_field(item.get("name")) or text_field(nested.get("name"))
    arguments = item.get("arguments")
    if arguments in (None, ""):
        arguments = nested.get("arguments")
    label = text_field(item.get("server_label")) or text_field(nested.get("server_label"))
    return {
        "id": text_field(item.get("id")) or text_field(item.get("call_id")),
        "server_label": label,
        "name": name,
        "arguments": as_text(arguments),
        "output": as_text(item.get("output")) if item.get("output") is not None else None,
        "error": as_text(item.get("error")) if item.get("error") else None,
        "status": text_field(item.get("status")),
    }


def tool_names(tools: Any) -> list[str]:
    """Short labels for a request's `tools` list: each tool's `tui.tools.tool_label` (server
    label, function name, the server's host for a label-less MCP tool, else its type)."""
    from tui.tools import tool_label

    labels = []
    for tool in tool_list(tools):
        try:
            labels.append(tool_label(tool))
        except (RecursionError, ValueError, TypeError):  # a label nested past any sense
            labels.append("tool")
    return labels


def tool_list(tools: Any) -> list[dict[str, Any]]:
    """The tool objects of a `tools` list (not a list, or entries that are not objects: none)."""
    return [tool for tool in tools if isinstance(tool, dict)] if isinstance(tools, list) else []


def uses_tools(response: Any) -> bool:
    if not isinstance(response, dict):
        return False
    if tool_list(response.get("tools")):
        return True
    tool_items = {"mcp_call", "mcp_list_tools", "function_call", "tool_output"}
    return any(item_type(i) in tool_items for i in output_items(response))
