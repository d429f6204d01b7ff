"""The few exceptions the client raises, with the server's own message, never the key.

Servers disagree on error bodies: OpenAI wraps them as `{"error": {"message", "type", "param",
"code"}}`, Fireworks' FastAPI layer answers `{"detail": "..."}` or `{"detail": [{"loc", "msg"}]}`,
some answer `{"error": "unauthorized"}`, a proxy may answer an HTML page. `server_message`
reads all of them; `redact` removes every secret we know of before any text leaves this module.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from typing import Any


class ApiError(Exception):
    """Base of every error the client raises. `str()` is safe to show to the user."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        param: str | None = None,
        body: Any = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.param = param
        self.body = body
        self.detail = detail  # the server's own words (redacted), when it gave some


class AuthError(ApiError):
    """401/403: the key is missing, wrong or lacks permission."""


class MissingApiKey(AuthError):
    """The profile's key variable is not set: nothing was sent."""


class NotFoundError(ApiError):
    """404: the server does not have it (deleted, expired, never stored, or unknown)."""


class PreviousResponseNotFound(NotFoundError):
    """The response named by `previous_response_id` cannot be continued.

    OpenAI answers 400 `previous_response_not_found`, Fireworks 404 "Previous response not
    found": both land here, so callers can offer to replay the path as explicit input.
    """


class BadRequest(ApiError):
    """400/409/422: the server rejected the request; its message says why."""


class RateLimited(ApiError):
    """429, after the bounded retries ran out."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx, after the retries allowed for the call ran out."""


class EndpointNotSupported(ApiError):
    """The server does not have this endpoint (404/405 on a route, e.g. Fireworks' input_items,
    or every route but `POST /responses` on open-responses-server). `endpoint` names it: one
    of "create", "retrieve", "delete", "list", "input_items"."""

    def __init__(self, message: str, *, endpoint: str = "", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.endpoint = endpoint


class NetworkError(ApiError):
    """Could not connect, the connection broke, or the server took too long."""


class ProtocolError(ApiError):
    """The server answered something that is not the protocol (bad JSON, wrong shape)."""


class PagingStopped(ProtocolError):
    """A pager stopped because the server would have kept it going forever: a cursor that does
    not advance, a page it had already sent, too many pages, or too long. What was read before
    the stop is good; the rest was not read."""


class StreamInterrupted(ApiError):
    """A stream ended without a terminal event. `partial` holds what arrived (a response dict
    whose status is "incomplete"), so nothing already shown is lost."""

    def __init__(self, message: str, *, partial: dict[str, Any] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.partial = partial


class StreamFailed(ApiError):
    """The server reported a failure inside the stream (`error` or `response.failed`)."""

    def __init__(self, message: str, *, partial: dict[str, Any] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.partial = partial


# ------------------------------------------------------------------ helpers

_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}")
_KEYLIKE = re.compile(r"\b(sk|fw|key|api)[-_][A-Za-z0-9_-]{12,}\b")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every known secret, bearer token and key-looking string replaced."""
    out = text
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        out = out.replace(secret, "***")
    out = _BEARER.sub(r"\1***", out)
    return _KEYLIKE.sub("***", out)


def _first(*values: Any) -> str | None:
    for value in values:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def parse_error_body(content: bytes | str) -> tuple[str | None, str | None, str | None, Any]:
    """(message, code, param, parsed body) from any error body shape we have seen."""
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    try:
        body: Any = json.loads(text)
    except RecursionError:
        return "an error body nested too deeply to read", None, None, None
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return (
                _first(error.get("message"), error.get("type"), error.get("code")),
                _first(error.get("code")),
                _first(error.get("param")),
                body,
            )
        if isinstance(error, str):
            return error, None, None, body
        validation = _validation_reasons(body.get("validation") or body.get("errors"))
        if validation:  # application/problem+json 422 (e.g. a mock server made from a spec)
            head = _first(body.get("title"), body.get("detail")) or "invalid request"
            return f"{head}: {validation}", _first(body.get("code")), None, body
        detail = body.get("detail")
        if isinstance(detail, str):
            return detail, None, None, body
        if isinstance(detail, list):
            parts = []
            for entry in detail:
                if isinstance(entry, dict):
                    where = ".".join(str(p) for p in entry.get("loc") or [] if p != "body")
                    msg = str(entry.get("msg", ""))
                    parts.append(f"{where}: {msg}" if where else msg)
            return "; ".join(p for p in parts if p) or None, None, None, body
        return _first(body.get("message")), _first(body.get("code")), None, body
    if isinstance(body, str):
        return body.strip() or None, None, None, body
    stripped = text.strip()
    if not stripped:
        return None, None, None, None
    if "<" in stripped and ">" in stripped:  # an HTML error page from a proxy
        title = re.search(r"(?is)<title[^>]*>(.*?)</title>", stripped)
        heading = re.search(r"(?is)<h1[^>]*>(.*?)</h1>", stripped)
        raw = (title or heading).group(1) if (title or heading) else stripped
        flat = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", raw)).split())  # tags to spaces
        return (f"HTML error page: {flat[:200]}" if flat else "HTML error page"), None, None, None
    return " ".join(stripped.split())[:300], None, None, None


def _validation_reasons(entries: Any) -> str:
    """The reasons of a problem+json `validation` list: "body.model: must have ...; ..."."""
    if not isinstance(entries, list):
        return ""
    parts = []
    for entry in entries[:20]:
        if not isinstance(entry, dict):
            continue
        message = _first(entry.get("message"), entry.get("msg"), entry.get("detail"))
        if not message:
            continue
        where = entry.get("location") or entry.get("loc") or entry.get("path")
        if isinstance(where, list):
            where = ".".join(str(p) for p in where if isinstance(p, str | int))
        parts.append(f"{where}: {message}" if isinstance(where, str) and where else message)
    return "; ".join(parts)


_PREVIOUS_MISSING = re.compile(
    # OpenAI/Fireworks "not found", and Codex's terse "Invalid `previous_response_id`." (but not
    # the 400 for a malformed id, which says what an id should look like).
    r"(?i)previous[ _]response.*not[ _]found|^invalid .?previous_response_id.?\.?$"
)


# A 404 for a route the server does not have (open-responses-server's "no route …", Express's
# "Cannot GET …", Go's "404 page not found", our "Unknown endpoint", a 405). A bare "Not Found"
# (FastAPI's default) could be either: it is "unclear".
_ROUTE_MISSING = re.compile(
    r"(?i)\bno route\b|unknown endpoint|route not found|\bcannot (get|post|delete|put)\b"
    r"|method not allowed|^404 page not found$|^HTML error page"
)
# A 404 that says the response itself is not there ("Response 'resp_…' not found", OpenAI's
# "Response with id '…' not found.", "No response found with id …").
_RESPONSE_GONE = re.compile(
    r"(?i)\bresponse\b.{0,80}\bnot\s+(be\s+)?found|no (such )?response\b|"
    r"\bresponse\b.{0,60}(does not|doesn't|no longer) exist|\b(was|been) deleted\b"
)


def bare_not_found(message: str | None) -> bool:
    """A 404's whole message is "Not Found" (or nothing): no response and no model named.
    To a create, that can only be a missing route (Llama Stack's base URL without /v1, or a
    proxy wrapping that answer in a stream)."""
    return (message or "").strip().rstrip(".").lower() in ("not found", "")


def not_found_kind(status: int, message: str | None, target_id: str | None = None) -> str:
    """What a 404/405 means: "route" (the server has no such endpoint), "gone" (the server says
    the response is not there), or "unclear" (a 404 that says neither)."""
    text = (message or "").strip()
    if status == 405 or _ROUTE_MISSING.search(text):
        return "route"
    if status != 404:
        return "unclear"
    if (target_id and target_id in text) or _RESPONSE_GONE.search(text):
        return "gone"
    return "unclear"


def previous_missing(
    status: int | None, message: str | None, code: str | None, previous_id: str | None
) -> bool:
    """True when an answer to a request that carried `previous_response_id` says that response
    cannot be continued: OpenAI's 400 `previous_response_not_found`, Fireworks' 404 "Previous
    response not found", Llama Stack's 404 (or in-stream) "Response 'resp_…' not found"."""
    if not previous_id:
        return False
    if status is not None and status not in (400, 404):
        return False
    text = message or ""
    if code == "previous_response_not_found" or _PREVIOUS_MISSING.search(text):
        return True
    return previous_id in text and not_found_kind(404, text, previous_id) == "gone"


def error_for_status(
    status: int,
    content: bytes | str,
    *,
    what: str,
    secrets: Iterable[str] = (),
    retry_after: float | None = None,
    sent_previous_id: str | None = None,
) -> ApiError:
    """The exception for an HTTP error answer. `what` names the call, e.g. "retrieve resp_1";
    `sent_previous_id` is the previous_response_id the request carried, if any."""
    secrets = list(secrets)
    # Scrubbed before anything is cut: a secret is never left half-shown.
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    message, code, param, _body = parse_error_body(redact(text, secrets))
    detail = redact(message or "no message", secrets)
    kw: dict[str, Any] = {
        "status": status,
        "code": code,
        "param": param,
        "body": None,
        "detail": redact(message, secrets) if message else None,
    }
    if previous_missing(status, message, code, sent_previous_id):
        return PreviousResponseNotFound(
            f"{what}: the previous response cannot be continued ({status}: {detail})", **kw
        )
    if status in (401, 403):
        hint = "check the API key" if status == 401 else "the key lacks permission"
        return AuthError(f"{what}: {status} {detail} ({hint})", **kw)
    if status == 404:
        return NotFoundError(f"{what}: not found on the server (404: {detail})", **kw)
    if status == 429:
        wait = f"; retry after {retry_after:g} s" if retry_after else ""
        return RateLimited(
            f"{what}: rate limited (429: {detail}{wait})", retry_after=retry_after, **kw
        )
    if status >= 500:
        return ServerError(f"{what}: server error {status}: {detail}", **kw)
    if status in (400, 409, 413, 422):
        return BadRequest(f"{what}: rejected ({status}: {detail})", **kw)
    return ApiError(f"{what}: HTTP {status}: {detail}", **kw)
