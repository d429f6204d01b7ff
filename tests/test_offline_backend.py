"""The offline backend: Responses API shapes, errors, streaming, storage and HTTP serving.

Driven through the real client (in-process transport) and directly through
`OfflineBackend.handle`, plus once over loopback HTTP.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import stat
import threading
import time

import pytest

from tui.api.client import ResponsesClient
from tui.api.errors import ApiError, BadRequest, NotFoundError, PreviousResponseNotFound
from tui.api.profiles import Profile, resolve_profile
from tui.local.http import serve
from tui.local.ids import IdFactory
from tui.local.server import OfflineBackend
from tui.local.storage import BackendStore
from tui.ops.connect import make_client, offline_backend
from tui.paths import backend_dir, index_dir

LOCAL = resolve_profile("local", {})
MODEL = "offline-echo"
RESP_ID = re.compile(r"^resp_[0-9a-f]{32}$")

EXPECTED_STREAM = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]

DEEPWIKI = {
    "type": "mcp",
    "server_label": "deepwiki",
    "server_url": "https://mcp.deepwiki.com/mcp",
    "require_approval": "never",
}
GITMCP_SSE = {"type": "sse", "server_url": "https://gitmcp.io/docs"}


# ---------------------------------------------------------------- helpers


@pytest.fixture
def backend(tmp_path):
    return offline_backend(tmp_path / "b", seed=1)


@pytest.fixture
async def client(backend):
    async with make_client(LOCAL, {}, backend=backend) as c:
        yield c


def call(backend: OfflineBackend, method: str, path: str, query=None, body=None):
    """(status, parsed JSON) for a non-streaming request straight to the backend."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode() if body else b""
    answer = backend.handle(method, path, query or {}, raw)
    assert isinstance(answer.body, bytes), "expected a plain (non-streaming) answer"
    return answer.status, json.loads(answer.body)


def create(backend: OfflineBackend, **body):
    status, data = call(backend, "POST", "/v1/responses", body={"model": MODEL, **body})
    assert status == 200, data
    return data


def text_of(response: dict) -> str:
    messages = [i for i in response["output"] if i["type"] == "message"]
    assert len(messages) == 1
    return "".join(p["text"] for p in messages[0]["content"] if p["type"] == "output_text")


def assert_openai_error(data: dict, *, param=None, code=None) -> None:
    assert set(data) == {"error"}
    error = data["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    assert error["type"] == "invalid_request_error"
    if param is not None:
        assert error["param"] == param
    if code is not None:
        assert error["code"] == code


def sse_messages(raw: bytes) -> list[tuple[str | None, str]]:
    """(event name, data) for each SSE block of a raw body."""
    out = []
    for block in raw.decode("utf-8").split("\n\n"):
        if not block.strip():
            continue
        event, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].lstrip(" "))
        out.append((event, "\n".join(data)))
    return out


def raw_stream(backend: OfflineBackend, **body) -> bytes:
    answer = backend.handle(
        "POST", "/v1/responses", {}, json.dumps({"model": MODEL, **body, "stream": True}).encode()
    )
    assert answer.status == 200
    assert answer.streaming
    assert answer.headers["content-type"].startswith("text/event-stream")
    return b"".join(answer.body)


async def collect(client: ResponsesClient, body: dict) -> list:
    return [event async for event in client.stream(body)]


# ---------------------------------------------------------------- create


async def test_create_shape_and_echoed_fields(client):
    tools = [DEEPWIKI]
    body = {
        "model": "my-model",
        "input": "Hello offline world",
        "instructions": "Be brief.",
        "tools": tools,
        "temperature": 0.25,
        "metadata": {"topic": "tests"},
        "store": True,
    }
    response = await client.create(body)
    assert RESP_ID.match(response["id"]), response["id"]
    assert response["object"] == "response"
    assert response["status"] == "completed"
    assert response["model"] == "my-model"
    assert response["instructions"] == "Be brief."
    assert response["tools"] == tools
    assert response["temperature"] == 0.25
    assert response["metadata"] == {"topic": "tests"}
    assert response["store"] is True
    assert response["previous_response_id"] is None
    assert response["error"] is None
    text = text_of(response)
    assert "Offline backend" in text
    assert "no model was called" in text
    assert "Hello offline world" in text
    message = response["output"][-1]
    assert message["role"] == "assistant" and message["status"] == "completed"
    assert re.match(r"^msg_[0-9a-f]{32}$", message["id"])


async def test_store_defaults_to_true_and_is_echoed(client):
    response = await client.create({"model": MODEL, "input": "hi"})
    assert response["store"] is True


async def test_usage_is_consistent(client):
    response = await client.create({"model": MODEL, "input": "count my tokens please"})
    usage = response["usage"]
    assert isinstance(usage["input_tokens"], int) and usage["input_tokens"] > 0
    assert isinstance(usage["output_tokens"], int) and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["input_tokens_details"]["cached_tokens"] == 0
    assert usage["output_tokens_details"]["reasoning_tokens"] == 0


async def test_reply_is_deterministic_for_same_seed_and_input(tmp_path):
    texts, ids = [], []
    for name in ("one", "two"):
        backend = offline_backend(tmp_path / name, seed=1)
        async with make_client(LOCAL, {}, backend=backend) as client:
            response = await client.create(
                {"model": MODEL, "input": "Same input", "instructions": "Same"}
            )
        texts.append(text_of(response))
        ids.append(response["id"])
    assert texts[0] == texts[1]
    assert ids[0] == ids[1]  # a seed makes ids deterministic too


async def test_ids_differ_per_call_without_seed(tmp_path):
    backend = offline_backend(tmp_path / "b")
    async with make_client(LOCAL, {}, backend=backend) as client:
        first = await client.create({"model": MODEL, "input": "Same input"})
        second = await client.create({"model": MODEL, "input": "Same input"})
    assert first["id"] != second["id"]
    assert RESP_ID.match(first["id"]) and RESP_ID.match(second["id"])
    assert first["output"][-1]["id"] != second["output"][-1]["id"]
    # The same request again (a regenerate) is the same reply, marked as another variant.
    assert text_of(second) == text_of(first).replace(" · turn 1 · ", " · turn 1 · variant 2 · ", 1)


async def test_ids_differ_per_call_with_seed(client):
    first = await client.create({"model": MODEL, "input": "a"})
    second = await client.create({"model": MODEL, "input": "a"})
    assert first["id"] != second["id"]


# ---------------------------------------------------------------- previous_response_id


async def test_previous_response_id_gives_context(client):
    first = await client.create({"model": MODEL, "input": "Start here"})
    assert "first turn" in text_of(first)
    second = await client.create(
        {"model": MODEL, "input": "And continue", "previous_response_id": first["id"]}
    )
    assert second["previous_response_id"] == first["id"]
    text = text_of(second)
    assert "1 earlier turn" in text
    assert "Start here" in text
    third = await client.create(
        {"model": MODEL, "input": "Third", "previous_response_id": second["id"]}
    )
    assert "2 earlier turns" in text_of(third)
    # usage counts the earlier turns' input too
    assert third["usage"]["input_tokens"] > first["usage"]["input_tokens"]


def test_continue_from_unknown_id_is_404(backend):
    status, data = call(
        backend,
        "POST",
        "/v1/responses",
        body={"model": MODEL, "input": "x", "previous_response_id": "resp_" + "0" * 32},
    )
    assert status == 404
    assert_openai_error(data, param="previous_response_id", code="previous_response_not_found")


def test_continue_from_deleted_id_is_404(backend):
    first = create(backend, input="to be deleted")
    status, _ = call(backend, "DELETE", f"/v1/responses/{first['id']}")
    assert status == 200
    status, data = call(
        backend,
        "POST",
        "/v1/responses",
        body={"model": MODEL, "input": "x", "previous_response_id": first["id"]},
    )
    assert status == 404
    assert_openai_error(data, param="previous_response_id", code="previous_response_not_found")


def test_continue_from_unstored_response_is_404(backend):
    first = create(backend, input="forget me", store=False)
    assert first["store"] is False
    status, data = call(
        backend,
        "POST",
        "/v1/responses",
        body={"model": MODEL, "input": "x", "previous_response_id": first["id"]},
    )
    assert status == 404
    assert_openai_error(data, param="previous_response_id", code="previous_response_not_found")


async def test_client_raises_previous_response_not_found(client):
    unstored = await client.create({"model": MODEL, "input": "a", "store": False})
    deleted = await client.create({"model": MODEL, "input": "b"})
    await client.delete(deleted["id"])
    for previous in ("resp_" + "f" * 32, unstored["id"], deleted["id"]):
        with pytest.raises(PreviousResponseNotFound) as info:
            await client.create({"model": MODEL, "input": "x", "previous_response_id": previous})
        assert info.value.status == 404
        assert info.value.code == "previous_response_not_found"
        assert info.value.param == "previous_response_id"
    # also when streaming
    with pytest.raises(PreviousResponseNotFound):
        await collect(
            client, {"model": MODEL, "input": "x", "previous_response_id": unstored["id"]}
        )


@pytest.mark.parametrize("bad", ["resp with spaces", "resp/../etc", "a/b", "", "x" * 200])
def test_malformed_previous_id_is_400(backend, bad):
    status, data = call(
        backend,
        "POST",
        "/v1/responses",
        body={"model": MODEL, "input": "x", "previous_response_id": bad},
    )
    assert status == 400
    assert_openai_error(data, param="previous_response_id")


async def test_malformed_previous_id_through_client(client):
    # The client files this 400 under PreviousResponseNotFound (param is previous_response_id);
    # what matters here is the server's status.
    with pytest.raises(ApiError) as info:
        await client.create(
            {"model": MODEL, "input": "x", "previous_response_id": "resp with/slash"}
        )
    assert info.value.status == 400


def test_continuing_past_a_deleted_ancestor_keeps_the_rest(backend):
    r1 = create(backend, input="one")
    r2 = create(backend, input="two", previous_response_id=r1["id"])
    call(backend, "DELETE", f"/v1/responses/{r1['id']}")
    r3 = create(backend, input="three", previous_response_id=r2["id"])
    assert "1 earlier turn" in text_of(r3)


# ---------------------------------------------------------------- store=False


async def test_store_false_is_returned_but_not_retrievable_or_listed(client, backend):
    response = await client.create({"model": MODEL, "input": "secret", "store": False})
    assert RESP_ID.match(response["id"])
    assert response["store"] is False
    assert response["status"] == "completed"
    with pytest.raises(NotFoundError) as info:
        await client.retrieve(response["id"])
    assert info.value.status == 404
    listed = [r["id"] async for r in client.list_responses()]
    assert response["id"] not in listed
    status, _ = call(backend, "GET", f"/v1/responses/{response['id']}/input_items")
    assert status == 404


async def test_streamed_store_false_is_not_retrievable(client):
    events = await collect(client, {"model": MODEL, "input": "secret", "store": False})
    final = events[-1].response
    assert final["store"] is False
    with pytest.raises(NotFoundError):
        await client.retrieve(final["id"])


# ---------------------------------------------------------------- tools


async def test_mcp_tool_lists_tools_before_message(client):
    response = await client.create({"model": MODEL, "input": "use tools", "tools": [DEEPWIKI]})
    kinds = [i["type"] for i in response["output"]]
    assert kinds == ["mcp_list_tools", "message"]
    listing = response["output"][0]
    assert listing["server_label"] == "deepwiki"
    assert re.match(r"^mcpl_[0-9a-f]{32}$", listing["id"])
    assert listing["tools"] and all(isinstance(t["name"], str) for t in listing["tools"])
    assert all("input_schema" in t for t in listing["tools"])
    assert "deepwiki" in text_of(response)


async def test_fireworks_sse_tool_is_labelled_by_host(client):
    response = await client.create({"model": MODEL, "input": "docs", "tools": [GITMCP_SSE]})
    kinds = [i["type"] for i in response["output"]]
    assert kinds == ["mcp_list_tools", "message"]
    assert response["output"][0]["server_label"] == "gitmcp.io"


async def test_two_mcp_tools_give_two_listings(client):
    response = await client.create(
        {"model": MODEL, "input": "both", "tools": [DEEPWIKI, GITMCP_SSE]}
    )
    kinds = [i["type"] for i in response["output"]]
    assert kinds == ["mcp_list_tools", "mcp_list_tools", "message"]
    assert [i["server_label"] for i in response["output"][:2]] == ["deepwiki", "gitmcp.io"]


async def test_allowed_tools_limits_listing(client):
    tool = {**DEEPWIKI, "allowed_tools": ["ask_question", "read_wiki_structure"]}
    response = await client.create({"model": MODEL, "input": "limited", "tools": [tool]})
    names = [t["name"] for t in response["output"][0]["tools"]]
    assert names == ["ask_question", "read_wiki_structure"]


async def test_function_tool_gives_no_listing(client):
    tool = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}
    response = await client.create({"model": MODEL, "input": "weather", "tools": [tool]})
    assert [i["type"] for i in response["output"]] == ["message"]


def test_mcp_tool_without_server_url_is_400(backend):
    for tool in ({"type": "mcp", "server_label": "x"}, {"type": "sse"}):
        status, data = call(
            backend, "POST", "/v1/responses", body={"model": MODEL, "input": "x", "tools": [tool]}
        )
        assert status == 400
        assert_openai_error(data, param="tools")


def test_invalid_tools_is_400(backend):
    status, data = call(
        backend, "POST", "/v1/responses", body={"model": MODEL, "input": "x", "tools": ["mcp"]}
    )
    assert status == 400
    assert_openai_error(data, param="tools")


# ---------------------------------------------------------------- streaming


def _collapse(kinds: list[str]) -> list[str]:
    """Runs of repeated delta events folded into one."""
    out: list[str] = []
    for kind in kinds:
        if out and kind == out[-1] == "response.output_text.delta":
            continue
        out.append(kind)
    return out


async def test_stream_event_sequence(client):
    events = await collect(client, {"model": MODEL, "input": "Stream this reply to me"})
    kinds = [e.type for e in events]
    assert _collapse(kinds) == EXPECTED_STREAM
    assert kinds.count("response.output_text.delta") >= 2
    numbers = [e.data["sequence_number"] for e in events]
    assert numbers[0] == 0
    assert all(b > a for a, b in itertools.pairwise(numbers))
    assert numbers == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    final = events[-1].response
    assert final["status"] == "completed"
    assert deltas == text_of(final)
    done = next(e for e in events if e.type == "response.output_text.done")
    assert done.text == deltas
    created = events[0].response
    assert created["status"] == "in_progress"
    assert created["id"] == final["id"]
    # every item-level event refers to the message
    item_id = final["output"][-1]["id"]
    for e in events:
        if e.type in ("response.output_text.delta", "response.content_part.added"):
            assert e.data["item_id"] == item_id


async def test_streamed_response_is_retrievable(client):
    events = await collect(client, {"model": MODEL, "input": "keep me"})
    final = events[-1].response
    again = await client.retrieve(final["id"])
    assert again == final
    items = await client.list_input_items(final["id"])
    assert [i["content"][0]["text"] for i in items] == ["keep me"]


async def test_stream_with_tools_lists_tools_first(client):
    events = await collect(client, {"model": MODEL, "input": "t", "tools": [DEEPWIKI]})
    kinds = [e.type for e in events]
    assert kinds[:6] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.mcp_list_tools.in_progress",
        "response.mcp_list_tools.completed",
        "response.output_item.done",
    ]
    assert events[2].data["item"]["type"] == "mcp_list_tools"
    assert events[5].data["item"]["server_label"] == "deepwiki"
    assert events[5].data["output_index"] == 0
    rest = kinds[6:]
    assert _collapse(["response.created", "response.in_progress", *rest]) == EXPECTED_STREAM
    message_added = events[6]
    assert message_added.data["output_index"] == 1
    final = events[-1].response
    assert [i["type"] for i in final["output"]] == ["mcp_list_tools", "message"]
    numbers = [e.data["sequence_number"] for e in events]
    assert numbers == list(range(len(events)))


def test_raw_sse_body(backend):
    raw = raw_stream(backend, input="raw stream please, several words long")
    assert raw.endswith(b"data: [DONE]\n\n")
    messages = sse_messages(raw)
    assert messages[-1] == (None, "[DONE]")
    kinds = []
    for event, data in messages[:-1]:
        payload = json.loads(data)
        assert event is not None, f"no event: line for {data[:60]}"
        assert event == payload["type"]
        kinds.append(payload["type"])
    assert _collapse(kinds) == EXPECTED_STREAM
    # each event is its own SSE block: "event: X\ndata: {...}\n\n"
    assert re.fullmatch(rb"(event: [a-z_.]+\ndata: [^\n]+\n\n)+data: \[DONE\]\n\n", raw)


def test_raw_stream_stores_only_at_the_end(backend):
    answer = backend.handle(
        "POST",
        "/v1/responses",
        {},
        json.dumps({"model": MODEL, "input": "x", "stream": True}).encode(),
    )
    chunks = iter(answer.body)
    first = json.loads(sse_messages(next(chunks))[0][1])
    rid = first["response"]["id"]
    for _ in chunks:
        pass
    status, data = call(backend, "GET", f"/v1/responses/{rid}")
    assert status == 200 and data["status"] == "completed"


def test_stream_and_background_rejected(backend):
    status, data = call(
        backend,
        "POST",
        "/v1/responses",
        body={"model": MODEL, "input": "x", "stream": True, "background": True},
    )
    assert status == 400
    assert_openai_error(data, param="background")


async def test_delta_delay_spaces_events_in_process(tmp_path):
    delay = 0.02
    backend = offline_backend(tmp_path / "b", seed=1, delta_delay=delay)
    async with make_client(LOCAL, {}, backend=backend) as client:
        start = time.monotonic()
        stamps = []
        async for event in client.stream({"model": MODEL, "input": "slow stream please"}):
            stamps.append((event.type, time.monotonic() - start))
    total = time.monotonic() - start
    # the transport sleeps between chunks (one chunk per event, plus [DONE])
    chunks = len(stamps)
    assert total >= chunks * delay * 0.5
    deltas = [t for kind, t in stamps if kind == "response.output_text.delta"]
    assert len(deltas) >= 2
    assert deltas[-1] - deltas[0] >= (len(deltas) - 1) * delay * 0.5


# ---------------------------------------------------------------- input_items


def test_input_items_order_and_paging(backend):
    inputs = [
        {"type": "message", "role": "user", "content": f"message {n}", "id": f"msg_{n}"}
        for n in range(5)
    ]
    response = create(backend, input=inputs)
    path = f"/v1/responses/{response['id']}/input_items"

    status, page = call(backend, "GET", path)
    assert status == 200
    assert page["object"] == "list"
    assert [i["id"] for i in page["data"]] == ["msg_4", "msg_3", "msg_2", "msg_1", "msg_0"]
    assert page["first_id"] == "msg_4" and page["last_id"] == "msg_0"
    assert page["has_more"] is False

    status, page = call(backend, "GET", path, {"order": "asc"})
    assert [i["id"] for i in page["data"]] == ["msg_0", "msg_1", "msg_2", "msg_3", "msg_4"]
    assert page["data"][0]["content"][0] == {"type": "input_text", "text": "message 0"}

    status, page = call(backend, "GET", path, {"order": "asc", "limit": "2"})
    assert [i["id"] for i in page["data"]] == ["msg_0", "msg_1"]
    assert page["has_more"] is True
    assert (page["first_id"], page["last_id"]) == ("msg_0", "msg_1")

    status, page = call(backend, "GET", path, {"order": "asc", "limit": "2", "after": "msg_1"})
    assert [i["id"] for i in page["data"]] == ["msg_2", "msg_3"]
    assert page["has_more"] is True

    status, page = call(backend, "GET", path, {"order": "asc", "limit": "2", "after": "msg_3"})
    assert [i["id"] for i in page["data"]] == ["msg_4"]
    assert page["has_more"] is False
    assert page["first_id"] == page["last_id"] == "msg_4"

    status, page = call(backend, "GET", path, {"limit": "2", "after": "msg_3"})
    assert [i["id"] for i in page["data"]] == ["msg_2", "msg_1"]
    assert page["has_more"] is True


def test_input_items_of_string_input_get_ids(backend):
    response = create(backend, input="just text")
    status, page = call(backend, "GET", f"/v1/responses/{response['id']}/input_items")
    assert status == 200
    [item] = page["data"]
    assert item["type"] == "message" and item["role"] == "user"
    assert re.match(r"^msg_[0-9a-f]{32}$", item["id"])
    assert item["content"] == [{"type": "input_text", "text": "just text"}]


async def test_input_items_through_client_pages_all(client):
    inputs = [{"role": "user", "content": f"m{n}"} for n in range(150)]
    response = await client.create({"model": MODEL, "input": inputs})
    items = await client.list_input_items(response["id"])
    assert [i["content"][0]["text"] for i in items] == [f"m{n}" for n in range(150)]


def test_input_items_unknown_id_is_404(backend):
    status, data = call(backend, "GET", f"/v1/responses/resp_{'0' * 32}/input_items")
    assert status == 404
    assert_openai_error(data)


# ---------------------------------------------------------------- list


def test_list_newest_first_with_paging(backend):
    ids = [create(backend, input=f"r{n}")["id"] for n in range(5)]
    newest_first = list(reversed(ids))
    status, page = call(backend, "GET", "/v1/responses")
    assert status == 200
    assert page["object"] == "list"
    assert [r["id"] for r in page["data"]] == newest_first
    assert page["has_more"] is False
    assert page["data"][0]["object"] == "response"

    status, page = call(backend, "GET", "/v1/responses", {"limit": "2"})
    assert [r["id"] for r in page["data"]] == newest_first[:2]
    assert page["has_more"] is True
    assert page["first_id"] == newest_first[0] and page["last_id"] == newest_first[1]

    status, page = call(backend, "GET", "/v1/responses", {"limit": "2", "after": page["last_id"]})
    assert [r["id"] for r in page["data"]] == newest_first[2:4]
    assert page["has_more"] is True

    status, page = call(backend, "GET", "/v1/responses", {"limit": "2", "after": page["last_id"]})
    assert [r["id"] for r in page["data"]] == newest_first[4:]
    assert page["has_more"] is False


async def test_list_through_client_skips_deleted(client):
    ids = [(await client.create({"model": MODEL, "input": f"r{n}"}))["id"] for n in range(4)]
    await client.delete(ids[1])
    listed = [r["id"] async for r in client.list_responses(limit=1)]
    assert listed == [ids[3], ids[2], ids[0]]
    assert await client.supports_list() is True


def test_list_empty(backend):
    status, page = call(backend, "GET", "/v1/responses")
    assert status == 200
    assert page == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


# ---------------------------------------------------------------- delete


def test_delete_body_and_second_delete(backend):
    response = create(backend, input="bye")
    rid = response["id"]
    status, data = call(backend, "DELETE", f"/v1/responses/{rid}")
    assert status == 200
    assert data == {"id": rid, "object": "response", "deleted": True}
    status, data = call(backend, "DELETE", f"/v1/responses/{rid}")
    assert status == 404
    assert_openai_error(data)
    status, data = call(backend, "GET", f"/v1/responses/{rid}")
    assert status == 404
    assert_openai_error(data)


async def test_delete_through_client(client):
    response = await client.create({"model": MODEL, "input": "bye"})
    result = await client.delete(response["id"])
    assert result["deleted"] is True
    assert result["raw"] == {"id": response["id"], "object": "response", "deleted": True}
    with pytest.raises(NotFoundError):
        await client.retrieve(response["id"])
    with pytest.raises(NotFoundError):
        await client.delete(response["id"])


def test_retrieve_returns_same_object(backend):
    response = create(backend, input="keep")
    status, data = call(backend, "GET", f"/v1/responses/{response['id']}")
    assert status == 200
    assert data == response


# ---------------------------------------------------------------- errors


def test_cancel_non_background_is_400(backend):
    response = create(backend, input="x")
    status, data = call(backend, "POST", f"/v1/responses/{response['id']}/cancel")
    assert status == 400
    assert_openai_error(data)
    status, data = call(backend, "POST", f"/v1/responses/resp_{'0' * 32}/cancel")
    assert status == 404


@pytest.mark.parametrize(
    "path",
    ["/v1/chat/completions", "/v1", "/", "/v1/responses/a/b/c", "/v1/responses/a/unknown"],
)
def test_unknown_endpoint_is_404(backend, path):
    status, data = call(backend, "GET", path)
    assert status == 404
    assert_openai_error(data)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/v1/responses"),
        ("DELETE", "/v1/responses"),
        ("PATCH", "/v1/responses/resp_1"),
        ("POST", "/v1/responses/resp_1"),
    ],
)
def test_wrong_method_is_405(backend, method, path):
    status, data = call(backend, method, path)
    assert status == 405
    assert_openai_error(data)


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/responses/resp_1/input_items"), ("GET", "/v1/responses/resp_1/cancel")],
)
def test_wrong_method_on_sub_resource_is_405(backend, method, path):
    status, data = call(backend, method, path)
    assert status == 405, data
    assert_openai_error(data)


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"[1, 2]", b'"text"'])
def test_invalid_json_body_is_400(backend, raw):
    status, data = call(backend, "POST", "/v1/responses", body=raw)
    assert status == 400
    assert_openai_error(data)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x"}, "model"),
        ({"model": "", "input": "x"}, "model"),
        ({"model": 5, "input": "x"}, "model"),
        ({"model": MODEL}, "input"),
        ({"model": MODEL, "input": 3}, "input"),
        ({"model": MODEL, "input": None}, "input"),
    ],
)
def test_missing_model_or_input_is_400_with_param(backend, body, param):
    status, data = call(backend, "POST", "/v1/responses", body=body)
    assert status == 400
    assert_openai_error(data, param=param)


async def test_missing_model_through_client(client):
    with pytest.raises(BadRequest) as info:
        await client.create({"input": "x"})
    assert info.value.status == 400
    assert info.value.param == "model"


# ---------------------------------------------------------------- storage


def test_backend_files_live_in_own_directory_with_mode_0600(tmp_path):
    directory = tmp_path / "b"
    backend = offline_backend(directory, seed=1)
    response = create(backend, input="persist me")
    path = directory / f"{response['id']}.json"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    files = list(directory.iterdir())
    assert files == [path], "no temp files or other files left behind"
    assert json.loads(path.read_text("utf-8"))["response"]["id"] == response["id"]


def test_default_backend_directory_is_not_the_client_index(isolated_env):
    backend = offline_backend(seed=1)
    assert backend.store.directory == backend_dir()
    assert backend_dir() != index_dir()
    assert index_dir() not in backend_dir().parents
    response = create(backend, input="default dir")
    path = backend_dir() / f"{response['id']}.json"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert isolated_env in path.parents
    assert not index_dir().exists() or not any(index_dir().rglob(f"{response['id']}*"))


def test_persistence_across_backend_instances(tmp_path):
    directory = tmp_path / "b"
    first_backend = offline_backend(directory, seed=1)
    r1 = create(first_backend, input="first life")
    r2 = create(first_backend, input="second", previous_response_id=r1["id"])
    create(first_backend, input="deleted one")
    gone = create(first_backend, input="gone")
    call(first_backend, "DELETE", f"/v1/responses/{gone['id']}")

    fresh = OfflineBackend(BackendStore(directory), IdFactory())
    status, data = call(fresh, "GET", f"/v1/responses/{r2['id']}")
    assert status == 200 and data == r2
    status, page = call(fresh, "GET", f"/v1/responses/{r1['id']}/input_items")
    assert status == 200 and page["data"][0]["content"][0]["text"] == "first life"
    status, page = call(fresh, "GET", "/v1/responses")
    assert len(page["data"]) == 3
    assert gone["id"] not in [r["id"] for r in page["data"]]
    r3 = create(fresh, input="after restart", previous_response_id=r2["id"])
    assert "2 earlier turns" in text_of(r3)


def test_in_memory_store():
    backend = OfflineBackend(BackendStore(None), IdFactory(3))
    response = create(backend, input="memory")
    status, data = call(backend, "GET", f"/v1/responses/{response['id']}")
    assert status == 200 and data == response
    status, page = call(backend, "GET", "/v1/responses")
    assert [r["id"] for r in page["data"]] == [response["id"]]


# ---------------------------------------------------------------- over HTTP


@pytest.fixture
def http_server(tmp_path):
    backend = offline_backend(tmp_path / "srv", seed=2, delta_delay=0.05)
    stop = threading.Event()
    bound: list[int] = []
    ready = threading.Event()

    def on_ready(port: int) -> None:
        bound.append(port)
        ready.set()

    thread = threading.Thread(
        target=serve,
        kwargs={
            "backend": backend,
            "host": "127.0.0.1",
            "port": 0,
            "ready": on_ready,
            "stop": stop,
        },
        daemon=True,
    )
    thread.start()
    try:
        assert ready.wait(10), "server did not start"
        yield bound[0]
    finally:
        stop.set()
        thread.join(10)
        assert not thread.is_alive()


async def test_over_http(http_server):
    port = http_server
    profile = Profile(name="srv", base_url=f"http://127.0.0.1:{port}/v1")
    async with ResponsesClient(profile, env={}, max_retries=0) as client:
        first = await client.create({"model": MODEL, "input": "over the wire"})
        assert RESP_ID.match(first["id"])
        assert "Offline backend" in text_of(first)

        start = time.monotonic()
        stamps = []
        deltas = []
        final = None
        async for event in client.stream(
            {"model": MODEL, "input": "stream over http", "previous_response_id": first["id"]}
        ):
            stamps.append((event.type, time.monotonic() - start))
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
            if event.type == "response.completed":
                final = event.response
        end = time.monotonic() - start
        assert final is not None
        assert _collapse([k for k, _ in stamps]) == EXPECTED_STREAM
        assert "".join(deltas) == text_of(final)
        assert "1 earlier turn" in text_of(final)
        first_delta = next(t for k, t in stamps if k == "response.output_text.delta")
        # deltas arrive as they are produced, not all at once at the end
        assert end - first_delta >= 0.05 * 2
        assert end >= len(stamps) * 0.05 * 0.5

        again = await client.retrieve(final["id"])
        assert again == final
        items = await client.list_input_items(final["id"])
        assert [i["content"][0]["text"] for i in items] == ["stream over http"]

        deleted = await client.delete(final["id"])
        assert deleted["raw"] == {"id": final["id"], "object": "response", "deleted": True}
        with pytest.raises(NotFoundError):
            await client.retrieve(final["id"])

        with pytest.raises(PreviousResponseNotFound):
            await client.create({"model": MODEL, "input": "x", "previous_response_id": final["id"]})


async def test_over_http_errors(http_server):
    import httpx

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_server}") as http:
        answer = await http.post(
            "/v1/responses", content=b"{oops", headers={"content-type": "application/json"}
        )
        assert answer.status_code == 400
        assert_openai_error(answer.json())
        answer = await http.get("/v1/nothing")
        assert answer.status_code == 404
        assert_openai_error(answer.json())
        answer = await http.get("/v1/responses", params={"limit": "1"})
        assert answer.status_code == 200
        assert answer.json()["object"] == "list"


async def test_concurrent_creates_in_process(client):
    results = await asyncio.gather(
        *(client.create({"model": MODEL, "input": f"c{n}"}) for n in range(8))
    )
    ids = [r["id"] for r in results]
    assert len(set(ids)) == 8
    assert all(type(r["created_at"]) is int for r in results)  # whole seconds: ties are fine


async def test_a_regenerate_is_a_visibly_different_variant_even_after_a_restart(tmp_path):
    # Issue 14, point 10: regenerate gave the very same text, so two siblings looked alike.
    backend = offline_backend(tmp_path / "b", seed=3)
    async with make_client(LOCAL, {}, backend=backend) as client:
        root = await client.create({"model": MODEL, "input": "Plan a trip"})
        ask = {"model": MODEL, "input": "And the food?", "previous_response_id": root["id"]}
        first = text_of(await client.create(ask))
        second = text_of(await client.create(ask))
        other = text_of(await client.create({**ask, "input": "And the wine?"}))
    assert first.startswith("**Offline backend** · turn 2 · no model was called")
    assert second.startswith("**Offline backend** · turn 2 · variant 2 · no model was called")
    assert "variant" not in other  # another input after the same turn: a first reply
    again = offline_backend(tmp_path / "b", seed=3)  # the same storage, a new process
    async with make_client(LOCAL, {}, backend=again) as client:
        third = text_of(await client.create(ask))
    assert " · variant 3 · " in third


async def test_turn_numbers_count_the_replayed_turns_of_the_input(tmp_path):
    # A replay sends earlier turns as input items (no previous_response_id): they count.
    backend = offline_backend(tmp_path / "b", seed=3)
    replay = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "reply one"},
        {"role": "user", "content": "two"},
        {"role": "assistant", "content": "reply two"},
        {"role": "user", "content": "three"},
    ]
    async with make_client(LOCAL, {}, backend=backend) as client:
        replayed = await client.create({"model": MODEL, "input": replay})
        after = await client.create(
            {"model": MODEL, "input": "four", "previous_response_id": replayed["id"]}
        )
    assert text_of(replayed).startswith("**Offline backend** · turn 3 · ")
    assert "- Context: 2 earlier turns in this branch, starting with “one”" in text_of(replayed)
    assert text_of(after).startswith("**Offline backend** · turn 4 · ")  # after those three
    assert "- Context: 3 earlier turns in this branch, starting with “one”" in text_of(after)
