"""ResponsesClient.stream and create_streamed: events as they arrive, the end of a stream,
every way a stream breaks or fails, and the partial answer kept each time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from client_kit import HOST, KEY, PREV, RID, Server, completed, created, delta, reply, response_obj

from tui.api.accumulate import StreamAccumulator
from tui.api.client import MAX_STREAM_EVENTS, MAX_STREAM_SECONDS
from tui.api.errors import (
    BadRequest,
    EndpointNotSupported,
    NetworkError,
    PreviousResponseNotFound,
    ProtocolError,
    StreamFailed,
    StreamInterrupted,
)
from tui.api.events import ErrorEvent, ResponseEvent, TextDelta, UnknownEvent
from tui.api.sse import encode_sse

BODY = {"model": "m", "input": "hi"}
SSE = {"content-type": "text/event-stream"}


def streamed(*parts: bytes | dict[str, Any] | str) -> httpx.Response:
    return httpx.Response(200, headers=SSE, content=b"".join(encode(p) for p in parts))


def encode(part: bytes | dict[str, Any] | str) -> bytes:
    if isinstance(part, bytes):
        return part
    return encode_sse(part)


async def trickle(*parts: bytes, error: Exception | None = None) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
    if error is not None:
        raise error


async def events_of(client, body: dict[str, Any] = BODY, acc: StreamAccumulator | None = None):
    return [event async for event in client.stream(body, acc)]


# ------------------------------------------------------------------ a stream that completes


async def test_a_stream_yields_typed_events_until_the_terminal_one():
    server = Server(streamed(created(), delta("Hel"), delta("lo"), completed("Hello"), b"junk"))
    acc = StreamAccumulator(BODY)
    async with server.client() as client:
        events = await events_of(client, acc=acc)
    assert [e.type for e in events] == [
        "response.created",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.completed",
    ]
    assert isinstance(events[1], TextDelta) and events[1].delta == "Hel"
    assert acc.final is not None and acc.final["id"] == RID
    assert acc.warnings == []
    assert server.body() == {"model": "m", "input": "hi", "stream": True}
    assert server.requests[0].method == "POST"
    assert server.requests[0].url.path == "/v1/responses"
    assert BODY == {"model": "m", "input": "hi"}  # the caller's body is left alone


async def test_events_are_yielded_as_they_arrive_not_when_the_body_ends():
    more = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield encode_sse(created())
        await more.wait()
        yield encode_sse(completed("done"))

    server = Server(lambda r: httpx.Response(200, headers=SSE, content=body()))
    seen = []
    async with server.client(deadline=1.0) as client:  # headers come at once
        async for event in client.stream(BODY):
            seen.append(event.type)
            more.set()
    assert seen == ["response.created", "response.completed"]


async def test_a_stream_split_anywhere_reads_the_same():
    whole = encode_sse(created()) + encode_sse(delta("é✓")) + encode_sse(completed("é✓"))
    parts = [whole[n : n + 7] for n in range(0, len(whole), 7)]
    server = Server(lambda r: httpx.Response(200, headers=SSE, content=trickle(*parts)))
    async with server.client() as client:
        events = await events_of(client)
    assert [e.type for e in events][-1] == "response.completed"
    assert events[1].delta == "é✓"


async def test_a_final_event_without_its_blank_line_still_counts():
    server = Server(streamed(created(), b"data: " + json.dumps(completed("x")).encode()))
    async with server.client() as client:
        events = await events_of(client)
    assert events[-1].type == "response.completed"


async def test_the_event_name_types_an_event_whose_data_does_not():
    server = Server(
        streamed(
            created(),
            b'event: response.output_text.delta\ndata: {"item_id": "m", "delta": "x"}\n\n',
            completed("x"),
        )
    )
    async with server.client() as client:
        events = await events_of(client)
    assert isinstance(events[1], TextDelta)
    assert events[1].type == "response.output_text.delta"


async def test_malformed_and_non_object_events_are_skipped_with_a_warning():
    server = Server(
        streamed(
            created(),
            b"event: response.output_text.delta\ndata: {not json\n\n",
            b"data: {oops\n\n",
            b"data: [1, 2]\n\n",
            b'data: "text"\n\n',
            b"data: " + b"[" * 5000 + b"]" * 5000 + b"\n\n",
            completed("x"),
        )
    )
    acc = StreamAccumulator(BODY)
    async with server.client() as client:
        events = await events_of(client, acc=acc)
    assert [e.type for e in events] == ["response.created", "response.completed"]
    assert acc.warnings == [
        "skipped a malformed event (response.output_text.delta)",
        "skipped a malformed event (message)",
        "skipped an event that is not an object",
        "skipped an event that is not an object",
        "skipped a malformed event (message)",
    ]


async def test_unknown_events_are_passed_through():
    server = Server(streamed(created(), {"type": "vendor.ping", "n": 1}, completed("x")))
    async with server.client() as client:
        events = await events_of(client)
    assert isinstance(events[1], UnknownEvent) and events[1].type == "vendor.ping"


async def test_the_done_marker_ends_a_stream_and_what_follows_is_not_read():
    server = Server(streamed(created(), delta("partial"), b"data:  [DONE] \n\n", completed("x")))
    async with server.client() as client:
        with pytest.raises(StreamInterrupted) as info:
            await events_of(client)
    assert str(info.value) == (
        "the stream ended before the response finished; the partial answer is kept"
    )
    assert info.value.partial["status"] == "incomplete"
    assert info.value.partial["incomplete_details"] == {"reason": "interrupted"}
    assert info.value.partial["output"][0]["content"][0]["text"] == "partial"


async def test_nothing_after_the_done_marker_is_read():
    parts = (encode_sse(created()), b"data: [DONE]\n\n", encode_sse(completed("late")))
    server = Server(lambda r: httpx.Response(200, headers=SSE, content=trickle(*parts)))
    async with server.client() as client:
        with pytest.raises(StreamInterrupted):
            await events_of(client)


async def test_a_lowercase_done_is_just_a_malformed_event():
    server = Server(streamed(created(), b"data: [done]\n\n", completed("x")))
    acc = StreamAccumulator(BODY)
    async with server.client() as client:
        events = await events_of(client, acc=acc)
    assert events[-1].type == "response.completed"
    assert acc.warnings == ["skipped a malformed event (message)"]


async def test_a_stream_that_just_ends_is_interrupted_with_the_partial_answer():
    server = Server(streamed(created(), delta("half")))
    acc = StreamAccumulator(BODY)
    async with server.client() as client:
        with pytest.raises(StreamInterrupted) as info:
            await events_of(client, acc=acc)
    assert str(info.value) == (
        "the stream ended before the response finished; the partial answer is kept"
    )
    assert info.value.partial["id"] == RID
    assert info.value.partial["output"][0]["content"][0]["text"] == "half"


# ------------------------------------------------------------------ a stream that breaks


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (httpx.ReadTimeout("slow"), "timed out"),
        (httpx.ReadError("reset"), "ReadError"),
        (httpx.RemoteProtocolError("bad chunk"), "RemoteProtocolError"),
    ],
)
async def test_a_stream_that_breaks_keeps_the_partial_answer(error: Exception, kind: str):
    parts = (encode_sse(created()), encode_sse(delta("so far")))
    server = Server(
        lambda r: httpx.Response(200, headers=SSE, content=trickle(*parts, error=error))
    )
    async with server.client() as client:
        with pytest.raises(StreamInterrupted) as info:
            await events_of(client)
    assert str(info.value) == (
        f"the stream from {HOST} broke before the reply finished ({kind}); the partial answer "
        "is kept, marked incomplete"
    )
    assert info.value.partial["output"][0]["content"][0]["text"] == "so far"
    assert len(server.requests) == 1  # a create is never sent twice


async def test_an_event_larger_than_the_limit_stops_the_stream():
    parts = (encode_sse(created()), encode_sse(delta("kept")), encode_sse(delta("x" * 5000)))
    server = Server(lambda r: httpx.Response(200, headers=SSE, content=trickle(*parts)))
    async with server.client(max_event_bytes=2048) as client:
        with pytest.raises(StreamInterrupted) as info:
            await events_of(client)
    assert str(info.value) == (
        f"the stream from {HOST} sent an event larger than 2,048 bytes, more than "
        "responses-tui reads; the partial answer is kept, marked incomplete"
    )
    assert info.value.partial["output"][0]["content"][0]["text"] == "kept"


class Clock:
    def __init__(self, *times: float) -> None:
        self.times = list(times)

    def __call__(self) -> float:
        return self.times.pop(0) if len(self.times) > 1 else self.times[0]


async def test_a_stream_that_goes_on_past_an_hour_is_cut_off():
    parts = (encode_sse(created()), encode_sse(delta("long")), encode_sse(completed("x")))
    server = Server(lambda r: httpx.Response(200, headers=SSE, content=trickle(*parts)))
    async with server.client() as client:
        # started at 0; the first chunks come in time, the next after the hour
        client._clock = Clock(0.0, 1.0, 2.0, MAX_STREAM_SECONDS + 0.5)
        with pytest.raises(StreamInterrupted) as info:
            await events_of(client)
    assert str(info.value) == (
        f"the stream from {HOST} went on for longer than responses-tui follows a reply; the "
        "partial answer is kept, marked incomplete"
    )
    assert info.value.partial["output"][0]["content"][0]["text"] == "long"


async def test_a_stream_exactly_at_the_hour_is_still_followed():
    parts = (encode_sse(created()), encode_sse(completed("x")))
    server = Server(lambda r: httpx.Response(200, headers=SSE, content=trickle(*parts)))
    async with server.client() as client:
        client._clock = Clock(0.0, MAX_STREAM_SECONDS)
        events = await events_of(client)
    assert events[-1].type == "response.completed"


async def test_a_stream_with_too_many_events_is_cut_off():
    server = Server(streamed(created(), completed("x")))
    acc = StreamAccumulator(BODY)
    acc.events = MAX_STREAM_EVENTS + 1  # as if two million events had come already
    async with server.client() as client:
        with pytest.raises(StreamInterrupted, match="went on for longer than"):
            await events_of(client, acc=acc)
    acc = StreamAccumulator(BODY)
    acc.events = MAX_STREAM_EVENTS  # at the limit: still followed
    async with server.client() as client:
        events = await events_of(client, acc=acc)
    assert events[-1].type == "response.completed"


# ------------------------------------------------------------------ a stream that fails


async def test_an_error_event_fails_the_stream_with_the_servers_words():
    error = {"type": "error", "code": "server_error", "message": f"overloaded ({KEY})"}
    server = Server(streamed(created(), delta("so far"), error))
    acc = StreamAccumulator(BODY)
    async with server.client() as client:
        with pytest.raises(StreamFailed) as info:
            await events_of(client, acc=acc)
    assert str(info.value) == "the server reported an error [server_error]: overloaded (***)"
    assert info.value.code == "server_error"
    partial = info.value.partial
    assert partial["status"] == "failed"
    assert "incomplete_details" not in partial
    assert partial["error"] == {"code": "server_error", "message": "overloaded (***)"}
    assert partial["output"][0]["content"][0]["text"] == "so far"


async def test_an_error_event_without_a_code():
    server = Server(streamed(created(), {"type": "error", "message": "boom"}))
    async with server.client() as client:
        with pytest.raises(StreamFailed) as info:
            await events_of(client)
    assert str(info.value) == "the server reported an error: boom"
    assert info.value.code is None
    assert info.value.partial["error"] == {"code": "error", "message": "boom"}


async def test_an_error_naming_the_previous_response_before_anything_was_created():
    said = f"Response '{PREV}' not found"
    server = Server(streamed({"type": "error", "code": "not_found", "message": said}))
    async with server.client() as client:
        with pytest.raises(PreviousResponseNotFound) as info:
            await events_of(client, {**BODY, "previous_response_id": PREV})
    assert str(info.value) == f"create: the previous response cannot be continued ({said})"
    assert info.value.status == 404
    assert info.value.code == "not_found"
    assert info.value.detail == said


async def test_the_same_error_after_the_response_was_created_is_a_failure():
    said = f"Response '{PREV}' not found"
    server = Server(streamed(created(), {"type": "error", "message": said}))
    async with server.client() as client:
        with pytest.raises(StreamFailed):
            await events_of(client, {**BODY, "previous_response_id": PREV})


async def test_a_previous_response_id_that_is_not_a_string_is_not_matched():
    said = "Response '42' not found"
    server = Server(streamed({"type": "error", "message": said}))
    async with server.client() as client:
        with pytest.raises(StreamFailed):
            await events_of(client, {**BODY, "previous_response_id": 42})


async def test_a_previous_missing_code_alone_is_enough():
    error = {"type": "error", "code": "previous_response_not_found", "message": "gone"}
    server = Server(streamed(error))
    async with server.client() as client:
        with pytest.raises(PreviousResponseNotFound):
            await events_of(client, {**BODY, "previous_response_id": PREV})


@pytest.mark.parametrize(
    "said", [{"detail": "Not Found"}, {"type": "error", "message": "Not Found."}]
)
async def test_a_wrapped_route_404_before_anything_was_created_is_a_missing_route(said):
    server = Server(streamed(said))
    async with server.client() as client:
        with pytest.raises(EndpointNotSupported) as info:
            await events_of(client)
        assert client.cannot("create")
    said = said.get("detail") or said.get("message")
    assert str(info.value) == (
        f"this server ({HOST}) cannot create responses at this URL (no /v1/responses route: "
        f"try the base URL without /v1): {said}"
    )


async def test_a_bare_not_found_after_the_response_was_created_is_a_failure():
    server = Server(streamed(created(), {"type": "error", "message": "Not Found"}))
    async with server.client() as client:
        with pytest.raises(StreamFailed) as info:
            await events_of(client)
        assert not client.cannot("create")
    assert str(info.value) == "the server reported an error: Not Found"


@pytest.mark.parametrize(
    ("error", "said", "code"),
    [
        ({"code": "rate_limit", "message": f"quota ({KEY})"}, "quota (***)", "rate_limit"),
        ({"message": ""}, "no reason given", None),
        (None, "no reason given", None),
        ("model crashed", "model crashed", None),
    ],
)
async def test_a_failed_response_fails_the_stream_and_is_kept_whole(error, said, code):
    failed = response_obj(status="failed")
    failed["error"] = error
    server = Server(streamed(created(), {"type": "response.failed", "response": failed}))
    async with server.client() as client:
        with pytest.raises(StreamFailed) as info:
            await events_of(client)
    assert str(info.value) == f"the response failed: {said}"
    assert info.value.code == code
    assert info.value.partial == failed


async def test_an_incomplete_response_ends_the_stream_without_failing():
    incomplete = response_obj(status="incomplete")
    server = Server(streamed(created(), {"type": "response.incomplete", "response": incomplete}))
    async with server.client() as client:
        events = await events_of(client)
    assert events[-1].type == "response.incomplete"


# ------------------------------------------------------------------ the server ignores `stream`


@pytest.mark.parametrize(
    ("status", "terminal"),
    [("completed", "response.completed"), ("incomplete", "response.incomplete")],
)
async def test_a_whole_json_answer_is_one_terminal_event(status: str, terminal: str):
    whole = response_obj(status=status)
    server = Server(reply(200, json.dumps(whole).encode()))  # no content type at all
    acc = StreamAccumulator(BODY)
    async with server.client() as client:
        events = await events_of(client, acc=acc)
    assert len(events) == 1
    assert isinstance(events[0], ResponseEvent)
    assert events[0].type == terminal
    assert events[0].response == whole
    assert acc.final == whole


async def test_a_whole_json_failed_answer_fails_the_stream():
    whole = response_obj(status="failed")
    whole["error"] = {"code": "boom", "message": "it broke"}
    server = Server(reply(200, whole))
    async with server.client() as client:
        with pytest.raises(StreamFailed) as info:
            await events_of(client)
    assert str(info.value) == "the response failed: it broke"


async def test_a_whole_json_answer_that_is_no_response_is_refused_as_a_create():
    server = Server(reply(200, [1]))
    async with server.client() as client:
        with pytest.raises(ProtocolError) as info:
            await events_of(client)
    assert str(info.value) == (
        "create: the server answered 200 without a response object (it sent a list)"
    )


async def test_a_whole_json_answer_is_read_within_the_body_cap():
    body = json.dumps(response_obj()).encode()
    server = Server(reply(200, body, headers={"content-type": "application/json"}))
    async with server.client(max_body_bytes=len(body) - 1) as client:
        with pytest.raises(ProtocolError) as info:
            await events_of(client)
    assert str(info.value) == f"create: the server sent more than {len(body) - 1:,} bytes"


async def test_a_whole_json_answer_is_read_within_the_deadline():
    async def stalls() -> AsyncIterator[bytes]:
        yield b'{"id": '
        await asyncio.Event().wait()

    server = Server(lambda r: httpx.Response(200, content=stalls()))
    async with server.client(deadline=0.02) as client:
        with pytest.raises(NetworkError) as info:
            await events_of(client)
    assert str(info.value) == f"create: {HOST} did not answer in time (timed out)"


async def test_an_http_error_to_a_stream_is_the_error_in_the_servers_words():
    server = Server(reply(400, {"error": {"message": "unknown model"}}, headers=SSE))
    async with server.client() as client:
        with pytest.raises(BadRequest) as info:
            await events_of(client)
    assert str(info.value) == "create: rejected (400: unknown model)"


# ------------------------------------------------------------------ create_streamed


async def test_create_streamed_returns_the_final_response_and_calls_back_each_event():
    server = Server(streamed(created(), delta("a"), completed("a")))
    seen: list[str] = []
    async with server.client() as client:
        final = await client.create_streamed(BODY, lambda e: seen.append(e.type))
    assert final == response_obj(text="a")
    assert seen == ["response.created", "response.output_text.delta", "response.completed"]


async def test_create_streamed_awaits_an_async_callback():
    server = Server(streamed(created(), completed("a")))
    seen: list[str] = []

    async def on_event(event) -> None:
        await asyncio.sleep(0)
        seen.append(event.type)

    async with server.client() as client:
        await client.create_streamed(BODY, on_event)
    assert seen == ["response.created", "response.completed"]


async def test_create_streamed_fills_the_given_accumulator():
    server = Server(streamed(created(), delta("part")))
    acc = StreamAccumulator(BODY)
    async with server.client() as client:
        with pytest.raises(StreamInterrupted):
            await client.create_streamed(BODY, accumulator=acc)
    assert acc.response_id == RID
    assert acc.partial()["output"][0]["content"][0]["text"] == "part"


async def test_create_streamed_reads_the_request_it_was_given():
    said = f"Response '{PREV}' not found"
    server = Server(streamed({"type": "error", "message": said}))
    async with server.client() as client:
        with pytest.raises(PreviousResponseNotFound):
            await client.create_streamed({**BODY, "previous_response_id": PREV})


async def test_create_streamed_without_a_callback():
    server = Server(streamed(created(), completed("b")))
    async with server.client() as client:
        assert (await client.create_streamed(BODY))["id"] == RID


async def test_an_error_event_is_an_error_event():
    server = Server(streamed({"type": "error", "message": "boom"}))
    seen = []
    async with server.client() as client:
        with pytest.raises(StreamFailed):
            await client.create_streamed(BODY, seen.append)
    assert isinstance(seen[0], ErrorEvent)
