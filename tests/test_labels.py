"""A graph line's label (tui/ui/labels.py): what was said keeps room, details go whole."""

from __future__ import annotations

import pytest

from tui.store.records import NodeSummary, Status
from tui.ui.labels import READABLE, node_label

NOW = 1_790_000_000.0


def _node(said: str = "Make it vegetarian-friendly please", **kw) -> NodeSummary:
    return NodeSummary(
        server="s",
        id="resp_1",
        parent=None,
        created_at=NOW - 30,
        model="accounts/fireworks/models/llama-v3p1-70b-instruct",
        profile="p",
        status=Status.STORED,
        input_preview=said,
        input_recorded=True,
        **kw,
    )


def test_a_wide_line_has_every_detail():
    text = node_label(
        _node(has_tools=True), now=NOW, width=90, forks=2, place=(1, 2), show_model=True
    )
    assert "  1/2 · Ψ2 · ⚙ · llama-v3p1" in text.plain and text.plain.endswith(" · now")
    assert text.plain.startswith("Make it vegetarian-friendly please")


@pytest.mark.parametrize("width", range(14, 60))
def test_a_narrow_line_drops_details_whole_never_cutting_one(width):
    text = node_label(_node(has_tools=True), now=NOW, width=width, forks=2, place=(2, 3))
    assert text.cell_len <= width
    said, _, details = text.plain.partition("  ")
    # What was said keeps its room (or all of it), no detail is cut short ("now" -> "no"),
    # and the place among versions always stays.
    assert len(said) >= min(READABLE, len("Make it vegetarian-friendly please")) or (
        details == "2/3"
    )
    assert set(details.split(" · ")) <= {"2/3", "Ψ2", "⚙", "now"}
    assert details.startswith("2/3")
