"""Every scale figure in one table, one column per index size (run it with `bench/run`).

    python bench/bench_all.py [--sizes 1000,10000,100000] [--conversations-per 20]

For each size N it builds, in a temporary directory, an index of N responses in N/20
conversations (the `bench_index.corpus`: about one turn in five a fork, ~2 KB bodies) plus a
200-turn chain (`app_setup.build_index`) and a conversation holding a 100-response subtree,
all with `Index.add_many` (one write per shard). Then, `--runs` times (3 by default), each on
a fresh copy of that index, with the app's real debounce (0.06 s), as a user has it:

- startup: a fresh process (interpreter, imports, index open, forest, app) runs the app
  headless; wall time from spawn to the first frame it sends that shows the transcript.
  The index is as a user's earlier session leaves it: opened and closed once after it was
  built, which writes its start-up cache; the same is measured again on a copy without
  that cache (a first start, or the first after an upgrade);
- a second fresh process drives the app headless (120x40): cursor moves
  (the move alone, and the move followed by the transcript redraw), the switch to the
  200-turn path, the full-text search index build and keystrokes, the forest filter, a new
  conversation whose reply streams at 500 deltas/s (the lag of each delta from its scheduled
  time until the transcript takes it and until the Markdown widget shows it, the deltas that
  never got there, and the longest event-loop stall from the send to the end), and the
  local-only delete of the 100-response subtree (keys D then f, until the tree and
  transcript are redrawn); its peak RSS (VmHWM) is reported, as is the startup process's;
- in this process: appending one response (median and p95 of 100), and open + forest in a
  fresh process (`bench_index.cold_open`).

Every cell is the median over the runs with the worst run in brackets, and the last column
says whether a target was met in every run (or in how many it was missed, at which size).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from app_setup import LOCAL, SERVER, SIZE, build_index  # noqa: E402
from bench_index import cold_open, response  # noqa: E402

DEEP = 200
SUBTREE = 100
STREAM_RATE = 500  # deltas per second
QUERIES = ["f", "fo", "fox", "question 4", "question 42", "question 4242", "zzz-not-there"]


# ------------------------------------------------------------------ helpers


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MB (VmHWM; ru_maxrss as a fallback)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 / (1024 if sys.platform == "darwin" else 1)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class StallMeter:
    """The longest time the event loop went without running a 5 ms ticker, while active:
    what a user typing or scrolling meanwhile would feel as a freeze."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task | None = None

    async def _tick(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last - 0.005)
            last = now

    def __enter__(self) -> StallMeter:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


class Frames:
    """Every frame the app sends to the (headless) terminal while measuring: when it was sent
    and what it changed (replayed afterwards onto a copy of the screen, so that reading the
    transcript's text costs the app nothing while it runs), and how long each screen update
    took to make (layout and render).

    `pilot.pause()` polls in 20 ms steps and paints a frame itself, so figures taken with it
    are the poll's, not the app's; these are the frames a user would see."""

    def __init__(self, app: Any, blank: tuple[int, int] | None = None) -> None:
        """`blank`: the terminal's size, when the app has not started yet (its first frame
        is then drawn onto an empty screen)."""
        self.app = app
        self.blank = blank
        self.sent: list[tuple[float, Any]] = []  # (when, the update sent)
        self.work: list[tuple[float, float]] = []  # (start, seconds) of each screen update

    def __enter__(self) -> Frames:
        from textual.screen import Screen

        app = self.app
        self._display = app._display
        if self.blank is not None:
            width, height = self.blank
            self._screen = [[" "] * width for _ in range(height)]
        else:
            self._screen = [list(_cells(line)) for line in _screen_lines(app)]
        self._replayed = 0
        self._texts: list[tuple[str, ...]] = []

        def display(screen: Any, update: Any) -> None:
            self.sent.append((time.perf_counter(), update))
            self._display(screen, update)

        depth = [0, 0.0]

        def timed(method: Any) -> Any:
            # A frame's work: a layout refresh (which renders) or a render alone; the
            # screen's update timer holds its own callback, so these are what can be wrapped.
            def run(screen: Any, *args: Any, **kw: Any) -> Any:
                if depth[0] == 0:
                    depth[1] = time.perf_counter()
                depth[0] += 1
                try:
                    return method(screen, *args, **kw)
                finally:
                    depth[0] -= 1
                    if depth[0] == 0:
                        self.work.append((depth[1], time.perf_counter() - depth[1]))

            return run

        self._patched = {
            name: getattr(Screen, name) for name in ("_refresh_layout", "_compositor_refresh")
        }
        for name, method in self._patched.items():
            setattr(Screen, name, timed(method))
        app._display = display
        return self

    def __exit__(self, *exc: object) -> None:
        from textual.screen import Screen

        del self.app._display  # the instance attribute: the class's method again
        for name, method in self._patched.items():
            setattr(Screen, name, method)

    def _transcript_texts(self) -> list[tuple[str, ...]]:
        """The transcript's text after each frame sent so far (its content: the scrollbar's
        column left out)."""
        from textual._compositor import LayoutUpdate

        transcript = self.app.transcript
        region = transcript.region
        # Its scrollbar sits in the last columns (the gutter is stable: always there).
        bar = region.right - transcript.scrollbar_size_vertical - 1
        screen = self._screen
        for _when, update in self.sent[self._replayed :]:
            if update is None:
                pass
            elif isinstance(update, LayoutUpdate):
                for y, line in enumerate(update.strips, update.region.y):
                    _put(screen[y], update.region.x, "".join(s.text for s in line), len(screen[y]))
            else:
                for y, x1, x2 in update.spans:
                    for end, (x, strip) in zip(
                        update.chop_ends[y], update.chops[y].items(), strict=True
                    ):
                        if strip is not None and not (x > x2 or end <= x1):
                            _put(screen[y], x, strip.text, min(end, x2))
            self._texts.append(
                tuple("".join(screen[y][region.x : bar]) for y in range(region.y, region.bottom))
            )
        self._replayed = len(self.sent)
        return self._texts

    async def settle(self, quiet: float = 0.1, limit: float = 3.0) -> None:
        """Wait until no frame has been sent for `quiet` seconds."""
        started = time.perf_counter()
        while time.perf_counter() - started < limit:
            count = len(self.sent)
            await asyncio.sleep(quiet)
            if len(self.sent) == count:
                return

    def shown_at(self, since: float) -> float | None:
        """When the transcript first showed what it shows once settled (frames after
        `since`), in seconds after `since`; None when no frame came."""
        texts = self._transcript_texts()
        after = [
            (t, text) for (t, _update), text in zip(self.sent, texts, strict=True) if t >= since
        ]
        if not after:
            return None
        final = after[-1][1]
        return next(t for t, text in after if text == final) - since

    def longest_work(self, since: float) -> float:
        return max((w for t, w in self.work if t >= since), default=0.0)


def send_key(app: Any, key: str, character: str | None = None) -> None:
    """A key as the terminal driver sends it (the App's input handling, bindings and all);
    not `pilot.press`, which then waits and paints a frame itself."""
    from textual import events

    event = events.Key(key, character)
    event.set_sender(app)
    app._driver.send_message(event)


def _screen_lines(app: Any) -> list[str]:
    update = app.screen._compositor.render_full_update()
    return ["".join(strip.text for strip in line) for line in update.strips]


def _cells(text: str) -> list[str]:
    cells: list[str] = []
    _put(cells, 0, text, 10**6)
    return cells


def _put(row: list[str], x: int, text: str, limit: int) -> None:
    """Write `text` into a line of cells from column `x`, up to column `limit` (a wide
    character takes two cells: the second is empty)."""
    from rich.cells import cell_len

    for char in text:
        width = cell_len(char)
        if x + width > limit:
            return
        while len(row) < x + width:
            row.append(" ")
        row[x] = char
        if width == 2:
            row[x + 1] = ""
        x += width


def subtree_records(start: int) -> tuple[list[tuple[dict, list]], str]:
    """A conversation whose second turn heads a `SUBTREE`-response subtree (a chain with a
    fork every 10 turns). Returns the records and the id of the subtree's head."""
    records = []
    root, root_inputs = response(start, None, 1_500_000_000)
    root["id"] = "resp_subtree_root"
    records.append((root, root_inputs))
    ids: list[str] = []
    for n in range(SUBTREE):
        if not ids:
            parent = root["id"]
        elif n % 10 == 0:
            parent = ids[max(0, len(ids) - 5)]  # a fork a few turns back
        else:
            parent = ids[-1]
        body, inputs = response(start + 1 + n, parent, 1_500_000_001 + n)
        body["id"] = f"resp_subtree_{n:04d}"
        ids.append(body["id"])
        records.append((body, inputs))
    return records, ids[0]


def build(directory: Path, total: int, conversations: int) -> tuple[str, str, float]:
    from tui.store.atomic import SETTLE_NS
    from tui.store.index import Index

    started = time.perf_counter()
    deep_tail = build_index(directory, total, conversations, deep=DEEP)
    records, subtree_head = subtree_records(10 * total + 10_000)
    with Index.open(directory) as index:
        index.add_many(records, server=SERVER, profile="local")
    seconds = time.perf_counter() - started
    # As a user's earlier session leaves it: opened and closed once its files had settled
    # (that close writes the start-up cache; see tui/store/startcache.py).
    time.sleep(SETTLE_NS / 1e9 + 0.1)
    Index.open(directory).close()
    return deep_tail, subtree_head, seconds


def make_client(
    stream_seconds: float = 0.0, produced: list | None = None, chars: list | None = None
):
    """A client whose server streams `STREAM_RATE` deltas/s (and answers 404 to the rest)."""
    import httpx

    from tui.api.client import ResponsesClient

    async def stream_body():
        created = {
            "id": "resp_bench",
            "object": "response",
            "created_at": 1.0,
            "model": "bench",
            "status": "in_progress",
            "output": [],
        }
        yield f"data: {json.dumps({'type': 'response.created', 'response': created})}\n\n".encode()
        count = int(STREAM_RATE * stream_seconds)
        text = []
        start = time.perf_counter()
        for n in range(count):
            target = start + n / STREAM_RATE
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            delta = "word " if n % 12 else "word.\n\n"
            assert produced is not None and chars is not None
            produced.append(target)  # when a real server would have sent it
            chars.append(chars[-1] + len(delta))
            text.append(delta)
            event = {
                "type": "response.output_text.delta",
                "item_id": "m",
                "output_index": 0,
                "content_index": 0,
                "delta": delta,
            }
            yield f"data: {json.dumps(event)}\n\n".encode()
        final = {
            **created,
            "status": "completed",
            "output": [
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "".join(text)}],
                }
            ],
        }
        yield f"data: {json.dumps({'type': 'response.completed', 'response': final})}\n\n".encode()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and stream_seconds > 0:
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=stream_body()
            )
        return httpx.Response(404, json={"error": {"message": "not here", "code": "not_found"}})

    return ResponsesClient(LOCAL, env={}, transport=httpx.MockTransport(handler))


# ------------------------------------------------------------------ child: first screen


async def child_startup(directory: Path) -> dict[str, Any]:
    """When the first frame showing the transcript went out (the time of day, to compare
    with the parent's spawn), read off the frames sent as in `child_session`; waited for
    with sleeps, not `pilot.pause()` (which would paint frames of its own)."""
    from tui.store.index import Index
    from tui.ui.app import ResponsesApp

    imported = time.time()
    clock = imported - time.perf_counter()  # perf_counter -> time of day
    index = Index.open(directory)
    app = ResponsesApp(index, LOCAL, client=make_client())  # the app's real debounce
    shown = None
    with Frames(app, blank=SIZE) as frames:
        async with app.run_test(size=SIZE):
            for _ in range(1000):
                await asyncio.sleep(0.01)
                if app.transcript.path_keys:
                    await frames.settle()
                    at = frames.shown_at(0.0)
                    shown = None if at is None else clock + at
                    break
    index.close()
    return {"imported": imported, "shown": shown, "rss": peak_rss_mb()}


# ------------------------------------------------------------------ child: the session


async def child_session(
    directory: Path, deep_tail: str, subtree_head: str, stream_seconds: float
) -> dict[str, Any]:
    from tui.store.index import Index
    from tui.ui.app import ResponsesApp
    from tui.ui.screens import DeleteScreen

    out: dict[str, Any] = {}
    produced: list[float] = []
    chars: list[int] = [0]
    client = make_client(stream_seconds, produced, chars)
    index = Index.open(directory)
    app = ResponsesApp(index, LOCAL, client=client)  # the app's real debounce (0.06 s)
    debounce = app.debounce
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(2000):
            await pilot.pause()
            if app.transcript.path_keys:
                break
        out["rss_first_screen"] = peak_rss_mb()
        tree = app.forest_view

        # Cursor moves: the move alone (transcript redraw debounced away), over an idle refresh.
        tree.action_first()
        await pilot.pause()
        idle, moves = [], []
        for _ in range(50):
            t = time.perf_counter()
            await pilot.pause()
            idle.append(time.perf_counter() - t)
        app.debounce = 10.0
        for n in range(60):
            t = time.perf_counter()
            tree.action_cursor_down() if n % 2 == 0 else tree.action_cursor_up()
            await pilot.pause()
            moves.append(time.perf_counter() - t)
        base = statistics.median(idle)
        out["move_median"] = max(statistics.median(moves) - base, 0.0)
        out["move_worst"] = max(max(moves) - base, 0.0)
        if app.conversation._refresh_timer is not None:
            app.conversation._refresh_timer.stop()
            app.conversation._refresh_timer = None

        # The move as the user sees it: cursor down, then the new transcript drawn, after the
        # app's real debounce: from the key to the first frame whose transcript text is the
        # one it settles on (the scrollbar's thumb may follow a frame later).
        app.debounce = debounce
        tree.focus()
        await pilot.pause()
        redraws = []
        with Frames(app) as frames:
            await frames.settle()
            for n in range(30):
                before = app.transcript.path_keys
                await asyncio.sleep(debounce)  # single moves, as a user pressing a key
                t = time.perf_counter()
                send_key(app, "down" if n % 2 == 0 else "up")
                await frames.settle()
                shown = frames.shown_at(t)
                if app.transcript.path_keys == before or shown is None:
                    raise RuntimeError("the transcript did not follow the cursor")
                redraws.append(shown)
        out["move_redraw_median"] = statistics.median(redraws)
        out["move_redraw_worst"] = max(redraws)

        # Jump to the last and first lines (G, g) of the whole forest.
        jumps = []
        for key in ("G", "g", "G", "g"):
            t = time.perf_counter()
            tree.focus()
            await pilot.press(key)
            await pilot.pause()
            jumps.append(time.perf_counter() - t)
        out["jump_worst"] = max(jumps)

        # Scroll the fully unfolded graph (every conversation open, every run unfolded) a page
        # per key, the transcript's redraw debounced away: the graph's own cost per frame.
        forest = index.forest(SERVER)
        before_scroll = tree.snapshot()
        tree.state.open = set(forest.roots())
        tree.state.unfolded = set(forest.segments())
        tree.relayout()
        tree.focus()
        tree.action_first()
        app.debounce = 10.0
        await pilot.pause()
        pages = []
        handled: list[float] = []  # the key's action, timed
        page_down = tree.action_page_down

        def timed_page_down() -> None:
            started = time.perf_counter()
            page_down()
            handled.append(time.perf_counter() - started)

        tree.action_page_down = timed_page_down  # type: ignore[method-assign]
        with Frames(app) as frames:
            await frames.settle()
            for _ in range(40):
                # A frame's cost: the key handled (cursor and scroll moved) plus the screen
                # update that draws the new page.
                t = time.perf_counter()
                send_key(app, "pagedown")
                await frames.settle(quiet=0.05)
                pages.append(handled[-1] + frames.longest_work(t))
        del tree.action_page_down
        out["scroll_median"] = statistics.median(pages)
        out["scroll_worst"] = max(pages)
        out["scroll_lines"] = len(tree.rows)
        tree.restore(before_scroll)  # the rest of the session as a user has it: mostly closed
        if app.conversation._refresh_timer is not None:
            app.conversation._refresh_timer.stop()
            app.conversation._refresh_timer = None
        app.debounce = debounce

        # Transcript switch to the 200-turn path (and back).
        switches = []
        here = app.current
        with Frames(app) as frames:
            for _ in range(3):
                await frames.settle()
                t = time.perf_counter()
                await app.show_path((SERVER, deep_tail))
                await frames.settle()
                shown = frames.shown_at(t)
                if shown is None:
                    raise RuntimeError("no frame after the switch")
                switches.append(shown)
                await app.show_path(here)
        out["switch_median"] = statistics.median(switches)

        # Full-text search: the index builds in the background, then keystrokes.
        t = time.perf_counter()
        await app._build_search().wait()
        out["search_build"] = time.perf_counter() - t
        worst = 0.0
        for query in QUERIES:  # as if typed one keystroke at a time (best of 3 per query)
            best = 1e9
            for _ in range(3):
                t = time.perf_counter()
                app.fulltext.searcher.filter_keys(query)
                best = min(best, time.perf_counter() - t)
            worst = max(worst, best)
        out["search_worst"] = worst

        # Filter the forest as you type: the matching runs in a thread and the tree is
        # redrawn when it is done. Measured: keystroke to tree redrawn, and the longest the
        # event loop was blocked meanwhile (what typing would feel).
        filters = []
        app.action_filter()
        await pilot.pause()
        with StallMeter() as meter:
            typed = ""
            for query in ("q", "qu", "question", "question 42", "question 4242"):
                t = time.perf_counter()
                for char in query[len(typed) :]:  # typed: keys, through the real debounce
                    send_key(app, "space" if char == " " else char, char)
                typed = query
                while app.forest_view.highlight != query.split() and time.perf_counter() < t + 60:
                    await asyncio.sleep(0.005)
                await pilot.pause()
                filters.append(time.perf_counter() - t)
        app.filter_input.value = ""  # cleared as a user would: through the debounce too
        t = time.perf_counter()
        while app.forest_view.highlight and time.perf_counter() < t + 60:
            await asyncio.sleep(0.005)
        await asyncio.sleep(debounce * 2)
        await pilot.pause()
        out["filter_worst"] = max(filters)
        out["filter_stall"] = meter.longest

        # Stream absorption at 500 deltas/s. Each delta has a scheduled time (when a real
        # server would send it); its lag is the time until the transcript took it (the
        # transcript's live_delta returned with it) and until the Markdown widget had it (its
        # append, hooked: the moment its source grew; a sampler every 10 ms and once at the
        # end as well). A blocked event loop delays the mock server too, so the longest gap
        # of a 5 ms ticker is reported beside them.
        if stream_seconds > 0:
            taken: list[tuple[float, int]] = []  # (time, characters taken so far)
            shown: list[tuple[float, int]] = []  # (time, characters the Markdown holds)
            original = app.transcript.live_delta

            async def live_delta(delta: str) -> None:
                await original(delta)
                taken.append((time.perf_counter(), len(app.transcript.live_text)))

            app.transcript.live_delta = live_delta  # type: ignore[method-assign]
            original_end = app.transcript.end_live

            async def end_live(note: str = "") -> None:
                await original_end(note)  # flushes the last frame into the Markdown
                if app.transcript._live is not None:
                    shown.append((time.perf_counter(), len(app.transcript._live.source)))

            app.transcript.end_live = end_live  # type: ignore[method-assign]
            from textual.widgets import Markdown

            markdown_append = Markdown.append

            def append(widget: Any, markdown: str) -> Any:
                done = markdown_append(widget, markdown)  # the source grows here, at once
                if widget is app.transcript._live:
                    shown.append((time.perf_counter(), len(widget.source)))
                return done

            Markdown.append = append  # type: ignore[method-assign]
            tree.focus()
            await pilot.press("n")
            app.composer.set_text("stream a lot")
            app.composer.input.action_submit()  # not pilot.press: it would wait out the stream
            deadline = time.perf_counter() + stream_seconds + 60
            with StallMeter() as stream_meter:
                while time.perf_counter() < deadline:
                    await asyncio.sleep(0.01)
                    now = time.perf_counter()
                    live = app.transcript._live
                    if live is not None and produced:
                        shown.append((now, len(live.source)))
                    if produced and not app.streaming:
                        break
            await asyncio.sleep(0.1)  # the last frame's flush (deltas are drawn ~30 times/s)
            live = app.transcript._live
            if live is not None:
                shown.append((time.perf_counter(), len(live.source)))
            app.transcript.live_delta = original  # type: ignore[method-assign]
            app.transcript.end_live = original_end  # type: ignore[method-assign]
            Markdown.append = markdown_append  # type: ignore[method-assign]
            out["stream_deltas"] = len(produced)
            out["stream_samples"] = len(shown)
            out["stream_loop_gap"] = stream_meter.longest
            for name, series in (("taken", taken), ("shown", shown)):
                lags, at = [], 0
                for scheduled, total in zip(produced, chars[1:], strict=False):
                    while at < len(series) and series[at][1] < total:
                        at += 1
                    if at < len(series):
                        lags.append(max(0.0, series[at][0] - scheduled))
                if lags:
                    lags.sort()
                    out[f"stream_{name}_max"] = lags[-1]
                    out[f"stream_{name}_p95"] = lags[max(0, int(len(lags) * 0.95) - 1)]
                out[f"stream_{name}_missing"] = len(produced) - len(lags)
            for _ in range(3000):  # deletes wait for the reply to finish
                if not app.streaming:
                    break
                await asyncio.sleep(0.01)
            await pilot.pause()

        # Delete the 100-response subtree, locally (keys D, then f for "forget locally").
        head = (SERVER, subtree_head)
        tree.focus()
        app.forest_view.reveal(head)
        for _ in range(50):
            await pilot.pause()
            if app.current == head:
                break
        await pilot.press("D")
        await pilot.pause()
        if isinstance(app.screen, DeleteScreen) and app.screen.plan.count == SUBTREE:
            t = time.perf_counter()
            with StallMeter() as meter:
                await pilot.press("f")
                for _ in range(100_000):
                    await pilot.pause()
                    busy = any(w.is_running for w in app.workers if w.group == "delete")
                    if not busy and index.get(*head) is None:
                        break
                await pilot.pause()
            out["delete"] = time.perf_counter() - t
            out["delete_stall"] = meter.longest
            out["delete_ok"] = index.get(*head) is None
        else:
            out["delete_error"] = f"no delete dialog for {SUBTREE} responses ({app.screen!r})"
    index.close()
    out["rss_peak"] = peak_rss_mb()
    return out


# ------------------------------------------------------------------ the parent


def run_child(args: list[str], timeout: float) -> tuple[dict[str, Any], float]:
    spawned = time.time()
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), spawned


def appends(directory: Path, total: int, count: int = 100) -> list[float]:
    from tui.store.index import Index

    times = []
    with Index.open(directory) as index:
        index.forest(SERVER)
        tail = index.nodes(SERVER)[-1].id
        for n in range(count):
            body, inputs = response(20 * total + 50_000 + n, tail, 1_900_000_000 + n)
            t = time.perf_counter()
            index.add_response(body, server=SERVER, profile="local", input_items=inputs)
            times.append(time.perf_counter() - t)
            tail = body["id"]
    return sorted(times)


def measure_size(
    total: int, per: int, stream_seconds: float, timeout: float, runs: int
) -> dict[str, Any]:
    """Every figure of one size, `runs` times: a dict of key -> list of per-run values."""
    conversations = max(1, total // per)
    results: dict[str, Any] = {"conversations": conversations, "runs": runs}
    values: dict[str, list[float]] = {}

    def keep(run: dict[str, Any]) -> None:
        for key, value in run.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                values.setdefault(key, []).append(float(value))
            elif key not in results:
                results[key] = value

    with tempfile.TemporaryDirectory(prefix="bench-all-") as tmp:
        pristine = Path(tmp) / "pristine"
        log(f"{total:,}: building ({conversations:,} conversations + {DEEP}-turn chain + subtree)")
        deep_tail, subtree_head, build_seconds = build(pristine, total, conversations)
        keep({"build": build_seconds})
        results["responses"] = total + DEEP + SUBTREE + 1
        log(f"{total:,}: built in {build_seconds:.1f} s; {runs} runs")
        for run in range(1, runs + 1):
            directory = Path(tmp) / f"run{run}"  # each run deletes a subtree: its own copy
            shutil.copytree(pristine, directory)
            child, spawned = run_child(["--child-startup", str(directory)], timeout)
            if child["shown"] is None:
                raise RuntimeError("the first transcript was never shown")
            keep({"startup": child["shown"] - spawned, "rss_startup": child["rss"]})
            cold = Path(tmp) / f"cold{run}"  # the same, without its start-up cache
            shutil.copytree(directory, cold)
            (cold / "startup.cache").unlink()
            child, spawned = run_child(["--child-startup", str(cold)], timeout)
            shutil.rmtree(cold)
            if child["shown"] is None:
                raise RuntimeError("the first transcript was never shown")
            keep({"startup_cold": child["shown"] - spawned})
            child, _ = run_child(
                ["--child-session", str(directory), deep_tail, subtree_head, str(stream_seconds)],
                timeout,
            )
            keep(child)
            times = appends(directory, total)
            keep(
                {
                    "append_median": statistics.median(times),
                    "append_p95": times[int(len(times) * 0.95) - 1],
                    "open_forest": cold_open(directory),
                }
            )
            shutil.rmtree(directory)
            log(f"{total:,}: run {run} of {runs} done")
    results["values"] = values
    return results


def ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.1f} ms" if value < 0.1 else f"{value * 1000:.0f} ms"


def secs(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def mb(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} MB"


def count(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


class Row:
    """One line of the table: `keys` shown as "median (worst)" over the runs, joined by " / ";
    a target is checked against every run's value of `check` (the first key by default), at
    the sizes it names (all when None)."""

    def __init__(
        self,
        label: str,
        keys: tuple[str, ...],
        fmt: Any,
        target: str = "",
        limit: float | None = None,
        sizes: tuple[int, ...] | None = None,
        check: str | None = None,
    ) -> None:
        self.label, self.keys, self.fmt, self.target = label, keys, fmt, target
        self.limit, self.sizes, self.check = limit, sizes, check or keys[0]

    def cell(self, result: dict[str, Any]) -> str:
        values = result["values"]
        parts = []
        for key in self.keys:
            series = values.get(key)
            if not series:
                parts.append("–")
            elif len(series) == 1:
                parts.append(self.fmt(series[0]))
            else:
                parts.append(f"{self.fmt(statistics.median(series))} ({self.fmt(max(series))})")
        return " / ".join(parts)

    def misses(self, size: int, result: dict[str, Any]) -> tuple[int, int] | None:
        """(runs that missed the target, runs), or None when no target applies here."""
        if self.limit is None or (self.sizes is not None and size not in self.sizes):
            return None
        series = result["values"].get(self.check) or []
        return sum(1 for v in series if v >= self.limit), len(series)


STALL = "< 50 ms"
ROWS: list[Row] = [
    Row(
        "first screen, fresh process (spawn → transcript shown)",
        ("startup",),
        secs,
        "< 1 s at 100k",
        1.0,
        (100_000,),
    ),
    Row(
        "first screen without the start-up cache (a first start, or after an upgrade)",
        ("startup_cold",),
        secs,
    ),
    Row("peak RSS at first screen (fresh process)", ("rss_startup",), mb, "< 500 MB", 500),
    Row(
        "peak RSS of the app over the whole session (search index built)",
        ("rss_peak",),
        mb,
        "< 500 MB",
        500,
    ),
    Row(
        "cursor move, median of 60 (over an idle refresh; redraw debounced)",
        ("move_median",),
        ms,
        "< 16 ms",
        0.016,
    ),
    Row("cursor move, worst of 60", ("move_worst",), ms, STALL, 0.050),
    Row(
        "cursor move + transcript redrawn (key to the frame showing it; real debounce), "
        "median / worst of 30",
        ("move_redraw_median", "move_redraw_worst"),
        ms,
        "< 50 ms",
        0.050,
    ),
    Row("jump to first / last line (g, G), worst", ("jump_worst",), ms),
    Row(
        "scroll the fully unfolded graph a page per key (page down: key handled + frame made), "
        "median / worst of 40",
        ("scroll_median", "scroll_worst"),
        ms,
        "< 16 ms",
        0.016,
        None,
        "scroll_worst",
    ),
    Row("(lines of the fully unfolded graph)", ("scroll_lines",), count),
    Row(
        f"transcript switch to a {DEEP}-turn path (median of 3)",
        ("switch_median",),
        ms,
        "< 100 ms",
        0.1,
    ),
    Row(
        "stream of 500 deltas/s: lag until the transcript takes a delta, max / p95",
        ("stream_taken_max", "stream_taken_p95"),
        ms,
        "< 50 ms",
        0.05,
    ),
    Row(
        "stream of 500 deltas/s: lag until the Markdown has it (its append), max / p95",
        ("stream_shown_max", "stream_shown_p95"),
        ms,
        "< 50 ms",
        0.05,
    ),
    Row(
        "stream: deltas that never reached the Markdown",
        ("stream_shown_missing",),
        count,
        "none",
        1,
    ),
    Row(
        "longest event-loop stall from the send to the end of the stream", ("stream_loop_gap",), ms
    ),
    Row(
        "append one response, median / p95 of 100",
        ("append_median", "append_p95"),
        ms,
        "< 10 ms",
        0.010,
        None,
        "append_p95",
    ),
    Row(
        "search keystroke: full-text scan, worst (runs in a thread)",
        ("search_worst",),
        ms,
        "< 50 ms at 10k",
        0.050,
        (1_000, 10_000),
    ),
    Row("build the full-text search index (background, first use)", ("search_build",), ms),
    Row(
        "filter the forest as you type, worst keystroke (debounce included, until redrawn)",
        ("filter_worst",),
        ms,
    ),
    Row(
        "filter: longest event-loop stall while it runs (what typing feels)",
        ("filter_stall",),
        ms,
        STALL,
        0.050,
    ),
    Row("open index + build forest, fresh process", ("open_forest",), ms),
    Row(f"delete a {SUBTREE}-response subtree in the app (forget locally)", ("delete",), secs),
    Row("delete: longest event-loop stall while it runs", ("delete_stall",), ms, STALL, 0.050),
    Row("(setup) build the index with add_many", ("build",), secs),
]


def table(sizes: list[int], results: dict[int, dict[str, Any]]) -> str:
    runs = max((r.get("runs", 1) for r in results.values() if "error" not in r), default=1)
    head = "| measurement | " + " | ".join(f"{s:,}" for s in sizes) + " | target | met |"
    lines = [head, "|---" * (len(sizes) + 3) + "|"]
    counts = []
    for size in sizes:
        result = results.get(size)
        ok = result is not None and "error" not in result
        counts.append(f"{result['responses']:,} ({result['conversations']:,} conv.)" if ok else "–")
    lines.append("| responses in the index | " + " | ".join(counts) + " |  |  |")
    for row in ROWS:
        cells, verdicts = [], []
        for size in sizes:
            result = results.get(size)
            if result is None or "error" in result:
                cells.append("error" if result is not None else "–")
                continue
            cells.append(row.cell(result))
            miss = row.misses(size, result)
            if miss is not None:
                verdicts.append((size, *miss))
        if not row.target:
            met = ""
        elif not verdicts:
            met = "–"
        elif all(missed == 0 for _, missed, _ in verdicts):
            met = f"met in every run ({runs})"
        else:
            met = "**missed**: " + ", ".join(
                f"{missed} of {total} runs at {size:,}"
                for size, missed, total in verdicts
                if missed
            )
        lines.append(f"| {row.label} | " + " | ".join(cells) + f" | {row.target} | {met} |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child-startup":
        print(json.dumps(asyncio.run(child_startup(Path(sys.argv[2])))))
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--child-session":
        directory, deep_tail, subtree_head, seconds = sys.argv[2:6]
        result = asyncio.run(
            child_session(Path(directory), deep_tail, subtree_head, float(seconds))
        )
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated")
    parser.add_argument(
        "--conversations-per",
        type=int,
        default=20,
        help="responses per conversation (N / this many conversations)",
    )
    parser.add_argument("--stream-seconds", type=float, default=4.0)
    parser.add_argument("--runs", type=int, default=3, help="runs per size (3)")
    parser.add_argument("--timeout", type=float, default=1800, help="per child process (s)")
    parser.add_argument("--json", action="store_true", help="also print the raw figures")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    results: dict[int, dict[str, Any]] = {}
    started = time.perf_counter()
    for size in sizes:
        try:
            results[size] = measure_size(
                size, args.conversations_per, args.stream_seconds, args.timeout, args.runs
            )
        except Exception as error:  # report the other sizes anyway
            log(f"{size:,}: FAILED: {error}")
            results[size] = {"error": str(error)}
    if args.json:
        print(json.dumps(results, indent=2))
    print()
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, headless {SIZE[0]}x{SIZE[1]}, "
        f"the app's real debounce; {args.runs} runs per size, each cell the median over them "
        f"(the worst in brackets); {time.perf_counter() - started:.0f} s in all."
    )
    print()
    print(table(sizes, results))


if __name__ == "__main__":
    main()
