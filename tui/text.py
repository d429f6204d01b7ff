"""Make untrusted text (model output, server messages) safe to show in a terminal.

Model output is data, never instructions to the terminal: escape sequences (CSI, OSC such as
OSC 52 clipboard writes, DCS, APC, PM, SOS), C0/C1 control characters and bidirectional
overrides are removed. Rich markup needs no escaping here because callers render text with
`rich.text.Text` or `markup=False`; `sanitize` only deals with what a terminal would act on.
"""

from __future__ import annotations

import re

# ESC-introduced sequences: CSI (ESC [ ... final), OSC/DCS/APC/PM/SOS (ESC ] P _ ^ X ... ST|BEL),
# and two-character escapes (ESC + one char). Also the 8-bit C1 forms (0x9b CSI, 0x9d OSC, ...).
_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]?                     # CSI
  | \x9b[0-?]*[ -/]*[@-~]?                       # 8-bit CSI
  | (?:\x1b[\]P_^X]|[\x9d\x90\x9f\x9e\x98])      # OSC DCS APC PM SOS (7- or 8-bit)
    [^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?        #   ... up to BEL or ST (or end of text)
  | \x1b[ -/]*[0-~]?                             # other ESC sequences
    """,
    re.VERBOSE,
)
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_CONTROL_SINGLE = {c: None for c in range(0x20)} | {c: None for c in range(0x7F, 0xA0)}
_CONTROL_SINGLE |= {ord(c): None for c in _BIDI}
_CONTROL_MULTI = dict(_CONTROL_SINGLE)
del _CONTROL_MULTI[ord("\n")]
_CONTROL_MULTI[ord("\t")] = "    "
_CONTROL_SINGLE[ord("\t")] = " "
_CONTROL_SINGLE[ord("\n")] = " "
_CONTROL_SINGLE[ord("\r")] = " "


def sanitize(text: object, multiline: bool = False) -> str:
    """`text` without escape sequences or control characters.

    With `multiline`, newlines are kept (CRLF and lone CR become LF) and tabs become spaces;
    without it, newlines and tabs become single spaces.
    """
    value = text if isinstance(text, str) else str(text)
    value = _ESCAPES.sub("", value)
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        return value.translate(_CONTROL_MULTI)
    return value.translate(_CONTROL_SINGLE)


def one_line(text: object, width: int) -> str:
    """A sanitized single-line preview of at most `width` characters (with … when cut)."""
    flat = " ".join(sanitize(text).split())
    if width <= 0:
        return ""
    return flat if len(flat) <= width else flat[: max(0, width - 1)] + "…"


# Characters a JSON string may hold raw that a terminal acts on or reorders: DEL, the C1
# controls, bidi overrides and the Unicode line and paragraph separators.
_JSON_INERT = {
    c: f"\\u{c:04x}" for c in [0x7F, *range(0x80, 0xA0), 0x2028, 0x2029, *map(ord, _BIDI)]
}


def json_inert(text: str) -> str:
    """JSON text with those characters written as `\\uXXXX` escapes: the same document
    (they can only occur inside strings), safe to print to a terminal."""
    return text.translate(_JSON_INERT)
