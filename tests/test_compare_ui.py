"""The compare view: `=` on a turn with versions compares its answer with a sibling's (`[` `]`
choose which one), `=` on a turn without versions (or `+`) marks it and `=` on another turn
compares the two branches; esc closes. It fits 60x15, 80x24 and 120x40; a snapshot at 80x24."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console
from rich.text import Text
from textual.geometry import Region
from textual.widgets import Static
from ui_helpers import SERVER, build, goto, key_of, settle, show_turn, wait_for

from tui.compare import ADDED, REMOVED
from tui.ui.compare_screen import STYLES, CompareScreen

SIZE = (120, 40)
SIZES = [(60, 15), (80, 24), (120, 40)]
HOSTILE = "[bold red]not markup[/] \x1b]52;c;c2VjcmV0\x07 \x1b[2Jcleared? \u202eevil"


def add_sibling(index: Any, of: str, rid: str, answer: str, **settings: Any) -> tuple[str, str]:
    """One more version of the turn whose input starts with `of`: same parent, other
    settings, another answer."""
    parent = index.get(*key_of(index, of)).parent
    body = {
        "id": rid,
        "object": "response",
        "created_at": 1_790_000_100.0,
        "status": "completed",
        "model": settings.get("model", "offline-echo"),
        "previous_response_id": parent,
        "output": [
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": answer}],
            }
        ],
        "usage": {"input_tokens": 11, "output_tokens": 7},
    }
    request = {"model": "offline-echo", "previous_response_id": parent, **settings}
    said = [{"type": "message", "role": "user", "content": "Make it vegan."}]
    index.add_response(body, server=SERVER, profile="local", input_items=said, request=request)
    return (SERVER, rid)


def side(screen: CompareScreen, name: str) -> Text:
    content = screen.query_one(f"#compare-{name}", Static).content
    assert isinstance(content, Text)
    return content


def summary_text(screen: CompareScreen) -> str:
    """The summary above the columns (settings, usage) as plain text."""
    console = Console(width=110, color_system=None, file=io.StringIO())
    console.print(screen.query_one("#compare-summary", Static).content)
    return console.file.getvalue()


def footer_keys(app: Any) -> set[str]:
    """What the footer offers (the keys shown)."""
    from textual.widgets._footer import FooterKey

    return {key.description for key in app.screen.query(FooterKey) if key.display}


def styled(text: Text, style: str) -> list[str]:
    """The words of `text` shown with `style`."""
    return [text.plain[span.start : span.end].strip() for span in text.spans if span.style == style]


async def open_compare(pilot: Any, app: Any) -> CompareScreen:
    await pilot.press("equals_sign")
    await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
    await pilot.pause()
    return app.screen


async def test_equals_compares_a_turn_with_its_versions(tmp_path):
    app, index, _ = build(tmp_path)
    veg, porto = key_of(index, "Make it veg"), key_of(index, "Actually, make it Porto")
    vegan = add_sibling(index, "Make it veg", "resp_vegan", HOSTILE, temperature=0.2)
    raw = add_sibling(index, "Make it veg", "resp_raw", "Raw food only.")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await goto(pilot, app, veg)
        screen = await open_compare(pilot, app)
        assert (screen.left, screen.right) == (veg, porto)
        left, right = side(screen, "left"), side(screen, "right")
        assert "vegetarian-friendly.”" in styled(left, STYLES[REMOVED])
        assert "Porto instead of Lisbon.”" in " ".join(styled(right, STYLES[ADDED]))
        assert "strike" in STYLES[REMOVED] and "underline" in STYLES[ADDED]  # not colour alone
        title = str(screen.query_one("#compare-title", Static).content)
        assert "version 1/4" in title and "right: version 2/4" in title and "[ ]" in title
        assert "Settings: the same" in summary_text(screen)
        assert {"Close", "Prev version", "Next version"} <= footer_keys(app)

        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert screen.right == vegan
        shown = side(screen, "right").plain
        assert "[bold red]not markup[/]" in shown  # plain text, never markup
        for bad in ("\x1b", "\x07", "\u202e", "c2VjcmV0"):
            assert bad not in shown
        said = summary_text(screen)
        assert "temperature" in said and "0.2" in said, said
        assert "in 11 · out 7" in said
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert screen.right == porto
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert screen.right == raw  # round the other way
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert screen.right == porto

        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CompareScreen)
        assert app.focused is app.forest_view and app.current == veg
        await settle(pilot, app)
    index.close()


async def test_equals_on_a_turn_without_versions_marks_it_then_compares_the_branches(tmp_path):
    app, index, _ = build(tmp_path)
    trip, porto = key_of(index, "Plan a three-day"), key_of(index, "Actually, make it Porto")
    wine, veg = key_of(index, "Which port"), key_of(index, "Make it veg")
    budget = key_of(index, "Now a budget")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, app)
        await goto(pilot, app, wine)
        await pilot.press("equals_sign")
        await pilot.pause()
        assert app.compare_mark == wine and not isinstance(app.screen, CompareScreen)
        note = list(app._notifications)[-1].message
        assert "has no other version" in note and "press = to compare the two branches" in note
        await goto(pilot, app, budget)
        screen = await open_compare(pilot, app)
        assert screen.branches and app.compare_mark is None
        # The note that said how to compare is taken back: done, and not over the view.
        assert not [n for n in app._notifications if "branch comparison" in n.message]
        comparison = screen.comparison
        assert comparison.ancestor == trip
        assert comparison.left.keys == (porto, wine) and comparison.right.keys == (veg, budget)
        left = side(screen, "left").plain
        assert left.index("› Actually, make it Porto") < left.index("› Which port wine")
        assert "› Now a budget version" in side(screen, "right").plain
        assert "below resp_" in str(screen.query_one("#compare-title", Static).content)
        assert "Close" in footer_keys(app) and "Next version" not in footer_keys(app)
        await pilot.press("right_square_bracket")  # no versions to switch here
        await pilot.pause()
        assert screen.comparison is comparison
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CompareScreen)
        await settle(pilot, app)
    index.close()


def marked_lines(app) -> list:
    """The turns the graph draws marked ⇔ for a branch comparison (what the terminal shows)."""
    view = app.forest_view
    top, height = int(view.scroll_y), view.size.height

    def drawn(key) -> str:
        row = view.row_of(key) - top
        return "".join(s.text for s in view.render_line(row)) if 0 <= row < height else ""

    return [line.key for line in view.lines() if "⇔" in drawn(line.key)]


async def test_plus_marks_a_turn_with_versions_and_unmarks_it(tmp_path):
    app, index, _ = build(tmp_path)
    veg, wine = key_of(index, "Make it veg"), key_of(index, "Which port")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, app)
        await goto(pilot, app, veg)
        await pilot.press("plus")
        await pilot.pause()
        assert app.compare_mark == veg
        assert "Go to another turn and press =" in list(app._notifications)[-1].message
        assert marked_lines(app) == [veg]  # the graph shows which turn is marked
        assert app.forest_view.node_for(veg).label.plain.startswith("⇔ ")
        await pilot.press("plus")
        await pilot.pause()
        assert app.compare_mark is None and marked_lines(app) == []
        await pilot.press("plus")
        await pilot.pause()
        await pilot.press("equals_sign")  # on the marked turn itself: unmarks it
        await pilot.pause()
        assert app.compare_mark is None and not isinstance(app.screen, CompareScreen)
        await pilot.press("plus")
        await goto(pilot, app, wine)
        assert marked_lines(app) == [veg]
        screen = await open_compare(pilot, app)
        assert screen.branches and screen.left == veg and screen.right == wine
        assert marked_lines(app) == []  # compared: the mark is used up
        assert screen.comparison.left.keys == (veg,)  # below the trip: veg vs porto → wine
        await pilot.press("escape")
        await settle(pilot, app)
    index.close()


async def test_a_version_deleted_meanwhile_closes_the_view_with_a_note(tmp_path):
    app, index, _ = build(tmp_path)
    vegan = add_sibling(index, "Make it veg", "resp_vegan", "Vegan.")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, app)
        await goto(pilot, app, key_of(index, "Make it veg"))
        screen = await open_compare(pilot, app)
        index.remove(*vegan)  # as another process would
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: not isinstance(app.screen, CompareScreen))
        assert "no longer in the index" in list(app._notifications)[-1].message
        assert screen.comparison is not None
        await settle(pilot, app)
    index.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_view_fits_and_long_answers_scroll(tmp_path, size):
    app, index, _ = build(tmp_path)
    long = " ".join(f"word{n}" for n in range(3000))
    add_sibling(index, "Make it veg", "resp_long", long)
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        await goto(pilot, app, key_of(index, "Make it veg"))
        await pilot.press("left_square_bracket")  # the other way round: the last version
        await pilot.pause()
        screen = await open_compare(pilot, app)
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert screen.right == (SERVER, "resp_long")
        whole = Region(0, 0, *app.size)
        body = screen.query_one("#compare-body")
        for widget in ("#compare-title", "#compare-body", "FittingFooter"):
            region = screen.query_one(widget).region
            assert region.height and whole.contains_region(region), (widget, region)
        assert app.focused is body
        assert body.max_scroll_y > 0  # long answers scroll
        assert "cut at" in side(screen, "right").plain  # capped, and it says so
        right = screen.query_one("#compare-right")
        columns = screen.query_one("#compare-left").region, right.region
        if size[0] < 80:  # stacked
            assert columns[0].bottom <= columns[1].y
        else:
            assert columns[0].right <= columns[1].x and columns[0].y == columns[1].y
        await pilot.press("end")
        await pilot.pause()
        assert body.scroll_y == body.max_scroll_y
        assert body.region.contains(right.region.x, right.region.bottom - 1)
        await pilot.press("escape")
        await settle(pilot, app)
    index.close()


def test_snapshot_compare_80x24(snap_compare, tmp_path):
    app, index, _ = build(tmp_path)
    add_sibling(
        index,
        "Make it veg",
        "resp_" + "7" * 32,
        "**Offline backend** · turn 2 · a vegan plan: tofu, beans and pastries.",
        model="other-model",
        temperature=0.2,
    )

    async def run_before(pilot):
        await show_turn(pilot, key_of(index, "Make it veg"))
        await pilot.press("equals_sign")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CompareScreen))
        await pilot.press("left_square_bracket")
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_two_branches_100x30(snap_compare, tmp_path):
    """Two whole branches from their common ancestor: the Porto branch (marked with +) and
    the vegetarian one."""
    app, index, _ = build(tmp_path)

    async def run_before(pilot):
        await show_turn(pilot, key_of(index, "Which port"))
        await pilot.press("plus")
        await show_turn(pilot, key_of(index, "Now a budget"))
        await pilot.press("equals_sign")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CompareScreen))
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
