"""`responses-tui list`: the forest as an indented text tree, one line per response."""

from __future__ import annotations

import pytest

from tui.api.items import normalize_input
from tui.ops.listing import PREVIEW_WIDTH, forest_lines, markers, node_line
from tui.store.index import Index
from tui.store.records import NodeSummary, Status

SERVER = "http://s.example/v1"
WHEN = "2025-06-15 15:06"  # created_at 1_750_000_000 and the next few seconds, in UTC


@pytest.fixture
def index(tmp_path):
    with Index.open(tmp_path / "index") as idx:
        yield idx


def add(index: Index, rid: str, parent: str | None, n: int, *, recorded: bool = True) -> None:
    response = {
        "id": rid,
        "object": "response",
        "created_at": 1_750_000_000 + n,
        "model": "m1",
        "status": "completed",
        "previous_response_id": parent,
        "output": [
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": f"re {rid}"}],
            }
        ],
    }
    index.add_response(
        response,
        server=SERVER,
        profile="p",
        input_items=normalize_input(f"say {rid}") if recorded else None,
    )


def line(rid: str) -> str:
    return f"{rid}  m1  {WHEN}  say {rid} → re {rid}"


def test_a_chain_stays_at_one_level(index):
    for n, (rid, parent) in enumerate([("a", None), ("b", "a"), ("c", "b")]):
        add(index, rid, parent, n)
    assert forest_lines(index, SERVER) == [line("a"), line("b"), line("c")]


def test_forks_open_one_level_each_with_tree_glyphs(index):
    # a → b, which forks into c (forking into e → g, and f) and d → h
    tree = [
        ("a", None),
        ("b", "a"),
        ("c", "b"),
        ("d", "b"),
        ("e", "c"),
        ("f", "c"),
        ("g", "e"),
        ("h", "d"),
    ]
    for n, (rid, parent) in enumerate(tree):
        add(index, rid, parent, n)
    assert forest_lines(index, SERVER) == [
        line("a"),
        line("b"),
        "├─ " + line("c"),
        "│  ├─ " + line("e"),
        "│  │  " + line("g"),
        "│  └─ " + line("f"),
        "└─ " + line("d"),
        "   " + line("h"),
    ]


def test_conversations_follow_one_another_and_orphans_say_so(index):
    add(index, "x", None, 0)
    add(index, "y", "x", 1)
    add(index, "z", "gone", 2)
    add(index, "w", None, 3, recorded=False)
    assert forest_lines(index, SERVER) == [
        line("x"),
        line("y"),
        line("z") + "  [parent unknown]",
        f"w  m1  {WHEN}  (input not recorded) → re w",
    ]
    assert forest_lines(index, "http://other.example/v1") == []


def summary(**extra) -> NodeSummary:
    values = {
        "server": SERVER,
        "id": "resp_1",
        "parent": None,
        "created_at": 1_750_000_000.0,
        "model": "m1",
        "profile": "p",
        "status": Status.STORED,
        "input_preview": "hi",
        "output_preview": "hello",
        "input_recorded": True,
    }
    return NodeSummary(**{**values, **extra})


def test_a_node_line_holds_id_model_time_input_and_answer():
    assert node_line(summary()) == f"resp_1  m1  {WHEN}  hi → hello"


def test_an_unknown_node_is_a_question_mark():
    assert node_line(None) == "?"


def test_an_unknown_time_is_said():
    assert node_line(summary(created_at=0.0)) == "resp_1  m1  unknown time  hi → hello"


@pytest.mark.parametrize(
    ("field", "width"),
    [("id", 80), ("model", 40), ("input_preview", PREVIEW_WIDTH), ("output_preview", 48)],
)
def test_each_part_is_cut_to_its_width(field, width):
    fits = "q" * width
    cut = "q" * (width + 1)
    assert fits in node_line(summary(**{field: fits}))
    shown = node_line(summary(**{field: cut}))
    assert "q" * (width - 1) + "…" in shown
    assert "q" * width not in shown


def test_previews_are_flattened_to_one_line():
    node = summary(input_preview="two\nlines", output_preview="and\ttabs")
    assert node_line(node) == f"resp_1  m1  {WHEN}  two lines → and tabs"


@pytest.mark.parametrize(
    ("extra", "orphan", "expected"),
    [
        ({}, False, ""),
        ({}, True, "  [parent unknown]"),
        ({"status": Status.MISSING}, False, "  [missing]"),
        (
            {"status": Status.DELETED, "has_tools": True},
            True,
            "  [deleted, parent unknown, tools]",
        ),
        (
            {"status": Status.NOT_STORED, "ancestor_missing": True},
            True,
            "  [not stored, ancestor missing]",
        ),
    ],
)
def test_markers_in_words(extra, orphan, expected):
    node = summary(**extra)
    assert markers(node, orphan) == expected
    assert node_line(node, orphan=orphan) == f"resp_1  m1  {WHEN}  hi → hello{expected}"


def test_not_an_orphan_unless_told():
    node = summary(status=Status.FAILED)
    assert markers(node) == "  [failed]"
    assert node_line(node).endswith("hello  [failed]")
