"""Bad data does not poison the index, and the index repairs itself correctly (issue 11, 5 and 10).

Values a server, a sync or an import file may send (a `created_at` of NaN, ±Infinity, 1e18,
-1e12 or a string; `tools: [3]`, a `content` that is a number, an `output` that is a dict, a
`model` that is a number) are cleaned in the summary while the body keeps them as they came;
summaries already on disk with such values (an index written before, a damaged file) are read
without a crash. `list`, the Markdown and JSON exports (path and tree) and the app all work, and
the good responses still show.

The index repairs itself: files nested too deeply or of the wrong shape are moved aside like
invalid JSON; a summary shard rebuilt from its bodies keeps tombstones deleted; a crash inside
`add_many` leaves nothing a re-import duplicates; a forgotten response never comes back.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from ui_helpers import SERVER, build, goto, settle

from tui.cli import main
from tui.ops.conversation import plan_turn
from tui.ops.export import export_json, export_markdown, export_tree_json, export_tree_markdown
from tui.ops.listing import forest_lines, node_line
from tui.paths import index_dir
from tui.store.index import SHARD_SIZE, Index
from tui.store.records import MAX_TIME, NodeSummary, Status, clean_time
from tui.ui.labels import node_label, relative_time

PROJECT = Path(__file__).resolve().parents[1]
T0 = 1_790_000_000.0


def response(rid: str, parent: str | None = None, created: object = T0, **extra) -> dict:
    body = {
        "id": rid,
        "object": "response",
        "created_at": created,
        "model": "m",
        "status": "completed",
        "previous_response_id": parent,
        "output": [
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": f"answer of {rid}"}],
            }
        ],
    }
    body.update(extra)
    return body


def said(text: str) -> list[dict]:
    return [{"type": "message", "role": "user", "content": text}]


BAD_TIMES = {
    "nan": float("nan"),
    "inf": float("inf"),
    "ninf": float("-inf"),
    "far": 1e18,
    "neg": -1e12,
    "hugeint": 10**400,
    "string": "2025-06-01T12:00:00Z",
    "bool": True,
    "list": [1],
}

MESSAGE_5 = {"type": "message", "role": "assistant", "content": 5}
WRONG_TYPES = {
    "tools3": {"tools": [3]},
    "tools5": {"tools": 5},
    "toolsdict": {"tools": {"type": "mcp"}},
    "content5": {"output": [MESSAGE_5]},
    "contentstr": {"output": [{"type": "message", "role": "assistant", "content": "plain"}]},
    "outdict": {"output": {"type": "message", "content": "x"}},
    "out5": {"output": 5},
    "outstr": {"output": "not a list"},
    "outints": {"output": [1, "two", None, [3]]},
    "usage": {"usage": {"input_tokens": "x", "output_tokens": float("nan"), "total_tokens": [1]}},
    "usage5": {"usage": 5},
    "model5": {"model": 5},
    "modeldict": {"model": {"name": ["m"]}},
    "status5": {"status": 5},
    "reasoning": {"output": [{"type": "reasoning", "summary": "abc", "content": [1, {"text": 2}]}]},
    "mcp": {
        "output": [
            {"type": "mcp_call", "server_label": 5, "name": [1], "arguments": {"x": 1}, "status": 3}
        ]
    },
    "listtools": {
        "output": [{"type": "mcp_list_tools", "server_label": 5, "tools": [{"name": 5}, 3]}]
    },
    "listtools5": {"output": [{"type": "mcp_list_tools", "tools": 5}]},
    "function": {"output": [{"type": "function_call", "name": 5, "arguments": [1], "call_id": 2}]},
    "approval": {"output": [{"type": "mcp_approval_request", "name": {}, "arguments": 4}]},
    "toolout": {"output": [{"type": "tool_output", "output": {"a": [1]}}]},
    "type5": {"output": [{"type": 5}]},
    "instructions": {"instructions": [1, {"role": "system"}]},
    "annotations": {
        "output": [
            {"type": "message", "content": [{"type": "output_text", "text": "t", "annotations": 7}]}
        ]
    },
    "reasoningset": {"reasoning": {"effort": 5, "summary": ["x"]}},
    "incomplete": {"status": "incomplete", "incomplete_details": {"reason": 5}},
    "failed": {"status": "failed", "error": {"message": 5, "code": [1]}},
}


def run_cli(capsys, *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err
    return out


def check_list_and_exports(capsys, ids: list[str]) -> str:
    """`list`, then every export of every id (md and json, path and tree) through the CLI."""
    listing = run_cli(capsys, "list")
    for rid in ids:
        for form in ("md", "json"):
            for extra in ([], ["--tree"]):
                out = run_cli(capsys, "export", rid, "--format", form, *extra)
                assert rid in out
                if form == "json":
                    json.loads(out)  # Python's reader: NaN kept as the server sent it
    return listing


# ------------------------------------------------------------------ 5: values from outside


def test_clean_time_keeps_times_and_drops_the_rest():
    assert clean_time(T0) == T0
    assert clean_time(int(T0)) == T0 and type(clean_time(int(T0))) is float
    assert clean_time(0) == 0.0
    assert clean_time(MAX_TIME) == MAX_TIME
    for bad in BAD_TIMES.values():
        assert clean_time(bad) == 0.0, bad
    assert clean_time(None) == 0.0
    assert clean_time(MAX_TIME + 1) == 0.0


def test_bad_created_at_from_a_server_is_an_unknown_time(capsys):
    with Index.open(index_dir()) as index:
        index.add_response(response("resp_good"), server=SERVER, profile="local")
        for name, value in BAD_TIMES.items():
            summary = index.add_response(
                response(f"resp_{name}", "resp_good", value),
                server=SERVER,
                profile="local",
                input_items=said(name),
            )
            assert summary.created_at == 0.0, name
        index.add_many(
            [(response(f"resp_many_{name}", None, v), None) for name, v in BAD_TIMES.items()],
            server=SERVER,
            profile="local",
        )
        assert all(n.created_at == 0.0 for n in index.nodes() if n.id != "resp_good")
        # The body keeps what the server sent.
        assert math.isnan(index.load_body(SERVER, "resp_nan")["response"]["created_at"])
        assert index.load_body(SERVER, "resp_far")["response"]["created_at"] == 1e18
        ids = [n.id for n in index.nodes()]
    listing = check_list_and_exports(capsys, ids)
    assert "resp_good" in listing and "unknown time" in listing
    md = run_cli(capsys, "export", "resp_nan")
    assert "unknown time" in md
    with Index.open(index_dir()) as index:  # reopened: the same
        assert index.get(SERVER, "resp_inf").created_at == 0.0
        assert len(index) == 1 + 2 * len(BAD_TIMES)


def test_wrong_types_in_a_response_neither_crash_nor_hide_the_good_ones(capsys):
    with Index.open(index_dir()) as index:
        index.add_response(response("resp_good"), server=SERVER, profile="local")
        for name, extra in WRONG_TYPES.items():
            index.add_response(
                response(f"resp_{name}", "resp_good", **extra),
                server=SERVER,
                profile="local",
                input_items=[{"role": "user", "content": 5}, {"type": "function_call_output"}],
            )
        index.add_many(
            [(response(f"resp_many_{n}", **extra), None) for n, extra in WRONG_TYPES.items()],
            server=SERVER,
            profile="local",
        )
        assert index.get(SERVER, "resp_model5").model == ""
        assert index.get(SERVER, "resp_tools3").tool_labels == ()
        ids = [n.id for n in index.nodes()]
        assert len(ids) == 1 + 2 * len(WRONG_TYPES)
        for rid in ids:  # the pure renderers, once each
            export_markdown(index, SERVER, rid)
            export_tree_markdown(index, SERVER, rid)
            export_json(index, SERVER, rid)
            export_tree_json(index, SERVER, rid)
    listing = check_list_and_exports(capsys, ["resp_good", "resp_mcp", "resp_many_out5"])
    assert "answer of resp_good" in listing
    # The full-text search reads every stored turn, wrong types included.
    assert "resp_good" in run_cli(capsys, "search", "answer", "--limit", "100")
    # A reply that has to replay a turn whose output is not a list (here: not stored).
    with Index.open(index_dir()) as index:
        index.add_response(
            response("resp_odd", output=5, store=False),
            server=SERVER,
            profile="local",
            input_items=said("odd"),
            request={"model": "m", "tools": [3]},
        )
        plan = plan_turn(index, SERVER, text="next", parent="resp_odd", default_model="m")
        assert plan.replayed == 1 and "tools" not in plan.body


def test_an_import_file_with_bad_values(capsys, tmp_path):
    entries = [{"response": response("resp_root"), "input": said("hello")}]
    parent = "resp_root"
    for name, value in BAD_TIMES.items():
        entries.append({"response": response(f"resp_t_{name}", parent, value), "input": None})
    for name, extra in WRONG_TYPES.items():
        entries.append({"response": response(f"resp_w_{name}", "resp_root", **extra)})
    entries.append({"response": response("resp_tombstone", "resp_root"), "status": "deleted"})
    document = {
        "format": "responses-tui.export",
        "version": 2,
        "scope": "tree",
        "server": SERVER,
        "responses": entries,
    }
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(document))  # NaN and Infinity as Python writes them
    assert "NaN" in path.read_text() and "Infinity" in path.read_text()
    out = run_cli(capsys, "import", "--file", str(path))
    assert f"imported {len(entries)} responses" in out
    ids = [e["response"]["id"] for e in entries]
    listing = check_list_and_exports(capsys, ids)
    assert "resp_root" in listing and "hello" in listing
    # The JSON export is re-importable, bad values and all.
    again = tmp_path / "again.json"
    again.write_text(run_cli(capsys, "export", "resp_root", "--tree", "--format", "json"))
    run_cli(capsys, "import", "--file", str(again))


# ------------------------------------------------------------------ 5: what the index already holds


def write_summaries(directory: Path, changes: dict[str, dict]) -> None:
    """Overwrite fields of stored summaries (by response id) straight in the shard files, as an
    older version or a damaged disk may have left them."""
    for path in sorted((directory / "shards").glob("*.nodes.json")):
        data = json.loads(path.read_text())
        for doc in data["nodes"].values():
            doc.update(changes.get(doc["id"], {}))
        path.write_text(json.dumps(data))  # allow_nan: NaN and Infinity go in as tokens


HOSTILE_SUMMARIES = {
    "resp_nan": {"created_at": float("nan")},
    "resp_inf": {"created_at": float("inf")},
    "resp_ninf": {"created_at": float("-inf")},
    "resp_far": {"created_at": 1e18},
    "resp_neg": {"created_at": -1e12},
    "resp_str": {"created_at": "yesterday"},
    "resp_null": {"created_at": None},
    "resp_int": {"created_at": int(T0) + 5},
    "resp_model": {"model": 5, "profile": ["p"]},
    "resp_parent": {"parent": ["resp_root"]},
    "resp_status": {"status": ["deleted"]},
    "resp_previews": {"input_preview": 5, "output_preview": {"a": 1}, "input_recorded": "yes"},
    "resp_labels": {"tool_labels": [1, "ok", None], "has_tools": 1},
    "resp_labels5": {"tool_labels": 5},
    "resp_listid": {"id": ["resp_listid"]},
    "resp_server": {"server": 7},
}


def plant_hostile_index(directory: Path) -> list[str]:
    """An index whose summaries hold every bad value, plus good responses around them."""
    with Index.open(directory) as index:
        index.add_response(
            response("resp_root"), server=SERVER, profile="local", input_items=said("root")
        )
        for rid in HOSTILE_SUMMARIES:
            index.add_response(
                response(rid, "resp_root"), server=SERVER, profile="local", input_items=said(rid)
            )
        index.add_response(
            response("resp_after", "resp_root", T0 + 60),
            server=SERVER,
            profile="local",
            input_items=said("good after"),
        )
    write_summaries(directory, HOSTILE_SUMMARIES)
    return ["resp_root", *HOSTILE_SUMMARIES, "resp_after"]


def test_summaries_with_bad_values_on_disk_are_read(capsys):
    plant_hostile_index(index_dir())
    with Index.open(index_dir()) as index:
        nodes = index.nodes(SERVER)
        shown = [n.id for n in nodes]
        # Unusable as a key (an id or server that is not a string): left out, nothing else.
        assert "resp_listid" not in shown and "resp_server" not in shown
        assert {"resp_root", "resp_after", "resp_nan", "resp_str", "resp_labels"} <= set(shown)
        for node in nodes:
            assert type(node.created_at) is float and 0.0 <= node.created_at <= MAX_TIME
            assert type(node.model) is str and type(node.profile) is str
            assert type(node.input_preview) is str and type(node.output_preview) is str
            assert all(type(t) is str for t in node.tool_labels)
            assert node.parent is None or type(node.parent) is str
        assert index.get(SERVER, "resp_int").created_at == T0 + 5
        assert index.get(SERVER, "resp_labels").tool_labels == ("ok",)
        assert index.get(SERVER, "resp_status").status == Status.STORED
        assert index.latest(SERVER).id == "resp_after"
        forest = index.forest(SERVER)
        assert forest.roots()[0] == (SERVER, "resp_root")
        assert len(forest_lines(index, SERVER)) == len(shown)
        for node in nodes:
            node_line(node)
            node_label(node, now=T0, show_model=True)
        ids = shown
    listing = check_list_and_exports(capsys, ids)
    assert "good after" in listing


def test_readers_tolerate_a_summary_built_with_bad_values():
    # A summary made in memory by other code, not through `summarize`.
    for bad in BAD_TIMES.values():
        node = NodeSummary(SERVER, "resp_x", None, bad, 5, "p", Status.STORED)
        assert relative_time(bad, T0) == "?"
        assert "unknown time" in node_line(node)
        node_label(node, now=T0, show_model=True)
    assert relative_time(T0 - 7200, T0) == "2h"
    assert relative_time(T0, float("nan")) == "now"


async def test_the_app_opens_an_index_with_bad_values(tmp_path):
    ids = plant_hostile_index(tmp_path / "index")
    app, index, _ = build(tmp_path, demo=False)
    # And responses with wrong types, straight from a "server".
    for name, extra in WRONG_TYPES.items():
        index.add_response(
            response(f"resp_w_{name}", "resp_after", **extra),
            server=SERVER,
            profile="local",
            input_items=[{"role": "user", "content": 5}],
        )
    for name, value in BAD_TIMES.items():
        index.add_response(
            response(f"resp_t_{name}", "resp_root", value), server=SERVER, profile="x"
        )
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot, app)
            keys = [n.key for n in index.nodes(SERVER)]
            assert (SERVER, "resp_root") in keys and (SERVER, "resp_after") in keys
            for key in keys:
                await goto(pilot, app, key)
                await settle(pilot, app)
                assert app.forest_view.node_for(key) is not None
            assert app.is_running
            label = app.forest_view.node_for((SERVER, "resp_after")).label.plain
            assert "good after" in label
    finally:
        index.close()
    assert set(ids) - {"resp_listid", "resp_server"} <= {k[1] for k in keys}


# ------------------------------------------------------------------ 10: corrupt files


def populate(directory: Path, count: int = 3) -> None:
    with Index.open(directory) as index:
        for i in range(count):
            index.add_response(
                response(f"r{i}", f"r{i - 1}" if i else None, T0 + i),
                server="s",
                profile="p",
                input_items=said(f"q{i}"),
            )


def corrupt_copies(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.corrupt-*"))


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    "name, content",
    [
        ("nodes", DEEP),
        ("nodes", b'{"nodes": {"1": {"model": ' + DEEP + b"}}}"),
        ("nodes", b'{"nodes": []}'),
        ("nodes", b'{"nodes": {"1": "a string", "2": 5}}'),
        ("nodes", '{"nodes": {"²": {"id": "r9"}}}'.encode()),
        ("bodies", DEEP),
        ("bodies", b'{"bodies": [1, 2]}'),
        ("bodies", '{"bodies": {"³": {"id": "r0"}}}'.encode()),
        ("catalog", DEEP),
        ("catalog", b'{"profiles": {"1": "x"}}'),
        ("catalog", '{"profiles": {"²": {"name": "x"}}}'.encode()),
    ],
    ids=[
        "deep-nodes",
        "deep-value",
        "nodes-list",
        "docs-strings",
        "doc-number",
        "deep-bodies",
        "bodies-list",
        "bodies-number",
        "deep-catalog",
        "catalog-strings",
        "catalog-number",
    ],
)
def test_a_corrupt_file_of_any_kind_is_moved_aside(directory_factory, name, content):
    directory = directory_factory()
    populate(directory)
    path = {
        "nodes": directory / "shards" / "000000.nodes.json",
        "bodies": directory / "shards" / "000000.bodies.json",
        "catalog": directory / "catalog.json",
    }[name]
    path.write_bytes(content)
    with Index.open(directory) as index:
        assert len(index) == 3  # summaries rebuilt from the bodies, or untouched
        for i in range(3):
            body = index.load_body("s", f"r{i}")  # opens the bodies: warns, does not crash
            assert body["input"] in (said(f"q{i}"), None)
        assert any(path.name in w and "moved aside" in w for w in index.warnings), index.warnings
        assert corrupt_copies(path)[0].read_bytes() == content
        index.add_response(response("r3", "r2", T0 + 3), server="s", profile="p")
        index.save_profile({"name": "fresh"})
    with Index.open(directory) as index:
        assert index.warnings == []
        assert len(index) == 4


@pytest.fixture
def directory_factory(tmp_path):
    counter = iter(range(1000))
    return lambda: tmp_path / f"index{next(counter)}"


# ------------------------------------------------------------------ 10: rebuilds keep statuses


def break_nodes(directory: Path, number: int = 0) -> None:
    (directory / "shards" / f"{number:06d}.nodes.json").write_bytes(b"{truncated")


def test_a_rebuilt_shard_keeps_tombstones_and_flags(tmp_path):
    directory = tmp_path / "index"
    with Index.open(directory) as index:
        for i in range(6):
            index.add_response(
                response(f"r{i}", f"r{i - 1}" if i else None, T0 + i), server="s", profile="p"
            )
        index.set_status("s", "r1", Status.DELETED)  # a tombstone: r2 still hangs below it
        index.set_status("s", "r2", Status.MISSING)
        index.set_flag("s", "r3", ancestor_missing=True)
        index.add_response(
            response("r4", "r3", T0 + 4), server="s", profile="p", status=Status.NOT_STORED
        )
        index.set_status("s", "r5", Status.MISSING)
        index.set_status("s", "r5", Status.STORED)  # found again by a sync
        before = {n.id: (n.status, n.ancestor_missing, n.parent) for n in index.nodes()}
    break_nodes(directory)
    with Index.open(directory) as index:
        assert any("rebuilt 6" in w for w in index.warnings)
        after = {n.id: (n.status, n.ancestor_missing, n.parent) for n in index.nodes()}
    assert after == before
    assert after["r1"][0] == Status.DELETED and after["r2"][0] == Status.MISSING


def test_a_rebuild_of_an_older_body_recovers_not_stored_from_its_request(tmp_path):
    directory = tmp_path / "index"
    with Index.open(directory) as index:
        index.add_response(
            response("r0"), server="s", profile="p", request={"model": "m", "store": False}
        )
    path = directory / "shards" / "000000.bodies.json"
    data = json.loads(path.read_text())
    for doc in data["bodies"].values():  # as bodies were written before they kept a status
        doc.pop("status", None)
        doc.pop("ancestor_missing", None)
    path.write_text(json.dumps(data))
    break_nodes(directory)
    with Index.open(directory) as index:
        assert index.get("s", "r0").status == Status.NOT_STORED


# ------------------------------------------------------------------ 10: crashes mid-operation

CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from tinydb.table import Table
    from tui.store import atomic
    from tui.store.index import Index

    directory, mode = Path(sys.argv[1]), sys.argv[2]
    index = Index.open(directory)

    def records(first, count):
        return [
            ({"id": f"m{n}", "created_at": 1000.0 + n, "output": []},
             [{"role": "user", "content": f"q{n}"}])
            for n in range(first, first + count)
        ]

    if mode == "fill":
        index.add_many(records(0, int(sys.argv[3])), server="s", profile="p")
        sys.exit(0)
    if mode == "add_many":  # die once the bodies are written, before their summaries
        real = Table.insert_multiple
        def dying(self, documents):
            if self.name == "nodes":
                os._exit(9)
            return real(self, documents)
        Table.insert_multiple = dying
        index.add_many(records(int(sys.argv[3]), int(sys.argv[4])), server="s", profile="p")
    if mode == "remove":  # die after the first of the two writes of a removal
        real_write = atomic.write_private_file
        def dying_write(path, data):
            real_write(path, data)
            os._exit(9)
        atomic.write_private_file = dying_write
        index.remove_many("s", sys.argv[3:])
    sys.exit(3)
    """
)


def child(directory: Path, *args: object) -> int:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT) + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(directory), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT,
        timeout=120,
    )
    assert done.returncode in (0, 9), done.stderr
    return done.returncode


def stored_bodies(directory: Path) -> list[str]:
    ids = []
    for path in sorted((directory / "shards").glob("*.bodies.json")):
        ids += [b["id"] for b in json.loads(path.read_text())["bodies"].values()]
    return ids


def records(first: int, count: int) -> list[tuple[dict, list]]:
    return [
        ({"id": f"m{n}", "created_at": 1000.0 + n, "output": []}, said(f"q{n}"))
        for n in range(first, first + count)
    ]


@pytest.mark.parametrize("already", [0, 10, SHARD_SIZE])
def test_a_crash_inside_add_many_leaves_nothing_a_reimport_duplicates(tmp_path, already):
    directory = tmp_path / "index"
    if already:
        assert child(directory, "fill", already) == 0
    assert child(directory, "add_many", already, 100) == 9
    with Index.open(directory) as index:
        assert index.warnings == []
        assert len(index) == already  # the write in flight is lost, nothing else
        assert sorted(stored_bodies(directory)) == sorted(n.id for n in index.nodes())
        # The same import again, then a rebuild of every summary shard from the bodies.
        assert index.add_many(records(already, 100), server="s", profile="p") == 100
    bodies = stored_bodies(directory)
    assert len(bodies) == len(set(bodies)) == already + 100
    for path in (directory / "shards").glob("*.nodes.json"):
        path.write_bytes(b"garbage")
    with Index.open(directory) as index:
        assert len(index) == already + 100
        assert index.load_body("s", f"m{already + 99}")["input"] == said(f"q{already + 99}")


def test_a_failed_add_many_can_be_made_again(tmp_path, monkeypatch):
    from tinydb.table import Table

    real = Table.insert_multiple

    def failing(self, documents):
        if self.name == "nodes":
            raise OSError(28, "No space left on device")
        return real(self, documents)

    with Index.open(tmp_path / "index") as index:
        index.add_many(records(0, 10), server="s", profile="p")
        monkeypatch.setattr(Table, "insert_multiple", failing)
        with pytest.raises(OSError):
            index.add_many(records(10, 20), server="s", profile="p")
        assert len(index) == 10 and index.get("s", "m10") is None
        monkeypatch.setattr(Table, "insert_multiple", real)
        assert index.add_many(records(10, 20), server="s", profile="p") == 20
        assert len(index) == 30
    bodies = stored_bodies(tmp_path / "index")
    assert len(bodies) == len(set(bodies)) == 30


def test_the_same_response_twice_in_one_add_many(tmp_path):
    with Index.open(tmp_path / "index") as index:
        first, second = response("r1", created=T0), response("r1", created=T0 + 1)
        assert index.add_many([(first, None), (second, said("q"))], server="s", profile="p") == 1
        assert index.get("s", "r1").created_at == T0 + 1
    with Index.open(tmp_path / "index") as index:
        assert len(index) == 1 and index.load_body("s", "r1")["input"] == said("q")
    assert stored_bodies(tmp_path / "index") == ["r1"]


def test_a_forgotten_response_never_comes_back_after_a_rebuild(tmp_path):
    directory = tmp_path / "index"
    populate(directory, 5)
    with Index.open(directory) as index:
        index.remove_many("s", ["r4", "r3"])
    break_nodes(directory)
    with Index.open(directory) as index:
        assert sorted(n.id for n in index.nodes()) == ["r0", "r1", "r2"]


def test_a_crash_during_a_removal_does_not_resurrect_it(tmp_path):
    directory = tmp_path / "index"
    populate(directory, 5)
    assert child(directory, "remove", "r4") == 9
    with Index.open(directory) as index:
        listed = {n.id for n in index.nodes()}
        if "r4" in listed:  # the removal did not finish: it can be made again
            index.remove("s", "r4")
            listed.discard("r4")
    break_nodes(directory)
    with Index.open(directory) as index:
        assert {n.id for n in index.nodes()} == listed == {"r0", "r1", "r2", "r3"}


def test_a_second_copy_of_a_body_goes_with_the_response(tmp_path):
    # An index written by an older version: two bodies of one response in one shard (a crash,
    # then the same response added again). Removing the response removes both.
    directory = tmp_path / "index"
    populate(directory, 3)
    path = directory / "shards" / "000000.bodies.json"
    data = json.loads(path.read_text())
    copy = next(dict(d) for d in data["bodies"].values() if d["id"] == "r2")
    data["bodies"]["99"] = copy
    data["bodies"] = dict(sorted(data["bodies"].items(), key=lambda kv: -int(kv[0])))
    path.write_text(json.dumps(data))
    with Index.open(directory) as index:
        index.add_response(response("r3", "r2", T0 + 3), server="s", profile="p")
        index.remove("s", "r2")
        index.remove("s", "r3")
    assert "r2" not in stored_bodies(directory)
    break_nodes(directory)
    with Index.open(directory) as index:
        assert sorted(n.id for n in index.nodes()) == ["r0", "r1"]


def test_a_response_recorded_in_two_shards_is_kept_once(tmp_path):
    # An older version's rebuild could put a response into a second shard. The later copy
    # stays; removing it must not uncover the other one.
    directory = tmp_path / "index"
    with Index.open(directory) as index:
        for i in range(SHARD_SIZE + 2):
            index.add_response(response(f"r{i}", created=T0 + i), server="s", profile="p")
    for kind in ("nodes", "bodies"):
        first = directory / "shards" / f"000000.{kind}.json"
        second = directory / "shards" / f"000001.{kind}.json"
        a, b = json.loads(first.read_text()), json.loads(second.read_text())
        table = next(iter(a))
        doc = next(d for d in a[table].values() if d["id"] == "r5")
        b[table]["50"] = dict(doc, shard=1)
        second.write_text(json.dumps(b))
    with Index.open(directory) as index:
        assert len(index) == SHARD_SIZE + 2
        assert index.get("s", "r5").shard == 1
        index.remove("s", "r5")
    with Index.open(directory) as index:
        assert index.get("s", "r5") is None
        assert len(index) == SHARD_SIZE + 1
    break_nodes(directory, 0)
    break_nodes(directory, 1)
    with Index.open(directory) as index:
        assert index.get("s", "r5") is None
        assert len(index) == SHARD_SIZE + 1


def test_a_rebuild_leaves_no_stale_copy_behind(tmp_path):
    # A body of a response that lives in another shard (an older version's leftover): the
    # rebuild does not index it a second time, and removes it, so it cannot come back later.
    directory = tmp_path / "index"
    with Index.open(directory) as index:
        for i in range(SHARD_SIZE + 2):
            index.add_response(response(f"r{i}", created=T0 + i), server="s", profile="p")
    live = f"r{SHARD_SIZE + 1}"
    first = directory / "shards" / "000000.bodies.json"
    second = json.loads((directory / "shards" / "000001.bodies.json").read_text())
    data = json.loads(first.read_text())
    data["bodies"]["999"] = next(d for d in second["bodies"].values() if d["id"] == live)
    first.write_text(json.dumps(data))
    break_nodes(directory, 0)
    with Index.open(directory) as index:
        assert len(index) == SHARD_SIZE + 2
        assert index.get("s", live).shard == 1
        index.remove("s", live)
    break_nodes(directory, 0)
    with Index.open(directory) as index:
        assert index.get("s", live) is None
        assert len(index) == SHARD_SIZE + 1
