"""The run settings form: the model and how it runs, for the next message from a turn.

Opened with S on a turn or ctrl+o while typing. It starts from what the next message would be
sent with (inherited from the turn it follows, or chosen already) and returns every setting
(None where unset), or None when cancelled; `tui.run_settings` checks the values, and Save says
why it cannot ("Cannot save: Temperature: must be between 0 and 2"). The model field accepts
any name and suggests the server's models (`set_models`, once the App has them).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from tui.run_settings import EFFORTS, FORMATS, LABELS, SUMMARIES, FormValues
from tui.text import one_line
from tui.ui.dialog import Dialog
from tui.ui.keys import bindings

MODELS_SHOWN = 12  # model names listed under the field (all are suggested as one types)


class RunSettingsScreen(Dialog[dict[str, Any] | None]):
    BINDINGS = bindings("RunSettingsScreen")  # tui/ui/keys.py

    def __init__(self, settings: dict[str, Any], where: str) -> None:
        super().__init__()
        self.start = FormValues.of(settings)
        self.where = where
        self.problems: dict[str, str] = {}
        self.models: list[str] = []
        self.models_problem = ""
        self.models_known = False  # until the App has asked the server
        self._mounted = False

    def _field(self, name: str, widget: Any, label: str = "", hint: str = "") -> Vertical:
        parts: list[Any] = [Label(Content(label or LABELS[name]), classes="field-label"), widget]
        if hint:
            parts.append(Static(Content(hint), classes="hint", id=f"hint-{name}"))
        parts.append(Static("", id=f"err-{name}", classes="error"))
        return Vertical(*parts, id=f"field-{name}", classes="field")

    def compose(self) -> ComposeResult:
        start = self.start
        default = [("default (not sent)", "")]
        with VerticalScroll(id="dialog"):
            yield Static(Text("Run settings for the next message", style="bold"))
            yield Static(Text(self.where, style="dim"), classes="hint")
            yield self._field(
                "model",
                Input(start.model, placeholder="the profile's model", id="model"),
                hint="models: loading…",
            )
            yield self._field(
                "instructions",
                TextArea(start.instructions, id="instructions", soft_wrap=True, compact=True),
            )
            yield self._field(
                "temperature",
                Input(start.temperature, placeholder="default (0 to 2)", id="temperature"),
            )
            yield self._field(
                "top_p", Input(start.top_p, placeholder="default (0 to 1)", id="top_p")
            )
            yield self._field(
                "reasoning",
                Select(
                    default + [(e, e) for e in EFFORTS], value=start.effort, allow_blank=False,
                    id="effort",
                ),
                label="Reasoning effort",
            )  # fmt: skip
            yield self._field(
                "summary",
                Select(
                    default + [(s, s) for s in SUMMARIES], value=start.summary, allow_blank=False,
                    id="summary",
                ),
                label="Reasoning summary",
            )  # fmt: skip
            yield self._field(
                "max_output_tokens",
                Input(start.max_output_tokens, placeholder="default (no limit)", id="max_tokens"),
            )
            yield self._field(
                "store",
                Select(
                    [("stored on the server", "yes"), ("not stored (store: false)", "no")],
                    value="yes" if start.store else "no",
                    allow_blank=False,
                    id="store",
                ),
            )
            yield self._field(
                "format",
                Select(
                    [(label, kind) for kind, label in FORMATS.items()],
                    value=start.format,
                    allow_blank=False,
                    id="format",
                ),
                label=LABELS["text"],
            )
            yield self._field(
                "text",
                TextArea(start.schema, id="schema", language="json", compact=True),
                label="JSON schema",
                hint='{"name": "city", "schema": {"type": "object", ...}, "strict": true}',
            )
            yield self._field(
                "metadata",
                TextArea(start.metadata, id="metadata", compact=True),
                label="Metadata (one 'key: value' per line, at most 16)",
            )
            with Vertical(id="buttons"):
                with Horizontal(id="button-row"):
                    yield Button(Content("Use (ctrl+s)"), variant="primary", id="save")
                    yield Button(Content("Cancel (esc)"), id="cancel")
                yield Static("", id="save-reason")

    def on_mount(self) -> None:
        for area in self.query(TextArea):
            area.cursor_blink = False
        self._show_schema()
        self._revalidate()
        self._mounted = True
        self._show_models()
        self.query_one("#model", Input).focus()

    # -------------------------------------------------------------- models

    def set_models(self, models: list[str] | None, problem: str = "") -> None:
        """The server's models (suggested in the model field), or why there are none. They
        may come before the form is laid out: shown once it is."""
        self.models = list(models or [])
        self.models_problem = problem
        self.models_known = True
        if self._mounted:
            self._show_models()

    def _show_models(self) -> None:
        if not self.models_known:
            return
        hint = self.query_one("#hint-model", Static)
        if not self.models:
            said = f": {self.models_problem}" if self.models_problem else ""
            hint.update(Text(one_line(f"models unavailable{said}", 200)))
            return
        self.query_one("#model", Input).suggester = SuggestFromList(
            self.models, case_sensitive=False
        )
        names = ", ".join(one_line(m, 60) for m in self.models[:MODELS_SHOWN])
        extra = len(self.models) - MODELS_SHOWN
        more = f" and {extra} more" if extra > 0 else ""
        hint.update(Text(f"models (→ completes): {names}{more}"))

    # -------------------------------------------------------------- state

    def values(self) -> FormValues:
        def text(selector: str) -> str:
            widget = self.query_one(selector)
            return widget.text if isinstance(widget, TextArea) else str(widget.value)

        return FormValues(
            model=text("#model"),
            instructions=text("#instructions"),
            temperature=text("#temperature"),
            top_p=text("#top_p"),
            effort=text("#effort"),
            summary=text("#summary"),
            max_output_tokens=text("#max_tokens"),
            store=text("#store") == "yes",
            format=text("#format"),
            schema=text("#schema"),
            metadata=text("#metadata"),
        )

    def _show_schema(self) -> None:
        self.query_one("#field-text").display = self.query_one("#format", Select).value == (
            "json_schema"
        )

    def _revalidate(self) -> None:
        _settings, self.problems = self.values().settings()
        for error in self.query(".error"):
            field = (error.id or "").removeprefix("err-")
            message = self.problems.get(field, "")
            error.update(Text(message, style="bold red") if message else "")
            error.display = bool(message)
        self.query_one("#save", Button).disabled = bool(self.problems)
        self.query_one("#save-reason", Static).update(
            Text(f"Cannot save: {self.save_reason()}") if self.problems else ""
        )

    def save_reason(self) -> str:
        for field, message in self.problems.items():
            return one_line(f"{LABELS.get(field, field)}: {message}", 200)
        return ""

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self._show_schema()
        self._revalidate()

    # -------------------------------------------------------------- actions

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        settings, self.problems = self.values().settings()
        if self.problems:
            self._revalidate()
            self.notify(f"Cannot save: {self.save_reason()}", severity="error", markup=False)
            return
        self.dismiss(settings)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
