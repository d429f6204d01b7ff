"""Tests aimed at small bugs that once survived the whole suite (issue 12, point 1). Each test
here was checked by planting its bug in the code and seeing it fail."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tui.api.client import ResponsesClient
from tui.api.errors import ProtocolError, redact
from tui.api.items import safe_id
from tui.api.profiles import Profile
from tui.api.sse import SSEDecoder, SSEMessage, encode_sse
from tui.local.transport import OfflineTransport
from tui.ops.connect import offline_backend
from tui.ops.conversation import plan_turn, record_provisional, send_turn
from tui.ops.deleter import delete_responses
from tui.ops.importer import import_chain
from tui.store.index import Index
from tui.store.records import Status

HOSTILE_ID = "resp_\x1b]0;pwned\x07\x1b[2Jx\u202e"


def client_for(handler, profile: Profile | None = None) -> ResponsesClient:
    async def no_sleep(_s: float) -> None:
        return None

    return ResponsesClient(
        profile or Profile(name="t", base_url="http://srv.test/v1"),
        env={},
        transport=httpx.MockTransport(handler),
        sleep=no_sleep,
        max_retries=0,
    )


def sse(*events: dict) -> httpx.Response:
    body = b"".join(encode_sse(e) for e in events)
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


@pytest.fixture
def index(tmp_path):
    with Index.open(tmp_path / "index") as opened:
        yield opened


def user(text: str, rid: str | None = None) -> dict:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    if rid is not None:  # as a server lists a stored input item
        item = {"id": rid, "status": "completed", **item}
    return item


def answer(rid: str, text: str, parent: str | None) -> dict:
    return {
        "id": rid,
        "object": "response",
        "status": "completed",
        "model": "m",
        "previous_response_id": parent,
        "output": [
            {
                "id": f"msg_{rid}",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text}],
            }
        ],
    }


def files_under(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file())


# ------------------------------------------------------------------ tool-header secrets

TOOL_ONLY = "Qz7ToolOnlyHeader9xKpVw"  # not a profile secret; no generic pattern catches it
TOOL = {
    "type": "mcp",
    "server_label": "lab",
    "server_url": "https://mcp.example.com/mcp",
    "require_approval": "never",
    "headers": {"X-Lab-Token": "${LAB_TOOL_ONLY}"},
}


def _echoed(request: httpx.Request) -> str:
    """What a careless server repeats back: the tool header value it was sent."""
    body = json.loads(request.content)
    return body["tools"][0]["headers"]["X-Lab-Token"]


async def _send_with_tool(index: Index, handler) -> tuple:
    async with client_for(handler) as client:
        assert TOOL_ONLY not in client.secrets()  # the profile does not know it
        server = client.base_url
        plan = plan_turn(index, server, text="hi", parent=None, default_model="m", tools=[TOOL])
        result = await send_turn(
            client, index, plan, server=server, profile="t", env={"LAB_TOOL_ONLY": TOOL_ONLY}
        )
    return result, server


async def test_a_tool_only_header_value_is_kept_out_of_an_http_error(index, tmp_path):
    def handler(request: httpx.Request) -> httpx.Response:
        said = _echoed(request)
        assert said == TOOL_ONLY  # the wire carries the real value
        return httpx.Response(400, json={"error": {"message": f"bad header {said}"}})

    result, _ = await _send_with_tool(index, handler)
    assert result.error is not None
    assert "bad header" in str(result.error)
    assert TOOL_ONLY not in str(result.error)
    assert TOOL_ONLY.encode() not in files_under(tmp_path)


async def test_a_tool_only_header_value_is_kept_out_of_a_failed_stream(index, tmp_path):
    def handler(request: httpx.Request) -> httpx.Response:
        said = _echoed(request)
        created = {"id": "resp_tool1", "status": "in_progress", "output": [], "model": "m"}
        failed = {
            **created,
            "status": "failed",
            "error": {"code": "server_error", "message": f"mcp refused {said}"},
            "output": [
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": f"header was {said}"}],
                }
            ],
        }
        return sse(
            {"type": "response.created", "response": created},
            {"type": "response.output_text.delta", "delta": f"header was {said}"},
            {"type": "response.failed", "response": failed},
        )

    result, server = await _send_with_tool(index, handler)
    assert result.error is not None and "mcp refused" in str(result.error)
    assert TOOL_ONLY not in str(result.error)
    assert TOOL_ONLY not in json.dumps(result.response)
    assert index.get(server, "resp_tool1").status == Status.FAILED
    assert TOOL_ONLY not in json.dumps(index.load_body(server, "resp_tool1"))
    stored = files_under(tmp_path)
    assert b"resp_tool1" in stored  # the failed turn was written, without the value
    assert TOOL_ONLY.encode() not in stored


# ------------------------------------------------------------------ replay order and shape


def _chain(index: Index, server: str) -> list[str]:
    """A stored root, then three turns the server cannot continue (made with store: false,
    gone missing, deleted), each recorded as an import records it: the parent the server
    echoes, the input items as the server lists them (with `id` and `status`)."""
    turns = [
        ("resp_r0", Status.STORED),
        ("resp_r1", Status.NOT_STORED),
        ("resp_r2", Status.MISSING),
        ("resp_r3", Status.DELETED),
    ]
    parent = None
    for n, (rid, status) in enumerate(turns):
        index.add_response(
            answer(rid, f"answer {n}", parent),
            server=server,
            profile="t",
            input_items=[user(f"question {n}", rid=f"msg_in{n}")],
            status=status,
        )
        parent = rid
    return [rid for rid, _ in turns]


def test_replay_of_three_turns_goes_oldest_first_without_stored_ids(index):
    server = "http://srv.test/v1"
    ids = _chain(index, server)
    plan = plan_turn(index, server, text="question 4", parent=ids[-1], default_model="m")
    assert plan.anchor == "resp_r0" and plan.replayed == 3
    assert plan.body["previous_response_id"] == "resp_r0"
    sent = plan.body["input"]
    said = [(i["role"], i["content"][0]["text"]) for i in sent]
    assert said == [
        ("user", "question 1"),
        ("assistant", "answer 1"),
        ("user", "question 2"),
        ("assistant", "answer 2"),
        ("user", "question 3"),
        ("assistant", "answer 3"),
        ("user", "question 4"),
    ]
    for item in sent:
        assert "id" not in item and "status" not in item, item


class Recording(httpx.AsyncBaseTransport):
    def __init__(self, backend) -> None:
        self.inner = OfflineTransport(backend)
        self.bodies: list[dict] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        content = await request.aread()
        if content:
            self.bodies.append(json.loads(content))
        return await self.inner.handle_async_request(request)


async def test_replay_of_three_unstored_turns_reaches_the_server_oldest_first(tmp_path):
    from ui_helpers import LOCAL, SERVER

    wire = Recording(offline_backend(tmp_path / "backend", seed=11))
    with Index.open(tmp_path / "index") as index:
        async with ResponsesClient(LOCAL, env={}, transport=wire) as client:
            parent = None
            for n in range(4):
                plan = plan_turn(
                    index,
                    SERVER,
                    text=f"turn number {n}",
                    parent=parent,
                    default_model="offline-echo",
                    store=n == 3,
                )
                result = await send_turn(client, index, plan, server=SERVER, profile="local")
                assert result.ok, result.error
                parent = result.summary.id
        assert plan.replayed == 3 and plan.anchor is None
        sent = wire.bodies[-1]
        assert "previous_response_id" not in sent
        users = [i["content"][0]["text"] for i in sent["input"] if i.get("role") == "user"]
        assert users == [f"turn number {n}" for n in range(4)]
        roles = [i.get("role") for i in sent["input"]]
        assert roles == ["user", "assistant"] * 3 + ["user"]
        assert all("id" not in i and "status" not in i for i in sent["input"])


# ------------------------------------------------------------------ forget locally


async def test_forget_locally_removes_a_turn_that_has_later_turns(index):
    server = "http://srv.test/v1"
    ids = _chain(index, server)
    for rid in ids:
        index.set_status(server, rid, Status.STORED)
    report = await delete_responses(None, index, server=server, ids=[ids[1]], local_only=True)
    assert report.forgotten == [ids[1]]
    assert report.tombstoned == []
    assert index.get(server, ids[1]) is None
    assert ids[1] not in [n.id for n in index.nodes(server)]
    # Only that turn goes: the ones around it stay, as they were.
    for rid in (ids[0], ids[2], ids[3]):
        assert index.get(server, rid).status == Status.STORED
    forest = index.forest(server)
    assert (server, ids[1]) not in forest
    assert forest.parent((server, ids[3])) == (server, ids[2])


# ------------------------------------------------------------------ client-side id checks


def test_safe_id_is_anchored_at_both_ends():
    assert safe_id("resp_abc-1.2:3")
    assert safe_id("x" * 256)
    assert not safe_id("x" * 257)
    assert not safe_id("resp_ok\x1b[2J")  # a valid start is not enough
    assert not safe_id("\x1b[2Jresp_ok")  # nor a valid end
    assert not safe_id("resp ok")
    assert not safe_id("resp_ok\n")  # `$` alone lets a trailing newline through
    assert not safe_id("..") and not safe_id("..\n")
    assert not safe_id("")


async def test_send_refuses_a_created_response_whose_id_is_not_an_id(index):
    def handler(request: httpx.Request) -> httpx.Response:
        done = answer(HOSTILE_ID, "fine", None)
        return sse(
            {"type": "response.created", "response": {**done, "status": "in_progress"}},
            {"type": "response.completed", "response": done},
        )

    async with client_for(handler) as client:
        server = client.base_url
        plan = plan_turn(index, server, text="hi", parent=None, default_model="m")
        result = await send_turn(client, index, plan, server=server, profile="t")
    assert isinstance(result.error, ProtocolError), result.error
    assert "not an id" in str(result.error)
    assert result.summary is None and len(index) == 0


async def test_send_refuses_an_id_with_a_trailing_newline(index):
    def handler(request: httpx.Request) -> httpx.Response:
        return sse({"type": "response.completed", "response": answer("resp_x\n", "ok", None)})

    async with client_for(handler) as client:
        server = client.base_url
        plan = plan_turn(index, server, text="hi", parent=None, default_model="m")
        result = await send_turn(client, index, plan, server=server, profile="t")
    assert isinstance(result.error, ProtocolError), result.error
    assert len(index) == 0


def test_the_created_handler_records_no_id_that_is_not_an_id(index):
    server = "http://srv.test/v1"
    plan = plan_turn(index, server, text="hi", parent=None, default_model="m")
    created = {"id": HOSTILE_ID, "status": "in_progress", "output": [], "model": "m"}
    assert record_provisional(index, server, "t", plan, created) is None
    assert len(index) == 0
    fine = record_provisional(index, server, "t", plan, {**created, "id": "resp_ok"})
    assert fine is not None and fine.status == Status.INCOMPLETE


async def test_import_refuses_a_parent_that_is_not_an_id_naming_what_it_asked_for(index):
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path.endswith("/input_items"):
            return httpx.Response(200, json={"object": "list", "data": [], "has_more": False})
        return httpx.Response(200, json=answer("resp_x", "fine", HOSTILE_ID))

    async with client_for(handler) as client:
        with pytest.raises(ProtocolError) as raised:
            await import_chain(
                client, index, server=client.base_url, profile="t", response_id="resp_x"
            )
    # The importer itself refuses the answer for resp_x (its parent is not an id); it does
    # not go on to ask for the parent (where only the client's URL check would stop it).
    message = str(raised.value)
    assert message.startswith("retrieve resp_x:") and "not an id" in message, message
    assert "\x1b" not in message and "\x07" not in message
    assert len(index) == 0


# ------------------------------------------------------------------ the SSE decoder


def decode(*chunks: bytes) -> list[SSEMessage]:
    decoder = SSEDecoder()
    out: list[SSEMessage] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    return out + decoder.flush()


def test_crlf_cut_after_the_event_name_keeps_the_name():
    got = decode(b"event: response.output_text.delta\r", b'\ndata: {"a":1}\r\n\r\n')
    assert got == [SSEMessage("response.output_text.delta", '{"a":1}')]


def test_crlf_cut_between_data_lines_keeps_one_message():
    got = decode(b"event: e\r\ndata: first\r", b"\ndata: second\r\n\r\n")
    assert got == [SSEMessage("e", "first\nsecond")]
    # The same stream cut at every byte decodes the same.
    stream = b"event: e\r\ndata: first\r\ndata: second\r\n\r\n"
    assert decode(*[stream[n : n + 1] for n in range(len(stream))]) == got


def test_exactly_one_leading_space_is_stripped_from_a_field_value():
    assert decode(b"data:  two spaces\n\n") == [SSEMessage("message", " two spaces")]
    assert decode(b"data:none\n\n") == [SSEMessage("message", "none")]
    assert decode(b"event:  spaced\ndata: x\n\n") == [SSEMessage(" spaced", "x")]
    assert decode(b"data: \tx \n\n") == [SSEMessage("message", "\tx ")]


def test_redaction_replaces_the_longest_secret_first():
    short, long = "Qz7Shared", "Qz7SharedTail8Wp"
    for secrets in ([short, long], [long, short]):
        out = redact(f"sent {long} and {short}.", secrets)
        assert out == "sent *** and ***.", out
        assert "Tail8Wp" not in out
