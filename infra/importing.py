"""The registry of CSV import kinds shared by the command line, the admin and the lab uploads.

Each app registers its kinds (`units`, `users`, `factors:<kind>`, `<entry kind>` …) from its
AppConfig.ready(). An importer validates every row first and writes nothing when a row is bad,
unless the caller asks to skip invalid rows — then it says exactly which rows it skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from infra.csvio import CellError, ColumnSpec, RowError, RowWarning

__all__ = ["IMPORTERS", "ImportOutcome", "ImportRequest", "Importer", "collect_rows", "get_importer",
           "register"]


@dataclass(frozen=True)
class ImportRequest:
    source: Any  # path, bytes or binary file object
    year: int | None = None
    unit_cf: str | None = None
    dry_run: bool = False
    skip_invalid: bool = False
    # A per-year file with no data rows would replace the year's rows with nothing: refused unless
    # the caller says that clearing the kind for the year is what they want.
    allow_empty: bool = False
    actor: Any = None
    progress: Callable[[int], None] | None = None  # called with the number of rows read so far
    # In a pipeline, recalculations and statistics are separate jobs: the importer reports what
    # they must cover (outcome.recalculate, outcome.module_reports) instead of doing them inline.
    defer_followups: bool = False


@dataclass
class ImportOutcome:
    kind: str
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)
    skipped_rows: list[int] = field(default_factory=list)
    dry_run: bool = False
    recalculate: list[str] = field(default_factory=list)  # entry kinds to recompute (deferred)
    module_reports: list[int] = field(default_factory=list)  # statistics to refresh (deferred)

    @property
    def written(self) -> bool:
        return not self.dry_run and (not self.errors or bool(self.skipped_rows))

    def summary(self) -> str:
        verb = "would create" if self.dry_run else "created"
        text = (f"{self.kind}: {self.rows_read} rows read, {verb} {self.created}, updated {self.updated}, "
                f"deleted {self.deleted}, unchanged {self.unchanged}")
        if self.skipped_rows:
            text += f", skipped {len(self.skipped_rows)} invalid rows ({_ranges(self.skipped_rows)})"
        if self.errors:
            text += f"; {len(self.errors)} errors"
        if self.warnings:
            text += f"; {len(self.warnings)} warnings"
        return text



class Importer(Protocol):
    name: str
    needs_year: bool
    accepts_unit: bool

    def run(self, request: ImportRequest) -> ImportOutcome: ...


IMPORTERS: dict[str, Importer] = {}


def register(importer: Importer) -> Importer:
    if importer.name in IMPORTERS:
        raise ValueError(f"import kind {importer.name!r} registered twice")
    IMPORTERS[importer.name] = importer
    return importer


def get_importer(kind: str) -> Importer:
    try:
        return IMPORTERS[kind]
    except KeyError:
        known = ", ".join(sorted(IMPORTERS))
        raise KeyError(f"unknown import kind '{kind}' (known: {known})") from None


def collect_rows(rows, outcome: ImportOutcome, parse_row: Callable, columns: list[ColumnSpec]) -> list:
    """Parse every row of a reader, recording each bad one (row, column, reason) instead of stopping at
    the first: the reader's own row errors, empty required cells, and the parser's `CellError`s.
    Returns what `parse_row(row)` returned for the good rows; adds the reader's warnings to the outcome."""
    required = [c.name for c in columns if c.required]
    parsed = []
    for row in rows:
        outcome.rows_read += 1
        if row.error:
            outcome.errors.append(row.error)
            continue
        empty = [name for name in required if not row.values.get(name)]
        if empty:
            outcome.errors.extend(RowError(row.number, name, "a value is required") for name in empty)
            continue
        try:
            parsed.append(parse_row(row))
        except CellError as exc:
            outcome.errors.append(RowError(row.number, exc.column, exc.reason))
    outcome.warnings.extend(getattr(rows, "warnings", []))
    return parsed


def _ranges(numbers: list[int]) -> str:
    numbers = sorted(numbers)
    parts, start, prev = [], numbers[0], numbers[0]
    for n in numbers[1:] + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(parts)
