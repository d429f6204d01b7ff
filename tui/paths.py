"""Where responses-tui keeps its files.

`RESPONSES_TUI_HOME` wins (tests and several installs use it); otherwise the XDG data directory.
The settings file is in the XDG config directory (`RESPONSES_TUI_HOME` holds it too when set).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """The directory that holds the index and the offline backend's own storage."""
    env = os.environ if env is None else env
    if env.get("RESPONSES_TUI_HOME"):
        return Path(env["RESPONSES_TUI_HOME"]).expanduser()
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "responses-tui"


def index_dir(env: Mapping[str, str] | None = None) -> Path:
    return data_dir(env) / "index"


def backend_dir(env: Mapping[str, str] | None = None) -> Path:
    return data_dir(env) / "offline-backend"


def config_file(env: Mapping[str, str] | None = None) -> Path:
    """The user's settings (`config.toml`): key remaps and the like."""
    env = os.environ if env is None else env
    if env.get("RESPONSES_TUI_HOME"):
        return Path(env["RESPONSES_TUI_HOME"]).expanduser() / "config.toml"
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "responses-tui" / "config.toml"


def state_file(env: Mapping[str, str] | None = None) -> Path:
    """What the app remembers between runs (`state.json`): the last export folder."""
    return data_dir(env) / "state.json"


def default_export_dir(home: Path | None = None) -> Path:
    """Where an export goes before the user chose a folder: `~/Downloads` when it exists,
    else the home directory (never the current directory: it may be a repository)."""
    home = Path.home() if home is None else home
    downloads = home / "Downloads"
    return downloads if downloads.is_dir() else home
