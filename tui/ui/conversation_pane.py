"""The right pane: the transcript of the highlighted turn's path and the composer below it.

It owns what is shown (following the forest's cursor, once it rests), what the next message
replies to and carries (reply, new conversation, edit; the model and tools), and sending and
streaming, a fan-out's runs included (`fan_out`: each run streams into the transcript while
the cursor is on it; `tui.ui.fanout_runs` keeps their texts). Upward, with `tui.ui.messages`:
a reply the server created (`TurnStarted`), a send that ended (`TurnEnded`), a turn the
server no longer has (`AnchorLost`), and leaving the composer (`ComposerLeft`). The App calls
down: `follow`, `reply`, `edit`, `regenerate`, `fan_out`, ...
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical

from tui import cost, run_settings
from tui.api import items
from tui.api.accumulate import StreamAccumulator
from tui.api.errors import PreviousResponseNotFound
from tui.api.events import ResponseEvent, StreamEvent, TextDelta
from tui.gcpause import freeze_once
from tui.glyphs import FORK
from tui.ops.conversation import (
    CannotSend,
    TurnPlan,
    failure_message,
    plan_sibling,
    plan_turn,
    replay_plan,
    send_turn,
    settings_of,
)
from tui.ops.fanout import RunResult, RunSettings, run_fanout, sibling_plans
from tui.ops.usage_book import book_of
from tui.session import Session
from tui.store.index import Index
from tui.store.records import NodeSummary
from tui.text import one_line
from tui.tools import Preset, tool_names
from tui.ui.composer import Composer, ComposerInput, edit_externally, send_keys
from tui.ui.fanout_runs import FanoutRuns
from tui.ui.focus import focus_now
from tui.ui.keys import key_of
from tui.ui.labels import elsewhere_text, short_id
from tui.ui.messages import AnchorLost, ComposerLeft, TurnEnded, TurnStarted
from tui.ui.transcript import SHOWN_TURNS, Transcript, settings_note
from tui.ui.usage_view import PathUsage

Key = tuple[str, str]
BILLED_HINT_FROM = 1_000  # input tokens a reply re-reads from which the composer says so


class ConversationPane(Vertical):
    def __init__(
        self,
        index: Index,
        session: Session,
        clock: Callable[[], float],
        *,
        debounce: float,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.index = index
        self.session = session
        self.clock = clock
        self.debounce = debounce
        self.usage = book_of(index)  # each turn's usage, read once (tui/cost.py sums it)
        self.path_usage = PathUsage(self.usage, id="path-usage")
        self.transcript = Transcript(id="transcript")
        self.transcript.tool_namer = self.tool_names
        self.composer = Composer(id="composer")
        self.current: Key | None = None  # the highlighted turn: shown, and replied to
        self.mode = "reply"  # reply | new | edit
        self.edit_target: Key | None = None
        self.next_tools: list[dict[str, Any]] | None = None  # None: inherit from the parent
        # Run settings chosen for the next message (S, ctrl+o): what they change in the
        # inherited ones (None: a setting taken out); None: inherit them all.
        self.next_run: dict[str, Any] | None = None
        self.streaming = False
        self.live_key: Key | None = None  # the reply streaming in, once the server made it
        self.fan = FanoutRuns()  # a fan-out's runs (F), while they stream
        self._refresh_timer: Any = None
        self._last_follow = -1e9  # when the cursor last moved (monotonic seconds)
        self._gc_settled = False

    def compose(self) -> ComposeResult:
        yield self.path_usage
        yield self.transcript
        yield self.composer

    def on_resize(self) -> None:
        self.update_target()  # the room the model's name gets follows the pane's width

    # ------------------------------------------------------------ what is shown

    def follow(self, key: Key) -> None:
        """The forest's cursor is on `key`: show its path at once after a single move, or
        once the cursor rests when moves come faster than the debounce (a held key)."""
        self.current = key
        now = time.monotonic()
        single = now - self._last_follow >= self.debounce
        self._last_follow = now
        if self._refresh_timer is not None:  # a redraw for a line the cursor already left
            self._refresh_timer.stop()
            self._refresh_timer = None
        live = self.live_key if self.streaming else self.fan.shown
        if live is not None and key == live:
            self.update_target()  # the live turn is on screen: keep it, do not redraw
            return
        if self.debounce <= 0 or single:
            self.call_later(self._show_current)
        else:
            # Holding an arrow key fires this on every line: redraw only when the cursor rests.
            self._refresh_timer = self.set_timer(self.debounce, self._show_current)

    async def _show_current(self) -> None:
        self._refresh_timer = None
        self.update_target()
        if self.streaming:
            # The transcript stays on the reply that is streaming in (the forest may still be
            # browsed); it follows the cursor again when the reply ends.
            return
        if self.current in self.fan.live:
            await self._show_run_live(self.current)
            return
        await self.show_path(self.current)

    def latest(self) -> Key | None:
        latest = self.index.latest(self.session.server)
        return latest.key if latest is not None else None

    async def show_path(self, key: Key | None) -> None:
        if self.fan.shown is not None:  # a fan-out's run was shown live: no longer
            self.fan.shown = None
            await self.transcript.end_live()
        if key is None or self.index.get(*key) is None:
            if self.latest() is None:
                await self.welcome()
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
        places = {}
        for k in path[1:]:  # a conversation's first turn has no versions, only neighbours
            siblings = forest.siblings(k)
            if len(siblings) > 1:
                places[k] = (siblings.index(k) + 1, len(siblings))
        await self.transcript.show(
            turns,
            now=self.clock(),
            current=key,
            below=self.below_note(key),
            places=places,
            title=self.index.title(*path[0]),
        )
        self.path_usage.show_path(path)
        self._first_screen_shown()

    async def show_no_path(self) -> None:
        """Nothing above a new conversation's first turn: no turns, and no path totals."""
        await self.transcript.show([], now=self.clock(), current=None)
        self.path_usage.show_path([])

    def below_note(self, key: Key) -> str:
        """What continues below the shown turn: the turns after it in its run (not the whole
        run), and the fork the run ends in, if any."""
        forest = self.index.forest(key[0])
        children = forest.children(key)
        if len(children) > 1:
            return f"{FORK} {len(children)} branches continue from here"
        if not children:
            return ""
        run = forest.segment_of(key).keys
        more = len(run) - 1 - run.index(key)
        note = f"↓ continues for {more} more turn{'s' if more != 1 else ''} in this branch"
        forks = len(forest.children(run[-1]))
        return note + (f", then {FORK} {forks} branches" if forks > 1 else "")

    async def welcome(self) -> None:
        if self.streaming or self.live_key is not None or self.latest() is not None:
            return  # scheduled at start, it came after a first message: that one stays shown
        text = Text()
        elsewhere = elsewhere_text(
            self.session.elsewhere(), key_of("toggle_servers", getattr(self.app, "keymap", {}))
        )
        if elsewhere:  # history of other servers must not seem lost
            text.append("No conversations on this server yet.\n\n", style="bold")
            text.append(elsewhere + "\n\n", style="yellow")
        else:
            text.append("No conversations yet.\n\n", style="bold")
        keys = send_keys(self.composer.input.enter_sends)
        text.append(f"Type a message below and press {keys} to start one. ")
        text.append(
            "Every reply becomes a node in the tree on the left; reply to any node to fork "
            "the conversation there. Press F1 (or ? outside the composer) for all keys.\n"
        )
        if self.session.profile.local:
            text.append(
                "\nThis is the built-in offline backend: replies are generated without a "
                "model. Set FIREWORKS_API_KEY (or use --profile) to talk to a real one.",
                style="dim",
            )
        await self.transcript.show_message(text)
        self.path_usage.show_path([])
        self._first_screen_shown()

    def _first_screen_shown(self) -> None:
        """Once the first screen is up, everything built so far lives as long as the app:
        take it out of the garbage collector's full passes (see tui.gcpause)."""
        if not self._gc_settled:
            self._gc_settled = True
            self.call_after_refresh(freeze_once)

    # ------------------------------------------------------------ what the next message is

    def update_target(self) -> None:
        """The composer's status line: what the next message replies to and carries. Ids
        are short, a long model name is cut, the tools never are (they wrap)."""
        text = Text()
        parent = self.reply_parent()
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
        billed = self.billed_input()
        if billed:
            text.append(f" · {cost.billed_text(billed)}", style="bold" if billed >= 10**5 else "")
        model, tools = self.next_settings()
        # The model gives way to the tools in a narrow pane (its start names it well enough).
        room = max(12, min(40, self.composer.size.width - 14))
        new_model = "model" in (self.next_run or {})
        carries = Text(one_line(model, room), style="bold yellow" if new_model else "dim")
        names = self.tool_names(tools)
        changed = " (changed)" if self.next_tools is not None else ""
        many = carries.copy()
        carries.append(f"  ·  tools: {', '.join(names) or 'none'}{changed}", style="dim")
        many.append(f"  ·  {len(names)} tools{changed}: T lists them", style="dim")
        differ = self.settings_changed()
        if differ:  # what the next message changes in the parent's run settings, briefly
            for line in (carries, many):
                line.append(f"  ·  {differ}", style="yellow")
        self.composer.set_target(text, carries, many)

    def settings_changed(self) -> str:
        """The run settings the next message changes from its parent's, in a few words (the
        model is named first on the status line)."""
        if not self.next_run:
            return ""
        base = self.inherited_settings()
        return one_line(run_settings.differences(base, self.run_settings(), skip=("model",)), 120)

    def billed_input(self) -> int | None:
        """The input tokens the next turn will re-read and be billed for, at least (what its
        parent read and wrote), when that is `BILLED_HINT_FROM` or more; else None."""
        if self.mode == "edit" and self.edit_target is not None:
            forest = self.index.forest(self.edit_target[0])
            target = self.edit_target
            parent = forest.parent(target) if target in forest else None
        else:
            parent = self.reply_parent()
        billed = cost.billed_input(self.usage(parent)) if parent is not None else None
        return billed if billed is not None and billed >= BILLED_HINT_FROM else None

    def tool_names(self, tools: list[Any]) -> list[str]:
        """How the user knows these tools: by the preset each was picked from."""
        tools = [t for t in tools if isinstance(t, dict)]
        if not tools:
            return []
        return tool_names(tools, [Preset.from_doc(doc) for doc in self.index.presets()])

    def reply_parent(self) -> Key | None:
        return None if self.mode == "new" else self.current

    def inherited_settings(self) -> dict[str, Any]:
        """What the next message inherits (model, tools, run settings): from the turn it
        follows, or from the one it is a sibling of (edit)."""
        source = self.edit_target if self.mode == "edit" else self.reply_parent()
        return settings_of(self.index, source[0], source[1]) if source is not None else {}

    def run_settings(self) -> dict[str, Any]:
        """The run settings (model included) the next message will be sent with."""
        settings = run_settings.write(dict(self.inherited_settings()), self.next_run or {})
        settings.pop("tools", None)
        settings["model"] = settings.get("model") or self.session.default_model
        return settings

    def next_settings(self) -> tuple[str, list[dict[str, Any]]]:
        """The model and tools the next message will be sent with."""
        inherited = self.inherited_settings()
        tools = self.next_tools if self.next_tools is not None else inherited.get("tools") or []
        return str(self.run_settings()["model"]), list(tools)

    def set_run_settings(self, chosen: dict[str, Any]) -> None:
        """The settings form's answer (every setting): kept as what it changes."""
        changes = run_settings.changes(self.inherited_settings(), chosen)
        if changes.get("model") is None and not chosen.get("model"):
            changes.pop("model", None)  # an empty model field: the inherited or default one
        self.next_run = changes or None
        self.update_target()

    def set_tools(self, tools: list[dict[str, Any]]) -> None:
        self.next_tools = tools
        self.update_target()

    def reply(self) -> None:
        self.mode = "reply"
        self.edit_target = None
        self.update_target()
        focus_now(self.composer.input)  # what is typed right after is the message's

    def new_conversation(self) -> None:
        self.mode = "new"
        self.edit_target = None
        self.update_target()
        focus_now(self.composer.input)  # what is typed right after is the message's

    def edit(self, key: Key) -> None:
        """Put the input of `key` in the composer, to send as a sibling of it."""
        recorded = self.index.load_body(*key).get("input")
        self.mode = "edit"
        self.edit_target = key
        self.composer.set_text(items.input_text(recorded) if recorded is not None else "")
        self.update_target()
        focus_now(self.composer.input)  # what is typed right after is the message's

    def regenerate(self, key: Key) -> None:
        """Send the input of `key` again, as a sibling of it."""
        try:
            plan = plan_sibling(
                self.index,
                self.session.server,
                key[1],
                text=None,
                default_model=self.session.default_model,
                overrides=self.next_run,
            )
        except CannotSend as error:
            self.notify(str(error), severity="error", title="Cannot regenerate")
            return
        self.start_send(plan, items.input_text(plan.input_items), keep_text=True)

    @on(ComposerInput.Submitted)
    def _submitted(self, event: ComposerInput.Submitted) -> None:
        event.stop()
        text = event.text
        server, model = self.session.server, self.session.default_model
        try:
            if self.mode == "edit" and self.edit_target is not None:
                plan = plan_sibling(
                    self.index,
                    server,
                    self.edit_target[1],
                    text=text,
                    default_model=model,
                    tools=self.next_tools,
                    overrides=self.next_run,
                )
            else:
                parent = self.reply_parent()
                plan = plan_turn(
                    self.index,
                    server,
                    text=text,
                    parent=parent[1] if parent else None,
                    default_model=model,
                    tools=self.next_tools,
                    overrides=self.next_run,
                )
        except CannotSend as error:
            self.notify(str(error), severity="warning")
            return
        self.start_send(plan, text, keep_text=False)

    @on(ComposerInput.EditorWanted)
    def _open_editor(self, event: ComposerInput.EditorWanted) -> None:
        """ctrl+e: the message in $VISUAL / $EDITOR, the app suspended meanwhile; what the
        editor saved comes back into the composer (not sent: the user sends it)."""
        event.stop()
        text, problem = edit_externally(self.composer.text, self.app.env, self.app.suspend)
        if problem:
            self.notify(problem, severity="error", title="Editor", markup=False)
        if text is not None:
            self.composer.set_text(text)
        focus_now(self.composer.input)

    @on(ComposerInput.Leave)
    def _leave_composer(self, event: ComposerInput.Leave) -> None:
        event.stop()
        if self.streaming:
            self.cancel()
            return
        if self.mode == "edit":
            self.mode = "reply"
            self.edit_target = None
            self.composer.set_text("")
            self.update_target()
        self.post_message(ComposerLeft())

    # ------------------------------------------------------------ sending

    def start_send(self, plan: TurnPlan, text: str, *, keep_text: bool) -> None:
        if self.streaming:
            self.notify("A reply is still streaming: esc cancels it.", severity="warning")
            return
        self.streaming = True
        self.app.refresh_bindings()
        self.composer.input.read_only = True
        self._send_worker(plan, text, keep_text)

    def cancel(self) -> None:
        """Cancel the reply streaming in (the partial answer is kept, marked incomplete)."""
        self.workers.cancel_group(self, "send")

    @work(group="send", exclusive=True)
    async def _send_worker(self, plan: TurnPlan, text: str, keep_text: bool) -> None:
        server = self.session.server
        if plan.parent:
            await self.show_path((server, plan.parent))
        else:
            await self.show_no_path()
        settings = self.live_settings(plan)
        await self.transcript.start_live(text, f"{plan.kind} · {plan.model}", settings=settings)
        created = False

        async def on_event(event: StreamEvent, _acc: Any) -> None:
            nonlocal created
            if isinstance(event, ResponseEvent) and event.type == "response.created":
                created = True
            elif isinstance(event, TextDelta):
                await self.transcript.live_delta(event.delta)

        def on_created(summary: NodeSummary) -> None:
            """Recorded (by ops, as the CLI's sends are): in the forest at once."""
            self.live_key = summary.key
            self.post_message(TurnStarted(summary.key))
            self._continue_from_new_turn(keep_text)

        cancelled = False
        result = None
        client = self.session.client
        said_before = client.on_retry
        client.on_retry = self.transcript.live_status  # a slow server: the live turn says so
        try:
            result = await send_turn(
                self.session.client,
                self.index,
                plan,
                server=server,
                profile=self.session.profile.name,
                on_event=on_event,
                on_created=on_created,
                env=self.session.env,
            )
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            client.on_retry = said_before
            self.streaming = False
            self.composer.input.read_only = False
            self.call_later(self._after_send, plan, result, cancelled, created, text, keep_text)

    def _continue_from_new_turn(self, keep_text: bool) -> None:
        """The next message continues from the reply just made, as in any chat, with the
        tools that reply was sent with (inherited from now on)."""
        if not keep_text:
            self.composer.set_text("")
        self.composer.input.read_only = False
        self.mode = "reply"
        self.edit_target = None
        self.next_tools = None
        self.next_run = None

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
        failed = result is not None and result.error is not None and not cancelled
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
            message = failure_message(plan, result.error)
            nothing_kept = not created or result.summary is None
            if key is None:  # nothing recorded: the live turn says why, never "sending…"
                back = "; your text is back in the composer" if not keep_text else ""
                await self.transcript.end_live(failed=f"{message}{back}")
            else:
                await self.transcript.end_live()
            if isinstance(result.error, PreviousResponseNotFound) and plan.anchor:
                self.post_message(AnchorLost((self.session.server, plan.anchor)))
            self.notify(message, severity="error", title="Send failed", timeout=10, markup=False)
            if nothing_kept and not keep_text and not self.composer.text.strip():
                # Nothing was created, or nothing could be recorded: the text stays yours.
                self.composer.set_text(text)
        else:
            await self.transcript.end_live()
        if key is not None:
            self.usage.forget(key)  # read when it was created: its usage came at the end
            self.current = key
            self.post_message(TurnEnded(key, cancelled=cancelled))
            await self.show_path(key)
        elif self.current is not None and not failed:
            await self.show_path(self.current)
        self.update_target()

    def live_settings(self, plan: TurnPlan) -> str:
        """The ⚙ line of a turn while it streams: what its settings change from its parent's,
        as the transcript says it once the turn is recorded."""
        server = self.session.server
        parent = None
        if plan.parent and self.index.get(server, plan.parent) is not None:
            parent = self.index.load_body(server, plan.parent)
        return settings_note(parent, {"request": plan.body})

    # ------------------------------------------------------------ fan out

    @property
    def fanning(self) -> bool:
        return self.fan.running

    def fan_out(self, key: Key, runs: list[RunSettings]) -> None:
        """F: the input of `key` sent again once per run, at once, as its siblings; each run
        appears in the forest as the server creates it and streams into the transcript while
        the cursor is on it."""
        try:
            plans = sibling_plans(
                self.index, key[0], key[1], runs, default_model=self.session.default_model
            )
        except CannotSend as error:
            self.notify(str(error), severity="error", title="Cannot fan out", markup=False)
            return
        self.fan.start(plans)
        self.app.refresh_bindings()
        self._fanout_worker(key[0])

    def cancel_fanout(self) -> None:
        """Cancel every run of the fan-out (each keeps its partial answer)."""
        self.workers.cancel_group(self, "fanout")

    @work(group="fanout", exclusive=True)
    async def _fanout_worker(self, server: str) -> None:
        def created(run: int, summary: NodeSummary) -> None:
            first = self.fan.created(run, summary.key)
            self.post_message(TurnStarted(summary.key, reveal=first))  # the cursor: the first

        async def streamed(run: int, event: StreamEvent, acc: StreamAccumulator) -> None:
            delta = self.fan.event(run, event, acc)
            if delta:
                await self.transcript.live_delta(delta)

        def done(outcome: RunResult) -> None:
            if outcome.created is not None:
                self._run_ended((server, outcome.created))

        try:
            results = await run_fanout(
                self.session.client,
                self.index,
                self.fan.plans,
                server=server,
                profile=self.session.profile.name,
                env=self.session.env,
                on_created=created,
                on_event=streamed,
                on_done=done,
            )
        except asyncio.CancelledError:
            for key in list(self.fan.live):  # kept by send_turn, marked incomplete
                self._run_ended(key)
            self.notify("Fan-out cancelled; the partial answers are kept.", severity="warning")
            raise
        finally:
            self.fan.finish()
            self.app.refresh_bindings()
        failed = [outcome for outcome in results if not outcome.ok]
        said = f"{len(results) - len(failed)} of {len(results)} runs in"
        if failed:
            lines = "\n".join(outcome.line() for outcome in failed)
            self.notify(
                f"{said}; failed:\n{lines}",
                title="Fan-out",
                severity="error",
                timeout=15,
                markup=False,
            )
        else:
            self.notify(said, title="Fan-out", timeout=5, markup=False)

    def _run_ended(self, key: Key) -> None:
        shown = self.fan.ended(key)
        if self.index.get(*key) is None:
            return
        self.usage.forget(key)  # read when it was created: its usage came at the end
        self.post_message(TurnEnded(key, cancelled=False, fanned=True))
        if shown or self.current == key:
            self.call_later(self._show_ended_run, key, shown)

    async def _show_ended_run(self, key: Key, shown: bool) -> None:
        if shown:
            await self.transcript.end_live()
        if self.current == key and not self.streaming:  # now as it is recorded
            await self.show_path(key)

    async def _show_run_live(self, key: Key) -> None:
        """The path of a run still streaming, with its text so far in a live turn that the
        run's further deltas fill."""
        live = self.fan.live[key]
        if live.plan.parent:
            await self.show_path((key[0], live.plan.parent))
        else:
            await self.show_no_path()
        if self.current != key or self.streaming:
            return  # the cursor moved on (or a send began) while the path was drawn
        await self.transcript.start_live(
            live.user_text, live.target, settings=self.live_settings(live.plan)
        )
        if self.current != key or self.streaming:
            return
        if key not in self.fan.live:  # it ended meanwhile: as it is recorded
            await self.show_path(key)
            return
        self.fan.shown = key
        await self.transcript.live_delta(live.text)
