"""Focus that takes effect before the next key.

Textual's `Widget.focus()` moves the focus once the keys already queued have been handled.
Over SSH keys arrive in bursts: after `/` the letters of the filter, after enter the words of
a reply, are queued already, and would go to the graph as commands (`i` imports, `d` deletes,
`r` regenerates). `focus_now` moves the focus at once, so they reach the box the key before
them opened.
"""

from __future__ import annotations

from textual.widget import Widget


def focus_now(widget: Widget) -> None:
    widget.screen.set_focus(widget)
