"""Regenerate `screenshots/*.svg` from the `--demo` data (deterministic: fixed ids and clock).

python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.widgets import Input

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tui.api.profiles import resolve_profile  # noqa: E402
from tui.demo import seed_demo  # noqa: E402
from tui.ops.connect import offline_backend, server_id  # noqa: E402
from tui.store.index import Index  # noqa: E402
from tui.ui.app import ResponsesApp  # noqa: E402
from tui.ui.compare_screen import CompareScreen  # noqa: E402
from tui.ui.history_screens import SearchScreen  # noqa: E402

T0 = 1_790_000_000.0
OUT = ROOT / "screenshots"
LOCAL = resolve_profile("local", {})


def key_of(index: Index, text: str) -> tuple[str, str]:
    for node in index.nodes(server_id(LOCAL)):
        if node.input_preview.startswith(text):
            return node.key
    raise KeyError(text)


async def shoot(
    name: str,
    size: tuple[int, int],
    steps: Callable[[ResponsesApp, Index], Awaitable[None]] | None = None,
    delta_delay: float = 0.0,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        backend = offline_backend(Path(tmp) / "backend", seed=1, delta_delay=delta_delay)
        backend.clock = lambda: T0
        with Index.open(Path(tmp) / "index") as index:
            await seed_demo(index, LOCAL, backend=backend)
            app = ResponsesApp(index, LOCAL, backend=backend, clock=lambda: T0 + 5400, debounce=0)
            async with app.run_test(size=size, notifications=True) as pilot:
                await pilot.pause()
                if steps is not None:
                    await steps(app, index)
                    await pilot.pause(0.3)
                app.save_screenshot(filename=f"{name}.svg", path=str(OUT))
    print(f"screenshots/{name}.svg")


async def main() -> None:
    OUT.mkdir(exist_ok=True)

    async def branched(app: ResponsesApp, index: Index) -> None:
        app.forest_view.reveal(key_of(index, "Add a day trip to Sintra"))

    async def streaming(app: ResponsesApp, index: Index) -> None:
        app.forest_view.reveal(key_of(index, "Show a tiny example"))
        await asyncio.sleep(0.2)
        app.action_reply()
        app.composer.set_text("So what exactly does the GIL protect?")
        app.composer.input.action_submit()
        for _ in range(200):
            await asyncio.sleep(0.02)
            if len(app.transcript.live_text) > 160:
                break

    async def delete(app: ResponsesApp, index: Index) -> None:
        app.forest_view.reveal(key_of(index, "Make it vegetarian"))
        await asyncio.sleep(0.2)
        app.action_delete()

    async def help_screen(app: ResponsesApp, index: Index) -> None:
        app.action_help()

    async def search(app: ResponsesApp, index: Index) -> None:
        app.forest_view.reveal(key_of(index, "Add a day trip to Sintra"))
        await asyncio.sleep(0.2)
        app.action_search()
        for _ in range(100):
            await asyncio.sleep(0.02)
            if isinstance(app.screen, SearchScreen):
                break
        app.screen.query_one("#search-query", Input).value = "lisbon"
        for _ in range(100):
            await asyncio.sleep(0.02)
            if app.screen._shown == "lisbon":
                break

    async def compare(app: ResponsesApp, index: Index) -> None:
        app.forest_view.reveal(key_of(index, "Make it vegetarian"))
        await asyncio.sleep(0.2)
        app.action_compare()  # its other version, side by side
        for _ in range(100):
            await asyncio.sleep(0.02)
            if isinstance(app.screen, CompareScreen):
                break

    await shoot("main", (120, 34), branched)
    await shoot("streaming", (120, 34), streaming, delta_delay=0.03)
    await shoot("delete", (120, 34), delete)
    await shoot("help", (120, 40), help_screen)
    await shoot("search", (120, 34), search)
    await shoot("small-80x24", (80, 24), branched)
    await shoot("compare", (120, 34), compare)


if __name__ == "__main__":
    asyncio.run(main())
