"""Every action in the command palette (ctrl+p), with its key in force (tui/ui/keys.py)."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.ui.keys import PaletteEntry, palette_entries


class ActionCommands(Provider):
    def _entries(self) -> list[PaletteEntry]:
        return palette_entries(getattr(self.app, "keymap", {}))

    async def discover(self) -> Hits:
        for entry in self._entries():
            yield DiscoveryHit(
                f"{entry.title}  ({entry.keys})", partial(self._run, entry), help=entry.keys
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry in self._entries():
            label = f"{entry.title}  ({entry.keys})"
            score = matcher.match(label)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(label), partial(self._run, entry), help=entry.keys
                )

    async def _run(self, entry: PaletteEntry) -> None:
        # The forest's own actions (move, fold, siblings) run on its graph, the rest on the App.
        forest = getattr(self.app, "forest_view", None) if entry.on_forest else None
        await self.app.run_action(entry.action, forest)
