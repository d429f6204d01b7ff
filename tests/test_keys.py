"""One source for every key (tui/ui/keys.py) and the user's remaps (tui/config.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Static
from ui_helpers import build, settle, wait_for

from tui import config
from tui.ui import keys
from tui.ui.app import ResponsesApp
from tui.ui.compare_screen import CompareScreen
from tui.ui.composer import ComposerInput
from tui.ui.copy_picker import CopyPicker
from tui.ui.fanout_screen import FanoutScreen
from tui.ui.forest_graph import ForestGraph
from tui.ui.graph_view import GraphView
from tui.ui.history_screens import ExportScreen, ImportScreen, ProfileScreen, SearchScreen
from tui.ui.name_screens import LabelsScreen, NameScreen
from tui.ui.screens import ConfirmScreen, DeleteScreen, HelpScreen, ProgressScreen
from tui.ui.settings_screen import RunSettingsScreen
from tui.ui.tools_screen import (
    ApprovalScreen,
    FunctionOutputScreen,
    PresetForm,
    ToolPicker,
    ToolsScreen,
)

DIALOGS = [
    NameScreen,
    LabelsScreen,
    ImportScreen,
    ExportScreen,
    SearchScreen,
    ProfileScreen,
    DeleteScreen,
    ProgressScreen,
    HelpScreen,
    PresetForm,
    ToolsScreen,
    ToolPicker,
    ApprovalScreen,
    FunctionOutputScreen,
    CopyPicker,
    ConfirmScreen,
    CompareScreen,
    RunSettingsScreen,
    FanoutScreen,
]
# Where each scope is bound; a dialog's "scope" is its class name (the `where` of its keys).
WIDGETS = {
    ("app",): ResponsesApp,
    ("graph",): GraphView,
    ("tree",): ForestGraph,
    ("composer",): ComposerInput,
    **{(cls.__name__,): cls for cls in DIALOGS},
}


def own_bindings(cls) -> list:
    return list(cls.__dict__["BINDINGS"])


def test_every_binding_the_app_declares_comes_from_the_table():
    declared = {(c.id, c.keys, c.run) for c in keys.COMMANDS}
    for scopes, cls in WIDGETS.items():
        bound = own_bindings(cls)
        assert bound, cls
        for binding in bound:
            assert (binding.id, binding.key, binding.action) in declared, (cls, binding)
        # ...and every command of those scopes is bound there.
        ids = {binding.id for binding in bound}
        assert ids == {c.id for c in keys.by_scope(*scopes) if c.keys}, cls


def test_every_dialog_key_is_bound_on_a_dialog_and_only_there():
    dialogs = {cls.__name__ for cls in DIALOGS}
    for command in keys.by_scope("dialog"):
        assert command.where and set(command.where) <= dialogs, command.id
        assert command.section == "Dialogs" and not command.palette, command.id
    assert all(not c.where for c in keys.COMMANDS if c.scope != "dialog")
    # Not remappable (a dialog names its keys on its buttons), and not in the palette.
    assert not set(keys.remappable_ids()) & {c.id for c in keys.by_scope("dialog")}
    actions = {entry.action for entry in keys.palette_entries({})}
    assert not actions & {"cancel", "close", "later", "save", "done", "send", "toggle_raw"}


def test_no_module_but_keys_constructs_a_binding():
    ui = Path(keys.__file__).resolve().parent
    sources = [path for path in ui.rglob("*.py") if path.name != "keys.py"]
    assert len(sources) > 10
    for path in sources:
        assert not re.search(r"\bBinding\(", path.read_text("utf-8")), path.name


def test_no_key_means_two_things_in_one_place():
    # The forest graph has its own keys and GraphView's (inherited). A widget's key may shadow
    # the App's on purpose (esc in the composer leaves it, and cancels a stream there too).
    # A dialog's keys are its own (a modal screen: the keys under it do not apply).
    for scopes in [("app",), ("graph", "tree"), ("composer",), *[(c.__name__,) for c in DIALOGS]]:
        seen: dict[str, str] = {}
        for command in keys.by_scope(*scopes):
            for key in filter(None, command.keys.split(",")):
                assert key not in seen, f"{key} is {seen.get(key)} and {command.id}"
                seen[key] = command.id
    assert len({c.id for c in keys.COMMANDS}) == len(keys.COMMANDS)


def test_every_widget_action_and_palette_entry_exists():
    for scopes, cls in WIDGETS.items():
        for command in keys.by_scope(*scopes):
            target = ResponsesApp if command.run.startswith("app.") else cls
            name = command.run.removeprefix("app.").split("(")[0]  # answer(True) -> answer
            assert hasattr(target, f"action_{name}"), (cls, command.id)
    entries = keys.palette_entries({})
    assert entries and len({entry.action for entry in entries}) == len(entries)
    for entry in entries:
        target = ForestGraph if entry.on_forest else ResponsesApp
        assert hasattr(target, f"action_{entry.action}"), entry
        assert "." not in entry.action
    assert keys.PaletteEntry("Delete this response", "d", "delete", False) in entries
    assert keys.PaletteEntry("Go to the parent response", "p", "parent", True) in entries
    assert (
        keys.PaletteEntry("Switch profile (server)", "palette", "switch_profile", False) in entries
    )


def test_the_keys_on_the_highlighted_turn_are_the_graphs_and_run_the_apps_workflows():
    bound = {binding.id: binding.action for binding in own_bindings(ForestGraph)}
    assert bound["delete"] == "app.delete"
    assert bound["parent"] == "parent"  # the graph's own move
    assert "delete" not in {binding.id for binding in own_bindings(ResponsesApp)}
    # No twin actions for "the same, but while typing".
    assert not [name for name in dir(ResponsesApp) if name.endswith("_anywhere")]


def test_the_help_lists_every_command_once_with_its_keys():
    sections = keys.help_sections({})
    assert [name for name, _ in sections] == list(keys.SECTIONS)
    lines = [row for _, rows in sections for row in rows]
    assert len({what for _, what in lines}) == len(lines)
    assert {what for _, what in lines} == {c.help_line for c in keys.COMMANDS}
    rows = dict((what, shown) for shown, what in lines)
    assert rows["pick the tools for the next message"] == "T  ctrl+t"
    assert rows["previous / next line"] == "k  ↑  j  ↓"
    assert rows["previous / next sibling branch"] == "[  ]"
    assert rows["cancel a streaming reply (kept as partial), or the filter"] == "esc"
    assert rows["switch profile (server)"] == "ctrl+p"
    assert rows[keys.CLOSE] == "esc  ?  q"
    assert rows["approval: approve / deny (esc: decide later)"] == "y  n"
    assert rows["delete dialog: delete everywhere / forget locally"] == "s  f"
    remapped = dict((w, s) for _, r in keys.help_sections({"delete": "ctrl+k"}) for s, w in r)
    assert remapped["delete this response"] == "ctrl+k"


@pytest.mark.parametrize(
    "text, keymap, problem",
    [
        (
            '[keys]\ndelete = "ctrl+k"\ncopy_id = "I, ctrl+i"\n',
            {"delete": "ctrl+k", "copy_id": "I,ctrl+i"},
            None,
        ),
        (
            '[keys]\nexplode = "x"\ndelete = "k"\n',
            {"delete": "k"},
            "has no command named 'explode'",
        ),
        ("[keys]\ndelete = 5\n", {}, 'delete must be keys like "x"'),
        ('[keys]\ndelete = "ctrl +k"\n', {}, 'delete must be keys like "x"'),
        ('[keys]\ndelete = ""\n', {}, 'delete must be keys like "x"'),
        ('[keys]\ndelete = "a,b,c,d,e,f,g,h,i"\n', {}, 'delete must be keys like "x"'),
        ('[keys]\nswitch_profile = "P"\n', {}, "has no command named 'switch_profile'"),
        ('keys = "d"\n', {}, "[keys] must be a table"),
        ("[keys\n", {}, "not valid TOML"),
        (b"\xff\xfe", {}, "not valid TOML"),
    ],
)
def test_config_keys_apply_what_is_valid_and_name_what_is_not(tmp_path, text, keymap, problem):
    path = tmp_path / "config.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    settings = config.load(path, keys.remappable_ids())
    assert settings.keymap == keymap
    if problem is None:
        assert settings.problems == []
    else:
        assert len(settings.problems) == 1 and problem in settings.problems[0]
        assert settings.problems[0].startswith("config.toml: ")


def test_no_config_file_is_no_problem_and_a_huge_one_is_not_read(tmp_path):
    assert config.load(tmp_path / "config.toml", ["delete"]) == config.Settings()
    huge = tmp_path / "big.toml"
    huge.write_bytes(b"#" * (config.MAX_BYTES + 1))
    assert config.load(huge, ["delete"]).problems == ["big.toml: larger than 64 KiB, not read"]


def help_text(app: ResponsesApp) -> str:
    screen = app.screen
    assert isinstance(screen, HelpScreen)
    console = Console(width=200, record=True)
    console.print(screen.query_one("#help-keys", Static).content)
    return console.export_text()


async def test_a_remapped_key_works_and_the_help_shows_it(tmp_path: Path, isolated_env: Path):
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text('[keys]\ndelete = "ctrl+k"\nnope = "z"\n')
    app, _index, _ = build(tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot, app)
        notes = [n.message for n in app._notifications]
        assert notes == ["config.toml: [keys] has no command named 'nope'"]
        await pilot.press("d")  # d no longer deletes
        await settle(pilot, app)
        assert not isinstance(app.screen, DeleteScreen)
        await pilot.press("ctrl+k")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteScreen))
        await pilot.press("escape")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        line = next(x for x in help_text(app).splitlines() if "delete this response" in x)
        assert line.split()[0] == "ctrl+k"


def test_the_readme_names_every_id_a_user_can_remap():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    section = readme[readme.index("**Your own keys.**") :]
    section = section[: section.index("\n\n", section.index("The ids:"))]
    named = set(re.findall(r"`([a-z_]+)`", section[section.index("The ids:") :]))
    assert named == set(keys.remappable_ids())


def _offered(screen) -> set[str]:
    """The binding ids the footer of `screen` offers (shown and enabled)."""
    return {
        active.binding.id
        for active in screen.active_bindings.values()
        if active.binding.show and active.enabled
    }


async def test_the_forest_keys_apply_only_while_the_forest_has_the_focus(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        base = app.screen
        assert app.focused is app.forest_view
        assert {"delete", "edit", "reply_or_more", "help", "quit"} <= _offered(base)
        # Typing: every letter is text, and the footer offers the composer's keys only.
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.focused, ComposerInput))
        await pilot.press(*"dd", "y", "q", "question_mark")
        await pilot.pause()
        assert app.composer.text == "ddyq?"
        offered = _offered(base)
        assert "delete" not in offered and "quit" not in offered
        assert {"submit", "help_composer"} <= offered
        assert app.is_running and len(index) > 0 and isinstance(app.screen, type(base))
        # A dialog in front: the footer beneath it offers none of the forest's keys.
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.focused is app.forest_view)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteScreen))
        offered = _offered(base)
        assert not offered & {"delete", "edit", "reply_or_more", "parent", "filter", "help", "quit"}
        # ...while ctrl+q, the App's own key for the same, still quits in front of the dialog.
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running)
    index.close()


async def test_keys_typed_ahead_go_where_the_key_before_them_sent_the_focus(tmp_path):
    # Over SSH keys arrive in bursts: "/lisbon" must filter (not open the import dialog on i),
    # and enter followed at once by "do it" must be text (not d: delete, o, ...).
    from textual import events

    app, index, _ = build(tmp_path)

    def burst(keys: str) -> None:
        for key in keys:
            name = {"/": "slash", "\r": "enter", " ": "space"}.get(key, key)
            char = None if key == "\r" else key
            app.post_message(events.Key(name, char))

    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        assert app.focused is app.forest_view
        burst("/lisbon")
        await settle(pilot, app)
        assert app.filter_input.value == "lisbon"
        assert not isinstance(app.screen, DeleteScreen) and app.screen is app.screen_stack[0]
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.focused is app.forest_view)
        burst("\rdo it")
        await settle(pilot, app)
        assert app.composer.text == "do it"
        assert app.screen is app.screen_stack[0]
    index.close()
