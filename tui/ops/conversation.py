"""Build the next request of a conversation and record what came back.

The Responses API does not carry tools, instructions or model settings across
`previous_response_id`: every request must resend them. So a new turn inherits its parent's
model, tools and instructions unless the caller overrides them, and a sibling (edit,
regenerate) inherits from the node it replaces.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tui import run_settings
from tui.api.accumulate import StreamAccumulator
from tui.api.client import ResponsesClient
from tui.api.errors import (
    ApiError,
    PreviousResponseNotFound,
    ProtocolError,
    StreamFailed,
    StreamInterrupted,
)
from tui.api.events import ResponseEvent, StreamEvent
from tui.api.items import normalize_input, output_items, response_text, safe_id, tool_list
from tui.store.index import Index
from tui.store.records import LOGICAL_PARENT, NodeSummary, Status, derive_status
from tui.tools import ToolError, resolve_tools, scrub

INHERITED = ("tools", *run_settings.INHERITED)  # besides the model
CONTINUABLE = (Status.STORED, Status.INCOMPLETE)  # not FAILED: a failed turn is replayed


class CannotSend(ValueError):
    """The request cannot be built (e.g. regenerate without recorded input)."""


@dataclass
class TurnPlan:
    """What will be sent, and where the result goes in the forest."""

    body: dict[str, Any]
    parent: str | None  # the previous_response_id (None: a new conversation)
    input_items: list[dict[str, Any]]
    kind: str  # "new", "reply", "fork", "edit", "regenerate", "approval", "function output"
    settings_from: str | None = None  # the response whose model/tools were inherited
    replayed: int = 0  # turns sent again as explicit input (the parent cannot be continued)
    anchor: str | None = None  # the previous_response_id actually sent (None when replaying all)

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def request(self) -> dict[str, Any]:
        """What we send besides the input, placeholders kept: stored for inheritance. A
        replayed turn also records its place in the forest, which its
        previous_response_id no longer says."""
        request = {k: v for k, v in self.body.items() if k != "input"}
        if self.replayed:
            request[LOGICAL_PARENT] = self.parent
        return request

    @property
    def tool_labels(self) -> list[str]:
        from tui.api.items import tool_names

        return tool_names(self.body.get("tools"))


def settings_of(index: Index, server: str, response_id: str | None) -> dict[str, Any]:
    """Model, tools and run settings (tui.run_settings: instructions, temperature, top_p,
    reasoning, max_output_tokens, text format, metadata; not `store`) that a turn after
    `response_id` inherits: what we sent for it when we made it (tools keep their ${VAR}
    placeholders), else what the server echoed in the response (imported responses), echoed
    defaults left out."""
    if not response_id or index.get(server, response_id) is None:
        return {}
    body = index.load_body(server, response_id)
    source = body.get("request") or body["response"] or {}
    found = run_settings.of_record(body)
    out: dict[str, Any] = {key: found[key] for key in ("model",) if key in found}
    tools = tool_list(source.get("tools"))  # only tool objects are resent (a stored [3] is none)
    if tools:
        out["tools"] = tools
    out.update({key: found[key] for key in run_settings.INHERITED if key in found})
    return out


def plan_turn(
    index: Index,
    server: str,
    *,
    text: str,
    parent: str | None,
    default_model: str,
    model: str | None = None,
    store: bool = True,
    overrides: dict[str, Any] | None = None,
    tools: list[dict[str, Any]] | None = None,
) -> TurnPlan:
    """A reply to `parent` (a fork if it already has children), or a new conversation.
    `tools` replaces the inherited tool set (an empty list sends none); `overrides` (run
    settings, tui.run_settings) replace the inherited ones (None takes one out)."""
    if not text.strip():
        raise CannotSend("nothing to send: the message is empty")
    inherited = settings_of(index, server, parent)
    body = run_settings.write(dict(inherited), overrides or {})
    _set_tools(body, tools)
    body["model"] = model or body.get("model") or default_model
    items = normalize_input(text)
    if not store:
        body["store"] = False
    kind = "new"
    if parent:
        forest = index.forest(server)
        key = (server, parent)
        kind = "fork" if key in forest and forest.children(key) else "reply"
    plan = TurnPlan(body, parent, items, kind, settings_from=parent)
    continue_from(index, server, plan)
    return plan


def replay_plan(index: Index, server: str, parent: str) -> tuple[str | None, list[str]]:
    """How to continue after `parent`: (the id to send as previous_response_id, the ids of
    the turns to replay as explicit input, oldest first).

    A response the server cannot continue (created with store: false, deleted, or gone:
    expired) is replayed from what the index recorded, back to the nearest ancestor the
    server still has; the server then carries the context up to that one.
    """
    if index.get(server, parent) is None:
        return parent, []  # not ours to judge: let the server answer
    path = index.forest(server).path_to_root((server, parent))
    replay: list[str] = []
    for key in reversed(path):
        summary = index.get(*key)
        if summary is not None and summary.status in CONTINUABLE:
            return key[1], list(reversed(replay))
        replay.append(key[1])
    return None, list(reversed(replay))


# Input items of a recorded turn that are sent again when it is replayed.
_REPLAYED_INPUT = ("message", "function_call_output", "mcp_approval_response")


def replay_items(index: Index, server: str, ids: list[str]) -> list[dict[str, Any]]:
    """The recorded turns as explicit input, oldest first: each one's input, then its answer,
    then the calls it asked for (function calls, approval requests), so that a function
    output or an approval answer that follows can name them. Stored item ids and statuses
    are not re-sent (they belong to the stored copy), except an approval request's id, which
    its answer names."""
    out: list[dict[str, Any]] = []
    for rid in ids:
        body = index.load_body(server, rid)
        recorded = body.get("input")
        if recorded is None:
            raise CannotSend(
                f"cannot replay {rid}: its input was not recorded (the server cannot return "
                "it), so this branch cannot be continued"
            )
        for item in recorded:
            if not isinstance(item, dict):
                continue
            clean = {k: v for k, v in item.items() if k not in ("id", "status")}
            if clean.get("type") in _REPLAYED_INPUT or "role" in clean:
                out.append(clean)
        response = body.get("response") or {}
        answer = response_text(response)
        if answer.strip():
            out.append(
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": answer}],
                }
            )
        out.extend(_replayed_calls(response))
    return out


def _replayed_calls(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The function calls and approval requests of a response, as input items."""
    out: list[dict[str, Any]] = []
    for item in output_items(response):
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "function_call":
            out.append(
                {
                    "type": "function_call",
                    "call_id": item.get("call_id"),
                    "name": item.get("name"),
                    "arguments": item.get("arguments") or "{}",
                }
            )
        elif kind == "mcp_approval_request":
            out.append(
                {
                    "type": "mcp_approval_request",
                    "id": item.get("id"),
                    "server_label": item.get("server_label"),
                    "name": item.get("name"),
                    "arguments": item.get("arguments") or "{}",
                }
            )
    return out


def continue_from(index: Index, server: str, plan: TurnPlan) -> None:
    """Point the request at the parent: by previous_response_id when the server can continue
    it, else by replaying the recorded path as explicit input (and saying so in the plan)."""
    body = plan.body
    body.pop("previous_response_id", None)
    if not plan.parent:
        body["input"] = list(plan.input_items)
        return
    anchor, replay = replay_plan(index, server, plan.parent)
    body["input"] = replay_items(index, server, replay) + list(plan.input_items)
    if anchor:
        body["previous_response_id"] = anchor
    plan.anchor = anchor
    plan.replayed = len(replay)


def plan_sibling(
    index: Index,
    server: str,
    node_id: str,
    *,
    text: str | None,
    default_model: str,
    tools: list[dict[str, Any]] | None = None,
    overrides: dict[str, Any] | None = None,
) -> TurnPlan:
    """A sibling of `node_id`: same parent, new input (edit) or the same input (regenerate),
    the settings of `node_id` (`tools` and `overrides` as in `plan_turn`)."""
    node = index.get(server, node_id)
    if node is None:
        raise CannotSend(f"unknown response {node_id}")
    if text is None:
        recorded = index.load_body(server, node_id).get("input")
        if recorded is None:
            raise CannotSend(
                "cannot regenerate: the input of this response was not recorded "
                "(the server cannot return it); use edit to type it again"
            )
        items = [dict(i) for i in recorded]
        kind = "regenerate"
    else:
        if not text.strip():
            raise CannotSend("nothing to send: the message is empty")
        items = normalize_input(text)
        kind = "edit"
    for item in items:
        item.pop("id", None)  # ids belong to the stored input of the other response
        if item.get("status") == "completed":
            item.pop("status")
    body = run_settings.write(dict(settings_of(index, server, node_id)), overrides or {})
    _set_tools(body, tools)
    body["model"] = body.get("model") or default_model
    plan = TurnPlan(body, node.parent, items, kind, settings_from=node_id)
    continue_from(index, server, plan)
    return plan


def _set_tools(body: dict[str, Any], tools: list[dict[str, Any]] | None) -> None:
    if tools is None:
        return
    if tools:
        body["tools"] = [dict(t) for t in tools]
    else:
        body.pop("tools", None)


def plan_followup(
    index: Index,
    server: str,
    node_id: str,
    items: list[dict[str, Any]],
    *,
    default_model: str,
    kind: str,
) -> TurnPlan:
    """Continue from `node_id` with non-message input: an MCP approval answer or a function
    output. The tools are resent (the API does not remember them). A response the server
    cannot continue (not stored, deleted, missing) is replayed, calls included, like a reply."""
    body: dict[str, Any] = {**settings_of(index, server, node_id)}
    body.setdefault("model", default_model)
    plan = TurnPlan(body, node_id, list(items), kind, settings_from=node_id)
    continue_from(index, server, plan)
    return plan


def approval_items(request_id: str, approve: bool) -> list[dict[str, Any]]:
    return [
        {"type": "mcp_approval_response", "approval_request_id": request_id, "approve": approve}
    ]


def function_output_items(call_id: str, output: str) -> list[dict[str, Any]]:
    return [{"type": "function_call_output", "call_id": call_id, "output": output}]


def _answers(items: Any) -> set[str]:
    """The call ids and approval request ids that `items` answer: function outputs, approval
    answers, and MCP calls the server ran after an approval (they carry its request id)."""
    out: set[str] = set()
    for item in items or []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "function_call_output" and item.get("call_id"):
            out.add(str(item["call_id"]))
        elif kind in ("mcp_approval_response", "mcp_call") and item.get("approval_request_id"):
            out.add(str(item["approval_request_id"]))
    return out


def pending_requests(index: Index, server: str, response_id: str) -> list[dict[str, Any]]:
    """Approval requests and function calls in a response that nothing has answered: not a
    later turn, and not the response itself (open-responses-server runs MCP tools itself and
    returns the `function_call` together with its `function_call_output`)."""
    if index.get(server, response_id) is None:
        return []
    output = output_items(index.load_body(server, response_id)["response"])
    # An ask whose id is not an id cannot be answered (and is never offered).
    asks = [item for item in output if safe_id(_ask_id(item))]
    if not asks:
        return []
    answered = _answers(output)
    for child in index.forest(server).children((server, response_id)):
        answered |= _answers(index.load_body(*child).get("input"))
    return [item for item in asks if _ask_id(item) not in answered]


def _ask_id(item: Any) -> Any:
    """The id an answer names: an approval request's `id`, a function call's `call_id`."""
    if isinstance(item, dict) and item.get("type") == "mcp_approval_request":
        return item.get("id")
    if isinstance(item, dict) and item.get("type") == "function_call":
        return item.get("call_id")
    return None


def failure_message(plan: TurnPlan, error: ApiError) -> str:
    """The one line a failed send shows, in the app and the CLI alike."""
    if isinstance(error, PreviousResponseNotFound) and plan.anchor:
        said = f" ({error.detail})" if error.detail else ""
        return (
            f"{plan.anchor} can no longer be continued on the server{said}; it is now marked "
            "missing. Send again: the path will be replayed as explicit input."
        )
    return str(error)


@dataclass
class TurnResult:
    response: dict[str, Any] | None
    summary: NodeSummary | None
    error: ApiError | None = None
    cancelled: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.cancelled and self.response is not None


def record(
    index: Index,
    server: str,
    profile: str,
    plan: TurnPlan,
    response: dict[str, Any],
    secrets: list[str] | None = None,
) -> NodeSummary:
    """Put a response we created into the index, with the input and settings we sent (its
    parent is the one we sent, whatever the server echoes). Secret values (tool headers
    filled from the environment) are scrubbed first. A response that did not complete is
    incomplete, or failed when the server says so."""
    status = derive_status(response)
    if status == Status.STORED and response.get("status") != "completed":
        status = Status.INCOMPLETE
    return index.add_response(
        scrub(response, secrets or []),
        server=server,
        profile=profile,
        input_items=plan.input_items,
        status=status,
        request=plan.request,
    )


async def send_turn(
    client: ResponsesClient,
    index: Index,
    plan: TurnPlan,
    *,
    server: str,
    profile: str,
    on_event: Callable[[StreamEvent, StreamAccumulator], Any] | None = None,
    on_created: Callable[[NodeSummary], Any] | None = None,
    accumulator: StreamAccumulator | None = None,
    env: Mapping[str, str] | None = None,
) -> TurnResult:
    """Stream the turn; record the result, or the partial answer when the stream breaks,
    fails or is cancelled (marked incomplete). Nothing that arrived is lost: the turn is
    recorded as soon as the server creates it (`record_provisional`, then `on_created`), so a
    process killed mid-answer leaves it in the forest, marked incomplete.

    Tool placeholders (`${VAR}`) are filled from `env` only in the body that goes on the
    wire; those values are added to the client's redaction list and scrubbed before storing.
    """
    acc = accumulator if accumulator is not None else StreamAccumulator(plan.body)
    wire = dict(plan.body)
    secrets: list[str] = client.secrets()
    if wire.get("tools"):
        try:
            wire["tools"], tool_secrets = resolve_tools(
                wire["tools"], os.environ if env is None else env
            )
        except ToolError as error:
            return TurnResult(None, None, error=ApiError(str(error)))
        client.add_secrets(tool_secrets)
        secrets = client.secrets()  # the key, header values and the tool secrets
    provisional = False
    try:
        async for event in client.stream(wire, acc):
            if (
                not provisional
                and isinstance(event, ResponseEvent)
                and event.type == "response.created"
            ):
                provisional = True
                summary = _record_created(index, server, profile, plan, event.response, secrets)
                if summary is not None and on_created is not None:
                    on_created(summary)
            if on_event is not None:
                result = on_event(event, acc)
                if asyncio.iscoroutine(result):
                    await result
    except asyncio.CancelledError:
        _record_partial(index, server, profile, plan, acc.partial("cancelled"), secrets)
        raise
    except (StreamInterrupted, StreamFailed) as error:
        partial = scrub(error.partial, secrets) if error.partial else None
        try:
            summary = _record_partial(index, server, profile, plan, error.partial, secrets)
        except OSError as disk:
            return TurnResult(
                partial, None, error=not_recorded(partial, disk), warnings=acc.warnings
            )
        return TurnResult(partial, summary, error=error, warnings=acc.warnings)
    except ApiError as error:
        if (
            isinstance(error, PreviousResponseNotFound)
            and plan.anchor
            and index.get(server, plan.anchor) is not None
        ):
            # The server no longer has it (deleted or expired): mark it, so the next send
            # replays the path instead.
            index.set_status(server, plan.anchor, Status.MISSING)
        return TurnResult(None, None, error=error, warnings=acc.warnings)
    final = acc.final or acc.partial()
    if not safe_id(final.get("id")):
        error = ProtocolError("the server answered with a response id that is not an id")
        return TurnResult(None, None, error=error, warnings=acc.warnings)
    try:
        summary = record(index, server, profile, plan, final, secrets)
    except OSError as disk:
        error = not_recorded(final, disk)
        return TurnResult(scrub(final, secrets), None, error=error, warnings=acc.warnings)
    return TurnResult(scrub(final, secrets), summary, warnings=acc.warnings)


def not_recorded(response: dict[str, Any] | None, error: OSError) -> ApiError:
    """The server made a response the index could not record (disk full, read-only home):
    say so with its id, so it can be imported later. The caller keeps the typed text."""
    rid = (response or {}).get("id")
    why = error.strerror or type(error).__name__
    if not safe_id(rid):
        return ApiError(f"the reply could not be recorded in the index ({why})")
    return ApiError(
        f"the reply {rid} was created on the server but could not be recorded in the index "
        f"({why}); once there is room: responses-tui import {rid}"
    )


def _record_partial(
    index: Index,
    server: str,
    profile: str,
    plan: TurnPlan,
    partial: dict[str, Any] | None,
    secrets: list[str] | None = None,
) -> NodeSummary | None:
    """Keep a partial response if the server had given it an id (otherwise there is nothing
    to attach it to in the forest; the text stays in the caller's hands)."""
    if not partial or not safe_id(partial.get("id")):
        return None
    partial.setdefault("model", plan.model)
    partial.setdefault("previous_response_id", plan.parent)
    failed = partial.get("status") == "failed"
    return index.add_response(
        scrub(partial, secrets or []),
        server=server,
        profile=profile,
        input_items=plan.input_items,
        status=Status.FAILED if failed else Status.INCOMPLETE,
        request=plan.request,
    )


def _record_created(
    index: Index,
    server: str,
    profile: str,
    plan: TurnPlan,
    response: dict[str, Any],
    secrets: list[str],
) -> NodeSummary | None:
    try:
        return record_provisional(index, server, profile, plan, response, secrets)
    except OSError:
        return None  # disk full or read-only: the final record says so, with the id


def record_provisional(
    index: Index,
    server: str,
    profile: str,
    plan: TurnPlan,
    response: dict[str, Any],
    secrets: list[str] | None = None,
) -> NodeSummary | None:
    """The record of a turn the server has just created (`response.created`), before its
    answer: in the forest at once, under the parent we sent, marked incomplete until the
    stream ends, scrubbed of `secrets` like the final record. None when the server's id is
    not an id."""
    if not safe_id(response.get("id")):
        return None
    provisional = {**scrub(response, secrets or []), "previous_response_id": plan.parent}
    provisional.setdefault("model", plan.model)
    return index.add_response(
        provisional,
        server=server,
        profile=profile,
        input_items=plan.input_items,
        status=Status.INCOMPLETE,
        request=plan.request,
    )
