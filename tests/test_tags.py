"""Tags (docs/urls.md "Feeds"): published in every entry, told apart from
categories (Atom ``scheme``, RSS ``domain``, JSON Feed ``tags``), and as feeds at
``/tag/{slug}.*`` listed on ``/`` and in the OPML, served by the real app over HTTP."""

from __future__ import annotations

import json

import feedparser
from live_support import write_site
from lxml import etree
from schemas import validate_jsonfeed

from feedsvc.service import create_service

TAGGED = (
    "---\ntitle: Tagged post\ndate: 2024-03-30\nlang: en\ncategories: [Policy]\n"
    "tags: [Open Data, open  data, Budgets]\n---\nA tagged body.\n"
)


async def _client(tmp_path, aiohttp_client, feeds: str = ""):
    site = write_site(tmp_path)
    site.write_post("en/tagged.md", TAGGED)
    text = site.config_file.read_text()
    site.config_file.write_text(text.replace("[feeds]\n", "[feeds]\n" + feeds))
    return await aiohttp_client(create_service(site.config(), workers=1))


async def _get(client, path: str) -> bytes:
    response = await client.get(path)
    assert response.status == 200, path
    return await response.read()


def _parsed(body: bytes):
    etree.fromstring(body)
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


async def test_tags_are_in_every_entry_told_apart_from_categories(tmp_path, aiohttp_client):
    client = await _client(tmp_path, aiohttp_client)
    atom = _parsed(await _get(client, "/feed.atom"))
    (self_link,) = [link.href for link in atom.feed.links if link.rel == "self"]
    base = self_link.removesuffix("feed.atom")  # the public URL the service serves at
    (entry,) = [e for e in atom.entries if e.title == "Tagged post"]
    terms = {(t.term, t.scheme, t.label) for t in entry.tags}
    assert terms == {
        ("policy", base + "category/", "Policy"),
        ("open-data", base + "tag/", "Open Data"),  # one tag per slug, first spelling kept
        ("budgets", base + "tag/", "Budgets"),
    }
    rss = _parsed(await _get(client, "/feed.rss"))
    (item,) = [e for e in rss.entries if e.title == "Tagged post"]
    assert {(t.term, t.scheme) for t in item.tags} == {
        ("Policy", base + "category/"),
        ("Open Data", base + "tag/"),
        ("Budgets", base + "tag/"),
    }
    document = json.loads(await _get(client, "/feed.json"))
    validate_jsonfeed(document)
    (json_item,) = [i for i in document["items"] if i["title"] == "Tagged post"]
    assert json_item["tags"] == ["Policy", "Open Data", "Budgets"]


async def test_each_tag_has_its_feeds_listed_on_the_index_and_in_the_opml(tmp_path, aiohttp_client):
    client = await _client(tmp_path, aiohttp_client)
    for fmt in ("atom", "rss"):
        parsed = _parsed(await _get(client, f"/tag/open-data.{fmt}"))
        assert [e.title for e in parsed.entries] == ["Tagged post"]
    document = json.loads(await _get(client, "/tag/budgets.json"))
    validate_jsonfeed(document)
    assert [i["title"] for i in document["items"]] == ["Tagged post"]
    assert document["title"] == "Live Site: Budgets"
    assert (await client.get("/tag/policy.atom")).status == 404  # a category is no tag
    index = (await _get(client, "/")).decode()
    assert "By tag" in index and "/tag/open-data.atom" in index
    opml = etree.fromstring(await _get(client, "/feeds.opml"))
    urls = [o.get("xmlUrl") for o in opml.iter("outline") if o.get("xmlUrl")]
    assert any(url.endswith("/tag/budgets.atom") for url in urls)


async def test_tag_feeds_can_be_turned_off(tmp_path, aiohttp_client):
    client = await _client(tmp_path, aiohttp_client, feeds="tags = false\n")
    assert (await client.get("/tag/budgets.atom")).status == 404
    # the entries still carry their tags
    assert b'scheme="' in await _get(client, "/feed.atom")
    assert b"Budgets" in await _get(client, "/feed.atom")
