"""Generated matrix of the back office's own pages (not ModelAdmins): every URL that `config/urls.py` mounts
under `admin/` outside the admin site — the upload flow, the audit trail, the reporting pages and exports,
found by walking the URL conf, so a new page is covered the day it is routed — × every role × GET and POST.

Expectations are a small table by prefix (product.md §2/§6): uploads for the global back-office admin,
the trail for auditors and admins, reporting for metier and admin. A refused role gets 403 (the anonymous:
the admin's login page; the wrong verb: 405, before anything is read) and leaves the database as it was —
counted by PostgreSQL (`pg_stat_xact_user_tables`), whatever the status code says. An allowed GET writes
nothing but the audit trail of what it showed (an export or download is an event).
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.urls import URLResolver, get_resolver, reverse

from tests.factories import user_with_roles

pytestmark = pytest.mark.django_db

ROLES = {
    "standard": "calco2.user.standard@own:13032",
    "principal": "calco2.user.principal@unit:13032",
    "metier": "calco2.backoffice.metier@affiliation:13030",
    "auditor": "calco2.auditor@affiliation:13030",
    "auditor-global": "calco2.auditor@global",
    "admin": "calco2.backoffice.admin@global",
    "anonymous": None,
}
ALLOWED = {  # URL prefix → the roles that reach it
    "/admin/upload/": {"admin"},
    "/admin/audit/trail/": {"auditor", "auditor-global", "admin"},
    "/admin/reporting/": {"metier", "admin"},
}
IGNORED_TABLES = {"django_session", "axes_accessattempt", "axes_accesslog", "axes_accessfailurelog"}
AUDIT_TABLES = {"audit_auditevent", "audit_chain"}


def _samples() -> dict[str, dict]:
    """Arguments for the URLs that take some: a real object where one exists, else one that does not."""
    from reporting.exports import EXPORTS
    from units.models import Unit

    export = next(iter(EXPORTS.items()))
    history = Unit.history.filter(institutional_id="13032").order_by("history_id").first()
    token = uuid.uuid4()
    return {
        "upload:preview": {"token": token}, "upload:preview_errors": {"token": token},
        "upload:confirm": {"token": token}, "upload:cancel": {"token": token},
        "upload:progress": {"pk": 999_999}, "upload:errors": {"pk": 999_999},
        "audit-trail-row": {"table": Unit.history.model._meta.db_table, "pk": history.history_id},
        "reporting-export": {"name": export[0], "fmt": export[1].formats[0]},
    }


def backoffice_urls() -> list[tuple[str, str, dict]]:
    """(URL name, prefix, kwargs names) of every page included under admin/ beside the admin site."""
    found = []
    for entry in get_resolver().url_patterns:
        prefix = f"/{entry.pattern}"
        if not isinstance(entry, URLResolver) or not prefix.startswith("/admin/") or entry.app_name == "admin":
            continue
        for pattern in entry.url_patterns:
            name = f"{entry.namespace}:{pattern.name}" if entry.namespace else pattern.name
            found.append((name, prefix, tuple(pattern.pattern.converters)))
    return found


URLS = backoffice_urls()


def test_the_walk_finds_every_back_office_page():
    names = {name for name, _, _ in URLS}
    assert {"upload:form", "audit-trail", "audit-trail-row", "reporting-exports", "reporting-progress",
            "reporting-report"} <= names
    for name, prefix, _ in URLS:
        assert any(prefix.startswith(p) for p in ALLOWED), f"{name} ({prefix}) needs a line in ALLOWED"


def writes() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables")
        return {table: count for table, count in cursor.fetchall() if table not in IGNORED_TABLES and count}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "prefix", "arguments"), URLS, ids=[name for name, _, _ in URLS])
def test_back_office_page(demo, client, name, prefix, arguments, role):
    samples = _samples()
    assert not arguments or name in samples, f"{name} takes {arguments}: give it a sample"
    url = reverse(name, kwargs=samples.get(name, {}))
    if ROLES[role]:
        client.force_login(user_with_roles(ROLES[role]))
    allowed = role in next(roles for p, roles in ALLOWED.items() if prefix.startswith(p))
    for method in ("get", "post"):
        before = writes()
        response = getattr(client, method)(url)
        changed = {t: n - before.get(t, 0) for t, n in writes().items() if n != before.get(t, 0)}
        if allowed:
            assert response.status_code != 403, (method, url)
            if method == "get":
                assert set(changed) <= AUDIT_TABLES, (url, changed)
            continue
        assert not changed, (method, url, role, changed)
        if response.status_code == 405:  # the wrong verb is refused before anything else: nothing shown
            continue
        if role == "anonymous":
            assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), (
                method, url, response.status_code)
        else:
            assert response.status_code == 403, (method, url, role, response.status_code)
            assert b"13032" not in response.content and b"IT4R" not in response.content
