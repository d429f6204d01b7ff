"""The compare view: two answers (a turn and one of its siblings), or two branches below
their common ancestor, side by side with a word-level diff, the settings that differ and the
usage of each side (all worked out by `tui.compare`).

Words only on the left are struck through, words only on the right underlined: a shape, not
only a colour. The body scrolls as a whole (both columns together, so the lines being
compared stay side by side); under 80 columns the columns are stacked. `[` `]` put another
sibling on the right; esc closes.
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from tui.compare import (
    ADDED,
    REMOVED,
    Comparison,
    Key,
    Side,
    compare_answers,
    compare_branches,
)
from tui.store.index import Index
from tui.text import one_line
from tui.ui.dialog import NARROW
from tui.ui.footer import FittingFooter
from tui.ui.keys import bindings
from tui.ui.labels import short_id

STYLES = {REMOVED: "strike bold red", ADDED: "underline bold green"}


class CompareScreen(Screen[None]):
    """`left` against `rights[position]`: answers (siblings), or with `branches` the two
    paths below the common ancestor."""

    BINDINGS = bindings("CompareScreen")  # tui/ui/keys.py
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-narrow"),
        (NARROW, "-wide"),
    ]
    DEFAULT_CSS = """
    CompareScreen #compare-title {
        height: auto;
        max-height: 3;
        padding: 0 1;
        background: $boost;
    }
    CompareScreen #compare-body {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    CompareScreen #compare-summary {
        padding: 0 1;
        margin: 0 0 1 0;
    }
    CompareScreen #compare-columns {
        height: auto;
    }
    CompareScreen .compare-side {
        width: 1fr;
        height: auto;
        padding: 0 1;
    }
    CompareScreen #compare-left {
        border-right: vkey $panel-lighten-1;
    }
    CompareScreen.-narrow #compare-columns {
        layout: vertical;
    }
    CompareScreen.-narrow .compare-side {
        width: 100%;
    }
    CompareScreen.-narrow #compare-left {
        border-right: none;
        border-bottom: hkey $panel-lighten-1;
        margin: 0 0 1 0;
    }
    """

    def __init__(
        self, index: Index, left: Key, rights: list[Key], *, branches: bool = False
    ) -> None:
        super().__init__()
        self.index = index
        self.left = left
        self.rights = list(rights)
        self.position = 0
        self.branches = branches
        self.comparison: Comparison | None = None

    @property
    def right(self) -> Key:
        return self.rights[self.position]

    def compose(self) -> ComposeResult:
        yield Static(id="compare-title")
        with VerticalScroll(id="compare-body"):
            yield Static(id="compare-summary")
            with Horizontal(id="compare-columns"):
                yield Static(id="compare-left", classes="compare-side")
                yield Static(id="compare-right", classes="compare-side")
        yield FittingFooter()

    def on_mount(self) -> None:
        self.show()  # the body has the focus (the first focusable): arrows and pgdn scroll it

    # ------------------------------------------------------------ what is shown

    def show(self) -> None:
        build = compare_branches if self.branches else compare_answers
        try:
            comparison = build(self.index, self.left, self.right)
        except KeyError:  # deleted meanwhile (by another process, or the app's own CLI)
            self.notify("A turn compared here is no longer in the index.", severity="warning")
            self.dismiss(None)
            return
        self.comparison = comparison
        self.query_one("#compare-title", Static).update(self._title())
        self.query_one("#compare-summary", Static).update(self._summary(comparison))
        self.query_one("#compare-left", Static).update(self._side("left", comparison.left))
        self.query_one("#compare-right", Static).update(self._side("right", comparison.right))
        self.query_one("#compare-body", VerticalScroll).scroll_home(animate=False)

    def _version(self, key: Key) -> str:
        siblings = self.index.forest(key[0]).siblings(key)
        return f"version {siblings.index(key) + 1}/{len(siblings)}"

    def _title(self) -> Text:
        title = Text()
        if self.branches:
            ancestor = self.comparison.ancestor if self.comparison else None
            title.append("Compare branches", style="bold")
            where = f"below {short_id(ancestor[1])}" if ancestor else "(no common ancestor)"
            title.append(f" {where} · left: the marked turn's · right: this turn's", style="dim")
            title.append(" · esc closes", style="dim")
            return title
        title.append("Compare answers", style="bold")
        title.append(f"  left: this turn ({self._version(self.left)})", style="dim")
        title.append(f" · right: {self._version(self.right)}", style="dim")
        if len(self.rights) > 1:
            title.append(" · [ ] another version", style="dim")
        title.append(" · esc closes", style="dim")
        return title

    def _summary(self, comparison: Comparison) -> RenderableType:
        parts: list[RenderableType] = []
        for note in comparison.notes:
            parts.append(Text(note, style="yellow"))
        if comparison.settings:
            table = Table(box=None, padding=(0, 1), expand=True, show_edge=False)
            table.add_column("setting", style="bold", no_wrap=True, ratio=1)
            table.add_column("left", ratio=2)
            table.add_column("right", ratio=2)
            for setting in comparison.settings:
                table.add_row(Text(setting.name), Text(setting.left), Text(setting.right))
            parts.append(table)
        else:
            parts.append(Text("Settings: the same on both sides.", style="dim"))
        usage = Text("Usage  ", style="bold")
        usage.append(f"left: {comparison.left.usage_line}")
        usage.append("  ·  ")
        usage.append(f"right: {comparison.right.usage_line}")
        parts.append(usage)
        legend = Text("Only on the left: ", style="dim")
        legend.append("struck through", style=STYLES[REMOVED])
        legend.append(" · only on the right: ", style="dim")
        legend.append("underlined", style=STYLES[ADDED])
        parts.append(legend)
        return Group(*parts)

    def _side(self, name: str, side: Side) -> Text:
        text = Text()
        if self.branches:
            turns = len(side.keys)
            text.append(f"{name}: {turns} turn{'s' if turns != 1 else ''}", style="bold")
            if side.keys:
                text.append(f" to {short_id(side.keys[-1][1])}", style="bold")
        else:
            text.append(f"{name}: {short_id(side.keys[0][1])}", style="bold")
        text.append("\n")
        for note in side.notes:
            text.append(f"{one_line(note, 200)}\n", style="yellow")
        if not side.blocks or not any(block.text.strip() for block in side.blocks):
            text.append("\n(nothing here)" if self.branches else "\n(no answer text)", "dim")
        for block in side.blocks:
            if block.role == "title":
                text.append(f"\n{block.text}\n", style="bold dim")
                continue
            if block.role == "input":
                text.append("› ", style="bold cyan")
            for piece in block.pieces:  # already safe: tui.compare sanitized the text
                text.append(piece.text, style=STYLES.get(piece.kind, ""))
            text.append("\n")
        return text

    # ------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """[ ] only where there is another version to put on the right (the footer says)."""
        if action in ("next_sibling", "prev_sibling"):
            return not self.branches and len(self.rights) > 1
        return True

    def action_next_sibling(self) -> None:
        self._switch(1)

    def action_prev_sibling(self) -> None:
        self._switch(-1)

    def _switch(self, step: int) -> None:
        if len(self.rights) < 2:
            said = "two branches are compared" if self.branches else "there is no other version"
            self.notify(f"Nothing to switch: {said}.", timeout=3)
            return
        self.position = (self.position + step) % len(self.rights)
        self.show()

    def action_close(self) -> None:
        self.dismiss(None)
