"""What every source reader returns; kept apart so reader modules and the registry can both
import it without importing each other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from feedsvc.config import SourceConfig
from feedsvc.model import Problem, RawPost


@dataclass(frozen=True, slots=True)
class SourceResult:
    """The posts a source could read, and a Problem for each item it had to skip."""

    posts: tuple[RawPost, ...]
    problems: tuple[Problem, ...]


Reader = Callable[[SourceConfig], SourceResult]
