"""Every action in the command palette (ctrl+p), with its key."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

ACTIONS: list[tuple[str, str, str]] = [
    ("Reply from the highlighted response", "enter", "reply"),
    ("New conversation", "n", "new_conversation"),
    ("Edit this turn and send as a sibling", "e", "edit"),
    ("Regenerate this turn", "r", "regenerate"),
    ("Cancel the running reply", "esc", "cancel_stream"),
    ("Delete this response", "d", "delete"),
    ("Delete this subtree", "D", "delete_subtree"),
    ("Delete the whole conversation", "ctrl+d", "delete_conversation"),
    ("Copy the answer text", "y", "copy_answer"),
    ("Copy the response id", "Y", "copy_id"),
    ("Copy the path as Markdown", "c", "copy_path"),
    ("Filter the forest", "/", "filter"),
    ("Search every turn (full text)", "ctrl+f", "search"),
    ("Import responses by id", "i", "import_ids"),
    ("Sync with the server", "ctrl+r", "sync"),
    ("Export this path or conversation", "x", "export"),
    ("Switch profile (server)", "palette", "switch_profile"),
    ("Show every server in the index / only this one", "palette", "toggle_servers"),
    ("Tool presets: add, edit, duplicate, delete", "t", "tools"),
    ("Pick tools for the next message", "T / ctrl+t", "pick_tools"),
    ("Answer a pending approval or function call", "a", "answer"),
    ("Go to parent response", "p", "parent"),
    ("Previous sibling branch", "[", "prev_sibling"),
    ("Next sibling branch", "]", "next_sibling"),
    ("First line", "g", "first"),
    ("Last line", "G", "last"),
    ("Help: all keys", "?", "help"),
    ("Quit", "q", "quit"),
]


class ActionCommands(Provider):
    async def discover(self) -> Hits:
        for title, key, action in ACTIONS:
            yield DiscoveryHit(f"{title}  ({key})", partial(self._run, action), help=key)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, key, action in ACTIONS:
            label = f"{title}  ({key})"
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), partial(self._run, action), help=key)

    async def _run(self, action: str) -> None:
        await self.app.run_action(action)
