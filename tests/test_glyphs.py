"""Issue 14, point 10: every symbol the app draws exists in common terminal fonts, and
`[display] ascii = true` replaces them all with one-cell ASCII stand-ins."""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

from rich.cells import cell_len

from tui import config
from tui.glyphs import APP_SYMBOLS, ASCII_STAND_INS, FORK, TEXTUAL_SYMBOLS, to_ascii
from tui.ui.ascii_driver import ascii_driver

ROOT = Path(__file__).resolve().parent.parent
# Modules whose strings reach the terminal (the UI, and what the CLI prints).
DRAWN = [
    *sorted((ROOT / "tui" / "ui").glob("*.py")),
    ROOT / "tui" / "turn_meta.py",
    ROOT / "tui" / "compare.py",
    ROOT / "tui" / "cost.py",
    ROOT / "tui" / "graph.py",
    ROOT / "tui" / "ops" / "listing.py",
]


def drawn_symbols() -> set[str]:
    """Every non-ASCII character in the string constants of those modules (docstrings left
    out: they are never drawn)."""
    found: set[str] = set()
    for path in DRAWN:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            string = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if string and id(node) not in docstrings:
                found |= {c for c in node.value if ord(c) > 127}
    return found


def test_every_symbol_the_app_draws_has_a_one_cell_ascii_stand_in():
    drawn = drawn_symbols() | {FORK}  # (written through its constant)
    assert "●" in drawn
    missing = sorted(drawn - set(APP_SYMBOLS))
    assert missing == []  # a new symbol: check its font coverage, then give it a stand-in
    for symbol, stand_in in ASCII_STAND_INS.items():
        assert len(stand_in) == 1 and stand_in.isascii() and stand_in.isprintable()
        assert cell_len(symbol) == 1, symbol  # the same width: nothing moves


def test_the_symbols_that_showed_as_empty_boxes_are_gone():
    # DejaVu Sans Mono (the usual fallback of Linux terminals) has no U+2442, U+23F3, U+23F8.
    assert not {"\u2442", "\u23f3", "\u23f8"} & (drawn_symbols() | set(ASCII_STAND_INS))


def test_the_app_symbols_are_in_dejavu_sans_mono_where_the_font_is_installed():
    # The list was checked with fc-list; where fontconfig and the font are here, check again.
    fc_list = shutil.which("fc-list")
    fonts = (
        subprocess.run([fc_list, "DejaVu Sans Mono"], capture_output=True, text=True).stdout
        if fc_list
        else ""
    )
    if not fonts.strip():
        assert FORK == "Ψ"  # no font to ask: the checked choice stands
        return
    for symbol in APP_SYMBOLS:
        query = subprocess.run(
            [fc_list, f":charset={ord(symbol):x}", "family"], capture_output=True, text=True
        )
        assert "DejaVu Sans Mono" in query.stdout, f"{symbol!r} U+{ord(symbol):04X}"


def test_to_ascii_replaces_symbols_and_keeps_everything_else():
    line = "\x1b[1m● weather Ψ2 · ⚙ · 3y\x1b[0m ▕▔▔ ü 漢"
    assert to_ascii(line) == "\x1b[1m* weather Y2 . % . 3y\x1b[0m |-- ü 漢"
    assert set(TEXTUAL_SYMBOLS) & set(APP_SYMBOLS) <= {"─", "│", "├", "└"}
    from textual.widgets import Markdown

    assert all(bullet.strip() in TEXTUAL_SYMBOLS for bullet in Markdown.BULLETS)


def test_the_ascii_driver_writes_stand_ins(tmp_path):
    written: list[str] = []

    class Capture:
        def __init__(self, *args, **kwargs) -> None:
            pass

        def write(self, data: str) -> None:
            written.append(data)

    driver = ascii_driver(Capture)()  # type: ignore[arg-type]
    driver.write("▾ ● Ψ3 ┊ ★ ✗ • ◦")
    assert written == ["v * Y3 : * x * o"]


def test_the_setting_is_read_from_the_display_table(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[display]\nascii = true\n")
    assert config.load(path, []).ascii is True
    path.write_text("[display]\nascii = 'yes'\n")
    loaded = config.load(path, [])
    assert loaded.ascii is False
    assert loaded.problems == ["config.toml: [display] ascii must be true or false"]
    path.write_text("[keys]\n")
    assert config.load(path, []).ascii is False


async def test_the_app_uses_the_ascii_driver_when_asked(tmp_path, monkeypatch):
    from ui_helpers import build

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("RESPONSES_TUI_HOME", str(home))
    (home / "config.toml").write_text("[display]\nascii = true\n")
    app, index, _ = build(tmp_path)
    assert app.driver_class.__name__.startswith("Ascii")
    index.close()
