"""Dialogs for history work: import by id, export, search results, profile switch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import (
    Button,
    Input,
    Label,
    OptionList,
    RadioButton,
    RadioSet,
    Static,
)
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from tui.store.index import AmbiguousId
from tui.text import one_line, sanitize
from tui.ui.dialog import Dialog
from tui.ui.keys import bindings


class Choice(RadioButton):
    """A radio button whose mark differs in shape, not only in colour: ● chosen, ○ not."""

    @property  # type: ignore[override]
    def BUTTON_INNER(self) -> str:  # Textual's name for the mark
        return "●" if self.value else "○"


class ImportScreen(Dialog[list[str] | None]):
    """Ask for response ids to import (space or comma separated). `resolve` turns what was
    typed into a whole id (`Index.resolve`: a unique prefix of an indexed id is that id)."""

    BINDINGS = bindings("ImportScreen")  # tui/ui/keys.py

    def __init__(self, resolve: Callable[[str], str] | None = None) -> None:
        super().__init__()
        self._resolve = resolve

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static(Text("Import responses by id", style="bold"))
            yield Static(
                Text(
                    "Each one is retrieved with its ancestors (walking previous_response_id "
                    "up to the root) and its input items where the server has them.",
                    style="dim",
                )
            )
            yield Input(placeholder="resp_… resp_…", id="import-ids")
            yield Static(
                Text("space or comma between ids · enter imports · esc cancels", style="dim"),
                classes="hint",
            )
            yield Static("", id="import-error", classes="error").set_styles("display: none;")
            with Horizontal(id="buttons"):
                yield Button(Content("Import (enter)"), variant="primary", id="import")
                yield Button(Content("Cancel (esc)"), id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self._import(self.query_one("#import-ids", Input).value)

    @on(Button.Pressed, "#import")
    def _pressed_import(self) -> None:
        self._import(self.query_one("#import-ids", Input).value)

    @on(Button.Pressed, "#cancel")
    def _pressed_cancel(self) -> None:
        self.action_cancel()

    def _import(self, value: str) -> None:
        ids = [part for part in value.replace(",", " ").split() if part]
        error = self.query_one("#import-error", Static)
        if self._resolve is not None:
            try:
                ids = [self._resolve(part) for part in ids]
            except AmbiguousId as ambiguous:  # one line naming the candidates
                error.update(Text(one_line(str(ambiguous), 400), style="bold red"))
                error.display = True
                return
        bad = [i for i in ids if not all(c.isalnum() or c in "_-" for c in i)]
        if not ids or bad:
            message = (
                f"not a response id: {one_line(bad[0], 60)!r}" if bad else "type one or more ids"
            )
            error.update(Text(message, style="bold red"))
            error.display = True
            return
        self.dismiss(ids)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ExportScreen(Dialog[dict[str, Any] | None]):
    """Choose what to export (this path or the whole conversation), the format and the file."""

    BINDINGS = bindings("ExportScreen")  # tui/ui/keys.py

    def __init__(self, response_id: str, directory: Path) -> None:
        super().__init__()
        self.response_id = response_id
        self.directory = directory

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static(Text("Export", style="bold"))
            with Horizontal(id="export-choices"):
                with RadioSet(id="export-scope"):
                    yield Choice(Content("this path (root → here)"), value=True, id="path")
                    yield Choice(Content("the whole conversation"), id="tree")
                with RadioSet(id="export-format"):
                    yield Choice(Content("Markdown"), value=True, id="md")
                    yield Choice(Content("JSON (re-importable)"), id="json")
            yield Label(Content("File"))
            yield Input(self._default_path("path", "md"), id="export-file")
            yield Static("", id="export-error", classes="error").set_styles("display: none;")
            with Horizontal(id="buttons"):
                yield Button(Content("Export (ctrl+s)"), variant="primary", id="export")
                yield Button(Content("Cancel (esc)"), id="cancel")

    def _default_path(self, scope: str, fmt: str) -> str:
        suffix = "-conversation" if scope == "tree" else ""
        return str(self.directory / f"{self.response_id}{suffix}.{fmt}")

    def _choice(self, selector: str) -> str:
        pressed = self.query_one(selector, RadioSet).pressed_button
        return pressed.id if pressed is not None and pressed.id else ""

    @on(RadioSet.Changed)
    def _changed(self) -> None:
        self.query_one("#export-file", Input).value = self._default_path(
            self._choice("#export-scope"), self._choice("#export-format")
        )

    def action_export(self) -> None:
        path = self.query_one("#export-file", Input).value.strip()
        if not path:
            error = self.query_one("#export-error", Static)
            error.update(Text("choose a file", style="bold red"))
            error.display = True
            return
        self.dismiss(
            {
                "scope": self._choice("#export-scope"),
                "format": self._choice("#export-format"),
                "path": Path(path).expanduser(),
            }
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "export":
            self.action_export()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)


MAX_HITS = 200  # results listed by the search dialog
PROGRESS_EVERY = 0.4  # seconds between progress updates while the index is being built


class SearchScreen(Dialog[tuple[str, str] | None]):
    """Full-text search over every turn; enter jumps to the highlighted result."""

    BINDINGS = bindings("SearchScreen")  # tui/ui/keys.py

    def __init__(
        self,
        searcher: Callable[[], Any],
        progress: Callable[[], tuple[int, int] | None] = lambda: None,
    ) -> None:
        """`searcher()`: the search index to ask (it may still be filling up);
        `progress()`: (done, total) while the index is being built, None once it is."""
        super().__init__()
        self.searcher = searcher
        self.progress = progress
        self.hits: list[Any] = []
        self._typed = ""  # the query as typed
        self._shown = ""  # the query whose hits are listed
        self._building = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static(Text("Search every turn", style="bold"))
            yield Input(placeholder="words to find (all of them)", id="search-query")
            yield Static("", id="search-count", classes="hint")
            yield OptionList(id="search-results")

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self._building = self.progress() is not None
        if self._building:
            self._update_count(self._shown, len(self.hits))
            self._ticker = self.set_interval(PROGRESS_EVERY, self._building_tick)

    def _building_tick(self) -> None:
        """While the index fills up: say how far it is and search again what is ready."""
        building = self.progress() is not None
        if not building:
            self._building = False
            self._ticker.stop()
        browsing = self.query_one(OptionList).has_focus  # do not pull the list away...
        if self._typed.strip() and (not browsing or not building):  # ...but once at the end
            self._search(self._typed)
        else:
            self._update_count(self._shown, len(self.hits))

    @on(Input.Changed, "#search-query")
    def _query(self, event: Input.Changed) -> None:
        self._typed = event.value
        if event.value.strip():
            self._search(event.value)  # a scan of 100,000 turns takes 0.1 s: in a thread
        else:
            self.workers.cancel_group(self, "search-query")
            self._show(event.value, [])

    @work(group="search-query", exclusive=True, thread=True)
    def _search(self, query: str) -> None:
        hits = self.searcher().search(query, limit=MAX_HITS)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, query, hits)

    def _show(self, query: str, hits: list[Any]) -> None:
        if query != self._typed:
            return  # overtaken by further typing
        self._shown = query
        self.hits = hits
        results = self.query_one(OptionList)
        results.clear_options()
        for n, hit in enumerate(self.hits):
            line = Text(no_wrap=True, overflow="ellipsis")
            line.append(f"{hit.key[1][:13]}… ", style="dim")
            line.append(f"{hit.field:<6} ", style="cyan")
            snippet = sanitize(hit.snippet)
            line.append(snippet[: hit.start])
            line.append(snippet[hit.start : hit.start + hit.length], style="bold reverse")
            line.append(snippet[hit.start + hit.length :])
            results.add_option(Option(line, id=str(n)))
        self._update_count(query, len(self.hits))

    def _update_count(self, query: str, count: int) -> None:
        label = "" if not query.strip() else f"{count}{'+' if count == MAX_HITS else ''} found"
        progress = self.progress() if self._building else None
        if progress is not None:
            done, total = progress
            indexing = f"indexing every turn: {done:,} of {total:,}"
            label = f"{label} so far · {indexing}" if label else f"{indexing}…"
        self.query_one("#search-count", Static).update(Text(label, style="dim"))

    @on(Input.Submitted, "#search-query")
    def _first(self) -> None:
        if self._shown != self._typed and self._typed.strip():  # enter before the list caught up
            self._show(self._typed, self.searcher().search(self._typed, limit=MAX_HITS))
        if self.hits:
            self.dismiss(self.hits[0].key)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.hits[int(event.option.id or 0)].key)

    def action_focus_results(self) -> None:
        results = self.query_one(OptionList)
        results.focus()
        if results.highlighted is None and results.option_count:
            results.highlighted = 0  # the first down lands on the first result

    def action_cancel(self) -> None:
        self.dismiss(None)


class ProfileScreen(Dialog[str | None]):
    """Switch to another profile (server); the place in each one is remembered."""

    BINDINGS = bindings("ProfileScreen")  # tui/ui/keys.py

    def __init__(self, rows: list[tuple[str, str, bool]], current: str) -> None:
        super().__init__()
        self.rows = rows  # (name, description, usable)
        self.current = current

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static(Text("Switch profile", style="bold"))
            options = OptionList(id="profile-list")
            for name, description, usable in self.rows:
                line = Text()
                line.append(("● " if name == self.current else "  ") + name, style="bold")
                line.append(f"  {description}", style="dim" if usable else "red")
                options.add_option(Option(line, id=name))
            yield options

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
