"""Admin upload flow: who may use it, what the form refuses, the preview, the queued job, the result.

The web request must never import: confirming queues a job (its dispatch is recorded, not run) and the
test then plays the worker with `run_job`.
"""

from __future__ import annotations

import csv
import io
import os
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from carbon.jobs import upload_forms, upload_views
from carbon.jobs.models import Job, JobResult, JobState, JobType, Pipeline, PipelineStatus
from carbon.jobs.runner import run_job
from carbon.models import YearConfiguration
from infra.importing import IMPORTERS
from modules.process.models import ProcessEmission
from tests.campaign import import_csv
from tests.factories import user_with_roles

FACTORS = "category,ef_kg_co2eq_per_unit\nCO2,1.5\n"
GOOD = b"unit_institutional_id,category,quantity\n" + b"".join(b"13032,CO2,%d\n" % i for i in range(1, 31))
# Row 2: not a number; row 3: unknown unit; row 4: negative; row 5: a formula.
BAD = (b"unit_institutional_id,category,quantity\n13032,CO2,1\n13032,CO2,x\n99999,CO2,2\n13032,CO2,-1\n"
       b"13032,CO2,=1+2\n13032,CO2,3\n")
BAD_ERRORS = [
    {"row": 2, "column": "quantity", "reason": "'x' is not a number"},
    {"row": 3, "column": "unit_institutional_id", "reason": "unknown unit '99999'"},
    {"row": 4, "column": "quantity", "reason": "must be ≥ 0 (got -1)"},
    {"row": 5, "column": "quantity",
     "reason": "'=1+2' looks like a spreadsheet formula (starts with '='); formulas are not accepted"},
]

ROLES = {
    "admin": "calco2.backoffice.admin@global",
    "metier": "calco2.backoffice.metier@affiliation:13030",
    "auditor": "calco2.auditor@global",
    "principal": "calco2.user.principal@unit:13032",
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Pending uploads and job files go to a private media root, never the developer's .data/."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def year_with_process_factors(year, tmp_path):
    import_csv(tmp_path, "factors:process_emission", FACTORS, "--year", "2025")


@pytest.fixture
def admin_client(client, tree):
    client.force_login(user_with_roles(ROLES["admin"]))
    return client


@pytest.fixture
def manual_queue(monkeypatch):
    """Dispatches are recorded, not run: the test plays the worker."""
    dispatched: list[int] = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, job_id, **kw: dispatched.append(job_id))
    return dispatched


def upload(client, content: bytes, *, kind="process_emission", year=2025, name="entries.csv", **fields):
    data = {"kind": kind, "year": year if year is not None else "", "file": _file(content, name), **fields}
    return client.post(reverse("upload:form"), data)


def _file(content: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="text/csv")


def pending_files() -> list[str]:
    try:
        return sorted(default_storage.listdir(upload_views.PENDING_DIR)[1])
    except FileNotFoundError:
        return []


def read_csv_response(response) -> list[dict]:
    text = b"".join(response.streaming_content if response.streaming else [response.content]).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def drain(dispatched: list[int]) -> None:
    """The worker: run every dispatched job (follow-ups are dispatched as they are chained)."""
    while dispatched:
        run_job(dispatched.pop(0))


# --- access ---------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("role", [*ROLES, "anonymous"])
def test_only_backoffice_admins_may_upload(client, tree, role):
    pipeline = Pipeline.objects.create(kind="units")
    if role != "anonymous":
        client.force_login(user_with_roles(ROLES[role]))
    urls = [reverse("upload:form"), reverse("upload:progress", args=[pipeline.pk]),
            reverse("upload:errors", args=[pipeline.pk]),
            reverse("upload:preview", args=["00000000-0000-0000-0000-000000000000"])]
    for url in urls:
        response = client.get(url)
        if role == "admin":
            assert response.status_code == (404 if "0000" in url else 200), url
        elif role == "anonymous":
            assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login")), url
        else:
            assert response.status_code == 403, url
            assert b"Traceback" not in response.content and b"pipeline" not in response.content.lower()
    # A refused user cannot post a file either.
    if role != "admin":
        response = upload(client, GOOD)
        assert response.status_code in {302, 403}
        assert not pending_files() and not Pipeline.objects.exclude(pk=pipeline.pk).exists()


@pytest.mark.django_db
def test_form_offers_every_import_kind_grouped(admin_client, year_with_process_factors):
    response = admin_client.get(reverse("upload:form"))
    assert response.status_code == 200
    html = response.content.decode()
    for group in ("Reference data", "Factors (per year)", "Per-year entries"):
        assert f'<optgroup label="{group}">' in html
    for name in IMPORTERS:
        assert f'value="{name}"' in html
    assert '<div class="breadcrumbs">' in html and "admin/css/base.css" in html  # the admin look


# --- refusals -------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_year_not_configured_is_refused(admin_client, year_with_process_factors):
    YearConfiguration.objects.create(year=2026)  # created, configuration not completed
    response = upload(admin_client, GOOD, kind="factors:process_emission", year=2026)
    assert response.status_code == 200
    assert "Year 2026 is not configured yet: create it first" in response.content.decode()
    assert not pending_files() and not Pipeline.objects.exists()


@pytest.mark.django_db
def test_year_required_for_per_year_kinds_and_ignored_for_reference_data(admin_client, year_with_process_factors):
    response = upload(admin_client, GOOD, year=None)
    assert "process_emission files are per year: choose the year." in response.content.decode()
    response = upload(admin_client, b"institutional_code,name,level\n99,X,1\n", kind="units", year=2025)
    assert response.status_code == 302
    token = response["Location"].rstrip("/").split("/")[-1]
    assert admin_client.session[upload_views.SESSION_KEY][token]["year"] is None


@pytest.mark.django_db
def test_unit_file_only_for_entry_kinds_and_known_units(admin_client, year_with_process_factors):
    response = upload(admin_client, GOOD, kind="factors:process_emission", unit_cf="13032")
    assert "only per-year entry kinds accept a unit file" in response.content.decode()
    response = upload(admin_client, b"category,quantity\nCO2,1\n", unit_cf="nope")
    assert "Unknown unit cf &#x27;nope&#x27;." in response.content.decode()
    response = upload(admin_client, b"category,quantity\nCO2,1\n", unit_cf="13032")
    assert response.status_code == 302
    preview = admin_client.get(response["Location"])
    assert "unit file of 13032" in preview.content.decode() and preview.context["result"]["created"] == 1


@pytest.mark.django_db
def test_too_large_files_are_refused(admin_client, year_with_process_factors, monkeypatch):
    # Within the multipart allowance: the form measures the file.
    monkeypatch.setattr(upload_forms, "MAX_UPLOAD_BYTES", 100)
    response = upload(admin_client, GOOD)
    assert response.status_code == 200 and "The file is larger than 100" in response.content.decode()
    # Far above: refused from the Content-Length header, before the body is parsed.
    monkeypatch.setattr(upload_views, "UPLOAD_OVERHEAD_BYTES", 10)
    response = upload(admin_client, GOOD)
    assert response.status_code == 413 and "The file is larger than 100" in response.content.decode()
    assert not pending_files()


@pytest.mark.django_db
def test_a_workbook_is_not_a_csv(admin_client, year_with_process_factors):
    response = upload(admin_client, b"PK\x03\x04 rest of a zip", name="entries.xlsx")
    assert "save it as CSV" in response.content.decode()


# --- preview --------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_preview_lists_every_row_error_and_disables_confirm(admin_client, year_with_process_factors):
    response = upload(admin_client, BAD)
    assert response.status_code == 302
    token = response["Location"].rstrip("/").split("/")[-1]
    assert pending_files() == [f"{token}.csv", f"{token}.json"]  # shared storage, not /tmp
    preview = admin_client.get(response["Location"])
    assert preview.status_code == 200
    assert list(preview.context["errors_page"]) == BAD_ERRORS
    assert preview.context["result"]["rows_read"] == 6 and preview.context["error_rows"] == 4
    html = preview.content.decode()
    assert "&#x27;x&#x27; is not a number" in html and "unknown unit &#x27;99999&#x27;" in html
    assert 'id="upload-confirm" disabled' in html
    # The preview's rows are the file's, as read (the formula is shown as text, escaped).
    assert [number for number, _ in preview.context["rows"]] == [1, 2, 3, 4, 5, 6]
    assert preview.context["header"] == ["unit_institutional_id", "category", "quantity"]
    # Errors as CSV, sanitised.
    rows = read_csv_response(admin_client.get(reverse("upload:preview_errors", args=[token])))
    assert [(int(r["row"]), r["column"], r["reason"]) for r in rows] == [
        (e["row"], e["column"], e["reason"]) for e in BAD_ERRORS]
    from audit.models import AuditEvent

    download = AuditEvent.objects.get(action="downloaded")  # a list of what people typed: recorded
    assert (download.details["list"], download.details["rows"]) == ("upload preview errors", len(BAD_ERRORS))
    # The server refuses the confirm too (not only the disabled button).
    response = admin_client.post(reverse("upload:confirm", args=[token]))
    assert response.status_code == 302 and response["Location"] == reverse("upload:preview", args=[token])
    assert not Pipeline.objects.exists() and not ProcessEmission.objects.exists()


@pytest.mark.django_db
def test_preview_shows_the_first_twenty_rows_and_writes_nothing(admin_client, year_with_process_factors):
    response = upload(admin_client, GOOD)
    preview = admin_client.get(response["Location"])
    assert [number for number, _ in preview.context["rows"]] == list(range(1, 21))
    assert preview.context["rows"][0][1] == ["13032", "CO2", "1"]
    assert preview.context["result"]["created"] == 30 and not preview.context["blocking"]
    assert not ProcessEmission.objects.exists()
    assert 'id="upload-confirm" disabled' not in preview.content.decode()


@pytest.mark.django_db
def test_skip_invalid_lets_a_file_with_row_errors_through(admin_client, year_with_process_factors):
    response = upload(admin_client, BAD, skip_invalid="on")
    preview = admin_client.get(response["Location"])
    assert not preview.context["blocking"] and preview.context["result"]["created"] == 2


@pytest.mark.django_db
def test_file_level_errors_block_even_with_skip_invalid(admin_client, year_with_process_factors):
    response = upload(admin_client, b"unit_institutional_id,category,quantiy\n13032,CO2,1\n", skip_invalid="on")
    preview = admin_client.get(response["Location"])
    assert "looks like a misspelling of &#x27;quantity&#x27;" in preview.content.decode()
    assert preview.context["blocking"]


@pytest.mark.django_db
def test_an_upload_belongs_to_its_session(admin_client, client, year_with_process_factors):
    response = upload(admin_client, GOOD)
    token = response["Location"].rstrip("/").split("/")[-1]
    other = client.__class__()
    other.force_login(user_with_roles(ROLES["admin"]))
    assert other.get(reverse("upload:preview", args=[token])).status_code == 404
    assert other.post(reverse("upload:confirm", args=[token])).status_code == 404
    assert not Pipeline.objects.exists()


@pytest.mark.django_db
def test_cancel_deletes_the_stored_file(admin_client, year_with_process_factors):
    response = upload(admin_client, GOOD)
    token = response["Location"].rstrip("/").split("/")[-1]
    response = admin_client.post(reverse("upload:cancel", args=[token]))
    assert response.status_code == 302 and response["Location"] == reverse("upload:form")
    assert not pending_files() and not Pipeline.objects.exists()
    assert admin_client.get(reverse("upload:preview", args=[token])).status_code == 404


@pytest.mark.django_db
def test_a_second_confirm_of_the_same_upload_queues_nothing(admin_client, year_with_process_factors):
    """What a double submit's second request sees once the first committed (serialised by a lock)."""
    response = upload(admin_client, GOOD)
    token = response["Location"].rstrip("/").split("/")[-1]
    default_storage.delete(f"{upload_views.PENDING_DIR}/{token}.csv")
    response = admin_client.post(reverse("upload:confirm", args=[token]))
    assert response.status_code == 302 and response["Location"] == reverse("upload:form")
    assert not Pipeline.objects.exists() and not pending_files()


@pytest.mark.django_db
def test_abandoned_pending_files_are_pruned(admin_client, year_with_process_factors):
    stale = default_storage.save(f"{upload_views.PENDING_DIR}/old.csv", io.BytesIO(b"x"))
    old = (timezone.now() - timedelta(days=2)).timestamp()
    os.utime(default_storage.path(stale), (old, old))
    upload(admin_client, GOOD)
    assert "old.csv" not in pending_files() and len(pending_files()) == 2


# --- confirm → queued job → worker → result ------------------------------------------------------
# Transactional: the confirm's dispatch happens on commit, and the job claims through the `jobs` connection.
@pytest.mark.django_db(transaction=True, databases=["default", "jobs"])
def test_confirm_queues_a_job_and_never_runs_it_in_the_request(admin_client, year_with_process_factors, manual_queue):
    response = upload(admin_client, GOOD)
    token = response["Location"].rstrip("/").split("/")[-1]
    response = admin_client.post(reverse("upload:confirm", args=[token]))
    pipeline = Pipeline.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("upload:progress", args=[pipeline.pk])
    job = pipeline.jobs.get()
    assert (job.job_type, job.kind, job.year, job.state, job.options) == (
        JobType.IMPORT, "process_emission", 2025, JobState.QUEUED, {"skip_invalid": False, "allow_empty": False})
    assert job.file.read() == GOOD and job.file_name == "entries.csv"
    assert manual_queue == [job.pk]  # handed to the queue, on commit
    assert not ProcessEmission.objects.exists()  # and not run here
    assert not pending_files() and token not in admin_client.session.get(upload_views.SESSION_KEY, {})

    page = admin_client.get(reverse("upload:progress", args=[pipeline.pk]))
    html = page.content.decode()
    assert '<meta http-equiv="refresh" content="2">' in html
    assert "1/3: import" in html and "Not started" in html
    assert page.context["rows_total"] == 30 and page.context["rows_estimated"]  # estimated from the file
    assert reverse("admin:index") + f"carbon/pipeline/{pipeline.pk}/change/" in html

    drain(manual_queue)
    pipeline.refresh_from_db()
    assert pipeline.status == PipelineStatus.SUCCESS and ProcessEmission.objects.count() == 30
    page = admin_client.get(reverse("upload:progress", args=[pipeline.pk]))
    html = page.content.decode()
    assert 'http-equiv="refresh"' not in html and 'id="upload-result"' in html
    assert page.context["summary"]["created"] == 30 and page.context["summary"]["rows_read"] == 30
    assert "process_emission: 30 rows read, added 30" in html
    # A second confirm of the same upload finds nothing to confirm.
    assert admin_client.post(reverse("upload:confirm", args=[token])).status_code == 404
    assert Pipeline.objects.count() == 1


@pytest.mark.django_db(transaction=True, databases=["default", "jobs"])
def test_a_large_file_is_validated_by_the_worker_and_its_errors_download(admin_client, year_with_process_factors,
                                                                         manual_queue, monkeypatch):
    monkeypatch.setattr(upload_views, "VALIDATE_IN_REQUEST_BYTES", 10)
    response = upload(admin_client, BAD)
    preview = admin_client.get(response["Location"])
    html = preview.content.decode()
    assert "every row will be validated by the worker; errors will be listed on the result page" in html
    assert not preview.context["blocking"] and len(preview.context["rows"]) == 6
    admin_client.post(reverse("upload:confirm", args=[response["Location"].rstrip("/").split("/")[-1]]))
    pipeline = Pipeline.objects.get()
    assert not ProcessEmission.objects.exists()
    drain(manual_queue)
    pipeline.refresh_from_db()
    assert pipeline.status == PipelineStatus.FAILED and not ProcessEmission.objects.exists()

    page = admin_client.get(reverse("upload:progress", args=[pipeline.pk]))
    html = page.content.decode()
    assert 'http-equiv="refresh"' not in html and "Failed" in html
    assert "nothing imported: 4 row errors" in html
    assert [(e["row"], e["column"], e["reason"]) for e in page.context["errors_page"]] == [
        (e["row"], e["column"], e["reason"]) for e in BAD_ERRORS]
    rows = read_csv_response(admin_client.get(reverse("upload:errors", args=[pipeline.pk])))
    job = pipeline.jobs.get()
    assert [{k: r[k] for k in ("job", "kind", "row", "column", "reason")} for r in rows] == [
        {"job": str(job.pk), "kind": "process_emission", "row": str(e["row"]), "column": e["column"],
         "reason": e["reason"]} for e in BAD_ERRORS]


@pytest.mark.django_db
def test_errors_csv_covers_every_job_and_sanitises_cells(admin_client):
    pipeline = Pipeline.objects.create(kind="factors:plane", year=2025, status=PipelineStatus.PARTIAL)
    Job.objects.create(pipeline=pipeline, job_type=JobType.IMPORT, kind="factors:plane", state=JobState.FINISHED,
                       result=JobResult.WARNING, errors=[{"row": 7, "column": "=cmd|' /C calc'!A0", "reason": "bad"}])
    Job.objects.create(pipeline=pipeline, job_type=JobType.RECALC, kind="plane", state=JobState.FINISHED,
                       result=JobResult.ERROR, errors=[{"row": None, "column": None, "reason": "@SUM(1)"}])
    response = admin_client.get(reverse("upload:errors", args=[pipeline.pk]))
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="pipeline-{pipeline.pk}-errors.csv"' in response["Content-Disposition"]
    rows = read_csv_response(response)
    assert [(r["job_type"], r["row"], r["column"], r["reason"]) for r in rows] == [
        ("import", "7", "'=cmd|' /C calc'!A0", "bad"), ("recalc", "", "", "'@SUM(1)")]
    page = admin_client.get(reverse("upload:progress", args=[pipeline.pk]))
    assert page.context["errors_count"] == 2 and 'id="upload-result"' in page.content.decode()


@pytest.mark.django_db
def test_long_error_lists_are_paginated_not_truncated(admin_client, monkeypatch):
    monkeypatch.setattr(upload_views, "PAGE_SIZE", 2)
    pipeline = Pipeline.objects.create(kind="units", status=PipelineStatus.FAILED)
    Job.objects.create(pipeline=pipeline, job_type=JobType.IMPORT, kind="units", state=JobState.FINISHED,
                       result=JobResult.ERROR, errors=[{"row": n, "column": "x", "reason": "r"} for n in range(1, 6)])
    url = reverse("upload:progress", args=[pipeline.pk])
    pages = [admin_client.get(f"{url}?errors_page={n}").context["errors_page"] for n in (1, 2, 3)]
    seen = [e["row"] for page in pages for e in page]
    assert seen == [1, 2, 3, 4, 5]
    assert len(read_csv_response(admin_client.get(reverse("upload:errors", args=[pipeline.pk])))) == 5

