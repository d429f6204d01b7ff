"""What the server returned, shown on every turn: token usage, reasoning settings, cited
sources and the status (failed, incomplete, cancelled, queued, in progress).

Pure tests for the usage parser (tui/api/usage.py) and the renderers (tui/turn_meta.py),
Pilot tests for the transcript, and the Markdown export. The response objects are written by
hand in the documented shapes (OpenAI's spec, Fireworks' Chat-Completions-style usage) or
taken from the bytes recorded from Llama Stack in tests/wire/.
"""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from budget import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ids import plain
from ui_helpers import SERVER, build, goto, key_of

from tui.api.usage import MAX_TOKENS, NO_USAGE, Usage, parse_usage, response_usage
from tui.ops.export import export_markdown, export_tree_markdown
from tui.store.records import Status
from tui.turn_meta import (
    CUT_SHORT,
    MAX_SOURCES,
    meta_line,
    reasoning_setting,
    source_lines,
    sources,
    status_note,
    usage_text,
)
from tui.ui.transcript import RICH_TURNS, Sources, TurnMeta

WIRE = Path(__file__).parent / "wire"
SIZE = (150, 50)
T = 1_790_000_000.0

OPENAI_USAGE = {
    "input_tokens": 1234,
    "input_tokens_details": {"cached_tokens": 1000},
    "output_tokens": 56,
    "output_tokens_details": {"reasoning_tokens": 20},
    "total_tokens": 1290,
}
FIREWORKS_USAGE = {
    "prompt_tokens": 1083,
    "prompt_tokens_details": {"cached_tokens": 512},
    "completion_tokens": 451,
    "completion_tokens_details": {"reasoning_tokens": 300},
    "total_tokens": 1534,
}
ESC = "\x1b]52;c;ZXZpbA==\x07\x1b[31m"  # an OSC 52 clipboard write and a colour


def message(text: str, annotations: list[Any] | None = None) -> dict[str, Any]:
    return {
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": annotations or []}],
    }


def response(rid: str, text: str = "An answer.", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": rid,
        "object": "response",
        "created_at": T,
        "status": "completed",
        "model": "gpt-test",
        "output": [message(text)] if text else [],
        "previous_response_id": None,
    }
    body.update(fields)
    return body


def user(text: str) -> list[dict[str, Any]]:
    return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}]


CITED = [
    {
        "type": "url_citation",
        "url": "https://docs.example.com/gil",
        "title": "The GIL",
        "start_index": 0,
        "end_index": 5,
    },
    {"type": "file_citation", "file_id": "file-abc", "filename": "report.pdf", "index": 3},
    {  # the same page again: one source
        "type": "url_citation",
        "url": "https://docs.example.com/gil",
        "title": "The GIL",
        "start_index": 9,
        "end_index": 12,
    },
    {
        "type": "container_file_citation",
        "container_id": "cntr_1",
        "file_id": "cfile_9",
        "filename": "out.csv",
        "start_index": 1,
        "end_index": 2,
    },
    {"type": "file_path", "file_id": "file-path-1", "index": 0},  # not a citation
]


# ------------------------------------------------------------------ the usage parser


def test_usage_in_the_responses_naming():
    assert parse_usage(OPENAI_USAGE) == Usage(
        input=1234, cached=1000, output=56, reasoning=20, total=1290
    )


def test_usage_in_the_chat_completions_naming():
    assert parse_usage(FIREWORKS_USAGE) == Usage(
        input=1083, cached=512, output=451, reasoning=300, total=1534
    )
    # The real Fireworks run (June 2025) had no details: None, not 0.
    assert parse_usage({"prompt_tokens": 1083, "completion_tokens": 451}) == Usage(
        input=1083, output=451, total=1534
    )


def test_usage_prefers_the_responses_names_and_falls_back_per_field():
    both = {**FIREWORKS_USAGE, "input_tokens": 7, "output_tokens": "many"}
    parsed = parse_usage(both)
    assert parsed.input == 7
    assert parsed.output == 451  # output_tokens is a string: completion_tokens counts


def test_usage_missing_or_not_an_object_is_empty():
    for value in (None, [], "12", 12, {"foo": 1}):
        assert parse_usage(value) == NO_USAGE
        assert parse_usage(value).empty
    assert response_usage({"usage": None}) == NO_USAGE
    assert response_usage("not a response") == NO_USAGE
    assert not parse_usage({"input_tokens": 0}).empty


@pytest.mark.parametrize(
    "hostile",
    [
        "1234",
        -1,
        True,
        False,
        MAX_TOKENS,
        10**400,
        1.5,
        math.nan,
        math.inf,
        -0.5,
        [1],
        {"value": 1},
        None,
    ],
    ids=plain,
)
def test_usage_ignores_values_that_are_not_sane_counts(hostile):
    usage = {
        "input_tokens": hostile,
        "prompt_tokens": hostile,
        "input_tokens_details": {"cached_tokens": hostile},
        "output_tokens": 10,
        "output_tokens_details": {"reasoning_tokens": hostile},
        "total_tokens": hostile,
    }
    parsed = parse_usage(usage)
    assert parsed.input is None and parsed.cached is None and parsed.reasoning is None
    assert parsed.output == 10
    assert parsed.total is None  # not computable without the input


def test_usage_accepts_whole_floats_and_drops_inconsistent_details():
    assert parse_usage({"input_tokens": 12.0, "output_tokens": 3}) == Usage(
        input=12, output=3, total=15
    )
    nested = {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 11},  # more cached than sent
        "output_tokens": 5,
        "output_tokens_details": [{"reasoning_tokens": 2}],  # details not an object
        "prompt_tokens_details": "cached: lots",
    }
    assert parse_usage(nested) == Usage(input=10, output=5, total=15)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)
KEYS = st.sampled_from(
    [
        "input_tokens",
        "prompt_tokens",
        "output_tokens",
        "completion_tokens",
        "total_tokens",
        "input_tokens_details",
        "prompt_tokens_details",
        "output_tokens_details",
        "completion_tokens_details",
        "cached_tokens",
        "reasoning_tokens",
    ]
)


@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEYS, JSON | st.dictionaries(KEYS, JSON)))
def test_usage_property_never_raises_and_every_figure_is_a_sane_count(usage):
    parsed = parse_usage(usage)
    for value in (parsed.input, parsed.cached, parsed.output, parsed.reasoning, parsed.total):
        assert value is None or (type(value) is int and value >= 0)
    for value in (parsed.input, parsed.cached, parsed.output, parsed.reasoning):
        assert value is None or value < MAX_TOKENS
    text = usage_text(parsed)
    assert "\n" not in text and "-" not in text


def _recorded_llama_stack() -> tuple[dict[str, Any], dict[str, Any]]:
    """A non-streamed response and the final response of a stream, as Llama Stack sent them."""
    plain = streamed = None
    for line in (WIRE / "llama-stack-0.7.3.jsonl").read_text().splitlines():
        exchange = json.loads(line)
        if exchange["method"] != "POST" or exchange["status"] != 200:
            continue
        body = exchange["response"]
        if isinstance(body, dict):  # JSON, stored parsed
            if plain is None and isinstance(body.get("usage"), dict):
                plain = body
            continue
        if streamed is None and "response.completed" in body:
            for chunk in body.split("\n\n"):
                data = chunk.removeprefix("data: ")
                if '"response.completed"' in data:
                    streamed = json.loads(data)["response"]
    assert plain is not None and streamed is not None
    return plain, streamed


def test_usage_from_the_bytes_llama_stack_sent():
    plain, streamed = _recorded_llama_stack()
    assert response_usage(plain) == Usage(input=4, cached=0, output=14, reasoning=0, total=18)
    assert response_usage(streamed) == Usage(input=5, cached=0, output=15, reasoning=0, total=20)
    assert meta_line(plain) == "in 4 · out 14"  # zero details are left out
    assert status_note(plain) is None  # completed: no note
    assert sources(plain) == []  # "annotations": []


# ------------------------------------------------------------------ the meta line


def test_usage_text_is_compact_with_thousands_separators():
    assert (
        usage_text(parse_usage(OPENAI_USAGE)) == "in 1,234 (cached 1,000) · out 56 (reasoning 20)"
    )
    assert (
        usage_text(parse_usage(FIREWORKS_USAGE))
        == "in 1,083 (cached 512) · out 451 (reasoning 300)"
    )
    assert usage_text(Usage(input=5, cached=0, output=7, reasoning=0)) == "in 5 · out 7"
    assert usage_text(Usage(output=7)) == "out 7"
    assert usage_text(Usage(total=99)) == "99 tokens"
    assert usage_text(NO_USAGE) == ""


def test_reasoning_effort_and_summary_mode():
    assert reasoning_setting({"reasoning": {"effort": "high", "summary": "auto"}}) == (
        "effort high, summary auto"
    )
    assert reasoning_setting({"reasoning": {"effort": "low", "summary": None}}) == "effort low"
    assert reasoning_setting({"reasoning": {"generate_summary": "concise"}}) == "summary concise"
    for hostile in (None, "high", {"effort": 3}, {"effort": ["high"]}, {"effort": " "}):
        assert reasoning_setting({"reasoning": hostile}) == ""
    shown = reasoning_setting({"reasoning": {"effort": f"hi{ESC}gh\nx" * 20}})
    assert "\x1b" not in shown and "\x07" not in shown and "\n" not in shown
    assert len(shown) <= len("effort ") + 20


def test_meta_line_joins_usage_and_reasoning():
    full = {"usage": OPENAI_USAGE, "reasoning": {"effort": "medium"}}
    assert meta_line(full) == "in 1,234 (cached 1,000) · out 56 (reasoning 20) · effort medium"
    assert meta_line({"reasoning": {"effort": "medium"}}) == "effort medium"
    assert meta_line({"usage": None, "reasoning": None}) == ""
    assert meta_line(None) == ""


# ------------------------------------------------------------------ the status note


@pytest.mark.parametrize(
    ("fields", "expected", "level"),
    [
        (
            {
                "status": "failed",
                "error": {"code": "model_not_found", "message": "Model 'x' not found"},
            },
            "✗ failed: Model 'x' not found (model_not_found)",
            "error",
        ),
        (
            {"status": "failed", "error": {"code": "server_error"}},
            "✗ failed: server_error",
            "error",
        ),
        ({"status": "failed", "error": None}, "✗ failed", "error"),
        (
            {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}},
            "… incomplete: max_output_tokens (the output token limit was reached)",
            "warning",
        ),
        (
            {"status": "incomplete", "incomplete_details": {"reason": "content_filter"}},
            "… incomplete: content_filter (stopped by the content filter)",
            "warning",
        ),
        (
            {"status": "incomplete", "incomplete_details": {"reason": "interrupted"}},
            "… incomplete: interrupted (the stream broke; the partial answer is kept)",
            "warning",
        ),
        (
            {"status": "incomplete", "incomplete_details": {"reason": "cancelled"}},
            "… incomplete: cancelled (cancelled; the partial answer is kept)",
            "warning",
        ),
        (
            {"status": "incomplete", "incomplete_details": {"reason": "new_reason"}},
            "… incomplete: new_reason",
            "warning",
        ),
        ({"status": "incomplete", "incomplete_details": None}, "… incomplete", "warning"),
        ({"status": "cancelled"}, "⊘ cancelled", "warning"),
        ({"status": "queued", "background": True}, "‖ queued (background)", "info"),
        ({"status": "in_progress", "background": True}, "◔ in progress (background)", "info"),
        (
            {"status": "in_progress", "background": False},
            "◔ in progress when recorded: the reply never finished",
            "warning",
        ),
    ],
)
def test_status_note_for_every_status(fields, expected, level):
    note = status_note(response("resp_1", **fields))
    assert note is not None
    assert (note.text, note.level) == (expected, level)


def test_a_completed_turn_has_no_status_note():
    assert status_note(response("resp_1")) is None
    assert status_note(response("resp_1"), recorded="incomplete") is None
    # A response that does not say, marked incomplete or failed in the index: a generic note.
    assert status_note({"id": "resp_1"}) is None
    assert status_note({"id": "resp_1"}, recorded="stored") is None
    assert status_note({"id": "resp_1"}, recorded="incomplete") == CUT_SHORT
    assert status_note({"id": "resp_1", "status": 7}, recorded="failed").text == "✗ failed"


def test_status_note_neutralises_the_server_message():
    error = {"code": f"bad{ESC}\ncode", "message": f"boom{ESC}\n\u202eevil" + "x" * 5000}
    note = status_note(response("resp_1", status="failed", error=error))
    assert note is not None
    for bad in ("\x1b", "\x07", "\n", "\u202e"):
        assert bad not in note.text
    assert len(note.text) < 300
    assert status_note(response("resp_1", status="failed", error="plain text")).text == (
        "✗ failed: plain text"
    )
    hostile = {"status": "incomplete", "incomplete_details": {"reason": ["max_output_tokens"]}}
    assert status_note(response("resp_1", **hostile)).text == "… incomplete"


# ------------------------------------------------------------------ sources


def cited_response(annotations: list[Any], rid: str = "resp_cited") -> dict[str, Any]:
    return response(rid, output=[message("Answer with sources.", annotations)])


def test_sources_are_numbered_deduplicated_and_formatted():
    assert source_lines(cited_response(CITED)) == [
        "[1] The GIL — https://docs.example.com/gil",
        "[2] report.pdf (file-abc)",
        "[3] out.csv (cfile_9 in cntr_1)",
    ]


def test_sources_across_messages_and_missing_titles():
    first = message("a", [{"type": "url_citation", "url": "https://a.example/"}])
    second = message(
        "b",
        [
            {"type": "url_citation", "url": "https://a.example/", "title": "Found later"},
            {"type": "url_citation", "url": "https://a.example/", "title": "Not this one"},
            {"type": "file_citation", "file_id": "file-1"},
            {"type": "file_citation", "filename": "notes.txt"},
        ],
    )
    assert source_lines(response("resp_1", output=[first, second])) == [
        "[1] Found later — https://a.example/",
        "[2] file-1",
        "[3] notes.txt",
    ]


def test_sources_ignore_hostile_annotations_and_neutralise_strings():
    annotations: list[Any] = [
        "not an object",
        None,
        {"type": "url_citation", "url": 42, "title": "no url"},
        {"type": "url_citation", "title": "no url at all"},
        {"type": "file_citation", "file_id": None},
        {"type": ["url_citation"], "url": "https://x.example/"},
        {
            "type": "url_citation",
            "url": f"https://evil.example/{ESC}\npath",
            "title": f"[red]Title[/red]{ESC}\n\u202egnirts",
        },
    ]
    lines = source_lines(cited_response(annotations))
    assert len(lines) == 1
    for bad in ("\x1b", "\x07", "\n", "\u202e"):
        assert bad not in lines[0]
    assert lines[0].startswith("[1] [red]Title[/red]")  # shown as text, not as markup
    weird = response("resp_1", output=[{"type": "message", "content": [{"annotations": "x"}]}])
    assert sources(weird) == []
    assert sources({"output": "nope"}) == [] and sources(None) == []


def test_many_sources_are_capped_and_counted():
    many = [
        {"type": "url_citation", "url": f"https://s{n}.example/"} for n in range(MAX_SOURCES + 7)
    ]
    lines = source_lines(cited_response(many))
    assert len(lines) == MAX_SOURCES + 1
    assert lines[-1] == "… 7 more sources"
    assert lines[MAX_SOURCES - 1] == f"[{MAX_SOURCES}] https://s{MAX_SOURCES - 1}.example/"


# ------------------------------------------------------------------ the transcript (Pilot)


def screen_text(app) -> str:
    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


def add(index, body: dict[str, Any], said: str, status: Status | None = None) -> tuple[str, str]:
    summary = index.add_response(
        body, server=SERVER, profile="local", input_items=user(said), status=status
    )
    return summary.key


def chain(index, bodies: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Responses linked root first, each replying to the one before."""
    keys = []
    parent = None
    for n, body in enumerate(bodies):
        body = {**body, "previous_response_id": parent, "created_at": T + n}
        keys.append(add(index, body, f"question {n}"))
        parent = body["id"]
    return keys


async def test_the_transcript_shows_token_usage_in_both_namings(tmp_path):
    app, index, _ = build(tmp_path, demo=False)
    keys = chain(
        index,
        [
            response(
                "resp_openai", "First answer.", usage=OPENAI_USAGE, reasoning={"effort": "high"}
            ),
            response("resp_fw", "Second answer.", usage=FIREWORKS_USAGE),
            response("resp_none", "Third answer.", usage=None),
        ],
    )
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, keys[-1])
        shown = screen_text(app)
        assert "in 1,234 (cached 1,000) · out 56 (reasoning 20) · effort high" in shown
        assert "in 1,083 (cached 512) · out 451 (reasoning 300)" in shown
        metas = [str(w.content) for w in app.transcript.query(TurnMeta)]
        assert len(metas) == 2  # the turn without usage has no meta line
    index.close()


async def test_the_transcript_shows_usage_from_llama_stack_and_the_offline_backend(tmp_path):
    plain, _streamed = _recorded_llama_stack()
    app, index, _ = build(tmp_path)  # the demo, created through the offline backend
    key = add(index, plain, "a plain non-streamed request")
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, key)
        assert "in 4 · out 14" in screen_text(app)
        demo = key_of(index, "Add a day trip to Sintra")
        await goto(pilot, app, demo)
        usage = response_usage(index.load_body(*demo)["response"])
        assert usage.input and usage.output
        assert f"in {usage.input} · out {usage.output}" in screen_text(app)
    index.close()


async def test_the_transcript_lists_the_cited_sources_as_plain_text(tmp_path):
    app, index, _ = build(tmp_path, demo=False)
    hostile = {"type": "url_citation", "url": f"https://evil.example/{ESC}", "title": f"x{ESC}"}
    key = add(index, cited_response([*CITED, hostile]), "What is the GIL?")
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, key)
        shown = screen_text(app)
        assert "[1] The GIL — https://docs.example.com/gil" in shown
        assert "[2] report.pdf (file-abc)" in shown
        assert "[3] out.csv (cfile_9 in cntr_1)" in shown
        assert "[4] x — https://evil.example/" in shown
        assert "[5]" not in shown  # the repeated page is listed once
        (widget,) = app.transcript.query(Sources)
        text = widget.content
        assert "\x1b" not in text.plain and "\x07" not in text.plain
        assert all("link" not in str(span.style) for span in text.spans)  # no OSC 8 links
    index.close()


STATUSES = [
    (
        {
            "status": "failed",
            "error": {"code": "model_not_found", "message": "Model 'x' not found"},
        },
        "✗ failed: Model 'x' not found (model_not_found)",
    ),
    (
        {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}},
        "… incomplete: max_output_tokens",
    ),
    (
        {"status": "incomplete", "incomplete_details": {"reason": "content_filter"}},
        "… incomplete: content_filter",
    ),
    ({"status": "cancelled"}, "⊘ cancelled"),
    ({"status": "queued", "background": True}, "‖ queued (background)"),
    ({"status": "in_progress", "background": True}, "◔ in progress (background)"),
]


@pytest.mark.parametrize(("fields", "expected"), STATUSES, ids=lambda v: plain(v, 30))
async def test_the_transcript_shows_each_status_as_a_note(tmp_path, fields, expected):
    app, index, _ = build(tmp_path, demo=False)
    text = "" if fields["status"] in ("queued", "failed") else "Partial answer."
    key = add(index, response("resp_status", text, **fields), "Hello?")
    assert index.get(*key).status != Status.STORED
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, key)
        shown = screen_text(app)
        assert expected in shown
        assert "the reply was cut short" not in shown  # the specific note, not the generic one
        assert len(app.transcript.query(".status")) == 1
    index.close()


async def test_a_completed_turn_shows_no_status_note(tmp_path):
    app, index, _ = build(tmp_path, demo=False)
    key = add(index, response("resp_done", usage=OPENAI_USAGE), "Hello?")
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, key)
        assert len(app.transcript.query(".status")) == 0
        shown = screen_text(app)
        assert "✗" not in shown and "incomplete" not in shown
    index.close()


async def test_compact_older_turns_carry_the_meta_line_and_the_status_note(tmp_path):
    app, index, _ = build(tmp_path, demo=False)
    failed = response(
        "resp_old0",
        "",
        status="failed",
        usage={"prompt_tokens": 3210, "completion_tokens": 0},
        error={"code": "server_error", "message": "The model crashed"},
    )
    rest = [response(f"resp_old{n}", f"Answer {n}.") for n in range(1, RICH_TURNS + 2)]
    keys = chain(index, [failed, *rest])
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, keys[-1])
        (older,) = app.transcript.query(".older")
        text = older.content.plain
        assert "in 3,210 · out 0" in text
        assert "✗ failed: The model crashed (server_error)" in text
        assert text.count("✗ failed") == 1
    index.close()


# ------------------------------------------------------------------ the Markdown export


def test_the_markdown_export_has_the_same_figures_sources_and_notes(tmp_path):
    from tui.store.index import Index

    index = Index.open(tmp_path / "index")
    title = "[click](javascript:alert(1)) <b>x</b> `code`"
    keys = chain(
        index,
        [
            response(
                "resp_e1",
                usage=OPENAI_USAGE,
                reasoning={"effort": "high", "summary": "auto"},
                output=[
                    message(
                        "Cited.",
                        [
                            *CITED,
                            {"type": "url_citation", "url": "https://t.example/", "title": title},
                        ],
                    )
                ],
            ),
            response(
                "resp_e2",
                "Cut.",
                status="incomplete",
                incomplete_details={"reason": "max_output_tokens"},
                usage=FIREWORKS_USAGE,
            ),
        ],
    )
    for export in (export_markdown, export_tree_markdown):
        text = export(index, SERVER, keys[-1][1])
        # The transcript's meta line, with the turn's cost (none known on the offline backend).
        assert (
            "in 1,234 (cached 1,000) · out 56 (reasoning 20) · unknown price · "
            "effort high, summary auto"
        ) in text
        assert "in 1,083 (cached 512) · out 451 (reasoning 300) · unknown price" in text
        assert "- \\[1\\] The GIL — https://docs.example.com/gil" in text
        assert "- \\[2\\] report.pdf (file-abc)" in text
        assert "- \\[3\\] out.csv (cfile_9 in cntr_1)" in text
        assert "\\[4\\] \\[click\\](javascript:alert(1)) \\<b\\>x\\</b\\> \\`code\\`" in text
        assert "[click](" not in text and "<b>" not in text
        assert "… incomplete: max_output_tokens (the output token limit was reached)" in text
        assert text.count("**Sources**") == 1
    index.close()
