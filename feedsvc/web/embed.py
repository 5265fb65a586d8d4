"""``GET /embed/{feed}.html?limit=N``: a feed as an HTML fragment for partner pages
(docs/urls.md "Embeds for partner sites").

The fragment is made from the feed's JSON Feed in the current snapshot (render/embed.py)
the first time a (feed, limit) is asked for, then kept: later requests are a lookup,
answered by the same code as the feeds (strong ETag per coding, 304, gzip/br, CORS,
Cache-Control and Last-Modified of the feed). The key is the JSON document's ETag, so a
rebuild that changes the feed changes the key, and a stale fragment is never served.
"""

from __future__ import annotations

from collections import OrderedDict

from aiohttp import hdrs, web
from multidict import MultiMapping

from feedsvc.render.embed import DEFAULT_LIMIT, MAX_LIMIT, fragment_resource
from feedsvc.store import Resource, SnapshotRef
from feedsvc.urls import feed_path
from feedsvc.web.errors import error_response, not_found
from feedsvc.web.handlers import Handlers, other_method

# The route: any feed path, ``/embed/category/helpline.html`` → ``category/helpline``.
ROUTE = r"/embed/{feed:.+}.html"
# (feed, limit) fragments kept: a few KB each in three codings. Partners mostly use the
# default limit, so this holds several limits of every feed of a large site.
CACHE_SIZE = 1024

_LIMIT_RULE = f"limit must be a whole number from 1 to {MAX_LIMIT}"


def parse_limit(query: MultiMapping[str]) -> int | str:
    """``?limit=N`` as a number of items, or the reason it is refused (for a 400)."""
    values = query.getall("limit", [])
    if not values:
        return DEFAULT_LIMIT
    if len(values) > 1:
        return f"{_LIMIT_RULE}, given once; got {len(values)} values"
    value = values[0]
    # isdecimal, not int(): int() would take " 5", "+5", "٥" and "5_0".
    if not (value.isascii() and value.isdecimal()) or not 1 <= int(value) <= MAX_LIMIT:
        return f"{_LIMIT_RULE}, not {value!r}"
    return int(value)


class EmbedFragments:
    """The fragment handler of one app, with its cache of rendered fragments."""

    def __init__(self, ref: SnapshotRef, handlers: Handlers, cache_size: int = CACHE_SIZE):
        self._ref = ref
        self._handlers = handlers
        self._cache_size = cache_size
        self._cache: OrderedDict[tuple[str, int], Resource] = OrderedDict()

    def __len__(self) -> int:
        return len(self._cache)

    def fragment(self, request: web.Request) -> web.StreamResponse:
        path = request.rel_url.path_safe
        feed = self._ref.current.resources.get(feed_path(request.match_info["feed"], "json"))
        if feed is None:
            return not_found(path)
        method = request.method
        if method != hdrs.METH_GET and method != hdrs.METH_HEAD:
            return other_method(method, path, cors=True)
        limit = parse_limit(request.query)
        if isinstance(limit, str):
            return error_response(400, limit)
        return self._handlers.respond(request, path, self._resource(feed, limit))

    def _resource(self, feed: Resource, limit: int) -> Resource:
        key = (feed.identity.etag, limit)
        resource = self._cache.get(key)
        if resource is not None:
            self._cache.move_to_end(key)
            return resource
        resource = fragment_resource(feed, limit)
        self._cache[key] = resource
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return resource
