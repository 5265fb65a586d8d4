"""Where each hop of a redirect chain may go, and what it may carry.

The fetcher follows redirects itself (so that every hop passes the address policy); these
are its pure rules for one hop: the target must be an absolute http(s) URL with a host, and
credentials the caller gave go on only to the same origin.
"""

from __future__ import annotations

from collections.abc import Mapping

from yarl import URL

from feedsvc.errors import FetchError, UnsupportedScheme

__all__ = ["hop_headers", "origin_of", "parse_target", "same_origin"]

_SCHEMES = frozenset({"http", "https"})
# Caller headers that carry credentials: never sent on to another origin after a redirect
# (as browsers do, Fetch standard §4.4 "HTTP-redirect fetch", and curl and requests).
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int | None]


def parse_target(url: str, reference: str, base: URL | None = None) -> URL:
    """``reference`` (resolved against ``base``, the previous hop) as a URL to request;
    FetchError naming ``url``, the URL asked for, when it cannot be one."""
    try:
        target = URL(reference)
        if base is not None:
            target = base.join(target)
    except ValueError as e:
        raise FetchError(url, f"invalid URL {reference!r}: {e}") from e
    hop = str(target) if base is not None else None
    if not target.scheme:
        raise FetchError(url, f"{reference!r} is not an absolute URL")
    if target.scheme not in _SCHEMES:
        raise UnsupportedScheme(url, target.scheme, hop)
    if not target.host:
        raise FetchError(url, f"URL {reference!r} has no host")
    return target.with_fragment(None)  # never sent (RFC 9110 §7.1)


def origin_of(target: URL) -> Origin:
    """RFC 6454 §4: scheme, host and port (the scheme's default when not given)."""
    scheme = (target.scheme or "").lower()
    return scheme, (target.host or "").lower(), target.port or _DEFAULT_PORTS.get(scheme)


def same_origin(origin: Origin, target: URL) -> bool:
    """Whether credentials meant for ``origin`` may go to ``target``: the same origin, or
    the same host moved from http to https on the default ports (as requests allows)."""
    hop = origin_of(target)
    if hop == origin:
        return True
    return origin == ("http", hop[1], 80) and hop == ("https", origin[1], 443)


def hop_headers(extra: Mapping[str, str], to_same_origin: bool) -> dict[str, str]:
    """The caller's extra headers for one hop: without credentials to another origin."""
    if to_same_origin:
        return dict(extra)
    return {name: value for name, value in extra.items() if name.lower() not in _CREDENTIAL_HEADERS}
