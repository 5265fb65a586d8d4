"""What the renderers share: dates, URLs, ids, titles, grouping of feed lists, the
entry-fragment cache and splicing, and the defence against text XML cannot carry.

Each format module then reads top to bottom as "this format, built with this library".
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin

from lxml import etree

from feedsvc import __version__
from feedsvc.model import Feed, FeedKind, Image, Post, Translation
from feedsvc.normalize.slug import slugify
from feedsvc.urls import feed_url

if TYPE_CHECKING:
    from feedsvc.render import RenderContext

ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DC_NS = "http://purl.org/dc/elements/1.1/"
MEDIA_NS = "http://search.yahoo.com/mrss/"  # Media RSS 1.5.1
HISTORY_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005 §6
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

GENERATOR = "feedsvc"
GENERATOR_VERSION = __version__
HTML_TYPE = "text/html"
# The type on translation links. feedparser (behind rss2email, feed2exec, Planet and
# many bots) takes the *last* alternate link of an HTML type as an entry's link, while
# Miniflux, gofeed and NetNewsWire take the first. The post's own link comes first with
# "text/html"; translations say "text/html; charset=utf-8", a valid atomMediaType
# (RFC 4287 §4.2.7.3, advisory) that feedparser does not take for the entry's link, so
# every reader links to the post itself and not to its last translation.
TRANSLATION_TYPE = "text/html; charset=utf-8"

# Image types by file extension, for the RSS enclosure's required type when the source
# gave none. A fixed table, not the mimetypes module: that reads /etc/mime.types, which
# differs between machines, and output must be the same on every replica
# (docs/architecture.md "Determinism").
_IMAGE_TYPES = {
    "avif": "image/avif",
    "gif": "image/gif",
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "png": "image/png",
    "svg": "image/svg+xml",
    "webp": "image/webp",
}


def utc(moment: datetime) -> datetime:
    """The instant in UTC, to the second: every format prints the same instant the same way."""
    return moment.astimezone(UTC).replace(microsecond=0)


def rfc3339(moment: datetime) -> str:
    """RFC 3339 §5.6 date-time, always with the "+00:00" offset (Atom, JSON Feed)."""
    return utc(moment).isoformat()


def self_url(ctx: RenderContext, feed: Feed, fmt: str) -> str:
    return feed_url(ctx.public_url, feed.path, fmt)


def archive_links(feed: Feed, ctx: RenderContext, fmt: str) -> list[tuple[str, str]]:
    """(rel, URL) of RFC 5005 §3/§4 navigation between a subscription feed and its
    archives: ``current``, ``prev-archive``, ``next-archive``, where they exist."""
    return [
        (rel, feed_url(ctx.public_url, path, fmt))
        for rel, path in (
            ("current", feed.current),
            ("prev-archive", feed.prev_archive),
            ("next-archive", feed.next_archive),
        )
        if path
    ]


def absolute(ctx: RenderContext, url: str) -> str:
    """A configured URL (icon, logo) made absolute against the site: feeds carry no
    relative URLs, since many readers resolve them wrongly (W3C validator: "relative URL")."""
    return urljoin(ctx.site.url, url) if url else ""


def feed_id(ctx: RenderContext, feed: Feed) -> str:
    """A permanent feed id (RFC 4287 §4.2.6): a tag URI (RFC 4151) from the site's
    authority, so moving the service to another host never changes it."""
    return f"tag:{ctx.site.id_authority}:feeds/{feed.path}"


def category_scheme(ctx: RenderContext) -> str:
    """The categorization scheme (Atom ``scheme``, RSS ``domain``): the folder of the
    category feeds, so that scheme + slug + ".atom" is the category's own feed."""
    return ctx.public_url + "category/"  # public_url ends with "/" (RenderContext)


def tag_scheme(ctx: RenderContext) -> str:
    """The scheme (Atom) or domain (RSS) of tags: the folder of the tag feeds, so a reader
    tells a post's tags from its categories, and scheme + slug + ".atom" is the tag's feed."""
    return ctx.public_url + "tag/"


def post_terms(post: Post, ctx: RenderContext) -> list[dict[str, str]]:
    """A post's categories then its tags as feedgen ``category`` dicts (Atom term/scheme/label,
    RSS domain/text), each told apart by its scheme."""
    categories = category_scheme(ctx)
    tags = tag_scheme(ctx)
    terms = [{"term": c.slug, "label": c.label, "scheme": categories} for c in post.categories]
    terms += [{"term": slugify(t), "label": t, "scheme": tags} for t in post.tags]
    return terms


def translations(post: Post) -> list[Translation]:
    """The post's translations, one per language, never its own language.

    RFC 4287 §4.2.7.2: at most one alternate link per (type, hreflang); a duplicate
    language would make the entry invalid, so only the first link per language stays.
    """
    seen = {post.lang.lower()}
    kept = []
    for tr in post.translations:
        if tr.lang.lower() not in seen:
            seen.add(tr.lang.lower())
            kept.append(tr)
    return kept


def image_type(image: Image) -> str | None:
    if image.mime_type:
        return image.mime_type
    path = image.url.split("?", 1)[0].split("#", 1)[0]
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return _IMAGE_TYPES.get(ext)


def media_content(image: Image) -> dict[str, str]:
    """Attributes of a Media RSS ``media:content`` element for a post's image."""
    attrs = {"url": image.url, "medium": "image"}
    mime = image_type(image)
    if mime:
        attrs["type"] = mime
    if image.length:
        attrs["fileSize"] = str(image.length)
    if image.width:
        attrs["width"] = str(image.width)
    if image.height:
        attrs["height"] = str(image.height)
    return attrs


def site_author_name(ctx: RenderContext) -> str:
    """RFC 4287 §4.1.1: a feed needs an author unless every entry has one; the site's
    title stands in when no author is configured."""
    return ctx.site.author.strip() or ctx.site.title.strip() or ctx.site.url


def feed_title(feed: Feed, ctx: RenderContext) -> str:
    """Atom and RSS require a non-blank title (RFC 4287 §4.1.1, RSS 2.0 <channel>)."""
    return feed.title if feed.title.strip() else ctx.site.title.strip() or feed.html_url


def entry_title(post: Post) -> str:
    """Atom requires an entry title; an untitled post (an aggregated note, say) shows
    its URL, as feed readers do for untitled items."""
    return post.title if post.title.strip() else post.url


# --- Lists of feeds (OPML, the index page) -------------------------------------------

# Groups in the order a reader meets them; titles as the index page and OPML show them.
FEED_GROUPS = (
    (FeedKind.SITE, "Whole site"),
    (FeedKind.NETWORK, "Network"),
    (FeedKind.PARTNERS, "Partners"),
    (FeedKind.LANGUAGE, "By language"),
    (FeedKind.CATEGORY, "By category"),
    (FeedKind.TAG, "By tag"),
    (FeedKind.LANGUAGE_CATEGORY, "By language and category"),
    (FeedKind.ARCHIVE, "Monthly archives"),
)

FORMAT_NAMES = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed"}


def group_feeds(feeds: Sequence[Feed]) -> list[tuple[str, list[Feed]]]:
    """Feeds grouped by kind, in a fixed order that never depends on the input's:
    categories by title, archives newest first, the rest by path."""
    groups = []
    for kind, title in FEED_GROUPS:
        members = [f for f in feeds if f.kind == kind]
        if kind in (FeedKind.CATEGORY, FeedKind.TAG):
            members.sort(key=lambda f: (f.title.casefold(), f.path))
        else:
            members.sort(key=lambda f: f.path, reverse=kind == FeedKind.ARCHIVE)
        if members:
            groups.append((title, members))
    known = {kind for kind, _ in FEED_GROUPS}
    others = sorted((f for f in feeds if f.kind not in known), key=lambda f: f.path)
    if others:  # a kind added later still gets listed
        groups.append(("Other feeds", others))
    return groups


# --- Entry fragments: each post is built once per format and batch ----------------------


# Fragments a FragmentCache keeps, the most recently used. A post is in several feeds of
# one batch, so its fragment is asked for again soon after the first time when feeds are
# rendered in order (site, categories, languages, archives: recent posts are in them all).
# Unbounded, a 10,000-post site's fragments took about 100 MB in each render worker,
# half of a worker's memory; 8,192 fragments of ~5 KB are about 40 MB. A build sizes each
# cache to what its chunk asks for again (render_plan.render_plan: 5,871 on the bench site).
FRAGMENTS_KEPT = 8192


class FragmentCache:
    """Serialized entries, shared by every feed of one render batch that holds the post.

    A post sits in several feeds (site, language, each category, language×category,
    its month's archive); with a cache its entry is built and serialized once per format
    instead of once per feed, as long as it is among the ``size`` most recently used.
    Entries therefore depend only on the post and the context, never on the feed they are
    in. The cache is bound to one RenderContext and ignored for any other.

    Posts are found by identity, not by value: the feeds of a batch hold the very same
    ``Post`` objects, and hashing a whole frozen post (its categories, authors, body…)
    on every lookup cost more than a tenth of an entry. A post equal to a cached one but
    another object is a miss, built again into the same bytes. Each fragment keeps its
    post alive, so an id is never reused while its fragment is kept.
    """

    def __init__(self, ctx: RenderContext, size: int = FRAGMENTS_KEPT) -> None:
        if size < 1:
            raise ValueError(f"a FragmentCache keeps at least one fragment, not {size}")
        self.ctx = ctx
        self.size = size
        self._entries: dict[tuple[str, int], tuple[Post, bytes]] = {}

    def entries(
        self,
        fmt: str,
        posts: Sequence[Post],
        ctx: RenderContext,
        build: Callable[[Post, RenderContext], bytes],
    ) -> list[bytes]:
        if ctx is not self.ctx and ctx != self.ctx:
            return [build(post, ctx) for post in posts]
        kept = self._entries
        out = []
        for post in posts:
            key = (fmt, id(post))
            fragment = kept.pop(key, None)
            if fragment is None:
                fragment = (post, build(post, ctx))
                if len(kept) >= self.size:
                    del kept[next(iter(kept))]  # the least recently used (dicts keep order)
            kept[key] = fragment
            out.append(fragment[1])
        return out

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()


def build_entries(
    fmt: str,
    posts: Sequence[Post],
    ctx: RenderContext,
    cache: FragmentCache | None,
    build: Callable[[Post, RenderContext], bytes],
) -> list[bytes]:
    if cache is None:
        return [build(post, ctx) for post in posts]
    return cache.entries(fmt, posts, ctx, build)


def serialize_in(holder: etree._Element, element: etree._Element, level: int) -> bytes:
    """``element`` serialized inside ``holder``'s namespace scope, indented for ``level``.

    ``holder`` declares the same prefixes as the final document's root, so the fragment
    repeats no ``xmlns`` declarations and reads as if written in place.
    """
    holder.append(element)
    etree.indent(element, space="  ", level=level)
    data = etree.tostring(holder, encoding="UTF-8")
    holder.remove(element)
    # "<holder ...>" + element + "</holder>": namespace URIs contain no ">".
    return data[data.index(b">") + 1 : data.rindex(b"</")]


def splice(document: bytes, before: bytes, fragments: Sequence[bytes], indent: bytes) -> bytes:
    """Insert serialized elements, one per line, before the last ``before`` in
    ``document`` (a closing tag written by lxml, so it occurs exactly where expected)."""
    at = document.rindex(before)
    parts = [document[:at]]
    for fragment in fragments:
        parts += (indent, fragment, b"\n")
    parts.append(document[at:])
    return b"".join(parts)


# --- Defence in depth for text the normalizer should already have cleaned ----------------

# XML 1.0 §2.2 Char, minus U+FFFE/U+FFFF; lone surrogates cannot be encoded at all.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

T = TypeVar("T")


def render_scrubbed(render: Callable[..., T]) -> Callable[..., T]:
    """Wrap a renderer so that text XML cannot carry never breaks a feed.

    The normalizer removes such characters (docs/architecture.md "Normalization") and the hot path
    trusts it: a regex scan of every body would add about a fifth to the cost of an entry. lxml
    refuses them loudly (ValueError) rather than writing a broken document, and UTF-8 encoding
    refuses lone surrogates, so on that error alone the input is scrubbed and rendered once more.
    (JSON can carry C0 controls, escaped, so it only needs the retry for surrogates.)
    """

    @functools.wraps(render)
    def wrapper(what: Any, ctx: RenderContext, **kwargs: Any) -> T:
        try:
            return render(what, ctx, **kwargs)
        except ValueError:  # includes UnicodeEncodeError (lone surrogates)
            # Scrubbed posts are new cache keys; an unchanged post's entry is the same.
            return render(scrubbed(what), scrubbed(ctx), **kwargs)

    return wrapper


def scrub(text: str) -> str:
    return _NOT_XML_CHAR.sub("", text)


def scrubbed(value: Any) -> Any:
    """``value`` (a feed, posts, a context…) with every string scrubbed, recursively."""
    if type(value) is str:  # not str subclasses: enums such as FeedKind stay as they are
        return scrub(value)
    if isinstance(value, tuple | list):
        return tuple(scrubbed(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: scrubbed(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    return value
