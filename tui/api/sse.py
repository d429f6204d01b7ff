"""Server-sent events, decoded by hand to the letter of the spec.

Lines end only at CRLF, LF or CR (not at U+2028 or U+0085, which `str.splitlines` and httpx's
line iterator also treat as breaks and which models do emit). UTF-8 split across chunks is
reassembled. Comments (`: keepalive`) are ignored; multi-line `data:` is joined with LF.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SSEMessage:
    event: str
    data: str
    id: str | None = None


class SSEDecoder:
    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._buffer = ""
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._pending_cr = False

    def feed(self, chunk: bytes) -> list[SSEMessage]:
        return self._feed_text(self._utf8.decode(chunk))

    def flush(self) -> list[SSEMessage]:
        """End of stream: a complete-but-unterminated event is dispatched (lenient)."""
        out = self._feed_text(self._utf8.decode(b"", final=True))
        if self._buffer:
            self._line(self._buffer)
            self._buffer = ""
        message = self._dispatch()
        if message is not None:
            out.append(message)
        return out

    def _feed_text(self, text: str) -> list[SSEMessage]:
        out: list[SSEMessage] = []
        if self._pending_cr and text.startswith("\n"):
            text = text[1:]
        self._pending_cr = False
        buffer = self._buffer + text
        start = 0
        i = 0
        n = len(buffer)
        while i < n:
            ch = buffer[i]
            if ch == "\n" or ch == "\r":
                line = buffer[start:i]
                if ch == "\r":
                    if i + 1 < n and buffer[i + 1] == "\n":
                        i += 1
                    elif i + 1 == n:
                        self._pending_cr = True
                message = self._line(line)
                if message is not None:
                    out.append(message)
                start = i + 1
            i += 1
        self._buffer = buffer[start:]
        return out

    def _line(self, line: str) -> SSEMessage | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self) -> SSEMessage | None:
        if not self._data:
            self._event = ""
            return None
        message = SSEMessage(self._event or "message", "\n".join(self._data), self._id)
        self._event, self._data = "", []
        return message


def encode_sse(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    """One SSE message; `data` that is a dict is sent as compact JSON."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    lines = [f"event: {event}"] if event else []
    lines += [f"data: {part}" for part in payload.split("\n")]
    return ("\n".join(lines) + "\n\n").encode("utf-8")
