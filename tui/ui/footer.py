"""The footer, fitted to the terminal: when its keys do not fit on the line, the less important
ones are left out (the rightmost first) and help and quit stay (tui/ui/keys.py
`FOOTER_ESSENTIAL`). Textual's own footer would cut the line at the right edge, where help
and quit are."""

from __future__ import annotations

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tui.ui.keys import FOOTER_ESSENTIAL


class FittingFooter(Footer):
    async def recompose(self) -> None:
        await super().recompose()
        self.call_after_refresh(self.fit)

    def on_resize(self) -> None:
        self.call_after_refresh(self.fit)

    def fit(self) -> None:
        """Show as many keys as fit, dropping the rightmost unessential ones first."""
        keys = [key for key in self.query(FooterKey) if not key.has_class("-command-palette")]
        if not keys:
            return
        # The palette key is docked at the right, with a border and padding (2 columns).
        palette = sum(
            max(key.outer_size.width, footer_width(key) + 2)
            for key in self.query(FooterKey)
            if key.has_class("-command-palette")
        )
        room = self.size.width - palette
        widths = {key: footer_width(key) for key in keys}
        shown = list(keys)
        order = sorted(range(len(keys)), key=lambda n: (keys[n].action in FOOTER_ESSENTIAL, -n))
        for n in order:
            if sum(widths[key] for key in shown) <= room:
                break
            shown.remove(keys[n])
        for key in keys:
            key.display = key in shown


def footer_width(key: FooterKey) -> int:
    """The columns a key takes in the footer: its text and its margins."""
    text = key.render()
    margin = key.styles.margin
    return text.cell_len + margin.left + margin.right
