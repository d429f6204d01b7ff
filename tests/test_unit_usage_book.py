"""The usage book (tui/ops/usage_book.py) on its own: a forgotten turn is read again (and
forgetting a turn never read is no error), the memory starts afresh when it holds REMEMBERED
turns, and `book_of` gives a working book of its index."""

from __future__ import annotations

import test_cost
from cost_kit import add_tree

from tui.api.usage import Usage
from tui.ops import usage_book
from tui.ops.usage_book import UsageBook, book_of

index = test_cost.index  # the fixture of tests/test_cost.py


def counted(index, monkeypatch) -> list[tuple[str, str]]:
    """The keys whose bodies the index loads from now on, in order."""
    reads: list[tuple[str, str]] = []
    load = index.load_body
    monkeypatch.setattr(index, "load_body", lambda *k: reads.append(k) or load(*k))
    return reads


def test_a_forgotten_turn_is_read_again_and_only_that_one(index, monkeypatch):
    keys = add_tree(index)
    book = UsageBook(index)
    reads = counted(index, monkeypatch)
    book(keys["r1"])
    book(keys["r2"])
    book.forget(keys["r1"])
    assert book(keys["r1"]).usage == Usage(1000, 200, 500, 100, 1500)
    book(keys["r2"])
    assert reads == [keys["r1"], keys["r2"], keys["r1"]]


def test_forgetting_a_turn_never_read_is_no_error(index, monkeypatch):
    keys = add_tree(index)
    book = UsageBook(index)
    book.forget(keys["r3"])
    book.forget(keys["r3"])
    book(keys["r1"])
    reads = counted(index, monkeypatch)
    book.forget(keys["r3"])  # r1 stays remembered
    book(keys["r1"])
    assert reads == []


def test_the_memory_starts_afresh_once_it_holds_remembered_turns(index, monkeypatch):
    keys = add_tree(index)
    monkeypatch.setattr(usage_book, "REMEMBERED", 2)
    book = UsageBook(index)
    reads = counted(index, monkeypatch)
    book(keys["r1"])
    book(keys["r2"])
    book(keys["r1"])  # 2 remembered: both still there
    assert reads == [keys["r1"], keys["r2"]]
    book(keys["r4"])  # holds 2: cleared, then r4 alone
    book(keys["r4"])
    book(keys["r2"])
    assert reads == [keys["r1"], keys["r2"], keys["r4"], keys["r2"]]


def test_the_book_of_an_index_reads_that_index(index):
    keys = add_tree(index)
    book = book_of(index)
    assert book.index is index
    assert book(keys["r2"]).usage.input == 2000
    assert book_of(index) is book
