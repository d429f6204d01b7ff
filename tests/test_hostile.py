"""Hostile and oversized content, and bad configuration: nothing reaches the terminal as
escape sequences, markup stays literal, exports keep the exact data, and every bad setting
ends as one clear line (never a traceback)."""

from __future__ import annotations

import asyncio
import http.server
import itertools
import json
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loopback import serve
from textual.widgets import Markdown, Static
from ui_helpers import SERVER, build, goto, settle

from tui.cli import main
from tui.ops.export import (
    export_json,
    export_markdown,
    export_tree_json,
    export_tree_markdown,
)
from tui.ops.listing import forest_lines
from tui.paths import index_dir
from tui.store.index import Index
from tui.text import sanitize
from tui.ui.labels import node_label
from tui.ui.transcript import Turn

# ------------------------------------------------------------------ hostile text

MARKUP = [
    "[bold]",
    "[/]",
    "[/bold]",
    "[link=file:///etc/passwd]x[/link]",
    "[red",
    "[@click=app.quit]go[/]",
    "[on red]",
    "\\[escaped]",
]
ESCAPES = [
    "\x1b[31m",
    "\x1b[0m",
    "\x1b[2J",
    "\x1b[H",
    "\x1b[?1049h",
    "\x1b]52;c;SGVsbG8=\x07",
    "\x1b]8;;http://x\x1b\\",
    "\x1b]8;;\x1b\\",
    "\x1b]0;pwned title\x07",
    "\x1bP1$r0m\x1b\\",  # DCS
    "\x1b_Gf=100;AAAA\x1b\\",  # APC (kitty graphics)
    "\x1b^privacy\x1b\\",  # PM
    "\x1bXsos\x1b\\",  # SOS
    "\x1bc",  # RIS: full terminal reset
    "\x1b",  # a lone ESC
    "\x9b31m",  # 8-bit CSI
    "\x9d52;c;SGVsbG8=\x9c",  # 8-bit OSC ... ST
    "\x90dcs\x9c",
    "\x9f",
    "\x9b",
    "\x9d",
]
CONTROLS = ["\x00", "\x07", "\x08", "\r", "\n", "\t", "\x0b", "\x0c", "\x7f", "\r\n", "\x1a"]
BIDI_AND_WIDE = [
    "\u202e",
    "\u202d",
    "\u2066",
    "\u2069",
    "\u200f",
    "مرحبا بالعالم",
    "שלום עולם",
    "漢字テスト",
    "한국어",
    "😀👍🏽👨‍👩‍👧",
    "\u0301",  # a lone combining mark
    "\ufeff",
]
PIECES = MARKUP + ESCAPES + CONTROLS + BIDI_AND_WIDE

hostile_text = st.lists(
    st.one_of(st.sampled_from(PIECES), st.text(max_size=12)), min_size=1, max_size=14
).map("".join)

# What a terminal would act on: C0 (all), DEL, C1, and bidirectional overrides/isolates.
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def bad_chars(text: str, allowed: str = "") -> list[str]:
    return sorted(
        {
            ch
            for ch in text
            if ch not in allowed and (ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 or ch in BIDI)
        }
    )


FAST = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_ids = itertools.count()


def new_id() -> str:
    return f"resp_hostile{next(_ids):020d}"


def response(rid: str, answer: str, *, parent: str | None = None, model: str = "m") -> dict:
    return {
        "id": rid,
        "object": "response",
        "created_at": 1_700_000_000.0 + next(_ids),
        "status": "completed",
        "model": model,
        "previous_response_id": parent,
        "output": [
            {
                "id": "msg_" + rid,
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": answer, "annotations": []}],
            }
        ],
    }


def user(text: str) -> list[dict]:
    return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}]


def add(index: Index, server: str, said: str, answer: str, parent: str | None = None, **kw) -> str:
    rid = new_id()
    index.add_response(
        response(rid, answer, parent=parent, **kw),
        server=server,
        profile="local",
        input_items=user(said),
    )
    return rid


def add_forest(index: Index, server: str, texts: list[str]) -> list[str]:
    """A conversation with forks: root, two replies to it, and a chain below the first."""
    ids: list[str] = []
    for n, text in enumerate(texts):
        parent = None
        if n in (1, 2):
            parent = ids[0]
        elif n >= 3:
            parent = ids[n - 2]
        ids.append(add(index, server, text, text[::-1] + "\n" + text, parent=parent))
    return ids


@pytest.fixture(scope="module")
def shared_index(tmp_path_factory):
    index = Index.open(tmp_path_factory.mktemp("hostile") / "index")
    yield index
    index.close()


_servers = itertools.count()


def fresh_server() -> str:
    return f"http://hostile-{next(_servers)}.invalid/v1"


# ------------------------------------------------------------------ labels, listing, exports


@FAST
@given(said=hostile_text, answer=hostile_text)
def test_node_label_is_inert_text(shared_index, said, answer):
    server = fresh_server()
    rid = add(shared_index, server, said, answer)
    node = shared_index.get(server, rid)
    for width in (38, 400):
        label = node_label(node, now=1_800_000_000.0, width=width, show_model=True)
        assert bad_chars(label.plain) == [], repr(label.plain)
    # Wide enough to show the whole preview: the text is exactly the sanitized input, markup
    # and all, as characters; no style came from the text itself.
    label = node_label(node, now=1_800_000_000.0, width=10_000)
    expected = " ".join(sanitize(node.input_preview).split())
    if expected:
        assert expected in label.plain
    assert {str(span.style) for span in label.spans} <= {"", "dim", "italic"}
    # The answer, shown when the input was not recorded, is inert as well.
    node.input_recorded = False
    label = node_label(node, now=1_800_000_000.0, width=10_000)
    assert bad_chars(label.plain) == []
    assert {str(span.style) for span in label.spans} <= {"", "dim", "italic"}


@FAST
@given(texts=st.lists(hostile_text, min_size=1, max_size=5))
def test_forest_lines_and_markdown_exports_have_no_controls(shared_index, texts):
    server = fresh_server()
    ids = add_forest(shared_index, server, texts)
    lines = forest_lines(shared_index, server)
    assert len(lines) == len(texts)
    for line in lines:
        assert bad_chars(line) == [], repr(line)
    for rid in ids:
        md = export_markdown(shared_index, server, rid)
        assert bad_chars(md, allowed="\n") == [], repr(md)
    tree_md = export_tree_markdown(shared_index, server, ids[0])
    assert bad_chars(tree_md, allowed="\n") == [], repr(tree_md)


@FAST
@given(texts=st.lists(hostile_text, min_size=1, max_size=5))
def test_json_export_round_trips_the_exact_text(shared_index, texts):
    server = fresh_server()
    ids = add_forest(shared_index, server, texts)
    by_id = dict(zip(ids, texts, strict=True))
    for rid in ids:
        doc = json.loads(export_json(shared_index, server, rid))
        assert doc["path"][-1] == rid
        for entry in doc["responses"]:
            original = by_id[entry["response"]["id"]]
            assert entry["input"][0]["content"][0]["text"] == original
            text = entry["response"]["output"][0]["content"][0]["text"]
            assert text == original[::-1] + "\n" + original
    tree = json.loads(export_tree_json(shared_index, server, ids[-1]))
    assert sorted(e["response"]["id"] for e in tree["responses"]) == sorted(ids)
    for entry in tree["responses"]:
        assert entry["input"][0]["content"][0]["text"] == by_id[entry["response"]["id"]]


def test_markup_in_a_label_is_shown_as_typed(shared_index):
    server = fresh_server()
    said = "[bold]x[/] [link=file:///etc/passwd]y[/link] [red [@click=app.quit]q[/]"
    rid = add(shared_index, server, said, "[/]" + said)
    label = node_label(shared_index.get(server, rid), now=0, width=400)
    assert said in label.plain
    assert {str(span.style) for span in label.spans} <= {"", "dim", "italic"}
    line = forest_lines(shared_index, server)[0]
    assert said[:40] in line


def test_hostile_model_names_are_inert(shared_index):
    """The server names the model: data too, in the listing, the label and the export."""
    server = fresh_server()
    model = "\x1b]52;c;SGVsbG8=\x07evil\x1b[2J[bold]m[/]\u202e\x9b2J"
    rid = add(shared_index, server, "hi", "answer", model=model)
    for line in forest_lines(shared_index, server):
        assert bad_chars(line) == [], repr(line)
    md = export_markdown(shared_index, server, rid)
    assert bad_chars(md, allowed="\n") == [], repr(md)
    label = node_label(shared_index.get(server, rid), now=0, show_model=True, width=200)
    assert bad_chars(label.plain) == []


HOSTILE_ID = "resp_\x1b]0;pwned\x07\x1b[2Jx\u202e"


class _HostileHandler(http.server.BaseHTTPRequestHandler):
    """A Responses API server that answers any retrieve with the response asked for, whose
    parent id (and model and text) carry escape sequences."""

    def do_GET(self):
        if self.path.endswith("/input_items") or "/input_items?" in self.path:
            body = {"object": "list", "data": [], "has_more": False}
        else:
            asked = self.path.split("?")[0].rsplit("/", 1)[-1]
            body = response(
                asked, "\x1b]52;c;SGVsbG8=\x07 answer", parent=HOSTILE_ID, model="m\x1b[5m"
            )
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_hostile_response_id_from_a_server_is_inert(capsys):
    """`import` from a server that answers the id asked for, but names a parent whose id
    carries escape sequences: the importer refuses that id (it is not an id) in one clear
    line naming the response it asked for, stores nothing, and `list` shows nothing hostile."""
    with serve(_HostileHandler) as url:
        code = main(["--base-url", url, "import", "resp_x"])
        captured = capsys.readouterr()
        assert bad_chars(captured.out + captured.err, allowed="\n") == [], repr(captured)
        line = one_error_line_text(captured, code)
        assert "retrieve resp_x:" in line and "not an id" in line, line
        assert main(["--base-url", url, "list"]) == 0
        out = capsys.readouterr().out
        for line in out.splitlines():
            assert bad_chars(line) == [], repr(line)
    with Index.open(index_dir()) as index:
        assert len(index) == 0


async def test_hostile_response_id_in_the_app(tmp_path):
    """The same id in the browser: the transcript heading shows `short_id(id)`."""
    app, index, _ = build(tmp_path, demo=False)
    index.add_response(
        response(HOSTILE_ID, "answer"), server=SERVER, profile="local", input_items=user("hi")
    )
    try:
        async with app.run_test(size=SIZE) as pilot:
            await goto(pilot, app, (SERVER, HOSTILE_ID))
            await settle(pilot, app)
            label = app.forest_view.node_for((SERVER, HOSTILE_ID)).label.plain
            assert bad_chars(label) == []
            assert _transcript_problems(app) == []
            assert "\x1b" not in app.export_screenshot()
    finally:
        index.close()


def one_error_line_text(captured, code: int) -> str:
    assert code != 0
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("responses-tui: error:"), lines
    return lines[0]


# ------------------------------------------------------------------ the CLI


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts=st.lists(hostile_text, min_size=3, max_size=6))
def test_cli_list_and_export_print_no_escapes(capsys, texts):
    with Index.open(index_dir()) as index:
        ids = add_forest(index, SERVER, texts)
    capsys.readouterr()
    assert main(["list"]) == 0
    out, err = capsys.readouterr()
    for line in out.splitlines():
        assert bad_chars(line) == [], repr(line)
    assert bad_chars(err, allowed="\n") == []
    for rid in ids:
        for extra in ([], ["--tree"]):
            assert main(["export", rid, "--format", "md", *extra]) == 0
            out, err = capsys.readouterr()
            assert "\x1b" not in out and "\x07" not in out
            assert bad_chars(out, allowed="\n") == [], repr(out)
    # Search hits are snippets of that text: inert as well (every word of a hostile text
    # is searched, so some hit is printed whenever one word survives sanitising).
    for text in texts:
        for word in text.split()[:2]:
            assert main(["search", "--", word]) == 0  # a word may start with "-"
            out, err = capsys.readouterr()
            for line in out.splitlines():
                assert bad_chars(line) == [], repr(line)
            assert bad_chars(err, allowed="\n") == [], repr(err)
    # JSON through the CLI (a fresh read of the index files): the exact text survives.
    assert main(["export", ids[-1], "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    by_id = dict(zip(ids, texts, strict=True))
    for entry in doc["responses"]:
        assert entry["input"][0]["content"][0]["text"] == by_id[entry["response"]["id"]]


# ------------------------------------------------------------------ the app

SIZE = (120, 40)


def _transcript_problems(app) -> list[str]:
    problems = []
    for widget in app.transcript.query(Static):
        rendered = str(widget.render())
        if bad_chars(rendered, allowed="\n"):
            problems.append(repr(rendered[:200]))
    for md in app.transcript.query(Markdown):
        if bad_chars(md.source, allowed="\n"):
            problems.append(repr(md.source[:200]))
    return problems


def _svg_problems(svg: str) -> list[str]:
    return bad_chars(svg, allowed="\n")


@settings(max_examples=2, deadline=None)
@given(texts=st.lists(hostile_text, min_size=10, max_size=10))
def test_app_renders_a_hostile_forest(texts):
    async def scenario(tmp: Path) -> None:
        app, index, _ = build(tmp, demo=False)
        ids = add_forest(index, SERVER, texts)
        try:
            async with app.run_test(size=SIZE) as pilot:
                await pilot.pause()
                for rid in ids:
                    key = (SERVER, rid)
                    await goto(pilot, app, key)
                    await settle(pilot, app)
                    label = app.forest_view.node_for(key).label.plain
                    assert bad_chars(label) == [], repr(label)
                    assert _transcript_problems(app) == []
                svg = app.export_screenshot()
                assert "\x1b" not in svg
                assert _svg_problems(svg) == []
                # Send a hostile message too: the live turn and the stored reply stay inert.
                await pilot.press("n")
                app.composer.set_text(texts[0] + " [bold]x[/] \x1b]52;c;SGVsbG8=\x07")
                await pilot.press("ctrl+s")
                await settle(pilot, app)
                assert _transcript_problems(app) == []
                svg = app.export_screenshot()
                assert "\x1b" not in svg and _svg_problems(svg) == []
        finally:
            index.close()

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(scenario(Path(tmp)))


# ------------------------------------------------------------------ size


def test_a_huge_input_and_a_10000_line_answer(tmp_path, capsys):
    from tui.ui.transcript import RICH_TURNS

    huge_input = ("x" * 99 + " ") * 10_000 + "\x1b[2J[bold]END[/]"  # ~1 MB
    long_answer = "\n".join(f"line {n} \x1b[31mred\x1b[0m [b]" for n in range(10_000))
    app, index, _ = build(tmp_path, demo=False)
    root = add(index, SERVER, huge_input, long_answer)
    parent = root
    for n in range(RICH_TURNS + 1):  # push the big turn into the compact "older" part
        parent = add(index, SERVER, f"small {n}", f"answer {n}", parent=parent)
    tail = add(index, SERVER, huge_input, long_answer, parent=parent)

    async def scenario() -> float:
        start = time.monotonic()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            for key in ((SERVER, root), (SERVER, tail)):
                await goto(pilot, app, key)
                await settle(pilot, app)
                assert app.transcript.query(Turn)
                assert _transcript_problems(app) == []
            older = str(app.transcript.query_one(".older").render())
            assert "more lines" in older  # the old big turn is compact, not 10,000 lines
            svg = app.export_screenshot()
            assert "\x1b" not in svg
        return time.monotonic() - start

    elapsed = asyncio.run(scenario())
    assert elapsed < 20, f"opening and rendering the big turns took {elapsed:.1f} s"
    start = time.monotonic()
    md = export_markdown(index, SERVER, tail)
    doc = json.loads(export_json(index, SERVER, tail))
    assert time.monotonic() - start < 20
    assert md.count("line 9999 red [b]") == 2
    assert "\x1b" not in md
    assert doc["responses"][0]["input"][0]["content"][0]["text"] == huge_input
    assert doc["responses"][-1]["response"]["output"][0]["content"][0]["text"] == long_answer
    index.close()


# ------------------------------------------------------------------ bad configuration


def one_error_line(capsys, code: int) -> str:
    captured = capsys.readouterr()
    assert code != 0
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("responses-tui: error:"), lines
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--profile", "no-such-profile", "list"], "no-such-profile"),
        (["--profile", "no-such-profile", "send", "hi"], "no-such-profile"),
        (["--base-url", "ftp://example.com/v1", "list"], "bad base URL"),
        (["--base-url", "http://", "send", "hi"], "bad base URL"),
        (["--base-url", "http://example.com:99999/v1", "list"], "bad base URL"),
        (["--base-url", "https://example.com/v1?key=1", "list"], "bad base URL"),
        (["--profile", "openai", "send", "hello"], "OPENAI_API_KEY"),
        (["--profile", "openai", "list"], None),  # listing needs no key: not an error
        (["--header", "no-colon", "list"], "bad header"),
        (["--header", ": value-without-name", "send", "hi"], "bad header"),
        (["--header", "X-Lab: ${UNSET_LAB_VAR}", "send", "hi"], "UNSET_LAB_VAR"),
        (["profiles", "add", "lab", "--base-url", "not a url"], "bad base URL"),
        (["profiles", "add", "lab", "--base-url", "http://h/v1", "--header", "x"], "bad header"),
    ],
)
def test_bad_config_is_one_clear_line(argv, expected, capsys, monkeypatch):
    monkeypatch.delenv("UNSET_LAB_VAR", raising=False)
    code = main(argv)
    if expected is None:
        captured = capsys.readouterr()
        assert code == 0 and captured.err == ""
        return
    line = one_error_line(capsys, code)
    assert expected in line


@pytest.mark.parametrize(
    "header",
    [
        "X-Lab: a\r\nInjected: yes",
        "X-Lab: a\nInjected: yes",
        "Bad Name: value",
        "X-Lab: caf\u00e9 \u2603",
    ],
)
def test_malformed_header_values_are_one_line(header, capsys, monkeypatch):
    """Headers the HTTP layer cannot send: refused up front or at send time, in one line."""

    async def no_sleep(_seconds: float) -> None:
        return None

    monkeypatch.setattr("asyncio.sleep", no_sleep)
    code = main(["--base-url", "http://127.0.0.1:9/v1", "--header", header, "send", "hi"])
    one_error_line(capsys, code)


def _catalog() -> Path:
    path = index_dir() / "catalog.json"
    assert path.is_file()
    return path


def _saved_names() -> list:
    return [doc.get("name") for doc in json.loads(_catalog().read_text())["profiles"].values()]


def _corrupt_profile(mutate) -> None:
    path = _catalog()
    data = json.loads(path.read_text())
    for doc in data["profiles"].values():
        if doc.get("name") == "lab":
            mutate(doc)
    path.write_text(json.dumps(data))


def _no_traceback_and_clear(capsys, code: int) -> None:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    err = captured.err.strip().splitlines()
    ours = [ln for ln in err if ln.startswith("responses-tui:")]
    for line in ours:
        assert line.startswith(("responses-tui: error:", "responses-tui: warning:")), err
    if code != 0:
        assert len(err) == 1, err
        assert err[0].startswith("responses-tui: error:"), err
    else:
        assert not [ln for ln in ours if ln.startswith("responses-tui: error:")], err


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda d: d.update(base_url="ftp://nowhere/v1"), id="ftp-url"),
        pytest.param(lambda d: d.update(base_url="not a url"), id="garbage-url"),
        pytest.param(lambda d: d.update(base_url=None), id="null-url"),
        pytest.param(lambda d: d.update(base_url=12345), id="number-url"),
        pytest.param(lambda d: d.update(headers=["Authorization: x"]), id="headers-list"),
        pytest.param(lambda d: d.update(headers={"X-A": {"nested": 1}}), id="headers-nested"),
        pytest.param(lambda d: d.update(name=None), id="no-name"),
        pytest.param(lambda d: d.update(api_key_env=["A", "B"]), id="key-env-list"),
    ],
)
def test_hand_corrupted_saved_profile(mutate, capsys, monkeypatch):
    async def no_sleep(_seconds: float) -> None:
        return None

    monkeypatch.setattr("asyncio.sleep", no_sleep)  # no retry back-off against port 1
    monkeypatch.setenv("LAB_KEY", "k-123456")
    assert (
        main(
            [
                *("profiles", "add", "lab", "--base-url", "http://127.0.0.1:1/v1"),
                *("--api-key-env", "LAB_KEY"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    _corrupt_profile(mutate)
    named = isinstance(_saved_names()[0], str)  # "no-name" leaves a profile without one
    label = "'lab'" if named else "'#1'"

    def run(argv: list[str]) -> tuple[int, list[str], str]:
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse only: not expected here
            pytest.fail(f"{argv}: SystemExit {exit_.code}")
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err + captured.out
        ours = [ln for ln in captured.err.splitlines() if ln.startswith("responses-tui:")]
        return code, ours, captured.out

    # The right outcome: the broken profile is skipped with one warning line that names it;
    # it breaks neither the commands that do not use it nor the other profiles.
    for argv in (["list"], ["profiles", "list"], ["--profile", "local", "send", "hello"]):
        code, ours, out = run(argv)
        assert code == 0, (argv, ours)
        assert len(ours) == 1, (argv, ours)
        assert ours[0].startswith(f"responses-tui: warning: saved profile {label} is unusable:")
        assert ours[0].endswith("; skipped"), ours
        if argv == ["profiles", "list"]:
            assert "local" in out and " lab " not in out
    # Asked for by name, it is an error that says what is wrong (and nothing is sent).
    for argv in (["--profile", "lab", "list"], ["--profile", "lab", "send", "hello"]):
        code, ours, _out = run(argv)
        assert code == 1, (argv, ours)
        if named:
            assert len(ours) == 1, ours
            assert ours[0].startswith("responses-tui: error: saved profile 'lab' is unusable:")
            assert "responses-tui profiles remove lab" in ours[0]
        else:  # no profile is called "lab" any more: the nameless one is still reported
            assert len(ours) == 2, ours
            assert ours[0].startswith("responses-tui: warning: saved profile '#1' is unusable")
            assert ours[1].startswith("responses-tui: error: unknown profile 'lab'")
    # The way out: a broken profile that still has its name can be removed; the nameless
    # one is not found by name (the warning says to fix it in catalog.json by hand).
    code, ours, out = run(["profiles", "remove", "lab"])
    if not named:
        assert code == 1 and ours == ["responses-tui: error: no saved profile named 'lab'"]
        return
    assert code == 0 and ours == [] and "removed profile 'lab'" in out
    code, ours, out = run(["list"])
    assert code == 0 and ours == []
    assert "offline backend" in out


def test_unreadable_catalog_is_a_warning_not_a_traceback(capsys):
    assert main(["profiles", "add", "lab", "--base-url", "http://127.0.0.1:1/v1"]) == 0
    capsys.readouterr()
    _catalog().write_text('{"profiles": {"1": {"name": "lab", "base_url": ')  # truncated
    code = main(["list"])
    _no_traceback_and_clear(capsys, code)
    assert code == 0


def test_catalog_profile_table_of_wrong_shape(capsys):
    assert main(["profiles", "add", "lab", "--base-url", "http://127.0.0.1:1/v1"]) == 0
    capsys.readouterr()
    path = _catalog()
    data = json.loads(path.read_text())
    data["profiles"] = {"1": "not an object", "2": ["a", "list"]}
    path.write_text(json.dumps(data))
    broken = path.read_bytes()
    # The right outcome: the catalog is not an index file any more, so it is moved aside
    # (kept, byte for byte, for the user to look at), one warning line says where, and a
    # fresh catalog is started: the command works.
    assert main(["list"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    ours = [ln for ln in captured.err.splitlines() if ln.startswith("responses-tui:")]
    assert len(ours) == 1, ours
    assert ours[0].startswith("responses-tui: warning: catalog.json was unreadable"), ours
    aside = sorted(path.parent.glob("catalog.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].name in ours[0]
    assert aside[0].read_bytes() == broken
    # From then on everything is normal: no warning again, the built-in profiles listed.
    assert main(["profiles", "list"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "local" in captured.out and " lab " not in captured.out
