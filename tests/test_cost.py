"""Usage and cost sums (tui/cost.py, tui/ops/usage_book.py): per turn, over a path and over a
subtree, in both naming schemes, with turns without usage; the cost from genai-prices where
the price is known (real lookups of its bundled table, no network), "unknown price" where it
is not, and a lower bound over a mix."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest
from cost_kit import OPENAI, R1_PRICE, R2_PRICE, UNKNOWN_MODEL, WHEN, add_tree

from tui import cost
from tui.api.profiles import LOCAL_BASE_URL
from tui.api.usage import Usage, parse_usage
from tui.cost import Totals, TurnUsage
from tui.ops.usage_book import UsageBook
from tui.paths import index_dir
from tui.store.index import Index


@pytest.fixture
def index():
    idx = Index.open(index_dir())
    yield idx
    idx.close()


def turn(usage: dict | None, model: str = "gpt-4o", server: str = OPENAI) -> TurnUsage:
    return TurnUsage(parse_usage(usage), model, server, WHEN)


OPENAI_NAMES = {
    "input_tokens": 1000,
    "input_tokens_details": {"cached_tokens": 200},
    "output_tokens": 500,
    "output_tokens_details": {"reasoning_tokens": 100},
}
FIREWORKS_NAMES = {
    "prompt_tokens": 2000,
    "prompt_tokens_details": {"cached_tokens": 50},
    "completion_tokens": 300,
    "completion_tokens_details": {"reasoning_tokens": 30},
}


# ------------------------------------------------------------------ prices


def test_a_known_model_is_priced_from_genai_prices():
    assert cost.price(turn(OPENAI_NAMES)) == R1_PRICE == Decimal("0.00725")


def test_fireworks_names_and_a_fireworks_model_are_priced_too():
    fireworks = "https://api.fireworks.ai/inference/v1"
    qwen = turn(FIREWORKS_NAMES, "accounts/fireworks/models/qwen3-235b-a22b", fireworks)
    amount = cost.price(qwen)
    assert amount is not None and amount > 0


def test_an_unknown_model_an_unknown_server_and_no_usage_have_no_price():
    assert cost.price(turn(OPENAI_NAMES, UNKNOWN_MODEL)) is None
    assert cost.price(turn(OPENAI_NAMES, server="http://localhost:8321/v1")) is None
    assert cost.price(turn(OPENAI_NAMES, server=LOCAL_BASE_URL)) is None
    assert cost.price(turn(None)) is None
    assert cost.price(turn({"input_tokens": 10})) is None  # no output count: not a guess
    assert cost.price(turn(OPENAI_NAMES, "x" * 500)) is None


def test_the_price_table_is_never_fetched_from_the_network():
    """Importing tui.cost and pricing a turn starts no updater (the only network use of
    genai-prices) and opens no socket."""
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise AssertionError('network')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from tui import cost\n"
        "from tui.api.usage import Usage\n"
        "t = cost.TurnUsage(Usage(10, None, 5), 'gpt-4o', 'https://api.openai.com/v1', 0)\n"
        "assert cost.price(t) is not None\n"
        "from genai_prices import update_prices\n"
        "assert update_prices._shared_updater.ref_count == 0\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr


def test_genai_prices_is_imported_only_when_a_price_is_asked_for():
    """Not by importing the app, nor by pricing a turn of the offline backend (which has no
    prices: the table is not loaded for it)."""
    code = (
        "import sys\n"
        "import tui.cost, tui.ops.usage_book, tui.ops.export, tui.ui.app\n"
        "from tui.api.usage import Usage\n"
        "offline = tui.cost.TurnUsage(Usage(10, None, 5), 'gpt-4o', 'http://offline.invalid/v1')\n"
        "assert tui.cost.price(offline) is None\n"
        "print('genai_prices' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


# ------------------------------------------------------------------ sums


def test_a_total_sums_both_naming_schemes_and_counts_turns_without_usage_apart():
    totals = cost.total([turn(OPENAI_NAMES), turn(FIREWORKS_NAMES), turn(None), None])
    assert (totals.turns, totals.without_usage, totals.with_usage) == (4, 2, 2)
    assert (totals.input, totals.cached, totals.output, totals.reasoning) == (3000, 250, 800, 130)
    assert totals.cost == R1_PRICE + cost.price(turn(FIREWORKS_NAMES))
    assert totals.unpriced == 0 and totals.with_price == 2
    text = cost.totals_text(totals)
    assert text.startswith("4 turns · ≥ $")  # turns without usage: the cost is a lower bound
    assert "in 3,000 (cached 250) · out 800 (reasoning 130)" in text
    assert text.endswith("2 turns without usage")


def test_all_priced_is_an_exact_sum():
    totals = cost.total([turn(OPENAI_NAMES), turn(OPENAI_NAMES)])
    assert cost.cost_text(totals) == "$0.0145"
    assert cost.totals_text(totals) == (
        "2 turns · $0.0145 · in 2,000 (cached 400) · out 1,000 (reasoning 200)"
    )


def test_unknown_price_and_a_mix_say_so():
    unknown = cost.total([turn(OPENAI_NAMES, UNKNOWN_MODEL)])
    assert cost.cost_text(unknown) == "unknown price"
    unknown_turn = turn(OPENAI_NAMES, UNKNOWN_MODEL)
    mixed = cost.total([turn(OPENAI_NAMES), unknown_turn, unknown_turn])
    assert cost.cost_text(mixed) == "≥ $0.00725, 2 turns unpriced"


def test_without_the_price_table_the_cost_is_left_out():
    totals = cost.total([turn(OPENAI_NAMES)], pricer=None)
    assert not totals.priced and cost.cost_text(totals) == ""
    assert cost.totals_text(totals) == "1 turn · in 1,000 (cached 200) · out 500 (reasoning 100)"


def test_no_usage_at_all_says_only_that():
    totals = cost.total([None, turn(None)])
    assert cost.totals_text(totals) == "2 turns · 2 turns without usage"


def test_a_total_reads_at_most_its_limit_and_counts_the_rest():
    totals = cost.total([turn(OPENAI_NAMES)] * 5, limit=3)
    assert (totals.turns, totals.unread, totals.input) == (3, 2, 3000)
    assert cost.cost_text(totals).startswith("≥ ")
    assert cost.totals_text(totals).endswith("2 more turns not counted")


def test_path_and_subtree_totals_over_the_index(index):
    keys = add_tree(index)
    book = UsageBook(index)
    forest = index.forest(OPENAI)
    path = cost.path_total(forest.path_to_root(keys["r4"]), book)
    assert (path.turns, path.input, path.cached, path.output, path.reasoning) == (
        3, 3100, 200, 810, 100,
    )  # fmt: skip
    assert (path.with_price, path.unpriced, path.without_usage) == (2, 1, 0)
    assert path.cost == R1_PRICE + R2_PRICE
    assert cost.cost_text(path) == f"≥ {cost.money(R1_PRICE + R2_PRICE)}, 1 turn unpriced"

    whole = cost.subtree_total(forest.children, keys["r1"], book)
    assert (whole.turns, whole.without_usage, whole.input, whole.output) == (4, 1, 3100, 810)
    branch = cost.subtree_total(forest.children, keys["r2"], book)
    assert (branch.turns, branch.input, branch.output) == (2, 2100, 310)
    assert branch.cost == R2_PRICE and branch.unpriced == 1
    leaf = cost.subtree_total(forest.children, keys["r3"], book)
    assert cost.totals_text(leaf) == "1 turn · 1 turn without usage"


def test_a_long_path_reads_its_deepest_turns_and_a_big_subtree_stops_at_the_limit(index):
    keys = add_tree(index)
    book = UsageBook(index)
    forest = index.forest(OPENAI)
    path = cost.path_total(forest.path_to_root(keys["r4"]), book, limit=2)
    assert (path.turns, path.unread, path.input) == (2, 1, 2100)  # r2 and r4, not r1
    keys_below, beyond = cost.subtree_keys(forest.children, keys["r1"], limit=2)
    assert keys_below == [keys["r1"], keys["r2"]] and beyond >= 1
    big = cost.subtree_total(forest.children, keys["r1"], book, limit=2)
    assert big.turns == 2 and big.unread >= 1


def test_the_book_reads_each_body_once_and_again_when_the_status_changes(index, monkeypatch):
    keys = add_tree(index)
    book = UsageBook(index)
    reads = []
    load = index.load_body
    monkeypatch.setattr(index, "load_body", lambda *k: reads.append(k) or load(*k))
    assert book(keys["r1"]).usage == Usage(1000, 200, 500, 100, 1500)
    assert book(keys["r1"]).model == "gpt-4o"
    assert len(reads) == 1
    index.set_status(*keys["r1"], "incomplete")
    book(keys["r1"])
    assert len(reads) == 2
    assert book((OPENAI, "resp_not_there")) is None


# ------------------------------------------------------------------ text


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("0", "$0"),
        ("0.00725", "$0.00725"),
        ("0.0123", "$0.0123"),
        ("0.00066", "$0.00066"),
        ("0.5", "$0.50"),
        ("1.234", "$1.23"),
        ("1234.5", "$1,234.50"),
        ("0.000000000001", "< $0.00000001"),
    ],
)
def test_money(amount, text):
    assert cost.money(Decimal(amount)) == text


def test_turn_text_and_the_billed_input():
    assert cost.turn_text(turn(OPENAI_NAMES)) == (
        "in 1,000 (cached 200) · out 500 (reasoning 100) · $0.00725"
    )
    assert cost.turn_text(turn(OPENAI_NAMES, UNKNOWN_MODEL)).endswith("· unknown price")
    assert cost.turn_text(turn(None)) == "no usage" == cost.turn_text(None)
    assert cost.billed_input(turn(OPENAI_NAMES)) == 1500
    assert cost.billed_input(turn({"input_tokens": 10})) is None
    assert cost.billed_input(None) is None
    assert cost.billed_text(12345) == "≈ 12,345 input tokens billed"


def test_totals_default_is_empty():
    assert cost.totals_text(Totals()) == "0 turns"


def test_the_compact_text_of_a_graph_line():
    unknown = turn(OPENAI_NAMES, UNKNOWN_MODEL)
    assert cost.compact_text(cost.total([turn(OPENAI_NAMES)])) == "$0.00725 · 1,500 tokens"
    assert cost.compact_text(cost.total([turn(OPENAI_NAMES), unknown])) == (
        "≥ $0.00725 · 3,000 tokens"
    )
    assert cost.compact_text(cost.total([unknown])) == "unknown price · 1,500 tokens"
    assert cost.compact_text(cost.total([None])) == "no usage"
    over = cost.total([turn(OPENAI_NAMES)] * 3, limit=2)
    assert cost.compact_text(over) == "≥ $0.0145 · 3,000 tokens +"
    assert cost.compact_text(cost.total([turn(OPENAI_NAMES)], pricer=None)) == "1,500 tokens"


def test_one_book_per_index(index):
    from tui.ops.usage_book import book_of

    assert book_of(index) is book_of(index)
    other = Index.open(index_dir().parent / "other-index")
    assert book_of(other) is not book_of(index)
    other.close()
