"""Usage and cost in the app: the path's totals above the transcript, the subtree totals on
the graph's fork points (`$`), and the input a reply will be billed for on the composer's
status line."""

from __future__ import annotations

import httpx
from cost_kit import R1_PRICE, R2_PRICE, add_tree
from ui_helpers import T0, build, goto, key_of, settle, wait_for

from tui import cost
from tui.api.client import ResponsesClient
from tui.api.profiles import resolve_profile
from tui.store.index import Index
from tui.ui.app import ResponsesApp

SIZE = (120, 40)


def openai_app(tmp_path) -> tuple[ResponsesApp, Index, dict]:
    """An app on the openai profile (no key needed to browse) over the cost_kit tree."""
    index = Index.open(tmp_path / "index")
    keys = add_tree(index)
    profile = resolve_profile("openai", {})
    env = {"OPENAI_API_KEY": "sk-test-never-sent"}

    def no_network(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"these tests send nothing: {request.url}")

    client = ResponsesClient(profile, env=env, transport=httpx.MockTransport(no_network))
    app = ResponsesApp(index, profile, env=env, client=client, clock=lambda: T0, debounce=0)
    return app, index, keys


def header(app) -> str:
    return str(app.conversation.path_usage.render())


async def test_the_header_shows_the_paths_totals_and_cost(tmp_path):
    app, index, keys = openai_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, keys["r4"])
        await wait_for(pilot, lambda: "$" in header(app))  # once the price table is in
        total = cost.money(R1_PRICE + R2_PRICE)
        assert header(app) == (
            f"path: 3 turns · ≥ {total}, 1 turn unpriced · in 3,100 (cached 200) · "
            "out 810 (reasoning 100)"
        )
        await goto(pilot, app, keys["r1"])
        await wait_for(pilot, lambda: header(app).startswith("path: 1 turn · "))
        assert header(app) == (
            "path: 1 turn · $0.00725 · in 1,000 (cached 200) · out 500 (reasoning 100)"
        )
        await goto(pilot, app, keys["r3"])
        await wait_for(pilot, lambda: "r3" in str(app.transcript.path_keys))
        assert header(app) == (
            "path: 2 turns · ≥ $0.00725 · in 1,000 (cached 200) · out 500 (reasoning 100) · "
            "1 turn without usage"
        )
        await settle(pilot, app)
    index.close()


async def test_the_header_on_the_offline_backend_says_unknown_price_at_once(tmp_path):
    app, index, _backend = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        key = key_of(index, "Show a tiny example")
        await goto(pilot, app, key)
        path = index.forest(key[0]).path_to_root(key)
        await wait_for(pilot, lambda: app.transcript.path_keys == path)
        line = header(app)
        assert line.startswith(f"path: {len(path)} turn")
        assert "· unknown price · in " in line and "out " in line
        assert app.conversation.path_usage.display
        app.conversation.path_usage.show_path([])  # no path (the welcome screen): no line
        assert not app.conversation.path_usage.display
        await settle(pilot, app)
    index.close()


async def test_no_header_on_the_welcome_screen(tmp_path):
    app, index, _backend = build(tmp_path, demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert not app.conversation.path_usage.display
    index.close()


async def test_no_path_totals_above_a_new_conversation_while_it_streams(tmp_path):
    """A new conversation's first turn has no path above it: the totals of the path shown
    before are not left standing over it."""
    app, index, _backend = build(tmp_path, delta_delay=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, key_of(index, "Show a tiny example"))
        await wait_for(pilot, lambda: app.conversation.path_usage.display)
        await pilot.press("n")
        await pilot.pause()
        app.composer.set_text("a fresh start")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(app.transcript.live_text) > 10)
        assert app.streaming
        assert not app.conversation.path_usage.display
        await settle(pilot, app)
        assert header(app).startswith("path: 1 turn")  # its own, once recorded
    index.close()


# ------------------------------------------------------------------ $ on the graph


def line_of(app, key) -> str:
    line = app.forest_view.node_for(key)
    assert line is not None, key
    return line.label.plain


async def test_dollar_shows_and_hides_each_fork_points_subtree_totals(tmp_path):
    app, index, keys = openai_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, keys["r1"])
        view = app.forest_view
        view.focus()
        await pilot.pause()
        before = {rid: line_of(app, key) for rid, key in keys.items()}
        assert not any("[" in line for line in before.values())
        await pilot.press("dollar_sign")
        await wait_for(pilot, lambda: "$" in line_of(app, keys["r1"]))
        total = cost.money(R1_PRICE + R2_PRICE)
        # r1 forks (r2, r3): its line ends with the totals of all four turns.
        assert line_of(app, keys["r1"]).endswith(f"  [≥ {total} · 3,910 tokens]")
        for rid in ("r2", "r3", "r4"):  # not fork points: as before
            assert line_of(app, keys[rid]) == before[rid]
        drawn = "".join(s.text for s in view.render_line(view.row_of(keys["r1"])))
        assert f"[≥ {total} · 3,910 tokens]" in drawn  # what the terminal shows
        await pilot.press("dollar_sign")
        await pilot.pause()
        assert line_of(app, keys["r1"]) == before["r1"]
        await settle(pilot, app)
    index.close()


async def test_a_fork_point_on_the_offline_backend_has_an_unknown_price(tmp_path):
    app, index, _backend = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        forest_of = index.forest
        fork = next(n.key for n in index.nodes() if forest_of(n.server).has_fork(n.key))
        await goto(pilot, app, fork)
        app.forest_view.focus()
        await pilot.press("dollar_sign")
        await pilot.pause()
        assert "  [unknown price · " in line_of(app, fork)
        await settle(pilot, app)
    index.close()


# ------------------------------------------------------------------ billed input


def status_line(app) -> str:
    return str(app.composer.target.render())


async def test_the_composer_says_what_a_reply_will_be_billed_for(tmp_path):
    app, index, keys = openai_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        # r2 read 2,000 tokens and wrote 300: a reply re-reads them all.
        await goto(pilot, app, keys["r2"])
        await pilot.press("enter")
        await pilot.pause()
        assert "≈ 2,300 input tokens billed" in status_line(app)
        await pilot.press("escape")
        # A fork from r1 (it has replies): 1,000 + 500.
        await goto(pilot, app, keys["r1"])
        await pilot.press("enter")
        await pilot.pause()
        assert "new branch · ≈ 1,500 input tokens billed" in status_line(app)
        await pilot.press("escape")
        # r4 is small (110 tokens): no hint; r3 recorded no usage: none either.
        for small in ("r4", "r3"):
            await goto(pilot, app, keys[small])
            await pilot.press("enter")
            await pilot.pause()
            assert "billed" not in status_line(app), small
            await pilot.press("escape")
        # An edit of r2 re-reads r2's parent, r1.
        await goto(pilot, app, keys["r2"])
        await pilot.press("e")
        await pilot.pause()
        assert "editing" in status_line(app)
        assert "≈ 1,500 input tokens billed" in status_line(app)
        await settle(pilot, app)
    index.close()


async def test_the_price_table_loads_in_a_thread_once_and_the_lines_follow(tmp_path, monkeypatch):
    """Until the table is in, the totals show their tokens; it is loaded once per widget
    however many lines ask for it, off the UI thread; then the lines show the cost."""
    import threading

    loads = []
    real_load = cost.load_prices

    def slow_load() -> bool:
        loads.append(threading.current_thread() is threading.main_thread())
        threading.Event().wait(0.3)
        return real_load()

    monkeypatch.setattr(cost, "_calc", None)
    monkeypatch.setattr(cost, "load_prices", slow_load)
    monkeypatch.setattr("tui.cost._price", cost._price.__wrapped__)  # no cached prices
    app, index, keys = openai_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, keys["r1"])
        assert header(app).startswith("path: 1 turn · in 1,000")  # tokens, no cost yet
        app.forest_view.focus()
        await pilot.press("dollar_sign")
        await pilot.pause()
        assert line_of(app, keys["r1"]).endswith("  [3,910 tokens]")
        for _ in range(5):
            app.forest_view.forget_lines()  # drawn again: asks again
            await pilot.pause()
        await wait_for(pilot, lambda: "$" in line_of(app, keys["r1"]) and "$" in header(app))
        assert header(app).startswith("path: 1 turn · $0.00725 · in 1,000")
        assert loads == [False, False]  # once for the header, once for the graph; threads
        await settle(pilot, app)
    index.close()


async def test_in_a_narrow_graph_a_fork_point_keeps_its_cost(tmp_path):
    app, index, keys = openai_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(pilot, app, keys["r1"])
        view = app.forest_view
        view.focus()
        await pilot.press("dollar_sign")
        await wait_for(pilot, lambda: "$" in line_of(app, keys["r1"]))
        total = cost.money(R1_PRICE + R2_PRICE)
        drawn = "".join(s.text for s in view.render_line(view.row_of(keys["r1"]))).rstrip()
        assert drawn.endswith(f"  [≥ {total}]"), drawn  # the tokens give way, the cost stays
        assert "question r1"[:6] in drawn  # and what was said keeps some room
        await settle(pilot, app)
    index.close()
