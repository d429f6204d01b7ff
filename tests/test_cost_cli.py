"""`responses-tui list --usage` (each turn's tokens and cost, then the total; plain text cut to
the terminal's width) and the Markdown export's figures (each turn's cost beside its tokens,
and the path's total under the heading)."""

from __future__ import annotations

import pytest
from cost_kit import OPENAI, R1_PRICE, R2_PRICE, UNKNOWN_MODEL, add_tree
from rich.cells import cell_len
from test_cli_plain import cli

from tui import cost
from tui.cli import main
from tui.ops.export import export_markdown, export_tree_markdown
from tui.paths import index_dir
from tui.store.index import Index


@pytest.fixture
def tree(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")
    with Index.open(index_dir()) as index:
        keys = add_tree(index)
    return keys


def lines_of(out: str) -> dict[str, str]:
    """Each turn's line by its id (r1…r4), and the total line."""
    found = {}
    for line in out.splitlines():
        for rid in ("r1", "r2", "r3", "r4"):
            if f" {rid}  " in f" {line.lstrip('├└│─ ')}":
                found[rid] = line
        if line.startswith("total: "):
            found["total"] = line
    return found


def test_list_usage_shows_each_turns_figures_and_the_total(tree, capsys):
    assert main(["--profile", "openai", "list", "--usage"]) == 0
    shown = lines_of(capsys.readouterr().out)
    assert "[in 1,000 (cached 200) · out 500 (reasoning 100) · $0.00725]" in shown["r1"]
    assert f"[in 2,000 · out 300 · {cost.money(R2_PRICE)}]" in shown["r2"]
    assert "[no usage]" in shown["r3"]
    assert "[in 100 · out 10 · unknown price]" in shown["r4"]
    assert UNKNOWN_MODEL in shown["r4"]
    assert shown["total"] == (
        f"total: 4 turns · ≥ {cost.money(R1_PRICE + R2_PRICE)}, 1 turn unpriced · "
        "in 3,100 (cached 200) · out 810 (reasoning 100) · 1 turn without usage"
    )


def test_list_without_usage_is_unchanged(tree, capsys):
    assert main(["--profile", "openai", "list"]) == 0
    out = capsys.readouterr().out
    assert "$" not in out and "total:" not in out and "no usage" not in out


def test_list_usage_is_cut_to_the_terminal_width(tree):
    on_terminal = cli("--profile", "openai", "list", "--usage", columns=60).splitlines()
    piped = cli("--profile", "openai", "list", "--usage").splitlines()
    assert len(on_terminal) == len(piped)
    assert all(cell_len(line) <= 60 for line in on_terminal)
    assert any(line.endswith("…") for line in on_terminal)
    assert lines_of("\n".join(piped))["total"].startswith("total: 4 turns · ≥ $")


def test_the_markdown_export_carries_each_turns_cost_and_the_path_total(tree):
    with Index.open(index_dir()) as index:
        path = export_markdown(index, OPENAI, "r4")
        whole = export_tree_markdown(index, OPENAI, "r1")
    total = cost.money(R1_PRICE + R2_PRICE)
    assert (
        f"Usage: ≥ {total}, 1 turn unpriced · in 3,100 (cached 200) · out 810 (reasoning 100)\n"
    ) in path
    assert "in 1,000 (cached 200) · out 500 (reasoning 100) · $0.00725\n" in path
    assert f"in 2,000 · out 300 · {cost.money(R2_PRICE)}\n" in path
    assert "in 100 · out 10 · unknown price\n" in path
    # The whole tree: every turn's figures, and the tree's total (r3 has no usage).
    assert f"Usage: ≥ {total}, 1 turn unpriced · in 3,100" in whole
    assert whole.rstrip().count("\n") > path.rstrip().count("\n")
    assert "· 1 turn without usage" in whole
