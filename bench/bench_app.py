"""Benchmark the browser (issue 3 targets) on an index of N responses in C conversations.

    python bench/bench_app.py [--responses 10000] [--conversations 500]

Measures, headless (Textual's test driver, 120x40):
- first screen: from opening the index to the forest and the first transcript on screen;
- cursor move: the extra time a cursor move costs over an idle refresh, median of 50;
- transcript switch to a 200-turn path (mount + layout + render);
- stream absorption: a server streaming 500 deltas/s for 4 s; lag between a delta arriving
  from the network and the transcript taking it (max and p95).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_index import corpus  # noqa: E402

from tui.api.client import ResponsesClient  # noqa: E402
from tui.api.profiles import resolve_profile  # noqa: E402
from tui.ops.connect import server_id  # noqa: E402
from tui.store.index import Index  # noqa: E402
from tui.ui.app import ResponsesApp  # noqa: E402

LOCAL = resolve_profile("local", {})
SERVER = server_id(LOCAL)
SIZE = (120, 40)


def build_index(directory: Path, total: int, conversations: int, deep: int) -> str:
    """The corpus plus one `deep`-turn chain; returns the id of the chain's last turn."""
    data = corpus(total, conversations)
    parent = None
    for n in range(deep):
        body = {
            "id": f"resp_deep{n:027x}",
            "object": "response",
            "created_at": 1_600_000_000 + n,
            "status": "completed",
            "model": "bench",
            "previous_response_id": parent,
            "output": [
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": f"Deep answer {n}. " * 30}],
                }
            ],
        }
        inputs = [
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": f"deep {n}"}],
            }
        ]
        data.append((body, inputs))
        parent = body["id"]
    with Index.open(directory) as index:
        index.add_many(data, server=SERVER, profile="local")
    return str(parent)


async def measure(directory: Path, deep_tail: str, stream_seconds: float) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    produced: list[float] = []
    text_so_far: list[int] = [0]  # characters produced after n deltas
    samples: list[tuple[float, int]] = []  # (time, characters the transcript has taken)

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
        count = int(500 * stream_seconds)
        start = time.perf_counter()
        for n in range(count):
            target = start + n / 500
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            produced.append(target)  # when a real server would have sent it
            text_so_far.append(text_so_far[-1] + len("word " if n % 12 else "word.\n\n"))
            event = {
                "type": "response.output_text.delta",
                "item_id": "m",
                "output_index": 0,
                "content_index": 0,
                "delta": "word " if n % 12 else "word.\n\n",
            }
            yield f"data: {json.dumps(event)}\n\n".encode()
        final = {
            **created,
            "status": "completed",
            "output": [
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "done"}],
                }
            ],
        }
        yield f"data: {json.dumps({'type': 'response.completed', 'response': final})}\n\n".encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=stream_body()
        )

    client = ResponsesClient(LOCAL, env={}, transport=httpx.MockTransport(handler))
    started = time.perf_counter()
    index = Index.open(directory)
    app = ResponsesApp(index, LOCAL, client=client, debounce=0)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(200):
            await pilot.pause()
            if app.transcript.path_keys:
                break
        first = time.perf_counter() - started
        await app._build_search().wait()  # the full-text index (built on first use)
        rows.append((f"first screen ({len(index):,} responses)", f"{first * 1000:.0f} ms"))

        tree = app.forest_view
        tree.move_cursor_to_line(0)
        await pilot.pause()
        idle, moves = [], []
        for _ in range(50):
            t = time.perf_counter()
            await pilot.pause()
            idle.append(time.perf_counter() - t)
        app.debounce = 10.0  # measure the move itself, not the (debounced) transcript redraw
        for n in range(50):
            t = time.perf_counter()
            tree.action_cursor_down() if n % 2 == 0 else tree.action_cursor_up()
            await pilot.pause()
            moves.append(time.perf_counter() - t)
        cost = statistics.median(moves) - statistics.median(idle)
        rows.append(("cursor move (median, over an idle refresh)", f"{max(cost, 0) * 1000:.1f} ms"))

        switches = []
        for _ in range(3):
            t = time.perf_counter()
            await app.show_path((SERVER, deep_tail))
            await pilot.pause()
            switches.append(time.perf_counter() - t)
            await app.show_path(app.current)
            await pilot.pause()
        rows.append(
            (
                "transcript switch to a 200-turn path",
                f"{min(switches) * 1000:.0f} ms best, "
                f"{statistics.median(switches) * 1000:.0f} ms median",
            )
        )

        filters = []
        for query in ("q", "qu", "question", "question 42", "question 4242"):
            t = time.perf_counter()
            app._apply_filter(query)
            await pilot.pause()
            filters.append(time.perf_counter() - t)
        app._apply_filter("")
        await pilot.pause()
        rows.append(
            (
                "filter the forest as you type (worst of 5 keystrokes, tree redrawn)",
                f"{max(filters) * 1000:.0f} ms",
            )
        )

        app.debounce = 0
        await pilot.press("n")
        app.composer.set_text("stream a lot")
        app.composer.input.action_submit()  # not pilot.press: it would wait out the stream
        for _ in range(int(stream_seconds * 100) + 600):
            await asyncio.sleep(0.01)
            live = app.transcript._live
            if live is not None and produced:
                samples.append((time.perf_counter(), len(live.source)))
            if not app.streaming:
                break
        # Lag at a sample: the age of the oldest delta the Markdown has not taken yet.
        lags = []
        for when, shown in samples:
            pending = [
                t
                for t, total in zip(produced, text_so_far[1:], strict=False)
                if total > shown and t <= when
            ]
            lags.append(when - pending[0] if pending else 0.0)
        if lags:
            lags.sort()
            p95 = lags[int(len(lags) * 0.95) - 1]
            rows.append(
                (
                    f"stream of 500 deltas/s for {stream_seconds:g} s: display lag",
                    f"{lags[-1] * 1000:.0f} ms max, {p95 * 1000:.0f} ms p95",
                )
            )
    index.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=10_000)
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--stream-seconds", type=float, default=4.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "index"
        tail = build_index(directory, args.responses, args.conversations, deep=200)
        rows = asyncio.run(measure(directory, tail, args.stream_seconds))
    print("| measurement | figure |")
    print("|---|---|")
    for name, figure in rows:
        print(f"| {name} | {figure} |")


if __name__ == "__main__":
    main()
