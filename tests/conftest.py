"""Test isolation: no test sees the user's keys, profile choice or data directory."""

from __future__ import annotations

import os

import pytest

# Read when textual is imported or an App is created: clear them before textual loads.
for _var in ("NO_COLOR", "TEXTUAL_THEME"):
    os.environ.pop(_var, None)

_SCRUBBED = (
    "FIREWORKS_API_KEY",
    "FIREWORKS_ACCOUNT_ID",
    "OPENAI_API_KEY",
    "RESPONSES_TUI_PROFILE",
    "XDG_DATA_HOME",
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Every test gets its own data directory and a clean environment."""
    for var in _SCRUBBED:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "rtui-home"
    monkeypatch.setenv("RESPONSES_TUI_HOME", str(home))
    return home
