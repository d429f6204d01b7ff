"""sanitize / one_line: untrusted text is never an instruction to the terminal."""

from __future__ import annotations

import pytest
from budget import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.text import one_line, sanitize

ESC = "\x1b"
BEL = "\x07"
ST = "\x1b\\"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x1b[31mred\x1b[0m", "red"),
        ("\x1b[1;38;5;196mbold\x1b[m plain", "bold plain"),
        ("\x1b[38;2;255;0;0mtrue\x1b[39m", "true"),
        ("a\x1b[2Jb\x1b[Hc", "abc"),  # clear screen, cursor home
        ("a\x1b[?1049hb", "ab"),  # alternate screen (private mode)
        ("x\x1b[", "x"),  # unterminated CSI at the end
        # OSC 52 clipboard writes, BEL- and ST-terminated
        ("before\x1b]52;c;ZXZpbCBjb21tYW5k\x07after", "beforeafter"),
        ("before\x1b]52;c;ZXZpbCBjb21tYW5k\x1b\\after", "beforeafter"),
        ("x\x1b]52;c;ZXZpbA==", "x"),  # unterminated: swallowed to the end
        # OSC 0/2 window title
        ("\x1b]0;pwned title\x07text", "text"),
        # OSC 8 hyperlinks: the link text stays, the URL goes
        ("\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\", "click"),
        ("\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07", "click"),
        # DCS, APC, PM, SOS
        ("a\x1bP1$r0m\x1b\\b", "ab"),
        ("a\x1b_apc payload\x1b\\b", "ab"),
        ("a\x1b^pm payload\x1b\\b", "ab"),
        ("a\x1bXsos payload\x1b\\b", "ab"),
        # 8-bit C1 forms
        ("a\x9b31mb", "ab"),
        ("a\x9d52;c;ZXZpbA==\x9cb", "ab"),
        ("a\x9d0;title\x07b", "ab"),
        ("a\x90dcs\x9cb", "ab"),
        ("a\x85b\x8dc", "abc"),  # NEL, RI
        # bare ESC and two-character escapes
        ("a\x1bb", "a"),  # ESC b is a two-character escape: both go
        ("a\x1b", "a"),
        ("a\x1bcb", "ab"),  # RIS (full reset)
        ("a\x1b7b\x1b8c", "abc"),  # save / restore cursor
        ("a\x1b(0b", "ab"),  # charset designation (line drawing)
        # C0 controls and DEL
        ("a\x00b\x07c\x08d\x0be\x0cf\x7fg", "abcdefg"),
        ("\x01\x02\x03\x1a\x1c\x1d\x1e\x1f", ""),
        # bidi overrides and isolates
        ("abc\u202edcba", "abcdcba"),
        ("\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061cx", "x"),
        # ordinary text, including non-ASCII, is untouched
        ("héllo wörld ✓ 日本語 🙂", "héllo wörld ✓ 日本語 🙂"),
    ],
)
def test_sanitize_removes_escapes_and_controls(raw, expected):
    assert sanitize(raw) == expected
    assert sanitize(raw, multiline=True) == expected


@pytest.mark.parametrize("markup", ["[bold]x[/]", "[red]danger[/red]", "[link=http://e]y[/link]"])
def test_rich_markup_is_left_as_literal_text(markup):
    assert sanitize(markup) == markup
    assert sanitize(markup, multiline=True) == markup
    assert one_line(markup, 100) == markup


def test_single_line_turns_newlines_and_tabs_into_spaces():
    assert sanitize("a\nb\tc") == "a b c"
    assert one_line("a\r\nb", 10) == "a b"


def test_single_line_lone_cr_separates_words_like_a_newline():
    """Multiline treats a lone CR as a line break; single-line must not glue the lines."""
    assert sanitize("line1\rline2", multiline=True) == "line1\nline2"
    assert one_line("line1\rline2", 40) == "line1 line2"


def test_multiline_keeps_newlines_normalises_cr_and_expands_tabs():
    assert sanitize("a\nb", multiline=True) == "a\nb"
    assert sanitize("a\r\nb\rc", multiline=True) == "a\nb\nc"
    assert sanitize("a\r\r\nb", multiline=True) == "a\n\nb"
    assert sanitize("\tx", multiline=True) == "    x"
    assert "\t" not in sanitize("a\tb\tc", multiline=True)
    assert sanitize("line1\x1b[31m\nline2\x07", multiline=True) == "line1\nline2"


def test_non_string_input_is_stringified():
    assert sanitize(42) == "42"
    assert sanitize(None) == "None"
    assert one_line(["a", "b"], 20) == "['a', 'b']"


def test_one_line_collapses_whitespace():
    assert one_line("  hello \n\n  world\t\tagain  ", 100) == "hello world again"
    assert one_line("a\x1b[31m \x1b[0m b", 100) == "a b"
    assert one_line("", 10) == ""


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("abcdef", 6, "abcdef"),
        ("abcdefg", 6, "abcde…"),
        ("abcdef", 1, "…"),
        ("abcdef", 0, ""),
        ("abcdef", -3, ""),
        ("ab", 2, "ab"),
        ("a b c d e", 5, "a b …"),
    ],
)
def test_one_line_truncates_with_ellipsis(text, width, expected):
    assert one_line(text, width) == expected


def test_one_line_width_counts_after_sanitizing():
    # The escape sequence does not count towards the width.
    assert one_line("\x1b[31m" + "x" * 10 + "\x1b[0m", 10) == "x" * 10


def forbidden(char: str, multiline: bool) -> bool:
    code = ord(char)
    if char == "\n" and multiline:
        return False
    return code < 0x20 or 0x7F <= code <= 0x9F


# Text rich in the characters that matter, plus arbitrary unicode.
interesting = st.text(
    alphabet=st.one_of(
        st.sampled_from(
            [
                *"\x1b\x9b\x9d\x90\x9c\x9e\x9f\x98\x07\\[]();:?0123456789mPX_^c \n\r\t\x7f",
                *("\u202e", "\u2066", "\u200f", "é", "🙂"),
            ]
        ),
        st.characters(codec="utf-8"),
        st.characters(min_codepoint=0, max_codepoint=0xA0),
    ),
    max_size=80,
)


@settings(max_examples=examples(500), deadline=None)
@given(interesting, st.booleans())
def test_property_sanitize_output_is_safe_and_idempotent(text, multiline):
    out = sanitize(text, multiline=multiline)
    assert ESC not in out
    assert not [c for c in out if forbidden(c, multiline)], repr(out)
    assert "\u202e" not in out
    assert sanitize(out, multiline=multiline) == out
    if not multiline:
        assert "\n" not in out


@settings(max_examples=examples(300), deadline=None)
@given(interesting, st.integers(min_value=0, max_value=40))
def test_property_one_line_fits_width(text, width):
    out = one_line(text, width)
    assert len(out) <= width
    assert "\n" not in out and ESC not in out
    assert out == out.strip()
    assert "  " not in out
    assert one_line(out, width) == out
