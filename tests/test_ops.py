"""Import and delete operations: partial chains, Fireworks-shaped servers, partial failures."""

from __future__ import annotations

import json

import httpx
import pytest

from tui.api.client import ResponsesClient
from tui.api.errors import NotFoundError
from tui.api.profiles import Profile, resolve_profile
from tui.ops.connect import make_client, offline_backend, server_id
from tui.ops.deleter import delete_responses, subtree_ids
from tui.ops.importer import import_chain
from tui.ops.listing import forest_lines
from tui.store.index import Index

LOCAL = resolve_profile("local", {})
SERVER = server_id(LOCAL)


@pytest.fixture
def index(tmp_path):
    with Index.open(tmp_path / "index") as idx:
        yield idx


@pytest.fixture
def backend(tmp_path):
    return offline_backend(tmp_path / "backend", seed=7)


async def chain(client: ResponsesClient, *texts: str) -> list[dict]:
    out, previous = [], None
    for text in texts:
        body = {"model": "offline-echo", "input": text}
        if previous:
            body["previous_response_id"] = previous
        response = await client.create(body)
        out.append(response)
        previous = response["id"]
    return out


async def test_import_stops_cleanly_at_a_missing_ancestor(index, backend):
    async with make_client(LOCAL, {}, backend=backend) as client:
        r1, r2, r3 = await chain(client, "one", "two", "three")
        await client.delete(r1["id"])
        result = await import_chain(
            client, index, server=SERVER, profile="local", response_id=r3["id"]
        )
    assert result.imported == [r2["id"], r3["id"]]
    assert result.missing_ancestor == r1["id"]
    top = index.get(SERVER, r2["id"])
    assert top.ancestor_missing
    assert index.forest(SERVER).is_orphan((SERVER, r2["id"]))
    assert "ancestor missing" in forest_lines(index, SERVER)[0]


async def test_import_reuses_known_ancestors_and_keeps_recorded_input(index, backend):
    async with make_client(LOCAL, {}, backend=backend) as client:
        r1, r2 = await chain(client, "first", "second")
        await import_chain(client, index, server=SERVER, profile="local", response_id=r1["id"])
        result = await import_chain(
            client, index, server=SERVER, profile="local", response_id=r2["id"]
        )
    assert result.imported == [r2["id"]]
    assert result.reused == r1["id"]
    assert index.load_body(SERVER, r1["id"])["input"][0]["content"][0]["text"] == "first"


async def test_import_unknown_id_raises_not_found(index, backend):
    async with make_client(LOCAL, {}, backend=backend) as client:
        with pytest.raises(NotFoundError):
            await import_chain(client, index, server=SERVER, profile="local", response_id="resp_x")
    assert index.nodes() == []


def fireworks_like(responses: dict[str, dict]) -> httpx.MockTransport:
    """Fireworks: retrieve works, input_items does not exist (FastAPI's plain 404)."""

    def handler(request: httpx.Request) -> httpx.Response:
        parts = request.url.path.rstrip("/").split("/")
        if parts[-1] == "input_items":
            return httpx.Response(404, json={"detail": "Not Found"})
        rid = parts[-1]
        if rid in responses:
            return httpx.Response(200, json=responses[rid])
        return httpx.Response(404, json={"detail": "Response not found"})

    return httpx.MockTransport(handler)


async def test_import_from_a_server_without_input_items(index):
    root = {
        "id": "resp_" + "a" * 32,
        "object": "response",
        "created_at": 1750218114.0,
        "model": "accounts/fireworks/models/qwen3-235b-a22b",
        "status": "completed",
        "previous_response_id": None,
        "output": [
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "<think>hmm</think>Paris."}],
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
    }
    child = {**root, "id": "resp_" + "b" * 32, "previous_response_id": root["id"]}
    profile = Profile(
        name="fw",
        base_url="https://fw.invalid/inference/v1",
        api_key_env="FW_KEY",
        headers={},
        default_model="m",
    )
    client = ResponsesClient(
        profile, env={"FW_KEY": "k"}, transport=fireworks_like({r["id"]: r for r in (root, child)})
    )
    async with client:
        result = await import_chain(
            client,
            index,
            server="https://fw.invalid/inference/v1",
            profile="fw",
            response_id=child["id"],
        )
    assert result.inputs_unavailable
    node = index.get("https://fw.invalid/inference/v1", child["id"])
    assert not node.input_recorded
    assert node.output_preview == "Paris."
    lines = forest_lines(index, "https://fw.invalid/inference/v1")
    assert "(input not recorded)" in lines[0]


async def test_delete_partial_failure_keeps_the_failed_ones(index, backend):
    async with make_client(LOCAL, {}, backend=backend) as client:
        r1, r2, r3 = await chain(client, "a", "b", "c")
        await import_chain(client, index, server=SERVER, profile="local", response_id=r3["id"])

    def handler(request: httpx.Request) -> httpx.Response:
        rid = request.url.path.rsplit("/", 1)[-1]
        if rid == r2["id"]:
            return httpx.Response(500, json={"error": {"message": "storage unavailable"}})
        if rid == r3["id"]:
            return httpx.Response(404, json={"error": {"message": f"Response {rid} not found"}})
        return httpx.Response(200, json={"id": rid, "object": "response", "deleted": True})

    async def no_sleep(_s: float) -> None:
        return None

    client = ResponsesClient(LOCAL, env={}, transport=httpx.MockTransport(handler), sleep=no_sleep)
    ids = subtree_ids(index, SERVER, r1["id"])
    assert ids == [r1["id"], r2["id"], r3["id"]]
    async with client:
        report = await delete_responses(client, index, server=SERVER, ids=ids, concurrency=2)
    assert report.deleted == [r1["id"], r3["id"]]
    assert report.already_gone == [r3["id"]]
    assert list(report.failed) == [r2["id"]]
    assert "storage unavailable" in report.failed[r2["id"]]
    # r3 went; r2 failed and stays; r1 is gone on the server but r2 still hangs from it, so it
    # stays in the tree as a tombstone marked deleted.
    assert [n.id for n in index.nodes()] == [r1["id"], r2["id"]]
    assert report.tombstoned == [r1["id"]]
    assert str(index.get(SERVER, r1["id"]).status) == "deleted"
    assert json.dumps(report.failed)  # plain strings, printable
