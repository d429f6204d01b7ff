"""Async client for the Responses API: create (plain and streamed), retrieve, delete, input
items, and list where the server has it.

Retry policy: GET and DELETE are idempotent and are retried on 429, 5xx and network errors.
A create (POST) is retried only when the server cannot have acted on it: a 429, or a
connection that was never established. It is never silently re-sent after a 5xx or a timeout,
which could create the response twice. Retry-After (seconds or an HTTP date) is honoured up to
`max_retry_after`; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from tui import __version__
from tui.api.accumulate import StreamAccumulator
from tui.api.errors import (
    ApiError,
    EndpointNotSupported,
    NetworkError,
    NotFoundError,
    ProtocolError,
    RateLimited,
    StreamFailed,
    StreamInterrupted,
    error_for_status,
    redact,
)
from tui.api.events import ErrorEvent, ResponseEvent, StreamEvent, parse_event
from tui.api.profiles import Profile
from tui.api.sse import SSEDecoder

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=30.0, pool=10.0)
Sleep = Callable[[float], Awaitable[None]]


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
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


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
    ) -> None:
        import os

        env = os.environ if env is None else env
        self.profile = profile
        key = profile.api_key(env)  # MissingApiKey before anything is sent
        headers = {"User-Agent": f"responses-tui/{__version__}", "Accept": "application/json"}
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
        self._supports_list: bool | None = None

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
        if isinstance(error, httpx.ConnectTimeout):
            text = f"{what}: cannot reach {self.host} (timed out while connecting)"
        elif isinstance(error, httpx.ConnectError):
            text = f"{what}: cannot reach {self.host} (connection refused or host unreachable)"
        elif isinstance(error, httpx.TimeoutException):
            text = f"{what}: {self.host} did not answer in time (timed out)"
        else:
            text = f"{what}: the connection to {self.host} broke ({type(error).__name__})"
        return NetworkError(self.redact(text))

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
        sent_previous = bool(json_body and json_body.get("previous_response_id"))
        attempt = 0
        while True:
            request = self._http.build_request(method, path, json=json_body, params=params)
            try:
                response = await self._http.send(request, stream=stream)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                if attempt < self.max_retries:
                    await self._sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                raise self._network_error(what, error) from None
            except httpx.TransportError as error:
                if idempotent and attempt < self.max_retries:
                    await self._sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                raise self._network_error(what, error) from None
            if response.status_code < 400:
                return response
            content = await response.aread()
            await response.aclose()
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            status = response.status_code
            retryable = status == 429 or (status >= 500 and idempotent)
            if retryable and attempt < self.max_retries:
                wait = retry_after if retry_after is not None else self._backoff(attempt)
                if wait <= self.max_retry_after:
                    await self._sleep(wait)
                    attempt += 1
                    continue
            raise error_for_status(
                status,
                content,
                what=what,
                secrets=self._secrets,
                retry_after=retry_after,
                sent_previous_id=sent_previous,
            )

    def _json(self, response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            snippet = self.redact(response.text[:120].strip())
            raise ProtocolError(
                f"{what}: the server did not answer JSON ({snippet or 'empty body'})"
            ) from None

    def _response_dict(self, response: httpx.Response, what: str) -> dict[str, Any]:
        data = self._json(response, what)
        if not isinstance(data, dict):
            raise ProtocolError(f"{what}: expected a response object, got {type(data).__name__}")
        return data

    # ------------------------------------------------------------ endpoints

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        payload = {**body, "stream": False}
        response = await self._send("POST", "responses", what="create", json_body=payload)
        return self._response_dict(response, "create")

    async def retrieve(self, response_id: str) -> dict[str, Any]:
        what = f"retrieve {response_id}"
        response = await self._send("GET", f"responses/{response_id}", what=what)
        return self._response_dict(response, what)

    async def delete(self, response_id: str) -> dict[str, Any]:
        """Delete on the server. Returns {"id", "deleted": True, "raw": the server's body}
        for both OpenAI's `{id, object, deleted}` and Fireworks' `{"message": ...}`."""
        what = f"delete {response_id}"
        response = await self._send("DELETE", f"responses/{response_id}", what=what)
        try:
            raw = response.json() if response.content else {}
        except ValueError:
            raw = {"message": self.redact(response.text[:200])}
        if isinstance(raw, dict) and raw.get("deleted") is False:
            raise ApiError(f"{what}: the server refused ({raw})")
        return {"id": response_id, "deleted": True, "raw": raw}

    async def list_input_items(self, response_id: str) -> list[dict[str, Any]]:
        """Every input item of a response, oldest first, across all pages.

        A 404/405 for a response that exists means the server lacks the endpoint
        (Fireworks): EndpointNotSupported. A 404 for a missing response is NotFoundError.
        """
        what = f"input items of {response_id}"
        items: list[dict[str, Any]] = []
        after: str | None = None
        for _page in range(10_000):
            params: dict[str, Any] = {"limit": 100, "order": "asc"}
            if after:
                params["after"] = after
            try:
                response = await self._send(
                    "GET", f"responses/{response_id}/input_items", what=what, params=params
                )
            except ApiError as error:
                if error.status == 405:
                    raise EndpointNotSupported(f"{self.host} has no input_items endpoint") from None
                if isinstance(error, NotFoundError) and not items:
                    await self.retrieve(response_id)  # NotFoundError if the response is gone
                    raise EndpointNotSupported(f"{self.host} has no input_items endpoint") from None
                raise
            page = self._json(response, what)
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list):
                raise ProtocolError(f"{what}: expected a list object")
            items.extend(i for i in data if isinstance(i, dict))
            if not page.get("has_more") or not data:
                break
            after = page.get("last_id") or data[-1].get("id")
            if not after:
                break
        return items

    async def list_responses(
        self, *, limit: int = 100, after: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every stored response the server lists, newest first (Fireworks, Llama Stack).
        EndpointNotSupported where there is no list endpoint (OpenAI)."""
        while True:
            params: dict[str, Any] = {"limit": limit}
            if after:
                params["after"] = after
            try:
                response = await self._send("GET", "responses", what="list", params=params)
            except ApiError as error:
                if error.status in (404, 405):
                    self._supports_list = False
                    raise EndpointNotSupported(f"{self.host} cannot list responses") from None
                raise
            self._supports_list = True
            page = self._json(response, "list")
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list):
                raise ProtocolError("list: expected a list object")
            for item in data:
                if isinstance(item, dict):
                    yield item
            if not page.get("has_more") or not data:
                return
            after = page.get("last_id") or data[-1].get("id")
            if not after:
                return

    async def supports_list(self) -> bool:
        if self._supports_list is None:
            try:
                async for _ in self.list_responses(limit=1):
                    break
                self._supports_list = True
            except EndpointNotSupported:
                self._supports_list = False
        return bool(self._supports_list)

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
        response = await self._send(
            "POST", "responses", what="create", json_body=payload, stream=True
        )
        try:
            content_type = response.headers.get("content-type", "")
            if "text/event-stream" not in content_type:
                # The server ignored `stream` and answered the whole response as JSON.
                await response.aread()
                final = self._response_dict(response, "create")
                event = parse_event({"type": f"response.{_terminal_for(final)}", "response": final})
                acc.feed(event)
                yield event
                self._raise_if_failed(event, acc)
                return
            decoder = SSEDecoder()
            chunks = response.aiter_bytes()
            while True:
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    messages = decoder.flush()
                    done = True
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
                else:
                    messages = decoder.feed(chunk)
                    done = False
                for message in messages:
                    if message.data.strip() == "[DONE]":
                        done = True
                        break
                    try:
                        data = json.loads(message.data)
                    except ValueError:
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
        if isinstance(event, ErrorEvent):
            code = f" [{event.code}]" if event.code else ""
            raise StreamFailed(
                f"the server reported an error mid-stream{code}: {self.redact(event.message)}",
                code=event.code,
                partial=acc.partial("error"),
            )
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


def _terminal_for(response: dict[str, Any]) -> str:
    status = response.get("status")
    if status in ("failed", "incomplete", "cancelled"):
        return str(status)
    return "completed"


__all__ = ["RateLimited", "ResponsesClient", "parse_retry_after"]
