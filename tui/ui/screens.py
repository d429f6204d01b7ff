"""Modal screens: delete confirmation, delete progress, help."""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Button, ProgressBar, Static

from tui.glyphs import FORK
from tui.text import one_line
from tui.ui.dialog import Dialog
from tui.ui.keys import bindings, help_sections


@dataclass(frozen=True)
class DeletePlan:
    count: int
    server_label: str
    first_id: str
    kept_descendants: int  # descendants that stay (single delete of a node with children)
    subtree: bool
    conversation: bool = False
    said: str = ""  # what the (first) turn says: its input, else its answer


def plural(count: int, word: str) -> str:
    """`1 turn`, `2 turns`."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def delete_summary(plan: DeletePlan) -> str:
    """What goes, in words: "this turn and 2 below", "the whole conversation (5 turns)"."""
    below = plan.count - 1
    if plan.conversation:
        if plan.count == 1:
            return "the whole conversation (this one turn)"
        return f"the whole conversation ({plural(plan.count, 'turn')})"
    if plan.subtree and below:
        return f"this turn and {below} below"
    return "this turn"


class DeleteScreen(Dialog[str | None]):
    """Says exactly what goes; answers "server", "local" or None."""

    BINDINGS = bindings("DeleteScreen")  # tui/ui/keys.py

    def __init__(self, plan: DeletePlan) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        plan = self.plan
        lines = Text()
        lines.append(f"Delete {delete_summary(plan)}", style="bold")
        lines.append(f" on {plan.server_label}?\n")
        said = one_line(plan.said, 160)
        if said:
            start = "starting at " if plan.conversation else ""
            lines.append(f"{start}“{said}”", style="italic")
            lines.append(f" ({plan.first_id})\n\n", style="dim")
        else:
            lines.append(f"{plan.first_id}\n\n", style="dim")
        it, they = ("it", "it") if plan.count == 1 else ("them", "they")
        lines.append("Delete everywhere", style="bold")
        lines.append(f" removes {it} on the server and here. ")
        lines.append("That is permanent", style="bold red")
        lines.append(f": {they} cannot be continued or retrieved afterwards.\n")
        lines.append("Forget locally", style="bold")
        lines.append(f" only removes {it} from this index; the server keeps {it}.")
        if plan.kept_descendants:
            kept = plan.kept_descendants
            below = "later turn below stays" if kept == 1 else f"{kept} later turns below stay"
            lines.append(
                f"\n\nThe {below} on the "
                "server; this turn is kept in the tree, marked deleted, so the branch still "
                "hangs together."
            )
        with VerticalScroll(id="dialog"):
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


class ConfirmScreen(Dialog[bool]):
    """Ask before doing something that cannot be undone: True for yes (y), False for esc."""

    BINDINGS = bindings("ConfirmScreen")  # tui/ui/keys.py

    def __init__(self, question: str, detail: str, yes: str) -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.yes = yes

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static(Text(self.question, style="bold"), id="confirm-question")
            if self.detail:
                yield Static(Text(self.detail, style="dim"))
            with Horizontal(id="buttons"):
                yield Button(Content(f"{self.yes} (y)"), variant="error", id="yes")
                yield Button(Content("Cancel (esc)"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


class ProgressScreen(Dialog[None]):
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
        super().__init__("-status" if status else "")
        self.title_text = title
        self.total = total
        self.status = status
        self.group = group

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
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


class HelpScreen(Dialog[None]):
    BINDINGS = bindings("HelpScreen")  # tui/ui/keys.py

    def __init__(self) -> None:
        super().__init__()

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
            title = Text("responses-tui keys", style="bold")
            title.append("   esc (or ?) closes this", style="dim")
            yield Static(title)
            yield Static(table, id="help-keys")
            yield Static(text)

    def action_close(self) -> None:
        self.dismiss(None)
