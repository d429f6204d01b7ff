"""The composer: a multi-line editor and a line that says where the message will go."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.actions import SkipAction
from textual.app import ComposeResult, SuspendNotSupported
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static, TextArea

from tui.text import one_line, sanitize
from tui.ui.keys import bindings

TARGET_LINES = 6  # the status line's most lines (a long model, many tools, a narrow pane)


def placeholder(enter_sends: bool) -> str:
    if enter_sends:
        return "Message… (enter sends, ctrl+j: new line)"
    return "Message… (ctrl+s sends)"


MAX_EDITED = 1_000_000  # characters read back from the editor's file


def edit_externally(
    text: str, env: Mapping[str, str], suspend: Callable[[], AbstractContextManager[Any]]
) -> tuple[str | None, str]:
    """Run $VISUAL or $EDITOR on `text` in a private temporary file, inside `suspend()` (the
    app gives the terminal up meanwhile). (the text saved, or None; a problem, or "")."""
    command = (env.get("VISUAL") or env.get("EDITOR") or "").strip()
    try:
        argv = shlex.split(command)
    except ValueError:
        argv = []
    if not argv:
        return None, "Set $EDITOR (or $VISUAL) to edit the message in an editor, e.g. EDITOR=nano."
    fd, name = tempfile.mkstemp(prefix="responses-tui-", suffix=".md")  # mode 0600
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        try:
            with suspend():
                code = subprocess.call([*argv, str(path)])
        except SuspendNotSupported:
            return None, "This terminal cannot hand itself over to an editor."
        except OSError as error:
            return None, f"Cannot run {one_line(argv[0], 80)!r}: {error.strerror or error}"
        if code != 0:
            return None, f"{one_line(argv[0], 80)} exited with status {code}: message unchanged"
        with path.open(encoding="utf-8", errors="replace") as file:
            edited = file.read(MAX_EDITED + 1)
        if len(edited) > MAX_EDITED:
            return None, f"The edited message is over {MAX_EDITED:,} characters: not taken"
        edited = sanitize(edited, multiline=True)  # no escape sequence reaches the screen
        return edited.removesuffix("\n") if not text.endswith("\n") else edited, ""
    finally:
        path.unlink(missing_ok=True)


def send_keys(enter_sends: bool) -> str:
    """How the user sends, in words (the welcome text)."""
    return "enter" if enter_sends else "ctrl+s"


class ComposerInput(TextArea):
    BINDINGS = bindings("composer")  # tui/ui/keys.py

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Leave(Message):
        pass

    class EditorWanted(Message):
        """ctrl+e: the App opens the message in $EDITOR (it owns the terminal)."""

    enter_sends = False  # the [composer] enter_sends setting: enter sends, else adds a line

    def action_submit(self) -> None:
        self.post_message(self.Submitted(self.text))

    def action_enter_key(self) -> None:
        if not self.enter_sends:
            raise SkipAction()  # the TextArea adds the line
        self.action_submit()

    def action_newline_key(self) -> None:
        if not self.enter_sends:
            self.action_submit()
        elif not self.read_only:
            self.replace("\n", *self.selection, maintain_selection_offset=False)

    def action_open_editor(self) -> None:
        if not self.read_only:
            self.post_message(self.EditorWanted())

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
            placeholder=placeholder(False),
        )
        self.input.cursor_blink = False

    def set_enter_sends(self, enter_sends: bool) -> None:
        self.input.enter_sends = enter_sends
        self.input.placeholder = placeholder(enter_sends)

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
