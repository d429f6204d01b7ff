"""Connection profiles: where to send requests, which environment variable holds the key.

A profile never holds the key itself, only the name of the variable, so saving a profile can
never write a secret. Header values may reference variables as `${NAME}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tui.api.errors import MissingApiKey

LOCAL_BASE_URL = "http://offline.invalid/v1"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_HEADERS = {"authorization", "x-api-key", "api-key", "proxy-authorization", "cookie"}
# What an HTTP header value may hold (visible ASCII, space, tab): anything else (non-ASCII,
# CR/LF, NUL) cannot be sent, or would split the header.
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")
# Control and format characters (C0, DEL, C1, bidi and zero-width marks): never in a name or URL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


class UnsendableValue(MissingApiKey):
    """A key or header value holds a character that cannot go in an HTTP header: nothing was
    sent. The message names the variable, never the value."""


def _sendable(value: str, where: str) -> str:
    if not _HEADER_VALUE.fullmatch(value):
        raise UnsendableValue(
            f"{where} holds a character that cannot be sent in an HTTP header "
            "(non-ASCII, a line break or another control character): check its value"
        )
    return value


@dataclass(frozen=True)
class Profile:
    name: str
    base_url: str
    api_key_env: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    default_model: str = ""
    # Header -> variable: sent only when the variable is set (e.g. Fireworks' account header).
    optional_env_headers: dict[str, str] = field(default_factory=dict)

    @property
    def local(self) -> bool:
        return self.base_url == LOCAL_BASE_URL

    def api_key(self, env: Mapping[str, str]) -> str | None:
        """The key from its variable; MissingApiKey when the profile needs one and it is unset."""
        if not self.api_key_env:
            return None
        key = env.get(self.api_key_env, "").strip()
        if not key:
            raise MissingApiKey(
                f"the {self.name} profile needs an API key: set {self.api_key_env} "
                f"(or choose another profile with --profile; `local` needs none)"
            )
        return _sendable(key, f"the API key in ${self.api_key_env}")

    def resolved_headers(self, env: Mapping[str, str]) -> dict[str, str]:
        """Extra headers with `${VAR}` references filled in from the environment."""
        out: dict[str, str] = {}
        for name, value in self.headers.items():
            missing = [v for v in _ENV_REF.findall(value) if not env.get(v)]
            if missing:
                raise MissingApiKey(
                    f"header {name!r} of the {self.name} profile needs ${missing[0]}, "
                    "which is not set"
                )
            for var in _ENV_REF.findall(value):
                _sendable(env[var], f"${var} (header {name!r} of the {self.name} profile)")
            out[name] = _sendable(
                _ENV_REF.sub(lambda m: env[m.group(1)], value),
                f"header {name!r} of the {self.name} profile",
            )
        for name, var in self.optional_env_headers.items():
            if env.get(var):
                out[name] = _sendable(env[var], f"${var} (header {name!r})")
        return out

    def secrets(self, env: Mapping[str, str]) -> list[str]:
        """Every value that must never be shown: the key and env-filled header values."""
        found = []
        if self.api_key_env and env.get(self.api_key_env):
            found.append(env[self.api_key_env])
        for value in self.headers.values():
            found.extend(env[v] for v in _ENV_REF.findall(value) if env.get(v))
            if not _ENV_REF.search(value) and len(value) >= 8:
                found.append(value)
        return found


BUILTIN_PROFILES: dict[str, Profile] = {
    "fireworks": Profile(
        name="fireworks",
        base_url="https://api.fireworks.ai/inference/v1",
        api_key_env="FIREWORKS_API_KEY",
        default_model="accounts/fireworks/models/qwen3-235b-a22b",
        optional_env_headers={"x-fireworks-account-id": "FIREWORKS_ACCOUNT_ID"},
    ),
    "openai": Profile(
        name="openai",
        base_url="https://api.openai.com/v1",
        api_key_env="OPENAI_API_KEY",
        default_model="gpt-4.1-mini",
    ),
    "local": Profile(name="local", base_url=LOCAL_BASE_URL, default_model="offline-echo"),
}


def default_profile_name(env: Mapping[str, str]) -> str:
    """$RESPONSES_TUI_PROFILE, else fireworks when its key is set, else the offline backend."""
    chosen = env.get("RESPONSES_TUI_PROFILE", "").strip()
    if chosen:
        return chosen
    return "fireworks" if env.get("FIREWORKS_API_KEY", "").strip() else "local"


def resolve_profile(
    name: str, env: Mapping[str, str], custom: Mapping[str, Profile] | None = None
) -> Profile:
    custom = custom or {}
    if name in custom:
        return custom[name]
    if name in BUILTIN_PROFILES:
        return BUILTIN_PROFILES[name]
    known = ", ".join([*BUILTIN_PROFILES, *sorted(custom)])
    raise ValueError(f"unknown profile {name!r} (known: {known})")


def validate_profile_name(name: str) -> str:
    """The name without surrounding blanks; ValueError when it is empty or holds a control
    character (a name is printed in lists, titles and messages)."""
    text = (name or "").strip()
    if not text:
        raise ValueError("a profile needs a name")
    if _CONTROL.search(text):
        raise ValueError(f"bad profile name {text!r}: control characters are not allowed")
    return text


def validate_variable_name(name: str | None) -> str | None:
    """An environment variable's name (letters, digits, _; not starting with a digit)."""
    if name is None:
        return None
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"bad variable name {name!r}: use letters, digits and _ (e.g. LAB_KEY)")
    return name


def validate_base_url(url: str) -> str:
    """The URL without a trailing slash; ValueError with the reason when it is not usable."""
    text = (url or "").strip()
    if _CONTROL.search(text):
        # urlsplit would silently drop tabs and line breaks, and keep the rest in the host.
        raise ValueError(f"bad base URL {text!r}: control characters are not allowed")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"bad base URL {text!r}: it must start with http:// or https://")
    if not parts.hostname or " " in text:
        raise ValueError(f"bad base URL {text!r}: no host name")
    if parts.query or parts.fragment:
        raise ValueError(f"bad base URL {text!r}: no query or fragment allowed")
    try:
        parts.port  # noqa: B018 (validates the port)
    except ValueError:
        raise ValueError(f"bad base URL {text!r}: bad port") from None
    return text.rstrip("/")


def validate_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers fit to save: a secret-bearing header must reference a variable, not hold a value."""
    out = {}
    for name, value in headers.items():
        clean = name.strip()
        if not clean or not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", clean):
            raise ValueError(f"bad header name {name!r}")
        if clean.lower() in _SECRET_HEADERS and not _ENV_REF.search(value):
            raise ValueError(
                f"header {clean!r} holds a literal secret: write it as ${{VARIABLE}} "
                "so the value stays in the environment"
            )
        out[clean] = value.strip()
    return out


def profile_to_dict(profile: Profile) -> dict[str, Any]:
    return {
        "name": profile.name,
        "base_url": validate_base_url(profile.base_url),
        "api_key_env": profile.api_key_env,
        "headers": validate_headers(profile.headers),
        "default_model": profile.default_model,
    }


def profile_from_dict(data: Mapping[str, Any]) -> Profile:
    name = str(data.get("name") or "").strip()
    if not name:
        raise ValueError("a saved profile has no name")
    headers = data.get("headers") or {}
    if not isinstance(headers, dict):
        raise ValueError(f"profile {name!r}: headers must be an object")
    for key, value in headers.items():
        if not isinstance(value, str):  # str() would send "{'nested': 1}" to the server
            raise ValueError(f"profile {name!r}: header {str(key)[:40]!r} is not text")
    key_env = data.get("api_key_env") or None
    if key_env is not None and not isinstance(key_env, str):
        raise ValueError(f"profile {name!r}: api_key_env must be a variable name")
    return Profile(
        name=name,
        base_url=validate_base_url(str(data.get("base_url") or "")),
        api_key_env=key_env,
        headers={str(k): v for k, v in headers.items()},
        default_model=str(data.get("default_model") or ""),
    )
