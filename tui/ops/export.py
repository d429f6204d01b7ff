"""Export the path root→ID as Markdown or JSON.

The JSON keeps every response object exactly as the server returned it, plus the input items
we recorded, so it can be re-imported. The Markdown is for people: every piece of model text
passes through `sanitize`, so an export never carries terminal escape sequences.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tui.api import items
from tui.store.index import Index
from tui.text import sanitize

EXPORT_FORMAT = "responses-tui.export"
EXPORT_VERSION = 1


def path_records(index: Index, server: str, response_id: str) -> list[dict[str, Any]]:
    """Root-first list of {"summary", "response", "input"} for the path to `response_id`."""
    forest = index.forest(server)
    keys = forest.path_to_root((server, response_id))
    records = []
    for _server, rid in keys:
        summary = index.get(server, rid)
        body = index.load_body(server, rid)
        records.append({"summary": summary, "response": body["response"], "input": body["input"]})
    return records


def export_json(index: Index, server: str, response_id: str) -> str:
    records = path_records(index, server, response_id)
    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "server": server,
        "path": [r["summary"].id for r in records],
        "responses": [
            {
                "response": r["response"],
                "input": r["input"],
                "profile": r["summary"].profile,
                "status": str(r["summary"].status),
            }
            for r in records
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def export_markdown(index: Index, server: str, response_id: str) -> str:
    records = path_records(index, server, response_id)
    root = records[0]["summary"].id
    lines = [
        f"# Conversation {root}" + (f" → {response_id}" if response_id != root else ""),
        "",
        f"Server: {server} · {len(records)} turn{'s' if len(records) != 1 else ''}",
        "",
    ]
    for number, record in enumerate(records, start=1):
        lines.extend(_turn_markdown(number, record))
    return "\n".join(lines).rstrip() + "\n"


def _turn_markdown(number: int, record: dict[str, Any]) -> list[str]:
    summary = record["summary"]
    response = record["response"] or {}
    when = _timestamp(summary.created_at)
    marks = _status_marks(summary)
    out = [f"## Turn {number} · `{summary.id}` · {sanitize(summary.model)} · {when}{marks}", ""]
    if response.get("instructions"):
        out += ["**Instructions**", "", _block(str(response["instructions"])), ""]
    out += ["**User**", ""]
    if record["input"] is None:
        out += ["_input not recorded (the server cannot return it)_", ""]
    else:
        text = items.input_text(record["input"])
        out += [_block(text) if text.strip() else "_(no text input)_", ""]
    out += _output_markdown(response.get("output") or [])
    return out


def _output_markdown(output: list) -> list[str]:
    out: list[str] = []
    for item in output:
        if not isinstance(item, dict):
            continue
        kind = items.item_type(item)
        if kind == "message":
            text = "".join(
                str(part.get("text", ""))
                for part in item.get("content") or []
                if isinstance(part, dict)
            )
            reasoning, answer = items.split_think(text)
            if reasoning.strip():
                out += _details("Reasoning", reasoning)
            out += ["**Assistant**", "", _block(answer) if answer.strip() else "_(empty)_", ""]
        elif kind == "reasoning":
            summary = " ".join(
                str(part.get("text", ""))
                for part in (item.get("summary") or []) + (item.get("content") or [])
                if isinstance(part, dict)
            )
            if summary.strip():
                out += _details("Reasoning", summary)
        elif kind == "mcp_call":
            call = items.normalize_mcp_call(item)
            label = ".".join(p for p in (call.get("server_label"), call.get("name")) if p)
            out.append(
                f"> tool call `{sanitize(label or 'mcp')}`({sanitize(call.get('arguments') or '')})"
            )
            if call.get("error"):
                out.append(f"> error: {sanitize(str(call['error']))}")
            elif call.get("output"):
                out.append(f"> output: {_inline(str(call['output']))}")
            out.append("")
        elif kind == "function_call":
            name, args = item.get("name") or "function", item.get("arguments") or ""
            out += [f"> function call `{sanitize(str(name))}`({sanitize(str(args))})", ""]
        elif kind == "mcp_list_tools":
            tools = [t.get("name", "?") for t in item.get("tools") or [] if isinstance(t, dict)]
            label = sanitize(str(item.get("server_label") or "mcp"))
            out += [f"> listed {len(tools)} tools from `{label}`: {sanitize(', '.join(tools))}", ""]
        elif kind == "tool_output":
            out += [f"> tool output: {_inline(str(item.get('output', '')))}", ""]
        else:
            out += [f"> [{sanitize(kind)}]", ""]
    return out


def _details(title: str, text: str) -> list[str]:
    return [f"<details><summary>{title}</summary>", "", _block(text), "", "</details>", ""]


def _block(text: str) -> str:
    return sanitize(text, multiline=True).strip()


def _inline(text: str, limit: int = 500) -> str:
    flat = " ".join(sanitize(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _timestamp(created_at: float | None) -> str:
    if not created_at:
        return "unknown time"
    return datetime.fromtimestamp(created_at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _status_marks(summary: Any) -> str:
    marks = []
    status = str(summary.status)
    if status != "stored":
        marks.append(status.replace("_", " "))
    if getattr(summary, "ancestor_missing", False):
        marks.append("ancestor missing")
    return f" ({', '.join(marks)})" if marks else ""
