"""The client's pagers: input items and the response list, what they ask for, when they stop,
what they skip, and what a server without the endpoint gets."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from client_kit import HOST, RID, Server, page, reply, response_obj

from tui.api.errors import (
    EndpointNotSupported,
    NotFoundError,
    PagingStopped,
    ProtocolError,
    ServerError,
)

WHAT = f"input items of {RID}"


def inputs(*ids: str, has_more: bool, **extra: Any) -> httpx.Response:
    data = [{"id": i, "type": "message", "role": "user", "content": []} for i in ids]
    return reply(200, {"object": "list", "data": data, "has_more": has_more, **extra})


async def all_listed(client, **kw: Any) -> list[str]:
    return [r["id"] async for r in client.list_responses(**kw)]


# ------------------------------------------------------------------ input items


async def test_input_items_are_read_oldest_first_across_pages():
    server = Server(
        inputs("i1", "i2", has_more=True, last_id="i2"),
        inputs("i3", has_more=True),
        inputs("i4", has_more=False),
    )
    async with server.client() as client:
        got = await client.list_input_items(RID)
        assert client.capabilities == {"input_items": True}
    assert [i["id"] for i in got] == ["i1", "i2", "i3", "i4"]
    assert server.paths == [f"/v1/responses/{RID}/input_items"] * 3
    assert [server.params(n) for n in range(3)] == [
        {"limit": "100", "order": "asc"},
        {"limit": "100", "order": "asc", "after": "i2"},
        {"limit": "100", "order": "asc", "after": "i3"},
    ]


async def test_input_items_keep_only_objects():
    body = {"data": [{"id": "i1"}, "junk", 5, None, {"id": "i2"}], "has_more": False}
    server = Server(reply(200, body))
    async with server.client() as client:
        assert await client.list_input_items(RID) == [{"id": "i1"}, {"id": "i2"}]


@pytest.mark.parametrize(
    "answer",
    [
        inputs(has_more=True),  # "more", but an empty page: stop
        reply(200, {"data": [{"id": "i1"}, 7], "has_more": True, "last_id": ""}),
        reply(200, {"data": [{"type": "message"}], "has_more": True}),  # no cursor at all
    ],
)
async def test_input_items_stop_when_there_is_nothing_to_go_on_from(answer: httpx.Response):
    server = Server(answer, inputs("never", has_more=False))
    async with server.client() as client:
        got = await client.list_input_items(RID)
    assert got == [i for i in answer.json()["data"] if isinstance(i, dict)]
    assert len(server.requests) == 1


async def test_input_items_stop_at_the_last_page_even_with_a_cursor():
    server = Server(inputs("i1", has_more=False, last_id="i1"), inputs("never", has_more=False))
    async with server.client() as client:
        assert [i["id"] for i in await client.list_input_items(RID)] == ["i1"]
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "body", [{"object": "list"}, {"data": {"id": "i1"}}, [{"id": "i1"}], "data"]
)
async def test_input_items_that_are_not_a_list_object_are_refused(body: Any):
    server = Server(reply(200, json.dumps(body).encode()))
    async with server.client() as client:
        with pytest.raises(ProtocolError) as info:
            await client.list_input_items(RID)
    assert str(info.value) == f"{WHAT}: expected a list object"


async def test_input_items_that_are_not_json_are_refused_with_their_name():
    server = Server(reply(200, b"<html>"))
    async with server.client() as client:
        with pytest.raises(ProtocolError) as info:
            await client.list_input_items(RID)
    assert str(info.value) == f"{WHAT}: the server did not answer JSON (<html>)"


async def test_input_items_stop_when_the_cursor_does_not_advance():
    server = Server(inputs("i1", "i2", has_more=True, last_id="c"))
    async with server.client() as client:
        with pytest.raises(PagingStopped) as info:
            await client.list_input_items(RID)
    assert str(info.value) == (
        f"{WHAT}: stopped after 2 pages (4 items): the server sent a cursor it had sent "
        "before (it does not advance)"
    )
    assert len(server.requests) == 2


async def test_input_items_are_retried_like_any_read():
    server = Server(reply(500, {"error": {"message": "boom"}}), inputs("i1", has_more=False))
    async with server.client() as client:
        assert [i["id"] for i in await client.list_input_items(RID)] == ["i1"]
    assert [r.method for r in server.requests] == ["GET", "GET"]
    assert server.sleeps == [0.5]


async def test_input_items_with_a_server_error_midway_fail_with_it():
    server = Server(inputs("i1", has_more=True), reply(500, {"error": {"message": "boom"}}))
    async with server.client(max_retries=0) as client:
        with pytest.raises(ServerError) as info:
            await client.list_input_items(RID)
    assert str(info.value) == f"{WHAT}: server error 500: boom"


async def test_a_404_on_a_later_page_is_that_error_not_a_missing_endpoint():
    said = {"error": {"message": "cursor expired"}}
    server = Server(inputs("i1", has_more=True), reply(404, said), reply(200, response_obj()))
    async with server.client() as client:
        with pytest.raises(NotFoundError) as info:
            await client.list_input_items(RID)
        assert not isinstance(info.value, EndpointNotSupported)
        assert client.capabilities == {"input_items": True}
    assert str(info.value) == f"{WHAT}: not found on the server (404: cursor expired)"
    assert len(server.requests) == 2  # no retrieve to tell a missing route from a gone response


async def test_an_unclear_404_for_a_response_that_exists_is_a_missing_endpoint():
    server = Server(reply(404, {"detail": "Not Found"}), reply(200, response_obj()))
    async with server.client() as client:
        with pytest.raises(EndpointNotSupported) as info:
            await client.list_input_items(RID)
        assert client.capabilities == {"retrieve": True, "input_items": False}
    assert str(info.value) == f"this server ({HOST}) cannot return input items"
    assert server.paths == [f"/v1/responses/{RID}/input_items", f"/v1/responses/{RID}"]


async def test_an_unclear_404_for_a_response_that_is_gone_is_not_found():
    server = Server(reply(404, {"detail": "Not Found"}))
    async with server.client() as client:
        with pytest.raises(NotFoundError) as info:
            await client.list_input_items(RID)
        assert not isinstance(info.value, EndpointNotSupported)
        assert "input_items" not in client.capabilities
    assert str(info.value) == f"retrieve {RID}: not found on the server (404: Not Found)"


async def test_input_items_of_a_server_known_to_lack_them_send_nothing():
    server = Server(reply(405, b""), reply(200, response_obj()))
    async with server.client() as client:
        with pytest.raises(EndpointNotSupported):
            await client.list_input_items(RID)
        with pytest.raises(EndpointNotSupported) as info:
            await client.list_input_items(RID)
    assert str(info.value) == f"this server ({HOST}) cannot return input items"
    assert len(server.requests) == 1


# ------------------------------------------------------------------ the response list


async def test_the_list_follows_pages_newest_first():
    server = Server(page(["r3", "r2"], True), page(["r1"], True, last_id="r1"), page([], False))
    async with server.client() as client:
        assert await all_listed(client, limit=2) == ["r3", "r2", "r1"]
        assert client.capabilities == {"list": True}
    assert server.paths == ["/v1/responses"] * 3
    assert [server.params(n) for n in range(3)] == [
        {"limit": "2"},
        {"limit": "2", "after": "r2"},
        {"limit": "2", "after": "r1"},
    ]


async def test_the_list_asks_for_a_hundred_a_page_by_default_and_can_start_after_one():
    server = Server(page(["r1"], False))
    async with server.client() as client:
        await all_listed(client)
        await all_listed(client, after="r9")
    assert [server.params(0), server.params(1)] == [
        {"limit": "100"},
        {"limit": "100", "after": "r9"},
    ]


async def test_the_list_is_retried_like_any_read():
    server = Server(reply(503, {"error": {"message": "busy"}}), page(["r1"], False))
    async with server.client() as client:
        assert await all_listed(client) == ["r1"]
    assert [r.method for r in server.requests] == ["GET", "GET"]
    assert server.sleeps == [0.5]


async def test_the_list_skips_entries_whose_id_is_not_an_id():
    body = {
        "data": [
            {"id": "r1"},
            {"id": "../etc/passwd"},
            "junk",
            {"id": 5},
            {"object": "response"},
            {"id": "r2"},
        ],
        "has_more": False,
    }
    server = Server(reply(200, body))
    async with server.client() as client:
        assert await all_listed(client) == ["r1", "r2"]
        assert client.rejected_ids == 4


async def test_the_list_stops_at_the_last_page_even_with_a_cursor():
    server = Server(page(["r2", "r1"], False, last_id="r1"), page(["never"], False))
    async with server.client() as client:
        assert await all_listed(client) == ["r2", "r1"]
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "answer",
    [
        page([], True),
        reply(200, {"data": [{"id": "r1"}, "junk"], "has_more": True}),  # no cursor
    ],
)
async def test_the_list_stops_when_there_is_nothing_to_go_on_from(answer: httpx.Response):
    server = Server(answer, page(["never"], False))
    async with server.client() as client:
        await all_listed(client)
    assert len(server.requests) == 1


@pytest.mark.parametrize("body", [{"object": "list"}, {"data": "r1"}, [{"id": "r1"}], None])
async def test_a_list_that_is_not_a_list_object_is_refused(body: Any):
    server = Server(reply(200, body if body is not None else b"null"))
    async with server.client() as client:
        with pytest.raises(ProtocolError) as info:
            await all_listed(client)
    assert str(info.value) == "list: expected a list object"


async def test_a_list_that_is_not_json_is_refused_as_the_list():
    server = Server(reply(200, b"oops"))
    async with server.client() as client:
        with pytest.raises(ProtocolError) as info:
            await all_listed(client)
    assert str(info.value) == "list: the server did not answer JSON (oops)"


async def test_a_list_that_repeats_a_page_stops_after_what_was_read():
    server = Server(page(["r2", "r1"], True, last_id="a"), page(["r2", "r1"], True, last_id="b"))
    seen: list[str] = []
    async with server.client() as client:
        with pytest.raises(PagingStopped) as info:
            async for item in client.list_responses():
                seen.append(item["id"])
    assert str(info.value) == (
        "list: stopped after 2 pages (4 items): the server sent the same page twice"
    )
    assert seen == ["r2", "r1", "r2", "r1"]


async def test_a_stopped_list_counts_only_the_responses_it_gave():
    bad = {"data": [{"id": "r1"}, {"id": "bad id"}], "has_more": True, "last_id": "c"}
    server = Server(reply(200, bad))
    async with server.client() as client:
        with pytest.raises(PagingStopped) as info:
            await all_listed(client)
    assert str(info.value) == (
        "list: stopped after 2 pages (2 items): the server sent a cursor it had sent before "
        "(it does not advance)"
    )


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (404, {"detail": "Not Found"}, ": Not Found"),
        (404, {"error": {"message": "Response 'x' not found"}}, ": Response 'x' not found"),
        (405, b"", ""),
    ],
)
async def test_a_server_without_a_list_says_so_and_is_not_asked_again(status, body, said):
    server = Server(reply(status, body))
    async with server.client() as client:
        with pytest.raises(EndpointNotSupported) as info:
            await all_listed(client)
        assert str(info.value) == f"this server ({HOST}) cannot list responses{said}"
        assert info.value.endpoint == "list"
        assert client.capabilities == {"list": False}
        with pytest.raises(EndpointNotSupported):
            await all_listed(client)
    assert len(server.requests) == 1


async def test_other_list_errors_pass_through():
    server = Server(reply(500, {"error": {"message": "db down"}}))
    async with server.client(max_retries=0) as client:
        with pytest.raises(ServerError) as info:
            await all_listed(client)
        assert client.capabilities == {}
    assert str(info.value) == "list: server error 500: db down"


# ------------------------------------------------------------------ supports_list


async def test_supports_list_asks_once_for_a_single_response():
    server = Server(page(["r2"], True))
    async with server.client() as client:
        assert await client.supports_list() is True
        assert await client.supports_list() is True
        assert client.capabilities == {"list": True}
    assert [server.params(n) for n in range(len(server.requests))] == [{"limit": "1"}]


async def test_supports_list_of_an_empty_list_is_true():
    server = Server(page([], False))
    async with server.client() as client:
        assert await client.supports_list() is True


async def test_supports_list_is_false_without_the_endpoint_and_asks_once():
    server = Server(reply(404, {"detail": "Not Found"}))
    async with server.client() as client:
        assert await client.supports_list() is False
        assert await client.supports_list() is False
        assert client.capabilities == {"list": False}
    assert len(server.requests) == 1


async def test_supports_list_trusts_what_is_already_known():
    server = Server(page(["r1"], False))
    async with server.client() as client:
        client.capabilities["list"] = True
        assert await client.supports_list() is True
    assert server.requests == []
