"""Titles of conversations and labels of turns (issue 13, point 4)."""

from __future__ import annotations

import json

import pytest

from tui.store.index import NAME_CHARS, Index

SERVER = "http://names.example/v1"


def response(rid: str, parent: str | None = None, at: int = 1) -> dict:
    return {
        "id": rid,
        "object": "response",
        "created_at": at,
        "status": "completed",
        "previous_response_id": parent,
        "output": [],
    }


@pytest.fixture
def index(tmp_path):
    index = Index.open(tmp_path / "index")
    index.add_response(response("resp_a", at=1), server=SERVER, profile="p")
    index.add_response(response("resp_b", "resp_a", at=2), server=SERVER, profile="p")
    index.add_response(response("resp_c", "resp_b", at=3), server=SERVER, profile="p")
    yield index
    index.close()


def test_titles_and_labels_are_stored_and_survive_a_reopen(tmp_path, index):
    assert index.title(SERVER, "resp_a") is None and index.label(SERVER, "resp_b") is None
    index.set_title(SERVER, "resp_a", "  Trip planning  ")
    index.set_label(SERVER, "resp_c", "best")
    index.set_label(SERVER, "resp_b", "")  # a bookmark without a word
    assert index.title(SERVER, "resp_a") == "Trip planning"
    assert index.labels(SERVER) == [((SERVER, "resp_b"), ""), ((SERVER, "resp_c"), "best")]
    index.close()
    again = Index.open(tmp_path / "index")
    try:
        assert again.title(SERVER, "resp_a") == "Trip planning"
        assert again.label(SERVER, "resp_b") == "" and again.label(SERVER, "resp_c") == "best"
        assert again.labels("http://other.example/v1") == []
        assert len(again.labels()) == 2
    finally:
        again.close()


def test_a_blank_title_and_a_none_label_take_the_name_off(index):
    index.set_title(SERVER, "resp_a", "x")
    index.set_label(SERVER, "resp_a", "y")
    index.set_title(SERVER, "resp_a", "   ")
    assert index.title(SERVER, "resp_a") is None and index.label(SERVER, "resp_a") == "y"
    index.set_label(SERVER, "resp_a", None)
    assert index.label(SERVER, "resp_a") is None
    catalog = json.loads((index.directory / "catalog.json").read_text())
    assert catalog.get("names", {}) == {}


def test_names_are_one_line_of_plain_text_and_bounded(index):
    index.set_title(SERVER, "resp_a", "a\nb\x1b[31m red" + "z" * 500)
    title = index.title(SERVER, "resp_a")
    assert "\n" not in title and "\x1b" not in title
    assert len(title) == NAME_CHARS and title.endswith("…")


def test_naming_an_unknown_response_is_refused(index):
    with pytest.raises(KeyError, match="resp_zz is not in the index"):
        index.set_label(SERVER, "resp_zz", "x")


def test_a_removed_response_loses_its_names(tmp_path, index):
    index.set_label(SERVER, "resp_c", "gone soon")
    index.set_title(SERVER, "resp_a", "kept")
    index.remove(SERVER, "resp_c")
    assert index.labels() == [] and index.title(SERVER, "resp_a") == "kept"
    index.close()
    again = Index.open(tmp_path / "index")
    try:
        assert again.labels() == [] and again.title(SERVER, "resp_a") == "kept"
    finally:
        again.close()


def test_a_hand_edited_name_of_the_wrong_shape_is_skipped(tmp_path, index):
    index.set_title(SERVER, "resp_a", "fine")
    index.close()
    path = tmp_path / "index" / "catalog.json"
    data = json.loads(path.read_text())
    data["names"]["90"] = {"server": SERVER, "id": 5, "title": "bad id"}
    data["names"]["91"] = {"server": SERVER, "id": "resp_b", "title": ["not", "text"]}
    path.write_text(json.dumps(data))
    again = Index.open(tmp_path / "index")
    try:
        assert again.title(SERVER, "resp_a") == "fine" and again.title(SERVER, "resp_b") is None
    finally:
        again.close()


# ------------------------------------------------------------------ in the app


async def test_r_renames_the_conversation_everywhere_it_shows(tmp_path):
    from ui_helpers import build, goto, key_of, settle, wait_for

    from tui.ui.name_screens import NameScreen

    app, index, _ = build(tmp_path)
    key = key_of(index, "Make it vegetarian")
    root = index.forest(key[0]).conversation_root(key)
    async with app.run_test(size=(120, 40)) as pilot:
        await goto(pilot, app, key)
        await settle(pilot, app)
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, NameScreen))
        await pilot.press(*"Lisbon food trip", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, NameScreen))
        await settle(pilot, app)
        assert index.title(*root) == "Lisbon food trip"
        assert app.forest_view.node_for(root).label.plain.startswith("Lisbon food trip")
        shown = [str(w.content) for w in app.transcript.query(".conversation-title")]
        assert shown == ["Lisbon food trip"]
        # An empty title gives the conversation its first input back.
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, NameScreen))
        await pilot.press("ctrl+u", "enter")
        await settle(pilot, app)
        assert index.title(*root) is None
        assert app.forest_view.node_for(root).label.plain.startswith("Plan a three-day")
        # esc changes nothing.
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, NameScreen))
        await pilot.press(*"nope", "escape")
        await settle(pilot, app)
        assert index.title(*root) is None


async def test_b_bookmarks_a_turn_and_quote_lists_and_jumps(tmp_path):
    from ui_helpers import build, goto, key_of, settle, wait_for

    from tui.ui.name_screens import LabelsScreen, NameScreen

    app, index, _ = build(tmp_path)
    first = key_of(index, "Make it vegetarian")
    second = key_of(index, "Explain Python")
    async with app.run_test(size=(120, 40)) as pilot:
        await goto(pilot, app, first)
        await settle(pilot, app)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, NameScreen))
        await pilot.press(*"veggie", "enter")
        await settle(pilot, app)
        assert index.label(*first) == "veggie"
        assert "★ veggie" in app.forest_view.node_for(first).label.plain
        await goto(pilot, app, second)
        await settle(pilot, app)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, NameScreen))
        await pilot.press("enter")  # no word: a plain bookmark
        await settle(pilot, app)
        assert index.label(*second) == ""
        await pilot.press("apostrophe")
        await wait_for(pilot, lambda: isinstance(app.screen, LabelsScreen))
        assert [label for _, label, _ in app.screen.labels] == ["veggie", ""]
        await pilot.press("enter")  # the first one: veggie
        await settle(pilot, app)
        assert app.current == first
        # b on a bookmarked turn takes it off.
        await pilot.press("b")
        await settle(pilot, app)
        assert index.label(*first) is None and not isinstance(app.screen, NameScreen)


# ------------------------------------------------------------------ list, export, import


def test_list_shows_titles_and_bookmarks(index):
    from tui.ops.listing import forest_lines

    index.set_title(SERVER, "resp_a", "Trip")
    index.set_label(SERVER, "resp_c", "best")
    index.set_label(SERVER, "resp_b", "")
    lines = forest_lines(index, SERVER)
    assert lines[0].startswith('"Trip"  resp_a  ')
    assert lines[1].startswith("★  resp_b  ")
    assert lines[2].startswith("★ best  resp_c  ")


@pytest.mark.parametrize("scope", ["path", "tree"])
def test_names_survive_export_and_re_import(tmp_path, index, scope):
    from tui.ops.export import export_json, export_markdown, export_tree_json
    from tui.ops.importer import import_export_file

    index.set_title(SERVER, "resp_a", "Trip")
    index.set_label(SERVER, "resp_c", "best")
    index.set_label(SERVER, "resp_b", "")
    text = (export_json if scope == "path" else export_tree_json)(index, SERVER, "resp_c")
    document = json.loads(text)
    assert [e.get("title") for e in document["responses"]] == ["Trip", None, None]
    assert [e.get("bookmark") for e in document["responses"]] == [None, "", "best"]
    fresh = Index.open(tmp_path / "fresh")
    try:
        import_export_file(fresh, document, profile="p")
        assert fresh.title(SERVER, "resp_a") == "Trip"
        assert fresh.labels(SERVER) == [((SERVER, "resp_b"), ""), ((SERVER, "resp_c"), "best")]
    finally:
        fresh.close()
    markdown = export_markdown(index, SERVER, "resp_c")
    assert markdown.startswith("# Trip\n\n# Conversation resp_a → resp_c\n")
    assert "· ★ best" in markdown


def test_an_export_without_names_reads_as_before_and_bad_names_are_refused(index):
    from tui.ops.export import export_json
    from tui.ops.importer import validate_export

    document = json.loads(export_json(index, SERVER, "resp_c"))
    assert all("title" not in e and "bookmark" not in e for e in document["responses"])
    document["responses"][0]["title"] = ["not text"]
    with pytest.raises(ValueError, match="response 1 of the export: its title is not text"):
        validate_export(document)
