"""``POST /hooks/rebuild``: a CMS, a CI job or a git hook asks for a rebuild
(docs/urls.md "POST /hooks/rebuild").

    curl -X POST -H "Authorization: Bearer $TOKEN" https://feeds.example.org/hooks/rebuild
    curl -X POST -H "Authorization: Bearer $TOKEN" '…/hooks/rebuild?source=wordpress'

The answer is 202 at once: the rebuild runs in the background, and however many calls
arrive while one runs, one more rebuild follows (the Publisher coalesces). The body is never
used, so it is capped small; the token is compared in constant time.

Checked in this order, so that nothing is said to a caller without the token:
404 when the webhook is off (no token configured), 405 for a method other than POST,
401 for a missing or wrong token, 413 for a body over ``MAX_BODY``, 400 for an unknown
``source``; else 202.
"""

from __future__ import annotations

import hmac
from collections.abc import Collection
from typing import Protocol

from aiohttp import hdrs, web

from feedsvc.web.errors import echo, error_response

PATH = "/hooks/rebuild"
# CMS webhook plugins post a JSON description of what changed (GitHub's push event, a
# WordPress post object): 64 KiB admits them; nothing in the body is read.
MAX_BODY = 64 * 1024

_NO_TOKEN = (("WWW-Authenticate", 'Bearer realm="feedsvc"'),)
# RFC 6750 §3.1: a token that was sent but is not valid is "invalid_token".
_BAD_TOKEN = (("WWW-Authenticate", 'Bearer realm="feedsvc", error="invalid_token"'),)


class Rebuilder(Protocol):
    """What the webhook needs from the service (the Publisher is one)."""

    def webhook_token(self) -> str | None:
        """The bearer token; None when the webhook is off."""

    def source_names(self) -> Collection[str]:
        """Names ``?source=`` may give."""

    def request_rebuild(self, sources: Collection[str] | None = None, trigger: str = "") -> None:
        """Queue a rebuild re-reading ``sources`` (None: all) and return at once."""


class RebuildHook:
    """The handler of ``POST /hooks/rebuild``."""

    def __init__(self, rebuilder: Rebuilder) -> None:
        self._rebuilder = rebuilder

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        token = self._rebuilder.webhook_token()
        if not token:
            return error_response(404, f"no webhook at {PATH}: server.webhook_token_env is unset")
        if request.method != hdrs.METH_POST:
            # RFC 9110 §15.5.6: a 405 lists the allowed methods.
            return error_response(
                405,
                f"{echo(request.method)} is not allowed on {PATH}; use POST",
                (("Allow", "POST"),),
            )
        given = bearer(request.headers.get(hdrs.AUTHORIZATION, ""))
        if given is None:
            return error_response(
                401, "send the webhook token as 'Authorization: Bearer …'", _NO_TOKEN
            )
        # Header text that is not UTF-8 keeps its bytes (surrogateescape); it never matches.
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode()):
            return error_response(401, "wrong webhook token", _BAD_TOKEN)
        if not await _body_fits(request):
            return error_response(413, f"the body is ignored; send at most {MAX_BODY} bytes")
        sources = request.query.getall("source", [])
        known = set(self._rebuilder.source_names())
        unknown = [name for name in sources if name not in known]
        if unknown:
            names = ", ".join(sorted(known)) or "none"
            return error_response(400, f"no source named {echo(unknown[0])!r} (known: {names})")
        self._rebuilder.request_rebuild(sources or None, "webhook")
        which = ", ".join(sources) if sources else "every source"
        body = f"202 Accepted: rebuilding {which}; /status shows the last rebuild\n"
        return web.Response(
            status=202, text=body, content_type="text/plain", headers={"Cache-Control": "no-store"}
        )


def bearer(value: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` field; the scheme is
    case-insensitive (RFC 9110 §11.1)."""
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def _body_fits(request: web.Request) -> bool:
    """Whether the body is at most MAX_BODY bytes; a chunked body is read up to the cap."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return False  # refused before a byte of it is read
    received = 0
    while True:
        chunk = await request.content.readany()
        if not chunk:
            return True
        received += len(chunk)
        if received > MAX_BODY:
            return False
