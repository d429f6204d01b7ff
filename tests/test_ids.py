"""Issue 14.7: ids as people see them. A unique prefix of an indexed id (the app shows
`resp_6c40d605…`) names that id in every command and dialog; an ambiguous one lists the
candidates in one line (non-zero exit in the CLI); one that begins nothing is unknown."""

from __future__ import annotations

import pytest
from test_store import response  # the same response builder
from textual.widgets import Input, Static
from ui_helpers import SERVER, build

from tui.cli import main
from tui.paths import index_dir
from tui.store.index import AmbiguousId, Index
from tui.ui.history_screens import ImportScreen


@pytest.fixture
def index(tmp_path):
    with Index.open(tmp_path / "index") as idx:
        for rid in ("resp_6c40d605aa", "resp_6c40d605bb", "resp_7f00", "resp_7f001"):
            idx.add_response(response(rid), server="s", profile="p")
        idx.add_response(response("resp_elsewhere1"), server="other", profile="p")
        idx.add_response(response("resp_both1"), server="s", profile="p")
        idx.add_response(response("resp_both2"), server="other", profile="p")
        yield idx


def test_a_unique_prefix_names_its_id(index):
    assert index.resolve("resp_6c40d605a") == "resp_6c40d605aa"
    assert index.resolve("resp_6c40d605b…") == "resp_6c40d605bb"  # copied with the ellipsis
    assert index.resolve("  resp_elsewh ") == "resp_elsewhere1"  # another server's, if unique


def test_a_whole_id_wins_over_the_longer_ids_it_begins(index):
    assert index.resolve("resp_7f00") == "resp_7f00"


def test_an_ambiguous_prefix_lists_the_candidates(index):
    with pytest.raises(AmbiguousId) as info:
        index.resolve("resp_6c40d605")
    assert str(info.value) == (
        "'resp_6c40d605' begins 2 response ids: resp_6c40d605aa, resp_6c40d605bb; give more of it"
    )
    assert info.value.candidates == ["resp_6c40d605aa", "resp_6c40d605bb"]
    with pytest.raises(AmbiguousId, match=r"begins 7 response ids: .* and 2 more"):
        index.resolve("resp_")


def test_the_server_asked_about_comes_first(index):
    assert index.resolve("resp_both", server="other") == "resp_both2"
    with pytest.raises(AmbiguousId):
        index.resolve("resp_both")


def test_a_prefix_of_nothing_comes_back_as_it_is(index):
    assert index.resolve("resp_zzz") == "resp_zzz"
    assert index.resolve("") == ""


# ------------------------------------------------------------------ the CLI


def run(*argv: str) -> int:
    return main(list(argv))


@pytest.fixture
def local_ids():
    from tui.api.profiles import resolve_profile
    from tui.ops.connect import server_id

    server = server_id(resolve_profile("local", {}))
    with Index.open(index_dir()) as idx:
        idx.add_response(
            response("resp_6c40d605aa", text="first answer"), server=server, profile="local"
        )
        idx.add_response(
            response("resp_6c40d605bb", text="second answer"), server=server, profile="local"
        )
    return server


def test_export_takes_a_unique_prefix(local_ids, capsys):
    assert run("export", "resp_6c40d605a") == 0
    assert "first answer" in capsys.readouterr().out
    assert run("export", "resp_6c40d605b…") == 0
    assert "second answer" in capsys.readouterr().out


def test_an_ambiguous_prefix_is_one_line_naming_the_candidates(local_ids, capsys):
    for argv in (
        ("export", "resp_6c40d605"),
        ("delete", "--yes", "--local-only", "resp_6c40d605"),
        ("send", "hi", "--reply-to", "resp_6c40d605"),
        ("import", "resp_6c40d605"),
    ):
        assert run(*argv) == 1, argv
        err = capsys.readouterr().err
        assert err == (
            "responses-tui: error: 'resp_6c40d605' begins 2 response ids: resp_6c40d605aa, "
            "resp_6c40d605bb; give more of it\n"
        ), argv


def test_a_prefix_of_nothing_is_an_unknown_id(local_ids, capsys):
    assert run("export", "resp_zz") == 1
    assert "unknown response id 'resp_zz'" in capsys.readouterr().err


def test_delete_send_and_import_take_a_unique_prefix(local_ids, capsys):
    assert run("send", "a question") == 0  # a real response on the offline backend
    with Index.open(index_dir()) as idx:
        root = next(n for n in idx.nodes() if n.input_preview == "a question")
    assert run("send", "a reply", "--reply-to", root.id[:-3]) == 0
    with Index.open(index_dir()) as idx:
        reply = next(n for n in idx.nodes() if n.input_preview == "a reply")
        assert reply.parent == root.id
    capsys.readouterr()
    assert run("delete", "--yes", "--local-only", "resp_6c40d605b") == 0
    assert "forgot 1 of 1" in capsys.readouterr().out
    with Index.open(index_dir()) as idx:
        assert idx.get(local_ids, "resp_6c40d605bb") is None
        assert idx.get(local_ids, "resp_6c40d605aa") is not None
    # Import by a prefix of an indexed id: that id is asked of the server again.
    assert run("import", reply.id[:-3]) == 0
    assert reply.id in capsys.readouterr().out


# ------------------------------------------------------------------ the app


async def test_the_import_dialog_takes_a_prefix_and_lists_an_ambiguous_one(tmp_path):
    app, index, _backend = build(tmp_path)
    asked: list[list[str]] = []
    app._import_worker = asked.append  # what the dialog hands over, without importing
    node = index.nodes(SERVER)[0]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.forest_view.focus()
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, ImportScreen)
        app.screen.query_one(Input).value = "resp_"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ImportScreen)  # still asking
        error = str(app.screen.query_one("#import-error", Static).render())
        assert "'resp_' begins" in error and "give more of it" in error
        app.screen.query_one(Input).value = node.id[:12] + "…"
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, ImportScreen)
    assert asked == [[node.id]]
    index.close()
