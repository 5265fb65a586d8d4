"""The JSON Feed 1.1 schema, vendored from ../shared/schemas (ISC licence, beside it), so
every run validates JSON output whether or not ../shared is present."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_PATH = Path(__file__).parent / "data" / "schemas" / "jsonfeed-v1.1.schema.json"
JSONFEED_SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate_jsonfeed(document: Any) -> None:
    """Raise jsonschema.ValidationError unless ``document`` is a valid JSON Feed 1.1."""
    jsonschema.validate(document, JSONFEED_SCHEMA)
