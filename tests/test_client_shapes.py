"""Lenient parsing of the shapes real servers send: error bodies, items, stream events, SSE."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tui.api.accumulate import StreamAccumulator
from tui.api.client import ResponsesClient
from tui.api.errors import (
    AuthError,
    BadRequest,
    NotFoundError,
    PreviousResponseNotFound,
    ProtocolError,
    ServerError,
)
from tui.api.events import ReasoningDelta, ToolEvent, parse_event
from tui.api.items import (
    item_type,
    normalize_mcp_call,
    response_text,
    split_think,
    uses_tools,
)
from tui.api.profiles import Profile
from tui.api.sse import SSEDecoder, SSEMessage

KEY = "fw-test-key-abcdef123456"
PROFILE = Profile(name="shapes", base_url="https://fw.example.test/inference/v1", api_key_env="K")
RID = "resp_" + "b" * 32
PREV = "resp_" + "c" * 32


async def no_sleep(_seconds: float) -> None:
    return None


def client_for(handler, **kw: Any) -> tuple[ResponsesClient, list[httpx.Request]]:
    requests: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return handler(request)

    client = ResponsesClient(
        PROFILE, env={"K": KEY}, transport=httpx.MockTransport(recording), sleep=no_sleep, **kw
    )
    return client, requests


# ------------------------------------------------------------------ error bodies


async def test_fireworks_previous_response_not_found():
    client, requests = client_for(
        lambda r: httpx.Response(404, json={"detail": "Previous response not found"})
    )
    async with client:
        with pytest.raises(PreviousResponseNotFound) as info:
            await client.create({"model": "m", "input": "hi", "previous_response_id": PREV})
    assert isinstance(info.value, NotFoundError)
    assert info.value.status == 404
    assert "Previous response not found" in str(info.value)
    assert json.loads(requests[0].content)["previous_response_id"] == PREV
    assert len(requests) == 1


async def test_openai_previous_response_not_found():
    body = {
        "error": {
            "message": "Previous response with id 'resp_x' not found.",
            "type": "invalid_request_error",
            "param": "previous_response_id",
            "code": "previous_response_not_found",
        }
    }
    client, _ = client_for(lambda r: httpx.Response(400, json=body))
    async with client:
        with pytest.raises(PreviousResponseNotFound) as info:
            await client.create({"model": "m", "input": "hi", "previous_response_id": "resp_x"})
    assert isinstance(info.value, NotFoundError)
    assert info.value.status == 400
    assert info.value.code == "previous_response_not_found"
    assert info.value.param == "previous_response_id"
    assert "resp_x" in str(info.value)


async def test_plain_404_without_previous_id_is_only_not_found():
    body = {"detail": "Model not found, inaccessible, and/or not deployed"}  # Fireworks
    client, _ = client_for(lambda r: httpx.Response(404, json=body))
    async with client:
        with pytest.raises(NotFoundError) as info:
            await client.create({"model": "m", "input": "hi"})
    assert not isinstance(info.value, PreviousResponseNotFound)
    assert "Model not found, inaccessible, and/or not deployed" in str(info.value)


async def test_fastapi_422_is_bad_request_with_field_message():
    body = {"detail": [{"loc": ["body", "model"], "msg": "field required", "type": "missing"}]}
    client, _ = client_for(lambda r: httpx.Response(422, json=body))
    async with client:
        with pytest.raises(BadRequest) as info:
            await client.create({"input": "hi"})
    assert "model: field required" in str(info.value)
    assert info.value.status == 422


async def test_string_error_403_is_auth_error():
    client, _ = client_for(lambda r: httpx.Response(403, json={"error": "unauthorized"}))
    async with client:
        with pytest.raises(AuthError) as info:
            await client.retrieve(RID)
    assert "unauthorized" in str(info.value)
    assert "403" in str(info.value)
    assert info.value.status == 403


async def test_html_502_is_server_error_with_title():
    page = (
        "<html><head><title>502 Bad Gateway</title></head>"
        "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center>"
        "</body></html>"
    )
    client, requests = client_for(
        lambda r: httpx.Response(502, text=page, headers={"content-type": "text/html"}),
        max_retries=1,
    )
    async with client:
        with pytest.raises(ServerError) as info:
            await client.retrieve(RID)
    message = str(info.value)
    assert "502 Bad Gateway" in message
    assert "<" not in message and ">" not in message
    assert "html" in message.lower()  # says it was an HTML page
    assert len(requests) == 2  # a GET is retried once on 5xx


async def test_non_json_200_on_retrieve_is_protocol_error():
    client, _ = client_for(
        lambda r: httpx.Response(200, text="OK, all good", headers={"content-type": "text/plain"})
    )
    async with client:
        with pytest.raises(ProtocolError) as info:
            await client.retrieve(RID)
    assert "JSON" in str(info.value)


async def test_json_array_200_on_retrieve_is_protocol_error():
    client, _ = client_for(lambda r: httpx.Response(200, json=[1, 2, 3]))
    async with client:
        with pytest.raises(ProtocolError):
            await client.retrieve(RID)


# ------------------------------------------------------------------ items


def test_normalize_mcp_call_fireworks_nested():
    item = {
        "id": "call_abc",
        "type": "mcp_call",
        "name": None,
        "server_label": None,
        "arguments": None,
        "mcp": {"name": "read_wiki_structure", "arguments": {"repoName": "x"}},
    }
    out = normalize_mcp_call(item)
    assert out["name"] == "read_wiki_structure"
    assert json.loads(out["arguments"]) == {"repoName": "x"}
    assert out["id"] == "call_abc"
    assert out["output"] is None
    assert out["error"] is None


def test_normalize_mcp_call_openai_flat():
    item = {
        "id": "mcp_1",
        "type": "mcp_call",
        "server_label": "deepwiki",
        "name": "ask_question",
        "arguments": '{"q": "why"}',
        "output": "because",
        "status": "completed",
    }
    out = normalize_mcp_call(item)
    assert out == {
        "id": "mcp_1",
        "server_label": "deepwiki",
        "name": "ask_question",
        "arguments": '{"q": "why"}',
        "output": "because",
        "error": None,
        "status": "completed",
    }


def test_split_think_inline():
    reasoning, answer = split_think("<think>Let me think.\nOK.</think>\n\nParis.")
    assert reasoning == "Let me think.\nOK."
    assert answer == "Paris."


def test_split_think_unclosed():
    reasoning, answer = split_think("<think>still thinking about it")
    assert reasoning == "still thinking about it"
    assert answer == ""


def test_split_think_without_tags():
    assert split_think("Just an answer.") == ("", "Just an answer.")


def test_response_text_strips_think():
    response = {
        "output": [
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "<think>hmm</think>Paris."}],
            }
        ]
    }
    assert response_text(response) == "Paris."
    assert response_text(response, strip_think=False) == "<think>hmm</think>Paris."


def test_tool_output_and_unknown_items_are_kept():
    output = [
        {"id": "call_1", "type": "mcp_call", "mcp": {"name": "t", "arguments": {}}},
        {"type": "tool_output", "tool_call_id": "call_1", "output": "meta=None"},
        {"type": "brand_new_thing", "payload": 1},
        {"role": "assistant", "content": "x"},
        {"no": "type"},
    ]
    kinds = [item_type(i) for i in output]
    assert kinds == ["mcp_call", "tool_output", "brand_new_thing", "message", "unknown"]
    assert uses_tools({"output": [output[1]]})
    assert response_text({"output": output}) == "x"


# ------------------------------------------------------------------ tool and reasoning streams


def sse(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


def stream_handler(*events: dict[str, Any]):
    body = b"".join(sse(e) for e in events)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return handler


def completed_event() -> dict[str, Any]:
    return {
        "type": "response.completed",
        "response": {"id": RID, "object": "response", "status": "completed", "output": []},
    }


async def test_fireworks_mcp_arguments_delta_dict():
    events = [
        {
            "type": "response.created",
            "response": {"id": RID, "status": "in_progress", "output": []},
        },
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {"type": "mcp_call", "id": "mcp_1", "mcp": {"name": "read_wiki_structure"}},
        },
        {
            "type": "response.mcp_call.arguments.delta",
            "item_id": "mcp_1",
            "output_index": 0,
            "delta": {"repoName": "facebook/react"},
        },
        completed_event(),
    ]
    client, _ = client_for(stream_handler(*events))
    acc = StreamAccumulator({"model": "m"})
    seen = []
    async with client:
        await client.create_streamed({"model": "m"}, on_event=seen.append, accumulator=acc)
    tool = [e for e in seen if e.type == "response.mcp_call.arguments.delta"]
    assert len(tool) == 1
    assert isinstance(tool[0], ToolEvent)
    assert tool[0].delta == {"repoName": "facebook/react"}
    assert tool[0].item_id == "mcp_1"
    assert json.loads(acc.output[0]["arguments"]) == {"repoName": "facebook/react"}


async def test_openai_mcp_call_arguments_delta_strings():
    events = [
        {
            "type": "response.created",
            "response": {"id": RID, "status": "in_progress", "output": []},
        },
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {"type": "mcp_call", "id": "mcp_2", "name": "ask", "arguments": ""},
        },
        {
            "type": "response.mcp_call_arguments.delta",
            "item_id": "mcp_2",
            "output_index": 1,
            "delta": '{"q": ',
        },
        {
            "type": "response.mcp_call_arguments.delta",
            "item_id": "mcp_2",
            "output_index": 1,
            "delta": '"why"}',
        },
        completed_event(),
    ]
    client, _ = client_for(stream_handler(*events))
    acc = StreamAccumulator({"model": "m"})
    seen = []
    async with client:
        await client.create_streamed({"model": "m"}, on_event=seen.append, accumulator=acc)
    tool = [e for e in seen if e.type == "response.mcp_call_arguments.delta"]
    assert [type(e) for e in tool] == [ToolEvent, ToolEvent]
    assert [e.delta for e in tool] == ['{"q": ', '"why"}']
    assert acc.output[1]["arguments"] == '{"q": "why"}'
    assert json.loads(acc.output[1]["arguments"]) == {"q": "why"}


def test_both_mcp_spellings_parse_as_tool_events():
    fw = parse_event({"type": "response.mcp_call.arguments.delta", "delta": {"a": 1}})
    oai = parse_event({"type": "response.mcp_call_arguments.delta", "delta": "{"})
    assert isinstance(fw, ToolEvent) and fw.delta == {"a": 1}
    assert isinstance(oai, ToolEvent) and oai.delta == "{"


async def test_reasoning_summary_delta_accumulates():
    events = [
        {
            "type": "response.created",
            "response": {"id": RID, "status": "in_progress", "output": []},
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "item_id": "rs_1",
            "output_index": 0,
            "summary_index": 0,
            "delta": "Thinking ",
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "item_id": "rs_1",
            "output_index": 0,
            "summary_index": 0,
            "delta": "hard.",
        },
        completed_event(),
    ]
    client, _ = client_for(stream_handler(*events))
    acc = StreamAccumulator({"model": "m"})
    seen = []
    async with client:
        await client.create_streamed({"model": "m"}, on_event=seen.append, accumulator=acc)
    assert sum(isinstance(e, ReasoningDelta) for e in seen) == 2
    item = acc.output[0]
    assert item["type"] == "reasoning"
    assert item["id"] == "rs_1"
    assert item["summary"] == [{"type": "summary_text", "text": "Thinking hard."}]


# ------------------------------------------------------------------ SSE decoder


def test_sse_comments_are_ignored():
    decoder = SSEDecoder()
    out = decoder.feed(b": keepalive\n\n: another\nevent: ping\ndata: 1\n\n")
    assert out == [SSEMessage("ping", "1")]


def test_sse_multiline_data_joined_with_lf():
    decoder = SSEDecoder()
    out = decoder.feed(b"data: first\ndata: second\ndata:third\n\n")
    assert out == [SSEMessage("message", "first\nsecond\nthird")]


def test_sse_cr_only_line_endings():
    decoder = SSEDecoder()
    out = decoder.feed(b"event: a\rdata: one\r\revent: b\rdata: two\r\r")
    assert [(m.event, m.data) for m in out] == [("a", "one"), ("b", "two")]


def test_sse_crlf_split_across_chunks():
    decoder = SSEDecoder()
    out = decoder.feed(b"data: x\r")
    out += decoder.feed(b"\n\r")
    out += decoder.feed(b"\ndata: y\r\n\r\n")
    assert [m.data for m in out] == ["x", "y"]


def test_sse_event_name_defaults_to_message():
    decoder = SSEDecoder()
    out = decoder.feed(b'data: {"a": 1}\n\n')
    assert out == [SSEMessage("message", '{"a": 1}')]
    assert decoder.feed(b"event: named\ndata: z\n\ndata: w\n\n") == [
        SSEMessage("named", "z"),
        SSEMessage("message", "w"),
    ]


def test_sse_flush_dispatches_unterminated_event():
    decoder = SSEDecoder()
    assert decoder.feed(b"event: last\ndata: tail") == []
    assert decoder.flush() == [SSEMessage("last", "tail")]
    assert decoder.flush() == []


def test_sse_split_utf8_and_line_separators():
    decoder = SSEDecoder()
    raw = "data: a\u2028b\u0085c é\n\n".encode()
    out: list[SSEMessage] = []
    for i in range(len(raw)):
        out += decoder.feed(raw[i : i + 1])
    assert out == [SSEMessage("message", "a\u2028b\u0085c é")]
