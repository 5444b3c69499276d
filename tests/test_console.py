"""The campaign view of a year, factor edits that recalculate, and the pipelines console."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from carbon.jobs.models import Job, JobResult, JobState, JobType, Pipeline
from carbon.jobs.runner import run_job
from carbon.jobs.services import import_enqueue
from carbon.models import ModuleReport, ModuleSetting, ModuleStatus, RecalculationState, YearConfiguration
from carbon.taxonomy import Module
from tests.campaign import import_csv, kg
from tests.factories import user_with_roles

pytestmark = pytest.mark.django_db
# Running a job (run_job, abort, recover) claims and reports through the `jobs` connection, which must see
# the test's rows: those tests commit for real (transactional); the pages alone roll back.
jobs_db = pytest.mark.django_db(transaction=True, databases=["default", "jobs"])
ADMIN = "calco2.backoffice.admin@global"


@pytest.fixture
def manual_queue(monkeypatch):
    dispatched: list[int] = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, job_id, **kw: dispatched.append(job_id))
    return dispatched


def drain(dispatched: list[int]) -> None:
    """Play the worker: run every dispatched job (and the jobs they chain) until none is left."""
    while dispatched:
        run_job(dispatched.pop(0))


@pytest.fixture
def year_with_process_module_only(year):
    ModuleSetting.objects.filter(year=2025).exclude(module=Module.process_emissions).update(enabled=False)
    return YearConfiguration.objects.get(year=2025)


def test_campaign_view_shows_missing_factors_and_open_is_refused(client, year_with_process_module_only, tmp_path):
    client.force_login(user_with_roles(ADMIN))
    page = client.get(reverse("admin:carbon_yearconfiguration_change", args=[2025])).content.decode()
    assert "No process emission factors for 2025 — upload them." in page
    response = client.post(reverse("admin:carbon_yearconfiguration_changelist"),
                           {"action": "open_selected_years", "_selected_action": ["2025"]}, follow=True)
    assert "cannot be opened" in response.content.decode()
    assert not YearConfiguration.objects.get(year=2025).is_started
    import_csv(tmp_path, "factors:process_emission", "category,ef_kg_co2eq_per_unit\nCO2,1\n", "--year", "2025")
    page = client.get(reverse("admin:carbon_yearconfiguration_change", args=[2025])).content.decode()
    assert "Nothing is missing" in page
    client.post(reverse("admin:carbon_yearconfiguration_changelist"),
                {"action": "open_selected_years", "_selected_action": ["2025"]})
    assert YearConfiguration.objects.get(year=2025).is_started


@jobs_db
def test_factor_edit_in_the_admin_queues_a_recalculation(client, year_with_process_module_only, tmp_path, manual_queue):
    from factors.models import ProcessEmissionFactor

    import_csv(tmp_path, "factors:process_emission", "category,ef_kg_co2eq_per_unit\nCO2,1.5\n", "--year", "2025")
    import_csv(tmp_path, "process_emission", "unit_institutional_id,category,quantity\n13032,CO2,100\n",
               "--year", "2025")
    module = ModuleReport.objects.get(report__unit__institutional_id="13032", report__year=2025, module=8)
    ModuleReport.objects.filter(pk=module.pk).update(status=ModuleStatus.VALIDATED)
    factor = ProcessEmissionFactor.objects.get()
    admin = user_with_roles(ADMIN)
    client.force_login(admin)
    url = reverse("admin:factors_processemissionfactor_change", args=[factor.pk])
    response = client.post(url, {"year": 2025, "category": "CO2", "subcategory": "", "unit": "",
                                 "ef_kg_co2eq_per_unit": "3"})
    assert response.status_code == 302, response.content.decode()[:3000]
    state = RecalculationState.objects.get(year=2025, kind="process_emission")
    assert state.needs_recalculation
    assert kg() == Decimal("150")  # the web request did not recompute
    drain(manual_queue)
    state.refresh_from_db()
    assert not state.needs_recalculation and state.entries_recalculated == 1
    assert kg() == Decimal("300")
    module.refresh_from_db()
    assert module.status == ModuleStatus.VALIDATED and module.stats["total"] == "300.000000"
    assert state.history.filter(history_user=admin).exists()


@jobs_db
def test_console_lists_filters_aborts_and_recovers(client, year_with_process_module_only, manual_queue):
    pipeline = import_enqueue(kind="process_emission", content=b"unit_institutional_id,category,quantity\n",
                              file_name="p.csv", year=2025)
    job = pipeline.jobs.get()
    admin = user_with_roles(ADMIN)
    client.force_login(admin)
    listing = client.get(reverse("admin:carbon_pipeline_changelist") + "?status__exact=not_started")
    assert listing.status_code == 200 and f">{pipeline.pk}<" in listing.content.decode()
    detail = client.get(reverse("admin:carbon_pipeline_change", args=[pipeline.pk])).content.decode()
    assert "process_emission" in detail and f"#{job.pk}" in detail
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, locked_by="dead", attempts=1,
                                         heartbeat_at=timezone.now() - timedelta(hours=1))
    manual_queue.clear()
    client.post(reverse("admin:carbon_job_changelist"), {"action": "recover_jobs", "_selected_action": [job.pk]})
    job.refresh_from_db()
    assert job.state == JobState.QUEUED and manual_queue == [job.pk]
    client.post(reverse("admin:carbon_pipeline_changelist"),
                {"action": "abort_pipelines", "_selected_action": [pipeline.pk]})
    job.refresh_from_db()
    assert (job.state, job.result, job.status_message) == (JobState.FINISHED, JobResult.ERROR,
                                                           f"Aborted by {admin.institutional_id}")
    assert Pipeline.objects.get(pk=pipeline.pk).status == "failed"
    assert client.get(reverse("admin:carbon_worker_changelist")).status_code == 200


@pytest.mark.parametrize("claim", ["calco2.backoffice.metier@affiliation:13030", "calco2.auditor@global"])
def test_console_is_for_back_office_admins_only(client, year_with_process_module_only, claim):
    client.force_login(user_with_roles(claim))
    assert client.get(reverse("admin:carbon_pipeline_changelist")).status_code == 403
    assert client.get(reverse("admin:carbon_job_changelist")).status_code == 403


@jobs_db
def test_recalculation_jobs_are_listed_with_their_types(year_with_process_module_only, manual_queue, tmp_path):
    import_csv(tmp_path, "factors:process_emission", "category,ef_kg_co2eq_per_unit\nCO2,1\n", "--year", "2025")
    pipeline = import_enqueue(kind="factors:process_emission", content=b"category,ef_kg_co2eq_per_unit\nCO2,2\n",
                              file_name="f.csv", year=2025)
    drain(manual_queue)
    assert [j.job_type for j in pipeline.jobs.order_by("pk")] == [JobType.IMPORT, JobType.RECALC, JobType.AGGREGATE]


@jobs_db
def test_console_and_status_agree_at_every_phase(client, year_with_process_module_only, manual_queue, tmp_path):
    from carbon.jobs.services import phase_of

    import_csv(tmp_path, "factors:process_emission", "category,ef_kg_co2eq_per_unit\nCO2,1\n", "--year", "2025")
    pipeline = import_enqueue(kind="factors:process_emission", content=b"category,ef_kg_co2eq_per_unit\nCO2,2\n",
                              file_name="f.csv", year=2025)
    client.force_login(user_with_roles(ADMIN))

    def seen():
        pipeline.refresh_from_db()
        page = client.get(reverse("upload:progress", args=[pipeline.pk])).content.decode()
        listing = client.get(reverse("admin:carbon_pipeline_changelist")).content.decode()
        return pipeline.status, phase_of(pipeline), page, listing

    status, phase, page, listing = seen()
    assert (status, phase) == ("not_started", (1, 3))
    assert "1/3" in listing
    run_job(manual_queue.pop(0))  # the import; it queues the recalculation
    status, phase, page, listing = seen()
    assert (status, phase) == ("running", (2, 3)) and "2/3" in listing
    run_job(manual_queue.pop(0))  # the recalculation; it queues the aggregation
    status, phase, page, listing = seen()
    assert (status, phase) == ("running", (3, 3)) and "3/3" in listing
    run_job(manual_queue.pop(0))  # the statistics
    status, phase, page, listing = seen()
    assert status == "success" and "3/3" in listing
    assert 'http-equiv="refresh"' not in page  # done: the page stops refreshing itself


@pytest.mark.parametrize(("claim", "shown"), [(ADMIN, True), ("calco2.backoffice.metier@affiliation:13030", False)])
def test_campaign_links_on_the_admin_index_only_for_admins(client, year_with_process_module_only, claim, shown):
    client.force_login(user_with_roles(claim))
    page = client.get(reverse("admin:index")).content.decode()
    assert ("Upload a file" in page) is shown
