"""Build the next request of a conversation and record what came back.

The Responses API does not carry tools, instructions or model settings across
`previous_response_id`: every request must resend them. So a new turn inherits its parent's
model, tools and instructions unless the caller overrides them, and a sibling (edit,
regenerate) inherits from the node it replaces.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tui.api.accumulate import StreamAccumulator
from tui.api.client import ResponsesClient
from tui.api.errors import ApiError, StreamFailed, StreamInterrupted
from tui.api.events import StreamEvent
from tui.api.items import normalize_input
from tui.store.index import Index
from tui.store.records import NodeSummary, Status

INHERITED = ("tools", "instructions", "temperature", "top_p", "reasoning", "text")


class CannotSend(ValueError):
    """The request cannot be built (e.g. regenerate without recorded input)."""


@dataclass
class TurnPlan:
    """What will be sent, and where the result goes in the forest."""

    body: dict[str, Any]
    parent: str | None  # the previous_response_id (None: a new conversation)
    input_items: list[dict[str, Any]]
    kind: str  # "new", "reply", "fork", "edit", "regenerate"
    settings_from: str | None = None  # the response whose model/tools were inherited

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def tool_labels(self) -> list[str]:
        from tui.api.items import tool_names

        return tool_names(self.body.get("tools"))


def _settings(index: Index, server: str, response_id: str | None) -> dict[str, Any]:
    if not response_id or index.get(server, response_id) is None:
        return {}
    response = index.load_body(server, response_id)["response"] or {}
    out: dict[str, Any] = {}
    if response.get("model"):
        out["model"] = response["model"]
    for key in INHERITED:
        value = response.get(key)
        if value not in (None, [], {}, ""):
            out[key] = value
    # Echoed defaults we did not send ourselves are not worth resending.
    if out.get("text") == {"format": {"type": "text"}}:
        out.pop("text")
    if out.get("reasoning") in ({"effort": None, "summary": None},):
        out.pop("reasoning")
    for key in ("temperature", "top_p"):
        if out.get(key) == 1.0:
            out.pop(key)
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
) -> TurnPlan:
    """A reply to `parent` (a fork if it already has children), or a new conversation."""
    if not text.strip():
        raise CannotSend("nothing to send: the message is empty")
    inherited = _settings(index, server, parent)
    body: dict[str, Any] = {**inherited, **(overrides or {})}
    body["model"] = model or inherited.get("model") or default_model
    items = normalize_input(text)
    body["input"] = items
    if parent:
        body["previous_response_id"] = parent
    if not store:
        body["store"] = False
    kind = "new"
    if parent:
        forest = index.forest(server)
        key = (server, parent)
        kind = "fork" if key in forest and forest.children(key) else "reply"
    return TurnPlan(body, parent, items, kind, settings_from=parent)


def plan_sibling(
    index: Index,
    server: str,
    node_id: str,
    *,
    text: str | None,
    default_model: str,
) -> TurnPlan:
    """A sibling of `node_id`: same parent, new input (edit) or the same input (regenerate)."""
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
    body: dict[str, Any] = {**_settings(index, server, node_id)}
    body.setdefault("model", default_model)
    body["input"] = items
    if node.parent:
        body["previous_response_id"] = node.parent
    return TurnPlan(body, node.parent, items, kind, settings_from=node_id)


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
    index: Index, server: str, profile: str, plan: TurnPlan, response: dict[str, Any]
) -> NodeSummary:
    """Put a response we created into the index, with the input we sent."""
    status = None
    if response.get("status") != "completed" and response.get("store") is not False:
        status = Status.INCOMPLETE
    return index.add_response(
        response, server=server, profile=profile, input_items=plan.input_items, status=status
    )


async def send_turn(
    client: ResponsesClient,
    index: Index,
    plan: TurnPlan,
    *,
    server: str,
    profile: str,
    on_event: Callable[[StreamEvent, StreamAccumulator], Any] | None = None,
    accumulator: StreamAccumulator | None = None,
) -> TurnResult:
    """Stream the turn; record the result, or the partial answer when the stream breaks,
    fails or is cancelled (marked incomplete). Nothing that arrived is lost."""
    acc = accumulator if accumulator is not None else StreamAccumulator(plan.body)
    try:
        async for event in client.stream(plan.body, acc):
            if on_event is not None:
                result = on_event(event, acc)
                if asyncio.iscoroutine(result):
                    await result
    except asyncio.CancelledError:
        _record_partial(index, server, profile, plan, acc.partial("cancelled"))
        raise
    except (StreamInterrupted, StreamFailed) as error:
        summary = _record_partial(index, server, profile, plan, error.partial)
        return TurnResult(error.partial, summary, error=error, warnings=acc.warnings)
    except ApiError as error:
        return TurnResult(None, None, error=error, warnings=acc.warnings)
    final = acc.final or acc.partial()
    summary = record(index, server, profile, plan, final)
    return TurnResult(final, summary, warnings=acc.warnings)


def _record_partial(
    index: Index,
    server: str,
    profile: str,
    plan: TurnPlan,
    partial: dict[str, Any] | None,
) -> NodeSummary | None:
    """Keep a partial response if the server had given it an id (otherwise there is nothing
    to attach it to in the forest; the text stays in the caller's hands)."""
    if not partial or not isinstance(partial.get("id"), str):
        return None
    partial.setdefault("model", plan.model)
    partial.setdefault("previous_response_id", plan.parent)
    return index.add_response(
        partial,
        server=server,
        profile=profile,
        input_items=plan.input_items,
        status=Status.INCOMPLETE,
    )
