"""Generated write matrix: every registered admin × every role × every write verb × in/out of scope.

Discovered from `admin.site._registry` and the admin's URL names (history version pages included), so a
new admin, a new custom action or a new library URL is covered the day it appears. The assertion is on
the database: PostgreSQL counts every row this transaction inserted, updated or deleted
(`pg_stat_xact_user_tables`), and a role that may not change an object must leave that count unchanged —
whatever the status code says.

Expectations come from product.md §2/§6, written here as a small table: only the global back-office
admin writes in the back office, and never into data that is read-only by design (entries, emission
rows, the console's jobs, locations).
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib import admin
from django.db import connection, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from tests.admin_forms import form_fields
from tests.factories import user_with_roles
from units.admin_scoping import ScopedAdmin, ScopedInlineMixin
from units.models import User
from units.scoping import UnitScope

ROLES = {
    "standard": "calco2.user.standard@own:13032",
    "principal": "calco2.user.principal@unit:13032",
    "metier": "calco2.backoffice.metier@affiliation:13030",
    "auditor": "calco2.auditor@affiliation:13030",
    "auditor-global": "calco2.auditor@global",
    "admin": "calco2.backoffice.admin@global",
    "anonymous": None,
}
# ENAC (code 12635) is the scoped roles' subtree; STI (13000) is outside it.
IN_SCOPE, OUT_OF_SCOPE = UnitScope(subtree_codes=frozenset({"12635"})), UnitScope(subtree_codes=frozenset({"13000"}))
# Tables a read may touch: the session (admin messages) and the login throttle.
IGNORED_TABLES = {"django_session", "axes_accessattempt", "axes_accesslog", "axes_accessfailurelog"}


def _read_only_by_design(model) -> bool:
    from carbon.jobs.models import Job, Pipeline, Worker
    from carbon.models import Emission, RecalculationState
    from factors.models import Location
    from modules.registry import KINDS

    entry_models = {spec.model for spec in KINDS.values()}
    return model in entry_models | {Emission, Job, Pipeline, Worker, RecalculationState, Location}


ADMINS = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
CASES = [(model._meta.label, role) for model, _ in ADMINS for role in ROLES]


# --- data: the demo (conftest's `demo_database`, loaded once per module) plus operational rows ----------
@pytest.fixture(scope="module")
def matrix_database(demo_database, django_db_blocker):
    with django_db_blocker.unblock():
        _operational_rows()  # inside the demo's module transaction: rolled back with it


def _operational_rows():
    """Rows for the console and task-queue admins, which the demo leaves empty."""
    from django_q.models import OrmQ, Task

    from carbon.jobs.models import Job, JobType, Pipeline, Worker

    now = timezone.now()
    pipeline = Pipeline.objects.create(kind="plane", year=2025)
    Job.objects.create(pipeline=pipeline, job_type=JobType.IMPORT, kind="plane", year=2025)
    Worker.objects.create(name="matrix-worker", started_at=now, last_heartbeat_at=now)
    for success in (True, False):
        Task.objects.create(id=uuid.uuid4().hex, name=f"task-{success}", func="math.floor", started=now,
                            stopped=now, success=success)
    OrmQ.objects.create(key="carbon", payload="-", lock=now)


@pytest.fixture
def demo(matrix_database, db):
    return None


def rows_written() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables")
        return sum(count for table, count in cursor.fetchall() if table not in IGNORED_TABLES)


def target_objects(model, model_admin) -> dict[str, object]:
    queryset = model._default_manager.order_by("pk")
    if model_admin.unit_path is None:
        return {"global": queryset.first()}
    return {"in": queryset.filter(IN_SCOPE.q(model_admin.unit_path)).first(),
            "out": queryset.filter(OUT_OF_SCOPE.q(model_admin.unit_path)).first()}


def url(model, view: str, *args) -> str | None:
    try:
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)
    except NoReverseMatch:
        return None


_FORMS: dict[str, dict] = {}


class Attempts:
    """Each write verb, tried as `client` inside a savepoint that is rolled back afterwards."""

    def __init__(self, client, admin_client):
        self.client, self.admin_client = client, admin_client
        self.results: list[tuple[str, int, int]] = []  # (verb, status, rows written)

    def form_of(self, page_url: str) -> dict:
        """The fields a global admin's browser would post back from this page (the form's own fields).

        Cached for the module: every test starts from the same rolled-back demo, so pages are identical."""
        if page_url not in _FORMS:
            response = self.admin_client.get(page_url)
            _FORMS[page_url] = form_fields(response.content.decode()) if response.status_code == 200 else {}
        return _FORMS[page_url]

    def post(self, verb: str, page_url: str | None, data: dict) -> None:
        if page_url is None:
            return
        with transaction.atomic():
            before = rows_written()
            response = self.client.post(page_url, data)
            written = rows_written() - before
            transaction.set_rollback(True)
        assert response.status_code < 500, (verb, page_url, response.status_code)
        self.results.append((verb, response.status_code, written))


def attempt_everything(attempts: Attempts, model, model_admin, where: str, obj) -> None:
    if where != "out":
        add_url = url(model, "add")
        attempts.post("add", add_url, attempts.form_of(add_url) if add_url else {})
    if obj is None:
        return
    change_url = url(model, "change", obj.pk)
    attempts.post(f"{where}:change", change_url, attempts.form_of(change_url))
    attempts.post(f"{where}:delete", url(model, "delete", obj.pk), {"post": "yes"})
    action_names = {"delete_selected", *(name for name in (model_admin.actions or []) if isinstance(name, str)),
                    *(getattr(a, "__name__", "") for a in (model_admin.actions or []) if callable(a))}
    for name in sorted(action_names - {""}):
        attempts.post(f"{where}:action:{name}", url(model, "changelist"),
                      {"action": name, "_selected_action": [str(obj.pk)], "index": "0", "post": "yes"})
    history = getattr(model, "history", None)
    if history is not None and hasattr(model._meta, "simple_history_manager_attribute"):
        for version in history.filter(pk=obj.pk).order_by("-history_id")[:2]:
            version_url = url(model, "simple_history", obj.pk, version.history_id)
            attempts.post(f"{where}:history-version", version_url, attempts.form_of(version_url))


@pytest.mark.parametrize(("label", "role"), CASES, ids=[f"{label}-{role}" for label, role in CASES])
def test_no_write_without_the_right_to_change(client, demo, label, role):
    model, model_admin = next((m, a) for m, a in ADMINS if m._meta.label == label)
    admin_user = User.objects.get(institutional_id="demo-admin")
    from django.test import Client

    admin_client = Client()
    admin_client.force_login(admin_user)
    if ROLES[role]:
        client.force_login(user_with_roles(ROLES[role]))
    attempts = Attempts(client, admin_client)
    for where, obj in target_objects(model, model_admin).items():
        attempt_everything(attempts, model, model_admin, where, obj)
    assert attempts.results, "nothing was attempted"

    if role != "admin":
        assert [(verb, status) for verb, status, written in attempts.results if written] == []
        return
    if _read_only_by_design(model):
        # Operations of the console (abort, recover, recalculate) are the admin's to run; the rows are not
        # editable through any form.
        assert [(v, s) for v, s, w in attempts.results if w and ":action:" not in v] == []
        return
    # The admin's own replay of a form saves: proves the posted data is real, so the zeros above mean something.
    changes = [(verb, status, written) for verb, status, written in attempts.results
               if verb.endswith(":change")]
    if changes and model_admin.has_change_permission(_request_of(admin_user)):
        assert any(status == 302 and written for _, status, written in changes), changes


def _request_of(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_every_admin_is_scoped():
    """No admin page of the site answers to Django model permissions instead of the scoping function."""
    unscoped = [model._meta.label for model, model_admin in admin.site._registry.items()
                if not isinstance(model_admin, ScopedAdmin)]
    assert unscoped == []
    unscoped_inlines = [f"{model._meta.label}:{inline.__name__}" for model, model_admin in admin.site._registry.items()
                        for inline in model_admin.inlines if not issubclass(inline, ScopedInlineMixin)]
    assert unscoped_inlines == []


# --- every other URL of the site, discovered from the URL conf -------------------------------------------
def _site_urls() -> list[str]:
    """Every URL of the URL conf outside the model admins (covered above): the admin site's own pages, the
    upload pages, the API, the login views, the lab pages. Converters get a plausible value."""
    from django.urls import URLPattern, URLResolver, get_resolver

    model_admin_names = {p.name for a in admin.site._registry.values() for p in a.get_urls() if p.name}
    samples = {"int": "1", "str": "plane", "path": "1", "slug": "plane", "uuid": str(uuid.UUID(int=1))}
    urls: list[str] = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern) and entry.name not in model_admin_names:
                route = prefix + str(entry.pattern)
                if route.startswith("^") or "(?P" in route:
                    continue  # regex routes belong to the model admins' history pages (covered above)
                route = re.sub(r"<(?:(\w+):)?\w+>", lambda m: samples.get(m.group(1) or "str", "1"), route)
                urls.append("/" + route.lstrip("^").rstrip("$"))

    walk(get_resolver().url_patterns, "", "")
    return sorted(set(urls))


SITE_CASES = [role for role in ROLES if role != "admin"]


@pytest.mark.parametrize("role", SITE_CASES)
def test_no_other_url_of_the_site_writes_without_rights(client, demo, role):
    """A library page added tomorrow (a new admin view, an API route, an auth view) is POSTed here the day it
    appears: as a role without the right to write there, nothing of any table may change."""
    if ROLES[role]:
        client.force_login(user_with_roles(ROLES[role]))
    urls = _site_urls()
    assert "/admin/upload/" in urls and "/api/v1/me/" in urls  # discovery works
    written = []
    for url in urls:
        if url.startswith(("/accounts/logout", "/oidc/logout", "/admin/logout")):
            continue  # ending one's own session is the one write a signed-in user may always do
        with transaction.atomic():
            before = rows_written()
            response = client.post(url, {})
            count = rows_written() - before
            transaction.set_rollback(True)
        assert response.status_code < 500, (url, response.status_code)
        if count:
            written.append((url, response.status_code, count))
    assert written == []
