"""What the panes tell the App (Textual's rule: attributes down, messages up).

The forest pane (`tui.ui.forest_pane`) says where the cursor is and what the user chose; the
conversation pane (`tui.ui.conversation_pane`) says what a send created and how it ended. The
App, which composes them, keeps each in step with the other.
"""

from __future__ import annotations

from textual.message import Message

Key = tuple[str, str]


class TurnHighlighted(Message):
    """The forest's cursor is on the turn `key`."""

    def __init__(self, key: Key) -> None:
        super().__init__()
        self.key = key


class ReplyAsked(Message):
    """Enter on the turn `key`: write a reply to it."""

    def __init__(self, key: Key) -> None:
        super().__init__()
        self.key = key


class FullTextWanted(Message):
    """The filter would search every word of every turn: build the full-text index."""


class TurnStarted(Message):
    """The server created the turn `key` (a reply streaming in), recorded provisionally;
    `reveal`: the forest's cursor goes to it (a fan-out's first run only)."""

    def __init__(self, key: Key, *, reveal: bool = True) -> None:
        super().__init__()
        self.key = key
        self.reveal = reveal


class TurnEnded(Message):
    """A send ended; `key` is the turn it recorded (None: nothing was recorded). `fanned`:
    one run of a fan-out (the cursor stays where the user put it; nothing is prompted)."""

    def __init__(self, key: Key | None, *, cancelled: bool, fanned: bool = False) -> None:
        super().__init__()
        self.key = key
        self.cancelled = cancelled
        self.fanned = fanned


class AnchorLost(Message):
    """The server no longer has the turn `key` a send continued from (its label changes)."""

    def __init__(self, key: Key) -> None:
        super().__init__()
        self.key = key


class TranscriptLeft(Message):
    """esc in the transcript (scrolled into with the mouse or tab): back to the forest."""


class ComposerLeft(Message):
    """esc in the composer: back to the forest."""
