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
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.param = param
        self.body = body


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
    """The server does not have this endpoint (404/405 on a route, e.g. Fireworks' input_items)."""


class NetworkError(ApiError):
    """Could not connect, the connection broke, or the server took too long."""


class ProtocolError(ApiError):
    """The server answered something that is not the protocol (bad JSON, wrong shape)."""


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
        raw = (
            (title or heading).group(1) if (title or heading) else re.sub(r"<[^>]+>", " ", stripped)
        )
        flat = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", raw)).split())
        return (f"HTML error page: {flat[:200]}" if flat else "HTML error page"), None, None, None
    return " ".join(stripped.split())[:300], None, None, None


_PREVIOUS_MISSING = re.compile(
    # OpenAI/Fireworks "not found", and Codex's terse "Invalid `previous_response_id`." (but not
    # the 400 for a malformed id, which says what an id should look like).
    r"(?i)previous[ _]response.*not[ _]found|^invalid .?previous_response_id.?\.?$"
)


def error_for_status(
    status: int,
    content: bytes | str,
    *,
    what: str,
    secrets: Iterable[str] = (),
    retry_after: float | None = None,
    sent_previous_id: bool = False,
) -> ApiError:
    """The exception for an HTTP error answer. `what` names the call, e.g. "retrieve resp_1"."""
    message, code, param, _body = parse_error_body(content)
    secrets = list(secrets)
    detail = redact(message or "no message", secrets)
    kw: dict[str, Any] = {"status": status, "code": code, "param": param, "body": None}
    if (
        sent_previous_id
        and (code == "previous_response_not_found" or _PREVIOUS_MISSING.search(message or ""))
        and status in (400, 404)
    ):
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
