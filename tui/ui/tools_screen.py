"""Tools: the presets screen (`t`), the preset form, the per-message picker (`T`), and the
prompts for MCP approvals and function calls.

The form validates as you type and shows each problem next to its field; Save stays disabled
until the preset is valid, so nothing invalid is saved or sent. Header secrets are written as
`${VARIABLE}` and are filled from the environment only when a request is sent.
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import (
    Button,
    Input,
    Label,
    OptionList,
    Select,
    SelectionList,
    Static,
    TextArea,
)
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection

from tui.api import jsonlimits
from tui.store.index import Index
from tui.text import one_line, sanitize
from tui.tools import (
    APPROVALS,
    Preset,
    Validation,
    approval_value,
    bounded_json,
    describe_tool,
    parse_header_lines,
    parse_tool_json,
    server_name,
    split_list,
    tool_label,
    validate_preset,
)
from tui.ui.dialog import Dialog
from tui.ui.footer import FittingFooter
from tui.ui.keys import bindings
from tui.ui.screens import ConfirmScreen

KIND_LABELS = [
    ("MCP server (streamable HTTP)", "mcp"),
    ("MCP over SSE (Fireworks)", "sse"),
    ("Function (you answer the calls)", "function"),
    ("Other (raw JSON, e.g. a built-in tool)", "raw"),
]
FIELDS = {
    "mcp": ["server_label", "server_url", "allowed_tools", "require_approval", "headers"],
    "sse": ["server_label", "server_url", "allowed_tools", "require_approval", "headers"],
    "function": ["name", "description", "parameters"],
    "raw": ["json"],
}
APPROVAL_LABELS = {"not sent": "not sent (the server's default)"}
DEFAULT_PARAMETERS = '{\n  "type": "object",\n  "properties": {},\n  "required": []\n}'


# ------------------------------------------------------------------ the preset form


class PresetForm(Dialog[Preset | None]):
    """Add or edit one preset. Returns the valid preset, or None when cancelled."""

    BINDINGS = bindings("PresetForm")  # tui/ui/keys.py

    def __init__(self, preset: Preset | None, taken: set[str]) -> None:
        super().__init__()
        self.original = preset
        self.taken = taken - ({preset.name} if preset else set())
        self.raw_mode = False
        self.validation = Validation()
        tool = dict(preset.tool) if preset else {"type": "mcp", "require_approval": "never"}
        self.kind = Preset("", tool).kind
        self.start_tool = tool
        self.start_name = preset.name if preset else ""
        # A new preset's approval follows its kind until the user picks one: "never" for
        # mcp (as OpenAI would otherwise ask every time), "not sent" for Fireworks' sse.
        self.approval_touched = preset is not None
        self.approval_auto = approval_choice(tool.get("require_approval"))
        self.field_labels: dict[str, str] = {"type": "Kind"}  # field -> its label

    # -------------------------------------------------------------- layout

    def _field(self, name: str, label: str, widget: Any, hint: str = "") -> Vertical:
        self.field_labels[name] = label
        parts: list[Any] = [Label(Content(label), classes="field-label"), widget]
        if hint:
            parts.append(Static(Content(hint), classes="hint"))
        parts.append(Static("", id=f"err-{name}", classes="error"))
        return Vertical(*parts, id=f"field-{name}", classes="field")

    def compose(self) -> ComposeResult:
        tool = self.start_tool
        approval = tool.get("require_approval")
        per_tool = isinstance(approval, dict)
        needing = (
            ", ".join(((approval or {}).get("always") or {}).get("tool_names", []))
            if per_tool
            else ""
        )
        headers = "\n".join(f"{k}: {v}" for k, v in (tool.get("headers") or {}).items())
        params = tool.get("parameters")
        with VerticalScroll(id="dialog"):
            yield Static(Text("Tool preset", style="bold"), id="form-title")
            yield self._field(
                "preset_name", "Preset name", Input(self.start_name, id="preset_name")
            )
            yield self._field(
                "type",
                "Kind",
                Select(KIND_LABELS, value=self.kind, allow_blank=False, id="kind"),
            )
            with Vertical(id="form-fields"):
                yield self._field(
                    "server_label",
                    "Server label (optional)",
                    Input(
                        str(tool.get("server_label") or ""),
                        placeholder=label_placeholder(tool.get("server_url")),
                        id="server_label",
                    ),
                )
                yield self._field(
                    "server_url",
                    "Server URL",
                    Input(
                        str(tool.get("server_url") or ""),
                        placeholder="the server's address (https://…)",
                        id="server_url",
                    ),
                )
                yield self._field(
                    "allowed_tools",
                    "Allowed tools (comma-separated; empty: all)",
                    Input(", ".join(tool.get("allowed_tools") or []), id="allowed_tools"),
                )
                yield self._field(
                    "require_approval",
                    "Require approval",
                    Select(
                        [(APPROVAL_LABELS.get(a, a), a) for a in APPROVALS],
                        value=approval_choice(approval),
                        allow_blank=False,
                        id="approval",
                    ),
                )
                yield self._field(
                    "approval_tools",
                    "Tools that need approval (per tool)",
                    Input(needing, id="approval_tools"),
                )
                yield self._field(
                    "headers",
                    "Headers (one 'Name: value' per line)",
                    TextArea(headers, id="headers", soft_wrap=True, compact=True),
                    hint="Secrets as ${VARIABLE}: the value is read from your environment "
                    "when sending and never saved.",
                )
                yield self._field(
                    "name", "Function name", Input(str(tool.get("name") or ""), id="name")
                )
                yield self._field(
                    "description",
                    "Description",
                    Input(str(tool.get("description") or ""), id="description"),
                )
                yield self._field(
                    "parameters",
                    "Parameters (JSON Schema)",
                    TextArea(
                        json.dumps(params, indent=2) if params is not None else DEFAULT_PARAMETERS,
                        id="parameters",
                        language="json",
                        compact=True,
                    ),
                )
                yield self._field(
                    "json",
                    "Tool JSON",
                    TextArea(json.dumps(tool, indent=2), id="json", language="json", compact=True),
                    hint="ctrl+r switches between the form and raw JSON.",
                )
            with Vertical(id="buttons"):
                with Horizontal(id="button-row"):
                    yield Button(Content("Save (ctrl+s)"), variant="primary", id="save")
                    yield Button(Content("Raw JSON (ctrl+r)"), id="raw")
                    yield Button(Content("Cancel (esc)"), id="cancel")
                yield Static("", id="save-reason")

    def on_mount(self) -> None:
        for area in self.query(TextArea):
            area.cursor_blink = False
        self._show_fields()
        self._revalidate()
        self.query_one("#preset_name", Input).focus()

    # -------------------------------------------------------------- state

    def _show_fields(self) -> None:
        visible = {"json"} if self.raw_mode or self.kind == "raw" else set(FIELDS[self.kind])
        if self.kind in ("mcp", "sse") and not self.raw_mode:
            approval = self.query_one("#approval", Select).value
            if approval == "per tool":
                visible.add("approval_tools")
        for name in (
            "server_label",
            "server_url",
            "allowed_tools",
            "require_approval",
            "approval_tools",
            "headers",
            "name",
            "description",
            "parameters",
            "json",
        ):
            self.query_one(f"#field-{name}").display = name in visible

    def _value(self, selector: str) -> str:
        widget = self.query_one(selector)
        return widget.text if isinstance(widget, TextArea) else str(widget.value)

    def build_tool(self) -> tuple[dict[str, Any] | None, dict[str, str]]:
        """The tool from the form (or the JSON), and problems the form itself found."""
        problems: dict[str, str] = {}
        if self.raw_mode or self.kind == "raw":
            tool, error = parse_tool_json(self._value("#json"))
            if error:
                problems["json"] = error
            return tool, problems
        kind = self.kind
        tool: dict[str, Any] = {"type": kind}
        if kind in ("mcp", "sse"):
            # Only what the user wrote: an empty label is left out (the tool is then shown
            # by its host), and so is an approval of "not sent".
            label = self._value("#server_label").strip()
            if label:
                tool["server_label"] = label
            tool["server_url"] = self._value("#server_url").strip()
            allowed = split_list(self._value("#allowed_tools"))
            if allowed:
                tool["allowed_tools"] = allowed
            mode = str(self.query_one("#approval", Select).value)
            needing = split_list(self._value("#approval_tools"))
            if mode == "per tool" and not needing:
                problems["approval_tools"] = "name the tools that need approval"
            approval = approval_value(mode, needing)
            if approval is not None:
                tool["require_approval"] = approval
            headers, error = parse_header_lines(self._value("#headers"))
            if error:
                problems["headers"] = error
            if headers:
                tool["headers"] = headers
        if kind == "function":
            tool["name"] = self._value("#name").strip()
            description = self._value("#description").strip()
            if description:
                tool["description"] = description
            parameters, error = _json_or_error(self._value("#parameters"))
            if error:
                problems["parameters"] = error
            else:
                tool["parameters"] = parameters
        return tool, problems

    def _revalidate(self) -> None:
        tool, problems = self.build_tool()
        name = self._value("#preset_name")
        validation = validate_preset(name, tool if tool is not None else {}, self.taken)
        if tool is None:
            validation.errors.pop("type", None)
        validation.errors = {**validation.errors, **problems}
        if problems:
            validation.tool = None
        self.validation = validation
        for error in self.query(".error"):
            field = (error.id or "").removeprefix("err-")
            message = validation.errors.get(field, "")
            if field == "json" and (self.raw_mode or self.kind == "raw"):
                message = message or next(
                    (f"{k}: {v}" for k, v in validation.errors.items() if k != "preset_name"), ""
                )
            error.update(Text(message, style="bold red") if message else "")
            error.display = bool(message)  # no empty line under every field
        self.query_one("#save", Button).disabled = not validation.ok
        self.query_one("#save-reason", Static).update(
            Text(f"Cannot save: {self.save_reason()}") if not validation.ok else ""
        )

    def save_reason(self) -> str:
        """Why Save is disabled, naming the field as the form labels it ("" when it is not)."""
        for field, message in self.validation.errors.items():
            if self.raw_mode or self.kind == "raw":
                label = "Tool JSON" if field == "json" else field
            else:
                label = self.field_labels.get(field, field)
            return one_line(f"{label.split(' (')[0]}: {message}", 200)
        return ""

    @on(Input.Changed)
    @on(TextArea.Changed)
    def _changed(self) -> None:
        self._revalidate()

    @on(Input.Changed, "#server_url")
    def _url_changed(self, event: Input.Changed) -> None:
        self.query_one("#server_label", Input).placeholder = label_placeholder(event.value)

    @on(Select.Changed, "#kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        self.kind = str(event.value)
        if not self.approval_touched and self.kind in ("mcp", "sse"):
            self.approval_auto = "never" if self.kind == "mcp" else "not sent"
            self.query_one("#approval", Select).value = self.approval_auto
        self._show_fields()
        self._revalidate()

    @on(Select.Changed, "#approval")
    def _approval_changed(self, event: Select.Changed) -> None:
        if event.value != self.approval_auto:  # the user's choice, not the form's default
            self.approval_touched = True
        self._show_fields()
        self._revalidate()

    # -------------------------------------------------------------- actions

    def action_toggle_raw(self) -> None:
        if self.kind == "raw":
            return
        if not self.raw_mode:
            tool, _ = self.build_tool()
            self.query_one("#json", TextArea).load_text(json.dumps(tool or {}, indent=2))
            self.raw_mode = True
        else:
            tool, error = parse_tool_json(self._value("#json"))
            if error or tool is None:
                self.notify(f"Fix the JSON first: {error}", severity="error", markup=False)
                return
            self._load_form(tool)
            self.raw_mode = False
        self._show_fields()
        self._revalidate()

    def _load_form(self, tool: dict[str, Any]) -> None:
        kind = Preset("", tool).kind
        self.kind = kind
        self.query_one("#kind", Select).value = kind
        self.query_one("#server_label", Input).value = str(tool.get("server_label") or "")
        self.query_one("#server_url", Input).value = str(tool.get("server_url") or "")
        self.query_one("#allowed_tools", Input).value = ", ".join(tool.get("allowed_tools") or [])
        approval = tool.get("require_approval")
        self.query_one("#approval", Select).value = approval_choice(approval)
        if isinstance(approval, dict):
            names = (approval.get("always") or {}).get("tool_names", [])
            self.query_one("#approval_tools", Input).value = ", ".join(names)
        headers = tool.get("headers") or {}
        self.query_one("#headers", TextArea).load_text(
            "\n".join(f"{k}: {v}" for k, v in headers.items())
        )
        self.query_one("#name", Input).value = str(tool.get("name") or "")
        self.query_one("#description", Input).value = str(tool.get("description") or "")
        if "parameters" in tool:
            self.query_one("#parameters", TextArea).load_text(
                json.dumps(tool["parameters"], indent=2)
            )

    def action_save(self) -> None:
        self._revalidate()
        if not self.validation.ok or self.validation.tool is None:
            self.notify(self.validation.first() or "not valid yet", severity="error", markup=False)
            return
        self.dismiss(Preset(self._value("#preset_name").strip(), self.validation.tool))

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        elif event.button.id == "raw":
            self.action_toggle_raw()
        else:
            self.action_cancel()


def approval_choice(approval: Any) -> str:
    """The form's approval choice for a tool's `require_approval` (absent: "not sent")."""
    if approval is None:
        return "not sent"
    if isinstance(approval, dict):
        return "per tool"
    return approval if approval in ("never", "always") else "never"


def label_placeholder(url: Any) -> str:
    """What the empty label field says: the name the tool is shown by without a label."""
    host = server_name(url)
    shown = host or "the URL's host"
    return f"none: shown as {shown}, and no server_label is sent"


def short_description(tool: dict[str, Any]) -> str:
    """Kind and where, short enough for one line of the list (the detail pane has the rest)."""
    kind = str(tool.get("type") or "tool")
    if kind in ("mcp", "sse"):
        host = server_name(tool.get("server_url")) or "?"
        approval = tool.get("require_approval")
        ask = " · asks" if approval == "always" or isinstance(approval, dict) else ""
        return f"{kind} · {host}{ask}"
    return kind


def _json_or_error(text: str) -> tuple[Any, str | None]:
    try:
        return bounded_json(text), None
    except json.JSONDecodeError as error:
        return None, f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
    except ValueError as error:
        return None, str(error)


# ------------------------------------------------------------------ the presets screen


class ToolsScreen(Screen[None]):
    """The saved presets: add, edit, duplicate, delete."""

    BINDINGS = bindings("ToolsScreen")  # tui/ui/keys.py

    def __init__(self, index: Index) -> None:
        super().__init__()
        self.index = index

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A form or a confirmation in front of this screen takes the keys: its footer (the
        # one line left below a dialog) must not offer these.
        return self.app.screen is self

    def presets(self) -> list[Preset]:
        return sorted(
            (Preset.from_doc(doc) for doc in self.index.presets()), key=lambda p: p.name.lower()
        )

    def compose(self) -> ComposeResult:
        with Vertical(id="tools-main"):
            yield Static(
                Text.assemble(
                    ("Tool presets", "bold"),
                    (
                        "  saved in the index · T in the composer picks them per message · "
                        "secrets stay in ${VARIABLES}",
                        "dim",
                    ),
                ),
                id="tools-title",
            )
            with Horizontal():
                yield OptionList(id="preset-list")
                yield Static("", id="preset-detail")
        yield FittingFooter()

    def on_mount(self) -> None:
        self.refresh_list()
        self.query_one("#preset-list", OptionList).focus()

    def refresh_list(self, select: str | None = None) -> None:
        options = self.query_one("#preset-list", OptionList)
        options.clear_options()
        presets = self.presets()
        if not presets:
            options.add_option(
                Option(Content("(no presets yet: press a to add one)"), id="_none", disabled=True)
            )
        for preset in presets:
            line = Text(no_wrap=True, overflow="ellipsis")
            line.append(one_line(preset.name, 28), style="bold")
            line.append(f"  {one_line(short_description(preset.tool), 34)}", style="dim")
            options.add_option(Option(line, id=preset.name))
        if presets:
            names = [p.name for p in presets]
            options.highlighted = names.index(select) if select in names else 0
        self._show_detail()

    def _selected(self) -> Preset | None:
        options = self.query_one("#preset-list", OptionList)
        if options.highlighted is None:
            return None
        option = options.get_option_at_index(options.highlighted)
        for preset in self.presets():
            if preset.name == option.id:
                return preset
        return None

    @on(OptionList.OptionHighlighted)
    def _show_detail(self) -> None:
        preset = self._selected()
        detail = self.query_one("#preset-detail", Static)
        if preset is None:
            detail.update("")
            return
        text = Text()
        text.append(f"{preset.name}\n", style="bold")
        if preset.kind in ("mcp", "sse") and not preset.tool.get("server_label"):
            text.append(f"no server_label: shown as {sanitize(preset.label())}\n", style="dim")
        text.append(sanitize(json.dumps(preset.tool, indent=2), multiline=True))
        detail.update(text)

    def _open_form(self, preset: Preset | None, *, replacing: str | None) -> None:
        taken = {p.name for p in self.presets()}

        def done(result: Preset | None) -> None:
            if result is None:
                return
            if replacing and replacing != result.name:
                self.index.remove_preset(replacing)
            self.index.save_preset(result.to_doc())
            self.refresh_list(select=result.name)
            self.notify(f"Saved tool preset {result.name!r}", timeout=3, markup=False)

        self.app.push_screen(PresetForm(preset, taken), done)

    def action_add(self) -> None:
        self._open_form(None, replacing=None)

    def action_edit(self) -> None:
        preset = self._selected()
        if preset is not None:
            self._open_form(preset, replacing=preset.name)

    def action_duplicate(self) -> None:
        preset = self._selected()
        if preset is None:
            return
        names = {p.name for p in self.presets()}
        n = 2
        while f"{preset.name} {n}" in names:
            n += 1
        copy = Preset(f"{preset.name} {n}", json.loads(json.dumps(preset.tool)))
        self.index.save_preset(copy.to_doc())
        self.refresh_list(select=copy.name)

    def action_delete(self) -> None:
        preset = self._selected()
        if preset is None:
            return
        name = one_line(preset.name, 60)

        def answered(yes: bool | None) -> None:
            if yes:
                self.index.remove_preset(preset.name)
                self.refresh_list()
                self.notify(f"Deleted tool preset {name!r}", timeout=3, markup=False)

        self.app.push_screen(
            ConfirmScreen(
                f"Delete the tool preset {name!r}?",
                "Messages already sent keep their tools; the preset cannot be brought back.",
                "Delete",
            ),
            answered,
        )

    def action_close(self) -> None:
        self.dismiss(None)


# ------------------------------------------------------------------ per-message picker


class ToolPicker(Dialog[list[dict[str, Any]] | None]):
    """Choose the tools for the next message: saved presets plus the ones this branch has."""

    BINDINGS = bindings("ToolPicker")  # tui/ui/keys.py

    def __init__(self, presets: list[Preset], current: list[dict[str, Any]]) -> None:
        super().__init__()
        self.choices: list[tuple[str, dict[str, Any]]] = []
        selected: list[bool] = []
        for preset in presets:
            self.choices.append((preset.name, preset.tool))
            selected.append(preset.tool in current)
        for tool in current:
            if not any(tool == t for _, t in self.choices):
                self.choices.append((f"{tool_label(tool)} (from this branch)", tool))
                selected.append(True)
        self.selected = selected

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static(
                Text.assemble(
                    ("Tools for the next message\n", "bold"),
                    ("space toggles · enter uses them · esc keeps the current set", "dim"),
                )
            )
            if not self.choices:
                yield Static(
                    Text("No presets yet: add some with t (tools screen).", style="italic")
                )
            yield SelectionList[int](
                *[Selection(self._prompt(n, on), n, on) for n, on in enumerate(self.selected)],
                id="tool-choices",
            )

    def _prompt(self, n: int, on: bool) -> Content:
        """A choice's line, `[x]` or `[ ]` first: picked and not picked differ without colour."""
        name, tool = self.choices[n]
        return Content(f"{'[x]' if on else '[ ]'} {name}  ·  {describe_tool(tool)}")

    @on(SelectionList.SelectedChanged)
    def _marks(self, event: SelectionList.SelectedChanged) -> None:
        choices = event.selection_list
        picked = set(choices.selected)
        for n in range(len(self.choices)):
            choices.replace_option_prompt_at_index(n, self._prompt(n, n in picked))

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def action_done(self) -> None:
        chosen = self.query_one(SelectionList).selected
        self.dismiss([self.choices[n][1] for n in sorted(chosen)])

    def action_cancel(self) -> None:
        self.dismiss(None)


# ------------------------------------------------------------------ approvals and function calls


class ApprovalScreen(Dialog[bool | None]):
    """An MCP server wants to run a tool: approve or deny (None: decide later)."""

    BINDINGS = bindings("ApprovalScreen")  # tui/ui/keys.py

    def __init__(self, request: dict[str, Any]) -> None:
        super().__init__()
        self.request = request

    def compose(self) -> ComposeResult:
        item = self.request
        text = _call_text(
            "Approve this tool call?",
            [("server", item.get("server_label") or "mcp"), ("tool", item.get("name"))],
            item.get("arguments"),
        )
        with VerticalScroll(id="dialog"):
            yield Static(text, id="approval-text")
            with Horizontal(id="buttons"):
                yield Button(Content("Approve (y)"), variant="success", id="approve")
                yield Button(Content("Deny (n)"), variant="error", id="deny")
                yield Button(Content("Later (esc)"), id="later")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss({"approve": True, "deny": False}.get(event.button.id or ""))

    def action_answer(self, approve: bool) -> None:
        self.dismiss(approve)

    def action_later(self) -> None:
        self.dismiss(None)


class FunctionOutputScreen(Dialog[str | None]):
    """The model called a function: the user types what it returns."""

    BINDINGS = bindings("FunctionOutputScreen")  # tui/ui/keys.py

    def __init__(self, call: dict[str, Any]) -> None:
        super().__init__()
        self.call = call

    def compose(self) -> ComposeResult:
        call = self.call
        text = _call_text(
            "The model called a function",
            [("function", call.get("name")), ("call_id", call.get("call_id"))],
            call.get("arguments"),
        )
        with VerticalScroll(id="dialog"):
            yield Static(text, id="function-text")
            yield Label(Content("Its output (sent as function_call_output):"))
            yield TextArea("", id="function-output", compact=True)
            yield Static(Text("ctrl+s sends · esc decides later", style="dim"))

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.cursor_blink = False
        area.focus()

    def action_send(self) -> None:
        output = self.query_one(TextArea).text
        if not output.strip():
            self.notify("Type the function's output first.", severity="warning")
            return
        self.dismiss(output)

    def action_later(self) -> None:
        self.dismiss(None)


def _call_text(title: str, rows: list[tuple[str, Any]], arguments: Any) -> Text:
    """A tool call as the prompts show it: a title, labelled fields, the arguments."""
    text = Text()
    text.append(f"{title}\n\n", style="bold")
    width = max(len(name) for name, _ in rows) + 2
    for name, value in rows:
        text.append(f"{name:<{width}}", style="dim")
        text.append(sanitize(str(value or "?")) + "\n")
    text.append("arguments\n", style="dim")
    text.append(sanitize(_pretty(arguments), multiline=True))
    return text


def _pretty(arguments: Any) -> str:
    if isinstance(arguments, str):
        try:
            return json.dumps(jsonlimits.loads(arguments), indent=2, ensure_ascii=False)
        except (ValueError, RecursionError):  # RecursionError: deep but parseable, in dumps
            return arguments
    return json.dumps(arguments, indent=2, ensure_ascii=False)
