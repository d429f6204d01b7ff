"""ResponsesClient, its pure helpers and its setup: Retry-After, sizes, cursors, the page
guard, the headers it sends, what a network failure or a missing route says."""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import ssl
import time
from typing import Any

import httpx
import pytest
from client_kit import BASE, HOST, KEY, RID, Server, reply, response_obj

from tui import __version__
from tui.api import client as client_module
from tui.api.client import (
    ResponsesClient,
    _cursor,
    _megabytes,
    _PageGuard,
    _terminal_for,
    parse_retry_after,
)
from tui.api.errors import (
    ApiError,
    EndpointNotSupported,
    MissingApiKey,
    NetworkError,
    NotFoundError,
    PagingStopped,
    PreviousResponseNotFound,
    ProtocolError,
)
from tui.api.profiles import Profile

# ------------------------------------------------------------------ Retry-After

NOW = 1_700_000_000.0
AT_NOW = email.utils.formatdate(NOW, usegmt=True)
IN_90_S = email.utils.formatdate(NOW + 90, usegmt=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        ("  2.5 ", 2.5),
        ("0", 0.0),
        ("-4", 0.0),  # never a negative wait
        (IN_90_S, 90.0),
        (f"  {IN_90_S}  ", 90.0),
        (AT_NOW, 0.0),
        (email.utils.formatdate(NOW - 60, usegmt=True), 0.0),  # a date in the past: now
        ("soon", None),
        ("Tue, 99 Foo 2026 99:99:99 GMT", None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date(value: str | None, expected: float | None):
    assert parse_retry_after(value, now=NOW) == expected


def test_retry_after_as_a_date_counts_from_the_wall_clock_by_default():
    value = email.utils.formatdate(time.time() + 100, usegmt=True)
    wait = parse_retry_after(value)
    assert wait is not None and 97.0 <= wait <= 100.0


# ------------------------------------------------------------------ small pure helpers


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (1024 * 1024, "1 MB"),
        (64 * 1024 * 1024, "64 MB"),
        (3 * 512 * 1024, "1.5 MB"),
        (1024 * 1024 - 1, "1,048,575 bytes"),
        (1000, "1,000 bytes"),
        (10, "10 bytes"),
    ],
)
def test_sizes_are_said_in_megabytes_from_one_megabyte_up(size: int, text: str):
    assert _megabytes(size) == text


@pytest.mark.parametrize(
    ("status", "terminal"),
    [
        ("failed", "failed"),
        ("incomplete", "incomplete"),
        ("cancelled", "cancelled"),
        ("completed", "completed"),
        ("in_progress", "completed"),
        (None, "completed"),
    ],
)
def test_a_whole_response_maps_to_its_terminal_event(status: str | None, terminal: str):
    assert _terminal_for({"status": status}) == terminal
    assert _terminal_for({}) == "completed"


@pytest.mark.parametrize(
    ("page", "data", "cursor"),
    [
        ({"last_id": "r9"}, [{"id": "r2"}], "r9"),  # the server's cursor wins
        ({"last_id": ""}, [{"id": "r1"}, {"id": "r2"}], "r2"),  # else the last item's id
        ({"last_id": 5}, [{"id": "r2"}], "r2"),
        ({"last_id": None}, [{"id": "r2"}], "r2"),
        ({}, [{"id": "r1"}, {"id": "r2"}], "r2"),
        ({}, [{"id": "r1"}, "not an item"], None),
        ({}, [{"id": "r1"}, {"id": 7}], None),
        ({}, [{"id": "r1"}, {"id": ""}], None),
        ({}, [{"id": "r1"}, {}], None),
    ],
)
def test_the_next_cursor_is_last_id_else_the_last_items_id(
    page: dict[str, Any], data: list[Any], cursor: str | None
):
    assert _cursor(page, data) == cursor


# ------------------------------------------------------------------ the page guard


class Clock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def items(*ids: str | None) -> list[dict[str, Any]]:
    return [{"id": i} for i in ids]


def test_the_guard_lets_an_advancing_pager_go_on():
    guard = _PageGuard("list", 10, 60.0, Clock())
    for n in range(5):
        guard.next(items(f"a{n}", f"b{n}"), f"b{n}", 2 * (n + 1))
    assert guard.pages == 5


def test_a_cursor_that_comes_back_stops_the_pager():
    guard = _PageGuard("list", 10, 60.0, Clock())
    guard.next(items("a", "b"), "b", 2)
    guard.next(items("c", "d"), "d", 4)
    with pytest.raises(PagingStopped) as info:
        guard.next(items("e", "f"), "b", 1234)
    assert str(info.value) == (
        "list: stopped after 3 pages (1,234 items): the server sent a cursor it had sent "
        "before (it does not advance)"
    )


def test_the_same_page_twice_stops_the_pager_even_with_a_new_cursor():
    guard = _PageGuard("input items of r", 10, 60.0, Clock())
    guard.next(items("a", "b"), "c1", 2)
    with pytest.raises(PagingStopped) as info:
        guard.next(items("a", "b"), "c2", 4)
    assert str(info.value) == (
        "input items of r: stopped after 2 pages (4 items): the server sent the same page twice"
    )


def test_pages_with_items_without_ids_are_not_compared():
    guard = _PageGuard("list", 10, 60.0, Clock())
    guard.next(items("a", None), "c1", 2)
    guard.next(items("a", None), "c2", 4)  # no signature: items without ids may differ
    guard.next([{"id": "a"}, "x"], "c3", 6)
    guard.next([{"id": "a"}, "x"], "c4", 8)
    assert guard.pages == 4


def test_the_guard_stops_at_max_pages_and_not_before():
    guard = _PageGuard("list", 3, 60.0, Clock())
    guard.next(items("a"), "a", 1)
    guard.next(items("b"), "b", 2)
    with pytest.raises(PagingStopped) as info:
        guard.next(items("c"), "c", 3)
    assert str(info.value) == "list: stopped after 3 pages (3 items): more than 3 pages"


def test_the_page_cap_is_said_with_thousands_separators():
    guard = _PageGuard("list", 1, 60.0, Clock())
    with pytest.raises(PagingStopped) as info:
        guard.next(items("a"), "a", 1)
    assert str(info.value) == "list: stopped after 1 page (1 items): more than 1 pages"
    guard = _PageGuard("list", 10_000, 60.0, Clock())
    guard.pages = 9_999
    with pytest.raises(PagingStopped, match=r"more than 10,000 pages$"):
        guard.next(items("a"), "a", 1)


def test_the_guard_stops_a_walk_past_its_time_budget():
    clock = Clock(100.0)
    guard = _PageGuard("list", 10, 1.5, clock)
    clock.now = 101.5  # exactly at the deadline: still in time
    guard.next(items("a"), "a", 1)
    clock.now = 101.51
    with pytest.raises(PagingStopped) as info:
        guard.next(items("b"), "b", 2)
    assert str(info.value) == "list: stopped after 2 pages (2 items): paging took longer than 1.5 s"


def test_the_default_paging_budget_is_said_in_whole_seconds():
    clock = Clock(0.0)
    guard = _PageGuard("list", 10, client_module.MAX_PAGING_SECONDS, clock)
    clock.now = 900.5
    with pytest.raises(PagingStopped, match=r"paging took longer than 900 s$"):
        guard.next(items("a"), "a", 1)


# ------------------------------------------------------------------ setup and headers


async def test_every_request_carries_the_client_headers_and_the_key():
    server = Server(reply(200, response_obj()))
    profile = Profile(
        name="unit", base_url=BASE, api_key_env="UNIT_KEY", headers={"X-Team": "${TEAM}"}
    )
    async with server.client(profile, env={"UNIT_KEY": KEY, "TEAM": "blue-team-42"}) as client:
        await client.retrieve(RID)
    headers = server.requests[0].headers
    assert headers["user-agent"] == f"responses-tui/{__version__}"
    assert headers["accept"] == "application/json"
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["x-team"] == "blue-team-42"
    assert set(client.secrets()) == {KEY, "blue-team-42"}


async def test_a_profile_header_overrides_the_default_accept():
    server = Server(reply(200, response_obj()))
    profile = Profile(name="unit", base_url=BASE, headers={"Accept": "application/x-custom"})
    async with server.client(profile, env={}) as client:
        await client.retrieve(RID)
    assert server.requests[0].headers["accept"] == "application/x-custom"
    assert "authorization" not in server.requests[0].headers  # no key, no Authorization


@pytest.mark.parametrize("case", [str.lower, str.upper, str.title])
async def test_a_profile_header_replaces_a_default_one_whatever_its_case(case):
    server = Server(reply(200, response_obj()))
    headers = {case("User-Agent"): "custom/1", case("Accept"): "text/plain"}
    headers[case("Authorization")] = "Bearer ${OTHER_TOKEN}"
    profile = Profile(name="unit", base_url=BASE, api_key_env="UNIT_KEY", headers=headers)
    env = {"UNIT_KEY": KEY, "OTHER_TOKEN": "other-token-123"}
    async with server.client(profile, env=env) as client:
        await client.retrieve(RID)
    sent = server.requests[0].headers
    assert sent.get_list("user-agent") == ["custom/1"]
    assert sent.get_list("accept") == ["text/plain"]
    assert sent.get_list("authorization") == [f"Bearer {KEY}"]  # the profile's key wins


async def test_a_profile_authorization_header_is_sent_when_there_is_no_key():
    server = Server(reply(200, response_obj()))
    headers = {"authorization": "Token ${OTHER_TOKEN}"}
    profile = Profile(name="unit", base_url=BASE, headers=headers)
    async with server.client(profile, env={"OTHER_TOKEN": "other-token-123"}) as client:
        await client.retrieve(RID)
    assert server.requests[0].headers.get_list("authorization") == ["Token other-token-123"]


def test_the_key_is_read_from_the_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("UNIT_ENV_KEY", "sk-from-the-environment-123")
    client = ResponsesClient(Profile(name="unit", base_url=BASE, api_key_env="UNIT_ENV_KEY"))
    assert "sk-from-the-environment-123" in client.secrets()
    assert client.profile.name == "unit"
    monkeypatch.delenv("UNIT_ENV_KEY")
    with pytest.raises(MissingApiKey):
        ResponsesClient(Profile(name="unit", base_url=BASE, api_key_env="UNIT_ENV_KEY"))


def test_a_given_environment_replaces_the_process_one(monkeypatch):
    monkeypatch.setenv("UNIT_ENV_KEY", "sk-from-the-environment-123")
    with pytest.raises(MissingApiKey):
        ResponsesClient(Profile(name="unit", base_url=BASE, api_key_env="UNIT_ENV_KEY"), env={})


@pytest.mark.parametrize(
    ("base_url", "host", "path"),
    [
        ("https://api.unit.test/v1", "api.unit.test", "/v1/responses/" + RID),
        ("https://api.unit.test/v1///", "api.unit.test", "/v1/responses/" + RID),
        ("http://127.0.0.1:8321/openai/v1/", "127.0.0.1:8321", "/openai/v1/responses/" + RID),
        ("https://api.unit.test", "api.unit.test", "/responses/" + RID),
        ("https://api.unit.test/XX/", "api.unit.test", "/XX/responses/" + RID),
    ],
)
async def test_requests_go_under_the_base_url(base_url: str, host: str, path: str):
    server = Server(reply(200, response_obj()))
    async with server.client(Profile(name="unit", base_url=base_url), env={}) as client:
        await client.retrieve(RID)
    assert client.base_url == base_url.rstrip("/")
    assert client.host == host
    assert server.paths == [path]


def test_a_base_url_without_a_host_is_its_own_host_name():
    client = ResponsesClient(Profile(name="unit", base_url="/relative/v1/"), env={})
    assert client.base_url == "/relative/v1"
    assert client.host == "/relative/v1"


def test_the_timeout_is_the_one_given():
    timeout = httpx.Timeout(3.0)
    client = ResponsesClient(Profile(name="unit", base_url=BASE), env={}, timeout=timeout)
    assert client._http.timeout == timeout
    default = ResponsesClient(Profile(name="unit", base_url=BASE), env={})
    assert default._http.timeout == client_module.DEFAULT_TIMEOUT


def test_a_new_client_knows_nothing_about_the_server_yet():
    client = ResponsesClient(Profile(name="unit", base_url=BASE), env={})
    assert client.capabilities == {}
    assert client.rejected_ids == 0
    assert client.deadline == client_module.DEFAULT_DEADLINE
    assert client.max_body_bytes == client_module.MAX_BODY_BYTES
    assert client.max_event_bytes == client_module.MAX_EVENT_CHARS
    assert not client.cannot("list")


async def test_redirects_are_not_followed():
    server = Server(reply(302, headers={"location": f"{BASE}/elsewhere"}), reply(200, {}))
    async with server.client() as client:
        with pytest.raises(ApiError):
            await client.delete(RID)
    assert len(server.requests) == 1


async def test_the_default_wait_is_asyncio_sleep(monkeypatch):
    waited: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    answers = [reply(503, {"error": {"message": "busy"}}), reply(200, response_obj())]
    server = Server(*answers)
    client = ResponsesClient(
        Profile(name="unit", base_url=BASE), env={}, transport=httpx.MockTransport(server)
    )
    async with client:
        await client.retrieve(RID)
    assert waited == [0.5]


def test_secrets_are_kept_once_and_redacted_everywhere():
    client = ResponsesClient(Profile(name="unit", base_url=BASE), env={})
    client.add_secrets([KEY])
    client.add_secrets(["tool-secret-1", "", KEY, "tool-secret-1", "tool-secret-2"])
    assert client.secrets() == [KEY, "tool-secret-1", "tool-secret-2"]
    client.secrets().append("not kept")
    assert client.secrets() == [KEY, "tool-secret-1", "tool-secret-2"]
    assert client.redact(f"a {KEY} b tool-secret-2 c") == "a *** b *** c"


# ------------------------------------------------------------------ network failures


def chain(*errors: BaseException, implicit: bool = False) -> BaseException:
    """errors[0] caused by errors[1] caused by …"""
    for outer, inner in itertools.pairwise(errors):
        if implicit:
            outer.__context__ = inner
        else:
            outer.__cause__ = inner
    return errors[0]


def cert_error(message: str | None) -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = message
    error.reason = "CERTIFICATE_VERIFY_FAILED"
    return error


def plain_ssl_error(reason: str | None) -> ssl.SSLError:
    error = ssl.SSLError(1, "handshake")
    error.reason = reason
    return error


async def failure_of(error: Exception, profile: Profile | None = None) -> str:
    server = Server(error)
    async with server.client(profile, max_retries=0) as client:
        with pytest.raises(NetworkError) as info:
            await client.retrieve(RID)
    return str(info.value)


WHAT = f"retrieve {RID}"


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (httpx.ConnectTimeout("t"), f"cannot reach {HOST} (timed out while connecting)"),
        (
            httpx.ConnectError("refused"),
            f"cannot reach {HOST} (connection refused or host unreachable)",
        ),
        (httpx.ReadTimeout("slow"), f"{HOST} did not answer in time (timed out)"),
        (httpx.PoolTimeout("pool"), f"{HOST} did not answer in time (timed out)"),
        (httpx.ReadError("reset"), f"the connection to {HOST} broke (ReadError)"),
        (httpx.RemoteProtocolError("bad"), f"the connection to {HOST} broke (RemoteProtocolError)"),
    ],
)
async def test_a_network_failure_says_what_went_wrong_in_the_users_terms(error, said):
    assert await failure_of(error) == f"{WHAT}: {said}"


async def test_a_certificate_failure_says_why_the_server_was_not_trusted():
    error = chain(
        httpx.ConnectError("ssl"), OSError("httpcore"), cert_error("certificate\x1b expired")
    )
    assert await failure_of(error) == (
        f"{WHAT}: TLS handshake with {HOST} failed (certificate verify failed: certificate expired)"
    )


async def test_a_certificate_failure_reason_is_cut_to_120_characters():
    error = chain(httpx.ConnectError("ssl"), cert_error("x" * 200))
    assert await failure_of(error) == (
        f"{WHAT}: TLS handshake with {HOST} failed (certificate verify failed: {'x' * 120})"
    )


async def test_a_certificate_failure_without_a_reason_says_only_that():
    error = chain(httpx.ConnectError("ssl"), cert_error(None), implicit=True)
    assert await failure_of(error) == (
        f"{WHAT}: TLS handshake with {HOST} failed (certificate verify failed)"
    )


@pytest.mark.parametrize(
    ("reason", "why"),
    [("WRONG_VERSION_NUMBER", "wrong version number"), (None, "sslerror")],
)
async def test_another_tls_failure_is_named_by_its_reason(reason, why):
    error = chain(httpx.ConnectError("ssl"), plain_ssl_error(reason), implicit=True)
    assert await failure_of(error) == f"{WHAT}: TLS handshake with {HOST} failed ({why})"


async def test_a_tls_cause_is_looked_for_eight_links_deep():
    links = [OSError(f"link {n}") for n in range(7)]
    found = chain(httpx.ConnectError("ssl"), *links, plain_ssl_error("DEEP_ONE"))
    assert await failure_of(found) == f"{WHAT}: TLS handshake with {HOST} failed (deep one)"
    links = [OSError(f"link {n}") for n in range(8)]
    too_deep = chain(httpx.ConnectError("ssl"), *links, plain_ssl_error("DEEP_ONE"))
    assert await failure_of(too_deep) == (
        f"{WHAT}: cannot reach {HOST} (connection refused or host unreachable)"
    )


async def test_a_network_failure_never_shows_a_secret_in_the_host():
    profile = Profile(name="unit", base_url=f"https://user:{KEY}@{HOST}/v1")
    said = await failure_of(httpx.ConnectError("x"), profile)
    assert KEY not in said
    assert said == f"{WHAT}: cannot reach user:***@{HOST} (connection refused or host unreachable)"


# ------------------------------------------------------------------ ids in URLs


async def test_an_id_is_percent_encoded_in_the_path():
    server = Server(reply(200, response_obj("resp:1")))
    async with server.client() as client:
        await client.retrieve("resp:1")
    assert server.requests[0].url.raw_path == b"/v1/responses/resp%3A1"


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        ("../etc", "'../etc' is not a response id"),
        ("a/b", "'a/b' is not a response id"),
        ("resp 1", "'resp 1' is not a response id"),
        ("r/" + "x" * 80, repr("r/" + "x" * 57 + "…") + " is not a response id"),
    ],
)
async def test_a_value_that_is_not_an_id_is_never_sent(bad: str, said: str):
    server = Server(reply(200, response_obj()))
    async with server.client() as client:
        for call in (client.retrieve, client.delete, client.list_input_items):
            with pytest.raises(ProtocolError) as info:
                await call(bad)
            assert str(info.value) == said
    assert server.requests == []


# ------------------------------------------------------------------ missing routes


@pytest.mark.parametrize(
    ("endpoint", "call", "words"),
    [
        ("retrieve", "retrieve", "retrieve stored responses"),
        ("delete", "delete", "delete responses"),
        ("input_items", "list_input_items", "return input items"),
    ],
)
async def test_a_route_404_says_what_this_server_cannot_do(endpoint, call, words):
    server = Server(reply(404, {"detail": "No route for GET"}))
    async with server.client() as client:
        with pytest.raises(EndpointNotSupported) as info:
            await getattr(client, call)(RID)
        assert str(info.value) == f"this server ({HOST}) cannot {words}: No route for GET"
        assert info.value.endpoint == endpoint
        assert info.value.status == 404
        assert client.cannot(endpoint)
        assert client.capabilities == {endpoint: False}
        # Known now: the next call is refused without a request, and with no detail.
        with pytest.raises(EndpointNotSupported) as again:
            await getattr(client, call)(RID)
        assert str(again.value) == f"this server ({HOST}) cannot {words}"
    assert len(server.requests) == 1


async def test_a_405_is_a_missing_route_whatever_it_says():
    server = Server(reply(405, {"detail": "nope"}))
    async with server.client() as client:
        with pytest.raises(EndpointNotSupported) as info:
            await client.retrieve(RID)
    assert str(info.value) == f"this server ({HOST}) cannot retrieve stored responses: nope"


async def test_a_route_404_without_a_message_has_no_detail():
    server = Server(reply(405, b""))
    async with server.client() as client:
        with pytest.raises(EndpointNotSupported) as info:
            await client.retrieve(RID)
    assert str(info.value) == f"this server ({HOST}) cannot retrieve stored responses"


async def test_a_404_naming_the_response_is_not_found_not_a_missing_route():
    server = Server(reply(404, {"error": {"message": f"Response with id '{RID}' not found."}}))
    async with server.client() as client:
        with pytest.raises(NotFoundError) as info:
            await client.retrieve(RID)
        assert not isinstance(info.value, EndpointNotSupported)
        assert client.capabilities == {}


@pytest.mark.parametrize(
    ("base_url", "hint"),
    [
        (BASE, "no /v1/responses route: try the base URL without /v1"),
        (BASE + "/", "no /v1/responses route: try the base URL without /v1"),
        (
            f"https://{HOST}/inference",
            "no /inference/responses route: try the base URL ending in /v1",
        ),
        (f"https://{HOST}", "no /responses route: try the base URL ending in /v1"),
        (f"https://{HOST}/v1x", "no /v1x/responses route: try the base URL ending in /v1"),
    ],
)
async def test_a_create_without_a_route_suggests_the_other_base_url(base_url, hint):
    server = Server(reply(404, {"detail": "Not Found"}))
    async with server.client(Profile(name="unit", base_url=base_url), env={}) as client:
        with pytest.raises(EndpointNotSupported) as info:
            await client.create({"model": "m", "input": "hi"})
        assert client.cannot("create")
    host = f"{HOST}"
    assert str(info.value) == (
        f"this server ({host}) cannot create responses at this URL ({hint}): Not Found"
    )
    assert info.value.endpoint == "create"


@pytest.mark.parametrize("said", ["", "Not Found", "not found.", "  NOT FOUND  "])
async def test_a_bare_404_to_a_create_is_a_missing_route(said: str):
    server = Server(reply(404, {"detail": said} if said else b""))
    async with server.client() as client:
        with pytest.raises(EndpointNotSupported):
            await client.create({"model": "m", "input": "hi"})


async def test_a_404_naming_a_model_to_a_create_is_a_plain_not_found():
    server = Server(reply(404, {"error": {"message": "model m was not found"}}))
    async with server.client() as client:
        with pytest.raises(NotFoundError) as info:
            await client.create({"model": "m", "input": "hi"})
        assert not isinstance(info.value, EndpointNotSupported)
        assert str(info.value) == "create: not found on the server (404: model m was not found)"
        assert client.capabilities == {}


async def test_a_missing_previous_response_is_never_a_missing_route():
    said = {"error": {"message": "Not Found", "code": "previous_response_not_found"}}
    server = Server(reply(404, said))
    async with server.client() as client:
        with pytest.raises(PreviousResponseNotFound):
            await client.create({"model": "m", "input": "hi", "previous_response_id": RID})
    assert not client.cannot("create")


async def test_a_route_405_to_a_create_is_a_missing_route_whatever_it_says():
    server = Server(reply(405, {"detail": "Method Not Allowed"}))
    async with server.client() as client:
        with pytest.raises(EndpointNotSupported):
            await client.create({"model": "m", "input": "hi"})


@pytest.mark.parametrize("status", [400, 401, 500])
async def test_other_errors_are_never_a_missing_route(status: int):
    server = Server(reply(status, {"detail": "Not Found"}))
    async with server.client(max_retries=0) as client:
        with pytest.raises(ApiError) as info:
            await client.create({"model": "m", "input": "hi"})
        assert not isinstance(info.value, EndpointNotSupported)
        assert info.value.status == status
        assert client.capabilities == {}
