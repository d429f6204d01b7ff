"""Whole-conversation export (`export ID --tree`) and re-import from a file (`import --file`),
end to end through the CLI against the offline backend in the test's own data directory."""

from __future__ import annotations

import asyncio
import json
import re
import stat
from pathlib import Path

import pytest

from tui.api.profiles import resolve_profile
from tui.cli import main
from tui.ops.connect import make_client, server_id
from tui.ops.export import export_json, export_tree_json
from tui.ops.importer import import_export_file
from tui.paths import index_dir
from tui.store.index import Index
from tui.store.records import Status

LOCAL = resolve_profile("local", {})
SERVER = server_id(LOCAL)
RED = "\x1b[31mred alert\x1b[0m and \x1b]0;title\x07 more"


def run(*argv: str) -> int:
    return main(list(argv))


def create(body: dict) -> dict:
    async def go() -> dict:
        async with make_client(LOCAL, {}) as client:
            return await client.create({"model": "offline-echo", **body})

    return asyncio.run(go())


def delete_on_server(rid: str) -> None:
    async def go() -> None:
        async with make_client(LOCAL, {}) as client:
            await client.delete(rid)

    asyncio.run(go())


@pytest.fixture
def tree(capsys):
    """gone -> root; root -> a -> b, a -> d, root -> c, root -> e (not stored).

    "gone" is deleted on the server before the import, so root is kept with "ancestor
    missing"; "a" is then deleted on the server but kept (status deleted) because b and d hang
    from it; c is marked missing; d's input carries ANSI escapes; e was sent with store false.
    """
    gone = create({"input": "prelude"})
    root = create({"input": "plan a trip", "previous_response_id": gone["id"]})
    a = create({"input": "somewhere warm", "previous_response_id": root["id"]})
    b = create({"input": "in december", "previous_response_id": a["id"]})
    c = create({"input": "somewhere cold", "previous_response_id": root["id"]})
    d = create({"input": RED, "previous_response_id": a["id"]})
    delete_on_server(gone["id"])
    assert run("import", b["id"], c["id"], d["id"]) == 0
    assert run("send", "--reply-to", root["id"], "--no-store", "not kept on the server") == 0
    assert run("delete", a["id"], "--yes") == 0
    with Index.open(index_dir()) as index:
        index.set_status(SERVER, c["id"], Status.MISSING)
        e = next(n for n in index.nodes(SERVER) if n.status == Status.NOT_STORED)
        assert index.get(SERVER, a["id"]).status == Status.DELETED
        assert index.get(SERVER, root["id"]).ancestor_missing
    capsys.readouterr()
    return {"root": root, "a": a, "b": b, "c": c, "d": d, "e_id": e.id, "gone": gone}


def snapshot(server: str = SERVER) -> dict:
    """Everything the forest and the bodies say about one server, comparable with ==."""
    with Index.open(index_dir()) as index:
        forest = index.forest(server)
        nodes = {}
        for key in forest.keys():  # noqa: SIM118 (Forest is not iterable)
            summary = index.get(*key)
            body = index.load_body(*key)
            parent = forest.parent(key)
            nodes[key[1]] = {
                "parent": parent[1] if parent else None,
                "children": [k[1] for k in forest.children(key)],
                "status": str(summary.status),
                "ancestor_missing": summary.ancestor_missing,
                "profile": summary.profile,
                "input_recorded": summary.input_recorded,
                "input": body["input"],
                "response": body["response"],
                "request": body["request"],
            }
        return {"roots": [k[1] for k in forest.roots()], "nodes": nodes}


def listing(capsys) -> str:
    capsys.readouterr()
    assert run("list") == 0
    return capsys.readouterr().out


def export_tree(capsys, rid: str, fmt: str = "json") -> str:
    capsys.readouterr()
    assert run("export", rid, "--tree", "--format", fmt) == 0
    return capsys.readouterr().out


def preorder(tree: dict) -> list[str]:
    t = tree
    return [t["root"]["id"], t["a"]["id"], t["b"]["id"], t["d"]["id"], t["c"]["id"], t["e_id"]]


def _children_order(tree: dict) -> None:
    """The fixture's pre-order assumes creation order among siblings."""
    snap = snapshot()["nodes"]
    assert snap[tree["root"]["id"]]["children"] == [tree["a"]["id"], tree["c"]["id"], tree["e_id"]]
    assert snap[tree["a"]["id"]]["children"] == [tree["b"]["id"], tree["d"]["id"]]


# ---------------------------------------------------------------- JSON tree export


def test_tree_json_is_preorder_with_exact_server_objects(tree, capsys):
    _children_order(tree)
    # Any turn of the conversation exports the same whole tree.
    for rid in (tree["b"]["id"], tree["root"]["id"], tree["e_id"]):
        doc = json.loads(export_tree(capsys, rid))
        assert doc["format"] == "responses-tui.export"
        assert doc["version"] == 2 and doc["scope"] == "tree"
        assert doc["server"] == SERVER
        assert doc["root"] == tree["root"]["id"]
        assert [e["response"]["id"] for e in doc["responses"]] == preorder(tree)
    entries = {e["response"]["id"]: e for e in doc["responses"]}
    for name in ("root", "a", "b", "c", "d"):
        assert entries[tree[name]["id"]]["response"] == tree[name]  # exactly as returned
    for entry in doc["responses"]:
        assert set(entry) == {
            "response",
            "input",
            "request",
            "profile",
            "status",
            "ancestor_missing",
        }
    assert entries[tree["root"]["id"]]["input"][0]["content"][0]["text"] == "plan a trip"
    assert entries[tree["d"]["id"]]["input"][0]["content"][0]["text"] == RED
    assert entries[tree["root"]["id"]]["ancestor_missing"] is True
    assert entries[tree["a"]["id"]]["status"] == "deleted"
    assert entries[tree["c"]["id"]]["status"] == "missing"
    assert entries[tree["e_id"]]["status"] == "not_stored"
    assert entries[tree["e_id"]]["request"] is not None  # what `send` recorded
    assert entries[tree["b"]["id"]]["status"] == "stored"
    # Parents always come before their children.
    seen: set[str] = set()
    for entry in doc["responses"][1:]:
        assert entry["response"]["previous_response_id"] in seen | {doc["root"]}
        seen.add(entry["response"]["id"])


def test_path_export_says_its_scope_and_stays_version_1(tree, capsys):
    assert run("export", tree["b"]["id"], "--format", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["version"] == 1 and doc["scope"] == "path"
    assert doc["path"] == [tree[k]["id"] for k in ("root", "a", "b")]


# ---------------------------------------------------------------- round trip


def test_forget_and_reimport_recreates_the_same_forest(tree, capsys, tmp_path):
    before, listed = snapshot(), listing(capsys)
    target = tmp_path / "tree.json"
    capsys.readouterr()
    assert run("export", tree["d"]["id"], "--tree", "--format", "json", "-o", str(target)) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    assert run("delete", tree["root"]["id"], "--subtree", "--local-only", "--yes") == 0
    assert "forgot 6 of 6" in capsys.readouterr().out
    assert snapshot() == {"roots": [], "nodes": {}}

    assert run("import", "--file", str(target)) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == f"imported 6 responses from {target} into {SERVER} (0 updated)"
    assert captured.err == ""
    assert snapshot() == before
    assert listing(capsys) == listed

    # Importing the same file again changes nothing and counts every response as updated.
    assert run("import", "--file", str(target)) == 0
    assert capsys.readouterr().out.strip() == (
        f"imported 6 responses from {target} into {SERVER} (6 updated)"
    )
    assert snapshot() == before
    assert listing(capsys) == listed


def test_reimport_into_a_fresh_index_directory(tree, capsys, tmp_path, monkeypatch):
    before, listed = snapshot(), listing(capsys)
    text = export_tree(capsys, tree["root"]["id"])
    target = tmp_path / "tree.json"
    target.write_text(text)

    monkeypatch.setenv("RESPONSES_TUI_HOME", str(tmp_path / "elsewhere"))
    assert snapshot() == {"roots": [], "nodes": {}}
    assert run("import", "--file", str(target)) == 0
    assert "(0 updated)" in capsys.readouterr().out
    assert snapshot() == before
    assert listing(capsys) == listed
    # And the fresh index exports the very same document.
    assert export_tree(capsys, tree["b"]["id"]) == text


def test_import_file_needs_no_client_and_no_key(tree, capsys, tmp_path, monkeypatch):
    target = tmp_path / "tree.json"
    target.write_text(export_tree(capsys, tree["b"]["id"]))

    def no_client(*_args, **_kwargs):
        raise AssertionError("import --file must not build a client")

    monkeypatch.setattr("tui.ops.connect.make_client", no_client)
    monkeypatch.setenv("RESPONSES_TUI_HOME", str(tmp_path / "elsewhere"))
    assert run("import", "--file", str(target)) == 0
    # An explicit profile moves the responses under its server, still without a key.
    assert run("--profile", "openai", "import", "--file", str(target)) == 0
    out = capsys.readouterr().out
    assert "into https://api.openai.com/v1 (0 updated)" in out
    openai = snapshot("https://api.openai.com/v1")
    assert openai["roots"] == [tree["root"]["id"]]
    assert {n["profile"] for n in openai["nodes"].values()} == {"openai"}
    assert len(snapshot()["nodes"]) == 6  # the local copy is untouched


def test_path_export_still_reimports(tree, capsys, tmp_path):
    before = snapshot()
    target = tmp_path / "path.json"
    assert run("export", tree["b"]["id"], "--format", "json", "-o", str(target)) == 0
    # An older v1 file had neither "scope" nor "request" nor "ancestor_missing".
    old = json.loads(target.read_text())
    old.pop("scope")
    for entry in old["responses"]:
        entry.pop("request")
        entry.pop("ancestor_missing")
    old_file = tmp_path / "old.json"
    old_file.write_text(json.dumps(old))

    assert run("delete", tree["root"]["id"], "--subtree", "--local-only", "--yes") == 0
    capsys.readouterr()
    assert run("import", "--file", str(target)) == 0
    assert capsys.readouterr().out.strip() == (
        f"imported 3 responses from {target} into {SERVER} (0 updated)"
    )
    after = snapshot()
    assert after["roots"] == [tree["root"]["id"]]
    path_ids = [tree[k]["id"] for k in ("root", "a", "b")]
    for rid in path_ids:
        expected = dict(before["nodes"][rid])
        expected["children"] = [c for c in expected["children"] if c in path_ids]
        assert after["nodes"][rid] == expected

    assert run("delete", tree["root"]["id"], "--subtree", "--local-only", "--yes") == 0
    assert run("import", "--file", str(old_file)) == 0
    after = snapshot()
    assert sorted(after["nodes"]) == sorted(path_ids)
    assert after["nodes"][tree["b"]["id"]]["response"] == tree["b"]
    assert after["nodes"][tree["a"]["id"]]["status"] == "deleted"


def test_import_export_file_api(tree, tmp_path, monkeypatch):
    with Index.open(index_dir()) as index:
        tree_doc = json.loads(export_tree_json(index, SERVER, tree["c"]["id"]))
        path_doc = json.loads(export_json(index, SERVER, tree["d"]["id"]))
    monkeypatch.setenv("RESPONSES_TUI_HOME", str(tmp_path / "fresh"))
    with Index.open(index_dir()) as index:
        first = import_export_file(index, path_doc, profile="whoever")
        assert first.server == SERVER
        assert first.added == [tree[k]["id"] for k in ("root", "a", "d")]
        assert first.updated == []
        second = import_export_file(index, tree_doc, profile="whoever")
        assert second.updated == [tree[k]["id"] for k in ("root", "a", "d")]
        assert second.added == [tree["b"]["id"], tree["c"]["id"], tree["e_id"]]
        assert {n.profile for n in index.nodes(SERVER)} == {"local"}
        moved = import_export_file(index, tree_doc, server="http://other:1/v1", profile="lab")
        assert moved.server == "http://other:1/v1" and len(moved.added) == 6
        assert {n.profile for n in index.nodes("http://other:1/v1")} == {"lab"}


# ---------------------------------------------------------------- Markdown


def test_tree_markdown_every_turn_once_in_preorder_without_escapes(tree, capsys, tmp_path):
    md = export_tree(capsys, tree["c"]["id"], "md")
    assert "\x1b" not in md and "\x07" not in md
    assert "red alert" in md  # the text survives, the escapes do not
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    ids = [re.search(r"`([^`]+)`", h).group(1) for h in headings]
    assert ids == preorder(tree)
    for rid in preorder(tree):
        assert sum(rid in h for h in headings) == 1
    labels = [h.split(" · ")[0][3:] for h in headings]
    assert labels == ["1", "1.1", "1.1.1", "1.1.2", "1.2", "1.3"]
    # Branches say which turn they answer; a plain continuation does not need to.
    by_label = dict(zip(labels, md.split("\n## ")[1:], strict=True))
    assert f"replying to `{tree['a']['id']}`" in by_label["1.1.2"]
    assert f"replying to `{tree['root']['id']}`" in by_label["1.2"]
    assert f"replying to `{tree['root']['id']}`" in by_label["1.3"]
    assert f"replying to `{tree['gone']['id']}` (not in the index)" in by_label["1"]
    assert "ancestor missing" in headings[0]
    assert "deleted" in headings[1] and "missing" in headings[4] and "not stored" in headings[5]
    assert md.startswith(f"# Conversation {tree['root']['id']}")
    assert "6 turns" in md and "4 branches" in md
    assert md.index("plan a trip") < md.index("somewhere warm") < md.index("in december")
    assert md.index("red alert") < md.index("somewhere cold") < md.index("not kept on the")

    target = tmp_path / "tree.md"
    assert run("export", tree["b"]["id"], "--tree", "-o", str(target)) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == md


def test_path_markdown_unchanged_shape(tree, capsys):
    assert run("export", tree["b"]["id"]) == 0
    md = capsys.readouterr().out
    assert "## Turn 3" in md and "somewhere cold" not in md and "replying to" not in md


# ---------------------------------------------------------------- bad input


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def _good_doc(tree, capsys) -> dict:
    return json.loads(export_tree(capsys, tree["root"]["id"]))


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d, p: p / "nope.json", "cannot read"),
        (lambda d, p: p, "cannot read"),  # a directory
        (lambda d, p: _write(p, "x.json", "{not json"), "is not valid JSON (line 1"),
        (lambda d, p: _write(p, "x.json", b"\xff\xfe{}"), "not UTF-8"),
        (lambda d, p: _write(p, "x.json", "[" * 100_000), "nested too deeply"),
        (lambda d, p: _write(p, "x.json", "[1, 2]"), "not a responses-tui export"),
        (lambda d, p: _write(p, "x.json", '{"hello": 1}'), "not a responses-tui export"),
        (
            lambda d, p: _write(p, "x.json", json.dumps({**d, "format": "other"})),
            "not a responses-tui export",
        ),
        (
            lambda d, p: _write(p, "x.json", json.dumps({**d, "version": 3})),
            "unsupported export version 3",
        ),
        (
            lambda d, p: _write(p, "x.json", json.dumps({**d, "version": "2"})),
            "unsupported export version '2'",
        ),
        (
            lambda d, p: _write(p, "x.json", json.dumps({**d, "responses": {}})),
            'no "responses" list',
        ),
        (
            lambda d, p: _write(
                p, "x.json", json.dumps({**d, "responses": [*d["responses"], {"x": 1}]})
            ),
            "response 7 of the export has no response object",
        ),
        (
            lambda d, p: _write(p, "x.json", json.dumps({**d, "server": "\x1b[2Jevil"})),
            "control characters",
        ),
        (
            lambda d, p: _write(
                p,
                "x.json",
                json.dumps({**d, "responses": [{**d["responses"][0], "status": "exploded"}]}),
            ),
            "unknown status 'exploded'",
        ),
    ],
)
def test_bad_files_are_one_line_and_exit_1(tree, capsys, tmp_path, make, expected):
    doc = _good_doc(tree, capsys)
    before = snapshot()
    folder = tmp_path / "bad"
    folder.mkdir()
    path = make(doc, folder)
    capsys.readouterr()
    assert run("import", "--file", str(path)) == 1
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("responses-tui: error:")
    assert expected in err[0]
    assert "Traceback" not in captured.err and captured.out == ""
    assert snapshot() == before  # a bad file changes nothing


def test_ids_and_file_are_exclusive(capsys, tmp_path):
    assert run("import", "resp_x", "--file", str(tmp_path / "x.json")) == 2
    assert "not both" in capsys.readouterr().err
    assert run("import") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "give response ids or --file" in err[0]


def test_export_tree_unknown_id(capsys):
    assert run("export", "resp_nope", "--tree") == 1
    assert "unknown response id 'resp_nope'" in capsys.readouterr().err
