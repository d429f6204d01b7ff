"""Errors on their own: every error body shape read, secrets redacted, what a 404 means, and the
exception (with its one line, in the server's own words) for each status."""

from __future__ import annotations

import json

import pytest

from tui.api.errors import (
    ApiError,
    AuthError,
    BadRequest,
    EndpointNotSupported,
    NotFoundError,
    PreviousResponseNotFound,
    RateLimited,
    ServerError,
    StreamFailed,
    StreamInterrupted,
    bare_not_found,
    error_for_status,
    not_found_kind,
    parse_error_body,
    previous_missing,
    redact,
)

PREV = "resp_prev123"

# ------------------------------------------------------------------ the exceptions


def test_an_api_error_keeps_every_field_it_is_given():
    error = ApiError("m", status=418, code="c", param="p", body={"b": 1}, detail="d")
    assert str(error) == "m"
    assert (error.message, error.status, error.code, error.param) == ("m", 418, "c", "p")
    assert (error.body, error.detail) == ({"b": 1}, "d")


def test_an_api_error_has_no_fields_unless_given():
    error = ApiError("only a message")
    assert (error.status, error.code, error.param, error.body, error.detail) == (None,) * 5


@pytest.mark.parametrize(
    ("make", "attribute", "value"),
    [
        (lambda: RateLimited("slow", retry_after=2.5, status=429), "retry_after", 2.5),
        (lambda: RateLimited("slow", status=429), "retry_after", None),
        (
            lambda: EndpointNotSupported("no", endpoint="input_items", status=404),
            "endpoint",
            "input_items",
        ),
        (lambda: EndpointNotSupported("no", status=405), "endpoint", ""),
        (lambda: StreamInterrupted("cut", partial={"id": "r"}, status=200), "partial", {"id": "r"}),
        (lambda: StreamInterrupted("cut", status=200), "partial", None),
        (lambda: StreamFailed("failed", partial={"id": "f"}, status=200), "partial", {"id": "f"}),
        (lambda: StreamFailed("failed", status=200), "partial", None),
    ],
)
def test_each_special_error_keeps_its_own_field_and_the_common_ones(make, attribute, value):
    error = make()
    assert getattr(error, attribute) == value
    assert str(error) == error.message
    assert error.message in ("slow", "no", "cut", "failed")
    assert error.status in (429, 404, 405, 200)
    assert isinstance(error, ApiError)


def test_a_previous_response_not_found_is_a_not_found():
    assert issubclass(PreviousResponseNotFound, NotFoundError)


# ------------------------------------------------------------------ redact


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        ("key is hunter2!", ["hunter2"], "key is ***!"),
        ("abcd and abc", ["abcd"], "*** and abc"),  # four characters are enough
        ("abc stays", ["abc"], "abc stays"),  # shorter is left alone
        ("nothing here", ["", "ab"], "nothing here"),
        ("x Azzzz1B y", ["zzzz1", "Azzzz1B"], "x *** y"),  # longest first, not last by name
        ("x Azzzz1B y", ["Azzzz1B", "zzzz1"], "x *** y"),
        ("Authorization: Bearer abc.def-123", [], "Authorization: Bearer ***"),
        ("bearer   tok.en/=+~", [], "bearer   ***"),
        ("Bearer short", [], "Bearer short"),  # under six characters is not a token
        ("Bearer 123456", [], "Bearer ***"),
        ("use sk-abcdefghijkl now", [], "use *** now"),
        ("use sk-abcdefghijk now", [], "use sk-abcdefghijk now"),  # eleven: too short
        ("fw_ABCDEF123456_x and api-123456789012", [], "*** and ***"),
        ("the key_ is gone", [], "the key_ is gone"),
    ],
)
def test_redact_replaces_secrets_tokens_and_key_like_strings(text, secrets, expected):
    assert redact(text, secrets) == expected


def test_redact_with_no_secrets_given():
    assert redact("Bearer abcdefgh") == "Bearer ***"


# ------------------------------------------------------------------ parse_error_body


def parsed(body: object) -> tuple:
    return parse_error_body(json.dumps(body))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # OpenAI
        (
            {
                "error": {
                    "message": " Bad model ",
                    "type": "invalid",
                    "code": "c1",
                    "param": "model",
                }
            },
            ("Bad model", "c1", "model"),
        ),
        (
            {"error": {"message": "  ", "type": "invalid_request_error"}},
            ("invalid_request_error", None, None),
        ),
        ({"error": {"message": 5, "code": "only_code"}}, ("only_code", "only_code", None)),
        ({"error": {"code": 429, "param": 3}}, (None, None, None)),
        ({"error": {}}, (None, None, None)),
        # some servers: a bare string
        ({"error": "unauthorized"}, ("unauthorized", None, None)),
        # FastAPI
        ({"detail": "Previous response not found"}, ("Previous response not found", None, None)),
        (
            {
                "detail": [
                    {"loc": ["body", "input", 0, "content"], "msg": "field required"},
                    {"loc": ["query", "limit"], "msg": "too big"},
                    {"loc": ["body"], "msg": "bad body"},
                    "not an entry",
                    {"msg": "no place"},
                ]
            },
            (
                "input.0.content: field required; query.limit: too big; bad body; no place",
                None,
                None,
            ),
        ),
        ({"detail": [{"loc": ["body"]}, {"msg": ""}]}, (None, None, None)),
        ({"detail": [{"loc": ["x"], "msg": 3}]}, ("x: 3", None, None)),
        ({"detail": []}, (None, None, None)),
        # a plain object
        ({"message": " Too many ", "code": " E42 "}, ("Too many", "E42", None)),
        ({"detail": 5, "message": "fallback"}, ("fallback", None, None)),
        ({}, (None, None, None)),
    ],
)
def test_every_json_error_shape_gives_its_message_code_and_param(body, expected):
    message, code, param, kept = parsed(body)
    assert (message, code, param) == expected
    assert kept == body


PROBLEM_CASES = [
    (
        {
            "title": "Bad Request",
            "detail": "ignored",
            "code": "E1",
            "validation": [
                {"location": "body.model", "message": "must have required property"},
                {"loc": ["body", "input", 0], "msg": "wrong type"},
                {"path": ["tools", None, 2.5, 1], "detail": "bad tool"},
            ],
        },
        "Bad Request: body.model: must have required property; body.input.0: wrong type; "
        "tools.1: bad tool",
        "E1",
    ),
    (
        {"detail": "Unprocessable", "errors": [{"message": "no place", "location": 7}]},
        "Unprocessable: no place",
        None,
    ),
    (
        {"errors": [{"message": "m", "location": "", "loc": "", "path": ""}]},
        "invalid request: m",
        None,
    ),
    (
        {"validation": [{"message": "at", "location": "a", "loc": "b"}]},
        "invalid request: a: at",
        None,
    ),
    ({"validation": [{"message": "at", "loc": "b", "path": "c"}]}, "invalid request: b: at", None),
    ({"validation": [{"message": "at", "path": "c"}]}, "invalid request: c: at", None),
    (
        {"validation": ["junk", {"location": "x"}, {"message": " "}, {"msg": "kept"}]},
        "invalid request: kept",
        None,
    ),
]


@pytest.mark.parametrize(("body", "message", "code"), PROBLEM_CASES)
def test_a_problem_json_validation_list_names_each_place_and_reason(body, message, code):
    assert parsed(body) == (message, code, None, body)


def test_only_the_first_twenty_validation_reasons_are_read():
    body = {"title": "T", "validation": [{"message": f"m{n}"} for n in range(25)]}
    message = parsed(body)[0]
    assert message == "T: " + "; ".join(f"m{n}" for n in range(20))


@pytest.mark.parametrize(
    "body",
    [
        {"validation": "not a list", "detail": "plain"},
        {"validation": [], "errors": "x", "detail": "plain"},
        {"validation": [{"location": "x"}], "detail": "plain"},
    ],
)
def test_a_validation_field_with_no_reasons_is_not_a_problem_body(body):
    assert parsed(body) == ("plain", None, None, body)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('"just text"', ("just text", None, None, "just text")),
        ('"   "', (None, None, None, "   ")),
        ("[1, 2]", ("[1, 2]", None, None, None)),
        ("42", ("42", None, None, None)),
        ("upstream   connect\n error", ("upstream connect error", None, None, None)),
        ("a > b", ("a > b", None, None, None)),
        ("a < b", ("a < b", None, None, None)),
        ("", (None, None, None, None)),
        (" \n\t ", (None, None, None, None)),
        (b"caf\xc3\xa9 \xff", ("café \ufffd", None, None, None)),
        (b'{"error": "bad \xff"}', ("bad \ufffd", None, None, {"error": "bad \ufffd"})),
    ],
)
def test_a_body_that_is_not_an_object_is_read_as_text(content, expected):
    assert parse_error_body(content) == expected


def test_plain_text_is_cut_at_300_characters():
    assert parse_error_body("x" * 400)[0] == "x" * 300
    assert parse_error_body("y" * 300)[0] == "y" * 300


def test_a_body_nested_too_deeply_is_named_not_raised():
    assert parse_error_body("[" * 200_000) == (
        "an error body nested too deeply to read",
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("page", "message"),
    [
        (
            "<html><head><title>502 Bad Gateway</title></head><body><h1>Oops</h1>"
            "<p>nginx</p></body></html>",
            "HTML error page: 502 Bad Gateway",
        ),
        (
            "<html><body><H1 class='x'>Service\n  Unavailable</H1><p>try later</p></body></html>",
            "HTML error page: Service Unavailable",
        ),
        (
            "<TITLE>Not <b>found</b> &amp; gone</TITLE> more text",
            "HTML error page: Not found & gone",
        ),
        ("<title>Only title</title><p>and a paragraph</p>", "HTML error page: Only title"),
        ("<p>Error &lt;42&gt;</p><p>try later</p>", "HTML error page: Error <42> try later"),
        ("<br><hr>", "HTML error page"),
        ("<title> </title><p>x</p>", "HTML error page"),
    ],
)
def test_an_html_page_is_named_by_its_title_or_heading_or_text(page, message):
    assert parse_error_body(page) == (message, None, None, None)


def test_an_html_message_is_cut_at_200_characters():
    page = "<title>" + "t" * 250 + "</title>"
    assert parse_error_body(page)[0] == "HTML error page: " + "t" * 200
    page = "<title>" + "u" * 200 + "</title>"
    assert parse_error_body(page)[0] == "HTML error page: " + "u" * 200


# ------------------------------------------------------------------ what a 404 says


@pytest.mark.parametrize(
    ("message", "bare"),
    [
        (None, True),
        ("", True),
        ("  ", True),
        ("Not Found", True),
        (" not found. ", True),
        ("NOT FOUND..", True),
        (".Not Found", False),
        ("Not Found!", False),
        ("NOT FOUNDX", False),
        ("Response not found", False),
        ("Model 'x' not found", False),
    ],
)
def test_a_bare_not_found_names_nothing(message, bare):
    assert bare_not_found(message) is bare


@pytest.mark.parametrize(
    ("status", "message", "target", "kind"),
    [
        (405, "", None, "route"),
        (405, "Response 'resp_1' not found", "resp_1", "route"),
        (404, "no route for GET /v1/responses/x", None, "route"),
        (404, "Cannot GET /v1/responses/x", None, "route"),
        (404, "404 page not found", None, "route"),
        (404, "HTML error page: Not Found", None, "route"),
        (404, "Unknown endpoint", "resp_1", "route"),
        (404, "Response 'resp_1' not found", None, "gone"),
        (404, "Response with id 'resp_1' not found.", "resp_2", "gone"),
        (404, "resp_1", "resp_1", "gone"),
        (404, "  resp_1 was deleted  ", None, "gone"),
        (404, "Not Found", "resp_1", "unclear"),
        (404, "Model not found", "resp_1", "unclear"),
        (404, None, "resp_1", "unclear"),
        (404, None, "X", "unclear"),  # an empty message names no id, however short the id
        (404, "", "", "unclear"),
        (406, "", None, "unclear"),
        (410, "Response 'resp_1' not found", "resp_1", "unclear"),
        (400, "resp_1", "resp_1", "unclear"),
    ],
)
def test_what_a_404_or_405_means(status, message, target, kind):
    assert not_found_kind(status, message, target) == kind


@pytest.mark.parametrize(
    ("status", "message", "code", "previous", "missing"),
    [
        # OpenAI
        (400, "Previous response with id 'x' not found.", None, PREV, True),
        (400, "whatever", "previous_response_not_found", PREV, True),
        (404, "whatever", "previous_response_not_found", PREV, True),
        # Fireworks
        (404, "Previous response not found", None, PREV, True),
        # Codex
        (400, "Invalid `previous_response_id`.", None, PREV, True),
        (
            400,
            "Invalid 'previous_response_id': expected an ID that begins with 'resp'.",
            None,
            PREV,
            False,
        ),
        # Llama Stack, also inside a stream (no status)
        (404, f"Response '{PREV}' not found", None, PREV, True),
        (None, f"Response '{PREV}' not found", None, PREV, True),
        (None, "Previous response not found", None, PREV, True),
        (404, f"unknown previous_response_id {PREV}", None, PREV, True),
        # another response gone, or the route missing, is not the previous one
        (404, "Response 'resp_other' not found", None, PREV, False),
        (404, f"no route for {PREV}", None, PREV, False),
        (404, None, None, "X", False),
        (404, "Model not found", None, PREV, False),
        # other statuses never mean it
        (500, "Previous response not found", "previous_response_not_found", PREV, False),
        (401, "Previous response not found", None, PREV, False),
        (405, f"Response '{PREV}' not found", None, PREV, False),
        # nothing was continued
        (404, "Previous response not found", "previous_response_not_found", None, False),
        (404, "Previous response not found", None, "", False),
    ],
)
def test_when_the_previous_response_cannot_be_continued(status, message, code, previous, missing):
    assert previous_missing(status, message, code, previous) is missing


# ------------------------------------------------------------------ error_for_status


@pytest.mark.parametrize(
    ("status", "cls", "text"),
    [
        (401, AuthError, "create: 401 nope (check the API key)"),
        (403, AuthError, "create: 403 nope (the key lacks permission)"),
        (404, NotFoundError, "create: not found on the server (404: nope)"),
        (429, RateLimited, "create: rate limited (429: nope)"),
        (500, ServerError, "create: server error 500: nope"),
        (503, ServerError, "create: server error 503: nope"),
        (400, BadRequest, "create: rejected (400: nope)"),
        (409, BadRequest, "create: rejected (409: nope)"),
        (413, BadRequest, "create: rejected (413: nope)"),
        (422, BadRequest, "create: rejected (422: nope)"),
        (402, ApiError, "create: HTTP 402: nope"),
        (410, ApiError, "create: HTTP 410: nope"),
        (414, ApiError, "create: HTTP 414: nope"),
        (423, ApiError, "create: HTTP 423: nope"),
        (499, ApiError, "create: HTTP 499: nope"),
    ],
)
def test_each_status_has_its_exception_and_one_line(status, cls, text):
    body = {"error": {"message": "nope", "code": "c", "param": "p"}}
    error = error_for_status(status, json.dumps(body).encode(), what="create")
    assert type(error) is cls
    assert str(error) == text
    assert (error.status, error.code, error.param, error.detail) == (status, "c", "p", "nope")
    assert error.body is None  # the body may hold what the request sent: never kept


def test_an_empty_answer_says_there_was_no_message():
    error = error_for_status(502, b"", what="retrieve resp_1")
    assert str(error) == "retrieve resp_1: server error 502: no message"
    assert (error.code, error.param, error.detail) == (None, None, None)


def test_a_text_answer_is_read_as_text():
    error = error_for_status(500, "upstream  timed out", what="list")
    assert str(error) == "list: server error 500: upstream timed out"
    error = error_for_status(500, b"bad \xff byte", what="list")
    assert str(error) == "list: server error 500: bad \ufffd byte"


@pytest.mark.parametrize(
    ("retry_after", "tail"),
    [(2.0, "; retry after 2 s"), (0.25, "; retry after 0.25 s"), (None, ""), (0, "")],
)
def test_a_rate_limit_says_when_to_retry(retry_after, tail):
    error = error_for_status(
        429, b'{"detail": "slow down"}', what="create", retry_after=retry_after
    )
    assert isinstance(error, RateLimited)
    assert str(error) == f"create: rate limited (429: slow down{tail})"
    assert error.retry_after == retry_after


@pytest.mark.parametrize("status", [400, 404])
def test_a_missing_previous_response_is_its_own_error(status):
    body = json.dumps({"detail": "Previous response not found"}).encode()
    error = error_for_status(status, body, what="create", sent_previous_id=PREV)
    assert type(error) is PreviousResponseNotFound
    assert str(error) == (
        f"create: the previous response cannot be continued ({status}: Previous response not found)"
    )
    assert (error.status, error.detail) == (status, "Previous response not found")


def test_the_previous_response_code_alone_is_enough():
    body = json.dumps({"error": {"message": "gone", "code": "previous_response_not_found"}})
    error = error_for_status(400, body, what="create", sent_previous_id=PREV)
    assert type(error) is PreviousResponseNotFound
    assert error.code == "previous_response_not_found"


def test_without_a_previous_id_sent_a_404_is_a_plain_not_found():
    body = json.dumps({"detail": "Previous response not found"}).encode()
    assert type(error_for_status(404, body, what="create")) is NotFoundError


def test_secrets_never_reach_the_message_or_the_detail():
    secret = "s3cr3t-value-9"
    body = json.dumps({"error": {"message": f"bad key {secret}, Bearer abcdefgh"}})
    error = error_for_status(401, body, what="create", secrets=[secret])
    assert str(error) == "create: 401 bad key ***, Bearer *** (check the API key)"
    assert error.detail == "bad key ***, Bearer ***"


def test_a_secret_hidden_by_an_escape_is_redacted_after_decoding():
    secret = "s3cr3t-value-9"
    escaped = "\\u0073" + secret[1:]  # JSON's spelling of the first letter
    body = '{"detail": "key ' + escaped + ' refused"}'
    error = error_for_status(403, body, what="create", secrets=iter([secret]))
    assert str(error) == "create: 403 key *** refused (the key lacks permission)"
    assert error.detail == "key *** refused"
    page = "<title>key &#115;" + secret[1:] + "</title>"
    error = error_for_status(502, page, what="create", secrets=[secret])
    assert str(error) == "create: server error 502: HTML error page: key ***"


def test_a_secret_cut_by_the_length_limit_is_never_half_shown():
    secret = "s3cr3t-value-9"
    text = "x" * 290 + secret + " and more"
    error = error_for_status(500, text, what="list", secrets=[secret])
    assert str(error) == "list: server error 500: " + "x" * 290 + "*** and mo"
    assert "s3cr3t" not in str(error) and "s3cr3t" not in (error.detail or "")


def test_a_previous_response_message_with_another_status_is_that_status_error():
    body = json.dumps({"detail": "Previous response not found"}).encode()
    error = error_for_status(500, body, what="create", sent_previous_id=PREV)
    assert type(error) is ServerError
    assert str(error) == "create: server error 500: Previous response not found"
