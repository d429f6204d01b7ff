"""Modal screens: delete confirmation, delete progress, help."""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, ProgressBar, Static

from tui.glyphs import FORK
from tui.text import one_line
from tui.ui.keys import bindings, help_sections


@dataclass(frozen=True)
class DeletePlan:
    count: int
    server_label: str
    first_id: str
    kept_descendants: int  # descendants that stay (single delete of a node with children)
    subtree: bool
    conversation: bool = False


class DeleteScreen(ModalScreen[str | None]):
    """Says exactly what goes; answers "server", "local" or None."""

    BINDINGS = bindings("DeleteScreen")  # tui/ui/keys.py

    def __init__(self, plan: DeletePlan) -> None:
        super().__init__(classes="modal")
        self.plan = plan

    def compose(self) -> ComposeResult:
        plan = self.plan
        if plan.conversation:
            scope = f" (the whole conversation from {plan.first_id})"
        elif plan.subtree:
            scope = f" (the subtree under {plan.first_id})"
        else:
            scope = f" ({plan.first_id})"
        what = f"{plan.count} response{'s' if plan.count != 1 else ''}{scope}"
        lines = Text()
        lines.append("Delete ", style="bold")
        lines.append(what, style="bold")
        lines.append(f"\non {plan.server_label}.\n\n")
        lines.append("Delete everywhere", style="bold")
        lines.append(" removes it on the server and here. ")
        lines.append("That is permanent", style="bold red")
        lines.append(": it cannot be continued or retrieved afterwards.\n")
        lines.append("Forget locally", style="bold")
        lines.append(" only removes it from this index; the server keeps it.")
        if plan.kept_descendants:
            lines.append(
                f"\n\nIts {plan.kept_descendants} later turn"
                f"{'s stay' if plan.kept_descendants != 1 else ' stays'} on the server; "
                "it is kept in the tree, marked deleted, so the branch still hangs together."
            )
        with Vertical(id="dialog"):
            yield Static(lines, id="delete-text")
            with Horizontal(id="buttons"):
                yield Button(Content("Delete everywhere (s)"), variant="error", id="server")
                yield Button(Content("Forget locally (f)"), id="local")
                yield Button(Content("Cancel (esc)"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        choice = event.button.id
        self.dismiss(choice if choice in ("server", "local") else None)

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class ProgressScreen(ModalScreen[None]):
    """Progress of a long operation (delete, import, sync); closed by the app when the work
    ends. With `status`, a line under the bar says what is happening (`report`).

    With `group`, esc cancels the app's workers of that group (the operation) and closes the
    dialog with a note that it was cancelled: a stuck server can always be left."""

    BINDINGS = bindings("ProgressScreen")  # tui/ui/keys.py

    def __init__(
        self,
        title: str,
        total: int | None = None,
        *,
        status: bool = False,
        group: str | None = None,
    ) -> None:
        super().__init__(classes="modal -status" if status else "modal")
        self.title_text = title
        self.total = total
        self.status = status
        self.group = group

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.title_text, style="bold"))
            yield ProgressBar(total=self.total, show_eta=False, id="progress")
            if self.status:
                yield Static("", id="progress-status")
            if self.group is not None:
                yield Static(Text("esc cancels", style="dim"), id="progress-cancel")

    def action_cancel(self) -> None:
        if self.group is None or self.app.screen is not self:
            return
        self.app.workers.cancel_group(self.app, self.group)
        self.dismiss()
        what = self.title_text.rstrip("…. ")
        self.app.notify(f"{what}: cancelled", title="Cancelled", severity="warning", markup=False)

    def advance(self, done: int) -> None:
        self.query_one(ProgressBar).update(progress=done)

    def report(self, done: int, total: int | None, status: str) -> None:
        """`total` None: not known (yet); the bar shows activity instead."""
        bar = self.query_one(ProgressBar)
        if total is not None:
            bar.update(total=total, progress=done)
        else:
            bar.update(total=None)
        self.query_one("#progress-status", Static).update(Text(one_line(status, 80), style="dim"))


class HelpScreen(ModalScreen[None]):
    BINDINGS = bindings("HelpScreen")  # tui/ui/keys.py

    def __init__(self) -> None:
        super().__init__(classes="modal")

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for title, rows in help_sections(getattr(self.app, "keymap", {})):
            table.add_row(Text(title, style="bold underline"), "")
            for keys, what in rows:
                table.add_row(Text(keys), Text(what))
            table.add_row("", "")
        text = Text()
        text.append(
            "\nThe tree: one line per turn; a fork opens a nested branch. Markers: "
            f"{FORK} forks · ◌ not stored · ✗ deleted · … incomplete · ? missing on server · "
            "↥ parent unknown · ⚙ tools.",
            style="dim",
        )
        with VerticalScroll(id="dialog"):
            yield Static(Text("responses-tui keys", style="bold"))
            yield Static(table, id="help-keys")
            yield Static(text)

    def action_close(self) -> None:
        self.dismiss(None)
