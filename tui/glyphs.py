"""The symbols the app draws beyond ASCII, and the one ASCII character that stands in for each
when a terminal's font lacks them (`ascii = true` under `[display]` in config.toml: the app
then writes these stand-ins to the terminal instead; see `tui.ui.ascii_driver`).

Every symbol of the app's own is in DejaVu Sans Mono, the usual fallback font of Linux
terminals (checked with `fc-list ":charset=HEX"` for each; U+2442 `⑂`, U+23F3 `⏳` and U+23F8
`⏸`, used before, are not in it and showed as empty boxes). Textual's own box and block
characters are listed too, so the stand-in screen is ASCII throughout. Each stand-in is one
cell wide, as the symbol is: nothing on screen moves.
"""

from __future__ import annotations

FORK = "Ψ"  # a turn with several replies: `Ψ3`, "Ψ 3 branches continue from here"

# The app's own symbols (what the code writes), with their stand-ins.
APP_SYMBOLS: dict[str, str] = {
    "·": ".",  # separator
    "…": "~",  # cut short; incomplete
    "—": "-",
    "“": '"',
    "”": '"',
    "→": ">",
    "↓": "v",
    "↑": "^",
    "↳": ">",  # what the next message replies to
    "‹": "<",  # place among siblings: ‹ 2/3 ›
    "›": ">",
    "★": "*",  # a bookmark
    "⇔": "=",  # the turn marked for a branch comparison (+, =)
    "✗": "x",  # deleted, failed
    "⚙": "%",  # tools
    "ƒ": "f",  # a function call
    "●": "*",  # a turn (the forest); a reply streaming in (the transcript)
    "○": "o",  # a radio button not chosen (● chosen)
    FORK: "Y",
    "◌": "o",  # not stored
    "◔": "~",  # in progress
    "‖": "=",  # queued
    "⊘": "/",  # cancelled
    "↥": "^",  # parent unknown
    "✚": "+",  # new conversation
    "✎": "e",  # editing
    "⚠": "!",
    "▾": "v",  # the first turn of an open conversation
    "▸": ">",  # closed: l opens it
    "┊": ":",  # a folded run
    "≥": ">",  # a cost that is a lower bound: ≥ $0.0123 (tui/cost.py)
    "≈": "~",  # an estimate: ≈ 12,345 input tokens billed
    "│": "|",  # graph rails
    "├": "+",
    "└": "`",
    "─": "-",
}

# Textual's characters (borders, scrollbars, buttons, collapsibles, checkboxes, tabs).
TEXTUAL_SYMBOLS: dict[str, str] = {
    "┌": "+", "┐": "+", "┘": "+", "┤": "+", "┬": "+", "┴": "+", "┼": "+",
    "╭": "+", "╮": "+", "╯": "+", "╰": "+",
    "━": "-", "┃": "|", "═": "=", "║": "|", "╔": "+", "╗": "+", "╚": "+", "╝": "+",
    "╸": "-", "╺": "-", "╹": "|", "╻": "|", "╴": "-", "╶": "-", "╵": "|", "╷": "|",
    "▁": "_", "▂": "_", "▃": "_", "▄": "_", "▅": "#", "▆": "#", "▇": "#", "█": "#",
    "▀": "-", "▔": "-", "▏": "|", "▕": "|", "▎": "|", "▍": "|", "▌": "|", "▋": "|",
    "▊": "|", "▉": "#", "▐": "|", "▶": ">", "▼": "v", "▲": "^", "◀": "<", "❯": ">",
    "✓": "v", "✔": "v", "◉": "*", "⏎": "<",
    "•": "*", "▪": "*", "‣": ">", "⭑": "*", "◦": "o",  # Markdown's list bullets
}  # fmt: skip

ASCII_STAND_INS: dict[str, str] = {**TEXTUAL_SYMBOLS, **APP_SYMBOLS}
_TABLE = str.maketrans(ASCII_STAND_INS)


def to_ascii(text: str) -> str:
    """`text` with every known symbol replaced by its one-character stand-in."""
    return text.translate(_TABLE)
