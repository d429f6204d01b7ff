"""The offline backend: the Responses API endpoints the app uses, with the real shapes.

`OfflineBackend.handle(method, path, query, body)` is transport-free; `transport.py` serves it
in-process to httpx and `http.py` over HTTP on loopback. Errors use OpenAI's envelope. Asking
to continue from an unknown, deleted or unstored response is refused like a real server
(404, code `previous_response_not_found`, param `previous_response_id`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tui.api import items as item_reader
from tui.api.sse import encode_sse
from tui.local.generator import count_tokens, offline_reply, split_deltas
from tui.local.ids import IdFactory
from tui.local.storage import BackendStore, safe_id

ECHOED_FIELDS = (
    "instructions",
    "max_output_tokens",
    "max_tool_calls",
    "metadata",
    "parallel_tool_calls",
    "reasoning",
    "temperature",
    "text",
    "tool_choice",
    "top_p",
    "truncation",
    "user",
)
DEFAULTS: dict[str, Any] = {
    "parallel_tool_calls": True,
    "temperature": 1.0,
    "tool_choice": "auto",
    "top_p": 1.0,
    "truncation": "disabled",
    "metadata": {},
    "text": {"format": {"type": "text"}},
    "reasoning": {"effort": None, "summary": None},
}


@dataclass
class LocalResponse:
    status: int
    body: bytes | Iterator[bytes]
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait between streamed chunks

    @property
    def streaming(self) -> bool:
        return not isinstance(self.body, bytes)


def _json(status: int, payload: Any) -> LocalResponse:
    return LocalResponse(
        status, json.dumps(payload).encode("utf-8"), {"content-type": "application/json"}
    )


def _error(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> LocalResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return _json(
        status, {"error": {"message": message, "type": kind, "param": param, "code": code}}
    )


class OfflineBackend:
    def __init__(
        self,
        store: BackendStore,
        ids: IdFactory | None = None,
        *,
        clock: Callable[[], float] = time.time,
        delta_delay: float = 0.0,
    ) -> None:
        self.store = store
        self.ids = ids or IdFactory()
        self.clock = clock
        self.delta_delay = delta_delay
        self._lock = threading.Lock()
        self._last_created = 0.0

    # ------------------------------------------------------------ routing

    def handle(
        self, method: str, path: str, query: dict[str, str] | None = None, body: bytes = b""
    ) -> LocalResponse:
        query = query or {}
        parts = [unquote(p) for p in path.strip("/").split("/") if p]
        if parts[:1] == ["v1"]:
            parts = parts[1:]
        if not parts or parts[0] != "responses":
            return _error(404, f"Unknown endpoint: {method} {path}")
        rest = parts[1:]
        try:
            if not rest:
                if method == "POST":
                    return self.create(body)
                if method == "GET":
                    return self.list(query)
            elif len(rest) == 1:
                if method == "GET":
                    return self.retrieve(rest[0])
                if method == "DELETE":
                    return self.delete(rest[0])
            elif len(rest) == 2 and rest[1] == "input_items":
                if method == "GET":
                    return self.input_items(rest[0], query)
            elif len(rest) == 2 and rest[1] == "cancel":
                if method == "POST":
                    return self.cancel(rest[0])
            else:
                return _error(404, f"Unknown endpoint: {method} {path}")
        except Exception as error:  # the backend must answer, never crash its carrier
            return _error(500, f"offline backend error: {type(error).__name__}")
        return _error(405, f"Method {method} not allowed on {path}")

    # ------------------------------------------------------------ endpoints

    def _not_found(self, response_id: str) -> LocalResponse:
        return _error(404, f"No response found with id '{response_id}'.", param="response_id")

    def retrieve(self, response_id: str) -> LocalResponse:
        record = self.store.get(response_id)
        if record is None:
            return self._not_found(response_id)
        return _json(200, record["response"])

    def delete(self, response_id: str) -> LocalResponse:
        if not self.store.delete(response_id):
            return self._not_found(response_id)
        return _json(200, {"id": response_id, "object": "response", "deleted": True})

    def cancel(self, response_id: str) -> LocalResponse:
        if self.store.get(response_id) is None:
            return self._not_found(response_id)
        return _error(400, "Only responses created with background=true can be cancelled.")

    def input_items(self, response_id: str, query: dict[str, str]) -> LocalResponse:
        record = self.store.get(response_id)
        if record is None:
            return self._not_found(response_id)
        data = list(record.get("input") or [])
        if query.get("order", "desc") != "asc":
            data.reverse()
        return _json(200, _page(data, query, default_limit=20))

    def list(self, query: dict[str, str]) -> LocalResponse:
        """Fireworks' extension: stored responses, newest first, cursor paging."""
        records = self.store.all()
        records.sort(key=lambda r: (r.get("seq", 0), r["response"].get("id", "")), reverse=True)
        return _json(200, _page([r["response"] for r in records], query, default_limit=20))

    def create(self, raw: bytes) -> LocalResponse:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.")
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object.")
        model = body.get("model")
        if not isinstance(model, str) or not model.strip():
            return _error(400, "Missing required parameter: 'model'.", param="model")
        if "input" not in body or not isinstance(body["input"], str | list):
            return _error(400, "Missing required parameter: 'input'.", param="input")
        tools = body.get("tools") or []
        if not isinstance(tools, list) or any(not isinstance(t, dict) for t in tools):
            return _error(400, "Invalid 'tools': expected an array of objects.", param="tools")
        for tool in tools:
            if tool.get("type") in ("mcp", "sse") and not (
                tool.get("server_url") or tool.get("connector_id")
            ):
                return _error(400, "An MCP tool needs a 'server_url'.", param="tools")
        if body.get("background") and body.get("stream"):
            return _error(400, "background and stream cannot be combined.", param="background")

        earlier: list[str] = []
        previous = body.get("previous_response_id")
        if previous is not None:
            if not isinstance(previous, str) or not safe_id(previous):
                return _error(
                    400,
                    "Invalid 'previous_response_id': expected an ID that contains letters, "
                    "numbers, underscores, or dashes.",
                    param="previous_response_id",
                )
            chain = self._chain(previous)
            if chain is None:
                return _error(
                    404,
                    f"Previous response with id '{previous}' not found.",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
            earlier = chain

        input_items = item_reader.normalize_input(body["input"])
        for item in input_items:
            if item.get("type") == "message":
                item.setdefault("id", self.ids.message())
                item.setdefault("status", "completed")
        user_text = item_reader.input_text(input_items)
        earlier_with_replayed = earlier + [
            item_reader.content_text(i.get("content"))
            for i in input_items[:-1]
            if i.get("type") == "message" and i.get("role") == "user"
        ]
        last_user = item_reader.input_text(input_items[-1:]) if input_items else user_text
        store = body.get("store", True) is not False
        response = self._response(body, model, tools, store)
        output = self._tool_items(tools)
        text = offline_reply(
            last_user,
            turn=len(earlier_with_replayed) + 1,
            earlier_inputs=earlier_with_replayed,
            instructions=body.get("instructions")
            if isinstance(body.get("instructions"), str)
            else None,
            tool_labels=item_reader.tool_names(tools),
        )
        message = {
            "id": self.ids.message(),
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
        }
        output.append(message)
        final = {**response, "status": "completed", "output": output}
        final["completed_at"] = response["created_at"]
        in_tokens = count_tokens(user_text) + sum(count_tokens(t) for t in earlier)
        out_tokens = count_tokens(text)
        final["usage"] = {
            "input_tokens": in_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": out_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": in_tokens + out_tokens,
        }
        record = {"response": final, "input": input_items, "seq": time.time_ns()}
        if not body.get("stream"):
            if store:
                self.store.put(record)
            return _json(200, final)
        return LocalResponse(
            200,
            self._events(response, final, record, store),
            {"content-type": "text/event-stream", "cache-control": "no-cache"},
            delay=self.delta_delay,
        )

    # ------------------------------------------------------------ building

    def _chain(self, response_id: str) -> list[str] | None:
        """User texts of the stored path root→response_id, or None if it cannot be continued."""
        texts: list[str] = []
        current: str | None = response_id
        seen: set[str] = set()
        first = True
        while current and current not in seen:
            seen.add(current)
            record = self.store.get(current)
            if record is None:
                if first:
                    return None
                break  # an ancestor was deleted: the context stops there
            first = False
            texts.append(item_reader.input_text(record.get("input")))
            current = record["response"].get("previous_response_id")
        texts.reverse()
        return texts

    def _response(
        self, body: dict[str, Any], model: str, tools: list[dict[str, Any]], store: bool
    ) -> dict[str, Any]:
        with self._lock:
            # Milliseconds, strictly increasing: forks made in the same second keep their order.
            created = max(round(self.clock(), 3), round(self._last_created + 0.001, 3))
            self._last_created = created
            rid = self.ids.response()
            while self.store.get(rid) is not None:  # a seeded factory over old storage
                rid = self.ids.response()
        response: dict[str, Any] = {
            "id": rid,
            "object": "response",
            "created_at": created,
            "status": "in_progress",
            "background": False,
            "error": None,
            "incomplete_details": None,
            "model": model,
            "output": [],
            "previous_response_id": body.get("previous_response_id"),
            "store": store,
            "tools": tools,
            "usage": None,
        }
        for name in ECHOED_FIELDS:
            response[name] = body.get(name, DEFAULTS.get(name))
        return response

    def _tool_items(self, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for tool in tools:
            if tool.get("type") not in ("mcp", "sse"):
                continue
            label = tool.get("server_label") or _label_from_url(str(tool.get("server_url")))
            allowed = tool.get("allowed_tools")
            names = ["search", "fetch", "list_files"]
            if isinstance(allowed, list) and allowed:
                names = [str(n) for n in allowed]
            out.append(
                {
                    "id": self.ids.mcp_list(),
                    "type": "mcp_list_tools",
                    "server_label": label,
                    "tools": [
                        {
                            "name": name,
                            "description": f"Offline stand-in for {label}.{name}",
                            "input_schema": {
                                "type": "object",
                                "properties": {"query": {"type": "string"}},
                            },
                            "annotations": None,
                        }
                        for name in names
                    ],
                    "error": None,
                }
            )
        return out

    def _events(
        self,
        response: dict[str, Any],
        final: dict[str, Any],
        record: dict[str, Any],
        store: bool,
    ) -> Iterator[bytes]:
        sequence = 0

        def event(kind: str, **fields: Any) -> bytes:
            nonlocal sequence
            payload = {"type": kind, **fields, "sequence_number": sequence}
            sequence += 1
            return encode_sse(payload, kind)

        yield event("response.created", response=response)
        yield event("response.in_progress", response=response)
        for index, item in enumerate(final["output"]):
            if item["type"] == "mcp_list_tools":
                yield event(
                    "response.output_item.added",
                    output_index=index,
                    item={**item, "tools": []},
                )
                yield event(
                    "response.mcp_list_tools.in_progress", item_id=item["id"], output_index=index
                )
                yield event(
                    "response.mcp_list_tools.completed", item_id=item["id"], output_index=index
                )
                yield event("response.output_item.done", output_index=index, item=item)
                continue
            text = item["content"][0]["text"]
            yield event(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "content": []},
            )
            empty_part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            yield event(
                "response.content_part.added",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part=empty_part,
            )
            for piece in split_deltas(text):
                yield event(
                    "response.output_text.delta",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    delta=piece,
                    logprobs=[],
                )
            yield event(
                "response.output_text.done",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                text=text,
                logprobs=[],
            )
            yield event(
                "response.content_part.done",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part=item["content"][0],
            )
            yield event("response.output_item.done", output_index=index, item=item)
        if store:
            self.store.put(record)
        yield event("response.completed", response=final)
        yield b"data: [DONE]\n\n"


def _label_from_url(url: str) -> str:
    host = url.split("://", 1)[-1].split("/", 1)[0]
    return host.split(":")[0] or "mcp"


def _page(data: list[dict[str, Any]], query: dict[str, str], *, default_limit: int) -> dict:
    try:
        limit = max(1, min(100, int(query.get("limit", default_limit))))
    except ValueError:
        limit = default_limit
    start = 0
    after = query.get("after")
    if after:
        ids = [d.get("id") for d in data]
        start = ids.index(after) + 1 if after in ids else len(data)
    page = data[start : start + limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0].get("id") if page else None,
        "last_id": page[-1].get("id") if page else None,
        "has_more": start + limit < len(data),
    }
