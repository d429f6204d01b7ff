"""More of `tui.tools`: schema types that are not text, and scrubbing secrets that contain
one another."""

from __future__ import annotations

import pytest

from tui.tools import check_json_schema, scrub, validate_tool


def test_a_secret_inside_a_longer_one_does_not_leave_part_of_the_longer_one():
    # "abcd" sorts after "1abcd": only by length does the longer secret go first.
    value = {"h": "Bearer 1abcd and abcd", "l": ["x1abcdx"]}
    clean = scrub(value, ["abcd", "1abcd"])
    assert clean == {"h": "Bearer *** and ***", "l": ["x***x"]}
    assert scrub(value, ["1abcd", "abcd"]) == clean


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"type": {}}, "parameters.type: {} is not a JSON type"),
        ({"type": ["object", []]}, "parameters.type: [] is not a JSON type"),
        (
            {"type": "object", "properties": {"a": {"type": {"x": 1}}}},
            "parameters.properties.a.type: {'x': 1} is not a JSON type",
        ),
    ],
)
def test_a_type_that_is_a_list_or_an_object_is_refused_not_a_crash(schema, problem):
    assert check_json_schema(schema) == problem
    tool = {"type": "function", "name": "f", "parameters": schema}
    assert validate_tool(tool).errors == {"parameters": problem}
