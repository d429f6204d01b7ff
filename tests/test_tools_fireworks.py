"""Tools exactly as Fireworks documents them (issue 10, point 13).

Fireworks' examples send `{"type": "mcp", "server_url": …}` without a `server_label`, and the
minimal `{"type": "sse", "server_url": …}`. Both are accepted as written, in the validator, the
CLI, the preset form (fields and raw JSON) and the offline backend; a label-less tool is shown
by its server's host, and nothing the user did not write is added to what is sent.
"""

from __future__ import annotations

import json

import pytest
from test_app import SIZE, settle, type_and_send
from test_tools_ui import recording_app, save
from textual.widgets import Input, Select, SelectionList, Static, TextArea
from ui_helpers import LOCAL, build

from tui.api.items import tool_names
from tui.cli import main
from tui.ops.connect import make_client, offline_backend
from tui.paths import index_dir
from tui.store.index import Index
from tui.tools import (
    Preset,
    describe_tool,
    resolve_tools,
    server_name,
    tool_label,
    validate_preset,
    validate_tool,
)
from tui.ui.tools_screen import PresetForm, ToolPicker, ToolsScreen, short_description

DEEPWIKI_URL = "https://mcp.deepwiki.com/mcp"
FW_MCP = {"type": "mcp", "server_url": DEEPWIKI_URL}  # Fireworks' guide, as written
FW_SSE = {"type": "sse", "server_url": "https://gitmcp.io/docs"}
FULL_SSE = {
    "type": "sse",
    "server_label": "gitmcp",
    "server_url": "https://gitmcp.io/docs",
    "allowed_tools": ["fetch_docs", "search_docs"],
    "require_approval": {"always": {"tool_names": ["fetch_docs"]}},
    "headers": {"Authorization": "Bearer ${GITMCP_TOKEN}", "X-Team": "core"},
}


def run(*argv: str) -> int:
    return main(list(argv))


def saved_tools() -> dict[str, dict]:
    with Index.open(index_dir()) as index:
        return {d["name"]: Preset.from_doc(d).tool for d in index.presets()}


# ------------------------------------------------------------------ validation and naming


@pytest.mark.parametrize(
    "tool",
    [
        FW_MCP,
        FW_SSE,
        FULL_SSE,
        {**FW_MCP, "require_approval": "never"},
        {**FW_MCP, "server_label": ""},
        {**FW_MCP, "headers": {"Authorization": "Bearer ${DEEPWIKI_TOKEN}"}},
    ],
)
def test_fireworks_tools_are_valid_as_written(tool):
    result = validate_tool(tool)
    assert result.ok, result.errors
    assert result.tool == tool
    assert set(result.tool) == set(tool)  # nothing added, in particular no server_label
    assert validate_preset("deepwiki", tool).ok


@pytest.mark.parametrize("kind", ["mcp", "sse"])
@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"server_url": None}, "server_url", "required"),
        ({"server_url": "ftp://gitmcp.io/docs"}, "server_url", "https://"),
        ({"server_url": "https://"}, "server_url", "host"),
        ({"server_label": "has space"}, "server_label", "letters"),
        ({"server_label": 7}, "server_label", "letters"),
        ({"allowed_tools": "search"}, "allowed_tools", "list"),
        ({"allowed_tools": ["search", ""]}, "allowed_tools", "list"),
        ({"require_approval": "sometimes"}, "require_approval", "never"),
        ({"require_approval": {"maybe": {}}}, "require_approval", "never"),
        ({"headers": {"Authorization": "Bearer sk-live-123"}}, "headers", "${VARIABLE}"),
        ({"headers": {"X-Api-Key": "abc"}}, "headers", "literal secret"),
        ({"headers": ["Authorization: x"]}, "headers", "object"),
    ],
)
def test_mcp_and_sse_follow_the_same_rules(kind, change, field, words):
    tool = {"type": kind, "server_url": "https://gitmcp.io/docs", **change}
    if change.get("server_url", "") is None:
        del tool["server_url"]
    result = validate_tool(tool)
    assert not result.ok and result.tool is None
    assert words in result.errors.get(field, ""), result.errors


@pytest.mark.parametrize(
    ("url", "words"),
    [("https://[mcp.deepwiki.com/mcp", "not a valid URL"), ("https://x.io:port/", "valid URL")],
)
def test_a_malformed_url_is_an_error_not_a_crash(url, words):
    # The form validates on every keystroke: typing "https://[" must not raise.
    result = validate_tool({"type": "mcp", "server_url": url})
    assert words in result.errors["server_url"]
    assert tool_label({"type": "mcp", "server_url": url}) in ("mcp", "x.io")


@pytest.mark.parametrize(
    ("tool", "name"),
    [
        (FW_MCP, "mcp.deepwiki.com"),
        (FW_SSE, "gitmcp.io"),
        ({**FW_MCP, "server_label": ""}, "mcp.deepwiki.com"),
        (
            {"type": "mcp", "server_url": "https://user:pa55@MCP.Example.com:8443/x"},
            "mcp.example.com",
        ),
        ({"type": "mcp", "server_url": "not a url"}, "mcp"),
        ({**FW_MCP, "server_label": "deepwiki"}, "deepwiki"),
        ({"type": "function", "name": "get_weather"}, "get_weather"),
        ({"type": "web_search"}, "web_search"),
    ],
)
def test_one_name_rule_for_label_less_tools(tool, name):
    assert tool_label(tool) == name
    assert Preset("p", tool).label() == name
    assert "pa55" not in tool_label(tool) and "user" not in tool_label(tool)


def test_the_name_is_shown_in_descriptions_but_never_added_to_the_tool():
    assert server_name(DEEPWIKI_URL) == "mcp.deepwiki.com"
    assert describe_tool(FW_MCP) == f"mcp mcp.deepwiki.com · {DEEPWIKI_URL}"
    assert describe_tool(FW_SSE) == "sse gitmcp.io · https://gitmcp.io/docs"
    tool = {**FW_MCP, "headers": {"Authorization": "Bearer ${DEEPWIKI_TOKEN}"}}
    wire, secrets = resolve_tools([tool], {"DEEPWIKI_TOKEN": "dw-secret"})
    assert wire == [{**FW_MCP, "headers": {"Authorization": "Bearer dw-secret"}}]
    assert secrets == ["dw-secret"] and "server_label" not in tool


def test_the_presets_list_names_the_server_by_host_without_credentials():
    assert short_description(FW_SSE) == "sse · gitmcp.io"
    tool = {"type": "mcp", "server_url": "https://user:pa55@MCP.Example.com:8443/x"}
    assert (
        short_description({**tool, "require_approval": "always"}) == "mcp · mcp.example.com · asks"
    )


def test_recorded_tool_labels_use_the_same_rule():
    # tool_names feeds the index's tool_labels, the transcript's "⚙ tools:" line, the CLI's
    # "tools:" line and the offline backend's "Tools offered".
    assert tool_names([FW_MCP, FW_SSE]) == ["mcp.deepwiki.com", "gitmcp.io"]


# ------------------------------------------------------------------ CLI


def test_cli_adds_a_label_less_mcp_tool_without_inventing_a_label(capsys):
    assert run("tools", "add", "deepwiki", "--mcp", DEEPWIKI_URL) == 0
    assert saved_tools()["deepwiki"] == {**FW_MCP, "require_approval": "never"}
    assert run("tools", "add", "labelled", "--mcp", DEEPWIKI_URL, "--label", "deepwiki") == 0
    assert saved_tools()["labelled"]["server_label"] == "deepwiki"
    capsys.readouterr()
    assert run("tools", "list") == 0
    out = capsys.readouterr().out
    assert "mcp mcp.deepwiki.com · https://mcp.deepwiki.com/mcp" in out
    assert "mcp deepwiki · " in out


@pytest.mark.parametrize("tool", [FW_MCP, FW_SSE, FULL_SSE])
def test_cli_json_saves_exactly_what_was_given(tool):
    assert run("tools", "add", "fw", "--json", json.dumps(tool)) == 0
    assert saved_tools()["fw"] == tool


def test_cli_sse_takes_the_mcp_options():
    assert run("tools", "add", "gitmcp", "--sse", "https://gitmcp.io/docs") == 0
    assert saved_tools()["gitmcp"] == FW_SSE  # approval not sent unless given
    argv = [
        *("tools", "add", "full", "--sse", "https://gitmcp.io/docs", "--label", "gitmcp"),
        *("--allowed", "fetch_docs,search_docs", "--approval", "fetch_docs"),
        *(
            "--tool-header",
            "Authorization: Bearer ${GITMCP_TOKEN}",
            "--tool-header",
            "X-Team: core",
        ),
    ]
    assert run(*argv) == 0
    assert saved_tools()["full"] == FULL_SSE


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--sse", "ftp://gitmcp.io/docs"], "server_url"),
        (
            ["--sse", "https://gitmcp.io/docs", "--tool-header", "Authorization: sk-1"],
            "${VARIABLE}",
        ),
        (["--sse", "https://gitmcp.io/docs", "--label", "has space"], "server_label"),
        (["--mcp", "https://[gitmcp.io"], "not a valid URL"),
        (["--json", '{"type": "sse", "server_url": "https://x.io", "allowed_tools": 3}'], "list"),
    ],
)
def test_cli_still_refuses_bad_mcp_and_sse_tools(argv, expected, capsys):
    assert run("tools", "add", "bad", *argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0]
    assert saved_tools() == {}


def test_cli_send_with_a_label_less_tool_sends_no_label(capsys):
    assert run("tools", "add", "deepwiki", "--json", json.dumps(FW_MCP)) == 0
    capsys.readouterr()
    assert run("send", "search the wiki for httpx", "--tools", "deepwiki") == 0
    err = capsys.readouterr().err
    assert "tool call mcp.deepwiki.com.search" in err
    with Index.open(index_dir()) as index:
        (node,) = index.nodes()
        body = index.load_body(node.server, node.id)
        assert body["request"]["tools"] == [FW_MCP]


# ------------------------------------------------------------------ offline backend


async def test_offline_backend_takes_label_less_tools_and_names_them_by_host(tmp_path):
    backend = offline_backend(tmp_path / "b", seed=3)
    async with make_client(LOCAL, {}, backend=backend) as client:
        body = {"model": "offline-echo", "input": "search for httpx", "tools": [FW_MCP]}
        response = await client.create(body)
        listed, call, _message = response["output"]
        assert listed["type"] == "mcp_list_tools" and listed["server_label"] == "mcp.deepwiki.com"
        assert call["type"] == "mcp_call" and call["server_label"] == "mcp.deepwiki.com"
        assert response["tools"] == [FW_MCP]

        asking = {**FW_SSE, "require_approval": "always"}
        body = {"model": "offline-echo", "input": "fetch the docs", "tools": [asking]}
        asked = await client.create(body)
        request = asked["output"][-1]
        assert request["type"] == "mcp_approval_request" and request["server_label"] == "gitmcp.io"
        answer = {
            "model": "offline-echo",
            "previous_response_id": asked["id"],
            "input": [
                {
                    "type": "mcp_approval_response",
                    "approval_request_id": request["id"],
                    "approve": True,
                }
            ],
            "tools": [asking],
        }
        done = await client.create(answer)
        assert [i["type"] for i in done["output"]] == ["mcp_call", "message"]


# ------------------------------------------------------------------ the preset form


async def open_new_form(pilot, app) -> PresetForm:
    app.action_tools()
    await pilot.pause()
    await pilot.press("a")
    await pilot.pause()
    form = app.screen
    assert isinstance(form, PresetForm)
    return form


async def test_form_label_is_optional_and_its_placeholder_is_the_derived_name(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_new_form(pilot, app)
        label = form.query_one("#server_label", Input)
        form.query_one("#preset_name", Input).value = "deepwiki"
        form.query_one("#server_url", Input).value = DEEPWIKI_URL
        await pilot.pause()
        assert "mcp.deepwiki.com" in label.placeholder
        assert label.value == "" and form.validation.ok
        assert str(form.query_one("#err-server_label").render()) == ""
        assert not form.query_one("#save").disabled
        form.query_one("#server_url", Input).value = "https://gitmcp.io/docs"
        await pilot.pause()
        assert "gitmcp.io" in label.placeholder and "deepwiki" not in label.placeholder
        form.query_one("#server_url", Input).value = DEEPWIKI_URL
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ToolsScreen)
        assert [Preset.from_doc(d).tool for d in index.presets()] == [
            {**FW_MCP, "require_approval": "never"}
        ]
        detail = str(app.screen.query_one("#preset-detail", Static).render())
        assert "no server_label: shown as mcp.deepwiki.com" in detail
    index.close()


async def test_form_sse_has_the_mcp_fields_and_sends_only_what_is_filled(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_new_form(pilot, app)
        form.query_one("#preset_name", Input).value = "gitmcp"
        form.query_one("#kind", Select).value = "sse"
        await pilot.pause()
        for field in ("server_label", "server_url", "allowed_tools", "require_approval"):
            assert form.query_one(f"#field-{field}").display, field
        assert form.query_one("#approval", Select).value == "not sent"
        form.query_one("#server_url", Input).value = "https://gitmcp.io/docs"
        await pilot.pause()
        tool, problems = form.build_tool()
        assert tool == FW_SSE and problems == {}  # Fireworks' minimal form, exactly
        form.query_one("#server_label", Input).value = "gitmcp"
        form.query_one("#allowed_tools", Input).value = "fetch_docs, search_docs"
        form.query_one("#approval", Select).value = "per tool"
        await pilot.pause()
        assert form.query_one("#field-approval_tools").display
        form.query_one("#approval_tools", Input).value = "fetch_docs"
        form.query_one("#headers", TextArea).load_text("Authorization: Bearer sk-literal")
        await pilot.pause()
        assert "${VARIABLE}" in str(form.query_one("#err-headers").render())
        assert form.query_one("#save").disabled
        form.query_one("#headers", TextArea).load_text(
            "Authorization: Bearer ${GITMCP_TOKEN}\nX-Team: core"
        )
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert [Preset.from_doc(d).tool for d in index.presets()] == [FULL_SSE]
    index.close()


async def test_form_raw_json_takes_fireworks_tools_as_written(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_new_form(pilot, app)
        form.query_one("#preset_name", Input).value = "deepwiki"
        await pilot.press("ctrl+r")
        await pilot.pause()
        form.query_one("#json", TextArea).load_text(json.dumps(FW_MCP))
        await pilot.pause()
        assert form.validation.ok, form.validation.errors
        assert str(form.query_one("#err-json").render()) == ""
        # To the form and back: still exactly the tool as written.
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert form.query_one("#server_label", Input).value == ""
        assert form.query_one("#approval", Select).value == "not sent"
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert json.loads(form.query_one("#json", TextArea).text) == FW_MCP
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert [Preset.from_doc(d).tool for d in index.presets()] == [FW_MCP]
    index.close()


async def test_editing_a_fireworks_preset_in_the_form_keeps_it_as_written(tmp_path):
    app, index, _ = build(tmp_path)
    save(index, "deepwiki", FW_MCP)
    async with app.run_test(size=SIZE) as pilot:
        app.action_tools()
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, PresetForm)
        assert form.validation.ok, form.validation.errors
        form.query_one("#preset_name", Input).value = "wiki"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert {d["name"]: Preset.from_doc(d).tool for d in index.presets()} == {"wiki": FW_MCP}
    index.close()


# ------------------------------------------------------------------ picker, composer, wire


async def test_label_less_tool_is_named_by_host_in_picker_and_composer_and_sent_as_is(tmp_path):
    app, index, _backend, wire = recording_app(tmp_path)
    save(index, "deepwiki", FW_MCP)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.press("ctrl+t")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, ToolPicker)
        options = picker.query_one(SelectionList)
        assert "mcp mcp.deepwiki.com" in str(options.get_option_at_index(0).prompt)
        options.select(0)
        await pilot.press("enter")
        await pilot.pause()
        # Picked from a preset: named by the preset (issue 14), its host is in the picker.
        assert "tools: deepwiki (changed)" in str(app.composer.target.render())
        await type_and_send(pilot, app, "search the wiki")
        await settle(pilot, app)
        assert wire.bodies[-1]["tools"] == [FW_MCP]
        assert index.load_body(*app.current)["request"]["tools"] == [FW_MCP]

        # A branch tool that is not a preset is offered under the same name.
        index.remove_preset("deepwiki")
        await pilot.press("ctrl+t")
        await pilot.pause()
        options = app.screen.query_one(SelectionList)
        assert str(options.get_option_at_index(0).prompt).startswith(
            "[x] mcp.deepwiki.com (from this branch)"  # picked: it is the branch's
        )
        await pilot.press("escape")
    index.close()


def test_the_offline_backend_names_a_label_less_server_by_the_same_rule():
    from tui.local.tool_calls import mcp_label

    for url in ("https://user:pw@MCP.Example.com:8443/x", "https://[::1]:8080/mcp"):
        tool = {"type": "mcp", "server_url": url}
        assert mcp_label(tool) == tool_label(tool)
