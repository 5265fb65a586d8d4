"""RSS 2.0 (RSS Advisory Board specification, 2.0.11), produced by feedgen.

Conventions, chosen to satisfy the W3C Feed Validation Service without warnings:

* ``<description>`` is the post's plain-text summary and ``content:encoded`` the full
  HTML (WordPress's convention, which readers and social bots expect); in summary
  mode there is no ``content:encoded``. The channel description falls back to the
  title because RSS requires a non-empty one.
* ``<author>`` must hold an email address, and may appear once: it is used only for a
  post with exactly one author who has an email. Otherwise every author is a
  ``dc:creator``; never both, which the validator reports as duplicate semantics.
* ``<guid isPermaLink="false">`` carries the permanent id, ``true`` only when the id
  is the post's URL.
* The image is a Media RSS ``media:content``; an ``<enclosure>`` is added only when its
  size is known, since RSS requires ``length``.
* Translations are ``atom:link rel="alternate" hreflang`` inside the item, typed so
  that feedparser keeps ``<link>`` as the item's link (``common.TRANSLATION_TYPE``).
* The channel has ``<language>`` when the feed has one language; every item has
  ``dc:language``, so mixed-language feeds (site, categories) still say which item
  is Spanish.
* Aggregated items name their partner in ``<source url>``.
* RFC 5005 applies to RSS as well: archives carry ``<fh:archive/>`` and ``atom:link``
  navigation.

feedgen defaults ``lastBuildDate`` to now; it is pinned to ``Feed.updated``, as is the
channel ``pubDate``. Dates are RFC 822 (RSS 2.0 "Elements of <item>") in UTC.

Items are serialized on their own and spliced into the channel, as in the Atom renderer
(and, with a ``common.FragmentCache``, built once per batch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.ext.dc import DcEntryExtension, DcExtension
from feedgen.ext.media import MediaEntryExtension, MediaExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feedsvc.model import Feed, Post
from feedsvc.render.common import (
    ATOM_NS,
    CONTENT_NS,
    DC_NS,
    GENERATOR,
    GENERATOR_VERSION,
    HISTORY_NS,
    MEDIA_NS,
    TRANSLATION_TYPE,
    FragmentCache,
    absolute,
    archive_links,
    build_entries,
    entry_title,
    feed_title,
    image_type,
    media_content,
    post_terms,
    render_scrubbed,
    self_url,
    serialize_in,
    splice,
    translations,
    utc,
)
from feedsvc.urls import MEDIA_TYPES

if TYPE_CHECKING:
    from feedsvc.render import RenderContext

RSS_DOCS = "https://www.rssboard.org/rss-specification"
# The prefixes feedgen declares on <rss>; items are serialized in the same scope.
_NSMAP = {"dc": DC_NS, "media": MEDIA_NS, "atom": ATOM_NS, "content": CONTENT_NS}
_DC_CREATOR = f"{{{DC_NS}}}creator"
_DC_LANGUAGE = f"{{{DC_NS}}}language"


class FeedsvcRssFeed(BaseExtension):
    """Channel-level RFC 5005 markup, which feedgen's RSS output has no place for."""

    def __init__(self) -> None:
        self.archive = False
        self.links: list[tuple[str, str]] = []  # (rel, href)
        self.hubs: tuple[str, ...] = ()

    def extend_ns(self) -> dict[str, str]:
        return {"fh": HISTORY_NS} if self.archive else {}

    def extend_rss(self, rss: etree._Element) -> etree._Element:
        channel = rss[0]
        for rel, href in self.links:
            etree.SubElement(
                channel, f"{{{ATOM_NS}}}link", rel=rel, type=MEDIA_TYPES["rss"], href=href
            )
        # W3C WebSub §4: RSS names its hubs with atom:link, as it does its rel=self link.
        for hub in self.hubs:
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", rel="hub", href=hub)
        if self.archive:
            etree.SubElement(channel, f"{{{HISTORY_NS}}}archive")
        return rss


class FeedsvcRssDublinCore(BaseEntryExtension):
    """An item's ``dc:creator`` names and ``dc:language``, where feedgen's Dublin Core
    extension writes them (after the item's own elements, before Media RSS). Written here
    because that extension looks up each of its fifteen elements by name on every item: a
    sixth of an item's cost, for two elements."""

    def __init__(self) -> None:
        self.creators: list[str] = []
        self.language = ""

    def extend_rss(self, item: etree._Element) -> etree._Element:
        for name in self.creators:
            etree.SubElement(item, _DC_CREATOR).text = name
        etree.SubElement(item, _DC_LANGUAGE).text = self.language
        return item


def _add_translations(item: etree._Element, post: Post) -> None:
    """Translation links inside an item, as ``atom:link`` (feedgen has no such field), last
    in the item, where a last entry extension would put them (without registering one on
    every item)."""
    for tr in translations(post):
        link = etree.SubElement(item, f"{{{ATOM_NS}}}link", rel="alternate")
        link.set("type", TRANSLATION_TYPE)
        link.set("hreflang", tr.lang)
        link.set("href", tr.url)
        if tr.title:
            link.set("title", tr.title)


def _item(post: Post, ctx: RenderContext) -> bytes:
    """One ``<item>``, built by feedgen, serialized for splicing into any feed."""
    fe = FeedEntry()
    fe.register_extension("dc", FeedsvcRssDublinCore, atom=False)
    fe.register_extension("media", MediaEntryExtension, atom=False)
    if post.title.strip():
        # RSS 2.0 "Elements of <item>": a title or a description suffices, so an untitled
        # post (a WordPress aside) has no <title>, as readers expect of microblog items.
        fe.title(post.title)
    fe.link(href=post.url)
    fe.guid(post.id, permalink=post.id == post.url)
    fe.published(utc(post.published))
    full = ctx.feeds.content == "full"
    if post.summary or not full or not post.title.strip():
        fe.summary(post.summary or entry_title(post))
    if full:
        fe.content(post.content_html)
    authors = post.authors
    if len(authors) == 1 and authors[0].email:
        fe.author(name=authors[0].name, email=authors[0].email)
    else:
        fe.dc.creators = [a.name for a in authors if a.name]
    fe.dc.language = post.lang
    terms = post_terms(post, ctx)
    if terms:
        fe.category(terms)
    image = post.image
    if image is not None:
        fe.media.content(media_content(image), group=None)
        mime = image_type(image)
        if image.length and mime:
            fe.enclosure(image.url, str(image.length), mime)
    if post.origin is not None:
        fe.source(url=post.origin.feed_url, title=post.origin.title or post.origin.name)
    item = fe.rss_entry()
    _add_translations(item, post)
    holder = etree.Element("rss", nsmap=_NSMAP)
    return serialize_in(holder, item, level=2)


def _head(feed: Feed, ctx: RenderContext) -> bytes:
    """The feed document without items."""
    fg = FeedGenerator()
    # Registered for their namespace declarations on <rss>, which the items use; by class,
    # since load_extension first tries to import feedgen.ext.<name>_entry, which does not
    # exist: two failed imports per feed.
    fg.register_extension("dc", DcExtension, DcEntryExtension, atom=False)
    fg.register_extension("media", MediaExtension, MediaEntryExtension, atom=False)
    fg.register_extension("feedsvc", FeedsvcRssFeed, atom=False)
    fg.feedsvc.archive = feed.archive
    fg.feedsvc.links = archive_links(feed, ctx, "rss")
    fg.feedsvc.hubs = ctx.hubs
    fg.title(feed_title(feed, ctx))
    # feedgen's channel <link> is the last link given, and its atom:link the rel=self one.
    fg.link(href=self_url(ctx, feed, "rss"), rel="self", type=MEDIA_TYPES["rss"])
    fg.link(href=feed.html_url, rel="alternate")
    fg.description(feed.description or feed_title(feed, ctx))
    if feed.lang:
        fg.language(feed.lang)
    fg.lastBuildDate(utc(feed.updated))  # pinned: feedgen would say "now"
    fg.pubDate(utc(feed.updated))
    fg.generator(f"{GENERATOR} {GENERATOR_VERSION}")
    fg.docs(RSS_DOCS)
    if ctx.site.author_email:
        fg.managingEditor(f"{ctx.site.author_email} ({ctx.site.author or ctx.site.title})")
    image = ctx.site.icon or ctx.site.logo
    if image:
        fg.image(absolute(ctx, image), title=feed_title(feed, ctx), link=feed.html_url)
    return fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)


@render_scrubbed
def render_rss(feed: Feed, ctx: RenderContext, *, cache: FragmentCache | None = None) -> bytes:
    """The feed as an RSS 2.0 document, UTF-8. ``cache`` shares items between the
    feeds of one batch (see ``FragmentCache``); output is the same with or without."""
    items = build_entries("rss", feed.posts, ctx, cache, _item)
    return splice(_head(feed, ctx), b"  </channel>", items, indent=b"    ")
