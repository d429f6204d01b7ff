"""tui.api.jsonlimits: too-deep JSON is a readable error, depth is counted exactly, and clip
cuts exactly what lies beyond the limit (in place, telling whether it cut)."""

from __future__ import annotations

import json

import pytest

from tui.api.jsonlimits import CLIPPED, MAX_DEPTH, TooDeep, clip, depth, loads, loads_clipped


def nested_list(levels: int, leaf: object = 0) -> object:
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


def test_loads_reads_ordinary_json():
    assert loads('{"a": [1, "x"]}') == {"a": [1, "x"]}
    assert loads(b"[1]") == [1]


def test_too_deep_json_is_a_too_deep_error_naming_what_was_read():
    with pytest.raises(TooDeep) as caught:
        loads("[" * 100_000)
    assert str(caught.value) == "the JSON is nested too deeply to read"
    with pytest.raises(TooDeep) as caught:
        loads("[" * 100_000, "the response body")
    assert str(caught.value) == "the response body is nested too deeply to read"
    assert isinstance(caught.value, ValueError)


def test_loads_clipped_reports_too_deep_json_the_same_way():
    with pytest.raises(TooDeep, match=r"^the JSON is nested too deeply to read$"):
        loads_clipped("[" * 100_000)
    with pytest.raises(TooDeep, match=r"^the stream is nested too deeply to read$"):
        loads_clipped("[" * 100_000, "the stream")


def test_malformed_json_is_still_a_plain_decode_error():
    with pytest.raises(json.JSONDecodeError):
        loads("{")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        ("text", 0),
        (None, 0),
        ([], 1),
        ({}, 1),
        ([1, "a"], 1),
        ({"a": 1}, 1),
        ([[]], 2),
        ({"a": {}}, 2),
        ({"a": {"b": [1]}}, 3),
        ([[], [[[]]], {}], 4),  # the deepest branch counts, not the first or the last
        ({"x": [], "y": {"z": {"w": []}}}, 4),
        (nested_list(250), 250),
    ],
)
def test_depth_counts_the_deepest_container(value, expected):
    assert depth(value) == expected


def test_clip_leaves_a_value_within_the_limit_untouched():
    value = {"a": [{"b": 1}], "c": "x"}
    assert clip(value, 3) is False
    assert value == {"a": [{"b": 1}], "c": "x"}


def test_clip_cuts_exactly_past_the_limit_in_place():
    value = {"keep": [1], "deep": [[["gone"]]], "flat": 2}
    assert clip(value, 3) is True
    assert value == {"keep": [1], "deep": [[CLIPPED]], "flat": 2}
    assert depth(value) == 3


def test_clip_at_depth_one_cuts_every_child_container():
    value = [1, [2], {"a": 3}, "s"]
    assert clip(value, 1) is True
    assert value == [1, CLIPPED, CLIPPED, "s"]


def test_clip_of_a_list_cuts_by_index():
    value = nested_list(5)
    assert clip(value, 2) is True
    assert value == [[CLIPPED]]


def test_clip_of_a_scalar_does_nothing():
    assert clip("text") is False
    assert clip(7, 0) is False
    assert clip(None) is False


def test_clip_default_is_max_depth():
    value = nested_list(MAX_DEPTH)
    assert clip(value) is False
    assert depth(value) == MAX_DEPTH
    deeper = nested_list(MAX_DEPTH + 1)
    assert clip(deeper) is True
    assert depth(deeper) == MAX_DEPTH


def test_loads_clipped_parses_and_cuts_beyond_max_depth():
    text = json.dumps({"a": nested_list(MAX_DEPTH + 20, "leaf")})
    value = loads_clipped(text)
    assert depth(value) == MAX_DEPTH
    assert CLIPPED in json.dumps(value)
    assert loads_clipped('{"a": [1]}') == {"a": [1]}
    assert loads_clipped('"just text"') == "just text"
    assert loads_clipped("3") == 3
