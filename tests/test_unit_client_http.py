"""ResponsesClient request paths over httpx.MockTransport: the retry policy, the deadline and
body caps, what each endpoint returns and the exact error it raises."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from client_kit import BASE, HOST, KEY, PREV, RID, Server, reply, response_obj

from tui.api.client import MAX_ERROR_BODY_BYTES, ResponsesClient
from tui.api.errors import (
    ApiError,
    AuthError,
    BadRequest,
    NetworkError,
    NotFoundError,
    PreviousResponseNotFound,
    ProtocolError,
    RateLimited,
    ServerError,
)
from tui.api.profiles import Profile

BODY = {"model": "m", "input": "hi"}
WHAT = f"retrieve {RID}"


def busy(status: int = 503, **headers: str) -> httpx.Response:
    return reply(status, {"error": {"message": "busy"}}, headers=headers)


async def pieces(*parts: bytes, hang: bool = False) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
    if hang:
        await asyncio.Event().wait()  # a server that stops sending and never closes


# ------------------------------------------------------------------ the retry policy


async def test_reads_are_retried_with_doubling_waits_three_times_by_default():
    server = Server(busy())
    client = ResponsesClient(
        Profile(name="unit", base_url=BASE),
        env={},
        transport=httpx.MockTransport(server),
        sleep=server.sleep,
    )
    async with client:
        with pytest.raises(ServerError) as info:
            await client.retrieve(RID)
    assert str(info.value) == f"{WHAT}: server error 503: busy"
    assert len(server.requests) == 4
    assert server.sleeps == [0.5, 1.0, 2.0]


async def test_backoff_doubles_up_to_eight_seconds():
    server = Server(busy(500))
    async with server.client(max_retries=6, backoff=0.75) as client:
        with pytest.raises(ServerError):
            await client.delete(RID)
    assert server.sleeps == [0.75, 1.5, 3.0, 6.0, 8.0, 8.0]
    assert [r.method for r in server.requests] == ["DELETE"] * 7


async def test_a_read_is_retried_until_it_succeeds():
    server = Server(busy(500), busy(502), reply(200, response_obj()))
    async with server.client() as client:
        assert (await client.retrieve(RID))["id"] == RID
    assert server.sleeps == [0.5, 1.0]


@pytest.mark.parametrize("status", [400, 401, 404, 409, 499])
async def test_a_client_error_is_never_retried(status: int):
    server = Server(busy(status))
    async with server.client() as client:
        with pytest.raises(ApiError) as info:
            await client.retrieve(RID)
    assert info.value.status == status
    assert len(server.requests) == 1
    assert server.sleeps == []


async def test_a_400_is_a_rejection_in_the_servers_words():
    server = Server(reply(400, {"error": {"message": "bad temperature", "param": "temperature"}}))
    async with server.client() as client:
        with pytest.raises(BadRequest) as info:
            await client.create(BODY)
    assert str(info.value) == "create: rejected (400: bad temperature)"
    assert info.value.param == "temperature"


async def test_a_create_is_never_resent_after_a_server_error():
    server = Server(busy(500), reply(200, response_obj()))
    async with server.client() as client:
        with pytest.raises(ServerError) as info:
            await client.create(BODY)
    assert str(info.value) == "create: server error 500: busy"
    assert len(server.requests) == 1


async def test_a_create_is_retried_after_a_429():
    server = Server(busy(429), reply(200, response_obj()))
    async with server.client() as client:
        assert (await client.create(BODY))["id"] == RID
    assert server.sleeps == [0.5]
    assert [r.method for r in server.requests] == ["POST", "POST"]
    assert server.body(0) == {"model": "m", "input": "hi", "stream": False}
    assert server.requests[0].url.path == "/v1/responses"


async def test_retry_after_is_honoured_up_to_the_limit():
    server = Server(busy(429, **{"retry-after": "30"}), reply(200, response_obj()))
    async with server.client() as client:  # the default limit is 30 s
        await client.retrieve(RID)
    assert server.sleeps == [30.0]


async def test_retry_after_beyond_the_limit_raises_at_once_and_says_when():
    server = Server(busy(429, **{"retry-after": "31"}))
    async with server.client() as client:
        with pytest.raises(RateLimited) as info:
            await client.retrieve(RID)
    assert str(info.value) == f"{WHAT}: rate limited (429: busy; retry after 31 s)"
    assert info.value.retry_after == 31.0
    assert len(server.requests) == 1


async def test_a_zero_retry_after_is_no_wait_at_all():
    server = Server(busy(503, **{"Retry-After": "0"}), reply(200, response_obj()))
    async with server.client() as client:
        await client.retrieve(RID)
    assert server.sleeps == [0.0]


async def test_a_custom_retry_after_limit():
    server = Server(busy(503, **{"retry-after": "2"}), reply(200, response_obj()))
    async with server.client(max_retry_after=1.5) as client:
        with pytest.raises(ServerError):
            await client.retrieve(RID)
    server = Server(busy(503, **{"retry-after": "1.5"}), reply(200, response_obj()))
    async with server.client(max_retry_after=1.5) as client:
        await client.retrieve(RID)
    assert server.sleeps == [1.5]


async def test_retries_stop_after_max_retries():
    server = Server(busy(429))
    async with server.client(max_retries=2) as client:
        with pytest.raises(RateLimited):
            await client.create(BODY)
    assert len(server.requests) == 3
    assert server.sleeps == [0.5, 1.0]


async def test_no_retries_at_all():
    server = Server(busy(429))
    async with server.client(max_retries=0) as client:
        with pytest.raises(RateLimited):
            await client.create(BODY)
    assert len(server.requests) == 1


async def test_a_connection_never_made_is_retried_even_for_a_create():
    server = Server(httpx.ConnectError("refused"), reply(200, response_obj()))
    async with server.client() as client:
        assert (await client.create(BODY))["id"] == RID
    assert server.sleeps == [0.2]  # refused: one quick second try, no backoff of seconds


async def test_a_refused_connection_is_said_after_one_quick_retry():
    server = Server(httpx.ConnectError("refused"))
    async with server.client(max_retries=3) as client:
        with pytest.raises(NetworkError) as info:
            await client.create(BODY)
    assert "connection refused" in str(info.value)
    assert len(server.requests) == 2
    assert server.sleeps == [0.2]


async def test_each_retry_is_said():
    server = Server(httpx.ConnectTimeout("slow"), busy(503), reply(200, response_obj()))
    said: list[str] = []
    async with server.client() as client:
        client.on_retry = said.append
        await client.retrieve(RID)
    assert said == [
        f"retrieve {RID}: cannot reach {HOST} (timed out while connecting); "
        "retrying in 0.5 s (1 of 3)",
        f"retrieve {RID}: server said 503; retrying in 1 s (2 of 3)",
    ]


async def test_a_connection_never_made_gives_up_after_max_retries():
    server = Server(httpx.ConnectTimeout("slow"))
    async with server.client(max_retries=2) as client:
        with pytest.raises(NetworkError) as info:
            await client.create(BODY)
    assert str(info.value) == f"create: cannot reach {HOST} (timed out while connecting)"
    assert len(server.requests) == 3
    assert server.sleeps == [0.5, 1.0]


async def test_a_broken_connection_is_retried_for_a_read_only():
    server = Server(httpx.ReadError("reset"), reply(200, response_obj()))
    async with server.client() as client:
        await client.retrieve(RID)
    assert server.sleeps == [0.5]
    server = Server(httpx.ReadError("reset"))
    async with server.client(max_retries=2) as client:
        with pytest.raises(NetworkError) as info:
            await client.delete(RID)
    assert str(info.value) == f"delete {RID}: the connection to {HOST} broke (ReadError)"
    assert server.sleeps == [0.5, 1.0]
    server = Server(httpx.ReadTimeout("slow"), reply(200, response_obj()))
    async with server.client() as client:
        with pytest.raises(NetworkError) as info:
            await client.create(BODY)
    assert str(info.value) == f"create: {HOST} did not answer in time (timed out)"
    assert len(server.requests) == 1


async def test_an_error_body_is_scrubbed_of_the_key():
    server = Server(reply(401, {"error": {"message": f"bad key {KEY}"}}))
    async with server.client() as client:
        with pytest.raises(AuthError) as info:
            await client.retrieve(RID)
    assert str(info.value) == f"{WHAT}: 401 bad key *** (check the API key)"


async def test_an_error_body_is_scrubbed_of_a_key_that_does_not_look_like_one():
    plain = "correcthorsebatterystaple"
    server = Server(reply(403, f"key {plain} may not do this"))
    async with server.client(env={"UNIT_KEY": plain}) as client:
        with pytest.raises(AuthError) as info:
            await client.retrieve(RID)
    assert str(info.value) == f"{WHAT}: 403 key *** may not do this (the key lacks permission)"


async def test_a_previous_response_the_server_does_not_have():
    said = {"detail": f"Response '{PREV}' not found"}  # Llama Stack
    server = Server(reply(404, said))
    async with server.client() as client:
        with pytest.raises(PreviousResponseNotFound) as info:
            await client.create({**BODY, "previous_response_id": PREV})
    assert str(info.value) == (
        f"create: the previous response cannot be continued (404: Response '{PREV}' not found)"
    )
    assert server.body()["previous_response_id"] == PREV


async def test_a_previous_response_id_that_is_not_a_string_is_not_named_back():
    said = {"error": {"message": "Not found", "code": "previous_response_not_found"}}
    server = Server(reply(400, said))
    async with server.client() as client:
        with pytest.raises(BadRequest):
            await client.create({**BODY, "previous_response_id": 42})
        with pytest.raises(PreviousResponseNotFound):
            await client.create({**BODY, "previous_response_id": PREV})


async def test_a_read_sends_no_body():
    server = Server(reply(200, response_obj()))
    async with server.client() as client:
        await client.retrieve(RID)
    assert server.requests[0].method == "GET"
    assert server.requests[0].content == b""
    assert server.requests[0].url.query == b""


# ------------------------------------------------------------------ deadline and body caps


async def test_a_server_that_never_answers_is_cut_off_at_the_deadline():
    async def silent(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    server = Server()
    client = ResponsesClient(
        Profile(name="unit", base_url=BASE),
        env={},
        transport=httpx.MockTransport(silent),
        sleep=server.sleep,
        deadline=0.02,
    )
    async with client:
        with pytest.raises(NetworkError) as info:
            await client.retrieve(RID)
    assert str(info.value) == f"{WHAT}: {HOST} did not answer in time (timed out)"
    assert server.sleeps == []  # the deadline is the answer: not retried


async def test_a_body_that_stops_midway_is_cut_off_at_the_deadline():
    server = Server(lambda r: httpx.Response(200, content=pieces(b'{"id": ', hang=True)))
    async with server.client(deadline=0.02) as client:
        with pytest.raises(NetworkError) as info:
            await client.retrieve(RID)
    assert str(info.value) == f"{WHAT}: {HOST} did not answer in time (timed out)"
    assert len(server.requests) == 1


async def test_a_body_is_read_up_to_the_cap_and_refused_past_it():
    body = json.dumps(response_obj()).encode()
    server = Server(lambda r: httpx.Response(200, content=pieces(body[:10], body[10:])))
    async with server.client(max_body_bytes=len(body)) as client:
        assert (await client.retrieve(RID))["id"] == RID
    async with server.client(max_body_bytes=len(body) - 1) as client:
        with pytest.raises(ProtocolError) as info:
            await client.retrieve(RID)
    assert str(info.value) == f"{WHAT}: the server sent more than {len(body) - 1:,} bytes"


async def test_a_create_answer_is_read_whole_and_capped_too():
    body = json.dumps(response_obj()).encode()
    server = Server(lambda r: httpx.Response(200, content=pieces(body[:10], body[10:])))
    async with server.client(max_body_bytes=len(body)) as client:
        assert await client.create(BODY) == response_obj()
    async with server.client(max_body_bytes=len(body) - 1) as client:
        with pytest.raises(ProtocolError) as info:
            await client.create(BODY)
    assert str(info.value) == f"create: the server sent more than {len(body) - 1:,} bytes"


def exact_error_body(size: int) -> bytes:
    head = b'{"error": {"message": "too big"}, "pad": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


async def test_an_error_body_is_read_up_to_one_megabyte_only():
    exact = exact_error_body(MAX_ERROR_BODY_BYTES)
    server = Server(lambda r: httpx.Response(400, content=pieces(exact[:1000], exact[1000:])))
    async with server.client() as client:
        with pytest.raises(BadRequest) as info:
            await client.retrieve(RID)
    assert str(info.value) == f"{WHAT}: rejected (400: too big)"
    # Past the cap the rest is not read.
    longer = exact + b"#junk"
    server = Server(lambda r: httpx.Response(400, content=pieces(longer[:1000], longer[1000:])))
    async with server.client() as client:
        with pytest.raises(BadRequest) as info:
            await client.retrieve(RID)
    assert str(info.value) == f"{WHAT}: rejected (400: too big)"
    # A JSON body one byte longer than the cap is cut: its text is the message.
    over = exact_error_body(MAX_ERROR_BODY_BYTES + 1)
    server = Server(lambda r: httpx.Response(400, content=pieces(over)))
    async with server.client() as client:
        with pytest.raises(BadRequest) as info:
            await client.retrieve(RID)
    assert str(info.value) == f"{WHAT}: rejected (400: {over[:300].decode()})"


async def test_a_huge_error_body_is_cut_not_refused():
    huge = b"upstream exploded " + b"y" * (3 * MAX_ERROR_BODY_BYTES)
    server = Server(lambda r: httpx.Response(502, content=pieces(huge[:100], huge[100:])))
    async with server.client(max_retries=0) as client:
        with pytest.raises(ServerError) as info:
            await client.retrieve(RID)
    assert str(info.value) == f"{WHAT}: server error 502: upstream exploded {'y' * 282}"


async def test_a_body_cut_at_the_cap_is_cut_inside_the_last_chunk():
    head = b'{"error": {"message": "cut"}}'
    body = b" " * (MAX_ERROR_BODY_BYTES - len(head)) + head + b"junk"
    server = Server(
        lambda r: httpx.Response(400, content=pieces(body[:7], body[7:-10], body[-10:]))
    )
    async with server.client() as client:
        with pytest.raises(BadRequest) as info:
            await client.retrieve(RID)
    assert str(info.value) == f"{WHAT}: rejected (400: cut)"


# ------------------------------------------------------------------ answers that are not JSON


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"", "empty body"),
        (b"   \n", "empty body"),
        (b"<html>login</html>", "<html>login</html>"),
        (b"  nope  ", "nope"),
        (b"z" * 200, "z" * 120),
        (f"key {KEY} here".encode(), "key *** here"),
        (b"\xff\xfe{", "\ufffd\ufffd{"),
    ],
)
async def test_an_answer_that_is_not_json_is_quoted_scrubbed_and_cut(content: bytes, said: str):
    server = Server(reply(200, content))
    async with server.client() as client:
        with pytest.raises(ProtocolError) as info:
            await client.retrieve(RID)
    assert str(info.value) == f"{WHAT}: the server did not answer JSON ({said})"


async def test_an_answer_nested_too_deeply_is_refused_with_a_reason():
    server = Server(reply(200, b"[" * 100_000 + b"]" * 100_000))
    async with server.client() as client:
        with pytest.raises(ProtocolError) as info:
            await client.retrieve(RID)
    assert str(info.value) == f"{WHAT}: the answer is nested too deeply to read"


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ([], "a list"),
        ("text", "a string"),
        (None, "null"),
        (True, "true or false"),
        (3.5, "a number"),
    ],
)
async def test_an_answer_that_is_not_an_object_says_what_it_was(body: Any, kind: str):
    server = Server(reply(200, json.dumps(body).encode()))
    async with server.client() as client:
        with pytest.raises(ProtocolError) as info:
            await client.create(BODY)
        assert str(info.value) == (
            f"create: the server answered 200 without a response object (it sent {kind})"
        )
        with pytest.raises(ProtocolError) as info:
            await client.retrieve(RID)
        assert str(info.value) == (
            f"{WHAT}: the server answered 200 without a response object (it sent {kind})"
        )


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"error": {"message": f"quota gone for {KEY}"}}, "quota gone for ***"),
        ({"error": "upstream unavailable"}, "upstream unavailable"),
        ({"error": {"code": "E42"}}, "E42"),
        ({"error": {}}, "no message"),
        ({"id": None, "error": "x"}, "x"),
    ],
)
async def test_a_200_carrying_an_error_says_what_the_server_said(body: dict, said: str):
    server = Server(reply(201, body))
    async with server.client() as client:
        with pytest.raises(ApiError) as info:
            await client.create(BODY)
    assert type(info.value) is ApiError
    assert str(info.value) == f"create: {said}"
    assert info.value.status == 201


@pytest.mark.parametrize(
    "body",
    [
        {"id": RID, "error": None, "status": "completed"},
        {"id": RID, "error": {"message": "a failed response is still a response"}},
        {"status": "completed", "error": None},
        {"status": "completed", "error": 5},
    ],
)
async def test_a_response_object_is_returned_as_it_came(body: dict):
    server = Server(reply(200, body))
    async with server.client() as client:
        assert await client.create(BODY) == body
        assert await client.retrieve(RID) == body
        assert client.capabilities == {"retrieve": True}


# ------------------------------------------------------------------ delete


async def test_delete_accepts_openais_and_fireworks_shapes_and_an_empty_204():
    bodies: list[httpx.Response] = [
        reply(200, {"id": RID, "object": "response.deleted", "deleted": True}),
        reply(200, {"message": "Response Deleted successfully"}),
        reply(200, {"id": RID}),
        reply(204),
        reply(200, b"  \n"),
        reply(299, {"deleted": True}),
    ]
    for answer in bodies:
        server = Server(answer)
        async with server.client() as client:
            result = await client.delete(RID)
            assert client.capabilities == {"delete": True}
        assert result["id"] == RID and result["deleted"] is True
        assert server.requests[0].method == "DELETE"
        assert server.paths == [f"/v1/responses/{RID}"]
        expected = {} if not answer.content.strip() else json.loads(answer.content)
        assert result["raw"] == expected


@pytest.mark.parametrize(
    "body",
    [
        {"message": "ok"},
        {"id": "resp_other"},
        {"deleted": "yes"},
        {"message": 5},
        [RID],
        "deleted",
    ],
)
async def test_delete_refuses_an_answer_that_is_not_a_deletion(body: Any):
    text = json.dumps(body)
    server = Server(reply(200, text.encode()))
    async with server.client() as client:
        with pytest.raises(ApiError) as info:
            await client.delete(RID)
        assert "delete" not in client.capabilities
    assert str(info.value) == (
        f"delete {RID}: the server answered 200 but not with a deletion ({text}); "
        "nothing was forgotten"
    )
    assert info.value.status == 200


async def test_delete_refuses_an_html_page_and_cuts_it():
    page = "<html><body>" + "Please sign in. " * 20 + f"{KEY}</body></html>"
    server = Server(reply(200, page.encode(), headers={"content-type": "text/html"}))
    async with server.client() as client:
        with pytest.raises(ApiError) as info:
            await client.delete(RID)
    message = str(info.value)
    assert message.startswith(f"delete {RID}: the server answered 200 but not with a deletion (")
    snippet = message.split("deletion (", 1)[1].split("); nothing", 1)[0]
    assert len(snippet) == 120 and snippet.endswith("…")
    assert KEY not in message


async def test_delete_cuts_a_long_refusal():
    said = {"deleted": False, "why": "w" * 300}
    server = Server(reply(200, said))
    async with server.client() as client:
        with pytest.raises(ApiError) as info:
            await client.delete(RID)
    quoted = '{"deleted": false, "why": "' + "w" * 172 + "…"
    assert len(quoted) == 200
    assert str(info.value) == f"delete {RID}: the server refused ({quoted})"


async def test_delete_says_when_the_server_refused():
    said = {"id": RID, "deleted": False, "detail": f"locked by {KEY}", "note": "é"}
    server = Server(reply(200, said))
    async with server.client() as client:
        with pytest.raises(ApiError) as info:
            await client.delete(RID)
    assert str(info.value) == (
        f'delete {RID}: the server refused ({{"id": "{RID}", "deleted": false, '
        '"detail": "locked by ***", "note": "é"})'
    )
    assert info.value.status == 200


@pytest.mark.parametrize(
    ("status", "headers", "target"),
    [
        (302, {"location": "https://login.example/sso?x=1"}, " to https://login.example/sso?x=1"),
        (301, {}, ""),
        (304, {"location": f"https://login.example/{KEY}"}, " to https://login.example/***"),
        (199, {}, ""),
        (300, {}, ""),
        (
            307,
            {"location": "https://h.example/" + "p" * 100},
            " to https://h.example/" + "p" * 61 + "…",
        ),
    ],
)
async def test_delete_never_follows_a_redirect(status: int, headers: dict, target: str):
    server = Server(reply(status, {"deleted": True}, headers=headers))
    async with server.client() as client:
        with pytest.raises(ApiError) as info:
            await client.delete(RID)
    assert str(info.value) == (
        f"delete {RID}: the server answered {status}{target} instead of deleting "
        "(not followed; nothing was forgotten)"
    )
    assert info.value.status == status


async def test_delete_of_a_response_the_server_does_not_have_is_not_found():
    server = Server(reply(404, {"error": {"message": f"Response with id '{RID}' not found."}}))
    async with server.client() as client:
        with pytest.raises(NotFoundError) as info:
            await client.delete(RID)
        assert client.capabilities == {}
    assert str(info.value) == (
        f"delete {RID}: not found on the server (404: Response with id '{RID}' not found.)"
    )


async def test_delete_of_a_404_naming_the_response_is_not_found():
    server = Server(reply(404, {"detail": f"unknown id {RID}"}))
    async with server.client() as client:
        with pytest.raises(NotFoundError) as info:
            await client.delete(RID)
    assert str(info.value) == f"delete {RID}: not found on the server (404: unknown id {RID})"


@pytest.mark.parametrize(
    ("body", "said"), [({"detail": "Not Found"}, "Not Found"), (b"", "no message")]
)
async def test_delete_of_an_unclear_404_forgets_nothing(body: Any, said: str):
    server = Server(reply(404, body))
    async with server.client() as client:
        with pytest.raises(ApiError) as info:
            await client.delete(RID)
        assert client.capabilities == {}
    assert type(info.value) is ApiError
    assert str(info.value) == (
        f"delete {RID}: the server answered 404 without saying the response is gone ({said})"
    )
    assert info.value.status == 404


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (404, {"detail": "Cannot DELETE /v1/responses/x"}, ": Cannot DELETE /v1/responses/x"),
        (405, b"", ""),
    ],
)
async def test_delete_without_a_route_is_not_supported(status: int, body: Any, said: str):
    server = Server(reply(status, body))
    async with server.client() as client:
        with pytest.raises(ApiError) as info:
            await client.delete(RID)
        assert client.cannot("delete")
    assert str(info.value) == f"this server ({HOST}) cannot delete responses{said}"


async def test_delete_passes_other_errors_through():
    server = Server(reply(403, {"error": {"message": "read-only key"}}))
    async with server.client() as client:
        with pytest.raises(AuthError) as info:
            await client.delete(RID)
    assert str(info.value) == f"delete {RID}: 403 read-only key (the key lacks permission)"
