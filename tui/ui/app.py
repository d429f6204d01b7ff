"""The browser: forest on the left, transcript and composer on the right."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual._context import active_message_pump
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, Header, Input
from textual.worker import WorkerFailed, get_current_worker

from tui import config
from tui.api import items
from tui.api.client import ResponsesClient
from tui.api.errors import ApiError, NotFoundError, PreviousResponseNotFound, redact
from tui.api.events import ResponseEvent, StreamEvent, TextDelta
from tui.api.profiles import Profile
from tui.gcpause import FREEZE_ABOVE, freeze_long_lived, freeze_once, tune_for_interaction
from tui.local.server import OfflineBackend
from tui.ops.conversation import (
    CannotSend,
    TurnPlan,
    approval_items,
    failure_message,
    function_output_items,
    pending_requests,
    plan_followup,
    plan_sibling,
    plan_turn,
    record_provisional,
    replay_plan,
    send_turn,
    settings_of,
)
from tui.ops.deleter import delete_responses, subtree_ids
from tui.ops.export import export_markdown
from tui.ops.importer import describe_import, import_chain
from tui.ops.sync import sync
from tui.paths import config_file
from tui.search import SearchIndex
from tui.session import Session, SessionError
from tui.store.atomic import write_private_file
from tui.store.index import Index
from tui.text import one_line, sanitize
from tui.tools import Preset, env_refs, tool_label
from tui.ui.commands import ActionCommands
from tui.ui.composer import Composer, ComposerInput
from tui.ui.forest_graph import ForestGraph, Snapshot
from tui.ui.graph_view import GraphView
from tui.ui.history_screens import (
    ExportScreen,
    ImportScreen,
    ProfileScreen,
    SearchScreen,
)
from tui.ui.keys import NEEDS_NODE, TREE_ACTIONS, bindings, remappable_ids
from tui.ui.labels import short_id
from tui.ui.name_screens import LabelsScreen, NameScreen
from tui.ui.screens import DeletePlan, DeleteScreen, HelpScreen, ProgressScreen
from tui.ui.tools_screen import ApprovalScreen, FunctionOutputScreen, ToolPicker, ToolsScreen
from tui.ui.transcript import SHOWN_TURNS, Transcript

Key = tuple[str, str]


class ResponsesApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "responses-tui"
    COMMANDS: ClassVar = App.COMMANDS | {ActionCommands}
    # Every key is declared once, in tui/ui/keys.py: here the single keys that act on the
    # highlighted turn (not while typing, see check_action) and the keys that work anywhere.
    BINDINGS: ClassVar = bindings("tree", "app")

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
        self.debounce = debounce
        self.current: Key | None = None
        self.mode = "reply"  # reply | new | edit
        self.edit_target: Key | None = None
        self.next_tools: list[dict[str, Any]] | None = None  # None: inherit from the parent
        self.env = self.session.env
        # config.toml: the user's keys (applied on mount; problems are shown then).
        self.settings = config.load(config_file(self.env), remappable_ids())
        self.keymap = self.settings.keymap
        self.streaming = False
        self._searcher_stale = True
        self._search_ready = False
        self._building: SearchIndex | None = None
        self._search_generation = 0  # bumped by imports and syncs
        self._search_progress: tuple[int, int] | None = None  # (done, total) while building
        self.searcher = SearchIndex(index)
        self._filter_timer: Any = None
        self._before_filter: Snapshot | None = None  # the view to restore when it clears
        self._filter_query = ""  # the filter being shown or computed
        self._gc_settled = False
        self.live_key: Key | None = None
        self._refresh_timer: Any = None
        self.forest_view = ForestGraph(index, self.server, clock, id="forest")
        self.transcript = Transcript(id="transcript")
        self.composer = Composer(id="composer")
        self.filter_input = Input(placeholder="filter: text, id, model", id="filter")
        self.unexpected_errors: list[BaseException] = []  # reported and survived
        self._guarded = False  # the app's handlers are guarded once it has mounted
        self._crash_lines: list[str] = []

    @property
    def profile(self) -> Profile:
        return self.session.profile

    @property
    def server(self) -> str:
        return self.session.server

    @property
    def client(self) -> ResponsesClient:
        return self.session.client

    @client.setter
    def client(self, client: ResponsesClient) -> None:
        self.session.client = client

    @property
    def backend(self) -> OfflineBackend | None:
        return self.session.backend

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="⑂")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield self.filter_input
                yield self.forest_view
            with Vertical(id="right"):
                yield self.transcript
                yield self.composer
        yield Footer()

    def on_mount(self) -> None:
        tune_for_interaction()
        self._set_title()
        if self.keymap:
            self.set_keymap(self.keymap)
        for problem in self.settings.problems:
            self.notify(problem, severity="warning")
        self.filter_input.display = False
        self.forest_view.rebuild()
        latest = self._latest_key()
        if latest is None:
            self.mode = "new"
            self.call_after_refresh(self._welcome)
            self.composer.input.focus()
        else:
            self.current = latest  # usable before the tree has drawn its cursor
            self.forest_view.reveal(latest)
            self.forest_view.focus()
        self._update_target()

    def _set_title(self) -> None:
        where = "offline backend (no model, no network)" if self.profile.local else self.server
        self.sub_title = f"{self.profile.name} · {where} · {self.default_model}"

    async def _welcome(self) -> None:
        if self.streaming or self.live_key is not None or self._latest_key() is not None:
            return  # scheduled at start, it came after a first message: that one stays shown
        text = Text()
        text.append("No conversations yet.\n\n", style="bold")
        text.append("Type a message below and press ctrl+s to start one. ")
        text.append(
            "Every reply becomes a node in the tree on the left; reply to any node to fork "
            "the conversation there. Press F1 (or ? outside the composer) for all keys.\n"
        )
        if self.profile.local:
            text.append(
                "\nThis is the built-in offline backend: replies are generated without a "
                "model. Set FIREWORKS_API_KEY (or use --profile) to talk to a real one.",
                style="dim",
            )
        await self.transcript.show_message(text)
        self._first_screen_shown()

    def _latest_key(self) -> Key | None:
        latest = self.index.latest(self.server)
        return latest.key if latest is not None else None

    @property
    def default_model(self) -> str:
        return self.profile.default_model or "?"

    # ------------------------------------------------------------ cursor → transcript

    @on(GraphView.Highlighted, "#forest")
    def _highlighted(self, event: GraphView.Highlighted) -> None:
        key = event.key
        self.current = key
        if self._refresh_timer is not None:  # a redraw for a line the cursor already left
            self._refresh_timer.stop()
            self._refresh_timer = None
        if self.live_key is not None and key == self.live_key and self.streaming:
            self._update_target()  # the live turn is on screen: keep it, do not redraw
            return
        if self.debounce <= 0:
            self.call_later(self._show_current)
        else:
            # Holding an arrow key fires this on every line: redraw only when the cursor rests.
            self._refresh_timer = self.set_timer(self.debounce, self._show_current)

    @on(GraphView.Selected, "#forest")
    def _selected(self, event: GraphView.Selected) -> None:
        self.action_reply()

    async def _show_current(self) -> None:
        self._refresh_timer = None
        self._update_target()
        if self.streaming:
            # The transcript stays on the reply that is streaming in (the tree may still be
            # browsed); it follows the cursor again when the reply ends.
            return
        await self.show_path(self.current)

    async def show_path(self, key: Key | None) -> None:
        if key is None or self.index.get(*key) is None:
            if self.index.latest(self.server) is None:
                await self._welcome()
            return
        forest = self.index.forest(key[0])
        path = forest.path_to_root(key)
        shown_from = len(path) - SHOWN_TURNS  # older ones are only counted: no body needed
        turns = []
        for n, k in enumerate(path):
            summary = self.index.get(*k)
            if summary is None:
                continue
            body = self.index.load_body(*k) if n >= shown_from else {}
            turns.append((summary, body, forest.is_orphan(k)))
        below = self._below_note(key)
        places = {}
        for k in path[1:]:  # a conversation's first turn has no versions, only neighbours
            siblings = forest.siblings(k)
            if len(siblings) > 1:
                places[k] = (siblings.index(k) + 1, len(siblings))
        title = self.index.title(*path[0])
        await self.transcript.show(
            turns, now=self.clock(), current=key, below=below, places=places, title=title
        )
        self._first_screen_shown()

    def _first_screen_shown(self) -> None:
        """Once the first screen is up, everything built so far lives as long as the app:
        take it out of the garbage collector's full passes (see tui.gcpause)."""
        if not self._gc_settled:
            self._gc_settled = True
            self.call_after_refresh(freeze_once)

    def _below_note(self, key: Key) -> str:
        """What continues below the shown turn: the turns after it in its run (not the whole
        run), and the fork the run ends in, if any."""
        forest = self.index.forest(key[0])
        children = forest.children(key)
        if len(children) > 1:
            return f"⑂ {len(children)} branches continue from here"
        if not children:
            return ""
        run = forest.segment_of(key).keys
        more = len(run) - 1 - run.index(key)
        note = f"↓ continues for {more} more turn{'s' if more != 1 else ''} in this branch"
        forks = len(forest.children(run[-1]))
        return note + (f", then ⑂ {forks} branches" if forks > 1 else "")

    # ------------------------------------------------------------ composer target

    def _update_target(self) -> None:
        text = Text()
        parent = self._reply_parent()
        if self.mode == "edit" and self.edit_target is not None:
            text.append("✎ editing ", style="bold yellow")
            text.append(short_id(self.edit_target[1]), style="bold")
            text.append(" → new sibling branch")
        elif parent is None:
            text.append("✚ new conversation", style="bold green")
        else:
            forest = self.index.forest(parent[0])
            forks = len(forest.children(parent)) if parent in forest else 0
            text.append("↳ reply to ", style="bold")
            text.append(short_id(parent[1]), style="bold cyan")
            if forks:
                text.append(" · new branch", style="yellow")
            _anchor, replay = replay_plan(self.index, parent[0], parent[1])
            if replay:
                text.append(
                    f" · replays {len(replay)} turn{'s' if len(replay) != 1 else ''} as input "
                    "(the server cannot continue it)",
                    style="bold yellow",
                )
        model, tools = self._next_settings()
        text.append(f"  ·  {one_line(model, 40)}", style="dim")
        labels = ", ".join(tool_label(t) for t in tools) if tools else "none"
        changed = " (changed)" if self.next_tools is not None else ""
        text.append(f"  ·  tools: {one_line(labels, 60)}{changed}", style="dim")
        self.composer.set_target(text)

    def _reply_parent(self) -> Key | None:
        if self.mode == "new":
            return None
        return self.current

    def _next_settings(self) -> tuple[str, list[dict[str, Any]]]:
        """The model and tools the next message will be sent with."""
        source = self.edit_target if self.mode == "edit" else self._reply_parent()
        inherited = settings_of(self.index, source[0], source[1]) if source is not None else {}
        tools = self.next_tools if self.next_tools is not None else inherited.get("tools") or []
        return str(inherited.get("model") or self.default_model), list(tools)

    # ------------------------------------------------------------ actions: writing

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        focused = self.focused
        in_text = isinstance(focused, ComposerInput | Input)
        in_front = self.screen is not self.screen_stack[0]
        if action in TREE_ACTIONS and (in_text or in_front):
            return False  # typing, or another screen (tools, a dialog) is in front
        if action in ("search", "switch_profile", "toggle_servers") and in_front:
            return False
        if action in NEEDS_NODE and self.current is None:
            return None
        if action == "cancel_stream":
            return bool(self.streaming) or (self._filtering() and not in_text)
        return True

    def action_reply(self) -> None:
        if not self._ensure_server(self.current):
            return
        self.mode = "reply"
        self.edit_target = None
        self._update_target()
        self.composer.input.focus()

    def action_new_conversation(self) -> None:
        self.mode = "new"
        self.edit_target = None
        self._update_target()
        self.composer.input.focus()

    def action_edit(self) -> None:
        if self.current is None or not self._ensure_server(self.current):
            return
        body = self.index.load_body(*self.current)
        recorded = body.get("input")
        self.mode = "edit"
        self.edit_target = self.current
        self.composer.set_text(items.input_text(recorded) if recorded is not None else "")
        self._update_target()
        self.composer.input.focus()

    def action_regenerate(self) -> None:
        if self.current is None or not self._ensure_server(self.current):
            return
        try:
            plan = plan_sibling(
                self.index,
                self.server,
                self.current[1],
                text=None,
                default_model=self.default_model,
            )
        except CannotSend as error:
            self.notify(str(error), severity="error", title="Cannot regenerate")
            return
        self._start_send(plan, items.input_text(plan.input_items), keep_text=True)

    @on(ComposerInput.Submitted)
    def _submitted(self, event: ComposerInput.Submitted) -> None:
        text = event.text
        try:
            if self.mode == "edit" and self.edit_target is not None:
                plan = plan_sibling(
                    self.index,
                    self.server,
                    self.edit_target[1],
                    text=text,
                    default_model=self.default_model,
                    tools=self.next_tools,
                )
            else:
                parent = self._reply_parent()
                plan = plan_turn(
                    self.index,
                    self.server,
                    text=text,
                    parent=parent[1] if parent else None,
                    default_model=self.default_model,
                    tools=self.next_tools,
                )
        except CannotSend as error:
            self.notify(str(error), severity="warning")
            return
        self._start_send(plan, text, keep_text=False)

    @on(ComposerInput.Leave)
    def _leave_composer(self) -> None:
        if self.streaming:
            self.action_cancel_stream()
            return
        if self.mode == "edit":
            self.mode = "reply"
            self.edit_target = None
            self.composer.set_text("")
            self._update_target()
        self.forest_view.focus()

    def _start_send(self, plan: TurnPlan, text: str, *, keep_text: bool) -> None:
        if self.streaming:
            self.notify("A reply is still streaming: esc cancels it.", severity="warning")
            return
        self.streaming = True
        self.refresh_bindings()
        self.composer.input.read_only = True
        self._send_worker(plan, text, keep_text)

    @work(group="send", exclusive=True)
    async def _send_worker(self, plan: TurnPlan, text: str, keep_text: bool) -> None:
        if plan.parent:
            await self.show_path((self.server, plan.parent))
        else:
            await self.transcript.show([], now=self.clock(), current=None)
        target = f"{plan.kind} · {plan.model}"
        await self.transcript.start_live(text, target)
        created = False

        async def on_event(event: StreamEvent, _acc: Any) -> None:
            nonlocal created
            if isinstance(event, ResponseEvent) and event.type == "response.created":
                created = True
                self._on_created(plan, event.response, keep_text)
            elif isinstance(event, TextDelta):
                await self.transcript.live_delta(event.delta)

        cancelled = False
        result = None
        try:
            result = await send_turn(
                self.client,
                self.index,
                plan,
                server=self.server,
                profile=self.profile.name,
                on_event=on_event,
                env=self.env,
            )
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            self.streaming = False
            self.composer.input.read_only = False
            self.call_later(self._after_send, plan, result, cancelled, created, text, keep_text)

    def _on_created(self, plan: TurnPlan, response: dict[str, Any], keep_text: bool) -> None:
        try:
            summary = record_provisional(self.index, self.server, self.profile.name, plan, response)
        except OSError:
            return  # disk full or read-only: the final record says so, with the id
        if summary is None:
            return
        key = summary.key
        self.live_key = key
        self.forest_view.add_response(key, pending=True)
        self.forest_view.reveal(key)
        self._continue_from_new_turn(keep_text)

    def _continue_from_new_turn(self, keep_text: bool) -> None:
        """The next message continues from the reply just made, as in any chat, with the
        tools that reply was sent with (inherited from now on)."""
        if not keep_text:
            self.composer.set_text("")
        self.composer.input.read_only = False
        self.mode = "reply"
        self.edit_target = None
        self.next_tools = None

    async def _after_send(
        self,
        plan: TurnPlan,
        result: Any,
        cancelled: bool,
        created: bool,
        text: str,
        keep_text: bool,
    ) -> None:
        key = self.live_key
        self.live_key = None
        if key is None and result is not None and result.summary is not None:
            # No `response.created` came (a server that answered the stream with plain
            # JSON): the recorded turn is shown all the same.
            key = result.summary.key
            self._continue_from_new_turn(keep_text)
        if cancelled:
            await self.transcript.end_live(
                "⚠ cancelled: the partial answer is kept, marked incomplete"
            )
            self.notify("Reply cancelled; the partial answer is kept.", severity="warning")
        elif result is not None and result.error is not None:
            await self.transcript.end_live()
            message = failure_message(plan, result.error)
            if isinstance(result.error, PreviousResponseNotFound) and plan.anchor:
                self.forest_view.refresh_label((self.server, plan.anchor))
            self.notify(message, severity="error", title="Send failed", timeout=10, markup=False)
            nothing_kept = not created or result.summary is None
            if nothing_kept and not keep_text and not self.composer.text.strip():
                # Nothing was created, or nothing could be recorded: the text stays yours.
                self.composer.set_text(text)
        else:
            await self.transcript.end_live()
        if key is not None:
            self.forest_view.add_response(key)
            self.forest_view.refresh_label(key)
            self._search_changed(key)
            self.current = key
            self.forest_view.reveal(key)
            await self.show_path(key)
        elif self.current is not None:
            await self.show_path(self.current)
        self._update_target()
        if key is not None and not cancelled:
            self._prompt_pending(key, quiet=True)

    def action_cancel_stream(self) -> None:
        """esc: cancel the streaming reply; else, in the forest, clear the filter."""
        if self.streaming:
            self.workers.cancel_group(self, "send")
        elif self._filtering():
            self._clear_filter()

    # ------------------------------------------------------------ actions: navigation

    def _goto(self, key: Key | None) -> None:
        if key is not None:
            self.forest_view.reveal(key)

    def action_parent(self) -> None:
        if self.current is not None:
            self._goto(self.index.forest(self.current[0]).parent(self.current))

    def _sibling(self, step: int) -> None:
        """Flip the nearest turn on the path that has versions (siblings) to the previous or
        next one, in place: from that turn itself the cursor goes to the other version; from
        a turn below it, to the newest end of the other version's branch, so the transcript
        below follows the version shown (as a chat app's edit versions do)."""
        if self.current is None:
            return
        forest = self.index.forest(self.current[0])
        probe: Key | None = self.current
        while probe is not None:
            siblings = forest.siblings(probe)
            if len(siblings) > 1:
                if forest.parent(probe) is None:
                    siblings = list(reversed(siblings))  # roots are shown newest first
                position = siblings.index(probe) + step
                if not 0 <= position < len(siblings):
                    self.bell()
                    return
                target = siblings[position]
                if probe != self.current and forest.parent(probe) is not None:
                    while children := forest.children(target):
                        target = children[-1]  # the newest reply, down to the end
                self._goto(target)
                return
            probe = forest.parent(probe)
        self.bell()

    def action_prev_sibling(self) -> None:
        self._sibling(-1)

    def action_next_sibling(self) -> None:
        self._sibling(+1)

    def action_first(self) -> None:
        self.forest_view.action_first()

    def action_last(self) -> None:
        self.forest_view.action_last()

    # ------------------------------------------------------------ tools

    def action_tools(self) -> None:
        def closed(_result: None) -> None:
            self._update_target()

        self.push_screen(ToolsScreen(self.index), closed)

    def action_pick_tools(self) -> None:
        presets = [Preset.from_doc(doc) for doc in self.index.presets()]
        presets.sort(key=lambda p: p.name.lower())
        _, current = self._next_settings()

        def chosen(tools: list[dict[str, Any]] | None) -> None:
            if tools is not None:
                self.next_tools = tools
                self._update_target()

        self.push_screen(ToolPicker(presets, current), chosen)

    def action_pick_tools_anywhere(self) -> None:
        """ctrl+t: pick tools while typing (where T is just a letter)."""
        self.action_pick_tools()

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
        self._start_send(plan, shown, keep_text=True)

    # ------------------------------------------------------------ history

    def action_import_ids(self) -> None:
        def chosen(ids: list[str] | None) -> None:
            if ids:
                self._import_worker(ids)

        self.push_screen(ImportScreen(), chosen)

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
        self._searcher_stale = True
        self._search_generation += 1
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

        self.push_screen(ExportScreen(key[1], Path.cwd()), chosen)

    def _export(self, key: Key, choice: dict[str, Any]) -> None:
        from tui.ops import export as exporting

        render = {
            ("path", "md"): exporting.export_markdown,
            ("path", "json"): exporting.export_json,
            ("tree", "md"): exporting.export_tree_markdown,
            ("tree", "json"): exporting.export_tree_json,
        }[(choice["scope"], choice["format"])]
        try:
            text = render(self.index, key[0], key[1])
            write_private_file(choice["path"], text.encode("utf-8"))
        except OSError as error:
            self.notify(f"Export failed: {error}", severity="error", markup=False)
            return
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
        if target is not None:
            self.mode = "reply"
            self.forest_view.reveal(target)
            self.call_later(self.show_path, target)
        else:  # nothing here yet: ready to start a conversation, as on a first run
            self.mode = "new"
            self.call_later(self._welcome)
            self.composer.input.focus()
        self._update_target()
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

    async def action_quit_anywhere(self) -> None:
        self.exit()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_help_anywhere(self) -> None:
        """F1: help even while typing in the composer (where ? is just a character)."""
        self.action_help()

    # ------------------------------------------------------------ filter

    def action_filter(self) -> None:
        self.filter_input.display = True
        self.filter_input.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        if self.debounce <= 0:
            self._apply_filter(event.value)
        else:  # typing fast redraws once, when the keys pause
            self._filter_timer = self.set_timer(
                self.debounce, lambda: self._apply_filter(self.filter_input.value)
            )

    def _apply_filter(self, value: str) -> None:
        """Filter the forest: full text once the search index is built (it builds in the
        background on first use), previews, ids, models and tools until then. The matching
        runs in a thread (a scan of 100,000 responses takes 0.1-0.2 s), the tree is redrawn
        here when it is done; a result overtaken by newer typing is dropped."""
        query = value.strip().lower()
        words = query.split()
        view = self.forest_view
        self._filter_query = query
        if words and view.filter_keys is None and self._before_filter is None:
            self._before_filter = view.snapshot()  # restored, cursor included, when it clears
        if not words:
            self.workers.cancel_group(self, "filter")
            view.set_filter(None)
            view.highlight = []
            before, self._before_filter = self._before_filter, None
            if before is not None:
                view.restore(before)
            else:
                view.rebuild()
            return
        full_text = self._search_ready and not self._searcher_stale
        if not full_text:
            self._ensure_search_index()
        self._filter_worker(query, full_text, view.servers_shown())

    @work(group="filter", exclusive=True, thread=True)
    def _filter_worker(self, query: str, full_text: bool, servers: list[str]) -> None:
        words = query.split()
        keys = self.searcher.matching_keys(query) if full_text else self._preview_matches(words)
        worker = get_current_worker()
        if worker.is_cancelled:
            return
        roots = self.forest_view.filter_roots(keys, servers)
        if not worker.is_cancelled:
            self.call_from_thread(self._show_filter, query, keys, set(keys), roots)

    def _preview_matches(self, words: list[str]) -> list[Key]:
        """Newest first, the nodes whose previews, id, model or tools hold every word."""
        return [
            n.key
            for n in reversed(self.index.nodes())
            if all(
                w in n.input_preview.lower()
                or w in n.output_preview.lower()
                or w in n.id.lower()
                or w in n.model.lower()
                or any(w in t.lower() for t in n.tool_labels)
                for w in words
            )
        ]

    def _show_filter(
        self,
        query: str,
        keys: list[Key],
        key_set: set[Key] | None = None,
        roots: set[Key] | None = None,
    ) -> None:
        if query != self._filter_query:
            return  # the user typed on (or cleared the filter) meanwhile
        view = self.forest_view
        view.set_filter(keys, key_set=key_set, roots=roots)
        view.highlight = query.split()
        view.rebuild(keep_open=False)

    def _ensure_search_index(self) -> None:
        """Start building the full-text index unless it is ready or being built (starting
        again would throw away what a build running since the first keystroke has done)."""
        building = self._search_progress is not None  # set here, before the worker runs
        if not building and (not self._search_ready or self._searcher_stale):
            self._search_progress = (0, len(self.index))  # a dialog opened now says so
            self._build_search()

    @work(group="search-build", exclusive=True)
    async def _build_search(self) -> None:
        """Build the full-text index cooperatively (the event loop stays responsive)."""
        if self._search_ready and not self._searcher_stale:
            self._search_progress = None
            return
        fresh = SearchIndex(self.index)
        generation = self._search_generation
        nodes = sorted(self.index.nodes(), key=lambda n: n.shard)  # one shard at a time
        self._building = fresh  # the search dialog already searches what is built so far
        self._search_progress = (0, len(nodes))
        try:
            for n, summary in enumerate(nodes):
                fresh.update(summary.key)
                if n % 100 == 99:
                    self._search_progress = (n + 1, len(nodes))
                    await asyncio.sleep(0)
        finally:
            self._building = None
            self._search_progress = None
        self.searcher = fresh
        self._search_ready = True
        # An import or a sync that landed meanwhile is not in it: built again on next use.
        self._searcher_stale = generation != self._search_generation
        if len(fresh) > FREEZE_ABOVE:  # kept from now on: out of the collector's full passes
            freeze_long_lived()
        if self.filter_input.display and self.filter_input.value.strip():
            self._apply_filter(self.filter_input.value)

    def _search_changed(self, key: Key) -> None:
        """Keep the search index current after a response was added, changed or removed."""
        if self._search_ready:
            self.searcher.update(key)
        if self._building is not None:  # it may have read this one before it changed
            self._building.update(key)

    def action_search(self) -> None:
        self._search_worker()

    def _current_searcher(self) -> SearchIndex:
        """The index being built, while it is (a search dialog searches what is ready)."""
        return self._building if self._building is not None else self.searcher

    @work(group="search", exclusive=True)
    async def _search_worker(self) -> None:
        if not self._search_ready or self._searcher_stale:
            self._ensure_search_index()  # the dialog opens at once and says how far it got
        screen = SearchScreen(self._current_searcher, lambda: self._search_progress)
        key = await self.push_screen_wait(screen)
        if key is None:
            return
        if key not in self.index.forest(key[0]):
            return
        if key[0] != self.server and not self.forest_view.all_servers:
            self.forest_view.all_servers = True
            self.forest_view.rebuild()
        self.forest_view.reveal(key)
        self.forest_view.focus()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.forest_view.focus()
        self.forest_view.action_first()

    def on_key(self, event: Any) -> None:
        if event.key == "escape" and self.focused is self.filter_input:
            self._clear_filter()
            event.stop()

    def _filtering(self) -> bool:
        return self.forest_view.filter_keys is not None or bool(self.filter_input.value.strip())

    def _clear_filter(self) -> None:
        """Back to the view from before the filter, cursor included."""
        self.filter_input.display = False
        self.filter_input.value = ""
        self._apply_filter("")
        self.forest_view.focus()

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
            if key is not None and key in self.index.forest(key[0]):
                if key[0] != self.server and not self.forest_view.all_servers:
                    self.forest_view.all_servers = True
                    self.forest_view.rebuild()
                self._goto(key)
                self.forest_view.focus()

        self.push_screen(LabelsScreen(rows), chosen)

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
        self.copy_text(text, f"the answer ({len(text)} characters)")

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
        plan = DeletePlan(len(ids), where, key[1], kept, subtree, conversation)

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
            await self._welcome()
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
