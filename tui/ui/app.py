"""The browser: forest on the left, transcript and composer on the right."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual._context import active_message_pump
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Input
from textual.worker import WorkerFailed

from tui import config
from tui.api import items
from tui.api.client import ResponsesClient
from tui.api.errors import ApiError, NotFoundError, redact
from tui.api.profiles import Profile
from tui.compare import other_siblings
from tui.fulltext import FullText
from tui.gcpause import IdleCollector, tune_for_interaction
from tui.glyphs import FORK
from tui.local.server import OfflineBackend
from tui.ops.conversation import (
    approval_items,
    function_output_items,
    pending_requests,
    plan_followup,
)
from tui.ops.deleter import delete_responses, subtree_ids
from tui.ops.export import export_markdown, render_export
from tui.ops.fanout import RunSettings, own_settings
from tui.ops.importer import describe_import, import_chain
from tui.ops.sync import sync
from tui.paths import config_file, default_export_dir, state_file
from tui.session import Session, SessionError
from tui.store.atomic import write_private_file
from tui.store.index import Index
from tui.text import one_line, sanitize
from tui.tools import Preset, env_refs
from tui.ui.ascii_driver import ascii_driver
from tui.ui.commands import ActionCommands
from tui.ui.compare_screen import CompareScreen
from tui.ui.composer import Composer, ComposerInput
from tui.ui.conversation_pane import ConversationPane
from tui.ui.copy_picker import CopyPicker, code_blocks
from tui.ui.fanout_screen import FanoutScreen
from tui.ui.focus import focus_now
from tui.ui.footer import FittingFooter
from tui.ui.forest_graph import ForestGraph
from tui.ui.forest_pane import ForestPane
from tui.ui.history_screens import (
    ExportScreen,
    ImportScreen,
    ProfileScreen,
    SearchScreen,
)
from tui.ui.keys import FOREST, FOREST_ACTIONS, NEEDS_NODE, bindings, key_of, remappable_ids
from tui.ui.labels import elsewhere_text, short_id
from tui.ui.messages import (
    AnchorLost,
    ComposerLeft,
    FullTextWanted,
    ReplyAsked,
    TranscriptLeft,
    TurnEnded,
    TurnHighlighted,
    TurnStarted,
)
from tui.ui.name_screens import LabelsScreen, NameScreen
from tui.ui.screens import DeletePlan, DeleteScreen, HelpScreen, ProgressScreen
from tui.ui.settings_screen import RunSettingsScreen
from tui.ui.tools_screen import ApprovalScreen, FunctionOutputScreen, ToolPicker, ToolsScreen
from tui.ui.transcript import Transcript

Key = tuple[str, str]
# Seconds between looks at the index for what other processes wrote (see `_poll_index`).
INDEX_POLL = 0.5
COMPARE_NOTE = "Compare"  # the title of the note that says a turn is marked (+)
MODELS_WAIT = 10.0  # seconds the settings form waits for the server's models


class ResponsesApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "responses-tui"
    COMMANDS: ClassVar = App.COMMANDS | {ActionCommands}
    # Every key is declared once, in tui/ui/keys.py: here the keys that work anywhere (the
    # keys that act on the highlighted turn are the forest graph's, the composer's its own).
    BINDINGS: ClassVar = bindings("app")

    def __init__(
        self,
        index: Index,
        profile: Profile,
        *,
        env: Mapping[str, str] | None = None,
        backend: OfflineBackend | None = None,
        client: ResponsesClient | None = None,
        clock: Callable[[], float] = time.time,
        debounce: float = 0.06,
    ) -> None:
        super().__init__()
        self.index = index
        # The profile, its client and server, the place on each server (shared with the CLI).
        self.session = Session(index, profile, env=env, backend=backend, client=client)
        self.clock = clock
        # config.toml: the user's keys (applied on mount; problems are shown then).
        self.settings = config.load(config_file(self.env), remappable_ids())
        if self.settings.ascii:
            self.driver_class = ascii_driver(self.driver_class)
        self.keymap = self.settings.keymap
        self.fulltext = FullText(index)  # built on first use, for the filter and ctrl+f
        self.forest_pane = ForestPane(
            index, self.server, clock, self.fulltext, debounce=debounce, id="left"
        )
        self.forest_view.welcome = self._welcome_forest  # asked for when the forest is empty
        self.conversation = ConversationPane(
            index, self.session, clock, debounce=debounce, id="right"
        )
        self.unexpected_errors: list[BaseException] = []  # reported and survived
        self.collector = IdleCollector(time.monotonic)  # full collections when idle
        self._guarded = False  # the app's handlers are guarded once it has mounted
        self._crash_lines: list[str] = []
        # The models of each profile's server, asked once a session.
        self._models: dict[str, tuple[list[str], str]] = {}

    @property
    def compare_mark(self) -> Key | None:
        """The first turn of a branch comparison (+, =): the graph shows it marked ⇔."""
        return self.forest_view.compare_mark

    @compare_mark.setter
    def compare_mark(self, key: Key | None) -> None:
        self.forest_view.mark_for_compare(key)

    @property
    def profile(self) -> Profile:
        return self.session.profile

    @property
    def server(self) -> str:
        return self.session.server

    @property
    def client(self) -> ResponsesClient:
        client = self.session.client
        if client.on_retry is None:  # a slow server is never silent (a send says it its way)
            client.on_retry = self._retrying
        return client

    @client.setter
    def client(self, client: ResponsesClient) -> None:
        self.session.client = client

    def _retrying(self, line: str) -> None:
        """A sync, import or delete is retrying: one short-lived note per retry."""
        self.notify(line, title="Retrying", severity="warning", timeout=4, markup=False)

    @property
    def backend(self) -> OfflineBackend | None:
        return self.session.backend

    @property
    def forest_view(self) -> ForestGraph:
        return self.forest_pane.graph

    @property
    def transcript(self) -> Transcript:
        return self.conversation.transcript

    @property
    def composer(self) -> Composer:
        return self.conversation.composer

    @property
    def current(self) -> Key | None:
        """The highlighted turn (the conversation pane shows it and replies to it)."""
        return self.conversation.current

    @current.setter
    def current(self, key: Key | None) -> None:
        self.conversation.current = key

    @property
    def streaming(self) -> bool:
        return self.conversation.streaming or self.conversation.fanning

    @property
    def env(self) -> Mapping[str, str]:
        return self.session.env

    @env.setter
    def env(self, env: Mapping[str, str]) -> None:
        self.session.env = env

    @property
    def debounce(self) -> float:
        """Seconds the panes wait for keys to pause before redrawing (transcript, filter)."""
        return self.conversation.debounce

    @debounce.setter
    def debounce(self, seconds: float) -> None:
        self.conversation.debounce = self.forest_pane.debounce = seconds

    @property
    def filter_input(self) -> Input:
        return self.forest_pane.filter_input

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon=FORK)
        with Horizontal(id="main"):
            yield self.forest_pane
            yield self.conversation
        yield FittingFooter()

    def on_mount(self) -> None:
        tune_for_interaction()
        self.set_interval(0.25, lambda: self.collector.tick(busy=self.streaming))
        self.set_interval(INDEX_POLL, self._poll_index)
        self._set_title()
        if self.keymap:
            self.set_keymap(self.keymap)
        self.conversation.composer.set_enter_sends(self.settings.enter_sends)
        for problem in self.settings.problems:
            self.notify(problem, severity="warning")
        self.forest_view.rebuild()
        latest = self._latest_key()
        if latest is None:
            self.conversation.mode = "new"
            self.call_after_refresh(self.conversation.welcome)
            self.composer.input.focus()
        else:
            self.current = latest  # usable before the graph has drawn its cursor
            self.forest_view.reveal(latest)
            self.forest_view.focus()
        self.conversation.update_target()

    def _poll_index(self) -> None:
        """Take in what another process (the CLI, a second app) wrote to the index: a
        conversation sent from a shell appears here within a second, one deleted elsewhere
        goes. A look costs two `stat` calls when nothing changed; none while a reply streams
        (it is looked at again once the reply is in)."""
        if self.streaming:
            return
        try:
            changed = self.index.refresh()
        except OSError:  # a file unreadable for a moment: the next look tries again
            return
        if not changed:
            return
        self.fulltext.bulk_changed()
        current = self.current
        self.forest_view.rebuild()  # the graph keeps its place, cursor included
        if current is None or self.index.get(*current) is not None:
            return
        target = self.forest_view.current_key or self._latest_key()  # the turn went
        self.current = target
        if target is not None:
            self.forest_view.reveal(target)
            self.call_later(self.show_path, target)
        else:
            self.conversation.mode = "new"
            self.call_later(self.conversation.welcome)

    def _welcome_forest(self) -> Text:
        """The empty graph's text: what to do, and what the index holds elsewhere."""
        text = Text("No conversations here yet.\n\n", style="bold")
        send = key_of("submit", self.keymap)
        text.append(f"Write a message on the right and press {send} to start one.", style="")
        elsewhere = elsewhere_text(self.session.elsewhere(), key_of("toggle_servers", self.keymap))
        if elsewhere and not self.forest_view.all_servers:
            text.append("\n\n" + elsewhere, style="yellow")
        return text

    def _set_title(self) -> None:
        where = "offline backend (no model, no network)" if self.profile.local else self.server
        self.sub_title = f"{self.profile.name} · {where} · {self.default_model}"

    def _latest_key(self) -> Key | None:
        return self.conversation.latest()

    @property
    def default_model(self) -> str:
        return self.session.default_model

    # ------------------------------------------------------------ the panes, in step

    @on(TurnHighlighted)
    def _highlighted(self, event: TurnHighlighted) -> None:
        self.conversation.follow(event.key)

    @on(ReplyAsked)
    def _selected(self, event: ReplyAsked) -> None:
        self.action_reply()

    @on(TurnStarted)
    def _turn_started(self, event: TurnStarted) -> None:
        self.forest_view.add_response(event.key, pending=True)
        if event.reveal:
            self.forest_view.reveal(event.key)

    @on(TurnEnded)
    def _turn_ended(self, event: TurnEnded) -> None:
        key = event.key
        self.forest_view.add_response(key)
        self.forest_view.refresh_label(key)
        self._search_changed(key)
        if event.fanned:
            return  # one of a fan-out's runs: the cursor stays where the user put it
        self.forest_view.reveal(key)
        if not event.cancelled:
            self._prompt_pending(key, quiet=True)

    @on(AnchorLost)
    def _anchor_lost(self, event: AnchorLost) -> None:
        self.forest_view.refresh_label(event.key)

    @on(TranscriptLeft)
    @on(ComposerLeft)
    def _composer_left(self) -> None:
        focus_now(self.forest_view)

    async def show_path(self, key: Key | None) -> None:
        await self.conversation.show_path(key)

    # ------------------------------------------------------------ actions: writing

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's own palette entries, less the two ours already offer: Quit, and Keys
        (our help lists every key); the palette then lists each action once."""
        for command in super().get_system_commands(screen):
            if command.title not in ("Quit", "Keys"):
                yield command

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        in_front = self.screen is not self.screen_stack[0]
        from_forest = action in FOREST_ACTIONS or parameters[:1] == (FOREST,)
        if in_front and (from_forest or action in ("search", "switch_profile", "toggle_servers")):
            return False  # another screen (tools, a dialog) is in front
        if action in NEEDS_NODE and self.current is None:
            return False  # not offered (an empty forest: nothing to reply to, copy, delete)
        if action == "cancel_stream":
            in_text = isinstance(self.focused, ComposerInput | Input)
            return bool(self.streaming) or (self.forest_pane.filtering and not in_text)
        return True

    def reply_to(self, key: Key) -> None:
        """Write a reply to `key` (enter on the forest)."""
        self.current = key
        self.action_reply()

    def action_reply(self) -> None:
        if self._ensure_server(self.current):
            self.conversation.reply()

    def action_new_conversation(self) -> None:
        self.conversation.new_conversation()

    def action_edit(self) -> None:
        if self.current is not None and self._ensure_server(self.current):
            self.conversation.edit(self.current)

    def action_regenerate(self) -> None:
        if self.current is not None and self._ensure_server(self.current):
            self.conversation.regenerate(self.current)

    def action_cancel_stream(self) -> None:
        """esc: cancel the streaming reply; else, in the forest, clear the filter."""
        if self.conversation.streaming:
            self.conversation.cancel()
        elif self.conversation.fanning:
            self.conversation.cancel_fanout()
        elif self.forest_pane.filtering:
            self.forest_pane.clear_filter()

    # ------------------------------------------------------------ fan out

    def action_fanout(self) -> None:
        """F: the highlighted turn's input sent N times at once, as its siblings, each run
        with the model and temperature the form gives it."""
        key = self.current
        if key is None or not self._ensure_server(key):
            return
        if self.conversation.fanning:
            self.notify("A fan-out is still running (esc cancels it).", severity="warning")
            return
        own = own_settings(self.index, key[0], key[1], default_model=self.default_model)

        def chosen(runs: list[RunSettings] | None) -> None:
            if runs:
                self.conversation.fan_out(key, runs)

        self.push_screen(FanoutScreen(key[1], own), chosen)

    # ------------------------------------------------------------ tools

    def action_tools(self) -> None:
        def closed(_result: None) -> None:
            self.conversation.update_target()

        self.push_screen(ToolsScreen(self.index), closed)

    def action_pick_tools(self) -> None:
        presets = [Preset.from_doc(doc) for doc in self.index.presets()]
        presets.sort(key=lambda p: p.name.lower())
        _, current = self.conversation.next_settings()

        def chosen(tools: list[dict[str, Any]] | None) -> None:
            if tools is not None:
                self.conversation.set_tools(tools)

        self.push_screen(ToolPicker(presets, current), chosen)

    # ------------------------------------------------------------ run settings

    def action_run_settings(self) -> None:
        """S or ctrl+o: the run settings of the next message (model, temperature...)."""
        pane = self.conversation
        parent = pane.edit_target if pane.mode == "edit" else pane.reply_parent()
        where = (
            f"For the next message from {parent[1]}; the turns below it inherit them."
            if parent is not None
            else "For the new conversation; its later turns inherit them."
        )
        screen = RunSettingsScreen(pane.run_settings(), one_line(where, 200))

        def chosen(settings: dict[str, Any] | None) -> None:
            if settings is not None:
                pane.set_run_settings(settings)

        self.push_screen(screen, chosen)
        self._models_worker(screen)

    @work(group="models", exclusive=True)
    async def _models_worker(self, screen: RunSettingsScreen) -> None:
        """The server's models for the form, asked once per profile in a session (a server
        without /models once too: its client remembers; a failure is asked again)."""
        name = self.profile.name
        found = self._models.get(name)
        if found is None:
            try:
                async with asyncio.timeout(MODELS_WAIT):
                    found = (await self.client.list_models(), "")
                self._models[name] = found
            except TimeoutError:
                found = ([], "the server did not answer in time")
            except ApiError as error:
                found = ([], one_line(str(error), 120))
        if screen.is_attached:
            screen.set_models(*found)

    def action_answer(self) -> None:
        if self.current is not None and self._ensure_server(self.current):
            self._prompt_pending(self.current, quiet=False)

    def _prompt_pending(self, key: Key, *, quiet: bool) -> None:
        """Open the prompt for the first unanswered approval request or function call."""
        pending = pending_requests(self.index, key[0], key[1])
        if not pending:
            if not quiet:
                self.notify("Nothing to answer here.", timeout=3)
            return
        item = pending[0]
        if item.get("type") == "mcp_approval_request":

            def approved(answer: bool | None) -> None:
                if answer is not None:
                    self._send_followup(
                        key,
                        approval_items(str(item.get("id")), answer),
                        "approval",
                        f"{'approved' if answer else 'denied'} {item.get('name', 'tool')}",
                    )

            self.push_screen(ApprovalScreen(item), approved)
        else:

            def answered(output: str | None) -> None:
                if output is not None:
                    self._send_followup(
                        key,
                        function_output_items(str(item.get("call_id")), output),
                        "function output",
                        f"[{item.get('name', 'function')} returned] {output}",
                    )

            self.push_screen(FunctionOutputScreen(item), answered)

    def _send_followup(
        self, key: Key, input_items: list[dict[str, Any]], kind: str, shown: str
    ) -> None:
        plan = plan_followup(
            self.index,
            self.server,
            key[1],
            input_items,
            default_model=self.default_model,
            kind=kind,
        )
        self.conversation.start_send(plan, shown, keep_text=True)

    # ------------------------------------------------------------ history

    def action_import_ids(self) -> None:
        def chosen(ids: list[str] | None) -> None:
            if ids:
                self._import_worker(ids)

        # A unique prefix of an indexed id (as the tree shows it) is that id.
        self.push_screen(ImportScreen(partial(self.index.resolve, server=self.server)), chosen)

    @work(group="history", exclusive=True)
    async def _import_worker(self, ids: list[str]) -> None:
        busy = ProgressScreen(
            f"Importing {len(ids)} response{'s' if len(ids) != 1 else ''}…",
            status=True,
            group="history",
        )
        await self.push_screen(busy)
        lines, last = [], None
        for rid in ids:

            def progress(done: int, current: str, rid: str = rid) -> None:
                busy.report(done, None, f"{rid}: {done} fetched, now {current}")

            try:
                result = await import_chain(
                    self.client,
                    self.index,
                    server=self.server,
                    profile=self.profile.name,
                    response_id=rid,
                    progress=progress,
                )
            except NotFoundError:
                lines.append(f"{rid}: not found on the server")
                continue
            except asyncio.CancelledError:  # esc: show what was imported before it
                self._after_history_change(last)
                raise
            except ApiError as error:
                lines.append(f"{rid}: {error}")
                continue
            last = (self.server, rid)
            lines.append(describe_import(result))
        busy.dismiss()
        self._after_history_change(last)
        severity = "information" if last is not None else "error"
        self.notify("\n".join(lines), title="Import", severity=severity, timeout=8, markup=False)

    def _after_history_change(self, focus: Key | None = None) -> None:
        self.fulltext.bulk_changed()
        self.forest_view.rebuild()
        target = focus or self.current or self._latest_key()
        if target is not None and self.index.get(*target) is not None:
            self.forest_view.reveal(target)
            self.current = target
            self.call_later(self.show_path, target)

    def action_sync(self) -> None:
        self._sync_worker()

    @work(group="history", exclusive=True)
    async def _sync_worker(self) -> None:
        busy = ProgressScreen(f"Syncing with {self.profile.name}…", status=True, group="history")
        await self.push_screen(busy)

        def progress(done: int, total: int | None) -> None:
            busy.report(done, total, f"{done} of {total}" if total else f"{done} listed")

        try:
            report = await sync(
                self.client,
                self.index,
                server=self.server,
                profile=self.profile.name,
                progress=progress,
            )
        except ApiError as error:
            busy.dismiss()
            self.notify(str(error), title="Sync failed", severity="error", timeout=10, markup=False)
            return
        except asyncio.CancelledError:  # esc: show what the sync did before it
            self._after_history_change()
            raise
        busy.dismiss()
        self._after_history_change()
        if report.listed:
            summary = f"{len(report.new)} new from the server's list"
        else:
            summary = f"re-checked {report.checked} (the server cannot list)"
        if report.missing:
            summary += f"; {len(report.missing)} gone on the server, marked missing"
        if report.restored:
            summary += f"; {len(report.restored)} back"
        if report.unlisted_found:
            summary += f"; {len(report.unlisted_found)} not listed but still there"
        if report.failed:
            summary += f"; {len(report.failed)} could not be checked"
        for warning in report.warnings:
            summary += f"; {warning}"
        self.notify(summary, title="Sync", timeout=8, markup=False)

    def action_export(self) -> None:
        if self.current is None:
            return
        key = self.current

        def chosen(choice: dict[str, Any] | None) -> None:
            if choice is not None:
                self._export(key, choice)

        folder = config.last_export_dir(state_file(self.env)) or default_export_dir()
        self.push_screen(ExportScreen(key[1], folder), chosen)

    def _export(self, key: Key, choice: dict[str, Any]) -> None:
        try:
            scope, fmt = choice["scope"], choice["format"]
            text = render_export(self.index, key[0], key[1], scope=scope, fmt=fmt)
            write_private_file(choice["path"], text.encode("utf-8"))
        except OSError as error:
            self.notify(f"Export failed: {error}", severity="error", markup=False)
            return
        config.remember_export_dir(state_file(self.env), Path(choice["path"]).parent)
        self.notify(f"Exported to {choice['path']}", timeout=6, markup=False)

    # ------------------------------------------------------------ several servers

    def action_switch_profile(self) -> None:
        rows = []
        for name, profile in self.session.profiles().items():
            if profile.local:
                rows.append((name, "offline backend (no key)", True))
                continue
            has_key = not profile.api_key_env or bool(self.env.get(profile.api_key_env))
            state = "" if has_key else f" · ${profile.api_key_env} not set"
            rows.append((name, f"{profile.base_url}{state}", has_key))

        def chosen(name: str | None) -> None:
            if name:
                self.switch_profile(name)

        self.push_screen(ProfileScreen(rows, self.profile.name), chosen)

    def switch_profile(self, name: str) -> bool:
        """Talk to another server; the place in each server is remembered."""
        if self.streaming:
            self.notify("Wait for the reply to finish first.", severity="warning")
            return False
        self.session.remember(self.current)
        try:
            old = self.session.switch(name)
        except SessionError as error:
            self.notify(str(error), title="Cannot switch", severity="error", markup=False)
            return False
        self.call_later(old.aclose)
        self.forest_view.server = self.server
        self.forest_view.server_names = self.session.server_names()
        self._set_title()
        self.forest_view.rebuild()
        target = self.session.place() or self._latest_key()
        self.current = target
        conversation = self.conversation
        if target is not None:
            conversation.mode = "reply"
            self.forest_view.reveal(target)
            self.call_later(self.show_path, target)
        else:  # nothing here yet: ready to start a conversation, as on a first run
            conversation.mode = "new"
            self.call_later(conversation.welcome)
            self.composer.input.focus()
        conversation.update_target()
        self.notify(f"Now on {name} ({self.server})", timeout=3, markup=False)
        return True

    def action_toggle_servers(self) -> None:
        view = self.forest_view
        view.all_servers = not view.all_servers
        view.server_names = self.session.server_names()
        view.rebuild()
        if self.current is not None:
            view.reveal(self.current)
        self.notify(
            "Showing every server in the index" if view.all_servers else "Showing this server only",
            timeout=3,
        )

    def _ensure_server(self, key: Key | None) -> bool:
        """Writing to a response of another server needs that server's profile: switch to it
        when there is one, else say what to do."""
        if key is None or key[0] == self.server:
            return True
        name = self.session.profile_for(key[0])
        if name is not None:
            self.session.places[key[0]] = key
            return self.switch_profile(name)
        self.notify(
            f"{key[1]} lives on {key[0]}, which no profile points at: add one with "
            f"`responses-tui profiles add NAME --base-url {key[0]}`",
            severity="error",
            timeout=10,
            markup=False,
        )
        return False

    def notify(self, message: str, *, title: str = "", **kwargs: Any) -> None:
        """Every notification goes through the neutraliser: error texts quote servers, and a
        server's words must never reach the terminal as a control sequence (Rich strips only
        a few control codes, not ESC)."""
        super().notify(
            sanitize(message, multiline=True), title=sanitize(title, multiline=False), **kwargs
        )

    async def action_quit(self, where: str = "") -> None:
        """q on the forest (`where` is "forest"), ctrl+q anywhere."""
        self.exit()

    def action_help(self, where: str = "") -> None:
        """? on the forest (`where` is "forest"), f1 anywhere."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    # ------------------------------------------------------------ filter and search

    def action_filter(self) -> None:
        self.forest_pane.open_filter()

    @on(FullTextWanted)
    def _ensure_search_index(self) -> None:
        """Start building the full-text index unless it is ready or being built."""
        if self.fulltext.wants_build():
            self._build_search()

    @work(group="search-build", exclusive=True)
    async def _build_search(self) -> None:
        """Build the full-text index cooperatively (the event loop stays responsive)."""
        await self.fulltext.build()
        self.forest_pane.refilter()

    def _search_changed(self, key: Key) -> None:
        """Keep the full-text index current after a turn was added, changed or removed."""
        self.fulltext.changed(key)

    def action_search(self) -> None:
        self._search_worker()

    @work(group="search", exclusive=True)
    async def _search_worker(self) -> None:
        self._ensure_search_index()  # the dialog opens at once and says how far it got
        fulltext = self.fulltext
        screen = SearchScreen(fulltext.current, lambda: fulltext.progress)
        key = await self.push_screen_wait(screen)
        if key is not None:
            self.forest_pane.goto(key, focus=True)

    # ------------------------------------------------------------ names

    def action_rename(self) -> None:
        """Give the highlighted turn's conversation a title (empty: its first input again)."""
        if self.current is None:
            return
        root = self.index.forest(self.current[0]).conversation_root(self.current)
        summary = self.index.get(*root)
        said = summary.input_preview if summary is not None else ""

        def chosen(title: str | None) -> None:
            if title is None or self.index.get(*root) is None:
                return
            self.index.set_title(*root, title)
            self.forest_view.refresh_label(root)
            self.call_later(self.show_path, self.current)

        screen = NameScreen(
            "Rename the conversation",
            "Shown in the forest, the transcript, `list` and exports. Empty: its first input.",
            value=self.index.title(*root) or "",
            placeholder=one_line(said, 60),
        )
        self.push_screen(screen, chosen)

    def action_bookmark(self) -> None:
        """Bookmark the highlighted turn (asking for an optional word), or take it off."""
        key = self.current
        if key is None:
            return
        if self.index.label(*key) is not None:
            self.index.set_label(*key, None)
            self.forest_view.refresh_label(key)
            self.notify("Bookmark removed", timeout=3)
            return

        def chosen(word: str | None) -> None:
            if word is None or self.index.get(*key) is None:
                return
            self.index.set_label(*key, word)
            self.forest_view.refresh_label(key)
            self.notify(f"Bookmarked{': ' + word.strip() if word.strip() else ''}", timeout=3)

        screen = NameScreen(
            "Bookmark this turn",
            "A word to find it by, or nothing for a plain bookmark. ' lists them.",
            placeholder="(optional)",
        )
        self.push_screen(screen, chosen)

    def action_labels(self) -> None:
        rows = []
        for key, label in self.index.labels(None if self.forest_view.all_servers else self.server):
            summary = self.index.get(*key)
            said = (summary.input_preview or summary.output_preview) if summary else ""
            rows.append((key, label, said))

        def chosen(key: Key | None) -> None:
            if key is not None:
                self.forest_pane.goto(key, focus=True)

        self.push_screen(LabelsScreen(rows), chosen)

    # ------------------------------------------------------------ compare

    def action_compare(self) -> None:
        """=: with a turn marked (+, or = on a turn without versions), compare its branch
        with this one's; else this answer with its other versions; else mark this turn."""
        key = self.current
        if key is None:
            return
        mark = self.compare_mark
        if mark is not None and self.index.get(*mark) is None:
            mark = self.compare_mark = None  # deleted since
        if mark == key:
            self.action_compare_mark()
        elif mark is not None:
            self.compare_mark = None
            self.withdraw_notes(COMPARE_NOTE)  # "marked... press =": done, not over the view
            self.push_screen(CompareScreen(self.index, mark, [key], branches=True))
        elif others := other_siblings(self.index.forest(key[0]), key):
            self.push_screen(CompareScreen(self.index, key, others))
        else:
            self._mark_for_compare(key, alone=True)

    def action_compare_mark(self) -> None:
        """+: mark this turn as the first of a branch comparison (again: unmark it)."""
        key = self.current
        if key is None:
            return
        if self.compare_mark == key:
            self.compare_mark = None
            self.notify("Comparison mark cleared.", timeout=3)
            return
        self._mark_for_compare(key, alone=False)

    def _mark_for_compare(self, key: Key, *, alone: bool) -> None:
        self.compare_mark = key
        compare, mark = key_of("compare", self.keymap), key_of("compare_mark", self.keymap)
        said = f"{short_id(key[1])} has no other version: marked" if alone else "Marked"
        if not alone:
            said += f" {short_id(key[1])}"
        self.notify(
            f"{said} for a branch comparison. Go to another turn and press {compare} to "
            f"compare the two branches ({mark} on this turn unmarks it).",
            title=COMPARE_NOTE,
            timeout=12,
            markup=False,
        )

    def withdraw_notes(self, title: str) -> None:
        """Take back the notifications titled `title` still on screen (what they advised is
        done). Textual has no public call for one notification; its version is pinned."""
        for note in [n for n in self._notifications if n.title == title]:
            self._unnotify(note, refresh=False)
        self._refresh_notifications()

    # ------------------------------------------------------------ copy

    def copy_text(self, text: str, what: str) -> None:
        self.copy_to_clipboard(text)  # OSC 52: works over SSH
        try:
            import pyperclip

            pyperclip.copy(text)
        except Exception:  # no native clipboard here: OSC 52 is the way
            pass
        self.notify(f"Copied {what}", timeout=3)

    def action_copy_answer(self) -> None:
        if self.current is None:
            return
        response = self.index.load_body(*self.current)["response"]
        text = items.response_text(response)
        if not text:
            self.notify("This response has no answer text.", severity="warning")
            return
        blocks = code_blocks(text)
        if not blocks:
            self.copy_text(text, f"the answer ({len(text)} characters)")
            return

        def chosen(picked: str | None) -> None:
            if picked is None:
                return
            if picked is text:
                self.copy_text(text, f"the answer ({len(text)} characters)")
            else:
                lines = picked.count("\n") + 1
                self.copy_text(picked, f"the code block ({lines} line{'s' if lines != 1 else ''})")

        self.push_screen(CopyPicker(text, blocks), chosen)

    def action_toggle_enter_sends(self) -> None:
        """Enter sends, or adds a line (ctrl+s sends): switched, and kept in config.toml."""
        enter_sends = not self.settings.enter_sends
        self.settings.enter_sends = enter_sends
        self.conversation.composer.set_enter_sends(enter_sends)
        problem = config.save_enter_sends(config_file(self.env), enter_sends)
        said = (
            "enter sends; shift+enter or ctrl+j adds a line"
            if enter_sends
            else "enter adds a line; ctrl+s (or shift+enter, ctrl+j) sends"
        )
        if problem:
            self.notify(f"{said} (this session only: {problem})", severity="warning")
        else:
            self.notify(f"{said.capitalize()}.", timeout=4)

    def action_copy_id(self) -> None:
        if self.current is not None:
            self.copy_text(self.current[1], f"id {self.current[1]}")

    def action_copy_path(self) -> None:
        if self.current is None:
            return
        markdown = export_markdown(self.index, self.current[0], self.current[1])
        turns = len(self.index.forest(self.current[0]).path_to_root(self.current))
        self.copy_text(markdown, f"the path as Markdown ({turns} turns)")

    # ------------------------------------------------------------ delete

    def action_delete(self) -> None:
        self._ask_delete(subtree=False)

    def action_delete_subtree(self) -> None:
        self._ask_delete(subtree=True)

    def action_delete_conversation(self) -> None:
        self._ask_delete(subtree=True, conversation=True)

    def _ask_delete(self, *, subtree: bool, conversation: bool = False) -> None:
        if self.current is None or not self._ensure_server(self.current):
            return
        if self.streaming:
            self.notify("Wait for the reply to finish (or esc to cancel it).", severity="warning")
            return
        forest = self.index.forest(self.server)
        key = forest.conversation_root(self.current) if conversation else self.current
        ids = subtree_ids(self.index, self.server, key[1]) if subtree else [key[1]]
        kept = 0 if subtree else len(forest.descendants(key))
        where = "the offline backend" if self.profile.local else self.server
        node = self.index.get(*key)
        said = (node.input_preview or node.output_preview) if node is not None else ""
        plan = DeletePlan(len(ids), where, key[1], kept, subtree, conversation, said)

        def chosen(choice: str | None) -> None:
            if choice:
                self._delete_worker(ids, local_only=choice == "local", anchor=key)

        self.push_screen(DeleteScreen(plan), chosen)

    @work(group="delete", exclusive=True)
    async def _delete_worker(self, ids: list[str], *, local_only: bool, anchor: Key) -> None:
        forest = self.index.forest(self.server)
        parent = forest.parent(anchor)
        progress: ProgressScreen | None = None
        if len(ids) > 1:
            progress = ProgressScreen(f"Deleting {len(ids)} responses…", len(ids), group="delete")
            await self.push_screen(progress)

        def advance(done: int, _total: int) -> None:
            if progress is not None:
                progress.advance(done)

        try:
            report = await delete_responses(
                None if local_only else self.client,
                self.index,
                server=self.server,
                ids=ids,
                local_only=local_only,
                progress=advance,
            )
        except asyncio.CancelledError:  # esc: show the index as the deleter left it
            self._after_history_change(anchor if self.index.get(*anchor) else parent)
            raise
        if progress is not None:
            progress.dismiss()
        for rid in ids:
            self._search_changed((self.server, rid))
        self.forest_view.drop_subtree(anchor, parent)
        target = anchor if self.index.get(*anchor) is not None else parent
        if target is None:
            target = self._latest_key()
        # Set it here: when the cursor lands on the same line, the tree reports no new
        # highlight, and the app must still know what is selected.
        self.current = target
        if target is not None:
            self.forest_view.reveal(target)
            await self.show_path(target)
        else:
            await self.conversation.welcome()
        verb = "Forgot" if local_only else "Deleted"
        message = f"{verb} {len(report.deleted)} of {len(ids)}"
        if report.already_gone:
            gone = len(report.already_gone)
            message += f" ({gone} {'was' if gone == 1 else 'were'} already gone)"
        if report.tombstoned:
            message += f"; {len(report.tombstoned)} kept, marked deleted (later turns remain)"
        if report.failed:
            first = next(iter(report.failed.values()))
            self.notify(
                f"{message}. {len(report.failed)} failed and stay in the tree: {first}",
                severity="error",
                timeout=12,
                markup=False,
            )
        else:
            self.notify(message, timeout=5)

    async def on_unmount(self) -> None:
        await self.client.aclose()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.collector.activity()  # no full collection while the user is at it
        await super().on_event(event)

    def _on_key(self, event: events.Key) -> None:
        """A key reaches the App after the focused widget and its parents passed on it, and
        here its binding runs. A printable key that arrives while a text box has the focus
        did not come from that box (it would have typed it): it was on its way to the graph
        when the key before it (/, enter, n, e) moved the focus to the box. It is the box's:
        typed ahead over a slow link, "/lisbon" filters and "enter, do it" replies, instead
        of importing (i) or deleting (d). Not with a dialog in front: its keys are its own."""
        focused = self.focused
        if (
            event.is_printable
            and isinstance(focused, Input | ComposerInput)
            and self.screen is self.screen_stack[0]
        ):
            event.prevent_default()  # not App._on_key: no binding runs for it here
            focused.post_message(events.Key(event.key, event.character))
        # Otherwise Textual goes on to App._on_key (every class's handler runs, in order).

    # ------------------------------------------------------------ unexpected errors
    #
    # An exception no one planned for (a full disk mid-send, a recursion limit, a bug) in a
    # worker or in a handler of the app ends here: one redacted line on screen, and the app goes
    # on. What still stops the app (a widget's own handler failed, so its message loop is gone;
    # a failure while starting) prints one redacted line, never Textual's traceback with local
    # variables (they hold the key and the resolved tool headers), and exits with status 1.

    async def _dispatch_message(self, message: Message) -> None:
        if not self._guarded:  # starting: a failure here is a crash
            await super()._dispatch_message(message)
            self._guarded = isinstance(message, events.Mount)
            return
        try:
            await super()._dispatch_message(message)
        except Exception as error:
            if not self._running or self._exit:
                raise
            self._report_unexpected(error)

    def _handle_exception(self, error: Exception) -> None:
        """Textual's last stop for an exception: from a worker, or from a handler or timer
        run by the app's own message loop (which goes on), it is reported; else a crash."""
        survivable = isinstance(error, WorkerFailed) or active_message_pump.get(None) is self
        if survivable and self._guarded and self._running and not self._exit:
            try:
                self._report_unexpected(error)
                return
            except Exception:
                pass
        self._return_code = 1
        if self._exception is None:  # what `run_test` raises again, for the tests
            self._exception = error
            self._exception_event.set()
        self._crash_lines.append(
            f"responses-tui: error: {self._describe_unexpected(error)} (the app stopped)"
        )
        self._close_messages_no_wait()

    def _fatal_error(self) -> None:
        """Textual's crash report is a traceback with local variables: never that."""
        self._handle_exception(RuntimeError("the app stopped on an unexpected error"))

    def _print_error_renderables(self) -> None:
        for line in self._crash_lines:
            self.error_console.print(Text(line), soft_wrap=True)  # one line, however long
        self._crash_lines.clear()
        super()._print_error_renderables()

    def _report_unexpected(self, error: BaseException) -> None:
        if isinstance(error, WorkerFailed):
            error = error.error
        self.unexpected_errors.append(error)
        self.notify(
            self._describe_unexpected(error),
            title="Unexpected error",
            severity="error",
            timeout=12,
            markup=False,
        )

    def _describe_unexpected(self, error: BaseException) -> str:
        """`Type: message` on one line, every secret we know of taken out before it is cut."""
        if isinstance(error, WorkerFailed):
            error = error.error
        try:
            said = str(error)
        except Exception:
            said = ""
        said = redact(said, self._known_secrets())
        name = type(error).__name__
        return one_line(f"{name}: {said}" if said.strip() else name, 300)

    def _known_secrets(self) -> list[str]:
        """The client's (key, header values, tool secrets sent so far), every profile's, and
        the values of the variables the tool presets reference."""
        found: list[str] = []
        try:
            found += self.client.secrets()
            for profile in self.session.profiles().values():
                found += profile.secrets(self.env)
            for doc in self.index.presets():
                found += [self.env[var] for var in env_refs(doc) if self.env.get(var)]
        except Exception:
            pass
        return found
