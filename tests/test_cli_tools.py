"""`responses-tui tools …` and `responses-tui send …` against the offline backend."""

from __future__ import annotations

import json
import re

import pytest

from tui.cli import main
from tui.paths import index_dir
from tui.store.index import Index

SECRET = "ghp-cli-secret-0123456789"


def run(*argv: str) -> int:
    return main(list(argv))


def add_docs_preset() -> None:
    """The MCP preset "docs", its token in ${GH_TOKEN}."""
    assert (
        run(
            "tools",
            "add",
            "docs",
            "--mcp",
            "https://mcp.example.com/mcp",
            "--label",
            "docs",
            "--tool-header",
            "Authorization: Bearer ${GH_TOKEN}",
        )
        == 0
    )


def test_tools_add_list_remove(capsys, monkeypatch):
    add_docs_preset()
    assert (
        run(
            "tools",
            "add",
            "weather",
            "--function",
            "get_weather",
            "--description",
            "Weather",
            "--parameters",
            '{"type": "object", "properties": {"city": {"type": "string"}}}',
        )
        == 0
    )
    assert run("tools", "add", "search", "--json", '{"type": "web_search"}') == 0
    capsys.readouterr()
    assert run("tools", "list") == 0
    out = capsys.readouterr().out
    assert "docs" in out and "weather" in out and "search" in out
    assert run("tools", "add", "docs", "--sse", "https://gitmcp.io/docs") == 2
    assert "already" in capsys.readouterr().err
    assert run("tools", "add", "docs", "--sse", "https://gitmcp.io/docs", "--replace") == 0
    assert run("tools", "remove", "docs") == 0
    assert run("tools", "remove", "docs") == 1


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--mcp", "ftp://x.example.com", "--label", "x"], "server_url"),
        (
            [
                "--mcp",
                "https://x.example.com",
                "--label",
                "x",
                "--tool-header",
                "Authorization: Bearer sk-123",
            ],
            "${VARIABLE}",
        ),
        (["--function", "f", "--parameters", '{"type": "object",'], "invalid JSON"),
        (["--function", "f", "--parameters", '{"type": "obj"}'], "not a JSON type"),
        (
            ["--json", '{"type": "mcp", "server_url": "https://x.example.com"'],
            "invalid JSON at line",
        ),
        (
            [
                "--json",
                '{"type": "mcp", "server_url": "https://x.example.com", "server_label": "a b"}',
            ],
            "server_label",
        ),
    ],
)
def test_tools_add_rejects_bad_input_with_one_line(argv, expected, capsys):
    assert run("tools", "add", "bad", *argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0] and err[0].startswith("responses-tui: error:")
    with Index.open(index_dir()) as index:
        assert index.presets() == []


def last_id(text: str) -> str:
    return re.findall(r"resp_[0-9a-f]{32}", text)[-1]


def test_send_reply_and_tool_inheritance_without_storing_secrets(capsys, monkeypatch):
    monkeypatch.setenv("GH_TOKEN", SECRET)
    add_docs_preset()
    capsys.readouterr()
    assert run("send", "search the handbook", "--tools", "docs") == 0
    captured = capsys.readouterr()
    assert "Offline backend" in captured.out
    assert "tools: docs" in captured.err and "tool call docs.search" in captured.err
    first = last_id(captured.err)
    assert run("send", "and again", "--reply-to", first) == 0
    captured = capsys.readouterr()
    assert "tools: docs" in captured.err  # inherited from the turn replied to
    second = last_id(captured.err)
    assert run("send", "no tools now", "--reply-to", second, "--tools", "") == 0
    assert "tools: none" in capsys.readouterr().err
    for path in index_dir().rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes()
    with Index.open(index_dir()) as index:
        server = index.servers()[0]
        request = index.load_body(server, first)["request"]
        assert request["tools"][0]["headers"]["Authorization"] == "Bearer ${GH_TOKEN}"


def test_send_errors_are_one_line(capsys, monkeypatch):
    add_docs_preset()
    capsys.readouterr()
    assert run("send", "needs a token", "--tools", "docs") == 1
    err = capsys.readouterr().err
    assert "$GH_TOKEN" in err
    assert run("send", "x", "--tools", "nosuch") == 2
    assert "unknown tool preset 'nosuch'" in capsys.readouterr().err
    assert run("send", "x", "--reply-to", "resp_unknown") == 1
    assert "import it first" in capsys.readouterr().err
    assert run("send") == 2
    assert run("send", "--approve", "mcpr_x") == 2
    with Index.open(index_dir()) as index:
        assert index.nodes() == []


def test_send_approval_round_trip(capsys):
    assert (
        run(
            "tools",
            "add",
            "ops",
            "--mcp",
            "https://ops.example.com/mcp",
            "--label",
            "ops",
            "--approval",
            "always",
        )
        == 0
    )
    capsys.readouterr()
    assert run("send", "search the incident log", "--tools", "ops") == 0
    err = capsys.readouterr().err
    match = re.search(r"--reply-to (resp_\w+) --approve (mcpr_\w+)", err)
    assert match, err
    assert run("send", "--reply-to", match.group(1), "--approve", match.group(2)) == 0
    captured = capsys.readouterr()
    assert "tool call ops.search" in captured.err
    with Index.open(index_dir()) as index:
        server = index.servers()[0]
        child = last_id(captured.err)
        assert index.load_body(server, child)["input"] == [
            {
                "type": "mcp_approval_response",
                "approval_request_id": match.group(2),
                "approve": True,
            }
        ]


def test_send_function_call_round_trip(capsys):
    assert (
        run(
            "tools",
            "add",
            "weather",
            "--function",
            "get_weather",
            "--parameters",
            '{"type": "object", "properties": {"city": {"type": "string"}}}',
        )
        == 0
    )
    capsys.readouterr()
    assert run("send", "call get_weather for Porto", "--tools", "weather") == 0
    err = capsys.readouterr().err
    assert "tools: weather" in err and "tools: get_weather" not in err  # by preset name
    match = re.search(r"--reply-to (resp_\w+) --function-output (call_\w+)=OUTPUT", err)
    assert match, err
    assert (
        run(
            "send",
            "--reply-to",
            match.group(1),
            "--function-output",
            f"{match.group(2)}=21 degrees and clear",
        )
        == 0
    )
    assert "21 degrees and clear" in capsys.readouterr().out


def test_send_no_store_marks_it(capsys):
    assert run("send", "ephemeral", "--no-store") == 0
    err = capsys.readouterr().err
    assert "not_stored" in err
    with Index.open(index_dir()) as index:
        (node,) = index.nodes()
        assert str(node.status) == "not_stored"
        assert (
            json.dumps(index.load_body(node.server, node.id)["request"]).count('"store": false')
            == 1
        )
