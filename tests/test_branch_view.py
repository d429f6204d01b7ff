"""Issue 13 in the app: what the branch view tells about the turns below and around."""

from __future__ import annotations

import itertools

from ui_helpers import SERVER, build, goto, settle

from tui.store.index import Index

_ids = itertools.count(1)


def add(index: Index, said: str, parent: str | None = None) -> str:
    n = next(_ids)
    rid = f"resp_branchview{n:016d}"
    index.add_response(
        {
            "id": rid,
            "object": "response",
            "created_at": 1_700_000_000 + n,
            "status": "completed",
            "model": "m",
            "previous_response_id": parent,
            "output": [
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": f"answer to {said}"}],
                }
            ],
        },
        server=SERVER,
        profile="local",
        input_items=[
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": said}]}
        ],
    )
    return rid


def run(index: Index, *said: str, parent: str | None = None) -> list[str]:
    ids = []
    for text in said:
        parent = add(index, text, parent)
        ids.append(parent)
    return ids


async def test_the_note_below_counts_the_turns_after_the_highlighted_one(tmp_path):
    app, index, _ = build(tmp_path, demo=False)
    ids = run(index, "one", "two", "three", "four", "five")
    run(index, "left", parent=ids[-1])
    run(index, "right", parent=ids[-1])
    async with app.run_test(size=(110, 34)) as pilot:
        notes = {}
        for n in (0, 2, 3, 4):
            await goto(pilot, app, (SERVER, ids[n]))
            await settle(pilot, app)
            shown = [str(w.content) for w in app.transcript.query(".below")]
            notes[n] = shown[0] if shown else ""
        assert notes[0] == "↓ continues for 4 more turns in this branch, then Ψ 2 branches"
        assert notes[2] == "↓ continues for 2 more turns in this branch, then Ψ 2 branches"
        assert notes[3] == "↓ continues for 1 more turn in this branch, then Ψ 2 branches"
        assert notes[4] == "Ψ 2 branches continue from here"


def header_places(app) -> list[str]:
    """The `‹ n/of ›` marks in the transcript's turn headers, top to bottom."""
    marks = []
    for head in app.transcript.query(".turn-head"):
        text = str(head.content)
        if "‹" in text:
            marks.append(text[text.index("‹") : text.index("›") + 1])
    return marks


async def test_versions_show_their_place_and_brackets_flip_them_in_place(tmp_path):
    app, index, _ = build(tmp_path, demo=False)
    (root,) = run(index, "question")
    first = run(index, "version one", parent=root)
    second = run(index, "version two", "follow-up", "and more", parent=root)
    third = run(index, "version three", "its follow-up", parent=root)
    async with app.run_test(size=(110, 40)) as pilot:
        await goto(pilot, app, (SERVER, second[-1]))
        await settle(pilot, app)
        assert header_places(app) == ["‹ 2/3 ›"]
        # From below the versioned turn: the transcript follows the other version to its end.
        await pilot.press("right_square_bracket")
        await settle(pilot, app)
        assert app.current == (SERVER, third[-1])
        assert header_places(app) == ["‹ 3/3 ›"]
        await pilot.press("right_square_bracket")  # there is no fourth: stays
        await settle(pilot, app)
        assert app.current == (SERVER, third[-1])
        await pilot.press("left_square_bracket", "left_square_bracket")
        await settle(pilot, app)
        assert app.current == (SERVER, first[-1]) and header_places(app) == ["‹ 1/3 ›"]
        # On the versioned turn itself: flip to the other version, no deeper.
        await pilot.press("right_square_bracket")
        await settle(pilot, app)
        assert app.current == (SERVER, second[0]) and header_places(app) == ["‹ 2/3 ›"]


async def test_a_single_move_redraws_at_once_and_a_held_key_when_it_rests(tmp_path, monkeypatch):
    import asyncio

    app, index, _ = build(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        app.debounce = 5.0  # far longer than the test: only the leading edge can redraw
        pane = app.conversation
        shows: list[tuple[str, str]] = []
        real_show = pane.show_path

        async def counting(key):
            shows.append(key)
            await real_show(key)

        monkeypatch.setattr(pane, "show_path", counting)
        pane._last_follow = -1e9  # the cursor has rested long
        app.forest_view.action_cursor_down()
        one = app.forest_view.current_key
        for _ in range(100):  # well under the 5 s debounce
            await asyncio.sleep(0.02)
            if shows:
                break
        assert shows == [one]
        assert app.transcript.path_keys[-1] == one
        # Moves faster than the debounce (a held key): none redrawn until the cursor rests.
        app.forest_view.action_cursor_down()
        app.forest_view.action_cursor_down()
        await pilot.pause()
        await asyncio.sleep(0.2)
        assert shows == [one]
        assert pane._refresh_timer is not None  # the redraw waits for the rest
    index.close()


async def test_moving_along_a_branch_keeps_the_turns_both_paths_share(tmp_path):
    from tui.ui.transcript import RICH_TURNS, Turn

    app, index, _ = build(tmp_path, demo=False)
    ids = run(index, *(f"step {n}" for n in range(1, 12)))
    fork = run(index, "other way", parent=ids[6])
    async with app.run_test(size=(110, 34)) as pilot:

        def turns() -> list[Turn]:
            return [w for w in app.transcript.children if isinstance(w, Turn)]

        def shown() -> list[str]:
            return [w.summary.id for w in turns()]

        await goto(pilot, app, (SERVER, ids[8]))
        await settle(pilot, app)
        before = {w.summary.id: w for w in turns()}
        assert shown() == ids[9 - RICH_TURNS : 9]
        await goto(pilot, app, (SERVER, ids[9]))  # one down
        await settle(pilot, app)
        assert shown() == ids[10 - RICH_TURNS : 10]
        after = {w.summary.id: w for w in turns()}
        # The shared turns are the same widgets (the one that was current loses its mark).
        for rid in ids[10 - RICH_TURNS : 9]:
            assert after[rid] is before[rid]
        assert [w.current for w in turns()] == [False] * (RICH_TURNS - 1) + [True]
        assert [w.has_class("-current") for w in turns()] == [False] * (RICH_TURNS - 1) + [True]
        heads = [str(w.query_one(".turn-head").render()) for w in turns()]
        assert [h.startswith("●") for h in heads] == [False] * (RICH_TURNS - 1) + [True]
        # Back up one: nothing new is drawn, the mark moves up.
        await goto(pilot, app, (SERVER, ids[8]))
        await settle(pilot, app)
        assert [w.summary.id for w in turns()] == ids[9 - RICH_TURNS : 9]
        assert all(w is after[w.summary.id] for w in turns()[1:])
        assert [w.current for w in turns()] == [False] * (RICH_TURNS - 1) + [True]
        classes = [sorted(w.classes) for w in app.transcript.children]
        assert "older" in classes[0] and "below" in classes[-1]  # around the turns, in order
        # Up one, then across to the other branch: the same result as a fresh drawing.
        await goto(pilot, app, (SERVER, fork[0]))
        await settle(pilot, app)
        assert shown() == [*ids[8 - RICH_TURNS : 7], fork[0]]
        assert [w.current for w in turns()] == [False] * (RICH_TURNS - 1) + [True]
        assert all(w.place == ((2, 2) if w.summary.id == fork[0] else None) for w in turns()[-1:])
    index.close()


async def test_a_new_path_is_painted_in_one_frame_once_it_is_all_there(tmp_path):
    # No frame is painted while the transcript swaps its turns: the old ones removed and the
    # new ones not yet mounted (or their answers still empty) would flash for a frame.
    app, index, _ = build(tmp_path, demo=False)
    first = run(index, *(f"step {n}" for n in range(8)))
    other = run(index, *(f"other {n}" for n in range(8)))
    async with app.run_test(size=(100, 30)) as pilot:
        await goto(pilot, app, (SERVER, first[-1]))
        await settle(pilot, app)
        painted: list[int] = []
        display = app._display

        def counting(screen, update):
            painted.append(len(app.transcript.path_keys))
            return display(screen, update)

        app._display = counting
        await app.conversation.show_path((SERVER, other[-1]))
        assert painted == []
        await pilot.pause()
        assert painted and app.transcript.path_keys[-1] == (SERVER, other[-1])
    index.close()


async def test_a_short_path_after_a_long_one_is_shown_from_its_top(tmp_path):
    # After a path that overflowed and was scrolled to its end, a path that fits is at the
    # top in the same layout pass that places it (else one frame shows it scrolled off).
    app, index, _ = build(tmp_path, demo=False)
    long = run(index, *(f"step {n} " + "word " * 200 for n in range(8)))
    short = run(index, "short one")
    async with app.run_test(size=(100, 30)) as pilot:
        await goto(pilot, app, (SERVER, long[-1]))
        await settle(pilot, app)
        transcript = app.transcript
        assert transcript.scroll_y > 0
        await app.conversation.show_path((SERVER, short[0]))
        assert transcript.scroll_y > 0  # not laid out yet
        transcript.arrange(transcript.size)  # what the compositor calls first
        assert transcript.scroll_y == 0
        await settle(pilot, app)
        assert transcript.scroll_y == 0
    index.close()


async def test_the_text_keeps_its_width_when_a_path_starts_to_overflow(tmp_path):
    # The scrollbar's column is kept free: a path that overflows is not wrapped one column
    # narrower a frame after it was drawn (every line of it re-wrapped, one more layout).
    from textual.widgets import Markdown

    app, index, _ = build(tmp_path, demo=False)
    short = run(index, "short one")
    long = run(index, *(f"step {n} " + "word " * 200 for n in range(8)))
    async with app.run_test(size=(100, 30)) as pilot:
        await goto(pilot, app, (SERVER, short[0]))
        await settle(pilot, app)
        narrow = app.transcript.query_one(Markdown).content_region.width
        await goto(pilot, app, (SERVER, long[-1]))
        await settle(pilot, app)
        assert app.transcript.max_scroll_y > 0
        widths = {m.content_region.width for m in app.transcript.query(Markdown)}
        assert widths == {narrow}
    index.close()


async def test_esc_in_the_transcript_goes_back_to_the_tree(tmp_path):
    # Issue 14, point 10: with the transcript focused (tab, or a click to scroll), esc did
    # nothing; it goes back to the tree, except while a reply streams (esc cancels it).
    app, index, _ = build(tmp_path, demo=False)
    ids = run(index, "first", "second")
    async with app.run_test(size=(100, 30)) as pilot:
        await goto(pilot, app, (SERVER, ids[-1]))
        app.transcript.focus()
        await pilot.pause()
        assert app.focused is app.transcript
        await pilot.press("escape")
        await pilot.pause()
        assert app.focused is app.forest_view
        app.transcript._live = object()  # a reply streaming in: esc is the App's (cancel)
        assert app.transcript.check_action("leave", ()) is False
        app.transcript._live = None
    index.close()
