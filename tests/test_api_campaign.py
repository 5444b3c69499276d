"""Job progress and upload templates through the API."""

import pytest

from carbon.jobs.services import import_enqueue
from infra.importing import ImportRequest, get_importer
from tests.factories import user_with_roles

pytestmark = pytest.mark.django_db  # no job runs here (dispatch is stubbed): nothing reads through `jobs`


@pytest.fixture
def pipeline(year, monkeypatch):
    monkeypatch.setattr("django_q.tasks.async_task", lambda *a, **k: None)
    owner = user_with_roles("calco2.user.principal@unit:13032")
    pipeline = import_enqueue(kind="process_emission", content=b"category,quantity\nCO2,1\n", file_name="p.csv",
                              year=2025, unit_cf="13032", actor=owner)
    return pipeline, owner


def test_job_progress_visible_to_its_owner_and_admins_only(client, pipeline):
    pipeline, owner = pipeline
    job = pipeline.jobs.get()
    url = f"/api/v1/jobs/{job.pk}/"
    assert client.get(url).status_code == 403
    client.force_login(owner)
    body = client.get(url).json()
    assert (body["state"], body["kind"], body["pipeline_status"]) == ("queued", "process_emission", "not_started")
    client.force_login(user_with_roles("calco2.user.principal@unit:14011"))
    assert client.get(url).status_code == 404
    client.force_login(user_with_roles("calco2.backoffice.admin@global"))
    assert client.get(url).status_code == 200
    assert client.get("/api/v1/jobs/999999/").status_code == 404


@pytest.mark.parametrize("kind", ["plane", "member", "purchase", "external_ai", "building_room"])
def test_templates_have_the_importer_columns_and_import_cleanly(client, year, kind):
    client.force_login(user_with_roles("calco2.user.principal@unit:13032"))
    response = client.get(f"/api/v1/templates/{kind}.csv")
    assert response.status_code == 200
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff#")
    outcome = get_importer(kind).run(ImportRequest(source=response.content, year=2025, unit_cf="13032",
                                                   dry_run=True))
    assert (outcome.errors, outcome.rows_read) == ([], 0)  # header + comments only: a valid, empty file
    assert client.get("/api/v1/templates/nope.csv").status_code == 404
