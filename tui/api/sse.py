"""Server-sent events, decoded by hand to the letter of the spec.

Lines end only at CRLF, LF or CR (not at U+2028 or U+0085, which `str.splitlines` and httpx's
line iterator also treat as breaks and which models do emit). UTF-8 split across chunks is
reassembled. Comments (`: keepalive`) are ignored; multi-line `data:` is joined with LF.

Decoding is linear in the size of the stream however it is cut: each chunk is scanned once,
and an unfinished line is kept in pieces, joined once when it ends. One event (its data lines
and the line being read) is capped at `max_event_chars`; past it `feed` raises SSEEventTooLarge.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from typing import Any

MAX_EVENT_CHARS = 32 * 1024 * 1024  # one event; a 2 MB `response.completed` is legitimate

_LINE_END = re.compile(r"\r\n|\r|\n")


class SSEEventTooLarge(ValueError):
    """One event (or one line) is larger than the decoder accepts."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the stream sent an event larger than {_size(limit)}")
        self.limit = limit


@dataclass(frozen=True, slots=True)
class SSEMessage:
    event: str
    data: str
    id: str | None = None


class SSEDecoder:
    def __init__(self, max_event_chars: int = MAX_EVENT_CHARS) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._parts: list[str] = []  # the line being read, in the pieces it came in
        self._part_chars = 0
        self._event = ""
        self._data: list[str] = []
        self._data_chars = 0
        self._id: str | None = None
        self._pending_cr = False
        self.max_event_chars = max_event_chars

    def feed(self, chunk: bytes) -> list[SSEMessage]:
        return self._feed_text(self._utf8.decode(chunk))

    def flush(self) -> list[SSEMessage]:
        """End of stream: a complete-but-unterminated event is dispatched (lenient)."""
        out = self._feed_text(self._utf8.decode(b"", final=True))
        if self._parts:
            self._line(self._take_line(""))
        message = self._dispatch()
        if message is not None:
            out.append(message)
        return out

    def _feed_text(self, text: str) -> list[SSEMessage]:
        out: list[SSEMessage] = []
        if not text:
            return out  # an empty chunk changes nothing (a CR stays pending)
        start = 0
        if self._pending_cr and text[0] == "\n":
            start = 1  # the LF of a CRLF cut between chunks
        self._pending_cr = False
        for end in _LINE_END.finditer(text, start):
            message = self._line(self._take_line(text[start : end.start()]))
            if message is not None:
                out.append(message)
            start = end.end()
            if end.group() == "\r" and start == len(text):
                self._pending_cr = True
        if start < len(text):
            rest = text[start:]
            self._parts.append(rest)
            self._part_chars += len(rest)
            self._check(0)
        return out

    def _take_line(self, tail: str) -> str:
        if not self._parts:
            return tail
        self._parts.append(tail)
        line = "".join(self._parts)
        self._parts, self._part_chars = [], 0
        return line

    def _check(self, more: int) -> None:
        if self._data_chars + self._part_chars + more > self.max_event_chars:
            raise SSEEventTooLarge(self.max_event_chars)

    def _line(self, line: str) -> SSEMessage | None:
        if line == "":
            return self._dispatch()
        # A comment (`: keepalive`) has the empty field name, which is no field.
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._check(len(value) + 1)
            self._data.append(value)
            self._data_chars += len(value) + 1
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self) -> SSEMessage | None:
        if not self._data:
            self._event = ""
            return None
        message = SSEMessage(self._event or "message", "\n".join(self._data), self._id)
        self._event, self._data, self._data_chars = "", [], 0
        return message


def _size(chars: int) -> str:
    mb = chars / (1024 * 1024)
    return f"{mb:g} MB" if mb >= 1 else f"{chars:,} bytes"


def encode_sse(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    """One SSE message; `data` that is a dict is sent as compact JSON."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    lines = [f"event: {event}"] if event else []
    lines += [f"data: {part}" for part in payload.split("\n")]
    return ("\n".join(lines) + "\n\n").encode("utf-8")
