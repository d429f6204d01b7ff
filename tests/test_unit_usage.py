"""tui.api.usage: which figures a usage object yields, from either naming, and which values
are not counts."""

from __future__ import annotations

import math

import pytest

from tui.api.usage import MAX_TOKENS, NO_USAGE, Usage, count, parse_usage, response_usage


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (1, 1),
        (7, 7),
        (MAX_TOKENS - 1, MAX_TOKENS - 1),
        (MAX_TOKENS, None),  # the cap itself is already nonsense
        (-1, None),
        (12.0, 12),
        (0.0, 0),
        (12.5, None),
        (-3.0, None),
        (float(MAX_TOKENS), None),
        (math.nan, None),
        (math.inf, None),
        (-math.inf, None),
        (True, None),
        (False, None),
        ("12", None),
        ("", None),
        (None, None),
        ([3], None),
        ({"n": 3}, None),
    ],
)
def test_count_accepts_only_sane_whole_numbers(value, expected):
    result = count(value)
    assert result == expected
    assert result is None or type(result) is int


def test_usage_in_the_responses_naming():
    usage = {
        "input_tokens": 100,
        "input_tokens_details": {"cached_tokens": 40},
        "output_tokens": 30,
        "output_tokens_details": {"reasoning_tokens": 20},
        "total_tokens": 130,
    }
    assert parse_usage(usage) == Usage(input=100, cached=40, output=30, reasoning=20, total=130)


def test_usage_in_the_chat_completions_naming():
    usage = {
        "prompt_tokens": 11,
        "prompt_tokens_details": {"cached_tokens": 5},
        "completion_tokens": 9,
        "completion_tokens_details": {"reasoning_tokens": 4},
        "total_tokens": 21,
    }
    assert parse_usage(usage) == Usage(input=11, cached=5, output=9, reasoning=4, total=21)


def test_the_responses_names_win_when_both_are_sent():
    usage = {
        "input_tokens": 1,
        "prompt_tokens": 2,
        "output_tokens": 3,
        "completion_tokens": 4,
        "input_tokens_details": {"cached_tokens": 1},
        "prompt_tokens_details": {"cached_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 3},
        "completion_tokens_details": {"reasoning_tokens": 2},
    }
    assert parse_usage(usage) == Usage(input=1, cached=1, output=3, reasoning=3, total=4)


def test_a_nonsense_figure_falls_back_to_the_other_naming_field_by_field():
    usage = {
        "input_tokens": "many",
        "prompt_tokens": 8,
        "output_tokens": -1,
        "completion_tokens": 6,
        "input_tokens_details": {"cached_tokens": None},
        "prompt_tokens_details": {"cached_tokens": 3},
        "output_tokens_details": "none",
        "completion_tokens_details": {"reasoning_tokens": 2},
    }
    assert parse_usage(usage) == Usage(input=8, cached=3, output=6, reasoning=2, total=14)


def test_details_are_read_without_the_figure_they_detail():
    usage = {
        "input_tokens_details": {"cached_tokens": 5},
        "output_tokens_details": {"reasoning_tokens": 7},
    }
    assert parse_usage(usage) == Usage(cached=5, reasoning=7)


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        # a detail equal to its figure is consistent
        (
            {"input_tokens": 5, "input_tokens_details": {"cached_tokens": 5}},
            Usage(input=5, cached=5),
        ),
        (
            {"output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 5}},
            Usage(output=5, reasoning=5),
        ),
        # one more is not, and only the detail is dropped
        (
            {"input_tokens": 5, "input_tokens_details": {"cached_tokens": 6}},
            Usage(input=5),
        ),
        (
            {"output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 6}},
            Usage(output=5),
        ),
        (
            {
                "input_tokens": 2,
                "input_tokens_details": {"cached_tokens": 9},
                "output_tokens": 3,
                "output_tokens_details": {"reasoning_tokens": 1},
            },
            Usage(input=2, output=3, reasoning=1, total=5),
        ),
    ],
)
def test_a_detail_larger_than_its_figure_is_dropped(usage, expected):
    assert parse_usage(usage) == expected


@pytest.mark.parametrize(
    ("usage", "total"),
    [
        ({"input_tokens": 7, "output_tokens": 3}, 10),  # the sum when the server gave none
        ({"input_tokens": 7, "output_tokens": 3, "total_tokens": 12}, 12),  # the server's own
        ({"input_tokens": 7, "output_tokens": 3, "total_tokens": "x"}, 10),
        ({"input_tokens": 7}, None),  # no sum of one side
        ({"output_tokens": 3}, None),
        ({"total_tokens": 4}, 4),
        ({}, None),
    ],
)
def test_the_total_is_the_servers_own_else_the_sum_of_both_sides(usage, total):
    assert parse_usage(usage).total == total


@pytest.mark.parametrize("usage", [None, "100 tokens", 5, [1, 2], True])
def test_usage_that_is_not_an_object_is_no_usage(usage):
    assert parse_usage(usage) is NO_USAGE


def test_an_empty_object_has_no_figures():
    assert parse_usage({}) == NO_USAGE
    assert parse_usage({}).empty
    assert not Usage(total=0).empty


def test_response_usage_reads_the_usage_field():
    response = {"id": "r", "usage": {"input_tokens": 2, "output_tokens": 1}}
    assert response_usage(response) == Usage(input=2, output=1, total=3)
    assert response_usage({"id": "r"}) is NO_USAGE
    assert response_usage({"usage": "lots"}) is NO_USAGE
    assert response_usage(None) is NO_USAGE
    assert response_usage(["usage"]) is NO_USAGE
