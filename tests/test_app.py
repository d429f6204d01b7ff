"""The browser, driven with Pilot against the offline backend (in-process)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from textual.command import CommandList, CommandPalette
from ui_helpers import (
    LOCAL,
    SERVER,
    build,
    forget_input,
    goto,
    key_of,
    settle,
    type_and_send,
    wait_for,
)

from tui.api.client import ResponsesClient
from tui.api.items import input_text, response_text
from tui.store.records import Status
from tui.ui.history_screens import SearchScreen
from tui.ui.screens import DeleteScreen, HelpScreen, ProgressScreen

SIZE = (110, 34)


def children_inputs(index, key) -> list[str]:
    forest = index.forest(SERVER)
    return [index.get(*k).input_preview for k in forest.children(key)]


# ------------------------------------------------------------------ first run and writing


async def test_first_run_is_empty_and_starts_a_conversation(tmp_path):
    app, index, _ = build(tmp_path, demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.conversation.mode == "new"
        assert app.focused is app.composer.input
        assert "new conversation" in str(app.composer.target.render())
        await type_and_send(pilot, app, "Hello, offline world")
        nodes = index.nodes(SERVER)
        assert [n.input_preview for n in nodes] == ["Hello, offline world"]
        assert nodes[0].status == Status.STORED
        assert app.current == nodes[0].key
        assert app.composer.text == ""  # sent: the composer is ready for the next message
        assert app.forest_view.node_for(nodes[0].key) is not None
    index.close()


async def test_enter_replies_to_the_highlighted_response(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        tail = key_of(index, "Show a tiny example")
        await goto(pilot, app, tail)
        await pilot.press("enter")
        assert app.focused is app.composer.input
        assert "reply to" in str(app.composer.target.render())
        await type_and_send(pilot, app, "And with processes?")
        assert children_inputs(index, tail) == ["And with processes?"]
        new = index.forest(SERVER).children(tail)[0]
        assert app.current == new
        body = index.load_body(*new)
        assert body["response"]["previous_response_id"] == tail[1]
        assert "2 earlier turns" in response_text(body["response"])
    index.close()


async def test_reply_to_a_node_with_children_forks(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        root = key_of(index, "Plan a three-day trip")
        await goto(pilot, app, root)
        await pilot.press("enter")
        assert "new branch" in str(app.composer.target.render())
        await type_and_send(pilot, app, "Or Madrid?")
        assert children_inputs(index, root) == [
            "Make it vegetarian-friendly.",
            "Actually, make it Porto instead of Lisbon.",
            "Or Madrid?",
        ]
        # Instructions are not carried by previous_response_id: the fork resends them.
        new = index.forest(SERVER).children(root)[-1]
        assert index.load_body(*new)["response"]["instructions"] == "Be concise and practical."
    index.close()


async def test_n_starts_a_new_conversation(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        roots_before = len(index.forest(SERVER).roots())
        await pilot.press("n")
        assert "new conversation" in str(app.composer.target.render())
        await type_and_send(pilot, app, "Fresh start")
        forest = index.forest(SERVER)
        assert len(forest.roots()) == roots_before + 1
        assert index.get(*app.current).input_preview == "Fresh start"
        assert forest.parent(app.current) is None
    index.close()


async def test_e_edits_a_turn_into_a_sibling(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        sintra = key_of(index, "Add a day trip to Sintra")
        veg = key_of(index, "Make it vegetarian")
        await goto(pilot, app, sintra)
        await pilot.press("e")
        assert app.composer.text == "Add a day trip to Sintra on day two."
        assert "editing" in str(app.composer.target.render())
        await type_and_send(pilot, app, "Add a day trip to Cascais on day two.")
        assert children_inputs(index, veg)[-1] == "Add a day trip to Cascais on day two."
        assert app.conversation.mode == "reply"
    index.close()


async def test_escape_leaves_an_edit_without_sending(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, key_of(index, "Add a day trip to Sintra"))
        count = len(index)
        await pilot.press("e", "escape")
        assert app.conversation.mode == "reply" and app.composer.text == ""
        assert app.focused is app.forest_view
        assert len(index) == count
    index.close()


async def test_r_regenerates_with_the_same_input(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        sintra = key_of(index, "Add a day trip to Sintra")
        veg = key_of(index, "Make it vegetarian")
        await goto(pilot, app, sintra)
        await pilot.press("r")
        await settle(pilot, app)
        inputs = children_inputs(index, veg)
        assert inputs.count("Add a day trip to Sintra on day two.") == 2
        new = app.current
        assert new != sintra and index.forest(SERVER).parent(new) == veg
        assert input_text(index.load_body(*new)["input"]) == "Add a day trip to Sintra on day two."
    index.close()


async def test_regenerate_without_recorded_input_says_why(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        key = key_of(index, "Explain Python's GIL")
        forget_input(index, key)
        await goto(pilot, app, key)
        count = len(index)
        await pilot.press("r")
        await pilot.pause()
        assert len(index) == count
        assert any("not recorded" in str(n.message) for n in app._notifications)
    index.close()


# ------------------------------------------------------------------ streaming


async def test_streaming_shows_the_node_at_once_and_escape_keeps_the_partial(tmp_path):
    app, index, _ = build(tmp_path, delta_delay=0.05)
    async with app.run_test(size=SIZE) as pilot:
        tail = key_of(index, "Show a tiny example")
        await goto(pilot, app, tail)
        await pilot.press("enter")
        app.composer.set_text("Stream slowly please")
        await pilot.press("ctrl+s")
        for _ in range(100):
            await asyncio.sleep(0.05)
            if app.conversation.live_key and len(app.transcript.live_text) > 40:
                break
        live = app.conversation.live_key
        assert live is not None
        # The tree has the node while the reply is still streaming.
        assert app.forest_view.node_for(live) is not None
        assert index.get(*live).status == Status.INCOMPLETE
        await pilot.press("escape")
        await settle(pilot, app)
        summary = index.get(*live)
        assert summary.status == Status.INCOMPLETE
        partial = response_text(index.load_body(*live)["response"])
        assert partial and "Set an API key" not in partial  # cut before the end
        assert not app.streaming
    index.close()


async def test_failed_send_keeps_the_text_and_shows_the_message(tmp_path):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400, json={"error": {"message": "model 'nope' does not exist", "type": "x"}}
        )

    client = ResponsesClient(LOCAL, env={}, transport=httpx.MockTransport(handler))
    app, index, _ = build(tmp_path, client=client)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await goto(pilot, app, key_of(index, "Show a tiny example"))
        count = len(index)
        await pilot.press("enter")
        await type_and_send(pilot, app, "This must not be lost")
        assert app.composer.text == "This must not be lost"
        assert len(index) == count
        messages = [str(n.message) for n in app._notifications]
        assert any("does not exist" in m for m in messages), messages
    index.close()


async def test_stream_cut_midway_keeps_partial_marked_incomplete(tmp_path):
    created = {
        "id": "resp_" + "c" * 32,
        "object": "response",
        "created_at": 1.0,
        "status": "in_progress",
        "model": "offline-echo",
        "output": [],
    }

    async def body():
        yield (
            b"event: response.created\ndata: "
            + httpx.Response(200, json={"type": "response.created", "response": created}).content
            + b"\n\n"
        )
        for word in ("Half ", "an ", "answer"):
            yield (
                b'data: {"type":"response.output_text.delta","item_id":"m","output_index":0,'
                b'"content_index":0,"delta":"' + word.encode() + b'"}\n\n'
            )

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    client = ResponsesClient(LOCAL, env={}, transport=httpx.MockTransport(handler))
    app, index, _ = build(tmp_path, client=client)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("n")
        await type_and_send(pilot, app, "Tell me everything")
        summary = index.get(SERVER, created["id"])
        assert summary is not None and summary.status == Status.INCOMPLETE
        assert response_text(index.load_body(SERVER, created["id"])["response"]) == (
            "Half an answer"
        )
        assert any("stream" in str(n.message) for n in app._notifications)
    index.close()


# ------------------------------------------------------------------ navigation


async def test_movement_keys(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        graph = app.forest_view
        await pilot.press("g")
        assert graph.cursor == 0
        await pilot.press("j")
        assert graph.cursor == 1
        await pilot.press("k")
        assert graph.cursor == 0
        await pilot.press("down", "up")
        assert graph.cursor == 0
        await pilot.press("G")
        assert graph.cursor == len(graph.rows) - 1
        # h closes the trip's fork, then the conversation; l opens them again, one at a time.
        root = key_of(index, "Plan a three-day trip")
        veg = key_of(index, "Make it vegetarian")
        await goto(pilot, app, root)
        assert graph.node_for(veg) is not None
        await pilot.press("h")
        assert graph.node_for(veg) is None and graph.node_for(root).row.closed
        await pilot.press("h")
        turns = 1 + len(index.forest(SERVER).descendants(root))
        assert graph.node_for(root).row.closed
        assert f"{turns} turns" in graph.node_for(root).label.plain
        await pilot.press("l")
        assert graph.node_for(veg) is None  # the conversation is open, its fork still closed
        await pilot.press("l")
        assert graph.node_for(veg) is not None
        await pilot.press("l")  # on an open turn: down to its first reply
        await pilot.pause()
        assert app.current == veg
        await pilot.press("h")  # veg is a fork: it closes; again: up to the turn above
        assert graph.node_for(veg).row.closed
        await pilot.press("h")
        await pilot.pause()
        assert app.current == root
    index.close()


async def test_parent_and_sibling_keys(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        sintra = key_of(index, "Add a day trip to Sintra")
        budget = key_of(index, "Now a budget version")
        veg = key_of(index, "Make it vegetarian")
        porto = key_of(index, "Actually, make it Porto")
        await goto(pilot, app, sintra)
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert app.current == budget
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert app.current == sintra
        await pilot.press("p")
        await pilot.pause()
        assert app.current == veg
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert app.current == porto
    index.close()


async def test_transcript_shows_the_path_and_marks_the_current_turn(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        sintra = key_of(index, "Add a day trip to Sintra")
        await goto(pilot, app, sintra)
        await pilot.pause()
        forest = index.forest(SERVER)
        assert app.transcript.path_keys == forest.path_to_root(sintra)
        current = app.transcript.query(".turn.-current")
        assert len(current) == 1
    index.close()


# ------------------------------------------------------------------ delete


async def test_d_deletes_a_leaf_on_the_server_and_locally(tmp_path):
    app, index, backend = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        budget = key_of(index, "Now a budget version")
        await goto(pilot, app, budget)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DeleteScreen)
        text = str(app.screen.query_one("#delete-text").render())
        assert "Delete this turn on the offline backend?" in text and "permanent" in text
        assert "“Now a budget version" in text
        await pilot.press("s")
        await settle(pilot, app)
        assert index.get(*budget) is None
        assert backend.store.get(budget[1]) is None
        assert app.current == key_of(index, "Make it vegetarian")
    index.close()


async def test_d_on_a_node_with_later_turns_keeps_a_tombstone(tmp_path):
    app, index, backend = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        veg = key_of(index, "Make it vegetarian")
        await goto(pilot, app, veg)
        await pilot.press("d")
        await pilot.pause()
        assert "stay on the server" in str(app.screen.query_one("#delete-text").render())
        await pilot.press("s")
        await settle(pilot, app)
        assert backend.store.get(veg[1]) is None
        assert index.get(*veg).status == Status.DELETED
        assert len(index.forest(SERVER).children(veg)) == 2
    index.close()


async def test_shift_d_deletes_the_subtree_with_progress(tmp_path):
    app, index, backend = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        veg = key_of(index, "Make it vegetarian")
        doomed = [veg, key_of(index, "Add a day trip"), key_of(index, "Now a budget")]
        await goto(pilot, app, veg)
        await pilot.press("D")
        await pilot.pause()
        assert "this turn and 2 below" in str(app.screen.query_one("#delete-text").render())
        seen_progress = []
        original = app.push_screen

        def spy(screen, *args, **kwargs):
            seen_progress.append(isinstance(screen, ProgressScreen))
            return original(screen, *args, **kwargs)

        app.push_screen = spy
        await pilot.press("s")
        await settle(pilot, app)
        assert any(seen_progress)
        assert all(index.get(*k) is None for k in doomed)
        assert all(backend.store.get(k[1]) is None for k in doomed)
        root = key_of(index, "Plan a three-day trip")
        assert app.current == root  # the nearest turn that is left: the parent
        porto = key_of(index, "Actually, make it Porto")
        assert app.forest_view.node_for(porto) is not None  # the view did not fold up
    index.close()


async def test_a_delete_keeps_every_other_branch_as_it_was(tmp_path):
    """A delete moves the cursor to the nearest turn that is left and folds nothing up."""
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        view = app.forest_view
        gil = key_of(index, "Explain Python's GIL")
        gil_reply = index.forest(SERVER).children(gil)[0]
        view.reveal(gil_reply, move=False)
        root = key_of(index, "Plan a three-day trip")
        sintra = key_of(index, "Add a day trip to Sintra")
        budget = key_of(index, "Now a budget version")
        await goto(pilot, app, sintra)
        await settle(pilot, app)
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("f")  # forget locally
        await settle(pilot, app)
        assert index.get(*sintra) is None
        veg = key_of(index, "Make it vegetarian")
        assert app.current == veg  # the parent of what went
        assert view.current_key == veg
        assert view.node_for(gil_reply) is not None  # another conversation stays open
        assert view.node_for(budget) is not None  # the sibling branch too
        porto = key_of(index, "Actually, make it Porto")
        assert view.node_for(porto) is not None and view.node_for(root) is not None
        assert view.node_for(sintra) is None
    index.close()


async def test_filter_and_search_match_off_the_event_loop(tmp_path):
    import threading

    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await app._build_search().wait()
        threads: list[bool] = []
        searcher = app.fulltext.searcher
        matching, search = searcher.matching_keys, searcher.search

        def matching_spy(query):
            threads.append(threading.current_thread() is threading.main_thread())
            return matching(query)

        def search_spy(query, limit=200):
            threads.append(threading.current_thread() is threading.main_thread())
            return search(query, limit)

        searcher.matching_keys = matching_spy
        searcher.search = search_spy
        await pilot.press("slash", *"port")
        await settle(pilot, app)
        assert key_of(index, "Which port wine") in app.forest_view.filter_keys
        await pilot.press("escape", "ctrl+f")
        for _ in range(100):
            await pilot.pause()
            if isinstance(app.screen, SearchScreen):
                break
        await pilot.press(*"sintra")
        for _ in range(100):
            await pilot.pause()
            if app.screen._shown == "sintra":
                break
        assert app.screen.hits and app.screen.hits[0].key == key_of(index, "Add a day trip")
        assert threads and not any(threads)  # every match ran in a worker thread
    index.close()


async def test_forget_locally_leaves_the_server_alone(tmp_path):
    app, index, backend = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        budget = key_of(index, "Now a budget version")
        await goto(pilot, app, budget)
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("f")
        await settle(pilot, app)
        assert index.get(*budget) is None
        assert backend.store.get(budget[1]) is not None
    index.close()


async def test_delete_can_be_cancelled(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        budget = key_of(index, "Now a budget version")
        await goto(pilot, app, budget)
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DeleteScreen)
        assert index.get(*budget) is not None
    index.close()


async def test_delete_failure_is_reported_and_kept(tmp_path):
    app, index, _ = build(tmp_path)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error": {"message": "disk on fire"}})

    async def no_sleep(_s: float) -> None:
        return None

    app.client = ResponsesClient(
        LOCAL, env={}, transport=httpx.MockTransport(handler), sleep=no_sleep
    )
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        budget = key_of(index, "Now a budget version")
        await goto(pilot, app, budget)
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("s")
        await settle(pilot, app)
        assert index.get(*budget) is not None
        assert any("disk on fire" in str(n.message) for n in app._notifications)
    index.close()


# ------------------------------------------------------------------ copy, filter, help, palette


@pytest.fixture
def native_clipboard(monkeypatch):
    copied: list[str] = []
    monkeypatch.setattr("pyperclip.copy", copied.append)
    return copied


async def test_copy_keys(tmp_path, native_clipboard):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        sintra = key_of(index, "Add a day trip to Sintra")
        await goto(pilot, app, sintra)
        await pilot.press("y", "y")  # it has a code block: y again copies the whole answer
        answer = response_text(index.load_body(*sintra)["response"])
        assert app.clipboard == answer
        assert native_clipboard[-1] == answer
        await pilot.press("Y")
        assert app.clipboard == sintra[1]
        await pilot.press("c")
        markdown = app.clipboard
        assert markdown.index("Plan a three-day trip") < markdown.index("Add a day trip")
        assert "## Turn 3" in markdown
        assert any("Copied" in str(n.message) for n in app._notifications)
    index.close()


async def test_copy_works_without_a_native_clipboard(tmp_path, monkeypatch):
    import pyperclip

    def broken(_text: str) -> None:
        raise pyperclip.PyperclipException("no clipboard here")

    monkeypatch.setattr("pyperclip.copy", broken)
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        key = key_of(index, "Show a tiny example")
        await goto(pilot, app, key)
        await pilot.press("Y")
        assert app.clipboard == key[1]  # OSC 52 still carried it
    index.close()


async def test_slash_filters_the_forest_and_esc_gives_the_view_back(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        view = app.forest_view
        gil = key_of(index, "Explain Python's GIL")
        await goto(pilot, app, gil)
        await settle(pilot, app)
        before = [line.key for line in view.lines()]
        await pilot.press("slash")
        assert app.focused is app.filter_input
        await pilot.press(*"port")
        await settle(pilot, app)
        assert view.conversations() == [key_of(index, "Plan a three-day trip")]
        assert view.node_for(key_of(index, "Which port wine")) is not None
        await pilot.press("escape")  # in the filter box: the view from before, cursor included
        await settle(pilot, app)
        assert view.filter_keys is None and len(view.conversations()) == 4
        assert [line.key for line in view.lines()] == before
        assert view.current_key == gil and app.focused is view
        # esc in the forest clears a filter too, after enter took the cursor to the results.
        await pilot.press("slash", *"port", "enter")
        await settle(pilot, app)
        assert app.focused is view and view.filter_keys
        await pilot.press("j")
        await pilot.press("escape")
        await settle(pilot, app)
        assert view.filter_keys is None and not app.filter_input.display
        assert [line.key for line in view.lines()] == before and view.current_key == gil
    index.close()


async def test_the_filter_works_out_the_turns_it_shows_in_its_thread(tmp_path):
    # The turns above the matches (what the graph shows) are gathered with the matches, in
    # the filter's thread: at 100,000 responses, in the event loop, that stalled typing by
    # ~0.15 s per keystroke.
    import threading

    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        graph = app.forest_view
        threads: list[bool] = []
        original = graph.with_ancestors

        def with_ancestors(keys):
            threads.append(threading.current_thread() is threading.main_thread())
            return original(keys)

        graph.with_ancestors = with_ancestors  # type: ignore[method-assign]
        app.forest_pane.apply_filter("port")
        await settle(pilot, app)
        port = key_of(index, "Which port wine")
        assert port in graph.filter_keys
        assert threads == [False]
        assert port in graph.shown and graph.shown >= set(index.forest(port[0]).path_to_root(port))
    index.close()


async def test_a_filter_result_overtaken_by_typing_is_dropped(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.forest_pane.apply_filter("port")
        await settle(pilot, app)
        assert app.forest_view.filter_keys
        app.forest_pane.apply_filter(
            ""
        )  # cleared while a slow "lisbon" result was still on its way
        app.forest_pane.show_filter("lisbon", [key_of(index, "Which port wine")])
        await pilot.pause()
        assert app.forest_view.filter_keys is None
        assert len(app.forest_view.conversations()) == 4
        app.forest_pane.apply_filter("port wine")
        app.forest_pane.show_filter("port", [])  # the earlier keystroke's result, arriving late
        assert app.forest_view.filter_keys != set()
        await settle(pilot, app)
        assert key_of(index, "Which port wine") in app.forest_view.filter_keys
    index.close()


async def test_the_app_tunes_the_garbage_collector_and_freezes_its_first_screen(tmp_path):
    import gc

    import tui.gcpause as gcpause

    app, index, _ = build(tmp_path)
    saved = gc.get_threshold()
    gcpause._frozen_once = False  # as in a fresh process
    gc.unfreeze()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, app)
            assert gc.get_threshold() == (
                gcpause.YOUNG_GENERATION,
                gcpause.MIDDLE_GENERATION,
                gcpause.NEVER,
            )
            assert gc.get_freeze_count() > 0  # the first screen's objects
            # Input holds the full collections off; the app asks for one a few times a second.
            ticks: list[bool] = []
            app.collector.tick = lambda busy: ticks.append(busy)  # type: ignore[method-assign]
            app.collector.last_activity = 0.0
            await pilot.press("j")
            assert app.collector.last_activity > 0.0
            await pilot.pause(0.6)
            assert ticks and not any(ticks)
    finally:
        gc.set_threshold(*saved)
        gc.unfreeze()
    index.close()


async def test_help_screen(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = app.export_screenshot().replace("&#160;", " ")
        assert "esc (or ?) closes this" in text  # the help says how to leave it
        for key in ("enter", "regenerate", "filter", "ctrl+s", "ctrl+j", "ctrl+e"):
            assert key in text
        assert "ctrl+q" not in text  # the end of the help is below: it scrolls
        await pilot.press("pagedown")
        await pilot.pause()
        assert "delete this response" in app.export_screenshot().replace("&#160;", " ")
        await pilot.press("end")
        await pilot.pause()
        text = app.export_screenshot().replace("&#160;", " ")
        for key in ("ctrl+q", "command palette", "Dialogs", "approve / deny", "delete"):
            assert key in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
    index.close()


async def test_command_palette_runs_actions(tmp_path, native_clipboard):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        key = key_of(index, "Show a tiny example")
        await goto(pilot, app, key)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"copy the response id")

        def top_hit() -> str:  # the search runs asynchronously: wait for its best hit
            if not isinstance(app.screen, CommandPalette):
                return ""
            hits = app.screen.query_one(CommandList)
            option = hits.highlighted_option
            return str(option.prompt) if option is not None else ""

        await wait_for(pilot, lambda: "response id" in top_hit().lower())
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.clipboard == key[1])
    index.close()


async def test_the_palette_lists_each_action_once(tmp_path):
    # Issue 14, point 10: Textual's own Quit and Keys came beside ours (Quit twice, and two
    # helps); Textual's Theme, Maximize and Screenshot stay.
    from tui.ui.keys import palette_entries

    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE):
        system = [c.title for c in app.get_system_commands(app.screen)]
        ours = [e.title for e in palette_entries(app.keymap)]
        titles = [title.lower() for title in system + ours]
        assert "Theme" in system and "Quit" in ours and "Help: all keys" in ours
        assert len(titles) == len(set(titles))
        assert not any(t in ("quit", "keys") for t in (s.lower() for s in system))
    index.close()


async def test_question_mark_opens_the_help_on_every_screen_but_types_in_a_text_box(tmp_path):
    # Issue 14, point 10: ? did nothing on the tools screen and in dialogs.
    from textual.widgets import Input

    from tui.ui.name_screens import NameScreen
    from tui.ui.tools_screen import ToolsScreen

    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ToolsScreen))
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("question_mark")  # ? closes it again
        await wait_for(pilot, lambda: isinstance(app.screen, ToolsScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.screen_stack[0])
        await app.push_screen(NameScreen("Title", "", "a title"))
        await pilot.pause()
        await pilot.press("w", "h", "y", "question_mark")  # in its text box: typed
        await pilot.pause()
        assert isinstance(app.screen, NameScreen)
        assert app.screen.query_one(Input).value == "why?"
    index.close()


async def test_q_quits(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert app._exit_renderables is not None or not app.is_running
    assert app.return_code == 0
    index.close()


async def test_keys_typed_in_the_composer_are_text(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press(*"dq?y")
        assert app.composer.text == "dq?y"
        assert app.is_running and not isinstance(app.screen, DeleteScreen)
    index.close()


# ------------------------------------------------------------------ safety


async def test_model_text_is_never_markup_or_escapes(tmp_path):
    hostile = "[bold]x[/] [/] \x1b]52;c;SGVsbG8=\x07 \x1b[31mred\x1b[0m \x9b2J done"
    app, index, _ = build(tmp_path, demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, hostile)
        key = app.current
        label = app.forest_view.node_for(key).label.plain
        assert "[bold]x[/]" in label
        assert "\x1b" not in label and "\x9b" not in label and "\x07" not in label
        screen_text = app.export_screenshot()
        assert "[bold]x[/]" in screen_text.replace("&#160;", " ")
        for turn in app.transcript.query(".user"):
            plain = str(turn.render())
            assert "\x1b" not in plain and "\x07" not in plain
        # The offline reply quotes the text back: the answer is shown inert too.
        from textual.widgets import Markdown

        # The transcript is redrawn with the recorded reply after the send returns.
        await wait_for(pilot, lambda: any(app.transcript.query(Markdown)))
        sources = [md.source for md in app.transcript.query(Markdown)]
        assert sources and all("\x1b" not in s and "\x9b" not in s for s in sources)
        assert any("[bold]x[/]" in s for s in sources)
    index.close()


# ------------------------------------------------------------------ scale


def _chain(index, n: int) -> tuple[str, str]:
    parent = None
    data = []
    for i in range(n):
        rid = f"resp_chain{i:026x}"
        data.append(
            (
                {
                    "id": rid,
                    "object": "response",
                    "created_at": 1_000.0 + i,
                    "status": "completed",
                    "model": "m",
                    "previous_response_id": parent,
                    "output": [
                        {
                            "type": "message",
                            "role": "assistant",
                            "content": [{"type": "output_text", "text": f"answer {i}"}],
                        }
                    ],
                },
                [
                    {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": f"q{i}"}],
                    }
                ],
            )
        )
        parent = rid
    index.add_many(data, server=SERVER, profile="local")
    return (SERVER, parent)


async def test_a_1000_turn_chain_is_one_segment_and_renders_cheaply(tmp_path):
    from tui.ui.transcript import OLDER_SHOWN, RICH_TURNS, Turn

    app, index, _ = build(tmp_path, demo=False)
    tail = _chain(index, 1000)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await goto(pilot, app, tail)
        await pilot.pause()
        # A straight rail folded to its first and last turn (no nesting, three lines).
        view = app.forest_view
        assert [row.kind for row in view.rows] == ["turn", "fold", "turn"]
        assert view.rows[1].hidden == 998 and view.current_key == tail
        # The transcript: the last turns in full, older ones as one compact text.
        assert len(app.transcript.query(Turn)) == RICH_TURNS
        older = app.transcript.query_one(".older")
        assert f"{1000 - RICH_TURNS - OLDER_SHOWN} earlier turns not shown" in str(older.render())
        await pilot.press("k", "l")  # unfold: a thousand lines at one depth
        assert len(view.rows) == 1000 and {row.prefix for row in view.rows} == {""}
        await pilot.press("g")
        await pilot.pause()
        assert app.forest_view.cursor == 0
    index.close()


async def test_a_new_conversation_appears_once_in_the_tree(tmp_path):
    app, index, _ = build(tmp_path, demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "only once")
        first = app.current
        await type_and_send(pilot, app, "and then this")  # continues the conversation
        await pilot.pause()
        labels = app.forest_view.conversations()
        assert len(labels) == 1, labels
        assert index.forest(SERVER).parent(app.current) == first
    index.close()


async def test_f1_opens_help_from_the_composer(tmp_path):
    app, index, _ = build(tmp_path, demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.focused is app.composer.input
        await pilot.press("question_mark")
        assert app.composer.text == "?"  # in the composer, ? is text
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
    index.close()


async def test_reasoning_and_tool_activity_are_collapsed_entries(tmp_path):
    from textual.widgets import Collapsible, Markdown

    app, index, _ = build(tmp_path, demo=False)
    response = {
        "id": "resp_" + "7" * 32,
        "object": "response",
        "created_at": 1_790_000_000.0,
        "status": "completed",
        "model": "accounts/fireworks/models/qwen3",
        "previous_response_id": None,
        "output": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "weighing"}]},
            {"type": "mcp_list_tools", "server_label": "wiki", "tools": [{"name": "read"}]},
            {
                "id": "call_1",
                "type": "mcp_call",
                "mcp": {"name": "read_wiki_structure", "arguments": {"repoName": "x"}},
            },
            {"type": "tool_output", "tool_call_id": "call_1", "output": "meta=None"},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "<think>secret plan</think>Paris."}],
            },
        ],
    }
    index.add_response(response, server=SERVER, profile="local", input_items=None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await goto(pilot, app, (SERVER, response["id"]))
        await pilot.pause()
        entries = list(app.transcript.query(Collapsible))
        titles = [str(c.title) for c in entries]
        assert all(c.collapsed for c in entries)
        assert titles.count("Reasoning") == 2  # the reasoning item and the <think> block
        assert any("read_wiki_structure" in t and "repoName" in t for t in titles)
        assert any("wiki: 1 tools" in t for t in titles)
        answer = app.transcript.query(Markdown).last()
        assert answer.source == "Paris."
        assert "input not recorded" in str(app.transcript.query(".user").first().render())
    index.close()


async def test_ctrl_d_deletes_the_whole_conversation(tmp_path):
    app, index, backend = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        root = key_of(index, "Plan a three-day trip")
        everything = [root, *index.forest(SERVER).descendants(root)]
        await goto(pilot, app, key_of(index, "Add a day trip to Sintra"))
        await pilot.press("ctrl+d")
        await pilot.pause()
        text = str(app.screen.query_one("#delete-text").render())
        assert f"the whole conversation ({len(everything)} turns)" in text
        assert "starting at “Plan a three-day trip" in text
        await pilot.press("s")
        await settle(pilot, app)
        assert all(index.get(*k) is None for k in everything)
        assert all(backend.store.get(k[1]) is None for k in everything)
        assert key_of(index, "Explain Python's GIL")  # other conversations untouched
    index.close()


async def test_ctrl_enter_also_sends(tmp_path):
    app, index, _ = build(tmp_path, demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.composer.set_text("sent with ctrl+enter")
        await pilot.press("ctrl+enter")
        await settle(pilot, app)
        assert [n.input_preview for n in index.nodes(SERVER)] == ["sent with ctrl+enter"]
    index.close()


async def test_a_new_conversation_streams_in_full_with_the_debounced_redraw(tmp_path):
    """Regression: the new root moves the cursor; a pending redraw must not replace the
    streaming turn (the reply used to stop showing after its first few words)."""
    app, index, _ = build(tmp_path, delta_delay=0.005)
    app.debounce = 0.06  # as in the real app
    seen: list[int] = []
    original = app.transcript.end_live

    async def end_live(note: str = "") -> None:
        seen.append(len(app.transcript.live_text))
        await original(note)

    app.transcript.end_live = end_live
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await type_and_send(pilot, app, "a brand new conversation, streamed")
        answer = response_text(index.load_body(*app.current)["response"])
        assert seen and seen[-1] == len(answer)
    index.close()
