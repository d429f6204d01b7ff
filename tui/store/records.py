"""What the index keeps about one response, in a small summary kept in memory.

The full response JSON and the input items live in separate body files and are loaded on
demand; the summary holds only what the forest and the listing need.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, fields
from datetime import UTC, datetime
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
        """From a stored document (100,000 of these at start, hence few checks): required
        fields are checked, unknown keys ignored, bad status -> stored. A document whose
        values are not what `to_doc` writes (a hand-edited or damaged file: a time that is
        NaN or a string, an id that is a list) goes through `_from_odd_doc`, which cleans
        every field, so the readers and the forest only ever see sane values."""
        if not doc.keys() >= _REQUIRED:
            raise TypeError(f"summary without {sorted(_REQUIRED - doc.keys())[0]}")
        get = doc.get
        server, rid, parent = doc["server"], doc["id"], doc["parent"]
        created, model, profile = doc["created_at"], doc["model"], doc["profile"]
        said, answer = get("input_preview", ""), get("output_preview", "")
        labels = get("tool_labels") or ()
        if not (
            type(created) is float
            and 0.0 <= created <= MAX_TIME  # False for NaN
            and type(server) is str
            and type(rid) is str
            and type(model) is str
            and type(profile) is str
            and (parent is None or type(parent) is str)
            and type(said) is str
            and type(answer) is str
            and (not labels or type(labels) is list or type(labels) is tuple)
        ):
            return _from_odd_doc(doc)
        if labels:
            try:
                "".join(labels)  # every label a string (in C: cheaper than a loop here)
            except TypeError:
                return _from_odd_doc(doc)
        status = get("status")
        return cls(
            # The same few values in every summary: keep one copy of each.
            intern(server),
            rid,
            parent,
            created,
            intern(model),
            intern(profile),
            _STATUS.get(status, Status.STORED) if type(status) is str else Status.STORED,
            said,
            answer,
            get("input_recorded") is True,
            get("has_tools") is True,
            get("ancestor_missing") is True,
            tuple(labels),
            get("shard", 0),
        )


def _from_odd_doc(doc: dict[str, Any]) -> NodeSummary:
    """A summary from a document with values of the wrong type or out of range: ids and
    names must be strings (an id that is not one cannot be a key: TypeError, the summary is
    skipped), a parent that is not a string is no parent, anything else is cleaned."""
    server, rid, parent = doc["server"], doc["id"], doc["parent"]
    if type(server) is not str or type(rid) is not str or not rid:
        raise TypeError("a summary whose server or id is not a string")
    status = doc.get("status")
    labels = doc.get("tool_labels")
    return NodeSummary(
        intern(server),
        rid,
        parent if type(parent) is str and parent else None,
        clean_time(doc["created_at"]),
        intern(_text(doc["model"], 120)),
        intern(_text(doc["profile"], 200)),
        _STATUS.get(status, Status.STORED) if type(status) is str else Status.STORED,
        _text(doc.get("input_preview"), PREVIEW_CHARS),
        _text(doc.get("output_preview"), PREVIEW_CHARS),
        doc.get("input_recorded") is True,
        doc.get("has_tools") is True,
        doc.get("ancestor_missing") is True,
        tuple(_text(t, 40) for t in labels if type(t) is str)
        if isinstance(labels, list | tuple)
        else (),
        shard if type(shard := doc.get("shard")) is int else 0,
    )


def _text(value: Any, width: int) -> str:
    """A string field of a summary: strings as they are (cut to `width`), anything else ""."""
    if type(value) is not str:
        return ""
    return value if len(value) <= width else one_line(value, width)


# The latest time a response can have been made: the last second of year 9999 (UTC). Python's
# datetime ends there; a server's or a file's created_at beyond it, below 0, NaN or infinite is
# no time at all.
MAX_TIME = 253_402_300_799.0


def clean_time(value: Any) -> float:
    """A `created_at` as seconds since the epoch, or 0.0 ("unknown time") when the value is
    not a number (a string, a bool, null) or not a time (NaN, infinite, negative, after the
    year 9999)."""
    if type(value) is float:
        return value if 0.0 <= value <= MAX_TIME else 0.0
    if type(value) is int:  # not a bool; an int too large for a float is out of range anyway
        return float(value) if 0 <= value <= MAX_TIME else 0.0
    return 0.0


def utc_text(created_at: Any, form: str = "%Y-%m-%d %H:%M") -> str:
    """A `created_at` as UTC text in `form`; "unknown time" for 0 or anything that is not a
    time (see `clean_time`)."""
    seconds = clean_time(created_at)
    if not seconds:
        return "unknown time"
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime(form)
    except (ValueError, OverflowError, OSError):  # a platform whose time_t ends sooner
        return "unknown time"


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
        for item in items.output_items(response):
            kind = items.item_type(item)
            if kind not in ("mcp_approval_request", "function_call"):
                continue
            name = items.text_field(item.get("name"), "?")
            if kind == "mcp_approval_request":
                return one_line(f"[approval requested: {name}]", PREVIEW_CHARS)
            if kind == "function_call":
                return one_line(f"[function call: {name}]", PREVIEW_CHARS)
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
    """The summary of one response. The server's (or the import file's) values are cleaned
    here, at the boundary: a `created_at` that is no time becomes 0.0 ("unknown time"), a
    `model` that is not a string is left out, `tools` and `output` of the wrong type count
    as none. The body keeps the response exactly as it came."""
    parent = parent_of(response, request)
    sent_tools = (request or {}).get("tools") if request else response.get("tools")
    model = response.get("model")
    return NodeSummary(
        server=server,
        id=str(response.get("id")),
        parent=parent,
        created_at=clean_time(response.get("created_at")),
        model=one_line(model, 120) if isinstance(model, str) else "",
        profile=profile,
        status=status or derive_status(response),
        input_preview=one_line(items.input_text(input_items), PREVIEW_CHARS),  # None: ""
        output_preview=output_preview(response),
        input_recorded=input_items is not None,
        has_tools=items.uses_tools(response) or bool(items.tool_list(sent_tools)),
        tool_labels=tuple(one_line(t, 40) for t in items.tool_names(sent_tools)),
    )
