"""The client against the bytes real servers sent (tests/wire/, recorded by a proxy).

Each recorded conversation is replayed through the client, the ops and the index, and the
resulting forest is checked: who is whose parent, what is pending, what is missing. Servers:
Llama Stack 0.7.3 (echoes no parent, errors inside 200 streams, input items that hold the whole
history, a list that skips responses at page boundaries) and open-responses-server 0.4.3 (only
`POST /responses`, `store: false` everywhere, runs MCP tools itself).
"""

from __future__ import annotations

import json

import httpx
import pytest
from wire import (
    BASE_URLS,
    LLAMA,
    LLAMA_MODELS,
    ORS,
    ORS_MODELS,
    WireServer,
    request_of,
    response_of,
    wire_client,
    wire_server_id,
)

from tui.api.errors import EndpointNotSupported, PreviousResponseNotFound, ProtocolError
from tui.api.items import input_text
from tui.ops.conversation import (
    failure_message,
    function_output_items,
    pending_requests,
    plan_followup,
    plan_sibling,
    plan_turn,
    send_turn,
)
from tui.ops.deleter import delete_responses, subtree_ids
from tui.ops.export import export_json
from tui.ops.importer import describe_import, import_chain
from tui.ops.listing import forest_lines
from tui.ops.sync import sync
from tui.store.index import Index
from tui.store.records import Status

LS = wire_server_id(LLAMA)
OS_ = wire_server_id(ORS)
MODEL = {LLAMA: "openai/fake-model", ORS: "fake-model"}

# The ids Llama Stack gave the first conversation (lines 0-3 of its recording).
T1 = "resp_38fc56a3-bab9-48e1-8a2d-2c57e67f3f14"  # "hello from interop, turn one"
T2 = "resp_02fc8719-981f-4151-9a90-42bc1c834e44"  # "second turn"
T3 = "resp_86a756ad-13f4-4990-8d05-84f546ad4bee"  # "third turn"
FORK = "resp_3912724c-9419-4c3b-8584-ecb97e41a850"  # "a fork from the first turn"


@pytest.fixture
def index(tmp_path):
    with Index.open(tmp_path / "index") as opened:
        yield opened


def text_of(n: int, name: str = LLAMA) -> str:
    return input_text(request_of(name, n)["input"])


async def say(index, client, name, n, parent=None, **kw):
    """Send the message of recorded exchange `n` as the app would, and record the result."""
    server = wire_server_id(name)
    kw.setdefault("default_model", MODEL[name])
    plan = plan_turn(index, server, text=text_of(n, name), parent=parent, **kw)
    result = await send_turn(client, index, plan, server=server, profile="wire")
    return plan, result


async def first_conversation(index, server: WireServer) -> None:
    async with wire_client(server) as client:
        for n, parent in ((0, None), (1, T1), (2, T2)):
            _, result = await say(index, client, LLAMA, n, parent=parent)
            assert result.ok, result.error
        # An edit of "second turn" is a sibling of it: the recorded fork from the first turn.
        plan = plan_sibling(index, LS, T2, text=text_of(3), default_model="openai/fake-model")
        result = await send_turn(client, index, plan, server=LS, profile="wire")
        assert result.ok, result.error


# ------------------------------------------------------------------ 1. the parent is what we sent


async def test_llama_replies_and_forks_hang_under_the_parent_we_sent(index):
    server = WireServer(LLAMA, only=[0, 1, 2, 3])
    await first_conversation(index, server)
    assert server.answered == [0, 1, 2, 3]
    # Llama Stack echoed "previous_response_id": null for every one of them.
    assert all(response_of(LLAMA, n)["previous_response_id"] is None for n in range(4))
    forest = index.forest(LS)
    assert forest.roots() == [(LS, T1)]
    assert [k[1] for k in forest.path_to_root((LS, T3))] == [T1, T2, T3]
    assert sorted(k[1] for k in forest.children((LS, T1))) == sorted([T2, FORK])
    assert forest.has_fork((LS, T1))
    # The export path, `delete --subtree` and `list` see the same tree.
    path = json.loads(export_json(index, LS, T3))
    assert [e["response"]["id"] for e in path["responses"]] == [T1, T2, T3]
    assert subtree_ids(index, LS, T1)[0] == T1
    assert sorted(subtree_ids(index, LS, T1)) == sorted([T1, T2, T3, FORK])
    lines = forest_lines(index, LS)
    assert len(lines) == 4 and lines[0].startswith(T1)
    assert sum(line.lstrip("│ ").startswith(("├─", "└─")) for line in lines) == 2  # one fork


async def test_llama_approval_and_function_output_hang_under_their_request(index):
    server = WireServer(LLAMA, only=[22, 23, 24, 25])
    async with wire_client(server) as client:
        for ask, answer in ((22, 23), (24, 25)):
            tools = request_of(LLAMA, ask)["tools"]
            _, asked = await say(index, client, LLAMA, ask, tools=tools)
            assert asked.ok, asked.error
            pending = pending_requests(index, LS, asked.summary.id)
            assert len(pending) == 1
            item = request_of(LLAMA, answer)["input"]
            kind = "approval" if item[0]["type"] == "mcp_approval_response" else "function output"
            plan = plan_followup(
                index, LS, asked.summary.id, item, default_model="openai/fake-model", kind=kind
            )
            result = await send_turn(client, index, plan, server=LS, profile="wire")
            assert result.ok, result.error
            assert result.response["previous_response_id"] is None  # the echo
            assert index.get(LS, result.summary.id).parent == asked.summary.id
            assert pending_requests(index, LS, asked.summary.id) == []
    assert server.answered == [22, 23, 24, 25]


async def test_an_imported_response_whose_server_names_no_parent_is_a_root(index):
    server = WireServer(LLAMA, only=[9, 10])
    async with wire_client(server) as client:
        result = await import_chain(client, index, server=LS, profile="wire", response_id=T3)
    assert result.imported == [T3]
    assert result.root_by_echo == T3
    assert f"{T3} is a root: the server names no previous response" in describe_import(result)
    assert index.forest(LS).roots() == [(LS, T3)]
    assert not index.forest(LS).is_orphan((LS, T3))


# ------------------------------------------------------------------ 2. every error shape


async def test_llama_unknown_model_in_a_stream_is_shown_in_its_words_and_recorded_failed(index):
    server = WireServer(LLAMA, only=[27])
    async with wire_client(server) as client:
        _, result = await say(index, client, LLAMA, 27, model="no-such-model")
    assert "Model 'no-such-model' not found" in str(result.error)
    # The server had created the response (response.created) before the error: kept, failed.
    node = index.get(LS, "resp_c30f0ad8-e231-41a8-848b-d513c7bdcb6c")
    assert node is not None and node.status == Status.FAILED
    stored = index.load_body(*node.key)["response"]
    assert stored["status"] == "failed"
    assert "Model 'no-such-model' not found" in stored["error"]["message"]


async def test_llama_response_failed_is_recorded_failed_not_incomplete(index):
    server = WireServer(LLAMA, only=[26])
    async with wire_client(server) as client:
        _, result = await say(index, client, LLAMA, 26)
    assert "fake-upstream: the model crashed (FAIL_UPSTREAM)" in str(result.error)
    assert result.summary is not None and result.summary.status == Status.FAILED


@pytest.mark.parametrize("n", [20, 21])
async def test_ors_error_event_before_anything_was_created_leaves_no_turn(index, n):
    server = WireServer(ORS, only=[n])
    async with wire_client(server) as client:
        _, result = await say(index, client, ORS, n, model=request_of(ORS, n)["model"])
    assert f"Error from LLM API: {500 if n == 20 else 404}" in str(result.error)
    assert result.summary is None and len(index) == 0


async def test_llama_missing_parent_in_a_stream_marks_it_missing_and_offers_a_replay(index):
    index.add_response(
        response_of(LLAMA, 3),
        server=LS,
        profile="wire",
        input_items=request_of(LLAMA, 3)["input"],
        request={"model": "openai/fake-model", "previous_response_id": T1},
    )
    server = WireServer(LLAMA, only=[38])
    async with wire_client(server) as client:
        plan, result = await say(index, client, LLAMA, 38, parent=FORK)
    assert isinstance(result.error, PreviousResponseNotFound)
    assert f"Response '{FORK}' not found" in str(result.error)
    said = failure_message(plan, result.error)
    assert "Send again: the path will be replayed" in said
    assert f"Response '{FORK}' not found" in said  # in the server's words
    assert index.get(LS, FORK).status == Status.MISSING
    assert len(index) == 1  # nothing was created, nothing recorded
    again = plan_turn(index, LS, text="reply after delete", parent=FORK, default_model="m")
    assert again.replayed == 1 and "previous_response_id" not in again.body


async def test_llama_missing_parent_404_to_a_plain_create(index):
    server = WireServer(LLAMA, only=[33])
    async with wire_client(server) as client:
        with pytest.raises(PreviousResponseNotFound) as info:
            await client.create({k: v for k, v in request_of(LLAMA, 33).items() if k != "stream"})
    assert f"Response '{FORK}' not found" in str(info.value)


async def test_ors_plain_create_answering_null_says_so_in_words():
    server = WireServer(ORS, only=[4])
    async with wire_client(server) as client:
        with pytest.raises(ProtocolError) as info:
            await client.create({"model": "fake-model", "input": "a plain non-streamed request"})
    assert "without a response object (it sent null)" in str(info.value)


# ------------------------------------------------------------------ 3. follow-ups replay


async def test_function_output_to_an_unstored_call_is_replayed(index):
    def replayed(request, body):
        if body and "previous_response_id" not in body and body["input"][-1].get("call_id"):
            return httpx.Response(200, json={**response_of(LLAMA, 25), "id": "resp_new"})
        return None

    server = WireServer(LLAMA, only=[28], extra=replayed)
    async with wire_client(server) as client:
        _, asked = await say(
            index, client, LLAMA, 28, tools=request_of(LLAMA, 28)["tools"], store=False
        )
        assert asked.summary.status == Status.NOT_STORED
        call = pending_requests(index, LS, asked.summary.id)[0]
        plan = plan_followup(
            index,
            LS,
            asked.summary.id,
            function_output_items(call["call_id"], "21C"),
            default_model="openai/fake-model",
            kind="function output",
        )
        assert plan.replayed == 1 and "previous_response_id" not in plan.body
        kinds = [i.get("type") for i in plan.body["input"]]
        assert kinds == ["message", "function_call", "function_call_output"]
        assert plan.body["input"][1]["call_id"] == call["call_id"]
        result = await send_turn(client, index, plan, server=LS, profile="wire")
    assert result.ok, result.error
    assert index.get(LS, "resp_new").parent == asked.summary.id


# ------------------------------------------------------------------ 5. what the server already did


async def test_ors_mcp_call_answered_in_the_same_response_is_not_pending(index):
    server = WireServer(ORS, only=[15, 18])
    async with wire_client(server) as client:
        _, ran = await say(index, client, ORS, 15, tools=request_of(ORS, 15)["tools"])
        _, asks = await say(index, client, ORS, 18, tools=request_of(ORS, 18)["tools"])
    assert ran.ok and asks.ok
    assert pending_requests(index, OS_, ran.summary.id) == []
    # The snapshot says `"arguments": ""`; the streamed deltas said what the call was.
    (call,) = [i for i in ran.response["output"] if i["type"] == "function_call"]
    assert call["arguments"] == '{"query": "please search for cats"}'

    assert [p["call_id"] for p in pending_requests(index, OS_, asks.summary.id)] == [
        "call_fake000010"
    ]


# ------------------------------------------------------------------ 7. sync trusts nothing blindly


async def test_llama_sync_retrieves_what_the_paged_list_skipped(index):
    everything = json.loads(WireServer(LLAMA).exchange(57).body)["data"]
    known = {r["id"]: r for r in everything}
    index.add_many([(r, None) for r in everything], server=LS, profile="wire")
    index.add_response(response_of(LLAMA, 3), server=LS, profile="wire")  # deleted (line 30)

    def retrieve(request, _body):
        rid = request.url.path.rsplit("/", 1)[-1]
        if (
            request.method == "GET"
            and rid in known
            and rid != "resp_192bf09c-0c61-443a-b10f-bdb0f8416955"
        ):
            return httpx.Response(200, json=known[rid])  # not recorded: the same object
        return None

    server = WireServer(LLAMA, only=[64, 65, 66, 67, 68, 69, 70, 71, 31], extra=retrieve)
    async with wire_client(server) as client:
        report = await sync(client, index, server=LS, profile="wire", page_size=2)
    skipped = {r["id"] for r in everything} - {
        r["id"] for n in range(64, 71) for r in json.loads(server.exchange(n).body)["data"]
    }
    assert len(skipped) == 5
    assert report.complete
    assert sorted(report.unlisted_found) == sorted(skipped)
    assert report.missing == [FORK]  # retrieve said "Response '…' not found"
    assert all(index.get(LS, rid).status != Status.MISSING for rid in skipped)
    assert index.get(LS, FORK).status == Status.MISSING


# ------------------------------------------------------------------ 8. delete is honest


ORS_IDS = [
    "resp_189671dbcbc14eda8d8e3e3a4aed5aff",
    "resp_64caab01e0d94a4ca7e957d61d097472",
    "resp_7c5fb586737e480f81a4d04a120483cb",
]


def add_ors_responses(index, **override):
    for n, rid in zip((3, 1, 2), ORS_IDS, strict=True):
        assert response_of(ORS, n)["id"] == rid
        index.add_response({**response_of(ORS, n), **override}, server=OS_, profile="wire")


async def test_ors_delete_without_a_route_fails_and_keeps_everything(index):
    add_ors_responses(index, store=True)  # as if it had said it kept them
    server = WireServer(ORS, only=[24, 26, 27])
    async with wire_client(server) as client:
        report = await delete_responses(client, index, server=OS_, ids=ORS_IDS, concurrency=1)
    assert report.deleted == [] and report.already_gone == []
    assert set(report.failed) == set(ORS_IDS)
    assert "cannot delete responses" in report.unsupported
    assert len(index) == 3
    assert len(server.answered) == 1  # learned from the first 404: no more requests


async def test_ors_responses_it_never_stored_are_forgotten_without_asking(index):
    add_ors_responses(index)  # every ORS response says store: false
    server = WireServer(ORS, only=[])
    async with wire_client(server) as client:
        report = await delete_responses(client, index, server=OS_, ids=ORS_IDS, concurrency=1)
    assert server.requests == []
    assert report.not_stored == ORS_IDS and report.deleted == ORS_IDS and not report.failed
    assert len(index) == 0


async def test_llama_delete_404_that_names_the_response_is_already_gone(index):
    server = WireServer(LLAMA, only=[30, 36])
    async with wire_client(server) as client:
        report = await delete_responses(
            client, index, server=LS, ids=[FORK, "resp_doesnotexist0000"], concurrency=1
        )
    assert report.deleted == [FORK, "resp_doesnotexist0000"]
    assert report.already_gone == ["resp_doesnotexist0000"]


# ------------------------------------------------------------------ 9. whole-history input items


async def test_llama_input_items_are_trimmed_to_the_turns_own_input(index):
    server = WireServer(LLAMA, only=[0, 1, 2, 9, 10])
    await first_conversation_three_turns(index, server)
    before = index.load_body(LS, T3)["input"]
    async with wire_client(server) as client:
        result = await import_chain(client, index, server=LS, profile="wire", response_id=T3)
    assert result.trimmed == 4
    assert index.load_body(LS, T3)["input"] == [
        {k: v for k, v in item.items()}
        for item in json.loads(server.exchange(10).body)["data"][-1:]
    ]
    assert input_text(before) == input_text(index.load_body(LS, T3)["input"]) == "third turn"
    assert index.get(LS, T3).parent == T2  # what we sent, not the null echo


async def first_conversation_three_turns(index, server):
    async with wire_client(server) as client:
        for n, parent in ((0, None), (1, T1), (2, T2)):
            _, result = await say(index, client, LLAMA, n, parent=parent)
            assert result.ok, result.error


# ------------------------------------------------------------------ 10. capabilities


async def test_ors_cannot_retrieve_so_import_says_so(index):
    server = WireServer(ORS, only=[6])
    async with wire_client(server) as client:
        with pytest.raises(EndpointNotSupported) as info:
            await import_chain(
                client,
                index,
                server=OS_,
                profile="wire",
                response_id="resp_7c5fb586737e480f81a4d04a120483cb",
            )
        assert client.cannot("retrieve")
    assert "cannot retrieve stored responses" in str(info.value)
    assert len(index) == 0


async def test_ors_sync_says_the_server_can_neither_list_nor_retrieve(index):
    rid = "resp_7c5fb586737e480f81a4d04a120483cb"
    index.add_response({**response_of(ORS, 2), "store": True}, server=OS_, profile="wire")
    server = WireServer(ORS, only=[10, 9])
    async with wire_client(server) as client:
        with pytest.raises(EndpointNotSupported) as info:
            await sync(client, index, server=OS_, profile="wire")
    assert "can neither list nor retrieve" in str(info.value)
    assert index.get(OS_, rid).status == Status.STORED  # not marked missing on a missing route


async def test_ors_serves_responses_without_v1_and_replays_every_turn(index):
    server = WireServer(ORS, only=[0])
    async with wire_client(server) as client:
        _, first = await say(index, client, ORS, 0)
    assert first.ok and server.requests[0][1] == "/responses"
    assert first.summary.status == Status.NOT_STORED  # store: false, whatever we asked
    plan = plan_turn(index, OS_, text="and then?", parent=first.summary.id, default_model="m")
    assert plan.replayed == 1 and "previous_response_id" not in plan.body


# ------------------------------------------------------------------ the app on Llama Stack's bytes


async def test_the_app_draws_one_tree_with_a_fork_on_a_server_that_echoes_no_parent(tmp_path):
    from ui_helpers import settle, type_and_send

    from tui.api.profiles import Profile
    from tui.ui.app import ResponsesApp

    server = WireServer(LLAMA, only=[0, 1, 2, 3])
    profile = Profile(name="llama", base_url=BASE_URLS[LLAMA], default_model=MODEL[LLAMA])
    with Index.open(tmp_path / "index") as index:
        app = ResponsesApp(index, profile, client=wire_client(server), debounce=0)
        async with app.run_test(size=(110, 34)) as pilot:
            for n in (0, 1, 2):
                await type_and_send(pilot, app, text_of(n))
                await settle(pilot, app)
            app.forest_view.focus()
            await pilot.pause()
            app.forest_view.reveal((LS, T1))
            await pilot.pause()
            await pilot.press("enter")  # a fork from the first turn
            await type_and_send(pilot, app, text_of(3))
            await settle(pilot, app)
            assert server.answered == [0, 1, 2, 3]
            assert app.current == (LS, FORK)
            assert len(app.forest_view.conversations()) == 1  # one conversation
            assert app.forest_view.node_for((LS, T1)).row.forks == 2
            assert "Ψ2" in app.forest_view.node_for((LS, T1)).label.plain
            assert index.get(LS, FORK).parent == T1


# ------------------------------------------------------------------ GET /models


async def test_llama_stack_lists_its_language_models_not_its_embedding_ones():
    """Llama Stack 0.7.3 lists every registered model; the run settings form offers only the
    ones that write text (custom_metadata.model_type "llm")."""
    server = WireServer(LLAMA_MODELS)
    listed = [m["id"] for m in server.exchange(0).json["data"]]
    assert "openai/text-embedding-3-small" in listed  # it is in what the server sent
    async with wire_client(server) as client:
        assert await client.list_models() == ["openai/fake-model"]
    assert server.answered == [0]


async def test_open_responses_server_passes_models_through_to_its_upstream():
    server = WireServer(ORS_MODELS, only=[0])
    async with wire_client(server) as client:
        assert await client.list_models() == ["fake-model"]
    # With /v1 in its base URL, the upstream's 404 comes back: "cannot list", said once.
    server = WireServer(ORS_MODELS, only=[1])
    async with wire_client(server, base_url="http://ors.test/v1") as client:
        with pytest.raises(EndpointNotSupported, match="cannot list its models: Not Found"):
            await client.list_models()
        with pytest.raises(EndpointNotSupported):
            await client.list_models()
    assert server.answered == [1]
