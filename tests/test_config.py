"""feeds.toml validation: every error names the key path (docs/config.md "General rules")."""

from __future__ import annotations

import datetime
from ipaddress import ip_network
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feedsvc.config import Duration
from feedsvc.configfile import load_config
from feedsvc.errors import ConfigError
from feedsvc.sources import SOURCE_TYPES

GOOD = """
[site]
title = "Test"
url = "https://site.example/"
id_authority = "site.example,2020"

[[sources]]
type = "folder"
path = "posts"
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "posts").mkdir(exist_ok=True)
    path = tmp_path / "feeds.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return info.value


def test_a_good_config_gets_defaults_and_absolute_paths(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert config.feeds.entries == 20
    assert config.sources[0].path == str(tmp_path / "posts")
    assert config.sources[0].name == "folder-0"
    assert config.public_url == "http://127.0.0.1:8080/"
    assert config.aggregator.store == str(tmp_path / "var" / "feedsvc.sqlite3")


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ("[feeds]\nentires = 3\n", "feeds.entires", "unknown key"),
        ("[feeds]\nentries = '3'\n", "feeds.entries", "must be an integer"),
        ("[feeds]\nentries = true\n", "feeds.entries", "must be an integer"),
        ("[feeds]\ncontent = 'some'\n", "feeds.content", "must be one of"),
        ("[feeds]\nformats = ['atom', 'rdf']\n", "feeds.formats", "unknown format"),
        ("[server]\nport = 70000\n", "server.port", "between 1 and 65535"),
        ("[server]\npublic_url = 'ftp://x/'\n", "server.public_url", "http(s) URL"),
        ("[aggregator]\ninterval = 'soon'\n", "aggregator.interval", "duration"),
        ("[aggregator]\nmax_backoff = 'never'\n", "aggregator.max_backoff", "duration"),
        ("[aggregator]\nretention = 0\n", "aggregator.retention", "at least 1"),
        ("[aggregator]\nallowed_networks = ['10.0.0.0/33']\n", "aggregator.allowed_networks", "IP"),
        ("[aggregator]\nlease = '60s'\ntimeout = '30s'\n", "aggregator.lease", "twice"),
        (
            "[aggregator]\nstore = 'postgresql://u:hunter2@db/feeds'\n",
            "aggregator.store",
            "PGPASSWORD",
        ),
        ("[aggregator]\nstore = 'postgresql://db:port/feeds'\n", "aggregator.store", "port"),
        ("[websub]\nstore = 'postgresql://u:hunter2@db/feeds'\n", "websub.store", "PGPASSWORD"),
        ("[websub]\nstore = 'postgresql://db:port/feeds'\n", "websub.store", "port"),
        (
            "[[partners]]\nname = 'p'\nurl = 'https://p.example/'\ntitle = 'P'\nlang = 'English'\n",
            "partners[0].lang",
            "BCP 47",
        ),
        ("[[sources]]\ntype = 'folder'\npath = 'nope'\n", "sources[1].path", "no such folder"),
        ("[[sources]]\ntype = 'wordpress'\n", "sources[1].url", "required"),
        (
            "[[sources]]\ntype = 'wordpress'\nurl = 'https://x.example/'\npassword_env = 'WP'\n",
            "sources[1].username",
            "required with password_env",
        ),
        ("[[sources]]\ntype = 'ftp'\n", "sources[1].type", "unknown source type"),
        (
            "[[sources]]\ntype = 'folder'\npath = 'posts'\nname = 'folder-0'\n",
            "sources[1].name",
            "duplicate",
        ),
        (
            "[[partners]]\nname = 'Bad Name'\nurl = 'https://p.example/'\ntitle = 'P'\n",
            "partners[0].name",
            "a-z",
        ),
        ("[[partners]]\nname = 'p'\ntitle = 'P'\n", "partners[0].url", "required key is missing"),
        ("[nope]\n", "nope", "unknown section"),
        ("[server]\nwebhook_token_env = 's3cr3t token!'\n", "server.webhook_token_env", "NAME"),
        (
            "[[sources]]\ntype = 'wordpress'\nurl = 'https://x.example/'\nwatch = 'poll'\n",
            "sources[1].watch",
            "read from files",
        ),
        (
            "[[sources]]\ntype = 'folder'\npath = 'posts'\nname = 'b'\nwatch = 'yes'\n",
            "sources[1].watch",
            "must be one of",
        ),
    ],
)
def test_errors_name_the_key_path(tmp_path, extra, key, words):
    error = error_for(tmp_path, GOOD + extra)
    assert error.key == key
    assert words in error.message
    assert str(error).startswith(f"{tmp_path / 'feeds.toml'}: {key}: ")


@pytest.mark.parametrize(
    ("site", "key"),
    [
        ('title = "T"\nid_authority = "a.example,2020"', "site.url"),
        ('title = "T"\nurl = "https://a.example/"', "site.id_authority"),
        ('title = "T"\nurl = "a.example"\nid_authority = "a.example,2020"', "site.url"),
        (
            'title = "T"\nurl = "https://a.example/"\nid_authority = "a.example"',
            "site.id_authority",
        ),
        (
            'title = "T"\nurl = "https://a.example/"\nid_authority = "a.example,2020"\n'
            'timezone = "Mars/Base"',
            "site.timezone",
        ),
        (
            'title = "T"\nurl = "https://a.example/"\nid_authority = "a.example,2020"\n'
            'timezone = "America"',  # a folder of the zone database, not a zone
            "site.timezone",
        ),
    ],
)
def test_site_keys_are_checked(tmp_path, site, key):
    assert error_for(tmp_path, f"[site]\n{site}\n").key == key


def test_live_update_keys(tmp_path):
    extra = "watch = 'poll'\n[server]\nwebhook_token_env = 'FEEDSVC_WEBHOOK_TOKEN'\n"
    config = load_config(write(tmp_path, GOOD + extra))
    assert config.sources[0].watch == "poll"
    assert config.server.webhook_token_env == "FEEDSVC_WEBHOOK_TOKEN"
    defaults = load_config(write(tmp_path, GOOD))
    assert defaults.sources[0].watch == "auto"
    assert defaults.server.webhook_token_env == ""


def test_a_token_pasted_as_its_variable_name_is_never_echoed(tmp_path):
    error = error_for(tmp_path, GOOD + "[server]\nwebhook_token_env = 'ab:cd/ef'\n")
    assert "ab:cd/ef" not in str(error)


def test_broken_toml_and_missing_file_are_config_errors(tmp_path):
    error = error_for(tmp_path, "[site\n")
    assert "not valid TOML" in error.message
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.toml")


def test_cli_overrides_win(tmp_path):
    config = load_config(write(tmp_path, GOOD), {"server.port": 9999})
    assert config.server.port == 9999
    assert config.public_url == "http://127.0.0.1:9999/"


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("1h", 3600), ("2d", 172800)]
)
def test_durations(text, seconds):
    assert Duration.parse(text) == Duration(text, seconds)


@pytest.mark.parametrize("text", ["", "15", "0s", "1w", "-5m", "1.5h"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="must be a duration like"):
        Duration.parse(text)


@pytest.mark.parametrize(
    ("source_type", "key"),
    [
        (name, key)
        for name, entry in SOURCE_TYPES.items()
        for key in ("path", "url", "username", "password_env")
        if key not in entry.keys
    ],
)
def test_a_key_its_source_type_does_not_read_is_refused(tmp_path, source_type, key):
    text = GOOD + f"[[sources]]\ntype = '{source_type}'\n{key} = 'x'\n"
    error = error_for(tmp_path, text)
    assert (error.key, error.message) == (
        f"sources[1].{key}",
        f"not used by a {source_type} source",
    )


def test_an_unknown_source_type_lists_the_registered_ones(tmp_path):
    error = error_for(tmp_path, GOOD + "[[sources]]\ntype = 'ftp'\n")
    assert error.key == "sources[1].type"
    assert error.message.endswith(f"(known: {', '.join(SOURCE_TYPES)})")


def test_durations_are_read_once_at_load(tmp_path):
    text = GOOD + "interval = '1h'\n[aggregator]\ntimeout = '45s'\nmax_backoff = '2d'\n"
    config = load_config(write(tmp_path, text))
    assert config.sources[0].interval == Duration("1h", 3600)
    assert config.aggregator.timeout.seconds == 45
    assert config.aggregator.max_backoff.seconds == 2 * 86400
    assert config.aggregator.connect_timeout == Duration("10s", 10)  # the default


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("interval = 'soon'\n", "sources[0].interval"),
        ("interval = 15\n", "sources[0].interval"),
        ("[aggregator]\ntimeout = '30'\n", "aggregator.timeout"),
        ("[aggregator]\nconnect_timeout = '0s'\n", "aggregator.connect_timeout"),
        ("[websub]\nbackup_interval = '6 h'\n", "websub.backup_interval"),
    ],
)
def test_a_bad_duration_names_its_one_full_key_path(tmp_path, extra, key):
    error = error_for(tmp_path, GOOD + extra)
    assert error.key == key
    assert "must be a duration like" in error.message


def test_the_time_zone_is_read_once_into_a_zone(tmp_path):
    text = GOOD.replace(
        'id_authority = "site.example,2020"\n',
        'id_authority = "site.example,2020"\ntimezone = "America/New_York"\n',
    )
    assert load_config(write(tmp_path, text)).site.timezone == ZoneInfo("America/New_York")
    assert load_config(write(tmp_path, GOOD)).site.timezone == ZoneInfo("UTC")


def test_allowed_networks_are_read_once_into_networks(tmp_path):
    text = GOOD + "[websub]\nallowed_networks = ['192.168.5.7', '10.1.2.3/24', 'fd00::/64']\n"
    networks = load_config(write(tmp_path, text)).websub.allowed_networks
    assert networks == (
        ip_network("192.168.5.7/32"),  # one address
        ip_network("10.1.2.0/24"),  # host bits ignored
        ip_network("fd00::/64"),
    )


def test_source_and_partner_languages_are_stored_as_canonical_tags(tmp_path):
    text = GOOD + (
        "lang = 'pt_br'\n"
        "[[partners]]\nname = 'p'\nurl = 'https://p.example/'\ntitle = 'P'\nlang = 'ES-mx'\n"
    )
    config = load_config(write(tmp_path, text))
    assert config.sources[0].lang == "pt-BR"
    assert config.partners[0].lang == "es-MX"


def test_a_bad_source_language_is_a_config_error(tmp_path):
    error = error_for(tmp_path, GOOD + "lang = 'Spanish'\n")
    assert error.key == "sources[0].lang"
    assert "BCP 47" in error.message


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://localhost:8080/"),
        ("::", "http://localhost:8080/"),
        ("::1", "http://[::1]:8080/"),
        ("feeds.internal", "http://feeds.internal:8080/"),
    ],
)
def test_the_default_public_url_is_reachable(tmp_path, host, url):
    assert load_config(write(tmp_path, GOOD), {"server.host": host}).public_url == url


def test_a_postgresql_store_is_a_url_not_a_path(tmp_path):
    url = "postgresql://feedsvc@db.internal:5432/feeds?sslmode=require"
    config = load_config(write(tmp_path, GOOD + f"[aggregator]\nstore = '{url}'\n"))
    assert config.aggregator.store == url


def test_the_websub_store_may_be_a_postgresql_url(tmp_path):
    url = "postgresql://feedsvc@db.internal/feeds"
    config = load_config(write(tmp_path, GOOD + f"[websub]\nstore = '{url}'\n"))
    assert config.websub.store == url  # not turned into a path under the config's folder


def test_a_lease_just_over_twice_the_timeout_is_taken(tmp_path):
    extra = "[aggregator]\nlease = '61s'\ntimeout = '30s'\n"
    assert load_config(write(tmp_path, GOOD + extra)).aggregator.lease.seconds == 61


def test_a_password_in_the_store_url_is_never_echoed(tmp_path):
    error = error_for(tmp_path, GOOD + "[aggregator]\nstore = 'postgresql://u:hunter2@db/f'\n")
    assert "hunter2" not in str(error)


def test_aggregator_mode_loads_with_partners(tmp_path):
    text = GOOD + (
        "[aggregator]\nenabled = true\nallowed_networks = ['10.1.2.0/24']\n"
        "[[partners]]\nname = 'p-1'\nurl = 'https://p.example/feed'\ntitle = 'P'\nlang = 'es'\n"
    )
    config = load_config(write(tmp_path, text))
    assert config.aggregator.enabled
    assert config.aggregator.retention == 500
    assert config.aggregator.allowed_networks == (ip_network("10.1.2.0/24"),)
    assert config.partners[0].lang == "es"


@pytest.mark.parametrize(("language", "stored"), [("en_US", "en-US"), ("ES", "es"), ("no", "no")])
def test_the_site_language_is_stored_as_a_canonical_tag(tmp_path, language, stored):
    text = GOOD.replace(
        'id_authority = "site.example,2020"\n',
        f'id_authority = "site.example,2020"\nlanguage = "{language}"\n',
    )
    assert load_config(write(tmp_path, text)).site.language == stored


def test_a_bad_site_language_is_a_config_error(tmp_path):
    text = GOOD.replace(
        'id_authority = "site.example,2020"\n',
        'id_authority = "site.example,2020"\nlanguage = "English"\n',
    )
    assert error_for(tmp_path, text).key == "site.language"


def test_an_override_into_a_non_table_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, 'server = "x"\n' + GOOD), {"server.host": "0.0.0.0"})
    assert info.value.key == "server"


def test_websub_defaults_and_hubs(tmp_path):
    defaults = load_config(write(tmp_path, GOOD))
    assert defaults.websub.hubs == ()
    assert defaults.hub_urls == ()
    assert defaults.websub.lease == Duration("10d", 10 * 86400)
    extra = "[websub]\nhubs = ['builtin', 'https://hub.example/']\n"
    config = load_config(write(tmp_path, GOOD + extra))
    assert config.websub.builtin
    assert config.websub.external_hubs == ("https://hub.example/",)
    assert config.hub_urls == (config.public_url + "websub", "https://hub.example/")
    assert config.websub.store == str(tmp_path / "var" / "websub.sqlite3")


@pytest.mark.parametrize(
    ("websub", "key", "words"),
    [
        ("hubs = ['ftp://hub.example/']", "websub.hubs[0]", "absolute http(s) URL"),
        ("hubs = ['builtin', 'builtin']", "websub.hubs[1]", "listed twice"),
        ("lease = '40d'", "websub.lease", "between websub.min_lease and websub.max_lease"),
        ("lease = '30m'", "websub.lease", "between"),
        ("max_lease = 'forever'", "websub.max_lease", "duration"),
        ("per_host = 0", "websub.per_host", "at least 1"),
        ("max_request = 0", "websub.max_request", "at least 1"),
        ("retries = -1", "websub.retries", "not be negative"),
        ("allowed_networks = ['nope']", "websub.allowed_networks", "not an IP network"),
        ("perpetual = true", "websub.perpetual", "unknown key"),
    ],
)
def test_websub_keys_are_checked(tmp_path, websub, key, words):
    error = error_for(tmp_path, GOOD + f"[websub]\n{websub}\n")
    assert error.key == key
    assert words in error.message


def test_post_limits_have_defaults_and_are_read_once(tmp_path):
    defaults = load_config(write(tmp_path, GOOD)).posts
    assert (defaults.max_file_size, defaults.max_front_matter) == (1024 * 1024, 64 * 1024)
    assert (defaults.max_title, defaults.max_categories, defaults.max_tags) == (500, 50, 100)
    assert defaults.earliest_date == datetime.date(1970, 1, 1)
    for written in ("1900-01-01", "'1900-01-01'"):  # a TOML date, or the same as a string
        config = load_config(write(tmp_path, f"[posts]\nearliest_date = {written}\n{GOOD}"))
        assert config.posts.earliest_date == datetime.date(1900, 1, 1)


@pytest.mark.parametrize(
    ("posts", "key", "words"),
    [
        ("max_file_size = 0", "posts.max_file_size", "at least 1"),
        ("max_tags = -1", "posts.max_tags", "at least 1"),
        ("earliest_date = '1900-13-01'", "posts.earliest_date", "must be a date like"),
        ("earliest_date = '19000101'", "posts.earliest_date", "must be a date like"),
        ("earliest_date = 1900-01-01T00:00:00", "posts.earliest_date", "must be a date like"),
    ],
)
def test_post_limits_are_checked(tmp_path, posts, key, words):
    error = error_for(tmp_path, f"[posts]\n{posts}\n{GOOD}")
    assert error.key == key
    assert words in error.message
