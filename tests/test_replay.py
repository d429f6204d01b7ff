"""Replay forks: continuing from a response the server cannot continue sends the recorded
path as explicit input, and says so before sending."""

from __future__ import annotations

import json

import httpx
import pytest
from test_app import SIZE, goto, type_and_send
from ui_helpers import LOCAL, SERVER, build

from tui.api.client import ResponsesClient
from tui.api.errors import PreviousResponseNotFound
from tui.local.transport import OfflineTransport
from tui.ops.connect import offline_backend
from tui.ops.conversation import CannotSend, plan_turn, send_turn
from tui.store.index import Index
from tui.store.records import Status


class Recording(httpx.AsyncBaseTransport):
    def __init__(self, backend) -> None:
        self.inner = OfflineTransport(backend)
        self.bodies: list[dict] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        content = await request.aread()
        if content:
            self.bodies.append(json.loads(content))
        return await self.inner.handle_async_request(request)


@pytest.fixture
def world(tmp_path):
    backend = offline_backend(tmp_path / "backend", seed=11)
    wire = Recording(backend)
    client = ResponsesClient(LOCAL, env={}, transport=wire)
    with Index.open(tmp_path / "index") as index:
        yield index, client, wire, backend


async def say(index, client, text, parent=None, store=True):
    plan = plan_turn(
        index, SERVER, text=text, parent=parent, default_model="offline-echo", store=store
    )
    result = await send_turn(client, index, plan, server=SERVER, profile="local")
    return plan, result


async def test_replays_back_to_the_nearest_stored_ancestor(world):
    index, client, wire, _ = world
    async with client:
        _, a = await say(index, client, "stored first turn")
        _, b = await say(index, client, "private second turn", parent=a.summary.id, store=False)
        plan, c = await say(index, client, "third turn", parent=b.summary.id)
    assert plan.replayed == 1 and plan.anchor == a.summary.id
    sent = wire.bodies[-1]
    assert sent["previous_response_id"] == a.summary.id
    roles = [(i.get("role"), i["content"][0]["text"][:20]) for i in sent["input"]]
    assert roles[0] == ("user", "private second turn")
    assert roles[1][0] == "assistant" and roles[1][1].startswith("**Offline backend**")
    assert roles[2] == ("user", "third turn")
    assert c.ok
    # In the forest the new turn hangs under the turn it replied to, not under the anchor.
    forest = index.forest(SERVER)
    assert forest.parent((SERVER, c.summary.id)) == (SERVER, b.summary.id)
    # Only the new message is recorded as this turn's input (a later replay will not repeat).
    assert [i["content"][0]["text"] for i in index.load_body(SERVER, c.summary.id)["input"]] == [
        "third turn"
    ]
    # The server saw the whole context.
    assert "2 earlier turns" in c.response["output"][-1]["content"][0]["text"]


async def test_replays_everything_when_nothing_is_stored(world):
    index, client, wire, _ = world
    async with client:
        _, a = await say(index, client, "not stored at all", store=False)
        plan, b = await say(index, client, "go on", parent=a.summary.id)
    assert plan.anchor is None and plan.replayed == 1
    assert "previous_response_id" not in wire.bodies[-1]
    assert b.ok and index.forest(SERVER).parent((SERVER, b.summary.id)) == (SERVER, a.summary.id)


async def test_deleted_behind_our_back_is_marked_missing_then_replayed(world):
    index, client, _wire, backend = world
    async with client:
        _, a = await say(index, client, "will vanish")
        backend.store.delete(a.summary.id)  # expired or deleted elsewhere
        plan, failed = await say(index, client, "still there?", parent=a.summary.id)
        assert isinstance(failed.error, PreviousResponseNotFound)
        assert plan.replayed == 0  # we believed it was stored
        assert index.get(SERVER, a.summary.id).status == Status.MISSING
        plan, b = await say(index, client, "still there?", parent=a.summary.id)
    assert plan.replayed == 1 and b.ok


async def test_replay_needs_recorded_input(world):
    index, client, _, _ = world
    async with client:
        _, a = await say(index, client, "fine", store=False)
    body = index.load_body(SERVER, a.summary.id)
    index.add_response(
        body["response"],
        server=SERVER,
        profile="local",
        input_items=None,
        keep_input=False,
        status=Status.NOT_STORED,
    )
    with pytest.raises(CannotSend, match="not recorded"):
        plan_turn(index, SERVER, text="more", parent=a.summary.id, default_model="m")


async def test_the_composer_says_it_will_replay(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        private = next(n for n in index.nodes(SERVER) if n.status == Status.NOT_STORED)
        await goto(pilot, app, private.key)
        await pilot.press("enter")
        await pilot.pause()
        target = str(app.composer.target.render())
        assert "replays 1 turn" in target and "cannot continue" in target
        await type_and_send(pilot, app, "follow-up to an unstored answer")
        child = app.current
        assert index.forest(SERVER).parent(child) == private.key
        assert index.get(*child).status == Status.STORED
    index.close()
