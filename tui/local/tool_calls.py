"""Which tool an offline turn calls, and the output items that say so.

Nothing touches the network. A turn calls the first offered tool (in request order) whose
name its user text mentions as a whole word; `tool_choice` can forbid calls ("none"),
force one ("required", or a named function / MCP server: the mentioned one if any, else the
first allowed) or narrow the choice (`allowed_tools`). Function tools give a
`function_call` for the client to run; MCP tools give an `mcp_call` with an offline result,
or an `mcp_approval_request` when the tool's `require_approval` asks for it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tui.local.generator import mcp_result
from tui.local.ids import IdFactory
from tui.tools import server_name

DEFAULT_MCP_TOOLS = ("search", "fetch", "list_files")
MCP_TYPES = ("mcp", "sse")
Target = tuple[dict[str, Any], str]  # (the tool as sent, the name to call)


def pick(tools: list[dict[str, Any]], text: str, choice: Any) -> Target | None:
    """The one call this turn makes, or None."""
    if choice == "none":
        return None
    targets = _targets(tools)
    forced = choice == "required"
    if isinstance(choice, dict):
        refs = choice.get("tools") if choice.get("type") == "allowed_tools" else [choice]
        targets = [t for t in targets if any(_matches(ref, t) for ref in refs or [])]
        forced = choice.get("type") != "allowed_tools" or choice.get("mode") == "required"
    for target in targets:
        if text and _mentions(text, target[1]):
            return target
    return targets[0] if forced and targets else None


def find_tool(tools: list[Any], ref: dict[str, Any]) -> dict[str, Any] | None:
    """The offered tool a tool_choice reference names, or None."""
    dicts = [t for t in tools if isinstance(t, dict)]
    return next((tool for tool, name in _targets(dicts) if _matches(ref, (tool, name))), None)


def call_item(ids: IdFactory, target: Target, text: str) -> dict[str, Any]:
    tool, name = target
    if tool.get("type") == "function":
        return {
            "id": ids.item("fc"),
            "type": "function_call",
            "call_id": ids.item("call"),
            "name": name,
            "arguments": json.dumps(fill_arguments(tool.get("parameters"), text)),
            "status": "completed",
        }
    label = mcp_label(tool)
    arguments = json.dumps({"query": text})
    if requires_approval(tool, name):
        return {
            "id": ids.item("mcpr"),
            "type": "mcp_approval_request",
            "server_label": label,
            "name": name,
            "arguments": arguments,
        }
    return mcp_call(ids, label, name, arguments, text)


def mcp_call(
    ids: IdFactory,
    label: str,
    name: str,
    arguments: str,
    query: str,
    approval_id: str | None = None,
) -> dict[str, Any]:
    return {
        "id": ids.item("mcp"),
        "type": "mcp_call",
        "server_label": label,
        "name": name,
        "arguments": arguments,
        "output": mcp_result(label, name, query),
        "error": None,
        "status": "completed",
        "approval_request_id": approval_id,
    }


def listing_items(ids: IdFactory, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One `mcp_list_tools` item per MCP server offered."""
    out = []
    for tool in tools:
        if tool.get("type") not in MCP_TYPES:
            continue
        label = mcp_label(tool)
        out.append(
            {
                "id": ids.mcp_list(),
                "type": "mcp_list_tools",
                "server_label": label,
                "tools": [
                    {
                        "name": name,
                        "description": f"Offline stand-in for {label}.{name}",
                        "input_schema": {
                            "type": "object",
                            "properties": {"query": {"type": "string"}},
                        },
                        "annotations": None,
                    }
                    for name in mcp_tool_names(tool)
                ],
                "error": None,
            }
        )
    return out


def mcp_label(tool: dict[str, Any]) -> str:
    return str(tool.get("server_label") or server_name(tool.get("server_url")) or "mcp")


def mcp_tool_names(tool: dict[str, Any]) -> list[str]:
    """The names an MCP server offers: `allowed_tools` (a list, or a filter with
    `tool_names`) when given, else the offline defaults."""
    allowed = tool.get("allowed_tools")
    if isinstance(allowed, dict):
        allowed = allowed.get("tool_names")
    if isinstance(allowed, list) and allowed:
        return [str(n) for n in allowed]
    return list(DEFAULT_MCP_TOOLS)


def requires_approval(tool: dict[str, Any], name: str) -> bool:
    """Whether calling `name` needs an approval round trip.

    "always" → yes; "never" → no; the dict form → yes only for names listed under
    "always". When `require_approval` is absent, OpenAI's default is to ask; this offline
    backend simplifies and treats an absent setting as "never" (Fireworks never asks).
    """
    setting = tool.get("require_approval")
    if setting == "always":
        return True
    if isinstance(setting, dict):
        always = setting.get("always")
        if isinstance(always, dict):
            names = always.get("tool_names")
            return isinstance(names, list) and name in names
    return False


def fill_arguments(parameters: Any, text: str) -> dict[str, Any]:
    """A deterministic value for each property of a JSON Schema object."""
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    if not isinstance(properties, dict):
        return {}
    out: dict[str, Any] = {}
    for key, schema in properties.items():
        kind = schema.get("type") if isinstance(schema, dict) else None
        if isinstance(kind, list):  # e.g. ["string", "null"]
            kind = next((k for k in kind if k != "null"), None)
        out[str(key)] = {
            "string": text[:80],
            "integer": 1,
            "number": 1,
            "boolean": True,
            "array": [],
            "object": {},
        }.get(kind if isinstance(kind, str) else "")
    return out


def query_of(arguments: str) -> str:
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return arguments
    if isinstance(parsed, dict) and isinstance(parsed.get("query"), str):
        return parsed["query"]
    return arguments


def _targets(tools: list[dict[str, Any]]) -> list[Target]:
    """Every (tool, name) a turn could call, in request order."""
    out: list[Target] = []
    for tool in tools:
        kind = tool.get("type")
        if kind == "function":
            name = tool.get("name")
            if isinstance(name, str) and name:
                out.append((tool, name))
        elif kind in MCP_TYPES:
            out.extend((tool, name) for name in mcp_tool_names(tool))
    return out


def _matches(ref: Any, target: Target) -> bool:
    if not isinstance(ref, dict):
        return False
    tool, name = target
    if ref.get("type") == "function":
        return tool.get("type") == "function" and ref.get("name") == name
    if ref.get("type") == "mcp":
        return (
            tool.get("type") in MCP_TYPES
            and ref.get("server_label") == mcp_label(tool)
            and ref.get("name") in (None, name)
        )
    return False


def _mentions(text: str, name: str) -> bool:
    """`name` occurs in `text` as a whole word, ignoring case."""
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE) is not None
