"""Dialogs for names: give a conversation a title or a turn a label, and jump to a label."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.store.index import NAME_CHARS
from tui.text import one_line
from tui.ui.dialog import Dialog
from tui.ui.keys import bindings

Key = tuple[str, str]


class NameScreen(Dialog[str | None]):
    """Ask for a name: a title or a label. Enter (or Save) gives the text, which may be empty;
    esc (or Cancel) gives None."""

    BINDINGS = bindings("NameScreen")  # tui/ui/keys.py

    def __init__(self, heading: str, hint: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.heading = heading
        self.hint = hint
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static(Text(self.heading, style="bold"))
            yield Static(Text(self.hint, style="dim"))
            yield Input(
                value=self.value,
                placeholder=self.placeholder,
                max_length=NAME_CHARS,
                id="name",
            )
            with Horizontal(id="buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.dismiss(self.query_one(Input).value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class LabelsScreen(Dialog[Key | None]):
    """Every labelled turn: enter jumps to one."""

    BINDINGS = bindings("LabelsScreen")  # tui/ui/keys.py

    def __init__(self, labels: list[tuple[Key, str, str]]) -> None:
        """`labels`: (key, label, what the turn says), oldest first."""
        super().__init__()
        self.labels = labels

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static(Text("Labels", style="bold"))
            if not self.labels:
                yield Static(
                    Text("No labels yet: b on a turn bookmarks it, with a word if you like.")
                )
                return
            options = OptionList(id="label-list")
            for n, (_key, label, said) in enumerate(self.labels):
                line = Text(no_wrap=True, overflow="ellipsis")
                line.append(f"★ {label}" if label else "★", style="bold magenta")
                line.append("  " + one_line(said, 120), style="dim")
                options.add_option(Option(line, id=str(n)))
            yield options

    def on_mount(self) -> None:
        if self.labels:
            options = self.query_one(OptionList)
            options.highlighted = 0
            options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.labels[int(event.option.id or 0)][0])

    def action_cancel(self) -> None:
        self.dismiss(None)
