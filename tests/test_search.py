"""Full-text search over the local index: fields, AND, case, order, upkeep, hostile text, speed."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import pytest
from budget import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.paths import index_dir
from tui.search import Hit, SearchIndex, case_map, lower, restore_case
from tui.store.index import Index

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "bench"))

from bench_index import SERVER, corpus  # noqa: E402

CONTROL = {chr(c) for c in range(0x20)} | {chr(c) for c in range(0x7F, 0xA0)}
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def response(
    rid: str,
    text: str = "hi",
    created: float = 1.0,
    model: str = "m",
    output: list[dict] | None = None,
    tools: list[dict] | None = None,
) -> dict:
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "model": model,
        "status": "completed",
        "tools": tools or [],
        "output": output
        if output is not None
        else [
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text}],
            }
        ],
    }


def user_input(text: str) -> list[dict]:
    return [{"type": "message", "role": "user", "content": text}]


def matched(hit: Hit) -> str:
    return hit.snippet[hit.start : hit.start + hit.length]


def assert_clean(hit: Hit) -> None:
    assert "\x1b" not in hit.snippet
    assert not (set(hit.snippet) & CONTROL), repr(hit.snippet)
    assert not (set(hit.snippet) & BIDI), repr(hit.snippet)
    assert 0 <= hit.start <= hit.start + hit.length <= len(hit.snippet)


@pytest.fixture
def index():
    idx = Index.open(index_dir())
    yield idx
    idx.close()


def built(index: Index, server: str | None = None) -> SearchIndex:
    search = SearchIndex(index, server)
    search.build()
    return search


# ------------------------------------------------------------------ fields


def test_matches_in_each_field(index):
    index.add_response(
        response(
            "resp_findme123",
            "The Lighthouse stands north of the harbour.",
            model="acme-model-7",
            tools=[{"type": "mcp", "server_label": "weather_mcp"}],
        ),
        server="s",
        profile="p",
        input_items=user_input("Where is the old lighthouse?"),
    )
    index.add_response(response("resp_other", "nothing here"), server="s", profile="p")
    search = built(index)

    cases = {
        "lighthouse": "input",  # in input and output: the input comes first
        "harbour": "output",
        "findme": "id",
        "acme-model": "model",
        "weather_mcp": "tool",
    }
    for word, field in cases.items():
        hits = search.search(word)
        assert [h.key for h in hits] == [("s", "resp_findme123")], word
        assert hits[0].field == field, word
        assert matched(hits[0]).lower() == word
        assert_clean(hits[0])
    assert search.filter_keys("harbour") == {("s", "resp_findme123")}


def test_tool_items_in_the_output_are_searchable(index):
    output = [
        {  # Fireworks' nested form, arguments as a dict
            "type": "mcp_call",
            "id": "mcp_1",
            "mcp": {"name": "get_forecast", "arguments": {"city": "Reykjavik"}},
            "output": "Sunny spells all week",
        },
        {  # OpenAI's flat form with an error
            "type": "mcp_call",
            "server_label": "maps",
            "name": "route_planner",
            "arguments": '{"to": "Akureyri"}',
            "error": "quota exhausted",
        },
        {"type": "function_call", "name": "lookup_tide", "arguments": '{"port": "Husavik"}'},
        {"type": "message", "role": "assistant", "content": "Pack a raincoat."},
    ]
    index.add_response(response("r1", output=output), server="s", profile="p")
    search = built(index)
    for word in (
        "get_forecast",
        "reykjavik",
        "sunny spells",
        "route_planner",
        "akureyri",
        "quota exhausted",
        "lookup_tide",
        "husavik",
        "raincoat",
    ):
        hits = search.search(word)
        assert [h.key for h in hits] == [("s", "r1")], word
        assert hits[0].field == "output"
        assert matched(hits[0]).lower() in word


def test_input_not_recorded_is_searchable_by_output(index):
    summary = index.add_response(
        response("r1", "an answer about glaciers"), server="s", profile="p", input_items=None
    )
    assert summary.input_recorded is False
    search = built(index)
    hits = search.search("glaciers")
    assert [(h.key, h.field) for h in hits] == [(("s", "r1"), "output")]
    assert search.search("not recorded") == []


# ------------------------------------------------------------------ queries


def test_all_words_must_match_in_any_field(index):
    index.add_response(
        response("r1", "omega point"), server="s", profile="p", input_items=user_input("alpha")
    )
    index.add_response(response("r2", "alpha only"), server="s", profile="p")
    index.add_response(response("r3", "omega only"), server="s", profile="p")
    search = built(index)
    assert search.filter_keys("alpha omega") == {("s", "r1")}
    assert search.filter_keys("  omega   alpha ") == {("s", "r1")}
    assert search.filter_keys("alpha") == {("s", "r1"), ("s", "r2")}
    assert search.filter_keys("alpha missingword") == set()
    assert search.filter_keys("ph ome") == {("s", "r1")}  # substrings, not whole words
    # A word never spans two fields: the input "alpha" and the answer "omega point" are apart.
    assert search.filter_keys("alphaomega") == set()
    hit = search.search("alpha omega")[0]
    assert hit.field == "input" and matched(hit) == "alpha"


def test_case_insensitive_and_snippet_keeps_original_case(index):
    index.add_response(response("r1", "Visit the GRAND Canyon today"), server="s", profile="p")
    search = built(index)
    for query in ("grand canyon", "GRAND CANYON", "gRaNd cAnYoN"):
        hits = search.search(query)
        assert [h.key for h in hits] == [("s", "r1")]
        assert matched(hits[0]) == "GRAND"
        assert hits[0].snippet == "Visit the GRAND Canyon today"


def test_empty_query_finds_nothing(index):
    index.add_response(response("r1", "text"), server="s", profile="p")
    search = built(index)
    assert search.search("") == []
    assert search.search("   \n\t") == []
    assert search.filter_keys("") == set()
    assert search.search("text", limit=0) == []


def test_newest_first_and_limit(index):
    for n in (3, 1, 5, 2, 4):
        index.add_response(
            response(f"r{n}", "common words", created=float(n)), server="s", profile="p"
        )
    index.add_response(response("r0", "unrelated", created=9.0), server="s", profile="p")
    search = built(index)
    assert [h.key[1] for h in search.search("common")] == ["r5", "r4", "r3", "r2", "r1"]
    assert [h.key[1] for h in search.search("common", limit=2)] == ["r5", "r4"]
    assert len(search.filter_keys("common")) == 5


def test_servers(index):
    index.add_response(response("r1", "shared word"), server="a", profile="p")
    index.add_response(response("r1", "shared word"), server="b", profile="p")
    only_a = built(index, "a")
    assert only_a.filter_keys("shared") == {("a", "r1")}
    index.add_response(response("r2", "shared again"), server="b", profile="p")
    only_a.update(("b", "r2"))  # another server: ignored
    assert only_a.filter_keys("shared") == {("a", "r1")}
    assert built(index).filter_keys("shared") == {("a", "r1"), ("b", "r1"), ("b", "r2")}


def test_snippet_is_about_80_chars_around_the_match(index):
    text = " ".join(f"word{n:03d}" for n in range(200))  # 1,599 characters
    index.add_response(response("r1", text), server="s", profile="p")
    search = built(index)
    for word in ("word000", "word100", "word199"):
        (hit,) = search.search(word)
        assert matched(hit) == word
        assert len(hit.snippet) <= 84
        assert len(hit.snippet) >= 60
        assert hit.snippet.startswith("…") == (word != "word000")
        assert hit.snippet.endswith("…") == (word != "word199")
        assert_clean(hit)


def test_multiline_text_becomes_one_line(index):
    index.add_response(
        response("r1", "first line\n\n\tsecond\r\nthird line"),
        server="s",
        profile="p",
        input_items=user_input("a\nb"),
    )
    search = built(index)
    (hit,) = search.search("second")
    assert hit.snippet == "first line second third line"
    assert_clean(hit)


def test_lengthening_lowercase_keeps_positions(index):
    # "İ".lower() is two characters: positions must still line up with the original text.
    index.add_response(response("r1", "İİİ İstanbul İzmir Needle"), server="s", profile="p")
    search = built(index)
    (hit,) = search.search("needle")
    assert matched(hit) == "Needle"
    (hit,) = search.search("stanbul")
    assert matched(hit) == "stanbul"


def test_hit_is_frozen():
    hit = Hit(("s", "r"), "output", "x", 0, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.start = 2  # type: ignore[misc]


# ------------------------------------------------------------------ upkeep


def test_update_after_change_add_and_remove(index):
    index.add_response(response("r1", "before edit", created=1.0), server="s", profile="p")
    search = built(index)
    assert search.filter_keys("before") == {("s", "r1")}

    index.add_response(response("r1", "after edit", created=1.0), server="s", profile="p")
    search.update(("s", "r1"))
    assert search.filter_keys("before") == set()
    assert search.filter_keys("after") == {("s", "r1")}

    index.add_response(response("r2", "after too", created=2.0), server="s", profile="p")
    assert search.filter_keys("too") == set()  # not yet told
    search.update(("s", "r2"))
    assert [h.key for h in search.search("after")] == [("s", "r2"), ("s", "r1")]

    search.remove(("s", "r2"))
    assert [h.key for h in search.search("after")] == [("s", "r1")]
    search.remove(("s", "missing"))  # unknown keys are fine

    index.remove("s", "r1")
    search.update(("s", "r1"))  # gone from the index: gone from the search
    assert search.search("after") == []
    assert len(search) == 0


def test_order_stays_newest_first_whatever_the_order_of_updates(index):
    for n, created in enumerate((5.0, 1.0, 3.0)):
        index.add_response(response(f"r{n}", "shared", created=created), server="s", profile="p")
    search = built(index)
    assert search.matching_keys("shared") == [("s", "r0"), ("s", "r2"), ("s", "r1")]
    index.add_response(response("new", "shared", created=9.0), server="s", profile="p")
    search.update(("s", "new"))  # newest: goes to the front
    index.add_response(response("old", "shared", created=0.5), server="s", profile="p")
    search.update(("s", "old"))  # older than others: placed by a re-sort
    assert search.matching_keys("shared") == [
        ("s", "new"),
        ("s", "r0"),
        ("s", "r2"),
        ("s", "r1"),
        ("s", "old"),
    ]
    assert search.matching_keys("shared new") == [("s", "new")]  # ids are searched too


def test_text_is_kept_compact_whatever_its_characters(index):
    # One em dash would make a Python str two bytes per character; the index keeps UTF-8.
    text = "plain words \u2014 " + "x" * 10_000
    index.add_response(response("r1", text), server="s", profile="p")
    search = built(index)
    record = search._records[("s", "r1")]
    assert len(record.low) < 10_100
    hit = search.search("\u2014")[0]
    assert hit.field == "output" and matched(hit) == "\u2014"
    assert hit.snippet.startswith("plain words \u2014 xxx")
    assert matched(search.search("WORDS xx")[0]) == "words"  # positions still line up


def test_build_again_picks_up_everything(index):
    search = SearchIndex(index)
    assert search.search("x") == []
    index.add_response(response("r1", "fresh"), server="s", profile="p")
    search.build()
    assert search.filter_keys("fresh") == {("s", "r1")}


# ------------------------------------------------------------------ hostile text


HOSTILE = (
    "\x1b]52;c;U0VDUkVU\x07pwned \x1b[31mred\x1b[0m alert [bold]markup[/bold] "
    "\u202eevil\u202c \x9b31mhigh\x07bell \x00null"
)


def test_hostile_text_is_searchable_as_text_and_snippets_are_clean(index):
    index.add_response(
        response("r1", HOSTILE, tools=[{"type": "function", "name": "t\x1b[2Jool"}]),
        server="s",
        profile="p",
        input_items=user_input("in\x1b[1mput [link=http://x]click[/link]\nline"),
    )
    search = built(index)
    for query, field in (
        ("pwned", "output"),
        ("red alert", "output"),
        ("[bold]markup[/bold]", "output"),
        ("evil", "output"),
        ("highbell", "output"),
        ("[link=http://x]click[/link]", "input"),
        ("input", "input"),
        ("tool", "tool"),
    ):
        hits = search.search(query)
        assert [(h.key, h.field) for h in hits] == [(("s", "r1"), field)], query
        assert_clean(hits[0])
    # What a terminal would act on is not text: the OSC 52 payload is not searchable.
    assert search.search("U0VDUkVU") == []
    assert search.search("52;c") == []
    assert search.search("[31m") == []
    for hit in search.search("[bold]"):
        assert matched(hit) == "[bold]"


def test_control_characters_in_the_query_match_nothing_dangerous(index):
    index.add_response(response("r1", "plain"), server="s", profile="p")
    search = built(index)
    assert search.search("\x1b[31m") == []
    assert search.filter_keys("pla\x1b[0min") == {("s", "r1")}  # the query is sanitized too


# ------------------------------------------------------------------ purity and speed


def test_module_does_not_import_textual():
    code = "import sys, tui.search; print('textual' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def best_of_3(call) -> tuple[float, object]:
    times = []
    result = None
    for _ in range(3):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return min(times), result


def test_speed_on_10000_responses(tmp_path):
    with Index.open(tmp_path / "index") as index:
        index.add_many(corpus(10_000, 500), server=SERVER, profile="bench")
        search = SearchIndex(index, SERVER)
        started = time.perf_counter()
        search.build()
        build = time.perf_counter() - started
        print(f"\nbuild of 10,000 responses: {build * 1000:.0f} ms")
        assert len(search) == 10_000
        assert build < 3.0

        queries = {
            "fox": 10_000,  # in every answer
            "question number 4242": 1,
            "answer 9999": 1,
            "resp_00000000000000000000000000002710": 0,
            "zzzz-not-there": 0,
            "lazy dog never": 0,
            "QWEN3": 10_000,
        }
        for query, count in queries.items():
            seconds, hits = best_of_3(lambda q=query: search.search(q))
            print(f"search {query!r}: {len(hits)} hits, {seconds * 1000:.1f} ms")
            assert len(hits) == min(count, 200)
            assert seconds < 0.05
            seconds, keys = best_of_3(lambda q=query: search.filter_keys(q))
            print(f"filter_keys {query!r}: {len(keys)} keys, {seconds * 1000:.1f} ms")
            assert len(keys) == count
            assert seconds < 0.05
        newest = search.search("fox", limit=3)
        assert [h.key[1] for h in newest] == [f"resp_{n:032x}" for n in (9999, 9998, 9997)]


# ------------------------------------------------------------------ case restoration


@settings(max_examples=examples(400), deadline=None)
@given(st.text(max_size=300))
def test_case_map_restores_any_text(text):
    original = text.encode("utf-8", "surrogatepass")
    low = lower(text).encode("utf-8", "surrogatepass")
    assert restore_case(low, case_map(original, low)) == original


@pytest.mark.parametrize(
    "text",
    [
        "",
        "already lowercase",
        "Hello World",
        "ÄÖÜ straße ΣΊΣΥΦΟΣ",
        "\u212a Kelvin sign changes length",  # K-sign lowercases to a 1-byte "k"
        "A" * 200 + "b" * 300 + "C",  # long runs and long gaps (multi-byte varints)
    ],
)
def test_case_map_examples(text):
    original = text.encode()
    low = lower(text).encode()
    case = case_map(original, low)
    assert restore_case(low, case) == original
    if original == low:
        assert case == b""


def test_case_map_of_prose_is_small():
    sentence = "The model explains, step by step, how a branch differs from its siblings."
    prose = " ".join([sentence] * 40).encode()  # a capital every 75 characters
    low = prose.lower()
    assert len(case_map(prose, low)) < len(prose) / 10
