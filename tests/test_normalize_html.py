"""sanitize_html: the one allowlist, absolute URLs, no active content, no tracking pixels."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import html as lxml_html

from feedsvc.normalize import ALLOWED_TAGS, sanitize_html
from feedsvc.normalize.html import LINK_SCHEMES, MEDIA_SCHEMES, absolute_url
from feedsvc.urls import join_url

BASE = "https://example.org/blog/2017/06/hello/"


def clean(html: str) -> str:
    return sanitize_html(html, BASE)


def test_safe_markup_is_kept() -> None:
    html = (
        "<h2>Title</h2><p><strong>a</strong> <em>b</em> <code>c</code></p>"
        "<blockquote><p>q</p></blockquote><ul><li>x</li></ul>"
        '<table><thead><tr><th scope="col">h</th></tr></thead><tbody><tr><td colspan="2">d</td>'
        '</tr></tbody></table><figure><img src="https://cdn.example.org/a.jpg" alt="A">'
        "<figcaption>cap</figcaption></figure>"
    )
    assert clean(html) == html


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        "<style>body{display:none}</style>",
        '<iframe src="https://evil.example/">inside</iframe>',
        "<form><input name=x><button>Go</button></form>",
        '<object data="x.swf">fallback</object><embed src="x.swf">',
        "<svg><script>alert(1)</script><circle r=1 /></svg>",
        "<math><mi>x</mi></math>",
        "<noscript>no</noscript>",
    ],
)
def test_active_and_foreign_content_is_removed_with_its_content(html: str) -> None:
    assert clean(f"<p>before</p>{html}<p>after</p>") == "<p>before</p><p>after</p>"


def test_event_handlers_style_class_and_id_are_removed() -> None:
    html = '<p onclick="steal()" style="color:red" class="x" id="y" onmouseover="z()">Hi</p>'
    assert clean(html) == "<p>Hi</p>"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java&#x09;script:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "file:///etc/passwd",
    ],
)
def test_unsafe_schemes_are_removed_from_links(url: str) -> None:
    assert clean(f'<a href="{url}">x</a>') == '<a rel="noopener noreferrer">x</a>'


@pytest.mark.parametrize(
    "html",
    [
        '<img src="javascript:alert(1)">',
        '<img src="data:image/png;base64,iVBORw0KGgo=">',
        '<img srcset="javascript:alert(1) 1x, data:image/png;base64,xx 2x">',
    ],
)
def test_images_with_only_unsafe_sources_are_removed(html: str) -> None:
    assert clean(f"<p>{html}</p>") == "<p></p>"


def test_unsafe_candidates_in_srcset_poster_and_cite_are_removed() -> None:
    html = (
        '<img src="a.png" srcset="javascript:x 1x, b.png 2x">'
        '<video poster="javascript:x" src="v.mp4"></video>'
        '<blockquote cite="javascript:x">q</blockquote>'
    )
    assert clean(html) == (
        f'<img src="{BASE}a.png" srcset="{BASE}b.png 2x">'
        f'<video src="{BASE}v.mp4"></video>'
        "<blockquote>q</blockquote>"
    )


def test_relative_urls_become_absolute_against_the_base() -> None:
    # RFC 3986 §5.4 resolution: same folder, parent, root, network-path, fragment, query.
    html = (
        '<a href="next/">n</a><a href="../../05/older/">o</a><a href="/about/">r</a>'
        '<a href="//cdn.example.org/f.pdf">c</a><a href="#notes">f</a><a href="?page=2">q</a>'
    )
    hrefs = re.findall(r'href="([^"]*)"', clean(html))
    assert hrefs == [
        "https://example.org/blog/2017/06/hello/next/",
        "https://example.org/blog/2017/05/older/",
        "https://example.org/about/",
        "https://cdn.example.org/f.pdf",
        "https://example.org/blog/2017/06/hello/#notes",
        "https://example.org/blog/2017/06/hello/?page=2",
    ]


def test_each_call_resolves_against_its_own_base_when_threads_sanitize_at_once() -> None:
    # One Cleaner serves every call; the base its URL filter reads is the calling thread's.
    def links(n: int) -> tuple[str, str]:
        base = f"https://site{n}.example/post/{n}/"
        return sanitize_html('<a href="a/">x</a>' * 50, base), base

    with ThreadPoolExecutor(max_workers=8) as pool:
        for html, base in pool.map(links, range(400)):
            assert set(re.findall(r'href="([^"]*)"', html)) == {f"{base}a/"}


# join_url and absolute_url resolve a post's plain links without urljoin, and must give what
# urljoin gives for every base and reference, plain or not.
# Paths of the segments resolution treats apart (dot and empty segments), plain, or with now
# and then a character that takes a URL off the plain path (";", ":", "?", "#", spaces).
_PLAIN_SEGMENTS = st.sampled_from(["a", "b", ".", "..", "", "%7E"])
_ODD_SEGMENTS = st.sampled_from(["x;p", "x:y", "q?r", "f#g", " c", "\t"])


def _urls(segments: st.SearchStrategy[str], odd: bool) -> tuple[st.SearchStrategy[str], ...]:
    paths = st.lists(segments, max_size=6).map("/".join)
    schemes = ["https", "http"] + (["HTTPS", "ftp"] if odd else [])
    hosts = ["example.org", "ex.org:8080", "ex.org:"] + (["user@ex.org", "[::1"] if odd else [])
    starts = ["/", "", "//"]
    bases = st.builds(
        "{}://{}{}{}".format,
        st.sampled_from(schemes),
        st.sampled_from(hosts),
        st.sampled_from(starts),
        paths,
    )
    prefixes = ["./", "../", "/", "https://example.org/", "http://ex.org:8080"]
    prefixes += ["", "//", "HTTP://ex.org/", "ftp://ex.org/"] if odd else []
    references = st.builds("{}{}".format, st.sampled_from(prefixes), paths)
    return bases, references


def _urljoin_absolute(url: str, base: str, schemes: frozenset[str]) -> str | None:
    try:
        resolved = urljoin(base, url.strip())
        return resolved if urlsplit(resolved).scheme.lower() in schemes else None
    except ValueError:
        return None


def _check_against_urljoin(base: str, reference: str) -> None:
    try:
        expected = urljoin(base, reference)
    except ValueError:
        expected = None
    if expected is not None:
        assert join_url(base, reference) == expected
    for schemes in (LINK_SCHEMES, MEDIA_SCHEMES):
        assert absolute_url(reference, base, schemes) == _urljoin_absolute(reference, base, schemes)


@given(*_urls(_PLAIN_SEGMENTS, odd=False))
def test_join_url_resolves_plain_paths_as_urljoin(base: str, reference: str) -> None:
    _check_against_urljoin(base, reference)


@given(*_urls(st.one_of(_PLAIN_SEGMENTS, _ODD_SEGMENTS), odd=True))
def test_join_url_and_absolute_url_agree_with_urljoin_on_any_url(base: str, reference: str) -> None:
    _check_against_urljoin(base, reference)


@pytest.mark.parametrize(
    ("base", "reference", "joined"),
    [
        ("https://x.org/a/b", "c", "https://x.org/a/c"),
        ("https://x.org/a/b/", "../../../c", "https://x.org/c"),
        ("https://x.org/a/b/", "..", "https://x.org/a/"),
        ("https://x.org/a/b", ".", "https://x.org/a/"),
        ("https://x.org", "c", "https://x.org/c"),
        ("https://x.org/a//b/", "c//d", "https://x.org/a/b/c/d"),  # urllib drops empty segments
        ("https://x.org/a/", "/c/./d/../e", "https://x.org/c/e"),
        ("https://x.org/", "/a//b/../..", "https://x.org/a/"),  # an empty segment popped
        ("https://x.org/a/", "http://y.org/b/../c", "http://y.org/b/../c"),  # as it is
        ("https://x.org:8080/a/", "c;p", "https://x.org:8080/a/c;p"),  # urljoin's path
        ("https://x.org/a/", "//y.org/c", "https://y.org/c"),  # urljoin's path
        ("https://x.org/a/", "c?q#f", "https://x.org/a/c?q#f"),  # urljoin's path
    ],
)
def test_join_url_at_the_edges(base: str, reference: str, joined: str) -> None:
    assert join_url(base, reference) == joined == urljoin(base, reference)


def test_a_link_a_parser_nests_in_a_link_comes_out_as_markup_that_parses_the_same() -> None:
    # Foster parenting makes <a> a child of <a>; its markup would parse as two sibling links.
    html = '<a href="x"><table><a href="y">in</a></table>out</a>'
    output = clean(html)
    assert "<table>" in output and ">in</a>" in output
    assert clean(output) == output
    assert (
        clean('<a href="javascript:alert(1)"><table><a href="javascript:alert(1)"></a></table></a>')
        == '<a rel="noopener noreferrer"></a><a rel="noopener noreferrer"></a><table></table>'
    )


def test_relative_media_urls_become_absolute() -> None:
    html = (
        '<picture><source srcset="a.webp 1x,b.webp 2x" type="image/webp">'
        '<img src="/img/a.jpg" srcset="a-640.jpg 640w, ../a-1280.jpg 1280w" sizes="50vw"></picture>'
        '<video src="v.mp4" poster="poster.jpg" controls></video>'
        '<blockquote cite="/source/">q</blockquote>'
    )
    assert clean(html) == (
        f'<picture><source srcset="{BASE}a.webp 1x, {BASE}b.webp 2x" type="image/webp">'
        '<img src="https://example.org/img/a.jpg" srcset="'
        f'{BASE}a-640.jpg 640w, https://example.org/blog/2017/06/a-1280.jpg 1280w" sizes="50vw">'
        f'</picture><video src="{BASE}v.mp4" poster="{BASE}poster.jpg" controls=""></video>'
        '<blockquote cite="https://example.org/source/">q</blockquote>'
    )


def test_absolute_http_https_and_mailto_links_are_kept() -> None:
    html = '<a href="http://a.example/">a</a><a href="mailto:info@example.org">m</a>'
    assert clean(html) == (
        '<a href="http://a.example/" rel="noopener noreferrer">a</a>'
        '<a href="mailto:info@example.org" rel="noopener noreferrer">m</a>'
    )


@pytest.mark.parametrize(
    "img",
    [
        '<img src="https://t.example/p.gif" width="1" height="1">',
        '<img src="https://t.example/p.gif" width="0" height="0">',
        '<img src="https://t.example/p.gif" width="1px" height="0" alt="">',
    ],
)
def test_tracking_pixels_are_removed(img: str) -> None:
    assert clean(f"<p>text{img}</p>") == "<p>text</p>"


def test_thin_images_that_are_not_pixels_stay() -> None:
    html = '<img src="https://example.org/rule.png" width="1" height="300">'
    assert clean(html) == html


def test_forbidden_characters_are_removed_even_from_character_references() -> None:
    assert clean("<p>a\x00b\x0bc&#x1b;d&#xFFFE;e\u202ef</p>") == "<p>abcdef</p>"


def test_comments_are_removed() -> None:
    assert clean("<p>a<!-- secret -->b</p>") == "<p>ab</p>"


def test_output_is_deterministic() -> None:
    html = '<p title="t" lang="es" dir="rtl"><a hreflang="es" href="x" title="y">x</a></p>'
    assert len({clean(html) for _ in range(5)}) == 1
    assert clean(html) == (
        '<p title="t" lang="es" dir="rtl">'
        f'<a hreflang="es" href="{BASE}x" title="y" rel="noopener noreferrer">x</a></p>'
    )


_SOME_TAGS = sorted(ALLOWED_TAGS | {"script", "iframe", "style", "svg", "form", "object"})
_ATTRIBUTES = ["href", "src", "onclick", "style", "srcset", "poster", "width", "height"]
_VALUES = ["javascript:alert(1)", "data:x", "x.png", "1", " ", '"><script>alert(1)</script>']
_FRAGMENTS = st.recursive(
    st.text(max_size=10),
    lambda children: st.builds(
        lambda tag, attr, value, inner: f'<{tag} {attr}="{value}">{inner}</{tag}>',
        st.sampled_from(_SOME_TAGS),
        st.sampled_from(_ATTRIBUTES),
        st.sampled_from(_VALUES),
        children,
    ),
    max_leaves=8,
)


@given(_FRAGMENTS)
def test_no_input_gets_active_content_through(html: str) -> None:
    output = clean(html)
    tree = lxml_html.fragment_fromstring(output, create_parent="div")
    for element in tree.iter():
        assert element.tag == "div" or element.tag in ALLOWED_TAGS
        for name, value in element.attrib.items():
            assert not name.startswith("on") and name != "style"
            if name in ("href", "src", "poster", "cite"):
                assert value.startswith(("https://", "http://", "mailto:"))
    assert sanitize_html(output, BASE) == output  # sanitizing twice changes nothing
