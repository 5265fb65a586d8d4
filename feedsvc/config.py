"""The one config schema: feeds.toml, loaded and validated before anything runs.

Each section is a frozen dataclass; its fields *are* the schema (name, type,
default). ``load_config`` rejects unknown keys, wrong types and missing required
keys with a ConfigError naming the key path, e.g. ``sources[1].path: no such folder``.
Values are read once, here, and handed out ready: durations as ``Duration``, languages in
canonical BCP 47 case, paths absolute (resolved against the config file's folder).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import tomllib
import types
import typing
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from feedsvc.errors import ConfigError
from feedsvc.lang import normalize_lang

REQUIRED: Any = dataclasses.MISSING

SOURCE_TYPES = ("folder", "json", "wordpress", "feed")
FORMATS = ("atom", "rss", "json")
BUILTIN_HUB = "builtin"

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
    timezone: str = "UTC"
    author: str = ""
    author_email: str = ""
    icon: str = ""
    logo: str = ""


@dataclass(frozen=True, slots=True)
class FeedsConfig:
    entries: int = 20
    content: Literal["full", "summary"] = "full"
    max_age: int = 300
    formats: tuple[str, ...] = FORMATS
    summary_length: int = 280
    archives: bool = True
    language_categories: bool = True


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
    store: str = "var/feedsvc.sqlite3"
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
    allowed_networks: tuple[str, ...] = ()
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
    store: str = "var/websub.sqlite3"
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
    allowed_networks: tuple[str, ...] = ()
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


@dataclass(frozen=True, slots=True)
class Config:
    site: SiteConfig
    feeds: FeedsConfig = field(default_factory=FeedsConfig)
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


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> Config:
    """Read and validate ``path``; ``overrides`` are dotted keys set by the CLI."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError("", "no such config file", str(path)) from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError("", f"cannot read: {e}", str(path)) from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("", f"not valid TOML: {e}", str(path)) from e
    for dotted, value in (overrides or {}).items():
        section, key = dotted.split(".", 1)
        table = raw.setdefault(section, {})
        if not isinstance(table, dict):
            raise ConfigError(section, "must be a table", str(path))
        table[key] = value
    try:
        return parse_config(raw, base_dir=path.resolve().parent, file=str(path))
    except ConfigError as e:
        raise ConfigError(e.key, e.message, str(path)) from e


def parse_config(raw: dict[str, Any], base_dir: Path, file: str = "") -> Config:
    """Validate a TOML document already parsed into dicts."""
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ConfigError(unknown[0], f"unknown section (known: {', '.join(SECTIONS)})")
    if "site" not in raw:
        raise ConfigError("site", "required section is missing")
    values: dict[str, Any] = {}
    for section, (cls, is_array) in SECTIONS.items():
        if section not in raw:
            continue
        if is_array:
            items = raw[section]
            if not isinstance(items, list):
                raise ConfigError(section, f"must be an array of tables ([[{section}]])")
            values[section] = tuple(
                _build(cls, item, f"{section}[{i}]") for i, item in enumerate(items)
            )
        else:
            values[section] = _build(cls, raw[section], section)
    config = Config(**values, file=file, base_dir=str(base_dir))
    return _check(config, base_dir)


def _build(cls: type, table: Any, where: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(where, "must be a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - names)
    if unknown:
        known = ", ".join(sorted(names))
        raise ConfigError(f"{where}.{unknown[0]}", f"unknown key (known: {known})")
    kwargs = {}
    for f in dataclasses.fields(cls):
        key = f"{where}.{f.name}"
        if f.name not in table:
            if f.default is REQUIRED and f.default_factory is REQUIRED:
                raise ConfigError(key, "required key is missing")
            continue
        kwargs[f.name] = _coerce(hints[f.name], table[f.name], key)
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise ConfigError(key, f"must be one of {', '.join(map(repr, allowed))}, not {value!r}")
        return value
    if origin in (types.UnionType, typing.Union):
        return _coerce(next(a for a in typing.get_args(hint) if a is not type(None)), value, key)
    if hint is Duration:
        if not isinstance(value, str):
            raise ConfigError(
                key, f"must be a duration like '30s' or '15m', not {_toml_type(value)}"
            )
        try:
            return Duration.parse(value)
        except ValueError as e:
            raise ConfigError(key, str(e)) from e
    if origin is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(key, f"must be a list of strings, not {_toml_type(value)}")
        return tuple(value)
    # bool is an int in Python; TOML keeps them apart, so do we.
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(key, f"must be an integer, not {_toml_type(value)}")
    if hint in (str, bool) and not isinstance(value, hint):
        raise ConfigError(key, f"must be a {_toml_type_name(hint)}, not {_toml_type(value)}")
    return value


def _toml_type_name(t: type) -> str:
    return {str: "string", bool: "boolean", int: "integer", float: "float"}.get(t, t.__name__)


def _toml_type(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"{_toml_type_name(type(value))} {value!r}"


_AUTHORITY = re.compile(r"^[A-Za-z0-9.-]+(@[A-Za-z0-9.-]+)?,\d{4}(-\d{2}(-\d{2})?)?$")
_NAME = re.compile(r"^[a-z0-9-]+$")


def _check(config: Config, base_dir: Path) -> Config:
    """Rules across keys: URLs, time zone, paths, names, durations."""
    site, feeds, server = config.site, config.feeds, config.server
    check_url(site.url, "site.url")
    if server.public_url:
        check_url(server.public_url, "server.public_url")
    if not _AUTHORITY.match(site.id_authority):
        raise ConfigError(
            "site.id_authority", "must be an RFC 4151 tagging entity like 'example.org,2014'"
        )
    try:
        zoneinfo.ZoneInfo(site.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
        raise ConfigError("site.timezone", f"unknown time zone {site.timezone!r}") from e
    if feeds.entries < 1:
        raise ConfigError("feeds.entries", "must be at least 1")
    if feeds.max_age < 0:
        raise ConfigError("feeds.max_age", "must not be negative")
    if feeds.summary_length < 20:
        raise ConfigError("feeds.summary_length", "must be at least 20")
    for fmt in feeds.formats:
        if fmt not in FORMATS:
            known = ", ".join(FORMATS)
            raise ConfigError("feeds.formats", f"unknown format {fmt!r} (known: {known})")
    if not feeds.formats:
        raise ConfigError("feeds.formats", "must name at least one format")
    if not 0 < server.port < 65536:
        raise ConfigError("server.port", "must be between 1 and 65535")
    if server.webhook_token_env and not _ENV_NAME.match(server.webhook_token_env):
        # Never echo the value: a token pasted here by mistake must not reach a log.
        raise ConfigError(
            "server.webhook_token_env",
            "must be the NAME of an environment variable (letters, digits and _), "
            "not the token itself",
        )

    sources = []
    names: set[str] = set()
    for i, src in enumerate(config.sources):
        where = f"sources[{i}]"
        if src.type not in SOURCE_TYPES:
            known = ", ".join(SOURCE_TYPES)
            raise ConfigError(f"{where}.type", f"unknown source type {src.type!r} (known: {known})")
        src = dataclasses.replace(src, name=src.name or f"{src.type}-{i}")
        if src.name in names:
            raise ConfigError(f"{where}.name", f"duplicate source name {src.name!r}")
        names.add(src.name)
        sources.append(_check_source(src, where, base_dir))

    aggregator = _check_aggregator(config.aggregator)
    aggregator = dataclasses.replace(aggregator, store=str((base_dir / aggregator.store).resolve()))
    partners = []
    partner_names: set[str] = set()
    for i, partner in enumerate(config.partners):
        where = f"partners[{i}]"
        if not _NAME.match(partner.name):
            raise ConfigError(f"{where}.name", "must use only a-z, 0-9 and '-'")
        if partner.name in partner_names:
            raise ConfigError(f"{where}.name", f"duplicate partner name {partner.name!r}")
        partner_names.add(partner.name)
        check_url(partner.url, f"{where}.url")
        if partner.home:
            check_url(partner.home, f"{where}.home")
        if partner.lang:
            partner = dataclasses.replace(partner, lang=_check_lang(partner.lang, f"{where}.lang"))
        partners.append(partner)
    websub = _check_websub(config.websub)
    websub = dataclasses.replace(websub, store=str((base_dir / websub.store).resolve()))
    # Stored in canonical case ("en_US" → "en-US"), so feeds compare it with posts' tags.
    site = dataclasses.replace(site, language=_check_lang(site.language, "site.language"))
    return dataclasses.replace(
        config,
        site=site,
        sources=tuple(sources),
        aggregator=aggregator,
        partners=tuple(partners),
        websub=websub,
    )


# Keys each source type reads besides type, name, interval, categories and lang.
_SOURCE_KEYS = {
    "folder": ("path",),
    "json": ("path", "url"),
    "feed": ("path", "url"),
    "wordpress": ("url", "username", "password_env"),
}
# POSIX names of environment variables (IEEE Std 1003.1, §8.1), as shells accept them.
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_source(src: SourceConfig, where: str, base_dir: Path) -> SourceConfig:
    """Per-type rules; relative paths become absolute. Keys a type does not read are errors,
    so that a misplaced key is never silently ignored."""
    for key in ("path", "url", "username", "password_env"):
        if getattr(src, key) and key not in _SOURCE_KEYS[src.type]:
            raise ConfigError(f"{where}.{key}", f"not used by a {src.type} source")
    if src.watch != "auto" and (src.type == "wordpress" or src.url):
        raise ConfigError(
            f"{where}.watch", "only sources read from files are watched (folder, or a path)"
        )
    if src.lang:
        src = dataclasses.replace(src, lang=_check_lang(src.lang, f"{where}.lang"))
    if src.type == "folder":
        if not src.path:
            raise ConfigError(f"{where}.path", "required for a folder source")
        folder = (base_dir / src.path).resolve()
        if not folder.is_dir():
            raise ConfigError(f"{where}.path", f"no such folder: {folder}")
        return dataclasses.replace(src, path=str(folder))
    if src.type == "wordpress":
        if not src.url:
            raise ConfigError(f"{where}.url", "required for a wordpress source (the site's root)")
        check_url(src.url, f"{where}.url")
        _check_credentials(src, where)
        return src
    # json, feed: a local file or a URL, not both.
    if bool(src.path) == bool(src.url):
        raise ConfigError(f"{where}.path", f"a {src.type} source needs either path or url")
    if src.url:
        check_url(src.url, f"{where}.url")
        return src
    file = (base_dir / src.path).resolve()
    if not file.is_file():
        raise ConfigError(f"{where}.path", f"no such file: {file}")
    return dataclasses.replace(src, path=str(file))


def _check_credentials(src: SourceConfig, where: str) -> None:
    if src.password_env and not src.username:
        raise ConfigError(f"{where}.username", "required with password_env")
    if src.username and not src.password_env:
        raise ConfigError(
            f"{where}.password_env",
            "required with username: the name of an environment variable holding the password",
        )
    if ":" in src.username:
        # RFC 7617 §2: the user-id cannot contain a colon.
        raise ConfigError(f"{where}.username", "cannot contain ':' (RFC 7617 §2)")
    if src.password_env and not _ENV_NAME.match(src.password_env):
        # Never echo the value: a password pasted here by mistake must not reach a log.
        raise ConfigError(
            f"{where}.password_env",
            "must be the NAME of an environment variable (letters, digits and _), "
            "not the password itself",
        )


def _check_aggregator(aggregator: AggregatorConfig) -> AggregatorConfig:
    for key in ("retention", "max_body", "per_host"):
        if getattr(aggregator, key) < 1:
            raise ConfigError(f"aggregator.{key}", "must be at least 1")
    if not 0 <= aggregator.parse_workers <= 8:
        raise ConfigError("aggregator.parse_workers", "must be between 0 and 8")
    _check_networks(aggregator.allowed_networks, "aggregator.allowed_networks")
    return aggregator


def _check_networks(networks: tuple[str, ...], key: str) -> None:
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError as e:
            raise ConfigError(
                key, f"{network!r} is not an IP network like '10.1.2.0/24' or '127.0.0.1'"
            ) from e


def _check_websub(websub: WebsubConfig) -> WebsubConfig:
    for i, hub in enumerate(websub.hubs):
        if hub != BUILTIN_HUB:
            check_url(hub, f"websub.hubs[{i}]")
        if hub in websub.hubs[:i]:
            raise ConfigError(f"websub.hubs[{i}]", f"{hub!r} is listed twice")
    # Never perpetual (W3C WebSub §5.1.1 lets the hub choose): the bounds must hold the default.
    if not websub.min_lease.seconds <= websub.lease.seconds <= websub.max_lease.seconds:
        raise ConfigError("websub.lease", "must lie between websub.min_lease and websub.max_lease")
    for key in ("concurrency", "per_host", "max_subscriptions", "max_per_topic", "max_request"):
        if getattr(websub, key) < 1:
            raise ConfigError(f"websub.{key}", "must be at least 1")
    if websub.retries < 0:
        raise ConfigError("websub.retries", "must not be negative")
    _check_networks(websub.allowed_networks, "websub.allowed_networks")
    return websub


def _check_lang(tag: str, key: str) -> str:
    """``tag`` as a BCP 47 language tag in its canonical case, or a ConfigError."""
    try:
        return normalize_lang(tag)
    except ValueError as e:
        raise ConfigError(key, str(e)) from e


def check_url(url: str, key: str) -> None:
    """An absolute http(s) URL with a host, or a ConfigError naming ``key``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(key, f"must be an absolute http(s) URL, not {url!r}")
