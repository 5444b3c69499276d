"""Years: create_year makes every active unit's report with eight module reports; open_year rules."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from carbon.models import CarbonReport, ModuleReport, ModuleSetting, SubmoduleSetting, YearConfiguration
from carbon.services import year_create, year_open
from carbon.taxonomy import EntryKind, Module
from tests.factories import UnitFactory, user_with_roles


def test_create_year_makes_reports_for_every_active_unit(tree):
    UnitFactory(name="CLOSED", parent=tree["sg"], is_active=False)
    call_command("create_year", "2025")
    config = YearConfiguration.objects.get(year=2025)
    assert config.configuration_completed is not None
    assert not config.is_started
    assert CarbonReport.objects.filter(year=2025).count() == 7
    assert ModuleReport.objects.filter(report__year=2025).count() == 7 * 8
    assert set(ModuleSetting.objects.filter(year=2025).values_list("module", flat=True)) == {m.value for m in Module}
    assert not SubmoduleSetting.objects.filter(year=2025, kind=EntryKind.building_embodied_energy).exists()
    report = CarbonReport.objects.get(year=2025, unit=tree["it4r"])
    assert report.completion_progress == "0/8"


def test_create_year_is_idempotent_and_adds_new_units(tree):
    year_create(year=2025)
    UnitFactory(name="NEW", parent=tree["sg"])
    result = year_create(year=2025)
    assert result.reports_created == 1
    assert CarbonReport.objects.filter(year=2025).count() == 8
    assert ModuleReport.objects.filter(report__year=2025).count() == 8 * 8


def test_open_year_requires_completed_configuration(db):
    YearConfiguration.objects.create(year=2030)
    with pytest.raises(ValidationError, match="not completed"):
        year_open(year=2030)
    with pytest.raises(CommandError, match="does not exist"):
        call_command("open_year", "2031")
    year_create(year=2030)
    with pytest.raises(CommandError, match="things are missing: No member factors for 2030 — upload them"):
        call_command("open_year", "2030")  # no factors yet: every enabled module is incomplete
    ModuleSetting.objects.filter(year=2030).update(enabled=False)  # disabled modules are never incomplete
    call_command("open_year", "2030")
    assert YearConfiguration.objects.get(year=2030).is_started


def test_thresholds_are_validated_in_the_database(db):
    year_create(year=2025)
    plane = SubmoduleSetting.objects.get(year=2025, kind=EntryKind.plane)
    plane.threshold = -1
    with pytest.raises(IntegrityError), transaction.atomic():
        plane.save()
    member = SubmoduleSetting.objects.get(year=2025, kind=EntryKind.member)
    member.threshold = 10
    with pytest.raises(ValidationError, match="Headcount has no threshold"):
        member.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        member.save()


def test_admin_creates_and_opens_a_year(client, tree):
    admin = user_with_roles("calco2.backoffice.admin@global")
    client.force_login(admin)
    response = client.post(reverse("admin:carbon_yearconfiguration_add"), {"year": "2026"})
    assert response.status_code == 302
    assert CarbonReport.objects.filter(year=2026).count() == 7
    ModuleSetting.objects.filter(year=2026).update(enabled=False)  # nothing mandatory left
    response = client.post(reverse("admin:carbon_yearconfiguration_changelist"),
                           {"action": "open_selected_years", "_selected_action": ["2026"]})
    assert response.status_code == 302
    config = YearConfiguration.objects.get(year=2026)
    assert config.is_started
    assert config.history.filter(history_user=admin).exists()


def test_admin_rejects_threshold_on_headcount(client, tree):
    year_create(year=2025)
    client.force_login(user_with_roles("calco2.backoffice.admin@global"))
    url = reverse("admin:carbon_yearconfiguration_change", args=[2025])
    page = client.get(url)
    data = _form_data(page.context["adminform"].form, page.context["inline_admin_formsets"])
    member_index = next(i for i, s in enumerate(SubmoduleSetting.objects.filter(year=2025).order_by("kind"))
                        if s.kind == EntryKind.member)
    data[f"submodule_settings-{member_index}-threshold"] = "5"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Headcount has no threshold" in response.content.decode()
    assert SubmoduleSetting.objects.get(year=2025, kind=EntryKind.member).threshold is None


def test_metier_sees_years_but_cannot_change_them(client, tree):
    year_create(year=2025)
    client.force_login(user_with_roles("calco2.backoffice.metier@affiliation:13030"))
    assert client.get(reverse("admin:carbon_yearconfiguration_changelist")).status_code == 200
    assert client.post(reverse("admin:carbon_yearconfiguration_add"), {"year": "2027"}).status_code == 403
    assert not YearConfiguration.objects.filter(year=2027).exists()


def _form_data(form, inline_formsets):
    data = {}
    for bound in form:
        if bound.value() is not None:
            data[bound.html_name] = bound.value()
    for inline in inline_formsets:
        formset = inline.formset
        mgmt = formset.management_form
        for field in mgmt:
            data[field.html_name] = field.value()
        for sub in formset.forms:
            for bound in sub:
                value = bound.value()
                if value is None or value is False:
                    continue
                data[bound.html_name] = "on" if value is True else value
    return data
