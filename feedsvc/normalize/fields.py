"""Typed access to a RawPost's front matter, with errors that point at the key's line."""

from __future__ import annotations

from typing import Any

from feedsvc.errors import PostError
from feedsvc.model import RawPost

# YAML 1.1 booleans (the loader keeps every scalar a string, so we read them here).
_TRUE = frozenset({"true", "yes", "on", "y", "1"})
_FALSE = frozenset({"false", "no", "off", "n", "0", ""})


def describe(value: Any) -> str:
    """How a user would name the shape of ``value`` in their front matter."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "empty"
    return f"{type(value).__name__} {value!r}"


class FrontMatter:
    """``raw.meta`` read key by key; every failure is a PostError at that key's line."""

    def __init__(self, raw: RawPost) -> None:
        self.raw = raw

    def line(self, key: str) -> int:
        return self.raw.meta_lines.get(key, self.raw.line)

    def error(self, key: str, message: str) -> PostError:
        return PostError(self.raw.path, self.line(key), message)

    def has(self, key: str) -> bool:
        return self.raw.meta.get(key) is not None

    def get(self, key: str) -> Any:
        return self.raw.meta.get(key)

    def string(self, key: str) -> str | None:
        """The value as a string, None when absent; numbers from JSON sources become text."""
        value = self.raw.meta.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.error(key, f"{key} must be text, not {describe(value)}")
        return str(value)

    def required_string(self, key: str) -> str:
        value = self.string(key)
        if value is None:
            raise self.error(key, f"{key} is required")
        return value

    def string_list(self, key: str) -> list[str]:
        """A list of strings; a single string counts as a list of one."""
        value = self.raw.meta.get(key)
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list | tuple):
            raise self.error(key, f"{key} must be a list of text, not {describe(value)}")
        for item in value:
            if not isinstance(item, str):
                raise self.error(key, f"each of {key} must be text, not {describe(item)}")
        return list(value)

    def boolean(self, key: str) -> bool:
        value = self.raw.meta.get(key)
        if value is None or isinstance(value, bool):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise self.error(key, f"{key} must be true or false, not {describe(value)}")
