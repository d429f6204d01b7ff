"""tui/compare.py: the word diff, settings differences, usage of each side, the common
ancestor of two turns, and what `responses-tui diff` prints (pure: no app)."""

from __future__ import annotations

import time

import pytest
from test_store import response, user_input

from tui import compare
from tui.api.usage import Usage
from tui.compare import ADDED, REMOVED, SAME, Piece, word_diff
from tui.forest import Forest, NodeRef
from tui.store.index import Index

S = "srv"


def kinds(pieces) -> list[tuple[str, str]]:
    return [(p.text, p.kind) for p in pieces]


# ------------------------------------------------------------------ the word diff


def test_words_changed_removed_and_added():
    diff = word_diff("the quick brown fox jumps", "the quick red fox leaps high")
    assert kinds(diff.left) == [
        ("the quick ", SAME),
        ("brown ", REMOVED),
        ("fox ", SAME),
        ("jumps", REMOVED),
    ]
    assert kinds(diff.right) == [
        ("the quick ", SAME),
        ("red ", ADDED),
        ("fox ", SAME),
        ("leaps high", ADDED),
    ]
    assert diff.removed == ["brown", "jumps"] and diff.added == ["red", "leaps high"]
    assert not diff.identical


def test_only_added_and_only_removed():
    added = word_diff("one two", "one and a half two")
    assert added.removed == [] and added.added == ["and a half"]
    assert kinds(added.left) == [("one two", SAME)]
    removed = word_diff("alpha beta gamma delta", "alpha delta")
    assert removed.removed == ["beta gamma"] and removed.added == []


def test_whitespace_is_kept_for_showing_but_not_compared():
    diff = word_diff("  a\n\nb  c", "a b c")
    assert diff.identical
    assert "".join(p.text for p in diff.left) == "  a\n\nb  c"  # each side as it was written
    assert "".join(p.text for p in diff.right) == "a b c"


def test_identical_and_empty_answers():
    same = word_diff("same words here", "same words here")
    assert same.identical and kinds(same.left) == [("same words here", SAME)]
    assert word_diff("", "").identical and word_diff("", "").left == ()
    one_empty = word_diff("", "all new")
    assert one_empty.left == () and one_empty.right == (Piece("all new", ADDED),)
    assert word_diff("all gone", "   ").removed == ["all gone"]


def test_common_words_are_not_junked():
    """SequenceMatcher's autojunk would ignore frequent words in long texts and mark them
    changed: a long text that differs by one word differs by that word only."""
    words = ["to", "be"] * 150
    diff = word_diff(" ".join(words), " ".join([*words[:150], "not", *words[150:]]))
    assert diff.removed == [] and diff.added == ["not"]


def test_a_huge_answer_is_capped_and_says_so():
    huge = "word " * 50_000
    cut = compare.cap(huge)
    assert cut.capped and cut.chars == len(huge)
    assert len(cut.text.split()) == compare.MAX_WORDS
    assert len(cut.text) <= compare.MAX_CHARS
    one_word = "x" * (compare.MAX_CHARS * 3)
    assert len(compare.cap(one_word).text) == compare.MAX_CHARS
    small = compare.cap("a few words")
    assert not small.capped and small.text == "a few words" and small.chars == 11
    started = time.perf_counter()
    word_diff(cut.text, compare.cap(huge.replace("word", "other", 7)).text)
    assert time.perf_counter() - started < 5


def test_cap_neutralises_escape_sequences():
    cut = compare.cap("safe \x1b]52;c;Zm9v\x07text\x1b[31m red\r\nnext\x9b2J")
    assert cut.text == "safe text red\nnext"


def test_blocks_titles_are_shown_but_not_compared():
    left, right = compare.diff_blocks(
        [("title", "turn 1 · resp_a"), ("input", "hello"), ("answer", "one two")],
        [("title", "turn 1 · resp_b"), ("input", "hello"), ("answer", "one three")],
    )
    assert [b.role for b in left] == ["title", "input", "answer"]
    assert all(p.kind == SAME for p in left[0].pieces + right[0].pieces)
    assert left[0].text == "turn 1 · resp_a"
    assert kinds(left[2].pieces) == [("one ", SAME), ("two", REMOVED)]
    assert kinds(right[2].pieces) == [("one ", SAME), ("three", ADDED)]


# ------------------------------------------------------------------ settings


def test_settings_differences_in_order_and_shown_safely():
    left = {
        "model": "gpt-a",
        "temperature": 0.2,
        "reasoning": {"effort": "high", "summary": "auto"},
        "text": {"format": {"type": "json_schema", "name": "plan"}},
        "instructions": "Be brief.",
        "max_output_tokens": 2048,
    }
    right = {
        "model": "gpt-b\x1b[31m",
        "temperature": 0.2,
        "text": {"format": {"type": "text"}, "verbosity": "low"},
        "instructions": "Be brief.",
        "top_p": 0.5,
    }
    diffs = compare.settings_diff(left, right)
    assert [(d.name, d.left, d.right) for d in diffs] == [
        ("model", "gpt-a", "gpt-b"),
        ("top_p", compare.UNSET, "0.5"),
        ("reasoning", "effort high, summary auto", compare.UNSET),
        ("max_output_tokens", "2,048", compare.UNSET),
        ("text format", "json_schema plan", "text, verbosity low"),
    ]
    assert compare.settings_diff(left, dict(left)) == []


def test_long_instructions_that_differ_late_are_shown_where_they_differ():
    base = "Answer in the voice of a patient teacher who explains every step. " * 3
    diffs = compare.settings_diff({"instructions": base + "Use French."}, {"instructions": base})
    (diff,) = diffs
    assert diff.left != diff.right and "French" in diff.left
    assert diff.left.startswith("…")


def test_recorded_settings_read_the_request_and_max_output_tokens(tmp_path):
    with Index.open(tmp_path / "index") as index:
        echoed = {**response("resp_1"), "temperature": 1.0, "max_output_tokens": 300}
        index.add_response(echoed, server=S, profile="p")
        index.add_response(
            response("resp_2"),
            server=S,
            profile="p",
            request={"model": "m2", "temperature": 0.3, "max_output_tokens": 50},
        )
        assert compare.recorded_settings(index, S, "resp_1") == {
            "model": "m",
            "max_output_tokens": 300,
        }  # the echoed default temperature counts as unset
        got = compare.recorded_settings(index, S, "resp_2")
        assert got == {"model": "m2", "temperature": 0.3, "max_output_tokens": 50}
        assert compare.recorded_settings(index, S, "resp_none") == {}


# ------------------------------------------------------------------ usage


def test_usage_summed_over_a_branch():
    total = compare.sum_usage([Usage(10, 2, 5, None, 15), Usage(20, None, 7, 3, 27), Usage()])
    assert total == Usage(30, 2, 12, 3, 42)
    assert compare.sum_usage([]) == Usage()
    assert compare.sum_usage([Usage(output=4)]) == Usage(None, None, 4, None, 4)


# ------------------------------------------------------------------ the tree


def forest() -> Forest:
    """r → a → b → c, a → d → e (a fork at a), r → f; and another conversation x → y."""
    links = [
        ("r", None),
        ("a", "r"),
        ("b", "a"),
        ("c", "b"),
        ("d", "a"),
        ("e", "d"),
        ("f", "r"),
        ("x", None),
        ("y", "x"),
    ]
    return Forest.build(NodeRef(k, p, float(n)) for n, (k, p) in enumerate(links))


@pytest.mark.parametrize(
    ("a", "b", "ancestor"),
    [
        ("c", "e", "a"),
        ("e", "c", "a"),
        ("c", "f", "r"),
        ("b", "c", "b"),  # one above the other: that one
        ("c", "c", "c"),
        ("c", "y", None),  # different conversations
        ("r", "x", None),
    ],
)
def test_common_ancestor(a, b, ancestor):
    assert compare.common_ancestor(forest(), a, b) == ancestor


def test_the_turns_below_the_common_ancestor():
    assert compare._split(forest(), "c", "e") == ("a", ["b", "c"], ["d", "e"])
    assert compare._split(forest(), "b", "c") == ("b", [], ["c"])
    assert compare._split(forest(), "c", "y") == (None, ["r", "a", "b", "c"], ["x", "y"])


def test_other_siblings_start_after_the_turn_and_roots_have_none():
    tree = forest()
    assert compare.other_siblings(tree, "b") == ["d"]
    assert compare.other_siblings(tree, "d") == ["b"]
    assert compare.other_siblings(tree, "a") == ["f"]
    assert compare.other_siblings(tree, "c") == []
    assert compare.other_siblings(tree, "r") == []  # other conversations are not versions


# ------------------------------------------------------------------ comparisons from an index


def add(index: Index, rid: str, parent: str | None, said: str, answer: str, **request) -> None:
    body = response(rid, parent, created=float(len(index) + 1), text=answer)
    body["usage"] = {"input_tokens": len(said), "output_tokens": len(answer)}
    sent = {"model": "m", "previous_response_id": parent, **request}
    index.add_response(body, server=S, profile="p", input_items=user_input(said), request=sent)


@pytest.fixture
def tree(tmp_path):
    with Index.open(tmp_path / "index") as index:
        add(index, "resp_r", None, "plan a trip", "Lisbon it is")
        add(index, "resp_a", "resp_r", "food?", "eat pastel de nata", model="m")
        add(index, "resp_b", "resp_r", "food?", "eat bacalhau", model="m2", temperature=0.5)
        add(index, "resp_c", "resp_a", "and wine?", "port wine")
        yield index


def test_compare_answers(tree):
    comparison = compare.compare_answers(tree, (S, "resp_a"), (S, "resp_b"))
    assert not comparison.branches
    left, right = comparison.left, comparison.right
    assert left.keys == ((S, "resp_a"),) and right.keys == ((S, "resp_b"),)
    assert kinds(left.blocks[0].pieces) == [("eat ", SAME), ("pastel de nata", REMOVED)]
    assert kinds(right.blocks[0].pieces) == [("eat ", SAME), ("bacalhau", ADDED)]
    assert [(d.name, d.left, d.right) for d in comparison.settings] == [
        ("model", "m", "m2"),
        ("temperature", compare.UNSET, "0.5"),
    ]
    assert left.usage == Usage(5, None, 18, None, 23)
    assert left.usage_line == "in 5 · out 18"


def test_compare_branches(tree):
    comparison = compare.compare_branches(tree, (S, "resp_c"), (S, "resp_b"))
    assert comparison.branches and comparison.ancestor == (S, "resp_r")
    assert comparison.left.keys == ((S, "resp_a"), (S, "resp_c"))
    assert comparison.right.keys == ((S, "resp_b"),)
    roles = [(b.role, b.text) for b in comparison.left.blocks]
    assert roles == [
        ("title", "turn 1 · resp_a"),
        ("input", "food?"),
        ("answer", "eat pastel de nata"),
        ("title", "turn 2 · resp_c"),
        ("input", "and wine?"),
        ("answer", "port wine"),
    ]
    assert comparison.left.usage == Usage(14, None, 27, None, 41)
    assert comparison.left.usage_line == "in 14 · out 27 over 2 turns"
    assert comparison.notes == []
    above = compare.compare_branches(tree, (S, "resp_a"), (S, "resp_c"))
    assert above.ancestor == (S, "resp_a") and above.left.keys == ()
    assert above.notes == ["one turn is above the other: its side has no turns of its own"]


def test_a_long_branch_is_cut_to_its_first_turns(tmp_path):
    with Index.open(tmp_path / "index") as index:
        add(index, "resp_0", None, "start", "ok")
        parent = "resp_0"
        for n in range(compare.MAX_TURNS + 5):
            add(index, f"resp_l{n}", parent, f"more {n}", "fine")
            parent = f"resp_l{n}"
        add(index, "resp_other", "resp_0", "else", "no")
        comparison = compare.compare_branches(index, (S, parent), (S, "resp_other"))
        assert len(comparison.left.keys) == compare.MAX_TURNS
        titles = [b.text for b in comparison.left.blocks if b.role == "title"]
        assert len(titles) == compare.MAX_TURNS and titles[-1].startswith("turn 20 ")
        assert comparison.left.notes == ("5 more turns below not compared",)


def test_unified_diff_lines(tree):
    lines = compare.unified(tree, (S, "resp_a"), (S, "resp_b"))
    assert lines[:3] == [
        "settings that differ:",
        "  model        m  →  m2",
        "  temperature  —  →  0.5",
    ]
    assert lines[3:] == [
        "--- resp_a",
        "+++ resp_b",
        "@@ -1 +1 @@",
        "-eat pastel de nata",
        "+eat bacalhau",
    ]
    same = compare.unified(tree, (S, "resp_a"), (S, "resp_a"))
    assert same == ["settings: the same", "the answers are the same"]


def test_unified_diff_of_capped_answers_says_so(tree):
    lines = compare.unified(tree, (S, "resp_a"), (S, "resp_b"), max_chars=5)
    assert lines[3:5] == [
        "note: resp_a: answer cut at 5 of 18 characters for the comparison",
        "note: resp_b: answer cut at 5 of 12 characters for the comparison",
    ]
    assert lines[-2:] == ["-eat p", "+eat b"]
