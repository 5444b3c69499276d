"""The scoping function against the reference's back-office scoping table (reference-permissions §5.4)."""

import pytest

from tests.factories import UnitFactory, UserFactory, user_with_roles
from units.scoping import Action, can, clamp, unit_scope, units_for

ADMIN = "calco2.backoffice.admin@global"
METIER = "calco2.backoffice.metier@affiliation:{}"
PRINCIPAL = "calco2.user.principal@unit:{}"
STANDARD = "calco2.user.standard@own:{}"
AUDITOR = "calco2.auditor@affiliation:{}"


def names(queryset):
    return sorted(queryset.values_list("name", flat=True))


ALL = ["ENAC", "EPFL", "IT4R", "SG", "STI", "STI-INST", "STI-LAB"]


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        ([ADMIN], ALL),
        ([METIER.format("13030")], ["ENAC", "IT4R", "SG"]),
        ([METIER.format("99999")], []),  # an absent cf gives nothing
        ([METIER.format("13030"), METIER.format("14000")], ["ENAC", "IT4R", "SG", "STI", "STI-INST", "STI-LAB"]),
        ([METIER.format("13032")], ["IT4R"]),  # a leaf anchor is its own subtree
        ([STANDARD.format("13032")], []),  # lab roles give no reporting scope
        ([PRINCIPAL.format("13032")], []),
        ([], []),
    ],
    ids=["superadmin", "enac", "absent-cf", "enac+sti", "leaf-anchor", "std", "principal", "no-roles"],
)
def test_reporting_scope_matches_reference_table(tree, roles, expected):
    user = user_with_roles(*roles)
    assert names(units_for(user, Action.REPORT)) == expected


def test_whole_token_match_142_is_not_1420(db):
    root = UnitFactory(institutional_code="1", name="ROOT")
    a = UnitFactory(institutional_code="142", institutional_id="142", name="A", parent=root)
    b = UnitFactory(institutional_code="1420", institutional_id="1420", name="B", parent=root)
    UnitFactory(institutional_code="14201", name="B-CHILD", parent=b)
    UnitFactory(institutional_code="9142", name="A-LOOKALIKE", parent=root)
    UnitFactory(institutional_code="1421", name="A-CHILD", parent=a)
    user = user_with_roles(METIER.format("142"))
    assert names(units_for(user, Action.REPORT)) == ["A", "A-CHILD"]


def test_clamp_never_widens_a_scoped_caller(tree):
    enac_metier = user_with_roles(METIER.format("13030"))
    sti_metier = user_with_roles(METIER.format("14000"))
    admin = user_with_roles(ADMIN)
    # Filters select units; a scoped caller gets scope ∩ filters.
    assert names(clamp(enac_metier, Action.REPORT, lab_cfs=["14011"])) == []
    assert names(clamp(enac_metier, Action.REPORT, lab_cfs=["13032"])) == ["IT4R"]
    assert names(clamp(enac_metier, Action.REPORT, affiliation_cfs=["14000"])) == []
    assert names(clamp(sti_metier, Action.REPORT, affiliation_cfs=["14000"])) == ["STI", "STI-INST", "STI-LAB"]
    assert names(clamp(admin, Action.REPORT, affiliation_cfs=["13100"])) == ["IT4R", "SG"]
    assert names(clamp(admin, Action.REPORT)) == ALL
    assert names(clamp(enac_metier, Action.REPORT)) == ["ENAC", "IT4R", "SG"]


def test_lab_scope_is_the_unit_itself(tree):
    principal = user_with_roles(PRINCIPAL.format("13100"))  # a principal on an institute
    assert names(units_for(principal, Action.EDIT_LAB)) == ["SG"]
    assert can(principal, Action.VALIDATE, tree["sg"])
    assert not can(principal, Action.VALIDATE, tree["it4r"])


def test_standard_is_own_rows_only_unless_also_principal(tree):
    std = user_with_roles(STANDARD.format("13032"))
    scope = unit_scope(std, Action.EDIT_LAB)
    assert scope.is_own_only(tree["it4r"])
    assert not unit_scope(std, Action.VALIDATE).contains(tree["it4r"])
    both = user_with_roles(STANDARD.format("13032"), PRINCIPAL.format("13032"))
    assert not unit_scope(both, Action.EDIT_LAB).is_own_only(tree["it4r"])


def test_unknown_action_and_anonymous_deny(tree):
    admin = user_with_roles(ADMIN)
    assert unit_scope(admin, "delete_everything").is_empty
    from django.contrib.auth.models import AnonymousUser

    assert unit_scope(AnonymousUser(), Action.REPORT).is_empty


def test_inactive_user_has_no_scope(tree):
    user = user_with_roles(ADMIN)
    user.is_active = False
    assert unit_scope(user, Action.REPORT).is_empty


def test_auditor_scope(tree):
    auditor = user_with_roles(AUDITOR.format("14000"))
    assert names(units_for(auditor, Action.AUDIT)) == ["STI", "STI-INST", "STI-LAB"]
    assert names(units_for(auditor, Action.REPORT)) == []
    global_auditor = user_with_roles("calco2.auditor@global")
    assert names(units_for(global_auditor, Action.AUDIT)) == ALL
    assert names(units_for(UserFactory(), Action.AUDIT)) == []
