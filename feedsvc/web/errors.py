"""Errors become HTTP responses here, and only here, with one body shape.

Every error body is one line of plain text, ``{status} {reason}: {message}``, e.g.
``404 Not Found: no feed at /x — every feed is listed at /``. Plain text reads well in a
browser, in curl and in a feed reader's error log, and needs no negotiation.

Handlers return ``error_response(...)`` for the errors they expect (404, 405, 406, 412);
``guard`` wraps every handler (app.py) and turns anything raised (an aiohttp HTTPException,
an unexpected exception, logged) into the same shape. What aiohttp answers before any
handler runs (a request it cannot parse, CONNECT) gets it from server.py, through
``unparsed_request`` and ``not_a_proxy``.

Why a wrapper and not an aiohttp middleware: a middleware costs every request two more
coroutine frames (ours and aiohttp's current-app fix-up), measured at ~4 µs of a ~30 µs
request — more than the whole 10% budget the feed handler has against a bare handler
(docs/architecture.md "Render ahead, serve by lookup"). ``guard`` calls a synchronous handler
inside a ``try``, which costs nothing until something is raised. The router cannot raise
404/405 itself: every route takes every method, and the catch-all takes every path.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from http import HTTPStatus

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

log = logging.getLogger("feedsvc.web")

# A path echoed in a message is cut to this length: enough to recognize, not a mirror.
MAX_ECHOED = 200

_BASE_HEADERS = (
    ("Content-Type", "text/plain; charset=utf-8"),
    # The body may echo the request path; never let a browser sniff it as HTML.
    ("X-Content-Type-Options", "nosniff"),
)

# RFC 9110 §15.5.14 renamed 413; Python's table has the new name only from 3.13.
_REASONS = {413: "Content Too Large"}

# Allowed methods of every path served (feeds, /status, /healthz): one rule everywhere.
ALLOWED_METHODS = ("GET", "HEAD", "OPTIONS")
ALLOW = ", ".join(ALLOWED_METHODS)


# C0 and C1 controls and DEL: a path may carry them percent-encoded (%1b[31m), and echoed
# raw they would drive the terminal of whoever reads the body or the log.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def echo(text: str) -> str:
    """A piece of the request, shortened for a message, control characters as \\xNN."""
    short = text if len(text) <= MAX_ECHOED else text[:MAX_ECHOED] + "…"
    return _CONTROLS.sub(lambda match: f"\\x{ord(match.group()):02x}", short)


def error_response(
    status: int,
    message: str,
    headers: Iterable[tuple[str, str]] = (),
) -> web.Response:
    """The one shape of every error body (see the module docstring)."""
    reason = _REASONS.get(status) or HTTPStatus(status).phrase
    body = f"{status} {reason}: {message}\n".encode()
    return web.Response(status=status, reason=reason, body=body, headers=(*_BASE_HEADERS, *headers))


def not_found(path: str) -> web.Response:
    return error_response(404, f"no feed at {echo(path)} — every feed is listed at /")


def method_not_allowed(method: str, path: str) -> web.Response:
    # RFC 9110 §15.5.6: a 405 must list the allowed methods in Allow.
    return error_response(
        405,
        f"{echo(method)} is not allowed on {echo(path)}; use GET or HEAD",
        headers=(("Allow", ALLOW),),
    )


def not_a_proxy(target: str) -> web.Response:
    """The answer to ``CONNECT host:port``. RFC 9110 §9.3.6: CONNECT asks a proxy for a
    tunnel, and this server is none; the method is known but allowed on no resource here,
    so 405 with Allow (§15.5.6), as nginx answers it."""
    return error_response(
        405,
        f"CONNECT {echo(target)} is not allowed: this server is not a proxy; use GET or HEAD",
        headers=(("Allow", ALLOW),),
    )


def unparsed_request(status: int, exc: BaseException | None) -> web.Response:
    """The answer to a request aiohttp could not parse (or, should one escape every handler,
    failed on): our shape, with aiohttp's account of what was wrong in it."""
    if isinstance(exc, HttpProcessingError):
        message = f"the request could not be read: {parse_problem(exc)}"
    else:
        message = _MESSAGES.get(status) or HTTPStatus(status).description
    return error_response(status, message)


def parse_problem(exc: HttpProcessingError) -> str:
    """aiohttp's account of a request it could not parse, on one line: its message spans
    lines (what was wrong, the bad bytes as a Python literal, a caret under the bad one)."""
    words = str(exc.message).split()
    if words and words[-1] == "^":
        words.pop()
    return echo(" ".join(words))


_MESSAGES = {
    404: "nothing here — every feed is listed at /",
    500: "the server failed to answer; the error is logged",
}


SyncHandler = Callable[[web.Request], web.StreamResponse]


def guard(respond: SyncHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp handler calling ``respond``; whatever it raises becomes the error shape."""

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            return respond(request)
        except Exception as exc:
            return _error_answer(request, exc)

    handler.__name__ = handler.__qualname__ = getattr(respond, "__name__", "handler")
    return handler


AsyncHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def guard_async(respond: AsyncHandler) -> AsyncHandler:
    """``guard`` for a handler that awaits (the webhook reads a body)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            return await respond(request)
        except Exception as exc:
            return _error_answer(request, exc)

    return handler


def _error_answer(request: web.Request, exc: Exception) -> web.StreamResponse:
    """The response for what a handler raised (called from its ``except`` block)."""
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:  # redirects and the like are responses, not errors
            raise exc
        return _from_http_exception(request, exc)
    log.exception("error serving %s %s", request.method, echo(request.path))
    return error_response(500, _MESSAGES[500])


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> web.Response:
    if exc.status == 405:
        return method_not_allowed(request.method, request.path)
    return error_response(exc.status, _MESSAGES.get(exc.status) or exc.reason)


class OneLineBadRequests(logging.Filter):
    """aiohttp logs a request it cannot parse (a header over 8190 bytes, a bad header
    name) with a traceback of its own parser; what the operator needs is one line: who,
    and what was wrong. Installed on the "aiohttp.server" logger by ``quiet_bad_requests``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            reason = parse_problem(exc)
            record.msg, record.args = "bad request from %s: %s %s", (remote, exc.code, reason)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_bad_requests() -> None:
    """Log each unparseable request as one line (idempotent: one filter however often)."""
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, OneLineBadRequests) for f in server_log.filters):
        server_log.addFilter(OneLineBadRequests())
