"""Issue 14.6: the CLI works beside the app. Real processes read and write the index while
an Index (and an app under Pilot) has it open; what they write shows up within a second."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from ui_helpers import SERVER, build, settle

from tui.paths import index_dir
from tui.store.index import Index

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, home: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if home is not None:
        env["RESPONSES_TUI_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_list_search_and_export_work_while_an_index_is_open():
    assert cli("send", "hello from a shell").returncode == 0
    with Index.open(index_dir()) as index:
        (node,) = index.nodes()
        listed = cli("list")
        assert listed.returncode == 0, listed.stderr
        assert node.id in listed.stdout
        found = cli("search", "shell")
        assert found.returncode == 0 and node.id in found.stdout, found.stderr
        exported = cli("export", node.id)
        assert exported.returncode == 0 and "hello from a shell" in exported.stdout


def test_a_send_and_a_delete_from_a_shell_reach_an_open_index_within_a_second():
    with Index.open(index_dir()) as index:
        sent = cli("send", "written beside an open index")
        assert sent.returncode == 0, sent.stderr
        deadline = time.monotonic() + 1.0
        while not index.refresh() and time.monotonic() < deadline:
            time.sleep(0.05)
        (node,) = index.nodes()
        assert node.input_preview == "written beside an open index"
        assert node.key in index.forest(node.server)
        gone = cli("delete", "--yes", node.id)
        assert gone.returncode == 0, gone.stderr
        assert index.refresh() is True
        assert len(index) == 0 and node.key not in index.forest(node.server)


def test_tools_and_import_write_beside_an_open_index():
    with Index.open(index_dir()) as index:
        added = cli("tools", "add", "web", "--json", '{"type": "web_search"}')
        assert added.returncode == 0, added.stderr
        assert index.refresh() is True
        assert [p["name"] for p in index.presets()] == ["web"]
        assert cli("send", "kept on the server").returncode == 0
        index.refresh()
        (node,) = index.nodes()
        forgot = cli("delete", "--yes", "--local-only", node.id)
        assert forgot.returncode == 0, forgot.stderr
        assert index.refresh() is True and len(index) == 0
        imported = cli("import", node.id)
        assert imported.returncode == 0, imported.stderr
        assert index.refresh() is True
        assert [n.id for n in index.nodes()] == [node.id]


async def test_the_app_shows_a_conversation_sent_from_a_shell_within_a_second(tmp_path):
    app, index, _backend = build(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        before = len(index)
        cursor = app.forest_view.current_key
        # Another process on the same index (its offline backend has storage of its own).
        sent = await asyncio.to_thread(cli, "send", "from the shell", home=tmp_path)
        assert sent.returncode == 0, sent.stderr
        for _ in range(20):  # 20 x 0.05 s
            await asyncio.sleep(0.05)
            await pilot.pause()
            if len(index) > before:
                break
        assert len(index) == before + 1
        new = next(n for n in index.nodes(SERVER) if n.input_preview == "from the shell")
        await pilot.pause()
        assert app.forest_view.row_of(new.key) is not None  # drawn in the forest
        assert app.forest_view.current_key == cursor  # the graph kept its place
    index.close()


async def test_the_app_lets_go_of_a_turn_deleted_from_a_shell(tmp_path):
    app, index, _backend = build(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        shown = app.current
        assert shown is not None
        gone = await asyncio.to_thread(
            cli, "delete", "--yes", "--local-only", "--subtree", shown[1], home=tmp_path
        )
        assert gone.returncode == 0, gone.stderr
        for _ in range(20):  # 20 x 0.05 s
            await asyncio.sleep(0.05)
            await pilot.pause()
            if index.get(*shown) is None and app.current != shown:
                break
        await settle(pilot, app)
        assert index.get(*shown) is None
        assert app.current != shown and app.forest_view.row_of(shown) is None
        assert app.current is None or index.get(*app.current) is not None
    index.close()


async def test_the_app_starts_afresh_when_a_shell_deletes_its_last_conversation(tmp_path):
    app, index, _backend = build(tmp_path, demo=False)
    sent = cli("send", "the only one", home=tmp_path)
    assert sent.returncode == 0, sent.stderr
    index.refresh()
    (only,) = index.nodes()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        assert app.current == only.key
        gone = await asyncio.to_thread(
            cli, "delete", "--yes", "--local-only", only.id, home=tmp_path
        )
        assert gone.returncode == 0, gone.stderr
        for _ in range(20):  # 20 x 0.05 s
            await asyncio.sleep(0.05)
            await pilot.pause()
            if app.current is None:
                break
        await settle(pilot, app)
        assert app.current is None and len(index) == 0
        assert app.conversation.mode == "new"
    index.close()


async def test_a_failed_look_at_the_index_is_tried_again_quietly(tmp_path, monkeypatch):
    app, index, _backend = build(tmp_path)
    looks = []

    def unreadable() -> bool:
        looks.append(1)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(index, "refresh", unreadable)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot, app)
        while len(looks) < 3:
            await asyncio.sleep(0.1)
        await settle(pilot, app)  # no unexpected error
        assert not app._notifications
    index.close()


async def test_two_apps_open_on_one_index_see_each_others_conversations(tmp_path):
    from ui_helpers import make_backend, type_and_send

    from tui.ui.app import ResponsesApp

    first, index, _backend = build(tmp_path)
    other_index = Index.open(tmp_path / "index")  # a second app, as another process has it
    second = ResponsesApp(
        other_index,
        first.profile,
        backend=make_backend(tmp_path / "backend"),
        clock=first.clock,
        debounce=0,
    )
    async with first.run_test(size=(120, 40)) as one, second.run_test(size=(120, 40)) as two:
        await settle(one, first)
        await settle(two, second)
        await two.press("n")  # a new conversation in the second app
        await type_and_send(two, second, "sent from the second app")
        new = next(n for n in other_index.nodes() if n.input_preview == "sent from the second app")
        for _ in range(20):  # 20 x 0.05 s
            await asyncio.sleep(0.05)
            await one.pause()
            if first.forest_view.row_of(new.key) is not None:
                break
        assert index.get(*new.key) is not None
        assert first.forest_view.row_of(new.key) is not None
    index.close()
    other_index.close()
