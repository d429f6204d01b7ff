"""Shared set-up for the app tests: a seeded offline backend, the demo data, a fixed clock."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tui.api.profiles import resolve_profile
from tui.demo import seed_demo
from tui.local.server import OfflineBackend
from tui.ops.connect import offline_backend, server_id
from tui.store.index import Index
from tui.ui.app import ResponsesApp

T0 = 1_790_000_000.0
LOCAL = resolve_profile("local", {})
SERVER = server_id(LOCAL)


def make_backend(directory: Path, delta_delay: float = 0.0) -> OfflineBackend:
    backend = offline_backend(directory, seed=1, delta_delay=delta_delay)
    backend.clock = lambda: T0
    return backend


def build(
    tmp_path: Path,
    *,
    demo: bool = True,
    delta_delay: float = 0.0,
    **kw: Any,
) -> tuple[ResponsesApp, Index, OfflineBackend]:
    """An app over a fresh index (with the demo conversations unless `demo=False`).
    Callable from sync code (snapshot tests) and from async tests alike."""
    backend = make_backend(tmp_path / "backend", delta_delay)
    index = Index.open(tmp_path / "index")
    if demo:
        _run(seed_demo(index, LOCAL, backend=backend, with_presets=False))
    app = ResponsesApp(index, LOCAL, backend=backend, clock=lambda: T0 + 7200, debounce=0, **kw)
    return app, index, backend


def _run(coro: Any) -> Any:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # Inside a running loop (async tests): run in a helper thread with its own loop.
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def key_of(index: Index, text: str) -> tuple[str, str]:
    """The key of the (first) response whose input starts with `text`."""
    for node in index.nodes(SERVER):
        if node.input_preview.startswith(text):
            return node.key
    raise KeyError(text)


def forget_input(index: Index, key: tuple[str, str]) -> None:
    """Record the response again as if its input had never been recorded (an import)."""
    body = index.load_body(*key)
    index.add_response(
        body["response"], server=key[0], profile="local", input_items=None, keep_input=False
    )


async def settle(pilot: Any, app: ResponsesApp, *, errors: int = 0) -> None:
    """Let workers finish (sends, imports, the filter's thread) and the UI catch up."""
    for _ in range(200):
        await pilot.pause()
        if not app.streaming and not any(w.is_running for w in app.workers):
            break
        await asyncio.sleep(0.02)
    await pilot.pause()
    await pilot.pause()
    # The app survives a bug in a worker (one notification): a test must not, unless it
    # raises one on purpose (`errors`: how many it expects so far).
    assert len(app.unexpected_errors) == errors, app.unexpected_errors


async def goto(pilot: Any, app: ResponsesApp, key: tuple[str, str]) -> None:
    """Move the tree's cursor to `key` and wait until it is the current node."""
    app.forest_view.reveal(key)
    await pilot.pause()
    await pilot.pause()
    assert app.current == key


async def type_and_send(pilot: Any, app: ResponsesApp, text: str) -> None:
    app.composer.set_text(text)
    await pilot.press("ctrl+s")
    await settle(pilot, app)


async def wait_for(pilot: Any, predicate: Any, timeout: float = 20.0) -> None:
    """Wait until `predicate()` is true; fail the test (not hang) if it is not within `timeout`
    seconds. For a state the UI reaches, instead of a fixed pause that is too short under load.
    It polls with plain sleeps (the app runs in this event loop): `pilot.pause()` waits for the
    app to be idle, which would miss a state that lasts only while the app is busy. `pilot` is
    taken so call sites read like the pilot's own waits; pause after it when a redraw matters."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"not true after {timeout} s: {predicate}")
        await asyncio.sleep(0.005)


async def show_turn(pilot: Any, key: tuple[str, str]) -> None:
    """Move the graph's cursor to `key` and wait until its path is shown as a snapshot wants
    it: the cursor on it with the graph focused, every Markdown block mounted and the
    transcript scrolled to the very end (it follows the end while the layout settles)."""
    from textual.widgets import Markdown

    app = pilot.app
    view = app.forest_view
    view.reveal(key)
    transcript = app.transcript

    def settled() -> bool:
        return (
            app.current == key
            and view.current_key == key
            and view.has_focus
            and bool(transcript.path_keys)
            and transcript.path_keys[-1] == key
            and not transcript._busy.locked()
            and all(md.is_mounted for md in transcript.query(Markdown))
            and transcript.scroll_y == transcript.max_scroll_y
        )

    await wait_for(pilot, settled)
    await pilot.pause()
    await wait_for(pilot, settled)  # still true after a refresh: nothing was left to lay out
