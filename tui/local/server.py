"""The offline backend: the Responses API endpoints the app uses, with the real shapes.

`OfflineBackend.handle(method, path, query, body)` is transport-free; `transport.py` serves it
in-process to httpx and `http.py` over HTTP on loopback. Errors use OpenAI's envelope. Asking
to continue from an unknown, deleted or unstored response is refused like a real server
(404, code `previous_response_not_found`, param `previous_response_id`).

It does not pretend: `request.py` refuses (400) what it cannot do as asked, and echoes the
settings it was given (or the API's defaults) in every response. What it does:

- tools (`tool_calls.py`): naming an offered tool as a whole word in the user's text gives one
  `mcp_call` (or an `mcp_approval_request` when the tool's `require_approval` asks for it) or
  one `function_call`; `tool_choice` "none", "required", a named function or MCP server, or
  `allowed_tools` is honoured. A later turn answers those with `mcp_approval_response` /
  `function_call_output` items plus the `previous_response_id` of the response that holds
  the request; an answer to an unknown request is a 400 (param `input`).
- `text.format`: `json_schema` answers with a JSON value that validates against the schema
  (`jsonschema_value.py`), `json_object` with a small JSON object.
- `max_output_tokens` cuts the answer (`budget.py`), status `incomplete`.
- `background` runs step by step (`background.py`); `POST /responses/{id}/cancel` works.
- `GET /models` lists the one model it is, `offline-echo` (any model name is accepted).
- `usage` counts tokens with the backend's own tokenizer (four characters a token).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tui.api import items as item_reader
from tui.api.sse import encode_sse
from tui.local import background
from tui.local.budget import apply_budget, generated_tokens
from tui.local.generator import (
    OFFLINE_MODEL,
    approval_note,
    count_tokens,
    function_output_note,
    offline_reply,
    split_deltas,
    tool_answer_reply,
)
from tui.local.ids import IdFactory
from tui.local.jsonschema_value import Unsupported, json_value
from tui.local.request import RequestError, check_create, echo, text_format, unsupported
from tui.local.storage import BackendStore, safe_id
from tui.local.tool_calls import call_item, listing_items, mcp_call, pick, query_of

# Input items that answer tool calls of the previous response.
ANSWER_TYPES = ("mcp_approval_response", "function_call_output")
# A turn that makes one of these waits for the client: no message follows.
WAITING_TYPES = ("function_call", "mcp_approval_request")


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


def _refuse(error: RequestError) -> LocalResponse:
    return _error(error.status, error.message, param=error.param, code=error.code)


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
        self._asked: Counter[tuple[Any, str]] | None = None  # (previous id, input) -> replies

    # ------------------------------------------------------------ routing

    def handle(
        self, method: str, path: str, query: dict[str, str] | None = None, body: bytes = b""
    ) -> LocalResponse:
        query = query or {}
        parts = [unquote(p) for p in path.strip("/").split("/") if p]
        if parts[:1] == ["v1"]:
            parts = parts[1:]
        if parts == ["models"]:
            return self.models() if method == "GET" else _error(405, f"Method {method} not allowed")
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
                    return self.retrieve(rest[0], query)
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

    def models(self) -> LocalResponse:
        """`GET /models`: the one model this backend is (any name is accepted all the same)."""
        model = {"id": OFFLINE_MODEL, "object": "model", "created": 0, "owned_by": "responses-tui"}
        return _json(200, {"object": "list", "data": [model]})

    def _not_found(self, response_id: str) -> LocalResponse:
        return _error(404, f"No response found with id '{response_id}'.", param="response_id")

    def retrieve(self, response_id: str, query: dict[str, str] | None = None) -> LocalResponse:
        if (query or {}).get("stream", "false").lower() not in ("false", "0", ""):
            return _refuse(unsupported("stream", "a stored response is not streamed again"))
        with self._lock:  # a background response moves one step per retrieve
            record = self.store.get(response_id)
            if record is None:
                return self._not_found(response_id)
            if background.advance(record, self._now()):
                self.store.put(record)
        return _json(200, record["response"])

    def delete(self, response_id: str) -> LocalResponse:
        if not self.store.delete(response_id):
            return self._not_found(response_id)
        return _json(200, {"id": response_id, "object": "response", "deleted": True})

    def cancel(self, response_id: str) -> LocalResponse:
        with self._lock:
            record = self.store.get(response_id)
            if record is None:
                return self._not_found(response_id)
            if not record["response"].get("background"):
                return _error(400, "Only responses created with background=true can be cancelled.")
            problem = background.cancel(record)
            if problem is not None:
                return _error(400, problem)
            self.store.put(record)
        return _json(200, record["response"])

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
        try:
            check_create(body)
        except RequestError as error:
            return _refuse(error)
        model = body["model"]
        tools = body.get("tools") or []

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
            parent = self.store.get(previous)
            if parent is not None and background.running(parent):
                return _error(
                    400,
                    f"Previous response with id '{previous}' is still "
                    f"{parent['response']['status']}: wait until it has finished.",
                    param="previous_response_id",
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
        turn = len(earlier_with_replayed) + 1
        instructions = body.get("instructions")
        answers = [i for i in input_items if i.get("type") in ANSWER_TYPES]
        resolved: list[tuple[dict[str, Any], dict[str, Any]]] | None = None
        if answers:
            # A turn that answers earlier tool calls: find them in the previous response (or
            # among items resent with this input) before anything is created.
            known = list(input_items)
            if isinstance(previous, str):
                previous_record = self.store.get(previous)
                if previous_record is not None:
                    known = list(previous_record["response"].get("output") or []) + known
            found = _resolve_answers(answers, known)
            if isinstance(found, LocalResponse):
                return found
            resolved = found
        context = " ".join([user_text, instructions or "", *earlier])
        structured = _structured_answer(text_format(body), context)
        if isinstance(structured, LocalResponse):
            return structured

        response = self._response(body, model, tools, store)
        choice = body.get("tool_choice") or "auto"
        asked = ""  # the text a tool call is about
        text: str | None
        if resolved is not None:
            output, text = self._answer_tool_calls(resolved, tools, turn)
            target = pick(tools, "", choice)  # only a forced choice calls again
        else:
            output = listing_items(self.ids, tools)
            asked = _last_user_message(input_items) or last_user
            target = pick(tools, asked, choice)
            text = None
        action = call_item(self.ids, target, asked) if target else None
        if action is not None:
            output.append(action)
        if action is not None and action["type"] in WAITING_TYPES:
            text = None  # the client runs it, or approves it: the turn ends here
        elif resolved is None:
            calls = [f"{action['server_label']}.{action['name']}"] if action else []
            text = offline_reply(
                last_user,
                turn=turn,
                variant=self._variant(previous, user_text),
                earlier_inputs=earlier_with_replayed,
                instructions=instructions,
                tool_labels=item_reader.tool_names(tools),
                tool_calls=calls,
            )
        if text is not None:
            if structured is not None:
                text = json.dumps(structured, ensure_ascii=False)
            output.append(self._message(text))

        output, cut = apply_budget(output, body.get("max_output_tokens"))
        final = {**response, "output": output}
        if cut:
            final["status"] = "incomplete"
            final["incomplete_details"] = {"reason": "max_output_tokens"}
        else:
            final["status"] = "completed"
            final["completed_at"] = max(response["created_at"], self._now())
        final["usage"] = _usage([user_text, *earlier], output)
        record = {"response": final, "input": input_items, "seq": time.time_ns()}
        if body.get("background"):
            record = background.start(record, final)
            self.store.put(record)
            return _json(200, record["response"])
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

    def _now(self) -> int:
        return int(self.clock())

    def _variant(self, previous: str | None, text: str) -> int:
        """1 for the first reply to this input after `previous`, 2 for the next (a
        regenerate), and so on: the replies to the same request differ visibly. Counted from
        the stored responses once, then as they are made."""
        with self._lock:
            if self._asked is None:
                self._asked = Counter(
                    (
                        record["response"].get("previous_response_id"),
                        item_reader.input_text(record.get("input")),
                    )
                    for record in self.store.all()
                )
            self._asked[(previous, text)] += 1
            return self._asked[(previous, text)]

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
            # Each user message of its input is a turn (a replay sends earlier turns as
            # input items); walking up, so last first.
            items = record.get("input") if isinstance(record.get("input"), list) else []
            said = [
                item_reader.content_text(i.get("content"))
                for i in items
                if isinstance(i, dict) and i.get("type") == "message" and i.get("role") == "user"
            ]
            texts.extend(reversed(said or [item_reader.input_text(record.get("input"))]))
            current = record["response"].get("previous_response_id")
        texts.reverse()
        return texts

    def _response(
        self, body: dict[str, Any], model: str, tools: list[dict[str, Any]], store: bool
    ) -> dict[str, Any]:
        with self._lock:
            # Integer seconds, as the API sends them: responses made within one second tie,
            # as on every server (the index keeps them in the order it recorded them).
            created = int(self.clock())
            rid = self.ids.response()
            while self.store.get(rid) is not None:  # a seeded factory over old storage
                rid = self.ids.response()
        return {
            "id": rid,
            "object": "response",
            "created_at": created,
            "status": "in_progress",
            "background": bool(body.get("background")),
            "completed_at": None,
            "conversation": None,
            "error": None,
            "incomplete_details": None,
            "model": model,
            "output": [],
            "previous_response_id": body.get("previous_response_id"),
            "prompt": None,
            "store": store,
            "tools": [_without_secrets(tool) for tool in tools],
            "usage": None,
            **echo(body),
        }

    def _message(self, text: str) -> dict[str, Any]:
        return {
            "id": self.ids.message(),
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
        }

    def _answer_tool_calls(
        self,
        resolved: list[tuple[dict[str, Any], dict[str, Any]]],
        tools: list[dict[str, Any]],
        turn: int,
    ) -> tuple[list[dict[str, Any]], str]:
        """Output items and reply text for a turn of approval answers and function outputs."""
        output: list[dict[str, Any]] = []
        notes: list[str] = []
        approvals = False
        for answer, request in resolved:
            name = str(request.get("name") or "")
            if answer["type"] == "function_call_output":
                notes.append(function_output_note(name, _output_text(answer.get("output"))))
                continue
            approvals = True
            label = str(request.get("server_label") or "")
            if answer.get("approve") is True:
                arguments = str(request.get("arguments") or "{}")
                call = mcp_call(
                    self.ids,
                    label,
                    name,
                    arguments,
                    query_of(arguments),
                    answer["approval_request_id"],
                )
                output.append(call)
                notes.append(approval_note(label, name, True, call["output"]))
            else:
                notes.append(approval_note(label, name, False))
        no_mcp_tools = not any(t.get("type") in ("mcp", "sse") for t in tools)
        text = tool_answer_reply(notes, turn=turn, no_tools_given=approvals and no_mcp_tools)
        return output, text

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
            if item["type"] == "mcp_call":
                ids = {"item_id": item["id"], "output_index": index}
                yield event(
                    "response.output_item.added",
                    output_index=index,
                    item={**item, "arguments": "", "status": "in_progress", "output": None},
                )
                yield event("response.mcp_call_arguments.delta", **ids, delta=item["arguments"])
                yield event("response.mcp_call_arguments.done", **ids, arguments=item["arguments"])
                yield event("response.mcp_call.in_progress", **ids)
                yield event("response.mcp_call.completed", **ids)
                yield event("response.output_item.done", output_index=index, item=item)
                continue
            if item["type"] == "function_call":
                ids = {"item_id": item["id"], "output_index": index}
                yield event(
                    "response.output_item.added",
                    output_index=index,
                    item={**item, "arguments": "", "status": "in_progress"},
                )
                yield event(
                    "response.function_call_arguments.delta", **ids, delta=item["arguments"]
                )
                yield event(
                    "response.function_call_arguments.done",
                    **ids,
                    name=item["name"],
                    arguments=item["arguments"],
                )
                yield event("response.output_item.done", output_index=index, item=item)
                continue
            if item["type"] != "message":  # e.g. mcp_approval_request: nothing to stream
                yield event("response.output_item.added", output_index=index, item=item)
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
        yield event(f"response.{final['status']}", response=final)
        yield b"data: [DONE]\n\n"


def _last_user_message(input_items: list[dict[str, Any]]) -> str:
    for item in reversed(input_items):
        if item.get("type") == "message" and item.get("role", "user") == "user":
            return item_reader.content_text(item.get("content"))
    return ""


def _output_text(value: Any) -> str:
    """A function output as text (a string, or content parts)."""
    if isinstance(value, str):
        return value
    text = item_reader.content_text(value)
    return text or json.dumps(value)


def _resolve_answers(
    answers: list[dict[str, Any]], known: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], dict[str, Any]]] | LocalResponse:
    """Each answer paired with the item it answers, or a 400 naming what is missing."""
    requests = {
        i.get("id"): i
        for i in known
        if isinstance(i, dict) and i.get("type") == "mcp_approval_request"
    }
    calls = {
        i.get("call_id"): i
        for i in known
        if isinstance(i, dict) and i.get("type") == "function_call"
    }
    out = []
    for answer in answers:
        if answer["type"] == "mcp_approval_response":
            key = answer.get("approval_request_id")
            if not isinstance(key, str) or not key:
                return _error(
                    400, "Missing required parameter: 'approval_request_id'.", param="input"
                )
            if not isinstance(answer.get("approve"), bool):
                return _error(400, "Invalid 'approve': expected a boolean.", param="input")
            if key not in requests:
                return _error(
                    400,
                    f"No MCP approval request found with id '{key}' in the previous response "
                    "(pass the previous_response_id of the response that asked for approval).",
                    param="input",
                )
            out.append((answer, requests[key]))
        else:
            key = answer.get("call_id")
            if not isinstance(key, str) or not key:
                return _error(400, "Missing required parameter: 'call_id'.", param="input")
            if key not in calls:
                return _error(
                    400,
                    f"No tool call found for function call output with call_id '{key}' "
                    "(pass the previous_response_id of the response that made the call).",
                    param="input",
                )
            out.append((answer, calls[key]))
    return out


def _usage(inputs: list[str], output: list[dict[str, Any]]) -> dict[str, Any]:
    """OpenAI's usage object, counted with the backend's tokenizer: the input text of this
    turn and the earlier turns of its branch; the generated text and call arguments."""
    in_tokens = sum(count_tokens(text) for text in inputs)
    out_tokens = sum(generated_tokens(item) for item in output)
    return {
        "input_tokens": in_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": out_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": in_tokens + out_tokens,
    }


def _structured_answer(fmt: dict[str, Any], context: str) -> Any:
    """The JSON value a `text.format` asks for (None for plain text), or a 400."""
    if fmt.get("type") == "json_object":
        if "json" not in context.lower():
            return _error(
                400,
                "Response input messages must contain the word 'json' in some form to use "
                "'text.format' of type 'json_object'.",
                param="input",
            )
        digest = hashlib.sha256(context.encode("utf-8")).hexdigest()[:8]
        return {
            "offline_backend": True,
            "input_words": count_tokens(context),
            "fingerprint": digest,
        }
    if fmt.get("type") == "json_schema":
        try:
            return json_value(fmt["schema"])
        except Unsupported as error:
            return _refuse(unsupported("text.format.schema", str(error)))
    return None


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


def _without_secrets(tool: dict[str, Any]) -> dict[str, Any]:
    """The tool as echoed and stored: header values (credentials) are not kept, as a real
    server would not hand them back."""
    if not isinstance(tool.get("headers"), dict):
        return tool
    return {**tool, "headers": {name: None for name in tool["headers"]}}
