"""The package's layering, checked by scanning imports so that it cannot quietly regress.

``sources/`` and ``aggregate/`` both read the network through ``remote/`` and import nothing
from each other; ``remote/`` is below both; the config schema and the language rule are below
all of them (docs/architecture.md).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "feedsvc"

# (importing package, imported package): imports that must not exist, in either spelling.
FORBIDDEN = (
    ("feedsvc.sources", "feedsvc.aggregate"),
    ("feedsvc.aggregate", "feedsvc.sources"),
    ("feedsvc.remote", "feedsvc.sources"),
    ("feedsvc.remote", "feedsvc.aggregate"),
    # The schema and the language rule are below everything that reads them; loading the
    # config file (configfile.py) is above the source types whose rules it applies.
    ("feedsvc.config", "feedsvc.configfile"),
    ("feedsvc.config", "feedsvc.sources"),
    ("feedsvc.config", "feedsvc.normalize"),
    ("feedsvc.lang", "feedsvc.config"),
    ("feedsvc.lang", "feedsvc.normalize"),
    ("feedsvc.sources", "feedsvc.configfile"),
    ("feedsvc.normalize", "feedsvc.configfile"),
)


def imported_modules(source: str, module: str, is_package: bool) -> set[str]:
    """Every module ``source`` imports, anywhere in it (lazy and TYPE_CHECKING imports too),
    with relative imports resolved against ``module``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".")
                base_parts = parts if is_package else parts[:-1]
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, node.module] if node.module else base_parts)
            else:
                base = node.module or ""
            found.add(base)
            # `from feedsvc import aggregate` imports the subpackage itself.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def module_name(path: Path) -> tuple[str, bool]:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = relative.parts
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def violations() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module, is_package = module_name(path)
        imports = imported_modules(path.read_text(encoding="utf-8"), module, is_package)
        for importer, imported in FORBIDDEN:
            if within(module, importer):
                out += [
                    f"{path}: {module} imports {name}"
                    for name in sorted(imports)
                    if within(name, imported)
                ]
    return out


def test_sources_aggregate_and_remote_keep_their_layers() -> None:
    assert violations() == []


def test_every_layer_named_exists() -> None:
    for importer, imported in FORBIDDEN:
        for package in (importer, imported):
            path = PACKAGE.parent / package.replace(".", "/")
            assert (path / "__init__.py").is_file() or path.with_suffix(".py").is_file(), package


@pytest.mark.parametrize(
    ("source", "module", "is_package", "expected"),
    [
        (
            "from feedsvc.aggregate.fetch import Fetcher",
            "feedsvc.sources.x",
            False,
            "feedsvc.aggregate.fetch",
        ),
        ("import feedsvc.aggregate.parse", "feedsvc.sources.x", False, "feedsvc.aggregate.parse"),
        (
            "from ..aggregate import service",
            "feedsvc.sources.x",
            False,
            "feedsvc.aggregate.service",
        ),
        ("from ..aggregate import service", "feedsvc.sources", True, "feedsvc.aggregate.service"),
        (
            "def f():\n    from feedsvc.sources import folder\n",
            "feedsvc.aggregate.y",
            False,
            "feedsvc.sources.folder",
        ),
        ("from feedsvc import sources", "feedsvc.aggregate.y", False, "feedsvc.sources"),
    ],
)
def test_the_scan_sees_every_spelling_of_an_import(
    source: str, module: str, is_package: bool, expected: str
) -> None:
    assert expected in imported_modules(source, module, is_package)
