"""Carbon-accounting taxonomy: modules, entry kinds and the emission-type tree.

Pure Python (no Django import) so that apps, migrations, importers and scripts can all use it.
Numeric ids are the reference system's persisted integers (spec/reference-domain.md §2-§3): keep them.
Our decisions (spec/product.md §5) win where they differ from the reference:

- Emission rows are leaves only (decision 1). The reference rollup node 40000 `headcount` is therefore
  not part of the tree, and every input an engine meets resolves to a leaf or raises.
- Categories are the results-export columns (decision 10): `buildings` = rooms + combustion and
  `buildings__construction_and_renovation` = embodied energy, so the categories partition the leaves.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import cache, lru_cache


def _norm(text: object) -> str:
    """'Natural gas' / 'natural-gas' / ' NATURAL_GAS ' -> 'natural_gas'."""
    return _norm_text(str(text))


@lru_cache(maxsize=8192)  # called for every row of large files with a handful of distinct values
def _norm_text(text: str) -> str:
    return _NORM_RE.sub("_", text.strip().lower())


_NORM_RE = re.compile(r"[\s\-]+")


class _Choices(enum.IntEnum):
    """IntEnum with a human `label` and Django-style `choices()`, without importing Django."""

    do_not_call_in_templates = enum.nonmember(True)  # as Django's Choices: templates must not call the class
    _aliases = enum.nonmember({})  # other accepted spellings for from_name: alias -> member name

    def __new__(cls, value: int, label: str):
        obj = int.__new__(cls, value)
        obj._value_, obj._label = value, label
        return obj

    @property
    def label(self) -> str:
        return self._label

    @classmethod
    def choices(cls) -> list[tuple[int, str]]:
        return [(member.value, member.label) for member in cls]

    @classmethod
    def from_name(cls, name: str):
        """The member called `name` (case-insensitive, '-' for '_'); ValueError if unknown."""
        if not isinstance(name, str):
            raise ValueError(f"{cls.__name__} name must be a string, not {name!r}")
        key = _norm(name)
        key = cls._aliases.get(key, key)
        try:
            return cls[key]
        except KeyError:
            known = ", ".join(cls.__members__)
            raise ValueError(f"unknown {cls.__name__} {name!r} (expected one of: {known})") from None


class Module(_Choices):
    """The eight activity modules (reference ModuleTypeEnum)."""

    headcount = 1, "Headcount"
    professional_travel = 2, "Professional travel"
    buildings = 3, "Buildings"
    equipment = 4, "Equipment"
    purchase = 5, "Purchases"
    research_facilities = 6, "Research facilities"
    external_cloud_and_ai = 7, "External cloud and AI"
    process_emissions = 8, "Process emissions"


class EntryKind(_Choices):
    """Entry kinds (reference DataEntryTypeEnum ids), named as in spec/csv-formats.md."""

    def __new__(cls, value: int, module: Module, label: str):
        obj = int.__new__(cls, value)
        obj._value_, obj._label, obj._module = value, label, module
        return obj

    # Reference det names (and factor-kind names) that are unambiguous, so old files and URLs resolve.
    _aliases = enum.nonmember({
        "building": "building_room", "embodied_energy": "building_embodied_energy",
        "external_clouds": "external_cloud", "process_emissions": "process_emission",
        "additional_purchases": "additional_purchase", "research_facilities": "research_facility",
        "mice_and_fish_animal_facilities": "animal_facility",
    })

    member = 1, Module.headcount, "Member"
    student = 2, Module.headcount, "Students"
    equipment_scientific = 10, Module.equipment, "Scientific equipment"
    equipment_it = 11, Module.equipment, "IT equipment"
    equipment_other = 12, Module.equipment, "Other equipment"
    plane = 20, Module.professional_travel, "Plane"
    train = 21, Module.professional_travel, "Train"
    building_room = 30, Module.buildings, "Building room"
    energy_combustion = 31, Module.buildings, "Energy combustion"
    building_embodied_energy = 32, Module.buildings, "Embodied energy"
    external_cloud = 40, Module.external_cloud_and_ai, "External cloud"
    external_ai = 41, Module.external_cloud_and_ai, "External AI"
    process_emission = 50, Module.process_emissions, "Process emission"
    # Purchase names are the `purchase_category` values of the CSV contract, so they route directly.
    scientific_equipment = 60, Module.purchase, "Scientific equipment purchases"
    it_equipment = 61, Module.purchase, "IT equipment purchases"
    consumable_accessories = 62, Module.purchase, "Consumables and accessories"
    biological_chemical_gaseous_product = 63, Module.purchase, "Biological, chemical and gaseous products"
    services = 64, Module.purchase, "Services"
    vehicles = 65, Module.purchase, "Vehicles"
    other_purchases = 66, Module.purchase, "Other purchases"
    additional_purchase = 67, Module.purchase, "Additional purchases"
    research_facility = 70, Module.research_facilities, "Research facility"
    animal_facility = 71, Module.research_facilities, "Animal facility (mice and fish)"

    @property
    def module(self) -> Module:
        return self._module

    @property
    def is_derived(self) -> bool:
        """Embodied energy follows from the building rooms; it is never entered or imported."""
        return self is EntryKind.building_embodied_energy

    @classmethod
    def of_module(cls, module: Module | int | str) -> tuple[EntryKind, ...]:
        module = _module(module)
        return tuple(kind for kind in cls if kind.module is module)


class DeclaredEntryKind(int):
    """An entry kind declared by a kind package outside the reference catalogue (`declare_entry_kind`).

    Behaves as an `EntryKind` member where the machinery reads one: an int (the stored id) with
    `value`, `name`, `label`, `module`, `is_derived`.
    """

    def __new__(cls, value: int, name: str, module: Module, label: str):
        obj = super().__new__(cls, value)
        obj.name, obj.module, obj.label = name, module, label
        return obj

    @property
    def value(self) -> int:
        return int(self)

    is_derived = False

    def __repr__(self) -> str:
        return f"<DeclaredEntryKind.{self.name}: {int(self)}>"


_DECLARED: dict[int, DeclaredEntryKind] = {}


def declare_entry_kind(value: int, name: str, module: Module, label: str) -> DeclaredEntryKind:
    """Add an entry kind to the catalogue (a kind package of an installation, or the test suite's toy kind).
    Its id and name must not clash with the reference ids (persisted: they can never be reused)."""
    if value in EntryKind._value2member_map_ or value in _DECLARED:
        raise ValueError(f"entry kind id {value} is taken")
    if name in EntryKind.__members__ or any(k.name == name for k in _DECLARED.values()):
        raise ValueError(f"entry kind name {name!r} is taken")
    kind = _DECLARED[value] = DeclaredEntryKind(value, name, Module(module), label)
    return kind


def entry_kinds() -> tuple[EntryKind | DeclaredEntryKind, ...]:
    """The whole catalogue: the reference kinds, then the declared ones, by id."""
    return (*EntryKind, *sorted(_DECLARED.values()))


def entry_kinds_of(module: Module | int | str) -> tuple[EntryKind | DeclaredEntryKind, ...]:
    module = _module(module)
    return tuple(kind for kind in entry_kinds() if kind.module is module)


def entry_kind(value: int) -> EntryKind | DeclaredEntryKind:
    """The kind stored as `value` (an `Emission.kind`, a `SubmoduleSetting.kind`)."""
    if value in _DECLARED:
        return _DECLARED[value]
    return EntryKind(value)


def entry_kind_choices() -> list[tuple[int, str]]:
    """Model field choices, as a callable so that declared kinds are valid choices too."""
    return [(kind.value, kind.label) for kind in entry_kinds()]


def _module(value: Module | int | str) -> Module:
    return Module.from_name(value) if isinstance(value, str) else Module(value)


def _kind(value: EntryKind | int | str) -> EntryKind:
    return EntryKind.from_name(value) if isinstance(value, str) else EntryKind(value)


# ---------------------------------------------------------------------------------------------------
# Emission-type tree (reference EmissionType). Parent = name minus its last `__` segment.
# ---------------------------------------------------------------------------------------------------

CATEGORIES = (
    "process_emissions", "buildings", "equipment", "external", "professional_travel", "purchases",
    "research_facilities", "commuting", "food", "waste", "buildings__construction_and_renovation",
)
CATEGORY_LABELS = dict(zip(CATEGORIES, (
    "Process emissions", "Buildings (rooms and combustion)", "Equipment", "External cloud and AI",
    "Professional travel", "Purchases", "Research facilities", "Commuting", "Food", "Waste",
    "Construction and renovation (embodied energy)",
), strict=True))

ROOM_COMPONENTS = ("lighting", "cooling", "ventilation", "heating_elec", "heating_thermal")  # 601 01..05
ROOM_TYPES = ("office", "laboratories", "archives", "libraries", "auditoriums", "miscellaneous")  # ..01..06
_RECYCLING = (  # 20004 01..13
    "paper", "cardboard", "plastics", "glass", "ferrous_metals", "non_ferrous_metals", "electronics",
    "wood", "pet", "aluminum", "textile", "toner_and_ink_cartridges", "inert_waste",
)
_AI_PROVIDERS = ("google", "mistral_ai", "anthropic", "openai", "cohere", "others")  # 1102 01..06

# Reference rollup id: never emitted (decision 1), kept out of the tree but reserved.
RESERVED_IDS = frozenset({40000})

_NAMES: dict[int, str] = {
    10000: "food", 10001: "food__vegetarian", 10002: "food__non_vegetarian",
    20000: "waste", 20001: "waste__incineration", 20002: "waste__composting", 20003: "waste__biogas",
    2000301: "waste__biogas__organic_waste_food_leftovers", 2000302: "waste__biogas__cooking_vegetable_oil",
    20004: "waste__recycling",
    30000: "commuting", 30001: "commuting__walking", 30002: "commuting__cycling",
    30003: "commuting__powered_two_wheeler", 30004: "commuting__public_transport", 30005: "commuting__car",
    50000: "professional_travel",
    50100: "professional_travel__train", 50101: "professional_travel__train__class_1",
    50102: "professional_travel__train__class_2",
    50200: "professional_travel__plane", 50201: "professional_travel__plane__first",
    50202: "professional_travel__plane__business", 50203: "professional_travel__plane__eco",
    60000: "buildings", 60100: "buildings__rooms",
    60200: "buildings__combustion", 60201: "buildings__combustion__natural_gas",
    60202: "buildings__combustion__heating_oil", 60203: "buildings__combustion__biomethane",
    60204: "buildings__combustion__pellets", 60205: "buildings__combustion__forest_chips",
    60206: "buildings__combustion__wood_logs",
    # Not in the reference: it sends propane and other unlisted fuels to the non-leaf 60200. Leaves-only
    # needs a leaf; 99 ("other") keeps clear of ids the reference may add next (60207, ...).
    60299: "buildings__combustion__other",
    60300: "buildings__construction_and_renovation",
    70000: "process_emissions", 70100: "process_emissions__ch4", 70200: "process_emissions__co2",
    70300: "process_emissions__n2o", 70400: "process_emissions__refrigerants",
    80000: "equipment", 80100: "equipment__scientific", 80200: "equipment__it", 80300: "equipment__other",
    90000: "purchases", 90100: "purchases__goods_and_services", 90200: "purchases__scientific_equipment",
    90300: "purchases__it_equipment", 90400: "purchases__consumable_accessories",
    90500: "purchases__biological_chemical_gaseous", 90600: "purchases__services",
    90700: "purchases__vehicles", 90800: "purchases__other",
    90900: "purchases__additional", 90901: "purchases__additional__ln2",
    # Not in the reference: it sends additional purchases other than LN2 to the non-leaf 90900.
    90999: "purchases__additional__other",
    100000: "research_facilities", 100100: "research_facilities__facilities",
    100200: "research_facilities__animal", 10020001: "research_facilities__animal__mice",
    10020002: "research_facilities__animal__fish", 100300: "research_facilities__it_facilities",
    110000: "external", 110100: "external__clouds", 110101: "external__clouds__virtualisation",
    110102: "external__clouds__calcul", 110103: "external__clouds__stockage", 110200: "external__ai",
}
_NAMES.update({2000400 + i: f"waste__recycling__{key}" for i, key in enumerate(_RECYCLING, 1)})
_NAMES.update({110200 + i: f"external__ai__provider_{key}" for i, key in enumerate(_AI_PROVIDERS, 1)})
for _c, _component in enumerate(ROOM_COMPONENTS, 1):
    _NAMES[60100 + _c] = f"buildings__rooms__{_component}"
    for _t, _room_type in enumerate(ROOM_TYPES, 1):
        _NAMES[(60100 + _c) * 100 + _t] = f"buildings__rooms__{_component}__{_room_type}"

# (subtree, leaf scope, category, module) — most specific first; a node takes the first rule it is in.
_RULES = (
    ("food", 3, "food", Module.headcount),
    ("waste", 3, "waste", Module.headcount),
    ("commuting", 3, "commuting", Module.headcount),
    ("professional_travel", 3, "professional_travel", Module.professional_travel),
    # The reference makes heating_thermal scope 1 / combustion (§9 Q5). Room heating is heat delivered
    # to the room (kWh/m2 x heat factor), i.e. purchased heat = GHG Protocol scope 2. Fuel burnt on site
    # is entered as energy_combustion (scope 1), so calling this scope 1 too would double-claim it.
    ("buildings__rooms__heating_thermal", 2, "buildings", Module.buildings),
    ("buildings__rooms", 2, "buildings", Module.buildings),  # electricity-driven: scope 2
    ("buildings__combustion", 1, "buildings", Module.buildings),  # fuel burnt on site: scope 1
    ("buildings__construction_and_renovation", 3, "buildings__construction_and_renovation",
     Module.buildings),
    ("buildings", None, None, Module.buildings),  # the root only: it spans two categories
    ("process_emissions", 1, "process_emissions", Module.process_emissions),  # direct/fugitive releases
    ("equipment", 2, "equipment", Module.equipment),  # electricity use
    # The reference makes purchases__additional (LN2) scope 1. Its factor is per kg bought, i.e. the
    # upstream production footprint (the boil-off is N2, not a GHG): purchased goods = scope 3.
    ("purchases", 3, "purchases", Module.purchase),
    ("research_facilities", 3, "research_facilities", Module.research_facilities),
    ("external", 3, "external", Module.external_cloud_and_ai),
)


@dataclass(frozen=True, slots=True)
class EmissionType:
    """One node of the tree. `scope` is set on leaves only; `category` on every node whose leaves
    all share one category (None for the `buildings` root, which spans two)."""

    id: int
    name: str
    parent_id: int | None
    scope: int | None
    category: str | None
    module: Module

    @property
    def key(self) -> str:
        """Last path segment, e.g. 'eco' for professional_travel__plane__eco."""
        return self.name.rsplit("__", 1)[-1]

    @property
    def label(self) -> str:
        return self.name.replace("__", " / ").replace("_", " ")


def _build() -> dict[int, EmissionType]:
    ids = {name: id_ for id_, name in _NAMES.items()}
    parents = {id_: ids[name.rsplit("__", 1)[0]] if "__" in name else None for id_, name in _NAMES.items()}
    has_children = {p for p in parents.values() if p is not None}

    def rule(name: str):
        return next(r for r in _RULES if name == r[0] or name.startswith(r[0] + "__"))

    leaf_categories = {id_: rule(name)[2] for id_, name in _NAMES.items() if id_ not in has_children}
    result = {}
    for id_, name in sorted(_NAMES.items()):
        _, scope, category, module = rule(name)
        if id_ in has_children:
            under = {c for leaf, c in leaf_categories.items() if _NAMES[leaf].startswith(name + "__")}
            scope, category = None, (under.pop() if len(under) == 1 else None)
        result[id_] = EmissionType(id_, name, parents[id_], scope, category, module)
    return result


EMISSION_TYPES: dict[int, EmissionType] = _build()
_BY_NAME = {et.name: et for et in EMISSION_TYPES.values()}
_CHILDREN: dict[int, tuple[int, ...]] = {
    id_: tuple(c for c, et in EMISSION_TYPES.items() if et.parent_id == id_) for id_ in EMISSION_TYPES
}
del _c, _component, _t, _room_type


def get(emission_type_id: int) -> EmissionType:
    try:
        return EMISSION_TYPES[emission_type_id]
    except KeyError:
        raise KeyError(f"unknown emission type id {emission_type_id!r}") from None


def by_name(name: str) -> EmissionType:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown emission type name {name!r}") from None


def is_leaf(emission_type_id: int) -> bool:
    get(emission_type_id)
    return not _CHILDREN[emission_type_id]


@cache
def leaves() -> tuple[EmissionType, ...]:
    return tuple(et for et in EMISSION_TYPES.values() if not _CHILDREN[et.id])


def leaves_of(module: Module | int | str) -> tuple[EmissionType, ...]:
    module = _module(module)
    return tuple(et for et in leaves() if et.module is module)


def leaves_of_category(category: str) -> tuple[EmissionType, ...]:
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r} (expected one of: {', '.join(CATEGORIES)})")
    return tuple(et for et in leaves() if et.category == category)


def ancestors(emission_type_id: int) -> tuple[EmissionType, ...]:
    """Parent first, root last; empty for a root."""
    chain, parent = [], get(emission_type_id).parent_id
    while parent is not None:
        chain.append(EMISSION_TYPES[parent])
        parent = EMISSION_TYPES[parent].parent_id
    return tuple(chain)


def descendants(emission_type_id: int) -> tuple[EmissionType, ...]:
    """Every node below (not including) the given one, by id."""
    get(emission_type_id)
    found, todo = [], list(_CHILDREN[emission_type_id])
    while todo:
        child = todo.pop()
        found.append(EMISSION_TYPES[child])
        todo.extend(_CHILDREN[child])
    return tuple(sorted(found, key=lambda et: et.id))


def leaves_under(emission_type_id: int) -> tuple[EmissionType, ...]:
    """The leaves of a subtree (the node itself when it is a leaf): what a subtree total sums."""
    if is_leaf(emission_type_id):
        return (EMISSION_TYPES[emission_type_id],)
    return tuple(et for et in descendants(emission_type_id) if not _CHILDREN[et.id])


def category_of(emission_type_id: int) -> str:
    """The results category; ValueError for a node whose leaves span several (the `buildings` root)."""
    category = get(emission_type_id).category
    if category is None:
        raise ValueError(f"emission type {emission_type_id} spans several categories")
    return category


def scope_of(emission_type_id: int) -> int:
    """GHG scope of a leaf; ValueError for a non-leaf (emission rows are leaves only)."""
    scope = get(emission_type_id).scope
    if scope is None:
        raise ValueError(f"emission type {emission_type_id} is not a leaf and has no scope")
    return scope


def emission_type_choices() -> list[tuple[int, str]]:
    """Django field choices for an emission row: (leaf id, name)."""
    return [(et.id, et.name) for et in leaves()]


def it_leaves() -> tuple[EmissionType, ...]:
    """IT focus (reference §3): IT equipment, IT purchases, all cloud/AI, all research facilities."""
    roots = ("equipment__it", "purchases__it_equipment", "external", "research_facilities")
    return tuple(et for root in roots for et in leaves_under(by_name(root).id))


# ---------------------------------------------------------------------------------------------------
# Input -> leaf helpers for the engine. Inputs are normalised with _norm; unknowns raise ValueError.
# ---------------------------------------------------------------------------------------------------

def _lookup(table: dict[str, str], value: object, what: str) -> int:
    key = _norm(value) if value is not None else ""
    if key not in table:
        raise ValueError(f"unknown {what} {value!r} (expected one of: {', '.join(sorted(table))})")
    return _BY_NAME[table[key]].id


def headcount_leaf(category: str, class_: str | None = None, subclass: str | None = None) -> int:
    """Leaf of a headcount factor (headcount_category / _class / _subclass), e.g. waste, recycling,
    paper -> 2000401. Walks down while the node has children; parts below a leaf are factor detail."""
    parts = [_norm(p) for p in (category, class_, subclass) if p is not None and str(p).strip()]
    if not parts or parts[0] not in ("food", "waste", "commuting"):
        raise ValueError(f"unknown headcount category {category!r} (expected food, waste or commuting)")
    node = _BY_NAME[parts[0]]
    for part in parts[1:]:
        if not _CHILDREN[node.id]:
            break
        child = _BY_NAME.get(f"{node.name}__{part}")
        if child is None:
            keys = ", ".join(EMISSION_TYPES[c].key for c in _CHILDREN[node.id])
            raise ValueError(f"unknown {node.name} class {part!r} (expected one of: {keys})")
        node = child
    if _CHILDREN[node.id]:
        keys = ", ".join(EMISSION_TYPES[c].key for c in _CHILDREN[node.id])
        raise ValueError(f"{node.name} needs a finer class (one of: {keys})")
    return node.id


def plane_leaf(cabin_class: str) -> int:
    """By cabin class. The haul band only selects the factor: it is not a level of the tree."""
    table = {"first": "first", "business": "business", "economy": "eco", "eco": "eco"}
    table = {k: f"professional_travel__plane__{v}" for k, v in table.items()}
    return _lookup(table, cabin_class, "plane cabin class")


def train_leaf(cabin_class: str) -> int:
    table = {"first": "class_1", "1": "class_1", "class_1": "class_1",
             "second": "class_2", "2": "class_2", "class_2": "class_2"}
    return _lookup({k: f"professional_travel__train__{v}" for k, v in table.items()}, cabin_class,
                   "train cabin class")


def room_leaf(component: str, room_type: str | None) -> int:
    """Leaf of one energy component of a room. Decision 6: a room without a room type still gets all
    five components; it is booked under `miscellaneous` (the six-digit component nodes are not leaves)."""
    comp = _norm(component)
    if comp not in ROOM_COMPONENTS:
        expected = ", ".join(ROOM_COMPONENTS)
        raise ValueError(f"unknown room energy component {component!r} (expected: {expected})")
    rtype = _norm(room_type) if room_type is not None and str(room_type).strip() else "miscellaneous"
    if rtype not in ROOM_TYPES:
        raise ValueError(f"unknown room type {room_type!r} (expected one of: {', '.join(ROOM_TYPES)})")
    return _BY_NAME[f"buildings__rooms__{comp}__{rtype}"].id


def room_leaves(room_type: str | None) -> dict[str, int]:
    """component -> leaf for the five components of one room."""
    return {comp: room_leaf(comp, room_type) for comp in ROOM_COMPONENTS}


_FUELS = ("natural_gas", "heating_oil", "biomethane", "pellets", "forest_chips", "wood_logs")


def combustion_leaf(fuel_name: str) -> int:
    """Fuel (factor `name`) -> leaf; fuels without a leaf of their own (propane, ...) -> `other`."""
    fuel = _norm(fuel_name) if fuel_name is not None else ""
    if not fuel:
        raise ValueError("energy combustion needs a fuel name")
    return _BY_NAME[f"buildings__combustion__{fuel if fuel in _FUELS else 'other'}"].id


EMBODIED_ENERGY_LEAF = 60300


def equipment_leaf(category: EntryKind | str) -> int:
    """`equipment_category` (scientific / it / other) or an equipment EntryKind -> leaf."""
    if isinstance(category, EntryKind):
        category = category.name.removeprefix("equipment_")
    return _lookup({k: f"equipment__{k}" for k in ("scientific", "it", "other")}, category,
                   "equipment category")


def equipment_kind(category: str) -> EntryKind:
    """CSV routing: `equipment_category` -> entry kind."""
    return EntryKind[f"equipment_{EMISSION_TYPES[equipment_leaf(category)].key}"]


# purchase kind (= CSV purchase_category) -> leaf
_PURCHASE_LEAVES = {
    "scientific_equipment": "purchases__scientific_equipment", "it_equipment": "purchases__it_equipment",
    "consumable_accessories": "purchases__consumable_accessories",
    "biological_chemical_gaseous_product": "purchases__biological_chemical_gaseous",
    "services": "purchases__services", "vehicles": "purchases__vehicles",
    "other_purchases": "purchases__other",
}


def purchase_leaf(category: EntryKind | str) -> int:
    """`purchase_category` (the kind names 60-66) or a purchase EntryKind -> leaf."""
    if isinstance(category, EntryKind):
        category = category.name
    return _lookup(_PURCHASE_LEAVES, category, "purchase category")


def purchase_kind(category: str) -> EntryKind:
    """CSV routing: `purchase_category` -> entry kind."""
    purchase_leaf(category)  # validates with a clear message
    return EntryKind[_norm(category)]


def additional_purchase_leaf(name: str) -> int:
    key = re.sub(r"[^a-z0-9]", "", str(name or "").lower())
    return _BY_NAME["purchases__additional__ln2" if key in ("ln2", "liquidnitrogen")
                    else "purchases__additional__other"].id


def cloud_leaf(service_type: str) -> int:
    table = {"virtualisation": "virtualisation", "virtualization": "virtualisation",
             "compute": "calcul", "calcul": "calcul", "storage": "stockage", "stockage": "stockage"}
    return _lookup({k: f"external__clouds__{v}" for k, v in table.items()}, service_type,
                   "cloud service type")


def process_leaf(category: str) -> int:
    table = {"co2": "co2", "ch4": "ch4", "n2o": "n2o", "refrigerant": "refrigerants",
             "refrigerants": "refrigerants"}
    return _lookup({k: f"process_emissions__{v}" for k, v in table.items()}, category,
                   "process emission category")


# The institution's shared computing platforms count as IT facilities (reference rule).
_IT_FACILITIES = ("scitas", "rcp")


def research_facility_leaf(facility_name: str) -> int:
    key = _norm(facility_name or "")
    name = "it_facilities" if key in _IT_FACILITIES else "facilities"
    return _BY_NAME[f"research_facilities__{name}"].id


def animal_facility_leaf(facility_type: str) -> int:
    return _lookup({k: f"research_facilities__animal__{k}" for k in ("mice", "fish")}, facility_type,
                   "animal facility type")


# Decision 15, checked in this order; matched on the label with everything but letters/digits removed,
# so 'Open AI' and 'Chat-GPT' match as well.
_AI_KEYWORDS = (
    ("google", ("google", "gemini")),
    ("mistral_ai", ("mistral",)),
    ("anthropic", ("anthropic", "claude")),
    ("openai", ("openai", "chatgpt", "gpt")),
    ("cohere", ("cohere",)),
)


def ai_provider_leaf(provider_label: str | None) -> int:
    """'ChatGPT (OpenAI)' -> provider_openai; anything unrecognised (Llama, Copilot, '') -> others."""
    text = re.sub(r"[^a-z0-9]", "", str(provider_label or "").lower())
    provider = next((p for p, words in _AI_KEYWORDS if any(w in text for w in words)), "others")
    return _BY_NAME[f"external__ai__provider_{provider}"].id
