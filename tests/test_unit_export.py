"""The exports of `tui.ops.export`, straight from an index in the test's own directory: the
exact Markdown people read (headings, turn bodies, tool lines, status marks, branch labels) and
the exact JSON documents that `import --file` reads back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tui.ops.export import (
    export_json,
    export_markdown,
    export_tree_json,
    export_tree_markdown,
    path_records,
    tree_records,
)
from tui.store.index import Index
from tui.store.records import Status

SERVER = "http://local.test/v1"
T = 1_790_000_000.0  # 2026-09-21 14:13 UTC
WHEN = "2026-09-21 14:13 UTC"
ESC = "\x1b[31m"


def message(text: str, role: str = "assistant") -> dict[str, Any]:
    kind = "output_text" if role == "assistant" else "input_text"
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}


def response(rid: str, parent: str | None = None, text: str = "An answer.", **fields: Any):
    body: dict[str, Any] = {
        "id": rid,
        "object": "response",
        "created_at": T,
        "status": "completed",
        "model": "gpt-test",
        "output": [message(text)],
        "previous_response_id": parent,
    }
    body.update(fields)
    return body


def said(text: str) -> list[dict[str, Any]]:
    return [message(text, role="user")]


@pytest.fixture
def index(tmp_path):
    with Index.open(tmp_path / "index") as idx:
        yield idx


def add(
    index: Index,
    rid: str,
    parent: str | None = None,
    text: str = "An answer.",
    *,
    user: str | None = "hello",
    profile: str = "p",
    **fields: Any,
) -> dict[str, Any]:
    body = response(rid, parent, text, **fields)
    index.add_response(
        body, server=SERVER, profile=profile, input_items=said(user) if user is not None else None
    )
    return body


def body_of_turn(markdown: str) -> str:
    """What follows the one turn heading (and its blank line) of a one-turn export."""
    head, _, rest = markdown.partition("\n## ")
    assert head.startswith("# Conversation")
    return rest.split("\n", 2)[2]


def heading(markdown: str) -> str:
    (line,) = [line for line in markdown.splitlines() if line.startswith("## ")]
    return line


# ---------------------------------------------------------------- the path, as Markdown


def test_path_markdown_is_exactly_the_turns_root_first(index):
    add(index, "r1", instructions="Be brief.")
    add(index, "r2", "r1", "<think>hmm</think>Two.", user="again")
    add(index, "r3", "r1", "A sibling, not on the path.")
    assert export_markdown(index, SERVER, "r2") == (
        "# Conversation r1 → r2\n"
        "\n"
        f"Server: {SERVER} · 2 turns\n"
        "\n"
        f"## Turn 1 · `r1` · gpt-test · {WHEN}\n"
        "\n"
        "**Instructions**\n"
        "\n"
        "Be brief.\n"
        "\n"
        "**User**\n"
        "\n"
        "hello\n"
        "\n"
        "**Assistant**\n"
        "\n"
        "An answer.\n"
        "\n"
        f"## Turn 2 · `r2` · gpt-test · {WHEN}\n"
        "\n"
        "**User**\n"
        "\n"
        "again\n"
        "\n"
        "<details><summary>Reasoning</summary>\n"
        "\n"
        "hmm\n"
        "\n"
        "</details>\n"
        "\n"
        "**Assistant**\n"
        "\n"
        "Two.\n"
    )


def test_path_markdown_of_a_root_has_no_arrow_and_one_turn(index):
    add(index, "r1")
    assert export_markdown(index, SERVER, "r1") == (
        "# Conversation r1\n"
        "\n"
        f"Server: {SERVER} · 1 turn\n"
        "\n"
        f"## Turn 1 · `r1` · gpt-test · {WHEN}\n"
        "\n"
        "**User**\n"
        "\n"
        "hello\n"
        "\n"
        "**Assistant**\n"
        "\n"
        "An answer.\n"
    )


def test_three_turns_are_numbered_one_to_three(index):
    add(index, "r1")
    add(index, "r2", "r1")
    add(index, "r3", "r2")
    md = export_markdown(index, SERVER, "r3")
    assert md.startswith(f"# Conversation r1 → r3\n\nServer: {SERVER} · 3 turns\n\n## Turn 1 ·")
    assert [line.split(" · ")[0] for line in md.splitlines() if line.startswith("## ")] == [
        "## Turn 1",
        "## Turn 2",
        "## Turn 3",
    ]


@pytest.mark.parametrize("export", [export_markdown, export_json, path_records])
def test_an_unknown_id_is_a_key_error_naming_it(index, export):
    add(index, "r1")
    with pytest.raises(KeyError) as caught:
        export(index, SERVER, "resp_nope")
    assert caught.value.args == ("resp_nope is not in the index",)


# ---------------------------------------------------------------- one turn's heading


@pytest.mark.parametrize(
    ("status", "flag", "marks"),
    [
        (None, False, ""),
        (Status.NOT_STORED, False, " (not stored)"),
        (Status.FAILED, False, " (failed)"),
        (None, True, " (ancestor missing)"),
        (Status.DELETED, True, " (deleted, ancestor missing)"),
    ],
)
def test_the_heading_marks_a_status_other_than_stored_and_a_lost_ancestor(
    index, status, flag, marks
):
    add(index, "r1")
    if status is not None:
        index.set_status(SERVER, "r1", status)
    if flag:
        index.set_flag(SERVER, "r1", ancestor_missing=True)
    assert (
        heading(export_markdown(index, SERVER, "r1"))
        == f"## Turn 1 · `r1` · gpt-test · {WHEN}{marks}"
    )


def test_the_heading_keeps_ids_and_models_inert(index):
    add(index, "r`1", model=f"{ESC}gpt\x07-x`")
    md = export_markdown(index, SERVER, "r`1")
    # A backtick in an id would end the code span early; the model loses its escapes.
    assert heading(md) == f"## Turn 1 · `r'1` · gpt-x` · {WHEN}"


@pytest.mark.parametrize("created_at", [0, "yesterday", None])
def test_a_turn_without_a_usable_time_says_unknown_time(index, created_at):
    add(index, "r1", created_at=created_at)
    assert (
        heading(export_markdown(index, SERVER, "r1"))
        == "## Turn 1 · `r1` · gpt-test · unknown time"
    )


# ---------------------------------------------------------------- one turn's body


def test_input_that_was_not_recorded_says_so(index):
    add(index, "r1", user=None)
    assert body_of_turn(export_markdown(index, SERVER, "r1")) == (
        "**User**\n\n_input not recorded (the server cannot return it)_\n\n"
        "**Assistant**\n\nAn answer.\n"
    )


@pytest.mark.parametrize("user_input", [[], said("  \n "), [{"type": "reasoning", "summary": []}]])
def test_input_without_text_says_no_text_input(index, user_input):
    index.add_response(response("r1"), server=SERVER, profile="p", input_items=user_input)
    assert body_of_turn(export_markdown(index, SERVER, "r1")) == (
        "**User**\n\n_(no text input)_\n\n**Assistant**\n\nAn answer.\n"
    )


def test_multiline_text_keeps_its_lines_and_loses_escapes(index):
    add(index, "r1", text=f"  first{ESC}\r\nsecond\rthird  ", user=f"\n one\r\n\ttwo{ESC} \n")
    assert body_of_turn(export_markdown(index, SERVER, "r1")) == (
        "**User**\n\none\n    two\n\n**Assistant**\n\nfirst\nsecond\nthird\n"
    )


@pytest.mark.parametrize(
    ("instructions", "shown"),
    [
        ("Be brief.\nAnd kind.", "**Instructions**\n\nBe brief.\nAnd kind.\n\n"),
        (
            [{"role": "developer", "content": "x"}],
            '**Instructions**\n\n[{"content": "x", "role": "developer"}]\n\n',
        ),
        ("", ""),
        (None, ""),
    ],
)
def test_instructions_come_before_the_user_text_when_there_are_any(index, instructions, shown):
    add(index, "r1", instructions=instructions)
    assert body_of_turn(export_markdown(index, SERVER, "r1")) == (
        f"{shown}**User**\n\nhello\n\n**Assistant**\n\nAn answer.\n"
    )


def test_usage_and_reasoning_settings_form_the_meta_line_first(index):
    add(
        index,
        "r1",
        usage={"input_tokens": 1234, "output_tokens": 56, "total_tokens": 1290},
        reasoning={"effort": "<high>", "summary": "[auto]"},
    )
    assert body_of_turn(export_markdown(index, SERVER, "r1")) == (
        "in 1,234 · out 56 · unknown price · effort \\<high\\>, summary \\[auto\\]\n"
        "\n"
        "**User**\n\nhello\n\n**Assistant**\n\nAn answer.\n"
    )


def test_cited_sources_follow_the_answer_as_an_inert_list(index):
    cited = message("Cited.")
    cited["content"][0]["annotations"] = [
        {"type": "url_citation", "url": "https://a.example/", "title": "A `b` <c>"},
        {"type": "file_citation", "file_id": "file-1", "filename": "notes.txt"},
    ]
    add(index, "r1", output=[cited])
    assert body_of_turn(export_markdown(index, SERVER, "r1")) == (
        "**User**\n\nhello\n\n**Assistant**\n\nCited.\n\n"
        "**Sources**\n\n"
        "- \\[1\\] A \\`b\\` \\<c\\> — https://a.example/\n"
        "- \\[2\\] notes.txt (file-1)\n"
    )


def test_a_failed_turn_ends_with_the_servers_error(index):
    add(
        index,
        "r1",
        status="failed",
        error={"message": "The model <crashed>", "code": "server_error"},
        output=[],
    )
    assert body_of_turn(export_markdown(index, SERVER, "r1")) == (
        "**User**\n\nhello\n\n✗ failed: The model \\<crashed\\> (server_error)\n"
    )


def test_the_recorded_status_gives_the_note_when_the_response_says_nothing(index):
    add(index, "r1", status=None)
    index.set_status(SERVER, "r1", Status.INCOMPLETE)
    assert body_of_turn(export_markdown(index, SERVER, "r1")).endswith(
        "**Assistant**\n\nAn answer.\n\n… incomplete: the reply was cut short\n"
    )


# ---------------------------------------------------------------- output items


def mcp_call(**fields: Any) -> dict[str, Any]:
    return {"type": "mcp_call", "id": "mcp_1", **fields}


@pytest.mark.parametrize(
    ("output", "shown"),
    [
        # Messages: the text of every text part, inline <think> moved out as reasoning.
        (
            [
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [
                        {"type": "output_text", "text": "Hel"},
                        "junk",
                        {"type": "output_text", "text": 5},
                        {"type": "output_text", "text": "lo"},
                    ],
                }
            ],
            "**Assistant**\n\nHello\n",
        ),
        ([message("")], "**Assistant**\n\n_(empty)_\n"),
        ([message(" \n ")], "**Assistant**\n\n_(empty)_\n"),
        (
            [message("<think>only thought</think>")],
            "<details><summary>Reasoning</summary>\n\nonly thought\n\n</details>\n\n"
            "**Assistant**\n\n_(empty)_\n",
        ),
        ([message("<think> \n </think>Said.")], "**Assistant**\n\nSaid.\n"),
        (
            [message("One."), message("Two.")],
            "**Assistant**\n\nOne.\n\n**Assistant**\n\nTwo.\n",
        ),
        # Reasoning items: summary then content parts, joined by spaces.
        (
            [
                {
                    "type": "reasoning",
                    "summary": [{"type": "summary_text", "text": "First"}, "junk", {"text": 1}],
                    "content": [{"type": "reasoning_text", "text": "then second."}],
                },
                message("Done."),
            ],
            "<details><summary>Reasoning</summary>\n\nFirst then second.\n\n</details>\n\n"
            "**Assistant**\n\nDone.\n",
        ),
        ([{"type": "reasoning", "summary": []}, message("Done.")], "**Assistant**\n\nDone.\n"),
        (
            [{"type": "reasoning", "summary": [{"text": "  "}]}, message("Done.")],
            "**Assistant**\n\nDone.\n",
        ),
        # MCP calls: label.name(arguments), then the error or else the output.
        (
            [mcp_call(server_label="docs", name="search", arguments='{"q": 1}', output="found")],
            '> tool call `docs.search`({"q": 1})\n> output: found\n',
        ),
        (
            [
                mcp_call(
                    server_label="docs", name="search", arguments="{}", error="boom", output="x"
                )
            ],
            "> tool call `docs.search`({})\n> error: boom\n",
        ),
        (
            [mcp_call(name="search", error={"code": 7})],
            '> tool call `search`()\n> error: {"code": 7}\n',
        ),
        ([mcp_call(server_label="docs")], "> tool call `docs`()\n"),
        ([mcp_call()], "> tool call `mcp`()\n"),
        ([mcp_call(name="s", output="")], "> tool call `s`()\n"),
        (
            [
                mcp_call(
                    mcp={"name": "fetch", "arguments": {"url": "u"}}, output="line 1\n\n line 2"
                )
            ],
            '> tool call `fetch`({"url": "u"})\n> output: line 1 line 2\n',
        ),
        (
            [mcp_call(name=f"s{ESC}", arguments=f"a{ESC}", error=f"e{ESC}\nf")],
            "> tool call `s`(a)\n> error: e f\n",
        ),
        # Function calls, tool listings, tool output, anything else by its type.
        (
            [{"type": "function_call", "name": "add", "arguments": '{"a": 1}'}],
            '> function call `add`({"a": 1})\n',
        ),
        (
            [{"type": "function_call", "arguments": {"b": [2]}}],
            '> function call `function`({"b": [2]})\n',
        ),
        (
            [{"type": "function_call", "name": f"f{ESC}\n", "arguments": f"x{ESC}"}],
            "> function call `f `(x)\n",
        ),
        (
            [
                {
                    "type": "mcp_list_tools",
                    "server_label": "docs",
                    "tools": [{"name": "a"}, "junk", {"name": "b"}, {}],
                }
            ],
            "> listed 3 tools from `docs`: a, b, ?\n",
        ),
        (
            [{"type": "mcp_list_tools", "tools": [{"name": f"x{ESC}"}]}],
            "> listed 1 tools from `mcp`: x\n",
        ),
        (
            [{"type": "mcp_list_tools", "server_label": f"d{ESC}"}, message("Then.")],
            "> listed 0 tools from `d`: \n\n**Assistant**\n\nThen.\n",
        ),
        (
            [{"type": "tool_output", "output": {"rows": [1, 2]}}],
            '> tool output: {"rows": [1, 2]}\n',
        ),
        ([{"type": "tool_output", "output": "a\n b"}], "> tool output: a b\n"),
        ([{"type": "web_search_call", "id": "ws_1"}], "> [web_search_call]\n"),
        ([{"type": f"odd{ESC}"}], "> [odd]\n"),
        ([{"role": "assistant"}], "> [unknown]\n"),
        # What is not an item at all is skipped, and the items after it still show.
        (["junk", 7, None, message("After.")], "**Assistant**\n\nAfter.\n"),
        ([], ""),
    ],
)
def test_each_output_item_is_shown_in_order(index, output, shown):
    add(index, "r1", output=output)
    assert body_of_turn(export_markdown(index, SERVER, "r1")) == (
        "**User**\n\nhello\n" + ("\n" + shown if shown else "")
    )


def test_every_kind_of_item_adds_to_what_came_before(index):
    output = [
        message("Start."),
        {"type": "reasoning", "summary": [{"text": "Thinking."}]},
        {"type": "function_call", "name": "f", "arguments": "{}"},
        {"type": "mcp_list_tools", "server_label": "s", "tools": [{"name": "t"}]},
        {"type": "tool_output", "output": "out"},
        {"type": "web_search_call"},
        mcp_call(name="m", output="done"),
        message("<think>more</think>End."),
    ]
    add(index, "r1", output=output)
    assert body_of_turn(export_markdown(index, SERVER, "r1")) == (
        "**User**\n\nhello\n\n"
        "**Assistant**\n\nStart.\n\n"
        "<details><summary>Reasoning</summary>\n\nThinking.\n\n</details>\n\n"
        "> function call `f`({})\n\n"
        "> listed 1 tools from `s`: t\n\n"
        "> tool output: out\n\n"
        "> [web_search_call]\n\n"
        "> tool call `m`()\n> output: done\n\n"
        "<details><summary>Reasoning</summary>\n\nmore\n\n</details>\n\n"
        "**Assistant**\n\nEnd.\n"
    )


@pytest.mark.parametrize(
    ("length", "shown"),
    [(499, "x" * 499), (500, "x" * 500), (501, "x" * 499 + "…"), (2000, "x" * 499 + "…")],
)
def test_tool_output_is_one_line_of_at_most_500_characters(index, length, shown):
    add(index, "r1", output=[{"type": "tool_output", "output": "x" * length}])
    add(index, "r2", output=[mcp_call(name="n", output="x" * length)])
    assert body_of_turn(export_markdown(index, SERVER, "r1")).endswith(f"> tool output: {shown}\n")
    assert body_of_turn(export_markdown(index, SERVER, "r2")).endswith(f"> output: {shown}\n")


# ---------------------------------------------------------------- the JSON exports


def entry(body: dict, *, user: str | None = "hello", **fields: Any) -> dict[str, Any]:
    return {
        "response": body,
        "input": said(user) if user is not None else None,
        "request": None,
        "profile": "p",
        "status": "stored",
        "ancestor_missing": False,
        **fields,
    }


def dumped(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def test_path_json_is_the_exact_document_indented_and_unescaped(index):
    r1 = add(index, "r1", text="Grüße → ✓")
    r2 = add(index, "r2", "r1", user=None, profile="other")
    add(index, "r3", "r1")
    index.set_status(SERVER, "r2", Status.DELETED)
    index.set_flag(SERVER, "r1", ancestor_missing=True)
    text = export_json(index, SERVER, "r2")
    assert text == dumped(
        {
            "format": "responses-tui.export",
            "version": 1,
            "scope": "path",
            "server": SERVER,
            "path": ["r1", "r2"],
            "responses": [
                entry(r1, ancestor_missing=True),
                entry(r2, user=None, profile="other", status="deleted"),
            ],
        }
    )
    assert '"text": "Grüße → ✓"' in text and text.startswith('{\n  "format"')


def test_the_request_recorded_with_a_turn_is_exported(index):
    body = response("r1")
    request = {"model": "gpt-test", "tools": [{"type": "mcp", "server_label": "docs"}]}
    index.add_response(body, server=SERVER, profile="p", input_items=said("hello"), request=request)
    (only,) = json.loads(export_json(index, SERVER, "r1"))["responses"]
    assert only == entry(body, request=request)


def test_tree_json_holds_the_whole_conversation_in_preorder(index):
    r1 = add(index, "r1")
    a = add(index, "a", "r1")
    a1 = add(index, "a1", "a")
    b = add(index, "b", "r1")
    add(index, "other_root")
    expected = dumped(
        {
            "format": "responses-tui.export",
            "version": 2,
            "scope": "tree",
            "server": SERVER,
            "root": "r1",
            "responses": [entry(r1), entry(a), entry(a1), entry(b)],
        }
    )
    for rid in ("r1", "a", "a1", "b"):
        assert export_tree_json(index, SERVER, rid) == expected


# ---------------------------------------------------------------- the tree's records


def test_tree_records_label_every_turn_by_its_branch_path(index):
    add(index, "r1")
    add(index, "a", "r1")
    add(index, "a1", "a")
    add(index, "a2", "a")
    add(index, "a2x", "a2")
    add(index, "b", "r1")
    records = tree_records(index, SERVER, "a2x")
    assert [(r["summary"].id, r["label"], r["depth"], r["parent"]) for r in records] == [
        ("r1", (1,), 0, None),
        ("a", (1, 1), 1, "r1"),
        ("a1", (1, 1, 1), 2, "a"),
        ("a2", (1, 1, 2), 2, "a"),
        ("a2x", (1, 1, 2, 1), 3, "a2"),
        ("b", (1, 2), 1, "r1"),
    ]
    assert records[1]["input"] == said("hello") and records[1]["request"] is None
    assert records[1]["response"]["id"] == "a"


def test_tree_records_of_an_unknown_id_is_a_key_error_naming_it(index):
    add(index, "r1")
    for export in (tree_records, export_tree_json, export_tree_markdown):
        with pytest.raises(KeyError) as caught:
            export(index, SERVER, "resp_nope")
        assert caught.value.args == ("resp_nope is not in the index",)


def test_path_records_are_root_first(index):
    add(index, "r1")
    add(index, "r2", "r1")
    add(index, "r3", "r2")
    add(index, "b", "r1")
    records = path_records(index, SERVER, "r3")
    assert [r["summary"].id for r in records] == ["r1", "r2", "r3"]
    assert set(records[0]) == {"summary", "response", "input", "request", "title", "bookmark"}


# ---------------------------------------------------------------- the tree, as Markdown


def test_tree_markdown_is_exact_and_says_where_a_branch_replies(index):
    add(index, "r1", instructions="Be brief.")
    add(index, "a", "r1", "<think>hmm</think>Two.", user="again")
    add(index, "a1", "a", "Deeper.", user=None)
    add(index, "b", "r1", "Other.", user="instead")
    assert export_tree_markdown(index, SERVER, "a1") == (
        "# Conversation r1 (whole tree)\n"
        "\n"
        f"Server: {SERVER} · 4 turns · 2 branches\n"
        "\n"
        f"## 1 · `r1` · gpt-test · {WHEN}\n"
        "\n"
        "**Instructions**\n\nBe brief.\n\n"
        "**User**\n\nhello\n\n"
        "**Assistant**\n\nAn answer.\n"
        "\n"
        f"## 1.1 · `a` · gpt-test · {WHEN}\n"
        "\n"
        "replying to `r1`\n"
        "\n"
        "**User**\n\nagain\n\n"
        "<details><summary>Reasoning</summary>\n\nhmm\n\n</details>\n\n"
        "**Assistant**\n\nTwo.\n"
        "\n"
        f"## 1.1.1 · `a1` · gpt-test · {WHEN}\n"
        "\n"
        "**User**\n\n_input not recorded (the server cannot return it)_\n\n"
        "**Assistant**\n\nDeeper.\n"
        "\n"
        f"## 1.2 · `b` · gpt-test · {WHEN}\n"
        "\n"
        "replying to `r1`\n"
        "\n"
        "**User**\n\ninstead\n\n"
        "**Assistant**\n\nOther.\n"
    )


def test_a_lone_turn_is_one_turn_and_one_branch(index):
    add(index, "r1")
    assert export_tree_markdown(index, SERVER, "r1").startswith(
        f"# Conversation r1 (whole tree)\n\nServer: {SERVER} · 1 turn · 1 branch\n\n## 1 · `r1` ·"
    )


def test_a_plain_chain_is_one_branch_and_says_no_replying_to(index):
    add(index, "r1")
    add(index, "r2", "r1")
    add(index, "r3", "r2")
    md = export_tree_markdown(index, SERVER, "r1")
    assert f"Server: {SERVER} · 3 turns · 1 branch\n" in md
    assert "replying to" not in md
    assert [line.split(" · ")[0] for line in md.splitlines() if line.startswith("## ")] == [
        "## 1",
        "## 1.1",
        "## 1.1.1",
    ]


def test_a_root_whose_parent_is_gone_says_so(index):
    add(index, "r1", "resp_gone`x")
    add(index, "r2", "r1")
    md = export_tree_markdown(index, SERVER, "r2")
    assert md.split("\n## ")[1] == (
        f"1 · `r1` · gpt-test · {WHEN}\n"
        "\n"
        "replying to `resp_gone'x` (not in the index)\n"
        "\n"
        "**User**\n\nhello\n\n**Assistant**\n\nAn answer.\n"
    )
    assert "replying to" not in md.split("\n## ")[2]


def test_tree_markdown_keeps_the_server_and_ids_inert(index):
    server = f"http://x{ESC}/v1\n"
    index.add_response(response("r`1"), server=server, profile="p", input_items=said("hi"))
    index.add_response(response("c1", "r`1"), server=server, profile="p", input_items=None)
    index.add_response(response("c2", "r`1"), server=server, profile="p", input_items=None)
    md = export_tree_markdown(index, server, "c2")
    assert md.startswith("# Conversation r'1 (whole tree)\n\nServer: http://x/v1  · 3 turns ·")
    assert md.count("replying to `r'1`\n") == 2


@pytest.mark.parametrize(
    ("depth", "label"),
    [
        (9, "1.2.1.1.1.1.1.1.2"),
        (10, "1.2.1.1.1.1.1.1.1.2"),
        (11, "1.….1.1.1.1.1.1.1.2 (turn 11)"),
        (13, "1.….1.1.1.1.1.1.1.2 (turn 13)"),
    ],
)
def test_a_deep_turn_keeps_the_start_and_the_last_eight_parts(index, depth, label):
    """The path goes through the root's second reply and ends at a second reply."""
    chain = [response("r1"), response("side", "r1", created_at=T + 1)]
    chain += [response(f"r{n}", f"r{n - 1}", created_at=T + n) for n in range(2, depth)]
    chain.append(response("older", f"r{depth - 1}", created_at=T + depth))
    chain.append(response("last", f"r{depth - 1}", created_at=T + depth + 1))
    index.add_many([(body, None) for body in chain], server=SERVER, profile="p")
    records = tree_records(index, SERVER, "r1")
    assert records[-1]["label"] == (1, 2, *(1,) * (depth - 3), 2)
    md = export_tree_markdown(index, SERVER, "r1")
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings[-1].startswith(f"## {label} · `last`")
