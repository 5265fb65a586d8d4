"""Reading feeds.toml: TOML → one checked ``Config``, before anything runs.

``load_config`` rejects unknown sections and keys, wrong types and missing required keys, and
applies the rules across keys, with a ConfigError naming the one full key path, e.g.
``sources[1].path: no such folder``. Each value is read once, here (durations, languages,
paths); the schema itself is config.py, and each source type's keys and rules are its entry
in ``feedsvc.sources.SOURCE_TYPES``.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feedsvc.config import (
    BUILTIN_HUB,
    FORMATS,
    SECTIONS,
    AggregatorConfig,
    Config,
    Duration,
    Network,
    SiteConfig,
    SourceConfig,
    WebsubConfig,
    check_env_name,
    check_url,
    is_postgres_url,
)
from feedsvc.errors import ConfigError
from feedsvc.lang import normalize_lang
from feedsvc.normalize.language import detector_label
from feedsvc.sources import SOURCE_TYPES

REQUIRED: Any = dataclasses.MISSING


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
    base_dir = path.resolve().parent
    try:
        # The file as written first: a bad server.port is an error for `serve --port` too,
        # as for `check` (a flag hides a value, it does not excuse it).
        config = parse_config(raw, base_dir=base_dir, file=str(path))
        if not overrides:
            return config
        for dotted, value in overrides.items():
            section, key = dotted.split(".", 1)
            raw.setdefault(section, {})[key] = value
        return parse_config(raw, base_dir=base_dir, file=str(path))
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
    if hint is datetime.date:
        return _date(value, key)
    if hint is ZoneInfo:
        if not isinstance(value, str):
            raise ConfigError(key, f"must be a string, not {_toml_type(value)}")
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as e:
            # OSError: a folder of the zone database ("America") is no zone.
            raise ConfigError(key, f"unknown time zone {value!r}") from e
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
        if hint == tuple[Network, ...]:
            return tuple(_network(text, key) for text in value)
        return tuple(value)
    if hint is float:
        # TOML 1.0 keeps 1 and 1.0 apart; a whole number where a fraction is meant is fine.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(key, f"must be a number, not {_toml_type(value)}")
        return float(value)
    # bool is an int in Python; TOML keeps them apart, so do we.
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(key, f"must be an integer, not {_toml_type(value)}")
    if hint in (str, bool) and not isinstance(value, hint):
        raise ConfigError(key, f"must be a {_toml_type_name(hint)}, not {_toml_type(value)}")
    return value


# RFC 3339 §5.6 full-date, which TOML's local dates are too (TOML 1.0 §"Local Date").
_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date(value: Any, key: str) -> datetime.date:
    """A TOML local date (1970-01-01) or the same as a string."""
    if type(value) is datetime.date:
        return value
    if isinstance(value, str) and _FULL_DATE.match(value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(key, f"must be a date like 1970-01-01, not {_toml_type(value)}")


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
    if feeds.entries < 1:
        raise ConfigError("feeds.entries", "must be at least 1")
    for key in ("max_age", "stale_while_revalidate", "stale_if_error"):
        if getattr(feeds, key) < 0:
            raise ConfigError(f"feeds.{key}", "must not be negative")
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
    if server.webhook_token_env:
        check_env_name(server.webhook_token_env, "server.webhook_token_env", "token")
    if server.metrics_token_env:
        check_env_name(server.metrics_token_env, "server.metrics_token_env", "token")
        if not server.metrics:
            raise ConfigError("server.metrics_token_env", "set server.metrics = true to use it")

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

    for key in ("max_file_size", "max_front_matter", "max_title", "max_categories", "max_tags"):
        if getattr(config.posts, key) < 1:
            raise ConfigError(f"posts.{key}", "must be at least 1")
    aggregator = _check_aggregator(config.aggregator)
    if not is_postgres_url(aggregator.store):
        store = str((base_dir / aggregator.store).resolve())
        aggregator = dataclasses.replace(aggregator, store=store)
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
    if not is_postgres_url(websub.store):
        websub = dataclasses.replace(websub, store=str((base_dir / websub.store).resolve()))
    # Stored in canonical case ("en_US" → "en-US"), so feeds compare it with posts' tags.
    site = _check_detection(
        dataclasses.replace(site, language=_check_lang(site.language, "site.language"))
    )
    if server.cache_dir:
        server = dataclasses.replace(server, cache_dir=str((base_dir / server.cache_dir).resolve()))
    return dataclasses.replace(
        config,
        site=site,
        sources=tuple(sources),
        aggregator=aggregator,
        partners=tuple(partners),
        websub=websub,
        server=server,
    )


# Keys only some source types read; the others' entries leave them out, and setting one
# is an error, so that a misplaced key is never silently ignored.
_TYPED_SOURCE_KEYS = ("path", "url", "username", "password_env")


def _check_source(src: SourceConfig, where: str, base_dir: Path) -> SourceConfig:
    """The rules every source type shares, then its own (its registry entry's ``check``);
    relative paths become absolute."""
    source_type = SOURCE_TYPES[src.type]
    for key in _TYPED_SOURCE_KEYS:
        if getattr(src, key) and key not in source_type.keys:
            raise ConfigError(f"{where}.{key}", f"not used by a {src.type} source")
    if src.watch != "auto" and ("path" not in source_type.keys or src.url):
        raise ConfigError(
            f"{where}.watch", "only sources read from files are watched (folder, or a path)"
        )
    if src.lang:
        src = dataclasses.replace(src, lang=_check_lang(src.lang, f"{where}.lang"))
    source_type.check(src, where)
    if not src.path:
        return src
    path = (base_dir / src.path).resolve()
    if source_type.path_kind == "folder" and not path.is_dir():
        raise ConfigError(f"{where}.path", f"no such folder: {path}")
    if source_type.path_kind == "file" and not path.is_file():
        raise ConfigError(f"{where}.path", f"no such file: {path}")
    return dataclasses.replace(src, path=str(path))


def _check_aggregator(aggregator: AggregatorConfig) -> AggregatorConfig:
    for key in ("retention", "max_body", "per_host"):
        if getattr(aggregator, key) < 1:
            raise ConfigError(f"aggregator.{key}", "must be at least 1")
    if not 0 <= aggregator.parse_workers <= 8:
        raise ConfigError("aggregator.parse_workers", "must be between 0 and 8")
    if aggregator.lease.seconds <= 2 * aggregator.timeout.seconds:
        raise ConfigError(
            "aggregator.lease",
            "must be longer than twice aggregator.timeout (a fetch, then its parse), "
            "or a replica's fetch could outlive its lease",
        )
    _check_store(aggregator.store, "aggregator.store")
    return aggregator


def _check_store(url: str, key: str) -> None:
    """A SQLite path, or a PostgreSQL URL without a password."""
    if not is_postgres_url(url):
        return
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as e:
        raise ConfigError(key, f"not a PostgreSQL URL: {e}") from e
    if parts.password is not None:
        # The config is printed and logged; a password belongs in PGPASSWORD or ~/.pgpass,
        # which libpq reads (https://www.postgresql.org/docs/current/libpq-envars.html).
        raise ConfigError(
            key,
            "must not hold a password: set PGPASSWORD or use a password file (~/.pgpass)",
        )


def _network(text: str, key: str) -> Network:
    """A CIDR block, or one address as its /32 (/128); host bits are ignored."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError as e:
        raise ConfigError(
            key, f"{text!r} is not an IP network like '10.1.2.0/24' or '127.0.0.1'"
        ) from e


def _check_websub(websub: WebsubConfig) -> WebsubConfig:
    for i, hub in enumerate(websub.hubs):
        if hub != BUILTIN_HUB:
            check_url(hub, f"websub.hubs[{i}]")
        if hub in websub.hubs[:i]:
            raise ConfigError(f"websub.hubs[{i}]", f"{hub!r} is listed twice")
    _check_store(websub.store, "websub.store")
    # Never perpetual (W3C WebSub §5.1.1 lets the hub choose): the bounds must hold the default.
    if not websub.min_lease.seconds <= websub.lease.seconds <= websub.max_lease.seconds:
        raise ConfigError("websub.lease", "must lie between websub.min_lease and websub.max_lease")
    for key in ("concurrency", "per_host", "max_subscriptions", "max_per_topic", "max_request"):
        if getattr(websub, key) < 1:
            raise ConfigError(f"websub.{key}", "must be at least 1")
    if websub.retries < 0:
        raise ConfigError("websub.retries", "must not be negative")
    return websub


def _check_detection(site: SiteConfig) -> SiteConfig:
    """site.detect_*: a probability, and candidates the detector knows, each its own language."""
    if not 0 < site.detect_confidence <= 1:
        raise ConfigError("site.detect_confidence", "must be more than 0 and at most 1")
    candidates = tuple(
        _check_lang(tag, f"site.detect_languages[{i}]")
        for i, tag in enumerate(site.detect_languages)
    )
    by_label: dict[str, str] = {}
    for i, tag in enumerate(candidates):
        key = f"site.detect_languages[{i}]"
        try:
            label = detector_label(tag)
        except ValueError as e:
            raise ConfigError(key, str(e)) from e
        twin = by_label.setdefault(label, tag)
        if twin != tag:
            raise ConfigError(key, f"{tag!r} cannot be told apart from {twin!r} by its text")
    return dataclasses.replace(site, detect_languages=candidates)


def _check_lang(tag: str, key: str) -> str:
    """``tag`` as a BCP 47 language tag in its canonical case, or a ConfigError."""
    try:
        return normalize_lang(tag)
    except ValueError as e:
        raise ConfigError(key, str(e)) from e
