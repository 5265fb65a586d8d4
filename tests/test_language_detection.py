"""Language detection (issue 7 item 14, docs/architecture.md "Languages"): with
``site.detect_language``, a post without an explicit language gets the one its text is in,
among the candidates and above the threshold; explicit languages always win; off by default.
Real files, the real detector, the real service over HTTP."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from live_support import Site
from source_support import normalize
from test_cli import run

from feedsvc.config import SourceConfig
from feedsvc.configfile import parse_config
from feedsvc.errors import ConfigError
from feedsvc.live import Publisher
from feedsvc.model import Detection, RawPost
from feedsvc.normalize import language, normalize_post
from feedsvc.normalize.language import (
    MIN_BODY_TEXT,
    SAMPLE_LENGTH,
    detection_sample,
    guess_language,
    known_languages,
    release_detector,
)
from feedsvc.service import create_service
from feedsvc.sources.feed import read_feed
from feedsvc.sources.wordpress import read_wordpress
from feedsvc.status import SAMPLE_POSTS
from feedsvc.warm import config_hash, snapshot_file
from feedsvc.warm.keeper import SnapshotKeeper

ENGLISH = (
    "For eight Saturdays this spring, a group of eleven survivors met at our office to write. "
    "There was no required topic and no homework: only a long table, coffee, and a visiting "
    "writer who offered a starting point each week."
)
SPANISH = (
    "Durante ocho sábados de esta primavera, un grupo de once sobrevivientes se reunió en "
    "nuestra oficina para escribir. No había tema obligatorio ni tarea: solo una mesa larga, "
    "café, y una escritora invitada que cada semana proponía un punto de partida."
)
FRENCH = (
    "Pendant huit samedis ce printemps, un groupe de onze survivantes s'est réuni dans nos "
    "bureaux pour écrire. Il n'y avait ni sujet imposé ni devoir : seulement une longue table, "
    "du café, et une écrivaine invitée qui proposait chaque semaine un point de départ."
)

SITE_TOML = """\
[site]
title = "Detecting"
url = "https://site.example/"
id_authority = "site.example,2020"
language = "en"
{site}

[[sources]]
type = "folder"
name = "posts"
path = "posts"
watch = "off"
"""


def post(title: str, body: str, date: str = "2024-03-01", lang: str | None = None) -> str:
    lang_line = f"lang: {lang}\n" if lang else ""
    return f"---\ntitle: {title}\ndate: {date}\n{lang_line}---\n{body}\n"


def write_site(root: Path, site_keys: str, posts: dict[str, str]) -> Site:
    site = Site(root)
    root.mkdir(parents=True, exist_ok=True)
    site.config_file.write_text(SITE_TOML.format(site=site_keys), encoding="utf-8")
    for relative, text in posts.items():
        site.write_post(relative, text)
    return site


MIXED = {
    "english.md": post("Spring writing workshop", ENGLISH, "2024-03-01"),
    "spanish.md": post("Taller de escritura", SPANISH, "2024-03-02"),
    # Explicit wins, whatever the text says.
    "labelled.md": post("Labelled Spanish", ENGLISH, "2024-03-03", lang="es"),
    # Not a candidate: French text among en and es keeps the default.
    "french.md": post("Atelier d'écriture", FRENCH, "2024-03-04"),
    # A title and a line: too little text to guess from.
    "short.md": post(
        "Taller de escritura de primavera, Voces de sobrevivientes", "Gracias.", "2024-03-05"
    ),
}
ON = 'detect_language = true\ndetect_languages = ["en", "es"]'


def model_held() -> bool:
    """Whether this process holds the detector's model."""
    return language._detector.cache_info().currsize == 1


def titles(body: bytes) -> set[str]:
    return {entry.title for entry in feedparser.parse(body).entries}


async def test_posts_without_a_language_are_served_in_the_feeds_of_their_detected_one(
    tmp_path, aiohttp_client
):
    site = write_site(tmp_path, ON, MIXED)
    client = await aiohttp_client(create_service(site.config(), workers=1))

    spanish = titles(await (await client.get("/lang/es.atom")).read())
    english = titles(await (await client.get("/lang/en.atom")).read())
    assert spanish == {"Taller de escritura", "Labelled Spanish"}
    assert english == {
        "Spring writing workshop",
        "Atelier d'écriture",
        "Taller de escritura de primavera, Voces de sobrevivientes",
    }
    entry = json.loads(await (await client.get("/lang/es.json")).read())["items"]
    detected = next(item for item in entry if item["title"] == "Taller de escritura")
    assert detected["language"] == "es"
    # The permalink stays where the site published the page: the default language's.
    assert detected["url"] == "https://site.example/2024/03/spanish/"

    status = json.loads(await (await client.get("/status")).read())
    languages = status["languages"]
    assert languages["candidates"] == ["en", "es"]
    assert languages["detected"] == 2
    assert languages["per_language"] == [{"lang": "en", "posts": 1}, {"lang": "es", "posts": 1}]
    assert languages["low_confidence"] == 1
    assert languages["too_short"] == 1
    assert [(p["path"].rsplit("/", 1)[-1], p["lang"]) for p in languages["detected_sample"]] == [
        ("english.md", "en"),
        ("spanish.md", "es"),
    ]
    (french,) = languages["low_confidence_sample"]
    assert french["path"].endswith("french.md")
    assert french["confidence"] < 0.7  # the default threshold


async def test_detection_is_off_by_default(tmp_path, aiohttp_client):
    site = write_site(tmp_path, "", MIXED)
    client = await aiohttp_client(create_service(site.config(), workers=1))
    assert titles(await (await client.get("/lang/es.atom")).read()) == {"Labelled Spanish"}
    status = json.loads(await (await client.get("/status")).read())
    assert "languages" not in status


def test_the_default_candidates_are_the_languages_the_site_knows(tmp_path):
    posts = {
        "labelled.md": post("Labelled", SPANISH, "2024-03-01", lang="es"),
        "spanish.md": post("Sin etiqueta", SPANISH, "2024-03-02"),
        "french.md": post("Sans étiquette", FRENCH, "2024-03-03"),
    }
    site = write_site(tmp_path, "detect_language = true", posts)
    publisher = Publisher(site.config(), workers=1)
    publisher.build()
    status = publisher.status().languages
    # The site's language and the one a post carries; French is nowhere: never guessed.
    assert status.candidates == ("en", "es")
    assert [(p.path.rsplit("/", 1)[-1], p.lang) for p in status.detected_sample] == [
        ("spanish.md", "es")
    ]
    assert [p.path.rsplit("/", 1)[-1] for p in status.low_confidence_sample] == ["french.md"]


def test_known_languages_keep_one_tag_per_detected_language(tmp_path):
    config = parse_config(
        {
            "site": {
                "title": "t",
                "url": "https://site.example/",
                "id_authority": "site.example,2020",
                "language": "en-US",
                "detect_language": True,
            }
        },
        base_dir=tmp_path,
    )

    def raw(n: int, lang: str) -> RawPost:
        return RawPost(f"p{n}.md", f"p{n}", {"lang": lang}, "", "markdown")

    raws = [raw(1, "pt-BR"), raw(2, "pt_BR"), raw(3, "pt"), raw(4, "en"), raw(5, "Klingon")]
    # The site's own tag for English; pt-BR, carried by more posts than pt; no bad tag.
    assert known_languages(config, raws) == ("en-US", "pt-BR")
    # Found without the model: a language it does not know ("tlh") stays, and is never
    # given; "zxx" (no linguistic content) is no language.
    more = [*raws, raw(6, "tlh"), raw(7, "zxx")]
    assert known_languages(config, more) == ("en-US", "pt-BR", "tlh")
    site = replace(config.site, detect_languages=("es", "tlh"))
    assert guess_language("", f"<p>{ENGLISH}</p>", site).lang == "es"  # tlh: probability 0


def normalized(site_keys: dict, text: str, meta: dict | None = None, default_lang=None):
    config = parse_config(
        {
            "site": {
                "title": "t",
                "url": "https://site.example/",
                "id_authority": "site.example,2020",
                **site_keys,
            }
        },
        base_dir=Path("."),
    )
    raw = RawPost(
        "p.md",
        "p",
        {"title": "A post", "date": "2024-01-01", **(meta or {})},
        text,
        "markdown",
        default_lang=default_lang,
    )
    return normalize_post(raw, config)


ES_ONLY = {"detect_language": True, "detect_languages": ["en", "es"]}


def test_a_source_language_is_explicit_and_wins():
    # sources[].lang says what every post of that source is in (docs/config.md "Languages").
    post = normalized(ES_ONLY, ENGLISH, default_lang="es")
    assert (post.lang, post.lang_guess) == ("es", None)


def test_the_threshold_is_inclusive_and_below_it_the_default_stays():
    # Half English, half Spanish: a likely language, but not a sure one.
    text = ENGLISH[:120] + " " + SPANISH[:120]
    guess = normalized(ES_ONLY, text).lang_guess
    assert 0.3 < guess.confidence < 1
    at = normalized({**ES_ONLY, "detect_confidence": guess.confidence}, text)
    assert (at.lang, at.lang_guess.outcome) == (guess.lang, Detection.DETECTED)
    above = normalized({**ES_ONLY, "detect_confidence": guess.confidence + 0.0001}, text)
    assert (above.lang, above.lang_guess.outcome) == ("en", Detection.LOW_CONFIDENCE)


def test_a_body_shorter_than_the_minimum_is_not_guessed():
    sentence = SPANISH[: MIN_BODY_TEXT - 1]
    short = normalized(ES_ONLY, sentence)
    assert (short.lang, short.lang_guess.outcome) == ("en", Detection.TOO_SHORT)
    enough = normalized(ES_ONLY, SPANISH[:MIN_BODY_TEXT])
    assert enough.lang_guess.outcome is not Detection.TOO_SHORT
    # However long the title: a title is not a body.
    titled = normalized(ES_ONLY, "", {"title": SPANISH[:200]})
    assert titled.lang_guess.outcome is Detection.TOO_SHORT


def test_only_the_start_of_a_post_is_read():
    # SAMPLE_LENGTH characters of English, then 5 MB of Spanish: English, read from the start.
    english = (ENGLISH + " ") * (SAMPLE_LENGTH // len(ENGLISH) + 1)
    html = f"<p>{english}</p>" + f"<p>{SPANISH}</p>" * (5_000_000 // len(SPANISH))
    sample = detection_sample("Title", html)
    assert len(sample) == SAMPLE_LENGTH
    post = normalized(ES_ONLY, html[: 6 * SAMPLE_LENGTH] + html[-2_000_000:])
    assert (post.lang, post.lang_guess.outcome) == ("en", Detection.DETECTED)


def test_the_sample_on_status_is_bounded(tmp_path):
    posts = {f"p{n:02d}.md": post(f"Taller {n}", SPANISH) for n in range(SAMPLE_POSTS + 5)}
    site = write_site(tmp_path, ON, posts)
    publisher = Publisher(site.config(), workers=1)
    publisher.build()
    status = publisher.status().languages
    assert status.detected == SAMPLE_POSTS + 5
    assert len(status.detected_sample) == SAMPLE_POSTS
    assert status.detected_sample[0].path.endswith("p00.md")


@pytest.mark.parametrize(
    ("keys", "where", "says"),
    [
        ({"detect_languages": ["en", "tlh"]}, "site.detect_languages[1]", "does not know 'tlh'"),
        ({"detect_languages": ["pt-BR", "pt-PT"]}, "site.detect_languages[1]", "told apart"),
        ({"detect_languages": ["English"]}, "site.detect_languages[0]", "BCP 47"),
        ({"detect_confidence": 0}, "site.detect_confidence", "more than 0"),
        ({"detect_confidence": 1.5}, "site.detect_confidence", "at most 1"),
        ({"detect_confidence": "high"}, "site.detect_confidence", "must be a number"),
    ],
)
def test_bad_detection_keys_name_the_key(keys, where, says):
    with pytest.raises(ConfigError) as raised:
        normalized({"detect_language": True, **keys}, ENGLISH)
    assert raised.value.key == where
    assert says in raised.value.message


def test_a_whole_number_confidence_is_read_as_a_number(tmp_path):
    site = {"title": "t", "url": "https://s.example/", "id_authority": "s.example,2020"}
    config = parse_config({"site": {**site, "detect_confidence": 1}}, base_dir=tmp_path)
    assert config.site.detect_confidence == 1.0
    assert isinstance(config.site.detect_confidence, float)


def test_a_changed_detection_key_changes_the_config_hash(tmp_path):
    site = write_site(tmp_path, ON, MIXED)
    base = config_hash(site.config())
    for keys in (
        'detect_language = true\ndetect_languages = ["en", "es", "fr"]',
        ON + "\ndetect_confidence = 0.9",
        "",
    ):
        site.config_file.write_text(SITE_TOML.format(site=keys), encoding="utf-8")
        assert config_hash(site.config()) != base, keys


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def test_builds_with_detection_are_byte_identical_between_processes(tmp_path):
    # Over 200 posts: the build normalizes in forked workers, sharing the parent's model.
    posts = {
        f"p{n:03d}.md": post(f"Post {n}", (SPANISH, ENGLISH, FRENCH)[n % 3]) for n in range(240)
    }
    site = write_site(tmp_path, ON, posts)
    digests = []
    for name in ("one", "two"):
        out = tmp_path / name
        shutil.rmtree(site.root / "var", ignore_errors=True)  # no snapshot: detected again
        built = run("build", "--config", str(site.config_file), "--out", str(out))
        assert built.returncode == 0, built.stderr
        digests.append(tree_digest(out))
    assert digests[0] == digests[1]
    assert len(titles((tmp_path / "one" / "lang" / "es.atom").read_bytes())) == 20


async def test_a_live_rebuild_detects_only_the_post_that_changed(tmp_path):
    site = write_site(tmp_path, ON, MIXED)
    publisher = Publisher(site.config(), workers=1)
    publisher.build()
    # Rendering every feed comes after normalizing: the model is let go for it.
    assert model_held() is False
    await publisher.start()
    try:
        await publisher.rebuild(trigger="nothing")  # no post changed: no model read
        assert model_held() is False
        site.write_post("spanish.md", post("Taller de escritura", ENGLISH, "2024-03-02"))
        await publisher.rebuild(trigger="test")
        assert model_held() is True
        assert publisher.status().last_rebuild.trigger == "test"
        assert publisher.status().last_rebuild.posts_normalized == 1
        assert publisher.status().languages.per_language[-1].lang == "en"  # no Spanish left
    finally:
        await publisher.stop()


def test_a_warm_start_restores_the_detected_languages_without_detecting_again(tmp_path):
    # MIXED's only explicit language is "es": the default candidates come from the posts, so
    # the restored cache must be keyed with the same candidates to be used.
    site = write_site(tmp_path, "detect_language = true", MIXED)  # cache_dir: var/cache
    config = site.config()
    snapshot = snapshot_file(config)
    built = Publisher(config, workers=1, snapshot_file=snapshot)
    built.build()
    built.save_snapshot()

    keeper = SnapshotKeeper(snapshot)
    served = keeper.open(config)
    assert served is not None
    release_detector()
    restored = keeper.restore(served, config)
    assert restored is not None
    assert restored.normalized.normalized == 0  # every post, its guess included, from disk
    assert model_held() is False  # nothing to detect: the model is not read
    guesses = {p.source_path.rsplit("/", 1)[-1]: p.lang_guess for p in restored.loaded.posts}
    assert guesses["spanish.md"].lang == "es"
    assert guesses["spanish.md"].outcome is Detection.DETECTED
    assert guesses["labelled.md"] is None
    assert served.status.languages == built.status().languages


async def test_a_wordpress_site_without_a_language_plugin_is_detected_and_polylang_wins(
    serve, fetcher, tmp_path
):
    from test_source_wordpress import FakeWordPress, source_for, start, wp_post

    posts = [
        wp_post(1, title="Workshop", content=f"<p>{ENGLISH}</p>"),
        wp_post(2, title="Taller", content=f"<p>{SPANISH}</p>"),
        # Polylang says English: that wins over the Spanish text.
        wp_post(3, title="Labelled", content=f"<p>{SPANISH}</p>", lang="en"),
    ]
    server = await start(serve, FakeWordPress(posts))
    result = await read_wordpress(source_for(server), fetcher)
    config = parse_config(
        {
            "site": {
                "title": "t",
                "url": "https://site.example/",
                "id_authority": "site.example,2020",
                **ES_ONLY,
            }
        },
        base_dir=tmp_path,
    )
    langs = {p.title: (p.lang, p.lang_guess is None) for p in normalize(result, config).posts}
    assert langs == {"Workshop": ("en", False), "Taller": ("es", False), "Labelled": ("en", True)}


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title>Partner</title><id>urn:uuid:feed</id><updated>2024-03-01T00:00:00Z</updated>
  <entry><title>Inherited Spanish</title><id>urn:uuid:1</id>
    <updated>2024-03-01T00:00:00Z</updated><content type="html">{es}</content></entry>
  <entry xml:lang="en"><title>Own English, Spanish text</title><id>urn:uuid:2</id>
    <updated>2024-03-02T00:00:00Z</updated><content type="html">{es}</content></entry>
  <entry xml:lang="es"><title>Own Spanish</title><id>urn:uuid:3</id>
    <updated>2024-03-03T00:00:00Z</updated><content type="html">{es}</content></entry>
  <entry><title>Inherited French</title><id>urn:uuid:4</id>
    <updated>2024-03-04T00:00:00Z</updated><content type="html">{fr}</content></entry>
</feed>
"""


async def test_a_language_the_whole_feed_states_is_a_default_detection_may_replace(
    fetcher, tmp_path
):
    path = tmp_path / "feed.xml"
    path.write_text(ATOM.format(es=SPANISH, fr=FRENCH), encoding="utf-8")
    site = {"title": "t", "url": "https://s.example/", "id_authority": "s.example,2020"}
    # The site's default is German: the feed's English must be what a French entry keeps.
    keys = {**site, "language": "de", **ES_ONLY}
    config = parse_config({"site": keys}, base_dir=tmp_path)
    source = SourceConfig(type="feed", name="partner", path=str(path))
    result = await read_feed(source, fetcher)
    langs = {p.title: (p.lang, p.lang_guess) for p in normalize(result, config).posts}
    assert langs["Inherited Spanish"][0] == "es"
    assert langs["Own Spanish"] == ("es", None)
    # xml:lang="en" equals the feed's: it cannot be told from an inherited one.
    assert langs["Own English, Spanish text"][0] == "es"
    assert langs["Inherited French"][0] == "en"
    assert langs["Inherited French"][1].outcome is Detection.LOW_CONFIDENCE

    # The operator's lang on the source is explicit: nothing is detected.
    explicit = await read_feed(replace(source, lang="en"), fetcher)
    assert {p.lang_guess for p in normalize(explicit, config).posts} == {None}


def test_check_prints_what_detection_made_of_the_posts(tmp_path):
    site = write_site(tmp_path, ON, MIXED)
    checked = run("check", "--config", str(site.config_file))
    assert checked.returncode == 0, checked.stderr
    assert (
        "languages detected: en 1, es 1; kept the default: 1 (low confidence), "
        "1 (too short to guess); candidates: en, es"
    ) in checked.stderr
    off = write_site(tmp_path / "off", "", MIXED)
    assert "languages detected" not in run("check", "--config", str(off.config_file)).stderr


@settings(max_examples=80, deadline=None)
@given(title=st.text(), body=st.text(min_size=MIN_BODY_TEXT))
def test_any_text_gives_a_candidate_or_the_default_never_an_error(title, body):
    post = normalized(ES_ONLY, body, {"title": "Title " + title})
    guess = post.lang_guess
    assert 0.0 <= guess.confidence <= 1.0
    assert guess.lang in ("", "en", "es")
    assert post.lang == (guess.lang if guess.outcome is Detection.DETECTED else "en")
