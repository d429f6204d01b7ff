"""tui.text, pinned value by value: what sanitize keeps and turns into what, where one_line
cuts, and which characters json_inert writes as escapes."""

from __future__ import annotations

import json

import pytest

from tui.text import json_inert, one_line, sanitize


def test_sanitize_is_single_line_unless_asked():
    assert sanitize("a\nb\tc\rd") == "a b c d"
    assert sanitize("a\nb\tc", multiline=True) == "a\nb    c"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\r\nb", "a\nb"),  # CRLF is one line break, not two
        ("a\rb", "a\nb"),  # a lone CR is a line break too
        ("a\r\r\nb", "a\n\nb"),
        ("a\n\nb", "a\n\nb"),
        ("\x1b[31ma\r\nb\x1b[0m", "a\nb"),
    ],
)
def test_multiline_line_breaks_become_plain_newlines(raw, expected):
    assert sanitize(raw, multiline=True) == expected


def test_sanitize_removes_escapes_without_leaving_anything_in_their_place():
    assert sanitize("x\x1b[2Jy") == "xy"
    assert sanitize("x\x1b[2Jy", multiline=True) == "xy"


@pytest.mark.parametrize(("value", "expected"), [(42, "42"), (None, "None"), (["a"], "['a']")])
def test_sanitize_of_a_non_string_is_its_str(value, expected):
    assert sanitize(value) == expected
    assert sanitize(value, multiline=True) == expected


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("hello", 5, "hello"),  # exactly the width: not cut
        ("hello", 6, "hello"),
        ("hello", 4, "hel…"),
        ("hello", 2, "h…"),
        ("hello", 1, "…"),  # only room for the mark
        ("a", 1, "a"),
        ("", 1, ""),
        ("hello", 0, ""),
        ("hello", -3, ""),
        ("", 0, ""),
        ("  a \n\t b  ", 10, "a b"),  # runs of blanks become one space, ends trimmed
        ("a\x1b[1mb\x1b[0m c", 3, "ab…"),
    ],
)
def test_one_line_cuts_at_the_width_with_an_ellipsis(text, width, expected):
    assert one_line(text, width) == expected
    assert len(one_line(text, width)) <= max(width, 0)


def test_one_line_of_a_non_string():
    assert one_line(12345, 3) == "12…"
    assert one_line(None, 10) == "None"


@pytest.mark.parametrize(
    ("char", "escape"),
    [
        ("\x7f", "\\u007f"),
        ("\x80", "\\u0080"),
        ("\x9b", "\\u009b"),
        ("\x9f", "\\u009f"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
        ("\u202e", "\\u202e"),
        ("\u2066", "\\u2066"),
        ("\u061c", "\\u061c"),
    ],
)
def test_json_inert_escapes_what_a_terminal_would_act_on(char, escape):
    document = json.dumps({"text": f"a{char}b"}, ensure_ascii=False)
    inert = json_inert(document)
    assert inert == '{"text": "a' + escape + 'b"}'
    assert json.loads(inert) == json.loads(document)  # the same document


def test_json_inert_leaves_ordinary_text_alone():
    document = '{"k": "héllo ✓ 日本語 \\n", "n": [1, 2]}'
    assert json_inert(document) == document
    assert json_inert("\xa0") == "\xa0"  # just past the C1 range


class _Tagged(str):
    """A str subclass whose str() is not its characters."""

    def __str__(self) -> str:
        return "tag"


def test_a_string_is_sanitized_by_its_characters_not_its_str():
    assert sanitize(_Tagged("done")) == "done"
    assert sanitize(_Tagged("done"), multiline=True) == "done"
