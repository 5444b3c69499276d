"""The registry of CSV import kinds shared by the command line, the admin and the lab uploads.

Each app registers its kinds (`units`, `users`, `factors:<kind>`, `<entry kind>` …) from its
AppConfig.ready(). An importer validates every row first and writes nothing when a row is bad,
unless the caller asks to skip invalid rows — then it says exactly which rows it skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import transaction

from infra.csvio import CellError, ColumnSpec, CsvFileError, RowError, RowWarning

__all__ = ["IMPORTERS", "TEMPLATE_SENTENCES", "BaseImporter", "ImportOutcome", "ImportRequest", "Importer",
           "access_refusal", "collect_rows", "get_importer", "register", "set_access_policy", "template_row_reason"]


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
    # What the upload target says and the file does not: the category (submodule) of a kind that holds several
    # (a purchase file uploaded as "services"). The reference takes it from where a file is uploaded, so its
    # per-category templates carry no such column. Fills the kind's category cells left empty.
    category: str | None = None


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
    # A diff against stored rows (a per-year file of entries): created/updated/deleted are the rows added,
    # changed and removed, and the summary says so in those words.
    diff: bool = False

    @property
    def failed(self) -> bool:
        """Refused as a whole: nothing was (or, in a dry run, would be) written."""
        return any(e.row is None for e in self.errors) or (bool(self.errors) and not self.skipped_rows)

    @property
    def written(self) -> bool:
        return not self.dry_run and not self.failed

    def summary(self) -> str:
        if self.diff:
            verb = "would add" if self.dry_run else "added"
            text = (f"{self.kind}: {self.rows_read} rows read, {verb} {self.created}, changed {self.updated}, "
                    f"removed {self.deleted}, unchanged {self.unchanged}")
        else:
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


class BaseImporter:
    """The one flow of every import kind: access → validate → (dry run | skip invalid) → atomic write.

    Subclasses say how to read and check a file (`validate`, which records every row error on the outcome
    and returns what `write` needs) and how to write it (`write`, run inside one transaction, so a failure
    leaves the database as it was). The rules "a file with any error writes nothing unless the caller skips
    invalid rows" and "a file-level error (row None) is always fatal" live here and nowhere else; callers
    (command line, worker, upload pages) only read the outcome (`failed`, `written`, `summary()`).
    """

    name: str
    needs_year = False
    accepts_unit = False

    def run(self, request: ImportRequest) -> ImportOutcome:
        outcome = ImportOutcome(kind=self.name, dry_run=request.dry_run)
        if (refusal := access_refusal(request)) is not None:
            outcome.errors.append(RowError(None, None, refusal))
            return outcome
        if self.single_pass and not request.dry_run and not request.skip_invalid:
            return self._run_single_pass(request, outcome)
        try:
            plan = self.validate(request, outcome)
        except CsvFileError as exc:
            outcome.errors.extend(exc.errors)
            return outcome
        if any(e.row is None for e in outcome.errors) or (outcome.errors and not request.skip_invalid):
            return outcome
        outcome.skipped_rows = sorted({e.row for e in outcome.errors})
        if request.dry_run:
            self.preview(request, plan, outcome)
            return outcome
        with transaction.atomic():
            self.write(request, plan, outcome)
        self.after_write(request, plan, outcome)
        return outcome

    def _run_single_pass(self, request: ImportRequest, outcome: ImportOutcome) -> ImportOutcome:
        """Validate and write in one reading (`validate_and_write`), in one transaction rolled back at the end
        if any row was bad: the same rule (any error → nothing written), without reading the file twice."""
        try:
            with transaction.atomic():
                self.validate_and_write(request, outcome)
                if outcome.errors:
                    raise _Refused
        except _Refused:
            pass
        except CsvFileError as exc:
            outcome.errors.extend(exc.errors)
        if outcome.errors:  # rolled back: what the counts said was written was not
            outcome.created = outcome.updated = outcome.deleted = outcome.unchanged = 0
            outcome.module_reports, outcome.recalculate = [], []
            return outcome
        self.after_write(request, None, outcome)
        return outcome

    def validate(self, request: ImportRequest, outcome: ImportOutcome) -> Any:
        raise NotImplementedError

    # An importer that can check and write a file in one reading sets this and gives `validate_and_write`;
    # it is used for real runs that stop at the first bad row (not dry runs, not "skip invalid rows").
    single_pass = False

    def validate_and_write(self, request: ImportRequest, outcome: ImportOutcome) -> None:
        raise NotImplementedError

    def preview(self, request: ImportRequest, plan: Any, outcome: ImportOutcome) -> None:
        """A dry run: say what a real run would do (counts) without writing."""

    def write(self, request: ImportRequest, plan: Any, outcome: ImportOutcome) -> None:
        raise NotImplementedError

    def after_write(self, request: ImportRequest, plan: Any, outcome: ImportOutcome) -> None:
        """Follow-ups once the data is committed (recalculations, warnings)."""


class _Refused(Exception):
    """A single-pass import found a bad row: leave its transaction (rolled back)."""


# Who may import what is decided by the scoping function (units), which registers it here at start-up:
# (actor, unit cf of a unit file or None) → the reason of a refusal, or None. infra imports no app.
_ACCESS_POLICY: Callable[[Any, str | None], str | None] | None = None


def set_access_policy(policy: Callable[[Any, str | None], str | None]) -> None:
    global _ACCESS_POLICY
    _ACCESS_POLICY = policy


def access_refusal(request: ImportRequest) -> str | None:
    return None if _ACCESS_POLICY is None else _ACCESS_POLICY(request.actor, request.unit_cf)


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


# Sentences the reference's templates ship as a first data row (folded: lower case, punctuation as a space).
TEMPLATE_SENTENCES = (
    "the station name must be entered in the station s local language",
)
_SHORTEST_SENTENCE = min(len(sentence) for sentence in TEMPLATE_SENTENCES)


def template_row_reason(values: Mapping[str, str], *, header: Sequence[str], measured: Sequence[str],
                        required: Sequence[str]) -> str | None:
    """Why a file's row is a template's scaffold rather than data (skipped with a warning), or None.

    One rule for every kind, so that the reference's templates import as they are:
    - an instruction line: a known template sentence (`TEMPLATE_SENTENCES`);
    - a template row: the kind's measured values (`measured`, the amounts) all empty while other cells,
      its labels, are filled (a gas, a provider listed for the user to fill in);
    - an instruction line: only the file's first cell filled while the row misses a required value (a
      complete one-column row, e.g. a student file's FTE, is data).
    A row entered by hand or sent to the API is one row, never a template: this is for files only.
    """
    filled = [name for name in header if values.get(name)]
    if not filled:
        return None
    # Folding never lengthens a text: only cells as long as the shortest sentence can be one (cheap filter).
    if any(len(values[name]) >= _SHORTEST_SENTENCE and _fold(values[name]).startswith(TEMPLATE_SENTENCES)
           for name in filled):
        return "an instruction line of the template, not data"
    if measured and not any(values.get(name) for name in measured):
        named = [name for name in measured if name in header] or list(measured)
        return f"a template row: no {', '.join(named)} (fill it in to import the row)"
    if filled == [header[0]] and any(not values.get(name) for name in required):
        return "an instruction line of the template (only the first cell is filled), not data"
    return None


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", text.lower()).split())


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
