"""No hang, no runaway memory or CPU (issue 11, point 7).

- Every request has an overall deadline: a body drip-fed a byte at a time, or headers that never
  come, end in "… did not answer in time (timed out)" (httpx's read timeout is per read, so a
  drip never trips it). A stream's deadline is its headers only: a long reply is not cut.
- Bodies are read incrementally and capped after decompression: a gzip bomb stops at the cap
  with "the server sent more than N MB", and memory stays bounded.
- The SSE decoder is linear in line length, and one event has a size cap that interrupts the
  stream (partial answer kept) with a message saying the event was too large.
- Progress dialogs (import, sync, delete) are cancelled with esc.
- `serve` refuses a negative, huge, non-numeric or missing-but-chunked request length.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable, Iterable
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest
from loopback import serve
from ui_helpers import SERVER, build, goto, key_of, settle

from tui.api.accumulate import StreamAccumulator
from tui.api.client import ResponsesClient
from tui.api.errors import NetworkError, ProtocolError, ServerError, StreamInterrupted
from tui.api.profiles import Profile
from tui.api.sse import SSEDecoder, SSEEventTooLarge, SSEMessage
from tui.local.http import make_handler
from tui.store.records import Status
from tui.ui.history_screens import ImportScreen
from tui.ui.screens import DeleteScreen, ProgressScreen

KEY = "sk-secret-value-123456"
HOST = "api.example.test"
PROFILE = Profile(
    name="test", base_url=f"https://{HOST}/v1", api_key_env="X_KEY", default_model="m"
)
RID = "resp_" + "a" * 32
BODY = {"model": "m", "input": "hi"}
MB = 1024 * 1024
SIZE = (110, 34)


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)


async def no_sleep(_seconds: float) -> None:
    return None


Handler = Callable[[httpx.Request], Any]


class Counted:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.handler(request)
        if asyncio.iscoroutine(answer):
            answer = await answer
        return answer


def make(handler: Counted, **kw: Any) -> ResponsesClient:
    return ResponsesClient(
        PROFILE, env={"X_KEY": KEY}, transport=httpx.MockTransport(handler), sleep=no_sleep, **kw
    )


class Chunks(httpx.AsyncByteStream):
    """A response body sent in the given pieces, `delay` seconds before each."""

    def __init__(self, pieces: Iterable[bytes], delay: float = 0.0) -> None:
        self.pieces = pieces
        self.delay = delay

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            if self.delay:
                await asyncio.sleep(self.delay)
            yield piece


def drip(first: bytes = b'{"id": "') -> Iterable[bytes]:
    """A body that never ends: a valid start, then one byte at a time."""
    yield first
    while True:
        yield b"a"


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def gzip_bomb(size: int, prefix: bytes = b"", fill: bytes = b"\0") -> bytes:
    """`prefix` then `size` bytes of `fill`, gzip-compressed (about 1000:1)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [packer.compress(prefix)]
    block = fill * MB
    for _ in range(size // MB):
        out.append(packer.compress(block))
    out.append(packer.flush())
    return b"".join(out)


def gzipped(status: int, data: bytes, content_type: str = "application/json") -> httpx.Response:
    # Small raw pieces, as a socket delivers them: each decodes to at most ~16 MB.
    return httpx.Response(
        status,
        headers={"content-type": content_type, "content-encoding": "gzip"},
        stream=Chunks(pieces(data, 16 * 1024)),
    )


async def peak_of(coro: Any) -> tuple[BaseException | None, int]:
    """Run `coro` under tracemalloc: (the exception it raised, peak bytes allocated)."""
    tracemalloc.start()
    try:
        await coro
        raised = None
    except Exception as error:  # returned for the test to check
        raised = error
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return raised, peak


def sse(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


def created() -> bytes:
    response = {"id": RID, "object": "response", "status": "in_progress", "output": []}
    return sse({"type": "response.created", "response": response})


def delta(text: str) -> bytes:
    return sse(
        {
            "type": "response.output_text.delta",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "delta": text,
        }
    )


def completed(text: str) -> bytes:
    message = {
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    response = {
        "id": RID,
        "object": "response",
        "created_at": 1.0,
        "status": "completed",
        "model": "m",
        "output": [message],
    }
    return sse({"type": "response.completed", "response": response})


def stored(text: str = "ok") -> dict[str, Any]:
    return json.loads(completed(text).split(b"data: ", 1)[1])["response"]


def sse_response(stream: httpx.AsyncByteStream) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)


# ------------------------------------------------------------------ overall deadline


async def test_a_drip_fed_body_ends_at_the_deadline_and_is_not_retried():
    server = Counted(
        lambda r: httpx.Response(
            200, headers={"content-type": "application/json"}, stream=Chunks(drip(), 0.02)
        )
    )
    async with make(server, deadline=0.5) as client:
        assert make(server).deadline == 120.0  # the default
        start = time.monotonic()
        with pytest.raises(NetworkError, match=r"did not answer in time \(timed out\)") as info:
            await asyncio.wait_for(client.retrieve(RID), 10)
        assert time.monotonic() - start < 3
    assert HOST in str(info.value) and f"retrieve {RID}" in str(info.value)
    assert len(server.requests) == 1  # the deadline is the answer: no four more waits


async def test_headers_that_never_come_end_at_the_deadline_for_every_kind_of_call():
    async def never(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    for call in ("create", "stream", "list", "delete"):
        server = Counted(never)
        async with make(server, deadline=0.3) as client:
            start = time.monotonic()
            with pytest.raises(NetworkError, match="did not answer in time"):
                if call == "create":
                    await asyncio.wait_for(client.create(BODY), 10)
                elif call == "stream":
                    await asyncio.wait_for(client.create_streamed(BODY), 10)
                elif call == "list":
                    await asyncio.wait_for(client.list_input_items(RID), 10)
                else:
                    await asyncio.wait_for(client.delete(RID), 10)
            assert time.monotonic() - start < 3, call
        assert len(server.requests) == 1, call  # a create is never re-sent after a timeout


async def test_a_stream_may_last_longer_than_the_deadline():
    """The deadline covers a stream's headers; its events have the read timeout and the
    stream's own cap (MAX_STREAM_SECONDS)."""
    body = [created(), delta("Hel"), delta("lo"), delta(" there"), completed("Hello there")]
    server = Counted(lambda r: sse_response(Chunks(body, 0.15)))
    async with make(server, deadline=0.3) as client:
        final = await asyncio.wait_for(client.create_streamed(BODY), 10)
    assert final["output"][0]["content"][0]["text"] == "Hello there"


async def test_a_json_answer_to_a_stream_request_has_the_deadline_too():
    server = Counted(
        lambda r: httpx.Response(
            200, headers={"content-type": "application/json"}, stream=Chunks(drip(), 0.02)
        )
    )
    async with make(server, deadline=0.4) as client:
        with pytest.raises(NetworkError, match="did not answer in time"):
            await asyncio.wait_for(client.create_streamed(BODY), 10)


class Dripping(BaseHTTPRequestHandler):
    """Headers at once, then a byte of a JSON body every 50 ms: never a read timeout."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            self.wfile.write(b'{"id": "')
            for _ in range(100_000):
                self.wfile.write(b"a")
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass

    def log_message(self, *args: object) -> None:
        pass


async def test_a_real_socket_dripping_a_body_ends_at_the_deadline():
    with serve(Dripping) as url:
        profile = Profile(name="drip", base_url=url, api_key_env="X_KEY", default_model="m")
        async with ResponsesClient(profile, env={"X_KEY": KEY}, deadline=1.0) as client:
            start = time.monotonic()
            with pytest.raises(NetworkError, match="did not answer in time"):
                await asyncio.wait_for(client.retrieve(RID), 15)
            assert time.monotonic() - start < 5


# ------------------------------------------------------------------ decompressed bodies


async def test_a_gzip_bomb_stops_at_the_cap_with_memory_bounded():
    bomb = gzip_bomb(256 * MB, prefix=b'{"id": "' + RID.encode() + b'", "pad": "')
    assert len(bomb) < 400_000
    server = Counted(lambda r: gzipped(200, bomb))
    async with make(server) as client:
        raised, peak = await peak_of(client.retrieve(RID))
    assert isinstance(raised, ProtocolError), raised
    assert str(raised) == f"retrieve {RID}: the server sent more than 64 MB"
    assert peak < 160 * MB, f"peak {peak / MB:.0f} MB"
    assert len(server.requests) == 1  # not retried


async def test_the_body_cap_is_configurable_and_a_body_under_it_is_read():
    big = json.dumps({**stored(), "pad": "x" * (2 * MB)}).encode()
    server = Counted(
        lambda r: httpx.Response(
            200, headers={"content-type": "application/json"}, stream=Chunks(pieces(big, 65536))
        )
    )
    async with make(server, max_body_bytes=MB) as client:
        with pytest.raises(ProtocolError, match="the server sent more than 1 MB"):
            await client.retrieve(RID)
    async with make(server, max_body_bytes=4 * MB) as client:
        got = await client.retrieve(RID)
    assert got["id"] == RID and len(got["pad"]) == 2 * MB


async def test_a_gzip_bomb_on_create_stops_at_the_cap_and_is_sent_once():
    bomb = gzip_bomb(128 * MB, prefix=b"{")
    server = Counted(lambda r: gzipped(200, bomb))
    async with make(server, max_body_bytes=8 * MB) as client:
        raised, peak = await peak_of(client.create(BODY))
    assert isinstance(raised, ProtocolError) and "more than 8 MB" in str(raised), raised
    assert peak < 64 * MB, f"peak {peak / MB:.0f} MB"
    assert len(server.requests) == 1


async def test_a_gzip_bomb_answering_a_stream_request_as_json_is_capped():
    bomb = gzip_bomb(128 * MB, prefix=b"{")
    server = Counted(lambda r: gzipped(200, bomb))
    async with make(server, max_body_bytes=8 * MB) as client:
        raised, peak = await peak_of(client.create_streamed(BODY))
    assert isinstance(raised, ProtocolError) and "more than 8 MB" in str(raised), raised
    assert peak < 64 * MB, f"peak {peak / MB:.0f} MB"


async def test_a_gzip_bomb_as_an_error_body_is_cut_and_the_status_reported():
    bomb = gzip_bomb(256 * MB, prefix=b'{"error": {"message": "boom"}}', fill=b" ")
    server = Counted(lambda r: gzipped(500, bomb))
    async with make(server) as client:
        raised, peak = await peak_of(client.create(BODY))  # a 500 on create: not re-sent
    assert isinstance(raised, ServerError), raised
    assert "500" in str(raised)
    assert peak < 64 * MB, f"peak {peak / MB:.0f} MB"
    assert len(server.requests) == 1


async def test_a_gzip_bomb_in_a_stream_is_an_event_too_large_with_the_partial_kept():
    bomb = gzip_bomb(256 * MB, prefix=created() + delta("Hi") + b"data: ", fill=b"0")
    server = Counted(lambda r: gzipped(200, bomb, "text/event-stream"))
    acc = StreamAccumulator(BODY)
    async with make(server) as client:
        raised, peak = await peak_of(client.create_streamed(BODY, accumulator=acc))
    assert isinstance(raised, StreamInterrupted), raised
    assert "larger than 32 MB" in str(raised) and "partial answer is kept" in str(raised)
    assert raised.partial["output"][0]["content"][0]["text"] == "Hi"
    assert peak < 160 * MB, f"peak {peak / MB:.0f} MB"


# ------------------------------------------------------------------ the SSE decoder


def test_a_4_mb_line_in_1_kb_chunks_decodes_in_well_under_a_second():
    line = b"data: " + b"x" * (4 * MB) + b"\n\n"
    decoder = SSEDecoder()
    out: list[SSEMessage] = []
    start = time.perf_counter()
    for i in range(0, len(line), 1024):
        out += decoder.feed(line[i : i + 1024])
    elapsed = time.perf_counter() - start
    assert [len(m.data) for m in out] == [4 * MB]
    assert elapsed < 0.5, f"{elapsed:.2f} s"


async def test_a_2_mb_completed_event_streams_in_well_under_a_second():
    text = "word " * (400 * 1024)  # 2 MB of answer, in the deltas and again in completed
    raw = created() + delta(text) + completed(text)
    server = Counted(lambda r: sse_response(Chunks(pieces(raw, 1024))))
    async with make(server) as client:
        start = time.perf_counter()
        final = await client.create_streamed(BODY)
        elapsed = time.perf_counter() - start
    assert final["output"][0]["content"][0]["text"] == text
    assert elapsed < 1.0, f"{elapsed:.2f} s"


def test_one_event_over_the_cap_fails_clearly_but_many_events_do_not():
    decoder = SSEDecoder(max_event_chars=MB)
    for _ in range(5):  # 5 events of 0.6 MB each: fine, the cap is per event
        (message,) = decoder.feed(b"data: " + b"y" * (600 * 1024) + b"\n\n")
        assert len(message.data) == 600 * 1024
    with pytest.raises(SSEEventTooLarge, match="larger than 1 MB"):
        for _ in range(3 * 1024):
            decoder.feed(b"z" * 1024)  # one line that never ends
    many = SSEDecoder(max_event_chars=MB)
    with pytest.raises(SSEEventTooLarge):
        for _ in range(200_000):  # many short data lines, never a blank line
            many.feed(b"data: 0123456789\n")
    comment = SSEDecoder(max_event_chars=MB)
    with pytest.raises(SSEEventTooLarge):
        comment.feed(b": " + b"c" * (2 * MB))  # even a comment is buffered until it ends


async def test_an_event_over_the_cap_interrupts_the_stream_with_the_partial_kept():
    huge = b"data: " + b"q" * (2 * MB) + b"\n\n"
    body = [created(), delta("Hi"), *pieces(huge, 65536), completed("Hi")]
    server = Counted(lambda r: sse_response(Chunks(body)))
    acc = StreamAccumulator(BODY)
    async with make(server, max_event_bytes=MB) as client:
        with pytest.raises(StreamInterrupted) as info:
            await client.create_streamed(BODY, accumulator=acc)
    said = str(info.value)
    assert "sent an event larger than 1 MB" in said and HOST in said
    assert "the partial answer is kept" in said
    assert info.value.partial["output"][0]["content"][0]["text"] == "Hi"


WIRE = (
    b": keepalive\r\n\r\n"
    b"event: a\r\ndata: one\r\ndata: two\r\n\r\n"
    b"event: b\rdata: \xc3\xa9\xe2\x80\xa8\xc2\x85\r\r"
    b"id: 7\ndata:x\n\n"
    b"data: last\r\n"
)
EXPECTED = [
    SSEMessage("a", "one\ntwo"),
    SSEMessage("b", "é\u2028\u0085"),
    SSEMessage("message", "x", "7"),
    SSEMessage("message", "last", "7"),
]


def test_every_way_of_cutting_the_stream_decodes_the_same():
    for cut in range(len(WIRE) + 1):
        decoder = SSEDecoder()
        out = decoder.feed(WIRE[:cut]) + decoder.feed(WIRE[cut:]) + decoder.flush()
        assert out == EXPECTED, cut
    decoder = SSEDecoder()
    out = [m for i in range(len(WIRE)) for m in decoder.feed(WIRE[i : i + 1])]
    assert out + decoder.flush() == EXPECTED


def test_an_empty_chunk_between_cr_and_lf_is_not_a_blank_line():
    decoder = SSEDecoder()
    out = decoder.feed(b"data: x\r") + decoder.feed(b"") + decoder.feed(b"\ndata: y\n\n")
    assert out == [SSEMessage("message", "x\ny")]


# ------------------------------------------------------------------ serve's request length


def raw_request(url: str, head: bytes, body: bytes = b"{}") -> tuple[int, dict[str, str], bytes]:
    """Send `head` (request line and headers, no blank line) and read the whole answer."""
    port = int(url.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head + b"\r\n\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data:
            got = sock.recv(65536)
            if not got:
                break
            data += got
        header, _, rest = data.partition(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            got = sock.recv(65536)
            if not got:
                break
            rest += got
    return status, headers, rest


@pytest.mark.parametrize(
    ("length", "status", "words"),
    [
        (b"-1", 400, "Content-Length"),
        (b"99999999999999999999", 413, "32 MB"),
        (str(33 * MB).encode(), 413, "32 MB"),
        (b"abc", 400, "Content-Length"),
        (b"1e3", 400, "Content-Length"),
        (b"+2", 400, "Content-Length"),
        (b"2, 2", 400, "Content-Length"),
    ],
)
def test_serve_refuses_a_bad_content_length_with_a_json_error(tmp_path, length, status, words):
    from ui_helpers import make_backend

    with serve(make_handler(make_backend(tmp_path))) as url:
        head = b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        code, headers, body = raw_request(url, head + b"Content-Length: " + length)
    assert code == status
    assert headers["content-type"] == "application/json"
    assert headers.get("connection") == "close"
    error = json.loads(body)["error"]
    assert words in error["message"] and error["type"] == "invalid_request_error"


def test_serve_refuses_a_chunked_request_and_still_serves_a_good_one(tmp_path):
    from ui_helpers import make_backend

    with serve(make_handler(make_backend(tmp_path))) as url:
        head = b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        code, headers, body = raw_request(url, head, b"2\r\n{}\r\n0\r\n\r\n")
        assert code == 411 and json.loads(body)["error"]["message"]
        assert headers.get("connection") == "close"
        good = json.dumps({"model": "offline-echo", "input": "hi"}).encode()
        head = b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        code, _, body = raw_request(url, head + f"Content-Length: {len(good)}".encode(), good)
    assert code == 200 and json.loads(body)["status"] == "completed"


# ------------------------------------------------------------------ esc cancels progress


class Stuck:
    """A MockTransport handler that never answers the requests `hangs(request)` picks (until
    the test releases them) and lets the offline backend answer the rest."""

    def __init__(self, backend: Any, hangs: Callable[[httpx.Request], bool]) -> None:
        from tui.local.transport import OfflineTransport

        self.offline = OfflineTransport(backend)
        self.hangs = hangs
        self.release = asyncio.Event()
        self.waiting = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.hangs(request):
            self.waiting += 1
            await self.release.wait()
            return httpx.Response(503)
        return await self.offline.handle_async_request(request)

    def client(self) -> ResponsesClient:
        from ui_helpers import LOCAL

        return ResponsesClient(LOCAL, env={}, transport=httpx.MockTransport(self), sleep=no_sleep)


async def wait_for(pilot: Any, condition: Callable[[], bool]) -> None:
    for _ in range(200):
        await pilot.pause()
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out waiting")


def told(app: Any, *words: str) -> bool:
    return any(all(w in str(n.message) for w in words) for n in app._notifications)


def snapshot(index: Any) -> dict[tuple[str, str], Status]:
    return {node.key: node.status for node in index.nodes()}


async def test_esc_cancels_a_stuck_import(tmp_path):
    app, index, backend = build(tmp_path)
    stuck = Stuck(backend, lambda r: r.method == "GET")
    await app.client.aclose()
    app.client = stuck.client()
    before = snapshot(index)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        try:
            await pilot.press("i")
            await wait_for(pilot, lambda: isinstance(app.screen, ImportScreen))
            await pilot.press(*"resp_x")
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen) and stuck.waiting)
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, ProgressScreen))
            await settle(pilot, app)
            assert app.is_running
            assert not any(w.is_running for w in app.workers if w.group == "history")
            assert told(app, "Importing 1 response", "cancelled")
            assert snapshot(index) == before
            await goto(pilot, app, key_of(index, "Plan a three-day trip"))  # keys work
        finally:
            stuck.release.set()
    index.close()


async def test_esc_cancels_a_stuck_sync(tmp_path):
    app, index, backend = build(tmp_path)
    stuck = Stuck(backend, lambda r: r.method == "GET")
    await app.client.aclose()
    app.client = stuck.client()
    before = snapshot(index)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        try:
            await pilot.pause()
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen) and stuck.waiting)
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, ProgressScreen))
            await settle(pilot, app)
            assert app.is_running
            assert told(app, "Syncing with", "cancelled")
            assert snapshot(index) == before
        finally:
            stuck.release.set()
    index.close()


async def _cancel_a_delete(tmp_path) -> tuple[Any, Any, Any, list[tuple[str, str]]]:
    """Delete a 3-response subtree whose leaf goes at once and whose other two hang; esc."""
    app, index, backend = build(tmp_path)
    veg = key_of(index, "Make it vegetarian")
    doomed = [veg, key_of(index, "Add a day trip"), key_of(index, "Now a budget")]
    leaf = doomed[2][1]
    stuck = Stuck(backend, lambda r: r.method == "DELETE" and not r.url.path.endswith(leaf))
    await app.client.aclose()
    app.client = stuck.client()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        try:
            await goto(pilot, app, veg)
            await pilot.press("D")
            await wait_for(pilot, lambda: isinstance(app.screen, DeleteScreen))
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
            await wait_for(pilot, lambda: stuck.waiting == 2 and backend.store.get(leaf) is None)
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, ProgressScreen))
            await settle(pilot, app)
            assert app.is_running
            assert told(app, "Deleting 3 responses", "cancelled")
            assert not any(w.is_running for w in app.workers if w.group == "delete")
            # Nothing half-forgotten: the two whose delete never finished are still there.
            assert index.get(*doomed[0]).status == Status.STORED
            assert index.get(*doomed[1]).status == Status.STORED
            await goto(pilot, app, key_of(index, "Plan a three-day trip"))  # keys work
        finally:
            stuck.release.set()
    return app, index, backend, doomed


async def test_esc_cancels_a_stuck_delete(tmp_path):
    _, index, _, _ = await _cancel_a_delete(tmp_path)
    index.close()


async def test_a_cancelled_delete_still_records_what_the_server_deleted(tmp_path):
    _, index, _, doomed = await _cancel_a_delete(tmp_path)
    try:
        assert index.get(*doomed[2]) is None
        assert (SERVER, doomed[2][1]) == doomed[2]
    finally:
        index.close()


async def test_ctrl_q_quits_while_a_dialog_is_open(tmp_path):
    from ui_helpers import build

    from tui.ui.screens import ProgressScreen

    app, index, _ = build(tmp_path)
    async with app.run_test(size=(110, 34)) as pilot:
        await app.push_screen(ProgressScreen("Importing…", status=True))
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.return_code == 0  # set by exit(): the app is quitting
    index.close()
