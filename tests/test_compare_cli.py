"""`responses-tui diff ID ID`: the settings that differ and a unified diff of the two answers,
ids or unique prefixes; one line and exit 1 for an unknown or ambiguous id."""

from __future__ import annotations

import pytest
from test_cli import branched, create, run  # noqa: F401 (branched: a fixture)
from test_store import response

from tui.paths import index_dir
from tui.store.index import Index


def test_diff_prints_settings_and_a_unified_diff(branched, capsys):  # noqa: F811
    warm = create(
        {"input": "somewhere warm", "previous_response_id": branched["root"]["id"], "top_p": 0.3}
    )
    assert run("import", warm["id"], branched["c"]["id"]) == 0
    capsys.readouterr()
    assert run("diff", warm["id"][:14], branched["c"]["id"]) == 0  # a unique prefix will do
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[:2] == ["settings that differ:", "  top_p  0.3  →  —"]
    assert lines[2:4] == [f"--- {warm['id']}", f"+++ {branched['c']['id']}"]
    removed = [line for line in lines if line.startswith("-") and not line.startswith("---")]
    added = [line for line in lines if line.startswith("+") and not line.startswith("+++")]
    assert any("somewhere warm" in line for line in removed), lines
    assert any("somewhere cold" in line for line in added), lines
    assert not any("somewhere cold" in line for line in removed)
    assert captured.err == ""


def test_diff_of_the_same_answer(branched, capsys):  # noqa: F811
    assert run("import", branched["b"]["id"]) == 0
    capsys.readouterr()
    assert run("diff", branched["b"]["id"], branched["b"]["id"]) == 0
    assert capsys.readouterr().out == "settings: the same\nthe answers are the same\n"


def test_diff_unknown_and_ambiguous_ids(branched, capsys):  # noqa: F811
    assert run("import", branched["b"]["id"], branched["c"]["id"]) == 0
    capsys.readouterr()
    assert run("diff", branched["b"]["id"], "resp_nope") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("responses-tui: error: unknown response id 'resp_nope'")
    assert len(captured.err.splitlines()) == 1
    assert run("diff", "resp_", branched["b"]["id"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "'resp_' begins 4 response ids" in captured.err
    assert len(captured.err.splitlines()) == 1
    with pytest.raises(SystemExit) as usage:  # argparse: two ids are needed
        run("diff", branched["b"]["id"])
    assert usage.value.code == 2 and "required: ID" in capsys.readouterr().err


def test_diff_neutralises_what_the_server_said(capsys):
    hostile = "\x1b]52;c;c2VjcmV0\x07pwned \x1b[2J\u202eevil\r\nsecond line\x9b31m"
    with Index.open(index_dir()) as index:
        server = "http://127.0.0.1:8000/v1"
        first = {**response("resp_h1", text=f"clean {hostile}"), "model": "m\x1b[31mred"}
        index.add_response(first, server=server, profile="x")
        index.add_response(response("resp_h2", text="clean words"), server=server, profile="x")
    assert run("diff", "resp_h1", "resp_h2") == 0
    out = capsys.readouterr().out
    for bad in ("\x1b", "\x07", "\u202e", "\r", "\x9b"):
        assert bad not in out, repr(bad)
    assert out.splitlines() == [
        "settings that differ:",
        "  model  mred  →  m",
        "--- resp_h1",
        "+++ resp_h2",
        "@@ -1,2 +1 @@",
        "-clean pwned evil",  # the OSC 52 went whole, its payload with it
        "-second line",
        "+clean words",
    ]
