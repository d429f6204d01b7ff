"""The `[display] ascii = true` setting: the terminal gets ASCII stand-ins for the app's and
Textual's symbols (`tui.glyphs`), for fonts that lack them. Done where the screen is written,
so no widget needs to know: each stand-in is one cell, as its symbol is."""

from __future__ import annotations

from textual.driver import Driver

from tui.glyphs import to_ascii


def ascii_driver(base: type[Driver]) -> type[Driver]:
    """`base` (the driver Textual chose) writing ASCII stand-ins instead of symbols."""

    class AsciiDriver(base):  # type: ignore[misc, valid-type]
        def write(self, data: str) -> None:
            super().write(to_ascii(data))

    AsciiDriver.__name__ = f"Ascii{base.__name__}"
    return AsciiDriver
