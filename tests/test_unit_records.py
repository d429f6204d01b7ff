"""What the index keeps about one response: summaries from documents and from responses,
cleaned times, status words, previews and parents (tui.store.records, pure)."""

from __future__ import annotations

import math
import time

import pytest
from ids import plain

from tui.store import records
from tui.store.records import (
    LOGICAL_PARENT,
    MAX_TIME,
    PREVIEW_CHARS,
    NodeSummary,
    Status,
    clean_time,
    derive_status,
    output_preview,
    parent_of,
    status_words,
    summarize,
    utc_text,
)

# Values the fast path of `from_doc` keeps exactly as stored, and `_from_odd_doc` would cut:
# a document that takes the wrong path shows it in these fields.
LONG_MODEL = "m" * 300
LONG_PROFILE = "p" * 300
LONG_SAID = "s" * 300
LONG_ANSWER = "a" * 300
LONG_LABEL = "l" * 60


def sane_doc(**changes):
    doc = {
        "server": "srv",
        "id": "resp_1",
        "parent": "resp_0",
        "created_at": 1_700_000_000.5,
        "model": LONG_MODEL,
        "profile": LONG_PROFILE,
        "status": "failed",
        "input_preview": LONG_SAID,
        "output_preview": LONG_ANSWER,
        "input_recorded": True,
        "has_tools": True,
        "ancestor_missing": True,
        "tool_labels": [LONG_LABEL, "b"],
        "shard": 4,
    }
    doc.update(changes)
    return doc


def kept_exactly(summary: NodeSummary) -> bool:
    """The summary holds the long values of `sane_doc` uncut (the fast path was taken)."""
    return (
        summary.model == LONG_MODEL
        and summary.profile == LONG_PROFILE
        and summary.input_preview == LONG_SAID
        and summary.output_preview == LONG_ANSWER
        and summary.tool_labels[0] == LONG_LABEL
    )


# ------------------------------------------------------------------ documents


def test_to_doc_writes_every_field_with_the_status_as_plain_text():
    summary = NodeSummary(
        "srv", "r", None, 3.0, "m", "p", Status.INCOMPLETE, tool_labels=("x",), shard=2
    )
    doc = summary.to_doc()
    assert doc == {
        "server": "srv",
        "id": "r",
        "parent": None,
        "created_at": 3.0,
        "model": "m",
        "profile": "p",
        "status": "incomplete",
        "input_preview": "",
        "output_preview": "",
        "input_recorded": False,
        "has_tools": False,
        "ancestor_missing": False,
        "tool_labels": ("x",),
        "shard": 2,
    }
    assert type(doc["status"]) is str
    assert summary.key == ("srv", "r")


def test_a_sane_document_is_read_exactly_as_stored():
    summary = NodeSummary.from_doc(sane_doc())
    assert summary == NodeSummary(
        server="srv",
        id="resp_1",
        parent="resp_0",
        created_at=1_700_000_000.5,
        model=LONG_MODEL,
        profile=LONG_PROFILE,
        status=Status.FAILED,
        input_preview=LONG_SAID,
        output_preview=LONG_ANSWER,
        input_recorded=True,
        has_tools=True,
        ancestor_missing=True,
        tool_labels=(LONG_LABEL, "b"),
        shard=4,
    )
    assert type(summary.tool_labels) is tuple


@pytest.mark.parametrize(
    "changes",
    [
        {"parent": None},
        {"created_at": 0.0},
        {"created_at": MAX_TIME},
        {"tool_labels": (LONG_LABEL,)},
        {"status": "stored"},
    ],
    ids=["no-parent", "time-zero", "time-last-second", "labels-tuple", "stored"],
)
def test_edge_values_that_are_still_sane_take_the_fast_path(changes):
    summary = NodeSummary.from_doc(sane_doc(**changes))
    assert kept_exactly(summary)
    for key, value in changes.items():
        expected = tuple(value) if key == "tool_labels" else value
        assert getattr(summary, key) == expected


def test_a_document_with_only_the_required_fields_gets_the_defaults():
    doc = {
        "server": "s",
        "id": "r",
        "parent": None,
        "created_at": 5.0,
        "model": "m",
        "profile": "p",
    }
    assert NodeSummary.from_doc(doc) == NodeSummary("s", "r", None, 5.0, "m", "p", Status.STORED)


def test_a_document_without_optional_fields_still_takes_the_fast_path():
    doc = {key: sane_doc()[key] for key in ("server", "id", "parent", "created_at", "profile")}
    summary = NodeSummary.from_doc({**doc, "model": LONG_MODEL})
    assert summary.model == LONG_MODEL and summary.profile == LONG_PROFILE
    assert (summary.input_preview, summary.output_preview, summary.tool_labels) == ("", "", ())
    assert summary.shard == 0


def test_a_missing_required_field_is_named_first_in_alphabetical_order():
    doc = sane_doc()
    del doc["parent"], doc["model"]
    with pytest.raises(TypeError) as raised:
        NodeSummary.from_doc(doc)
    assert str(raised.value) == "summary without model"


def test_status_is_required_by_nothing_but_read_when_known():
    doc = sane_doc()
    del doc["status"]
    assert NodeSummary.from_doc(doc).status is Status.STORED


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("deleted", Status.DELETED),
        ("missing", Status.MISSING),
        ("not_stored", Status.NOT_STORED),
        ("bogus", Status.STORED),
        (5, Status.STORED),
        (None, Status.STORED),
        (["failed"], Status.STORED),
    ],
)
def test_status_from_a_document_unknown_or_odd_is_stored(value, status):
    assert NodeSummary.from_doc(sane_doc(status=value)).status is status
    # An odd document (a time that is a string) reads the status by the same rule.
    assert NodeSummary.from_doc(sane_doc(status=value, created_at="x")).status is status


@pytest.mark.parametrize("flag", ["input_recorded", "has_tools", "ancestor_missing"])
@pytest.mark.parametrize("odd", [False, True])
def test_flags_are_true_only_when_stored_as_true(flag, odd):
    extra = {"created_at": "odd"} if odd else {}
    assert getattr(NodeSummary.from_doc(sane_doc(**{flag: True}, **extra)), flag) is True
    for value in (1, "yes", [1], None, False):
        assert getattr(NodeSummary.from_doc(sane_doc(**{flag: value}, **extra)), flag) is False
    doc = sane_doc(**extra)
    del doc[flag]
    assert getattr(NodeSummary.from_doc(doc), flag) is False


def test_the_same_names_in_many_summaries_are_one_string_each():
    def built(text):  # a string made at run time, not a shared constant
        return "".join(list(text))

    one = NodeSummary.from_doc(sane_doc(server=built("srv-x"), model=built("gpt-x")))
    two = NodeSummary.from_doc(sane_doc(server=built("srv-x"), model=built("gpt-x")))
    assert one.server is two.server
    assert one.model is two.model
    three = NodeSummary.from_doc(sane_doc(profile=built("prof-x")))
    four = NodeSummary.from_doc(sane_doc(profile=built("prof-x")))
    assert three.profile is four.profile


def test_odd_documents_intern_the_names_too():
    def built(text):
        return "".join(list(text))

    odd = {"created_at": "not a time"}
    one = NodeSummary.from_doc(sane_doc(server=built("s-y"), model=built("m-y"), **odd))
    two = NodeSummary.from_doc(sane_doc(server=built("s-y"), model=built("m-y"), **odd))
    assert one.server is two.server and one.model is two.model
    three = NodeSummary.from_doc(sane_doc(profile=built("p-y"), **odd))
    four = NodeSummary.from_doc(sane_doc(profile=built("p-y"), **odd))
    assert three.profile is four.profile


@pytest.mark.parametrize(
    "changes",
    [
        {"created_at": 5},  # an int, not what to_doc writes
        {"created_at": "1700000000"},
        {"created_at": math.nan},
        {"created_at": -1.0},
        {"created_at": MAX_TIME + 1},
        {"created_at": True},
        {"model": 5},
        {"profile": None},
        {"parent": 7},
        {"input_preview": 1},
        {"output_preview": ["x"]},
        {"tool_labels": "a label"},
        {"tool_labels": ["ok", 3]},
        {"tool_labels": {"a": 1}},
    ],
    ids=lambda c: plain(c, 40),
)
def test_a_document_with_an_odd_value_is_cleaned_field_by_field(changes):
    summary = NodeSummary.from_doc(sane_doc(**changes))
    assert summary.server == "srv" and summary.id == "resp_1"
    assert summary.status is Status.FAILED and summary.shard == 4
    assert summary.input_recorded and summary.has_tools and summary.ancestor_missing
    # Every string field is cut to its width once the document is known to be odd.
    key = next(iter(changes))
    if key != "model":
        assert summary.model == "m" * 119 + "…"
    if key != "profile":
        assert summary.profile == "p" * 199 + "…"
    if key != "input_preview":
        assert summary.input_preview == "s" * 199 + "…"
    if key != "output_preview":
        assert summary.output_preview == "a" * 199 + "…"
    if key != "parent":
        assert summary.parent == "resp_0"
    if key != "created_at":
        assert summary.created_at == 1_700_000_000.5


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"created_at": 5}, "created_at", 5.0),
        ({"created_at": "1700000000"}, "created_at", 0.0),
        ({"created_at": math.nan}, "created_at", 0.0),
        ({"created_at": True}, "created_at", 0.0),
        ({"model": 5}, "model", ""),
        ({"profile": None}, "profile", ""),
        ({"parent": 7}, "parent", None),
        ({"parent": "", "created_at": "x"}, "parent", None),
        ({"parent": "p9", "created_at": "x"}, "parent", "p9"),
        ({"input_preview": 1}, "input_preview", ""),
        ({"output_preview": ["x"]}, "output_preview", ""),
        ({"tool_labels": "a label"}, "tool_labels", ()),
        ({"tool_labels": ["ok", 3, None, "x" * 41]}, "tool_labels", ("ok", "x" * 39 + "…")),
        ({"tool_labels": ("t", 1), "created_at": "x"}, "tool_labels", ("t",)),
        ({"tool_labels": None, "created_at": "x"}, "tool_labels", ()),
        ({"shard": "3", "created_at": "x"}, "shard", 0),
        ({"shard": True, "created_at": "x"}, "shard", 0),
        ({"shard": 9, "created_at": "x"}, "shard", 9),
    ],
    ids=lambda v: plain(v, 40),
)
def test_what_each_odd_value_becomes(changes, field, expected):
    value = getattr(NodeSummary.from_doc(sane_doc(**changes)), field)
    assert value == expected
    assert type(value) is type(expected)


def test_an_odd_document_without_optional_fields_gets_the_defaults():
    doc = {
        "server": "s",
        "id": "r",
        "parent": None,
        "created_at": "when",
        "model": "m",
        "profile": "p",
    }
    assert NodeSummary.from_doc(doc) == NodeSummary("s", "r", None, 0.0, "m", "p", Status.STORED)


@pytest.mark.parametrize(
    "changes",
    [{"id": ["r"]}, {"id": 5}, {"server": 1}, {"server": None, "id": "r"}, {"id": ""}],
    ids=plain,
)
def test_an_odd_document_whose_server_or_id_is_not_a_string_is_refused(changes):
    doc = sane_doc(created_at="x", **changes)
    with pytest.raises(TypeError) as raised:
        NodeSummary.from_doc(doc)
    assert str(raised.value) == "a summary whose server or id is not a string"


def test_a_non_string_id_sends_even_a_sane_looking_document_to_the_refusal():
    with pytest.raises(TypeError, match="not a string"):
        NodeSummary.from_doc(sane_doc(id=12))
    with pytest.raises(TypeError, match="not a string"):
        NodeSummary.from_doc(sane_doc(server=["s"]))


@pytest.mark.parametrize(("width", "field"), [(120, "model"), (200, "profile")])
def test_odd_document_names_are_kept_verbatim_up_to_their_width(width, field):
    exact = "a  b" + "c" * (width - 4)  # a double space one_line would fold
    summary = NodeSummary.from_doc(sane_doc(created_at="x", **{field: exact}))
    assert getattr(summary, field) == exact
    over = exact + "d"
    summary = NodeSummary.from_doc(sane_doc(created_at="x", **{field: over}))
    assert getattr(summary, field) == "a b" + "c" * (width - 4) + "d"  # folded, not cut


def test_odd_document_previews_and_labels_are_kept_verbatim_up_to_their_width():
    said = "x  y" + "z" * (PREVIEW_CHARS - 4)
    label = "l  m" + "n" * 36
    summary = NodeSummary.from_doc(
        sane_doc(created_at="x", input_preview=said, output_preview=said, tool_labels=[label])
    )
    assert summary.input_preview == said and summary.output_preview == said
    assert summary.tool_labels == (label,)
    summary = NodeSummary.from_doc(
        sane_doc(
            created_at="x",
            input_preview=said + "!",
            output_preview=said + "!",
            tool_labels=[label + "!"],
        )
    )
    assert summary.input_preview == "x y" + "z" * (PREVIEW_CHARS - 4) + "!"  # folded, not cut
    assert summary.output_preview == summary.input_preview
    assert summary.tool_labels == ("l m" + "n" * 36 + "!",)


# ------------------------------------------------------------------ times


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0, 0.0),
        (0.5, 0.5),
        (1.5, 1.5),
        (MAX_TIME, MAX_TIME),
        (MAX_TIME + 0.5, 0.0),
        (-0.5, 0.0),
        (math.nan, 0.0),
        (math.inf, 0.0),
        (-math.inf, 0.0),
        (0, 0.0),
        (1_700_000_000, 1_700_000_000.0),
        (253_402_300_799, MAX_TIME),
        (253_402_300_800, 0.0),
        (-1, 0.0),
        (10**400, 0.0),
        (True, 0.0),
        (False, 0.0),
        ("1700000000", 0.0),
        (None, 0.0),
        ([5], 0.0),
    ],
    ids=plain,
)
def test_clean_time(value, expected):
    cleaned = clean_time(value)
    assert cleaned == expected
    assert type(cleaned) is float


@pytest.mark.parametrize(
    ("value", "form", "expected"),
    [
        (1_700_000_000, None, "2023-11-14 22:13"),
        (1_700_000_000.9, "%Y-%m-%dT%H:%M:%S", "2023-11-14T22:13:20"),
        (MAX_TIME, None, "9999-12-31 23:59"),
        (1.0, None, "1970-01-01 00:00"),
        (0, None, "unknown time"),
        (0.0, "%S", "unknown time"),
        (math.nan, None, "unknown time"),
        ("2023-11-14", None, "unknown time"),
        (None, None, "unknown time"),
    ],
    ids=plain,
)
def test_utc_text(value, form, expected):
    assert (utc_text(value) if form is None else utc_text(value, form)) == expected


@pytest.mark.parametrize("error", [ValueError, OverflowError, OSError])
def test_utc_text_on_a_platform_whose_clock_ends_sooner(monkeypatch, error):
    class ShortClock:
        @staticmethod
        def fromtimestamp(seconds, tz):
            raise error("year out of range")

    monkeypatch.setattr(records, "datetime", ShortClock)
    assert utc_text(MAX_TIME) == "unknown time"


def test_utc_text_is_utc_whatever_the_local_time_zone(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert utc_text(1_700_000_000) == "2023-11-14 22:13"
    finally:
        monkeypatch.undo()
        time.tzset()


# ------------------------------------------------------------------ status


def node(status=Status.STORED, **flags):
    return NodeSummary("s", "r", None, 1.0, "m", "p", status, **flags)


@pytest.mark.parametrize(
    ("status", "flags", "orphan", "words"),
    [
        (Status.STORED, {}, False, []),
        (Status.STORED, {}, True, ["parent unknown"]),
        (Status.NOT_STORED, {}, False, ["not stored"]),
        (Status.DELETED, {}, False, ["deleted"]),
        (Status.INCOMPLETE, {}, False, ["incomplete"]),
        (Status.FAILED, {}, False, ["failed"]),
        (Status.MISSING, {}, False, ["missing"]),
        (Status.STORED, {"ancestor_missing": True}, False, ["ancestor missing"]),
        (Status.STORED, {"ancestor_missing": True}, True, ["ancestor missing"]),
        (Status.STORED, {"has_tools": True}, False, ["tools"]),
        (
            Status.FAILED,
            {"has_tools": True, "ancestor_missing": True},
            True,
            ["failed", "ancestor missing", "tools"],
        ),
        (Status.DELETED, {"has_tools": True}, True, ["deleted", "parent unknown", "tools"]),
    ],
)
def test_status_words_in_order(status, flags, orphan, words):
    assert status_words(node(status, **flags), orphan) == words


def test_status_words_default_to_a_node_with_a_known_parent():
    assert status_words(node()) == []


@pytest.mark.parametrize(
    ("response", "status"),
    [
        ({}, Status.STORED),
        ({"status": "completed"}, Status.STORED),
        ({"store": True, "status": "completed"}, Status.STORED),
        ({"store": False, "status": "completed"}, Status.NOT_STORED),
        ({"store": False, "status": "failed"}, Status.NOT_STORED),
        ({"store": 0, "status": "completed"}, Status.STORED),
        ({"store": None}, Status.STORED),
        ({"status": "failed"}, Status.FAILED),
        ({"status": "incomplete"}, Status.INCOMPLETE),
        ({"status": "cancelled"}, Status.INCOMPLETE),
        ({"status": "in_progress"}, Status.INCOMPLETE),
        ({"status": "queued"}, Status.INCOMPLETE),
        ({"status": "FAILED"}, Status.STORED),
        ({"status": "unknown"}, Status.STORED),
    ],
    ids=plain,
)
def test_derive_status(response, status):
    assert derive_status(response) is status


# ------------------------------------------------------------------ previews and parents


def message(text):
    return {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text}],
    }


@pytest.mark.parametrize(
    ("output", "preview"),
    [
        ([message("Hello  there\nfriend")], "Hello there friend"),
        ([{"type": "function_call", "name": "get_weather"}], "[function call: get_weather]"),
        ([{"type": "mcp_approval_request", "name": "delete"}], "[approval requested: delete]"),
        ([{"type": "function_call", "name": 5}], "[function call: 5]"),
        ([{"type": "function_call"}], "[function call: ?]"),
        ([{"type": "mcp_approval_request", "name": ""}], "[approval requested: ?]"),
        (
            [
                {"type": "reasoning", "summary": []},
                {"type": "mcp_call", "name": "search"},
                {"type": "function_call", "name": "second"},
                {"type": "function_call", "name": "third"},
            ],
            "[function call: second]",
        ),
        (
            [message("   "), {"type": "function_call", "name": "f"}],
            "[function call: f]",
        ),
        ([message("answer"), {"type": "function_call", "name": "f"}], "answer"),
        ([{"type": "mcp_call", "name": "search"}], ""),
        ([], ""),
    ],
    ids=plain,
)
def test_output_preview(output, preview):
    assert output_preview({"output": output}) == preview


def test_output_preview_is_cut_to_the_preview_width():
    assert output_preview({"output": [message("w" * 500)]}) == "w" * 199 + "…"
    exact = "w" * PREVIEW_CHARS
    assert output_preview({"output": [message(exact)]}) == exact
    name = "n" * 300
    cut = output_preview({"output": [{"type": "function_call", "name": name}]})
    assert cut == ("[function call: " + name)[:199] + "…"
    cut = output_preview({"output": [{"type": "mcp_approval_request", "name": name}]})
    assert cut == ("[approval requested: " + name)[:199] + "…"


@pytest.mark.parametrize(
    ("response", "sent", "parent"),
    [
        ({"previous_response_id": "r0"}, None, "r0"),
        ({}, None, None),
        ({"previous_response_id": ""}, None, None),
        ({"previous_response_id": 5}, None, None),
        ({"previous_response_id": "server"}, {"previous_response_id": "sent"}, "sent"),
        ({"previous_response_id": "server"}, {}, None),
        ({"previous_response_id": "server"}, {"previous_response_id": None}, None),
        ({}, {LOGICAL_PARENT: "logical", "previous_response_id": "sent"}, "logical"),
        ({}, {LOGICAL_PARENT: None, "previous_response_id": "sent"}, None),
        ({}, {LOGICAL_PARENT: "", "previous_response_id": "sent"}, None),
        ({}, {LOGICAL_PARENT: "logical"}, "logical"),
    ],
    ids=plain,
)
def test_parent_of(response, sent, parent):
    assert parent_of(response, sent) == parent


# ------------------------------------------------------------------ summarize


def test_summarize_a_response_we_sent():
    response = {
        "id": "resp_2",
        "created_at": 1_700_000_000,
        "model": "gpt  4\n",
        "status": "completed",
        "previous_response_id": None,
        "output": [message("the answer")],
        "tools": [],
    }
    request = {
        "previous_response_id": "resp_1",
        "tools": [{"type": "function", "name": "f"}, {"type": "mcp", "server_label": "gh"}],
    }
    summary = summarize(
        response,
        server="srv",
        profile="work",
        input_items=[{"role": "user", "content": "the  question"}],
        request=request,
    )
    assert summary == NodeSummary(
        server="srv",
        id="resp_2",
        parent="resp_1",
        created_at=1_700_000_000.0,
        model="gpt 4",
        profile="work",
        status=Status.STORED,
        input_preview="the question",
        output_preview="the answer",
        input_recorded=True,
        has_tools=True,
        ancestor_missing=False,
        tool_labels=("f", "gh"),
        shard=0,
    )
    assert type(summary.created_at) is float


def test_summarize_an_imported_response_reads_the_servers_own_fields():
    response = {
        "id": 42,
        "created_at": "yesterday",
        "model": ["not", "a", "name"],
        "status": "failed",
        "previous_response_id": "resp_0",
        "tools": [{"type": "function", "name": "lookup"}],
        "output": [],
    }
    summary = summarize(response, server="s", profile="p", input_items=None)
    assert summary.id == "42"
    assert summary.parent == "resp_0"
    assert summary.created_at == 0.0
    assert summary.model == ""
    assert summary.status is Status.FAILED
    assert summary.input_preview == "" and summary.input_recorded is False
    assert summary.has_tools is True
    assert summary.tool_labels == ("lookup",)


def test_summarize_with_an_empty_request_falls_back_to_the_echoed_tools():
    response = {"id": "r", "tools": [{"type": "mcp", "server_label": "echoed"}]}
    summary = summarize(response, server="s", profile="p", input_items=[], request={})
    assert summary.tool_labels == ("echoed",) and summary.has_tools is True
    assert summary.input_recorded is True and summary.input_preview == ""
    assert summary.parent is None


def test_summarize_a_request_without_tools_ignores_the_echoed_ones():
    response = {"id": "r", "tools": [{"type": "function", "name": "echoed"}]}
    request = {"previous_response_id": "p", "model": "m"}
    summary = summarize(response, server="s", profile="p", input_items=None, request=request)
    assert summary.tool_labels == ()
    # The response itself still declares tools: it used them.
    assert summary.has_tools is True


def test_summarize_has_tools_from_the_output_alone():
    response = {"id": "r", "output": [{"type": "mcp_call", "name": "x"}]}
    summary = summarize(response, server="s", profile="p", input_items=None, request={"a": 1})
    assert summary.has_tools is True and summary.tool_labels == ()
    plain = summarize({"id": "r"}, server="s", profile="p", input_items=None)
    assert plain.has_tools is False and plain.tool_labels == ()


def test_summarize_cuts_the_model_labels_and_input_to_their_widths():
    response = {
        "id": "r",
        "model": "m" * 130,
        "tools": [{"type": "function", "name": "f" * 50}],
    }
    summary = summarize(
        response, server="s", profile="p", input_items=[{"role": "user", "content": "q" * 300}]
    )
    assert summary.model == "m" * 119 + "…"
    assert summary.tool_labels == ("f" * 39 + "…",)
    assert summary.input_preview == "q" * 199 + "…"


def test_summarize_takes_a_given_status_over_the_responses():
    response = {"id": "r", "status": "completed"}
    given = summarize(response, server="s", profile="p", input_items=None, status=Status.INCOMPLETE)
    assert given.status is Status.INCOMPLETE
    derived = summarize({"id": "r", "store": False}, server="s", profile="p", input_items=None)
    assert derived.status is Status.NOT_STORED
