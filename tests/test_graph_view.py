"""The graph widget (tui/ui/graph_view.py) on its own: drawing, keys, mouse, messages."""

from __future__ import annotations

from textual.app import App, ComposeResult

from tui.forest import Forest, NodeRef
from tui.graph import GraphState
from tui.ui.graph_view import GraphView


def build(spec: dict[str, str | None]) -> Forest:
    refs: list[NodeRef] = []
    for keys, parent in spec.items():
        for key in keys:
            refs.append(NodeRef(key, parent, created_at=len(refs)))
            parent = key
    return Forest.build(refs)


class Host(App):
    def __init__(self, forest: Forest, state: GraphState) -> None:
        super().__init__()
        self.forest = forest
        self.state = state
        self.seen: list[tuple[str, object]] = []

    def compose(self) -> ComposeResult:
        yield GraphView(
            lambda: [(None, self.forest, self.forest.roots())],
            lambda _key: self.forest,
            state=self.state,
        )

    def on_mount(self) -> None:
        self.query_one(GraphView).relayout()

    def on_graph_view_highlighted(self, event: GraphView.Highlighted) -> None:
        self.seen.append(("highlighted", event.key))

    def on_graph_view_selected(self, event: GraphView.Selected) -> None:
        self.seen.append(("selected", event.key))


def screen_lines(app: Host) -> list[str]:
    view = app.query_one(GraphView)
    return [
        "".join(seg.text for seg in view.render_line(y)).rstrip()
        for y in range(min(view.size.height, len(view.rows)))
    ]


FOREST = {"abc": None, "de": "c", "f": "c", "x": None}


async def test_lines_show_the_rails_and_the_cursor_moves_with_keys():
    forest = build(FOREST)
    app = Host(forest, GraphState(open={"a"}))
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        assert screen_lines(app) == ["▾ a", "● b", "● c", "├─● d", "│ ● e", "└─● f", "▸ x"]
        view = app.query_one(GraphView)
        assert view.current_key == "a"
        await pilot.press("j", "j", "down")
        assert view.current_key == "d"
        await pilot.press("G")
        assert view.current_key == "x"
        await pilot.press("g", "k")
        assert view.current_key == "a"
        await pilot.press("enter")
        await pilot.pause()
        assert ("selected", "a") in app.seen
        assert [k for kind, k in app.seen if kind == "highlighted"] == [
            "a",
            "b",
            "c",
            "d",
            "x",
            "a",
        ]


async def test_h_closes_a_fork_and_the_conversation_l_opens_them_again():
    forest = build(FOREST)
    app = Host(forest, GraphState(open={"a"}))
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        view = app.query_one(GraphView)
        await pilot.press("j", "j", "j", "j")  # e, in the first branch
        assert view.current_key == "e"
        await pilot.press("h")  # up to the fork turn's branch head... then the fork
        assert view.current_key == "d"
        await pilot.press("h")
        assert view.current_key == "c"
        await pilot.press("h")  # c is a fork: it closes, the cursor stays on it
        assert screen_lines(app) == ["▾ a", "● b", "▸ c", "▸ x"]
        assert view.current_key == "c"
        await pilot.press("l")
        assert len(view.rows) == 7 and view.current_key == "c"
        await pilot.press("g", "h")  # the conversation closes
        assert screen_lines(app) == ["▸ a", "▸ x"]
        await pilot.press("l")
        assert len(view.rows) == 7


async def test_a_folded_run_opens_with_l_on_its_fold_row():
    forest = build({"abcdefghij": None})
    app = Host(forest, GraphState(open={"a"}, fold_over=4))
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        view = app.query_one(GraphView)
        assert screen_lines(app) == ["▾ a", "┊ 8 more turns (l shows them)", "● j"]
        await pilot.press("j", "l")
        assert len(view.rows) == 10 and view.current_key == "b"
        await pilot.press("h")  # the unfolded long run folds back, the cursor on its head
        assert len(view.rows) == 3 and view.current_key == "a"


async def test_a_click_moves_the_cursor_and_a_long_forest_scrolls_to_it():
    forest = build({"".join(chr(0x4E00 + i) for i in range(200)): None})
    app = Host(forest, GraphState(open={chr(0x4E00)}, fold_over=1000))
    async with app.run_test(size=(30, 8)) as pilot:
        await pilot.pause()
        view = app.query_one(GraphView)
        await pilot.click(GraphView, offset=(2, 3))
        assert view.cursor == 3
        await pilot.press("G")
        await pilot.pause()
        assert view.cursor == 199
        assert view.scroll_offset.y == 200 - view.size.height
        await pilot.press("pageup")
        assert view.cursor == 199 - (view.size.height - 1)


async def test_relayout_keeps_the_cursor_on_its_turn_and_reveal_opens_the_way():
    forest = build({"abcdefgh": None, "ij": "h", "k": "h"})
    state = GraphState(fold_over=3)
    app = Host(forest, state)
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        view = app.query_one(GraphView)
        view.reveal("j")
        await pilot.pause()
        assert view.current_key == "j"
        forest.remove("k")
        view.relayout()
        assert view.current_key == "j"


async def test_each_open_conversation_starts_with_its_own_mark():
    # Two open conversations without forks, one after the other, must not read as one run.
    forest = build({"abc": None, "de": None})
    app = Host(forest, GraphState(open={"a", "d"}))
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        assert screen_lines(app) == ["▾ a", "● b", "● c", "▾ d", "● e"]
        await pilot.press("h")  # the first one closes: its mark says so
        assert screen_lines(app) == ["▸ a", "▾ d", "● e"]


async def test_a_cursor_move_draws_only_the_line_left_and_the_line_reached():
    # A cursor move used to throw every drawn line away and draw the whole view again
    # (a labeler call per line on screen, per key).
    forest = build({"abcdefghij": None})
    app = Host(forest, GraphState(open={"a"}, unfolded={"a"}))
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        view = app.query_one(GraphView)
        drawn: list[int] = []
        original = view._draw

        def draw(line: int, width: int, at_cursor: bool):
            drawn.append(line)
            return original(line, width, at_cursor)

        view._draw = draw  # type: ignore[method-assign]
        view.action_cursor_down()
        await pilot.pause()
        assert sorted(drawn) == [0, 1]
        drawn.clear()
        view.action_cursor_up()
        await pilot.pause()
        assert sorted(drawn) == []  # both lines drawn before, in these states: from the cache
        assert screen_lines(app)[0].endswith("a")


async def test_lines_take_the_new_colours_when_the_theme_or_the_focus_changes():
    # The widget's styles are worked out once (Textual computes them from every ancestor on
    # each call): a theme or focus change must still reach every line drawn after it.
    forest = build(FOREST)
    app = Host(forest, GraphState(open={"a"}))
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(GraphView)
        view.focus()
        await pilot.pause()

        def line_styles(y: int) -> set:
            return {seg.style for seg in view.render_line(y) if seg.text.strip()}

        cursor_focused = line_styles(0)
        plain = line_styles(1)
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await pilot.pause()
        assert line_styles(1) != plain
        assert view.rich_style.bgcolor in {s.bgcolor for s in line_styles(1)}
        app.set_focus(None)
        await pilot.pause()
        assert line_styles(0) != cursor_focused
        assert line_styles(0) != line_styles(1)  # still marked, as an unfocused cursor
