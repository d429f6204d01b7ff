"""Turn a profile into a working client, and name the server its responses live on."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tui.api.client import ResponsesClient
from tui.api.profiles import Profile
from tui.local.ids import IdFactory
from tui.local.server import OfflineBackend
from tui.local.storage import BackendStore
from tui.local.transport import OfflineTransport
from tui.paths import backend_dir


def server_id(profile: Profile) -> str:
    """The scope of a profile's response ids: its normalised base URL.

    Two profiles that point at the same server (say `fireworks` and a custom one with another
    account header) share ids, so they share one scope.
    """
    parts = urlsplit(profile.base_url.strip())
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))


def offline_backend(
    directory: Path | None = None, *, delta_delay: float = 0.0, seed: int | None = None
) -> OfflineBackend:
    """The built-in offline backend on its own storage (never the client index)."""
    store = BackendStore(backend_dir() if directory is None else directory)
    return OfflineBackend(store, IdFactory(seed), delta_delay=delta_delay)


def make_client(
    profile: Profile,
    env: Mapping[str, str] | None = None,
    *,
    backend: OfflineBackend | None = None,
) -> ResponsesClient:
    """A client for `profile` (its variables from `env`, else the process environment); the
    local profile talks to the offline backend in-process."""
    if profile.local:
        transport = OfflineTransport(backend or offline_backend())
        return ResponsesClient(profile, env=env, transport=transport)
    return ResponsesClient(profile, env=env)
