"""Every action in the command palette (ctrl+p), with its key in force (tui/ui/keys.py)."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.ui.keys import palette_entries


class ActionCommands(Provider):
    def _entries(self) -> list[tuple[str, str, str]]:
        return palette_entries(getattr(self.app, "keymap", {}))

    async def discover(self) -> Hits:
        for title, key, action in self._entries():
            yield DiscoveryHit(f"{title}  ({key})", partial(self._run, action), help=key)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, key, action in self._entries():
            label = f"{title}  ({key})"
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), partial(self._run, action), help=key)

    async def _run(self, action: str) -> None:
        await self.app.run_action(action)
