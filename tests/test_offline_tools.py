"""The offline backend's deterministic tool behaviour: MCP calls, approvals, function calls.

Driven through the real client (in-process transport), as the app uses it.
"""

from __future__ import annotations

import itertools
import json
import re

import pytest

from tui.api.errors import BadRequest
from tui.api.profiles import resolve_profile
from tui.ops.connect import make_client, offline_backend

LOCAL = resolve_profile("local", {})
MODEL = "offline-echo"

DEEPWIKI = {
    "type": "mcp",
    "server_label": "deepwiki",
    "server_url": "https://mcp.deepwiki.com/mcp",
    "require_approval": "never",
}
ASKING = {**DEEPWIKI, "server_label": "careful", "require_approval": "always"}
GITMCP_SSE = {"type": "sse", "server_url": "https://gitmcp.io/docs"}
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "celsius": {"type": "boolean"},
            "scale": {"type": "number"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "extra": {"type": "object"},
        },
        "required": ["city"],
    },
}

MCP_CALL_EVENTS = [
    "response.output_item.added",
    "response.mcp_call_arguments.delta",
    "response.mcp_call_arguments.done",
    "response.mcp_call.in_progress",
    "response.mcp_call.completed",
    "response.output_item.done",
]
LIST_EVENTS = [
    "response.output_item.added",
    "response.mcp_list_tools.in_progress",
    "response.mcp_list_tools.completed",
    "response.output_item.done",
]
MESSAGE_EVENTS = [
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
]
FUNCTION_EVENTS = [
    "response.output_item.added",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.output_item.done",
]


@pytest.fixture
def backend(tmp_path):
    return offline_backend(tmp_path / "b", seed=3)


@pytest.fixture
async def client(backend):
    async with make_client(LOCAL, {}, backend=backend) as c:
        yield c


def kinds(response: dict) -> list[str]:
    return [i["type"] for i in response["output"]]


def text_of(response: dict) -> str:
    messages = [i for i in response["output"] if i["type"] == "message"]
    assert len(messages) == 1
    return "".join(p["text"] for p in messages[0]["content"] if p["type"] == "output_text")


async def create(client, text_or_items, tools, **extra) -> dict:
    return await client.create({"model": MODEL, "input": text_or_items, "tools": tools, **extra})


async def collect(client, body: dict) -> list:
    return [event async for event in client.stream({"model": MODEL, **body})]


def collapse(types: list[str]) -> list[str]:
    out: list[str] = []
    for kind in types:
        if out and kind == out[-1] and kind.endswith(".delta"):
            continue
        out.append(kind)
    return out


def check_sequence(events: list) -> None:
    numbers = [e.data["sequence_number"] for e in events]
    assert numbers == list(range(len(events)))
    assert all(b > a for a, b in itertools.pairwise(numbers))


def shape(response: dict) -> list[tuple[str, list[str]]]:
    """Item types and their keys, for comparing a streamed and a plain response."""
    return [(i["type"], sorted(i)) for i in response["output"]]


def approval_answer(request_id: str, approve: bool) -> dict:
    return {"type": "mcp_approval_response", "approval_request_id": request_id, "approve": approve}


# ---------------------------------------------------------------- MCP calls


async def test_mcp_call_when_input_names_a_tool(client):
    response = await create(client, "Please SEARCH the wiki for httpx", [DEEPWIKI])
    assert kinds(response) == ["mcp_list_tools", "mcp_call", "message"]
    call = response["output"][1]
    assert re.match(r"^mcp_[0-9a-f]{32}$", call["id"])
    assert call["server_label"] == "deepwiki"
    assert call["name"] == "search"
    assert json.loads(call["arguments"]) == {"query": "Please SEARCH the wiki for httpx"}
    assert call["status"] == "completed"
    assert call["error"] is None
    assert call["approval_request_id"] is None
    assert "offline" in call["output"].lower() and "deepwiki.search" in call["output"]
    assert "Tool: called deepwiki.search (offline result)" in text_of(response)
    assert response["status"] == "completed"


async def test_no_mcp_call_without_a_whole_word_tool_name(client):
    for text in ("tell me something", "do some research", "searching", "list files"):
        response = await create(client, text, [DEEPWIKI])
        assert kinds(response) == ["mcp_list_tools", "message"], text
        assert "Tool: called" not in text_of(response)


async def test_mcp_call_is_deterministic(tmp_path):
    outputs = []
    for n in range(2):
        async with make_client(LOCAL, {}, backend=offline_backend(tmp_path / f"b{n}", seed=3)) as c:
            response = await create(c, "fetch the page", [DEEPWIKI])
        outputs.append([{k: v for k, v in i.items()} for i in response["output"]])
    assert outputs[0] == outputs[1]


async def test_sse_tool_calls_with_host_label(client):
    response = await create(client, "list_files in the repo", [GITMCP_SSE])
    assert kinds(response) == ["mcp_list_tools", "mcp_call", "message"]
    assert response["output"][1]["server_label"] == "gitmcp.io"
    assert response["output"][1]["name"] == "list_files"


async def test_allowed_tools_respected(client):
    tool = {**DEEPWIKI, "allowed_tools": ["ask_question"]}
    response = await create(client, "search for it", [tool])
    assert kinds(response) == ["mcp_list_tools", "message"]
    response = await create(client, "ask_question about httpx", [tool])
    assert kinds(response) == ["mcp_list_tools", "mcp_call", "message"]
    assert response["output"][1]["name"] == "ask_question"


async def test_tool_choice_none_calls_nothing(client):
    response = await create(client, "search it", [DEEPWIKI], tool_choice="none")
    assert kinds(response) == ["mcp_list_tools", "message"]


# ---------------------------------------------------------------- approvals


async def test_approval_required_gives_request_and_no_message(client):
    response = await create(client, "search for httpx", [ASKING])
    assert kinds(response) == ["mcp_list_tools", "mcp_approval_request"]
    request = response["output"][1]
    assert re.match(r"^mcpr_[0-9a-f]{32}$", request["id"])
    assert request == {
        "id": request["id"],
        "type": "mcp_approval_request",
        "server_label": "careful",
        "name": "search",
        "arguments": json.dumps({"query": "search for httpx"}),
    }
    assert response["status"] == "completed"


async def test_approval_dict_form_per_tool(client):
    tool = {
        **DEEPWIKI,
        "require_approval": {
            "always": {"tool_names": ["fetch"]},
            "never": {"tool_names": ["search"]},
        },
    }
    asked = await create(client, "fetch it", [tool])
    assert kinds(asked) == ["mcp_list_tools", "mcp_approval_request"]
    ran = await create(client, "search it", [tool])
    assert kinds(ran) == ["mcp_list_tools", "mcp_call", "message"]


async def test_absent_require_approval_is_treated_as_never(client):
    tool = {k: v for k, v in DEEPWIKI.items() if k != "require_approval"}
    response = await create(client, "search it", [tool])
    assert kinds(response) == ["mcp_list_tools", "mcp_call", "message"]


async def test_approve_round_trip(client):
    asked = await create(client, "search for httpx", [ASKING])
    request = asked["output"][1]
    answer = approval_answer(request["id"], True)
    response = await create(client, [answer], [ASKING], previous_response_id=asked["id"])
    assert kinds(response) == ["mcp_call", "message"]
    call = response["output"][0]
    assert call["approval_request_id"] == request["id"]
    assert call["name"] == "search" and call["server_label"] == "careful"
    assert call["arguments"] == request["arguments"]
    assert call["status"] == "completed" and "offline" in call["output"].lower()
    text = text_of(response)
    assert "Approved" in text and "careful.search" in text and "Offline backend" in text
    assert response["previous_response_id"] == asked["id"]


async def test_deny_round_trip(client):
    asked = await create(client, "fetch this", [ASKING])
    request = asked["output"][1]
    answer = approval_answer(request["id"], False)
    response = await create(client, [answer], [ASKING], previous_response_id=asked["id"])
    assert kinds(response) == ["message"]
    text = text_of(response)
    assert "Denied" in text and "careful.fetch" in text and "not run" in text


async def test_approval_without_resent_tools_still_answers(client):
    asked = await create(client, "search for httpx", [ASKING])
    answer = approval_answer(asked["output"][1]["id"], True)
    response = await client.create(
        {"model": MODEL, "input": [answer], "previous_response_id": asked["id"]}
    )
    assert kinds(response) == ["mcp_call", "message"]
    assert "no tools were sent" in text_of(response)


async def test_unknown_approval_request_id_is_400(client):
    asked = await create(client, "search for httpx", [ASKING])
    answer = approval_answer("mcpr_" + "0" * 32, True)
    with pytest.raises(BadRequest) as raised:
        await create(client, [answer], [ASKING], previous_response_id=asked["id"])
    assert raised.value.status == 400
    assert raised.value.param == "input"
    assert "approval request" in raised.value.message


async def test_approval_without_previous_response_is_400(client):
    asked = await create(client, "search for httpx", [ASKING])
    answer = approval_answer(asked["output"][1]["id"], True)
    with pytest.raises(BadRequest) as raised:
        await create(client, [answer], [ASKING])
    assert raised.value.param == "input"


async def test_approval_input_items_are_stored_as_sent(client):
    asked = await create(client, "search for httpx", [ASKING])
    answer = approval_answer(asked["output"][1]["id"], True)
    response = await create(client, [answer], [ASKING], previous_response_id=asked["id"])
    assert await client.list_input_items(response["id"]) == [answer]


# ---------------------------------------------------------------- function tools


async def test_function_call_with_arguments_from_schema(client):
    text = "What is get_weather for Paris? " + "x" * 100
    response = await create(client, text, [WEATHER])
    assert kinds(response) == ["function_call"]
    call = response["output"][0]
    assert re.match(r"^fc_[0-9a-f]{32}$", call["id"])
    assert re.match(r"^call_[0-9a-f]{32}$", call["call_id"])
    assert call["name"] == "get_weather"
    assert call["status"] == "completed"
    assert json.loads(call["arguments"]) == {
        "city": text[:80],
        "days": 1,
        "celsius": True,
        "scale": 1,
        "tags": [],
        "extra": {},
    }
    assert set(call) == {"id", "type", "call_id", "name", "arguments", "status"}
    assert response["status"] == "completed"


async def test_function_not_named_gives_message(client):
    response = await create(client, "what's the weather", [WEATHER])
    assert kinds(response) == ["message"]


async def test_function_without_properties_gets_empty_arguments(client):
    tool = {"type": "function", "name": "ping", "parameters": {"type": "object"}}
    response = await create(client, "ping", [tool])
    assert kinds(response) == ["function_call"]
    assert response["output"][0]["arguments"] == "{}"


async def test_function_call_output_round_trip(client):
    first = await create(client, "get_weather for Paris", [WEATHER])
    call = first["output"][0]
    answer = {"type": "function_call_output", "call_id": call["call_id"], "output": "Sunny, 21C"}
    response = await create(client, [answer], [WEATHER], previous_response_id=first["id"])
    assert kinds(response) == ["message"]
    text = text_of(response)
    assert "get_weather" in text and "“Sunny, 21C”" in text and "offline" in text.lower()
    assert await client.list_input_items(response["id"]) == [answer]


async def test_function_call_output_is_truncated_in_reply(client):
    first = await create(client, "get_weather please", [WEATHER])
    long = "y" * 500
    answer = {"type": "function_call_output", "call_id": first["output"][0]["call_id"]}
    response = await create(
        client, [{**answer, "output": long}], [WEATHER], previous_response_id=first["id"]
    )
    text = text_of(response)
    assert "y" * 199 in text and "y" * 201 not in text


async def test_unknown_call_id_is_400(client):
    first = await create(client, "get_weather for Paris", [WEATHER])
    answer = {"type": "function_call_output", "call_id": "call_nope", "output": "x"}
    with pytest.raises(BadRequest) as raised:
        await create(client, [answer], [WEATHER], previous_response_id=first["id"])
    assert raised.value.status == 400
    assert raised.value.param == "input"
    assert "call_nope" in raised.value.message


async def test_failed_answer_stores_nothing(client, backend):
    before = len(backend.store.all())
    answer = {"type": "function_call_output", "call_id": "call_nope", "output": "x"}
    with pytest.raises(BadRequest):
        await create(client, [answer], [WEATHER])
    assert len(backend.store.all()) == before


# ---------------------------------------------------------------- streaming


async def test_stream_mcp_call(client):
    body = {"input": "search for httpx", "tools": [DEEPWIKI]}
    events = await collect(client, body)
    types = [e.type for e in events]
    assert collapse(types) == [
        "response.created",
        "response.in_progress",
        *LIST_EVENTS,
        *MCP_CALL_EVENTS,
        *MESSAGE_EVENTS,
        "response.completed",
    ]
    check_sequence(events)
    final = events[-1].response
    call = final["output"][1]
    added = events[6]
    assert added.data["output_index"] == 1
    assert added.data["item"]["status"] == "in_progress"
    assert added.data["item"]["output"] is None
    for e in events[7:11]:
        assert e.data["item_id"] == call["id"] and e.data["output_index"] == 1
    assert events[7].data["delta"] == call["arguments"]
    assert events[8].data["arguments"] == call["arguments"]
    assert events[11].data["item"] == call
    plain = await create(client, "search for httpx", [DEEPWIKI])
    assert shape(final) == shape(plain)
    assert await client.retrieve(final["id"]) == final


async def test_stream_approval_request(client):
    events = await collect(client, {"input": "search for httpx", "tools": [ASKING]})
    types = [e.type for e in events]
    assert types == [
        "response.created",
        "response.in_progress",
        *LIST_EVENTS,
        "response.output_item.added",
        "response.output_item.done",
        "response.completed",
    ]
    check_sequence(events)
    final = events[-1].response
    assert events[6].data["item"] == final["output"][1]
    assert events[7].data["output_index"] == 1
    plain = await create(client, "search for httpx", [ASKING])
    assert shape(final) == shape(plain)


async def test_stream_approve_round_trip(client):
    asked = await create(client, "search for httpx", [ASKING])
    answer = approval_answer(asked["output"][1]["id"], True)
    body = {"input": [answer], "tools": [ASKING], "previous_response_id": asked["id"]}
    events = await collect(client, body)
    assert collapse([e.type for e in events]) == [
        "response.created",
        "response.in_progress",
        *MCP_CALL_EVENTS,
        *MESSAGE_EVENTS,
        "response.completed",
    ]
    check_sequence(events)
    final = events[-1].response
    assert final["output"][0]["approval_request_id"] == answer["approval_request_id"]


async def test_stream_function_call(client):
    events = await collect(client, {"input": "get_weather for Paris", "tools": [WEATHER]})
    types = [e.type for e in events]
    assert types == [
        "response.created",
        "response.in_progress",
        *FUNCTION_EVENTS,
        "response.completed",
    ]
    check_sequence(events)
    final = events[-1].response
    call = final["output"][0]
    assert events[2].data["item"]["arguments"] == ""
    assert events[2].data["item"]["status"] == "in_progress"
    assert events[3].data["delta"] == call["arguments"]
    assert events[4].data["arguments"] == call["arguments"]
    for e in events[3:5]:
        assert e.data["item_id"] == call["id"] and e.data["output_index"] == 0
    assert events[5].data["item"] == call
    plain = await create(client, "get_weather for Paris", [WEATHER])
    assert shape(final) == shape(plain)


async def test_stream_function_output_reply(client):
    first = await create(client, "get_weather for Paris", [WEATHER])
    answer = {
        "type": "function_call_output",
        "call_id": first["output"][0]["call_id"],
        "output": "Rain",
    }
    body = {"input": [answer], "tools": [WEATHER], "previous_response_id": first["id"]}
    events = await collect(client, body)
    assert collapse([e.type for e in events]) == [
        "response.created",
        "response.in_progress",
        *MESSAGE_EVENTS,
        "response.completed",
    ]
    check_sequence(events)
    assert "“Rain”" in text_of(events[-1].response)


async def test_stream_unknown_call_id_is_400(client):
    answer = {"type": "function_call_output", "call_id": "call_nope", "output": "x"}
    with pytest.raises(BadRequest):
        await collect(client, {"input": [answer], "tools": [WEATHER]})


def test_raw_stream_ends_with_done(backend):
    body = {"model": MODEL, "input": "get_weather now", "tools": [WEATHER], "stream": True}
    answer = backend.handle("POST", "/v1/responses", {}, json.dumps(body).encode())
    raw = b"".join(answer.body)
    assert raw.endswith(b"data: [DONE]\n\n")
    assert b"event: response.function_call_arguments.delta" in raw
