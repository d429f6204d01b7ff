"""Every dialog fits the terminal, down to 60x15: its fields can be scrolled into view, its
buttons are on screen, Tab scrolls the focused field into view, and the preset form says why
Save is disabled. The delete dialog says what goes in words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.geometry import Region
from textual.widgets import Button, Input, Select, TextArea
from ui_helpers import build, goto, key_of, settle, wait_for

from tui.ops.fanout import RunSettings
from tui.search import Hit
from tui.tools import Preset
from tui.ui.copy_picker import CopyPicker
from tui.ui.fanout_screen import FanoutScreen
from tui.ui.history_screens import ExportScreen, ImportScreen, ProfileScreen, SearchScreen
from tui.ui.name_screens import LabelsScreen, NameScreen
from tui.ui.screens import (
    ConfirmScreen,
    DeletePlan,
    DeleteScreen,
    HelpScreen,
    ProgressScreen,
    delete_summary,
)
from tui.ui.settings_screen import RunSettingsScreen
from tui.ui.tools_screen import ApprovalScreen, FunctionOutputScreen, PresetForm, ToolPicker

SIZES = [(60, 15), (80, 24), (120, 40)]
LONG = "a question that goes on " * 12
MODEL = "accounts/fireworks/models/a-model-with-a-rather-long-name-v3p1-instruct"
MCP = {
    "type": "mcp",
    "server_label": "docs",
    "server_url": "https://mcp.example.com/mcp",
    "require_approval": {"always": {"tool_names": ["a", "b"]}},
    "headers": {"Authorization": "Bearer ${LAB_TOKEN}", "X-Team": "lab"},
}
FUNCTION = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


class Searcher:
    def search(self, query: str, limit: int = 200) -> list[Hit]:
        return [Hit(("s", f"resp_{n:04d}"), "input", f"{query} {LONG}", 0, 1) for n in range(30)]


def dialogs(tmp_path: Path) -> dict[str, Any]:
    """Every modal dialog of the app, as it opens (the delete dialog is opened by its key)."""
    presets = [Preset(f"preset {n}", dict(MCP, server_label=f"s{n}")) for n in range(12)]
    return {
        "help": lambda: HelpScreen(),
        "copy": lambda: CopyPicker(LONG * 3, [("python", f"x = {n}\n" * 40) for n in range(12)]),
        "progress": lambda: ProgressScreen("Deleting 9 responses…", 9, status=True, group="x"),
        "confirm": lambda: ConfirmScreen("Delete the tool preset 'docs'?", LONG, "Delete"),
        "name": lambda: NameScreen("Title for this conversation", LONG, "a title"),
        "labels": lambda: LabelsScreen([(("s", f"r{n}"), f"label {n}", LONG) for n in range(30)]),
        "import": lambda: ImportScreen(),
        "export": lambda: ExportScreen("resp_0123456789abcdef", tmp_path),
        "search": lambda: SearchScreen(Searcher),
        "profile": lambda: ProfileScreen([(f"p{n}", LONG, n % 2 == 0) for n in range(20)], "p0"),
        "form-new": lambda: PresetForm(None, set()),
        "form-mcp": lambda: PresetForm(Preset("docs", MCP), set()),
        "form-function": lambda: PresetForm(Preset("weather", FUNCTION), set()),
        "picker": lambda: ToolPicker(presets, []),
        "approval": lambda: ApprovalScreen(
            {
                "server_label": "docs",
                "name": "search",
                "arguments": {"q": LONG, "n": list(range(9))},
            }
        ),
        "function-output": lambda: FunctionOutputScreen(
            {"name": "get_weather", "call_id": "call_1", "arguments": {"city": LONG}}
        ),
        "fanout": lambda: FanoutScreen("resp_0123456789abcdef", RunSettings(MODEL, 0.7), 8),
        "delete": lambda: DeleteScreen(
            DeletePlan(3, "the offline backend", "resp_0123456789", 0, True, False, LONG)
        ),
        "run-settings": lambda: RunSettingsScreen(
            {
                "model": "accounts/fireworks/models/" + "long-model-name-" * 4,
                "instructions": LONG,
                "temperature": 0.7,
                "reasoning": {"effort": "high", "summary": "auto"},
                "text": {"format": {"type": "json_schema", "name": "city", "schema": MCP}},
                "metadata": {f"k{n}": LONG[:60] for n in range(16)},
            },
            LONG,
        ),
        "delete-keeping": lambda: DeleteScreen(
            DeletePlan(1, "https://api.example.com/v1", "resp_0123456789", 7, False, False, LONG)
        ),
    }


def visible(widget: Any, dialog: Any, screen: Region) -> bool:
    """Whether `widget` is wholly on screen and inside the dialog's visible part."""
    docked = any(a.id == "buttons" for a in widget.ancestors_with_self)
    view = dialog.region if docked else dialog.scrollable_content_region
    return screen.contains_region(widget.region) and view.contains_region(widget.region)


async def check_fits(pilot: Any) -> None:
    """The open dialog: its buttons visible as it opens, every focusable widget and button
    visible once scrolled into view, and the buttons visible again after that."""
    app = pilot.app
    screen = app.screen
    whole = Region(0, 0, *app.size)
    dialog = screen.query_one("#dialog")
    assert whole.contains_region(dialog.region), (dialog.region, app.size)
    buttons = list(screen.query(Button).results(Button))
    for button in buttons:
        assert button.display and visible(button, dialog, whole), (button, button.region)
    widgets = [w for w in screen.query("*") if w.focusable and w is not dialog] + buttons
    for widget in widgets:
        if not all(a.display for a in widget.ancestors_with_self if hasattr(a, "display")):
            continue
        dialog.scroll_to_widget(widget, animate=False, immediate=True)
        await pilot.pause(0)  # one layout pass (not a wait for the whole app to idle)
        assert visible(widget, dialog, whole), (widget, widget.region, dialog.region)
        for button in buttons:
            assert visible(button, dialog, whole), (button, button.region)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_every_dialog_fits(tmp_path, size):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        for name, make in dialogs(tmp_path).items():
            await app.push_screen(make())
            await pilot.pause()
            await pilot.pause()
            try:
                await check_fits(pilot)
            except AssertionError as error:
                raise AssertionError(f"{name} at {size}: {error}") from None
            app.pop_screen()
            await pilot.pause()
    index.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_delete_dialog_by_key_shows_its_buttons(tmp_path, size):
    """At 60x15 `d` used to open a dialog without buttons (yet Tab Enter deleted)."""
    app, index, _ = build(tmp_path)
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        await goto(pilot, app, key_of(index, "Plan a three-day trip"))
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteScreen))
        await pilot.pause()
        await check_fits(pilot)
        assert app.focused is app.screen.query_one("#cancel")
        await pilot.press("escape")
        await pilot.pause()
    index.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_tab_scrolls_every_form_field_into_view(tmp_path, size):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        for tool in (MCP, FUNCTION):
            form = PresetForm(Preset("p", tool), set())
            await app.push_screen(form)
            await pilot.pause()
            dialog = form.query_one("#dialog")
            whole = Region(0, 0, *app.size)
            seen = set()
            for _ in range(14):
                await pilot.press("tab")
                await pilot.pause()
                await pilot.pause()
                focused = app.focused
                assert focused is not None
                if focused is not dialog:  # the dialog itself takes focus to scroll by keys
                    assert visible(focused, dialog, whole), focused
                seen.add(focused.id)
            fields = {"headers", "approval", "approval_tools"} if tool is MCP else {"parameters"}
            assert fields <= seen, seen
            app.pop_screen()
            await pilot.pause()
    index.close()


async def test_the_reason_save_is_disabled_is_shown(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        form = PresetForm(Preset("docs", MCP), set())
        await app.push_screen(form)
        await pilot.pause()
        reason = form.query_one("#save-reason")
        assert str(reason.render()).strip() == ""
        assert not form.query_one("#save", Button).disabled
        form.query_one("#headers", TextArea).load_text("Authorization: Bearer sk-literal12345678")
        await pilot.pause()
        assert form.query_one("#save", Button).disabled
        shown = str(reason.render())
        assert shown.startswith("Cannot save: Headers:"), shown
        assert visible(reason, form.query_one("#dialog"), Region(0, 0, *app.size))
        form.query_one("#headers", TextArea).load_text("Authorization: Bearer ${LAB_TOKEN}")
        form.query_one("#preset_name", Input).value = ""
        await pilot.pause()
        assert str(reason.render()).startswith("Cannot save: Preset name:")
        form.query_one("#kind", Select).value = "function"
        form.query_one("#preset_name", Input).value = "f"
        await pilot.pause()
        assert str(reason.render()).startswith("Cannot save: Function name:")
    index.close()


def test_delete_summary_words() -> None:
    def plan(count: int, kept: int = 0, subtree: bool = False, whole: bool = False) -> DeletePlan:
        return DeletePlan(count, "x", "resp_1", kept, subtree, whole, "hi")

    assert delete_summary(plan(1)) == "this turn"
    assert delete_summary(plan(1, subtree=True)) == "this turn"
    assert delete_summary(plan(3, subtree=True)) == "this turn and 2 below"
    assert delete_summary(plan(2, subtree=True)) == "this turn and 1 below"
    assert delete_summary(plan(5, subtree=True, whole=True)) == "the whole conversation (5 turns)"
    assert delete_summary(plan(1, subtree=True, whole=True)) == (
        "the whole conversation (this one turn)"
    )


async def test_delete_dialog_quotes_the_turn(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        key = key_of(index, "Plan a three-day trip")
        below = len(index.forest(key[0]).descendants(key))
        assert below >= 2
        await goto(pilot, app, key)
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteScreen))
        text = str(app.screen.query_one("#delete-text").render())
        assert f"Delete this turn and {below} below on the offline backend?" in text
        assert "“Plan a three-day trip" in text
        assert "removes them on the server" in text and "they cannot be" in text
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteScreen))
        text = str(app.screen.query_one("#delete-text").render())
        assert "Delete this turn on the offline backend?" in text
        assert "removes it on the server" in text and "it cannot be" in text
        later = "later turn below stays" if below == 1 else f"{below} later turns below stay"
        assert f"The {later} on the server" in text
        await pilot.press("escape")
    index.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_footer_keeps_help_and_quit(tmp_path, size):
    """Keys that do not fit are left out, the least important first: never help or quit."""
    from textual.widgets._footer import FooterKey

    app, index, _ = build(tmp_path)
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        await goto(pilot, app, key_of(index, "Plan a three-day trip"))

        def shown() -> dict[str, Region]:
            keys = app.screen.query(FooterKey)
            return {k.description: k.region for k in keys if k.display and k.region.width}

        for where in ("tree", "composer"):
            await pilot.pause()
            await pilot.pause()
            keys = shown()
            palette = keys.pop("palette")
            assert "Help" in keys, (where, keys)
            if where == "tree":
                assert "Quit" in keys and "Reply" in keys, keys
            for name, region in keys.items():
                assert region.right <= palette.x, (where, name, region, palette)
            if size[0] >= 120 and where == "tree":
                assert len(keys) >= 9, keys  # a wide footer leaves nothing out
            await pilot.press("enter")  # into the composer: its own keys
    index.close()


async def test_import_dialog_is_a_modal_with_buttons(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        answers: list[Any] = []
        for typed, button in (("resp_a, resp_b", "#import"), ("x", "#cancel")):
            await app.push_screen(ImportScreen(), answers.append)
            await pilot.pause()
            screen = app.screen
            assert screen.has_class("modal")
            assert "enter imports" in str(screen.query_one(".hint").render())
            error = screen.query_one("#import-error")
            assert not error.display  # no empty gap before there is an error
            screen.query_one(Input).value = "resp_\u202ebad"
            await pilot.click("#import")
            await pilot.pause()
            assert error.display and "not a response id" in str(error.render())
            assert "\u202e" not in str(error.render())
            screen.query_one(Input).value = typed
            await pilot.pause(0.3)  # past the button's press effect
            await pilot.click(button)
            await pilot.pause()
            assert app.screen is not screen, (typed, str(error.render()))
        assert answers == [["resp_a", "resp_b"], None]
    index.close()
