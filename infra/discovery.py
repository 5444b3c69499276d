"""Finds kind sub-packages and modules, so adding a module or a factor kind never edits a central list."""

from __future__ import annotations

import pkgutil
from importlib import import_module
from importlib.util import find_spec
from types import ModuleType


def submodules(package: str, leaf: str) -> list[ModuleType]:
    """Import `<package>.<sub>.<leaf>` for every sub-package that has such a module, in name order."""
    found = []
    base = import_module(package)
    for info in sorted(pkgutil.iter_modules(base.__path__), key=lambda i: i.name):
        if info.ispkg and find_spec(f"{package}.{info.name}.{leaf}") is not None:
            found.append(import_module(f"{package}.{info.name}.{leaf}"))
    return found


def plain_modules(package: str) -> list[ModuleType]:
    """Import every plain module of a package (not sub-packages), in name order."""
    base = import_module(package)
    return [import_module(f"{package}.{info.name}")
            for info in sorted(pkgutil.iter_modules(base.__path__), key=lambda i: i.name) if not info.ispkg]
