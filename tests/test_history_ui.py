"""History in the browser and at scale: import (i), sync (ctrl+r), export (x), search (/ and
ctrl+f), several servers in one index; a 1,000-long chain import."""

from __future__ import annotations

import asyncio
import json
import stat
import time

import pytest
from test_app import SIZE
from textual.widgets import Input, OptionList
from ui_helpers import LOCAL, SERVER, build, goto, key_of, type_and_send, wait_for

from tui.api.client import ResponsesClient
from tui.api.profiles import Profile, profile_to_dict
from tui.local.transport import OfflineTransport
from tui.ops.connect import make_client, offline_backend, server_id
from tui.ops.importer import import_chain
from tui.store.index import Index
from tui.store.records import Status
from tui.ui.history_screens import ExportScreen, ImportScreen, SearchScreen


async def create(backend, texts, parent=None):
    """Responses made 'by a script': straight on the backend, not through the app."""
    ids = []
    async with make_client(LOCAL, {}, backend=backend) as client:
        for text in texts:
            body = {"model": "offline-echo", "input": text}
            if parent:
                body["previous_response_id"] = parent
            response = await client.create(body)
            parent = response["id"]
            ids.append(parent)
    return ids


async def wait_idle(pilot, app):
    for _ in range(200):
        await pilot.pause()
        if not any(w.is_running for w in app.workers):
            return
    raise AssertionError("workers did not finish")


async def test_i_imports_a_chain_by_id(tmp_path):
    app, index, backend = build(tmp_path, demo=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        ids = await create(backend, ["made by a script", "its follow-up"])
        await pilot.press("escape")  # from the composer (first run) to the tree
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, ImportScreen)
        app.screen.query_one(Input).value = ids[-1]
        await pilot.press("enter")
        await wait_idle(pilot, app)
        assert [n.id for n in index.nodes(SERVER)] == ids
        assert app.current == (SERVER, ids[-1])
        assert any("imported 2 responses" in str(n.message) for n in app._notifications)
    index.close()


async def test_ctrl_r_syncs_new_and_marks_gone(tmp_path):
    app, index, backend = build(tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("ctrl+r")  # first sync: everything is already known
        await wait_idle(pilot, app)
        gone = key_of(index, "Which port wine")
        backend.store.delete(gone[1])  # deleted behind our back (or expired)
        new = await create(backend, ["written elsewhere"])
        await pilot.press("ctrl+r")
        await wait_idle(pilot, app)
        assert index.get(SERVER, new[0]) is not None
        # an incremental sync adds what is new; a full one would also catch deletions
        from tui.ops.sync import sync

        async with make_client(LOCAL, {}, backend=backend) as client:
            report = await sync(client, index, server=SERVER, profile="local", full=True)
        assert gone[1] in report.missing
        assert index.get(*gone).status == Status.MISSING  # kept, marked
        messages = " ".join(str(n.message) for n in app._notifications)
        assert "1 new" in messages
    index.close()


async def test_x_exports_the_conversation_as_json_0600(tmp_path, monkeypatch):
    """Into ~/Downloads by default (never the current directory: it may be a repository)."""
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    (home / "Downloads").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        sintra = key_of(index, "Add a day trip to Sintra")
        await goto(pilot, app, sintra)
        await pilot.press("x")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ExportScreen)
        await pilot.click("#tree")
        await pilot.click("#json")
        await pilot.pause()
        target = screen.query_one("#export-file", Input).value
        assert target.endswith("-conversation.json")
        await pilot.press("ctrl+s")
        await pilot.pause()
        path = home / "Downloads" / f"{sintra[1]}-conversation.json"
        assert target == str(path)
        assert not (tmp_path / path.name).exists()
        assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
        document = json.loads(path.read_text())
        root = key_of(index, "Plan a three-day trip")
        assert len(document["responses"]) == 1 + len(index.forest(SERVER).descendants(root))
    index.close()


async def test_export_remembers_the_last_folder_and_falls_back_to_home(tmp_path, monkeypatch):
    home = tmp_path / "home"  # no Downloads: the home directory
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    elsewhere = tmp_path / "exports"
    elsewhere.mkdir()
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await goto(pilot, app, key_of(index, "Add a day trip to Sintra"))
        await pilot.press("x")
        await pilot.pause()
        field = app.screen.query_one("#export-file", Input)
        assert field.value.startswith(f"{home}/") and field.value.endswith(".md")
        field.value = str(elsewhere / "mine.md")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert (elsewhere / "mine.md").exists()
        await pilot.press("x")
        await pilot.pause()
        value = app.screen.query_one("#export-file", Input).value
        assert value.startswith(f"{elsewhere}/") and value.endswith(".md")
        await pilot.press("escape")
        await pilot.pause()
    index.close()
    # A state file that is not JSON, or names a folder that is gone, is ignored.
    from tui.config import last_export_dir
    from tui.paths import state_file

    state = state_file()
    assert last_export_dir(state) == elsewhere
    elsewhere.rename(tmp_path / "moved")
    assert last_export_dir(state) is None
    state.write_text("{not json")
    assert last_export_dir(state) is None


async def test_slash_filter_searches_full_text_and_highlights(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash")
        await pilot.press(*"fingerprint")  # only in the answers, never in a preview
        await wait_idle(pilot, app)
        await pilot.pause()
        assert app.fulltext.ready
        shown = app.forest_view.conversations()
        assert len(shown) == 4  # every answer has one
        await pilot.press(*["backspace"] * 11, *"sintra")
        await wait_idle(pilot, app)
        await pilot.pause()
        assert app.forest_view.conversations() == [key_of(index, "Plan a three-day trip")]
        node = app.forest_view.node_for(key_of(index, "Add a day trip to Sintra"))
        assert any("reverse" in str(span.style) for span in node.label.spans)
    index.close()


async def test_ctrl_f_finds_and_jumps(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+f")
        for _ in range(200):  # the index builds first (cooperatively), then the dialog opens
            await pilot.pause()
            if isinstance(app.screen, SearchScreen):
                break
        assert isinstance(app.screen, SearchScreen)
        await pilot.press(*"port wine")
        results = app.screen.query_one(OptionList)
        for _ in range(200):  # the matching runs in a thread
            await pilot.pause()
            if app.screen._shown == "port wine":
                break
        assert results.option_count >= 1
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
        assert app.current == key_of(index, "Which port wine")

        # Long snippets stay on one line each (they end in an ellipsis, never wrap).
        await pilot.press("ctrl+f")
        for _ in range(200):
            await pilot.pause()
            if isinstance(app.screen, SearchScreen):
                break
        await pilot.press(*"fingerprint")  # in every answer: hits in the output, long lines
        for _ in range(200):
            await pilot.pause()
            if app.screen._shown == "fingerprint":
                break
        results = app.screen.query_one(OptionList)
        assert results.option_count >= 4
        assert all(hit.field == "output" for hit in app.screen.hits)
        assert results.virtual_size.height == results.option_count
        await pilot.press("escape")
        await pilot.pause()

        # Enter before the list caught up with the typing jumps to what was typed.
        await pilot.press("ctrl+f")
        for _ in range(200):
            await pilot.pause()
            if isinstance(app.screen, SearchScreen):
                break
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        screen._typed = "sintra"  # as if typed, its thread not done yet
        screen._first()
        await pilot.pause()
        await pilot.pause()
        assert app.current == key_of(index, "Add a day trip to Sintra")
    index.close()


async def test_several_servers_switch_profile_keeps_the_place(tmp_path, monkeypatch):
    app, index, _ = build(tmp_path)
    lab_backend = offline_backend(tmp_path / "lab-backend", seed=5)
    lab = Profile(name="lab", base_url="http://lab.example.test/v1", default_model="lab-model")
    index.save_profile(profile_to_dict(lab))
    real_make_client = make_client

    def fake_make_client(profile, env=None, *, backend=None):
        if profile.name == "lab":  # no network in tests: the lab server is a second backend
            return ResponsesClient(profile, env={}, transport=OfflineTransport(lab_backend))
        return real_make_client(profile, env, backend=backend)

    monkeypatch.setattr("tui.session.make_client", fake_make_client)
    async with app.run_test(size=SIZE) as pilot:
        sintra = key_of(index, "Add a day trip to Sintra")
        await goto(pilot, app, sintra)
        assert app.switch_profile("lab")
        await pilot.pause()
        assert app.server == server_id(lab) and app.current is None
        assert "lab" in app.sub_title
        await type_and_send(pilot, app, "hello lab")
        lab_key = app.current
        assert lab_key[0] == server_id(lab)
        assert index.load_body(*lab_key)["response"]["model"] == "lab-model"
        assert app.switch_profile("local")
        await pilot.pause()
        assert app.current == sintra  # the place on this server is remembered
        app.action_toggle_servers()
        await pilot.pause()
        view = app.forest_view
        headings = [view._headings[y].plain for y, r in enumerate(view.rows) if r.kind == "heading"]
        assert len(headings) == 2
        assert "lab · 1 conversation · 1 response · lab.example.test/v1" in headings
        # Each heading counts its server's conversations and responses, and the counts come
        # before the address: the left pane cuts a heading's end, never the counts.
        local = index.forest(SERVER)
        assert headings[0].startswith(
            f"local · {len(local.roots())} conversations · {len(local)} responses · "
        )
        lines = ["".join(s.text for s in view.render_line(y)) for y in range(view.size.height)]
        shown = [line for line in lines if line.lstrip().startswith(("local ·", "lab ·"))]
        assert len(shown) == 2 and all("response" in line for line in shown)
        # Replying to a node of the other server switches to its profile first.
        app.forest_view.focus()
        await goto(pilot, app, lab_key)
        await pilot.press("enter")
        await pilot.pause()
        assert app.server == server_id(lab)
    index.close()


async def test_import_of_a_1000_long_chain(tmp_path):
    backend = offline_backend(tmp_path / "backend", seed=2)
    parent = None
    records = []
    for n in range(1000):
        rid = f"resp_{n:032x}"
        records.append(
            {
                "response": {
                    "id": rid,
                    "object": "response",
                    "created_at": 1_700_000_000 + n,
                    "status": "completed",
                    "model": "offline-echo",
                    "previous_response_id": parent,
                    "output": [
                        {
                            "type": "message",
                            "role": "assistant",
                            "content": [{"type": "output_text", "text": f"answer {n}"}],
                        }
                    ],
                },
                "input": [
                    {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": f"question {n}"}],
                    }
                ],
                "seq": n,
            }
        )
        parent = rid
    for record in records:
        backend.store.put(record)
    seen = []
    with Index.open(tmp_path / "index") as index:
        started = time.perf_counter()
        async with make_client(LOCAL, {}, backend=backend) as client:
            result = await import_chain(
                client,
                index,
                server=SERVER,
                profile="local",
                response_id=parent,
                progress=lambda done, current: seen.append(done),
            )
        elapsed = time.perf_counter() - started
        assert len(result.imported) == 1000 and result.imported[0] == "resp_" + "0" * 32
        assert seen[-1] == 1000
        forest = index.forest(SERVER)
        assert len(forest.path_to_root((SERVER, parent))) == 1000
        assert len(forest.segments()) == 1
        assert index.load_body(SERVER, parent)["input"][0]["content"][0]["text"] == "question 999"
    print(f"imported a 1,000-long chain in {elapsed:.2f} s")
    assert elapsed < 60


@pytest.mark.parametrize("all_servers", [False, True])
async def test_filter_in_one_or_all_servers(tmp_path, all_servers):
    app, index, _ = build(tmp_path)
    index.add_response(
        {
            "id": "resp_other",
            "object": "response",
            "created_at": 1.0,
            "model": "x",
            "output": [],
            "previous_response_id": None,
        },
        server="http://elsewhere.example/v1",
        profile="elsewhere",
        input_items=[
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "lisbon elsewhere"}],
            }
        ],
    )
    async with app.run_test(size=SIZE) as pilot:
        app.forest_view.all_servers = all_servers
        app.forest_view.rebuild()
        await pilot.press("slash")
        await pilot.press(*"lisbon")
        await wait_idle(pilot, app)
        await pilot.pause()
        keys = {line.key for line in app.forest_view.lines()}
        assert ("http://elsewhere.example/v1", "resp_other") in keys or not all_servers
        if not all_servers:
            assert all(k[0] == SERVER for k in keys)
    index.close()


# ------------------------------------------------------------------ search while indexing


def _many(index, count: int) -> None:
    """`count` more one-turn conversations, each answer holding "needle"."""
    records = []
    for n in range(count):
        records.append(
            (
                {
                    "id": f"resp_many{n:027x}",
                    "object": "response",
                    "created_at": 1_000.0 + n,
                    "status": "completed",
                    "model": "m",
                    "output": [
                        {
                            "type": "message",
                            "role": "assistant",
                            "content": [{"type": "output_text", "text": f"needle {n}"}],
                        }
                    ],
                },
                [{"type": "message", "role": "user", "content": f"question {n}"}],
            )
        )
    index.add_many(records, server=SERVER, profile="local")


def _slow_updates(monkeypatch, seconds: float = 0.002) -> None:
    """Make building the search index take a while (it yields every 100 responses)."""
    from tui.search import SearchIndex

    real = SearchIndex.update

    def slow(self, key):
        time.sleep(seconds)
        return real(self, key)

    monkeypatch.setattr(SearchIndex, "update", slow)


async def test_ctrl_f_opens_at_once_and_fills_in_while_indexing(tmp_path, monkeypatch):
    app, index, _ = build(tmp_path)
    _many(index, 3000)
    _slow_updates(monkeypatch, 0.0005)  # about 1.5 s to build, in slices of 50 ms
    async with app.run_test(size=SIZE) as pilot:
        app.action_search()
        for _ in range(300):
            await asyncio.sleep(0.01)
            if isinstance(app.screen, SearchScreen) and app.screen.is_mounted:
                break
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        assert app.fulltext.progress is not None, "built too fast"  # opened before complete
        count = screen.query_one("#search-count")
        assert "indexing every turn" in str(count.render())
        await pilot.press(*"needle")
        for _ in range(400):
            await pilot.pause()
            done = app.fulltext.progress is None and screen._shown == "needle"
            if done and "indexing" not in str(count.render()):
                break
        assert app.fulltext.ready
        assert "200+ found" in str(count.render())  # every answer has one: the limit
        assert "indexing" not in str(count.render())
    index.close()


async def test_typing_a_filter_does_not_restart_the_index_build(tmp_path, monkeypatch):
    import tui.fulltext as app_module

    app, index, _ = build(tmp_path)
    _many(index, 300)
    _slow_updates(monkeypatch)
    built: list[object] = []
    real_index = app_module.SearchIndex

    class Counting(real_index):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs):
            built.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(app_module, "SearchIndex", Counting)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"needle 12")
        await wait_idle(pilot, app)
        assert len(built) == 1  # one build for all nine keystrokes
        assert app.fulltext.usable
        assert (SERVER, f"resp_many{12:027x}") in app.forest_view.filter_keys
        assert app.forest_view.filter_keys == set(app.fulltext.searcher.matching_keys("needle 12"))
    index.close()


async def test_a_reply_sent_while_indexing_is_searchable(tmp_path, monkeypatch):
    app, index, _ = build(tmp_path)
    _many(index, 300)
    _slow_updates(monkeypatch, 0.005)  # about 1.5 s to build
    async with app.run_test(size=SIZE) as pilot:
        app._ensure_search_index()
        await wait_for(pilot, lambda: app.fulltext.building is not None)
        await goto(pilot, app, key_of(index, "Show a tiny example"))
        await pilot.press("enter")
        await type_and_send(pilot, app, "zebra crossing")
        await wait_idle(pilot, app)
        assert app.fulltext.ready
        assert app.fulltext.searcher.filter_keys("zebra") == {app.current}
    index.close()


async def test_a_server_with_nothing_yet_says_what_the_index_holds_elsewhere(tmp_path, monkeypatch):
    # Issue 14, point 5: opened on a profile whose server has no conversations, the app said
    # "No conversations yet." while the index held the local server's: history seemed lost.
    from tui.ui.graph_view import GraphView

    app, index, _ = build(tmp_path)  # the demo conversations, on the local server
    lab = Profile(name="lab", base_url="http://lab.example.test/v1", default_model="lab-model")
    index.save_profile(profile_to_dict(lab))
    held = len(index)
    async with app.run_test(size=SIZE) as pilot:
        assert app.switch_profile("lab")

        def said() -> str:
            return " ".join(str(w.render()) for w in app.transcript.children)

        await wait_for(pilot, lambda: "other servers" in said())
        shown = said()
        assert "No conversations on this server yet." in shown
        assert f"The index holds {held} responses of other servers (local {held}):" in shown
        assert "A shows every server." in shown
        graph = app.forest_view
        assert not graph.rows
        empty = [
            "".join(seg.text for seg in graph.render_line(y)).strip()
            for y in range(graph.size.height)
        ]
        assert "No conversations here yet." in empty
        assert any("A shows every server." in line for line in empty)
        # Nothing in the footer needs a turn: no reply, delete or copy on an empty forest.
        graph.focus()
        await pilot.pause()
        offered = {b.binding.action for b in app.screen.active_bindings.values()}
        assert not offered & {"reply_or_more", "app.delete", "app.copy_answer", "app.edit"}
        assert app.check_action("delete", ()) is False
        assert GraphView.check_action(graph, "reply_or_more", ()) is False
        await pilot.press("A")  # and A shows them
        await pilot.pause()
        assert graph.all_servers and len([r for r in graph.rows if r.kind == "turn"]) > 0
    index.close()


async def test_the_first_run_graph_says_what_to_do(tmp_path):
    app, index, _ = build(tmp_path, demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        graph = app.forest_view
        lines = [
            "".join(seg.text for seg in graph.render_line(y)).strip()
            for y in range(graph.size.height)
        ]
        text = " ".join(line for line in lines if line)
        assert text.startswith("No conversations here yet.")
        assert "Write a message on the right and press ctrl+s to start one." in text
        assert "other servers" not in text
        app.forest_pane.apply_filter("zzz")  # a filter that matches nothing says so instead
        await wait_for(
            pilot,
            lambda: "Nothing matches the filter" in "".join(s.text for s in graph.render_line(0)),
        )
    index.close()


async def test_the_first_down_in_the_search_highlights_the_first_result(tmp_path):
    # Issue 14, point 10: the first down moved to the list with no result highlighted, so
    # enter did nothing and a second down was needed for the first row.
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen))
        await pilot.press(*"port")
        await wait_for(pilot, lambda: app.screen._shown == "port" and app.screen.hits)
        await pilot.press("down")
        await pilot.pause()
        results = app.screen.query_one(OptionList)
        assert results.has_focus and results.highlighted == 0
        first = app.screen.hits[0].key
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.current == first)
    index.close()


async def test_the_export_choices_differ_in_shape_not_only_colour(tmp_path):
    # Seen in tmux: both radio buttons of a choice drew ●, told apart by colour alone.
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, key_of(index, "Plan a three-day trip"))
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))

        def marks() -> list[str]:
            return [
                app.screen.query_one(f"#{name}")._button.plain[1]
                for name in ("path", "tree", "md", "json")
            ]

        assert marks() == ["●", "○", "●", "○"]
        app.screen.query_one("#tree").value = True
        await pilot.pause()
        assert marks() == ["○", "●", "●", "○"]
    index.close()
