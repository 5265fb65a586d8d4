"""Both embed forms in a real headless Chromium, on a partner page of another origin
(docs/urls.md "Embeds for partner sites").

feedsvc serves a small site on one port; a partner site on another port serves pages that
embed it: the web component (with and without a strict Content-Security-Policy) and the
fragment through a server-side include. The rendered items are checked against the JSON
Feed, the partner's CSS must style them, the console must stay clean, axe-core must find
no accessibility violation, a hostile title and summary must show as text, and every way
of failing must leave the fallback in place.

``FEEDSVC_SCREENSHOT=docs/embeds.png pytest tests/test_embed_browser.py -k screenshot``
also writes the README's screenshot of the example site's embeds.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from aiohttp import ClientSession, web
from aiohttp.typedefs import Handler
from browser_support import (
    PAGE_WAIT,
    ThreadedServer,
    chromium_fixture,
    console_errors,
    free_socket,
    png,
)

from feedsvc.configfile import load_config
from feedsvc.pipeline import build_snapshot
from feedsvc.store import SnapshotRef
from feedsvc.web.app import create_app

REPO = Path(__file__).resolve().parents[1]
HANG = web.AppKey("hang", asyncio.Event)
HOSTILE_TITLE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
HOSTILE_SUMMARY = '<script>window.pwned=3</script> & <img src=y onerror="window.pwned=4">'
# The partner's own style for the embeds: a colour no default style has.
PARTNER_LINK_COLOUR = "rgb(128, 0, 64)"
PARTNER_LINK_RGBA = "rgba(128, 0, 64, 1)"  # as getComputedStyle gives it back
PARTNER_CSS = f""".feedsvc-embed h3 a {{ color: {PARTNER_LINK_COLOUR}; }}
.feedsvc-embed article {{ border-left: 3px solid rgb(0, 90, 0); }}
"""


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    yield from chromium_fixture()


def post(name: str, front: str, body: str = "Body text.") -> tuple[str, str]:
    return name, f"---\n{textwrap.dedent(front).strip()}\n---\n{body}\n"


def write_site(root: Path, partner_origin: str, public_url: str) -> Path:
    posts = root / "posts"
    posts.mkdir()
    for name, text in (
        post(
            "2026-03-02-phones.md",
            f"""
            title: Volunteers answer the helpline
            date: 2026-03-02T10:00:00
            categories: [Helpline]
            summary: Forty volunteers answered 1,200 calls in February.
            image:
              url: {partner_origin}/media/phones.png
              width: 640
              height: 360
              alt: Volunteers at the phones
            """,
        ),
        post(
            "2026-03-01-linea.md",
            """
            title: La línea de ayuda en marzo
            date: 2026-03-01T12:00:00
            lang: es
            categories: [Helpline]
            summary: Cuarenta voluntarias atendieron la línea en febrero.
            image:
              url: /media/linea.png
            """,
        ),
        post(
            "2026-02-27-hostile.md",
            # Entities, so that the title and summary hold markup as text (a title's
            # tags would be reduced to text by the normalizer).
            """
            title: "&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt;\\
              &lt;script&gt;window.pwned=2&lt;/script&gt;"
            date: 2026-02-27T09:00:00
            categories: [Helpline]
            summary: "&lt;script&gt;window.pwned=3&lt;/script&gt; &amp; \\
              &lt;img src=y onerror=&quot;window.pwned=4&quot;&gt;"
            """,
        ),
    ):
        (posts / name).write_text(text, encoding="utf-8")
    config = root / "feeds.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            [site]
            title = "Harbor Light Alliance"
            url = "{partner_origin}/"
            id_authority = "harborlight.example,2014"
            language = "en"
            timezone = "America/New_York"

            [[sources]]
            type = "folder"
            name = "posts"
            path = "posts"

            [server]
            public_url = "{public_url}"
            """
        ),
        encoding="utf-8",
    )
    return config


def page(title: str, body: str, head: str = "") -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{title}</title><link rel="stylesheet" href="/partner.css">{head}</head>'
        f"<body><main><h1>{title}</h1>{body}</main></body></html>"
    )


def partner_app(feeds_origin: str, dead_origin: str) -> web.Application:
    """The partner site: pages embedding the feeds, its CSS, images, and broken feeds."""
    component = f'<script type="module" src="{feeds_origin}/embed.js"></script>'
    fallback = '<a href="https://partner.example/news">Our partner\'s news</a>'

    def element(src: str, *attrs: str) -> str:
        return f'<feedsvc-feed src="{src}" {" ".join(attrs)}>{fallback}</feedsvc-feed>'

    iframe = (
        f'<iframe src="{feeds_origin}/embed/category/helpline.html?limit=2"'
        ' title="Helpline news" width="600" height="600"></iframe>'
    )
    pages = {
        "/iframe": page("Iframe", iframe),
        "/component": page(
            "Component",
            element(f"{feeds_origin}/category/helpline.json", 'limit="5"', 'id="embed"'),
            component,
        ),
        "/component-limit": page(
            "Limit", element(f"{feeds_origin}/feed.json", 'limit="1"', 'id="embed"'), component
        ),
        "/fallbacks": page(
            "Fallbacks",
            element(f"{dead_origin}/feed.json", 'id="unreachable"')
            + element("/bad.json", 'id="bad-json"')
            + element("/not-a-feed.json", 'id="bad-shape"')
            + element(f"{feeds_origin}/category/nope.json", 'id="not-found"')
            + element("/hang.json", 'timeout="500"', 'id="timeout"'),
            component,
        ),
    }
    # A strict policy: scripts from the feeds' origin only, no inline anything, and
    # Trusted Types required, so that any HTML parsing of strings would throw.
    csp = (
        f"default-src 'none'; script-src {feeds_origin}; connect-src {feeds_origin}; "
        "img-src 'self'; style-src 'self'; require-trusted-types-for 'script'"
    )
    hang = asyncio.Event()  # set only when the server stops: /hang.json never answers

    async def show(request: web.Request) -> web.Response:
        path = request.path
        headers = {"Content-Security-Policy": csp} if request.query.get("csp") else {}
        if path == "/fragment":
            # A server-side include, as a PHP or Jinja partner site would do it.
            async with ClientSession() as session:
                url = f"{feeds_origin}/embed/category/helpline.html?limit=5"
                async with session.get(url) as response:
                    fragment = await response.text()
            return web.Response(
                text=page("Fragment", fragment), content_type="text/html", headers=headers
            )
        return web.Response(text=pages[path], content_type="text/html", headers=headers)

    async def hang_forever(request: web.Request) -> web.Response:
        await hang.wait()
        return web.Response(text="{}")

    app = web.Application()
    app[HANG] = hang
    for path in (*pages, "/fragment"):
        app.router.add_get(path, show)
    app.router.add_get("/partner.css", _fixed(PARTNER_CSS.encode(), "text/css; charset=utf-8"))
    app.router.add_get("/media/{name}", _fixed(png(16, 9, (40, 90, 140)), "image/png"))
    app.router.add_get("/favicon.ico", _fixed(png(1, 1, (0, 0, 0)), "image/png"))
    app.router.add_get("/bad.json", _fixed(b'{"items": [', "application/json"))
    app.router.add_get("/not-a-feed.json", _fixed(b'{"a": 1}', "application/json"))
    app.router.add_get("/hang.json", hang_forever)
    return app


def _fixed(body: bytes, content_type: str) -> Handler:
    """A handler answering ``body``: a coroutine function, as aiohttp wants (a plain
    function returning a coroutine is deprecated and warned about)."""

    async def respond(request: web.Request) -> web.Response:
        return web.Response(body=body, headers={"Content-Type": content_type})

    return respond


class Sites:
    def __init__(self, feeds: ThreadedServer, partner: ThreadedServer) -> None:
        self.feeds = feeds.origin
        self.partner = partner.origin

    def json(self, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.feeds}{path}", timeout=PAGE_WAIT) as response:
            return json.loads(response.read())


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    feeds_sock, partner_sock, dead_sock = free_socket(), free_socket(), free_socket()
    feeds_origin = f"http://127.0.0.1:{feeds_sock.getsockname()[1]}"
    partner_origin = f"http://127.0.0.1:{partner_sock.getsockname()[1]}"
    # Bound but never listening: connections to it are refused.
    dead_origin = f"http://127.0.0.1:{dead_sock.getsockname()[1]}"
    config = load_config(
        write_site(tmp_path_factory.mktemp("site"), partner_origin, feeds_origin + "/")
    )
    app = create_app(SnapshotRef(build_snapshot(config, workers=1)))
    with (
        ThreadedServer(app, feeds_sock) as feeds,
        ThreadedServer(partner_app(feeds_origin, dead_origin), partner_sock) as partner,
    ):
        yield Sites(feeds, partner)
        partner.call_soon(partner.app[HANG].set)  # lets /hang.json answer, and the server stop
    dead_sock.close()


def open_page(driver: Any, url: str) -> None:
    console_errors(driver)  # drains what earlier pages logged
    driver.get(url)


def wait_for_state(driver: Any, element_id: str, state: str) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def done(d: Any) -> Any:
        element = d.find_element(By.ID, element_id)
        return element if element.get_attribute("state") in ("ready", "failed") else False

    element = WebDriverWait(driver, PAGE_WAIT).until(done)
    assert element.get_attribute("state") == state, element_id
    return element


def shown_items(driver: Any, section: Any) -> list[dict[str, Any]]:
    """What the browser shows of each article, read from the live DOM."""
    return driver.execute_script(
        """
        return [...arguments[0].querySelectorAll("article")].map((a) => {
          const link = a.querySelector("h3 a"), time = a.querySelector("time"),
                p = a.querySelector("p"), img = a.querySelector("img");
          return {
            lang: a.lang, title: a.querySelector("h3").textContent,
            url: link && link.href, datetime: time && time.getAttribute("datetime"),
            date: time && time.textContent, summary: p && p.textContent,
            image: img && {src: img.src, width: img.getAttribute("width"),
              height: img.getAttribute("height"), alt: img.getAttribute("alt"),
              loading: img.getAttribute("loading"), decoding: img.getAttribute("decoding")},
          };
        });
        """,
        section,
    )


def expected_items(document: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    out = []
    for item in document["items"][:limit]:
        details = item.get("_image", {})
        image = None
        if "image" in item:
            image = {
                "src": item["image"],
                "width": str(details["width"]) if "width" in details else None,
                "height": str(details["height"]) if "height" in details else None,
                "alt": details.get("alt", ""),
                "loading": "lazy",
                "decoding": "async",
            }
        out.append(
            {
                "lang": item["language"],
                "title": item["title"],
                "url": item["url"],
                "datetime": item["date_published"],
                "summary": item["summary"],
                "image": image,
            }
        )
    return out


def axe_violations(driver: Any) -> list[str]:
    from axe_selenium_python import Axe

    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    # axe ran its rules on the page: some passed (an empty page would pass none).
    assert {rule["id"] for rule in results["passes"]} >= {"html-has-lang", "link-name"}
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in results["violations"]]


def fragment_section(sites: Sites, limit: int = 5) -> lxml.html.HtmlElement:
    url = f"{sites.feeds}/embed/category/helpline.html?limit={limit}"
    with urllib.request.urlopen(url, timeout=PAGE_WAIT) as response:
        return lxml.html.fragment_fromstring(response.read().decode("utf-8"))


def test_component_renders_the_json_feed_on_another_origin(driver, sites) -> None:
    open_page(driver, f"{sites.partner}/component")
    element = wait_for_state(driver, "embed", "ready")
    section = element.find_element("css selector", "section.feedsvc-embed")
    document = sites.json("/category/helpline.json")
    items = shown_items(driver, section)
    dates = [item.pop("date") for item in items]
    assert items == expected_items(document, 5)
    # The same words as the fragment's (CLDR through Babel there, Intl here).
    fragment = fragment_section(sites)
    assert dates == [t.text for t in fragment.iter("time")]
    assert dates[1] == "1 de marzo de 2026"
    assert section.get_attribute("lang") == "en"
    heading = section.find_element("css selector", "h2 a")
    assert heading.text == document["title"]
    assert heading.get_attribute("href") == document["home_page_url"]
    # The fallback is gone, replaced by the markup.
    assert "Our partner's news" not in element.text
    link = section.find_element("css selector", "h3 a")
    assert link.value_of_css_property("color") == PARTNER_LINK_RGBA
    assert console_errors(driver) == []


def test_component_markup_is_the_fragments(driver, sites) -> None:
    open_page(driver, f"{sites.partner}/component")
    element = wait_for_state(driver, "embed", "ready")
    rendered = element.get_attribute("innerHTML")
    component = lxml.html.fragment_fromstring(rendered)
    fragment = fragment_section(sites)

    def shape(node: lxml.html.HtmlElement) -> list[Any]:
        return [
            (child.tag, sorted(child.attrib.items()), (child.text or "").strip())
            for child in node.iter()
        ]

    assert shape(component) == shape(fragment)


def test_component_limit(driver, sites) -> None:
    open_page(driver, f"{sites.partner}/component-limit")
    element = wait_for_state(driver, "embed", "ready")
    titles = [a.text for a in element.find_elements("css selector", "article h3")]
    assert titles == [sites.json("/feed.json")["items"][0]["title"]]


def test_hostile_text_is_shown_as_text_and_nothing_runs(driver, sites) -> None:
    document = sites.json("/category/helpline.json")
    hostile = [item for item in document["items"] if item["title"] == HOSTILE_TITLE]
    assert hostile and hostile[0]["summary"] == HOSTILE_SUMMARY  # the feed holds the markup
    for path in ("/component", "/fragment"):
        open_page(driver, f"{sites.partner}{path}")
        if path == "/component":
            wait_for_state(driver, "embed", "ready")
        titles = [h.text for h in driver.find_elements("css selector", "article h3")]
        summaries = [p.text for p in driver.find_elements("css selector", "article p")]
        assert HOSTILE_TITLE in titles, path
        assert HOSTILE_SUMMARY in summaries, path
        assert driver.execute_script("return window.pwned") is None, path
        assert driver.find_elements("css selector", ".feedsvc-embed script") == [], path
        assert driver.find_elements("css selector", 'img[src="x"], img[src="y"]') == [], path
        assert console_errors(driver) == [], path


def test_component_under_a_strict_content_security_policy(driver, sites) -> None:
    open_page(driver, f"{sites.partner}/component?csp=1")
    element = wait_for_state(driver, "embed", "ready")
    assert len(element.find_elements("css selector", "article")) == 3
    # The partner's stylesheet ('self') applies; a violation would be a console error.
    border = element.find_element("css selector", "article").value_of_css_property(
        "border-left-color"
    )
    assert border == "rgba(0, 90, 0, 1)"
    assert console_errors(driver) == []


def test_fragment_included_server_side(driver, sites) -> None:
    open_page(driver, f"{sites.partner}/fragment?csp=1")
    section = driver.find_element("css selector", "section.feedsvc-embed")
    items = shown_items(driver, section)
    for item in items:
        item.pop("date")
    assert items == expected_items(sites.json("/category/helpline.json"), 5)
    link = section.find_element("css selector", "h3 a")
    assert link.value_of_css_property("color") == PARTNER_LINK_RGBA
    assert console_errors(driver) == []


@pytest.mark.parametrize(
    "element_id", ["unreachable", "bad-json", "bad-shape", "not-found", "timeout"]
)
def test_fallback_stays_when_anything_fails(driver, sites, element_id) -> None:
    if driver.current_url != f"{sites.partner}/fallbacks":
        open_page(driver, f"{sites.partner}/fallbacks")
    element = wait_for_state(driver, element_id, "failed")
    link = element.find_element("css selector", "a")
    assert link.text == "Our partner's news"
    assert element.find_elements("css selector", "section") == []


@pytest.mark.parametrize("path", ["/component", "/fragment"])
def test_no_accessibility_violations(driver, sites, path) -> None:
    open_page(driver, f"{sites.partner}{path}")
    if path == "/component":
        wait_for_state(driver, "embed", "ready")
    assert axe_violations(driver) == []


def test_fragment_in_an_iframe(driver, sites) -> None:
    open_page(driver, f"{sites.partner}/iframe")
    frame = driver.find_element("css selector", "iframe")
    driver.switch_to.frame(frame)
    try:
        titles = [h.text for h in driver.find_elements("css selector", "article h3")]
    finally:
        driver.switch_to.default_content()
    document = sites.json("/category/helpline.json")
    assert titles == [item["title"] for item in document["items"][:2]]
    assert console_errors(driver) == []


def test_index_page_previews_each_feed(driver, sites) -> None:
    open_page(driver, f"{sites.feeds}/")
    feeds = driver.find_elements("css selector", "li details")
    assert len(feeds) == len(driver.find_elements("css selector", "section li"))
    # Closed, a preview fetches nothing; opened, it shows the feed's newest items.
    previews = driver.find_elements("css selector", "li feedsvc-feed")
    assert {p.get_attribute("state") for p in previews} == {"waiting"}
    first = feeds[0]
    first.find_element("css selector", "summary").click()
    preview = first.find_element("css selector", "feedsvc-feed")
    preview_id = driver.execute_script("arguments[0].id = 'preview'; return 'preview'", preview)
    wait_for_state(driver, preview_id, "ready")
    titles = [h.text for h in preview.find_elements("css selector", "article h3")]
    assert titles == [item["title"] for item in sites.json("/feed.json")["items"][:3]]
    # The snippets are the code a partner copies: both forms, for this feed.
    code = [c.text for c in first.find_elements("css selector", "pre code")]
    assert f'<script type="module" src="{sites.feeds}/embed.js"></script>' in code[0]
    assert f'<feedsvc-feed src="{sites.feeds}/feed.json" limit="5">' in code[0]
    assert f'src="{sites.feeds}/embed/feed.html?limit=5"' in code[1]
    # The browser's own request for /favicon.ico (feedsvc serves none) is not the page's.
    assert [e for e in console_errors(driver) if "/favicon.ico " not in e] == []


# ---- the example site, and the README's screenshot ------------------------------------


def example_site_copy(root: Path, media_origin: str) -> Path:
    """The example site, its images moved from https://harborlight.example/media/ to a
    local server of placeholders (the machine's network is closed)."""
    shutil.copy(REPO / "feeds.toml", root / "feeds.toml")
    for source in sorted((REPO / "example").rglob("*")):
        target = root / source.relative_to(REPO)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif source.suffix in (".md", ".html"):
            text = source.read_text(encoding="utf-8")
            text = text.replace("https://harborlight.example/media/", f"{media_origin}/media/")
            target.write_text(text, encoding="utf-8")
        else:
            shutil.copy(source, target)
    return root / "feeds.toml"


def test_example_site_embeds_screenshot(driver, tmp_path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    feeds_sock, partner_sock = free_socket(), free_socket()
    feeds_origin = f"http://127.0.0.1:{feeds_sock.getsockname()[1]}"
    partner_origin = f"http://127.0.0.1:{partner_sock.getsockname()[1]}"
    config = load_config(
        example_site_copy(tmp_path, partner_origin), {"server.public_url": feeds_origin + "/"}
    )
    app = create_app(SnapshotRef(build_snapshot(config, workers=1)))
    english = f"{feeds_origin}/lang/en/category/data-and-research.json"
    spanish = f"{feeds_origin}/lang/es.json"
    body = (
        '<div class="columns">'
        f'<feedsvc-feed id="en" src="{english}" limit="3"><a href="/">News</a></feedsvc-feed>'
        f'<feedsvc-feed id="es" src="{spanish}" limit="3"><a href="/">Noticias</a></feedsvc-feed>'
        "</div>"
    )
    css = (
        "body{font:15px/1.45 sans-serif;margin:1.5rem;color:#222}"
        ".columns{display:grid;grid-template-columns:1fr 1fr;gap:2rem}"
        # A partner's own layout: text left, the image as a thumbnail on the right.
        ".feedsvc-embed article{display:grid;grid-template-columns:1fr 8rem;column-gap:1rem}"
        ".feedsvc-embed article>*{grid-column:1}.feedsvc-embed time{font-size:.85em}"
        ".feedsvc-embed img{grid-column:2;grid-row:1/4;width:100%;height:auto;margin-top:.3rem}"
    )
    html = page(
        "A partner's page",
        body,
        f'<script type="module" src="{feeds_origin}/embed.js"></script>'
        f'<link rel="stylesheet" href="{feeds_origin}/embed.css">',
    ).replace('<link rel="stylesheet" href="/partner.css">', f"<style>{css}</style>")

    async def show(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    async def placeholder(request: web.Request) -> web.Response:
        return web.Response(body=png(16, 9, (70, 110, 150)), content_type="image/png")

    partner = web.Application()
    partner.router.add_get("/", show)
    partner.router.add_get("/media/{path:.+}", placeholder)
    partner.router.add_get("/favicon.ico", placeholder)
    with ThreadedServer(app, feeds_sock), ThreadedServer(partner, partner_sock) as site:
        open_page(driver, site.origin + "/")
        en = wait_for_state(driver, "en", "ready")
        es = wait_for_state(driver, "es", "ready")
        assert en.find_element("css selector", "section").get_attribute("lang") == "en"
        assert es.find_element("css selector", "section").get_attribute("lang") == "es"
        spanish_dates = [t.text for t in es.find_elements("css selector", "time")]
        months = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto")
        months += ("septiembre", "octubre", "noviembre", "diciembre")
        assert spanish_dates and all(any(m in d for m in months) for d in spanish_dates)
        WebDriverWait(driver, PAGE_WAIT).until(
            lambda d: d.execute_script(
                "const images = [...document.images];"
                "return images.length > 0 && images.every((i) => i.naturalWidth === 16)"
            )
        )
        assert console_errors(driver) == []
        target = os.environ.get("FEEDSVC_SCREENSHOT")
        if target:
            driver.find_element("css selector", "main").screenshot(str(REPO / target))
