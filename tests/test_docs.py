"""Docs that tests keep honest: every config key and every /status key is documented, and the
shipped config loads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from feedsvc.config import schema_keys
from feedsvc.configfile import load_config
from feedsvc.sources import SOURCE_TYPES
from feedsvc.status import status_keys

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DOC = ROOT / "docs" / "config.md"
URLS_DOC = ROOT / "docs" / "urls.md"


@pytest.fixture(scope="module")
def config_doc() -> str:
    return CONFIG_DOC.read_text(encoding="utf-8")


def test_every_config_key_is_documented(config_doc: str) -> None:
    missing = [key for key in schema_keys() if f"`{key}`" not in config_doc]
    assert not missing, f"keys without an entry in {CONFIG_DOC.name}: {', '.join(missing)}"


def test_every_source_type_is_documented(config_doc: str) -> None:
    missing = [name for name in SOURCE_TYPES if f"| `{name}` |" not in config_doc]
    assert not missing, f"source types missing from {CONFIG_DOC.name}: {', '.join(missing)}"


def test_every_status_key_is_documented() -> None:
    text = URLS_DOC.read_text(encoding="utf-8")
    section = text.split("\n## `/status`\n", 1)[1].split("\n## ", 1)[0]
    missing = sorted(key for key in status_keys() if f"`{key}`" not in section)
    assert not missing, f"/status keys without an entry in {URLS_DOC.name}: {', '.join(missing)}"


def test_top_level_feeds_toml_loads() -> None:
    config = load_config(ROOT / "feeds.toml")
    assert config.sources, "the shipped feeds.toml must configure at least one source"
    for source in config.sources:
        assert Path(source.path).is_dir()


# A comment citing the docs names the file and the section or term in quotes, on one line:
# docs/architecture.md "Determinism". The cited text must be written there.
CITATION = re.compile(r'\b((?:docs/[a-z]+|README)\.md) "([^"\n]+)"')


def doc_citations() -> list[tuple[Path, int, str, str]]:
    found = []
    for folder in ("feedsvc", "tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                found += [(path, number, doc, text) for doc, text in CITATION.findall(line)]
    return found


def test_every_doc_citation_names_text_the_doc_has() -> None:
    citations = doc_citations()
    assert len(citations) > 50  # the scan finds the citations at all
    missing = [
        f"{path.relative_to(ROOT)}:{number}: {doc} has no {text!r}"
        for path, number, doc, text in citations
        if text not in (ROOT / doc).read_text(encoding="utf-8")
    ]
    assert not missing, "\n".join(missing)


def test_no_comment_cites_the_spec_file_outside_the_repository() -> None:
    cited = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("feedsvc", "tests", "bench", "docs")
        for path in sorted((ROOT / folder).rglob("*.*"))
        if path.suffix in (".py", ".md")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "SPEC \u00a7" in line
    ]
    assert not cited, f"cite docs/ instead: {', '.join(cited)}"


def test_architecture_names_every_module() -> None:
    """docs/architecture.md's table names each module in its package's row (``x.py`` at the
    top level has a row of its own), so a new module cannot arrive undocumented."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = {
        match[1]: match[0] for match in re.finditer(r"^\| `([a-z_]+(?:\.py|/))` \|.*$", text, re.M)
    }
    package = ROOT / "feedsvc"
    modules = sorted(p.relative_to(package) for p in package.rglob("*.py"))
    assert len(modules) > 50 and len(rows) > 15
    missing = []
    for module in modules:
        if module == Path("__init__.py"):
            continue  # the package's version, nothing more
        if len(module.parts) == 1:
            named = module.name in rows
        else:
            row = rows.get(module.parts[0] + "/", "")
            inner = "/".join(module.parts[1:])
            named = bool(row) and (
                module.name == "__init__.py" or f"`{inner}`" in row or f"`{module.name}`" in row
            )
        if not named:
            missing.append(str(module))
    assert not missing, f"modules docs/architecture.md does not name: {', '.join(missing)}"
