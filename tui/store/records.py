"""What the index keeps about one response, in a small summary kept in memory.

The full response JSON and the input items live in separate body files and are loaded on
demand; the summary holds only what the forest and the listing need.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, fields
from enum import StrEnum
from sys import intern
from typing import Any

from tui.api import items
from tui.text import one_line

PREVIEW_CHARS = 200
LOGICAL_PARENT = "x_responses_tui_parent"  # see tui.ops.conversation


class Status(StrEnum):
    STORED = "stored"  # the server has it and it can be continued
    NOT_STORED = "not_stored"  # created with store: false; we saw it, the server did not keep it
    DELETED = "deleted"  # we deleted it on the server, kept locally on request
    INCOMPLETE = "incomplete"  # cut stream, cancelled, max tokens, or still running (background)
    FAILED = "failed"  # the server says the response failed (`failed`, or an error mid-stream)
    MISSING = "missing"  # the server no longer has it (404 on re-check: deleted or expired)


@dataclass(slots=True)
class NodeSummary:
    server: str
    id: str
    parent: str | None
    created_at: float
    model: str
    profile: str
    status: Status
    input_preview: str = ""
    output_preview: str = ""
    input_recorded: bool = False
    has_tools: bool = False
    ancestor_missing: bool = False
    tool_labels: tuple[str, ...] = ()
    shard: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.server, self.id)

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["status"] = str(self.status)
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> NodeSummary:
        """From a stored document (100,000 of these at start, hence no per-field checks):
        required fields are checked, unknown keys ignored, bad status -> stored."""
        if not doc.keys() >= _REQUIRED:
            raise TypeError(f"summary without {sorted(_REQUIRED - doc.keys())[0]}")
        get = doc.get
        server, model, profile = doc["server"], doc["model"], doc["profile"]
        return cls(
            # The same few values in every summary: keep one copy of each.
            intern(server) if type(server) is str else server,
            doc["id"],
            doc["parent"],
            doc["created_at"],
            intern(model) if type(model) is str else model,
            intern(profile) if type(profile) is str else profile,
            _STATUS.get(get("status"), Status.STORED),
            get("input_preview", ""),
            get("output_preview", ""),
            get("input_recorded", False),
            get("has_tools", False),
            get("ancestor_missing", False),
            tuple(get("tool_labels") or ()),
            get("shard", 0),
        )


STATUS_WORDS = {
    Status.NOT_STORED: "not stored",
    Status.DELETED: "deleted",
    Status.INCOMPLETE: "incomplete",
    Status.FAILED: "failed",
    Status.MISSING: "missing",
}


def status_words(node: NodeSummary, orphan: bool = False) -> list[str]:
    """The markers a listing or a label shows for a node, in words."""
    words = []
    if node.status in STATUS_WORDS:
        words.append(STATUS_WORDS[node.status])
    if node.ancestor_missing:
        words.append("ancestor missing")
    elif orphan:
        words.append("parent unknown")
    if node.has_tools:
        words.append("tools")
    return words


_REQUIRED = frozenset(
    f.name
    for f in fields(NodeSummary)
    if f.default is MISSING and f.default_factory is MISSING and f.name != "status"
)
_STATUS = {str(s): s for s in Status}


def derive_status(response: dict[str, Any]) -> Status:
    if response.get("store") is False:
        return Status.NOT_STORED
    if response.get("status") == "failed":
        return Status.FAILED
    if response.get("status") in ("incomplete", "cancelled", "in_progress", "queued"):
        return Status.INCOMPLETE
    return Status.STORED


def output_preview(response: dict[str, Any]) -> str:
    text = items.response_text(response)
    if not text.strip():
        for item in response.get("output") or []:
            kind = items.item_type(item)
            if kind == "mcp_approval_request":
                return one_line(f"[approval requested: {item.get('name', '?')}]", PREVIEW_CHARS)
            if kind == "function_call":
                return one_line(f"[function call: {item.get('name', '?')}]", PREVIEW_CHARS)
    return one_line(text, PREVIEW_CHARS)


def parent_of(response: dict[str, Any], request: dict[str, Any] | None) -> str | None:
    """The parent of a turn in the forest. For a turn we sent, what the request carried: its
    logical parent when the path was replayed, else its `previous_response_id` (or none: a new
    conversation), whatever the server echoes (Llama Stack echoes null for every reply). For a
    response we only imported, the server's echo."""
    if request is not None:
        parent = request.get(LOGICAL_PARENT, request.get("previous_response_id"))
    else:
        parent = response.get("previous_response_id")
    return parent if isinstance(parent, str) and parent else None


def summarize(
    response: dict[str, Any],
    *,
    server: str,
    profile: str,
    input_items: list[dict[str, Any]] | None,
    status: Status | None = None,
    request: dict[str, Any] | None = None,
) -> NodeSummary:
    parent = parent_of(response, request)
    created = response.get("created_at")
    sent_tools = (request or {}).get("tools") if request else response.get("tools")
    return NodeSummary(
        server=server,
        id=str(response.get("id")),
        parent=parent,
        created_at=float(created) if isinstance(created, int | float) else 0.0,
        model=one_line(response.get("model") or "", 120),
        profile=profile,
        status=status or derive_status(response),
        input_preview=one_line(items.input_text(input_items), PREVIEW_CHARS)
        if input_items is not None
        else "",
        output_preview=output_preview(response),
        input_recorded=input_items is not None,
        has_tools=items.uses_tools(response) or bool(sent_tools),
        tool_labels=tuple(one_line(t, 40) for t in items.tool_names(sent_tools)),
    )
