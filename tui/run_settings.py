"""Run settings: the model and how it runs, a per-branch setting like the tools.

The one table of the settings a turn is sent with (model, instructions, temperature, top_p,
reasoning, max_output_tokens, store, text format, metadata): their names and labels, how each
is checked (the form, the CLI), read from a request or response body, written into a request
body, and said in a few words (`differences`: the composer's status line, the transcript).

The Responses API does not carry them across `previous_response_id`, so a new turn inherits
them from the turn it follows (`tui.ops.conversation.settings_of`), all but `store`: a reply to
a turn sent with `store: false` is stored unless asked again (its path is replayed, and the
branch can be continued from the new turn). No Textual here.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from tui.text import one_line

# Field name -> label (the form's, and the name a validation error gives), in display order.
LABELS: dict[str, str] = {
    "model": "Model",
    "instructions": "Instructions",
    "temperature": "Temperature",
    "top_p": "Top p",
    "reasoning": "Reasoning",
    "max_output_tokens": "Max output tokens",
    "store": "Store",
    "text": "Text format",
    "metadata": "Metadata",
}
KEYS = tuple(LABELS)
INHERITED = tuple(k for k in KEYS if k != "store")  # see the module's docstring
EFFORTS = ("none", "minimal", "low", "medium", "high")
SUMMARIES = ("auto", "concise", "detailed")
FORMATS = {"text": "text", "json_object": "JSON object", "json_schema": "JSON schema"}
MAX_METADATA = 16  # the API's limits
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512
MAX_SCHEMA_CHARS = 100_000
MAX_INSTRUCTIONS = 256_000
SCHEMA_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Echoed defaults a server adds to a response we did not send: not worth resending.
_DEFAULTS: dict[str, Any] = {
    "text": {"format": {"type": "text"}},
    "reasoning": {"effort": None, "summary": None},
    "temperature": 1.0,
    "top_p": 1.0,
    "metadata": {},
    "instructions": "",
}


class SettingError(ValueError):
    """A value that cannot be sent: `field` (a key of LABELS) and why, in a few words."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{LABELS.get(field, field)}: {why}")
        self.field = field
        self.why = why


# ---------------------------------------------------------------- one value each


def _number(field: str, value: Any, high: float) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise SettingError(field, f"{one_line(value, 20)!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SettingError(field, "not a number")
    if not 0 <= value <= high:
        raise SettingError(field, f"must be between 0 and {high:g}")
    return float(value)


def check_temperature(value: Any) -> float:
    return _number("temperature", value, 2)


def check_top_p(value: Any) -> float:
    return _number("top_p", value, 1)


def check_max_output_tokens(value: Any) -> int:
    if isinstance(value, str):
        text = value.strip().replace("_", "").replace(",", "")
        if not text.isdigit():
            raise SettingError("max_output_tokens", "must be a whole number above 0")
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SettingError("max_output_tokens", "must be a whole number above 0")
    return value


def check_reasoning(effort: str | None, summary: str | None) -> dict[str, str] | None:
    out: dict[str, str] = {}
    if effort:
        if effort not in EFFORTS:
            raise SettingError("reasoning", f"effort is one of {', '.join(EFFORTS)}")
        out["effort"] = effort
    if summary:
        if summary not in SUMMARIES:
            raise SettingError("reasoning", f"summary is one of {', '.join(SUMMARIES)}")
        out["summary"] = summary
    return out or None


def check_metadata(value: Any) -> dict[str, str] | None:
    """A dict, or text of `key: value` lines (the form's): at most 16 string keys (64
    characters) and string values (512)."""
    if isinstance(value, str):
        pairs: dict[str, str] = {}
        for n, line in enumerate(value.splitlines(), 1):
            if not line.strip():
                continue
            key, sep, said = line.partition(":")
            if not sep or not key.strip():
                raise SettingError("metadata", f"line {n}: write it as 'key: value'")
            if key.strip() in pairs:
                raise SettingError("metadata", f"line {n}: {one_line(key.strip(), 30)!r} twice")
            pairs[key.strip()] = said.strip()
            if len(pairs) > MAX_METADATA:
                break
        value = pairs
    if not isinstance(value, dict):
        raise SettingError("metadata", "not an object of strings")
    if len(value) > MAX_METADATA:
        raise SettingError("metadata", f"at most {MAX_METADATA} keys")
    for key, said in value.items():
        if not isinstance(key, str) or not isinstance(said, str):
            raise SettingError("metadata", "keys and values are strings")
        if len(key) > MAX_METADATA_KEY:
            raise SettingError("metadata", f"a key is at most {MAX_METADATA_KEY} characters")
        if len(said) > MAX_METADATA_VALUE:
            raise SettingError(
                "metadata", f"the value of {one_line(key, 30)!r} is over {MAX_METADATA_VALUE}"
            )
    return dict(value) or None


def check_schema(text: str) -> dict[str, Any]:
    """A JSON schema format from its JSON: an object with a `name` and a `schema` object
    (`strict` and `description` kept). The `text.format` to send."""
    if len(text) > MAX_SCHEMA_CHARS:
        raise SettingError("text", f"the schema is over {MAX_SCHEMA_CHARS:,} characters")
    try:
        doc = json.loads(text)
    except ValueError as error:
        raise SettingError("text", f"the schema is not JSON ({one_line(str(error), 60)})") from None
    if not isinstance(doc, dict):
        raise SettingError("text", "the schema is not a JSON object")
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise SettingError("text", 'the schema needs a "name" (and its "schema" object)')
    if not SCHEMA_NAME.fullmatch(name):
        raise SettingError("text", "the name is letters, digits, _ and -, at most 64")
    schema = doc.get("schema")
    if not isinstance(schema, dict):
        raise SettingError("text", 'its "schema" must be a JSON object')
    out: dict[str, Any] = {"type": "json_schema", "name": name, "schema": schema}
    if isinstance(doc.get("strict"), bool):
        out["strict"] = doc["strict"]
    if isinstance(doc.get("description"), str):
        out["description"] = doc["description"]
    return out


def text_format(kind: str, schema: str = "") -> dict[str, Any] | None:
    """`text` to send for a format chosen by its kind (None: the default, plain text)."""
    if kind in ("", "text"):
        return None
    if kind == "json_object":
        return {"format": {"type": "json_object"}}
    if kind == "json_schema":
        return {"format": check_schema(schema)}
    raise SettingError("text", f"one of {', '.join(FORMATS)}")


# ---------------------------------------------------------------- bodies


def read(body: Any) -> dict[str, Any]:
    """The run settings of a request we sent, or of a response a server echoed: the ones set
    (a default echoed back is not a setting), the model included, `store` only when off."""
    if not isinstance(body, dict):
        return {}
    out: dict[str, Any] = {}
    for key in KEYS:
        value = body.get(key)
        if value in (None, [], {}, "") or _DEFAULTS.get(key, object()) == value:
            continue
        if key == "store":
            if value is False:
                out[key] = False
        elif key in ("model", "instructions"):
            if isinstance(value, str):
                out[key] = value
        elif key in ("temperature", "top_p"):
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[key] = value
        elif key == "max_output_tokens":
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                out[key] = value
        elif isinstance(value, dict):  # reasoning, text, metadata
            out[key] = value
    return out


def of_record(record: Any) -> dict[str, Any]:
    """The run settings of a recorded turn (the index's body: what we sent, else what the
    server echoed)."""
    if not isinstance(record, dict):
        return {}
    return read(record.get("request") or record.get("response") or {})


def write(body: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """Put `settings` into a request body: a value of None takes the setting out (the
    server's default then applies), `store: True` too (it is the default). Other keys of a
    request (tools...) are set as they are."""
    for key, value in settings.items():
        if value is None or (key == "store" and value is True):
            body.pop(key, None)
        else:
            body[key] = value
    return body


def changes(base: dict[str, Any], chosen: dict[str, Any]) -> dict[str, Any]:
    """What `chosen` (every setting, None for unset) changes in `base`: the overrides to send
    (None: take the inherited setting out)."""
    out: dict[str, Any] = {}
    for key in KEYS:
        now = chosen.get(key)
        if key == "store" and now is True:
            now = None
        if now != base.get(key):
            out[key] = now
    return out


# ---------------------------------------------------------------- in words


def describe(key: str, value: Any) -> str:
    """One setting in a few words ("temperature 1.2", "JSON schema city")."""
    if key == "model":
        return f"model: {one_line(str(value or 'default'), 40)}"
    if value is None:
        if key in ("instructions", "metadata"):
            return f"no {key}"
        return {"store": "stored", "text": "text"}.get(key, f"{LABELS[key].lower()} default")
    if key == "instructions":
        return f"instructions: {one_line(str(value), 30)}"
    if key in ("temperature", "top_p"):
        return f"{key} {value:g}" if isinstance(value, int | float) else key
    if key == "max_output_tokens":
        return f"max {value} tokens"
    if key == "store":
        return "stored" if value else "not stored"
    if key == "reasoning" and isinstance(value, dict):
        said = [f"effort {value['effort']}" if value.get("effort") else ""]
        said.append(f"summary {value['summary']}" if value.get("summary") else "")
        return "reasoning " + one_line(", ".join(s for s in said if s) or "default", 40)
    if key == "text" and isinstance(value, dict):
        fmt = value.get("format") if isinstance(value.get("format"), dict) else {}
        kind = fmt.get("type")
        name = f" {one_line(str(fmt.get('name')), 30)}" if kind == "json_schema" else ""
        return one_line(FORMATS.get(str(kind), "text"), 20) + name
    if key == "metadata" and isinstance(value, dict):
        return f"metadata: {len(value)} key{'s' if len(value) != 1 else ''}"
    return LABELS.get(key, key).lower()


def differences(
    parent: dict[str, Any], settings: dict[str, Any], *, skip: tuple[str, ...] = ()
) -> str:
    """What `settings` changes from `parent`, in a few words each, joined by ` · `
    ("" when nothing does); the fields in `skip` are left out (shown elsewhere)."""
    said = []
    for key in KEYS:
        if key in skip:
            continue
        before, after = parent.get(key), settings.get(key)
        if key == "store":
            before, after = before is not False, after is not False
        if before != after and not (key == "model" and not after):
            said.append(describe(key, after))
    return " · ".join(said)


# ---------------------------------------------------------------- the form


@dataclass
class FormValues:
    """The settings form as text and choices (what the user edits)."""

    model: str = ""
    instructions: str = ""
    temperature: str = ""
    top_p: str = ""
    effort: str = ""  # "" : not sent
    summary: str = ""
    max_output_tokens: str = ""
    store: bool = True
    format: str = "text"
    schema: str = ""
    metadata: str = ""

    @classmethod
    def of(cls, settings: dict[str, Any]) -> FormValues:
        reasoning = settings.get("reasoning") if isinstance(settings.get("reasoning"), dict) else {}
        text = settings.get("text") if isinstance(settings.get("text"), dict) else {}
        fmt = text.get("format") if isinstance(text.get("format"), dict) else {}
        kind = str(fmt.get("type") or "text")
        schema = {k: v for k, v in fmt.items() if k != "type"} if kind == "json_schema" else {}
        metadata = settings.get("metadata") if isinstance(settings.get("metadata"), dict) else {}

        def num(key: str) -> str:
            value = settings.get(key)
            return f"{value:g}" if isinstance(value, int | float) else ""

        return cls(
            model=str(settings.get("model") or ""),
            instructions=str(settings.get("instructions") or ""),
            temperature=num("temperature"),
            top_p=num("top_p"),
            effort=str(reasoning.get("effort") or "") if reasoning.get("effort") in EFFORTS else "",
            summary=str(reasoning.get("summary") or "")
            if reasoning.get("summary") in SUMMARIES
            else "",
            max_output_tokens=str(settings.get("max_output_tokens") or ""),
            store=settings.get("store") is not False,
            format=kind if kind in FORMATS else "text",
            schema=json.dumps(schema, indent=2) if schema else "",
            metadata="\n".join(f"{k}: {v}" for k, v in metadata.items()),
        )

    def settings(self) -> tuple[dict[str, Any], dict[str, str]]:
        """(every setting, None where unset; the problems, by field). The settings are
        complete only when there is no problem."""
        out: dict[str, Any] = {key: None for key in KEYS}
        problems: dict[str, str] = {}

        def take(key: str, check: Any, *args: Any) -> None:
            try:
                out[key] = check(*args)
            except SettingError as error:
                problems[error.field] = error.why

        out["model"] = self.model.strip() or None
        if len(self.instructions) > MAX_INSTRUCTIONS:
            problems["instructions"] = f"over {MAX_INSTRUCTIONS:,} characters"
        out["instructions"] = self.instructions if self.instructions.strip() else None
        if self.temperature.strip():
            take("temperature", check_temperature, self.temperature)
        if self.top_p.strip():
            take("top_p", check_top_p, self.top_p)
        take("reasoning", check_reasoning, self.effort, self.summary)
        if self.max_output_tokens.strip():
            take("max_output_tokens", check_max_output_tokens, self.max_output_tokens)
        out["store"] = None if self.store else False
        take("text", text_format, self.format, self.schema)
        take("metadata", check_metadata, self.metadata)
        return out, problems
