"""Events that are not model changes (audit.AuditEvent), and every write naming an actor and a source.

One test per path that raises an event: sign-in, failed sign-in, sign-out, roles from the identity
provider, module validation (lab, API, command line), uploads and their outcome, exports, downloads,
recalculations; then the history side: no user version per login, command-line and job history rows
naming their operator and origin, global grants as history rows, the admin's change reason.
"""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from audit.models import AuditAction, AuditEvent, AuditSource
from carbon.jobs.runner import run_job
from carbon.jobs.services import recalc_enqueue
from carbon.models import YearConfiguration
from modules.registry import KINDS
from tests.admin_forms import form_fields
from tests.campaign import import_csv, write_csv
from tests.factories import UserFactory, user_with_roles
from units.auth import InstitutionOIDCBackend
from units.models import Provider, Unit, User

pytestmark = pytest.mark.django_db

CF = "13032"
LAB = f"/labs/{CF}/2025/"
API = f"/api/v1/units/{CF}/years/2025/"
PROCESS_FACTORS = "category,ef_kg_co2eq_per_unit\nCO2,1\nCH4,28\n"
PROCESS_ROWS = "category,quantity\nCO2,3\nCH4,1\n"
# Jobs claim and report through the `jobs` connection, which sees committed rows only.
JOBS = pytest.mark.django_db(transaction=True, databases=["default", "jobs"])


def event(action: str, **filters) -> AuditEvent:
    events = list(AuditEvent.objects.filter(action=action, **filters))
    assert len(events) == 1, [(e.action, e.source, e.actor_label) for e in AuditEvent.objects.all()]
    found = events[0]
    assert found.actor_label, "an event always says who"
    return found


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def open_year(year, tmp_path):
    import_csv(tmp_path, "factors:process_emission", PROCESS_FACTORS, "--year", "2025")
    YearConfiguration.objects.filter(year=2025).update(is_started=True)
    return 2025


@pytest.fixture
def principal(open_year):
    return user_with_roles(f"calco2.user.principal@unit:{CF}", institutional_id="300001")


@pytest.fixture
def demo_user(db, settings):
    settings.DEMO_MODE = True
    user = UserFactory(institutional_id="demo-admin", provider=Provider.DEMO)
    user.set_password("demo")
    user.save()
    return user


@pytest.fixture
def sync_queue(monkeypatch):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def manual_queue(monkeypatch):
    dispatched: list[int] = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, job_id, **kw: dispatched.append(job_id))
    return dispatched


# --- sign-in, sign-out ------------------------------------------------------------------------------------
def test_a_sign_in_is_an_event_with_ip_and_user_agent_and_writes_no_user_version(client, demo_user):
    versions = demo_user.history.count()
    response = client.post(reverse("login"), {"username": "demo-admin", "password": "demo"},
                           HTTP_USER_AGENT="Firefox/140 " + "x" * 600)
    assert response.status_code == 302
    signed_in = event(AuditAction.SIGNED_IN)
    assert (signed_in.actor, signed_in.source, signed_in.ip_address) == (demo_user, AuditSource.AUTH, "127.0.0.1")
    assert signed_in.user_agent == "Firefox/140 " + "x" * 600  # stored whole
    demo_user.refresh_from_db()
    assert demo_user.last_login is not None
    assert demo_user.history.count() == versions  # last_login is no user version


def test_a_failed_sign_in_keeps_the_login_tried_and_never_the_password(client, demo_user):
    client.post(reverse("login"), {"username": "demo-admin", "password": "wrong-secret-42"})
    failed = event(AuditAction.SIGN_IN_FAILED)
    assert (failed.actor, failed.actor_label, failed.source) == (None, "demo-admin", AuditSource.AUTH)
    stored = json.dumps([failed.actor_label, failed.user_agent, failed.details, failed.object_id])
    assert "wrong-secret-42" not in stored


def test_a_sign_out_is_an_event(client, demo_user):
    client.force_login(demo_user)
    client.post(reverse("logout"))
    signed_out = event(AuditAction.SIGNED_OUT)
    assert (signed_out.actor, signed_out.source) == (demo_user, AuditSource.AUTH)


def test_roles_changed_by_the_identity_provider_record_before_and_after(tree, settings):
    settings.OIDC_OP_TOKEN_ENDPOINT = settings.OIDC_OP_USER_ENDPOINT = "https://idp.invalid/x"
    settings.OIDC_OP_JWKS_ENDPOINT = "https://idp.invalid/jwks"
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = "carbon", "secret"
    backend = InstitutionOIDCBackend()
    claims = {"sub": "900", "email": "a@example.org", "roles": [f"calco2.user.principal@unit:{CF}"]}
    user = backend.create_user(claims)
    backend.update_user(user, claims)  # same roles: no new event
    backend.update_user(user, {**claims, "roles": [f"calco2.user.standard@own:{CF}"]})
    first, second = AuditEvent.objects.filter(action=AuditAction.ROLES_CHANGED).order_by("id")
    assert (second.actor, second.source, second.actor_label) == (user, AuditSource.AUTH, "900")
    assert second.details["before"] == [f"calco2.user.principal@unit:{CF}"]
    assert second.details["after"] == [f"calco2.user.standard@own:{CF}"]
    assert first.details["before"] == []


def test_a_global_grant_is_a_history_row_of_the_user(tree):
    from tests.factories import role
    from units.roles import Role
    from units.services import user_role_grant

    user = UserFactory()
    versions = user.history.count()
    assert user_role_grant(user=user, spec=role(Role.AUDITOR))
    assert user.history.count() == versions + 1
    latest = user.history.first()
    assert latest.history_change_reason == "global role granted: calco2.auditor@global"
    assert [p.permission.codename for p in latest.user_permissions.all()] == ["role_auditor"]


# --- module validation from the three places --------------------------------------------------------------
def test_validation_from_the_lab_pages(client, principal):
    client.force_login(principal)
    assert client.post(LAB + "process_emissions/validation/").status_code == 302
    validated = event(AuditAction.MODULE_VALIDATED)
    assert (validated.actor, validated.source, validated.unit.institutional_id) == (
        principal, AuditSource.LAB, CF)
    assert validated.details["module"] == "process_emissions" and validated.object_type == "carbon.modulereport"


def test_validation_and_unvalidation_from_the_api(client, principal):
    client.force_login(principal)
    assert client.post(API + "modules/process_emissions/validation/").status_code == 200
    assert client.delete(API + "modules/process_emissions/validation/").status_code in (200, 204)
    assert event(AuditAction.MODULE_VALIDATED).source == AuditSource.API
    assert event(AuditAction.MODULE_UNVALIDATED, actor=principal).source == AuditSource.API


def test_validation_from_the_command_line_names_the_actor_or_the_operator(open_year, monkeypatch):
    operator = UserFactory(institutional_id="ops-1")
    call_command("validate_module", CF, "2025", "process_emissions", "--actor", "ops-1")
    validated = event(AuditAction.MODULE_VALIDATED)
    assert (validated.actor, validated.source, validated.actor_label) == (operator, AuditSource.COMMAND, "ops-1")
    monkeypatch.setattr("getpass.getuser", lambda: "alice")
    call_command("validate_module", CF, "2025", "process_emissions", "--undo")
    undone = event(AuditAction.MODULE_UNVALIDATED)
    assert (undone.actor, undone.actor_label) == (None, "operator alice")


def test_the_operator_account_setting_is_the_default_actor(open_year, settings):
    operator = UserFactory(institutional_id="ops-2")
    settings.OPERATOR_ACTOR = "ops-2"
    call_command("validate_module", CF, "2025", "process_emissions")
    assert event(AuditAction.MODULE_VALIDATED).actor == operator
    settings.OPERATOR_ACTOR = "nobody"
    with pytest.raises(Exception, match="unknown actor nobody"):
        call_command("validate_module", CF, "2025", "process_emissions")


# --- uploads and their outcome; recalculations ------------------------------------------------------------
@JOBS
def test_a_lab_upload_starts_and_its_job_finishes_with_counts(client, principal, sync_queue, tmp_path):
    from lab.uploads import upload_queue

    job = upload_queue(KINDS["process_emission"], unit=Unit.objects.get(institutional_id=CF), year=2025,
                       content=PROCESS_ROWS.encode(), file_name="p.csv", actor=principal)
    started = event(AuditAction.UPLOAD_STARTED)
    assert (started.actor, started.source, started.unit.institutional_id) == (principal, AuditSource.LAB, CF)
    assert started.details["file_name"] == "p.csv"
    finished = event(AuditAction.IMPORT_FINISHED, source=AuditSource.JOB)
    assert (finished.actor, finished.source, finished.object_id) == (principal, AuditSource.JOB, str(job.pk))
    assert finished.details["created"] == 2 and finished.details["result"] == "success"


@JOBS
def test_a_jobs_history_rows_carry_the_job_id_and_its_creator(principal, manual_queue):
    from lab.uploads import upload_queue

    job = upload_queue(KINDS["process_emission"], unit=Unit.objects.get(institutional_id=CF), year=2025,
                       content=PROCESS_ROWS.encode(), file_name="p.csv", actor=principal)
    run_job(job.pk)
    rows = KINDS["process_emission"].model.history.all()
    assert rows.count() == 2
    for row in rows:
        assert row.history_user == principal
        assert f"job {job.pk}" in row.history_change_reason


def test_a_recalculation_started_from_the_admin_and_from_the_command_line(open_year, manual_queue):
    admin = user_with_roles("calco2.backoffice.admin@global")
    recalc_enqueue(kinds=["process_emission"], year=2025, actor=admin)
    started = event(AuditAction.RECALCULATION_STARTED, source=AuditSource.ADMIN)
    assert started.actor == admin and started.details["kinds"] == ["process_emission"]
    call_command("recalculate", "--year", "2025", "--kind", "process_emission")
    from_command = event(AuditAction.RECALCULATION_STARTED, source=AuditSource.COMMAND)
    assert from_command.actor_label.startswith("operator ")


# --- exports and downloads ----------------------------------------------------------------------------------
def test_an_export_from_the_command_line(open_year, tmp_path):
    UserFactory(institutional_id="ops-3")
    call_command("export_report", "results", "--year", "2025", "--output", str(tmp_path / "r.csv"),
                 "--actor", "ops-3")
    exported = event(AuditAction.EXPORTED)
    assert (exported.source, exported.actor_label, exported.details["report"]) == (
        AuditSource.COMMAND, "ops-3", "results")
    assert exported.details["rows"] == 7


def test_an_export_from_the_admin(client, tree):
    admin = user_with_roles("calco2.backoffice.admin@global")
    client.force_login(admin)
    response = client.post(reverse("admin:units_unit_export"),
                           {"format": "0", "resource": "0", "unitresource_name": "on"})
    assert response.status_code == 200
    exported = event(AuditAction.EXPORTED)
    assert (exported.actor, exported.source, exported.details["model"]) == (admin, AuditSource.ADMIN, "units.unit")
    assert exported.details["rows"] == Unit.objects.count()


@JOBS
def test_downloads_of_results_and_of_job_errors(client, principal, manual_queue):
    client.force_login(principal)
    assert client.get(LAB + "results.csv").status_code == 200
    download = event(AuditAction.DOWNLOADED)
    assert (download.actor, download.source, download.details["list"]) == (principal, AuditSource.LAB, "results")
    from lab.uploads import upload_queue

    job = upload_queue(KINDS["process_emission"], unit=Unit.objects.get(institutional_id=CF), year=2025,
                       content=b"category,quantity\nCO2,lots\n", file_name="bad.csv", actor=principal)
    run_job(job.pk)
    assert client.get(f"/api/v1/jobs/{job.pk}/errors.csv").status_code == 200
    errors = event(AuditAction.DOWNLOADED, source=AuditSource.API)
    assert errors.details["list"] == "job errors" and errors.details["rows"] == 1


# --- command-line writes name their operator ---------------------------------------------------------------
def test_a_command_line_import_writes_history_as_the_actor_with_a_reason(open_year, tmp_path):
    operator = user_with_roles("calco2.backoffice.admin@global", institutional_id="ops-4")
    path = write_csv(tmp_path, "p.csv", f"unit_institutional_id,{PROCESS_ROWS.splitlines()[0]}\n{CF},CO2,3\n")
    call_command("import_csv", "process_emission", str(path), "--year", "2025", "--actor", "ops-4")
    row = KINDS["process_emission"].model.history.get()
    assert row.history_user == operator
    assert row.history_change_reason.endswith("command line: import_csv")
    finished = event(AuditAction.IMPORT_FINISHED, actor=operator)  # (the fixture's factor import is another)
    assert (finished.source, finished.details["created"], finished.details["result"]) == (
        AuditSource.COMMAND, 1, "success")
    call_command("import_csv", "process_emission", str(path), "--year", "2025", "--dry-run", "--actor", "ops-4")
    assert AuditEvent.objects.filter(action=AuditAction.IMPORT_FINISHED, actor=operator).count() == 1  # dry run


def test_a_command_line_year_names_the_operator_in_its_history(tree, monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "bob")
    call_command("create_year", "2031")
    config = YearConfiguration.objects.get(year=2031)
    assert config.history.first().history_change_reason == "create year 2031; command line: create_year (operator bob)"


# --- the admin: read-only trail, change reasons ------------------------------------------------------------
def test_audit_events_are_read_only_in_the_admin_and_scoped(client, tree, demo_user):
    AuditEvent.objects.create(action=AuditAction.SIGNED_IN, source=AuditSource.AUTH, actor_label="x")
    unit_event = AuditEvent.objects.create(action=AuditAction.EXPORTED, source=AuditSource.LAB, actor_label="y",
                                           unit=Unit.objects.get(institutional_id=CF))
    global_event = AuditEvent.objects.get(actor_label="x")
    auditor = user_with_roles("calco2.auditor@global")
    client.force_login(auditor)
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    page = client.get(reverse("admin:audit_auditevent_change", args=[global_event.pk]))
    assert page.status_code == 200 and 'type="submit"' not in page.content.decode().split('id="auditevent_form"')[-1]
    assert client.post(reverse("admin:audit_auditevent_change", args=[global_event.pk]),
                       {"actor_label": "forged"}).status_code == 403
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:audit_auditevent_delete", args=[global_event.pk]),
                       {"post": "yes"}).status_code == 403
    global_event.refresh_from_db()
    assert global_event.actor_label == "x"
    # An auditor of ENAC sees ENAC's subtree and no global event.
    client.force_login(user_with_roles("calco2.auditor@affiliation:13030"))
    listing = client.get(reverse("admin:audit_auditevent_changelist"))
    assert [e.pk for e in listing.context["cl"].result_list] == [unit_event.pk]
    assert client.get(reverse("admin:audit_auditevent_change", args=[global_event.pk])).status_code == 404
    # A lab user has no access at all.
    client.force_login(user_with_roles(f"calco2.user.principal@unit:{CF}"))
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code in (302, 403)


def test_an_admin_edit_carries_its_reason(client, tree):
    client.force_login(user_with_roles("calco2.backoffice.admin@global"))
    unit = Unit.objects.get(institutional_id=CF)
    url = reverse("admin:units_unit_change", args=[unit.pk])
    page = client.get(url).content.decode()
    assert "Reason for the change" in page
    data = form_fields(page)
    data["label_en"] = ["Information technologies"]
    data["change_reason"] = ["renamed after the 2026 reorganisation"]
    assert client.post(url, data).status_code == 302
    assert unit.history.first().history_change_reason == "renamed after the 2026 reorganisation; admin"
    data["change_reason"] = ["x" * 101]  # refused, never cut
    assert client.post(url, data).status_code == 200


def test_users_are_history_tracked_without_logins(client, demo_user):
    before = User.history.count()
    for _ in range(3):
        client.force_login(demo_user)
        client.logout()
    assert User.history.count() == before



# --- every write path leaves a trail row with an actor and a source (generated: one test per path) ---------
def _write_from_admin(client, principal, tmp_path):
    admin = user_with_roles("calco2.backoffice.admin@global")
    client.force_login(admin)
    unit = Unit.objects.get(institutional_id=CF)
    url = reverse("admin:units_unit_change", args=[unit.pk])
    data = form_fields(client.get(url).content.decode())
    data["label_en"], data["change_reason"] = ["Information technologies"], ["renamed"]
    assert client.post(url, data).status_code == 302


def _write_from_the_lab_pages(client, principal, tmp_path):
    client.force_login(principal)
    assert client.post(LAB + "process_emissions/validation/").status_code == 302


def _write_from_the_api(client, principal, tmp_path):
    client.force_login(principal)
    assert client.post(API + "modules/process_emissions/validation/").status_code == 200


def _write_from_the_command_line(client, principal, tmp_path):
    path = write_csv(tmp_path, "p.csv", f"unit_institutional_id,category,quantity\n{CF},CO2,3\n")
    call_command("import_csv", "process_emission", str(path), "--year", "2025")  # no --actor: the OS user


def _write_from_a_job(client, principal, tmp_path):
    from lab.uploads import upload_queue

    job = upload_queue(KINDS["process_emission"], unit=Unit.objects.get(institutional_id=CF), year=2025,
                       content=PROCESS_ROWS.encode(), file_name="p.csv", actor=principal)
    run_job(job.pk)


def _write_from_a_recalculation(client, principal, tmp_path):
    from carbon.jobs.models import Job

    call_command("recalculate", "--year", "2025", "--kind", "process_emission")
    for job in Job.objects.filter(state="queued").order_by("pk"):
        run_job(job.pk)


def _write_from_the_identity_provider(client, principal, tmp_path):
    from django.test import RequestFactory

    from audit.middleware import RequestOriginMiddleware

    claims = {"sub": "900", "email": "a@example.org", "roles": ["calco2.auditor@global"]}
    backend = InstitutionOIDCBackend()
    # The callback request's origin, around the role sync it runs.
    RequestOriginMiddleware(lambda request: backend.create_user(claims))(RequestFactory().get("/oidc/callback/"))


WRITE_PATHS = {
    "admin": (_write_from_admin, AuditSource.ADMIN),
    "lab": (_write_from_the_lab_pages, AuditSource.LAB),
    "api": (_write_from_the_api, AuditSource.API),
    "command": (_write_from_the_command_line, AuditSource.COMMAND),
    "job": (_write_from_a_job, AuditSource.JOB),
    "recalculation": (_write_from_a_recalculation, AuditSource.RECALCULATION),
    "identity-provider": (_write_from_the_identity_provider, AuditSource.AUTH),
}


@JOBS
@pytest.mark.parametrize("path", WRITE_PATHS)
def test_every_write_path_leaves_a_trail_row_with_an_actor_and_a_source(
        path, client, principal, manual_queue, tmp_path, settings, monkeypatch):
    from audit.trail import Filters, iter_trail

    settings.OIDC_OP_TOKEN_ENDPOINT = settings.OIDC_OP_USER_ENDPOINT = "https://idp.invalid/x"
    settings.OIDC_OP_JWKS_ENDPOINT = "https://idp.invalid/jwks"
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = "carbon", "secret"
    monkeypatch.setattr("getpass.getuser", lambda: "alice")
    write, source = WRITE_PATHS[path]
    auditor = user_with_roles("calco2.auditor@global")
    before = {(r["table"], r["id"]) for r in iter_trail(auditor, chunk=500)}
    write(client, principal, tmp_path)
    new = [r for r in iter_trail(auditor, chunk=500) if (r["table"], r["id"]) not in before
           and r["table"] != "audit_auditevent"]
    assert new, f"{path}: no history row"
    mine = [r for r in new if r["source"] == source]
    assert mine, [(r["object_type"], r["reason"], r["source"]) for r in new]
    assert all(r["actor"] for r in mine), [(r["object_type"], r["reason"]) for r in mine if not r["actor"]]
    # The source filter finds them, the page says it.
    filtered = {(r["table"], r["id"]) for r in iter_trail(auditor, filters=Filters(source=source), chunk=500)}
    assert {(r["table"], r["id"]) for r in mine} <= filtered
