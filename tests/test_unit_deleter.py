"""Deleting responses: on the server and in the index, what is forgotten, what is kept as a
tombstone, what is never asked of the server, and what a failure or a cancel leaves."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tui.api.client import ResponsesClient
from tui.api.profiles import Profile
from tui.ops import deleter
from tui.ops.deleter import DeleteReport, delete_responses, subtree_ids
from tui.store.index import Index
from tui.store.records import Status

SERVER = "https://api.example.com/v1"
PROFILE = Profile(name="t", base_url=SERVER)


@pytest.fixture
def index(tmp_path):
    with Index.open(tmp_path / "index") as idx:
        yield idx


def add(index: Index, rid: str, parent: str | None = None, n: int = 0, **extra) -> None:
    index.add_response(
        {
            "id": rid,
            "object": "response",
            "created_at": 1_750_000_000 + n,
            "model": "m",
            "status": "completed",
            "previous_response_id": parent,
            "output": [],
            **extra,
        },
        server=SERVER,
        profile="t",
        input_items=[],
    )


def tree(index: Index, edges: list[tuple[str, str | None]]) -> None:
    for n, (rid, parent) in enumerate(edges):
        add(index, rid, parent, n)


async def no_sleep(_s: float) -> None:
    return None


class Server:
    """A delete route: 200 by default; per id a 404 "not found", a 500, a 405 or a block."""

    def __init__(self, **answers: str) -> None:
        self.answers = answers
        self.asked: list[str] = []
        self.running = 0
        self.most = 0
        self.blocked = asyncio.Event()  # set when a "block" id is reached

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        rid = request.url.path.rsplit("/", 1)[-1]
        self.asked.append(rid)
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            for _ in range(3):
                await asyncio.sleep(0)
            answer = self.answers.get(rid, "ok")
            if answer == "block":
                self.blocked.set()
                await asyncio.Event().wait()
            if answer == "gone":
                return httpx.Response(404, json={"error": {"message": f"Response {rid} not found"}})
            if answer == "broken":
                return httpx.Response(500, json={"error": {"message": "storage unavailable"}})
            if answer == "no route":
                return httpx.Response(405, json={"detail": "Method Not Allowed"})
            return httpx.Response(200, json={"id": rid, "object": "response", "deleted": True})
        finally:
            self.running -= 1


def client_for(server: Server) -> ResponsesClient:
    return ResponsesClient(PROFILE, env={}, transport=httpx.MockTransport(server), sleep=no_sleep)


def ids(index: Index) -> list[str]:
    return [n.id for n in index.nodes(SERVER)]


# ------------------------------------------------------------------ subtree_ids


def test_subtree_ids_is_the_response_then_its_descendants(index):
    tree(index, [("a", None), ("b", "a"), ("c", "b"), ("d", "a"), ("other", None)])
    assert subtree_ids(index, SERVER, "b") == ["b", "c"]
    assert subtree_ids(index, SERVER, "c") == ["c"]
    assert sorted(subtree_ids(index, SERVER, "a")) == ["a", "b", "c", "d"]
    assert subtree_ids(index, SERVER, "a")[0] == "a"
    assert subtree_ids(index, "http://elsewhere/v1", "a") == ["a"]


# ------------------------------------------------------------------ on the server


async def test_deleted_leaves_are_forgotten_in_the_order_asked(index):
    tree(index, [("a", None), ("b", None), ("c", None)])
    server = Server()
    async with client_for(server) as client:
        report = await delete_responses(client, index, server=SERVER, ids=["c", "a", "c"])
    assert sorted(server.asked) == ["a", "c"]  # a repeated id is asked once
    assert report == DeleteReport(deleted=["c", "a"], forgotten=["c", "a"])
    assert ids(index) == ["b"]


async def test_a_parent_whose_children_stay_is_kept_as_a_tombstone(index):
    tree(index, [("a", None), ("b", "a"), ("c", "b"), ("d", "a")])
    async with client_for(Server()) as client:
        report = await delete_responses(client, index, server=SERVER, ids=["a", "b", "c"])
    # c and b go (deepest first, each a leaf by then); a keeps d, so it stays, marked deleted.
    assert report.deleted == ["a", "b", "c"]
    assert report.forgotten == ["b", "c"]
    assert report.tombstoned == ["a"]
    assert ids(index) == ["a", "d"]
    assert index.get(SERVER, "a").status == Status.DELETED
    assert index.get(SERVER, "d").status == Status.STORED


async def test_tombstones_are_listed_in_the_order_asked(index):
    tree(index, [("a", None), ("b", "a"), ("x", None), ("y", "x")])
    async with client_for(Server()) as client:
        report = await delete_responses(client, index, server=SERVER, ids=["a", "x"])
    assert report.tombstoned == ["a", "x"]
    assert report.forgotten == []
    assert ids(index) == ["a", "b", "x", "y"]


async def test_a_whole_subtree_goes(index):
    tree(index, [("a", None), ("b", "a"), ("c", "b"), ("d", "a")])
    async with client_for(Server()) as client:
        report = await delete_responses(
            client, index, server=SERVER, ids=subtree_ids(index, SERVER, "a")
        )
    assert report.tombstoned == []
    assert sorted(report.forgotten) == ["a", "b", "c", "d"]
    assert ids(index) == []


async def test_a_not_found_counts_as_already_gone(index):
    tree(index, [("a", None), ("b", None), ("c", None)])
    async with client_for(Server(c="gone", a="gone")) as client:
        report = await delete_responses(client, index, server=SERVER, ids=["c", "b", "a"])
    assert report.deleted == ["c", "b", "a"]
    assert report.already_gone == ["c", "a"]
    assert report.failed == {}
    assert ids(index) == []


async def test_a_failed_delete_stays_untouched_and_is_reported(index):
    tree(index, [("a", None), ("b", None)])
    async with client_for(Server(b="broken")) as client:
        report = await delete_responses(client, index, server=SERVER, ids=["a", "b"])
    assert report.deleted == ["a"]
    assert list(report.failed) == ["b"]
    assert report.failed["b"] == "delete b: server error 500: storage unavailable"
    assert report.unsupported is None
    assert ids(index) == ["b"]
    assert index.get(SERVER, "b").status == Status.STORED


async def test_a_server_without_a_delete_route_says_so_and_nothing_leaves(index):
    tree(index, [("a", None)])
    async with client_for(Server(a="no route")) as client:
        report = await delete_responses(client, index, server=SERVER, ids=["a"])
    said = "this server (api.example.com) cannot delete responses: Method Not Allowed"
    assert report.unsupported == said
    assert report.failed == {"a": said}
    assert report.deleted == [] and report.forgotten == []
    assert ids(index) == ["a"]


async def test_not_stored_responses_are_not_asked_of_the_server(index):
    tree(index, [("a", None)])
    add(index, "private", None, 5, store=False)
    assert index.get(SERVER, "private").status == Status.NOT_STORED
    server = Server()
    async with client_for(server) as client:
        report = await delete_responses(client, index, server=SERVER, ids=["private", "a"])
    assert server.asked == ["a"]
    assert report.not_stored == ["private"]
    assert report.deleted == ["private", "a"]
    assert report.forgotten == ["private", "a"]
    assert ids(index) == []


async def test_an_id_the_index_does_not_hold_is_still_deleted_on_the_server(index):
    tree(index, [("a", None)])
    server = Server()
    async with client_for(server) as client:
        report = await delete_responses(client, index, server=SERVER, ids=["a", "stranger"])
    assert sorted(server.asked) == ["a", "stranger"]
    assert report.deleted == ["a", "stranger"]
    assert report.forgotten == ["a"]  # the stranger was never in the index
    assert ids(index) == []


async def test_a_client_is_needed_unless_local_only(index):
    with pytest.raises(ValueError) as caught:
        await delete_responses(None, index, server=SERVER, ids=["a"])
    assert str(caught.value) == "a client is needed to delete on the server"


async def test_four_at_a_time_by_default_and_progress_counts_each(index):
    tree(index, [(f"r{n}", None) for n in range(7)])
    server = Server()
    calls: list[tuple[int, int]] = []
    async with client_for(server) as client:
        await delete_responses(
            client,
            index,
            server=SERVER,
            ids=[f"r{n}" for n in range(7)],
            progress=lambda d, t: calls.append((d, t)),
        )
    assert server.most == 4
    assert calls == [(n, 7) for n in range(1, 8)]


async def test_the_concurrency_is_the_callers(index):
    tree(index, [(f"r{n}", None) for n in range(5)])
    server = Server()
    async with client_for(server) as client:
        await delete_responses(
            client, index, server=SERVER, ids=[f"r{n}" for n in range(5)], concurrency=2
        )
    assert server.most == 2


async def test_a_cancel_still_records_what_the_server_deleted(index):
    tree(index, [("a", None), ("b", None), ("c", None), ("d", None)])
    server = Server(c="block")
    async with client_for(server) as client:
        task = asyncio.create_task(
            delete_responses(client, index, server=SERVER, ids=["a", "b", "c", "d"], concurrency=1)
        )
        await server.blocked.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert server.asked == ["a", "b", "c"]
    assert ids(index) == ["c", "d"]  # a and b went on the server: gone here too


# ------------------------------------------------------------------ locally only


async def test_forget_locally_removes_even_a_parent_whose_children_stay(index):
    tree(index, [("a", None), ("b", "a"), ("c", None)])
    report = await delete_responses(None, index, server=SERVER, ids=["a", "c"], local_only=True)
    assert report.deleted == ["a", "c"]
    assert report.forgotten == ["a", "c"]
    assert report.tombstoned == []
    assert ids(index) == ["b"]
    assert index.forest(SERVER).is_orphan((SERVER, "b"))


async def test_forget_locally_skips_ids_it_does_not_hold(index):
    tree(index, [("a", None), ("b", None)])
    report = await delete_responses(
        None, index, server=SERVER, ids=["a", "stranger", "b"], local_only=True
    )
    assert report.deleted == ["a", "stranger", "b"]
    assert report.forgotten == ["a", "b"]
    assert ids(index) == []


async def test_forgetting_goes_in_batches_and_yields_between_them(index, monkeypatch):
    names = [f"r{n}" for n in range(5)]
    tree(index, [(rid, None) for rid in names])
    monkeypatch.setattr(deleter, "FORGET_BATCH", 2)
    batches: list[list[str]] = []
    real_remove, real_sleep = index.remove_many, asyncio.sleep
    pauses: list[float] = []

    def remove_many(server, response_ids):
        batches.append(list(response_ids))
        return real_remove(server, response_ids)

    async def sleep(seconds, *args):
        pauses.append(seconds)
        return await real_sleep(seconds, *args)

    monkeypatch.setattr(index, "remove_many", remove_many)
    monkeypatch.setattr(asyncio, "sleep", sleep)
    report = await delete_responses(None, index, server=SERVER, ids=names, local_only=True)
    assert batches == [["r4", "r3"], ["r2", "r1"], ["r0"]]  # deepest (last) first
    assert pauses == [0, 0, 0]
    assert report.forgotten == names
    assert ids(index) == []
