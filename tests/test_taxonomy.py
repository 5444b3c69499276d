"""The taxonomy pins the reference ids (spec/reference-domain.md §2-§3) and our decisions (product.md §5)."""

import dataclasses

import pytest

from carbon import taxonomy as tx
from carbon.taxonomy import CATEGORIES, EMISSION_TYPES, EntryKind, Module


def test_module_ids_labels_and_choices():
    assert {m.name: m.value for m in Module} == {
        "headcount": 1, "professional_travel": 2, "buildings": 3, "equipment": 4, "purchase": 5,
        "research_facilities": 6, "external_cloud_and_ai": 7, "process_emissions": 8,
    }
    assert Module.choices()[0] == (1, "Headcount")
    assert [value for value, _ in Module.choices()] == list(range(1, 9))
    assert all(isinstance(label, str) and label for _, label in Module.choices())


@pytest.mark.parametrize("name, expected", [
    ("headcount", Module.headcount),
    ("Professional-Travel", Module.professional_travel),
    (" EXTERNAL_CLOUD_AND_AI ", Module.external_cloud_and_ai),
    ("process-emissions", Module.process_emissions),
])
def test_module_from_name(name, expected):
    assert Module.from_name(name) is expected


@pytest.mark.parametrize("bad", ["travel", "", "1", None, 3])
def test_module_from_name_rejects_unknown(bad):
    with pytest.raises(ValueError):
        Module.from_name(bad)


def test_entry_kind_ids_and_modules():
    expected = {
        "member": (1, 1), "student": (2, 1), "plane": (20, 2), "train": (21, 2),
        "building_room": (30, 3), "energy_combustion": (31, 3), "building_embodied_energy": (32, 3),
        "equipment_scientific": (10, 4), "equipment_it": (11, 4), "equipment_other": (12, 4),
        "scientific_equipment": (60, 5), "it_equipment": (61, 5), "consumable_accessories": (62, 5),
        "biological_chemical_gaseous_product": (63, 5), "services": (64, 5), "vehicles": (65, 5),
        "other_purchases": (66, 5), "additional_purchase": (67, 5),
        "research_facility": (70, 6), "animal_facility": (71, 6),
        "external_cloud": (40, 7), "external_ai": (41, 7), "process_emission": (50, 8),
    }
    assert {k.name: (k.value, k.module.value) for k in EntryKind} == expected
    assert all(k.label for k in EntryKind)
    assert dict(EntryKind.choices())[20] == "Plane"
    assert EntryKind.of_module(Module.headcount) == (EntryKind.member, EntryKind.student)
    assert EntryKind.building_embodied_energy.is_derived and not EntryKind.building_room.is_derived


def test_entry_kind_from_name_with_reference_aliases():
    assert EntryKind.from_name("Building-Room") is EntryKind.building_room
    assert EntryKind.from_name("building") is EntryKind.building_room
    assert EntryKind.from_name("mice_and_fish_animal_facilities") is EntryKind.animal_facility
    assert EntryKind.from_name("embodied_energy") is EntryKind.building_embodied_energy
    with pytest.raises(ValueError, match="unknown EntryKind"):
        EntryKind.from_name("equipment")


# ids and names straight from the reference table (reference-domain.md §3)
SPEC_NODES = {
    10000: "food", 10001: "food__vegetarian", 10002: "food__non_vegetarian",
    20000: "waste", 20001: "waste__incineration", 20002: "waste__composting", 20003: "waste__biogas",
    2000301: "waste__biogas__organic_waste_food_leftovers", 2000302: "waste__biogas__cooking_vegetable_oil",
    20004: "waste__recycling", 2000401: "waste__recycling__paper", 2000402: "waste__recycling__cardboard",
    2000409: "waste__recycling__pet", 2000412: "waste__recycling__toner_and_ink_cartridges",
    2000413: "waste__recycling__inert_waste",
    30000: "commuting", 30001: "commuting__walking", 30004: "commuting__public_transport",
    30005: "commuting__car",
    50000: "professional_travel", 50100: "professional_travel__train",
    50101: "professional_travel__train__class_1", 50102: "professional_travel__train__class_2",
    50200: "professional_travel__plane", 50201: "professional_travel__plane__first",
    50202: "professional_travel__plane__business", 50203: "professional_travel__plane__eco",
    60000: "buildings", 60100: "buildings__rooms", 60101: "buildings__rooms__lighting",
    60105: "buildings__rooms__heating_thermal", 6010101: "buildings__rooms__lighting__office",
    6010402: "buildings__rooms__heating_elec__laboratories",
    6010506: "buildings__rooms__heating_thermal__miscellaneous",
    60200: "buildings__combustion", 60201: "buildings__combustion__natural_gas",
    60206: "buildings__combustion__wood_logs", 60300: "buildings__construction_and_renovation",
    70000: "process_emissions", 70100: "process_emissions__ch4", 70200: "process_emissions__co2",
    70300: "process_emissions__n2o", 70400: "process_emissions__refrigerants",
    80000: "equipment", 80100: "equipment__scientific", 80200: "equipment__it", 80300: "equipment__other",
    90000: "purchases", 90100: "purchases__goods_and_services",
    90500: "purchases__biological_chemical_gaseous",
    90800: "purchases__other", 90900: "purchases__additional", 90901: "purchases__additional__ln2",
    100000: "research_facilities", 100100: "research_facilities__facilities",
    100200: "research_facilities__animal", 10020001: "research_facilities__animal__mice",
    10020002: "research_facilities__animal__fish", 100300: "research_facilities__it_facilities",
    110000: "external", 110100: "external__clouds", 110101: "external__clouds__virtualisation",
    110102: "external__clouds__calcul", 110103: "external__clouds__stockage", 110200: "external__ai",
    110201: "external__ai__provider_google", 110202: "external__ai__provider_mistral_ai",
    110203: "external__ai__provider_anthropic", 110204: "external__ai__provider_openai",
    110205: "external__ai__provider_cohere", 110206: "external__ai__provider_others",
}


def test_spec_ids_and_names():
    for id_, name in SPEC_NODES.items():
        assert EMISSION_TYPES[id_].name == name
        assert tx.by_name(name).id == id_


def test_tree_size_and_additions():
    # reference: 121 members incl. rollup 40000; we drop 40000 and add two "other" leaves
    assert len(EMISSION_TYPES) == 121 - 1 + 2
    assert 40000 not in EMISSION_TYPES and 40000 in tx.RESERVED_IDS
    assert tx.get(60299).name == "buildings__combustion__other"
    assert tx.get(90999).name == "purchases__additional__other"
    assert len(tx.leaves_under(60100)) == 30


def _positional_parent(v):
    """The reference's XX YY ZZ (WW) numbering rule, as an independent check of the name-based parents."""
    if v >= 1_000_000:
        return v // 100
    if v % 100:
        return v // 100 * 100
    if v % 10000:
        return v // 10000 * 10000
    return None


def test_parents_follow_names_and_numbering():
    for et in EMISSION_TYPES.values():
        assert et.parent_id == _positional_parent(et.id), et
        if et.parent_id is not None:
            assert et.name.startswith(EMISSION_TYPES[et.parent_id].name + "__")


def test_emission_type_is_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        tx.get(10001).scope = 1


def test_every_leaf_has_scope_category_module_and_non_leaves_have_no_scope():
    leaves = tx.leaves()
    assert leaves and all(tx.is_leaf(et.id) for et in leaves)
    for et in EMISSION_TYPES.values():
        assert isinstance(et.module, Module)
        if tx.is_leaf(et.id):
            assert et.scope in (1, 2, 3), et
            assert et.category in CATEGORIES, et
            assert tx.scope_of(et.id) == et.scope and tx.category_of(et.id) == et.category
        else:
            assert et.scope is None, et
            with pytest.raises(ValueError):
                tx.scope_of(et.id)


def test_categories_partition_the_leaves():
    assert len(CATEGORIES) == 11 and len(set(CATEGORIES)) == 11
    assert set(tx.CATEGORY_LABELS) == set(CATEGORIES)
    groups = [tx.leaves_of_category(c) for c in CATEGORIES]
    assert all(groups), "every category has leaves"
    ids = [et.id for group in groups for et in group]
    assert len(ids) == len(set(ids)) and set(ids) == {et.id for et in tx.leaves()}


def test_modules_partition_the_leaves():
    ids = [et.id for m in Module for et in tx.leaves_of(m)]
    assert all(tx.leaves_of(m) for m in Module)
    assert sorted(ids) == sorted(et.id for et in tx.leaves())
    assert {et.category for et in tx.leaves_of("headcount")} == {"food", "waste", "commuting"}


@pytest.mark.parametrize("name, scope, category", [
    ("food__vegetarian", 3, "food"),
    ("waste__recycling__paper", 3, "waste"),
    ("commuting__car", 3, "commuting"),
    ("professional_travel__plane__eco", 3, "professional_travel"),
    ("buildings__rooms__lighting__office", 2, "buildings"),
    ("buildings__rooms__heating_elec__office", 2, "buildings"),
    ("buildings__rooms__heating_thermal__office", 2, "buildings"),  # purchased heat, not reference's 1
    ("buildings__combustion__natural_gas", 1, "buildings"),
    ("buildings__combustion__other", 1, "buildings"),
    ("buildings__construction_and_renovation", 3, "buildings__construction_and_renovation"),
    ("process_emissions__refrigerants", 1, "process_emissions"),
    ("equipment__it", 2, "equipment"),
    ("purchases__it_equipment", 3, "purchases"),
    ("purchases__additional__ln2", 3, "purchases"),  # purchased good, not reference's 1
    ("research_facilities__animal__mice", 3, "research_facilities"),
    ("external__ai__provider_openai", 3, "external"),
    ("external__clouds__calcul", 3, "external"),
])
def test_scope_and_category_of_leaves(name, scope, category):
    et = tx.by_name(name)
    assert (tx.scope_of(et.id), tx.category_of(et.id)) == (scope, category)


def test_non_leaf_categories():
    assert tx.category_of(60100) == "buildings" and tx.category_of(50000) == "professional_travel"
    assert tx.get(60000).category is None
    with pytest.raises(ValueError):
        tx.category_of(60000)
    assert tx.get(60000).module is Module.buildings and tx.get(10000).module is Module.headcount


def test_navigation_helpers():
    assert [a.id for a in tx.ancestors(6010501)] == [60105, 60100, 60000]
    assert tx.ancestors(10000) == ()
    assert [d.id for d in tx.descendants(20003)] == [20003 * 100 + 1, 20003 * 100 + 2]
    assert tx.descendants(10001) == ()
    assert not tx.is_leaf(20004) and tx.is_leaf(2000401)
    assert tx.get(50203).key == "eco"
    with pytest.raises(KeyError, match="40000"):
        tx.get(40000)
    with pytest.raises(KeyError):
        tx.by_name("headcount")
    with pytest.raises(KeyError):
        tx.is_leaf(123)
    with pytest.raises(ValueError):
        tx.leaves_of_category("buildings_room")
    assert all(tx.is_leaf(i) for i, _ in tx.emission_type_choices())
    assert len(tx.emission_type_choices()) == len(tx.leaves())


def test_it_leaves():
    names = {et.name for et in tx.it_leaves()}
    assert {"equipment__it", "purchases__it_equipment", "external__ai__provider_others",
            "research_facilities__animal__fish"} <= names
    assert "equipment__scientific" not in names


@pytest.mark.parametrize("label, provider", [
    ("ChatGPT (OpenAI)", "openai"), ("OpenAI", "openai"), ("gpt-4o", "openai"), ("Open AI", "openai"),
    ("Claude (Anthropic)", "anthropic"), ("anthropic", "anthropic"), ("CLAUDE", "anthropic"),
    ("Gemini", "google"), ("Gemini (Google)", "google"), ("google", "google"),
    ("Mistral AI", "mistral_ai"), ("mistral", "mistral_ai"),
    ("Cohere", "cohere"),
    ("Llama", "others"), ("Copilot (Microsoft)", "others"), ("Copilot (GitHub)", "others"),
    ("Other", "others"), ("", "others"), (None, "others"),
])
def test_ai_provider_mapping_decision_15(label, provider):
    assert tx.get(tx.ai_provider_leaf(label)).name == f"external__ai__provider_{provider}"


@pytest.mark.parametrize("parts, name", [
    (("food", "vegetarian"), "food__vegetarian"),
    (("Food", "Non-Vegetarian", None), "food__non_vegetarian"),
    (("waste", "incineration"), "waste__incineration"),
    (("waste", "recycling", "paper"), "waste__recycling__paper"),
    (("waste", "biogas", "cooking vegetable oil"), "waste__biogas__cooking_vegetable_oil"),
    (("waste", "composting", "garden"), "waste__composting"),  # detail below a leaf is factor detail
    (("commuting", "public_transport"), "commuting__public_transport"),
])
def test_headcount_leaf(parts, name):
    assert tx.get(tx.headcount_leaf(*parts)).name == name


@pytest.mark.parametrize("parts", [
    ("food",), ("waste", "recycling"), ("waste", "recycling", "gold"), ("food", "vegan"),
    ("energy", "x"), ("",),
])
def test_headcount_leaf_rejects(parts):
    with pytest.raises(ValueError):
        tx.headcount_leaf(*parts)


def test_travel_leaves():
    assert [tx.plane_leaf(c) for c in ("first", "Business", "economy")] == [50201, 50202, 50203]
    assert [tx.train_leaf(c) for c in ("first", "SECOND")] == [50101, 50102]
    for fn, bad in ((tx.plane_leaf, "premium"), (tx.train_leaf, "economy"), (tx.plane_leaf, None)):
        with pytest.raises(ValueError, match="cabin class"):
            fn(bad)


def test_room_leaves():
    assert tx.room_leaf("lighting", "office") == 6010101
    assert tx.room_leaf("Heating-Thermal", "Laboratories") == 6010502
    # decision 6: no room type still gives all five components (booked under miscellaneous)
    assert tx.room_leaves(None) == {c: 6010006 + 100 * i for i, c in enumerate(tx.ROOM_COMPONENTS, 1)}
    assert tx.room_leaves("") == tx.room_leaves("miscellaneous")
    with pytest.raises(ValueError, match="component"):
        tx.room_leaf("heating", "office")
    with pytest.raises(ValueError, match="room type"):
        tx.room_leaf("lighting", "kitchen")


def test_combustion_and_embodied_leaves():
    assert tx.combustion_leaf("Natural gas") == 60201
    assert tx.combustion_leaf("wood_logs") == 60206
    assert tx.combustion_leaf("propane") == 60299
    with pytest.raises(ValueError):
        tx.combustion_leaf(" ")
    assert tx.get(tx.EMBODIED_ENERGY_LEAF).category == "buildings__construction_and_renovation"


def test_equipment_and_purchase_leaves():
    assert [tx.equipment_leaf(c) for c in ("scientific", "IT", "other")] == [80100, 80200, 80300]
    assert tx.equipment_leaf(EntryKind.equipment_it) == 80200
    assert tx.equipment_kind("It") is EntryKind.equipment_it
    expected = [90200, 90300, 90400, 90500, 90600, 90700, 90800]
    assert [tx.purchase_leaf(EntryKind(v)) for v in range(60, 67)] == expected
    assert tx.purchase_leaf("biological_chemical_gaseous_product") == 90500
    assert tx.purchase_kind("Other_Purchases") is EntryKind.other_purchases
    assert tx.additional_purchase_leaf("LN2") == 90901
    assert tx.additional_purchase_leaf("Liquid Nitrogen") == 90901
    assert tx.additional_purchase_leaf("Liquid helium") == 90999
    for fn, bad in ((tx.equipment_leaf, "lab"), (tx.purchase_leaf, "food"), (tx.purchase_kind, "x")):
        with pytest.raises(ValueError):
            fn(bad)


def test_cloud_process_and_facility_leaves():
    assert [tx.cloud_leaf(s) for s in ("virtualisation", "compute", "Storage")] == [110101, 110102, 110103]
    assert [tx.process_leaf(c) for c in ("CO2", "CH4", "N2O", "Refrigerant")] == [70200, 70100, 70300, 70400]
    assert tx.research_facility_leaf("SCITAS") == 100300 and tx.research_facility_leaf("rcp") == 100300
    assert tx.research_facility_leaf("CIBM-GE") == 100100
    assert [tx.animal_facility_leaf(t) for t in ("mice", "Fish")] == [10020001, 10020002]
    for fn, bad in ((tx.cloud_leaf, "gpu"), (tx.process_leaf, "SF6"), (tx.animal_facility_leaf, "rats")):
        with pytest.raises(ValueError):
            fn(bad)


def test_the_kinds_emission_roots_cover_the_module_leaves():
    """Each kind declares the subtrees it emits into (its spec, nowhere else); together they reach every leaf
    but the one no entry kind emits into."""
    from modules.registry import KINDS

    reached = set()
    for spec in KINDS.values():
        assert spec.leaf_ids, spec.name
        assert {tx.get(leaf).module for leaf in spec.leaf_ids} == {spec.module}, spec.name
        reached |= spec.leaf_ids
    # goods_and_services is a reference leaf that no entry kind emits into
    assert {et.id for et in tx.leaves()} - reached == {90100}
    assert KINDS["external_ai"].leaf_ids == set(range(110201, 110207))
    # Decision 14: the kinds with several leaves per entry take no override (no override leaf).
    assert {name for name, spec in KINDS.items() if spec.override_leaf is None} == {
        "member", "student", "building_room"}


def test_the_factor_link_is_declared_once_and_its_inverse_derived():
    """Entry kinds name their factor kinds; each factor kind's `recalculates` is exactly the inverse."""
    from factors.base import FACTOR_KINDS
    from modules.registry import KINDS

    inverse: dict[str, set[str]] = {name: set() for name in FACTOR_KINDS}
    for spec in KINDS.values():
        for factor_kind in spec.factor_kinds:
            inverse[factor_kind].add(spec.name)
    assert {name: set(spec.recalculates) for name, spec in FACTOR_KINDS.items()} == inverse
    assert FACTOR_KINDS["embodied_energy"].recalculates == ("building_room",)


def test_the_load_order_puts_every_kind_after_what_it_depends_on():
    from modules.registry import KINDS, load_order

    order = [spec.name for spec in load_order()]
    assert sorted(order) == sorted(KINDS)
    for spec in KINDS.values():
        assert all(order.index(dep) < order.index(spec.name) for dep in spec.depends_on), spec.name
    assert order.index("research_facility") > order.index("purchase")
