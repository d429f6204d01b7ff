"""`y` on an answer with code blocks: copy the whole answer or one of its blocks."""

from __future__ import annotations

import re

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.text import one_line
from tui.ui.dialog import Dialog
from tui.ui.keys import bindings

MAX_BLOCKS = 50  # offered in the picker; an answer with more is rare, and the rest stay whole
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*([^`\s]*)[^`\n]*$")


def code_blocks(markdown: str) -> list[tuple[str, str]]:
    """The fenced code blocks of `markdown`, (language, code), in order: a fence closes on the
    same character, at least as long; an unclosed one runs to the end (as CommonMark has it)."""
    blocks: list[tuple[str, str]] = []
    fence = ""
    language = ""
    body: list[str] = []
    for line in markdown.splitlines():
        if not fence:
            match = _FENCE.match(line)
            if match:
                fence, language, body = match.group(1), match.group(2), []
            continue
        stripped = line.strip()
        if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
            blocks.append((language, "\n".join(body)))
            fence = ""
            if len(blocks) >= MAX_BLOCKS:
                return blocks
            continue
        body.append(line)
    if fence:
        blocks.append((language, "\n".join(body)))
    return blocks


class CopyPicker(Dialog[str | None]):
    """Choose what `y` copies: the whole answer, or one code block. Answers the text."""

    BINDINGS = bindings("CopyPicker")  # tui/ui/keys.py

    def __init__(self, answer: str, blocks: list[tuple[str, str]]) -> None:
        super().__init__()
        self.choices = [answer] + [code for _language, code in blocks]
        self.blocks = blocks

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static(
                Text.assemble(
                    ("Copy\n", "bold"),
                    ("enter copies the highlighted one · y the whole answer · esc nothing", "dim"),
                )
            )
            options = OptionList(id="copy-choices")
            whole = Text(no_wrap=True, overflow="ellipsis")
            whole.append("the whole answer", style="bold")
            whole.append(f"  ({len(self.choices[0])} characters)", style="dim")
            options.add_option(Option(whole, id="0"))
            for n, (language, code) in enumerate(self.blocks, 1):
                lines = code.count("\n") + 1 if code else 0
                line = Text(no_wrap=True, overflow="ellipsis")
                line.append(f"block {n}", style="bold")
                line.append(f" · {one_line(language, 20) or 'code'}", style="cyan")
                line.append(f" · {lines} line{'s' if lines != 1 else ''}", style="dim")
                first = next((x for x in code.splitlines() if x.strip()), "")
                line.append("  " + one_line(first, 80), style="dim")
                options.add_option(Option(line, id=str(n)))
            yield options

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 1 if len(self.choices) > 1 else 0  # the first block
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[int(event.option.id or 0)])

    def action_whole(self) -> None:
        self.dismiss(self.choices[0])

    def action_cancel(self) -> None:
        self.dismiss(None)
