"""Atom 1.0 (RFC 4287), produced by feedgen.

feedgen writes the feed's metadata (``FeedGenerator``) and each entry
(``FeedEntry.atom_entry``); ``_complete_entry`` then adds to the element feedgen returns
what feedgen 1.0.0 cannot say (as a last entry extension would, without registering one
on every entry):

* **Entry link attributes.** feedgen 1.0.0 writes entry ``<link>`` elements with
  ``href`` only: ``atom_entry`` rebinds its loop variable to the new element, then reads
  ``rel``, ``type``, ``hreflang``, ``title`` and ``length`` back from that empty element
  (lkiesow/python-feedgen#135). Translation links would come out as several plain
  alternates, which RFC 4287 §4.2.7.2 forbids (one alternate per type and hreflang).
  ``_complete_entry`` puts the attributes back on the elements feedgen wrote; once feedgen
  writes them itself this is a no-op. The post's own link comes first; translation
  links are typed "text/html; charset=utf-8" so that feedparser-based tools, which
  take the last HTML alternate, still link to the post (see ``common.TRANSLATION_TYPE``).
* ``xml:lang`` on every entry (RFC 4287 §2, xml:lang may appear on any element).
* ``atom:source`` with id, title, updated and links (RFC 4287 §4.2.11) for aggregated
  entries; feedgen would write a title and a rel-less link only.
* The image's alt text (Media RSS ``media:description``).

Entries are serialized on their own and spliced into the feed's head, in ``Feed.posts``
order (newest first; feedgen's ``add_entry`` would prepend). Building entries is most
of the cost and a post sits in several feeds, so with a ``common.FragmentCache`` each
entry is built once per batch.

Archived feeds (RFC 5005 §4) carry ``<fh:archive/>`` and ``current``/``prev-archive``/
``next-archive`` links; a subscription feed with older archives gets ``prev-archive``.

Languages: a feed with ``Feed.lang`` says it once more on ``<feed xml:lang>``. A
mixed-language feed (``lang`` None: the site feed, category feeds) has no feed-level
``xml:lang`` rather than claiming the site's default language for Spanish entries;
its entries say their own.

Dates are pinned: feed ``updated`` is ``Feed.updated`` (feedgen defaults it to now),
and every date is printed in UTC, to the second, with a "+00:00" offset.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseExtension
from feedgen.ext.media import MediaEntryExtension, MediaExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feedsvc.model import Feed, Post
from feedsvc.render.common import (
    GENERATOR,
    GENERATOR_VERSION,
    HISTORY_NS,
    HTML_TYPE,
    MEDIA_NS,
    TRANSLATION_TYPE,
    XML_LANG,
    FragmentCache,
    absolute,
    archive_links,
    build_entries,
    entry_title,
    feed_id,
    feed_title,
    media_content,
    post_terms,
    render_scrubbed,
    self_url,
    serialize_in,
    site_author_name,
    splice,
    translations,
    utc,
)
from feedsvc.urls import MEDIA_TYPES

if TYPE_CHECKING:
    from feedsvc.render import RenderContext

# Link attributes in the order feedgen writes them, so repaired links read the same.
_LINK_ATTRS = ("rel", "type", "hreflang", "title", "length")


class FeedsvcAtomFeed(BaseExtension):
    """Feed-level additions: the RFC 5005 namespace and ``<fh:archive/>``."""

    def __init__(self) -> None:
        self.archive = False

    def extend_ns(self) -> dict[str, str]:
        return {"fh": HISTORY_NS} if self.archive else {}

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        if self.archive:
            # RFC 5005 §4: this document is an archive and will not change.
            etree.SubElement(feed, f"{{{HISTORY_NS}}}archive")
        return feed


def _complete_entry(entry: etree._Element, links: list[dict[str, str]], post: Post) -> None:
    """What feedgen's ``<entry>`` lacks; see the module docstring."""
    # feedgen's elements carry no namespace of their own: the document's default
    # namespace (Atom) applies, so Atom children are plain names here too.
    written = [child for child in entry if child.tag == "link"]
    if len(written) == len(links):
        for element, data in zip(written, links, strict=True):
            for name in _LINK_ATTRS:
                if data.get(name):
                    element.set(name, data[name])
    entry.set(XML_LANG, post.lang)
    if post.image is not None and post.image.alt:
        content = entry.find(f"{{{MEDIA_NS}}}content")
        if content is not None:
            alt = etree.SubElement(content, f"{{{MEDIA_NS}}}description", type="plain")
            alt.text = post.image.alt
    if post.origin is not None:
        _add_source(entry, post)


def _add_source(entry: etree._Element, post: Post) -> None:
    """RFC 4287 §4.2.11: the feed an aggregated entry was copied from.

    The aggregator keeps neither the partner feed's id nor its updated time: the feed
    URL stands for the id, and the entry's updated time is the latest moment the
    source is known to have changed.
    """
    origin = post.origin
    assert origin is not None
    source = etree.SubElement(entry, "source")
    etree.SubElement(source, "id").text = origin.feed_url
    etree.SubElement(source, "title").text = origin.title or origin.name
    etree.SubElement(source, "updated").text = utc(post.updated).isoformat()
    etree.SubElement(source, "link", rel="self", href=origin.feed_url)
    if origin.home_url:
        etree.SubElement(source, "link", rel="alternate", type=HTML_TYPE, href=origin.home_url)


def _person(name: str, email: str | None, url: str | None) -> dict[str, str]:
    person = {"name": name}
    if email:
        person["email"] = email
    if url:
        person["uri"] = url
    return person


def _entry_links(post: Post) -> list[dict[str, str]]:
    links = [{"href": post.url, "rel": "alternate", "type": HTML_TYPE}]
    for tr in translations(post):
        links.append(
            {
                "href": tr.url,
                "rel": "alternate",
                "type": TRANSLATION_TYPE,
                "hreflang": tr.lang,
                "title": tr.title,
            }
        )
    return links


def _entry(post: Post, ctx: RenderContext) -> bytes:
    """One ``<entry>``, built by feedgen, serialized for splicing into any feed."""
    fe = FeedEntry()
    fe.register_extension("media", MediaEntryExtension, rss=False)
    fe.id(post.id)
    fe.title(entry_title(post))
    fe.updated(utc(post.updated))
    fe.published(utc(post.published))
    links = _entry_links(post)
    fe.link(links)
    if post.authors:
        fe.author([_person(a.name, a.email, a.url) for a in post.authors])
    terms = post_terms(post, ctx)
    if terms:
        fe.category(terms)
    full = ctx.feeds.content == "full"
    if post.summary or not full:
        # RFC 4287 §4.1.1.1: an entry without content needs a summary; the title is
        # the last resort when the post has none.
        fe.summary(post.summary or entry_title(post), type="text")
    if full:
        fe.content(post.content_html, type="html")
    if post.image is not None:
        fe.media.content(media_content(post.image), group=None)
    entry = fe.atom_entry()
    _complete_entry(entry, links, post)
    holder = etree.Element("feed", nsmap={"media": MEDIA_NS})
    return serialize_in(holder, entry, level=1)


def _feed_links(feed: Feed, ctx: RenderContext) -> list[dict[str, str]]:
    links = [
        {"href": self_url(ctx, feed, "atom"), "rel": "self", "type": MEDIA_TYPES["atom"]},
        {"href": feed.html_url, "rel": "alternate", "type": HTML_TYPE},
    ]
    for rel, href in archive_links(feed, ctx, "atom"):
        links.append({"href": href, "rel": rel, "type": MEDIA_TYPES["atom"]})
    # W3C WebSub §4: the hubs, beside the rel=self link that names the topic.
    links += [{"href": hub, "rel": "hub"} for hub in ctx.hubs]
    return links


def _head(feed: Feed, ctx: RenderContext) -> bytes:
    """The feed document without entries."""
    fg = FeedGenerator()
    # Declares xmlns:media on <feed>. By class: load_extension("media") first tries to
    # import a feedgen.ext.media_entry module that does not exist, a failed import per feed.
    fg.register_extension("media", MediaExtension, MediaEntryExtension, rss=False)
    fg.register_extension("feedsvc", FeedsvcAtomFeed, rss=False)
    fg.feedsvc.archive = feed.archive
    fg.id(feed_id(ctx, feed))
    fg.title(feed_title(feed, ctx))
    if feed.description:
        fg.subtitle(feed.description)
    fg.link(_feed_links(feed, ctx))
    fg.updated(utc(feed.updated))  # pinned: feedgen would say "now"
    fg.author(_person(site_author_name(ctx), ctx.site.author_email, ctx.site.url))
    fg.generator(GENERATOR, version=GENERATOR_VERSION)
    if ctx.site.icon:
        fg.icon(absolute(ctx, ctx.site.icon))
    if ctx.site.logo:
        fg.logo(absolute(ctx, ctx.site.logo))
    if feed.lang:
        fg.language(feed.lang)
    return fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)


@render_scrubbed
def render_atom(feed: Feed, ctx: RenderContext, *, cache: FragmentCache | None = None) -> bytes:
    """The feed as an Atom 1.0 document, UTF-8. ``cache`` shares entries between the
    feeds of one batch (see ``FragmentCache``); output is the same with or without."""
    entries = build_entries("atom", feed.posts, ctx, cache, _entry)
    return splice(_head(feed, ctx), b"</feed>", entries, indent=b"  ")
