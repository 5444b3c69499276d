"""CSV import of entries, shared by the command line, the admin and the lab upload.

Per-year files (a `unit_institutional_id` column) replace the previous per-year-file rows of that
kind and year for all units — by a diff: rows found again (same content) keep their ids and are not written,
only added, changed and removed rows are; unit files (`--unit CF`) append. Every row is validated before anything
is written; with any error nothing is written unless the caller asked to skip invalid rows.
Writes go through COPY (entries, their history, their emissions) in one transaction.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models
from django.db.models import Model
from django.db.models.base import ModelState
from django.utils import timezone

from carbon.models import CarbonReport, ModuleReport, YearConfiguration
from carbon.services import year_create_reports
from infra.bulk import (
    IdPool,
    background_writes,
    copy_insert,
    delete_ids,
    foreign_keys_checked_per_statement,
    history_from_ids,
)
from infra.csvio import CellError, ColumnSpec, CsvFileError, RowError, RowWarning, read_csv
from infra.importing import BaseImporter, ImportOutcome, ImportRequest, register, template_row_reason
from modules.base import EntrySource
from modules.engine import (
    CHUNK,
    dependants_recompute,
    emissions_delete,
    entries_recompute,
    module_reports_touched,
    stats_refresh,
)
from modules.fingerprints import entries_lock, fingerprint_lookup, fingerprint_record
from modules.registry import ComputeContext, EntryKindSpec, RowContext
from modules.rows import OVERRIDE_COLUMN, row_values, rows_check
from units.models import Unit

__all__ = ["EntryImporter", "category_refusal", "register_entry_importer", "with_category"]

UNIT_COLUMN = "unit_institutional_id"
# Above this size a file is validated in a first streaming pass and written in a second one.
STREAM_THRESHOLD_BYTES = int(os.environ.get("IMPORT_STREAM_THRESHOLD_BYTES", 20 * 1024 * 1024))
NO_DATA_ROWS = ("no data rows: nothing imported, the year's rows are unchanged "
                "(to clear this kind for the year on purpose, import the empty file with --allow-empty)")


@dataclass
class _Plan:
    """What validation learnt, for the write: the rows kept in memory (small files) or how to read again."""

    per_year: bool
    columns: list[ColumnSpec] = field(default_factory=list)
    parser: _RowParser | None = None
    two_pass: bool = False
    kept: list[tuple[int, Unit, dict]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)  # row numbers that parsed (ints: cheap for huge files)


class EntryImporter(BaseImporter):
    needs_year = True
    accepts_unit = True
    single_pass = True

    def __init__(self, spec: EntryKindSpec):
        self.spec = spec
        self.name = spec.name
        self.categories = spec.categories  # what an upload may name as its category (submodule)

    def run(self, request: ImportRequest) -> ImportOutcome:
        # A per-year file imported before, unchanged, and nothing it reads changed since: its recorded outcome,
        # nothing read or written (modules.fingerprints). Else the normal path, which may record one.
        found = fingerprint_lookup(self.spec, request)
        if found.outcome is not None:
            return found.outcome
        with found.recording():
            return super().run(request)

    # --- validation ------------------------------------------------------------------------
    def validate(self, request: ImportRequest, outcome: ImportOutcome) -> _Plan | None:
        started = self._start(request, outcome)
        if started is None:
            return None
        plan, reader, ctx = started
        for chunk in plan.parser.chunks(reader, ctx, outcome, request, size=CHUNK if plan.two_pass else None):
            plan.numbers.extend(n for n, _, _ in chunk)
            if not plan.two_pass:
                plan.kept.extend(chunk)
        self._finish_reading(plan, reader, ctx, request, outcome)
        return plan

    def validate_and_write(self, request: ImportRequest, outcome: ImportOutcome) -> None:
        """One reading of the file: each validated chunk is written at once (inside the caller's transaction,
        which rolls back if any row turns out bad), so parsing overlaps the database's work and a large file
        is read once, chunk by chunk, in bounded memory. After the first error the file is only read on, to
        report every error."""
        started = self._start(request, outcome)
        if started is None:
            return
        plan, reader, ctx = started

        def chunks():
            for chunk in plan.parser.chunks(reader, ctx, outcome, request, size=CHUNK):
                plan.numbers.extend(n for n, _, _ in chunk)
                yield [] if outcome.errors else chunk
            self._finish_reading(plan, reader, ctx, request, outcome)

        self._write(request, chunks(), outcome, plan.per_year, single_pass=True)

    def _start(self, request: ImportRequest, outcome: ImportOutcome):
        """File-level checks, then (plan, reader, row context) ready to read the rows; None on a refusal."""
        spec = self.spec
        per_year = request.unit_cf is None
        config = YearConfiguration.objects.filter(year=request.year).first()
        if config is None or config.configuration_completed is None:
            outcome.errors.append(RowError(None, None, f"year {request.year} is not created yet "
                                                       f"(run create_year {request.year} first)"))
            return None
        if (refusal := category_refusal(spec, request.category)) is not None:
            outcome.errors.append(RowError(None, spec.category_column, refusal))
            return None
        unit_file_unit = None
        if not per_year:
            unit_file_unit = Unit.objects.filter(institutional_id=request.unit_cf).first()
            if unit_file_unit is None:
                outcome.errors.append(RowError(None, None, f"unknown unit '{request.unit_cf}'"))
                return None
        columns = list(spec.columns) + [ColumnSpec(OVERRIDE_COLUMN)]
        if per_year:
            columns.insert(0, ColumnSpec(UNIT_COLUMN, required=True))
        else:
            columns.append(ColumnSpec(UNIT_COLUMN))
        required = [c.name for c in columns if c.required]
        units = {u.institutional_id: u for u in Unit.objects.exclude(institutional_id=None)} if per_year else {}
        # Large files are read twice (validate, then write) so that memory stays bounded; small ones once.
        plan = _Plan(per_year=per_year, columns=columns, two_pass=_size_of(request.source) > STREAM_THRESHOLD_BYTES,
                     parser=_RowParser(self, per_year, required, units, unit_file_unit, request.category))
        ctx = RowContext(year=request.year, per_year=per_year)
        reader = read_csv(request.source, columns=columns)
        plan.parser.header = reader.columns_present
        if not per_year and UNIT_COLUMN in reader.columns_present:
            raise CsvFileError([RowError(None, UNIT_COLUMN, "a unit file has no unit_institutional_id column "
                                                            "(import it as a per-year file, without --unit)")])
        return plan, reader, ctx

    @staticmethod
    def _finish_reading(plan: _Plan, reader, ctx: RowContext, request: ImportRequest, outcome: ImportOutcome) -> None:
        outcome.warnings.extend(reader.warnings)
        outcome.warnings.extend(ctx.warnings)
        bad = {e.row for e in outcome.errors}
        would_write = request.skip_invalid or not bad
        if plan.per_year and would_write and not request.allow_empty and all(n in bad for n in plan.numbers):
            outcome.errors.append(RowError(None, None, NO_DATA_ROWS))  # file-level: refused even when skipping

    def preview(self, request: ImportRequest, plan: _Plan, outcome: ImportOutcome) -> None:
        bad = set(outcome.skipped_rows)
        if not (plan.per_year and plan.kept):  # a unit file appends; a large file is not read a third time
            outcome.created = sum(1 for n in plan.numbers if n not in bad)  # what a real run would create
            return
        # What a real run would add, change, remove and leave (the same diff, nothing written).
        outcome.diff = True
        stored = _StoredRows(self.spec, request.year, request.category)
        rows = [(unit, values) for n, unit, values in plan.kept if n not in bad]
        module_reports = _existing_module_reports(request.year, self.spec, {unit.pk for unit, _ in rows})
        pending = []
        for unit, values in rows:
            module_report_id = module_reports.get(unit.pk)
            if module_report_id is not None and stored.take(module_report_id, values):
                outcome.unchanged += 1
            elif module_report_id is not None and stored.holds(module_report_id):
                pending.append((module_report_id, values))
            else:
                outcome.created += 1
        removed, changed, added = stored.settle(pending)
        outcome.deleted = sum(len(ids) for ids in removed.values())
        outcome.updated, outcome.created = len(changed), outcome.created + len(added)

    def write(self, request: ImportRequest, plan: _Plan, outcome: ImportOutcome) -> None:
        bad = set(outcome.skipped_rows)
        if plan.two_pass:
            _rewind(request.source)
            again = read_csv(request.source, columns=plan.columns)
            scratch = ImportOutcome(kind=self.name)  # the second reading finds nothing new to report
            chunks = plan.parser.chunks(again, RowContext(year=request.year, per_year=plan.per_year), scratch,
                                        request, size=CHUNK)
        else:
            chunks = (plan.kept[i:i + CHUNK] for i in range(0, len(plan.kept), CHUNK))
        self._write(request, ([p for p in chunk if p[0] not in bad] for chunk in chunks), outcome, plan.per_year)

    # --- writing ---------------------------------------------------------------------------
    def _write(self, request: ImportRequest, chunks, outcome: ImportOutcome, per_year: bool, *,
               single_pass: bool = False) -> None:
        """Unit files append. A per-year file is a diff against the kind's per-year rows of the year
        (`_StoredRows`): unchanged rows are not written at all, only added, changed and removed rows are
        (and recorded), and only their module reports go back to in progress (decision 7)."""
        spec, year, actor = self.spec, request.year, request.actor
        reason = f"{spec.name} CSV import" + (" (per-year file)" if per_year else f" (unit {request.unit_cf})")
        writer = _EntryWriter(spec, year, actor, reason, per_year)
        if per_year:
            entries_lock(spec, request)  # no edit of the kind commits while this runs (modules.fingerprints)
        stored = _StoredRows(spec, year, request.category) if per_year else None
        outcome.diff = per_year
        pending: list[tuple[int, dict]] = []  # not found, in a module report that had rows: pair them at the end
        module_reports: dict[int, int] = {}
        # COPYs run from a second thread while the next chunk is parsed and computed, with their checks
        with foreign_keys_checked_per_statement(self.spec.model), background_writes():
            self._insert_chunks(chunks, writer, stored, pending, module_reports, outcome,
                                None if single_pass else request.progress)  # (single pass: reading reports it)
        if single_pass and outcome.errors:
            return  # a bad row: the transaction rolls back, nothing more to do (skipped rows are not errors here)
        if stored is not None:
            removed, changed, added = stored.settle(pending)
            outcome.deleted = writer.delete(removed)
            outcome.updated = writer.update(changed)
            outcome.created += writer.insert(added)
        touched = writer.touched
        if not touched:
            return  # nothing changed: no status, no recomputation, no statistics written
        module_reports_touched(touched, actor=actor, reason=reason)
        # Kinds computed from this kind's emissions (facility sums) are recomputed; their statuses stay.
        recomputed: set[int] = set()
        dependants_recompute([spec.name], year=year, refresh_stats=False, touched=recomputed, actor=actor)
        if request.defer_followups:
            outcome.module_reports = sorted(touched | recomputed)
        else:
            stats_refresh(touched | recomputed)
        fingerprint_record(spec, request, outcome)  # a per-year file that wrote (above: unchanged returns early)

    def _insert_chunks(self, chunks, writer: _EntryWriter, stored: _StoredRows | None, pending: list,
                       module_reports: dict[int, int], outcome: ImportOutcome, progress) -> None:
        """Write each chunk's new rows; rows found again are counted, rows that may be changed ones wait."""
        year, spec = writer.year, self.spec
        for chunk in chunks:
            if not chunk:
                continue
            missing = {unit for _, unit, _ in chunk if unit.pk not in module_reports}
            if missing:
                module_reports.update(_module_reports(year, spec, missing))
            fresh = []
            for _, unit, values in chunk:
                module_report_id = module_reports[unit.pk]
                if stored is not None:
                    if stored.take(module_report_id, values):
                        outcome.unchanged += 1
                        continue
                    if stored.holds(module_report_id) and stored.may_hold(len(pending)):
                        pending.append((module_report_id, values))
                        continue
                fresh.append((module_report_id, values))
            outcome.created += writer.insert(fresh)
            if progress:
                progress(outcome.created + outcome.unchanged + len(pending))


class _EntryWriter:
    """The writes of an import: entries with their history and emissions, COPY for new rows."""

    def __init__(self, spec: EntryKindSpec, year: int, actor, reason: str, per_year: bool):
        self.spec, self.model, self.year, self.actor, self.reason = spec, spec.model, year, actor, reason
        self.source = EntrySource.CSV_MODULE_PER_YEAR if per_year else EntrySource.CSV_MODULE_UNIT_SPECIFIC
        self.now = timezone.now()
        self.ctx = ComputeContext(year=year)
        self.touched: set[int] = set()  # module reports whose own rows were written
        self.ids = IdPool(self.model)
        self.build = _instance_builder(self.model, source=self.source, created_by=actor, created_at=self.now,
                                       updated_at=self.now)

    def insert(self, rows: list[tuple[int, dict]]) -> int:
        model, build = self.model, self.build
        for start in range(0, len(rows), CHUNK):
            batch = [build(module_report_id, values) for module_report_id, values in rows[start:start + CHUNK]]
            ids = self.ids.take(len(batch))
            for entry, pk in zip(batch, ids, strict=True):
                entry.pk = pk
            # Emissions first: the totals then go into the entries' own COPY (no UPDATE afterwards).
            entries_recompute(self.spec, batch, self.ctx, fresh=True)
            copy_insert(model, batch, assign_ids=False)
            # Their history: copied from the rows just written, by the server (no second pass in Python).
            history_from_ids(model, ids, history_type="+", user=self.actor, reason=self.reason, when=self.now)
            self.touched.update(e.module_report_id for e in batch)
        return len(rows)

    def delete(self, ids_by_module_report: dict[int, list[int]]) -> int:
        ids = [pk for ids in ids_by_module_report.values() for pk in ids]
        history_from_ids(self.model, ids, history_type="-", user=self.actor, reason=self.reason, when=self.now)
        for start in range(0, len(ids), CHUNK):
            emissions_delete(self.spec, ids[start:start + CHUNK])
            delete_ids(self.model, ids[start:start + CHUNK])
        self.touched.update(m for m, ids in ids_by_module_report.items() if ids)
        return len(ids)

    def update(self, pairs: list[tuple[int, int, dict]]) -> int:
        """Rows that replace a stored row in place (same id): new values, one '~' history row, new emissions."""
        model = self.model
        # values are keyed by field name or attname (room_id): both name the field to write
        writable = {key: f.name for f in model._meta.concrete_fields if f.name not in _NOT_CONTENT
                    for key in (f.name, f.attname)}
        for start in range(0, len(pairs), CHUNK):
            batch = pairs[start:start + CHUNK]
            names = sorted({writable[key] for _, _, values in batch for key in values if key in writable})
            entries = [model(pk=pk, module_report_id=module_report_id, updated_at=self.now, **values)
                       for pk, module_report_id, values in batch]
            model.objects.bulk_update(entries, [*names, "updated_at"], batch_size=1000)
            ids = [pk for pk, _, _ in batch]
            history_from_ids(model, ids, history_type="~", user=self.actor, reason=self.reason, when=self.now)
            entries_recompute(self.spec, list(model.objects.filter(pk__in=ids).order_by("pk")), self.ctx)
            self.touched.update(module_report_id for _, module_report_id, _ in batch)
        return len(pairs)


def _instance_builder(model, **common):
    """A function (module report id, parsed values) → a new unsaved instance of `model`, equal to
    `model(module_report_id=…, **common, **values)` but built without `Model.__init__`, whose per-field
    descriptor work was a fifth of an import's Python time: the attributes are set directly, and a related
    object given by name is stored as its id with the object in the field cache (as `__init__` leaves it)."""
    fields = model._meta.concrete_fields
    relations = {f.name: f.attname for f in fields if f.is_relation}
    template: dict = {}
    made = []  # fields whose default is a callable (a fresh dict per instance, like __init__)
    for model_field in fields:
        if model_field.has_default() and callable(model_field.default):
            made.append((model_field.attname, model_field.default))
        else:
            template[model_field.attname] = model_field.get_default()
    cached = {}
    for name, value in common.items():
        if name in relations:
            template[relations[name]] = None if value is None else value.pk
            if value is not None:
                cached[name] = value
        else:
            template[name] = value

    def build(module_report_id: int, values: dict):
        instance = Model.__new__(model)
        state = instance._state = ModelState()
        state.fields_cache = dict(cached)
        attributes = instance.__dict__
        attributes.update(template)
        for attname, default in made:
            attributes[attname] = default()
        attributes["module_report_id"] = module_report_id
        for name, value in values.items():
            attname = relations.get(name)
            if attname is None or attname == name:
                attributes[name] = value
            elif value is None or isinstance(value, Model):
                attributes[attname] = None if value is None else value.pk
                state.fields_cache[name] = value
            else:
                attributes[attname] = value
        return instance

    return build


# Rows of a per-year file not found among the stored ones wait in memory to be paired with the stored rows
# left over (a changed row). Past this many they are written as added rows (a kind with a stable key, whose
# unique constraint needs the pairing, always waits: its files are small).
PENDING_LIMIT = int(os.environ.get("IMPORT_PENDING_LIMIT", 5 * CHUNK))


class _StoredRows:
    """The per-year rows of a kind and year, indexed by module report and content, for a re-import's diff.

    Content is the row's contract values (its CSV columns, note and override, normalised), so a file read
    again matches its rows one to one (a multiset: two identical rows pair with two stored ones). What is
    left over pairs up per module report as *changed* rows — by the kind's stable key (the fields of a unique
    constraint on the module report, e.g. a member's SCIPER) when it has one, else in order (stored by id,
    file rows in file order); what still has no pair is removed or added. Only digests and ids are kept, so a
    500,000-row year fits in memory.
    """

    def __init__(self, spec: EntryKindSpec, year: int, category: str | None = None):
        model = spec.model
        self.model = model
        self.fields = _contract_fields(spec)
        self.key_fields = _stable_key_fields(model)
        # digest → the id of the one stored row with that content, or the ids (ascending) of duplicates
        self.by_content: dict[bytes, int | list[int]] = {}
        self.module_reports: set[int] = set()
        rows = model.objects.filter(module_report__report__year_id=year, source=EntrySource.CSV_MODULE_PER_YEAR)
        if category is not None:  # a file uploaded as one category (submodule) replaces that category's rows only
            rows = rows.filter(**{spec.category_column: canonical_category(spec, category)})
        rows = (rows.order_by("pk").values_list("pk", "module_report_id", *[f.attname for f in self.fields]))
        # Only numbers need one written form (Decimal('1.50') and Decimal('1.5') are one value): the rest as is.
        self.numbers = [i for i, f in enumerate(self.fields) if isinstance(f, (models.DecimalField, models.FloatField))]
        for pk, module_report_id, *values in rows.iterator(chunk_size=CHUNK):
            digest = self._digest(module_report_id, values)
            held = self.by_content.get(digest)
            self.by_content[digest] = pk if held is None else [held, pk] if isinstance(held, int) else [*held, pk]
            self.module_reports.add(module_report_id)

    def _digest(self, module_report_id: int, values: list) -> bytes:
        for i in self.numbers:
            values[i] = _normal(values[i])
        return hashlib.blake2b(repr((module_report_id, *values)).encode(), digest_size=16).digest()

    def take(self, module_report_id: int, values: dict) -> bool:
        """Whether a stored row of this module report has these contract values (and consume it)."""
        if module_report_id not in self.module_reports:
            return False  # nothing stored there (a first import): no digest to compute
        digest = self._digest(module_report_id, [_value_of(f, values) for f in self.fields])
        held = self.by_content.get(digest)
        if not held:  # None, or duplicates all taken
            return False
        if isinstance(held, int):
            del self.by_content[digest]
        else:
            held.pop(0)
        return True

    def holds(self, module_report_id: int) -> bool:
        return module_report_id in self.module_reports

    def may_hold(self, pending: int) -> bool:
        return self.key_fields is not None or pending < PENDING_LIMIT

    def settle(self, pending: list[tuple[int, dict]]):
        """(removed ids by module report, changed (id, module report, values), added (module report, values))."""
        left: dict[int, list[int]] = {}
        unmatched = [pk for held in self.by_content.values() for pk in ([held] if isinstance(held, int) else held)]
        for start in range(0, len(unmatched), CHUNK):  # only their ids were kept: their module reports, read
            for pk, module_report_id in (self.model.objects.filter(pk__in=unmatched[start:start + CHUNK])
                                         .values_list("pk", "module_report_id")):
                left.setdefault(module_report_id, []).append(pk)
        waiting: dict[int, list[dict]] = {}
        for module_report_id, values in pending:
            waiting.setdefault(module_report_id, []).append(values)
        keys = {}
        if self.key_fields is not None and left:
            attnames = [f.attname for f in self.key_fields]
            ids = [pk for ids in left.values() for pk in ids]
            for start in range(0, len(ids), CHUNK):
                for pk, *key in self.model.objects.filter(pk__in=ids[start:start + CHUNK]).values_list("pk", *attnames):
                    keys[pk] = tuple(_normal(v) for v in key)
        changed, added = [], []
        for module_report_id in sorted(set(left) | set(waiting)):
            old = sorted(left.get(module_report_id, []))
            new = waiting.get(module_report_id, [])
            if self.key_fields is None:
                pairs = list(zip(old, new, strict=False))
                old, new = old[len(pairs):], new[len(pairs):]
            else:
                by_key: dict[tuple, list[int]] = {}
                for pk in old:
                    by_key.setdefault(keys[pk], []).append(pk)
                pairs, unpaired = [], []
                for values in new:
                    ids = by_key.get(tuple(_normal(_value_of(f, values)) for f in self.key_fields))
                    if ids:
                        pairs.append((ids.pop(0), values))
                    else:
                        unpaired.append(values)
                old, new = sorted(pk for ids in by_key.values() for pk in ids), unpaired
            changed.extend((pk, module_report_id, values) for pk, values in pairs)
            added.extend((module_report_id, values) for values in new)
            left[module_report_id] = old
        return left, changed, added


# Not part of a row's content: bookkeeping, and the total computed from the emission rows.
_NOT_CONTENT = {"id", "module_report", "source", "created_by", "created_at", "updated_at", "kg_co2eq"}


def _contract_fields(spec: EntryKindSpec) -> list:
    """The model fields an imported row sets: its columns, note and override, and what the import resolves
    from them (an airport, a room, a distance). Resolved values count: a row whose place is now known (the
    reference data came later) is changed, and gets its link and emissions."""
    return [f for f in spec.model._meta.concrete_fields if f.name not in _NOT_CONTENT]


def _stable_key_fields(model) -> list | None:
    """The fields of a unique constraint on the module report (a member's SCIPER …): a row's stable key."""
    for constraint in model._meta.constraints:
        fields = getattr(constraint, "fields", ())
        if "module_report" in fields and getattr(constraint, "condition", None) is None:
            return [model._meta.get_field(name) for name in fields if name != "module_report"]
    return None


def _value_of(field_, values: dict):
    if field_.name in values:
        value = values[field_.name]
        return value.pk if isinstance(value, models.Model) else value
    if field_.attname in values:
        return values[field_.attname]
    return field_.get_default()


def _normal(value):
    """One form for a value parsed from a cell and the same value read from the database."""
    if isinstance(value, Decimal):
        return str(value.normalize()) if value else "0"
    if isinstance(value, float):
        return repr(value)
    return value


class _RowParser:
    """Turns CSV rows into validated (row number, unit, values) chunks, recording problems on the outcome."""

    def __init__(self, importer: EntryImporter, per_year: bool, required: list[str], units: dict, unit_file_unit,
                 category: str | None = None):
        self.importer, self.spec, self.per_year = importer, importer.spec, per_year
        self.required, self.units, self.unit_file_unit = required, units, unit_file_unit
        self.category = category
        self.header: list[str] = []  # the file's columns in its order (the template-row rule reads it)
        self.measured = (*self.spec.measured, OVERRIDE_COLUMN) if self.spec.measured else ()

    def chunks(self, reader, ctx: RowContext, outcome: ImportOutcome, request: ImportRequest, *, size: int | None):
        """Yield lists of parsed rows, each checked by the kind's whole-chunk rules (a chunk is the whole file
        when `size` is None). Rules that span chunks keep their state in `ctx.memo`."""
        chunk: list[tuple[int, Unit, dict]] = []
        for row in reader:
            outcome.rows_read += 1
            if request.progress and outcome.rows_read % 10000 == 0:
                request.progress(outcome.rows_read)
            parsed = self._parse(row, ctx, outcome)
            if parsed is not None:
                chunk.append(parsed)
            if size and len(chunk) >= size:
                yield self._validated(chunk, ctx, outcome)
                chunk = []
        if chunk:
            yield self._validated(chunk, ctx, outcome)

    def _parse(self, row, ctx: RowContext, outcome: ImportOutcome):
        spec = self.spec
        if row.error:
            outcome.errors.append(row.error)
            return None
        skip_reason = template_row_reason(row.values, header=self.header, measured=self.measured,
                                          required=[*self.required, *spec.measured])
        if skip_reason:
            outcome.warnings.append(RowWarning(row.number, None, f"row skipped: {skip_reason}"))
            return None
        empty = [name for name in self.required if not row.values.get(name)]
        if empty:
            outcome.errors.extend(RowError(row.number, n, "a value is required") for n in empty)
            return None
        ctx.row = row.number
        try:
            unit = self.units.get(row.values[UNIT_COLUMN]) if self.per_year else self.unit_file_unit
            if unit is None:
                raise CellError(f"unknown unit '{row.values[UNIT_COLUMN]}'", column=UNIT_COLUMN)
            cells = with_category(spec, row.values, self.category)
            values = row_values(spec, cells, ctx)
        except CellError as exc:
            outcome.errors.append(RowError(row.number, exc.column, exc.reason))
            return None
        return row.number, unit, values

    def _validated(self, chunk, ctx: RowContext, outcome: ImportOutcome):
        outcome.errors.extend(rows_check(self.spec, chunk, ctx))
        return chunk


def category_refusal(spec: EntryKindSpec, category: str | None) -> str | None:
    """Why an upload's category does not suit this kind (a file-level error), or None."""
    if category is None:
        return None
    if spec.category_column is None:
        return f"{spec.name} files take no category (only purchase and equipment files do)"
    if _category_key(category) not in {_category_key(c) for c in spec.categories}:
        return f"unknown {spec.category_column} '{category}' (one of: {', '.join(spec.categories)})"
    return None


def with_category(spec: EntryKindSpec, cells: dict[str, str], category: str | None) -> dict[str, str]:
    """The row's cells with the upload's category in the kind's category cell when the file leaves it empty;
    a row naming another category than the upload's is a row error (the file was uploaded to the wrong place)."""
    if category is None or spec.category_column is None:
        return cells
    given = cells.get(spec.category_column, "")
    if given and _category_key(given) != _category_key(category):
        raise CellError(f"the row says '{given}' but the file is uploaded as '{category}'",
                        column=spec.category_column)
    return {**cells, spec.category_column: given or category}


def canonical_category(spec: EntryKindSpec, category: str) -> str:
    """The kind's own spelling of an upload's category ('Services' → 'services'); checked by `category_refusal`."""
    return next(c for c in spec.categories if _category_key(c) == _category_key(category))


def _category_key(text: str) -> str:
    return "_".join(text.strip().lower().replace("-", " ").split())


def _size_of(source) -> int:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return len(source)
    if isinstance(source, (str, os.PathLike)):
        return os.path.getsize(source)
    try:
        position = source.tell()
        size = source.seek(0, os.SEEK_END)
        source.seek(position)
        return size
    except (AttributeError, OSError, ValueError):
        return 0  # not seekable: a single reading


def _rewind(source) -> None:
    if hasattr(source, "seek"):
        source.seek(0)


def _module_reports(year: int, spec: EntryKindSpec, units: set[Unit]) -> dict[int, int]:
    """unit id → module report id for this kind's module, creating missing reports (inactive units)."""
    unit_ids = {u.pk for u in units}
    missing = unit_ids - set(CarbonReport.objects.filter(year_id=year, unit_id__in=unit_ids)
                             .values_list("unit_id", flat=True))
    if missing:
        year_create_reports(year=year, unit_ids=missing)
    return dict(ModuleReport.objects.filter(report__year_id=year, report__unit_id__in=unit_ids,
                                            module=spec.module.value).values_list("report__unit_id", "pk"))


def _existing_module_reports(year: int, spec: EntryKindSpec, unit_ids: set[int]) -> dict[int, int]:
    """unit id → module report id of this kind's module, for the units that have one (nothing created)."""
    return dict(ModuleReport.objects.filter(report__year_id=year, report__unit_id__in=unit_ids,
                                            module=spec.module.value).values_list("report__unit_id", "pk"))


def register_entry_importer(spec: EntryKindSpec) -> None:
    register(EntryImporter(spec))

