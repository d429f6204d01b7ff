"""tui.api.items: the lenient readers of items and responses, value by value: which ids are
safe, what type an item has, what text a message, an input or a response yields, where
`<think>` reasoning goes, and how both MCP call shapes read."""

from __future__ import annotations

import pytest

from tui.api.items import (
    as_text,
    content_text,
    input_text,
    item_type,
    normalize_input,
    normalize_mcp_call,
    output_items,
    parts,
    reasoning_text,
    response_text,
    safe_id,
    split_think,
    text_field,
    tool_list,
    tool_names,
    uses_tools,
)


def message(text, role="assistant", kind="output_text"):
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}


# ------------------------------------------------------------------ ids and types


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("resp_abc123", True),
        ("a.b:c-d_e", True),
        ("x" * 256, True),
        ("x" * 257, False),
        ("", False),
        ("..", False),
        (".", False),
        ("a..", True),
        ("x\n", False),
        ("a b", False),
        ("a/b", False),
        ("\x1b[31m", False),
        (None, False),
        (123, False),
        (b"resp_1", False),
    ],
)
def test_an_id_is_safe_only_as_up_to_256_letters_digits_and_dot_colon_dash_underscore(value, safe):
    assert safe_id(value) is safe


@pytest.mark.parametrize(
    ("item", "kind"),
    [
        ({"type": "mcp_call"}, "mcp_call"),
        ({"type": "message", "role": "user"}, "message"),
        ({"role": "user", "content": "hi"}, "message"),  # an EasyInputMessage has no type
        ({"type": "", "role": "user", "content": "hi"}, "message"),
        ({"type": 5, "role": "user", "content": "hi"}, "message"),
        ({"type": 5}, "unknown"),
        ({"type": ["message"]}, "unknown"),
        ({"role": "user"}, "unknown"),
        ({"content": "hi"}, "unknown"),
        ({}, "unknown"),
        ("message", "unknown"),
        (None, "unknown"),
        (["type"], "unknown"),
    ],
)
def test_the_item_type_is_its_type_string_or_message_for_a_role_and_content(item, kind):
    assert item_type(item) == kind


# ------------------------------------------------------------------ input


def test_a_string_input_is_one_user_message():
    assert normalize_input("hello") == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}
    ]


@pytest.mark.parametrize("value", [None, 5, {"role": "user"}, b"bytes"])
def test_input_that_is_neither_text_nor_a_list_is_no_items(value):
    assert normalize_input(value) == []


def test_list_input_gets_message_types_and_content_parts():
    original = [
        {"role": "user", "content": "question"},
        {"role": "assistant", "content": "answer"},
        {"role": "system", "content": "rules"},
        {"role": "developer", "content": [{"type": "input_text", "text": "kept"}]},
        "not an item",
        7,
        {"type": "function_call_output", "call_id": "c1", "output": "42"},
    ]
    assert normalize_input(original) == [
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "question"}],
        },
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "answer"}],
        },
        {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "rules"}]},
        {
            "type": "message",
            "role": "developer",
            "content": [{"type": "input_text", "text": "kept"}],
        },
        {"type": "function_call_output", "call_id": "c1", "output": "42"},
    ]
    # the caller's items are copies, never changed in place
    assert original[0] == {"role": "user", "content": "question"}


def test_a_message_without_a_role_gets_input_text_parts():
    assert normalize_input([{"type": "message", "content": "x"}]) == [
        {"type": "message", "content": [{"type": "input_text", "text": "x"}]}
    ]


def test_a_non_message_item_with_string_content_is_left_as_it_is():
    item = {"type": "custom", "content": "raw"}
    assert normalize_input([item]) == [item]


@pytest.mark.parametrize(
    ("items", "role", "expected"),
    [
        ("plain", "user", "plain"),
        (
            [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
            "user",
            "a",
        ),
        (
            [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
            "assistant",
            "b",
        ),
        (
            [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
            None,
            "a\n\nb",
        ),
        ([{"type": "message", "content": "no role"}], "user", "no role"),  # user by default
        ([{"type": "message", "content": "no role"}], "assistant", ""),
        ([{"role": "user", "content": ""}, {"role": "user", "content": "b"}], "user", "b"),
        (
            [
                {"type": "function_call_output", "call_id": "c", "output": {"temp": 21}},
                {"role": "user", "content": "and now?"},
            ],
            "user",
            '[function output] {"temp": 21}\n\nand now?',
        ),
        ([{"type": "function_call_output", "output": None}], "user", "[function output] "),
        ([{"type": "mcp_approval_response", "approve": True}], "user", "[approved]"),
        ([{"type": "mcp_approval_response", "approve": False}], "user", "[denied]"),
        ([{"type": "mcp_approval_response"}], "user", "[denied]"),
        (
            [{"type": "reasoning", "summary": []}, {"role": "user", "content": "after"}],
            "user",
            "after",
        ),
    ],
)
def test_input_text_is_the_roles_text_with_tool_outputs_and_approvals(items, role, expected):
    assert input_text(items, role) == expected


def test_input_text_reads_the_user_by_default():
    items = [{"role": "assistant", "content": "b"}, {"role": "user", "content": "a"}]
    assert input_text(items) == "a"


# ------------------------------------------------------------------ fields and parts


def test_output_items_is_the_output_list_or_nothing():
    items = [{"type": "message"}]
    assert output_items({"output": items}) is items
    assert output_items({"output": {"type": "message"}}) == []
    assert output_items({"output": "text"}) == []
    assert output_items({}) == []
    assert output_items(["output"]) == []
    assert output_items(None) == []


def test_parts_is_the_list_or_nothing():
    value = [1, "a"]
    assert parts(value) is value
    assert parts("abc") == []
    assert parts({"a": 1}) == []
    assert parts(None) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("done", "done"),
        ("", ""),
        (3, "3"),
        (0, "0"),
        (2.5, "2.5"),
        (True, ""),
        (False, ""),
        (None, ""),
        (["x"], ""),
        ({"a": 1}, ""),
    ],
)
def test_a_text_field_is_a_non_empty_string_or_a_number_as_digits(value, expected):
    assert text_field(value) == expected


def test_a_text_field_falls_back_to_the_given_default():
    assert text_field(None, "?") == "?"
    assert text_field("", "?") == "?"
    assert text_field(True, "?") == "?"
    assert text_field("x", "?") == "x"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("plain", "plain"),
        ([{"type": "output_text", "text": "a"}, {"type": "output_text", "text": "b"}], "ab"),
        (["a", {"text": "b"}, "c"], "abc"),
        ([{"type": "refusal", "refusal": "I can't"}], "I can't"),
        ([{"type": "refusal", "refusal": 5}], ""),
        ([{"type": "other", "refusal": "no"}], ""),  # a refusal only counts in a refusal part
        ([{"type": "refusal", "text": "t", "refusal": "r"}], "t"),
        ([{"text": 5}, {"text": None}, 7, None, {"type": "input_image"}], ""),
        ([], ""),
        (None, ""),
        (5, ""),
        ({"text": "a dict, not a list"}, ""),
    ],
)
def test_content_text_joins_text_parts_and_refusals(content, expected):
    assert content_text(content) == expected


# ------------------------------------------------------------------ think blocks


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("just an answer", ("", "just an answer")),
        ("  spaced  ", ("", "  spaced  ")),  # no tags: the text as it is
        ("<think>hmm</think>Answer", ("hmm", "Answer")),
        ("<think> a </think> x <think> b </think> y", ("a\n\nb", "x  y")),
        ("<think>cut off mid-thought", ("cut off mid-thought", "")),
        ("<think></think>Answer", ("", "Answer")),
        ("<think>\n  lines\n</think>\n\nAnswer\n", ("lines", "Answer")),
        # a closing tag with no opener: everything before it is thought
        ("thinking</think>Answer", ("thinking", "Answer")),
        ("one</think>two</think>Answer", ("one</think>two", "Answer")),
        ("pre</think>mid<think>inner</think>Answer", ("pre\n\ninner", "midAnswer")),
        ("</think>Answer", ("", "Answer")),
    ],
)
def test_think_blocks_move_from_the_answer_to_the_reasoning(text, expected):
    assert split_think(text) == expected


# ------------------------------------------------------------------ responses


def test_response_text_joins_the_assistant_messages():
    response = {
        "output": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "thought"}]},
            message("first"),
            {"type": "mcp_call", "name": "t", "output": "tool said"},
            message("ignored", role="user"),
            message(""),
            {"role": "assistant", "content": "easy"},
            {"type": "message", "content": [{"type": "output_text", "text": "no role"}]},
        ]
    }
    assert response_text(response) == "first\n\neasy\n\nno role"


def test_response_text_strips_think_blocks_unless_asked_not_to():
    response = {"output": [message("<think>why</think>Because.")]}
    assert response_text(response) == "Because."
    assert response_text(response, strip_think=False) == "<think>why</think>Because."


def test_response_text_falls_back_to_output_text():
    assert response_text({"output": [], "output_text": "<think>w</think>Top"}) == "Top"
    assert response_text({"output_text": "Top"}, strip_think=False) == "Top"
    assert response_text({"output": [message("mine")], "output_text": "theirs"}) == "mine"
    assert response_text({"output_text": ["not", "text"]}) == ""


@pytest.mark.parametrize("response", [None, "text", ["output"], 3])
def test_response_text_of_a_non_object_is_empty(response):
    assert response_text(response) == ""
    assert reasoning_text(response) == ""


def test_reasoning_text_joins_summaries_content_and_inline_thoughts():
    response = {
        "output": [
            {
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": "sum"}],
                "content": [{"type": "reasoning_text", "text": "raw"}],
            },
            {"type": "reasoning", "summary": [], "content": "second"},
            message("<think>inline</think>Answer"),
            {"type": "message", "role": "user", "content": "<think>not mine</think>"},
        ]
    }
    assert reasoning_text(response) == "sum\n\nraw\n\nsecond\n\ninline"


def test_reasoning_text_of_a_plain_answer_is_empty():
    assert reasoning_text({"output": [message("Answer")]}) == ""
    assert reasoning_text({"output": "bad"}) == ""
    assert reasoning_text({"output_text": "<think>from the fallback</think>x"}) == (
        "from the fallback"
    )


# ------------------------------------------------------------------ values as text


class _Unprintable:
    def __str__(self):
        raise ValueError("no")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("", ""),
        ("as is", "as is"),
        (0, "0"),
        (False, "false"),
        ({"b": 1, "a": "é"}, '{"a": "é", "b": 1}'),  # keys sorted, non-ASCII kept
        ([1, None], "[1, null]"),
        (b"raw", "b'raw'"),  # not JSON: its str
        ({1, 2}, "{1, 2}"),
    ],
)
def test_as_text_keeps_strings_and_writes_the_rest_as_sorted_json(value, expected):
    assert as_text(value) == expected


def test_as_text_of_what_neither_json_nor_str_can_write():
    assert as_text(10**5000) == "…"  # past the int-to-text digit limit
    assert as_text(_Unprintable()) == "…"


def test_as_text_of_a_cycle_is_its_str():
    cycle: list = []
    cycle.append(cycle)
    assert as_text(cycle) == "[[...]]"


def test_as_text_of_nesting_past_any_sense():
    deep: list = []
    for _ in range(20_000):  # far past the interpreter's recursion limit
        deep = [deep]
    assert as_text(deep) == "…"


# ------------------------------------------------------------------ MCP calls


def test_an_openai_mcp_call():
    item = {
        "type": "mcp_call",
        "id": "mcp_1",
        "server_label": "docs",
        "name": "search",
        "arguments": '{"q": "x"}',
        "output": "found",
        "error": None,
        "status": "completed",
    }
    assert normalize_mcp_call(item) == {
        "id": "mcp_1",
        "server_label": "docs",
        "name": "search",
        "arguments": '{"q": "x"}',
        "output": "found",
        "error": None,
        "status": "completed",
    }


def test_a_fireworks_mcp_call_nests_name_and_arguments():
    item = {
        "type": "mcp_call",
        "call_id": "call_9",
        "mcp": {"name": "lookup", "arguments": {"k": 1, "a": [2]}, "server_label": "kb"},
        "output": {"rows": 0},
        "error": {"message": "partial"},
    }
    assert normalize_mcp_call(item) == {
        "id": "call_9",
        "server_label": "kb",
        "name": "lookup",
        "arguments": '{"a": [2], "k": 1}',
        "output": '{"rows": 0}',
        "error": '{"message": "partial"}',
        "status": "",
    }


def test_the_flat_fields_win_over_the_nested_ones():
    item = {
        "id": "i",
        "call_id": "c",
        "name": "flat",
        "server_label": "flat-label",
        "arguments": "{}",
        "mcp": {"name": "nested", "arguments": {"x": 1}, "server_label": "nested-label"},
    }
    call = normalize_mcp_call(item)
    assert (call["id"], call["name"], call["server_label"], call["arguments"]) == (
        "i",
        "flat",
        "flat-label",
        "{}",
    )


def test_empty_flat_arguments_fall_back_to_the_nested_ones():
    item = {"arguments": "", "mcp": {"arguments": {"x": 1}}}
    assert normalize_mcp_call(item)["arguments"] == '{"x": 1}'
    assert normalize_mcp_call({"arguments": {}, "mcp": {"arguments": {"x": 1}}})["arguments"] == (
        "{}"
    )


def test_a_bare_mcp_call_reads_as_empty_fields():
    assert normalize_mcp_call({"mcp": "not an object"}) == {
        "id": "",
        "server_label": "",
        "name": "",
        "arguments": "",
        "output": None,
        "error": None,
        "status": "",
    }


def test_an_empty_output_is_kept_but_an_empty_error_is_none():
    call = normalize_mcp_call({"output": "", "error": ""})
    assert call["output"] == ""
    assert call["error"] is None
    assert normalize_mcp_call({"output": 0, "error": 0})["output"] == "0"
    assert normalize_mcp_call({"error": "boom"})["error"] == "boom"


# ------------------------------------------------------------------ tools


def test_tool_list_keeps_only_objects():
    mcp = {"type": "mcp", "server_label": "docs"}
    assert tool_list([mcp, "x", None, 3]) == [mcp]
    assert tool_list({"type": "mcp"}) == []
    assert tool_list("mcp") == []
    assert tool_list(None) == []


def test_tool_names_label_each_tool():
    tools = [
        {"type": "mcp", "server_label": "docs"},
        {"type": "function", "name": "get_weather"},
        {"type": "web_search"},
        "not a tool",
        {"type": "function", "name": 10**5000},  # a label no str() can write
    ]
    assert tool_names(tools) == ["docs", "get_weather", "web_search", "tool"]
    assert tool_names(None) == []


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ({"tools": [{"type": "mcp"}]}, True),
        ({"tools": ["not a tool"]}, False),
        ({"tools": []}, False),
        ({"output": [{"type": "mcp_call"}]}, True),
        ({"output": [{"type": "mcp_list_tools"}]}, True),
        ({"output": [{"type": "function_call"}]}, True),
        ({"output": [{"type": "tool_output"}]}, True),
        ({"output": [message("hi"), {"type": "function_call"}]}, True),
        ({"output": [message("hi"), {"type": "reasoning"}]}, False),
        ({"output": [{"type": "mcp_approval_request"}]}, False),
        ({}, False),
        (None, False),
        ([{"type": "mcp_call"}], False),
    ],
)
def test_a_response_uses_tools_when_it_offers_tools_or_outputs_a_tool_item(response, expected):
    assert uses_tools(response) is expected
