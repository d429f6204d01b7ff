"""The transcript of the path root→highlighted node, and the live view of a streaming reply.

Cost control (measured in textual-notes: a Markdown widget per message costs ~45 ms to lay
out): only the last `RICH_TURNS` turns get Markdown widgets; older turns are one cheap
`Static` of plain text each. Reasoning (`<think>` blocks, reasoning items) and tool activity
are collapsed entries. All model text is sanitized and shown as `Text`, never as markup.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual._arrange import DockArrangeResult
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Collapsible, Markdown, Static
from textual.widgets.markdown import MarkdownStream

from tui import run_settings
from tui.api import items
from tui.store.records import NodeSummary, status_words
from tui.text import one_line, sanitize
from tui.turn_meta import StatusNote, meta_line, source_lines, status_note
from tui.ui.keys import bindings
from tui.ui.labels import relative_time, short_id
from tui.ui.messages import TranscriptLeft

RICH_TURNS = 6
CURRENT_MARK = "→"
LIVE_FLUSH = 1 / 120  # seconds between Markdown updates while a reply streams
OLD_TURN_LINES = 4
OLDER_SHOWN = 30  # compact turns shown above the rich ones; the rest is a count
SHOWN_TURNS = RICH_TURNS + OLDER_SHOWN  # turns whose bodies the transcript reads
SKIPPED = ("model", "store")  # run settings a turn's header already says
OLD_LINE_CHARS = 160


def _plain(text: str, style: str = "") -> Static:
    return Static(Text(sanitize(text, multiline=True), style=style), classes="plain")


def _short(text: str, lines: int) -> str:
    clean = sanitize(text, multiline=True).strip()
    parts = clean.splitlines()
    if len(parts) <= lines:
        return clean
    return "\n".join(parts[:lines]) + f"\n… ({len(parts) - lines} more lines)"


NOTE_STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}


class TurnMeta(Static):
    """The turn's meta line under its head: token usage and reasoning settings."""

    DEFAULT_CSS = """
    TurnMeta {
        color: $text-muted;
        padding: 0 0 0 2;
    }
    """


class Sources(Static):
    """The numbered sources the answer cites, under the answer."""

    DEFAULT_CSS = """
    Sources {
        color: $text-muted;
        padding: 0 1;
    }
    """


def _sources_text(lines: list[str]) -> Text:
    """Plain text, never a hyperlink: the lines are already one_line()d by turn_meta."""
    text = Text()
    for n, line in enumerate(lines):
        if n:
            text.append("\n")
        number, space, rest = line.partition(" ")
        if number.startswith("[") and number.endswith("]") and space:
            text.append(number, style="bold")
            text.append(" " + rest)
        else:
            text.append(line, style="italic")
    return text


def _response(body: dict[str, Any]) -> dict[str, Any]:
    response = body.get("response")
    return response if isinstance(response, dict) else {}


def _note(summary: NodeSummary, response: dict[str, Any]) -> StatusNote | None:
    return status_note(response, recorded=str(summary.status))


class Turn(Vertical):
    """One response: what the user sent, then what came back."""

    def __init__(
        self,
        summary: NodeSummary,
        body: dict[str, Any],
        *,
        now: float,
        rich: bool,
        current: bool,
        orphan: bool = False,
        place: tuple[int, int] | None = None,
        settings: str = "",
    ) -> None:
        classes = "turn" + (" -current" if current else "") + (" -compact" if not rich else "")
        super().__init__(classes=classes)
        self.summary = summary
        self.body = body
        self.now = now
        self.rich = rich
        self.current = current
        self.orphan = orphan
        self.place = place
        self.settings = settings  # the run settings that differ from the parent's, in words

    def _head(self) -> Text:
        summary = self.summary
        head = Text(no_wrap=True, overflow="ellipsis")
        # → marks the highlighted turn; ● is only ever the reply streaming in ("● sending…").
        head.append(f"{CURRENT_MARK} " if self.current else "  ", style="bold")
        when = relative_time(summary.created_at, self.now)
        head.append(when, style="bold" if self.current else "")
        if self.place is not None:
            # One of several versions of this turn: [ and ] flip between them.
            head.append(f"  ‹ {self.place[0]}/{self.place[1]} ›", style="bold magenta")
        head.append(f" · {one_line(summary.model, 40)} · {short_id(summary.id)}")
        words = status_words(summary, self.orphan)
        if words:
            head.append("  " + ", ".join(words), style="yellow")
        return head

    def set_current(self, current: bool) -> None:
        """Mark it as the highlighted turn, or not: only its first line is drawn again."""
        if current != self.current:
            self.current = current
            self.set_class(current, "-current")
            self.query_one(".turn-head", Static).update(self._head())

    def compose(self) -> ComposeResult:
        summary, response = self.summary, _response(self.body)
        yield Static(self._head(), classes="turn-head")
        if self.settings:
            yield settings_line(self.settings)
        meta = meta_line(response)
        if meta:
            yield TurnMeta(Text(meta), classes="turn-meta")
        if summary.tool_labels:
            names = list(summary.tool_labels)
            sent = (self.body.get("request") or {}).get("tools")
            namer = getattr(self.parent, "tool_namer", None)
            if namer is not None and isinstance(sent, list) and len(sent) == len(names):
                names = namer(sent)  # by the preset each was picked from
            tools = Text("⚙ tools: " + ", ".join(names), style="dim")
            yield Static(tools, classes="turn-tools")
        recorded = self.body.get("input")
        if recorded is None:
            yield Static(
                Text("you: (input not recorded: the server cannot return it)", style="italic dim"),
                classes="user",
            )
        else:
            said = items.input_text(recorded) or "(no text)"
            user = Text("you: ", style="bold")
            user.append(sanitize(_short(said, 40 if self.rich else OLD_TURN_LINES), multiline=True))
            yield Static(user, classes="user")
        yield from self._output(response)
        cited = source_lines(response)
        if cited:
            yield Sources(_sources_text(cited), classes="sources")
        note = _note(summary, response)
        if note is not None:
            yield Static(Text(note.text, style=NOTE_STYLES[note.level]), classes="note status")

    def _output(self, response: dict[str, Any]) -> ComposeResult:
        for item in items.output_items(response):
            if not isinstance(item, dict):
                continue  # not an item: nothing to show
            kind = items.item_type(item)
            if kind == "message":
                text = items.content_text(item.get("content"))
                reasoning, answer = items.split_think(text)
                if reasoning:
                    yield _collapsed("Reasoning", reasoning)
                if not answer.strip():
                    continue
                if self.rich:
                    yield Markdown(sanitize(answer, multiline=True), classes="answer")
                else:
                    yield _plain(_short(answer, OLD_TURN_LINES), "").add_class("answer")
            elif kind == "reasoning":
                text = "\n".join(
                    items.content_text(item.get(k)) for k in ("summary", "content")
                ).strip()
                if text:
                    yield _collapsed("Reasoning", text)
            elif kind in (
                "mcp_call",
                "function_call",
                "mcp_list_tools",
                "tool_output",
                "function_call_output",
                "mcp_approval_request",
            ):
                yield _tool_entry(kind, item)
            else:
                yield _collapsed(f"[{one_line(kind, 30)}]", _json(item)[:4000])


def _json(value: Any) -> str:
    try:
        return json.dumps(value, indent=1, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):  # nested past any sense
        return items.as_text(value)


def _collapsed(title: str, body: str) -> Collapsible:
    return Collapsible(
        _plain(body, "dim"), title=Content(sanitize(title)), collapsed=True, classes="aside"
    )


def _tool_entry(kind: str, item: dict[str, Any]) -> Collapsible:
    field = items.text_field
    if kind == "mcp_call":
        call = items.normalize_mcp_call(item)
        name = ".".join(p for p in (call["server_label"], call["name"]) if p) or "mcp"
        title = f"⚙ {name}({one_line(call['arguments'], 40)})"
        if call["error"]:
            title += " ✗"
        detail = f"arguments: {call['arguments']}\n"
        detail += f"error: {call['error']}" if call["error"] else f"output: {call['output'] or ''}"
    elif kind == "function_call":
        arguments = items.as_text(item.get("arguments"))
        title = f"ƒ {field(item.get('name'), 'function')}({one_line(arguments, 40)})"
        detail = f"call_id: {field(item.get('call_id'))}\narguments: {arguments}"
    elif kind == "mcp_list_tools":
        names = [
            field(t.get("name"), "?") for t in items.parts(item.get("tools")) if isinstance(t, dict)
        ]
        title = f"⚙ {field(item.get('server_label'), 'mcp')}: {len(names)} tools"
        detail = "\n".join(names)
    elif kind == "mcp_approval_request":
        title = f"? approval requested: {field(item.get('name'))}"
        detail = f"arguments: {items.as_text(item.get('arguments'))}"
    else:
        title = f"⚙ {kind}"
        detail = items.as_text(item.get("output"))
    return _collapsed(title, detail[:8000])


def older_turns_text(turns: list[tuple[NodeSummary, dict[str, Any], bool]], now: float) -> Text:
    """Older turns of a long path as compact plain text (a few lines of each answer)."""
    text = Text()
    hidden = max(0, len(turns) - OLDER_SHOWN)
    if hidden:
        text.append(
            f"↑ {hidden} earlier turns not shown (c copies the whole path as Markdown)\n",
            style="bold dim",
        )
    for summary, body, orphan in turns[hidden:]:
        response = _response(body)
        text.append("\n")
        text.append(
            f"{relative_time(summary.created_at, now)} · {short_id(summary.id)}", style="dim"
        )
        meta = meta_line(response)
        if meta:
            text.append(f" · {meta}", style="dim")
        words = status_words(summary, orphan)
        if words:
            text.append("  " + ", ".join(words), style="yellow")
        text.append("\n")
        recorded = body.get("input")
        said = items.input_text(recorded) if recorded is not None else "(input not recorded)"
        text.append("you: ", style="bold")
        text.append(one_line(said, OLD_LINE_CHARS) + "\n")
        answer = items.response_text(response)
        lines = [one_line(line, OLD_LINE_CHARS) for line in answer.splitlines() if line.strip()]
        for line in lines[:OLD_TURN_LINES]:
            text.append(line + "\n")
        if len(lines) > OLD_TURN_LINES:
            text.append(f"… {len(lines) - OLD_TURN_LINES} more lines\n", style="dim italic")
        note = _note(summary, response)
        if note is not None:
            text.append(note.text + "\n", style=NOTE_STYLES[note.level])
    return text


def settings_notes(turns: list[tuple[NodeSummary, dict[str, Any], bool]], last: int) -> list[str]:
    """For each of the `last` turns of the path (root first): the run settings it was sent
    with that differ from its parent's, in words (the model is in its header, `store` in its
    status). A parent whose body was not read (far up a long path) says nothing."""
    out = []
    for n in range(len(turns) - last, len(turns)):
        body = turns[n][1]
        parent = turns[n - 1][1] if n > 0 else None
        out.append("" if parent == {} or not body else settings_note(parent, body))
    return out


def settings_line(settings: str) -> Static:
    """The ⚙ line under a turn's head (recorded or live)."""
    return Static(Text(f"⚙ {settings}", style="dim"), classes="turn-settings")


def settings_note(parent: dict[str, Any] | None, body: dict[str, Any]) -> str:
    """The run settings the turn recorded as `body` was sent with that differ from those of
    its parent's record (None: it has no parent), in words (the ⚙ line under its head)."""
    before = run_settings.of_record(parent) if parent is not None else {}
    said = run_settings.differences(before, run_settings.of_record(body), skip=SKIPPED)
    return one_line(said, 200)


class Transcript(VerticalScroll):
    """The conversation path; also hosts the live turn while a reply streams."""

    BINDINGS = bindings("transcript")  # tui/ui/keys.py

    # How the user knows the tools a turn was sent with (the pane names them by preset).
    tool_namer: Callable[[list[Any]], list[str]] | None = None

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.path_keys: list[tuple[str, str]] = []
        self._stream: MarkdownStream | None = None
        self._live: Markdown | None = None
        self._live_raw = ""
        self._live_written = ""
        self._thinking: Static | None = None
        self._live_head: Static | None = None
        self._live_target = ""
        # show() and start_live() await mounts: run them one at a time, so a redraw that
        # started just before a send cannot land on top of the streaming turn.
        self._busy = asyncio.Lock()
        self._flush_scheduled = False
        self._live_closed = False
        self._shown_as: tuple[Any, ...] | None = None  # what show() drew last

    async def show(
        self,
        turns: list[tuple[NodeSummary, dict[str, Any], bool]],
        *,
        now: float,
        current: tuple[str, str] | None,
        below: str = "",
        places: dict[tuple[str, str], tuple[int, int]] | None = None,
        title: str | None = None,
    ) -> None:
        """Replace the content with these turns (summary, body, orphan), root first. `places`:
        a turn's (n, of) among its siblings, shown in its header as `‹ n/of ›`. `title`: the
        conversation's, shown above it."""
        async with self._busy:
            shown_as = (
                tuple((summary, orphan) for summary, _body, orphan in turns),
                current,
                below,
                tuple(sorted((places or {}).items())),
                title,
            )
            if shown_as == self._shown_as and self._live is None and self._stream is None:
                return  # already on screen as it is: keep it, and where the user scrolled to
            self._shown_as = shown_as
            older, recent = turns[:-RICH_TURNS], turns[-RICH_TURNS:]
            wanted = [
                (summary, body, orphan, (places or {}).get(summary.key), summary.key == current)
                for summary, body, orphan in recent
            ]
            notes = settings_notes(turns, len(recent))
            with self.app.batch_update():
                # One frame for the whole change, painted when it is done: none shows the
                # old turns gone and the new ones not yet there.
                await self._replace(turns, older, wanted, now, current, below, title, notes)

    async def _replace(
        self,
        turns: list[tuple[NodeSummary, dict[str, Any], bool]],
        older: list[tuple[NodeSummary, dict[str, Any], bool]],
        wanted: list[tuple[Any, ...]],
        now: float,
        current: tuple[str, str] | None,
        below: str,
        title: str | None,
        notes: list[str],
    ) -> None:
        kept = self._reusable(wanted)
        if kept:
            # Moving along a branch: the turns both paths share stay as they are (their
            # Markdown is not parsed again); the rest around them is replaced.
            keep = set(map(id, kept))
            await self.remove_children([w for w in self.children if id(w) not in keep])
        else:
            await self.remove_children()
        if self._stream is not None:  # a live turn replaced before it ended
            await self._stream.stop()
        self._live = None
        self._stream = None
        first = [s.key for s in (w.summary for w in kept)][:1]
        head: list[Any] = []
        tail: list[Any] = []
        if title:
            head.append(Static(Text(title, style="bold"), classes="conversation-title"))
        if older:
            # One widget for all older turns: a 1,000-turn path costs one text layout, not
            # thousands of widgets.
            head.append(Static(older_turns_text(older, now), classes="older"))
        kept_keys = {w.summary.key for w in kept}
        before_kept = True
        for (summary, body, orphan, place, is_current), note in zip(wanted, notes, strict=True):
            if summary.key in kept_keys:
                before_kept = False
                continue
            turn = Turn(
                summary,
                body,
                now=now,
                rich=True,
                current=is_current,
                orphan=orphan,
                place=place,
                settings=note,
            )
            (head if before_kept and first else tail).append(turn)
        if below:
            tail.append(Static(Text(below, style="dim italic"), classes="below"))
        if not head and not tail and not kept:
            tail.append(Static(Text(""), classes="below"))
        self.path_keys = [t[0].key for t in turns]
        if kept:
            for widget in kept:
                widget.set_current(widget.summary.key == current)
            if head:
                await self.mount_all(head, before=kept[0])
            if tail:
                await self.mount_all(tail, after=kept[-1])
        else:
            await self.mount_all(head + tail)
        # The height is not final here: each Markdown parses its text in a thread and
        # mounts its blocks later, and once the path overflows, the scrollbar that appears
        # narrows the text and re-wraps it. A one-off scroll_end() landed a line short
        # under load (a flaky snapshot). Anchored, the view stays at the end through every
        # re-layout until the user scrolls (which releases the anchor).
        self.anchor()

    def _reusable(self, wanted: list[tuple[Any, ...]]) -> list[Turn]:
        """The turns on screen that the new path shows as they are (same record, same place;
        the current mark moves), when they are one unbroken run in both; else none. Moving one
        turn down a branch draws one new turn; moving up, none."""
        if self._live is not None or self._stream is not None:
            return []
        shown = [w for w in self.children if isinstance(w, Turn)]
        if not shown or any(w.has_class("-live") for w in shown):
            return []
        index = {w.summary.key: n for n, w in enumerate(shown)}
        kept: list[Turn] = []
        positions: list[tuple[int, int]] = []
        for n, (summary, _body, orphan, place, _current) in enumerate(wanted):
            at = index.get(summary.key)
            if at is None:
                continue
            widget = shown[at]
            if (widget.summary, widget.orphan, widget.place) != (
                summary,
                orphan,
                place,
            ) or not widget.rich:
                continue  # the same turn drawn differently: anew
            kept.append(widget)
            positions.append((n, at))
        if not kept:
            return []
        first_new, first_old = positions[0]
        unbroken = all(p == (first_new + k, first_old + k) for k, p in enumerate(positions))
        return kept if unbroken else []

    # Textual's anchor keeps the bottom of the content at the bottom of the view even when
    # the content is shorter than the view: it scrolls to a negative offset and a short path
    # floats down to the composer. So the anchor holds only while the path overflows (the
    # compositor reads `_anchored` right after `arrange()`, in the same layout pass).
    _anchor_wanted = False
    _content_bottom = 0

    @property  # type: ignore[override]
    def _anchored(self) -> bool:
        view = self.container_size.height - self.scrollbar_size_horizontal
        return self._anchor_wanted and self._content_bottom > view

    @_anchored.setter
    def _anchored(self, value: bool) -> None:
        self._anchor_wanted = value

    def arrange(self, size: Size, optimal: bool = False) -> DockArrangeResult:
        arrangement = super().arrange(size, optimal)
        self._content_bottom = arrangement.spatial_map.total_region.bottom
        view = self.container_size.height - self.scrollbar_size_horizontal
        if self._anchor_wanted and self._content_bottom <= view and self.scroll_y:
            # A path that fits, after a longer one: at the top in this same layout pass, as
            # the anchor does for one that overflows (else one frame shows it scrolled off).
            self.set_reactive(Widget.scroll_y, 0)
            self.set_reactive(Widget.scroll_target_y, 0)
            self.vertical_scrollbar._reactive_position = 0
        return arrangement

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave":
            return self._live is None  # while a reply streams, esc cancels it (the App's)
        return True

    def action_leave(self) -> None:
        self.post_message(TranscriptLeft())

    async def show_message(self, text: Text) -> None:
        async with self._busy:
            self._shown_as = None
            await self.remove_children()
            self.path_keys = []
            await self.mount(Static(text, classes="welcome"))

    # ------------------------------------------------------------ live turn

    async def start_live(self, user_text: str, target: str, *, settings: str = "") -> None:
        """Show the user's message and an empty reply that fills as deltas arrive; `settings`:
        the run settings it is sent with that differ from its parent's (`settings_note`)."""
        async with self._busy:
            self._shown_as = None  # the path below the live turn is drawn anew after it
            self._live_closed = False
            self._live_target = one_line(target, 60)
            head = Text("● sending… ", style="bold cyan")  # ● here: while it streams, only
            head.append(self._live_target, style="dim")
            user = Text("you: ", style="bold")
            user.append(sanitize(user_text, multiline=True))
            self._thinking = Static(
                Text("waiting for the first words…", style="dim italic"), classes="note"
            )
            self._live = Markdown("", classes="answer")
            self._live_raw = ""
            self._live_written = ""
            self._stream = None
            self._live_head = Static(head, classes="turn-head")
            said = [settings_line(settings)] if settings else []
            box = Vertical(
                self._live_head,
                *said,
                Static(user, classes="user"),
                self._thinking,
                self._live,
                classes="turn -current -live",
            )
            await self.mount(box)
            self.anchor()

    async def live_delta(self, delta: str) -> None:
        """Take a delta at once (cheap); the Markdown is fed at most every FLUSH seconds, so
        a fast stream costs one render per frame, not one per delta."""
        if self._live is None:
            return
        self._live_raw += delta
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.set_timer(LIVE_FLUSH, self._flush_live)

    async def _flush_live(self) -> None:
        self._flush_scheduled = False
        if self._live is None or self._live_closed:
            return
        reasoning, answer = items.split_think(self._live_raw)
        if self._thinking is not None and self._thinking.display:
            if reasoning and not answer:
                self._thinking.update(
                    Text(f"thinking… ({len(reasoning)} characters)", style="dim italic")
                )
            elif answer:
                self._thinking.display = False
        answer = sanitize(answer, multiline=True)
        if not answer:
            return
        if self._stream is None:
            # Created on the first real delta (textual 8.2.8: stop() before a write raises).
            self._stream = Markdown.get_stream(self._live)
        if answer.startswith(self._live_written):
            fresh = answer[len(self._live_written) :]
            if fresh:
                await self._stream.write(fresh)
        else:  # the answer changed shape (a late <think> tag): redraw once
            await self._stream.stop()
            await self._live.update(answer)
            self._stream = Markdown.get_stream(self._live)
        self._live_written = answer

    def live_status(self, line: str) -> None:
        """Say what the live turn waits on (a retry), in place of "waiting for the first
        words…", until the first words come."""
        if self._thinking is not None and not self._live_closed and not self._live_written:
            self._thinking.update(Text(one_line(line, 300), style="yellow italic"))

    async def end_live(self, note: str = "", *, failed: str = "") -> None:
        """The live turn is over: its head no longer says "sending" (● is for streaming
        only). `failed`: the send failed before anything came, and this says why."""
        await self._flush_live()  # whatever arrived since the last frame
        self._live_closed = True  # a flush timer still pending must not reopen the stream
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        if self._live_head is not None:
            if failed:
                head = Text("✗ not sent · ", style="bold red")
            elif note:
                head = Text("⚠ stopped · ", style="bold yellow")
            else:
                head = Text("  ")
            head.append(self._live_target, style="dim")
            self._live_head.update(head)
        if self._thinking is not None and (failed or not self._live_written):
            if failed:
                self._thinking.update(Text(one_line(failed, 400), style="red"))
            self._thinking.display = bool(failed)
        if note and self._live is not None:
            await self.mount(Static(Text(note, style="yellow"), classes="note"))

    async def on_unmount(self) -> None:
        if self._stream is not None:  # the app closed mid-stream
            await self._stream.stop()
            self._stream = None

    @property
    def live_text(self) -> str:
        return self._live_raw
