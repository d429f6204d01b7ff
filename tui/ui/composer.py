"""The composer: a multi-line editor and a line that says where the message will go."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static, TextArea

from tui.ui.keys import bindings

TARGET_LINES = 6  # the status line's most lines (a long model, many tools, a narrow pane)


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

    def set_target(self, where: Text, carries: Text, many: Text | None = None) -> None:
        """The status line: where the next message goes, then the model and tools it carries.
        One line when both fit, else `carries` on a line of its own (wrapped if it must be):
        the tools are never cut (`many`, a count, stands for them when they cannot fit in
        TARGET_LINES). The layout is redone only when the height changes."""
        self._target_parts = (where, carries)
        self._target_many = many
        self._draw_target()

    def on_resize(self) -> None:
        if getattr(self, "_target_parts", None) is not None:
            self._draw_target()

    def _draw_target(self) -> None:
        where, carries = self._target_parts
        width = self.target.content_size.width or (self.size.width - 2) or self.app.size.width
        one = Text.assemble(where, "  ·  ", carries)
        text = one if one.cell_len <= width else Text.assemble(where, "\n", carries)
        lines = len(text.wrap(self.app.console, max(width, 10)))
        if lines > TARGET_LINES:  # a great many tools: said by count (T lists them)
            text = Text.assemble(where, "\n", self._target_many or carries)
            lines = min(TARGET_LINES, len(text.wrap(self.app.console, max(width, 10))))
        shown = (text.plain, lines, width)
        if shown == getattr(self, "_target_shown", None):
            return
        self._target_shown = shown
        if lines != getattr(self, "_target_lines", 1):
            self._target_lines = lines
            self.target.styles.height = lines  # a re-layout, only when the height changes
            self.target.update(text)
        else:
            self.target.update(text, layout=False)

    @property
    def text(self) -> str:
        return self.input.text

    def set_text(self, text: str) -> None:
        self.input.load_text(text)
        self.input.move_cursor(self.input.document.end)
