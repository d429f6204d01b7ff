"""What a create request may say to the offline backend, and what its response echoes.

Checked before anything is generated, with OpenAI's error shapes:

- an argument the API does not have: 400 "Unrecognized request argument supplied: X"
  (code `unknown_parameter`), as the real API refuses unknown arguments;
- an argument the API has but whose effect this backend cannot give (`conversation`,
  `prompt`, logprobs, hosted tools...): 400 "not supported by the offline backend: X"
  (code `unsupported_parameter`), instead of answering as if it had been honoured;
- a value of the wrong type or out of range: 400 like the API (`invalid_type`,
  `integer_below_min_value`, `invalid_value`...).

Arguments that only tune a real model or its billing (`temperature`, `top_p`, `reasoning`,
`service_tier`, `prompt_cache_key`, `user`, ...) are accepted and echoed: an offline answer
does not depend on them. A null value counts as absent.
"""

from __future__ import annotations

import re
from typing import Any

from tui.local.tool_calls import find_tool

# Echoed when the caller did not say (the API's defaults). tui.run_settings.read (settings_of)
# drops exactly these text/reasoning/temperature/top_p values, so keep them as they are.
TEXT_DEFAULT = {"format": {"type": "text"}}
REASONING_DEFAULT = {"effort": None, "summary": None}
ECHO_DEFAULTS: dict[str, Any] = {
    "instructions": None,
    "max_output_tokens": None,
    "max_tool_calls": None,
    "metadata": {},
    "parallel_tool_calls": True,
    "prompt_cache_key": None,
    "prompt_cache_retention": None,
    "safety_identifier": None,
    "temperature": 1.0,
    "tool_choice": "auto",
    "top_logprobs": 0,
    "top_p": 1.0,
    "truncation": "disabled",
    "user": None,
}
# Accepted, with no effect on an offline answer (or an effect the backend gives).
ACCEPTED = frozenset(
    {
        "model",
        "input",
        "previous_response_id",
        "store",
        "stream",
        "stream_options",
        "background",
        "tools",
        "text",
        "reasoning",
        "service_tier",
        "prompt_cache_options",
        "include",
        *ECHO_DEFAULTS,
    }
)
# The API has them, the offline backend cannot do what they ask.
UNSUPPORTED = ("conversation", "prompt", "context_management", "moderation")
# `include` values: logprobs cannot be given; the others concern items this backend never
# produces (hosted tool calls, reasoning, input images kept as sent), so they change nothing.
INCLUDE_VALUES = (
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
)
INCLUDE_UNSUPPORTED = ("message.output_text.logprobs",)
TOOL_TYPES = ("function", "mcp", "sse")
MCP_TYPES = ("mcp", "sse")
MIN_OUTPUT_TOKENS = 16
REASONING_KEYS = ("effort", "summary", "generate_summary", "context", "mode")
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
SUMMARIES = ("auto", "concise", "detailed")
FORMAT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class RequestError(Exception):
    """A refused request: the status and OpenAI error fields to answer with."""

    def __init__(
        self, message: str, *, param: str | None = None, code: str | None = None, status=400
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.status = status


def unsupported(field: str, detail: str = "") -> RequestError:
    suffix = f" ({detail})" if detail else ""
    return RequestError(
        f"not supported by the offline backend: {field}{suffix}",
        param=field,
        code="unsupported_parameter",
    )


def check_create(body: Any) -> dict[str, Any]:
    """The body, if the offline backend can answer it as asked; else RequestError."""
    if not isinstance(body, dict):
        raise RequestError("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise RequestError("Missing required parameter: 'model'.", param="model")
    if "input" not in body or not isinstance(body["input"], str | list):
        raise RequestError("Missing required parameter: 'input'.", param="input")
    for name in body:
        if name not in ACCEPTED and name not in UNSUPPORTED:
            raise RequestError(
                f"Unrecognized request argument supplied: {name}",
                param=name,
                code="unknown_parameter",
            )
    for name in UNSUPPORTED:
        if body.get(name) is not None:
            raise unsupported(name)
    _check_tools(body.get("tools"))
    for name in ("store", "stream", "background", "parallel_tool_calls"):
        _typed(body, name, bool)
    for name in ("instructions", "user", "prompt_cache_key", "safety_identifier"):
        _typed(body, name, str)
    _typed(body, "stream_options", dict)
    _typed(body, "prompt_cache_options", dict)
    _number(body, "temperature", 0, 2)
    _number(body, "top_p", 0, 1)
    _integer(body, "max_output_tokens", MIN_OUTPUT_TOKENS)
    _integer(body, "max_tool_calls", 1)
    _integer(body, "top_logprobs", 0, 20)
    if body.get("top_logprobs"):
        raise unsupported("top_logprobs", "no log probabilities without a model")
    _one_of(body, "truncation", ("auto", "disabled"))
    _one_of(body, "prompt_cache_retention", ("in_memory", "24h"))
    _one_of(
        body, "service_tier", ("auto", "default", "flex", "scale", "priority", "fast", "ultrafast")
    )
    _check_metadata(body.get("metadata"))
    _check_include(body.get("include"))
    _check_reasoning(body.get("reasoning"))
    _check_text(body.get("text"))
    _check_tool_choice(body.get("tool_choice"), body.get("tools") or [])
    if body.get("background") and body.get("stream"):
        raise RequestError(
            "The offline backend cannot stream a background response (background and stream "
            "cannot be combined): create it without stream and poll GET /v1/responses/{id}.",
            param="background",
        )
    if body.get("background") and body.get("store") is False:
        raise RequestError("Background mode requires store=true.", param="background")
    return body


def echo(body: dict[str, Any]) -> dict[str, Any]:
    """The settings a response object carries: what was sent, else the API's default."""
    out = {
        name: body[name] if body.get(name) is not None else default
        for name, default in ECHO_DEFAULTS.items()
    }
    out["reasoning"] = {**REASONING_DEFAULT, **(body.get("reasoning") or {})}
    text = {**TEXT_DEFAULT, **(body.get("text") or {})}
    if text.get("format") is None:
        text["format"] = TEXT_DEFAULT["format"]
    out["text"] = text
    out["service_tier"] = "default"  # the tier that served it, as the API reports it
    return out


def text_format(body: dict[str, Any]) -> dict[str, Any]:
    return (body.get("text") or {}).get("format") or TEXT_DEFAULT["format"]


# ---------------------------------------------------------------- fields


def _check_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list) or any(not isinstance(t, dict) for t in tools):
        raise RequestError("Invalid 'tools': expected an array of objects.", param="tools")
    for n, tool in enumerate(tools):
        kind = tool.get("type")
        if kind not in TOOL_TYPES:
            raise unsupported("tools", f"tools[{n}] has type {kind!r}; it offers function and mcp")
        if kind in MCP_TYPES and not (tool.get("server_url") or tool.get("connector_id")):
            raise RequestError("An MCP tool needs a 'server_url'.", param="tools")
        if kind == "function" and not (isinstance(tool.get("name"), str) and tool["name"]):
            raise RequestError(
                f"Missing required parameter: 'tools[{n}].name'.",
                param=f"tools[{n}].name",
                code="missing_required_parameter",
            )


def _check_metadata(metadata: Any) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise _type_error("metadata", "object", metadata)
    if len(metadata) > 16:
        raise RequestError(
            "Invalid 'metadata': too many properties. Expected an object with at most 16 "
            f"properties, but got an object with {len(metadata)} properties instead.",
            param="metadata",
            code="object_above_max_properties",
        )
    for key, value in metadata.items():
        if len(key) > 64:
            raise RequestError(
                "Invalid 'metadata': keys can be at most 64 characters.", param="metadata"
            )
        if not isinstance(value, str):
            raise _type_error(f"metadata.{key}", "string", value)
        if len(value) > 512:
            raise RequestError(
                f"Invalid 'metadata.{key}': string too long. Expected a string with maximum "
                f"length 512, but got a string with length {len(value)} instead.",
                param=f"metadata.{key}",
                code="string_above_max_length",
            )


def _check_include(include: Any) -> None:
    if include is None:
        return
    if not isinstance(include, list):
        raise _type_error("include", "array", include)
    for n, value in enumerate(include):
        if value in INCLUDE_UNSUPPORTED:
            raise unsupported("include", f"{value}: no log probabilities without a model")
        if value not in INCLUDE_VALUES:
            raise _value_error(f"include[{n}]", value, INCLUDE_VALUES)


def _check_reasoning(reasoning: Any) -> None:
    if reasoning is None:
        return
    if not isinstance(reasoning, dict):
        raise _type_error("reasoning", "object", reasoning)
    for key in reasoning:
        if key not in REASONING_KEYS:
            raise RequestError(
                f"Unrecognized request argument supplied: reasoning.{key}",
                param=f"reasoning.{key}",
                code="unknown_parameter",
            )
    _one_of(reasoning, "effort", EFFORTS, prefix="reasoning.")
    _one_of(reasoning, "summary", SUMMARIES, prefix="reasoning.")
    _one_of(reasoning, "generate_summary", SUMMARIES, prefix="reasoning.")


def _check_text(text: Any) -> None:
    if text is None:
        return
    if not isinstance(text, dict):
        raise _type_error("text", "object", text)
    for key in text:
        if key not in ("format", "verbosity"):
            raise RequestError(
                f"Unrecognized request argument supplied: text.{key}",
                param=f"text.{key}",
                code="unknown_parameter",
            )
    _one_of(text, "verbosity", ("low", "medium", "high"), prefix="text.")
    fmt = text.get("format")
    if fmt is None:
        return
    if not isinstance(fmt, dict):
        raise _type_error("text.format", "object", fmt)
    kind = fmt.get("type")
    if kind not in ("text", "json_object", "json_schema"):
        raise _value_error("text.format.type", kind, ("text", "json_object", "json_schema"))
    allowed = {"type"} | (
        {"name", "schema", "strict", "description"} if kind == "json_schema" else set()
    )
    for key in fmt:
        if key not in allowed:
            raise RequestError(
                f"Unrecognized request argument supplied: text.format.{key}",
                param=f"text.format.{key}",
                code="unknown_parameter",
            )
    if kind != "json_schema":
        return
    for key in ("name", "schema"):
        if key not in fmt:
            raise RequestError(
                f"Missing required parameter: 'text.format.{key}'.",
                param=f"text.format.{key}",
                code="missing_required_parameter",
            )
    name = fmt["name"]
    if not isinstance(name, str) or not FORMAT_NAME.match(name):
        raise RequestError(
            "Invalid 'text.format.name': expected a string of letters, digits, underscores or "
            "dashes, at most 64 characters.",
            param="text.format.name",
            code="invalid_value",
        )
    if not isinstance(fmt["schema"], dict):
        raise _type_error("text.format.schema", "object", fmt["schema"])
    _typed(fmt, "strict", bool, prefix="text.format.")
    _typed(fmt, "description", str, prefix="text.format.")


def _check_tool_choice(choice: Any, tools: list[Any]) -> None:
    if choice is None or choice in ("none", "auto"):
        return
    if choice == "required":
        if not tools:
            raise RequestError(
                "Tool choice 'required' must be specified with 'tools' parameter.",
                param="tool_choice",
            )
        return
    if isinstance(choice, str):
        raise _value_error("tool_choice", choice, ("none", "auto", "required"))
    if not isinstance(choice, dict):
        raise _type_error("tool_choice", "string or object", choice)
    kind = choice.get("type")
    if kind == "allowed_tools":
        _one_of(choice, "mode", ("auto", "required"), prefix="tool_choice.")
        refs = choice.get("tools")
        if not isinstance(refs, list) or not refs:
            raise RequestError(
                "Missing required parameter: 'tool_choice.tools'.",
                param="tool_choice.tools",
                code="missing_required_parameter",
            )
        for ref in refs:
            _check_tool_ref(ref, tools)
        return
    if kind in ("function", "mcp"):
        _check_tool_ref(choice, tools)
        return
    raise unsupported("tool_choice", f"type {kind!r}; it offers function and mcp tools")


def _check_tool_ref(ref: Any, tools: list[Any]) -> None:
    """A {"type": "function", "name"} or {"type": "mcp", "server_label"[, "name"]} that
    names one of the tools sent."""
    if not isinstance(ref, dict) or ref.get("type") not in ("function", "mcp"):
        raise unsupported("tool_choice", "only function and mcp tools can be chosen")
    if find_tool(tools, ref) is None:
        what = ref.get("name") if ref["type"] == "function" else ref.get("server_label")
        raise RequestError(
            f"Tool choice {ref['type']} {what!r} not found in 'tools' parameter.",
            param="tool_choice",
        )


# ---------------------------------------------------------------- values

_JSON_TYPES = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "decimal",
    list: "array",
    dict: "object",
    type(None): "null",
}


def _type_error(param: str, expected: str, value: Any) -> RequestError:
    got = _JSON_TYPES.get(type(value), "value")
    return RequestError(
        f"Invalid type for '{param}': expected {_article(expected)}, but got "
        f"{_article(got)} instead.",
        param=param,
        code="invalid_type",
    )


def _article(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def _value_error(param: str, value: Any, allowed: tuple[str, ...]) -> RequestError:
    return RequestError(
        f"Invalid value: {value!r}. Supported values are: "
        + ", ".join(repr(v) for v in allowed)
        + ".",
        param=param,
        code="invalid_value",
    )


def _typed(body: dict[str, Any], name: str, kind: type, *, prefix: str = "") -> None:
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise _type_error(prefix + name, _JSON_TYPES.get(kind, "value"), value)


def _one_of(body: dict[str, Any], name: str, allowed: tuple[str, ...], *, prefix="") -> None:
    value = body.get(name)
    if value is not None and value not in allowed:
        raise _value_error(prefix + name, value, allowed)


def _number(body: dict[str, Any], name: str, low: float, high: float) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _type_error(name, "decimal", value)
    if value < low:
        raise RequestError(
            f"Invalid '{name}': decimal below minimum value. Expected a value >= {low}, but "
            f"got {value} instead.",
            param=name,
            code="decimal_below_min_value",
        )
    if value > high:
        raise RequestError(
            f"Invalid '{name}': decimal above maximum value. Expected a value <= {high}, but "
            f"got {value} instead.",
            param=name,
            code="decimal_above_max_value",
        )


def _integer(body: dict[str, Any], name: str, low: int, high: int | None = None) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error(name, "integer", value)
    if value < low:
        raise RequestError(
            f"Invalid '{name}': integer below minimum value. Expected a value >= {low}, but "
            f"got {value} instead.",
            param=name,
            code="integer_below_min_value",
        )
    if high is not None and value > high:
        raise RequestError(
            f"Invalid '{name}': integer above maximum value. Expected a value <= {high}, but "
            f"got {value} instead.",
            param=name,
            code="integer_above_max_value",
        )
