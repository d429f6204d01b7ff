"""Search: exact texts, hits, snippets and case maps, on an in-memory stand-in for the index."""

from __future__ import annotations

import zlib
from typing import Any

import pytest

from tui.search import (
    SNIPPET_CHARS,
    Hit,
    SearchIndex,
    case_map,
    field_texts,
    flat,
    lower,
    output_parts,
    query_words,
    restore_case,
)
from tui.store.records import NodeSummary, Status

# ------------------------------------------------------------------ an index in memory


class Source:
    """What SearchIndex reads of the index: summaries in creation order (ties in the order
    recorded), bodies by key. Records what it was asked."""

    def __init__(self) -> None:
        self.summaries: dict[tuple[str, str], NodeSummary] = {}
        self.bodies: dict[tuple[str, str], dict[str, Any]] = {}
        self.asked: list[str | None] = []
        self.loaded: list[tuple[str, str]] = []

    def put(
        self,
        rid: str,
        answer: str = "",
        *,
        server: str = "s",
        created: float = 1.0,
        said: str | None = None,
        model: str = "m",
        labels: tuple[str, ...] = (),
        shard: int = 0,
        body: bool = True,
    ) -> tuple[str, str]:
        summary = NodeSummary(
            server=server,
            id=rid,
            parent=None,
            created_at=created,
            model=model,
            profile="p",
            status=Status.STORED,
            tool_labels=labels,
            shard=shard,
        )
        self.summaries.pop(summary.key, None)  # a replaced node is recorded again
        self.summaries[summary.key] = summary
        if body:
            output = [{"type": "message", "role": "assistant", "content": answer}]
            self.bodies[summary.key] = {
                "input": None if said is None else said,
                "response": {"id": rid, "output": output},
            }
        else:
            self.bodies.pop(summary.key, None)
        return summary.key

    def drop(self, key: tuple[str, str]) -> None:
        self.summaries.pop(key, None)
        self.bodies.pop(key, None)

    def nodes(self, server: str | None = None) -> list[NodeSummary]:
        self.asked.append(server)
        recorded = list(self.summaries.values())
        chosen = [n for n in recorded if server is None or n.server == server]
        return sorted(chosen, key=lambda n: n.created_at)  # stable: ties as recorded

    def get(self, server: str, response_id: str) -> NodeSummary | None:
        return self.summaries.get((server, response_id))

    def load_body(self, server: str, response_id: str) -> dict[str, Any]:
        self.loaded.append((server, response_id))
        return self.bodies[(server, response_id)]


def searched(source: Source, server: str | None = None) -> SearchIndex:
    search = SearchIndex(source, server)
    search.build()
    return search


def ids(keys) -> list[str]:
    return [key[1] for key in keys]


def matched(hit: Hit) -> str:
    return hit.snippet[hit.start : hit.start + hit.length]


# ------------------------------------------------------------------ text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (" a\n\tb   c ", "a b c"),
        ("one\r\ntwo", "one two"),
        ("x\x1b[31my", "xy"),
        (5, "5"),
        ("", ""),
    ],
)
def test_flat_is_sanitized_on_one_line_with_single_spaces(value, text):
    assert flat(value) == text


@pytest.mark.parametrize(
    ("text", "low"),
    [
        ("Hello WORLD", "hello world"),
        ("ÄÖÜ Straße", "äöü straße"),
        ("İA", "İa"),  # "İ".lower() is two characters: kept, the rest lowered
        ("Aİ", "aİ"),
        ("\u212a", "k"),  # the Kelvin sign lowers to one character: lowered
        ("", ""),
    ],
)
def test_lower_keeps_the_length(text, low):
    assert lower(text) == low
    assert len(lower(text)) == len(text)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("bb A ccc a", ["ccc", "bb", "a"]),  # distinct, lowercase, longest first
        ("zz aaa b", ["aaa", "zz", "b"]),  # by length, not alphabetically
        ("  Fox\tfox\nFOX ", ["fox"]),
        ("x\x1b[2Jy", ["xy"]),  # sanitized like the text
        ("   ", []),
        ("", []),
    ],
)
def test_query_words(query, words):
    assert query_words(query) == words


# ------------------------------------------------------------------ what is searchable


def test_output_parts_of_every_tool_item():
    response = {
        "output": [
            {"type": "message", "role": "assistant", "content": "The answer."},
            "not an item",
            {"type": "mcp_call", "server_label": "maps", "name": "route", "arguments": "{}"},
            {
                "type": "mcp_call",
                "mcp": {"name": "forecast", "arguments": {"city": "Oslo", "days": 2}},
                "output": "Rain",
                "error": "late",
            },
            {"type": "function_call", "name": "tide", "arguments": '{"port": "Bergen"}'},
            {"type": "function_call", "name": "f2", "arguments": {"é": 1, "a": [2]}},
            {"type": "mcp_approval_request", "server_label": "git", "name": "push"},
            {"type": "function_call_output", "output": "high at noon"},
            {"type": "tool_output", "output": {"ok": True}},
            {"type": "mcp_list_tools", "server_label": "weather"},
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "secret"}]},
        ]
    }
    assert output_parts(response) == [
        "The answer.",
        "maps",
        "route",
        "{}",
        "forecast",
        '{"city": "Oslo", "days": 2}',
        "Rain",
        "late",
        "tide",
        '{"port": "Bergen"}',
        "f2",
        '{"a": [2], "é": 1}',  # keys sorted, not escaped
        "git",
        "push",
        "high at noon",
        '{"ok": true}',
        "weather",
    ]


@pytest.mark.parametrize(
    ("response", "parts"),
    [
        (None, []),
        ("text", []),
        ({"output_text": "plain"}, ["plain"]),
        ({"output": [{"type": "mcp_call", "name": "n", "arguments": ""}]}, ["n"]),
        ({"output": [{"type": "function_call_output", "output": ""}]}, []),
    ],
)
def test_output_parts_of_odd_responses(response, parts):
    assert output_parts(response) == parts


def test_field_texts_are_flat_and_in_field_order():
    source = Source()
    key = source.put(
        "resp_1",
        "An\nanswer",
        said="What\tis it?",
        model=" big  model ",
        labels=("a\nb", "", "weather"),
    )
    summary = source.summaries[key]
    body = source.bodies[key]
    body["response"]["output"].append({"type": "function_call", "name": "tide"})
    assert field_texts(summary, body) == (
        "What is it?",
        "An answer tide",
        "a b, weather",
        "big model",
        "resp_1",
    )
    assert field_texts(summary, {"input": None}) == ("", "", "a b, weather", "big model", "resp_1")
    assert field_texts(summary, {"input": ""})[0] == ""
    assert field_texts(summary, {"input": [{"role": "user", "content": "Hi"}]})[0] == "Hi"


# ------------------------------------------------------------------ case maps


@pytest.mark.parametrize(
    ("text", "case"),
    [
        ("all lowercase", b""),
        ("Hello World", b"\x01\x01H\x06\x01W"),  # (gap + 1, length) then the bytes
        ("HELLO", b"\x01\x05HELLO"),
        ("a" * 126 + "B", b"\x7f\x01B"),  # the largest gap in one byte
        ("a" * 127 + "B", b"\x80\x01\x01B"),  # the smallest in two
        ("A" * 127, b"\x01\x7f" + b"A" * 127),  # the longest run in one byte
        ("A" * 128, b"\x01\x80\x01" + b"A" * 128),
        ("a" * 20000 + "B", b"\xa1\x9c\x01\x01B"),  # a gap of 20,001: three bytes
    ],
)
def test_case_map_bytes(text, case):
    original = text.encode()
    low = lower(text).encode()
    assert case_map(original, low) == case
    assert restore_case(low, case) == original


def test_a_case_map_of_a_text_that_lowering_shortens_holds_it_whole():
    original = "\u212a Kelvin".encode()  # three bytes that lower to one
    low = lower("\u212a Kelvin").encode()
    assert low == b"k kelvin"
    case = case_map(original, low)
    assert case == b"\x00" + zlib.compress(original)
    assert restore_case(low, case) == original


@pytest.mark.parametrize(
    "text",
    [
        "Ab" * 300,
        "x" * 200 + "Y" * 200 + "z" * 300 + "Q",
        "ÄbÖcÜ Σ",
        "a" * 127 + "B" + "c" * 128 + "D" * 129 + "e" * 16384 + "F",
    ],
)
def test_case_maps_restore_the_original(text):
    original = text.encode()
    low = lower(text).encode()
    assert restore_case(low, case_map(original, low)) == original


# ------------------------------------------------------------------ snippets


def snippet_of(text: str, word: str) -> Hit:
    source = Source()
    source.put("r", text)
    (hit,) = searched(source).search(word)
    assert hit.field == "output"
    return hit


@pytest.mark.parametrize(
    ("text", "snippet", "start"),
    [
        # Far from both ends: a third of the room before the match, the rest after.
        ("a" * 100 + "MATCH" + "b" * 100, "…" + "a" * 25 + "MATCH" + "b" * 50 + "…", 26),
        # Near the end: the room after that is missing is used before.
        ("a" * 100 + "MATCH" + "b" * 10, "…" + "a" * 65 + "MATCH" + "b" * 10, 66),
        # Near the start: all of it after.
        ("a" * 10 + "MATCH" + "b" * 100, "a" * 10 + "MATCH" + "b" * 65 + "…", 10),
        ("MATCH" + "b" * 100, "MATCH" + "b" * 75 + "…", 0),
        # Eighty characters: shown whole.
        ("a" * 40 + "MATCH" + "b" * 35, "a" * 40 + "MATCH" + "b" * 35, 40),
        ("a" * 40 + "MATCH" + "b" * 36, "…" + "a" * 39 + "MATCH" + "b" * 36, 40),
        ("a" * 26 + "MATCH" + "b" * 60, "…" + "a" * 25 + "MATCH" + "b" * 50 + "…", 26),
        ("a" * 25 + "MATCH" + "b" * 60, "a" * 25 + "MATCH" + "b" * 50 + "…", 25),
    ],
)
def test_the_snippet_around_a_match(text, snippet, start):
    hit = snippet_of(text, "match")
    assert hit.snippet == snippet
    assert (hit.start, hit.length) == (start, 5)
    assert matched(hit) == "MATCH"


@pytest.mark.parametrize(
    ("space", "left"),
    [
        (75, 76),  # the window starts on a space: the word after it
        (86, 87),  # a word starts 12 characters in: the snippet starts there
        (87, 75),  # 13 characters in: too far, the word is cut
    ],
)
def test_a_snippet_starts_on_a_word_close_to_its_start(space, left):
    text = "a" * space + " " + "a" * (99 - space) + "MATCH" + "b" * 100
    hit = snippet_of(text, "match")
    assert hit.snippet == "…" + text[left:155] + "…"
    assert matched(hit) == "MATCH"


def test_a_snippet_one_character_in_also_starts_on_a_word():
    text = "aaaa a" + "a" * 34 + "MATCH" + "b" * 36  # 81 characters: the window starts at 1
    hit = snippet_of(text, "match")
    assert hit.snippet == "…" + text[5:]
    assert matched(hit) == "MATCH"


def test_a_snippet_starts_on_the_first_of_the_close_words():
    text = "a" * 77 + " a a" + "a" * 19 + "MATCH" + "b" * 100
    assert snippet_of(text, "match").snippet == "…" + text[78:155] + "…"


def test_a_snippet_ends_on_the_last_of_the_close_words():
    text = "a" * 100 + "MATCH" + "b" * 40 + " b b" + "b" * 100
    assert snippet_of(text, "match").snippet == "…" + text[75:147] + "…"


def test_a_snippet_ignores_spaces_before_its_window():
    text = "a" * 10 + " " + "a" * 89 + "MATCH" + "b" * 100
    assert snippet_of(text, "match").snippet == "…" + text[75:155] + "…"


@pytest.mark.parametrize(
    ("space", "right"),
    [
        (154, 154),  # the window ends on a space: cut there
        (144, 144),  # a word ends 11 characters before the end: cut there
        (143, 155),  # 12 before: too far, the word is cut
    ],
)
def test_a_snippet_ends_on_a_word_close_to_its_end(space, right):
    text = "a" * 100 + "MATCH" + "b" * (space - 105) + " " + "b" * (300 - space)
    hit = snippet_of(text, "match")
    assert hit.snippet == "…" + text[75:right] + "…"


def test_a_snippet_ignores_spaces_after_its_window():
    text = "a" * 100 + "MATCH" + "b" * 60 + " " + "b" * 40
    assert snippet_of(text, "match").snippet == "…" + text[75:155] + "…"


def test_a_match_longer_than_a_snippet_is_cut():
    word = "w" * 100
    hit = snippet_of("a" * 50 + word.upper() + "b" * 50, word)
    assert hit.snippet == "…" + "W" * SNIPPET_CHARS + "…"
    assert (hit.start, hit.length) == (1, SNIPPET_CHARS)


def test_a_long_match_near_the_end_takes_its_room_before():
    word = "w" * 70
    hit = snippet_of("a" * 50 + word.upper() + "bb", word)
    assert hit.snippet == "…" + "a" * 8 + "W" * 70 + "bb"
    assert (hit.start, hit.length) == (9, 70)


# ------------------------------------------------------------------ hits


def five_fields() -> Source:
    source = Source()
    source.put(
        "resp_one",
        "Output has alpha and Beta",
        said="Input has beta",
        model="Model-X",
        labels=("Tool-Y",),
    )
    return source


@pytest.mark.parametrize(
    ("query", "field", "snippet", "match"),
    [
        ("beta", "input", "Input has beta", "beta"),
        ("alpha", "output", "Output has alpha and Beta", "alpha"),
        ("alpha beta", "input", "Input has beta", "beta"),  # the first field holding one
        ("tool-y", "tool", "Tool-Y", "Tool-Y"),
        ("model", "model", "Model-X", "Model"),
        ("x", "model", "Model-X", "X"),
        ("one", "id", "resp_one", "one"),
        ("resp_one", "id", "resp_one", "resp_one"),
        ("has", "input", "Input has beta", "has"),
        ("as h", "input", "Input has beta", "h"),  # the earliest, not the longest
        ("h ha has", "input", "Input has beta", "has"),  # same start: the longest
        ("has ha h", "input", "Input has beta", "has"),
        ("put", "input", "Input has beta", "put"),
        ("output alpha", "output", "Output has alpha and Beta", "Output"),
    ],
)
def test_a_hit_is_the_earliest_match_of_the_first_field_holding_a_word(
    query, field, snippet, match
):
    (hit,) = searched(five_fields()).search(query)
    assert hit.key == ("s", "resp_one")
    assert (hit.field, hit.snippet, matched(hit)) == (field, snippet, match)


def test_an_input_not_recorded_leaves_the_other_fields_in_place():
    source = Source()
    source.put("resp_two", "", model="Model", labels=("Tool",))
    search = searched(source)
    for query, field, snippet in (
        ("tool", "tool", "Tool"),
        ("model", "model", "Model"),
        ("two", "id", "resp_two"),
    ):
        (hit,) = search.search(query)
        assert (hit.field, hit.snippet, matched(hit).lower()) == (field, snippet, query)


def test_a_match_at_the_very_end_of_the_last_field():
    source = Source()
    source.put("abc", "x")
    (hit,) = searched(source).search("c")
    assert (hit.field, hit.snippet, hit.start, hit.length) == ("id", "abc", 2, 1)


def test_no_word_matches_across_two_fields():
    source = Source()
    source.put("r", "end", said="start", model="m")
    search = searched(source)
    assert search.search("startend") == []
    assert search.search("start\nend") != []  # two words
    assert search.filter_keys("end m") == {("s", "r")}


# ------------------------------------------------------------------ queries


def test_every_word_must_match():
    source = Source()
    source.put("r1", "red green blue", created=1.0)
    source.put("r2", "red green", created=2.0)
    source.put("r3", "red", created=3.0)
    search = searched(source)
    for query, found in {
        "red": ["r3", "r2", "r1"],
        "green red": ["r2", "r1"],
        "red green blue": ["r1"],
        "blue red green": ["r1"],
        "green purple": [],
        "purple": [],
        "": [],
    }.items():
        assert ids(search.matching_keys(query)) == found, query
        assert search.filter_keys(query) == {("s", i) for i in found}, query
        assert ids(h.key for h in search.search(query)) == found, query
        assert ids(h.key for h in search.search(query, limit=1)) == found[:1], query


@pytest.mark.parametrize("limit", [-1, 0])
def test_a_limit_below_one_finds_nothing(limit):
    source = Source()
    source.put("r", "word")
    assert searched(source).search("word", limit=limit) == []


@pytest.mark.parametrize(("limit", "count"), [(1, 1), (2, 2), (3, 3), (4, 3), (200, 3)])
def test_the_limit_is_the_most_hits_returned(limit, count):
    source = Source()
    for n in range(3):
        source.put(f"r{n}", "word", created=float(n))
    hits = searched(source).search("word", limit=limit)
    assert ids(h.key for h in hits) == ["r2", "r1", "r0"][:count]


def test_the_default_limit_is_200():
    source = Source()
    for n in range(201):
        source.put(f"r{n}", "word", created=float(n))
    search = searched(source)
    assert len(search.search("word")) == 200
    assert len(search.matching_keys("word")) == 201


def test_newest_first_ties_in_the_order_recorded_last_first():
    source = Source()
    source.put("b", "word", created=5.0)
    source.put("a", "word", created=5.0)
    source.put("c", "word", created=1.0)
    source.put("d", "word", created=9.0)
    assert ids(searched(source).matching_keys("word")) == ["d", "a", "b", "c"]


# ------------------------------------------------------------------ building and upkeep


def test_build_reads_each_node_of_its_server_once_shard_by_shard():
    source = Source()
    source.put("r1", "word", shard=2, created=1.0)
    source.put("r2", "word", shard=0, created=2.0)
    source.put("r3", "word", shard=1, created=3.0)
    source.put("other", "word", server="t", shard=0)
    search = searched(source, "s")
    assert source.loaded == [("s", "r2"), ("s", "r3"), ("s", "r1")]
    assert len(search) == 3
    assert ids(search.matching_keys("word")) == ["r3", "r2", "r1"]
    assert set(source.asked) == {"s"}  # never every server's nodes


def test_build_skips_nodes_without_a_body():
    source = Source()
    source.put("r1", "word", created=1.0)
    source.put("r2", "word", created=2.0, body=False)
    source.put("r3", "word", created=3.0)
    search = searched(source)
    assert len(search) == 2
    assert ("s", "r2") not in search
    assert ("s", "r3") in search
    assert ids(search.matching_keys("word")) == ["r3", "r1"]


def test_a_search_of_every_server():
    source = Source()
    source.put("r", "word", server="a", created=1.0)
    source.put("r", "word", server="b", created=2.0)
    search = searched(source)
    assert search.matching_keys("word") == [("b", "r"), ("a", "r")]


def test_a_new_index_is_empty():
    search = SearchIndex(Source())
    assert len(search) == 0
    assert search.search("x") == []
    assert search.matching_keys("x") == []
    assert ("s", "r") not in search


def test_a_search_never_built_finds_what_it_is_told_about():
    source = Source()
    source.put("r1", "word", created=1.0)
    source.put("r2", "word", created=2.0)
    search = SearchIndex(source)
    search.update(("s", "r1"))
    assert ids(search.matching_keys("word")) == ["r1"]
    search.update(("s", "r2"))
    assert ids(search.matching_keys("word")) == ["r2", "r1"]


def test_update_adds_the_newest_node_in_front():
    source = Source()
    source.put("r1", "word", created=1.0)
    source.put("r2", "word", created=2.0)
    search = searched(source)
    assert ids(search.matching_keys("word")) == ["r2", "r1"]
    source.put("r3", "word", created=3.0)
    search.update(("s", "r3"))
    source.put("r4", "word", created=4.0)
    search.update(("s", "r4"))
    assert len(search) == 4
    assert ids(search.matching_keys("word")) == ["r4", "r3", "r2", "r1"]


def test_update_places_an_older_node_in_order():
    source = Source()
    source.put("r1", "word", created=1.0)
    source.put("r3", "word", created=3.0)
    search = searched(source)
    search.matching_keys("word")
    source.put("r2", "word", created=2.0)
    search.update(("s", "r2"))
    assert ids(search.matching_keys("word")) == ["r3", "r2", "r1"]
    source.put("r0", "word", created=3.0)  # same time as the newest, recorded later
    search.update(("s", "r0"))
    assert ids(search.matching_keys("word")) == ["r0", "r3", "r2", "r1"]


def test_update_of_a_node_tied_with_the_newest_keeps_the_index_order():
    # Same time and id on two servers: the index's order (recorded first, listed last)
    # decides, not the order the search was told about them.
    source = Source()
    source.put("r", "word", server="a", created=5.0, body=False)
    source.put("r", "word", server="b", created=5.0)
    search = searched(source)
    assert search.matching_keys("word") == [("b", "r")]
    source.bodies[("a", "r")] = {"input": None, "response": {"output_text": "word"}}
    search.update(("a", "r"))
    assert search.matching_keys("word") == [("b", "r"), ("a", "r")]


def test_update_of_the_first_node_of_an_empty_search():
    source = Source()
    search = searched(source)
    assert search.matching_keys("word") == []
    source.put("r1", "word")
    search.update(("s", "r1"))
    assert ids(search.matching_keys("word")) == ["r1"]


def test_update_replaces_a_changed_node_in_place():
    source = Source()
    source.put("r1", "old text", created=1.0)
    source.put("r2", "old text", created=2.0)
    source.put("r3", "old text", created=3.0)
    search = searched(source)
    assert ids(search.matching_keys("old")) == ["r3", "r2", "r1"]
    source.put("r2", "new text", created=2.0)
    search.update(("s", "r2"))
    assert ids(search.matching_keys("old")) == ["r3", "r1"]
    assert ids(search.matching_keys("new")) == ["r2"]
    assert ids(search.matching_keys("text")) == ["r3", "r2", "r1"]
    (hit,) = search.search("new")
    assert hit.snippet == "new text"


def test_update_moves_a_node_whose_time_changed():
    source = Source()
    source.put("r1", "word", created=1.0)
    source.put("r2", "word", created=2.0)
    search = searched(source)
    search.matching_keys("word")
    source.put("r1", "word", created=3.0)
    search.update(("s", "r1"))
    assert ids(search.matching_keys("word")) == ["r1", "r2"]


def test_update_before_any_search_is_seen_by_the_first():
    source = Source()
    source.put("r1", "word", created=1.0)
    search = searched(source)
    source.put("r2", "word", created=2.0)
    search.update(("s", "r2"))
    source.put("r1", "other", created=1.0)
    search.update(("s", "r1"))
    assert ids(search.matching_keys("word")) == ["r2"]
    assert ids(search.matching_keys("other")) == ["r1"]


def test_update_of_a_node_gone_from_the_index_removes_it():
    source = Source()
    source.put("r1", "word", created=1.0)
    source.put("r2", "word", created=2.0)
    search = searched(source)
    search.matching_keys("word")
    source.drop(("s", "r1"))
    search.update(("s", "r1"))
    assert ("s", "r1") not in search
    assert ids(search.matching_keys("word")) == ["r2"]


def test_update_of_a_node_whose_body_is_missing_removes_it():
    source = Source()
    source.put("r1", "word", created=1.0)
    source.put("r2", "word", created=2.0)
    search = searched(source)
    search.matching_keys("word")
    source.put("r1", "word", created=1.0, body=False)
    search.update(("s", "r1"))
    assert ("s", "r1") not in search
    assert len(search) == 1
    assert ids(search.matching_keys("word")) == ["r2"]


def test_update_ignores_another_servers_nodes():
    source = Source()
    source.put("r1", "word", server="a")
    search = searched(source, "a")
    source.put("r2", "word", server="b", created=2.0)
    search.update(("b", "r2"))
    assert len(search) == 1
    assert ids(search.matching_keys("word")) == ["r1"]
    source.put("r3", "word", server="a", created=3.0)
    search.update(("a", "r3"))
    assert search.matching_keys("word") == [("a", "r3"), ("a", "r1")]


def test_update_of_any_server_in_a_search_of_every_server():
    source = Source()
    search = searched(source)
    source.put("r1", "word", server="b")
    search.update(("b", "r1"))
    assert search.matching_keys("word") == [("b", "r1")]


def test_remove():
    source = Source()
    source.put("r1", "word", created=1.0)
    source.put("r2", "word", created=2.0)
    search = searched(source)
    search.matching_keys("word")
    search.remove(("s", "r2"))
    search.remove(("s", "unknown"))
    assert len(search) == 1
    assert ("s", "r2") not in search
    assert ids(search.matching_keys("word")) == ["r1"]
    assert search.search("word")[0].key == ("s", "r1")


def test_build_again_replaces_everything():
    source = Source()
    source.put("r1", "first")
    search = searched(source)
    source.drop(("s", "r1"))
    source.put("r2", "second")
    search.build()
    assert search.matching_keys("first") == []
    assert ids(search.matching_keys("second")) == ["r2"]
