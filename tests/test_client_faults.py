"""Fault injection for ResponsesClient: HTTP errors, retries, network failures, broken streams.

Everything goes through httpx.MockTransport: no test touches the network.
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tui.api.accumulate import StreamAccumulator
from tui.api.client import ResponsesClient, parse_retry_after
from tui.api.errors import (
    AuthError,
    EndpointNotSupported,
    MissingApiKey,
    NetworkError,
    NotFoundError,
    RateLimited,
    ServerError,
    StreamFailed,
    StreamInterrupted,
)
from tui.api.events import ResponseEvent, TextDelta, UnknownEvent
from tui.api.profiles import Profile

KEY = "sk-secret-value-123456"
HOST = "api.example.test"
PROFILE = Profile(
    name="test", base_url=f"https://{HOST}/v1", api_key_env="X_KEY", default_model="m"
)
RID = "resp_" + "a" * 32


class Recorder:
    """A handler wrapper that records every request and every sleep."""

    def __init__(self, handler: Callable[[httpx.Request, int], Any]) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request, len(self.requests))

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def make(rec: Recorder, **kw: Any) -> ResponsesClient:
    return ResponsesClient(
        PROFILE,
        env={"X_KEY": KEY},
        transport=httpx.MockTransport(rec),
        sleep=rec.sleep,
        **kw,
    )


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


def sse(data: dict[str, Any] | str, event: str | None = None, *, ascii_only: bool = True) -> bytes:
    if isinstance(data, dict):
        payload = json.dumps(data, ensure_ascii=ascii_only)
        event = event or data.get("type")
    else:
        payload = data
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def created(rid: str = RID) -> bytes:
    return sse(
        {
            "type": "response.created",
            "response": {"id": rid, "object": "response", "status": "in_progress", "output": []},
        }
    )


def delta(text: str, **kw: Any) -> bytes:
    return sse(
        {
            "type": "response.output_text.delta",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "delta": text,
        },
        **kw,
    )


def completed(text: str, rid: str = RID, **kw: Any) -> bytes:
    return sse({"type": "response.completed", "response": response_obj(rid, text)}, **kw)


def sse_response(content: bytes | AsyncIterator[bytes]) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=content)


async def chunks(*parts: bytes, error: Exception | None = None) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
    if error is not None:
        raise error


def _decodes(piece: bytes) -> bool:
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


async def collect(client: ResponsesClient, body: dict[str, Any], acc: StreamAccumulator | None):
    events = []
    async for event in client.stream(body, acc):
        events.append(event)
    return events


BODY = {"model": "m", "input": "hello"}


# ------------------------------------------------------------------ auth and status errors


async def test_401_is_auth_error_and_never_leaks_the_key():
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        echoed = request.headers["authorization"]
        return httpx.Response(
            401, json={"error": {"message": f"Invalid key: {echoed} (raw {KEY})"}}
        )

    rec = Recorder(handler)
    async with make(rec) as client:
        with pytest.raises(AuthError) as info:
            await client.retrieve(RID)
    assert rec.requests[0].headers["authorization"] == f"Bearer {KEY}"
    message = str(info.value)
    assert "401" in message
    assert KEY not in message
    assert "secret-value" not in message
    assert info.value.status == 401
    assert len(rec.requests) == 1  # auth errors are not retried


async def test_auth_error_redacts_a_key_that_does_not_look_like_one():
    plain = "correcthorsebatterystaple"  # no sk-/fw- prefix: only the known-secret list catches it
    rec = Recorder(lambda r, n: httpx.Response(403, text=f"key {plain} is not allowed here"))
    client = ResponsesClient(
        PROFILE, env={"X_KEY": plain}, transport=httpx.MockTransport(rec), sleep=rec.sleep
    )
    async with client:
        with pytest.raises(AuthError) as info:
            await client.retrieve(RID)
    assert plain not in str(info.value)
    assert "403" in str(info.value)
    assert "not allowed" in str(info.value)


async def test_404_on_retrieve_is_not_found():
    rec = Recorder(lambda r, n: httpx.Response(404, json={"error": {"message": "nope"}}))
    async with make(rec) as client:
        with pytest.raises(NotFoundError) as info:
            await client.retrieve(RID)
    assert info.value.status == 404
    assert "nope" in str(info.value)
    assert len(rec.requests) == 1


# ------------------------------------------------------------------ rate limits


async def test_429_with_retry_after_then_success():
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if n == 1:
            return httpx.Response(429, headers={"Retry-After": "2"}, json={"error": "slow"})
        return httpx.Response(200, json=response_obj())

    rec = Recorder(handler)
    async with make(rec) as client:
        result = await client.retrieve(RID)
    assert result["id"] == RID
    assert rec.sleeps == [2.0]
    assert len(rec.requests) == 2


async def test_429_with_retry_after_beyond_the_limit_raises_at_once():
    rec = Recorder(
        lambda r, n: httpx.Response(429, headers={"Retry-After": "60"}, json={"error": "slow"})
    )
    async with make(rec, max_retry_after=30.0) as client:
        with pytest.raises(RateLimited) as info:
            await client.retrieve(RID)
    assert info.value.retry_after == 60.0
    assert len(rec.requests) == 1
    assert rec.sleeps == []


async def test_429_forever_gives_up_after_max_retries():
    rec = Recorder(lambda r, n: httpx.Response(429, json={"error": {"message": "busy"}}))
    async with make(rec, max_retries=2) as client:
        with pytest.raises(RateLimited) as info:
            await client.retrieve(RID)
    assert len(rec.requests) == 3
    assert len(rec.sleeps) == 2
    assert info.value.status == 429


async def test_429_on_create_is_retried():
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if n == 1:
            return httpx.Response(429, headers={"Retry-After": "1"})
        return httpx.Response(200, json=response_obj())

    rec = Recorder(handler)
    async with make(rec) as client:
        result = await client.create(BODY)
    assert result["id"] == RID
    assert len(rec.requests) == 2
    assert rec.sleeps == [1.0]


def test_parse_retry_after_seconds_and_http_date():
    now = 1_750_000_000.0
    when = email.utils.formatdate(now + 120, usegmt=True)
    assert parse_retry_after(when, now=now) == pytest.approx(120.0)
    past = email.utils.formatdate(now - 500, usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None


# ------------------------------------------------------------------ 5xx and network


async def test_500_on_get_is_retried_once_then_succeeds():
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if n == 1:
            return httpx.Response(500, json={"error": {"message": "oops"}})
        return httpx.Response(200, json=response_obj())

    rec = Recorder(handler)
    async with make(rec) as client:
        result = await client.retrieve(RID)
    assert result["status"] == "completed"
    assert len(rec.requests) == 2
    assert len(rec.sleeps) == 1


async def test_500_on_create_is_never_resent():
    rec = Recorder(lambda r, n: httpx.Response(500, json={"error": {"message": "oops"}}))
    async with make(rec) as client:
        with pytest.raises(ServerError) as info:
            await client.create(BODY)
    assert len(rec.requests) == 1
    assert rec.requests[0].method == "POST"
    assert info.value.status == 500
    assert "oops" in str(info.value)
    assert rec.sleeps == []


async def test_connect_error_on_create_is_retried():
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if n == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json=response_obj())

    rec = Recorder(handler)
    async with make(rec) as client:
        result = await client.create(BODY)
    assert result["id"] == RID
    assert len(rec.requests) == 2
    assert json.loads(rec.requests[1].content)["stream"] is False


async def test_connect_error_forever_is_network_error():
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    rec = Recorder(handler)
    async with make(rec, max_retries=2) as client:
        with pytest.raises(NetworkError) as info:
            await client.retrieve(RID)
    assert len(rec.requests) == 2  # refused: one quick second try, then said
    assert "cannot reach" in str(info.value)
    assert HOST in str(info.value)


async def test_read_timeout_on_create_is_not_retried():
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    rec = Recorder(handler)
    async with make(rec) as client:
        with pytest.raises(NetworkError) as info:
            await client.create(BODY)
    assert len(rec.requests) == 1
    message = str(info.value)
    assert HOST in message
    assert "timed out" in message
    assert "did not answer in time" in message


async def test_read_timeout_on_get_is_retried():
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if n == 1:
            raise httpx.ReadTimeout("read timed out", request=request)
        return httpx.Response(200, json=response_obj())

    rec = Recorder(handler)
    async with make(rec) as client:
        result = await client.retrieve(RID)
    assert result["id"] == RID
    assert len(rec.requests) == 2


async def test_network_error_message_names_host_and_hides_key():
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        raise httpx.ReadError(f"reset while sending Bearer {KEY}", request=request)

    rec = Recorder(handler)
    async with make(rec, max_retries=1) as client:
        with pytest.raises(NetworkError) as info:
            await client.delete(RID)
    message = str(info.value)
    assert "connection to" in message and "broke" in message
    assert HOST in message
    assert KEY not in message
    assert len(rec.requests) == 2


# ------------------------------------------------------------------ streams


async def test_stream_cut_midway_keeps_partial_text():
    body = chunks(created(), delta("Hel"), delta("lo, "), delta("wor"))
    rec = Recorder(lambda r, n: sse_response(body))
    acc = StreamAccumulator(BODY)
    seen: list[str] = []
    async with make(rec) as client:
        with pytest.raises(StreamInterrupted) as info:
            async for event in client.stream(BODY, acc):
                if isinstance(event, TextDelta):
                    seen.append(event.delta)
    partial = info.value.partial
    assert partial is not None
    assert partial["status"] == "incomplete"
    assert partial["id"] == RID
    assert partial["output"][0]["content"][0]["text"] == "Hello, wor"
    assert seen == ["Hel", "lo, ", "wor"]
    assert json.loads(rec.requests[0].content)["stream"] is True
    assert len(rec.requests) == 1


async def test_stream_read_error_midway_keeps_partial_text():
    body = chunks(created(), delta("Par"), delta("tial"), error=httpx.ReadError("connection reset"))
    rec = Recorder(lambda r, n: sse_response(body))
    async with make(rec) as client:
        with pytest.raises(StreamInterrupted) as info:
            await client.create_streamed(BODY)
    partial = info.value.partial
    assert partial["status"] == "incomplete"
    assert partial["output"][0]["content"][0]["text"] == "Partial"
    assert "broke" in str(info.value)
    assert len(rec.requests) == 1  # a streamed create is never re-sent


async def test_stream_skips_malformed_event_and_completes():
    body = chunks(
        created(),
        delta("A"),
        b"event: response.output_text.delta\ndata: {not json at all\n\n",
        delta("B"),
        completed("AB"),
    )
    rec = Recorder(lambda r, n: sse_response(body))
    acc = StreamAccumulator(BODY)
    async with make(rec) as client:
        final = await client.create_streamed(BODY, accumulator=acc)
    assert final["status"] == "completed"
    assert final["output"][0]["content"][0]["text"] == "AB"
    assert acc.text == "AB"
    assert acc.warnings
    assert any("malformed" in w for w in acc.warnings)


async def test_stream_error_event_is_stream_failed():
    body = chunks(
        created(),
        delta("so far"),
        sse(
            {"type": "error", "code": "server_error", "message": "the model crashed"},
            event="error",
        ),
    )
    rec = Recorder(lambda r, n: sse_response(body))
    async with make(rec) as client:
        with pytest.raises(StreamFailed) as info:
            await client.create_streamed(BODY)
    assert "the model crashed" in str(info.value)
    assert info.value.code == "server_error"
    assert info.value.partial["output"][0]["content"][0]["text"] == "so far"


async def test_stream_response_failed_is_stream_failed():
    failed = {
        "id": RID,
        "object": "response",
        "status": "failed",
        "output": [],
        "error": {"code": "rate_limit_exceeded", "message": "quota exhausted"},
    }
    body = chunks(created(), sse({"type": "response.failed", "response": failed}))
    rec = Recorder(lambda r, n: sse_response(body))
    async with make(rec) as client:
        with pytest.raises(StreamFailed) as info:
            await client.create_streamed(BODY)
    assert "quota exhausted" in str(info.value)
    assert info.value.code == "rate_limit_exceeded"
    assert info.value.partial["status"] == "failed"


async def test_stream_without_done_marker_completes():
    # OpenAI: the stream ends right after response.completed, no [DONE].
    body = created() + delta("Hi") + delta("!") + completed("Hi!")
    rec = Recorder(lambda r, n: sse_response(body))
    events: list[Any] = []
    async with make(rec) as client:
        final = await client.create_streamed(BODY, on_event=events.append)
    assert final["output"][0]["content"][0]["text"] == "Hi!"
    assert isinstance(events[-1], ResponseEvent)
    assert events[-1].type == "response.completed"


async def test_stream_with_done_marker_completes():
    body = created() + delta("Hi") + completed("Hi") + b"data: [DONE]\n\n"
    rec = Recorder(lambda r, n: sse_response(body))
    async with make(rec) as client:
        final = await client.create_streamed(BODY)
    assert final["status"] == "completed"
    assert final["output"][0]["content"][0]["text"] == "Hi"


async def test_stream_final_event_without_blank_line_completes():
    body = created() + delta("end") + completed("end").rstrip(b"\n")
    rec = Recorder(lambda r, n: sse_response(body))
    async with make(rec) as client:
        final = await client.create_streamed(BODY)
    assert final["status"] == "completed"
    assert final["output"][0]["content"][0]["text"] == "end"


async def test_stream_done_marker_without_terminal_event_is_interrupted():
    body = created() + delta("Hi") + b"data: [DONE]\n\n"
    rec = Recorder(lambda r, n: sse_response(body))
    async with make(rec) as client:
        with pytest.raises(StreamInterrupted) as info:
            await client.create_streamed(BODY)
    assert info.value.partial["output"][0]["content"][0]["text"] == "Hi"


async def test_stream_split_utf8_and_crlf():
    text = "héllo → wörld ✓"
    raw = (created() + delta(text, ascii_only=False) + completed(text, ascii_only=False)).replace(
        b"\n", b"\r\n"
    )
    # Cut every few bytes, which splits multi-byte characters and CR from LF.
    pieces = [raw[i : i + 3] for i in range(0, len(raw), 3)]
    assert any(p.endswith(b"\r") for p in pieces)
    assert any(not _decodes(p) for p in pieces)  # some piece splits a UTF-8 character
    rec = Recorder(lambda r, n: sse_response(chunks(*pieces)))
    acc = StreamAccumulator(BODY)
    async with make(rec) as client:
        final = await client.create_streamed(BODY, accumulator=acc)
    assert acc.text == text
    assert final["output"][0]["content"][0]["text"] == text
    assert acc.warnings == []


async def test_stream_keeps_unicode_line_separators_inside_json():
    text = "one\u2028two\u0085three\u2029four"
    body = created() + delta(text, ascii_only=False) + completed(text, ascii_only=False)
    assert "\u2028".encode() in body  # really raw in the wire bytes
    rec = Recorder(lambda r, n: sse_response(body))
    acc = StreamAccumulator(BODY)
    async with make(rec) as client:
        final = await client.create_streamed(BODY, accumulator=acc)
    assert acc.text == text
    assert final["output"][0]["content"][0]["text"] == text
    assert acc.warnings == []


async def test_stream_unknown_event_is_passed_through():
    unknown = sse({"type": "response.future_feature.delta", "payload": {"x": 1}})
    body = created() + delta("a") + unknown + completed("a")
    rec = Recorder(lambda r, n: sse_response(body))
    async with make(rec) as client:
        events = await collect(client, BODY, None)
    unknowns = [e for e in events if isinstance(e, UnknownEvent)]
    assert len(unknowns) == 1
    assert unknowns[0].type == "response.future_feature.delta"
    assert unknowns[0].data["payload"] == {"x": 1}
    assert events[-1].type == "response.completed"


async def test_stream_server_answering_plain_json():
    rec = Recorder(lambda r, n: httpx.Response(200, json=response_obj(text="whole")))
    acc = StreamAccumulator(BODY)
    async with make(rec) as client:
        events = await collect(client, BODY, acc)
    assert len(events) == 1
    assert isinstance(events[0], ResponseEvent)
    assert events[0].type == "response.completed"
    assert acc.final is not None
    assert acc.final["output"][0]["content"][0]["text"] == "whole"
    assert json.loads(rec.requests[0].content)["stream"] is True


async def test_stream_plain_json_failed_response_is_stream_failed():
    failed = {**response_obj(status="failed"), "error": {"code": "x", "message": "bad model"}}
    rec = Recorder(lambda r, n: httpx.Response(200, json=failed))
    async with make(rec) as client:
        with pytest.raises(StreamFailed) as info:
            await client.create_streamed(BODY)
    assert "bad model" in str(info.value)


async def test_stream_http_error_before_events_is_status_error():
    rec = Recorder(lambda r, n: httpx.Response(401, json={"error": {"message": "bad key"}}))
    async with make(rec) as client:
        with pytest.raises(AuthError):
            await client.create_streamed(BODY)
    assert len(rec.requests) == 1


# ------------------------------------------------------------------ input items and listing


async def test_list_input_items_follows_pages():
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        assert request.url.path == f"/v1/responses/{RID}/input_items"
        after = request.url.params.get("after")
        if after is None:
            return httpx.Response(
                200,
                json={
                    "object": "list",
                    "data": [{"id": "in_1", "type": "message"}, {"id": "in_2"}],
                    "has_more": True,
                    "last_id": "in_2",
                },
            )
        return httpx.Response(
            200,
            json={"object": "list", "data": [{"id": "in_3"}], "has_more": False},
        )

    rec = Recorder(handler)
    async with make(rec) as client:
        items = await client.list_input_items(RID)
    assert [i["id"] for i in items] == ["in_1", "in_2", "in_3"]
    assert len(rec.requests) == 2
    assert "after" not in rec.requests[0].url.params
    assert rec.requests[1].url.params["after"] == "in_2"
    assert rec.requests[0].url.params["order"] == "asc"


async def test_input_items_unclear_404_with_existing_response_is_endpoint_not_supported():
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if request.url.path.endswith("/input_items"):
            return httpx.Response(404, json={"detail": "Nothing here"})
        return httpx.Response(200, json=response_obj())

    rec = Recorder(handler)
    async with make(rec) as client:
        with pytest.raises(EndpointNotSupported):
            await client.list_input_items(RID)
        assert client.cannot("input_items")
    assert [r.url.path for r in rec.requests] == [
        f"/v1/responses/{RID}/input_items",
        f"/v1/responses/{RID}",
    ]


@pytest.mark.parametrize(
    "body",
    [
        "404 page not found",  # Go's net/http
        {"error": {"message": f"no route /v1/responses/{RID}/input_items", "type": "not_found"}},
    ],
)
async def test_input_items_route_404_is_endpoint_not_supported_at_once(body):
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(404, text=body)
        return httpx.Response(404, json=body)

    rec = Recorder(handler)
    async with make(rec) as client:
        with pytest.raises(EndpointNotSupported):
            await client.list_input_items(RID)
        with pytest.raises(EndpointNotSupported):  # learned: not asked again
            await client.list_input_items(RID)
    assert len(rec.requests) == 1


async def test_input_items_404_with_missing_response_is_not_found():
    rec = Recorder(lambda r, n: httpx.Response(404, json={"detail": "Response not found"}))
    async with make(rec) as client:
        with pytest.raises(NotFoundError) as info:
            await client.list_input_items(RID)
    assert not isinstance(info.value, EndpointNotSupported)
    assert len(rec.requests) == 2


async def test_list_responses_follows_pages():
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        assert request.method == "GET"
        assert request.url.path == "/v1/responses"
        if request.url.params.get("after") is None:
            return httpx.Response(
                200,
                json={"data": [{"id": "r3"}, {"id": "r2"}], "has_more": True, "last_id": "r2"},
            )
        return httpx.Response(200, json={"data": [{"id": "r1"}], "has_more": False})

    rec = Recorder(handler)
    async with make(rec) as client:
        ids = [r["id"] async for r in client.list_responses(limit=2)]
        assert await client.supports_list()
    assert ids == ["r3", "r2", "r1"]
    assert rec.requests[0].url.params["limit"] == "2"
    assert rec.requests[1].url.params["after"] == "r2"


@pytest.mark.parametrize("status", [404, 405])
async def test_list_responses_missing_endpoint(status: int):
    rec = Recorder(lambda r, n: httpx.Response(status, json={"detail": "Not Found"}))
    async with make(rec) as client:
        with pytest.raises(EndpointNotSupported):
            async for _ in client.list_responses():
                pass
        assert await client.supports_list() is False


@pytest.mark.parametrize("status", [404, 405])
async def test_supports_list_false_on_fresh_client(status: int):
    rec = Recorder(lambda r, n: httpx.Response(status, json={"detail": "Method Not Allowed"}))
    async with make(rec) as client:
        assert await client.supports_list() is False
    assert len(rec.requests) == 1


# ------------------------------------------------------------------ delete


@pytest.mark.parametrize(
    "server_body",
    [
        {"id": RID, "object": "response", "deleted": True},  # OpenAI
        {"message": "Response deleted successfully"},  # Fireworks
    ],
)
async def test_delete_normalises_both_shapes(server_body: dict[str, Any]):
    rec = Recorder(lambda r, n: httpx.Response(200, json=server_body))
    async with make(rec) as client:
        result = await client.delete(RID)
    assert result == {"id": RID, "deleted": True, "raw": server_body}
    assert rec.requests[0].method == "DELETE"
    assert rec.requests[0].url.path == f"/v1/responses/{RID}"


# ------------------------------------------------------------------ missing key


def test_missing_api_key_names_the_variable():
    def handler(request: httpx.Request) -> httpx.Response:  # pragma: no cover
        raise AssertionError("nothing may be sent without a key")

    with pytest.raises(MissingApiKey) as info:
        ResponsesClient(PROFILE, env={}, transport=httpx.MockTransport(handler))
    assert "X_KEY" in str(info.value)
    assert isinstance(info.value, AuthError)
    with pytest.raises(MissingApiKey):
        ResponsesClient(PROFILE, env={"X_KEY": "   "}, transport=httpx.MockTransport(handler))
