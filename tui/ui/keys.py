"""Every key of the app, declared once.

`COMMANDS` is the one table: each action with its keys, what it does, the help section it is
listed in and where it applies. The App's, the forest's and the composer's `BINDINGS`, the
footer labels, the help screen and the command palette are all built from it, and
`tests/test_keys.py` checks that nothing is bound that the table does not declare.

Scopes: "graph" keys move and fold in any branch graph (`GraphView`); "tree" keys act on the
highlighted turn and are bound on the forest's graph (`ForestGraph`), so they apply only while
it has the focus (never while typing), and run the App's action of the same name (the dialog
workflows) unless the command names another; "app" keys work anywhere, typing included;
"composer" keys act in the message box; "palette" actions have no key and are run from the
command palette (ctrl+p); "textual" keys are Textual's own (listed for the help, bound by
Textual); "dialog" keys are a dialog's own: `where` names the screens (class names) that bind
one, each builds its `BINDINGS` with `bindings("ItsClassName")`, and the help lists them under
"Dialogs". They are never in the palette (they apply only inside their dialog). No module but
this one constructs a `Binding`.

A user remaps a key in `$XDG_CONFIG_HOME/responses-tui/config.toml` (`tui.ui.config`): the
binding id is the command's `id`, and the help shows the keys in force. The dialog keys are not
remappable: they are the usual answers of a dialog (esc, ctrl+s, y / n), and each dialog names
them in its own buttons and hints ("Delete everywhere (s)", "Cancel (esc)", "ctrl+s sends"),
which a remap would make wrong. Their ids are unique all the same: Textual applies a keymap by
binding id on every screen, so an id a user remaps must not also name a dialog's key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from textual.binding import Binding
from textual.keys import format_key

Scope = Literal["tree", "app", "graph", "composer", "transcript", "palette", "textual", "dialog"]
SECTIONS = ("Move", "Write", "Manage", "App", "Dialogs")


@dataclass(frozen=True, slots=True)
class Command:
    id: str  # the binding id (what config.toml names) and, unless `action` says, the action
    keys: str  # Textual's key list, e.g. "j,down"; "" for palette-only actions
    title: str  # what it does: the help line and the palette entry
    section: str
    scope: Scope
    footer: str = ""  # the footer's short label; "" keeps it out of the footer
    action: str = ""
    needs_node: bool = False  # greyed out until a turn is highlighted
    priority: bool = False
    palette: bool = True
    help: str = ""  # the help line, where several commands share one ("previous / next line")
    where: tuple[str, ...] = ()  # a "dialog" command: the screens (class names) that bind it

    @property
    def run(self) -> str:
        """The action its binding runs, namespaced where it is not the binding widget's."""
        if self.action:
            return self.action
        return f"app.{self.id}" if self.scope == "tree" else self.id

    @property
    def on_forest(self) -> bool:
        """Whether the action is the forest graph's (the palette runs it there)."""
        return self.scope == "graph" or (self.scope == "tree" and not self.run.startswith("app."))

    @property
    def help_line(self) -> str:
        return self.help or self.title


def dialog(
    id: str,
    keys: str,
    title: str,
    where: str,
    action: str,
    *,
    footer: str = "",
    priority: bool = False,
    help: str = "",
) -> Command:
    """A dialog's key: bound on the screens `where` names (space-separated class names)."""
    return Command(
        id, keys, title, "Dialogs", "dialog", footer=footer, action=action, priority=priority,
        palette=False, help=help, where=tuple(where.split()),
    )  # fmt: skip


C, D = Command, dialog
CLOSE = "cancel or close a dialog (q: tool presets and help, ?: help)"
CONFIRM = (
    "confirm: export, save the preset, use the run settings, send the function output or "
    "the fan-out"
)
APPROVAL = "approval: approve / deny (esc: decide later)"
PRESETS = "tool presets: add / edit / duplicate / delete"
UPDOWN = "previous / next line"
ENTER = "composer: a new line / send (or the reverse: see ctrl+p)"
FOLDS = "fold / unfold (h goes up to what folds, l down to the first turn below)"
COMMANDS: tuple[Command, ...] = (
    # ---- Move
    C("cursor_up", "k,up", "previous line", "Move", "graph", palette=False, help=UPDOWN),
    C("cursor_down", "j,down", "next line", "Move", "graph", palette=False, help=UPDOWN),
    C("fold", "h,left", "fold", "Move", "graph", palette=False, help=FOLDS),
    C("unfold", "l,right", "unfold", "Move", "graph", palette=False, help=FOLDS),
    C("toggle_node", "space", "fold / unfold", "Move", "graph", palette=False, help=FOLDS),
    C("page_up", "pageup", "previous page", "Move", "graph", palette=False,
      help="previous / next page"),
    C("page_down", "pagedown", "next page", "Move", "graph", palette=False,
      help="previous / next page"),
    C("first", "g,home", "first line", "Move", "graph", help="first / last line"),
    C("last", "G,end", "last line", "Move", "graph", help="first / last line"),
    C("prev_sibling", "left_square_bracket", "previous sibling branch", "Move", "tree",
      action="prev_sibling", help="previous / next sibling branch"),
    C("next_sibling", "right_square_bracket", "next sibling branch", "Move", "tree",
      action="next_sibling", help="previous / next sibling branch"),
    C("parent", "p", "go to the parent response", "Move", "tree", action="parent"),
    C("filter", "slash", "filter the forest by text (esc clears)", "Move", "tree",
      footer="Filter"),
    C("search", "ctrl+f", "search every turn; enter jumps to the result", "Move", "app",
      priority=True),
    # ---- Write
    C("reply_or_more", "enter", "reply from the highlighted response (a fork if it has replies)",
      "Write", "graph", footer="Reply", palette=False),
    C("reply", "", "reply from the highlighted response (a fork if it has replies)",
      "Write", "palette", needs_node=True),
    C("new_conversation", "n", "new conversation", "Write", "tree", footer="New"),
    C("edit", "e", "edit this turn's input and send it as a sibling", "Write", "tree",
      footer="Edit", needs_node=True),
    C("regenerate", "r", "regenerate: same input, new sibling", "Write", "tree",
      footer="Regen", needs_node=True),
    C("fanout", "F", "fan out: send this turn's input N times at once, as siblings (each "
      "with its own model and temperature)", "Write", "tree", needs_node=True),
    C("submit", "ctrl+s,ctrl+enter", "send the message", "Write", "composer", footer="Send",
      priority=True, palette=False),
    C("leave", "escape", "leave the composer", "Write", "composer", footer="Back",
      palette=False),
    C("enter_key", "enter", "send, or a new line (the enter_sends setting)", "Write",
      "composer", priority=True, palette=False, help=ENTER),
    C("newline_key", "shift+enter,ctrl+j", "a new line, or send (the other of enter)",
      "Write", "composer", priority=True, palette=False, help=ENTER),
    C("open_editor", "ctrl+e", "edit the message in $EDITOR", "Write", "composer",
      priority=True, palette=False),
    C("toggle_enter_sends", "", "switch enter: send the message / add a line", "Write",
      "palette", help=ENTER),
    C("leave_transcript", "escape", "leave the transcript for the tree", "Move", "transcript",
      footer="Back", action="leave", palette=False),
    C("pick_tools", "T", "pick the tools for the next message", "Write", "tree"),
    C("pick_tools_composer", "ctrl+t", "pick the tools for the next message", "Write",
      "composer", footer="Tools", action="app.pick_tools", palette=False),
    C("run_settings", "S", "run settings for the next message (model, temperature...)",
      "Write", "tree"),
    C("run_settings_composer", "ctrl+o", "run settings for the next message (model, "
      "temperature...)", "Write", "composer", footer="Settings", action="app.run_settings",
      palette=False),
    C("answer", "a", "answer a pending MCP approval or function call", "Write", "tree"),
    C("cancel_stream", "escape", "cancel a streaming reply (kept as partial), or the filter",
      "Write", "app", footer="Cancel"),
    # ---- Manage
    C("delete", "d", "delete this response", "Manage", "tree", footer="Delete",
      needs_node=True),
    C("delete_subtree", "D", "delete this response and everything below it", "Manage",
      "tree", needs_node=True),
    C("delete_conversation", "ctrl+d", "delete the whole conversation", "Manage", "tree",
      needs_node=True),
    C("copy_answer", "y", "copy the answer text", "Manage", "tree", footer="Copy",
      needs_node=True),
    C("copy_id", "Y", "copy the response id", "Manage", "tree", needs_node=True),
    C("copy_path", "c", "copy the whole path as Markdown", "Manage", "tree", needs_node=True),
    C("tools", "t", "tool presets: add, edit, duplicate, delete", "Manage", "tree",
      footer="Tools"),
    C("import_ids", "i", "import responses by id (with their ancestors)", "Manage", "tree"),
    C("sync", "ctrl+r", "sync with the server (new ones in, gone ones marked)", "Manage",
      "app"),
    C("export", "x", "export this path or the whole conversation (Markdown, JSON)", "Manage",
      "tree", needs_node=True),
    C("rename", "R", "rename the conversation (its title)", "Manage", "tree",
      needs_node=True),
    C("bookmark", "b", "bookmark this turn, with a word if you like (b again removes it)",
      "Manage", "tree", needs_node=True),
    C("compare", "equals_sign", "compare: this answer with a sibling's, or a marked turn's "
      "branch with this one", "Manage", "tree", needs_node=True),
    C("compare_mark", "plus", "mark this turn for a branch comparison (= on another compares)",
      "Manage", "tree", needs_node=True),
    C("labels", "apostrophe", "list the bookmarks and jump to one", "Move", "tree"),
    C("switch_profile", "", "switch profile (server)", "Manage", "palette"),
    C("toggle_servers", "A", "show every server in the index / only this one", "Manage",
      "tree"),
    C("toggle_usage", "dollar_sign", "show / hide usage and cost on fork points (subtree totals)",
      "Manage", "tree", action="toggle_usage"),
    # ---- App
    C("help", "question_mark", "help: all keys", "App", "tree", footer="Help",
      action="app.help('forest')", help="this help (f1 from anywhere, the composer too)"),
    C("help_anywhere", "f1,question_mark", "help: all keys", "App", "app", action="help",
      palette=False, help="this help (f1 from anywhere, the composer too)"),
    C("help_composer", "f1", "help: all keys", "App", "composer", footer="Help",
      action="app.help", palette=False,
      help="this help (f1 from anywhere, the composer too)"),
    C("quit", "q", "quit", "App", "tree", footer="Quit", action="app.quit('forest')",
      help="quit (ctrl+q from anywhere, a dialog included)"),
    C("quit_anywhere", "ctrl+q", "quit from anywhere", "App", "app", action="quit",
      priority=True, palette=False, help="quit (ctrl+q from anywhere, a dialog included)"),
    C("command_palette", "ctrl+p", "command palette (every action)", "App", "textual",
      palette=False),
    # ---- Dialogs: each applies only on the screens it names; not remappable. A dialog's footer
    # lists its keys in this order.
    D("search_close", "escape", "close the search", "SearchScreen", "cancel", footer="Close",
      help=CLOSE),
    D("search_results", "down", "to the results", "SearchScreen", "focus_results",
      help="search: from the query down to the results"),
    D("help_close", "escape", "close the help", "HelpScreen", "close", footer="Close",
      help=CLOSE),
    D("help_close_question", "question_mark", "close the help", "HelpScreen", "close",
      help=CLOSE),
    D("delete_cancel", "escape", "cancel: delete nothing", "DeleteScreen", "dismiss_none",
      footer="Cancel", help=CLOSE),
    D("delete_on_server", "s", "delete on the server", "DeleteScreen", "choose('server')",
      help="delete dialog: delete everywhere / forget locally"),
    D("forget_locally", "f", "forget locally", "DeleteScreen", "choose('local')",
      help="delete dialog: delete everywhere / forget locally"),
    D("preset_save", "ctrl+s", "save the preset", "PresetForm", "save", footer="Save",
      priority=True, help=CONFIRM),
    D("preset_raw", "ctrl+r", "raw JSON", "PresetForm", "toggle_raw", footer="Raw JSON",
      priority=True, help="preset form: switch between the form and raw JSON"),
    D("picker_done", "ctrl+s", "use the ticked tools", "ToolPicker", "done",
      footer="Use these", priority=True, help="tool picker: use the ticked tools"),
    D("picker_done_enter", "enter", "use the ticked tools", "ToolPicker", "done",
      priority=True, help="tool picker: use the ticked tools"),
    D("settings_use", "ctrl+s", "use these run settings", "RunSettingsScreen", "save",
      footer="Use", priority=True, help=CONFIRM),
    D("approve", "y", "approve", "ApprovalScreen", "answer(True)", footer="Approve",
      help=APPROVAL),
    D("deny", "n", "deny", "ApprovalScreen", "answer(False)", footer="Deny",
      help=APPROVAL),
    D("send_output", "ctrl+s", "send the function output", "FunctionOutputScreen", "send",
      footer="Send output", priority=True, help=CONFIRM),
    D("tools_add", "a", "add a preset", "ToolsScreen", "add", footer="Add", help=PRESETS),
    D("tools_edit", "e", "edit the preset", "ToolsScreen", "edit", footer="Edit", help=PRESETS),
    D("tools_edit_enter", "enter", "edit the preset", "ToolsScreen", "edit", help=PRESETS),
    D("tools_duplicate", "c", "duplicate the preset", "ToolsScreen", "duplicate",
      footer="Duplicate", help=PRESETS),
    D("tools_delete", "d", "delete the preset", "ToolsScreen", "delete", footer="Delete",
      help=PRESETS),
    D("copy_whole", "y", "copy the whole answer", "CopyPicker", "whole", footer="Whole answer",
      help="copy picker: y copies the whole answer (y y), enter the highlighted block"),
    D("dialog_cancel", "escape", "cancel", "NameScreen LabelsScreen ImportScreen ExportScreen "
      "ProfileScreen ProgressScreen PresetForm ToolPicker CopyPicker ConfirmScreen "
      "RunSettingsScreen FanoutScreen", "cancel",
      footer="Cancel", help=CLOSE),
    D("confirm_yes", "y", "confirm", "ConfirmScreen", "confirm", footer="Yes",
      help="confirmation (deleting a tool preset): y does it, esc does not"),
    D("export_save", "ctrl+s", "export", "ExportScreen", "export", footer="Export",
      priority=True, help=CONFIRM),
    D("fanout_send", "ctrl+s", "send the runs", "FanoutScreen", "send", footer="Send",
      priority=True, help=CONFIRM),
    D("tools_back", "escape", "back from the tool presets", "ToolsScreen", "close",
      footer="Back", help=CLOSE),
    D("answer_later", "escape", "decide later", "ApprovalScreen FunctionOutputScreen", "later",
      footer="Later", help=CLOSE),
    D("compare_close", "escape", "close the comparison", "CompareScreen", "close",
      footer="Close", help=CLOSE),
    D("compare_prev", "left_square_bracket", "previous version on the right", "CompareScreen",
      "prev_sibling", footer="Prev version", help="compare: previous / next version on the right"),
    D("compare_next", "right_square_bracket", "next version on the right", "CompareScreen",
      "next_sibling", footer="Next version", help="compare: previous / next version on the right"),
    D("close_q", "q", "close", "ToolsScreen HelpScreen", "close", help=CLOSE),
)  # fmt: skip


def by_scope(*scopes: str) -> list[Command]:
    """The commands of these scopes, or of the dialogs named (by class name)."""
    return [
        command
        for command in COMMANDS
        if command.scope in scopes or not set(scopes).isdisjoint(command.where)
    ]


def bindings(*scopes: str) -> list[Binding]:
    """The `BINDINGS` of a widget that owns these scopes, or of the dialog screen named (by its
    class name), ids set so a keymap applies."""
    return [
        Binding(
            command.keys,
            command.run,
            command.footer or command.title,
            show=bool(command.footer),
            priority=command.priority,
            id=command.id,
        )
        for command in by_scope(*scopes)
        if command.keys
    ]


# What the footer keeps when not all its keys fit (tui/ui/footer.py): help, quit, sending and
# leaving the composer, and the way out of a screen (esc); the rest go, the rightmost first.
FOOTER_ESSENTIAL = frozenset(
    command.run
    for command in COMMANDS
    if command.id in ("help", "help_composer", "quit", "submit", "leave")
    or (command.scope == "dialog" and command.keys == "escape")
)

NEEDS_NODE = frozenset(
    command.run.removeprefix("app.") for command in COMMANDS if command.needs_node
)
# The App's actions bound on the forest graph: off while a dialog is in front (the footer
# under it must not offer them). Quit and help have keys that work in front of one too (f1,
# ctrl+q): the forest's q and ? name themselves with a parameter, `quit('forest')`.
FOREST_ACTIONS = frozenset(
    command.run.removeprefix("app.") for command in by_scope("tree") if not command.on_forest
) - {command.run for command in by_scope("app")}
FOREST = "forest"  # the parameter of an App action bound on the forest


def show_keys(keys: str) -> str:
    """How a key list reads in the help and the palette: `j ↓`, `[`, `ctrl+d`, `esc`."""
    shown = []
    for key in keys.split(","):
        *modifiers, name = key.strip().split("+")
        name = {"enter": "enter", "escape": "esc"}.get(name) or format_key(name)
        shown.append("+".join([*modifiers, name]))
    return "  ".join(shown)


def keys_in_force(command: Command, keymap: Mapping[str, str]) -> str:
    return keymap.get(command.id, command.keys)


def key_of(command_id: str, keymap: Mapping[str, str]) -> str:
    """How the key of one command reads (the user's, where remapped): for text that names
    it ("A shows them")."""
    command = next(c for c in COMMANDS if c.id == command_id)
    return show_keys(keys_in_force(command, keymap)).split("  ")[0]


def help_sections(keymap: Mapping[str, str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """(section, [(keys, what)]) for the help screen, with the user's keys where remapped.
    Commands that share a help line (enter on the forest and on the app, T and ctrl+t, j and
    k) share one line with all their keys."""
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for section in SECTIONS:
        keys_of: dict[str, list[str]] = {}
        for command in COMMANDS:
            if command.section != section:
                continue
            shown = keys_of.setdefault(command.help_line, [])
            keys = keys_in_force(command, keymap)
            text = show_keys(keys) if keys else "ctrl+p"
            if text not in shown:
                shown.append(text)
        rows = []
        for title, shown in keys_of.items():
            if len(shown) > 1 and "ctrl+p" in shown:  # a key does it: no need for the palette
                shown.remove("ctrl+p")
            rows.append(("  ".join(shown), title))
        sections.append((section, rows))
    return sections


@dataclass(frozen=True, slots=True)
class PaletteEntry:
    title: str
    keys: str  # as shown, or "palette" for an action with no key
    action: str  # without a namespace: run on the App, or on the forest's graph
    on_forest: bool


def palette_entries(keymap: Mapping[str, str]) -> list[PaletteEntry]:
    """The command palette's entries: every action it can run, once."""
    entries = []
    for command in COMMANDS:
        if not command.palette or command.scope == "dialog":
            continue
        keys = keys_in_force(command, keymap)
        title = command.title[0].upper() + command.title[1:]
        action = command.run.removeprefix("app.").split("(", 1)[0]  # the forest's parameter off
        entries.append(
            PaletteEntry(title, show_keys(keys) if keys else "palette", action, command.on_forest)
        )
    return entries


def remappable_ids() -> list[str]:
    """The ids `[keys]` in config.toml may name: every key the app itself binds, but a
    dialog's (see the module's docstring)."""
    return [c.id for c in COMMANDS if c.keys and c.scope not in ("textual", "palette", "dialog")]
