"""Issue 14, point 4: the composer's status line shows every tool the next message carries,
by preset name, at 120 and 80 columns, with a long model name, after a pick with `T`, for a
new conversation, an edit, a new branch and a replay."""

from __future__ import annotations

import pytest
from textual.geometry import Region
from ui_helpers import SERVER, build, goto, key_of, settle

import tui.ui.conversation_pane as conversation_pane
from tui.store.records import Status
from tui.text import one_line
from tui.tools import Preset, tool_names

LONG_MODEL = "accounts/fireworks/models/qwen3-coder-480b-a35b-instruct-extended-context"
PRESETS = {
    "github-search": {"type": "mcp", "server_label": "gh", "server_url": "https://a.example/m"},
    "deepwiki-docs": {"type": "mcp", "server_label": "dw", "server_url": "https://b.example/m"},
    "weather-lookup": {"type": "function", "name": "weather", "parameters": {"type": "object"}},
    "calendar-events": {"type": "function", "name": "cal", "parameters": {"type": "object"}},
    "unit-converter": {"type": "function", "name": "units", "parameters": {"type": "object"}},
}


def drawn(widget) -> list[str]:
    """The rows the widget draws, as text."""
    width, height = widget.outer_size  # padding included
    strips = widget.render_lines(Region(0, 0, width, height))
    return ["".join(segment.text for segment in strip).rstrip() for strip in strips]


def test_tool_names_are_preset_names():
    presets = [Preset(name, tool) for name, tool in PRESETS.items()]
    stray = {"type": "mcp", "server_label": "other", "server_url": "https://c.example/m"}
    assert tool_names([PRESETS["github-search"], stray], presets) == ["github-search", "other"]


@pytest.mark.parametrize("width", [120, 80])
@pytest.mark.parametrize("how", ["pick", "new", "edit", "branch", "replay"])
async def test_every_tool_is_on_the_status_line(tmp_path, monkeypatch, width, how):
    inherited = conversation_pane.settings_of
    monkeypatch.setattr(  # every turn was sent with a long model name
        conversation_pane,
        "settings_of",
        lambda *a: {**inherited(*a), "model": LONG_MODEL},
    )
    monkeypatch.setattr("tui.session.Session.default_model", LONG_MODEL)
    app, index, _backend = build(tmp_path)
    for name, tool in PRESETS.items():
        index.save_preset(Preset(name, tool).to_doc())
    async with app.run_test(size=(width, 40)) as pilot:
        pane = app.conversation
        if how == "replay":
            start = next(n for n in index.nodes(SERVER) if n.status == Status.NOT_STORED).key
        elif how == "branch":
            forest = index.forest(SERVER)
            start = next(n.key for n in index.nodes(SERVER) if forest.children(n.key))
        else:
            start = key_of(index, "Show a tiny example")
        await goto(pilot, app, start)
        await pilot.press({"new": "n", "edit": "e"}.get(how, "enter"))
        await settle(pilot, app)
        pane.set_tools(list(PRESETS.values()))
        await settle(pilot, app)
        rows = drawn(pane.composer.target)
        flat = " ".join(" ".join(rows).split())
        expected = {
            "new": "new conversation",
            "edit": "editing",
            "branch": "new branch",
            "replay": "replays 1 turn",
        }.get(how, "reply to")
        assert expected in flat, rows
        assert "accounts/fireworks" in flat, rows
        assert "tools: " + ", ".join(PRESETS) + " (changed)" in flat, rows
        assert all(row.strip() for row in rows), rows  # no empty row left over
    index.close()


async def test_the_line_is_one_row_when_it_fits(tmp_path):
    app, index, _backend = build(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await goto(pilot, app, key_of(index, "Show a tiny example"))
        await pilot.press("enter")
        await settle(pilot, app)
        rows = drawn(app.conversation.composer.target)
        assert len(rows) == 1 and "reply to" in rows[0] and rows[0].endswith("tools: none")
    index.close()


async def test_a_great_many_tools_are_counted_not_cut(tmp_path):
    app, index, _backend = build(tmp_path)
    tools = [{"type": "function", "name": f"tool_{n:02d}"} for n in range(40)]
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, app, key_of(index, "Show a tiny example"))
        await pilot.press("enter")
        app.conversation.set_tools(tools)
        await settle(pilot, app)
        rows = drawn(app.conversation.composer.target)
        flat = " ".join(" ".join(rows).split())
        assert "40 tools (changed): T lists them" in flat and "tool_00" not in flat, rows
    index.close()


async def test_the_transcript_names_the_tools_by_preset(tmp_path):
    app, index, _backend = build(tmp_path)
    for name, tool in PRESETS.items():
        index.save_preset(Preset(name, tool).to_doc())
    chosen = [PRESETS["github-search"], PRESETS["deepwiki-docs"]]
    async with app.run_test(size=(120, 40)) as pilot:
        await goto(pilot, app, key_of(index, "Show a tiny example"))
        await pilot.press("enter")
        app.conversation.set_tools(chosen)
        app.composer.set_text("With tools")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert index.get(*app.current).tool_labels == ("gh", "dw")  # what the server knows
        turn = app.conversation.transcript.query(".turn-tools").last()
        shown = str(turn.render())
        assert shown == "⚙ tools: github-search, deepwiki-docs"
    index.close()


async def test_a_wider_terminal_gives_the_model_its_name_back(tmp_path, monkeypatch):
    monkeypatch.setattr("tui.session.Session.default_model", LONG_MODEL)
    app, index, _backend = build(tmp_path, demo=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        narrow = " ".join(drawn(app.conversation.composer.target))
        assert LONG_MODEL[:40] not in narrow
        await pilot.resize_terminal(200, 40)
        await settle(pilot, app)
        wide = " ".join(drawn(app.conversation.composer.target))
        assert one_line(LONG_MODEL, 40) in wide, wide
    index.close()
