"""Docs that tests keep honest: every config key is documented, and the shipped config loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedsvc.config import SOURCE_TYPES, load_config, schema_keys

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DOC = ROOT / "docs" / "config.md"


@pytest.fixture(scope="module")
def config_doc() -> str:
    return CONFIG_DOC.read_text(encoding="utf-8")


def test_every_config_key_is_documented(config_doc: str) -> None:
    missing = [key for key in schema_keys() if f"`{key}`" not in config_doc]
    assert not missing, f"keys without an entry in {CONFIG_DOC.name}: {', '.join(missing)}"


def test_every_source_type_is_documented(config_doc: str) -> None:
    missing = [name for name in SOURCE_TYPES if f"| `{name}` |" not in config_doc]
    assert not missing, f"source types missing from {CONFIG_DOC.name}: {', '.join(missing)}"


def test_top_level_feeds_toml_loads() -> None:
    config = load_config(ROOT / "feeds.toml")
    assert config.sources, "the shipped feeds.toml must configure at least one source"
    for source in config.sources:
        assert Path(source.path).is_dir()
