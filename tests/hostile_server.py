"""A loopback HTTP server that misbehaves on purpose, chosen per test.

A test gives a `route(method, path, body) -> Reply` function; the server answers every request
with what it returns, and logs each request (method, raw path, headers) so a test can check
what the client sent (and where its bearer token went). Builders for the usual repertoire:
escapes in every field, ids that are not ids, deep nesting, redirects, login pages.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from loopback import serve

ESC = "\x1b]0;pwned\x07\x1b]52;c;SGVsbG8=\x07\x1b[31m\x9b2J\u202eevil"  # title, clipboard, …


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(value: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(value).encode())


def raw_json_reply(text: str, status: int = 200) -> Reply:
    return Reply(status, text.encode())


def text_reply(text: str, status: int = 200, content_type: str = "text/plain") -> Reply:
    return Reply(status, text.encode(), content_type)


def sse_reply(*events: dict | str) -> Reply:
    chunks = []
    for event in events:
        data = event if isinstance(event, str) else json.dumps(event)
        chunks.append(f"data: {data}\n\n")
    return Reply(200, "".join(chunks).encode(), "text/event-stream")


def deep(levels: int, leaf: Any = "x") -> str:
    """JSON text nested `levels` lists deep."""
    return "[" * levels + json.dumps(leaf) + "]" * levels


def response(rid: str, text: str = "ok", **extra: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "response",
        "created_at": 1_790_000_000,
        "status": "completed",
        "model": "m",
        "output": [
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text}],
            }
        ],
        **extra,
    }


def completed_stream(final: dict[str, Any]) -> Reply:
    created = {**final, "status": "in_progress", "output": []}
    return sse_reply(
        {"type": "response.created", "response": created},
        {"type": "response.completed", "response": final},
    )


Route = Callable[[str, str, Any], Reply]


@dataclass
class Hostile:
    base_url: str
    requests: list[tuple[str, str, dict[str, str]]]

    def paths(self) -> list[str]:
        return [path for _method, path, _headers in self.requests]


@contextmanager
def hostile(route: Route) -> Iterator[Hostile]:
    """Serve `route` on a free loopback port; yields the base URL (…/v1) and the log."""
    log: list[tuple[str, str, dict[str, str]]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            log.append((self.command, self.path, dict(self.headers.items())))
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            reply = route(self.command, self.path, body)
            self.send_response(reply.status)
            self.send_header("content-type", reply.content_type)
            self.send_header("content-length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args: Any) -> None:
            return None

    with serve(Handler) as base_url:
        yield Hostile(base_url, log)
