"""The stream accumulator on its own: what a response looks like after any prefix of a stream.

Events are built from the JSON a server sends (through `parse_event`), fed one by one, and the
result is compared whole, so a missing, renamed or extra key shows.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tui.api.accumulate import StreamAccumulator
from tui.api.events import parse_event

REQUEST = {
    "model": "m-1",
    "previous_response_id": "resp_prev",
    "instructions": "be brief",
    "tools": [{"type": "function", "name": "f"}],
    "store": False,
    "input": "hi",  # not a response field: never copied
    "temperature": 0.5,
}


def fed(*events: dict[str, Any], request: dict[str, Any] | None = None) -> StreamAccumulator:
    acc = StreamAccumulator(request)
    for data in events:
        acc.feed(parse_event(data))
    return acc


def created(rid: str = "resp_1", **extra: Any) -> dict[str, Any]:
    response = {"id": rid, "object": "response", "status": "in_progress", **extra}
    return {"type": "response.created", "response": response}


def text_delta(delta: str, output_index: int = 0, content_index: int = 0, item_id: str = "msg_1"):
    return {
        "type": "response.output_text.delta",
        "item_id": item_id,
        "output_index": output_index,
        "content_index": content_index,
        "delta": delta,
    }


def message(text: str, item_id: str = "msg_1", status: str = "in_progress") -> dict[str, Any]:
    return {
        "type": "message",
        "id": item_id,
        "role": "assistant",
        "status": status,
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


# ------------------------------------------------------------------ a fresh accumulator


def test_a_fresh_accumulator_has_seen_nothing():
    acc = StreamAccumulator()
    assert acc.request == {}
    assert acc.response == {}
    assert acc.output == {}
    assert acc.final is None
    assert acc.error is None
    assert acc.events == 0
    assert acc.warnings == []
    assert acc.text == ""
    assert acc.response_id is None


def test_the_partial_of_nothing_is_an_empty_incomplete_response():
    assert StreamAccumulator().partial() == {
        "object": "response",
        "output": [],
        "status": "incomplete",
        "incomplete_details": {"reason": "interrupted"},
    }


def test_every_event_is_counted_whatever_its_type():
    acc = fed(
        created(),
        text_delta("a"),
        {"type": "response.something_new", "x": 1},
        {"type": "error", "message": "boom"},
    )
    assert acc.events == 4


# ------------------------------------------------------------------ the response id


@pytest.mark.parametrize(
    ("rid", "expected"), [("resp_9", "resp_9"), (9, None), (None, None), ("", "")]
)
def test_the_response_id_is_the_string_id_of_the_latest_snapshot(rid, expected):
    acc = fed({"type": "response.created", "response": {"id": rid}})
    assert acc.response_id == expected


def test_the_response_id_follows_each_new_snapshot():
    acc = fed(created("resp_a"), {"type": "response.in_progress", "response": {"id": "resp_b"}})
    assert acc.response_id == "resp_b"


# ------------------------------------------------------------------ text


def test_text_deltas_build_one_assistant_message():
    acc = fed(created(), text_delta("Hel"), text_delta("lo"))
    assert acc.text == "Hello"
    assert acc.output == {0: message("Hello")}


def test_the_text_seen_joins_every_delta_in_order_across_items_and_parts():
    acc = fed(
        text_delta("a", 0, 0),
        text_delta("b", 1, 0, "msg_2"),
        text_delta("c", 0, 1),
    )
    assert acc.text == "abc"


def test_a_delta_for_a_later_content_part_fills_the_parts_before_it_empty():
    acc = fed(text_delta("x", 0, 2, "msg_7"))
    assert acc.output == {
        0: {
            "type": "message",
            "id": "msg_7",
            "role": "assistant",
            "status": "in_progress",
            "content": [
                {"type": "output_text", "text": "", "annotations": []},
                {"type": "output_text", "text": "", "annotations": []},
                {"type": "output_text", "text": "x", "annotations": []},
            ],
        }
    }


def test_deltas_for_two_output_items_stay_in_their_own_items():
    acc = fed(text_delta("one", 0, 0, "msg_a"), text_delta("two", 3, 0, "msg_b"))
    assert acc.output == {0: message("one", "msg_a"), 3: message("two", "msg_b")}


def test_a_delta_appends_to_the_text_an_added_item_already_had():
    acc = fed(
        {"type": "response.output_item.added", "output_index": 0, "item": message("Hi")},
        text_delta(" there"),
    )
    assert acc.output[0]["content"][0]["text"] == "Hi there"


def test_a_delta_to_an_added_item_without_content_creates_its_content():
    item = {"type": "message", "id": "msg_1", "role": "assistant", "status": "in_progress"}
    acc = fed(
        {"type": "response.output_item.added", "output_index": 0, "item": item}, text_delta("x")
    )
    assert acc.output[0]["content"] == [{"type": "output_text", "text": "x", "annotations": []}]


def test_a_delta_to_a_part_without_text_starts_from_nothing():
    item = {"type": "message", "id": "m", "content": [{"type": "output_text"}]}
    acc = fed(
        {"type": "response.output_item.added", "output_index": 0, "item": item}, text_delta("x")
    )
    assert acc.output[0]["content"] == [{"type": "output_text", "text": "x"}]


def test_text_done_replaces_what_the_deltas_built():
    done = {
        "type": "response.output_text.done",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "text": "Hello, world",
    }
    acc = fed(text_delta("Hel"), done)
    assert acc.output == {0: message("Hello, world")}
    assert acc.text == "Hel"  # what the user saw is not rewritten


def test_text_done_alone_creates_its_part():
    done = {
        "type": "response.output_text.done",
        "item_id": "msg_4",
        "output_index": 1,
        "content_index": 1,
        "text": "B",
    }
    acc = fed(done)
    assert acc.output == {
        1: {
            "type": "message",
            "id": "msg_4",
            "role": "assistant",
            "status": "in_progress",
            "content": [
                {"type": "output_text", "text": "", "annotations": []},
                {"type": "output_text", "text": "B", "annotations": []},
            ],
        }
    }


# ------------------------------------------------------------------ output items


def test_an_output_item_event_sets_the_item_at_its_index():
    call = {"type": "function_call", "id": "fc_1", "name": "f", "arguments": "", "status": "x"}
    done = {**message("final", status="completed")}
    acc = fed(
        {"type": "response.output_item.added", "output_index": 1, "item": call},
        {"type": "response.output_item.added", "output_index": 0, "item": message("")},
        {"type": "response.output_item.done", "output_index": 0, "item": done},
    )
    assert acc.output == {0: done, 1: call}


def test_a_stored_item_is_a_copy_that_later_deltas_do_not_reach_into():
    event = parse_event(
        {"type": "response.output_item.added", "output_index": 0, "item": message("")}
    )
    before = copy.deepcopy(event.item)
    acc = StreamAccumulator()
    acc.feed(event)
    acc.feed(parse_event(text_delta("more")))
    assert event.item == before
    assert acc.output[0]["content"][0]["text"] == "more"


def test_the_items_of_a_snapshot_seed_the_output_without_replacing_what_was_seen():
    acc = fed(
        text_delta("seen"),
        {
            "type": "response.in_progress",
            "response": {"id": "r", "output": [message("old"), "junk", message("two", "msg_2")]},
        },
    )
    assert acc.output == {0: message("seen"), 2: message("two", "msg_2")}


def test_deltas_after_a_snapshot_extend_its_item_and_leave_the_event_alone():
    event = parse_event(
        {"type": "response.in_progress", "response": {"id": "r", "output": [message("a")]}}
    )
    before = copy.deepcopy(event.data)
    acc = StreamAccumulator()
    acc.feed(event)
    acc.feed(parse_event(text_delta("b")))
    assert acc.output == {0: message("ab")}
    assert event.data == before


def test_a_snapshot_without_output_leaves_the_output_alone():
    acc = fed(
        text_delta("x"), {"type": "response.in_progress", "response": {"id": "r", "output": []}}
    )
    assert acc.output == {0: message("x")}
    assert acc.final is None


# ------------------------------------------------------------------ reasoning


def test_reasoning_summary_deltas_build_a_reasoning_item():
    delta = {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0}
    acc = fed({**delta, "delta": "Think"}, {**delta, "delta": "ing"})
    assert acc.output == {
        0: {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [{"type": "summary_text", "text": "Thinking"}],
        }
    }
    assert acc.text == ""


def test_reasoning_text_deltas_go_to_the_content_not_the_summary():
    delta = {"type": "response.reasoning_text.delta", "item_id": "rs_2", "output_index": 1}
    acc = fed({**delta, "delta": "a"}, {**delta, "delta": "b"})
    assert acc.output == {
        1: {
            "type": "reasoning",
            "id": "rs_2",
            "summary": [],
            "content": [{"type": "reasoning_text", "text": "ab"}],
        }
    }


def test_reasoning_deltas_extend_the_last_part_of_an_added_item():
    item = {
        "type": "reasoning",
        "id": "rs_3",
        "summary": [{"type": "summary_text", "text": "one"}, {"type": "summary_text"}],
    }
    acc = fed(
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.reasoning_summary_text.delta", "output_index": 0, "delta": "two"},
    )
    assert acc.output[0]["summary"] == [
        {"type": "summary_text", "text": "one"},
        {"type": "summary_text", "text": "two"},
    ]


# ------------------------------------------------------------------ tool-call arguments


def call_item(arguments: Any = "", kind: str = "function_call") -> dict[str, Any]:
    return {"type": kind, "id": "fc_1", "name": "f", "arguments": arguments}


def added(item: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return {"type": "response.output_item.added", "output_index": index, "item": item}


def test_argument_deltas_are_joined_onto_the_call_item():
    delta = {"type": "response.function_call_arguments.delta", "output_index": 0}
    acc = fed(added(call_item()), {**delta, "delta": '{"a"'}, {**delta, "delta": ": 1}"})
    assert acc.output[0] == call_item('{"a": 1}')


def test_argument_deltas_start_from_nothing_when_the_item_had_none():
    item = {"type": "mcp_call", "id": "mcp_1"}
    delta = {"type": "response.mcp_call_arguments.delta", "output_index": 0, "delta": "{}"}
    acc = fed(added(item), delta)
    assert acc.output[0] == {"type": "mcp_call", "id": "mcp_1", "arguments": "{}"}


def test_a_fireworks_dict_delta_becomes_json_text_keeping_non_ascii():
    delta = {
        "type": "response.mcp_call.arguments.delta",
        "output_index": 0,
        "delta": {"city": "Zürich"},
    }
    acc = fed(added(call_item("stale", "mcp_call")), delta)
    assert acc.output[0]["arguments"] == '{"city": "Zürich"}'


def test_an_argument_delta_that_is_neither_text_nor_a_dict_is_ignored():
    delta = {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": 5}
    acc = fed(added(call_item("{}")), delta)
    assert acc.output[0] == call_item("{}")


def test_argument_events_for_an_unknown_item_change_nothing():
    acc = fed(
        {"type": "response.function_call_arguments.delta", "output_index": 2, "delta": "{"},
        {"type": "response.function_call_arguments.done", "output_index": 2, "arguments": "{}"},
    )
    assert acc.output == {}


def test_arguments_done_replaces_the_joined_deltas():
    acc = fed(
        added(call_item()),
        {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": '{"x'},
        {"type": "response.function_call_arguments.done", "output_index": 0, "arguments": "{}"},
    )
    assert acc.output[0] == call_item("{}")


def test_arguments_done_without_text_arguments_keeps_the_deltas():
    acc = fed(
        added(call_item()),
        {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": "{}"},
        {"type": "response.function_call_arguments.done", "output_index": 0, "arguments": {}},
    )
    assert acc.output[0] == call_item("{}")


def test_other_tool_progress_events_do_not_touch_the_arguments():
    acc = fed(
        added(call_item("{}", "mcp_call")),
        {"type": "response.mcp_call.in_progress", "output_index": 0, "arguments": "no"},
        {"type": "response.mcp_call.completed", "output_index": 0, "delta": "no"},
    )
    assert acc.output[0] == call_item("{}", "mcp_call")


def test_an_unknown_event_named_like_an_arguments_event_is_ignored():
    acc = fed(
        added(call_item("{}")),
        {"type": "response.arguments.delta", "output_index": 0, "delta": "no"},
        {"type": "response.arguments.done", "output_index": 0, "arguments": "no"},
    )
    assert acc.output[0] == call_item("{}")


# ------------------------------------------------------------------ the final snapshot


def completed(output: list[Any], rid: str = "resp_1", kind: str = "response.completed"):
    return {"type": kind, "response": {"id": rid, "status": "completed", "output": output}}


@pytest.mark.parametrize(
    "kind",
    ["response.completed", "response.failed", "response.incomplete", "response.cancelled"],
)
def test_a_terminal_snapshot_is_the_final_response(kind):
    final = completed([message("done", status="completed")], kind=kind)
    acc = fed(created(), text_delta("do"), final)
    assert acc.final == final["response"]
    assert acc.response == final["response"]
    assert acc.response_id == "resp_1"


def test_a_snapshot_that_is_not_terminal_is_not_final():
    acc = fed(created(), {"type": "response.in_progress", "response": {"id": "resp_1"}})
    assert acc.final is None
    assert acc.response == {"id": "resp_1"}


def test_the_final_snapshot_gets_the_streamed_arguments_of_calls_it_left_empty():
    # open-responses-server streams the arguments, then sends "arguments": "" in the snapshot
    delta = {"type": "response.function_call_arguments.delta", "output_index": 1}
    final = completed(
        [
            "not an item",
            call_item(""),
            call_item("", "web_search_call"),
            call_item(None, "mcp_call"),
            call_item("{}"),
        ]
    )
    event = parse_event(final)
    before = copy.deepcopy(event.data)
    acc = fed(
        added(call_item(), 1),
        {**delta, "delta": '{"q": 1}'},
        added(call_item(""), 2),
        {**delta, "output_index": 2, "delta": "{2}"},
        added(call_item("", "mcp_call"), 3),
        {**delta, "output_index": 3, "delta": "[]"},
        added(call_item(""), 4),
        {**delta, "output_index": 4, "delta": "{4}"},
    )
    acc.feed(event)
    assert acc.final is not None
    assert acc.final["output"] == [
        "not an item",
        call_item('{"q": 1}'),
        call_item("", "web_search_call"),  # not a call whose arguments are streamed
        call_item("[]", "mcp_call"),
        call_item("{}"),  # the snapshot's own arguments win
    ]
    assert event.data == before  # the event itself is left as the server sent it


def test_a_final_call_with_no_streamed_arguments_stays_empty():
    acc = fed(
        {"type": "response.output_item.added", "output_index": 0, "item": {"type": "x"}},
        completed([call_item(""), call_item("")]),
    )
    assert acc.final["output"] == [call_item(""), call_item("")]


def test_a_final_snapshot_without_an_output_list_is_taken_as_it_is():
    acc = fed(added(call_item("{}")), {"type": "response.completed", "response": {"id": "r"}})
    assert acc.final == {"id": "r"}
    acc = fed(
        added(call_item("{}")),
        {"type": "response.completed", "response": {"id": "r", "output": "odd"}},
    )
    assert acc.final == {"id": "r", "output": "odd"}


# ------------------------------------------------------------------ errors


def test_an_error_event_is_kept_and_the_latest_wins():
    acc = fed(
        {"type": "error", "code": "a", "message": "first"},
        {"type": "error", "code": "b", "message": "second"},
    )
    assert acc.error is not None
    assert (acc.error.code, acc.error.message) == ("b", "second")
    assert acc.final is None


# ------------------------------------------------------------------ partial


def test_the_partial_of_a_cut_stream_keeps_the_output_in_index_order():
    acc = fed(
        created("resp_5", model="m-server"),
        text_delta("second", 2, 0, "msg_2"),
        added(call_item("{}"), 1),
        text_delta("first", 0, 0, "msg_0"),
        request=REQUEST,
    )
    assert acc.partial() == {
        "id": "resp_5",
        "object": "response",
        "status": "incomplete",
        "model": "m-server",  # the server's own word wins over the request's
        "previous_response_id": "resp_prev",
        "instructions": "be brief",
        "tools": [{"type": "function", "name": "f"}],
        "store": False,
        "output": [
            message("first", "msg_0", status="incomplete"),
            call_item("{}"),
            message("second", "msg_2", status="incomplete"),
        ],
        "incomplete_details": {"reason": "interrupted"},
    }


def test_the_partial_before_any_snapshot_takes_the_request_fields_only():
    acc = fed(text_delta("x"), request=REQUEST)
    assert acc.partial("cancelled") == {
        "object": "response",
        "model": "m-1",
        "previous_response_id": "resp_prev",
        "instructions": "be brief",
        "tools": [{"type": "function", "name": "f"}],
        "store": False,
        "output": [message("x", status="incomplete")],
        "status": "incomplete",
        "incomplete_details": {"reason": "cancelled"},
    }


def test_a_request_field_the_snapshot_already_has_is_not_overwritten():
    response = {
        "id": "r",
        "model": "srv",
        "previous_response_id": None,
        "instructions": None,
        "tools": [],
        "store": True,
        "object": "response.x",
    }
    acc = fed({"type": "response.created", "response": response}, request=REQUEST)
    partial = acc.partial()
    for key in ("model", "previous_response_id", "instructions", "tools", "store", "object"):
        assert partial[key] == response[key]


def test_a_field_missing_from_the_request_is_not_invented():
    acc = fed(text_delta("x"), request={"model": "m"})
    assert set(acc.partial()) == {"object", "model", "output", "status", "incomplete_details"}


def test_the_partial_marks_only_unfinished_items_incomplete():
    acc = fed(
        added(message("a", "m0", status="completed"), 0),
        added(message("b", "m1", status="in_progress"), 1),
        added(call_item("{}"), 2),
    )
    assert [item.get("status") for item in acc.partial()["output"]] == [
        "completed",
        "incomplete",
        None,
    ]


def test_a_partial_is_a_copy_the_caller_may_change():
    acc = fed(created("resp_1", meta={"k": "v"}), text_delta("x"), request=REQUEST)
    first = acc.partial()
    first["output"][0]["content"][0]["text"] = "changed"
    first["meta"]["k"] = "changed"
    assert acc.output[0]["status"] == "in_progress"
    second = acc.partial()
    assert second["output"][0]["content"][0]["text"] == "x"
    assert second["meta"] == {"k": "v"}
    assert acc.response["status"] == "in_progress"


def test_a_partial_says_incomplete_even_after_the_final_snapshot():
    acc = fed(created(), completed([message("x", status="completed")]))
    partial = acc.partial("timeout")
    assert partial["status"] == "incomplete"
    assert partial["incomplete_details"] == {"reason": "timeout"}
    assert acc.final["status"] == "completed"


def test_the_partial_output_is_valid_json():
    acc = fed(created(), text_delta("é"), request=REQUEST)
    assert json.loads(json.dumps(acc.partial())) == acc.partial()
