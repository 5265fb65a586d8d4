"""merge.py and clean.py: identity, dedupe, dates, cleaning and retention of partner entries.

Pure. Entries go through clean_feed first, as they do in the parser worker."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from feedsvc.aggregate.clean import CleanEntry, clean_entry, clean_feed, entry_digest, reuse
from feedsvc.aggregate.merge import MergeContext, merge, partner_categories, to_post
from feedsvc.model import Author, Category, Origin
from feedsvc.remote.parsed import ParsedEntry, ParsedFeed

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
FEED_URL = "https://p.example/feeds/all.xml"
SUMMARY_LENGTH = 40
CTX = MergeContext(partner="p", id_authority="site.example,2020", retention=100, now=NOW)
ORIGIN = Origin("p", "Partner", "https://p.example/feeds/all.xml", "https://p.example/")


def entry(n: int, **fields) -> ParsedEntry:
    values = {
        "entry_id": f"https://p.example/{n}",
        "link": f"https://p.example/{n}.html",
        "title": f"Entry {n}",
        "content_html": f"<p>Body {n}</p>",
        "summary": "",
        "published": datetime(2024, 4, n, tzinfo=UTC),
        "updated": None,
    }
    values.update(fields)
    return ParsedEntry(**values)


def feed(*entries: ParsedEntry) -> tuple[CleanEntry, ...]:
    """A fetch's entries, cleaned as the parser worker does."""
    return tuple(clean_entry(e, FEED_URL, SUMMARY_LENGTH) for e in entries)


def test_a_first_merge_stores_every_entry():
    result = merge(feed(entry(1), entry(2)), {}, (), False, CTX)
    assert result.changed
    assert len(result.upserts) == 2
    assert result.deletes == ()
    assert set(result.entries) == {"id:https://p.example/1", "id:https://p.example/2"}
    assert result.id_memory == (
        ("https://p.example/1.html", "https://p.example/1"),
        ("https://p.example/2.html", "https://p.example/2"),
    )


def test_the_same_feed_again_changes_nothing():
    first = merge(feed(entry(1), entry(2)), {}, (), False, CTX)
    later = replace(CTX, now=NOW + timedelta(hours=5))
    again = merge(feed(entry(1), entry(2)), first.entries, first.id_memory, False, later)
    assert not again.changed
    assert again.entries == first.entries


def test_identity_falls_back_to_link_then_a_content_hash():
    result = merge(
        feed(entry(1, entry_id=None), entry(2, entry_id=None, link=None), entry(3)),
        {},
        (),
        False,
        CTX,
    )
    keys = sorted(result.entries)
    assert keys[0].startswith("hash:")
    assert keys[1:] == ["id:https://p.example/3", "link:https://p.example/1.html"]


def test_ids_are_the_partners_when_absolute_else_minted_and_stable():
    result = merge(
        feed(entry(1), entry(2, entry_id="42"), entry(3, entry_id=None)), {}, (), False, CTX
    )
    ids = {e.title: e.id for e in result.entries.values()}
    assert ids["Entry 1"] == "https://p.example/1"
    assert ids["Entry 2"].startswith("tag:site.example,2020:partner/p/")
    assert ids["Entry 3"].startswith("tag:site.example,2020:partner/p/")
    again = merge(feed(entry(2, entry_id="42", title="Edited")), {}, (), False, CTX)
    assert next(iter(again.entries.values())).id == ids["Entry 2"]


def test_duplicates_within_one_fetch_are_one_entry_the_first_wins():
    result = merge(feed(entry(1), entry(1, title="Second copy")), {}, (), False, CTX)
    [only] = result.entries.values()
    assert only.title == "Entry 1"


def test_changing_ids_with_the_same_links_are_noticed_and_matched_by_link():
    first = merge(feed(entry(1), entry(2)), {}, (), False, CTX)
    renamed = feed(entry(1, entry_id="urn:x:a"), entry(2, entry_id="urn:x:b"))
    second = merge(renamed, first.entries, first.id_memory, False, CTX)
    assert second.unstable_ids
    assert second.entries == first.entries  # the same two entries, same ids
    assert not second.changed
    # Once flagged, new entries are keyed by link and never take the unstable id.
    third = merge(
        feed(entry(1, entry_id="urn:x:c"), entry(3, entry_id="urn:x:d")),
        second.entries,
        second.id_memory,
        True,
        CTX,
    )
    new = third.entries["link:https://p.example/3.html"]
    assert new.id.startswith("tag:site.example,2020:partner/p/")
    assert len(third.entries) == 3


def test_links_shared_by_several_entries_are_not_used_to_dedupe():
    same = "https://p.example/"
    result = merge(feed(entry(1, link=same), entry(2, link=same)), {}, (("x", "y"),), True, CTX)
    assert len(result.entries) == 2


def test_missing_dates_take_first_seen_and_future_dates_are_clamped():
    future = NOW + timedelta(days=30)
    result = merge(
        feed(entry(1, published=None), entry(2, published=future, updated=future)),
        {},
        (),
        False,
        CTX,
    )
    for stored in result.entries.values():
        assert stored.published == NOW
        assert stored.updated == NOW
        assert stored.first_seen == NOW


def test_published_never_changes_and_updated_only_moves_forward():
    first = merge(feed(entry(1)), {}, (), False, CTX)
    later = replace(CTX, now=NOW + timedelta(days=2))
    moved = entry(1, published=NOW, updated=NOW + timedelta(days=1))
    second = merge(feed(moved), first.entries, (), False, later)
    [stored] = second.entries.values()
    assert stored.published == datetime(2024, 4, 1, tzinfo=UTC)
    assert stored.updated == NOW + timedelta(days=1)
    back = merge(feed(entry(1, updated=NOW - timedelta(days=9))), second.entries, (), False, later)
    assert next(iter(back.entries.values())).updated == NOW + timedelta(days=1)


def test_content_is_sanitized_against_the_feed_url_and_text_is_clean():
    result = merge(
        feed(
            entry(
                1,
                title="  Spaced\u202e out \x00 title ",
                content_html='<p onclick="x()">Hi <a href="../about">about</a><script>1</script>',
                summary="A summary that is much longer than forty characters, surely.",
            )
        ),
        {},
        (),
        False,
        CTX,
    )
    [stored] = result.entries.values()
    assert stored.content_html == (
        '<p>Hi <a href="https://p.example/about" rel="noopener noreferrer">about</a></p>'
    )
    assert stored.title == "Spaced out title"
    assert stored.summary == "A summary that is much longer than…"


def test_a_partners_summary_is_cut_between_graphemes():
    # The "ä" of "Kapitän" is a + U+0308 at 38 and 39: cut at 39, it would lose its umlaut.
    summary = "Die Dampfschiffahrtsgesellschaftskapita\u0308ne fahren"
    assert summary.index("\u0308") == SUMMARY_LENGTH - 1
    result = merge(feed(entry(1, summary=summary)), {}, (), False, CTX)
    assert next(iter(result.entries.values())).summary == summary[:38] + "…"


def test_a_summary_is_derived_from_the_content_when_the_feed_has_none():
    result = merge(
        feed(entry(1, content_html="<p>One <b>two</b></p><p>three</p>")), {}, (), False, CTX
    )
    assert next(iter(result.entries.values())).summary == "One two three"


def test_language_tags_are_normalized_or_dropped():
    result = merge(feed(entry(1, lang="en_us"), entry(2, lang="English!")), {}, (), False, CTX)
    langs = {e.title: e.lang for e in result.entries.values()}
    assert langs == {"Entry 1": "en-US", "Entry 2": None}


def test_retention_drops_the_oldest_but_never_what_is_in_the_feed():
    ctx = replace(CTX, retention=3)
    first = merge(feed(entry(1), entry(2), entry(3)), {}, (), False, ctx)
    second = merge(feed(entry(9), entry(8)), first.entries, (), False, ctx)
    assert sorted(e.title for e in second.entries.values()) == ["Entry 3", "Entry 8", "Entry 9"]
    assert second.deletes == ("id:https://p.example/1", "id:https://p.example/2")
    crowded = merge(feed(*(entry(n) for n in range(1, 6))), {}, (), False, ctx)
    assert len(crowded.entries) == 5  # more in the feed than the retention: all stay


def test_to_post_applies_the_partner_config():
    [stored] = merge(
        feed(entry(1, link=None, authors=(Author("Ann"),))), {}, (), False, CTX
    ).entries.values()
    categories = partner_categories(["Partners", "partners ", "<b>News</b>"])
    post = to_post(
        stored, ORIGIN, lang="es", categories=categories, fallback_url="https://p.example/"
    )
    assert post.url == "https://p.example/"
    assert post.lang == "es"
    assert post.categories == (Category("Partners", "partners"), Category("News", "news"))
    assert post.origin == ORIGIN
    assert post.authors == (Author("Ann"),)


# --- clean.py: entries already cleaned on a previous fetch ---------------------------------


def test_known_entries_are_not_cleaned_again_and_reuse_restores_them():
    parsed = ParsedFeed("P", None, None, (entry(1), entry(2)), None, "rss")
    first = clean_feed(parsed, FEED_URL, SUMMARY_LENGTH)
    known = {e.digest: e for e in first.entries if isinstance(e, CleanEntry)}
    assert len(known) == 2
    changed = ParsedFeed("P", None, None, (entry(3), entry(1), entry(2, title="New")), None, "rss")
    second = clean_feed(changed, FEED_URL, SUMMARY_LENGTH, known)
    assert [type(e).__name__ for e in second.entries] == ["CleanEntry", "Unchanged", "CleanEntry"]
    assert reuse(second.entries, known) == clean_feed(changed, FEED_URL, SUMMARY_LENGTH).entries


def test_the_digest_covers_every_field_the_feed_url_and_the_summary_length():
    base = entry_digest(entry(1), FEED_URL, SUMMARY_LENGTH)
    assert base == entry_digest(entry(1), FEED_URL, SUMMARY_LENGTH)
    others = [
        entry_digest(entry(1), "https://p.example/moved.xml", SUMMARY_LENGTH),
        entry_digest(entry(1), FEED_URL, SUMMARY_LENGTH + 1),
        entry_digest(entry(1, summary="s"), FEED_URL, SUMMARY_LENGTH),
        entry_digest(entry(1, lang="fr"), FEED_URL, SUMMARY_LENGTH),
        entry_digest(entry(1, authors=(Author("Ann"),)), FEED_URL, SUMMARY_LENGTH),
        entry_digest(entry(1, updated=NOW), FEED_URL, SUMMARY_LENGTH),
    ]
    assert base not in others and len(set(others)) == len(others)


def test_equal_author_lists_become_one_object():
    ann = (Author("Ann"),)
    parsed = [entry(1, authors=ann), entry(2, authors=(Author("Ann"),)), entry(3)]
    first, second, third = reuse(feed(*parsed), {})
    assert first.authors is second.authors == ann
    assert third.authors == ()
