"""The one config schema: what feeds.toml may say, as frozen dataclasses whose fields *are*
the keys (name, type, default), holding ready values.

Values are read once, when the file is loaded (configfile.py), and handed out ready:
durations as ``Duration``, the site's time zone as a ``ZoneInfo``, allowed networks as
``ipaddress`` networks, languages in canonical BCP 47 case, paths absolute (resolved against
the config file's folder). The rules for one value that more than one place applies
(a URL, an environment variable's name) are here too; each source type's own keys and rules
are its registry entry (sources/).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from feedsvc.errors import ConfigError

FORMATS = ("atom", "rss", "json")
BUILTIN_HUB = "builtin"
# A non-public network let through the address policy ("10.1.2.0/24"; "10.0.0.5" is a /32).
Network = IPv4Network | IPv6Network

_DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class Duration:
    """A length of time from the config, read once at load: the code uses ``seconds``;
    ``text`` is what the operator wrote ("15m"), for /status and messages."""

    text: str
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Duration:
        """ "30s", "15m", "1h", "1d": a positive whole number and a unit; else ValueError."""
        match = _DURATION.match(text.strip())
        if not match or int(match.group(1)) == 0:
            raise ValueError(f"must be a duration like '30s', '15m' or '1h', not {text!r}")
        return cls(text, int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


@dataclass(frozen=True, slots=True)
class SiteConfig:
    title: str
    url: str  # the organisation's website: post links and relative URLs resolve against it
    id_authority: str  # RFC 4151 taggingEntity, "example.org,2014"
    description: str = ""
    language: str = "en"
    timezone: ZoneInfo = ZoneInfo("UTC")  # IANA zone of dates written without an offset
    author: str = ""
    author_email: str = ""
    icon: str = ""
    logo: str = ""
    # Language detection for posts without an explicit language (docs/config.md "Languages").
    detect_language: bool = False
    # Candidates; empty: the languages the site knows (site.language, sources[].lang and
    # the posts' explicit languages).
    detect_languages: tuple[str, ...] = ()
    # The least probability a candidate needs, from docs/benchmarks.md "Language detection".
    detect_confidence: float = 0.7


@dataclass(frozen=True, slots=True)
class FeedsConfig:
    entries: int = 20
    content: Literal["full", "summary"] = "full"
    max_age: int = 300
    # RFC 5861: a cache may serve a stale feed this long while it revalidates in the
    # background, and this long while feedsvc answers with errors (or not at all).
    stale_while_revalidate: int = 300
    stale_if_error: int = 86400
    formats: tuple[str, ...] = FORMATS
    summary_length: int = 280
    archives: bool = True
    language_categories: bool = True
    # One feed per tag at /tag/{slug}.*: a WordPress site can have thousands of tags.
    tags: bool = True


@dataclass(frozen=True, slots=True)
class PostsConfig:
    """Limits on every post, whatever its source: a post over one is skipped and reported."""

    max_file_size: int = 1024 * 1024  # bytes of one folder post file
    max_front_matter: int = 64 * 1024  # bytes of its YAML front matter
    max_title: int = 500  # characters
    max_categories: int = 50  # each category is several feeds
    max_tags: int = 100
    # Dates before this day (UTC) are refused: most feed readers keep Unix times, and a year
    # like 1 or 0201 is a typo that readers misread (feedparser reads RSS year 1 as 2001).
    earliest_date: datetime.date = datetime.date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class SourceConfig:
    type: str
    name: str = ""
    path: str = ""  # folder: the folder; json, feed: a file (or url instead)
    url: str = ""  # wordpress: the site's root; json, feed: the document (or path instead)
    interval: Duration = Duration.parse("15m")
    categories: tuple[str, ...] = ()
    lang: str = ""
    # wordpress: HTTP Basic credentials (an application password). The password itself is
    # never in the config, only the NAME of the environment variable holding it, so the
    # config (and this object's repr) can be printed and logged safely.
    username: str = ""
    password_env: str = ""
    # Sources read from files (folder; json, feed with a path): how changes are noticed.
    watch: Literal["auto", "poll", "off"] = "auto"


@dataclass(frozen=True, slots=True)
class AggregatorConfig:
    enabled: bool = False
    interval: Duration = Duration.parse("15m")
    store: str = "var/feedsvc.sqlite3"  # a SQLite path, or postgresql://… shared by replicas
    # How long a replica's claim on a partner's fetch lasts if it is never released (the
    # replica died): then another replica fetches the partner.
    lease: Duration = Duration.parse("2m")
    allow_private_addresses: bool = False
    merge_site: bool = True
    # Entries kept per partner after they leave its feed (the newest ones).
    retention: int = 500
    max_backoff: Duration = Duration.parse("6h")  # cap of the exponential backoff after failures
    timeout: Duration = Duration.parse(
        "30s"
    )  # one fetch, every hop and the whole body; also one parse
    connect_timeout: Duration = Duration.parse("10s")
    max_body: int = 10 * 1024 * 1024  # bytes, counted after decompression
    per_host: int = 2  # concurrent requests to one host name
    # Non-public networks allowed while the rest stay refused ("10.1.2.0/24").
    allowed_networks: tuple[Network, ...] = ()
    parse_workers: int = 2  # processes that run feedparser; 0 parses in a thread


@dataclass(frozen=True, slots=True)
class PartnerConfig:
    name: str
    url: str
    title: str
    home: str = ""
    categories: tuple[str, ...] = ()
    lang: str = ""


@dataclass(frozen=True, slots=True)
class WebsubConfig:
    # "builtin" (this service's hub at /websub) and/or external hub URLs; empty: WebSub off.
    hubs: tuple[str, ...] = ()
    # W3C WebSub §5.1.1: the hub picks the lease; 10 days is the Recommendation's example.
    lease: Duration = Duration.parse("10d")
    min_lease: Duration = Duration.parse("1h")
    max_lease: Duration = Duration.parse("30d")
    store: str = "var/websub.sqlite3"  # a SQLite path, or postgresql://… shared by replicas
    timeout: Duration = Duration.parse(
        "10s"
    )  # one verification of intent, one delivery, one publish ping
    retries: int = 5  # further attempts after a failed delivery or publish ping
    retry_backoff: Duration = Duration.parse(
        "30s"
    )  # wait before the first retry; doubles up to max_backoff
    max_backoff: Duration = Duration.parse("1h")
    concurrency: int = 50  # deliveries and verifications in flight at once
    per_host: int = 4  # of which to one callback host
    max_subscriptions: int = 10000
    max_per_topic: int = 1000
    max_request: int = 16384  # bytes of a POST /websub body
    allow_private_addresses: bool = False  # callbacks on non-public addresses
    allowed_networks: tuple[Network, ...] = ()
    # Aggregator: how often a partner that pushes through a hub is still polled.
    backup_interval: Duration = Duration.parse("6h")

    @property
    def builtin(self) -> bool:
        return BUILTIN_HUB in self.hubs

    @property
    def external_hubs(self) -> tuple[str, ...]:
        return tuple(hub for hub in self.hubs if hub != BUILTIN_HUB)


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""  # where readers reach the feeds; default http://{host}:{port}/
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = False  # one log line per request: off, feed readers poll a lot
    # POST /hooks/rebuild: the NAME of the environment variable holding its bearer token
    # (never the token itself, so the config can be printed); empty: no webhook.
    webhook_token_env: str = ""
    # A webhook's rebuild starts at least this long after the previous rebuild started.
    webhook_spacing: Duration = Duration.parse("1s")
    # An idle keep-alive connection is closed after this long. aiohttp's default is 75 s;
    # a feed reader polls every few minutes, so holding its socket longer only costs memory
    # and file descriptors (nginx keeps 75 s too; Apache 5 s).
    keepalive_timeout: Duration = Duration.parse("15s")
    # The snapshot kept between runs for a warm start (feedsvc.warm); empty: none.
    cache_dir: str = "var/cache"
    # GET /metrics (Prometheus text format): off by default. metrics_token_env, like
    # webhook_token_env, names the environment variable holding a bearer token scrapes
    # must send; empty: /metrics is open to whoever reaches it.
    metrics: bool = False
    metrics_token_env: str = ""


@dataclass(frozen=True, slots=True)
class Config:
    site: SiteConfig
    feeds: FeedsConfig = field(default_factory=FeedsConfig)
    posts: PostsConfig = field(default_factory=PostsConfig)
    sources: tuple[SourceConfig, ...] = ()
    aggregator: AggregatorConfig = field(default_factory=AggregatorConfig)
    partners: tuple[PartnerConfig, ...] = ()
    websub: WebsubConfig = field(default_factory=WebsubConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    # Where the config came from; relative paths in it were resolved against base_dir.
    file: str = ""
    base_dir: str = "."

    @property
    def public_url(self) -> str:
        """Base URL of the served feeds, always ending in "/"."""
        if self.server.public_url:
            url = self.server.public_url
            return url if url.endswith("/") else url + "/"
        # A wildcard listen address is not a place a reader can reach; say localhost
        # and let deployments set server.public_url.
        host = self.server.host
        if host in ("0.0.0.0", "::", ""):
            host = "localhost"
        elif ":" in host:
            host = f"[{host}]"  # RFC 3986 §3.2.2: IPv6 literals in brackets
        return f"http://{host}:{self.server.port}/"

    @property
    def hub_urls(self) -> tuple[str, ...]:
        """The hubs every feed names (W3C WebSub §4), "builtin" as this service's /websub."""
        return tuple(
            self.public_url + "websub" if hub == BUILTIN_HUB else hub for hub in self.websub.hubs
        )


# Top-level tables and whether each is an array of tables.
SECTIONS: dict[str, tuple[type, bool]] = {
    "site": (SiteConfig, False),
    "feeds": (FeedsConfig, False),
    "posts": (PostsConfig, False),
    "sources": (SourceConfig, True),
    "aggregator": (AggregatorConfig, False),
    "partners": (PartnerConfig, True),
    "websub": (WebsubConfig, False),
    "server": (ServerConfig, False),
}


def schema_keys() -> Iterator[str]:
    """Every key of the schema as a dotted path (``sources[].path``), for the docs test."""
    for section, (cls, is_array) in SECTIONS.items():
        prefix = f"{section}[]" if is_array else section
        for f in dataclasses.fields(cls):
            yield f"{prefix}.{f.name}"


def is_postgres_url(url: str) -> bool:
    """A store key (``aggregator.store``, ``websub.store``) names a PostgreSQL database
    rather than a SQLite file."""
    return url.startswith(("postgresql://", "postgres://"))


def check_url(url: str, key: str) -> None:
    """An absolute http(s) URL with a host, or a ConfigError naming ``key``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(key, f"must be an absolute http(s) URL, not {url!r}")


# POSIX names of environment variables (IEEE Std 1003.1, §8.1), as shells accept them.
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_env_name(name: str, key: str, secret: str) -> None:
    """``name`` is the NAME of an environment variable, or a ConfigError naming ``key``.

    Never echoes the value: a ``secret`` pasted there by mistake must not reach a log."""
    if not _ENV_NAME.match(name):
        raise ConfigError(
            key,
            "must be the NAME of an environment variable (letters, digits and _), "
            f"not the {secret} itself",
        )
