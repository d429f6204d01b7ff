"""Dialogs at small sizes: the delete dialog and the preset form at 60x15 and 80x24 show their
buttons (and the form why Save is disabled); every dialog at 60x15, 80x24 and 120x40."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_dialogs_fit import SIZES, dialogs
from test_tools_ui import DOCS
from textual.widgets import Input, TextArea
from ui_helpers import build, key_of, show_turn

from tui.tools import Preset

SMALL = [(60, 15), (80, 24)]


@pytest.mark.parametrize("size", SMALL, ids=lambda s: f"{s[0]}x{s[1]}")
def test_delete_subtree_dialog_small(snap_compare, tmp_path, size):
    app, index, _ = build(tmp_path)

    async def run_before(pilot):
        await show_turn(pilot, key_of(index, "Plan a three-day trip"))
        await pilot.press("D")
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SMALL, ids=lambda s: f"{s[0]}x{s[1]}")
def test_preset_form_small(snap_compare, tmp_path, size):
    """The MCP form with a literal secret in Headers: Save disabled, the reason beside it,
    the Headers field scrolled into view."""
    app, index, _ = build(tmp_path)
    index.save_preset(Preset("docs", DOCS).to_doc())

    async def run_before(pilot):
        app.action_tools()
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        for field in app.screen.query(Input):
            field.cursor_blink = False
        headers = app.screen.query_one("#headers", TextArea)
        headers.load_text("Authorization: Bearer sk-literal-secret-123456")
        headers.focus()
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


# Every dialog of the app (the ones tests/test_dialogs_fit.py checks) at 60x15, 80x24 and
# 120x40: its fields and buttons on screen. The export dialog shows its folder: a fixed one.
FOLDER = Path("/home/user/Downloads")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(dialogs(FOLDER)))
def test_every_dialog(snap_compare, tmp_path, name, size):
    app, index, _ = build(tmp_path)

    async def run_before(pilot):
        await show_turn(pilot, key_of(index, "Plan a three-day trip"))
        await app.push_screen(dialogs(FOLDER)[name]())
        await pilot.pause()
        for field in app.screen.query("Input, TextArea"):
            field.cursor_blink = False
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
