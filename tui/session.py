"""One user's session: the profile in use, its client and server, the profiles to choose from
and the place the cursor had on each server. No Textual: the app and the CLI share it.

The profiles are the built-in ones plus those saved in the index's catalogue. A saved profile
that is unusable (edited by hand into a wrong shape) never breaks the others: it is left out
and named in `Catalog.unusable`, with what is wrong and the way out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tui.api.client import ResponsesClient
from tui.api.errors import ApiError
from tui.api.profiles import BUILTIN_PROFILES, Profile, profile_from_dict
from tui.local.server import OfflineBackend
from tui.ops.connect import make_client, server_id
from tui.paths import index_dir
from tui.text import one_line

Key = tuple[str, str]


class SessionError(Exception):
    """A switch that cannot happen, in one line for the user."""


@dataclass
class Catalog:
    saved: dict[str, Profile] = field(default_factory=dict)  # usable saved profiles
    unusable: dict[str, str] = field(default_factory=dict)  # label -> what is wrong

    @property
    def profiles(self) -> dict[str, Profile]:
        """Every profile to choose from: a saved one wins over a built-in of the same name."""
        return {**BUILTIN_PROFILES, **self.saved}


def catalog(index: Any) -> Catalog:
    """The saved profiles of `index` (an Index, or None for none)."""
    found = Catalog()
    if index is None:
        return found
    for n, doc in enumerate(index.profiles(), 1):
        try:
            profile = profile_from_dict(doc)
        except (ValueError, KeyError, TypeError) as error:
            name = doc.get("name") if isinstance(doc, Mapping) else None
            label = one_line(name, 40) if isinstance(name, str) and name.strip() else f"#{n}"
            found.unusable[label] = str(error)
            continue
        found.saved[profile.name] = profile
    return found


def unusable_text(label: str, reason: str) -> str:
    """What is wrong with an unusable saved profile, and the way out."""
    way_out = (
        f"fix it by hand in {index_dir() / 'catalog.json'}"
        if label.startswith("#")
        else f"fix it, or remove it with `responses-tui profiles remove {label}`"
    )
    return f"saved profile {label!r} is unusable: {one_line(reason, 200)} ({way_out})"


class Session:
    """The profile in use and its client; the place on each server."""

    def __init__(
        self,
        index: Any,
        profile: Profile,
        *,
        env: Mapping[str, str] | None = None,
        backend: OfflineBackend | None = None,
        client: ResponsesClient | None = None,
    ) -> None:
        self.index = index
        self.env = os.environ if env is None else env
        self.backend = backend
        self.profile = profile
        self.client = client or make_client(profile, self.env, backend=backend)
        self.places: dict[str, Key] = {}  # server -> the response the cursor was on

    @property
    def server(self) -> str:
        return server_id(self.profile)

    @property
    def default_model(self) -> str:
        """The model a new conversation is sent with ("?" when the profile names none)."""
        return self.profile.default_model or "?"

    def profiles(self) -> dict[str, Profile]:
        return catalog(self.index).profiles

    def server_names(self) -> dict[str, str]:
        """Each server in the catalogue, with the names of the profiles that point at it."""
        names: dict[str, list[str]] = {}
        for name, profile in self.profiles().items():
            names.setdefault(server_id(profile), []).append(name)
        return {server: ", ".join(found) for server, found in names.items()}

    def elsewhere(self) -> list[tuple[str, int]]:
        """The other servers the index holds responses of, by the names of their profiles
        (the server's address where no profile names it), most responses first."""
        names = self.server_names()
        others = [(s, n) for s, n in self.index.counts().items() if s != self.server]
        others.sort(key=lambda pair: (-pair[1], pair[0]))
        return [(names.get(server) or server, count) for server, count in others]

    def profile_for(self, server: str) -> str | None:
        """The name of a profile that talks to `server` (the one in use first)."""
        if server == self.server:
            return self.profile.name
        for name, profile in self.profiles().items():
            if server_id(profile) == server:
                return name
        return None

    def remember(self, key: Key | None) -> None:
        if key is not None:
            self.places[key[0]] = key

    def place(self) -> Key | None:
        """Where the cursor was when this server was last left, if it still exists."""
        key = self.places.get(self.server)
        return key if key is not None and self.index.get(*key) is not None else None

    def switch(self, name: str) -> ResponsesClient:
        """Talk to the profile `name` from now on. Returns the old client, for the caller to
        close (asynchronously). SessionError says why a switch cannot happen."""
        profile = self.profiles().get(name)
        if profile is None:
            raise SessionError(f"unknown profile {one_line(name, 40)!r}")
        variable = profile.api_key_env
        if variable and not self.env.get(variable, "").strip():
            # Advice that works from inside the app (the CLI's says --profile): the app
            # reads the environment once, when it starts.
            raise SessionError(
                f"the {profile.name} profile needs an API key and ${variable} is not set in "
                "the environment the app started with: quit, set it in the shell, start again"
            )
        try:
            client = make_client(profile, self.env, backend=self.backend if profile.local else None)
        except ApiError as error:
            raise SessionError(str(error)) from None
        old, self.client, self.profile = self.client, client, profile
        return old
