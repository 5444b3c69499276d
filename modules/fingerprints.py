"""Import fingerprints: an unchanged per-year file re-imported returns its outcome at once (issue 13).

A per-year import's outcome is a function of the file's bytes, the code that reads it, and the database content
it reads: the kind's stored rows (the diff), units, reference data and factors (parsing, lookups, warnings), and
for some kinds other kinds' rows (travellers checked against the headcount). After a per-year import that wrote
rows without any row error, `fingerprint_record` stores the file's digest, the code's digest, the rows read and
stored, the warnings, and the **state marks**: max(history_id) of every history table whose content the import
reads. History tables are append-only (`audit.chain`'s trigger refuses updates and deletes), every write of
those tables' models goes with a history row, so a mark only grows and any change moves it.

`fingerprint_lookup`: same kind, year, category, file digest, code digest, marks and stored row count now →
the recorded outcome (all rows unchanged, warnings replayed), nothing read from the file, nothing written.

Why the marks are exact (race safety). A plain max(history_id) is not ordered by commit: a transaction may take
id 100, another 101 and commit first, so max = 101 while 100's change is not visible yet and will not move the
max when it commits. So marks are read only while no writer of the table is in flight: under
`LOCK TABLE … IN SHARE MODE NOWAIT` (SHARE waits for nobody with NOWAIT, and conflicts with the writers'
ROW EXCLUSIVE), so every id up to the mark is committed and any later change gets a larger id. If a writer is in
flight, no fingerprint is recorded (the next import takes the normal path). Marks are read twice: before the
import reads anything (under locks released at once, by rolling back their savepoint) and at the end of its
write, in its transaction (locks kept until commit); a fingerprint is recorded only when they are equal, i.e.
nothing the import read changed while it ran. The kind's own table is the exception — the import itself writes
it: the per-year write takes `LOCK TABLE <entries> IN SHARE ROW EXCLUSIVE MODE` first (`entries_lock`), which
waits for every writer of the kind to commit and keeps new ones out until this transaction ends, and its mark
read right then must equal the mark from before; the mark recorded is the one after the import's own writes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.db import OperationalError, connection, models, transaction
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalChanges

from infra.csvio import RowWarning
from infra.importing import ImportOutcome, ImportRequest, access_refusal
from modules.base import EntrySource

__all__ = ["ImportFingerprint", "entries_lock", "file_digest", "fingerprint_lookup", "fingerprint_record"]


class ImportFingerprint(models.Model):
    """What a clean per-year import of a kind found, and the state it found it in. A cache of derived facts
    (no history): deleting rows only makes the next import take the normal path."""

    kind = models.CharField(_("kind"), max_length=64)
    year = models.PositiveSmallIntegerField(_("year"))
    category = models.CharField(_("category"), max_length=64, blank=True, default="")
    digest = models.CharField(_("file digest"), max_length=64)  # blake2b-256 of the file's bytes, hex
    rules = models.CharField(_("code digest"), max_length=32)  # the source of the code that reads files
    rows_read = models.PositiveIntegerField(_("rows read"))
    rows_stored = models.PositiveIntegerField(_("rows stored"))
    warnings = models.JSONField(_("warnings"), default=list)  # [[row, column, reason], …], replayed
    marks = models.JSONField(_("state marks"), default=dict)  # history table → max(history_id) (or None)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now=True)

    class Meta:
        verbose_name = _("import fingerprint")
        verbose_name_plural = _("import fingerprints")
        constraints = [models.UniqueConstraint(fields=["kind", "year", "category"], name="import_fingerprint_key")]

    def __str__(self) -> str:
        return f"{self.kind} {self.year} {self.category}".strip()


# Entry kinds whose rows a kind's validation reads besides its own: plane and train travellers are checked
# against the `member` headcount (decision 18: a warning). Not declared in the registry yet.
_ALSO_READS = {"plane": ("member",), "train": ("member",)}
# The packages whose code reads a file, parses and validates it and resolves its references: any change of
# their source (a release) makes every fingerprint stale, as a change of the parsing rules may change the diff.
_RULE_PACKAGES = ("infra", "units", "carbon", "factors", "modules")
_CHUNK = 1 << 20


# --- the file and the code -----------------------------------------------------------------------------------
def file_digest(source) -> str | None:
    """blake2b-256 of the bytes an import will read (`ImportRequest.source`: bytes, a path, or a binary file
    object, read in chunks from its position and put back there); None for a source that cannot be rewound."""
    digest = hashlib.blake2b(digest_size=32)
    if isinstance(source, (bytes, bytearray, memoryview)):
        digest.update(source)
    elif isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as handle:
            while block := handle.read(_CHUNK):
                digest.update(block)
    else:
        try:
            position = source.tell()
            while block := source.read(_CHUNK):
                digest.update(block)
            source.seek(position)
        except (AttributeError, OSError, ValueError):
            return None
    return digest.hexdigest()


_RULES: dict[str, str] = {}


def rules_digest(spec) -> str:
    """A digest of the source of the code that turns a file into rows (computed once per process and kind)."""
    if spec.name not in _RULES:
        files: set[Path] = set()
        for package in _RULE_PACKAGES:
            found = importlib.util.find_spec(package)
            for root in found.submodule_search_locations or ():
                files.update(Path(root).rglob("*.py"))
        for obj in (spec.parse_row, spec.validate_rows, spec.compute, spec.model):  # a kind outside those (tests)
            path = obj is not None and inspect.getsourcefile(obj)
            if path:
                files.add(Path(path))
        digest = hashlib.blake2b(digest_size=16)
        for path in sorted(files):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        _RULES[spec.name] = digest.hexdigest()
    return _RULES[spec.name]


# --- the state marks -----------------------------------------------------------------------------------------
_TABLES: dict[str, dict[str, str]] = {}


def _history_tables(spec) -> dict[str, str]:
    if spec.name not in _TABLES:
        _TABLES[spec.name] = _tracked(spec)
    return _TABLES[spec.name]


def _tracked(spec) -> dict[str, str]:
    """history table → its id column, for every table whose content a per-year import of `spec` reads: the kind's
    own rows, units, every reference-data and factor table (declared ones — `reference_models`, `factor_kinds` —
    and the rest of the factors app, which parsing reads undeclared: exchange rates), other kinds' rows it reads."""
    from factors.base import FACTOR_KINDS
    from modules.registry import KINDS
    from units.models import Unit

    tracked = [spec.model, Unit, *(apps.get_model(label) for label in spec.reference_models),
               *(FACTOR_KINDS[name].model for name in spec.factor_kinds),
               *(KINDS[name].model for name in _ALSO_READS.get(spec.name, ()) if name in KINDS)]
    histories = [m.history.model for m in tracked if hasattr(m, "history")]
    histories += [m for m in apps.get_app_config("factors").get_models() if issubclass(m, HistoricalChanges)]
    return {m._meta.db_table: m._meta.pk.column for m in histories}


def _own_table(spec) -> str:
    return spec.model.history.model._meta.db_table


def _read_marks(tables: dict[str, str]) -> dict[str, int | None]:
    quote = connection.ops.quote_name
    names = sorted(tables)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"(SELECT max({quote(tables[t])}) FROM {quote(t)})" for t in names))
        return dict(zip(names, cursor.fetchone(), strict=True))


class _Release(Exception):
    """Leave the savepoint of `_exact_marks(keep=False)`: rolling it back releases its locks."""


def _exact_marks(tables: dict[str, str], *, keep: bool) -> dict[str, int | None] | None:
    """The marks while no writer of these tables is in flight (see the module's docstring), or None when one
    is. `keep`: hold the locks to the end of the transaction (at the end of a write); else release them now."""
    quote = connection.ops.quote_name
    marks = None
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {', '.join(quote(t) for t in sorted(tables))} IN SHARE MODE NOWAIT")
            marks = _read_marks(tables)
            if not keep:
                raise _Release
    except _Release:
        pass
    except OperationalError:  # lock not available: a writer is in flight
        return None
    return marks


def _stored_rows(spec, year: int) -> int:
    return spec.model.objects.filter(module_report__report__year_id=year,
                                     source=EntrySource.CSV_MODULE_PER_YEAR).count()


def entries_lock(spec, request: ImportRequest) -> None:
    """At the start of a per-year write: no writer of the kind in flight and none until this transaction ends
    (SHARE ROW EXCLUSIVE conflicts with the ROW EXCLUSIVE of every INSERT/UPDATE/DELETE and with itself), so
    the diff, the stored count and the kind's mark are exact. Then whether the kind changed since the import
    began reading (its validation may read its rows: members' duplicates)."""
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {connection.ops.quote_name(spec.model._meta.db_table)} "
                       f"IN SHARE ROW EXCLUSIVE MODE")
    pending = _PENDING.get()
    if pending is not None and pending.request is request:
        own = _own_table(spec)
        pending.own_unchanged = _read_marks({own: pending.tables[own]})[own] == pending.before[own]


# --- lookup and record ---------------------------------------------------------------------------------------
@dataclass
class _Pending:
    """What `fingerprint_record` needs from before the import read anything."""

    request: ImportRequest
    digest: str
    rules: str
    tables: dict[str, str]
    before: dict[str, int | None]
    own_unchanged: bool = False  # set by `entries_lock`


_PENDING: ContextVar[_Pending | None] = ContextVar("import_fingerprint_pending", default=None)


@dataclass
class Lookup:
    outcome: ImportOutcome | None = None  # the recorded outcome: return it, the import is done
    pending: _Pending | None = None

    @contextmanager
    def recording(self):
        """Around the normal path: lets `fingerprint_record` record this import."""
        token = _PENDING.set(self.pending)
        try:
            yield
        finally:
            _PENDING.reset(token)


def fingerprint_lookup(spec, request: ImportRequest) -> Lookup:
    """The recorded outcome of this per-year file if nothing it depends on changed since; else what recording
    a fingerprint after the normal path needs (real runs only)."""
    from carbon.models import YearConfiguration

    if request.unit_cf is not None or request.year is None or access_refusal(request) is not None:
        return Lookup()
    digest = file_digest(request.source)
    if digest is None:
        return Lookup()
    rules, tables = rules_digest(spec), _history_tables(spec)
    found = (ImportFingerprint.objects.filter(kind=spec.name, year=request.year, category=request.category or "",
                                              digest=digest, rules=rules).first())
    # Marks read without locks: the recorded ones were exact, so any change committed since has a larger id.
    if (found is not None and found.marks == _read_marks(tables)
            and YearConfiguration.objects.filter(year=request.year, configuration_completed__isnull=False).exists()
            and _stored_rows(spec, request.year) == found.rows_stored):
        return Lookup(outcome=ImportOutcome(
            kind=spec.name, rows_read=found.rows_read, unchanged=found.rows_stored, dry_run=request.dry_run,
            diff=True, warnings=[RowWarning(row, column, reason) for row, column, reason in found.warnings]))
    if request.dry_run:
        return Lookup()
    before = _exact_marks(tables, keep=False)
    return Lookup(pending=None if before is None else _Pending(request, digest, rules, tables, before))


def fingerprint_record(spec, request: ImportRequest, outcome: ImportOutcome) -> None:
    """At the end of a per-year write, in its transaction: record the fingerprint when the import wrote without
    any row error and nothing it read changed while it ran (see the module's docstring)."""
    pending = _PENDING.get()
    kept = outcome.created + outcome.updated + outcome.unchanged
    if pending is None or pending.request is not request or not pending.own_unchanged or outcome.errors or not kept:
        return
    after = _exact_marks(pending.tables, keep=True)
    own = _own_table(spec)
    if after is None or any(after[t] != pending.before[t] for t in pending.tables if t != own):
        return
    if _stored_rows(spec, request.year) != kept:
        return
    ImportFingerprint.objects.update_or_create(
        kind=spec.name, year=request.year, category=request.category or "",
        defaults={"digest": pending.digest, "rules": pending.rules, "rows_read": outcome.rows_read,
                  "rows_stored": kept, "marks": after,
                  "warnings": [[w.row, w.column, w.reason] for w in outcome.warnings]})
