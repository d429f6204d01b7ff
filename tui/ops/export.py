"""Export the path root→ID, or the whole conversation tree around ID, as Markdown or JSON.

The JSON keeps every response object exactly as the server returned it, plus the input items
and the request we recorded, so it can be re-imported (see `importer.import_export_file`).
Two shapes share the format name "responses-tui.export":

- version 1, scope "path": the path root→ID, root first (`export_json`);
- version 2, scope "tree": every response of the conversation that contains ID, from its root,
  every branch, in pre-order so a parent always comes before its children (`export_tree_json`).

The Markdown is for people: every piece of model text passes through `sanitize`, so an export
never carries terminal escape sequences.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tui import cost
from tui.api import items
from tui.store.index import Index
from tui.store.records import utc_text
from tui.text import json_inert, sanitize
from tui.turn_meta import meta_line, source_lines, status_note

EXPORT_FORMAT = "responses-tui.export"
EXPORT_VERSION = 1  # the path export
TREE_EXPORT_VERSION = 2  # the whole-conversation export
SUPPORTED_VERSIONS = (EXPORT_VERSION, TREE_EXPORT_VERSION)
# Longer branch labels ("1.1.1.….2") are shortened in Markdown headings.
MAX_LABEL_PARTS = 10


def _record(index: Index, server: str, rid: str) -> dict[str, Any]:
    body = index.load_body(server, rid)  # KeyError "… is not in the index"
    return {
        "summary": index.get(server, rid),
        "response": body["response"],
        "input": body["input"],
        "request": body.get("request"),
        "title": index.title(server, rid),
        "bookmark": index.label(server, rid),
    }


def path_records(index: Index, server: str, response_id: str) -> list[dict[str, Any]]:
    """Root-first list of {"summary", "response", "input", "request"} for the path to
    `response_id`."""
    forest = index.forest(server)
    key = (server, response_id)
    if key not in forest:
        raise KeyError(f"{response_id} is not in the index")
    keys = forest.path_to_root(key)
    return [_record(index, server, rid) for _server, rid in keys]


def tree_records(index: Index, server: str, response_id: str) -> list[dict[str, Any]]:
    """Every response of the conversation that contains `response_id`, from its root, in
    pre-order (a parent before its children, siblings oldest first). Each record also carries
    "label" (the branch path, "1.2.1"), "depth" and "parent" (the parent id as the forest
    links it, None at the root)."""
    forest = index.forest(server)
    key = (server, response_id)
    if key not in forest:
        raise KeyError(f"{response_id} is not in the index")
    root = forest.conversation_root(key)
    labels: dict[Any, tuple[int, ...]] = {root: (1,)}
    records = []
    for current in [root, *forest.descendants(root)]:
        for n, child in enumerate(forest.children(current), start=1):
            labels[child] = (*labels[current], n)
        record = _record(index, server, current[1])
        parent = forest.parent(current)
        record["label"] = labels[current]
        record["depth"] = len(labels[current]) - 1
        record["parent"] = parent[1] if parent is not None else None
        records.append(record)
    return records


def _entry(record: dict[str, Any]) -> dict[str, Any]:
    summary = record["summary"]
    return {
        "response": record["response"],
        "input": record["input"],
        "request": record["request"],
        "profile": summary.profile,
        "status": str(summary.status),
        "ancestor_missing": bool(summary.ancestor_missing),
        # Names (R, b in the app) only where given, so a file without them reads as before.
        **({"title": record["title"]} if record.get("title") else {}),
        **({"bookmark": record["bookmark"]} if record.get("bookmark") is not None else {}),
    }


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_export(index: Index, server: str, response_id: str, *, scope: str, fmt: str) -> str:
    """What `responses-tui export` and the app's export dialog both write: the path to
    `response_id` or its whole conversation (`scope` "path" | "tree"), as Markdown or JSON
    (`fmt` "md" | "json"). JSON has the characters a terminal would act on written as
    `\\uXXXX` escapes (the same document), so it is safe to print as well as to import."""
    render = {
        ("path", "md"): export_markdown,
        ("path", "json"): export_json,
        ("tree", "md"): export_tree_markdown,
        ("tree", "json"): export_tree_json,
    }[(scope, fmt)]
    text = render(index, server, response_id)
    return json_inert(text) if fmt == "json" else text


def export_json(index: Index, server: str, response_id: str) -> str:
    """The path root→`response_id` (version 1, scope "path")."""
    records = path_records(index, server, response_id)
    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "scope": "path",
        "server": server,
        "path": [r["summary"].id for r in records],
        "responses": [_entry(r) for r in records],
    }
    return _dump(document)


def export_tree_json(index: Index, server: str, response_id: str) -> str:
    """The whole conversation that contains `response_id` (version 2, scope "tree")."""
    records = tree_records(index, server, response_id)
    document = {
        "format": EXPORT_FORMAT,
        "version": TREE_EXPORT_VERSION,
        "scope": "tree",
        "server": server,
        "root": records[0]["summary"].id,
        "responses": [_entry(r) for r in records],
    }
    return _dump(document)


def export_markdown(index: Index, server: str, response_id: str) -> str:
    records = path_records(index, server, response_id)
    root = records[0]["summary"].id
    lines = [
        *_title_lines(records[0]),
        f"# Conversation {root}" + (f" → {response_id}" if response_id != root else ""),
        "",
        f"Server: {server} · {len(records)} turn{'s' if len(records) != 1 else ''}",
        "",
        *_usage_lines(records),
    ]
    for number, record in enumerate(records, start=1):
        lines.extend(_turn_markdown(f"Turn {number}", record))
    return "\n".join(lines).rstrip() + "\n"


def export_tree_markdown(index: Index, server: str, response_id: str) -> str:
    """The whole conversation that contains `response_id`, every turn once, in pre-order.

    Each heading carries the turn's branch path: "1" is the root, "1.2" its second reply
    (oldest first), "1.2.1" the first reply to that. A turn at a fork (one of several replies)
    says which turn it replies to; a lone reply does not need to, since pre-order prints it
    right after its parent."""
    records = tree_records(index, server, response_id)
    root = records[0]["summary"]
    child_counts: dict[str, int] = {}
    for record in records:
        if record["parent"] is not None:
            child_counts[record["parent"]] = child_counts.get(record["parent"], 0) + 1
    leaves = sum(1 for r in records if r["summary"].id not in child_counts)
    turns = len(records)
    lines = [
        *_title_lines(records[0]),
        f"# Conversation {_id(root.id)} (whole tree)",
        "",
        f"Server: {sanitize(server)} · {turns} turn{'s' if turns != 1 else ''} · "
        f"{leaves} branch{'es' if leaves != 1 else ''}",
        "",
        *_usage_lines(records),
    ]
    for record in records:
        summary = record["summary"]
        parent = record["parent"]
        extra: list[str] = []
        if parent is not None and child_counts[parent] > 1:
            extra = [f"replying to `{_id(parent)}`", ""]
        elif parent is None and summary.parent:
            extra = [f"replying to `{_id(summary.parent)}` (not in the index)", ""]
        lines.extend(_turn_markdown(_label(record["label"]), record, extra))
    return "\n".join(lines).rstrip() + "\n"


def _figures(record: dict[str, Any]) -> cost.TurnUsage:
    summary = record["summary"]
    return cost.turn_usage(
        record["response"],
        model=summary.model,
        server=summary.server,
        created_at=summary.created_at,
    )


def _turn_cost(figures: cost.TurnUsage) -> str:
    """ "$0.00725" or "unknown price"; "" for a turn without usage."""
    if figures.usage.empty:
        return ""
    amount = cost.price(figures)
    return cost.money(amount) if amount is not None else "unknown price"


def _usage_lines(records: list[dict[str, Any]]) -> list[str]:
    """The total of the turns exported: tokens, and the cost where known (nothing when no
    turn has usage)."""
    totals = cost.total(_figures(r) for r in records)
    if not totals.with_usage:
        return []
    return [f"Usage: {_md_text(cost.totals_text(totals, turns=False))}", ""]


def _title_lines(root: dict[str, Any]) -> list[str]:
    title = root.get("title")
    return [f"# {_md_text(title)}", ""] if title else []


def _label(parts: tuple[int, ...]) -> str:
    """ "1.2.1"; a very deep turn keeps the start and the end ("1.…4.1.1 (turn 250)")."""
    text = ".".join(str(p) for p in parts)
    if len(parts) <= MAX_LABEL_PARTS:
        return text
    tail = ".".join(str(p) for p in parts[-(MAX_LABEL_PARTS - 2) :])
    return f"{parts[0]}.….{tail} (turn {len(parts)})"


def _id(rid: object) -> str:
    return sanitize(rid).replace("`", "'")


def _turn_markdown(label: str, record: dict[str, Any], extra: Sequence[str] = ()) -> list[str]:
    summary = record["summary"]
    response = record["response"]  # a dict: `Index.load_body` makes sure of it
    when = utc_text(summary.created_at, "%Y-%m-%d %H:%M UTC")
    marks = _status_marks(summary)
    bookmark = record.get("bookmark")
    if bookmark is not None:
        marks += f" · ★ {_md_text(bookmark)}" if bookmark else " · ★"
    out = [f"## {label} · `{_id(summary.id)}` · {sanitize(summary.model)} · {when}{marks}", ""]
    out += extra
    # The transcript's meta line (usage, reasoning settings), with the turn's cost.
    meta = meta_line(response, _turn_cost(_figures(record)))
    if meta:
        out += [_md_text(meta), ""]
    if response.get("instructions"):
        out += ["**Instructions**", "", _block(items.as_text(response["instructions"])), ""]
    out += ["**User**", ""]
    if record["input"] is None:
        out += ["_input not recorded (the server cannot return it)_", ""]
    else:
        text = items.input_text(record["input"])
        out += [_block(text) if text.strip() else "_(no text input)_", ""]
    out += _output_markdown(items.output_items(response))
    cited = source_lines(response)  # numbered as in the transcript
    if cited:
        out += ["**Sources**", "", *(f"- {_md_text(line)}" for line in cited), ""]
    note = status_note(response, recorded=str(summary.status))
    if note is not None:
        out += [_md_text(note.text), ""]
    return out


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`[]<>"})


def _md_text(line: str) -> str:
    """A line from `tui.turn_meta` (already one_line()d) as inert Markdown: no link, HTML or
    code span can come from a title or message the server sent."""
    return line.translate(_MD_SPECIAL)


def _output_markdown(output: list) -> list[str]:
    out: list[str] = []
    for item in output:
        if not isinstance(item, dict):
            continue
        kind = items.item_type(item)
        if kind == "message":
            text = "".join(
                part["text"]
                for part in items.parts(item.get("content"))
                if isinstance(part, dict) and isinstance(part.get("text"), str)
            )
            reasoning, answer = items.split_think(text)
            if reasoning.strip():
                out += _details("Reasoning", reasoning)
            out += ["**Assistant**", "", _block(answer) if answer.strip() else "_(empty)_", ""]
        elif kind == "reasoning":
            summary = " ".join(
                part["text"]
                for part in items.parts(item.get("summary")) + items.parts(item.get("content"))
                if isinstance(part, dict) and isinstance(part.get("text"), str)
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
            name = items.text_field(item.get("name"), "function")
            args = items.as_text(item.get("arguments"))
            out += [f"> function call `{sanitize(name)}`({sanitize(args)})", ""]
        elif kind == "mcp_list_tools":
            tools = [
                items.text_field(t.get("name"), "?")
                for t in items.parts(item.get("tools"))
                if isinstance(t, dict)
            ]
            label = sanitize(items.text_field(item.get("server_label"), "mcp"))
            out += [f"> listed {len(tools)} tools from `{label}`: {sanitize(', '.join(tools))}", ""]
        elif kind == "tool_output":
            out += [f"> tool output: {_inline(items.as_text(item.get('output')))}", ""]
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


def _status_marks(summary: Any) -> str:
    marks = []
    status = str(summary.status)
    if status != "stored":
        marks.append(status.replace("_", " "))
    if summary.ancestor_missing:
        marks.append("ancestor missing")
    return f" ({', '.join(marks)})" if marks else ""
