"""Typing stream events: each decoded `data:` object becomes exactly one typed event.

The expected events are compared whole (class and every field), so a field read from the wrong
key, a lost default or a wrong class shows.
"""

from __future__ import annotations

from typing import Any

import pytest

from tui.api.events import (
    TERMINAL,
    ErrorEvent,
    OutputItemEvent,
    ReasoningDelta,
    ResponseEvent,
    StreamEvent,
    TextDelta,
    TextDone,
    ToolEvent,
    UnknownEvent,
    parse_event,
)

RESPONSE = {"id": "resp_1", "object": "response", "status": "in_progress"}
ITEM = {"type": "message", "id": "msg_1", "role": "assistant", "content": []}


def case(data: dict[str, Any], expected: StreamEvent, sse_event: str = ""):
    return pytest.param(data, sse_event, expected, id=expected.type + ":" + ",".join(data))


# ------------------------------------------------------------------ response snapshots

RESPONSE_CASES = [
    case(
        d := {"type": "response.created", "response": RESPONSE},
        ResponseEvent("response.created", d, response=RESPONSE),
    ),
    case(
        d := {"type": "response.completed", "response": {}, "sequence_number": 9},
        ResponseEvent("response.completed", d, response={}),
    ),
    # a snapshot whose `response` is not an object is not a snapshot
    case(
        d := {"type": "response.completed", "response": "resp_1"},
        UnknownEvent("response.completed", d),
    ),
    # only `response.<one word>` is a snapshot, even if a `response` object rides along
    case(
        d := {"type": "response.output_item.added", "response": RESPONSE, "item": ITEM},
        OutputItemEvent("response.output_item.added", d, output_index=0, item=ITEM),
    ),
    case(d := {"type": "thread.created", "response": RESPONSE}, UnknownEvent("thread.created", d)),
    # no `type`: the SSE `event:` name says what it is
    case(
        d := {"response": RESPONSE},
        ResponseEvent("response.completed", d, response=RESPONSE),
        "response.completed",
    ),
    # a `type` that is not text counts as missing
    case(
        d := {"type": 5, "response": RESPONSE},
        ResponseEvent("response.failed", d, response=RESPONSE),
        "response.failed",
    ),
    # the `type` wins over the `event:` name
    case(
        d := {"type": "response.created", "response": RESPONSE},
        ResponseEvent("response.created", d, response=RESPONSE),
        "response.failed",
    ),
    case(d := {"response": RESPONSE}, UnknownEvent("unknown", d)),
    case(d := {}, UnknownEvent("unknown", d)),
]

# ------------------------------------------------------------------ items and text

ITEM_CASES = [
    case(
        d := {"type": "response.output_item.added", "output_index": 2, "item": ITEM},
        OutputItemEvent("response.output_item.added", d, output_index=2, item=ITEM),
    ),
    case(
        d := {"type": "response.output_item.done", "output_index": 1, "item": ITEM},
        OutputItemEvent("response.output_item.done", d, output_index=1, item=ITEM),
    ),
    # a missing or malformed index is 0 (a bool is not an index), a missing item is empty
    case(
        d := {"type": "response.output_item.done", "output_index": True, "item": "x"},
        OutputItemEvent("response.output_item.done", d, output_index=0, item={}),
    ),
    case(
        d := {"type": "response.output_item.added", "output_index": "3"},
        OutputItemEvent("response.output_item.added", d, output_index=0, item={}),
    ),
    case(
        d := {
            "type": "response.output_text.delta",
            "item_id": "msg_1",
            "output_index": 1,
            "content_index": 2,
            "delta": "Hi",
        },
        TextDelta(
            "response.output_text.delta",
            d,
            item_id="msg_1",
            output_index=1,
            content_index=2,
            delta="Hi",
        ),
    ),
    case(
        d := {"type": "response.refusal.delta", "output_index": 3, "delta": "No"},
        TextDelta("response.refusal.delta", d, item_id="", output_index=3, delta="No"),
    ),
    case(
        d := {
            "type": "response.output_text.delta",
            "item_id": 7,
            "output_index": False,
            "content_index": None,
            "delta": ["x"],
        },
        TextDelta("response.output_text.delta", d, item_id="", output_index=0, delta=""),
    ),
    case(
        d := {
            "type": "response.output_text.done",
            "item_id": "msg_2",
            "output_index": 4,
            "content_index": 1,
            "text": "Done.",
        },
        TextDone(
            "response.output_text.done",
            d,
            item_id="msg_2",
            output_index=4,
            content_index=1,
            text="Done.",
        ),
    ),
    case(
        d := {"type": "response.refusal.done", "item_id": "m", "refusal": "I can't."},
        TextDone("response.refusal.done", d, item_id="m", text="I can't."),
    ),
    # an empty `text` falls back to the `refusal`
    case(
        d := {"type": "response.refusal.done", "text": "", "refusal": "Nope", "output_index": 2},
        TextDone("response.refusal.done", d, output_index=2, text="Nope"),
    ),
    case(
        d := {"type": "response.output_text.done", "text": 5, "content_index": 6},
        TextDone("response.output_text.done", d, content_index=6, text=""),
    ),
    case(
        d := {
            "type": "response.reasoning_text.delta",
            "item_id": "rs_1",
            "output_index": 5,
            "delta": "hm",
        },
        ReasoningDelta(
            "response.reasoning_text.delta", d, item_id="rs_1", output_index=5, delta="hm"
        ),
    ),
    case(
        d := {
            "type": "response.reasoning_summary_text.delta",
            "item_id": "rs_2",
            "output_index": 6,
            "delta": "so",
        },
        ReasoningDelta(
            "response.reasoning_summary_text.delta", d, item_id="rs_2", output_index=6, delta="so"
        ),
    ),
    case(
        d := {"type": "response.reasoning_text.delta", "item_id": None, "delta": 1},
        ReasoningDelta("response.reasoning_text.delta", d),
    ),
]

# ------------------------------------------------------------------ tools

TOOL_CASES = [
    case(
        d := {
            "type": "response.function_call_arguments.delta",
            "item_id": "fc_1",
            "output_index": 1,
            "delta": '{"a"',
        },
        ToolEvent(
            "response.function_call_arguments.delta",
            d,
            item_id="fc_1",
            output_index=1,
            delta='{"a"',
        ),
    ),
    # OpenAI's spelling and Fireworks' (whose delta is an object, kept as it is)
    case(
        d := {"type": "response.mcp_call_arguments.delta", "output_index": 2, "delta": "{}"},
        ToolEvent("response.mcp_call_arguments.delta", d, output_index=2, delta="{}"),
    ),
    case(
        d := {
            "type": "response.mcp_call.arguments.delta",
            "item_id": "mcp_1",
            "delta": {"q": 1},
        },
        ToolEvent("response.mcp_call.arguments.delta", d, item_id="mcp_1", delta={"q": 1}),
    ),
    case(
        d := {"type": "response.web_search_call.searching", "item_id": 3, "output_index": "1"},
        ToolEvent("response.web_search_call.searching", d),
    ),
    case(
        d := {"type": "response.mcp_list_tools.completed", "item_id": "ml_1"},
        ToolEvent("response.mcp_list_tools.completed", d, item_id="ml_1"),
    ),
    # a tool event may carry an `error` or a `detail`: it stays a tool event
    case(
        d := {"type": "response.mcp_call.failed", "error": {"message": "down"}, "detail": "x"},
        ToolEvent("response.mcp_call.failed", d),
    ),
    # neither a call nor MCP, or not a response event at all
    case(
        d := {"type": "response.content_part.added", "delta": "x"},
        UnknownEvent("response.content_part.added", d),
    ),
    case(d := {"type": "mcp_call.delta", "delta": "x"}, UnknownEvent("mcp_call.delta", d)),
    case(
        d := {"type": "function_call_arguments.delta", "delta": "x"},
        UnknownEvent("function_call_arguments.delta", d),
    ),
]

# ------------------------------------------------------------------ errors

DEFAULT_MESSAGE = "the server reported an error"

ERROR_CASES = [
    # OpenAI: the fields at the top
    case(
        d := {"type": "error", "code": "server_error", "message": "Boom", "param": "input"},
        ErrorEvent("error", d, code="server_error", message="Boom", param="input"),
    ),
    # nested under `error`, a numeric code as text
    case(
        d := {"type": "error", "error": {"code": 429, "message": "Slow down", "param": "model"}},
        ErrorEvent("error", d, code="429", message="Slow down", param="model"),
    ),
    # a boolean, a list or no code is no code; a param that is not text is no param
    case(
        d := {"type": "error", "error": {"code": True, "message": "m", "param": 1}},
        ErrorEvent("error", d, code=None, message="m", param=None),
    ),
    case(
        d := {"type": "error", "code": ["x"], "message": "m"},
        ErrorEvent("error", d, code=None, message="m"),
    ),
    case(d := {"type": "error"}, ErrorEvent("error", d, message=DEFAULT_MESSAGE)),
    case(
        d := {"type": "error", "error": {"message": ""}},
        ErrorEvent("error", d, message=DEFAULT_MESSAGE),
    ),
    # Llama Stack: no `type`, no `event:` line
    case(
        d := {"error": {"message": "Response 'resp_x' not found", "code": "404"}},
        ErrorEvent("error", d, code="404", message="Response 'resp_x' not found"),
    ),
    case(d := {"error": "unauthorized"}, ErrorEvent("error", d, message="unauthorized")),
    case(d := {"error": 5}, UnknownEvent("unknown", d)),
    # a snapshot that carries an error is still a snapshot
    case(
        d := {"response": RESPONSE, "error": {"message": "x"}},
        ResponseEvent("response.failed", d, response=RESPONSE),
        "response.failed",
    ),
    # the SSE `event: error` line with the message at the top
    case(d := {"message": "overloaded"}, ErrorEvent("error", d, message="overloaded"), "error"),
]

DETAIL_CASES = [
    # a proxy wrapping FastAPI's error in a 200 stream: the detail is the message
    (
        {"detail": "Not Found"},
        {"error": {"message": "Not Found"}, "detail": "Not Found"},
        "Not Found",
    ),
    (
        {"detail": [{"loc": ["body", "model"], "msg": "field required"}]},
        {
            "error": {"message": "model: field required"},
            "detail": [{"loc": ["body", "model"], "msg": "field required"}],
        },
        "model: field required",
    ),
    ({"detail": []}, {"error": {"message": DEFAULT_MESSAGE}, "detail": []}, DEFAULT_MESSAGE),
]


@pytest.mark.parametrize(
    ("data", "sse_event", "expected"),
    RESPONSE_CASES + ITEM_CASES + TOOL_CASES + ERROR_CASES,
)
def test_each_shape_becomes_its_typed_event(data, sse_event, expected):
    event = parse_event(data, sse_event)
    assert type(event) is type(expected)
    assert event == expected


@pytest.mark.parametrize(("data", "carried", "message"), DETAIL_CASES)
def test_a_bare_detail_in_a_stream_is_an_error_in_the_servers_words(data, carried, message):
    event = parse_event(data)
    assert event == ErrorEvent("error", carried, message=message)
    assert event.terminal


@pytest.mark.parametrize(
    "data",
    [
        {"detail": "Not Found", "response": RESPONSE},
        {"detail": {"a": 1}},
        {"detail": 404},
    ],
)
def test_a_detail_that_is_not_a_bare_error_is_left_as_it_is(data):
    event = parse_event(data)
    assert event == UnknownEvent("unknown", data)


def test_a_detail_with_an_sse_event_name_still_reads_as_an_error():
    # the wrapped answer is an error whatever `event:` line came with it
    event = parse_event({"detail": "Not Found"}, "message")
    assert event == ErrorEvent(
        "error", {"error": {"message": "Not Found"}, "detail": "Not Found"}, message="Not Found"
    )


# ------------------------------------------------------------------ properties


@pytest.mark.parametrize(
    ("value", "expected"), [(7, 7), (0, 0), ("7", None), (None, None), (1.5, None)]
)
def test_the_sequence_number_is_the_integer_the_server_sent(value, expected):
    assert parse_event({"type": "x", "sequence_number": value}).sequence_number == expected


def test_an_event_without_a_sequence_number_has_none():
    assert parse_event({"type": "x"}).sequence_number is None


@pytest.mark.parametrize(
    "kind",
    [
        "response.completed",
        "response.failed",
        "response.incomplete",
        "response.cancelled",
        "error",
    ],
)
def test_these_events_end_a_stream(kind):
    assert kind in TERMINAL
    assert StreamEvent(kind, {}).terminal


@pytest.mark.parametrize(
    "kind",
    [
        "response.created",
        "response.in_progress",
        "response.queued",
        "response.output_item.done",
        "response.output_text.done",
        "unknown",
    ],
)
def test_other_events_do_not_end_a_stream(kind):
    assert not StreamEvent(kind, {}).terminal
