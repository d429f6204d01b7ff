"""Issue 14, point 9: enter sends or adds a line (a setting: config.toml and the palette),
ctrl+e edits the message in $EDITOR, and y on an answer with code blocks copies one block."""

from __future__ import annotations

import contextlib
import stat
from pathlib import Path

import pytest
from ui_helpers import build, goto, key_of, settle

from tui import config
from tui.api import items
from tui.ui.copy_picker import CopyPicker, code_blocks
from tui.ui.keys import palette_entries, remappable_ids

SIZE = (120, 40)
TAIL = "Show a tiny example"


async def open_composer(pilot, app, index) -> None:
    await goto(pilot, app, key_of(index, TAIL))
    await pilot.press("enter")
    await settle(pilot, app)
    assert app.focused is app.composer.input


# ------------------------------------------------------------------ the setting


def test_the_config_file_sets_enter_sends(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[composer]\nenter_sends = true\n[keys]\ndelete = "x"\n')
    settings = config.load(path, remappable_ids())
    assert settings.enter_sends is True and settings.keymap == {"delete": "x"}
    assert not settings.problems
    path.write_text('[composer]\nenter_sends = "yes"\nsends = 1\n')
    settings = config.load(path, remappable_ids())
    assert settings.enter_sends is False
    assert settings.problems == [
        "config.toml: [composer] has no setting named 'sends'",
        "config.toml: [composer] enter_sends must be true or false",
    ]
    assert config.load(tmp_path / "none.toml", []).enter_sends is False


def test_saving_the_setting_keeps_the_rest_of_the_file(tmp_path):
    path = tmp_path / "config.toml"
    assert config.save_enter_sends(path, True) is None  # no file yet
    assert config.load(path, []).enter_sends is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text('# mine\n[keys]\ndelete = "x"   # kept\n')
    assert config.save_enter_sends(path, True) is None
    assert config.save_enter_sends(path, False) is None
    text = path.read_text()
    assert text.startswith('# mine\n[keys]\ndelete = "x"   # kept\n')
    assert config.load(path, ["delete"]).enter_sends is False
    path.write_text('[composer] # here\nenter_sends = false\n[keys]\ndelete = "x"\n')
    assert config.save_enter_sends(path, True) is None
    assert path.read_text() == '[composer] # here\nenter_sends = true\n[keys]\ndelete = "x"\n'
    path.write_text("not = = toml")
    assert "not valid TOML" in (config.save_enter_sends(path, True) or "")
    assert path.read_text() == "not = = toml"  # never touched


async def test_by_default_enter_adds_a_line_and_ctrl_j_sends(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_composer(pilot, app, index)
        count = len(index)
        await pilot.press("a", "enter", "b")
        await settle(pilot, app)
        assert app.composer.text == "a\nb" and len(index) == count
        await pilot.press("ctrl+j")
        await settle(pilot, app)
        assert len(index) == count + 1
        assert index.get(*app.current).input_preview.startswith("a")
        assert app.composer.text == ""
        await pilot.press("c", "enter", "d", "shift+enter")  # shift+enter sends too
        await settle(pilot, app)
        assert len(index) == count + 2 and app.composer.text == ""
    index.close()


async def test_with_enter_sends_enter_sends_and_ctrl_j_adds_a_line(tmp_path, isolated_env):
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text("[composer]\nenter_sends = true\n")
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_composer(pilot, app, index)
        assert "enter sends" in app.composer.input.placeholder
        count = len(index)
        await pilot.press("a", "ctrl+j", "b")
        await settle(pilot, app)
        assert app.composer.text == "a\nb" and len(index) == count
        await pilot.press("enter")
        await settle(pilot, app)
        assert len(index) == count + 1 and app.composer.text == ""
        await pilot.press("c", "shift+enter", "d")  # shift+enter adds a line too
        await settle(pilot, app)
        assert app.composer.text == "c\nd" and len(index) == count + 1
    index.close()


async def test_the_palette_switches_it_and_the_file_keeps_it(tmp_path, isolated_env):
    assert any(e.action == "toggle_enter_sends" for e in palette_entries({}))
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_composer(pilot, app, index)
        count = len(index)
        await app.run_action("toggle_enter_sends")
        await pilot.press("h", "i", "enter")
        await settle(pilot, app)
        assert len(index) == count + 1  # enter sent it
        assert config.load(isolated_env / "config.toml", []).enter_sends is True
        await app.run_action("toggle_enter_sends")
        await pilot.press("enter")
        await pilot.press("h", "enter", "i")
        await settle(pilot, app)
        assert app.composer.text.endswith("h\ni") and len(index) == count + 1
        assert config.load(isolated_env / "config.toml", []).enter_sends is False
    index.close()


# ------------------------------------------------------------------ ctrl+e: $EDITOR


@pytest.fixture
def fake_editor(tmp_path: Path, monkeypatch) -> Path:
    """An $EDITOR that records what it was given and writes a new message."""
    seen = tmp_path / "seen.txt"
    script = tmp_path / "editor.sh"
    script.write_text(
        f'#!/bin/sh\ncp "$1" {seen}\nprintf "written in the editor\\nline two\\n" > "$1"\n'
    )
    script.chmod(0o700)
    monkeypatch.setenv("EDITOR", str(script))
    return seen


async def test_ctrl_e_edits_the_message_in_the_editor(tmp_path, fake_editor):
    app, index, _ = build(tmp_path)
    suspended = []

    @contextlib.contextmanager
    def suspend():
        suspended.append(True)
        yield

    app.suspend = suspend  # the headless driver cannot give up a terminal
    async with app.run_test(size=SIZE) as pilot:
        await open_composer(pilot, app, index)
        count = len(index)
        await pilot.press("d", "r", "a", "f", "t")
        await pilot.press("ctrl+e")
        await settle(pilot, app)
        assert suspended == [True]
        assert fake_editor.read_text() == "draft"  # the editor got the message
        assert app.composer.text == "written in the editor\nline two"
        assert len(index) == count  # not sent: that is the user's call
        assert app.focused is app.composer.input
    index.close()


async def test_ctrl_e_without_an_editor_says_how_to_set_one(tmp_path, monkeypatch):
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_composer(pilot, app, index)
        await pilot.press("x", "ctrl+e")
        await settle(pilot, app)
        assert app.composer.text == "x"
        assert any("Set $EDITOR" in str(n.message) for n in app._notifications)
    index.close()


# ------------------------------------------------------------------ y: copy one code block

ANSWER = """Two ways:

```python
print("one")
```

and

~~~sh
echo two
echo three
~~~
"""


def test_code_blocks_are_found():
    assert code_blocks(ANSWER) == [("python", 'print("one")'), ("sh", "echo two\necho three")]
    assert code_blocks("no code") == []
    assert code_blocks("```\nunclosed\n") == [("", "unclosed")]
    assert code_blocks("````md\n```\ninner\n```\n````") == [("md", "```\ninner\n```")]


async def test_y_on_an_answer_with_code_blocks_offers_one_block(tmp_path, monkeypatch):
    monkeypatch.setattr(items, "response_text", lambda _response: ANSWER)
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await goto(pilot, app, key_of(index, TAIL))
        await pilot.press("y")
        await settle(pilot, app)
        assert isinstance(app.screen, CopyPicker)
        await pilot.press("down", "enter")  # the first block is highlighted: the second
        await settle(pilot, app)
        assert not isinstance(app.screen, CopyPicker)
        assert app.clipboard == "echo two\necho three"
        await pilot.press("y")
        await settle(pilot, app)
        await pilot.press("up", "enter")  # the whole answer
        await settle(pilot, app)
        assert app.clipboard == ANSWER
        app.copy_to_clipboard("")
        await pilot.press("y", "y")  # y y: the whole answer
        await settle(pilot, app)
        assert app.clipboard == ANSWER
        app.copy_to_clipboard("")
        await pilot.press("y")
        await settle(pilot, app)
        await pilot.press("escape")
        await settle(pilot, app)
        assert app.clipboard == "" and not isinstance(app.screen, CopyPicker)
    index.close()


async def test_y_on_an_answer_without_code_copies_it_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(items, "response_text", lambda _response: "plain words")
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await goto(pilot, app, key_of(index, TAIL))
        await pilot.press("y")
        await settle(pilot, app)
        assert not isinstance(app.screen, CopyPicker) and app.clipboard == "plain words"
    index.close()
