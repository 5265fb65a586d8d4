"""Request handlers: every served path is a lookup in the current snapshot.

The feed handler is the hot path (docs/architecture.md "Render ahead, serve by lookup"): one dict
lookup for the path, one memoized Accept-Encoding decision, header fields precomputed by the store,
and the conditional-request rules only when the request carries a validator. It answers 404, 405 and
406 itself, without raising, so the common errors cost no more than a 200.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import hdrs, web

from feedsvc.clock import Clock, system_clock
from feedsvc.status import BuildStatus, status_data, status_json
from feedsvc.store import IDENTITY, Resource, SnapshotRef, http_date
from feedsvc.web.conditional import NOT_MODIFIED, PROCEED, evaluate_preconditions
from feedsvc.web.errors import ALLOW, error_response, method_not_allowed, not_found
from feedsvc.web.negotiation import choose_coding, prefers_html
from feedsvc.web.status import render_status_html

# RFC 9110 §9.3.7: OPTIONS answers which methods a resource supports. A CORS preflight
# (Fetch standard) is an OPTIONS too; its answer lets any page read the feed with any
# request header (If-None-Match is not CORS-safelisted, so a revalidating fetch() asks).
_OPTIONS_HEADERS = (("Allow", ALLOW),)
_PREFLIGHT_HEADERS = (
    ("Allow", ALLOW),
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", ALLOW),
    ("Access-Control-Allow-Headers", "*"),
    ("Access-Control-Max-Age", "86400"),
)
_VARY_ACCEPT_ENCODING = (("Vary", "Accept-Encoding"),)

_STATUS_JSON_HEADERS = (
    ("Content-Type", "application/json; charset=utf-8"),
    ("Access-Control-Allow-Origin", "*"),
    # The status changes with every update and carries no validator to revalidate with
    # (RFC 9111 §5.2.2.5): never store it.
    ("Cache-Control", "no-store"),
    # RFC 9110 §12.5.5: JSON or HTML depends on Accept.
    ("Vary", "Accept"),
)
_STATUS_HTML_HEADERS = (
    ("Content-Type", "text/html; charset=utf-8"),
    ("Access-Control-Allow-Origin", "*"),
    ("Cache-Control", "no-store"),
    ("Vary", "Accept"),
    # Everything is escaped already; the policy is a second wall against injected markup.
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'"),
)
_HEALTHZ_HEADERS = (("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store"))


def options_response(cors: bool) -> web.Response:
    return web.Response(status=204, headers=_PREFLIGHT_HEADERS if cors else _OPTIONS_HEADERS)


def other_method(method: str, path: str, cors: bool) -> web.Response:
    """The answer to anything but GET and HEAD on a served path: OPTIONS, or 405.
    (Callers test for GET/HEAD themselves, inline: that test is on the hot path.)"""
    if method == hdrs.METH_OPTIONS:
        return options_response(cors)
    return method_not_allowed(method, path)


class Handlers:
    """The handlers of one app, reading ``ref.current`` once per request.

    They are synchronous (nothing here waits) and app.py wraps each in ``errors.guard``.
    """

    def __init__(
        self,
        ref: SnapshotRef,
        clock: Clock = system_clock,
        status: Callable[[], BuildStatus] | None = None,
    ) -> None:
        self._ref = ref
        self._clock = clock
        # Live status (partners are fetched between snapshots); None serves the snapshot's.
        self._status = status

    def resource(self, request: web.Request) -> web.StreamResponse:
        """GET/HEAD/OPTIONS of a feed, the feed list, the OPML; 404/405/406/412 otherwise."""
        # path_safe is the decoded path the router already computed (an encoded slash stays
        # %2F: it is not a separator, so no feed has it).
        path = request.rel_url.path_safe
        resource = self._ref.current.resources.get(path)
        if resource is None:
            # RFC 9110 §13.2.1: preconditions are ignored when the answer would not be 2xx,
            # so an unknown feed stays 404 whatever validators come with it.
            return not_found(path)
        return self.respond(request, path, resource)

    def respond(self, request: web.Request, path: str, resource: Resource) -> web.StreamResponse:
        """GET/HEAD/OPTIONS of ``resource``, served at ``path``: the coding ``Accept-Encoding``
        chooses, 304 or 412 as the validators say; 405 and 406 otherwise."""
        method = request.method
        if method != hdrs.METH_GET and method != hdrs.METH_HEAD:
            return other_method(method, path, resource.cors)

        headers = request.headers
        accept_encoding = headers.get(hdrs.ACCEPT_ENCODING)
        # No Accept-Encoding: any coding would be allowed (RFC 9110 §12.5.3), but only
        # identity is sure to be understood.
        coding = IDENTITY if accept_encoding is None else choose_coding(accept_encoding)
        if coding is None:
            # RFC 9110 §12.5.3 / §15.5.7: identity refused and no listed coding available.
            return error_response(
                406,
                "no acceptable content coding; this server sends br, gzip or identity",
                _VARY_ACCEPT_ENCODING,
            )
        variant = resource.variants[coding]
        last_modified = resource.last_modified_seconds
        http_last_modified = resource.http_last_modified
        ok_headers, not_modified_headers = variant.headers, variant.not_modified_headers
        if last_modified is not None:
            now = self._clock().replace(microsecond=0)
            if last_modified > now.timestamp():
                # RFC 9110 §8.8.2.1: a modification time in the future (a post's `updated`
                # date) is replaced by the time of the answer, never sent later than Date.
                last_modified, http_last_modified = int(now.timestamp()), http_date(now)
                ok_headers = _with_last_modified(ok_headers, http_last_modified)
                not_modified_headers = _with_last_modified(not_modified_headers, http_last_modified)

        if_none_match = headers.get(hdrs.IF_NONE_MATCH)
        if if_none_match is not None and len(values := headers.getall(hdrs.IF_NONE_MATCH)) > 1:
            # RFC 9110 §5.3: repeated field lines are one list, joined with commas.
            if_none_match = ", ".join(values)
        if_modified_since = headers.get(hdrs.IF_MODIFIED_SINCE)
        if_match = headers.get(hdrs.IF_MATCH)
        if_unmodified_since = headers.get(hdrs.IF_UNMODIFIED_SINCE)
        if if_match is None and if_unmodified_since is None:
            # The polling reader's request: its ETag sent back as is. Same answer as
            # evaluate_preconditions, without the call.
            if if_none_match == variant.representation.etag:
                return web.Response(status=304, headers=not_modified_headers)
            if if_none_match is None and if_modified_since is None:
                return web.Response(body=variant.representation.body, headers=ok_headers)
        outcome = evaluate_preconditions(
            method,
            variant.representation.etag,
            last_modified,
            if_match=if_match,
            if_unmodified_since=if_unmodified_since,
            if_none_match=if_none_match,
            if_modified_since=if_modified_since,
            http_last_modified=http_last_modified,
            clock=self._clock,
        )
        if outcome == NOT_MODIFIED:
            return web.Response(status=304, headers=not_modified_headers)
        if outcome != PROCEED:
            return error_response(
                412,
                "the feed does not match If-Match or If-Unmodified-Since",
                _VARY_ACCEPT_ENCODING,
            )
        # HEAD: aiohttp sends these headers and the body's Content-Length, not the body
        # (RFC 9110 §9.3.2).
        return web.Response(body=variant.representation.body, headers=ok_headers)

    def status(self, request: web.Request) -> web.StreamResponse:
        """The status JSON, or its HTML view when the client prefers HTML (a browser)."""
        method = request.method
        if method != hdrs.METH_GET and method != hdrs.METH_HEAD:
            return other_method(method, request.path, cors=True)
        snapshot = self._ref.current
        status = snapshot.status if self._status is None else self._status()
        accept = request.headers.get(hdrs.ACCEPT)
        if accept is not None and prefers_html(accept):
            page = render_status_html(status_data(status))
            return web.Response(body=page, headers=_STATUS_HTML_HEADERS)
        body = snapshot.status_json if self._status is None else status_json(status)
        return web.Response(body=body, headers=_STATUS_JSON_HEADERS)

    def healthz(self, request: web.Request) -> web.StreamResponse:
        """Liveness: the process answers. It says nothing of sources (see /status)."""
        method = request.method
        if method != hdrs.METH_GET and method != hdrs.METH_HEAD:
            return other_method(method, request.path, cors=False)
        return web.Response(body=b"ok", headers=_HEALTHZ_HEADERS)


def _with_last_modified(
    headers: tuple[tuple[str, str], ...], value: str
) -> tuple[tuple[str, str], ...]:
    return tuple((name, value if name == hdrs.LAST_MODIFIED else field) for name, field in headers)
