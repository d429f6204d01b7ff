"""Serve the offline backend over HTTP on loopback (`responses-tui serve`).

Standard library only. Streams go out with chunked transfer encoding, so any HTTP/1.1 client
(curl, the official SDKs) reads events as they are produced.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from tui.local.server import OfflineBackend
from tui.text import one_line

MAX_BODY = 32 * 1024 * 1024
_DIGITS = re.compile(r"[0-9]+")


def make_handler(backend: OfflineBackend) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "responses-tui-offline"

        def _serve(self) -> None:
            length = self._length()
            if length is None:
                return
            body = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            query = dict(parse_qsl(url.query))
            answer = backend.handle(self.command, url.path, query, body)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if isinstance(answer.body, bytes):
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
                return
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                first = True
                for chunk in answer.body:
                    if not first and answer.delay > 0:
                        time.sleep(answer.delay)
                    first = False
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError) as error:
                self.close_connection = True
                log_dropped(self.client_address, error, "in the middle of a stream")
            finally:
                close = getattr(answer.body, "close", None)
                if close is not None:
                    close()

        def _length(self) -> int | None:
            """The request body's length, or None after refusing the request: a length that
            is not digits (`-1` would read until the client hangs up), over MAX_BODY, or a
            chunked body (not read here). The connection is closed after a refusal: where the
            body ends is unknown."""
            if self.headers.get("Transfer-Encoding") is not None:
                self._refuse(411, "send the body with a Content-Length, not chunked")
                return None
            values = self.headers.get_all("Content-Length") or []
            if not values:
                return 0
            text = values[0].strip()
            if any(v.strip() != text for v in values) or not _DIGITS.fullmatch(text):
                self._refuse(400, f"invalid Content-Length ({one_line(text, 40) or 'empty'})")
                return None
            if len(text) > 12 or int(text) > MAX_BODY:
                megabytes = MAX_BODY // (1024 * 1024)
                self._refuse(413, f"the request body is larger than {megabytes} MB")
                return None
            return int(text)

        def _refuse(self, status: int, message: str) -> None:
            body = json.dumps(
                {
                    "error": {
                        "message": message,
                        "type": "invalid_request_error",
                        "param": None,
                        "code": None,
                    }
                }
            ).encode()
            self.close_connection = True
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass  # requests carry keys in headers; never log them

    return Handler


def log_dropped(client: object, error: BaseException, when: str = "") -> None:
    """One line on stderr for a client that went away (or a request that failed), never a
    traceback: a dropped connection is what clients do, not a fault of the server."""
    host, port = client[:2] if isinstance(client, tuple) and len(client) >= 2 else ("?", "?")
    reason = one_line(getattr(error, "strerror", None) or str(error) or type(error).__name__, 80)
    if isinstance(error, ConnectionError | TimeoutError):
        what = f"client {host}:{port} dropped the connection{' ' + when if when else ''}"
    else:  # a bug: one line all the same, the server goes on
        what = f"a request from {host}:{port} failed ({type(error).__name__})"
    with contextlib.suppress(OSError, ValueError):  # stderr itself may be gone
        print(f"responses-tui serve: {what}: {reason}", file=sys.stderr, flush=True)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Instead of socketserver's traceback on stderr: one line (see `log_dropped`)."""
        error = sys.exc_info()[1]
        if error is not None:
            log_dropped(client_address, error)


def serve(
    backend: OfflineBackend,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    ready: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve until `stop` is set (or KeyboardInterrupt). `ready(port)` gets the bound port."""
    server = _Server((host, port), make_handler(backend))
    try:
        if ready is not None:
            ready(server.server_address[1])
        if stop is None:
            server.serve_forever(poll_interval=0.2)
            return
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
        thread.daemon = True
        thread.start()
        while not stop.wait(0.2):
            pass
        server.shutdown()
    finally:
        server.server_close()
