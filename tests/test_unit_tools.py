"""Tool presets, unit by unit: names and descriptions, every validation message, the
JSON-Schema check, the form helpers, and secrets filled only on the wire (tui.tools, pure)."""

from __future__ import annotations

import pytest
from ids import plain

from tui.api import jsonlimits
from tui.tools import (
    Preset,
    ToolError,
    Validation,
    approval_value,
    bounded_json,
    check_json_schema,
    describe_tool,
    env_refs,
    parse_header_lines,
    parse_tool_json,
    resolve_tools,
    scrub,
    server_name,
    split_list,
    tool_label,
    validate_preset,
    validate_tool,
)

URL = "https://mcp.example.com/mcp"
MCP = {"type": "mcp", "server_label": "gh", "server_url": URL}
FUNCTION = {"type": "function", "name": "get_weather"}


def errors_of(tool):
    result = validate_tool(tool)
    assert result.tool is None
    return result.errors


def accepted(tool):
    result = validate_tool(tool)
    assert result.errors == {}
    assert result.ok and result.tool is tool
    return True


# ------------------------------------------------------------------ presets and names


@pytest.mark.parametrize(
    ("tool", "kind"),
    [
        ({"type": "mcp"}, "mcp"),
        ({"type": "sse"}, "sse"),
        ({"type": "function"}, "function"),
        ({"type": "web_search"}, "raw"),
        ({}, "raw"),
    ],
)
def test_preset_kind(tool, kind):
    assert Preset("p", tool).kind == kind


def test_preset_documents():
    preset = Preset("gh", MCP)
    assert preset.to_doc() == {"name": "gh", "tool": MCP}
    assert preset.label() == "gh"
    assert Preset.from_doc({}) == Preset("", {})
    assert Preset.from_doc({"name": 5, "tool": None}) == Preset("5", {})
    read = Preset.from_doc({"name": "gh", "tool": MCP})
    assert read == Preset("gh", MCP) and read.tool is not MCP


def test_validation_first_names_the_first_problem():
    assert Validation().first() == ""
    assert Validation().ok is True
    result = Validation({"server_url": "has no host name", "headers": "bad"})
    assert result.first() == "server_url: has no host name"
    assert result.ok is False


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://mcp.deepwiki.com/mcp", "mcp.deepwiki.com"),
        ("  https://User:pw@MCP.Example.com:8080/x  ", "mcp.example.com"),
        ("http://[::1/", ""),
        ("no scheme", ""),
        ("", ""),
        (None, ""),
        (5, ""),
    ],
)
def test_server_name(url, name):
    assert server_name(url) == name


@pytest.mark.parametrize(
    ("tool", "label"),
    [
        ({"server_label": "gh", "name": "n", "server_url": URL, "type": "mcp"}, "gh"),
        ({"server_label": "", "name": "n", "type": "mcp"}, "n"),
        ({"name": 7, "type": "function"}, "7"),
        ({"server_label": None, "server_url": URL, "type": "mcp"}, "mcp.example.com"),
        ({"server_url": "not a url", "type": "sse"}, "sse"),
        ({"server_url": 5, "type": "mcp"}, "mcp"),
        ({"type": "web_search"}, "web_search"),
        ({"type": ""}, "tool"),
        ({}, "tool"),
    ],
)
def test_tool_label(tool, label):
    assert tool_label(tool) == label


@pytest.mark.parametrize(
    ("tool", "text"),
    [
        (MCP, f"mcp gh · {URL}"),
        ({**MCP, "type": "sse", "require_approval": "never"}, f"sse gh · {URL}, approval never"),
        (
            {**MCP, "require_approval": {"always": {"tool_names": ["x"]}}},
            f"mcp gh · {URL}, approval per tool",
        ),
        ({**MCP, "require_approval": 5}, f"mcp gh · {URL}"),
        ({"type": "mcp", "server_label": "gh"}, "mcp gh · "),
        (
            {"type": "function", "description": "Weather  for\na city"},
            "function · Weather for a city",
        ),
        ({"type": "function", "description": "d" * 60}, "function · " + "d" * 49 + "…"),
        ({"type": "function", "description": None}, "function · "),
        ({"type": "function"}, "function · "),
        ({"type": "web_search"}, "web_search"),
        ({}, "None"),
    ],
)
def test_describe_tool(tool, text):
    assert describe_tool(tool) == text


# ------------------------------------------------------------------ MCP and SSE tools


@pytest.mark.parametrize("kind", ["mcp", "sse"])
@pytest.mark.parametrize(
    ("url", "message"),
    [
        (None, "required: the server's URL"),
        (5, "required: the server's URL"),
        ("   ", "required: the server's URL"),
        (
            "https://x.com:abc/",
            "is not a valid URL (Port could not be cast to integer value as 'abc')",
        ),
        ("http://[::1/", "is not a valid URL (Invalid IPv6 URL)"),
        ("ftp://x.com", "must start with https:// (or http://)"),
        ("x.com/mcp", "must start with https:// (or http://)"),
        ("https:///mcp", "has no host name"),
        ("https://exa mple.com/", "has no host name"),
    ],
)
def test_server_url_messages(kind, url, message):
    assert errors_of({"type": kind, "server_url": url}) == {"server_url": message}


@pytest.mark.parametrize(
    "url", ["https://x.com", "http://localhost:8080/mcp", "  https://x.com/mcp  ", "HTTPS://x.com"]
)
def test_good_server_urls(url):
    assert accepted({"type": "mcp", "server_url": url})


@pytest.mark.parametrize(
    ("label", "ok"),
    [
        (None, True),
        ("", True),
        ("a", True),
        ("gh.tools-v2_x", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("has space", False),
        ("a/b", False),
        (5, False),
        (["gh"], False),
    ],
)
def test_server_label_rule(label, ok):
    tool = {**MCP, "server_label": label}
    if ok:
        assert accepted(tool)
    else:
        rule = "letters, digits, _ . - (up to 64), or none at all"
        said = {
            "x" * 65: f"too long: 65 characters ({rule})",
            "has space": f"{rule}: not space",
            "a/b": f"{rule}: not '/'",
        }
        assert errors_of(tool) == {
            "server_label": said.get(label, rule) if isinstance(label, str) else rule
        }


@pytest.mark.parametrize(
    ("allowed", "ok"),
    [
        (None, True),
        ([], True),
        (["search", "read"], True),
        (["search", ""], False),
        (["search", 5], False),
        ("search", False),
        ({"search": 1}, False),
    ],
)
def test_allowed_tools_rule(allowed, ok):
    tool = {**MCP, "allowed_tools": allowed}
    if ok:
        assert accepted(tool)
    else:
        assert errors_of(tool) == {"allowed_tools": "must be a list of tool names"}


@pytest.mark.parametrize(
    ("approval", "ok"),
    [
        (None, True),
        ("never", True),
        ("always", True),
        ({}, True),
        ({"always": {"tool_names": ["x"]}}, True),
        ({"never": {"tool_names": []}, "always": {"tool_names": ["y"]}}, True),
        ({"always": {}}, True),
        ("sometimes", False),
        ("", False),
        (True, False),
        ({"sometimes": {"tool_names": []}}, False),
        ({"always": {"tool_names": []}, "other": {}}, False),
        ({"always": ["x"]}, False),
        ({"always": {"tool_names": "x"}}, False),
        ({"always": {"tool_names": ["x"]}, "never": {"tool_names": None}}, False),
        (["always"], False),
    ],
)
def test_require_approval_rule(approval, ok):
    tool = {**MCP, "require_approval": approval}
    if ok:
        assert accepted(tool)
    else:
        assert errors_of(tool) == {
            "require_approval": 'must be "never", "always" or {"always": {"tool_names": [...]}}'
        }


SECRET_MESSAGE = (
    "header {!r} holds a literal secret: write it as ${{VARIABLE}} "
    "(the value stays in your environment, never in the index)"
)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (None, None),
        ({}, None),
        ({"X-Team": "core", "Accept": "text/event-stream"}, None),
        ({"Authorization": "Bearer ${TOKEN}"}, None),
        ({"X-Api-Key": "${KEY}"}, None),
        ("Authorization: x", "must be an object of name: value"),
        ([["X", "y"]], "must be an object of name: value"),
        ({"bad header": "x"}, "bad header name 'bad header'"),
        ({"": "x"}, "bad header name ''"),
        ({5: "x"}, "bad header name 5"),
        ({"X-Team": 5}, "header 'X-Team': the value must be text"),
        ({"X-Team": None}, "header 'X-Team': the value must be text"),
        ({"Authorization": "Bearer sk-live"}, SECRET_MESSAGE.format("Authorization")),
        ({"X-Auth-Token": "abc"}, SECRET_MESSAGE.format("X-Auth-Token")),
        ({"Client-Secret": "abc"}, SECRET_MESSAGE.format("Client-Secret")),
        ({"X-API-KEY": "abc"}, SECRET_MESSAGE.format("X-API-KEY")),
        ({"Password": "abc"}, SECRET_MESSAGE.format("Password")),
        ({"cookie": "a=b"}, SECRET_MESSAGE.format("cookie")),
        ({"Authorization": "Bearer $TOKEN"}, SECRET_MESSAGE.format("Authorization")),
        (
            {"X-Team": "core", "X-Token": "abc", "bad name": "x"},
            SECRET_MESSAGE.format("X-Token"),
        ),
    ],
)
def test_header_messages(headers, message):
    tool = {**MCP, "headers": headers}
    if message is None:
        assert accepted(tool)
    else:
        assert errors_of(tool) == {"headers": message}


def test_every_problem_of_an_mcp_tool_is_reported_at_once():
    tool = {
        "type": "mcp",
        "server_label": "bad label",
        "server_url": "ftp://x",
        "allowed_tools": "a",
        "require_approval": "maybe",
        "headers": {"Token": "literal"},
    }
    assert list(errors_of(tool)) == [
        "server_label",
        "server_url",
        "allowed_tools",
        "require_approval",
        "headers",
    ]


# ------------------------------------------------------------------ other tools


@pytest.mark.parametrize(
    ("tool", "errors"),
    [
        (None, {"json": "a tool must be a JSON object"}),
        ([MCP], {"json": "a tool must be a JSON object"}),
        ({}, {"type": "required: the tool type (mcp, sse, function, or a built-in type)"}),
        (
            {"type": "  ", "server_url": 5},
            {"type": "required: the tool type (mcp, sse, function, or a built-in type)"},
        ),
        (
            {"type": 5, "name": "bad name"},
            {"type": "required: the tool type (mcp, sse, function, or a built-in type)"},
        ),
        ({"type": "function"}, {"name": "required: letters, digits, _ and - (up to 64)"}),
        (  # an invalid name says what is wrong with it, not "required"
            {"type": "function", "name": "get weather"},
            {"name": "letters, digits, _ and - (up to 64): not space"},
        ),
        (
            {"type": "function", "name": "x" * 65},
            {"name": "too long: 65 characters (letters, digits, _ and - (up to 64))"},
        ),
        (
            {"type": "function", "name": "a.b/c\x1b"},
            {"name": "letters, digits, _ and - (up to 64): not U+001B, '.', '/'"},
        ),
        (
            {"type": "function", "name": ""},
            {"name": "required: letters, digits, _ and - (up to 64)"},
        ),
        ({**FUNCTION, "description": 5}, {"description": "must be text"}),
        (
            {**FUNCTION, "parameters": {"type": "string"}},
            {"parameters": "parameters.type: function parameters must be an object schema"},
        ),
        (
            {**FUNCTION, "parameters": None},
            {"parameters": "parameters: a schema must be an object"},
        ),
        (
            {"type": "function", "name": 5, "description": [], "parameters": []},
            {
                "name": "required: letters, digits, _ and - (up to 64)",
                "description": "must be text",
                "parameters": "parameters: a schema must be an object",
            },
        ),
        ({"type": "web_search", "filters": {1, 2}}, {"json": "not serialisable as JSON"}),
    ],
    ids=lambda v: plain(v, 50),
)
def test_tool_errors(tool, errors):
    assert errors_of(tool) == errors


def test_a_tool_that_refers_to_itself_is_not_serialisable():
    tool = {"type": "web_search"}
    tool["self"] = tool
    assert errors_of(tool) == {"json": "not serialisable as JSON"}


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "function", "name": "x" * 64},
        {"type": "function", "name": "get-weather_2", "description": "d"},
        {"type": "function", "name": "f", "description": None},
        {"type": "function", "name": "f", "parameters": {"type": "object"}},
        {"type": "function", "name": "f", "parameters": True},
        {"type": "web_search", "anything": [1, {"a": None}]},
        {"type": "code_interpreter", "container": {"type": "auto"}},
    ],
    ids=lambda v: plain(v, 50),
)
def test_good_tools(tool):
    assert accepted(tool)


# ------------------------------------------------------------------ JSON Schema


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"type": "object"}, None),
        ({}, None),
        (True, None),
        ({"type": ["object", "null"]}, None),
        ({"type": ["null", "object"]}, None),
        ({"type": "object", "properties": {"a": True, "b": False}}, None),
        ({"type": "object", "required": ["a"]}, None),  # nothing to check it against
        ({"type": "object", "properties": {"a": {}}, "required": ["a"]}, None),
        ({"type": "object", "properties": {"a": {"enum": [1]}}}, None),
        ({"type": "object", "additionalProperties": False}, None),
        ({"type": "object", "additionalProperties": {"type": "string"}}, None),
        ({"type": "object", "description": "d", "title": "t"}, None),
        (5, "parameters: a schema must be an object"),
        (None, "parameters: a schema must be an object"),
        ([], "parameters: a schema must be an object"),
        ({"type": "strin"}, "parameters.type: 'strin' is not a JSON type"),
        ({"type": ["object", "nul"]}, "parameters.type: 'nul' is not a JSON type"),
        ({"type": []}, "parameters.type: [] is not a JSON type"),
        ({"type": 5}, "parameters.type: 5 is not a JSON type"),
        ({"type": "string"}, "parameters.type: function parameters must be an object schema"),
        (
            {"type": ["string", "null"]},
            "parameters.type: function parameters must be an object schema",
        ),
        ({"properties": []}, "parameters.properties: must be an object of schemas"),
        ({"properties": {"a": 5}}, "parameters.properties.a: a schema must be an object"),
        ({"required": "a"}, "parameters.required: must be a list of property names"),
        ({"required": ["a", 1]}, "parameters.required: must be a list of property names"),
        (
            {"properties": {"a": {}}, "required": ["a", "b", "c"]},
            "parameters.required: 'b' is not a property",
        ),
        ({"enum": []}, "parameters.enum: must be a non-empty list"),
        ({"enum": "a"}, "parameters.enum: must be a non-empty list"),
        ({"anyOf": []}, "parameters.anyOf: must be a non-empty list of schemas"),
        ({"oneOf": {}}, "parameters.oneOf: must be a non-empty list of schemas"),
        ({"allOf": "x"}, "parameters.allOf: must be a non-empty list of schemas"),
        ({"anyOf": [{}, 5]}, "parameters.anyOf[1]: a schema must be an object"),
        ({"oneOf": [{"type": "x"}]}, "parameters.oneOf[0].type: 'x' is not a JSON type"),
        ({"allOf": [{}, {}, {"enum": []}]}, "parameters.allOf[2].enum: must be a non-empty list"),
        (
            {"additionalProperties": "no"},
            "parameters.additionalProperties: must be true, false or a schema",
        ),
        (
            {"additionalProperties": {"type": "x"}},
            "parameters.additionalProperties.type: 'x' is not a JSON type",
        ),
        ({"description": 5}, "parameters.description: must be text"),
        ({"title": None}, "parameters.title: must be text"),
        ({"items": 5}, "parameters.items: a schema must be an object"),
        ({"items": None}, "parameters.items: a schema must be an object"),
        ({"items": [{}, {"type": "x"}]}, "parameters.items[1].type: 'x' is not a JSON type"),
        (
            {"properties": {"a": {"type": "array", "items": {"properties": {"b": {"title": 1}}}}}},
            "parameters.properties.a.items.properties.b.title: must be text",
        ),
    ],
    ids=lambda v: plain(v, 50),
)
def test_check_json_schema(schema, problem):
    assert check_json_schema(schema) == problem


def test_check_json_schema_names_the_path_it_was_given():
    assert check_json_schema({"type": "x"}, "schema") == "schema.type: 'x' is not a JSON type"
    assert check_json_schema({"type": "string"}, "schema") == (
        "schema.type: function parameters must be an object schema"
    )


def test_nested_schemas_may_be_of_any_type():
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "array", "items": {"type": "null"}}},
        "anyOf": [{"type": "integer"}],
    }
    assert check_json_schema(schema) is None


def test_every_schema_in_a_list_is_checked_not_only_the_first():
    assert check_json_schema({"properties": {"a": {}, "b": {"type": "bad"}, "c": {}}}) == (
        "parameters.properties.b.type: 'bad' is not a JSON type"
    )
    # A schema that is `true` or `false` accepts or refuses anything: its siblings still count.
    assert check_json_schema({"properties": {"a": {"type": "bad"}, "b": True}}) == (
        "parameters.properties.a.type: 'bad' is not a JSON type"
    )
    assert check_json_schema({"anyOf": [{"type": "bad"}, {}]}) == (
        "parameters.anyOf[0].type: 'bad' is not a JSON type"
    )


# ------------------------------------------------------------------ preset names


@pytest.mark.parametrize(
    ("name", "taken", "message"),
    [
        ("gh", (), None),
        ("my tools-v1.2_x", (), None),
        ("n" * 48, (), None),
        ("  padded  ", (), None),
        ("", (), "required: a name to find it by"),
        ("   ", (), "required: a name to find it by"),
        ("n" * 49, (), "too long: 49 characters (letters, digits, space _ . - (up to 48))"),
        ("a/b", (), "letters, digits, space _ . - (up to 48): not '/'"),
        ("gh", ("gh", "other"), "there is already a preset named 'gh'"),
        (" gh ", ["gh"], "there is already a preset named 'gh'"),
        # A one-shot iterator, made afresh for each run (a shared one is used up after one).
        ("gh", lambda: iter(["x", "gh"]), "there is already a preset named 'gh'"),
        ("gh2", ("gh",), None),
    ],
)
def test_preset_name_rules(name, taken, message):
    result = validate_preset(name, MCP, taken() if callable(taken) else taken)
    if message is None:
        assert result.errors == {} and result.tool is MCP
    else:
        assert result.errors == {"preset_name": message}
        assert result.tool is None


def test_a_preset_reports_the_tools_problems_and_its_names():
    result = validate_preset("", {"type": "mcp", "server_url": ""})
    assert result.errors == {
        "server_url": "required: the server's URL",
        "preset_name": "required: a name to find it by",
    }
    assert result.tool is None
    result = validate_preset("ok", {"type": "mcp", "server_url": ""})
    assert result.errors == {"server_url": "required: the server's URL"} and result.tool is None


def test_preset_names_default_to_none_taken():
    assert validate_preset("gh", MCP).ok


# ------------------------------------------------------------------ typed JSON


def test_parse_tool_json():
    assert parse_tool_json('{"type": "mcp"}') == ({"type": "mcp"}, None)
    assert parse_tool_json('{"type": "mcp",, }') == (
        None,
        "invalid JSON at line 1, column 16: Expecting property name enclosed in double quotes",
    )
    assert parse_tool_json('{\n  "a": 1\n  "b": 2}') == (
        None,
        "invalid JSON at line 3, column 3: Expecting ',' delimiter",
    )
    assert parse_tool_json("[1, 2]") == (None, "a tool must be a JSON object")
    assert parse_tool_json('"text"') == (None, "a tool must be a JSON object")
    deep = "[" * 150 + "]" * 150
    assert parse_tool_json(deep) == (None, "the JSON nests more than 100 levels deep")


def test_bounded_json_allows_exactly_the_maximum_depth():
    depth = jsonlimits.MAX_DEPTH
    assert bounded_json("[" * depth + "]" * depth) is not None
    with pytest.raises(ValueError) as raised:
        bounded_json("[" * (depth + 1) + "]" * (depth + 1))
    assert str(raised.value) == f"the JSON nests more than {depth} levels deep"
    assert bounded_json('{"a": [1]}') == {"a": [1]}


def test_bounded_json_refuses_what_the_parser_cannot_nest():
    with pytest.raises(ValueError) as raised:
        bounded_json("[" * 200_000 + "]" * 200_000)
    assert str(raised.value) == "the JSON is nested too deeply to read"


# ------------------------------------------------------------------ form helpers


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a, b  c,,d\n e", ["a", "b", "c", "d", "e"]),
        (" , ", []),
        ("", []),
        (None, []),
        ("one", ["one"]),
    ],
)
def test_split_list(text, parts):
    assert split_list(text) == parts


@pytest.mark.parametrize(
    ("text", "headers", "error"),
    [
        (
            "Authorization: Bearer ${T}\nX-Team: core\n\n",
            {"Authorization": "Bearer ${T}", "X-Team": "core"},
            None,
        ),
        ("  X-A :  a:b  ", {"X-A": "a:b"}, None),
        ("X-Empty:", {"X-Empty": ""}, None),
        ("", {}, None),
        (None, {}, None),
        ("no colon here", {}, "line 1: expected 'Name: value'"),
        ("X-A: 1\n\n   \n: value", {"X-A": "1"}, "line 4: expected 'Name: value'"),
        ("X-A: 1\n  : v\nX-B: 2", {"X-A": "1"}, "line 2: expected 'Name: value'"),
    ],
)
def test_parse_header_lines(text, headers, error):
    assert parse_header_lines(text) == (headers, error)


@pytest.mark.parametrize(
    ("mode", "names", "value"),
    [
        ("not sent", ["x"], None),
        ("per tool", ["x", "y"], {"always": {"tool_names": ["x", "y"]}}),
        ("per tool", [], {"always": {"tool_names": []}}),
        ("never", ["x"], "never"),
        ("always", [], "always"),
    ],
)
def test_approval_value(mode, names, value):
    assert approval_value(mode, names) == value


# ------------------------------------------------------------------ secrets


def test_env_refs_finds_every_reference_at_any_depth():
    value = {
        "headers": {"Authorization": "Bearer ${TOKEN} ${OTHER_1}"},
        "list": ["${_X}", {"deep": ["${Y}"]}, 5, None],
        "not": "$PLAIN ${1BAD} ${bad-name} {X}",
        "${KEY_NAME}": "keys are not values",
    }
    assert sorted(env_refs(value)) == ["OTHER_1", "TOKEN", "Y", "_X"]
    assert env_refs("${A}${A}") == ["A", "A"]
    assert env_refs(7) == []


def test_resolve_tools_fills_every_string_and_keeps_the_rest():
    tools = [
        {
            "type": "mcp",
            "headers": {"Authorization": "Bearer ${TOKEN}", "X": "${A}-${B}"},
            "list": ["${A}", 3, {"n": None}],
            "flag": True,
        },
        {"type": "function", "name": "f"},
    ]
    env = {"TOKEN": "tok-1", "A": "aa", "B": "bb", "UNUSED": "zz"}
    wire, secrets = resolve_tools(tools, env)
    assert wire == [
        {
            "type": "mcp",
            "headers": {"Authorization": "Bearer tok-1", "X": "aa-bb"},
            "list": ["aa", 3, {"n": None}],
            "flag": True,
        },
        {"type": "function", "name": "f"},
    ]
    assert secrets == ["tok-1", "aa", "bb", "aa"]
    assert tools[0]["headers"]["Authorization"] == "Bearer ${TOKEN}"
    assert tools[0]["list"][0] == "${A}"
    assert resolve_tools([], env) == ([], [])


@pytest.mark.parametrize("env", [{}, {"TOKEN": ""}, {"token": "x"}])
def test_a_variable_not_set_or_empty_is_named(env):
    with pytest.raises(ToolError) as raised:
        resolve_tools([{"h": ["ok", "${TOKEN}"]}], env)
    assert str(raised.value) == "the tool 'tool' needs $TOKEN, which is not set in the environment"


def test_a_variable_not_set_names_the_tool_that_needs_it():
    tools = [
        {"type": "mcp", "server_label": "docs", "headers": {"A": "Bearer ${DOCS}"}},
        {"type": "mcp", "server_label": "git\x1b[31m", "headers": {"A": "Bearer ${GIT}"}},
    ]
    with pytest.raises(ToolError) as raised:
        resolve_tools(tools, {"GIT": "x"})
    assert str(raised.value) == "the tool 'docs' needs $DOCS, which is not set in the environment"
    with pytest.raises(ToolError) as raised:
        resolve_tools(tools, {"DOCS": "x"})
    assert "\x1b" not in str(raised.value) and "$GIT" in str(raised.value)


def test_scrub_replaces_each_secret_longest_first():
    value = {
        "a": "key abcdef and abcd",
        "b": ["abcdefgh", 5, None, {"c": "xabcdx"}],
        "abcd": "keys stay",
    }
    clean = scrub(value, ["abcd", "abcdef"])
    assert clean == {
        "a": "key *** and ***",
        "b": ["***gh", 5, None, {"c": "x***x"}],
        "abcd": "keys stay",
    }
    assert value["a"] == "key abcdef and abcd"  # a copy


def test_scrub_leaves_short_and_empty_secrets_alone():
    value = {"a": "k abc abcd"}
    assert scrub(value, ["abc", "", "k"]) is value
    assert scrub(value, ["abcd", "abc"]) == {"a": "k abc ***"}
    assert scrub(value, []) is value
    assert scrub(value, iter(["abcd"])) == {"a": "k abc ***"}
    assert scrub("abcd abcd", ["abcd"]) == "*** ***"
    assert scrub(12, ["abcd"]) == 12
