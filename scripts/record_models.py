"""Record what a real server answers to `GET /models`, as responses-tui's client asks it, in
the format of tests/wire/*.jsonl (one exchange a line: method, path, request, status,
headers, response exactly as received, seconds).

    python scripts/record_models.py BASE_URL OUT.jsonl

BASE_URL as a profile gives it (`http://127.0.0.1:8321/v1` for Llama Stack); no key is sent
(a server on your machine needs none) and no request header is written. Not run by the
tests: a developer runs it against a server on their machine and commits the file
(tests/wire/README.md says how each was made).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import httpx

from tui.api.client import ResponsesClient
from tui.api.errors import ApiError
from tui.api.profiles import Profile


class Recorder(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.lines: list[dict] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        text = body.decode("utf-8", errors="replace")
        try:
            recorded: object = json.loads(text)
        except ValueError:
            recorded = text
        self.lines.append(
            {
                "t": round(time.time(), 3),
                "method": request.method,
                "path": request.url.raw_path.decode(),
                "request": None,
                "status": response.status_code,
                "headers": dict(response.headers.items()),  # the server's: no secret of ours
                "response": recorded,
                "seconds": round(time.monotonic() - started, 3),
            }
        )
        return httpx.Response(
            response.status_code, headers=response.headers, content=body, request=request
        )


async def record(base_url: str, out: Path) -> int:
    recorder = Recorder()
    profile = Profile(name="record", base_url=base_url, default_model="")
    async with ResponsesClient(profile, env={}, transport=recorder) as client:
        try:
            print("models:", await client.list_models())
        except ApiError as error:
            print("error:", error)
    with out.open("a", encoding="utf-8") as file:
        for line in recorder.lines:
            file.write(json.dumps(line, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(asyncio.run(record(sys.argv[1], Path(sys.argv[2]))))
