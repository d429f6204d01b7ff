"""The composer: a multi-line editor and a line that says where the message will go."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static, TextArea

from tui.ui.keys import bindings


class ComposerInput(TextArea):
    BINDINGS = bindings("composer")  # tui/ui/keys.py

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Leave(Message):
        pass

    def action_submit(self) -> None:
        self.post_message(self.Submitted(self.text))

    def action_leave(self) -> None:
        self.post_message(self.Leave())


class Composer(Vertical):
    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.target = Static(Text(""), id="composer-target")
        self.input = ComposerInput(
            "",
            id="composer-input",
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="focus",
            compact=True,
            highlight_cursor_line=False,
            placeholder="Message… (ctrl+s sends)",
        )
        self.input.cursor_blink = False

    def compose(self) -> ComposeResult:
        yield self.target
        yield self.input

    def set_target(self, text: Text) -> None:
        if text.plain != getattr(self, "_target_plain", None):
            self._target_plain = text.plain
            self.target.update(text, layout=False)  # one fixed line: no re-layout

    @property
    def text(self) -> str:
        return self.input.text

    def set_text(self, text: str) -> None:
        self.input.load_text(text)
        self.input.move_cursor(self.input.document.end)
