"""Tamper evidence (issue #11): history and audit-event rows are append-only and hash-chained.

`verify_audit` passes on the demo and after ordinary writes (a CSV import written with COPY, an admin edit);
the triggers refuse UPDATE and DELETE; a row changed, deleted or written with the triggers off (as a database
superuser could) is reported with its table and row; auth-event retention keeps the chain verifiable.
"""

import io
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalChanges

from audit.chain import install_triggers, tracked_tables
from audit.models import AuditEvent, ChainLink
from factors.kinds.process import ProcessEmissionFactor
from tests.admin_forms import form_fields
from tests.campaign import import_csv
from units.models import User

pytestmark = pytest.mark.usefixtures("demo")


def verify_output() -> str:
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def broken_link() -> str:
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit", stdout=io.StringIO())
    assert caught.value.returncode == 1
    return str(caught.value)


def sql(statement: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def disable_trigger(table: str, trigger: str) -> None:
    """As a database superuser could; the demo's deferred FK checks must run first (ALTER TABLE refuses a
    table with pending trigger events). Rolled back with the test."""
    sql("SET CONSTRAINTS ALL IMMEDIATE")
    sql(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")


def a_history_row(table: str = "units_historicalunit") -> int:
    return sql(f"SELECT max(history_id) FROM {table}")[0][0]


def test_every_history_table_and_the_audit_events_carry_both_triggers():
    history = {m._meta.db_table for m in apps.get_models() if issubclass(m, HistoricalChanges)}
    tracked = {t.table for t in tracked_tables()}
    assert history and tracked == history | {"audit_auditevent"}
    rows = sql("SELECT c.relname, array_agg(t.tgname ORDER BY t.tgname) FROM pg_trigger t "
               "JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname LIKE 'audit_%%' GROUP BY c.relname")
    triggers = dict(rows)
    for table in tracked:
        assert triggers.get(table) == ["audit_append_only", "audit_chain_append"], table
    assert triggers["audit_chain"] == ["audit_append_only"]  # the chain itself is append-only too
    # No TRUNCATE trigger: test-database flushes (transactional tests) must keep working.
    assert not sql("SELECT 1 FROM pg_trigger WHERE tgname LIKE 'audit_%%' AND (tgtype & 32) <> 0")


def test_reinstalling_the_triggers_after_migrate_is_idempotent():
    sql("SET CONSTRAINTS ALL IMMEDIATE")  # DROP TRIGGER refuses a table with pending deferred checks
    count = sql("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'audit_%%'")[0][0]
    assert install_triggers() == install_triggers() == len(tracked_tables())
    assert sql("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'audit_%%'")[0][0] == count
    assert "Audit chain intact" in verify_output()


def test_the_demo_verifies_and_every_history_row_is_chained():
    assert "Audit chain intact" in verify_output()
    history_rows = sum(sql(f"SELECT count(*) FROM {t.table}")[0][0] for t in tracked_tables()
                       if t.table != "audit_auditevent")
    assert history_rows > 1000
    assert ChainLink.objects.exclude(table_name="audit_auditevent").count() == history_rows


def test_an_import_and_an_admin_edit_keep_the_chain_valid(tmp_path, client):
    before = ChainLink.objects.count()
    import_csv(tmp_path, "process_emission", "unit_institutional_id,category,quantity\n"
               + "".join(f"13032,CO2,{i + 1}\n" for i in range(50)), "--year", "2025")
    assert ChainLink.objects.count() >= before + 50
    factor = ProcessEmissionFactor.objects.filter(year=2025).first()
    client.force_login(User.objects.filter(is_superuser=True).first()
                       or User.objects.create_superuser("chain-admin", password="x"))
    url = reverse("admin:factors_processemissionfactor_change", args=[factor.pk])
    data = {name: values[0] for name, values in form_fields(client.get(url).content.decode()).items() if values}
    data["ef_kg_co2eq_per_unit"] = "2.5"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    factor.refresh_from_db()
    assert str(factor.ef_kg_co2eq_per_unit).startswith("2.5")
    assert factor.history.filter(history_type="~").exists()
    assert "Audit chain intact" in verify_output()


@pytest.mark.parametrize("statement", [
    "UPDATE units_historicalunit SET name = 'forged' WHERE history_id = %s",
    "DELETE FROM units_historicalunit WHERE history_id = %s",
])
def test_the_application_cannot_update_or_delete_a_history_row(statement):
    row = a_history_row()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql(statement, [row])


def test_the_application_cannot_delete_an_audit_event_or_a_chain_link():
    event = AuditEvent.objects.create(action="exported", source="admin", actor_label="x")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql("UPDATE audit_chain SET row_hash = prev_hash WHERE id = (SELECT max(id) FROM audit_chain)")


def test_a_row_changed_behind_the_triggers_is_named():
    row = a_history_row()
    disable_trigger("units_historicalunit", "audit_append_only")
    sql("UPDATE units_historicalunit SET name = 'forged' WHERE history_id = %s", [row])
    message = broken_link()
    assert f"units_historicalunit row {row}" in message and "content changed" in message


def test_a_deleted_row_is_named():
    row = a_history_row()
    disable_trigger("units_historicalunit", "audit_append_only")
    sql("DELETE FROM units_historicalunit WHERE history_id = %s", [row])
    message = broken_link()
    assert f"units_historicalunit row {row}" in message and "missing" in message


def test_a_row_written_with_the_chain_trigger_off_is_named():
    disable_trigger("units_historicalunit", "audit_chain_append")
    sql("INSERT INTO units_historicalunit SELECT (jsonb_populate_record(NULL::units_historicalunit, to_jsonb(h) "
        "|| jsonb_build_object('history_id', nextval(pg_get_serial_sequence('units_historicalunit', "
        "'history_id'))))).* FROM units_historicalunit h WHERE history_id = %s", [a_history_row()])
    assert "no chain link" in broken_link()


def test_a_removed_link_is_a_chain_gap():
    disable_trigger("audit_chain", "audit_append_only")
    link = ChainLink.objects.filter(table_name="units_historicalunit").order_by("id")[3]
    sql("DELETE FROM audit_chain WHERE id = %s", [link.pk])
    message = broken_link()
    assert "units_historicalunit" in message and ("chain gap" in message or "no chain link" in message)


def test_retention_deletes_old_auth_events_only_and_the_chain_still_verifies(settings):
    settings.AUDIT_AUTH_EVENT_RETENTION_DAYS = 30
    old = timezone.now() - timedelta(days=31)
    kept_old_export = AuditEvent.objects.create(action="exported", source="admin", actor_label="a", occurred_at=old)
    for action in ("signed_in", "sign_in_failed", "signed_out"):
        AuditEvent.objects.create(action=action, source="auth", actor_label="a", occurred_at=old)
    recent = AuditEvent.objects.create(action="signed_in", source="auth", actor_label="a")
    assert ChainLink.objects.filter(table_name="audit_auditevent", row_id=kept_old_export.pk).exists()
    assert not ChainLink.objects.filter(table_name="audit_auditevent", row_id=recent.pk).exists()
    out = io.StringIO()
    call_command("audit_retention", stdout=out)
    assert out.getvalue().startswith("3 auth events older than 30 days deleted")
    assert set(AuditEvent.objects.filter(occurred_at__lte=old).values_list("action", flat=True)) == {"exported"}
    assert AuditEvent.objects.filter(pk=recent.pk).exists()
    assert "Audit chain intact" in verify_output()
    # The flag was local to the retention's transaction: deleting is refused again.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=recent.pk).delete()
