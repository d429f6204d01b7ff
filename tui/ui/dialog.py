"""The base of every modal dialog: it fits any terminal down to 60x15.

A dialog's `#dialog` container is a `VerticalScroll`: when its content is taller than the
screen it scrolls as a whole, and focusing a field (Tab) scrolls that field into view. Its
`#buttons` row is docked at the bottom of the dialog (app.tcss), so the buttons stay visible
whatever is scrolled. The screen gets the classes `-narrow` (under 80 columns) and `-short`
(under 24 lines), with which app.tcss trims padding and stacks the buttons.
"""

from __future__ import annotations

from typing import ClassVar

from textual.screen import ModalScreen, ScreenResultType

NARROW = 80  # columns: below this the buttons are stacked, one per line
SHORT = 24  # lines: below this the dialog drops its vertical padding


class Dialog(ModalScreen[ScreenResultType]):
    """A modal screen laid out as a dialog (the `modal` class)."""

    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-narrow"),
        (NARROW, "-wide"),
    ]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-short"),
        (SHORT, "-tall"),
    ]

    def __init__(self, classes: str = "") -> None:
        super().__init__(classes=f"modal {classes}".strip())
