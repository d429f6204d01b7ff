"""Tool presets: validation, JSON Schema checks, secrets resolved only on the wire."""

from __future__ import annotations

import pytest

from tui.tools import (
    Preset,
    ToolError,
    check_json_schema,
    parse_header_lines,
    parse_tool_json,
    resolve_tools,
    scrub,
    validate_preset,
    validate_tool,
)

MCP = {
    "type": "mcp",
    "server_label": "github",
    "server_url": "https://mcp.example.com/mcp",
    "require_approval": "never",
    "headers": {"Authorization": "Bearer ${GITHUB_TOKEN}"},
}
FUNCTION = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
}


@pytest.mark.parametrize(
    "tool",
    [
        MCP,
        {"type": "sse", "server_url": "https://gitmcp.io/docs"},
        FUNCTION,
        {"type": "web_search"},
        {**MCP, "require_approval": {"always": {"tool_names": ["delete_repo"]}}},
        {**MCP, "allowed_tools": ["search", "read"]},
    ],
)
def test_valid_tools(tool):
    result = validate_tool(tool)
    assert result.ok, result.errors
    assert result.tool == tool


@pytest.mark.parametrize(
    ("tool", "field", "words"),
    [
        ({**MCP, "server_url": "ftp://x"}, "server_url", "https://"),
        ({**MCP, "server_url": "not a url"}, "server_url", "https://"),
        ({**MCP, "server_url": ""}, "server_url", "required"),
        ({**MCP, "server_label": "has space"}, "server_label", "letters"),
        ({**MCP, "require_approval": "sometimes"}, "require_approval", "never"),
        ({**MCP, "allowed_tools": "search"}, "allowed_tools", "list"),
        ({**MCP, "headers": {"Authorization": "Bearer sk-live-123"}}, "headers", "${VARIABLE}"),
        ({**MCP, "headers": {"X-Api-Key": "abc"}}, "headers", "literal secret"),
        ({**MCP, "headers": {"bad header": "x"}}, "headers", "bad header name"),
        ({"type": "sse", "server_url": "http:/nohost"}, "server_url", "host"),
        ({**FUNCTION, "name": "get weather"}, "name", "letters"),
        ({**FUNCTION, "parameters": {"type": "strin"}}, "parameters", "not a JSON type"),
        ({**FUNCTION, "parameters": {"type": "string"}}, "parameters", "object schema"),
        (
            {**FUNCTION, "parameters": {"type": "object", "properties": {"a": 5}}},
            "parameters",
            "must be an object",
        ),
        (
            {**FUNCTION, "parameters": {"type": "object", "required": ["nope"], "properties": {}}},
            "parameters",
            "'nope' is not a property",
        ),
        ({"description": "no type"}, "type", "required"),
    ],
)
def test_invalid_tools_name_the_field(tool, field, words):
    result = validate_tool(tool)
    assert not result.ok and result.tool is None
    assert field in result.errors, result.errors
    assert words in result.errors[field]


def test_json_schema_checker_walks_nested_schemas():
    schema = {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {"x": {"type": "nope"}}},
            }
        },
    }
    problem = check_json_schema(schema)
    assert problem is not None and "parameters.properties.items.items.properties.x.type" in problem
    assert check_json_schema({"type": "object", "properties": {"a": {"anyOf": []}}}) is not None
    assert check_json_schema({"type": ["object", "null"], "additionalProperties": False}) is None


def test_preset_names_are_required_and_unique():
    assert "preset_name" in validate_preset("", MCP).errors
    assert "already" in validate_preset("gh", MCP, taken={"gh"}).errors["preset_name"]
    assert validate_preset("gh", MCP).ok


def test_bad_json_says_where():
    tool, error = parse_tool_json('{"type": "mcp",, }')
    assert tool is None and "line 1, column" in error
    tool, error = parse_tool_json("[1, 2]")
    assert tool is None and "object" in error


def test_header_lines():
    headers, error = parse_header_lines("Authorization: Bearer ${T}\nX-Team: core\n\n")
    assert error is None and headers == {"Authorization": "Bearer ${T}", "X-Team": "core"}
    assert parse_header_lines("no colon here")[1] == "line 1: expected 'Name: value'"


def test_secrets_are_filled_only_on_the_wire_and_scrubbed_after():
    wire, secrets = resolve_tools([MCP], {"GITHUB_TOKEN": "ghp_secret_value_123"})
    assert wire[0]["headers"]["Authorization"] == "Bearer ghp_secret_value_123"
    assert MCP["headers"]["Authorization"] == "Bearer ${GITHUB_TOKEN}"  # preset untouched
    assert secrets == ["ghp_secret_value_123"]
    echoed = {"tools": wire, "note": "token ghp_secret_value_123 in text"}
    clean = scrub(echoed, secrets)
    assert "ghp_secret_value_123" not in repr(clean)
    assert clean["tools"][0]["headers"]["Authorization"] == "Bearer ***"


def test_missing_env_var_is_named():
    with pytest.raises(ToolError, match=r"\$GITHUB_TOKEN"):
        resolve_tools([MCP], {})


def test_preset_round_trip():
    preset = Preset("gh", MCP)
    assert Preset.from_doc(preset.to_doc()) == preset
    assert preset.kind == "mcp" and preset.label() == "github"
    assert Preset("x", {"type": "web_search"}).kind == "raw"
