"""Sync against a scripted server: what is added, marked, restored, reported and remembered."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tui.api.client import ResponsesClient
from tui.api.errors import EndpointNotSupported
from tui.api.profiles import Profile
from tui.ops.sync import (
    PAGE_SIZE,
    SyncReport,
    sync,
)
from tui.store.index import Index
from tui.store.records import Status

SERVER = "https://api.example.com/v1"
SECRET = "sk-secret-value-123"
PROFILE = Profile(name="t", base_url=SERVER, api_key_env="T_KEY")


async def no_sleep(_s: float) -> None:
    return None


def message(role: str, text: str, **extra) -> dict:
    kind = "output_text" if role == "assistant" else "input_text"
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}], **extra}


class Server:
    """Lists (newest first, in pages), retrieves and serves input items as scripted.

    `answers[(what, id)]` is "gone" (404 not found), "broken" (500) or "no route" (405), where
    `what` is "retrieve" or "input_items"; `listing` is False for a server that cannot list."""

    def __init__(self) -> None:
        self.responses: dict[str, dict] = {}  # creation order
        self.inputs: dict[str, list] = {}
        self.answers: dict[tuple[str, str], str] = {}
        self.listing = True
        self.stuck = False  # every list page is the first one, saying there is more
        self.junk = 0  # listed items whose id is not an id, on the first page
        self.unlisted: set[str] = set()  # retrievable, never listed
        self.limits: list[str] = []
        self.asked: list[tuple[str, str]] = []

    def add(self, rid: str, parent=None, *, text: str = "", items=None, **extra) -> dict:
        response = {
            "id": rid,
            "object": "response",
            "created_at": 1_750_000_000 + len(self.responses),
            "model": "m",
            "status": "completed",
            "previous_response_id": parent,
            "output": [message("assistant", f"answer {rid}", id=f"msg_{rid}")],
            **extra,
        }
        self.responses[rid] = response
        self.inputs[rid] = items if items is not None else [message("user", text or f"ask {rid}")]
        return response

    def _fail(self, answer: str, rid: str) -> httpx.Response:
        if answer == "gone":
            return httpx.Response(404, json={"error": {"message": f"Response {rid} not found"}})
        if answer == "no route":
            return httpx.Response(405, json={"detail": "Method Not Allowed"})
        return httpx.Response(500, json={"error": {"message": f"disk on fire ({rid})"}})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")[1:]  # drop "v1"
        if parts == ["responses"]:
            self.asked.append(("list", request.url.params.get("after", "")))
            if not self.listing:
                return httpx.Response(404, json={"detail": "Not Found"})
            return self._page(request)
        rid = parts[1]
        what = "input_items" if parts[-1] == "input_items" else "retrieve"
        self.asked.append((what, rid))
        answer = self.answers.get((what, rid))
        if answer is None and rid not in self.responses:
            answer = "gone"
        if answer is not None:
            return self._fail(answer, rid)
        if what == "retrieve":
            return httpx.Response(200, json=self.responses[rid])
        return httpx.Response(200, json={"object": "list", "data": self.inputs[rid]})

    def _page(self, request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params["limit"])
        self.limits.append(str(limit))
        listed = [r for r in self.responses.values() if r["id"] not in self.unlisted]
        newest_first = list(reversed(listed))
        after = request.url.params.get("after")
        if after and not self.stuck:
            newest_first = newest_first[[r["id"] for r in newest_first].index(after) + 1 :]
        data = newest_first[:limit]
        if self.junk and not after:
            data = [{"id": "no id!"}] * self.junk + data
        more = self.stuck or len(newest_first) > limit
        page = {"object": "list", "data": data, "has_more": more}
        if data:
            page["last_id"] = data[-1]["id"]
        return httpx.Response(200, json=page)


@pytest.fixture
def index(tmp_path):
    with Index.open(tmp_path / "index") as idx:
        yield idx


def client_for(server: Server) -> ResponsesClient:
    return ResponsesClient(
        PROFILE, env={"T_KEY": SECRET}, transport=httpx.MockTransport(server), sleep=no_sleep
    )


async def run(server: Server, index: Index, **kw) -> SyncReport:
    async with client_for(server) as client:
        return await sync(client, index, server=SERVER, profile="t", **kw)


def status(index: Index, rid: str) -> Status:
    return index.get(SERVER, rid).status


def texts(index: Index, rid: str) -> list[str]:
    return [i["content"][0]["text"] for i in index.load_body(SERVER, rid)["input"]]


def known(index: Index, rid: str, n: int = 0, status: Status | None = None) -> None:
    """A response the index already holds."""
    index.add_response(
        {
            "id": rid,
            "object": "response",
            "created_at": 1_700_000_000 + n,
            "model": "m",
            "status": "completed",
            "output": [],
        },
        server=SERVER,
        profile="t",
        input_items=[],
        status=status,
    )


# ------------------------------------------------------------------ the watermark


def test_watermark_round_trip_per_server(index):
    assert index.sync_watermark(SERVER) is None
    index.set_sync_watermark(SERVER, "resp_a")
    index.set_sync_watermark("other", "resp_b")
    assert index.sync_watermark(SERVER) == "resp_a"
    index.set_sync_watermark(SERVER, "resp_c")
    assert index.sync_watermark(SERVER) == "resp_c"
    assert index.sync_watermark("other") == "resp_b"
    index.set_sync_watermark("other", None)
    assert index.sync_watermark("other") is None
    assert index.sync_watermark(SERVER) == "resp_c"
    index.set_sync_watermark("never", None)  # forgetting what was never there is fine


def test_a_damaged_watermark_counts_as_none(index):
    table = index._catalog.table("sync")
    table.insert({"sync": SERVER, "newest": ""})
    table.insert({"sync": "b", "newest": 42})
    table.insert({"sync": "c"})
    assert index.sync_watermark(SERVER) is None
    assert index.sync_watermark("b") is None
    assert index.sync_watermark("c") is None


# ------------------------------------------------------------------ listing servers


async def test_a_first_sync_adds_everything_oldest_first_with_inputs(index):
    server = Server()
    server.add("resp_a", text="one")
    server.add("resp_b", "resp_a", text="two")
    server.add("resp_c", text="three")
    calls: list[tuple] = []
    report = await run(server, index, progress=lambda *a: calls.append(a))
    assert report == SyncReport(listed=True, new=["resp_a", "resp_b", "resp_c"], complete=True)
    assert [n.id for n in index.nodes(SERVER)] == ["resp_a", "resp_b", "resp_c"]
    assert texts(index, "resp_b") == ["two"]
    assert index.get(SERVER, "resp_b").parent == "resp_a"
    assert index.get(SERVER, "resp_a").profile == "t"
    assert all(n.status == Status.STORED for n in index.nodes(SERVER))
    # The listing counts up with no total, then the input fetches count to theirs.
    assert calls == [(1, None), (2, None), (3, None), (1, 3), (2, 3), (3, 3)]
    assert server.limits == [str(PAGE_SIZE)]
    assert index.sync_watermark(SERVER) == "resp_c"


async def test_the_page_size_is_the_callers_and_paging_goes_to_the_end(index):
    server = Server()
    for n in range(5):
        server.add(f"resp_{n}")
    report = await run(server, index, page_size=2)
    assert server.limits == ["2", "2", "2"]
    assert [a for a in server.asked if a[0] == "list"] == [
        ("list", ""),
        ("list", "resp_3"),
        ("list", "resp_1"),
    ]
    assert report.new == [f"resp_{n}" for n in range(5)]
    assert report.complete


async def test_a_second_sync_stops_at_the_watermark(index):
    server = Server()
    server.add("resp_a")
    server.add("resp_b")
    await run(server, index)
    server.add("resp_c", "resp_b")
    server.asked.clear()
    report = await run(server, index, page_size=1)
    assert report.new == ["resp_c"]
    assert report.complete is False
    assert report.missing == []
    # One page with c, one with b (the watermark): a is not read, nothing is retrieved.
    assert server.asked == [("list", ""), ("list", "resp_c"), ("input_items", "resp_c")]
    assert index.sync_watermark(SERVER) == "resp_c"


async def test_nothing_new_keeps_the_watermark_where_it_is(index):
    server = Server()
    server.add("resp_a")
    await run(server, index)
    report = await run(server, index)
    assert report.new == [] and report.complete is False
    assert index.sync_watermark(SERVER) == "resp_a"


async def test_a_full_sync_ignores_the_watermark(index):
    server = Server()
    server.add("resp_a")
    server.add("resp_b")
    await run(server, index)
    known(index, "resp_old")  # the server does not list it, and says it is gone
    report = await run(server, index, full=True)
    assert report.complete
    assert report.missing == ["resp_old"]
    assert status(index, "resp_old") == Status.MISSING
    assert index.sync_watermark(SERVER) == "resp_b"


async def test_an_empty_listing_is_complete_and_checks_what_is_known(index):
    server = Server()
    known(index, "resp_x", 0)
    known(index, "resp_y", 1)
    server.add("resp_y")
    server.unlisted.add("resp_y")  # retrievable, but left out of the listing
    report = await run(server, index)
    assert report.complete and report.new == []
    assert report.missing == ["resp_x"]
    assert report.unlisted_found == ["resp_y"]
    assert status(index, "resp_x") == Status.MISSING
    assert status(index, "resp_y") == Status.STORED
    assert index.sync_watermark(SERVER) is None


async def test_unlisted_ones_are_checked_one_by_one_in_index_order(index):
    server = Server()
    server.add("resp_new")
    for n, rid in enumerate(["resp_1", "resp_2", "resp_3", "resp_4", "resp_5", "resp_6"]):
        known(index, rid, n)
    index.set_status(SERVER, "resp_2", Status.INCOMPLETE)
    index.set_status(SERVER, "resp_3", Status.FAILED)
    index.set_status(SERVER, "resp_4", Status.NOT_STORED)
    index.set_status(SERVER, "resp_5", Status.DELETED)
    index.set_status(SERVER, "resp_6", Status.MISSING)
    server.add("resp_3")
    server.unlisted.add("resp_3")
    report = await run(server, index, concurrency=1)
    retrieved = [rid for what, rid in server.asked if what == "retrieve"]
    # Stored, incomplete and failed ones are asked; not-stored, deleted and missing are not.
    assert retrieved == ["resp_1", "resp_2", "resp_3"]
    assert report.missing == ["resp_1", "resp_2"]
    assert report.unlisted_found == ["resp_3"]
    assert status(index, "resp_1") == Status.MISSING
    assert status(index, "resp_2") == Status.MISSING
    assert status(index, "resp_3") == Status.FAILED  # the server has it: left as it was
    assert status(index, "resp_4") == Status.NOT_STORED
    assert status(index, "resp_5") == Status.DELETED
    assert status(index, "resp_6") == Status.MISSING
    assert report.warnings == [] and report.failed == {}
    assert index.sync_watermark(SERVER) == "resp_new"


async def test_another_servers_responses_are_not_checked(index):
    server = Server()
    server.add("resp_a")
    index.add_response(
        {"id": "resp_there", "object": "response", "created_at": 1.0, "output": []},
        server="https://other.example/v1",
        profile="o",
    )
    report = await run(server, index)
    assert report.complete and report.missing == []
    assert [a for a in server.asked if a[0] == "retrieve"] == []
    assert index.get("https://other.example/v1", "resp_there").status == Status.STORED


async def test_a_missing_response_listed_again_is_restored(index):
    server = Server()
    server.add("resp_a")
    server.add("resp_b")
    known(index, "resp_a", 0, Status.MISSING)
    known(index, "resp_b", 1, Status.INCOMPLETE)
    report = await run(server, index)
    assert report.restored == ["resp_a"]
    assert report.new == []
    assert status(index, "resp_a") == Status.STORED
    assert status(index, "resp_b") == Status.INCOMPLETE  # known and not missing: untouched


async def test_an_unlisted_response_the_server_cannot_check_is_left_with_a_warning(index):
    server = Server()
    server.add("resp_a")
    known(index, "resp_k", 0)
    server.answers[("retrieve", "resp_k")] = "no route"
    report = await run(server, index)
    assert report.warnings == [
        "the listing left out some known responses, and this server cannot retrieve "
        "them to check: they are left as they were"
    ]
    assert report.missing == [] and report.unlisted_found == []
    assert status(index, "resp_k") == Status.STORED
    assert report.new == ["resp_a"]
    assert index.sync_watermark(SERVER) is None  # a warning: the next sync looks again


async def test_an_unlisted_response_that_fails_to_retrieve_is_reported(index):
    server = Server()
    server.add("resp_a")
    known(index, "resp_k", 0)
    server.answers[("retrieve", "resp_k")] = "broken"
    report = await run(server, index)
    assert report.failed == {"resp_k": "retrieve resp_k: server error 500: disk on fire (resp_k)"}
    assert status(index, "resp_k") == Status.STORED
    assert index.sync_watermark(SERVER) is None


async def test_a_failed_input_fetch_leaves_the_response_for_next_time(index):
    server = Server()
    server.add("resp_a")
    server.add("resp_b")
    server.answers[("input_items", "resp_a")] = "broken"
    report = await run(server, index)
    assert report.new == ["resp_b"]
    assert report.failed == {
        "resp_a": "input items of resp_a: server error 500: disk on fire (resp_a)"
    }
    assert index.get(SERVER, "resp_a") is None
    assert index.sync_watermark(SERVER) is None


async def test_a_response_gone_before_its_input_is_fetched_has_none_recorded(index):
    server = Server()
    server.add("resp_a")
    server.add("resp_b")
    server.add("resp_c")
    # Deleted between the listing and the fetch of its input.
    server.answers[("input_items", "resp_b")] = "gone"
    server.answers[("retrieve", "resp_b")] = "gone"
    report = await run(server, index, concurrency=1)
    assert report.new == ["resp_a", "resp_b", "resp_c"]
    assert index.get(SERVER, "resp_a").input_recorded
    assert not index.get(SERVER, "resp_b").input_recorded
    assert index.load_body(SERVER, "resp_b")["input"] is None
    assert index.get(SERVER, "resp_c").input_recorded
    assert report.failed == {}


async def test_a_server_without_input_items_is_asked_once(index):
    server = Server()
    for rid in ("resp_a", "resp_b", "resp_c"):
        server.add(rid)
        server.answers[("input_items", rid)] = "no route"
    report = await run(server, index, concurrency=1)
    assert report.new == ["resp_a", "resp_b", "resp_c"]
    assert [a for a in server.asked if a[0] == "input_items"] == [("input_items", "resp_a")]
    assert not any(n.input_recorded for n in index.nodes(SERVER))
    assert report.failed == {} and report.warnings == []
    assert index.sync_watermark(SERVER) == "resp_c"


async def test_a_whole_conversation_of_input_is_trimmed_to_each_turns_own(index):
    """Llama Stack returns every earlier turn's input and output as a turn's input items."""
    server = Server()
    a = server.add("resp_a", items=[message("user", "one", id="in_a")])
    server.add(
        "resp_b",
        "resp_a",
        items=[
            message("user", "one", id="in_a"),
            {**a["output"][0]},
            message("user", "two", id="in_b"),
        ],
    )
    await run(server, index)
    assert texts(index, "resp_a") == ["one"]
    assert texts(index, "resp_b") == ["two"]
    # The next turn's parent is already in the index: its recorded output is used.
    b = server.responses["resp_b"]
    server.add(
        "resp_c",
        "resp_b",
        items=[
            message("user", "one"),
            message("assistant", "answer resp_a"),
            message("user", "two"),
            {**b["output"][0]},
            message("user", "three"),
        ],
    )
    report = await run(server, index)
    assert report.new == ["resp_c"]
    assert texts(index, "resp_c") == ["three"]


@pytest.mark.parametrize("output", ["not a list", 7, None, {"id": "msg_resp_a"}])
async def test_a_parent_without_an_output_list_trims_nothing(index, output):
    server = Server()
    server.add("resp_a", output=output)
    server.add(
        "resp_b",
        "resp_a",
        items=[message("assistant", "answer resp_a"), message("user", "two")],
    )
    await run(server, index)
    assert texts(index, "resp_b") == ["answer resp_a", "two"]


async def test_a_malformed_parent_id_is_a_root_and_keeps_its_input(index):
    server = Server()
    server.add("resp_a")
    server.add("resp_b", ["resp_a"], items=[message("assistant", "answer resp_a")])
    report = await run(server, index)
    assert report.new == ["resp_a", "resp_b"]
    assert index.get(SERVER, "resp_b").parent is None
    assert texts(index, "resp_b") == ["answer resp_a"]


async def test_echoed_secrets_never_reach_the_index(index):
    server = Server()
    server.add("resp_a", instructions=f"key is {SECRET}", items=[message("user", SECRET)])
    await run(server, index)
    body = index.load_body(SERVER, "resp_a")
    assert body["response"]["instructions"] == "key is ***"
    assert texts(index, "resp_a") == ["***"]
    assert SECRET not in repr(body)


async def test_listed_items_whose_id_is_not_an_id_are_skipped_and_said(index):
    server = Server()
    server.add("resp_a")
    server.junk = 1
    async with client_for(server) as client:
        first = await sync(client, index, server=SERVER, profile="t")
        server.junk = 2
        second = await sync(client, index, server=SERVER, profile="t", full=True)
    assert first.warnings == ["skipped 1 listed response whose id is not an id"]
    assert second.warnings == ["skipped 2 listed responses whose id is not an id"]
    assert first.new == ["resp_a"]
    assert index.sync_watermark(SERVER) is None


async def test_a_listing_that_pages_forever_is_stopped_and_incomplete(index):
    server = Server()
    server.add("resp_a")
    server.add("resp_b")
    known(index, "resp_k")
    server.stuck = True
    calls: list[tuple] = []
    report = await run(server, index, progress=lambda *a: calls.append(a))
    assert report.warnings == [
        "list: stopped after 2 pages (4 items): the server sent a cursor it had sent "
        "before (it does not advance)"
    ]
    assert report.complete is False
    assert report.new == ["resp_a", "resp_b"]  # each once, though listed twice
    assert calls[:4] == [(1, None), (2, None), (2, None), (2, None)]
    assert [a for a in server.asked if a[0] == "retrieve"] == []  # incomplete: none checked
    assert status(index, "resp_k") == Status.STORED
    assert index.sync_watermark(SERVER) is None


async def test_the_watermark_is_the_newest_listed_even_when_already_known(index):
    server = Server()
    server.add("resp_a")
    server.add("resp_b")
    known(index, "resp_b", 5)
    report = await run(server, index)
    assert report.new == ["resp_a"]
    assert index.sync_watermark(SERVER) == "resp_b"


async def test_a_listing_failure_propagates(index):
    server = Server()
    server.add("resp_a")

    def refuse(_request):
        return httpx.Response(401, json={"error": {"message": "bad key"}})

    server._page = refuse
    with pytest.raises(Exception, match="bad key"):
        await run(server, index)


# ------------------------------------------------------------------ servers that cannot list


async def test_recheck_marks_gone_restores_back_and_reports_failures(index):
    server = Server()
    server.listing = False
    ids = ["resp_1", "resp_2", "resp_3", "resp_4", "resp_5", "resp_6", "resp_7"]
    for n, rid in enumerate(ids):
        known(index, rid, n)
    index.set_status(SERVER, "resp_2", Status.MISSING)  # and still gone
    index.set_status(SERVER, "resp_3", Status.MISSING)  # back
    index.set_status(SERVER, "resp_4", Status.NOT_STORED)
    index.set_status(SERVER, "resp_5", Status.DELETED)
    index.set_status(SERVER, "resp_6", Status.INCOMPLETE)
    for rid in ("resp_3", "resp_6", "resp_7"):
        server.add(rid)
    server.answers[("retrieve", "resp_7")] = "broken"
    calls: list[tuple] = []
    report = await run(server, index, concurrency=1, progress=lambda *a: calls.append(a))
    assert report == SyncReport(
        listed=False,
        missing=["resp_1"],
        restored=["resp_3"],
        checked=5,
        failed={"resp_7": "retrieve resp_7: server error 500: disk on fire (resp_7)"},
    )
    retrieved = [rid for what, rid in server.asked if what == "retrieve"]
    assert retrieved == ["resp_1", "resp_2", "resp_3", "resp_6"] + ["resp_7"] * 4
    assert calls == [(0, 5), (1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    assert status(index, "resp_1") == Status.MISSING
    assert status(index, "resp_2") == Status.MISSING
    assert status(index, "resp_3") == Status.STORED
    assert status(index, "resp_6") == Status.INCOMPLETE
    assert status(index, "resp_7") == Status.STORED
    assert index.sync_watermark(SERVER) is None


async def test_recheck_leaves_other_servers_alone(index):
    server = Server()
    server.listing = False
    known(index, "resp_here", 0)
    index.add_response(
        {"id": "resp_there", "object": "response", "created_at": 1.0, "output": []},
        server="https://other.example/v1",
        profile="o",
    )
    report = await run(server, index)
    assert report.checked == 1 and report.missing == ["resp_here"]
    assert [rid for what, rid in server.asked if what == "retrieve"] == ["resp_here"]
    assert index.get("https://other.example/v1", "resp_there").status == Status.STORED


async def test_recheck_reports_failures_in_index_order(index):
    server = Server()
    server.listing = False
    for n, rid in enumerate(["resp_b", "resp_a", "resp_c"]):
        known(index, rid, n)
        server.answers[("retrieve", rid)] = "broken"
    report = await run(server, index, concurrency=3)
    assert list(report.failed) == ["resp_b", "resp_a", "resp_c"]


async def test_recheck_of_nothing(index):
    server = Server()
    server.listing = False
    calls: list[tuple] = []
    report = await run(server, index, progress=lambda *a: calls.append(a))
    assert report == SyncReport(listed=False)
    assert calls == [(0, 0)]


async def test_a_server_that_can_neither_list_nor_retrieve_cannot_sync(index):
    server = Server()
    server.listing = False
    known(index, "resp_1", 0)
    known(index, "resp_2", 1)
    server.answers[("retrieve", "resp_1")] = "no route"
    with pytest.raises(EndpointNotSupported) as caught:
        await run(server, index, concurrency=1)
    assert str(caught.value) == (
        "this server (api.example.com) can neither list nor retrieve stored responses: "
        "there is nothing to sync with"
    )
    assert caught.value.endpoint == "retrieve"
    assert [a for a in server.asked if a[0] == "retrieve"] == [("retrieve", "resp_1")]
    assert status(index, "resp_1") == Status.STORED


class Slow(Server):
    """The same server, answering a few event-loop turns later: requests overlap."""

    def __init__(self) -> None:
        super().__init__()
        self.running = 0
        self.most = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            for _ in range(5):
                await asyncio.sleep(0)
            return super().__call__(request)
        finally:
            self.running -= 1


async def test_eight_fetches_at_a_time_by_default(index):
    server = Slow()
    for n in range(12):
        server.add(f"resp_{n:02d}")
    report = await run(server, index)
    assert len(report.new) == 12
    assert server.most == 8


async def test_the_concurrency_is_the_callers_when_rechecking(index):
    server = Slow()
    server.listing = False
    for n in range(6):
        known(index, f"resp_{n}", n)
    report = await run(server, index, concurrency=3)
    assert report.checked == 6
    assert server.most == 3
