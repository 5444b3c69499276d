"""The one registry of entry kinds. The engine, the importers, the API, the admin and the exports
all iterate it, so a new kind is added in one place (its sub-package) and every surface follows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from carbon import taxonomy
from carbon.taxonomy import DeclaredEntryKind, EntryKind, Module
from factors.base import FACTOR_KINDS
from infra.csvio import ColumnSpec, RowWarning
from modules.base import Entry, Leaf

__all__ = ["KINDS", "ComputeContext", "EntryKindSpec", "RowContext", "SetBased", "SetLeaf", "dependants_of",
           "kinds_of_module", "load_order", "register_kind"]



@dataclass
class ComputeContext:
    """Shared by every chunk of one computation: the year and a cache for factors and lookups."""

    year: int
    cache: dict[str, Any] = field(default_factory=dict)

    def memo(self, key: str, load: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = load()
        return self.cache[key]


@dataclass
class RowContext:
    """What a row parser may need besides the row: the year, lookups, and a place for warnings."""

    year: int
    row: int = 0
    cache: dict[str, Any] = field(default_factory=dict)
    warnings: list[RowWarning] = field(default_factory=list)
    per_year: bool = True  # a per-year file (replaces) or a unit file (appends)
    replacing: int | None = None  # an edit: the entry this row replaces, left out of "the rows already there"

    def warn(self, column: str | None, reason: str) -> None:
        self.warnings.append(RowWarning(self.row, column, reason))

    def memo(self, key: str, load: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = load()
        return self.cache[key]


@dataclass(frozen=True)
class SetLeaf:
    """One leaf that the entries of one key yield in a set-based recalculation: kg = amount × `multiplier`
    (amount: the kind's SQL `SetBased.amount`), quantity = amount × `quantity_multiplier` (None: no quantity)."""

    emission_type: int
    multiplier: Decimal
    factor_id: int | None
    factor_values: dict
    params: tuple[Decimal | None, ...] = ()  # numbers of the key the amount SQL reads as k.p0, k.p1 …
    quantity_multiplier: Decimal | None = None
    quantity_unit: str = ""
    kind: int | None = None  # booked under another entry kind than the entry's (Leaf.kind)
    # kg = amount × multiplier / divisor (a currency conversion): SQL divides at 40 places, which rounds like
    # Python's 28 significant digits except within 1e-15 kg of a half-milligram, where the entry is left to
    # `compute`. Only for plans of one leaf per key.
    divisor: Decimal = Decimal(1)


@dataclass(frozen=True)
class SetBased:
    """How a product kind (kg = an amount of the entry × numbers of its factors) is recalculated by one SQL
    statement per kind and year (`modules.engine`), declared next to its Python `compute`, which it must match
    to the gram (pinned by tests/test_recalc_set_based.py).

    The choice of factors and leaves stays in Python, so it is the Python one by construction: the engine reads
    the distinct values of the entries' `keys` columns, gives `leaves` an unsaved entry holding one such key
    (the kind's own factor lookup, memoised in the context), and the statement joins the entries to these
    plans by key and does the arithmetic. `leaves` returns None for a key it leaves to `compute` (e.g. a
    currency conversion, whose Decimal division SQL would not round alike); an override is booked on the
    spec's `override_leaf` of the key. Entries matching `python_when` are also left to `compute`.
    """

    keys: tuple[str, ...]  # entry columns the choice of factors and leaves depends on
    leaves: Callable[[Entry, ComputeContext], Sequence[SetLeaf] | None]
    amount: str  # SQL over the entry `e` and the plan's `k.p0` …: the amount multiplied; NULL = no emission
    python_when: str | None = None  # SQL over `e`: entries whose stored data the statement cannot trust
    joins: str = ""  # extra LEFT JOINs the amount reads (e.g. a reference table)


@dataclass(frozen=True)
class EntryKindSpec:
    """Everything the generic machinery needs to know about one entry kind."""

    name: str  # the CSV / API name (csv-formats.md), e.g. "process_emission"
    # The entry kinds this model holds (equipment: scientific, it, other).
    kinds: tuple[EntryKind | DeclaredEntryKind, ...]
    model: type[Entry]
    columns: tuple[ColumnSpec, ...]  # CSV columns, without unit_institutional_id and kg_co2eq
    parse_row: Callable[[dict[str, str], RowContext], dict]  # → model field values; raises CellError
    compute: Callable[[Sequence[Entry], ComputeContext], dict[int, list[Leaf]]]
    # The emission-type subtrees (taxonomy names) this kind's entries emit into: the engine refuses a leaf
    # outside them, and reports use them to say which leaves a kind can touch.
    emission_roots: tuple[str, ...] = ()
    # Emission type of an imported kg_co2eq override; None when the kind has several leaves per entry.
    override_leaf: Callable[[Entry], int | None] | None = None
    # Factor kinds this kind is computed with: the campaign view requires them for the year, and a change
    # of them recalculates this kind (the one declaration of the link; factors derive the inverse).
    factor_kinds: tuple[str, ...] = ()
    # Reference data the campaign view requires ("airports", "train stations", "building rooms").
    required_reference: tuple[str, ...] = ()
    # Entry kinds whose emissions this kind's computation reads (a facility's computed sum reads the facility
    # unit's own results): after those change, the engine recomputes this kind (`dependants_of`).
    depends_on: tuple[str, ...] = ()
    owner_field: str | None = None  # standard users own rows where this field is their institutional id
    standard_editable: bool = False  # standard users may enter their own rows of this kind
    # Whole-file checks and lookups (duplicates, one query for every airport of the file …): gets
    # (row number, the values dict parse_row returned, plus "unit"); may fill values in place; returns RowErrors.
    validate_rows: Callable[[list[tuple[int, dict]], RowContext], list] | None = None
    # The entry kind of one entry when the model holds several (by its category column).
    kind_of: Callable[[Entry], EntryKind] | None = None
    label: str = ""
    # The measured values of a row (its amounts): a file's row with all of them empty and only labels filled
    # is a template's scaffold row, skipped with a warning (`infra.importing.template_row_reason`).
    measured: tuple[str, ...] = ()
    # A kind holding several entry kinds by a category column (purchase, equipment): the column and its values.
    # An upload may supply it from outside the file (`ImportRequest.category`: the submodule uploaded to).
    category_column: str | None = None
    categories: tuple[str, ...] = ()
    # Reference-data models ("factors.Location" …) this kind points at: after they are re-imported,
    # `relink()` (if given) refreshes the entries' links, then the kind is recalculated.
    reference_models: tuple[str, ...] = ()
    relink: Callable[[], None] | None = None
    # A product kind: recalculated by one set-based statement instead of chunks through `compute`.
    set_based: SetBased | None = None

    @property
    def module(self) -> Module:
        return self.kinds[0].module

    def entry_kind(self, entry: Entry) -> EntryKind:
        return self.kind_of(entry) if self.kind_of else self.kinds[0]

    @cached_property
    def leaf_ids(self) -> frozenset[int]:
        """Every leaf an entry of this kind may emit into."""
        return frozenset(et.id for root in self.emission_roots
                         for et in taxonomy.leaves_under(taxonomy.by_name(root).id))


KINDS: dict[str, EntryKindSpec] = {}


def register_kind(spec: EntryKindSpec) -> EntryKindSpec:
    """Register an entry kind, and derive the inverse of its factor link on each factor kind it names."""
    if spec.name in KINDS:
        raise ValueError(f"entry kind {spec.name!r} registered twice")
    if not spec.emission_roots:
        raise ValueError(f"entry kind {spec.name!r} declares no emission_roots")
    spec.leaf_ids  # noqa: B018 - an unknown root name fails here, at start-up, not at the first import
    unknown = [name for name in spec.factor_kinds if name not in FACTOR_KINDS]
    if unknown:
        raise ValueError(f"entry kind {spec.name!r} names unknown factor kinds {unknown}")
    KINDS[spec.name] = spec
    for name in spec.factor_kinds:
        factor_spec = FACTOR_KINDS[name]
        if spec.name not in factor_spec.recalculates:
            factor_spec.recalculates = (*factor_spec.recalculates, spec.name)
    return spec


def load_order() -> list[EntryKindSpec]:
    """Entry kinds in the order a whole campaign is loaded: by module, each kind after the kinds it depends
    on (a facility's computed sums read the facility unit's results, so those come first)."""
    ordered: list[EntryKindSpec] = []
    pending = sorted(KINDS.values(), key=lambda s: (s.module.value, s.name))
    while pending:
        ready = [s for s in pending if not set(s.depends_on) & {p.name for p in pending if p is not s}]
        if not ready:
            raise ValueError(f"entry kinds depend on each other in a cycle: {[s.name for s in pending]}")
        ordered.append(ready[0])
        pending.remove(ready[0])
    return ordered




def dependants_of(names) -> list[EntryKindSpec]:
    """The kinds whose computation reads the emissions of any of `names` (not `names` themselves)."""
    names = set(names)
    return [spec for spec in KINDS.values() if spec.name not in names and names & set(spec.depends_on)]


def kinds_of_module(module: Module) -> list[EntryKindSpec]:
    return [spec for spec in KINDS.values() if spec.module == module]
