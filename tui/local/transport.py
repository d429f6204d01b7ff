"""The offline backend as an httpx transport: in-process, no port, no network."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx

from tui.local.server import OfflineBackend


class _Body(httpx.AsyncByteStream):
    def __init__(self, chunks: Iterator[bytes], delay: float) -> None:
        self._chunks = chunks
        self._delay = delay

    async def __aiter__(self) -> AsyncIterator[bytes]:
        first = True
        for chunk in self._chunks:
            if not first and self._delay > 0:
                await asyncio.sleep(self._delay)
            first = False
            yield chunk
            await asyncio.sleep(0)  # let the reader run, as a socket would

    async def aclose(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


class OfflineTransport(httpx.AsyncBaseTransport):
    def __init__(self, backend: OfflineBackend) -> None:
        self.backend = backend

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        query = {k: v for k, v in request.url.params.items()}
        # Storage is file IO; run it off the event loop like any other disk work.
        answer = await asyncio.to_thread(
            self.backend.handle, request.method, request.url.path, query, body
        )
        if isinstance(answer.body, bytes):
            return httpx.Response(answer.status, headers=answer.headers, content=answer.body)
        return httpx.Response(
            answer.status, headers=answer.headers, stream=_Body(answer.body, answer.delay)
        )
