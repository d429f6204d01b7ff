"""Building the next request of a conversation, replaying what the server cannot continue,
sending it and recording what came back (all of it, even when the stream breaks)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tui.api.accumulate import StreamAccumulator
from tui.api.client import ResponsesClient
from tui.api.errors import (
    ApiError,
    NotFoundError,
    PreviousResponseNotFound,
    ProtocolError,
    StreamFailed,
    StreamInterrupted,
)
from tui.api.items import normalize_input
from tui.api.profiles import Profile
from tui.ops.conversation import (
    CannotSend,
    TurnPlan,
    TurnResult,
    approval_items,
    continue_from,
    failure_message,
    function_output_items,
    not_recorded,
    pending_requests,
    plan_followup,
    plan_sibling,
    plan_turn,
    record,
    record_provisional,
    replay_items,
    replay_plan,
    send_turn,
    settings_of,
)
from tui.store.index import Index
from tui.store.records import LOGICAL_PARENT, Status

SERVER = "https://api.example.com/v1"
KEY = "sk-the-api-key-0001"
PROFILE = Profile(name="t", base_url=SERVER, api_key_env="T_KEY")
RID = "resp_" + "1" * 32
FN_TOOL = {"type": "function", "name": "lookup", "parameters": {"type": "object"}}
MCP_TOOL = {
    "type": "mcp",
    "server_label": "docs",
    "server_url": "https://mcp.example.com",
    "headers": {"Authorization": "Bearer ${DOCS_TOKEN}"},
}


@pytest.fixture
def index(tmp_path):
    with Index.open(tmp_path / "index") as idx:
        yield idx


def answer(text: str) -> dict:
    return {
        "type": "message",
        "id": "msg_" + text.replace(" ", "_"),
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def user(text: str, **extra) -> dict:
    return {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
        **extra,
    }


def put(
    index: Index,
    rid: str,
    parent: str | None = None,
    *,
    status: Status | None = None,
    request: dict | None = None,
    inputs: list | None = None,
    output: list | None = None,
    recorded: bool = True,
    n: int = 0,
    **extra,
) -> None:
    """A response in the index: `request` is what we sent (None: imported)."""
    if request is not None and parent:
        request = {**request, "previous_response_id": parent}
    response = {
        "id": rid,
        "object": "response",
        "created_at": 1_750_000_000 + n,
        "model": "echoed-model",
        "status": "completed",
        "previous_response_id": parent,
        "output": output if output is not None else [answer(f"answer {rid}")],
        **extra,
    }
    index.add_response(
        response,
        server=SERVER,
        profile="t",
        input_items=(inputs if inputs is not None else [user(f"ask {rid}")]) if recorded else None,
        keep_input=recorded,
        status=status,
        request=request,
    )


def chain(index: Index, *specs: tuple[str, Status]) -> None:
    parent = None
    for n, (rid, status) in enumerate(specs):
        put(index, rid, parent, status=status, n=n)
        parent = rid


# ------------------------------------------------------------------ settings_of


def test_settings_of_nothing_or_an_unknown_response_are_none(index):
    assert settings_of(index, SERVER, None) == {}
    assert settings_of(index, SERVER, "") == {}
    assert settings_of(index, SERVER, "resp_unknown") == {}


def test_settings_come_from_what_we_sent_not_what_the_server_echoed(index):
    sent = {
        "model": "sent-model",
        "tools": [MCP_TOOL],
        "instructions": "be brief",
        "temperature": 0.2,
        "top_p": 0.9,
        "reasoning": {"effort": "low"},
        "text": {"format": {"type": "json_object"}},
        "max_output_tokens": 50,
        "store": False,
        "previous_response_id": "resp_before",
    }
    put(index, "resp_a", request=sent, instructions="echoed", tools=[FN_TOOL])
    assert settings_of(index, SERVER, "resp_a") == {
        "model": "sent-model",
        "tools": [MCP_TOOL],  # placeholders kept
        "instructions": "be brief",
        "temperature": 0.2,
        "top_p": 0.9,
        "reasoning": {"effort": "low"},
        "text": {"format": {"type": "json_object"}},
        "max_output_tokens": 50,  # inherited (a run setting); store is not
    }


def test_an_imported_response_gives_what_the_server_echoed(index):
    put(
        index,
        "resp_a",
        instructions="echoed",
        tools=[FN_TOOL, 3, "x"],
        temperature=0.7,
        top_p=1.0,
        text={"format": {"type": "text"}},
        reasoning={"effort": None, "summary": None},
    )
    # Echoed defaults (plain text, no reasoning, 1.0) are not worth resending.
    assert settings_of(index, SERVER, "resp_a") == {
        "model": "echoed-model",
        "tools": [FN_TOOL],
        "instructions": "echoed",
        "temperature": 0.7,
    }


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ({"temperature": 1.0, "top_p": 0.5}, {"top_p": 0.5}),
        ({"temperature": 2.0, "top_p": 1.0}, {"temperature": 2.0}),
        ({"reasoning": {"effort": None, "summary": None}}, {}),
        ({"reasoning": {"effort": None}}, {"reasoning": {"effort": None}}),
        (
            {"reasoning": {"effort": "high", "summary": None}},
            {"reasoning": {"effort": "high", "summary": None}},
        ),
        ({"text": {"format": {"type": "text"}}}, {}),
        (
            {"text": {"format": {"type": "text"}, "verbosity": "low"}},
            {"text": {"format": {"type": "text"}, "verbosity": "low"}},
        ),
        ({"tools": [], "instructions": "", "text": {}, "reasoning": None}, {}),
        ({"tools": "nonsense"}, {}),
        ({"model": ""}, {}),
    ],
)
def test_empty_values_and_echoed_defaults_are_not_inherited(index, sent, expected):
    put(index, "resp_a", request=sent)
    assert settings_of(index, SERVER, "resp_a") == expected


# ------------------------------------------------------------------ plan_turn


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_an_empty_message_cannot_be_sent(index, text):
    with pytest.raises(CannotSend) as caught:
        plan_turn(index, SERVER, text=text, parent=None, default_model="m")
    assert str(caught.value) == "nothing to send: the message is empty"


def test_a_new_conversation(index):
    plan = plan_turn(index, SERVER, text="hello", parent=None, default_model="dm")
    assert plan.body == {"model": "dm", "input": normalize_input("hello")}
    assert plan.kind == "new"
    assert plan.parent is None and plan.settings_from is None
    assert plan.anchor is None and plan.replayed == 0
    assert plan.input_items == normalize_input("hello")
    assert plan.model == "dm"
    assert plan.request == {"model": "dm"}
    assert plan.tool_labels == []


def test_no_tools_asked_of_a_turn_that_had_none(index):
    plan = plan_turn(index, SERVER, text="x", parent=None, default_model="m", tools=[])
    assert plan.body == {"model": "m", "input": normalize_input("x")}


def test_not_stored_is_asked_for_only_when_wanted(index):
    plan = plan_turn(index, SERVER, text="x", parent=None, default_model="m", store=False)
    assert plan.body["store"] is False
    assert plan.request == {"model": "m", "store": False}


def test_a_reply_inherits_its_parents_settings_and_continues_it(index):
    put(index, "resp_a", request={"model": "pm", "tools": [FN_TOOL], "instructions": "be brief"})
    plan = plan_turn(index, SERVER, text="more", parent="resp_a", default_model="dm")
    assert plan.kind == "reply"
    assert plan.body == {
        "model": "pm",
        "tools": [FN_TOOL],
        "instructions": "be brief",
        "previous_response_id": "resp_a",
        "input": normalize_input("more"),
    }
    assert plan.parent == "resp_a" and plan.settings_from == "resp_a"
    assert plan.anchor == "resp_a" and plan.replayed == 0
    assert plan.tool_labels == ["lookup"]
    assert LOGICAL_PARENT not in plan.request


def test_a_reply_to_a_response_with_children_is_a_fork(index):
    put(index, "resp_a")
    put(index, "resp_b", "resp_a", n=1)
    assert plan_turn(index, SERVER, text="x", parent="resp_a", default_model="m").kind == "fork"
    assert plan_turn(index, SERVER, text="x", parent="resp_b", default_model="m").kind == "reply"


def test_a_reply_to_a_response_the_index_does_not_hold_is_left_to_the_server(index):
    plan = plan_turn(index, SERVER, text="x", parent="resp_elsewhere", default_model="dm")
    assert plan.kind == "reply"
    assert plan.body["previous_response_id"] == "resp_elsewhere"
    assert plan.body["model"] == "dm"
    assert plan.anchor == "resp_elsewhere" and plan.replayed == 0


def test_the_model_is_the_callers_then_the_parents_then_the_default(index):
    put(index, "resp_a", request={"model": "pm"})
    put(index, "resp_b", request={"instructions": "no model"}, n=1)

    def pick(parent, model):
        plan = plan_turn(index, SERVER, text="x", parent=parent, default_model="dm", model=model)
        return plan.model

    assert pick("resp_a", "chosen") == "chosen"
    assert pick("resp_a", None) == "pm"
    assert pick("resp_b", None) == "dm"
    assert pick(None, None) == "dm"


def test_overrides_win_over_inherited_settings(index):
    put(index, "resp_a", request={"model": "pm", "instructions": "old", "temperature": 0.3})
    plan = plan_turn(
        index,
        SERVER,
        text="x",
        parent="resp_a",
        default_model="dm",
        overrides={"instructions": "new", "max_output_tokens": 9},
    )
    assert plan.body["instructions"] == "new"
    assert plan.body["temperature"] == 0.3
    assert plan.body["max_output_tokens"] == 9


@pytest.mark.parametrize(
    ("tools", "expected"),
    [(None, [FN_TOOL]), ([], None), ([MCP_TOOL], [MCP_TOOL])],
)
def test_tools_given_replace_the_inherited_ones(index, tools, expected):
    put(index, "resp_a", request={"model": "pm", "tools": [FN_TOOL]})
    plan = plan_turn(index, SERVER, text="x", parent="resp_a", default_model="m", tools=tools)
    assert plan.body.get("tools") == expected
    if tools:
        assert plan.body["tools"][0] is not tools[0]  # a copy: the preset is not shared


# ------------------------------------------------------------------ replay_plan


def test_a_continuable_parent_is_sent_as_previous_response_id(index):
    chain(index, ("resp_a", Status.STORED), ("resp_b", Status.INCOMPLETE))
    assert replay_plan(index, SERVER, "resp_b") == ("resp_b", [])
    assert replay_plan(index, SERVER, "resp_a") == ("resp_a", [])


def test_an_unknown_parent_is_left_to_the_server(index):
    assert replay_plan(index, SERVER, "resp_x") == ("resp_x", [])


@pytest.mark.parametrize("gone", [Status.NOT_STORED, Status.DELETED, Status.MISSING, Status.FAILED])
def test_turns_the_server_cannot_continue_are_replayed_back_to_a_stored_one(index, gone):
    chain(
        index,
        ("resp_a", Status.STORED),
        ("resp_b", Status.STORED),
        ("resp_c", gone),
        ("resp_d", Status.NOT_STORED),
    )
    assert replay_plan(index, SERVER, "resp_d") == ("resp_b", ["resp_c", "resp_d"])
    assert replay_plan(index, SERVER, "resp_c") == ("resp_b", ["resp_c"])


def test_with_nothing_continuable_the_whole_path_is_replayed(index):
    chain(index, ("resp_a", Status.NOT_STORED), ("resp_b", Status.MISSING))
    assert replay_plan(index, SERVER, "resp_b") == (None, ["resp_a", "resp_b"])


# ------------------------------------------------------------------ replay_items


def test_replayed_turns_send_input_answer_and_calls_oldest_first(index):
    put(
        index,
        "resp_a",
        inputs=[
            user("first", id="msg_in", status="completed"),
            {"type": "function_call_output", "call_id": "call_0", "output": "42", "id": "fco_1"},
            {"type": "mcp_approval_response", "approval_request_id": "mcpr_0", "approve": True},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            "not an item",
            {"role": "system", "content": "no type, but a role"},
        ],
        output=[
            {"type": "reasoning", "id": "rs_2", "summary": []},
            answer("the answer"),
            "not an item",
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "call_1",
                "name": "f",
                "arguments": "",
            },
            {
                "type": "mcp_approval_request",
                "id": "mcpr_1",
                "server_label": "docs",
                "name": "search",
                "arguments": '{"q": 1}',
                "status": "x",
            },
            {"type": "mcp_call", "id": "mcp_1", "name": "other"},
        ],
    )
    put(index, "resp_b", "resp_a", inputs=[user("second")], output=[answer("  ")], n=1)
    assert replay_items(index, SERVER, ["resp_a", "resp_b"]) == [
        user("first"),
        {"type": "function_call_output", "call_id": "call_0", "output": "42"},
        {"type": "mcp_approval_response", "approval_request_id": "mcpr_0", "approve": True},
        {"role": "system", "content": "no type, but a role"},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "the answer"}],
        },
        {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
        {
            "type": "mcp_approval_request",
            "id": "mcpr_1",
            "server_label": "docs",
            "name": "search",
            "arguments": '{"q": 1}',
        },
        user("second"),  # a blank answer is not replayed
    ]


def test_a_call_without_arguments_is_replayed_with_empty_ones(index):
    put(
        index,
        "resp_a",
        output=[
            {"type": "mcp_approval_request", "id": "mcpr_1", "server_label": "s", "name": "n"},
            {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": '{"a": 1}'},
        ],
    )
    items = replay_items(index, SERVER, ["resp_a"])
    assert items[1:] == [
        {
            "type": "mcp_approval_request",
            "id": "mcpr_1",
            "server_label": "s",
            "name": "n",
            "arguments": "{}",
        },
        {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": '{"a": 1}'},
    ]


def test_a_turn_without_recorded_input_cannot_be_replayed(index):
    put(index, "resp_a", recorded=False)
    with pytest.raises(CannotSend) as caught:
        replay_items(index, SERVER, ["resp_a"])
    assert str(caught.value) == (
        "cannot replay resp_a: its input was not recorded (the server cannot return it), "
        "so this branch cannot be continued"
    )


def test_replaying_nothing_sends_nothing(index):
    assert replay_items(index, SERVER, []) == []


# ------------------------------------------------------------------ continue_from


def test_a_reply_to_an_unstored_turn_replays_it_before_the_new_input(index):
    chain(index, ("resp_a", Status.STORED), ("resp_b", Status.NOT_STORED))
    plan = plan_turn(index, SERVER, text="third", parent="resp_b", default_model="m")
    assert plan.body["previous_response_id"] == "resp_a"
    assert plan.body["input"] == [
        user("ask resp_b"),
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "answer resp_b"}],
        },
        *normalize_input("third"),
    ]
    assert plan.anchor == "resp_a" and plan.replayed == 1
    assert plan.input_items == normalize_input("third")  # only the new input is recorded
    assert plan.request[LOGICAL_PARENT] == "resp_b"  # its place in the forest


def test_replaying_everything_sends_no_previous_response_id(index):
    chain(index, ("resp_a", Status.NOT_STORED))
    plan = plan_turn(index, SERVER, text="x", parent="resp_a", default_model="m")
    assert "previous_response_id" not in plan.body
    assert plan.anchor is None and plan.replayed == 1
    assert len(plan.body["input"]) == 3


def test_continuing_again_replaces_what_an_earlier_plan_said(index):
    plan = TurnPlan(
        {"model": "m", "previous_response_id": "resp_old", "input": ["old"]},
        None,
        normalize_input("x"),
        "new",
    )
    continue_from(index, SERVER, plan)
    assert plan.body == {"model": "m", "input": normalize_input("x")}
    assert plan.body["input"] is not plan.input_items


# ------------------------------------------------------------------ plan_sibling


def test_a_sibling_of_an_unknown_response_cannot_be_planned(index):
    with pytest.raises(CannotSend) as caught:
        plan_sibling(index, SERVER, "resp_x", text="t", default_model="m")
    assert str(caught.value) == "unknown response resp_x"


def test_regenerate_sends_the_same_input_without_stored_ids(index):
    put(index, "resp_a", request={"model": "pm"})
    recorded = [
        user("again", id="msg_1", status="completed"),
        user("still typing", status="incomplete"),
    ]
    put(
        index, "resp_b", "resp_a", request={"model": "bm", "tools": [FN_TOOL]}, inputs=recorded, n=1
    )
    plan = plan_sibling(index, SERVER, "resp_b", text=None, default_model="dm")
    assert plan.kind == "regenerate"
    assert plan.parent == "resp_a" and plan.settings_from == "resp_b"
    assert plan.input_items == [user("again"), user("still typing", status="incomplete")]
    assert plan.body == {
        "model": "bm",
        "tools": [FN_TOOL],
        "previous_response_id": "resp_a",
        "input": plan.input_items,
    }
    # The stored input is untouched.
    assert index.load_body(SERVER, "resp_b")["input"][0]["id"] == "msg_1"


def test_regenerate_needs_the_recorded_input(index):
    put(index, "resp_a", recorded=False)
    with pytest.raises(CannotSend) as caught:
        plan_sibling(index, SERVER, "resp_a", text=None, default_model="m")
    assert str(caught.value) == (
        "cannot regenerate: the input of this response was not recorded "
        "(the server cannot return it); use edit to type it again"
    )


def test_edit_sends_new_input_in_place_of_the_old(index):
    put(index, "resp_a", request={"instructions": "no model here"})
    plan = plan_sibling(index, SERVER, "resp_a", text="instead", default_model="dm")
    assert plan.kind == "edit"
    assert plan.parent is None
    assert plan.body == {
        "instructions": "no model here",
        "model": "dm",
        "input": normalize_input("instead"),
    }


def test_a_sibling_under_an_unstored_parent_replays_the_parent(index):
    put(index, "resp_a", status=Status.NOT_STORED)
    put(index, "resp_b", "resp_a", n=1)
    plan = plan_sibling(index, SERVER, "resp_b", text=None, default_model="m")
    assert plan.anchor is None and plan.replayed == 1
    assert "previous_response_id" not in plan.body
    assert plan.body["input"][0] == user("ask resp_a")
    assert plan.body["input"][-1] == user("ask resp_b")


def test_an_empty_edit_cannot_be_sent(index):
    put(index, "resp_a")
    with pytest.raises(CannotSend) as caught:
        plan_sibling(index, SERVER, "resp_a", text="  ", default_model="m")
    assert str(caught.value) == "nothing to send: the message is empty"


@pytest.mark.parametrize(
    ("tools", "expected"), [(None, [FN_TOOL]), ([], None), ([MCP_TOOL], [MCP_TOOL])]
)
def test_a_sibling_takes_the_tools_given(index, tools, expected):
    put(index, "resp_a", request={"model": "pm", "tools": [FN_TOOL]})
    plan = plan_sibling(index, SERVER, "resp_a", text="x", default_model="m", tools=tools)
    assert plan.body.get("tools") == expected


# ------------------------------------------------------------------ follow-ups and pending asks


def test_approval_and_function_output_items():
    assert approval_items("mcpr_1", True) == [
        {"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": True}
    ]
    assert approval_items("mcpr_2", False) == [
        {"type": "mcp_approval_response", "approval_request_id": "mcpr_2", "approve": False}
    ]
    assert function_output_items("call_1", "42") == [
        {"type": "function_call_output", "call_id": "call_1", "output": "42"}
    ]


def test_a_follow_up_continues_the_response_with_its_tools(index):
    put(index, "resp_a", request={"model": "pm", "tools": [MCP_TOOL]})
    items = approval_items("mcpr_1", True)
    plan = plan_followup(index, SERVER, "resp_a", items, default_model="dm", kind="approval")
    assert plan.kind == "approval"
    assert plan.parent == "resp_a" and plan.settings_from == "resp_a"
    assert plan.input_items == items and plan.input_items is not items
    assert plan.body == {
        "model": "pm",
        "tools": [MCP_TOOL],
        "previous_response_id": "resp_a",
        "input": items,
    }


def test_a_follow_up_to_an_unstored_response_replays_its_calls(index):
    call = {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"}
    put(index, "resp_a", status=Status.NOT_STORED, output=[call], request={"store": False})
    items = function_output_items("call_1", "42")
    plan = plan_followup(index, SERVER, "resp_a", items, default_model="dm", kind="function output")
    assert plan.body == {"model": "dm", "input": [user("ask resp_a"), call, *items]}
    assert plan.anchor is None and plan.replayed == 1


def ask_output() -> list:
    return [
        answer("let me check"),
        {"type": "mcp_approval_request", "id": "mcpr_1", "server_label": "s", "name": "n"},
        {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
        {"type": "function_call", "call_id": "call 2", "name": "bad id"},
        {"type": "mcp_approval_request", "name": "no id"},
        {"type": "custom_tool_call", "call_id": "call_c", "name": "grammar", "input": "x"},
        "junk",
    ]


def test_pending_requests_are_the_unanswered_asks_in_order(index):
    put(index, "resp_a", output=ask_output())
    assert [i.get("id") or i.get("call_id") for i in pending_requests(index, SERVER, "resp_a")] == [
        "mcpr_1",
        "call_1",
    ]


def test_a_later_turn_answers_an_ask(index):
    put(index, "resp_a", output=ask_output())
    put(index, "resp_b", "resp_a", inputs=function_output_items("call_1", "x"), n=1)
    assert [i["id"] for i in pending_requests(index, SERVER, "resp_a")] == ["mcpr_1"]
    put(index, "resp_c", "resp_a", inputs=["junk", *approval_items("mcpr_1", False)], n=2)
    assert pending_requests(index, SERVER, "resp_a") == []


def test_a_turn_without_recorded_input_answers_nothing(index):
    put(index, "resp_a", output=ask_output())
    put(index, "resp_b", "resp_a", recorded=False, n=1)
    assert len(pending_requests(index, SERVER, "resp_a")) == 2


def test_the_response_itself_can_answer_its_asks(index):
    """open-responses-server runs a tool itself: the call and its output come together."""
    put(
        index,
        "resp_a",
        output=[
            *ask_output(),
            {"type": "function_call_output", "call_id": "call_1", "output": "done"},
            {"type": "mcp_call", "approval_request_id": "mcpr_1", "name": "n"},
        ],
    )
    assert pending_requests(index, SERVER, "resp_a") == []


@pytest.mark.parametrize(
    "answers",
    [
        [{"type": "function_call_output", "output": "no call id"}],
        [{"type": "function_call_output", "call_id": "", "output": "empty call id"}],
        [{"type": "mcp_approval_response", "approve": True}],
        [{"type": "message", "call_id": "call_1", "approval_request_id": "mcpr_1"}],
        [{"type": "mcp_list_tools", "approval_request_id": "mcpr_1"}],
    ],
)
def test_only_real_answers_count(index, answers):
    put(index, "resp_a", output=ask_output())
    put(index, "resp_b", "resp_a", inputs=answers, n=1)
    assert len(pending_requests(index, SERVER, "resp_a")) == 2


def test_no_asks_no_pending(index):
    put(index, "resp_a")
    assert pending_requests(index, SERVER, "resp_a") == []
    assert pending_requests(index, SERVER, "resp_unknown") == []


def test_an_approval_request_is_named_by_its_id_and_a_call_by_its_call_id(index):
    put(
        index,
        "resp_a",
        output=[
            {"type": "mcp_approval_request", "id": "mcpr_1", "call_id": "ignored"},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1"},
        ],
    )
    put(
        index,
        "resp_b",
        "resp_a",
        inputs=[*function_output_items("fc_1", "x"), *approval_items("ignored", True)],
        n=1,
    )
    assert len(pending_requests(index, SERVER, "resp_a")) == 2


# ------------------------------------------------------------------ failure_message


def plan_with(anchor: str | None) -> TurnPlan:
    plan = TurnPlan({"model": "m"}, "resp_p", [], "reply")
    plan.anchor = anchor
    return plan


def test_a_parent_the_server_lost_says_it_will_be_replayed():
    error = PreviousResponseNotFound("create: gone", detail="Response not found")
    assert failure_message(plan_with("resp_a"), error) == (
        "resp_a can no longer be continued on the server (Response not found); it is now "
        "marked missing. Send again: the path will be replayed as explicit input."
    )
    assert failure_message(plan_with("resp_a"), PreviousResponseNotFound("gone")) == (
        "resp_a can no longer be continued on the server; it is now marked missing. "
        "Send again: the path will be replayed as explicit input."
    )


def test_other_failures_are_the_errors_own_words():
    assert failure_message(plan_with(None), PreviousResponseNotFound("no anchor")) == "no anchor"
    assert failure_message(plan_with("resp_a"), ApiError("rate limited")) == "rate limited"


# ------------------------------------------------------------------ recording


def new_plan(index: Index, parent: str | None = None, **kw) -> TurnPlan:
    return plan_turn(index, SERVER, text="question", parent=parent, default_model="m", **kw)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"status": "completed"}, Status.STORED),
        ({"status": "in_progress"}, Status.INCOMPLETE),
        ({"status": "weird"}, Status.INCOMPLETE),
        ({}, Status.INCOMPLETE),
        ({"status": "failed"}, Status.FAILED),
        ({"status": "completed", "store": False}, Status.NOT_STORED),
    ],
)
def test_record_derives_the_status(index, extra, expected):
    summary = record(index, SERVER, "t", new_plan(index), {"id": RID, "output": [], **extra})
    assert summary.status == expected
    assert index.get(SERVER, RID).status == expected


def test_record_keeps_what_we_sent_and_scrubs_secrets(index):
    put(index, "resp_a")
    plan = new_plan(index, "resp_a", tools=[MCP_TOOL])
    response = {
        "id": RID,
        "status": "completed",
        "previous_response_id": "resp_other",
        "instructions": f"token {KEY}",
        "output": [answer(f"{KEY} leaked")],
    }
    summary = record(index, SERVER, "prof", plan, response, [KEY])
    assert summary.parent == "resp_a"  # the parent we sent, whatever was echoed
    assert summary.profile == "prof"
    body = index.load_body(SERVER, RID)
    assert body["response"]["instructions"] == "token ***"
    assert body["input"] == normalize_input("question")
    assert body["request"] == plan.request
    assert body["request"]["tools"] == [MCP_TOOL]  # placeholders kept
    assert response["instructions"] == f"token {KEY}"  # the caller's copy is not changed


def test_record_without_secrets_stores_the_response_as_is(index):
    record(
        index, SERVER, "t", new_plan(index), {"id": RID, "status": "completed", "note": "sk-x-1"}
    )
    assert index.load_body(SERVER, RID)["response"]["note"] == "sk-x-1"


def test_a_provisional_record_hangs_under_the_parent_we_sent(index):
    put(index, "resp_a", request={"instructions": "i"})
    plan = new_plan(index, "resp_a")
    summary = record_provisional(
        index,
        SERVER,
        "prof",
        plan,
        {"id": RID, "status": "in_progress", "previous_response_id": "x"},
    )
    assert summary.parent == "resp_a" and summary.status == Status.INCOMPLETE
    assert summary.model == "m" and summary.profile == "prof"
    body = index.load_body(SERVER, RID)
    assert body["input"] == normalize_input("question")
    assert body["request"] == plan.request
    assert body["response"]["previous_response_id"] == "resp_a"


def test_a_provisional_record_keeps_the_servers_model(index):
    summary = record_provisional(index, SERVER, "t", new_plan(index), {"id": RID, "model": "real"})
    assert summary.model == "real"
    assert summary.parent is None
    assert summary.status == Status.INCOMPLETE  # until the stream ends, whatever it says


def test_a_provisional_record_is_incomplete_even_when_said_completed(index):
    response = {"id": RID, "status": "completed", "output": [answer("early")]}
    summary = record_provisional(index, SERVER, "t", new_plan(index), response)
    assert summary.status == Status.INCOMPLETE


@pytest.mark.parametrize("rid", [None, "", "has space", "bad/slash", 7])
def test_no_provisional_record_for_an_id_that_is_not_an_id(index, rid):
    assert record_provisional(index, SERVER, "t", new_plan(index), {"id": rid}) is None
    assert index.nodes() == []


@pytest.mark.parametrize(
    ("response", "strerror", "expected"),
    [
        (
            {"id": RID},
            "No space left on device",
            f"the reply {RID} was created on the server but could not be recorded in the index "
            f"(No space left on device); once there is room: responses-tui import {RID}",
        ),
        (
            {"id": "bad id"},
            "Read-only file system",
            "the reply could not be recorded in the index (Read-only file system)",
        ),
        (None, None, "the reply could not be recorded in the index (OSError)"),
    ],
)
def test_not_recorded_says_why_and_how_to_import_it_later(response, strerror, expected):
    error = OSError(28, strerror) if strerror else OSError()
    assert str(not_recorded(response, error)) == expected


def test_not_recorded_names_the_kind_of_error_without_a_reason():
    assert str(not_recorded({"id": RID}, PermissionError())).endswith(
        f"index (PermissionError); once there is room: responses-tui import {RID}"
    )


# ------------------------------------------------------------------ send_turn


def sse(*events: dict | str) -> bytes:
    out = []
    for event in events:
        if isinstance(event, str):
            out.append(f"data: {event}\n\n")
        else:
            out.append(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n")
    return "".join(out).encode()


def created(rid: str = RID, **extra) -> dict:
    response = {"id": rid, "object": "response", "status": "in_progress", "output": [], **extra}
    return {"type": "response.created", "response": response}


def delta(text: str) -> dict:
    return {
        "type": "response.output_text.delta",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": text,
    }


def completed(rid: str = RID, text: str = "hello", **extra) -> dict:
    response = {
        "id": rid,
        "object": "response",
        "status": "completed",
        "model": "served",
        "output": [answer(text)],
        **extra,
    }
    return {"type": "response.completed", "response": response}


class Wire:
    """Answers each create with the next scripted reply; records the request bodies."""

    def __init__(self, *replies: httpx.Response | bytes) -> None:
        self.replies = list(replies)
        self.bodies: list[dict] = []
        self.headers: list[httpx.Headers] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        self.headers.append(request.headers)
        reply = self.replies.pop(0)
        if isinstance(reply, bytes):
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=reply)
        return reply


async def no_sleep(_s: float) -> None:
    return None


def client_for(wire: Wire) -> ResponsesClient:
    return ResponsesClient(
        PROFILE, env={"T_KEY": KEY}, transport=httpx.MockTransport(wire), sleep=no_sleep
    )


async def send(index: Index, wire: Wire, plan: TurnPlan, **kw) -> TurnResult:
    async with client_for(wire) as client:
        return await send_turn(client, index, plan, server=SERVER, profile="prof", **kw)


async def test_a_turn_streams_and_is_recorded(index):
    wire = Wire(sse(created(), delta("hel"), delta("lo"), completed()))
    seen: list[tuple[str, int]] = []
    plan = new_plan(index)
    result = await send(
        index, wire, plan, on_event=lambda e, acc: seen.append((e.type, acc.events))
    )
    assert result.ok and result.error is None and not result.cancelled
    assert result.response["id"] == RID
    assert result.summary == index.get(SERVER, RID)
    assert result.summary.status == Status.STORED and result.summary.profile == "prof"
    assert result.warnings == []
    assert seen == [
        ("response.created", 1),
        ("response.output_text.delta", 2),
        ("response.output_text.delta", 3),
        ("response.completed", 4),
    ]
    assert wire.bodies == [{**plan.body, "stream": True}]


async def test_an_async_event_handler_is_awaited(index):
    wire = Wire(sse(created(), completed()))
    seen: list[str] = []

    async def on_event(event, acc):
        await asyncio.sleep(0)
        seen.append(event.type)

    await send(index, wire, new_plan(index), on_event=on_event)
    assert seen == ["response.created", "response.completed"]


async def test_the_callers_accumulator_is_the_one_fed(index):
    wire = Wire(sse(created(), delta("hi"), completed(text="hi")))
    acc = StreamAccumulator()
    result = await send(index, wire, new_plan(index), accumulator=acc)
    assert acc.events == 3 and acc.text == "hi"
    assert result.ok


async def test_tool_placeholders_are_filled_on_the_wire_only(index):
    wire = Wire(sse(created(), completed(text="token tok-secret-42 seen", tools=[MCP_TOOL])))
    plan = new_plan(index, tools=[MCP_TOOL])
    async with client_for(wire) as client:
        result = await send_turn(
            client,
            index,
            plan,
            server=SERVER,
            profile="prof",
            env={"DOCS_TOKEN": "tok-secret-42"},
        )
        assert "tok-secret-42" in client.secrets()
    sent = wire.bodies[0]["tools"][0]
    assert sent["headers"] == {"Authorization": "Bearer tok-secret-42"}
    assert plan.body["tools"] == [MCP_TOOL]  # the plan keeps the placeholder
    assert result.response["output"][0]["content"][0]["text"] == "token *** seen"
    body = index.load_body(SERVER, RID)
    assert body["response"]["output"][0]["content"][0]["text"] == "token *** seen"
    assert body["request"]["tools"] == [MCP_TOOL]


async def test_tool_placeholders_come_from_the_process_environment_by_default(index, monkeypatch):
    monkeypatch.setenv("DOCS_TOKEN", "tok-from-process")
    wire = Wire(sse(created(), completed()))
    result = await send(index, wire, new_plan(index, tools=[MCP_TOOL]))
    assert result.ok
    assert wire.bodies[0]["tools"][0]["headers"]["Authorization"] == "Bearer tok-from-process"


async def test_a_tool_variable_that_is_not_set_sends_nothing(index):
    wire = Wire()
    result = await send(index, wire, new_plan(index, tools=[MCP_TOOL]), env={})
    assert wire.bodies == []
    assert (result.response, result.summary) == (None, None)
    assert type(result.error) is ApiError
    assert str(result.error) == (
        "the tool 'docs' needs $DOCS_TOKEN, which is not set in the environment"
    )
    assert not result.ok


async def test_the_key_echoed_in_an_answer_is_scrubbed(index):
    wire = Wire(sse(created(), completed(text=f"your key is {KEY}")))
    result = await send(index, wire, new_plan(index))
    assert result.response["output"][0]["content"][0]["text"] == "your key is ***"
    assert KEY not in json.dumps(index.load_body(SERVER, RID))


async def test_a_broken_stream_keeps_the_partial_answer_marked_incomplete(index):
    wire = Wire(sse(created(instructions=f"k {KEY}"), "{not json", delta("half an ans")))
    put(index, "resp_a", request={"instructions": "i"})
    plan = new_plan(index, "resp_a")
    result = await send(index, wire, plan)
    assert isinstance(result.error, StreamInterrupted)
    assert str(result.error) == (
        "the stream ended before the response finished; the partial answer is kept"
    )
    assert not result.ok
    assert result.warnings == ["skipped a malformed event (message)"]
    assert result.response["instructions"] == "k ***"
    assert result.response["output"][0]["content"][0]["text"] == "half an ans"
    assert result.summary == index.get(SERVER, RID)
    assert result.summary.status == Status.INCOMPLETE
    assert result.summary.parent == "resp_a"
    assert result.summary.model == "m"  # the partial had none: the one we asked for
    body = index.load_body(SERVER, RID)
    assert body["input"] == normalize_input("question")
    assert body["request"] == plan.request
    assert body["response"]["instructions"] == "k ***"


async def test_a_failed_response_is_recorded_failed(index):
    failed = completed(status="failed", error={"code": "server_error", "message": "boom"})
    failed["type"] = "response.failed"
    wire = Wire(sse(created(), failed))
    result = await send(index, wire, new_plan(index))
    assert isinstance(result.error, StreamFailed)
    assert str(result.error) == "the response failed: boom"
    assert result.summary.status == Status.FAILED
    assert result.summary.model == "served"


async def test_a_failed_response_without_model_or_parent_gets_the_ones_we_sent(index):
    put(index, "resp_a", request={"instructions": "i"})
    failed = {
        "type": "response.failed",
        "response": {"id": RID, "status": "failed", "output": [], "error": {"message": "no"}},
    }
    plan = new_plan(index, "resp_a")
    result = await send(index, Wire(sse(failed)), plan)
    assert result.summary.status == Status.FAILED
    response = index.load_body(SERVER, RID)["response"]
    assert response["model"] == "m"
    assert response["previous_response_id"] == "resp_a"


async def test_a_partial_keeps_the_settings_we_sent(index):
    plan = new_plan(index, overrides={"instructions": "be brief"}, store=False)
    result = await send(index, Wire(sse(created(), delta("x"))), plan)
    response = index.load_body(SERVER, RID)["response"]
    assert response["instructions"] == "be brief"
    assert response["store"] is False
    assert result.summary.status == Status.INCOMPLETE


async def test_a_replayed_partial_records_its_logical_parent(index):
    put(index, "resp_a", status=Status.NOT_STORED)
    plan = new_plan(index, "resp_a")
    assert plan.anchor is None
    result = await send(index, Wire(sse(created(), delta("x"))), plan)
    assert result.summary.parent == "resp_a"
    assert index.load_body(SERVER, RID)["response"]["previous_response_id"] == "resp_a"


async def test_a_stream_that_breaks_before_an_id_records_nothing(index):
    wire = Wire(sse(delta("orphan text")))
    result = await send(index, wire, new_plan(index))
    assert isinstance(result.error, StreamInterrupted)
    assert result.summary is None
    assert result.response["output"][0]["content"][0]["text"] == "orphan text"
    assert index.nodes() == []


async def test_a_stream_whose_id_is_not_an_id_records_nothing(index):
    wire = Wire(sse(created("not an id!"), delta("x")))
    result = await send(index, wire, new_plan(index))
    assert isinstance(result.error, StreamInterrupted)
    assert result.summary is None
    assert index.nodes() == []


async def test_a_full_disk_while_keeping_a_partial_says_so(index, monkeypatch):
    wire = Wire(sse(created(), delta("x")))

    def full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index, "add_response", full)
    result = await send(index, wire, new_plan(index))
    assert result.summary is None
    assert result.response["id"] == RID
    assert result.warnings == []
    assert str(result.error) == str(
        not_recorded({"id": RID}, OSError(28, "No space left on device"))
    )


async def test_a_full_disk_after_a_finished_turn_says_how_to_import_it(index, monkeypatch):
    wire = Wire(sse(created(), completed(text=f"k={KEY}")))

    def full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index, "add_response", full)
    result = await send(index, wire, new_plan(index))
    assert result.summary is None
    assert result.response["output"][0]["content"][0]["text"] == "k=***"
    assert result.warnings == []
    assert str(result.error) == (
        f"the reply {RID} was created on the server but could not be recorded in the index "
        f"(No space left on device); once there is room: responses-tui import {RID}"
    )
    assert not result.ok


async def test_a_finished_turn_whose_id_is_not_an_id_is_refused(index):
    wire = Wire(sse(completed("a b")))
    result = await send(index, wire, new_plan(index))
    assert isinstance(result.error, ProtocolError)
    assert str(result.error) == "the server answered with a response id that is not an id"
    assert result.warnings == []
    assert (result.response, result.summary) == (None, None)
    assert index.nodes() == []


async def test_a_reply_given_as_plain_json_is_recorded(index):
    final = completed()["response"]
    wire = Wire(httpx.Response(200, json=final))
    result = await send(index, wire, new_plan(index))
    assert result.ok and result.summary.status == Status.STORED


async def test_an_http_error_records_nothing(index):
    wire = Wire(httpx.Response(400, json={"error": {"message": "bad temperature"}}))
    result = await send(index, wire, new_plan(index))
    assert (result.response, result.summary) == (None, None)
    assert "bad temperature" in str(result.error)
    assert result.warnings == []
    assert index.nodes() == []


def previous_gone(rid: str) -> httpx.Response:
    return httpx.Response(
        400,
        json={
            "error": {
                "message": f"Previous response with id '{rid}' not found.",
                "code": "previous_response_not_found",
            }
        },
    )


async def test_a_parent_the_server_lost_is_marked_missing(index):
    put(index, "resp_a")
    plan = new_plan(index, "resp_a")
    result = await send(index, Wire(previous_gone("resp_a")), plan)
    assert isinstance(result.error, PreviousResponseNotFound)
    assert (result.response, result.summary) == (None, None)
    assert result.warnings == []
    assert index.get(SERVER, "resp_a").status == Status.MISSING
    assert failure_message(plan, result.error).startswith("resp_a can no longer be continued")


async def test_a_lost_parent_the_index_does_not_hold_is_only_reported(index):
    plan = new_plan(index, "resp_elsewhere")
    result = await send(index, Wire(previous_gone("resp_elsewhere")), plan)
    assert isinstance(result.error, PreviousResponseNotFound)
    assert index.nodes() == []


async def test_a_lost_parent_without_an_anchor_marks_nothing(index):
    put(index, "resp_a", status=Status.NOT_STORED)
    plan = new_plan(index, "resp_a")
    assert plan.anchor is None
    result = await send(index, Wire(previous_gone("resp_a")), plan)
    assert result.error is not None
    assert index.get(SERVER, "resp_a").status == Status.NOT_STORED


async def test_not_found_for_another_reason_marks_nothing(index):
    put(index, "resp_a")
    plan = new_plan(index, "resp_a")
    wire = Wire(httpx.Response(404, json={"error": {"message": "model 'm' not found"}}))
    result = await send(index, wire, plan)
    assert isinstance(result.error, NotFoundError)
    assert not isinstance(result.error, PreviousResponseNotFound)
    assert index.get(SERVER, "resp_a").status == Status.STORED


async def test_a_cancelled_turn_keeps_what_arrived_and_cancels(index):
    wire = Wire(sse(created(note=KEY), delta("partial wor"), delta("ds"), completed()))

    def on_event(event, acc):
        if event.type == "response.output_text.delta":
            raise asyncio.CancelledError

    put(index, "resp_a")
    plan = new_plan(index, "resp_a")
    with pytest.raises(asyncio.CancelledError):
        await send(index, wire, plan, on_event=on_event)
    node = index.get(SERVER, RID)
    assert node.status == Status.INCOMPLETE and node.parent == "resp_a"
    assert node.profile == "prof"
    body = index.load_body(SERVER, RID)
    assert body["response"]["incomplete_details"] == {"reason": "cancelled"}
    assert body["response"]["note"] == "***"
    assert body["response"]["output"][0]["content"][0]["text"] == "partial wor"
    assert body["request"] == plan.request


async def test_a_cancel_before_any_id_records_nothing(index):
    wire = Wire(sse(delta("x"), completed()))

    def on_event(event, acc):
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await send(index, wire, new_plan(index), on_event=on_event)
    assert index.nodes() == []


def test_a_turn_result_is_ok_only_with_a_response_and_no_error():
    assert TurnResult({"id": RID}, None).ok
    assert not TurnResult(None, None).ok
    assert not TurnResult({"id": RID}, None, error=ApiError("x")).ok
    assert not TurnResult({"id": RID}, None, cancelled=True).ok
