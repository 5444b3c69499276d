"""Browser: upload → preview (errors, Confirm disabled) → cancel → upload with skip invalid → confirm →
progress (queued, refreshing itself) → a worker runs the job → result, errors downloaded as CSV.

The worker is a thread polling the job table and calling `run_job`, like a django-q2 worker would; it
starts only after the progress page has shown the job queued, so the page is seen before and after.
"""

import csv
import io
from pathlib import Path

import pytest

from carbon.jobs.models import JobState, Pipeline, PipelineStatus
from modules.process.models import ProcessEmission
from tests.browser import Worker, page  # noqa: F401  (fixture)
from tests.campaign import import_csv
from tests.factories import user_with_roles
from units.models import Provider

# Transactional: the live server answers the browser from its own thread and connection.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, databases=["default", "jobs"])]

BAD = (b"unit_institutional_id,category,quantity\n13032,CO2,1\n13032,CO2,x\n99999,CO2,2\n13032,CO2,-1\n"
       b"13032,CO2,=1+2\n13032,CO2,3\n")


@pytest.fixture
def worker(monkeypatch):
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kwargs: None)  # the thread is the queue
    thread = Worker()
    yield thread
    thread.stopped.set()
    if thread.is_alive():
        thread.join(timeout=30)
    assert thread.failure is None, thread.failure


@pytest.fixture
def campaign(settings, tmp_path, year):
    settings.DEMO_MODE = True
    settings.MEDIA_ROOT = tmp_path / "media"
    import_csv(tmp_path, "factors:process_emission", "category,ef_kg_co2eq_per_unit\nCO2,1.5\n", "--year", "2025")
    user_with_roles("calco2.backoffice.admin@global", institutional_id="upload-admin", provider=Provider.DEMO)


def choose_file(page, *, skip_invalid: bool) -> None:  # noqa: F811
    page.select_option("#id_kind", "process_emission")
    page.select_option("#id_year", "2025")
    page.set_input_files("#id_file", files=[{"name": "entries.csv", "mimeType": "text/csv", "buffer": BAD}])
    if skip_invalid:
        page.check("#id_skip_invalid")
    with page.expect_navigation():
        page.click("#upload-form input[type=submit]")


def downloaded_rows(page, selector: str) -> list[dict]:  # noqa: F811
    with page.expect_download() as download:
        page.click(selector)
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_upload_preview_confirm_progress_result(page, live_server, campaign, worker):  # noqa: F811
    page.goto(f"{live_server.url}/admin/upload/")
    page.fill("#id_username", "upload-admin")
    page.fill("#id_password", "pw")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "Upload a CSV file"

    # A bad file: every row error is listed, Confirm is disabled, the errors download as CSV.
    choose_file(page, skip_invalid=False)
    assert page.locator("#upload-rows tbody tr").count() == 6
    assert page.locator("#upload-errors tbody tr").count() == 4
    assert "'x' is not a number" in page.locator("#upload-errors").inner_text()
    assert page.locator("#upload-confirm").is_disabled()
    rows = downloaded_rows(page, "#upload-errors-csv")
    assert [(r["row"], r["column"]) for r in rows] == [
        ("2", "quantity"), ("3", "unit_institutional_id"), ("4", "quantity"), ("5", "quantity")]
    with page.expect_navigation():
        page.click("#upload-cancel")
    assert "nothing was imported" in page.locator("ul.messagelist").inner_text()

    # Again, skipping the invalid rows: Confirm queues the import and shows its progress page.
    choose_file(page, skip_invalid=True)
    assert page.locator("#upload-counts").inner_text().count("2") >= 1
    with page.expect_navigation():
        page.click("#upload-confirm")
    assert "/admin/upload/pipeline/" in page.url
    assert "1/3: import" in page.locator("#upload-phase").inner_text()
    assert page.locator('meta[http-equiv="refresh"]').count() == 1
    assert not ProcessEmission.objects.exists()  # queued, not run by the web request
    pipeline = Pipeline.objects.get()
    assert pipeline.jobs.get().state == JobState.QUEUED

    worker.start()
    page.locator("#upload-result").wait_for(timeout=60000)  # the page refreshes itself until done
    assert page.locator("#upload-status").inner_text() == "Success"
    assert page.locator('meta[http-equiv="refresh"]').count() == 0
    summary = page.locator("#upload-summary").inner_text()
    assert "Added\t2" in summary and "Invalid rows skipped\t4" in summary  # a per-year file: a diff
    assert page.locator("#upload-errors tbody tr").count() == 4
    rows = downloaded_rows(page, "#upload-errors-csv")
    assert [(r["row"], r["column"]) for r in rows] == [
        ("2", "quantity"), ("3", "unit_institutional_id"), ("4", "quantity"), ("5", "quantity")]
    assert ProcessEmission.objects.count() == 2
    pipeline.refresh_from_db()
    assert pipeline.status == PipelineStatus.SUCCESS
    assert page.locator("#upload-console").get_attribute("href") == f"/admin/carbon/pipeline/{pipeline.pk}/change/"
