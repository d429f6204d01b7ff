"""Sync: pull what the server lists (incrementally), or re-check what we know where it cannot."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from tui.api.client import ResponsesClient
from tui.api.errors import AuthError
from tui.api.profiles import resolve_profile
from tui.local.transport import OfflineTransport
from tui.ops.connect import make_client, offline_backend, server_id
from tui.ops.sync import sync
from tui.store.index import Index
from tui.store.records import Status

LOCAL = resolve_profile("local", {})
SERVER = server_id(LOCAL)


async def no_sleep(_s: float) -> None:
    return None


class CountingTransport(OfflineTransport):
    """The offline backend, counting requests by kind: list, retrieve, input_items, ..."""

    def __init__(self, backend) -> None:
        super().__init__(backend)
        self.counts: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")[1:]  # drop "v1"
        if parts == ["responses"]:
            kind = "list" if request.method == "GET" else "create"
        elif len(parts) == 2:
            kind = {"GET": "retrieve", "DELETE": "delete"}.get(request.method, request.method)
        else:
            kind = parts[-1]
        self.counts[kind] += 1
        return await super().handle_async_request(request)


@pytest.fixture
def index(tmp_path):
    with Index.open(tmp_path / "index") as idx:
        yield idx


@pytest.fixture
def backend(tmp_path):
    return offline_backend(tmp_path / "backend", seed=7)


@pytest.fixture
def counting(backend):
    return CountingTransport(backend)


def syncing_client(transport: httpx.AsyncBaseTransport) -> ResponsesClient:
    return ResponsesClient(LOCAL, env={}, transport=transport, sleep=no_sleep)


async def chain(client: ResponsesClient, *texts: str, previous: str | None = None) -> list[dict]:
    out = []
    for text in texts:
        body = {"model": "offline-echo", "input": text}
        if previous:
            body["previous_response_id"] = previous
        response = await client.create(body)
        out.append(response)
        previous = response["id"]
    return out


def input_text(index: Index, rid: str) -> str:
    return index.load_body(SERVER, rid)["input"][0]["content"][0]["text"]


def status(index: Index, rid: str) -> Status:
    return index.get(SERVER, rid).status


# ------------------------------------------------------------------ listing servers


async def test_first_sync_pulls_everything_with_input_items(index, backend, counting):
    async with make_client(LOCAL, {}, backend=backend) as other:
        r1, r2, r3 = await chain(other, "one", "two", "three")
        (fork,) = await chain(other, "fork", previous=r1["id"])
        (lone,) = await chain(other, "alone")
    calls = []
    async with syncing_client(counting) as client:
        report = await sync(
            client, index, server=SERVER, profile="local", progress=lambda *a: calls.append(a)
        )
    assert report.listed and report.complete
    assert report.new == [r1["id"], r2["id"], r3["id"], fork["id"], lone["id"]]  # oldest first
    assert report.missing == [] and report.restored == [] and report.failed == {}
    assert input_text(index, r2["id"]) == "two"
    assert input_text(index, lone["id"]) == "alone"
    assert all(n.input_recorded and n.status == Status.STORED for n in index.nodes(SERVER))
    forest = index.forest(SERVER)
    assert sorted(rid for _s, rid in forest.children((SERVER, r1["id"]))) == sorted(
        [r2["id"], fork["id"]]
    )
    assert counting.counts == Counter({"list": 1, "input_items": 5})
    assert index.sync_watermark(SERVER) == lone["id"]
    assert (5, None) in calls and (5, 5) in calls


async def test_second_sync_adds_only_what_is_new(index, backend, counting):
    async with make_client(LOCAL, {}, backend=backend) as other:
        r1, r2 = await chain(other, "one", "two")
        async with syncing_client(counting) as client:
            await sync(client, index, server=SERVER, profile="local")
            counting.counts.clear()
            (r3,) = await chain(other, "three", previous=r2["id"])
            (r4,) = await chain(other, "four")
            report = await sync(client, index, server=SERVER, profile="local")
            assert report.new == [r3["id"], r4["id"]]
            assert not report.complete  # stopped at the watermark
            # One list page, input items for the two new ones, nothing re-fetched.
            assert counting.counts == Counter({"list": 1, "input_items": 2})
            assert index.sync_watermark(SERVER) == r4["id"]

            counting.counts.clear()
            report = await sync(client, index, server=SERVER, profile="local")
            assert report.new == [] and counting.counts == Counter({"list": 1})
    assert [n.id for n in index.nodes(SERVER)] == [r1["id"], r2["id"], r3["id"], r4["id"]]
    assert index.get(SERVER, r3["id"]).parent == r2["id"]


async def test_incremental_sync_pages_until_the_watermark(index, backend, counting):
    async with make_client(LOCAL, {}, backend=backend) as other:
        await chain(other, "a", "b", "c")
        async with syncing_client(counting) as client:
            await sync(client, index, server=SERVER, profile="local", page_size=2)
            assert counting.counts["list"] == 2
            counting.counts.clear()
            new = await chain(other, "d", "e", "f", "g", "h")
            report = await sync(client, index, server=SERVER, profile="local", page_size=2)
    assert report.new == [r["id"] for r in new]
    # Pages [h g] [f e] [d c]: the watermark c is on the third; the rest is not read.
    assert counting.counts == Counter({"list": 3, "input_items": 5})
    assert len(index.nodes(SERVER)) == 8


async def test_deleted_behind_our_back_marked_missing_then_restored(index, backend):
    async with make_client(LOCAL, {}, backend=backend) as other:
        r1, r2, r3 = await chain(other, "one", "two", "three")
        async with syncing_client(OfflineTransport(backend)) as client:
            await sync(client, index, server=SERVER, profile="local")
            saved = backend.store.get(r2["id"])
            await other.delete(r1["id"])
            await other.delete(r2["id"])

            # Incremental: r3 (the watermark) is still there, so the listing stops at once and
            # nothing is marked.
            report = await sync(client, index, server=SERVER, profile="local")
            assert not report.complete
            assert report.missing == [] and status(index, r2["id"]) == Status.STORED

            report = await sync(client, index, server=SERVER, profile="local", full=True)
            assert report.complete
            assert report.missing == [r1["id"], r2["id"]]
            assert [n.id for n in index.nodes(SERVER)] == [r1["id"], r2["id"], r3["id"]]
            assert status(index, r2["id"]) == Status.MISSING
            assert status(index, r3["id"]) == Status.STORED
            assert input_text(index, r1["id"]) == "one"  # kept, body and all
            assert index.get(SERVER, r3["id"]).parent == r2["id"]  # the tree is unchanged

            backend.store.put(saved)  # it comes back
            report = await sync(client, index, server=SERVER, profile="local", full=True)
    assert report.restored == [r2["id"]]
    assert report.missing == []  # r1 was already missing: not reported again
    assert status(index, r2["id"]) == Status.STORED
    assert status(index, r1["id"]) == Status.MISSING


async def test_a_lost_watermark_means_a_full_listing(index, backend):
    async with make_client(LOCAL, {}, backend=backend) as other:
        r1, r2 = await chain(other, "one", "two")
        async with syncing_client(OfflineTransport(backend)) as client:
            await sync(client, index, server=SERVER, profile="local")
            await other.delete(r2["id"])  # the watermark itself
            (r3,) = await chain(other, "three", previous=r1["id"])
            report = await sync(client, index, server=SERVER, profile="local")
    assert report.complete
    assert report.new == [r3["id"]]
    assert report.missing == [r2["id"]]
    assert index.sync_watermark(SERVER) == r3["id"]


async def test_not_stored_and_deleted_are_left_alone(index, backend):
    async with make_client(LOCAL, {}, backend=backend) as other:
        (kept,) = await chain(other, "kept")
        ours = await other.create({"model": "offline-echo", "input": "private", "store": False})
        (gone,) = await chain(other, "we delete this")
        async with syncing_client(OfflineTransport(backend)) as client:
            await sync(client, index, server=SERVER, profile="local")
            index.add_response(ours, server=SERVER, profile="local")
            assert status(index, ours["id"]) == Status.NOT_STORED
            await other.delete(gone["id"])
            index.set_status(SERVER, gone["id"], Status.DELETED)
            report = await sync(client, index, server=SERVER, profile="local", full=True)
    assert report.missing == [] and report.new == []
    assert status(index, ours["id"]) == Status.NOT_STORED
    assert status(index, gone["id"]) == Status.DELETED
    assert status(index, kept["id"]) == Status.STORED


async def test_an_unknown_parent_is_added_as_an_orphan(index, backend):
    async with make_client(LOCAL, {}, backend=backend) as other:
        r1, r2, r3 = await chain(other, "one", "two", "three")
        await other.delete(r1["id"])
        async with syncing_client(OfflineTransport(backend)) as client:
            report = await sync(client, index, server=SERVER, profile="local")
    assert report.new == [r2["id"], r3["id"]]
    forest = index.forest(SERVER)
    assert forest.is_orphan((SERVER, r2["id"]))
    assert [rid for _s, rid in forest.children((SERVER, r2["id"]))] == [r3["id"]]


async def test_a_failed_input_fetch_skips_the_response_and_keeps_the_watermark(index, backend):
    async with make_client(LOCAL, {}, backend=backend) as other:
        r1, r2 = await chain(other, "one", "two")

    class Flaky(OfflineTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith(f"{r2['id']}/input_items"):
                return httpx.Response(500, json={"error": {"message": "disk on fire"}})
            return await super().handle_async_request(request)

    async with syncing_client(Flaky(backend)) as client:
        report = await sync(client, index, server=SERVER, profile="local")
    assert report.new == [r1["id"]]
    assert "disk on fire" in report.failed[r2["id"]]
    assert index.get(SERVER, r2["id"]) is None
    assert index.sync_watermark(SERVER) is None  # the next sync lists it again
    async with syncing_client(OfflineTransport(backend)) as client:
        report = await sync(client, index, server=SERVER, profile="local")
    assert report.new == [r2["id"]] and report.failed == {}


async def test_watermarks_are_per_server(index):
    index.set_sync_watermark("a", "resp_1")
    index.set_sync_watermark("b", "resp_2")
    index.set_sync_watermark("a", "resp_3")
    assert index.sync_watermark("a") == "resp_3"
    assert index.sync_watermark("b") == "resp_2"
    index.set_sync_watermark("a", None)
    assert index.sync_watermark("a") is None


async def test_a_failing_listing_propagates(index):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"message": "bad key"}})

    async with syncing_client(httpx.MockTransport(handler)) as client:
        with pytest.raises(AuthError):
            await sync(client, index, server=SERVER, profile="local")


# ------------------------------------------------------------------ servers that cannot list


def response(rid: str, n: int, **extra) -> dict:
    return {
        "id": rid,
        "object": "response",
        "created_at": 1_750_000_000.0 + n,
        "model": "gpt-test",
        "status": "completed",
        "output": [],
        **extra,
    }


class OpenAILike:
    """No list endpoint; retrieve answers 200, 404 or 500 by id; tracks requests in flight."""

    def __init__(self, present: set[str], broken: set[str]) -> None:
        self.present = present
        self.broken = broken
        self.in_flight = 0
        self.max_in_flight = 0
        self.retrieved: Counter[str] = Counter()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        if parts[-1] == "responses":
            return httpx.Response(404, json={"error": {"message": "Invalid URL"}})
        rid = parts[-1]
        self.retrieved[rid] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.01)
        finally:
            self.in_flight -= 1
        if rid in self.broken:
            return httpx.Response(500, json={"error": {"message": "storage unavailable"}})
        if rid in self.present:
            return httpx.Response(200, json=response(rid, 0))
        return httpx.Response(404, json={"error": {"message": f"No response '{rid}'"}})


async def test_recheck_without_a_list_endpoint(index):
    ids = [f"resp_{n:02d}" for n in range(12)]
    for n, rid in enumerate(ids):
        index.add_response(response(rid, n), server=SERVER, profile="openai", input_items=[])
    not_stored, deleted, incomplete, was_missing, back, broken = ids[:6]
    index.set_status(SERVER, not_stored, Status.NOT_STORED)
    index.set_status(SERVER, deleted, Status.DELETED)
    index.set_status(SERVER, incomplete, Status.INCOMPLETE)
    index.set_status(SERVER, was_missing, Status.MISSING)
    index.set_status(SERVER, back, Status.MISSING)
    gone = [ids[6], ids[8], ids[11]]
    present = set(ids) - set(gone) - {was_missing}
    server = OpenAILike(present, {broken})
    before = {n.id: n.status for n in index.nodes(SERVER)}
    calls = []

    client = ResponsesClient(LOCAL, env={}, transport=httpx.MockTransport(server), sleep=no_sleep)
    async with client:
        report = await sync(
            client,
            index,
            server=SERVER,
            profile="openai",
            concurrency=3,
            progress=lambda *a: calls.append(a),
        )
    assert not report.listed
    assert report.checked == 10  # all but the not-stored and the deleted one
    assert not_stored not in server.retrieved and deleted not in server.retrieved
    assert report.missing == gone  # was_missing is a 404 too, but was missing already
    assert report.restored == [back]
    assert list(report.failed) == [broken]
    assert "storage unavailable" in report.failed[broken]
    assert server.retrieved[broken] == 4  # retried, then reported
    assert server.max_in_flight == 3
    assert report.new == []

    after = {n.id: n.status for n in index.nodes(SERVER)}
    assert sorted(after) == sorted(ids)  # nothing removed
    assert after[broken] == before[broken] == Status.STORED
    assert after[incomplete] == Status.INCOMPLETE
    assert after[was_missing] == Status.MISSING
    assert after[back] == Status.STORED
    assert after[not_stored] == Status.NOT_STORED and after[deleted] == Status.DELETED
    assert all(after[rid] == Status.MISSING for rid in gone)
    assert calls[0] == (0, 10) and calls[-1] == (10, 10)
    assert index.sync_watermark(SERVER) is None


async def test_recheck_concurrency_of_one_is_sequential(index):
    ids = [f"resp_{n:02d}" for n in range(5)]
    for n, rid in enumerate(ids):
        index.add_response(response(rid, n), server=SERVER, profile="openai")
    server = OpenAILike(set(ids), set())
    client = ResponsesClient(LOCAL, env={}, transport=httpx.MockTransport(server), sleep=no_sleep)
    async with client:
        report = await sync(client, index, server=SERVER, profile="openai", concurrency=1)
    assert report.checked == 5 and report.missing == [] and report.failed == {}
    assert server.max_in_flight == 1
