"""The fan-out form (`F` on a turn): how many runs, then each run's model and temperature,
prefilled from the turn's own settings. Returns the runs (tui/ops/fanout.py `RunSettings`),
or None when cancelled. Send stays disabled, with the reason under it, while a field is wrong:
"Cannot send: run 2: temperature: must be between 0 and 2"."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Input, Label, Static

from tui.ops.fanout import (
    CONCURRENCY,
    MAX_RUNS,
    MIN_RUNS,
    MODEL_CHARS,
    RunSettings,
    parse_runs,
    validate_runs,
)
from tui.text import one_line
from tui.ui.dialog import Dialog
from tui.ui.keys import bindings

DEFAULT_RUNS = 3


class FanoutScreen(Dialog[list[RunSettings] | None]):
    BINDINGS = bindings("FanoutScreen")  # tui/ui/keys.py
    DEFAULT_CSS = """
    FanoutScreen .fanout-run {
        height: auto;
    }
    FanoutScreen .fanout-run-label {
        width: 6;
        margin: 1 1 0 0;
        color: $text-muted;
    }
    FanoutScreen .fanout-model {
        width: 1fr;
    }
    FanoutScreen .fanout-temperature {
        width: 12;
    }
    FanoutScreen #fanout-count {
        width: 12;
    }
    FanoutScreen #send-reason {
        height: auto;
        max-height: 3;
        color: $error;
    }
    """

    def __init__(self, response_id: str, own: RunSettings, runs: int = DEFAULT_RUNS) -> None:
        super().__init__()
        self.response_id = response_id
        self.own = own
        self.start_runs = runs
        self.problem = ""

    def compose(self) -> ComposeResult:
        temperature = "" if self.own.temperature is None else f"{self.own.temperature:g}"
        model = one_line(self.own.model, MODEL_CHARS)  # a server named it: no escapes
        with VerticalScroll(id="dialog"):
            yield Static(Text("Fan out", style="bold"))
            yield Static(
                Text(
                    f"Send the input of {one_line(self.response_id, 40)} again, N times at "
                    f"once ({CONCURRENCY} at a time), each run a new sibling with its own model "
                    "and temperature (empty: none sent, the server's default).",
                    style="dim",
                )
            )
            yield Label(Content(f"Runs ({MIN_RUNS} to {MAX_RUNS})"), classes="field-label")
            yield Input(str(self.start_runs), id="fanout-count", max_length=2)
            yield Label(Content("model · temperature (0 to 2)"), classes="field-label")
            for n in range(1, MAX_RUNS + 1):
                with Horizontal(id=f"run-{n}", classes="fanout-run"):
                    yield Label(Content(f"run {n}"), classes="fanout-run-label")
                    yield Input(
                        model, id=f"model-{n}", classes="fanout-model", max_length=MODEL_CHARS
                    )
                    yield Input(
                        temperature,
                        id=f"temperature-{n}",
                        classes="fanout-temperature",
                        placeholder="none",
                        max_length=8,
                    )
            with Vertical(id="buttons"):
                with Horizontal(id="button-row"):
                    yield Button(Content("Send (ctrl+s)"), variant="primary", id="send")
                    yield Button(Content("Cancel (esc)"), id="cancel")
                yield Static("", id="send-reason")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = False
        self._revalidate()
        self.query_one("#fanout-count", Input).focus()

    def _count(self) -> int | None:
        try:
            return parse_runs(self.query_one("#fanout-count", Input).value)
        except ValueError as error:
            self.problem = f"runs: {error}"
            return None

    def runs(self) -> list[RunSettings]:
        """The runs as the form has them, or [] with `problem` set."""
        self.problem = ""
        count = self._count()
        if count is None:
            return []
        rows = [
            (
                self.query_one(f"#model-{n}", Input).value,
                self.query_one(f"#temperature-{n}", Input).value,
            )
            for n in range(1, count + 1)
        ]
        runs, self.problem = validate_runs(rows)
        return runs

    def _revalidate(self) -> None:
        self.runs()
        count = self._count() if not self.problem.startswith("runs:") else None
        for n in range(1, MAX_RUNS + 1):  # a wrong count keeps the rows as they were
            if count is not None:
                self.query_one(f"#run-{n}").display = n <= count
        self.query_one("#send", Button).disabled = bool(self.problem)
        reason = self.query_one("#send-reason", Static)
        reason.update(Text(f"Cannot send: {self.problem}") if self.problem else "")
        reason.display = bool(self.problem)  # no empty line under the buttons

    @on(Input.Changed)
    def _changed(self) -> None:
        self._revalidate()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_send()

    def action_send(self) -> None:
        runs = self.runs()
        if self.problem:
            self._revalidate()
            self.notify(f"Cannot send: {self.problem}", severity="warning", markup=False)
            return
        self.dismiss(runs)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "send":
            self.action_send()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)
