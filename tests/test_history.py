"""History: every mutable model is tracked, with the acting user."""

from django.apps import apps
from django.urls import reverse

from tests.factories import user_with_roles
from units.models import Unit

# Derived data is recomputed, not history-tracked (docs/architecture.md "History"); pipelines, jobs and
# workers are themselves the operations log (status history on each job), not inputs; import fingerprints are a
# cache of what an import found (modules.fingerprints).
DERIVED = {"Emission", "Pipeline", "Job", "Worker", "ImportFingerprint"}
# Append-only audit tables: their rows never change, so there is nothing to version (audit/chain.py).
APPEND_ONLY = {"AuditEvent", "ChainLink"}


def test_every_domain_model_has_history():
    missing = []
    for app in ("units", "carbon", "factors", "modules", "reporting", "audit"):
        for model in apps.get_app_config(app).get_models():
            if model.__name__.startswith("Historical") or model._meta.proxy or model.__name__ in DERIVED | APPEND_ONLY:
                continue
            if not hasattr(model, "history"):
                missing.append(model.__name__)
    assert missing == []


def test_admin_edit_records_the_acting_user(client, tree):
    admin = user_with_roles("calco2.backoffice.admin@global")
    client.force_login(admin)
    unit = tree["it4r"]
    url = reverse("admin:units_unit_change", args=[unit.pk])
    response = client.post(url, {"institutional_code": unit.institutional_code, "institutional_id": "13032",
                                 "name": "IT4R-NEW", "level": 4, "parent": tree["sg"].pk, "is_active": "on",
                                 "label_en": "", "label_fr": "", "unit_type_label": "",
                                 "principal_user_institutional_id": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    unit.refresh_from_db()
    assert unit.path_name == "EPFL ENAC SG IT4R-NEW"
    assert unit.history.filter(history_user=admin, name="IT4R-NEW").exists()
    history_page = client.get(reverse("admin:units_unit_history", args=[unit.pk]))
    assert history_page.status_code == 200
    assert Unit.history.filter(history_user=admin).count() >= 1
