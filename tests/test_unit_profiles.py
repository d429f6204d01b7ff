"""tui.api.profiles: where the key and headers come from, what a bad value or name is told in
words, which values count as secrets, and what a saved profile round-trips to."""

from __future__ import annotations

import pytest

from tui.api.errors import MissingApiKey
from tui.api.profiles import (
    BUILTIN_PROFILES,
    LOCAL_BASE_URL,
    Profile,
    UnsendableValue,
    default_profile_name,
    profile_from_dict,
    profile_to_dict,
    resolve_profile,
    validate_base_url,
    validate_headers,
    validate_profile_name,
    validate_variable_name,
)

UNSENDABLE = (
    "holds a character that cannot be sent in an HTTP header "
    "(non-ASCII, a line break or another control character): check its value"
)

LAB = Profile(name="lab", base_url="https://lab.example/v1", api_key_env="LAB_KEY")


# ------------------------------------------------------------------ the key


def test_the_key_comes_from_its_variable_without_surrounding_blanks():
    assert LAB.api_key({"LAB_KEY": "  sk-123\n"}) == "sk-123"


@pytest.mark.parametrize("env", [{}, {"LAB_KEY": ""}, {"LAB_KEY": "  \t"}, {"OTHER": "sk"}])
def test_a_missing_key_names_the_variable_and_the_way_out(env):
    with pytest.raises(MissingApiKey) as caught:
        LAB.api_key(env)
    assert str(caught.value) == (
        "the lab profile needs an API key: set LAB_KEY "
        "(or choose another profile with --profile; `local` needs none)"
    )
    assert not isinstance(caught.value, UnsendableValue)


def test_a_profile_without_a_key_variable_needs_no_key():
    assert BUILTIN_PROFILES["local"].api_key({}) is None
    assert Profile(name="x", base_url="http://h", api_key_env="").api_key({"": "k"}) is None


@pytest.mark.parametrize("key", ["sk-é", "sk\x00x", "sk\x7f", "a\rb", "a\nb"])
def test_a_key_that_cannot_be_sent_names_the_variable_not_the_value(key):
    with pytest.raises(UnsendableValue) as caught:
        LAB.api_key({"LAB_KEY": key})
    assert str(caught.value) == f"the API key in $LAB_KEY {UNSENDABLE}"
    assert isinstance(caught.value, MissingApiKey)


def test_a_key_with_inner_spaces_and_tabs_is_sendable():
    assert LAB.api_key({"LAB_KEY": "a b\tc"}) == "a b\tc"


# ------------------------------------------------------------------ headers


def test_headers_fill_in_every_reference_and_keep_literals():
    profile = Profile(
        name="p",
        base_url="http://h",
        headers={"Authorization": "Bearer ${TOKEN}", "X-Pair": "${A}:${B}", "X-Plain": "v 1"},
    )
    env = {"TOKEN": "t0k", "A": "left", "B": "right"}
    assert profile.resolved_headers(env) == {
        "Authorization": "Bearer t0k",
        "X-Pair": "left:right",
        "X-Plain": "v 1",
    }


def test_no_headers_resolve_to_an_empty_dict():
    assert LAB.resolved_headers({"LAB_KEY": "k"}) == {}


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "A"),  # the first one missing is named
        ({"A": "1"}, "B"),
        ({"A": "", "B": "2"}, "A"),  # set but empty counts as missing
    ],
)
def test_a_header_whose_variable_is_unset_names_it(env, missing):
    profile = Profile(name="p", base_url="http://h", headers={"X-Pair": "${A}:${B}"})
    with pytest.raises(MissingApiKey) as caught:
        profile.resolved_headers(env)
    assert (
        str(caught.value) == f"header 'X-Pair' of the p profile needs ${missing}, which is not set"
    )


def test_a_variable_in_a_header_that_cannot_be_sent_is_named_with_its_header():
    profile = Profile(name="p", base_url="http://h", headers={"X-Token": "Bearer ${TOKEN}"})
    with pytest.raises(UnsendableValue) as caught:
        profile.resolved_headers({"TOKEN": "line\r\nX-Evil: 1"})
    assert str(caught.value) == f"$TOKEN (header 'X-Token' of the p profile) {UNSENDABLE}"


def test_a_literal_header_value_that_cannot_be_sent_is_named_by_its_header():
    profile = Profile(name="p", base_url="http://h", headers={"X-Note": "café"})
    with pytest.raises(UnsendableValue) as caught:
        profile.resolved_headers({})
    assert str(caught.value) == f"header 'X-Note' of the p profile {UNSENDABLE}"


def test_optional_headers_are_sent_only_when_their_variable_is_set():
    fireworks = BUILTIN_PROFILES["fireworks"]
    assert fireworks.resolved_headers({}) == {}
    assert fireworks.resolved_headers({"FIREWORKS_ACCOUNT_ID": ""}) == {}
    assert fireworks.resolved_headers({"FIREWORKS_ACCOUNT_ID": "acct-1"}) == {
        "x-fireworks-account-id": "acct-1"
    }


def test_an_optional_header_that_cannot_be_sent_names_its_variable():
    fireworks = BUILTIN_PROFILES["fireworks"]
    with pytest.raises(UnsendableValue) as caught:
        fireworks.resolved_headers({"FIREWORKS_ACCOUNT_ID": "acct\n1"})
    assert str(caught.value) == (
        f"$FIREWORKS_ACCOUNT_ID (header 'x-fireworks-account-id') {UNSENDABLE}"
    )


def test_optional_headers_come_after_the_profile_headers():
    profile = Profile(
        name="p",
        base_url="http://h",
        headers={"X-A": "1"},
        optional_env_headers={"X-B": "B_VAR"},
    )
    assert list(profile.resolved_headers({"B_VAR": "2"}).items()) == [("X-A", "1"), ("X-B", "2")]


# ------------------------------------------------------------------ secrets


def test_secrets_are_the_key_and_every_value_filled_from_the_environment():
    profile = Profile(
        name="p",
        base_url="http://h",
        api_key_env="KEY",
        headers={"X-Pair": "${A}:${B}", "X-Short": "tiny"},
    )
    env = {"KEY": "the-key", "A": "alpha", "B": "beta"}
    assert profile.secrets(env) == ["the-key", "alpha", "beta"]


def test_unset_variables_are_not_secrets():
    profile = Profile(name="p", base_url="http://h", api_key_env="KEY", headers={"X": "${A}"})
    assert profile.secrets({}) == []
    assert profile.secrets({"KEY": "", "A": ""}) == []
    assert Profile(name="p", base_url="http://h").secrets({"KEY": "k"}) == []


@pytest.mark.parametrize(
    ("value", "secret"),
    [("1234567", False), ("12345678", True), ("a much longer literal", True)],
)
def test_a_literal_header_of_eight_characters_or_more_counts_as_a_secret(value, secret):
    profile = Profile(name="p", base_url="http://h", headers={"X-Literal": value})
    assert profile.secrets({}) == ([value] if secret else [])


def test_a_header_with_a_reference_is_not_itself_a_secret():
    profile = Profile(name="p", base_url="http://h", headers={"X": "Bearer ${UNSET_VAR}"})
    assert profile.secrets({}) == []


# ------------------------------------------------------------------ choosing a profile


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({}, "local"),
        ({"FIREWORKS_API_KEY": "fw"}, "fireworks"),
        ({"FIREWORKS_API_KEY": "  "}, "local"),
        ({"RESPONSES_TUI_PROFILE": " openai "}, "openai"),
        ({"RESPONSES_TUI_PROFILE": "lab", "FIREWORKS_API_KEY": "fw"}, "lab"),
        ({"RESPONSES_TUI_PROFILE": "  ", "FIREWORKS_API_KEY": "fw"}, "fireworks"),
        ({"RESPONSES_TUI_PROFILE": ""}, "local"),
    ],
)
def test_the_default_profile_is_the_chosen_one_else_fireworks_with_a_key_else_local(env, name):
    assert default_profile_name(env) == name


def test_the_builtin_profiles_resolve_and_only_local_is_offline():
    assert resolve_profile("openai", {}) is BUILTIN_PROFILES["openai"]
    assert resolve_profile("local", {}).local
    assert resolve_profile("local", {}).base_url == LOCAL_BASE_URL
    assert not resolve_profile("fireworks", {}).local


def test_a_custom_profile_wins_over_a_builtin_of_the_same_name():
    mine = Profile(name="openai", base_url="http://proxy.example/v1")
    assert resolve_profile("openai", {}, {"openai": mine}) is mine
    assert resolve_profile("lab", {}, {"lab": LAB}) is LAB
    assert resolve_profile("local", {}, {"lab": LAB}) is BUILTIN_PROFILES["local"]


def test_an_unknown_profile_lists_the_builtins_then_the_custom_ones_sorted():
    with pytest.raises(ValueError) as caught:
        resolve_profile("nope", {}, {"zeta": LAB, "alpha": LAB})
    assert str(caught.value) == (
        "unknown profile 'nope' (known: fireworks, openai, local, alpha, zeta)"
    )
    with pytest.raises(ValueError) as caught:
        resolve_profile("nope", {})
    assert str(caught.value) == "unknown profile 'nope' (known: fireworks, openai, local)"


# ------------------------------------------------------------------ validation


def test_a_profile_name_is_trimmed():
    assert validate_profile_name("  lab one ") == "lab one"
    assert validate_profile_name("é") == "é"


@pytest.mark.parametrize("name", ["", "   ", None])
def test_a_profile_needs_a_name(name):
    with pytest.raises(ValueError) as caught:
        validate_profile_name(name)
    assert str(caught.value) == "a profile needs a name"


@pytest.mark.parametrize("name", ["a\x1bb", "a\u202eb", "lab\x00"])
def test_a_profile_name_with_a_control_character_is_refused(name):
    with pytest.raises(ValueError) as caught:
        validate_profile_name(name)
    assert str(caught.value) == (
        f"bad profile name {name.strip()!r}: control characters are not allowed"
    )


@pytest.mark.parametrize("name", ["LAB_KEY", "lab_key", "_X", "A1", "z"])
def test_good_variable_names(name):
    assert validate_variable_name(name) == name


def test_no_variable_name_is_none():
    assert validate_variable_name(None) is None


@pytest.mark.parametrize("name", ["", "1KEY", "LAB-KEY", "LAB KEY", "KEY\n", "$KEY"])
def test_bad_variable_names(name):
    with pytest.raises(ValueError) as caught:
        validate_variable_name(name)
    assert str(caught.value) == (
        f"bad variable name {name!r}: use letters, digits and _ (e.g. LAB_KEY)"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.example.com/v1", "https://api.example.com/v1"),
        ("  http://localhost:8000/v1/  ", "http://localhost:8000/v1"),
        ("https://h.example//", "https://h.example"),
        ("http://10.0.0.1", "http://10.0.0.1"),
        ("HTTPS://H.example/v1", "HTTPS://H.example/v1"),
        ("http://h.example/X/", "http://h.example/X"),  # only slashes go
    ],
)
def test_a_good_base_url_loses_its_trailing_slashes(url, expected):
    assert validate_base_url(url) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://h.example", "it must start with http:// or https://"),
        ("h.example/v1", "it must start with http:// or https://"),
        ("", "it must start with http:// or https://"),
        ("http://", "no host name"),
        ("http:///v1", "no host name"),
        ("http://h.example/a b", "no host name"),
        ("http://h.example/v1?x=1", "no query or fragment allowed"),
        ("http://h.example/v1#top", "no query or fragment allowed"),
        ("http://h.example:99999/v1", "bad port"),
        ("http://h.example:port/v1", "bad port"),
        ("http://h.example\t/v1", "control characters are not allowed"),
        ("http://h.example/\u202ev1", "control characters are not allowed"),
    ],
)
def test_a_bad_base_url_says_why(url, reason):
    with pytest.raises(ValueError) as caught:
        validate_base_url(url)
    assert str(caught.value) == f"bad base URL {url.strip()!r}: {reason}"


def test_no_base_url_is_refused():
    with pytest.raises(ValueError) as caught:
        validate_base_url(None)
    assert str(caught.value) == "bad base URL '': it must start with http:// or https://"


def test_headers_fit_to_save_are_trimmed():
    headers = {" X-Team ": " blue ", "Authorization": "Bearer ${TOKEN}", "x-api-key": "${K}"}
    assert validate_headers(headers) == {
        "X-Team": "blue",
        "Authorization": "Bearer ${TOKEN}",
        "x-api-key": "${K}",
    }
    assert validate_headers({}) == {}
    assert validate_headers({"a!#$%&'*+.^_`|~-Z9": "v"}) == {"a!#$%&'*+.^_`|~-Z9": "v"}


@pytest.mark.parametrize("name", ["", "  ", "X Team", "X:Team", "Tëam", "X\nY"])
def test_a_bad_header_name_is_refused(name):
    with pytest.raises(ValueError) as caught:
        validate_headers({name: "v"})
    assert str(caught.value) == f"bad header name {name!r}"


@pytest.mark.parametrize(
    "name",
    ["Authorization", "authorization", "X-API-Key", "api-key", "Proxy-Authorization", "Cookie"],
)
def test_a_secret_header_must_reference_a_variable(name):
    with pytest.raises(ValueError) as caught:
        validate_headers({name: "Bearer sk-literal"})
    assert str(caught.value) == (
        f"header {name.strip()!r} holds a literal secret: write it as ${{VARIABLE}} "
        "so the value stays in the environment"
    )


def test_a_literal_value_is_fine_in_an_ordinary_header():
    assert validate_headers({"X-Org": "org-123"}) == {"X-Org": "org-123"}


# ------------------------------------------------------------------ saving and loading


def test_a_profile_round_trips_through_its_saved_form():
    profile = Profile(
        name="lab",
        base_url="https://lab.example/v1/",
        api_key_env="LAB_KEY",
        headers={"X-Team": "blue", "Authorization": "Bearer ${LAB_TOKEN}"},
        default_model="m-1",
    )
    saved = profile_to_dict(profile)
    assert saved == {
        "name": "lab",
        "base_url": "https://lab.example/v1",
        "api_key_env": "LAB_KEY",
        "headers": {"X-Team": "blue", "Authorization": "Bearer ${LAB_TOKEN}"},
        "default_model": "m-1",
    }
    assert profile_from_dict(saved) == Profile(
        name="lab",
        base_url="https://lab.example/v1",
        api_key_env="LAB_KEY",
        headers={"X-Team": "blue", "Authorization": "Bearer ${LAB_TOKEN}"},
        default_model="m-1",
    )


def test_saving_refuses_what_validation_refuses():
    with pytest.raises(ValueError, match="literal secret"):
        profile_to_dict(Profile(name="p", base_url="http://h", headers={"Cookie": "c=1"}))
    with pytest.raises(ValueError, match="bad base URL"):
        profile_to_dict(Profile(name="p", base_url="h"))


def test_a_minimal_saved_profile_gets_the_defaults():
    profile = profile_from_dict({"name": " lab ", "base_url": "http://h/"})
    assert profile == Profile(name="lab", base_url="http://h")
    assert profile.api_key_env is None
    assert profile.headers == {}
    assert profile.default_model == ""
    assert (
        profile_from_dict({"name": "p", "base_url": "http://h", "api_key_env": ""}).api_key_env
        is None
    )


def test_saved_values_are_read_as_text():
    profile = profile_from_dict(
        {"name": 7, "base_url": "http://h", "headers": {1: "one"}, "default_model": 3}
    )
    assert profile.name == "7"
    assert profile.headers == {"1": "one"}
    assert profile.default_model == "3"


@pytest.mark.parametrize("data", [{}, {"name": ""}, {"name": "  "}, {"name": None}])
def test_a_saved_profile_without_a_name_is_refused(data):
    with pytest.raises(ValueError) as caught:
        profile_from_dict({**data, "base_url": "http://h"})
    assert str(caught.value) == "a saved profile has no name"


def test_saved_headers_must_be_an_object_of_text():
    with pytest.raises(ValueError) as caught:
        profile_from_dict({"name": "p", "base_url": "http://h", "headers": ["X"]})
    assert str(caught.value) == "profile 'p': headers must be an object"
    with pytest.raises(ValueError) as caught:
        profile_from_dict({"name": "p", "base_url": "http://h", "headers": {"X": {"nested": 1}}})
    assert str(caught.value) == "profile 'p': header 'X' is not text"


def test_a_long_header_name_is_cut_to_forty_characters_in_the_message():
    name = "H" * 40 + "tail"
    with pytest.raises(ValueError) as caught:
        profile_from_dict({"name": "p", "base_url": "http://h", "headers": {name: 5}})
    assert str(caught.value) == f"profile 'p': header {'H' * 40!r} is not text"


@pytest.mark.parametrize("key_env", [5, ["K"], {"K": 1}])
def test_a_saved_key_variable_must_be_text(key_env):
    with pytest.raises(ValueError) as caught:
        profile_from_dict({"name": "p", "base_url": "http://h", "api_key_env": key_env})
    assert str(caught.value) == "profile 'p': api_key_env must be a variable name"


def test_a_saved_profile_with_a_bad_url_is_refused():
    with pytest.raises(ValueError) as caught:
        profile_from_dict({"name": "p"})
    assert str(caught.value) == "bad base URL '': it must start with http:// or https://"
