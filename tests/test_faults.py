"""Fault injection against the whole app: a real App driven by Pilot, with a client whose server
misbehaves (refused connections, cut streams, 429 storms, 5xx bursts, slow headers, HTML error
pages, truncated JSON, unknown event and item types).

Every test checks the same three things:
1. the app keeps working afterwards (a later send against a healthy server succeeds, or
   navigation still works, and the app is still running);
2. nothing the user had is lost: typed text stays in the composer when nothing was created,
   and every response already in the index is still there, unchanged;
3. a notification says what happened in words a user understands (no traceback, no HTML).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import html
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest
from loopback import serve
from ui_helpers import LOCAL, SERVER, build, goto, key_of, settle

from tui.api.client import ResponsesClient
from tui.api.items import response_text
from tui.api.profiles import Profile
from tui.local.transport import OfflineTransport
from tui.store.records import Status
from tui.ui.history_screens import ImportScreen
from tui.ui.screens import DeleteScreen, ProgressScreen

SIZE = (110, 34)
TAIL = "Show a tiny example"  # a leaf of the demo forest to reply to
RID = "resp_" + "f" * 32


# ------------------------------------------------------------------ helpers


async def no_sleep(_seconds: float) -> None:
    return None


async def reply_with(pilot, app, index, text: str) -> None:
    """Reply to the demo leaf with `text` (ctrl+s sends)."""
    await goto(pilot, app, key_of(index, TAIL))
    await pilot.press("enter")
    assert app.focused is app.composer.input
    app.composer.set_text(text)
    await pilot.press("ctrl+s")
    await settle(pilot, app)


def screen_text(app) -> str:
    """What the terminal shows, as plain text (the SVG screenshot without its markup)."""
    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


def messages(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def assert_told(app, *words: str) -> str:
    """One notification has every word (case-insensitive); none is a traceback or HTML."""
    said = messages(app)
    for message in said:
        assert "Traceback" not in message, said
        assert "<html" not in message.lower() and "</" not in message, said
    for message in said:
        if all(w.lower() in message.lower() for w in words):
            return message
    raise AssertionError(f"no notification mentions {words!r}: {said!r}")


def snapshot(index) -> dict[tuple[str, str], tuple[Status, str]]:
    """Every response in the index with its status and full body (as canonical JSON)."""
    return {
        node.key: (node.status, json.dumps(index.load_body(*node.key), sort_keys=True))
        for node in index.nodes()
    }


def assert_preserved(index, before: dict[tuple[str, str], tuple[Status, str]]) -> None:
    after = snapshot(index)
    lost = [key for key in before if key not in after]
    assert not lost, f"responses lost: {lost}"
    changed = [key for key in before if after[key] != before[key]]
    assert not changed, f"responses changed: {changed}"


def healthy(backend) -> ResponsesClient:
    return ResponsesClient(LOCAL, env={}, transport=OfflineTransport(backend))


async def assert_recovers(pilot, app, index, backend, text: str = "Still there?") -> None:
    """A send against a healthy server works after the fault, and the app is running."""
    assert app.is_running
    await app.client.aclose()
    app.client = healthy(backend)
    count = len(index)
    await reply_with(pilot, app, index, text)
    assert app.is_running
    assert len(index) == count + 1
    new = app.current
    summary = index.get(*new)
    assert summary is not None and summary.input_preview == text
    assert summary.status == Status.STORED
    assert response_text(index.load_body(*new)["response"])
    assert app.composer.text == ""


class Faulty:
    """A MockTransport handler that records requests and sleeps. `answer(request, n)` returns a
    response, or None to let the offline backend answer (the fault is over)."""

    def __init__(
        self,
        answer: Callable[[httpx.Request, int], httpx.Response | None],
        backend: Any = None,
    ) -> None:
        self.answer = answer
        self.backend = backend
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.answer(request, len(self.requests))
        if response is None:
            return await OfflineTransport(self.backend).handle_async_request(request)
        return response

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def client(self, **kw: Any) -> ResponsesClient:
        return ResponsesClient(
            LOCAL, env={}, transport=httpx.MockTransport(self), sleep=self.sleep, **kw
        )

    def count(self, method: str, path_end: str = "/responses") -> int:
        return sum(1 for r in self.requests if r.method == method and r.url.path.endswith(path_end))


def sse(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


def created_event(rid: str = RID) -> bytes:
    return sse(
        {
            "type": "response.created",
            "response": {
                "id": rid,
                "object": "response",
                "created_at": 1.0,
                "status": "in_progress",
                "model": "offline-echo",
                "output": [],
            },
        }
    )


def delta_event(text: str) -> bytes:
    return sse(
        {
            "type": "response.output_text.delta",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "delta": text,
        }
    )


HTML_502 = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    b"</center><hr><center>nginx</center></body></html>"
)
HTML_500 = (
    b"<!DOCTYPE html><html><head><title>Internal Server Error</title></head>"
    b"<body><h1>Oops</h1><p>Something <b>broke</b>.</p></body></html>"
)


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    """Loopback servers must be reached directly, whatever the environment says."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@contextlib.contextmanager
def loopback(respond: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 whose every request is answered by `respond(handler)`.
    Yields the base URL (…/v1)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            try:
                respond(self)
            except (BrokenPipeError, ConnectionResetError, OSError):
                self.close_connection = True

        do_GET = do_POST = do_DELETE = _any

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serve(Handler) as url:
        yield url


def loopback_client(base_url: str, **kw: Any) -> ResponsesClient:
    return ResponsesClient(Profile(name="loopback", base_url=base_url), env={}, **kw)


# ------------------------------------------------------------------ server down at start


async def test_server_down_at_start_shows_the_forest_and_says_cannot_reach(tmp_path):
    client = ResponsesClient(
        Profile(name="down", base_url="http://127.0.0.1:9/v1"), env={}, sleep=no_sleep
    )
    app, index, backend = build(tmp_path, client=client)
    before = snapshot(index)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        # The existing forest is there and browsable with the server down.
        assert len(app.forest_view.conversations()) == 4
        assert app.current is not None
        await pilot.press("g")
        await pilot.pause()
        await reply_with(pilot, app, index, "Are you there?")
        assert app.is_running
        assert app.composer.text == "Are you there?"
        assert_preserved(index, before)
        said = assert_told(app, "cannot reach", "127.0.0.1:9")
        assert "refused" in said or "unreachable" in said
        assert not app.streaming and app.composer.input.read_only is False
        await assert_recovers(pilot, app, index, backend)
    index.close()


# ------------------------------------------------------------------ dropped mid-stream


def _drop_after_deltas(chunked: bool) -> Callable[[BaseHTTPRequestHandler], None]:
    def respond(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        if chunked:
            h.send_header("Transfer-Encoding", "chunked")
        else:
            h.send_header("Connection", "close")
        h.end_headers()
        for event in (
            created_event(),
            delta_event("Half "),
            delta_event("an "),
            delta_event("answer"),
        ):
            if chunked:
                h.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            else:
                h.wfile.write(event)
            h.wfile.flush()
            time.sleep(0.02)
        # Gone: no terminal event, no final chunk; the socket is torn down.
        with contextlib.suppress(OSError):
            h.connection.shutdown(socket.SHUT_RDWR)
        h.close_connection = True

    return respond


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked-abort", "eof"])
async def test_dropped_mid_stream_keeps_the_partial_marked_incomplete(tmp_path, chunked):
    with loopback(_drop_after_deltas(chunked)) as base_url:
        app, index, backend = build(tmp_path, client=loopback_client(base_url, sleep=no_sleep))
        before = snapshot(index)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await reply_with(pilot, app, index, "Tell me everything")
            assert app.is_running
            summary = index.get(SERVER, RID)
            assert summary is not None, "the partial answer was not kept"
            assert summary.status == Status.INCOMPLETE
            body = index.load_body(SERVER, RID)
            assert response_text(body["response"]) == "Half an answer"
            assert summary.parent == key_of(index, TAIL)[1]
            # It is shown: selected in the tree, and the transcript says it was cut short.
            assert app.current == (SERVER, RID)
            assert app.forest_view.node_for((SERVER, RID)) is not None
            shown = screen_text(app)
            assert "Half an answer" in shown
            assert "incomplete" in shown
            assert_preserved(index, before)
            assert_told(app, "stream")
            await assert_recovers(pilot, app, index, backend)
        index.close()


# ------------------------------------------------------------------ 429 storm


async def test_429_storm_retries_a_bounded_number_of_times_then_says_rate_limited(tmp_path):
    app, index, backend = build(tmp_path)
    storm = Faulty(
        lambda request, n: httpx.Response(
            429,
            headers={"Retry-After": "1"},
            json={"error": {"message": "Too many requests", "type": "rate_limit"}},
        )
    )
    app.client = storm.client()
    before = snapshot(index)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await reply_with(pilot, app, index, "Please answer")
        assert app.is_running
        assert len(storm.requests) == 1 + app.client.max_retries  # bounded
        assert storm.sleeps == [1.0] * app.client.max_retries  # Retry-After honoured
        assert app.composer.text == "Please answer"
        assert_preserved(index, before)
        assert_told(app, "rate limited", "429")
        await assert_recovers(pilot, app, index, backend)
    index.close()


# ------------------------------------------------------------------ 5xx burst on create


async def test_5xx_burst_on_create_is_never_resent_and_the_text_stays(tmp_path):
    app, index, backend = build(tmp_path)

    def answer(request: httpx.Request, n: int) -> httpx.Response | None:
        if request.method == "POST" and n <= 3:
            return httpx.Response(502, json={"error": {"message": "upstream overloaded"}})
        return None  # the burst is over

    burst = Faulty(answer, backend)
    app.client = burst.client()
    before = snapshot(index)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await reply_with(pilot, app, index, "Important question")
        assert burst.count("POST") == 1, "a create was re-sent after a 5xx"
        assert burst.sleeps == []
        assert app.composer.text == "Important question"
        assert_preserved(index, before)
        said = assert_told(app, "server error", "502")
        assert "upstream overloaded" in said
        # The user presses send again (the text is still there): one POST per press.
        for presses in (2, 3):
            await pilot.press("ctrl+s")
            await settle(pilot, app)
            assert burst.count("POST") == presses
            assert app.composer.text == "Important question"
            assert_preserved(index, before)
        # The burst is over: the same text now goes through, exactly once.
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert burst.count("POST") == 4
        assert app.is_running
        assert len(index) == len(before) + 1
        assert index.get(*app.current).input_preview == "Important question"
        assert app.composer.text == ""
        assert_preserved(index, before)
        await assert_recovers(pilot, app, index, backend)
    index.close()


# ------------------------------------------------------------------ slow headers


async def test_slow_headers_time_out_and_say_so(tmp_path):
    release = threading.Event()

    def respond(h: BaseHTTPRequestHandler) -> None:
        release.wait(3)  # longer than the client's timeout: no headers in time
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", "2")
        h.end_headers()
        h.wfile.write(b"{}")

    with loopback(respond) as base_url:
        client = loopback_client(base_url, sleep=no_sleep, timeout=httpx.Timeout(0.2))
        app, index, backend = build(tmp_path, client=client)
        before = snapshot(index)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                started = time.monotonic()
                await reply_with(pilot, app, index, "Are you slow?")
                assert time.monotonic() - started < 2.5  # the timeout, not the server, ended it
                assert app.is_running
                assert app.composer.text == "Are you slow?"
                assert_preserved(index, before)
                assert_told(app, "timed out")
                await assert_recovers(pilot, app, index, backend)
        finally:
            release.set()
    index.close()


async def test_slow_headers_through_a_mock_transport_time_out(tmp_path):
    """The same with a MockTransport handler that waits longer than the timeout (a mock does
    not enforce timeouts itself, so it raises what httpx would once the wait is over)."""
    app, index, backend = build(tmp_path)

    async def slow(request: httpx.Request) -> httpx.Response:
        budget = request.extensions.get("timeout", {}).get("read") or 0.2
        await asyncio.sleep(budget + 0.1)
        raise httpx.ReadTimeout("timed out waiting for the response headers", request=request)

    app.client = ResponsesClient(
        LOCAL,
        env={},
        transport=httpx.MockTransport(slow),
        sleep=no_sleep,
        timeout=httpx.Timeout(0.2),
    )
    before = snapshot(index)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await reply_with(pilot, app, index, "Hello slow server")
        assert app.composer.text == "Hello slow server"
        assert_preserved(index, before)
        assert_told(app, "timed out")
        await assert_recovers(pilot, app, index, backend)
    index.close()


# ------------------------------------------------------------------ HTML error page


async def test_html_error_page_is_reported_by_its_title_without_tags(tmp_path):
    app, index, backend = build(tmp_path)
    gateway = Faulty(
        lambda request, n: httpx.Response(
            502, headers={"Content-Type": "text/html"}, content=HTML_502
        )
    )
    app.client = gateway.client()
    before = snapshot(index)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await reply_with(pilot, app, index, "Through the proxy")
        assert gateway.count("POST") == 1
        assert app.composer.text == "Through the proxy"
        assert_preserved(index, before)
        said = assert_told(app, "Bad Gateway")
        assert "<" not in said and ">" not in said
        assert "nginx" not in said  # the title, not the whole page
        await assert_recovers(pilot, app, index, backend)
    index.close()


# ------------------------------------------------------------------ truncated JSON on import


async def test_truncated_json_on_import_says_not_json_and_adds_nothing(tmp_path):
    app, index, backend = build(tmp_path)
    truncated = Faulty(
        lambda request, n: httpx.Response(
            200, headers={"Content-Type": "application/json"}, content=b'{"id": "resp_x", "obj'
        )
    )
    app.client = truncated.client()
    before = snapshot(index)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, ImportScreen)
        await pilot.press(*"resp_x")
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.is_running
        assert not isinstance(app.screen, ImportScreen | ProgressScreen)
        assert truncated.count("GET", "/responses/resp_x") >= 1
        assert index.get(SERVER, "resp_x") is None
        assert len(index) == len(before)
        assert_preserved(index, before)
        assert_told(app, "resp_x", "did not answer JSON")
        # Navigation still works.
        await goto(pilot, app, key_of(index, "Plan a three-day trip"))
        await assert_recovers(pilot, app, index, backend)
    index.close()


# ------------------------------------------------------------------ unknown event and item types


async def test_unknown_events_and_items_complete_and_render_collapsed(tmp_path):
    final = {
        "id": RID,
        "object": "response",
        "created_at": 1.0,
        "status": "completed",
        "model": "offline-echo",
        "output": [
            {
                "type": "hologram",
                "id": "holo_1",
                "status": "completed",
                "projection": {"shape": "cube", "hue": 42},
            },
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "A real answer", "annotations": []}],
            },
        ],
    }
    stream = b"".join(
        [
            created_event(),
            sse({"type": "response.future_thing.delta", "sequence_number": 2, "delta": "?"}),
            sse(
                {
                    "type": "response.output_item.added",
                    "output_index": 0,
                    "item": {"type": "hologram", "id": "holo_1", "status": "in_progress"},
                }
            ),
            delta_event("A real "),
            sse({"type": "response.future_thing.done", "sequence_number": 4}),
            delta_event("answer"),
            sse({"type": "response.completed", "response": final}),
        ]
    )
    app, index, backend = build(tmp_path)
    future = Faulty(
        lambda request, n: httpx.Response(
            200, headers={"Content-Type": "text/event-stream"}, content=stream
        )
    )
    app.client = future.client()
    before = snapshot(index)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await reply_with(pilot, app, index, "Show me the future")
        assert app.is_running
        summary = index.get(SERVER, RID)
        assert summary is not None and summary.status == Status.STORED
        stored = index.load_body(SERVER, RID)["response"]
        assert [item["type"] for item in stored["output"]] == ["hologram", "message"]
        assert stored["output"][0]["projection"] == {"shape": "cube", "hue": 42}
        assert response_text(stored) == "A real answer"
        assert app.current == (SERVER, RID)
        assert app.composer.text == ""
        from textual.widgets import Collapsible

        holograms = [
            c for c in app.transcript.query(Collapsible) if "hologram" in str(c.title).lower()
        ]
        assert holograms, "the unknown item is not shown"
        assert all(c.collapsed for c in holograms)
        assert "A real answer" in screen_text(app)
        assert_preserved(index, before)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert not errors, [str(n.message) for n in errors]
        await assert_recovers(pilot, app, index, backend)
    index.close()


# ------------------------------------------------------------------ sync against an HTML 500


async def test_sync_against_an_html_500_list_reports_and_removes_nothing(tmp_path):
    app, index, backend = build(tmp_path)
    broken = Faulty(
        lambda request, n: httpx.Response(
            500, headers={"Content-Type": "text/html"}, content=HTML_500
        )
    )
    app.client = broken.client()
    before = snapshot(index)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+r")
        await settle(pilot, app)
        assert app.is_running
        assert not isinstance(app.screen, ProgressScreen)
        assert broken.count("GET") == 1 + app.client.max_retries  # bounded
        assert_preserved(index, before)
        said = assert_told(app, "500", "Internal Server Error")
        assert "<" not in said
        # Navigation still works and the forest still shows everything.
        assert len(app.forest_view.conversations()) == 4
        await goto(pilot, app, key_of(index, "Which port wine"))
        await assert_recovers(pilot, app, index, backend)
    index.close()


# ------------------------------------------------------------------ delete during a 5xx burst


async def test_delete_during_a_5xx_burst_keeps_the_response_and_reports(tmp_path):
    app, index, backend = build(tmp_path)

    def answer(request: httpx.Request, n: int) -> httpx.Response | None:
        if request.method == "DELETE" and n <= 4:
            if n % 2:
                return httpx.Response(503, json={"error": {"message": "service unavailable"}})
            return httpx.Response(502, headers={"Content-Type": "text/html"}, content=HTML_502)
        return None

    burst = Faulty(answer, backend)
    app.client = burst.client()
    before = snapshot(index)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        budget = key_of(index, "Now a budget version")
        await goto(pilot, app, budget)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DeleteScreen)
        await pilot.press("s")
        await settle(pilot, app)
        assert app.is_running
        assert burst.count("DELETE", budget[1]) == 1 + app.client.max_retries
        assert index.get(*budget) is not None
        assert index.get(*budget).status == Status.STORED
        assert app.forest_view.node_for(budget) is not None
        assert_preserved(index, before)
        said = assert_told(app, "failed", "server error")
        assert budget[1] in said or "stay in the tree" in said
        assert "<" not in said
        # The cursor still rests on the response, and the burst is over: the user presses d
        # again, without moving, and the delete goes through.
        assert app.forest_view.current_key == budget
        assert app.current == budget, "after the failed delete the app forgot the selection"
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DeleteScreen), "d does nothing after a failed delete"
        await pilot.press("s")
        await settle(pilot, app)
        assert index.get(*budget) is None
        assert_told(app, "Deleted 1 of 1")
        await assert_recovers(pilot, app, index, backend)
    index.close()


# ------------------------------------------------------------------ the snapshot helper itself


def test_snapshot_sees_a_changed_body(tmp_path):
    _app, index, _ = build(tmp_path)
    before = snapshot(index)
    key = next(iter(before))
    body = copy.deepcopy(index.load_body(*key))
    body["response"]["output"] = []
    index.add_response(body["response"], server=key[0], profile="local", input_items=None)
    with pytest.raises(AssertionError):
        assert_preserved(index, before)
    index.close()
