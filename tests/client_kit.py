"""A scripted server for ResponsesClient unit tests: httpx.MockTransport, recorded requests and
sleeps, no network and no real waiting (tests/test_unit_client*.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from tui.api.client import ResponsesClient
from tui.api.profiles import Profile
from tui.api.sse import encode_sse

KEY = "sk-unit-secret-0123456789"
HOST = "api.unit.test"
BASE = f"https://{HOST}/v1"
RID = "resp_" + "a" * 24
PREV = "resp_" + "p" * 24

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Server:
    """Answers requests from a script (the last answer repeats) and records what it was sent,
    and every wait the client asked for."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if len(self.requests) > 50:  # a client that never stops asking fails, not hangs
            raise AssertionError(f"{len(self.requests)} requests: the client does not stop")
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def client(
        self, profile: Profile | None = None, env: dict[str, str] | None = None, **kw: Any
    ) -> ResponsesClient:
        return ResponsesClient(
            profile or Profile(name="unit", base_url=BASE, api_key_env="UNIT_KEY"),
            env={"UNIT_KEY": KEY} if env is None else env,
            transport=httpx.MockTransport(self),
            sleep=self.sleep,
            **kw,
        )

    @property
    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]

    def params(self, n: int = -1) -> dict[str, str]:
        return dict(self.requests[n].url.params)

    def body(self, n: int = -1) -> Any:
        return json.loads(self.requests[n].content)


def reply(status: int = 200, body: Any = None, **kw: Any) -> httpx.Response:
    if body is None:
        return httpx.Response(status, **kw)
    if isinstance(body, bytes | str):
        return httpx.Response(status, content=body, **kw)
    return httpx.Response(status, json=body, **kw)


def response_obj(rid: str = RID, text: str = "hi", status: str = "completed") -> dict[str, Any]:
    return {
        "id": rid,
        "object": "response",
        "status": status,
        "model": "m",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ],
    }


def sse(*events: dict[str, Any] | bytes) -> httpx.Response:
    body = b"".join(e if isinstance(e, bytes) else encode_sse(e) for e in events)
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


def created(rid: str = RID) -> dict[str, Any]:
    return {
        "type": "response.created",
        "response": {"id": rid, "object": "response", "status": "in_progress", "output": []},
    }


def delta(text: str) -> dict[str, Any]:
    return {
        "type": "response.output_text.delta",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": text,
    }


def completed(text: str = "hi", rid: str = RID) -> dict[str, Any]:
    return {"type": "response.completed", "response": response_obj(rid, text)}


def page(ids: list[str], has_more: bool, **extra: Any) -> httpx.Response:
    data = [{"id": i, "object": "response"} for i in ids]
    return httpx.Response(200, json={"object": "list", "data": data, "has_more": has_more, **extra})
