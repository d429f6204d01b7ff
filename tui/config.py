"""The user's settings file, `config.toml` (`tui.paths.config_file`), read with `tomllib`.

    [keys]
    delete = "x"            # a command's id (the help and the README list them) = its keys
    copy_answer = "y,ctrl+y"

    [composer]
    enter_sends = true      # enter sends, shift+enter / ctrl+j add a line (false: the reverse)

    [display]
    ascii = true            # ASCII stand-ins for every symbol, for fonts that lack them

Nothing in it is trusted: a file that is not TOML, a section of the wrong shape or an unknown
name is reported in one line each and left out; the rest applies.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tui.store.atomic import write_private_file
from tui.text import one_line

MAX_BYTES = 64 * 1024
# One key as Textual names keys: `x`, `ctrl+x`, `question_mark`, or one printable character.
_KEY = re.compile(r"(?:[A-Za-z0-9_]+\+)*(?:[A-Za-z0-9_]{1,30}|[!-~])")
MAX_KEYS = 8


@dataclass
class Settings:
    keymap: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    enter_sends: bool = False  # [composer] enter_sends: enter sends (else it adds a line)
    ascii: bool = False  # [display] ascii = true: ASCII stand-ins for symbols (tui.glyphs)


def load(path: Path, key_ids: Iterable[str]) -> Settings:
    """The settings in `path` (none when it does not exist); `key_ids` are the ids a key
    remap may name."""
    settings = Settings()
    try:
        raw = path.read_bytes()[: MAX_BYTES + 1]
    except FileNotFoundError:
        return settings
    except OSError as error:
        settings.problems.append(f"{path.name}: cannot be read ({error.strerror or error})")
        return settings
    if len(raw) > MAX_BYTES:
        settings.problems.append(f"{path.name}: larger than {MAX_BYTES // 1024} KiB, not read")
        return settings
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        settings.problems.append(f"{path.name}: not valid TOML ({one_line(str(error), 120)})")
        return settings
    composer = data.get("composer", {})
    if not isinstance(composer, Mapping):
        settings.problems.append(f"{path.name}: [composer] must be a table")
    else:
        settings.enter_sends, problems = composer_settings(composer, path.name)
        settings.problems.extend(problems)
    display = data.get("display", {})
    if isinstance(display, Mapping) and isinstance(display.get("ascii", False), bool):
        settings.ascii = display.get("ascii", False)
    else:
        settings.problems.append(f"{path.name}: [display] ascii must be true or false")
    keys = data.get("keys", {})
    if not isinstance(keys, Mapping):
        settings.problems.append(f'{path.name}: [keys] must be a table of name = "keys"')
        return settings
    settings.keymap, problems = keymap(keys, set(key_ids), path.name)
    settings.problems.extend(problems)
    return settings


def composer_settings(table: Mapping[str, object], source: str) -> tuple[bool, list[str]]:
    """`enter_sends` of a `[composer]` table (False when absent), and one line per problem."""
    problems = []
    for name in table:
        if name != "enter_sends":
            problems.append(
                f"{source}: [composer] has no setting named {one_line(str(name), 40)!r}"
            )
    value = table.get("enter_sends", False)
    if not isinstance(value, bool):
        problems.append(f"{source}: [composer] enter_sends must be true or false")
        value = False
    return value, problems


_ENTER_SENDS = re.compile(r"(?m)^[ \t]*enter_sends[ \t]*=.*$")
_COMPOSER = re.compile(r"(?m)^[ \t]*\[composer\][ \t]*(#.*)?$")


def save_enter_sends(path: Path, value: bool) -> str | None:
    """Keep `enter_sends` in the settings file, the rest of it as written. None when saved,
    else why not (one line): a file that is not valid TOML (before or after) is not touched."""
    line = f"enter_sends = {'true' if value else 'false'}"
    try:
        text = path.read_text("utf-8") if path.exists() else ""
        if len(text) > MAX_BYTES:
            return f"{path.name} is larger than {MAX_BYTES // 1024} KiB"
        tomllib.loads(text)
        if _ENTER_SENDS.search(text) and _COMPOSER.search(text):
            text = _ENTER_SENDS.sub(line, text, count=1)
        elif match := _COMPOSER.search(text):
            text = text[: match.end()] + "\n" + line + text[match.end() :]
        else:
            text = text + ("\n" if text and not text.endswith("\n") else "")
            text += f"{chr(10) if text else ''}[composer]\n{line}\n"
        data = tomllib.loads(text)
        if data.get("composer", {}).get("enter_sends") is not value:
            return f"{path.name}: enter_sends could not be set (edit it by hand)"
        from tui.store.atomic import write_private_file

        path.parent.mkdir(parents=True, exist_ok=True)
        write_private_file(path, text.encode("utf-8"))
    except tomllib.TOMLDecodeError as error:
        return f"{path.name}: not valid TOML ({one_line(str(error), 120)})"
    except (OSError, UnicodeDecodeError) as error:
        return f"{path.name}: cannot be written ({getattr(error, 'strerror', None) or error})"
    return None


def keymap(
    keys: Mapping[str, object], known: set[str], source: str
) -> tuple[dict[str, str], list[str]]:
    """The valid remaps of a `[keys]` table, and one problem line per invalid one."""
    found: dict[str, str] = {}
    problems: list[str] = []
    for name, value in keys.items():
        shown = one_line(str(name), 40)
        if name not in known:
            problems.append(f"{source}: [keys] has no command named {shown!r}")
            continue
        ok = isinstance(value, str) and len(value) <= 200
        parts = [part.strip() for part in value.split(",")] if ok else []
        if not parts or len(parts) > MAX_KEYS or not all(_KEY.fullmatch(p) for p in parts):
            problems.append(f'{source}: [keys] {shown} must be keys like "x" or "ctrl+x,f2"')
            continue
        found[name] = ",".join(parts)
    return found, problems


STATE_BYTES = 16 * 1024


def last_export_dir(path: Path) -> Path | None:
    """The folder of the last export, as remembered in the state file `path`; None when
    there is none, or it is unreadable, or the folder is gone."""
    try:
        raw = path.read_bytes()[: STATE_BYTES + 1]
        data = json.loads(raw.decode("utf-8")) if len(raw) <= STATE_BYTES else {}
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    folder = data.get("last_export_dir") if isinstance(data, dict) else None
    if not isinstance(folder, str) or not folder or len(folder) > 4096:
        return None
    folder_path = Path(folder)
    return folder_path if folder_path.is_absolute() and folder_path.is_dir() else None


def remember_export_dir(path: Path, folder: Path) -> None:
    """Remember `folder` as the last export folder (best effort: a failure is not an error)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = json.dumps({"last_export_dir": str(folder.resolve())}).encode("utf-8")
        write_private_file(path, data)
    except OSError:
        pass
