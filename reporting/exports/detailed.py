"""The detailed export: a ZIP with one CSV per entry kind of the registry, and a README describing the columns.

One row per entry of the shown reports (no roll-up: each entry belongs to one unit, once), with the unit's code,
name and affiliation, the year and the module's status, every field of the entry's model (labels for choices,
codes for foreign keys), the kg of each emission leaf the kind can emit into, and `kg_co2eq`, the sum of the
entry's emission rows. Σ `kg_co2eq` over every file = Σ `own_total` of the results export of the same filters
(tests/test_reporting_exports.py): emission rows are leaves only (product.md §5 decision 1), so nothing is
counted twice.

Why SQL writes the rows: PostgreSQL formats each kind's CSV (`COPY (SELECT …) TO STDOUT WITH CSV`), Python only
compresses the blocks into the ZIP as they come. Formatting 1,000,000 rows in Python ran at 1/25 of COPY's speed
(docs/performance.md); this runs at a large fraction of it. The cells follow the rules of every file we write:
`infra.csvio.is_formula_injection` restated in SQL for text cells (tested against the Python one), numbers
without trailing zeros (as `reporting.selectors.fmt`), times in ISO 8601 (UTC, to the second), choices by their
label (bound parameters: they are translated), references by their code. Memory: one COPY block and one
compressed block at a time, whatever the size of the export.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

from django.db import connection, transaction
from django.db.models import ForeignKey

from carbon import taxonomy
from carbon.models import CarbonReport, Emission, ModuleReport, ModuleStatus
from modules.registry import KINDS, EntryKindSpec
from reporting.exports.filters import ReportFilters
from reporting.exports.streaming import ExportFile, csv_chunks, zip_chunks
from reporting.exports.tables import stamp
from units.models import Unit

__all__ = ["UNIT_COLUMNS", "detailed_export", "kind_columns", "kind_filename", "kind_sql", "safe_text_sql"]

BLOCK = 256 * 1024
UNIT_COLUMNS = ["unit_institutional_id", "unit_name", "unit_path_name", "year", "module_status", "entry_id",
                "entry_kind"]
_SKIPPED = {"id", "module_report", "kg_co2eq"}
# The field of a related model that names a row in files (first one the model has).
_CODE_FIELDS = ("institutional_id", "room_name", "natural_key", "name")
# infra.csvio's _DANGEROUS_FIRST and _NUMBER_RE, in SQL.
_DANGEROUS_FIRST = "('=', '+', '-', '@', E'\\t', E'\\r')"
_NUMBER = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"


def kind_filename(spec: EntryKindSpec) -> str:
    return f"{spec.module.name}_{spec.name}.csv"


def _leaves(spec: EntryKindSpec) -> list[taxonomy.EmissionType]:
    return sorted((taxonomy.get(leaf) for leaf in spec.leaf_ids), key=lambda et: et.id)


def _concrete_fields(spec: EntryKindSpec) -> list:
    return [f for f in spec.model._meta.concrete_fields if f.name not in _SKIPPED]


def kind_columns(spec: EntryKindSpec) -> list[str]:
    return [*UNIT_COLUMNS, *(f.name for f in _concrete_fields(spec)),
            *(f"kg_co2eq__{leaf.name}" for leaf in _leaves(spec)), "kg_co2eq"]


def safe_text_sql(expression: str) -> str:
    """A text cell neutralised like `infra.csvio.neutralize_formula`: a leading quote before a formula."""
    trimmed = f"ltrim({expression}, ' ')"
    # The cheap test first (CASE evaluates in order): the regular expression runs only after a dangerous start.
    return (f"CASE WHEN left({trimmed}, 1) NOT IN {_DANGEROUS_FIRST} THEN {expression} "
            f"WHEN rtrim({trimmed}, ' ') ~ '{_NUMBER}' THEN {expression} "
            f"ELSE '''' || {expression} END")


def _cell_sql(model_field, column: str, params: list) -> str:
    internal = model_field.get_internal_type()
    if model_field.choices:
        cases = []
        for value, label in model_field.flatchoices:
            cases.append("WHEN %s THEN %s")
            params += [value, str(label)]
        return f"CASE {column} {' '.join(cases)} ELSE {safe_text_sql(f'{column}::text')} END"
    if internal == "DecimalField":
        return f"trim_scale({column})::text"
    if internal == "DateTimeField":
        # A timestamp's text is ISO-like ("2026-12-02 14:26:34"): faster than to_char, which parses a template.
        return f"replace(date_trunc('second', {column} AT TIME ZONE 'UTC')::text, ' ', 'T') || '+00:00'"
    if internal == "DateField":
        return f"to_char({column}, 'YYYY-MM-DD')"
    if internal in {"CharField", "TextField"}:
        return safe_text_sql(column)
    return f"{column}::text"


def _entry_kind_sql(spec: EntryKindSpec, params: list) -> str:
    """The entry kind's name: the spec's first kind, or by its category column (equipment, purchases)."""
    if spec.kind_of is None or len(spec.kinds) == 1:
        params.append(spec.kinds[0].name)
        return "%s"
    column = getattr(spec, "category_column", None)
    field = spec.model._meta.get_field(column) if column else next(f for f in _concrete_fields(spec) if f.choices)
    cases = []
    for value, _label in field.flatchoices:
        cases.append("WHEN %s THEN %s")
        params += [value, spec.kind_of(type("Probe", (), {field.name: value})()).name]
    return f"CASE e.{field.column} {' '.join(cases)} ELSE '' END"


def kind_sql(spec: EntryKindSpec, module_report_ids: list[int], years) -> tuple[str, list]:
    """`COPY (SELECT …) TO STDOUT WITH CSV` of one kind's rows in these module reports, and its parameters."""
    params: list = []
    statuses = " ".join(f"WHEN {s.value} THEN '{s.name}'" for s in ModuleStatus)
    cells = [safe_text_sql("u.institutional_id"), safe_text_sql("u.name"), safe_text_sql("u.path_name"),
             "r.year_id::text", f"CASE m.status {statuses} END", "e.id::text", _entry_kind_sql(spec, params)]
    joins = []
    for i, model_field in enumerate(_concrete_fields(spec)):
        if isinstance(model_field, ForeignKey):
            related = model_field.related_model._meta
            columns = {f.name: f.column for f in related.concrete_fields}
            code = next((columns[name] for name in _CODE_FIELDS if name in columns), related.pk.column)
            joins.append(f"LEFT JOIN {related.db_table} fk{i} ON fk{i}.{related.pk.column} = e.{model_field.column}")
            cells.append(safe_text_sql(f"fk{i}.{code}::text"))
        else:
            cells.append(_cell_sql(model_field, f"e.{model_field.column}", params))
    leaves = _leaves(spec)
    sums = ", ".join([f"sum(kg_co2eq) FILTER (WHERE emission_type = {leaf.id}) AS k{i}"
                      for i, leaf in enumerate(leaves)] + ["sum(kg_co2eq) AS total"])
    cells += [f"CASE WHEN em.total IS NULL THEN NULL ELSE trim_scale(coalesce(em.k{i}, 0))::text END"
              for i in range(len(leaves))]
    cells.append("trim_scale(em.total)::text")
    kinds = ", ".join(str(int(k)) for k in spec.kinds)
    # The chosen module reports as a relation (unnest) rather than `= ANY(array)`: PostgreSQL then hashes them
    # and scans the tables once, where `= ANY` of thousands of ids took an index probe per row (3× slower on
    # 1,000,000 entries, docs/performance.md). The emission rows of the kind and years are summed per entry in
    # one pass (a hash join keeps those of the exported entries); a per-entry index probe was twice as slow.
    select = f"""
        SELECT {", ".join(cells)}
        FROM {spec.model._meta.db_table} e
        JOIN unnest(%s::bigint[]) chosen(id) ON chosen.id = e.module_report_id
        JOIN {ModuleReport._meta.db_table} m ON m.id = e.module_report_id
        JOIN {CarbonReport._meta.db_table} r ON r.id = m.report_id
        JOIN {Unit._meta.db_table} u ON u.id = r.unit_id
        {" ".join(joins)}
        LEFT JOIN (SELECT entry_id, {sums} FROM {Emission._meta.db_table}
                   WHERE kind IN ({kinds}) AND year = ANY(%s) GROUP BY entry_id) em ON em.entry_id = e.id"""
    return f"COPY ({select}) TO STDOUT WITH (FORMAT csv)", [*params, module_report_ids, list(years)]


def _module_report_ids(filters: ReportFilters) -> list[int]:
    """The module reports of the shown reports (units × modules × years: never the entries)."""
    return list(ModuleReport.objects.filter(report__in=filters.reports().values("pk")).values_list("pk", flat=True))


def _copy_chunks(sql: str, params: list, export: ExportFile) -> Iterator[bytes]:
    """The rows PostgreSQL writes, block by block; rows counted by line ends (a newline inside a cell is
    quoted by COPY, so the count can only overstate a row holding one)."""
    with transaction.atomic(), connection.cursor() as cursor:
        # For this transaction only: sort and aggregate a large kind in memory, and skip JIT compilation,
        # which costs more than it saves on a query read once.
        cursor.execute("SELECT set_config('work_mem', '64MB', true), set_config('jit', 'off', true)")
        with cursor.cursor.copy(sql, params) as copy:
            pending = bytearray()  # COPY sends one message per row: hand the ZIP blocks of BLOCK bytes
            for block in copy:
                pending += block
                if len(pending) >= BLOCK:
                    export.rows += pending.count(b"\n")
                    yield bytes(pending)
                    pending.clear()
            export.rows += pending.count(b"\n")
            yield bytes(pending)


README = """Detailed export — {generated}

Filters: {filters}

One CSV file per entry kind (the registry of entry kinds), one row per entry of the selected units and years.
Every file has, in this order:

- unit_institutional_id, unit_name, unit_path_name: the unit that entered the row (its number, name, affiliation)
- year
- module_status: NOT_STARTED, IN_PROGRESS or VALIDATED (the unit's module in that year)
- entry_id: the entry's number in this system
- entry_kind: the kind of entry (equipment and purchases have several kinds in one file)
- the entry's own fields, as entered (choices by their label, references by their code; created_by is the
  institutional id of the person who created the row; source says where the row came from; times in UTC)
- kg_co2eq__<emission type>: the kg CO2-eq of the entry in each emission type this kind can emit into
- kg_co2eq: the entry's total, the sum of its emission rows (empty when the entry has no emission, e.g. no
  matching factor)

Rows are in no particular order (sort them by unit or entry_id). Amounts are kg CO2-eq, all data (validated or
not: see module_status). Emission rows are leaves only, so the sum of kg_co2eq over all files equals the sum
of own_total in the results export of the same filters; a faculty's total in the results export is the sum of
its units' rows here. Cells that a spreadsheet would run as a formula start with a single quote.

Files:
{files}
"""


def detailed_export(filters: ReportFilters, fmt_name: str = "zip") -> ExportFile:
    export = ExportFile(filename=f"detailed_report_{stamp()}.zip", content_type="application/zip")
    specs = sorted(KINDS.values(), key=lambda s: (s.module.value, s.name))

    def members():
        module_reports = _module_report_ids(filters)
        files = "\n".join(f"- {kind_filename(spec)}: {spec.label or spec.name}" for spec in specs)
        yield "README.txt", [README.format(generated=stamp(), filters=filters.describe(), files=files).encode()]
        for spec in specs:
            yield kind_filename(spec), chain(csv_chunks([], kind_columns(spec)),
                                             _copy_chunks(*kind_sql(spec, module_reports, filters.years), export))

    export.chunks = zip_chunks(members())
    return export
