"""Replay the recorded exchanges of real servers (tests/wire/*.jsonl) through httpx.

Each line of a recording is one exchange between responses-tui's client and a server that
this project did not write: method, path, the JSON body sent, status, headers, and the body
exactly as received (JSON, or the raw SSE stream). `WireServer` answers a request with the
first unused exchange of the same method, path and query, and, for a POST, the same JSON body;
`extra` handlers answer what was not recorded (written from the server's documented shape).
A request nothing answers fails the test, with what was asked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from tui.api.client import ResponsesClient
from tui.api.profiles import Profile

WIRE = Path(__file__).parent / "wire"
LLAMA = "llama-stack-0.7.3.jsonl"
ORS = "open-responses-server-0.4.3.jsonl"
# GET /models of each, recorded here with scripts/record_models.py (tests/wire/README.md).
LLAMA_MODELS = "llama-stack-0.7.3-models.jsonl"
ORS_MODELS = "open-responses-server-0.4.3-models.jsonl"
# Where each recording's server lived (its base URL, with or without /v1, as recorded).
BASE_URLS = {
    LLAMA: "http://llama.test/v1",
    ORS: "http://ors.test",
    LLAMA_MODELS: "http://llama.test/v1",
    ORS_MODELS: "http://ors.test",
}


@dataclass(frozen=True)
class Exchange:
    n: int
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    request: Any
    status: int
    content_type: str
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def load(name: str) -> list[Exchange]:
    out = []
    for n, line in enumerate((WIRE / name).read_text("utf-8").splitlines()):
        record = json.loads(line)
        parts = urlsplit(record["path"])
        response = record["response"]
        body = response if isinstance(response, str) else json.dumps(response)
        headers = {k.lower(): v for k, v in (record.get("headers") or {}).items()}
        out.append(
            Exchange(
                n=n,
                method=record["method"],
                path=parts.path,
                query=tuple(sorted(parse_qsl(parts.query))),
                request=record.get("request"),
                status=record["status"],
                content_type=headers.get("content-type", "application/json"),
                body=body.encode("utf-8"),
            )
        )
    return out


Handler = Callable[[httpx.Request, Any], httpx.Response | None]


class WireServer(httpx.AsyncBaseTransport):
    """A recorded server. `only` limits it to some exchanges (by line number); `extra` is
    asked first and may answer (return a response) or pass (return None)."""

    def __init__(
        self, name: str, *, only: list[int] | None = None, extra: Handler | None = None
    ) -> None:
        self.name = name
        self.exchanges = [e for e in load(name) if only is None or e.n in only]
        self.used: set[int] = set()
        self.extra = extra
        self.requests: list[tuple[str, str, Any]] = []  # (method, path?query, body)
        self.answered: list[int] = []  # line numbers, in the order they answered

    def exchange(self, n: int) -> Exchange:
        return next(e for e in load(self.name) if e.n == n)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raw = await request.aread()
        body = json.loads(raw) if raw else None
        query = tuple(sorted(parse_qsl(request.url.query.decode())))
        self.requests.append((request.method, request.url.raw_path.decode(), body))
        if self.extra is not None:
            answer = self.extra(request, body)
            if answer is not None:
                return answer
        for exchange in self.exchanges:
            if exchange.n in self.used:
                continue
            if (exchange.method, exchange.path, exchange.query) != (
                request.method,
                request.url.path,
                query,
            ):
                continue
            if request.method == "POST" and exchange.request != body:
                continue
            self.used.add(exchange.n)
            self.answered.append(exchange.n)
            return httpx.Response(
                exchange.status,
                headers={"content-type": exchange.content_type},
                content=exchange.body,
            )
        raise AssertionError(
            f"{self.name} has no recorded answer for {request.method} {request.url} {body}"
        )


def wire_client(server: WireServer, *, base_url: str = "", **kw: Any) -> ResponsesClient:
    """A client of the recorded server, with no retry waits (`base_url`: another than the
    recording's own, such as a user would type by mistake)."""

    async def no_sleep(_seconds: float) -> None:
        return None

    base_url = base_url or BASE_URLS[server.name]
    profile = Profile(name="wire", base_url=base_url, default_model="")
    return ResponsesClient(profile, env={}, transport=server, sleep=no_sleep, **kw)


def wire_server_id(name: str) -> str:
    from tui.ops.connect import server_id

    return server_id(Profile(name="wire", base_url=BASE_URLS[name], default_model=""))


def request_of(name: str, n: int) -> Any:
    return next(e for e in load(name) if e.n == n).request


def response_of(name: str, n: int) -> Any:
    """The final response object of exchange `n` (the last `response` of a stream)."""
    exchange = next(e for e in load(name) if e.n == n)
    text = exchange.body.decode()
    if not exchange.content_type.startswith("text/event-stream"):
        return json.loads(text)
    final = None
    for line in text.splitlines():
        if line.startswith("data: "):
            data = json.loads(line[6:])
            if isinstance(data, dict) and isinstance(data.get("response"), dict):
                final = data["response"]
    return final
