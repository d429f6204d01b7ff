"""Full-text search over the local index: case-insensitive substring, every word must match.

Pure (no Textual): the UI asks `SearchIndex.search` for hits to list and `filter_keys` for the
keys to keep when filtering the tree.

What is kept per response, built once from the bodies (`build`) and then kept up to date
(`update`, `remove`):

- the lowercase text as UTF-8 bytes: the fields below, sanitized, whitespace collapsed,
  joined by "\\n" (which no field contains, so a word never matches across two fields, since
  query words never contain whitespace, and the "\\n" mark where each field ends). Bytes,
  not `str`: one character outside Latin-1 (an em dash, an emoji) would make a Python string
  two or four bytes per character, and most model output has some;
- what it takes to restore the original case (`case_map`: usually the few bytes that
  differ), used only for the hits that are returned, to cut their snippets;
- the key and creation time, for newest-first order.

Fields, in the order a hit is attributed to them: `input` (the user's text, empty when the
input was not recorded), `output` (the visible answer plus tool call names, arguments,
outputs and errors), `tool` (the tool labels of the request), `model`, `id`. Reasoning is not
searched.

Searching is a linear scan with `str.__contains__`, newest first, stopping at `limit`: about
10 ms for 10,000 responses on a typical machine, far below the 50 ms budget.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Any, Protocol

from tui.api import items
from tui.store.records import NodeSummary
from tui.text import sanitize

Key = tuple[str, str]

FIELDS = ("input", "output", "tool", "model", "id")
SNIPPET_CHARS = 80
_SEPARATOR = "\n"
_ELLIPSIS = "…"


@dataclass(frozen=True)
class Hit:
    key: Key
    field: str  # "input", "output", "id", "model", "tool"
    snippet: str  # one line, sanitized, about 80 chars around the first match
    start: int  # position of the match inside snippet
    length: int  # length of the match inside snippet


class _Source(Protocol):
    """What `SearchIndex` needs of `tui.store.index.Index`."""

    def nodes(self, server: str | None = None) -> list[NodeSummary]: ...

    def get(self, server: str, response_id: str) -> NodeSummary | None: ...

    def load_body(self, server: str, response_id: str) -> dict[str, Any]: ...


class _Record:
    """What is kept per response: about as many bytes as its searchable text, nothing more
    (at 100,000 responses every extra field costs megabytes)."""

    __slots__ = ("case", "created", "key", "low")

    def __init__(self, key: Key, created: float, low: bytes, case: bytes) -> None:
        self.key = key
        self.created = created  # with the id, the sort key (newest first)
        self.low = low  # UTF-8 of the lowercase text of every field, joined by _SEPARATOR
        self.case = case  # how to restore the original case: see case_map

    @property
    def order(self) -> tuple[float, str]:
        return (self.created, self.key[1])

    def original(self) -> str:
        return restore_case(self.low, self.case).decode()

    def lowered(self) -> str:
        return self.low.decode()


def flat(text: object) -> str:
    """Sanitized, on one line, whitespace runs collapsed to one space."""
    return " ".join(sanitize(text).split())


def lower(text: str) -> str:
    """`text` lowercased character by character, keeping its length.

    `str.lower` may lengthen a string ("İ" becomes two characters); positions found in the
    lowercase text must stay valid in the original, so such characters are kept as they are.
    """
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def output_parts(response: Any) -> list[str]:
    """The searchable text of a response's output: the answer, then tool items."""
    parts = [items.response_text(response)]
    for item in items.output_items(response):
        if not isinstance(item, dict):
            continue
        kind = items.item_type(item)
        if kind == "mcp_call":
            call = items.normalize_mcp_call(item)
            parts += [call["server_label"], call["name"], call["arguments"]]
            parts += [call["output"] or "", call["error"] or ""]
        elif kind in ("function_call", "mcp_approval_request"):
            parts += [item.get("server_label"), item.get("name"), item.get("arguments")]
        elif kind in ("function_call_output", "tool_output"):
            parts.append(item.get("output"))
        elif kind == "mcp_list_tools":
            parts.append(item.get("server_label"))
    return [items.as_text(p) for p in parts if p]


def field_texts(summary: NodeSummary, body: dict[str, Any]) -> tuple[str, ...]:
    """The original-case, sanitized, one-line text of each field of FIELDS."""
    said = flat(items.input_text(body.get("input")))  # "" when not recorded (None)
    answer = " ".join(t for t in (flat(p) for p in output_parts(body.get("response"))) if t)
    tools = ", ".join(t for t in (flat(label) for label in summary.tool_labels) if t)
    return (said, answer, tools, flat(summary.model), flat(summary.id))


def _record(summary: NodeSummary, body: dict[str, Any]) -> _Record:
    original = _SEPARATOR.join(field_texts(summary, body)).encode()
    low = lower(original.decode()).encode()
    return _Record(summary.key, summary.created_at, low, case_map(original, low))


_DIFFERENT = re.compile(rb"[^\x00]+")
_WHOLE = b"\x00"  # first byte of a case map that holds the whole original, compressed


def case_map(original: bytes, low: bytes) -> bytes:
    """What it takes to get `original` back from its lowercase `low` (both UTF-8).

    Usually a few bytes: the runs of bytes that differ, each as (gap since the previous
    run, length) in varints followed by the original bytes. Typical prose has a capital
    every 30 characters, so this is about a tenth of the text, where zlib of the whole
    original took about a third. When lowercasing changed the length in bytes (rare
    letters such as the Kelvin sign), it holds the whole original, compressed."""
    if original == low:
        return b""
    if len(original) != len(low):
        return _WHOLE + zlib.compress(original)
    size = len(original)
    diff = (int.from_bytes(original, "little") ^ int.from_bytes(low, "little")).to_bytes(
        size, "little"
    )
    out = bytearray()
    end = 0
    append = out.append
    for run in _DIFFERENT.finditer(diff):
        start, stop = run.span()
        gap = start - end + 1  # +1: a map never starts with _WHOLE's zero byte
        length = stop - start
        if gap < 0x80 and length < 0x80:  # the usual case, inlined: one byte each
            append(gap)
            append(length)
        else:
            _varint(out, gap)
            _varint(out, length)
        out += original[start:stop]
        end = stop
    return bytes(out)


def restore_case(low: bytes, case: bytes) -> bytes:
    """The inverse of `case_map`."""
    if not case:
        return low
    if case[:1] == _WHOLE:
        return zlib.decompress(case[1:])
    out = bytearray(low)
    at = end = 0
    while at < len(case):
        gap, at = _read_varint(case, at)
        length, at = _read_varint(case, at)
        start = end + gap - 1
        out[start : start + length] = case[at : at + length]
        at += length
        end = start + length
    return bytes(out)


def _varint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def query_words(query: str) -> list[str]:
    """The distinct lowercase words of a query, longest first (the most selective)."""
    words = {lower(w) for w in flat(query).split()}
    return sorted(words, key=len, reverse=True)


def _encoded(words: list[str]) -> list[bytes]:
    # UTF-8 is self-synchronising: an encoded word only matches whole characters.
    return [w.encode() for w in words]


class SearchIndex:
    """Full-text search over the responses of one server (`server=None`: every server)."""

    def __init__(self, index: _Source, server: str | None = None) -> None:
        self.index = index
        self.server = server
        self._records: dict[Key, _Record] = {}
        self._order: list[_Record] | None = None  # newest first; None when it needs a sort

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, key: object) -> bool:
        return key in self._records

    # ------------------------------------------------------------ upkeep

    def build(self) -> None:
        """Load every body once and (re)build the text of every node."""
        records: dict[Key, _Record] = {}
        # In shard order, so each body shard is opened once despite the index's small LRU.
        for summary in sorted(self.index.nodes(self.server), key=lambda n: n.shard):
            try:
                body = self.index.load_body(summary.server, summary.id)
            except KeyError:
                continue
            records[summary.key] = _record(summary, body)
        self._records = records
        self._order = None

    def update(self, key: Key) -> None:
        """(Re)load one node after it changed or was added; a node gone from the index is
        removed. Keys of another server than this search's are ignored."""
        server, response_id = key
        if self.server is not None and server != self.server:
            return
        summary = self.index.get(server, response_id)
        if summary is None:
            self.remove(key)
            return
        try:
            body = self.index.load_body(server, response_id)
        except KeyError:
            self.remove(key)
            return
        old = self._records.get(key)
        record = _record(summary, body)
        self._records[key] = record
        order = self._order
        if order is None:
            return
        if old is not None and old.order == record.order:
            order[order.index(old)] = record
        elif old is None and (not order or record.order > order[0].order):
            order.insert(0, record)  # the usual case: a new response is the newest
        else:
            self._order = None

    def remove(self, key: Key) -> None:
        if self._records.pop(key, None) is not None:
            self._order = None

    def _ordered(self) -> list[_Record]:
        if self._order is None:
            # The index's order (creation time, ties in the order recorded), newest first.
            records = self._records
            self._order = [
                records[node.key]
                for node in reversed(self.index.nodes(self.server))
                if node.key in records
            ]
        return self._order

    # ------------------------------------------------------------ queries

    def _matching(self, query: list[str], limit: int | None) -> list[_Record]:
        if not query:
            return []
        words = _encoded(query)
        first, rest = words[0], words[1:]
        ordered = self._ordered()
        if limit is None:  # every match: one comprehension per word, narrowing as it goes
            found = [r for r in ordered if first in r.low]
            for word in rest:
                found = [r for r in found if word in r.low]
            return found
        out: list[_Record] = []
        for record in ordered:
            low = record.low
            if first in low and all(w in low for w in rest):
                out.append(record)
                if len(out) >= limit:
                    break
        return out

    def search(self, query: str, limit: int = 200) -> list[Hit]:
        """Nodes whose text holds every word of `query` (case-insensitive substrings, in any
        field), newest first, at most `limit`. An empty query finds nothing."""
        words = query_words(query)
        if limit <= 0:
            return []
        return [_hit(record, words) for record in self._matching(words, limit)]

    def filter_keys(self, query: str) -> set[Key]:
        """The keys of every node matching `query` (no limit); empty for an empty query."""
        return set(self.matching_keys(query))

    def matching_keys(self, query: str) -> list[Key]:
        """The keys of every node matching `query`, newest first; empty for an empty query."""
        return [record.key for record in self._matching(query_words(query), None)]


def _hit(record: _Record, words: list[str]) -> Hit:
    """The hit of a record holding every word: the first field holding one, at its earliest
    match (the longest word of those starting there). No word spans two fields, so that is
    the earliest match in the whole text."""
    low = record.lowered()
    at, _, word = min((low.find(w), -len(w), w) for w in words)
    before = low[:at]
    begin = before.rfind(_SEPARATOR) + 1
    text = record.original()[begin:].partition(_SEPARATOR)[0]
    return _snippet(record.key, FIELDS[before.count(_SEPARATOR)], text, at - begin, len(word))


def _snippet(key: Key, field: str, text: str, at: int, length: int) -> Hit:
    """About SNIPPET_CHARS characters of `text` around text[at:at + length]."""
    length = min(length, SNIPPET_CHARS)
    room = SNIPPET_CHARS - length
    left = max(0, at - room // 3)  # a third of the room before the match, the rest after
    right = min(len(text), at + length + (room - (at - left)))
    left = max(0, min(left, right - SNIPPET_CHARS))  # near the end: use the room before
    # Start on a word when one starts close by, end on one when one ends close by. Neither
    # space can be in the match (a query word has none) nor on its other side (too far).
    if left > 0:
        space = text.find(" ", left, left + 12)
        if space != -1:
            left = space + 1
    if right < len(text):
        space = text.rfind(" ", right - 11, right)
        if space != -1:
            right = space
    before = sanitize(text[left:at])
    match = sanitize(text[at : at + length])
    after = sanitize(text[at + length : right])
    prefix = _ELLIPSIS if left > 0 else ""
    suffix = _ELLIPSIS if right < len(text) else ""
    snippet = prefix + before + match + after + suffix
    return Hit(key, field, snippet, len(prefix) + len(before), len(match))
