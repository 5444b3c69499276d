"""Year rollover on the demo: 2026 started from 2025 copies every factor kind, the exchange rates, the settings
and thresholds and the reduction objectives, marked copied; a second rollover is refused with nothing written;
2026 opens with nothing missing; the command, the admin's add form and action, the "copied" filter."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from carbon.models import (
    CarbonReport,
    Emission,
    ModuleSetting,
    ReductionObjective,
    SubmoduleSetting,
    UncertaintyTag,
    YearConfiguration,
)
from carbon.rollover import year_rollover
from carbon.services import year_open
from carbon.taxonomy import EntryKind, Module
from factors.base import FACTOR_KINDS
from factors.models import ExchangeRate
from reporting.campaign import year_missing
from tests.campaign import import_csv
from tests.factories import user_with_roles

ADMIN = "calco2.backoffice.admin@global"
SKIPPED = {"id", "year", "last_import_at", "updated_at", "copied_from_year"}


def values(model, year: int) -> list[tuple]:
    """Every row of a year, without its id, year and life stamps, in a stable order."""
    fields = [f.attname for f in model._meta.concrete_fields if f.attname not in SKIPPED]
    return sorted(model.objects.filter(year=year).values_list(*fields), key=repr)


def row_counts() -> dict[str, int]:
    """Rows of every table a rollover writes, history included (pg's own live counts would lag: count)."""
    models = [YearConfiguration, ModuleSetting, SubmoduleSetting, ReductionObjective, CarbonReport, ExchangeRate,
              *(spec.model for spec in FACTOR_KINDS.values())]
    found = {}
    for model in models:
        found[model._meta.label] = model.objects.count()
        found[model.history.model._meta.label] = model.history.count()
    return found


@pytest.fixture
def configured_2025(demo):
    """2025 with a non-default setting, a threshold and an objective, so that copying them is visible."""
    ModuleSetting.objects.filter(year=2025, module=Module.equipment).update(uncertainty_tag=UncertaintyTag.HIGH)
    SubmoduleSetting.objects.filter(year=2025, kind=EntryKind.plane).update(threshold=Decimal("5000"))
    SubmoduleSetting.objects.filter(year=2025, kind=EntryKind.external_ai).update(enabled=False)
    ReductionObjective.objects.create(year_id=2025, reference_year=2025, target_year=2030,
                                      reduction_percentage=Decimal("0.5"))
    return 2025


def test_rollover_copies_every_factor_kind_marked_copied(configured_2025):
    result = year_rollover(source=2025, target=2026)
    assert len(FACTOR_KINDS) == 15
    for name, spec in FACTOR_KINDS.items():
        source = values(spec.model, 2025)
        assert source, f"the demo has {name} factors"
        assert values(spec.model, 2026) == source, name
        assert result.copied[f"{name} factors"] == len(source)
        assert set(spec.model.objects.filter(year=2026).values_list("copied_from_year", flat=True)) == {2025}
        assert set(spec.model.objects.filter(year=2025).values_list("copied_from_year", flat=True)) == {None}
        reasons = set(spec.model.history.filter(year=2026).values_list("history_change_reason", flat=True))
        assert reasons == {"copied from 2025"}, name
    assert values(ExchangeRate, 2026) == values(ExchangeRate, 2025)
    assert set(ExchangeRate.objects.filter(year=2026).values_list("copied_from_year", flat=True)) == {2025}
    # settings, thresholds, objectives
    assert ModuleSetting.objects.get(year=2026, module=Module.equipment).uncertainty_tag == UncertaintyTag.HIGH
    plane = SubmoduleSetting.objects.get(year=2026, kind=EntryKind.plane)
    assert (plane.threshold, plane.copied_from_year) == (Decimal("5000"), 2025)
    assert not SubmoduleSetting.objects.get(year=2026, kind=EntryKind.external_ai).enabled
    assert set(SubmoduleSetting.objects.filter(year=2026).values_list("copied_from_year", flat=True)) == {2025}
    assert SubmoduleSetting.objects.filter(year=2026).count() == SubmoduleSetting.objects.filter(year=2025).count()
    assert set(ModuleSetting.objects.filter(year=2026).values_list("copied_from_year", flat=True)) == {2025}
    objective = ReductionObjective.objects.get(year=2026)
    assert (objective.reference_year, objective.target_year, objective.reduction_percentage,
            objective.copied_from_year) == (2025, 2030, Decimal("0.5"), 2025)
    assert plane.history.first().history_change_reason == "copied from 2025"
    # The labs' data starts empty; every active unit has its report.
    assert result.reports_created == CarbonReport.objects.filter(year=2026).count() == 24
    assert not Emission.objects.filter(year=2026).exists()


def test_copied_rows_are_still_editable_and_a_reimport_confirms_them(configured_2025, tmp_path):
    from factors.models import ProcessEmissionFactor

    year_rollover(source=2025, target=2026)
    plane = SubmoduleSetting.objects.get(year=2026, kind=EntryKind.plane)
    plane.threshold = Decimal("7000")
    plane.full_clean()
    plane.save()
    import_csv(tmp_path, "factors:process_emission", "category,ef_kg_co2eq_per_unit\nCO2,1\nCH4,29\n",
               "--year", "2026")
    rows = {f.category: f for f in ProcessEmissionFactor.objects.filter(year=2026)}
    assert (rows["CH4"].ef_kg_co2eq_per_unit, rows["CH4"].copied_from_year) == (Decimal(29), None)
    assert rows["CO2"].copied_from_year is None  # in the year's own file: confirmed
    others = [f for c, f in rows.items() if c not in {"CO2", "CH4"}]
    assert others and all(f.copied_from_year == 2025 and f.is_stale for f in others)


def test_a_second_rollover_is_refused_and_writes_nothing(configured_2025):
    year_rollover(source=2025, target=2026)
    before = row_counts()
    with pytest.raises(ValidationError, match="year 2026 already has data") as refused:
        year_rollover(source=2025, target=2026)
    message = " ".join(refused.value.messages)
    assert "settings already copied" in message and "factors of 15 kinds" in message
    assert len(message) < 400  # a short answer, not a list of every kind
    with pytest.raises(CommandError, match="already has data"):
        call_command("rollover_year", "2025", "2026", stdout=io.StringIO())
    assert row_counts() == before


def test_rollover_is_refused_for_a_year_that_is_not_the_next_one_or_has_no_source(demo):
    before = row_counts()
    with pytest.raises(ValidationError, match=r"started from the year before it \(2027 from 2026"):
        year_rollover(source=2025, target=2027)
    with pytest.raises(ValidationError, match="year 2024 does not exist"):
        year_rollover(source=2024, target=2025)
    with pytest.raises(ValidationError, match="2025 is already open"):
        year_rollover(source=2024, target=2025)
    assert row_counts() == before


def test_a_rollover_that_fails_half_way_writes_nothing(configured_2025, monkeypatch):
    from carbon import rollover

    def broken(**kwargs):
        raise RuntimeError("disk full")

    before = row_counts()
    monkeypatch.setattr(rollover, "ROLLOVER_COPIES", [*rollover.ROLLOVER_COPIES,
                                                      rollover.RolloverCopy("broken", broken, lambda t: [])])
    with pytest.raises(RuntimeError):
        year_rollover(source=2025, target=2026)
    assert row_counts() == before


def test_the_new_year_opens_with_nothing_missing(configured_2025):
    year_rollover(source=2025, target=2026)
    assert year_missing(YearConfiguration.objects.get(year=2026)) == []
    assert year_open(year=2026).is_started


def test_the_command_names_its_actor(configured_2025):
    operator = user_with_roles(ADMIN, institutional_id="900001")
    out = io.StringIO()
    call_command("rollover_year", "2025", "2026", "--actor", "900001", stdout=out)
    text = out.getvalue()
    assert "year 2026 started from 2025: 24 reports created" in text
    assert "plane factors: 6" in text and "exchange rates: " in text
    version = FACTOR_KINDS["plane"].model.history.filter(year=2026).first()
    assert version.history_user == operator
    assert version.history_change_reason == "copied from 2025; command line: rollover_year"


def test_the_admin_adds_a_year_started_from_last_year(client, configured_2025):
    admin = user_with_roles(ADMIN)
    client.force_login(admin)
    # The year's page has the button; it opens the add form with the year filled in and the box ticked.
    page = client.get(reverse("admin:carbon_yearconfiguration_change", args=[2025])).content.decode()
    add_url = reverse("admin:carbon_yearconfiguration_add") + "?year=2026"
    assert f'<a class="button" href="{add_url}">Start 2026 from 2025</a>' in page
    form = client.get(add_url).content.decode()
    assert 'name="year" value="2026"' in form
    assert re.search(r'<input type="checkbox" name="start_from_last_year"[^>]* checked', form)
    response = client.post(reverse("admin:carbon_yearconfiguration_add"),
                           {"year": "2026", "start_from_last_year": "on"}, follow=True)
    assert response.status_code == 200
    assert "2026 started from 2025: 24 reports created" in response.content.decode()
    assert FACTOR_KINDS["plane"].model.objects.filter(year=2026, copied_from_year=2025).count() == 6
    assert FACTOR_KINDS["plane"].model.history.filter(year=2026, history_user=admin).count() == 6
    # Again: refused in the form, nothing written.
    before = row_counts()
    response = client.post(reverse("admin:carbon_yearconfiguration_add"),
                           {"year": "2026", "start_from_last_year": "on"})
    assert response.status_code == 200
    assert "already has data" in response.content.decode()
    assert row_counts() == before


def test_the_admin_action_starts_the_next_year_and_the_copied_filter_lists_the_copies(client, configured_2025):
    client.force_login(user_with_roles(ADMIN))
    response = client.post(reverse("admin:carbon_yearconfiguration_changelist"),
                           {"action": "start_next_year", "_selected_action": ["2025"]}, follow=True)
    assert "2026 started from 2025" in response.content.decode()
    page = client.get(reverse("admin:factors_planefactor_changelist"), {"copied": "yes"}).content.decode()
    assert "6 plane factors" in page
    page = client.get(reverse("admin:factors_planefactor_changelist"), {"copied": "no"}).content.decode()
    assert "6 plane factors" in page  # 2025's own
    page = client.get(reverse("admin:carbon_yearconfiguration_change", args=[2026])).content.decode()
    assert "Nothing is missing" in page


def test_a_metier_cannot_roll_a_year_over(client, configured_2025):
    client.force_login(user_with_roles("calco2.backoffice.metier@affiliation:13030"))
    page = client.get(reverse("admin:carbon_yearconfiguration_change", args=[2025])).content.decode()
    assert "Start 2026 from 2025" not in page and "Nothing is missing" in page  # reads the campaign, no button
    before = row_counts()
    client.post(reverse("admin:carbon_yearconfiguration_changelist"),
                {"action": "start_next_year", "_selected_action": ["2025"]})
    client.post(reverse("admin:carbon_yearconfiguration_add"), {"year": "2026", "start_from_last_year": "on"})
    assert row_counts() == before
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM carbon_yearconfiguration WHERE year = 2026")
        assert cursor.fetchone()[0] == 0


def test_the_empty_skeleton_of_a_created_year_can_be_started_from_last_year(configured_2025):
    from carbon.services import year_create

    year_create(year=2026)  # "create year" first, as the admin did: 15 kinds missing
    assert len(year_missing(YearConfiguration.objects.get(year=2026))) == 15
    result = year_rollover(source=2025, target=2026)
    assert result.reports_created == 0  # the skeleton had them
    assert SubmoduleSetting.objects.get(year=2026, kind=EntryKind.plane).threshold == Decimal("5000")
    assert year_missing(YearConfiguration.objects.get(year=2026)) == []
