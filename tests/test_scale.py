"""Scale checks: long chains and big indexes work (no recursion errors, bounded time).

The bounds are generous (CI machines are slow and shared); the figures themselves are printed
(`pytest -s tests/test_scale.py`) and measured properly by `bench/run`.
"""

from __future__ import annotations

import sys
import time

from textual.widgets import Static
from ui_helpers import SERVER, build

from tui.forest import Forest, NodeRef
from tui.store.index import Index
from tui.ui.transcript import RICH_TURNS, Turn

SIZE = (110, 34)
T0 = 1_700_000_000.0


def record(n: int, parent: str | None, prefix: str = "chain") -> tuple[dict, list]:
    rid = f"resp_{prefix}{n:08d}"
    body = {
        "id": rid,
        "object": "response",
        "created_at": T0 + n,
        "status": "completed",
        "model": "scale-model",
        "previous_response_id": parent,
        "output": [
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": f"Answer {n}.\nSecond line {n}."}],
            }
        ],
    }
    inputs = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"Q{n}"}]}
    ]
    return body, inputs


def chain(count: int, prefix: str = "chain") -> list[tuple[dict, list]]:
    out, parent = [], None
    for n in range(count):
        body, inputs = record(n, parent, prefix)
        out.append((body, inputs))
        parent = body["id"]
    return out


async def pause(pilot, times: int = 3) -> None:
    for _ in range(times):
        await pilot.pause()


# ------------------------------------------------------------------ a 5,000-turn chain, in the app


async def test_a_5000_turn_chain_renders_scrolls_and_navigates(tmp_path):
    turns = 5_000
    app, index, _ = build(tmp_path, demo=False)
    started = time.perf_counter()
    assert index.add_many(chain(turns), server=SERVER, profile="local") == turns
    added = time.perf_counter() - started
    head = (SERVER, "resp_chain00000000")
    tail = (SERVER, f"resp_chain{turns - 1:08d}")

    started = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(400):  # the first screen: the newest turn, revealed
            await pilot.pause()
            if app.transcript.path_keys:
                break
        first_screen = time.perf_counter() - started
        assert app.current == tail
        view, transcript = app.forest_view, app.transcript

        # Reveal the tail explicitly too: the cursor lands on it, the transcript follows.
        view.reveal(tail)
        await pause(pilot)
        assert view.current_key == tail
        assert transcript.path_keys[0] == head and transcript.path_keys[-1] == tail
        assert len(transcript.path_keys) == turns
        # Older turns are compact: one text for all of them, rich widgets only for the last few.
        rich = list(transcript.query(Turn))
        assert len(rich) == RICH_TURNS
        older = list(transcript.query(Static).filter(".older"))
        assert len(older) == 1
        assert f"{turns - RICH_TURNS - 30} earlier turns not shown" in str(older[0].render())

        # Scroll the transcript to the top and back to the end.
        assert transcript.max_scroll_y > 0
        transcript.scroll_home(animate=False)
        await pause(pilot)
        assert transcript.scroll_y == 0
        transcript.scroll_end(animate=False)
        await pause(pilot)
        assert transcript.scroll_y == transcript.max_scroll_y

        # The graph: one conversation, a straight rail folded to its first and last turn.
        assert view.conversations() == [head]
        assert [row.kind for row in view.rows] == ["turn", "fold", "turn"]
        assert view.rows[1].hidden == turns - 2 and view.rows[2].key == tail
        assert {row.prefix for row in view.rows} == {""}  # no nesting
        view.state.unfolded.add(head)
        view.relayout()
        assert [row.key for row in view.rows[:3]] == [head] + [
            (SERVER, f"resp_chain{n:08d}") for n in (1, 2)
        ]
        assert len(view.rows) == turns

        # g and G: the first and the last line of the tree, and the transcript follows.
        view.focus()
        await pilot.press("g")
        await pause(pilot)
        assert view.cursor == 0 and view.current_key == head
        assert app.current == head
        assert transcript.path_keys == [head]
        await pilot.press("G")
        await pause(pilot)
        assert view.cursor == len(view.rows) - 1 and view.current_key == tail
        assert app.current == tail
        assert len(transcript.path_keys) == turns
        total = time.perf_counter() - started
    index.close()
    print(
        f"\n5,000-turn chain: add_many {added:.2f} s, first screen {first_screen:.2f} s, "
        f"whole UI check {total:.2f} s"
    )
    assert first_screen < 20 and total < 40  # generous: CI machines are slow


# ------------------------------------------------------------------ the pure forest, 100,000 deep


def test_forest_of_a_100000_node_chain_has_no_recursion_limit():
    count = 100_000
    assert sys.getrecursionlimit() < count  # depth alone would blow any recursive walk
    refs = [NodeRef(n, n - 1 if n else None, float(n)) for n in range(count)]
    started = time.perf_counter()
    forest = Forest.build(refs)
    built = time.perf_counter() - started

    started = time.perf_counter()
    path = forest.path_to_root(count - 1)
    below = forest.descendants(0)
    segments = forest.segments()
    root = forest.conversation_root(count - 1)
    depth = forest.depth(count - 1)
    walked = time.perf_counter() - started

    assert forest.roots() == [0]
    assert path == list(range(count))
    assert below == list(range(1, count))
    assert len(segments) == 1 and segments[0].keys == tuple(range(count))
    assert root == 0 and depth == count - 1
    assert forest.descendants(count - 1) == []

    # A fork near the bottom and a removal in the middle (a full rebuild) still work.
    forest.add(NodeRef("fork", count - 10, float(count)))
    assert forest.has_fork(count - 10)
    assert len(forest.segments()) == 3
    forest.remove(count // 2)
    assert sorted(forest.roots(), key=str) == [0, count // 2 + 1]
    assert len(forest.path_to_root("fork")) == count - 10 - count // 2 + 1
    print(f"\n100,000-node chain: build {built * 1000:.0f} ms, walks {walked * 1000:.0f} ms")
    assert built < 10 and walked < 10


# ------------------------------------------------------------------ an index of 20,000 responses


def test_an_index_of_20000_responses_opens_and_builds_its_forest(tmp_path):
    total, chains = 20_000, 400
    directory = tmp_path / "index"
    records: list[tuple[dict, list]] = []
    parents: list[str | None] = [None] * chains
    for n in range(total):
        body, inputs = record(n, parents[n % chains], prefix="big")
        parents[n % chains] = body["id"]
        records.append((body, inputs))
    started = time.perf_counter()
    with Index.open(directory) as index:
        assert index.add_many(records, server=SERVER, profile="local") == total
    added = time.perf_counter() - started
    del records

    started = time.perf_counter()
    with Index.open(directory) as index:
        opened = time.perf_counter() - started
        forest = index.forest(SERVER)
        with_forest = time.perf_counter() - started
        assert len(index) == total and len(forest) == total
        assert len(forest.roots()) == chains
        last = (SERVER, f"resp_big{total - 1:08d}")
        assert len(forest.path_to_root(last)) == total // chains
        assert index.load_body(*last)["response"]["id"] == last[1]
        assert not index.warnings
    print(
        f"\n20,000 responses: add_many {added:.2f} s, open {opened * 1000:.0f} ms, "
        f"open + forest {with_forest * 1000:.0f} ms"
    )
    assert with_forest < 15


async def test_many_conversations_are_one_line_each(tmp_path):
    """700 conversations: one line each (closed), newest first, drawn only where on screen;
    revealing the oldest opens it where it is."""
    from ui_helpers import LOCAL, SERVER

    from tui.store.index import Index
    from tui.ui.app import ResponsesApp

    data = []
    for n in range(700):
        data.append(
            (
                {
                    "id": f"resp_page{n:027x}",
                    "object": "response",
                    "created_at": 1_000.0 + n,
                    "status": "completed",
                    "model": "m",
                    "previous_response_id": None,
                    "output": [],
                },
                [
                    {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": f"c{n}"}],
                    }
                ],
            )
        )
    index = Index.open(tmp_path / "index")
    index.add_many(data, server=SERVER, profile="local")
    app = ResponsesApp(index, LOCAL, debounce=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        view = app.forest_view
        assert len(view.conversations()) == 700 and len(view.rows) == 700
        newest = (SERVER, "resp_page" + f"{699:027x}")
        assert view.rows[0].key == newest
        oldest = (SERVER, "resp_page" + f"{0:027x}")
        view.reveal(oldest)
        await pilot.pause()
        await pilot.pause()
        assert app.current == oldest and view.cursor == 699
        assert view.scroll_offset.y > 0  # scrolled down to it
    index.close()
