"""Tool presets: validation, JSON-Schema checks, and `${VAR}` secrets resolved only on the wire.

A preset is a named tool definition the user saves once and toggles per branch. Secrets never
live in a preset: a header value such as `Bearer ${GITHUB_TOKEN}` is stored with the
placeholder and filled from the environment when the request is built (`resolve_tools`);
`scrub` removes the filled-in values from anything that is about to be stored.
Pure: no Textual, no network.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tui.api import jsonlimits
from tui.text import one_line

KINDS = ("mcp", "sse", "function", "raw")
APPROVALS = ("never", "always", "per tool", "not sent")
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_LABEL = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_HEADER = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_SECRETISH = re.compile(r"(?i)authorization|token|secret|key|password|cookie")
# A tuple, not a set: a schema's "type" may be any JSON value, and `in` must not hash it.
JSON_TYPES = ("string", "number", "integer", "boolean", "object", "array", "null")


class ToolError(ValueError):
    """A tool cannot be used as given; the message says which field and why."""


@dataclass
class Preset:
    name: str
    tool: dict[str, Any]  # the tool as sent, with ${VAR} placeholders kept

    @property
    def kind(self) -> str:
        kind = self.tool.get("type")
        return kind if kind in ("mcp", "sse", "function") else "raw"

    def label(self) -> str:
        return tool_label(self.tool)

    def to_doc(self) -> dict[str, Any]:
        return {"name": self.name, "tool": self.tool}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Preset:
        return cls(str(doc.get("name", "")), dict(doc.get("tool") or {}))


@dataclass
class Validation:
    """Field -> message for every problem found; empty when the preset is usable."""

    errors: dict[str, str] = field(default_factory=dict)
    tool: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def first(self) -> str:
        return next(iter(f"{k}: {v}" for k, v in self.errors.items()), "")


def server_name(url: Any) -> str:
    """The name of the server at `url`: its host, in lower case, without port or credentials
    (`https://mcp.deepwiki.com/mcp` -> `mcp.deepwiki.com`); "" when there is none."""
    if not isinstance(url, str):
        return ""
    try:
        return urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""


def tool_label(tool: Mapping[str, Any]) -> str:
    """The one name a tool is shown by (composer, picker, transcript, CLI): its `server_label`
    or `name`; an MCP or SSE tool written without a label, as Fireworks documents them, is
    named after its server's host. The name is only shown: it is never added to the tool."""
    for key in ("server_label", "name"):
        if value := tool.get(key):
            return str(value)
    return server_name(tool.get("server_url")) or str(tool.get("type") or "tool")


def tool_names(tools: Iterable[Mapping[str, Any]], presets: Iterable[Preset]) -> list[str]:
    """How the user knows each tool: the name of the preset it was picked from (a tool equal
    to a saved preset's), else its `tool_label`. Never cut: the caller makes room."""
    named = [(preset.tool, preset.name) for preset in presets]
    out = []
    for tool in tools:
        name = next((n for t, n in named if t == tool and n), None)
        out.append(one_line(name or tool_label(tool), 64))
    return out


def describe_tool(tool: dict[str, Any]) -> str:
    kind = tool.get("type")
    if kind in ("mcp", "sse"):
        approval = tool.get("require_approval")
        extra = f", approval {approval}" if isinstance(approval, str) else ""
        if isinstance(approval, dict):
            extra = ", approval per tool"
        return f"{kind} {tool_label(tool)} · {tool.get('server_url', '')}{extra}"
    if kind == "function":
        return f"function · {one_line(tool.get('description') or '', 50)}"
    return str(kind)


# ------------------------------------------------------------------ validation


def _check_url(url: Any) -> str | None:
    if not isinstance(url, str) or not url.strip():
        return "required: the server's URL"
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as error:
        return f"is not a valid URL ({error})"
    if parts.scheme not in ("http", "https"):
        return "must start with https:// (or http://)"
    if not parts.hostname or " " in url.strip():
        return "has no host name"
    return None


def _check_headers(headers: Any) -> str | None:
    if headers in (None, {}):
        return None
    if not isinstance(headers, dict):
        return "must be an object of name: value"
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER.match(name):
            return f"bad header name {name!r}"
        if not isinstance(value, str):
            return f"header {name!r}: the value must be text"
        if _SECRETISH.search(name) and not ENV_REF.search(value):
            return (
                f"header {name!r} holds a literal secret: write it as ${{VARIABLE}} "
                "(the value stays in your environment, never in the index)"
            )
    return None


def check_json_schema(schema: Any, path: str = "parameters") -> str | None:
    """Structural check of a JSON Schema (the subset function tools use). None when valid."""
    stack: list[tuple[Any, str]] = [(schema, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, bool):
            continue
        if not isinstance(node, dict):
            return f"{where}: a schema must be an object"
        kind = node.get("type")
        if kind is not None:
            kinds = kind if isinstance(kind, list) else [kind]
            bad = [k for k in kinds if k not in JSON_TYPES]
            if bad or not kinds:
                return f"{where}.type: {bad[0] if bad else kind!r} is not a JSON type"
        props = node.get("properties")
        if props is not None:
            if not isinstance(props, dict):
                return f"{where}.properties: must be an object of schemas"
            stack.extend((sub, f"{where}.properties.{name}") for name, sub in props.items())
        required = node.get("required")
        if required is not None:
            if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
                return f"{where}.required: must be a list of property names"
            if isinstance(props, dict):
                missing = [r for r in required if r not in props]
                if missing:
                    return f"{where}.required: {missing[0]!r} is not a property"
        if "items" in node:
            items = node["items"]
            if isinstance(items, list):
                stack.extend((sub, f"{where}.items[{n}]") for n, sub in enumerate(items))
            else:
                stack.append((items, f"{where}.items"))
        enum = node.get("enum")
        if enum is not None and (not isinstance(enum, list) or not enum):
            return f"{where}.enum: must be a non-empty list"
        for key in ("anyOf", "oneOf", "allOf"):
            if key in node:
                subs = node[key]
                if not isinstance(subs, list) or not subs:
                    return f"{where}.{key}: must be a non-empty list of schemas"
                stack.extend((sub, f"{where}.{key}[{n}]") for n, sub in enumerate(subs))
        extra = node.get("additionalProperties")
        if extra is not None and not isinstance(extra, bool | dict):
            return f"{where}.additionalProperties: must be true, false or a schema"
        if extra is not None and isinstance(extra, dict):
            stack.append((extra, f"{where}.additionalProperties"))
        for key in ("description", "title"):
            if key in node and not isinstance(node[key], str):
                return f"{where}.{key}: must be text"
    top = schema.get("type") if isinstance(schema, dict) else None
    if top is not None and "object" not in (top if isinstance(top, list) else [top]):
        return f"{path}.type: function parameters must be an object schema"
    return None


def validate_tool(tool: Any) -> Validation:
    """Check one tool definition (placeholders allowed). Field names match the form's."""
    result = Validation()
    errors = result.errors
    if not isinstance(tool, dict):
        errors["json"] = "a tool must be a JSON object"
        return result
    kind = tool.get("type")
    if not isinstance(kind, str) or not kind.strip():
        errors["type"] = "required: the tool type (mcp, sse, function, or a built-in type)"
        return result
    if kind in ("mcp", "sse"):
        # The two MCP transports follow the same rules. The label is optional: Fireworks'
        # examples leave it out, and then none is sent (tool_label names it by its host).
        label = tool.get("server_label")
        if label not in (None, "") and (not isinstance(label, str) or not _LABEL.match(label)):
            rule = "letters, digits, _ . - (up to 64), or none at all"
            errors["server_label"] = (
                _not_allowed(label, lambda c: c.isascii() and (c.isalnum() or c in "_.-"), 64, rule)
                if isinstance(label, str)
                else rule
            )
        if (problem := _check_url(tool.get("server_url"))) is not None:
            errors["server_url"] = problem
        allowed = tool.get("allowed_tools")
        if allowed is not None and (
            not isinstance(allowed, list) or not all(isinstance(a, str) and a for a in allowed)
        ):
            errors["allowed_tools"] = "must be a list of tool names"
        approval = tool.get("require_approval")
        if (
            approval is not None
            and approval not in ("never", "always")
            and not (
                isinstance(approval, dict)
                and set(approval) <= {"always", "never"}
                and all(
                    isinstance(v, dict) and isinstance(v.get("tool_names", []), list)
                    for v in approval.values()
                )
            )
        ):
            errors["require_approval"] = (
                'must be "never", "always" or {"always": {"tool_names": [...]}}'
            )
        if (problem := _check_headers(tool.get("headers"))) is not None:
            errors["headers"] = problem
    elif kind == "function":
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            errors["name"] = "required: letters, digits, _ and - (up to 64)"
        elif not _NAME.match(name):
            errors["name"] = _not_allowed(
                name,
                lambda c: c.isascii() and (c.isalnum() or c in "_-"),
                64,
                "letters, digits, _ and - (up to 64)",
            )
        description = tool.get("description")
        if description is not None and not isinstance(description, str):
            errors["description"] = "must be text"
        parameters = tool.get("parameters", {"type": "object", "properties": {}})
        if (problem := check_json_schema(parameters)) is not None:
            errors["parameters"] = problem
    else:
        try:
            json.dumps(tool)
        except (TypeError, ValueError):
            errors["json"] = "not serialisable as JSON"
    if not errors:
        result.tool = tool
    return result


def _not_allowed(text: str, allowed: Callable[[str], bool], most: int, rule: str) -> str:
    """What is wrong with a name that breaks `rule` (not only that it is "required")."""
    if len(text) > most:
        return f"too long: {len(text)} characters ({rule})"
    bad = sorted({c for c in text if not allowed(c)})
    shown = ", ".join(
        "space" if c == " " else repr(c) if c.isprintable() else f"U+{ord(c):04X}" for c in bad[:5]
    )
    return f"{rule}: not {shown}" if bad else rule


def validate_preset(name: str, tool: Any, taken: Iterable[str] = ()) -> Validation:
    result = validate_tool(tool)
    if not name.strip():
        result.errors["preset_name"] = "required: a name to find it by"
    elif not re.fullmatch(r"[\w .-]{1,48}", name.strip()):
        result.errors["preset_name"] = _not_allowed(
            name.strip(),
            lambda c: bool(re.fullmatch(r"[\w .-]", c)),
            48,
            "letters, digits, space _ . - (up to 48)",
        )
    elif name.strip() in set(taken):
        result.errors["preset_name"] = f"there is already a preset named {name.strip()!r}"
    if result.errors:
        result.tool = None
    return result


def parse_tool_json(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """(tool, None) or (None, a message that says where the JSON is wrong)."""
    try:
        value = bounded_json(text)
    except json.JSONDecodeError as error:
        return None, f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
    except ValueError as error:
        return None, str(error)
    if not isinstance(value, dict):
        return None, "a tool must be a JSON object"
    return value, None


def bounded_json(text: str) -> Any:
    """JSON a user typed (a tool, a schema): ValueError when it nests deeper than any tool
    needs (`jsonlimits.MAX_DEPTH`), instead of a RecursionError later."""
    value = jsonlimits.loads(text, "the JSON")
    if jsonlimits.depth(value) > jsonlimits.MAX_DEPTH:
        raise ValueError(f"the JSON nests more than {jsonlimits.MAX_DEPTH} levels deep")
    return value


# ------------------------------------------------------------------ form <-> tool


def split_list(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,\s]+", text or "") if part.strip()]


def parse_header_lines(text: str) -> tuple[dict[str, str], str | None]:
    headers: dict[str, str] = {}
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            return headers, f"line {n}: expected 'Name: value'"
        headers[name.strip()] = value.strip()
    return headers, None


def approval_value(mode: str, tools_needing_approval: list[str]) -> Any:
    """`require_approval` for a choice of APPROVALS; None for "not sent" (leave it out)."""
    if mode == "not sent":
        return None
    if mode == "per tool":
        return {"always": {"tool_names": tools_needing_approval}}
    return mode


# ------------------------------------------------------------------ secrets


def env_refs(value: Any) -> list[str]:
    """Every ${VAR} referenced anywhere in a JSON value."""
    found: list[str] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            found.extend(ENV_REF.findall(node))
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def resolve_tools(
    tools: list[dict[str, Any]], env: Mapping[str, str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The tools as sent on the wire (placeholders filled) and the secret values used.
    ToolError names the first variable that is not set, and the tool (preset) that needs it."""
    secrets: list[str] = []
    label = ""  # the tool being filled

    def fill(node: Any) -> Any:
        if isinstance(node, str):

            def one(match: re.Match[str]) -> str:
                name = match.group(1)
                value = env.get(name)
                if not value:
                    raise ToolError(
                        f"the tool {label!r} needs ${name}, which is not set in the environment"
                    )
                secrets.append(value)
                return value

            return ENV_REF.sub(one, node)
        if isinstance(node, dict):
            return {k: fill(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fill(v) for v in node]
        return node

    resolved = []
    for tool in tools:
        label = one_line(tool_label(tool), 40) if isinstance(tool, Mapping) else "tool"
        resolved.append(fill(copy.deepcopy(tool)))
    return resolved, secrets


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """A copy of `value` with every secret string replaced by "***" (before storing it).
    Values shorter than 4 characters are left alone, as `redact` does: replacing every "k"
    would corrupt the text and hide nothing."""
    secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
    if not secrets:
        return value

    def clean(node: Any) -> Any:
        if isinstance(node, str):
            for secret in secrets:
                node = node.replace(secret, "***")
            return node
        if isinstance(node, dict):
            return {k: clean(v) for k, v in node.items()}
        if isinstance(node, list):
            return [clean(v) for v in node]
        return node

    return clean(value)
