"""Tools in the browser: presets screen and form, per-message picker, inheritance across forks,
secrets, MCP approvals and function calls, against the offline backend."""

from __future__ import annotations

import json

import httpx
from test_app import SIZE, goto, settle, type_and_send
from textual.widgets import Input, Select, SelectionList, TextArea
from ui_helpers import LOCAL, SERVER, build, wait_for

from tui.api.client import ResponsesClient
from tui.local.transport import OfflineTransport
from tui.tools import Preset
from tui.ui.screens import ConfirmScreen
from tui.ui.tools_screen import (
    ApprovalScreen,
    FunctionOutputScreen,
    PresetForm,
    ToolPicker,
    ToolsScreen,
)

DOCS = {
    "type": "mcp",
    "server_label": "docs",
    "server_url": "https://mcp.example.com/mcp",
    "require_approval": "never",
    "headers": {"Authorization": "Bearer ${LAB_TOKEN}"},
}
GUARDED = {
    "type": "mcp",
    "server_label": "ops",
    "server_url": "https://ops.example.com/mcp",
    "require_approval": "always",
}
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
SECRET = "lab-secret-token-0123456789"


class Recording(httpx.AsyncBaseTransport):
    """The offline backend, recording every request body that goes over the wire."""

    def __init__(self, backend) -> None:
        self.inner = OfflineTransport(backend)
        self.bodies: list[dict] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        content = await request.aread()
        if content:
            self.bodies.append(json.loads(content))
        return await self.inner.handle_async_request(request)


def recording_app(tmp_path, env=None, **kw):
    app, index, backend = build(tmp_path, **kw)
    transport = Recording(backend)
    app.client = ResponsesClient(LOCAL, env={}, transport=transport)
    app.env = env or {"LAB_TOKEN": SECRET}
    return app, index, backend, transport


def save(index, name, tool) -> None:
    index.save_preset(Preset(name, tool).to_doc())


# ------------------------------------------------------------------ presets screen and form


async def test_tools_screen_add_validate_edit_duplicate_delete(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, ToolsScreen)
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, PresetForm)
        form.query_one("#preset_name", Input).value = "docs"
        form.query_one("#server_label", Input).value = "docs"
        form.query_one("#server_url", Input).value = "ftp://mcp.example.com"
        await pilot.pause()
        assert "https://" in str(form.query_one("#err-server_url").render())
        assert form.query_one("#save").disabled
        await pilot.press("ctrl+s")  # refused: nothing invalid is saved
        await pilot.pause()
        assert index.presets() == []
        form.query_one("#server_url", Input).value = "https://mcp.example.com/mcp"
        form.query_one("#headers", TextArea).load_text("Authorization: Bearer sk-literal")
        await pilot.pause()
        assert "${VARIABLE}" in str(form.query_one("#err-headers").render())
        form.query_one("#headers", TextArea).load_text("Authorization: Bearer ${LAB_TOKEN}")
        await pilot.pause()
        assert not form.query_one("#save").disabled
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ToolsScreen)
        saved = [Preset.from_doc(d) for d in index.presets()]
        assert [p.name for p in saved] == ["docs"]
        assert saved[0].tool["headers"] == {"Authorization": "Bearer ${LAB_TOKEN}"}
        assert saved[0].tool["require_approval"] == "never"

        await pilot.press("c")  # duplicate
        await pilot.pause()
        assert sorted(d["name"] for d in index.presets()) == ["docs", "docs 2"]

        await pilot.press("e")  # edit the highlighted one (the copy)
        await pilot.pause()
        form = app.screen
        assert isinstance(form, PresetForm)
        assert form.query_one("#preset_name", Input).value == "docs 2"
        form.query_one("#preset_name", Input).value = "docs"  # taken
        await pilot.pause()
        assert "already" in str(form.query_one("#err-preset_name").render())
        form.query_one("#preset_name", Input).value = "docs-staging"
        form.query_one("#approval", Select).value = "always"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        names = sorted(d["name"] for d in index.presets())
        assert names == ["docs", "docs-staging"]
        staging = next(Preset.from_doc(d) for d in index.presets() if d["name"] == "docs-staging")
        assert staging.tool["require_approval"] == "always"

        await pilot.press("d")  # asks first: esc keeps it, y deletes it
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "docs" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("escape")
        await pilot.pause()
        assert len(index.presets()) == 2
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert len(index.presets()) == 1
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ToolsScreen)
    index.close()


async def test_function_form_checks_the_schema_and_raw_json_mode(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.action_tools()
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        form.query_one("#preset_name", Input).value = "weather"
        form.query_one("#kind", Select).value = "function"
        await pilot.pause()
        form.query_one("#name", Input).value = "get_weather"
        form.query_one("#parameters", TextArea).load_text(
            '{"type": "object", "properties": {"c": {"type": "text"}}}'
        )
        await pilot.pause()
        assert "not a JSON type" in str(form.query_one("#err-parameters").render())
        form.query_one("#parameters", TextArea).load_text('{"type": "object",')
        await pilot.pause()
        assert "invalid JSON" in str(form.query_one("#err-parameters").render())
        form.query_one("#parameters", TextArea).load_text(json.dumps(WEATHER["parameters"]))
        await pilot.pause()
        assert form.validation.ok
        await pilot.press("ctrl+r")  # raw JSON shows the same tool
        await pilot.pause()
        raw = json.loads(form.query_one("#json", TextArea).text)
        assert raw["name"] == "get_weather" and raw["parameters"] == WEATHER["parameters"]
        form.query_one("#json", TextArea).load_text('{"type": "function", "name": "bad name"}')
        await pilot.pause()
        assert not form.validation.ok
        assert "name" in str(form.query_one("#err-json").render())
        form.query_one("#json", TextArea).load_text(json.dumps(WEATHER))
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert [Preset.from_doc(d).tool for d in index.presets()] == [WEATHER]
    index.close()


# ------------------------------------------------------------------ per-branch tool sets


async def test_picked_tools_are_sent_recorded_and_inherited_across_forks(tmp_path):
    app, index, _backend, wire = recording_app(tmp_path)
    save(index, "docs", DOCS)
    save(index, "weather", WEATHER)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("ctrl+t")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, ToolPicker)
        picker.query_one(SelectionList).select(0)  # docs
        await pilot.press("enter")
        await pilot.pause()
        assert "tools: docs (changed)" in str(app.composer.target.render())
        await type_and_send(pilot, app, "first question")
        first = app.current
        sent = wire.bodies[-1]
        # On the wire the placeholder is filled in...
        assert sent["tools"][0]["headers"]["Authorization"] == f"Bearer {SECRET}"
        # ...in the index it is not: the request keeps the placeholder, the response is scrubbed.
        body = index.load_body(*first)
        assert body["request"]["tools"] == [DOCS]
        assert SECRET not in json.dumps(body)
        assert index.get(*first).tool_labels == ("docs",)

        # A reply inherits the tools; so does a fork from the same node.
        await type_and_send(pilot, app, "second question")
        assert wire.bodies[-1]["tools"][0]["server_label"] == "docs"
        await goto(pilot, app, first)
        await pilot.press("enter")
        await pilot.pause()
        assert "tools: docs" in str(app.composer.target.render())
        await type_and_send(pilot, app, "a fork")
        assert wire.bodies[-1]["previous_response_id"] == first[1]
        assert wire.bodies[-1]["tools"][0]["server_label"] == "docs"

        # T changes the set for the next message only: the function instead of docs.
        await pilot.press("escape")
        await goto(pilot, app, first)
        await pilot.press("T")
        await pilot.pause()
        selection = app.screen.query_one(SelectionList)
        selection.deselect(0)
        selection.select(1)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("enter")
        await type_and_send(pilot, app, "another fork")
        assert [t.get("name") or t.get("server_label") for t in wire.bodies[-1]["tools"]] == [
            "get_weather"
        ]
        # The transcript says which tools each turn was sent with, by preset name.
        tools_lines = [str(w.render()) for w in app.transcript.query(".turn-tools")]
        assert "⚙ tools: weather" in tools_lines
    for path in (tmp_path / "index").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes()
    index.close()


async def test_a_missing_tool_secret_is_named_and_nothing_is_lost(tmp_path):
    app, index, _backend, wire = recording_app(tmp_path, env={"OTHER": "x"})
    save(index, "docs", DOCS)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("n")
        app.conversation.next_tools = [DOCS]
        count = len(index)
        await type_and_send(pilot, app, "needs the token")
        assert app.composer.text == "needs the token"
        assert len(index) == count and wire.bodies == []
        assert any("$LAB_TOKEN" in str(n.message) for n in app._notifications)
    index.close()


# ------------------------------------------------------------------ approvals and function calls


async def test_mcp_approval_round_trip(tmp_path):
    app, index, _backend, wire = recording_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        app.conversation.next_tools = [GUARDED]
        await type_and_send(pilot, app, "please search the runbooks")
        await pilot.pause()
        asked = app.current
        assert isinstance(app.screen, ApprovalScreen)
        text = str(app.screen.query_one("#approval-text").render())
        assert "ops" in text and "search" in text
        request_id = app.screen.request["id"]
        await pilot.press("y")
        await settle(pilot, app)
        answer = wire.bodies[-1]
        assert answer["previous_response_id"] == asked[1]
        assert answer["input"] == [
            {"type": "mcp_approval_response", "approval_request_id": request_id, "approve": True}
        ]
        assert answer["tools"] == [GUARDED]  # tools are resent: the API does not keep them
        done = index.load_body(*app.current)["response"]
        kinds = [item["type"] for item in done["output"]]
        assert "mcp_call" in kinds and kinds[-1] == "message"
        assert index.forest(SERVER).parent(app.current) == asked
    index.close()


async def test_mcp_denial_and_answer_later(tmp_path):
    app, index, _backend, wire = recording_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        app.conversation.next_tools = [GUARDED]
        await type_and_send(pilot, app, "search for the outage")
        asked = app.current
        await pilot.press("escape")  # later
        await pilot.pause()
        assert not isinstance(app.screen, ApprovalScreen)
        await pilot.press("escape")  # from the composer to the tree
        await pilot.press("a")  # answer it now
        await pilot.pause()
        assert isinstance(app.screen, ApprovalScreen)
        await pilot.press("n")
        await settle(pilot, app)
        assert wire.bodies[-1]["input"][0]["approve"] is False
        done = index.load_body(*app.current)["response"]
        assert [item["type"] for item in done["output"]][-1] == "message"
        assert "mcp_call" not in [item["type"] for item in done["output"]]
        await goto(pilot, app, asked)
        await pilot.press("a")
        await pilot.pause()
        assert not isinstance(app.screen, ApprovalScreen)  # answered already
    index.close()


async def test_function_call_round_trip(tmp_path):
    app, index, _backend, wire = recording_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        app.conversation.next_tools = [WEATHER]
        await type_and_send(pilot, app, "use get_weather for Lisbon")
        await pilot.pause()
        assert isinstance(app.screen, FunctionOutputScreen)
        call = app.screen.call
        assert call["name"] == "get_weather"
        assert "city" in json.loads(call["arguments"])
        app.screen.query_one(TextArea).load_text("18°C and sunny")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        sent = wire.bodies[-1]
        assert sent["input"] == [
            {"type": "function_call_output", "call_id": call["call_id"], "output": "18°C and sunny"}
        ]
        answer = index.load_body(*app.current)["response"]
        from tui.api.items import response_text

        assert "18°C and sunny" in response_text(answer)
    index.close()


def test_tools_screen_snapshot(snap_compare, tmp_path):
    app, index, _ = build(tmp_path)
    save(index, "docs", DOCS)
    save(index, "ops (approval)", GUARDED)
    save(index, "weather", WEATHER)
    save(index, "web search", {"type": "web_search"})
    assert snap_compare(app, terminal_size=(110, 30), press=["t", "down"])


def test_preset_form_snapshot(snap_compare, tmp_path):
    app, index, _ = build(tmp_path)
    save(index, "docs", DOCS)

    async def run_before(pilot):
        app.action_tools()
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        app.screen.query_one("#server_url", Input).value = "ftp://wrong.example.com"
        # A focused Input blinks its cursor every half second: a screenshot taken at either
        # phase is right, so hold it still (the CI run under load caught the other phase).
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    assert snap_compare(app, terminal_size=(110, 40), run_before=run_before)


def test_transcript_with_tool_activity_snapshot(snap_compare, tmp_path):
    app, _index, backend = build(tmp_path, demo=False)

    async def run_before(pilot):
        app.client = ResponsesClient(LOCAL, env={}, transport=OfflineTransport(backend))
        app.env = {"LAB_TOKEN": SECRET}
        await pilot.press("n")
        app.conversation.next_tools = [DOCS]
        app.composer.set_text("search the docs for MarkdownStream")
        await pilot.press("ctrl+s")
        # The reply is recorded and the transcript redrawn with it (the tool entry included).
        await wait_for(pilot, lambda: not app.streaming and app.current is not None)
        await wait_for(
            pilot,
            lambda: (
                app.current in app.transcript.path_keys
                and not app.transcript._busy.locked()
                and bool(app.transcript.query(".turn-tools"))
            ),
        )
        await pilot.pause()

    assert snap_compare(app, terminal_size=(110, 34), run_before=run_before)


async def test_the_picker_marks_picked_tools_without_colour(tmp_path):
    # Issue 14, point 10: picked and not picked differed only by the checkbox's colour.
    app, index, _ = build(tmp_path, demo=False)
    save(index, "docs", DOCS)
    save(index, "weather", WEATHER)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(app.screen, ToolPicker))
        choices = app.screen.query_one(SelectionList)

        def lines() -> list[str]:
            return [str(choices.get_option_at_index(n).prompt) for n in range(2)]

        assert [line[:4] for line in lines()] == ["[ ] ", "[ ] "]
        await pilot.press("space")  # the highlighted one: docs
        await pilot.pause()
        assert lines()[0].startswith("[x] docs") and lines()[1].startswith("[ ] weather")
        await pilot.press("space")
        await pilot.pause()
        assert lines()[0].startswith("[ ] docs")
    index.close()


async def test_the_url_placeholder_does_not_look_like_a_value(tmp_path):
    app, index, _ = build(tmp_path, demo=False)
    async with app.run_test(size=SIZE) as pilot:
        form = PresetForm(Preset("docs", {"type": "mcp", "server_label": "docs"}), set())
        await app.push_screen(form)
        await pilot.pause()
        placeholder = form.query_one("#server_url", Input).placeholder
        assert placeholder == "the server's address (https://…)"
        assert not placeholder.startswith("http")  # an empty field must not read as filled
    index.close()


async def test_the_tools_screens_keys_are_not_offered_under_its_forms(tmp_path):
    """The presets screen's footer, the one line a form leaves visible below it, offers its
    keys (Add, Edit, ...) only while nothing is in front of it."""
    from textual.widgets._footer import FooterKey

    def offered(screen) -> set[str]:
        return {key.description for key in screen.query(FooterKey) if key.display}

    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ToolsScreen))
        await pilot.pause()
        tools = app.screen
        assert {"Add", "Edit", "Delete"} <= offered(tools)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, PresetForm))
        await pilot.pause()
        assert not {"Add", "Edit", "Duplicate", "Delete", "Back"} & offered(tools)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is tools)
        await pilot.pause()
        assert {"Add", "Edit", "Delete"} <= offered(tools)
    index.close()
