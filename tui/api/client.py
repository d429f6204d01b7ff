"""Async client for the Responses API: create (plain and streamed), retrieve, delete, input
items, and list where the server has it.

Retry policy: GET and DELETE are idempotent and are retried on 429, 5xx and network errors.
A create (POST) is retried only when the server cannot have acted on it: a 429, or a
connection that was never established. It is never silently re-sent after a 5xx or a timeout,
which could create the response twice. Retry-After (seconds or an HTTP date) is honoured up to
`max_retry_after`; every wait is bounded. A refused connection (nothing listens, no such
host) is tried once more after 0.2 s and then reported: a closed port is said in well under a
second. A connection that times out gets the full backoff, and `on_retry` hears of each wait.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit

import httpx

from tui import __version__
from tui.api.accumulate import StreamAccumulator
from tui.api.errors import (
    ApiError,
    EndpointNotSupported,
    NetworkError,
    NotFoundError,
    PagingStopped,
    PreviousResponseNotFound,
    ProtocolError,
    RateLimited,
    StreamFailed,
    StreamInterrupted,
    bare_not_found,
    error_for_status,
    not_found_kind,
    parse_error_body,
    previous_missing,
    redact,
)
from tui.api.events import ErrorEvent, ResponseEvent, StreamEvent, parse_event
from tui.api.items import safe_id
from tui.api.jsonlimits import TooDeep, loads_clipped
from tui.api.profiles import Profile
from tui.api.sse import MAX_EVENT_CHARS, SSEDecoder, SSEEventTooLarge
from tui.text import one_line

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=30.0, pool=10.0)
# httpx's read timeout is per read: a body drip-fed a byte at a time never trips it. One whole
# exchange (headers and body; a stream's headers) has this deadline on top, in seconds.
DEFAULT_DEADLINE = 120.0
# Bodies are read incrementally after decompression and refused past this (a gzip bomb).
MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_ERROR_BODY_BYTES = 1024 * 1024  # an error body is only read for its message: cut there
Sleep = Callable[[float], Awaitable[None]]

# Every pager is bounded: pages, and wall-clock seconds for the whole walk.
MAX_LIST_PAGES = 10_000  # 1,000,000 responses at 100 a page
MAX_INPUT_PAGES = 1_000  # 100,000 input items of one response
MAX_PAGING_SECONDS = 900.0
# A stream is bounded too: a server that sends keep-alives or events forever is cut off, the
# partial answer kept (generous: reasoning models may think for many minutes).
MAX_STREAM_SECONDS = 3600.0
MAX_STREAM_EVENTS = 2_000_000

# What "this server cannot …" says, per endpoint.
ENDPOINT_WORDS = {
    "create": "create responses at this URL",
    "retrieve": "retrieve stored responses",
    "delete": "delete responses",
    "list": "list responses",
    "input_items": "return input items",
    "models": "list its models",
}
MAX_MODELS = 1_000  # models kept from one /models answer
MAX_MODEL_ID = 200  # characters of a model id; a longer one is not a model id


REFUSED_RETRIES = 1  # a refused connection: one more try, soon; said well under a second
REFUSED_WAIT = 0.2


def _default_sleep(seconds: float) -> Awaitable[None]:
    return asyncio.sleep(seconds)  # looked up per call, so tests can patch asyncio.sleep


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)  # ValueError, never None (3.10+)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _writes_text(model: dict[str, Any]) -> bool:
    """False for a model its server says is not a language model: Llama Stack's
    `custom_metadata.model_type` ("llm", "embedding", "rerank"; llama_stack_api 0.7.3,
    models/models.py). A server that says nothing of it: every model is offered."""
    meta = model.get("custom_metadata")
    kind = meta.get("model_type") if isinstance(meta, dict) else None
    return not isinstance(kind, str) or kind == "llm"


class ResponsesClient:
    def __init__(
        self,
        profile: Profile,
        *,
        env: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        max_retry_after: float = 30.0,
        backoff: float = 0.5,
        sleep: Sleep | None = None,
        deadline: float = DEFAULT_DEADLINE,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_event_bytes: int = MAX_EVENT_CHARS,
    ) -> None:
        import os

        env = os.environ if env is None else env
        self.profile = profile
        key = profile.api_key(env)  # MissingApiKey before anything is sent
        # Case-insensitive: a profile's `user-agent` replaces ours, it is not sent as well.
        headers = httpx.Headers(
            {"User-Agent": f"responses-tui/{__version__}", "Accept": "application/json"}
        )
        headers.update(profile.resolved_headers(env))
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._secrets = [s for s in [key, *profile.secrets(env)] if s]
        self.base_url = profile.base_url.rstrip("/")
        self.host = urlsplit(self.base_url).netloc or self.base_url
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/",
            headers=headers,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )
        self.max_retries = max_retries
        self.max_retry_after = max_retry_after
        self.backoff = backoff
        self._sleep: Sleep = sleep or _default_sleep
        self.deadline = deadline
        self.max_body_bytes = max_body_bytes
        self.max_event_bytes = max_event_bytes
        self._clock: Callable[[], float] = time.monotonic
        # What this server has been seen to have (True) or lack (False); unknown until used.
        self.capabilities: dict[str, bool] = {}
        self.rejected_ids = 0  # listed responses skipped because their id is not an id
        # Called with one line before each wait of a retry ("…; retrying in 1 s (2 of 3)").
        self.on_retry: Callable[[str], None] | None = None

    # ------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> ResponsesClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def secrets(self) -> list[str]:
        """Every value this client keeps out of messages (and callers keep out of storage)."""
        return list(self._secrets)

    def add_secrets(self, secrets: list[str]) -> None:
        """More values to keep out of every message (e.g. tool header secrets)."""
        self._secrets.extend(s for s in secrets if s and s not in self._secrets)

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    # ------------------------------------------------------------ transport

    def _network_error(self, what: str, error: Exception) -> NetworkError:
        """Say what went wrong in the user's terms: could not connect, too slow, or cut."""
        import ssl

        tls: BaseException | None = error  # httpx error <- httpcore error <- ssl error
        for _ in range(8):
            if tls is None or isinstance(tls, ssl.SSLError):
                break
            tls = tls.__cause__ or tls.__context__
        if isinstance(tls, ssl.SSLError):
            if isinstance(tls, ssl.SSLCertVerificationError):
                said = "".join(c for c in str(tls.verify_message or "") if c.isprintable())
                why = "certificate verify failed" + (f": {said[:120]}" if said else "")
            else:
                why = str(tls.reason or type(tls).__name__).replace("_", " ").lower()
            text = f"{what}: TLS handshake with {self.host} failed ({why})"
        elif isinstance(error, httpx.ConnectTimeout):
            text = f"{what}: cannot reach {self.host} (timed out while connecting)"
        elif isinstance(error, httpx.ConnectError):
            text = f"{what}: cannot reach {self.host} (connection refused or host unreachable)"
        elif isinstance(error, httpx.TimeoutException | TimeoutError):  # TimeoutError: deadline
            text = f"{what}: {self.host} did not answer in time (timed out)"
        else:
            text = f"{what}: the connection to {self.host} broke ({type(error).__name__})"
        return NetworkError(self.redact(text))

    @staticmethod
    def _segment(response_id: str) -> str:
        """A response id as a URL path segment: checked to be an id (never `..`, `/`, NUL,
        escapes), then percent-encoded all the same."""
        if not safe_id(response_id):
            raise ProtocolError(f"{one_line(response_id, 60)!r} is not a response id")
        return quote(response_id, safe="")

    def cannot(self, endpoint: str) -> bool:
        """True once this server was seen to lack `endpoint` ("list", "delete", …)."""
        return self.capabilities.get(endpoint) is False

    def _unsupported(self, endpoint: str, detail: str = "") -> EndpointNotSupported:
        self.capabilities[endpoint] = False
        words = ENDPOINT_WORDS[endpoint]
        hint = ""
        if endpoint == "create":
            path = urlsplit(self.base_url).path  # base_url has no trailing slash
            other = "without /v1" if path.endswith("/v1") else "ending in /v1"
            hint = f" (no {path}/responses route: try the base URL {other})"
        said = f": {detail}" if detail else ""
        return EndpointNotSupported(
            f"this server ({self.host}) cannot {words}{hint}{said}", endpoint=endpoint, status=404
        )

    def _check_unsupported(self, endpoint: str) -> None:
        if self.cannot(endpoint):
            raise self._unsupported(endpoint)

    def _route_or_raise(self, error: ApiError, endpoint: str) -> ApiError:
        """The error to raise for a failed call: EndpointNotSupported when a 404/405 says the
        route does not exist, else the error itself (whether a 404 names the response or not
        does not matter here: either way the route exists)."""
        if error.status not in (404, 405) or isinstance(error, PreviousResponseNotFound):
            return error
        kind = not_found_kind(error.status, error.detail)
        if kind == "route" or (endpoint == "create" and bare_not_found(error.detail)):
            return self._unsupported(endpoint, error.detail or "")
        return error

    def _retrying(self, what: str, why: object, attempt: int, wait: float) -> None:
        """Tell `on_retry` (the app's status line, the CLI's stderr) that a retry is coming."""
        if self.on_retry is None:
            return
        if isinstance(why, Exception):
            reason = str(self._network_error(what, why))
        else:
            reason = f"{what}: {why}"
        line = f"{reason}; retrying in {wait:g} s ({attempt + 1} of {self.max_retries})"
        self.on_retry(one_line(self.redact(line), 200))

    def _backoff(self, attempt: int) -> float:
        return min(8.0, self.backoff * (2**attempt))

    async def _send(
        self,
        method: str,
        path: str,
        *,
        what: str,
        json_body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send with the retry policy; return a 2xx response (still open when `stream`)."""
        idempotent = method in ("GET", "DELETE")
        previous = json_body.get("previous_response_id") if json_body else None
        sent_previous = previous if isinstance(previous, str) else None
        attempt = 0
        while True:
            request = self._http.build_request(method, path, json=json_body, params=params)
            try:
                response = await self._exchange(request, what, stream=stream)
            except httpx.ConnectTimeout as error:
                # Slow to connect: worth the full retries, and the user is told about each.
                if attempt < self.max_retries:
                    wait = self._backoff(attempt)
                    self._retrying(what, error, attempt, wait)
                    await self._sleep(wait)
                    attempt += 1
                    continue
                raise self._network_error(what, error) from None
            except httpx.ConnectError as error:
                # Refused (or no such host, or TLS): said at once. One quick second try only,
                # for a server that is just starting: no backoff of seconds for a closed port.
                if attempt < min(self.max_retries, REFUSED_RETRIES):
                    await self._sleep(REFUSED_WAIT)
                    attempt += 1
                    continue
                raise self._network_error(what, error) from None
            except httpx.TransportError as error:
                if idempotent and attempt < self.max_retries:
                    wait = self._backoff(attempt)
                    self._retrying(what, error, attempt, wait)
                    await self._sleep(wait)
                    attempt += 1
                    continue
                raise self._network_error(what, error) from None
            if response.status_code < 400:
                return response
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            status = response.status_code
            retryable = status == 429 or (status >= 500 and idempotent)
            if retryable and attempt < self.max_retries:
                wait = retry_after if retry_after is not None else self._backoff(attempt)
                if wait <= self.max_retry_after:
                    self._retrying(what, f"server said {status}", attempt, wait)
                    await self._sleep(wait)
                    attempt += 1
                    continue
            raise error_for_status(
                status,
                response.content,  # read (and cut) by _exchange
                what=what,
                secrets=self._secrets,
                retry_after=retry_after,
                sent_previous_id=sent_previous,
            )

    async def _exchange(self, request: httpx.Request, what: str, *, stream: bool) -> httpx.Response:
        """One attempt within `self.deadline`: the response, its body read and capped (for
        `stream`, only an error's body is read: a 2xx comes back open, body unread). An
        attempt past the deadline is a NetworkError, not retried (the deadline is the answer)."""
        response: httpx.Response | None = None
        try:
            async with asyncio.timeout(self.deadline):
                response = await self._http.send(request, stream=True)
                if response.status_code >= 400:
                    await self._read_body(response, MAX_ERROR_BODY_BYTES)  # cut, not refused
                    await response.aclose()
                    return response
                if stream:
                    return response
                await self._read_body(response, self.max_body_bytes, refuse=what)
                await response.aclose()
                return response
        except TimeoutError as error:
            if response is not None:
                await response.aclose()
            raise self._network_error(what, error) from None
        except BaseException:
            if response is not None:
                await response.aclose()
            raise

    async def _read_body(
        self, response: httpx.Response, limit: int, *, refuse: str | None = None
    ) -> bytes:
        """The decoded body, read chunk by chunk (httpx decompresses each as it comes), never
        more than `limit` bytes: past it, the first `limit` bytes, or with `refuse` (what the
        call is) a ProtocolError. The body is kept on the response, so `.content`, `.text` and
        `.json()` work."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                if refuse is not None:
                    raise ProtocolError(f"{refuse}: the server sent more than {_megabytes(limit)}")
                chunks.append(chunk[: len(chunk) - (size - limit)])
                break
            chunks.append(chunk)
        body = b"".join(chunks)
        response._content = body  # what `aread()` keeps: the body, read once
        return body

    async def _read_in_time(self, response: httpx.Response, what: str) -> bytes:
        """`_read_body` of an open 2xx response within the deadline (a stream request that the
        server answered with plain JSON)."""
        try:
            async with asyncio.timeout(self.deadline):
                return await self._read_body(response, self.max_body_bytes, refuse=what)
        except TimeoutError as error:
            raise self._network_error(what, error) from None

    def _json(self, response: httpx.Response, what: str) -> Any:
        """The body as JSON, nested at most `jsonlimits.MAX_DEPTH` deep (deeper parts cut)."""
        try:
            return loads_clipped(response.content, f"{what}: the answer")
        except TooDeep as error:
            raise ProtocolError(str(error)) from None
        except (ValueError, UnicodeDecodeError):
            # Scrubbed first, cut after: a secret is never left half-shown.
            snippet = self.redact(response.text).strip()[:120]
            raise ProtocolError(
                f"{what}: the server did not answer JSON ({snippet or 'empty body'})"
            ) from None

    def _response_dict(self, response: httpx.Response, what: str) -> dict[str, Any]:
        data = self._json(response, what)
        if not isinstance(data, dict):
            raise ProtocolError(
                f"{what}: the server answered {response.status_code} without a response object "
                f"(it sent {_json_kind(data)})"
            )
        if not isinstance(data.get("id"), str) and isinstance(data.get("error"), dict | str):
            # A 200 carrying an error body (some proxies): say what the server said.
            message = parse_error_body(json.dumps(data))[0] or "no message"
            raise ApiError(f"{what}: {self.redact(message)}", status=response.status_code)
        return data

    # ------------------------------------------------------------ endpoints

    async def _create_request(
        self, payload: dict[str, Any], *, stream: bool = False
    ) -> httpx.Response:
        try:
            return await self._send(
                "POST", "responses", what="create", json_body=payload, stream=stream
            )
        except ApiError as error:
            raise self._route_or_raise(error, "create") from None

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        payload = {**body, "stream": False}
        response = await self._create_request(payload)
        return self._response_dict(response, "create")

    async def retrieve(self, response_id: str) -> dict[str, Any]:
        """The stored response. NotFoundError when the server says it does not have it,
        EndpointNotSupported when the server has no retrieve route at all."""
        self._check_unsupported("retrieve")
        what = f"retrieve {response_id}"
        path = f"responses/{self._segment(response_id)}"
        try:
            response = await self._send("GET", path, what=what)
        except ApiError as error:
            raise self._route_or_raise(error, "retrieve") from None
        self.capabilities["retrieve"] = True
        return self._response_dict(response, what)

    async def delete(self, response_id: str) -> dict[str, Any]:
        """Delete on the server. Returns {"id", "deleted": True, "raw": the server's body}
        for both OpenAI's `{id, object, deleted}` and Fireworks' `{"message": ...}`.

        A 404 is NotFoundError ("already gone") only when the server says the response is not
        found; a 404/405 for a route it lacks is EndpointNotSupported; any other 404 is a
        plain failure, so nothing leaves the index on a guess."""
        self._check_unsupported("delete")
        what = f"delete {response_id}"
        path = f"responses/{self._segment(response_id)}"
        try:
            response = await self._send("DELETE", path, what=what)
        except ApiError as error:
            if error.status in (404, 405):
                kind = not_found_kind(error.status, error.detail, response_id)
                if kind == "route":
                    raise self._unsupported("delete", error.detail or "") from None
                if kind == "unclear":
                    raise ApiError(
                        f"{what}: the server answered {error.status} without saying the "
                        f"response is gone ({error.detail or 'no message'})",
                        status=error.status,
                    ) from None
            raise
        raw = self._deletion(response, response_id, what)
        self.capabilities["delete"] = True
        return {"id": response_id, "deleted": True, "raw": raw}

    def _deletion(self, response: httpx.Response, response_id: str, what: str) -> Any:
        """The body of a well-formed deletion: a 2xx that is empty (204), or JSON saying so
        (OpenAI's `{id, deleted: true}`, Fireworks' `{"message": "… deleted …"}`). A redirect
        or an HTML page (a login wall) is not a deletion: ApiError, nothing is forgotten."""
        status = response.status_code
        if not 200 <= status < 300:
            where = response.headers.get("location")
            target = f" to {one_line(self.redact(where), 80)}" if where else ""
            raise ApiError(
                f"{what}: the server answered {status}{target} instead of deleting "
                "(not followed; nothing was forgotten)",
                status=status,
            )
        if not response.content.strip():
            return {}
        snippet = one_line(self.redact(response.text), 120)
        not_a_deletion = ApiError(
            f"{what}: the server answered {status} but not with a deletion ({snippet}); "
            "nothing was forgotten",
            status=status,
        )
        try:
            raw = loads_clipped(response.content)
        except ValueError:
            raise not_a_deletion from None
        if not isinstance(raw, dict):
            raise not_a_deletion
        if raw.get("deleted") is False:
            said = one_line(self.redact(json.dumps(raw, ensure_ascii=False)), 200)
            raise ApiError(f"{what}: the server refused ({said})", status=status)
        message = raw.get("message")
        if (
            raw.get("deleted") is True
            or raw.get("id") == response_id
            or (isinstance(message, str) and "delete" in message.lower())
        ):
            return raw
        raise not_a_deletion

    async def list_input_items(self, response_id: str) -> list[dict[str, Any]]:
        """Every input item of a response, oldest first, across all pages.

        A 404/405 for a response that exists means the server lacks the endpoint
        (Fireworks): EndpointNotSupported. A 404 for a missing response is NotFoundError.
        """
        self._check_unsupported("input_items")
        what = f"input items of {response_id}"
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 100, "order": "asc"}  # then "after" each page
        guard = _PageGuard(what, MAX_INPUT_PAGES, MAX_PAGING_SECONDS, self._clock)
        while True:
            try:
                response = await self._send(
                    "GET",
                    f"responses/{self._segment(response_id)}/input_items",
                    what=what,
                    params=params,
                )
            except ApiError as error:
                error = self._route_or_raise(error, "input_items")
                if isinstance(error, EndpointNotSupported):
                    raise error from None
                if isinstance(error, NotFoundError) and not items:
                    await self.retrieve(response_id)  # NotFoundError if the response is gone
                    raise self._unsupported("input_items") from None
                raise error from None
            self.capabilities["input_items"] = True
            page = self._json(response, what)
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list):
                raise ProtocolError(f"{what}: expected a list object")
            items.extend(i for i in data if isinstance(i, dict))
            if not page.get("has_more") or not data:
                break
            after = _cursor(page, data)
            if not after:
                break
            guard.next(data, after, len(items))
            params["after"] = after
        return items

    async def list_responses(
        self, *, limit: int = 100, after: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every stored response the server lists, newest first (Fireworks, Llama Stack).
        EndpointNotSupported where there is no list endpoint (OpenAI). PagingStopped (after
        the responses read so far) when the server would keep the pager going forever."""
        self._check_unsupported("list")
        guard = _PageGuard("list", MAX_LIST_PAGES, MAX_PAGING_SECONDS, self._clock)
        count = 0
        while True:
            params: dict[str, Any] = {"limit": limit}
            if after:
                params["after"] = after
            try:
                response = await self._send("GET", "responses", what="list", params=params)
            except ApiError as error:
                if error.status in (404, 405):  # no response is named: the route is missing
                    raise self._unsupported("list", error.detail or "") from None
                raise
            self.capabilities["list"] = True
            page = self._json(response, "list")
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list):
                raise ProtocolError("list: expected a list object")
            for item in data:
                if isinstance(item, dict) and safe_id(item.get("id")):
                    count += 1
                    yield item
                else:
                    self.rejected_ids += 1  # not an id: never stored, never in a URL
            if not page.get("has_more") or not data:
                return
            after = _cursor(page, data)
            if not after:
                return
            guard.next(data, after, count)

    async def list_models(self) -> list[str]:
        """The model ids `GET /models` lists (OpenAI's `{"data": [{"id": ...}]}`), sorted,
        at most MAX_MODELS; ids that are not one printable line of at most MAX_MODEL_ID
        characters are left out, and so are models a server says do not write text (Llama
        Stack lists its embedding models too). EndpointNotSupported where the server has
        no /models."""
        self._check_unsupported("models")
        try:
            response = await self._send("GET", "models", what="models")
        except ApiError as error:
            if error.status in (404, 405):
                raise self._unsupported("models", error.detail or "") from None
            raise
        self.capabilities["models"] = True
        page = self._json(response, "models")
        data = page.get("data") if isinstance(page, dict) else None
        if not isinstance(data, list):
            raise ProtocolError("models: expected a list object")
        found: set[str] = set()
        for item in data[: MAX_MODELS * 4]:
            if not isinstance(item, dict) or not _writes_text(item):
                continue
            name = item.get("id")
            if (
                isinstance(name, str)
                and 0 < len(name) <= MAX_MODEL_ID
                and name.isprintable()
                and name.strip() == name
            ):
                found.add(name)
            if len(found) >= MAX_MODELS:
                break
        return sorted(found)

    async def supports_list(self) -> bool:
        if "list" not in self.capabilities:
            try:
                async for _ in self.list_responses(limit=1):
                    break
                self.capabilities["list"] = True
            except EndpointNotSupported:
                self.capabilities["list"] = False
        return bool(self.capabilities.get("list"))

    # ------------------------------------------------------------ streaming

    async def stream(
        self, body: dict[str, Any], accumulator: StreamAccumulator | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Create with `stream: true` and yield typed events until a terminal one.

        Pass an `accumulator` to keep the partial response if the caller cancels. Raises
        StreamInterrupted (with `.partial`) when the stream ends or breaks before a terminal
        event, and StreamFailed on an `error` event or `response.failed`.
        """
        acc = accumulator if accumulator is not None else StreamAccumulator(body)
        payload = {**body, "stream": True}
        response = await self._create_request(payload, stream=True)
        try:
            content_type = response.headers.get("content-type", "")
            if "text/event-stream" not in content_type:
                # The server ignored `stream` and answered the whole response as JSON.
                await self._read_in_time(response, "create")
                final = self._response_dict(response, "create")
                event = parse_event({"type": f"response.{_terminal_for(final)}", "response": final})
                acc.feed(event)
                yield event
                self._raise_if_response_failed(event)
                return
            decoder = SSEDecoder(self.max_event_bytes)
            chunks = response.aiter_bytes()
            deadline = self._clock() + MAX_STREAM_SECONDS
            while True:
                if self._clock() > deadline or acc.events > MAX_STREAM_EVENTS:
                    raise StreamInterrupted(
                        f"the stream from {self.host} went on for longer than responses-tui "
                        "follows a reply; the partial answer is kept, marked incomplete",
                        partial=acc.partial(),
                    )
                try:
                    chunk = await chunks.__anext__()
                    messages = decoder.feed(chunk)
                    done = False
                except StopAsyncIteration:
                    messages = decoder.flush()
                    done = True
                except SSEEventTooLarge as error:
                    raise StreamInterrupted(
                        f"the stream from {self.host} sent an event larger than "
                        f"{_megabytes(error.limit)}, more than responses-tui reads; the partial "
                        "answer is kept, marked incomplete",
                        partial=acc.partial(),
                    ) from None
                except httpx.TransportError as error:
                    kind = (
                        "timed out"
                        if isinstance(error, httpx.TimeoutException)
                        else (type(error).__name__)
                    )
                    raise StreamInterrupted(
                        f"the stream from {self.host} broke before the reply finished "
                        f"({kind}); the partial answer is kept, marked incomplete",
                        partial=acc.partial(),
                    ) from None
                for message in messages:
                    if message.data.strip() == "[DONE]":
                        done = True
                        break
                    try:
                        data = loads_clipped(message.data)
                    except ValueError:  # TooDeep included: skipped, the stream goes on
                        acc.warnings.append(f"skipped a malformed event ({message.event})")
                        continue
                    if not isinstance(data, dict):
                        acc.warnings.append("skipped an event that is not an object")
                        continue
                    event = parse_event(data, message.event)
                    acc.feed(event)
                    yield event
                    if event.terminal:
                        self._raise_if_failed(event, acc)
                        return
                if done:
                    break
            raise StreamInterrupted(
                "the stream ended before the response finished; the partial answer is kept",
                partial=acc.partial(),
            )
        finally:
            await response.aclose()

    def _raise_if_failed(self, event: StreamEvent, acc: StreamAccumulator) -> None:
        """What a terminal event means when it is not a success: an `error` event or a
        `response.failed`."""
        if isinstance(event, ErrorEvent):
            self._raise_error_event(event, acc)
        self._raise_if_response_failed(event)

    def _raise_error_event(self, event: ErrorEvent, acc: StreamAccumulator) -> NoReturn:
        message = self.redact(event.message)
        previous = acc.request.get("previous_response_id")
        if acc.response_id is None and previous_missing(
            None, event.message, event.code, previous if isinstance(previous, str) else None
        ):
            # Llama Stack says "Response 'resp_…' not found" inside a 200 stream.
            raise PreviousResponseNotFound(
                f"create: the previous response cannot be continued ({message})",
                code=event.code,
                status=404,
                detail=message,
            )
        if acc.response_id is None and bare_not_found(event.message):
            raise self._unsupported("create", message)  # a wrapped route 404 (a proxy)
        code = f" [{event.code}]" if event.code else ""
        partial = acc.partial()
        partial["status"] = "failed"
        del partial["incomplete_details"]  # failed, not incomplete
        partial["error"] = {"code": event.code or "error", "message": message}
        raise StreamFailed(
            f"the server reported an error{code}: {message}",
            code=event.code,
            partial=partial,
        )

    def _raise_if_response_failed(self, event: StreamEvent) -> None:
        if isinstance(event, ResponseEvent) and event.type == "response.failed":
            error = event.response.get("error") or {}
            message = error.get("message") if isinstance(error, dict) else str(error)
            partial = dict(event.response)
            raise StreamFailed(
                f"the response failed: {self.redact(str(message or 'no reason given'))}",
                code=error.get("code") if isinstance(error, dict) else None,
                partial=partial,
            )

    async def create_streamed(
        self,
        body: dict[str, Any],
        on_event: Callable[[StreamEvent], Any] | None = None,
        accumulator: StreamAccumulator | None = None,
    ) -> dict[str, Any]:
        """Stream a create to its end and return the final response object."""
        acc = accumulator if accumulator is not None else StreamAccumulator(body)
        async for event in self.stream(body, acc):
            if on_event is not None:
                result = on_event(event)
                if asyncio.iscoroutine(result):
                    await result
        assert acc.final is not None
        return acc.final


def _megabytes(size: int) -> str:
    mb = size / (1024 * 1024)
    return f"{mb:g} MB" if mb >= 1 else f"{size:,} bytes"


def _json_kind(data: Any) -> str:
    if data is None:
        return "null"
    if isinstance(data, list):
        return "a list"
    if isinstance(data, str):
        return "a string"
    if isinstance(data, bool):
        return "true or false"
    return "a number"


def _cursor(page: dict[str, Any], data: list[Any]) -> str | None:
    """The `after` cursor of the next page: `last_id`, else the last item's id."""
    cursor = page.get("last_id")
    if not isinstance(cursor, str) or not cursor:
        last = data[-1] if isinstance(data[-1], dict) else {}
        cursor = last.get("id")
    return cursor if isinstance(cursor, str) and cursor else None


class _PageGuard:
    """Stops a pager that would run forever: a cursor that does not advance (or comes back),
    a page the server already sent, more than `max_pages`, or more than `seconds`."""

    def __init__(
        self, what: str, max_pages: int, seconds: float, clock: Callable[[], float]
    ) -> None:
        self.what = what
        self.max_pages = max_pages
        self.clock = clock
        self.deadline = clock() + seconds
        self.seconds = seconds
        self.pages = 0
        self.cursors: set[str] = set()
        self.signatures: set[tuple[Any, ...]] = set()

    def next(self, data: list[Any], cursor: str, count: int) -> None:
        """Called after each page that asks for another; raises PagingStopped to stop."""
        self.pages += 1
        ids = tuple(i.get("id") if isinstance(i, dict) else None for i in data)
        reason = None
        if cursor in self.cursors:
            reason = "the server sent a cursor it had sent before (it does not advance)"
        elif all(ids) and ids in self.signatures:
            reason = "the server sent the same page twice"
        elif self.pages >= self.max_pages:
            reason = f"more than {self.max_pages:,} pages"
        elif self.clock() > self.deadline:
            reason = f"paging took longer than {self.seconds:g} s"
        if reason is not None:
            raise PagingStopped(
                f"{self.what}: stopped after {self.pages} page{'s' if self.pages != 1 else ''} "
                f"({count:,} items): {reason}"
            )
        self.cursors.add(cursor)
        if all(ids):
            self.signatures.add(ids)


def _terminal_for(response: dict[str, Any]) -> str:
    status = response.get("status")
    if status in ("failed", "incomplete", "cancelled"):
        return str(status)
    return "completed"


__all__ = ["RateLimited", "ResponsesClient", "parse_retry_after"]
