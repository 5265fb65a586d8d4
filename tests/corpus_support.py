"""feedparser's own test corpus, vendored in tests/data/feedparser-corpus (BSD licence, its
LICENSE beside it; SOURCE_COMMIT names the feedparser commit it came from), so every run
reads all ~2,100 documents whether or not anything lives beside the repository."""

from __future__ import annotations

import re
from pathlib import Path

CORPUS = Path(__file__).parent / "data" / "feedparser-corpus" / "tests"

# feedparser's tests give a document's HTTP headers in its leading comment ("Header: ...").
_HEADER_LINE = re.compile(rb"^Header:\s*([A-Za-z-]+):\s*(.*?)\s*$", re.MULTILINE)


def corpus_files(*folders: str) -> list[Path]:
    """Every document under the given corpus folders, sorted; an error if one is missing."""
    for folder in folders:
        if not (CORPUS / folder).is_dir():
            raise FileNotFoundError(f"{CORPUS / folder}: the vendored corpus is incomplete")
    return sorted(
        path for folder in folders for path in (CORPUS / folder).rglob("*") if path.is_file()
    )


def corpus_headers(body: bytes) -> dict[str, str]:
    """The HTTP headers a corpus document declares in its leading comment."""
    return {
        name.decode("ascii"): value.decode("latin-1")
        for name, value in _HEADER_LINE.findall(body[:4096])
    }
