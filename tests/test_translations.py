"""French throughout: the catalogue is complete and compiled, and a French user's pages, numbers and admin are
in French (locale/fr/LC_MESSAGES; LANGUAGES en, fr)."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal

import polib
import pytest
from django.conf import settings
from django.utils import translation

from carbon.models import ModuleStatus, YearConfiguration
from carbon.taxonomy import CATEGORY_LABELS, Module
from lab.labels import COLUMN_LABELS
from modules.base import EntrySource
from modules.registry import KINDS
from reporting.results import MissingModule
from tests.factories import user_with_roles

CATALOGUE = settings.BASE_DIR / "locale" / "fr" / "LC_MESSAGES"
PO, MO = CATALOGUE / "django.po", CATALOGUE / "django.mo"
CF = "13032"
LAB = f"/labs/{CF}/2025/"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdf]|%[sd]")


def po_file() -> polib.POFile:
    return polib.pofile(str(PO))


def contents(catalogue) -> dict:
    """msgid (or (msgid, msgid_plural)) → translation(s), the header left out."""
    out = {}
    for entry in catalogue:
        if not entry.msgid or entry.obsolete:
            continue
        if entry.msgid_plural:
            out[entry.msgid, entry.msgid_plural] = tuple(entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural))
        else:
            out[entry.msgid] = entry.msgstr
    return out


# --- the catalogue ----------------------------------------------------------------------------------------
def test_every_french_entry_is_translated_and_none_is_fuzzy():
    po = po_file()
    assert po.metadata["Language"] == "fr" and not po.metadata_is_fuzzy
    assert not po.untranslated_entries(), [e.msgid for e in po.untranslated_entries()]
    assert not po.fuzzy_entries(), [e.msgid for e in po.fuzzy_entries()]
    assert not po.obsolete_entries()
    assert len(po.translated_entries()) > 300
    for entry in po.translated_entries():
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        source = set(PLACEHOLDER.findall(entry.msgid + (entry.msgid_plural or "")))
        for text in translations:  # no placeholder the English does not have (a plural form may drop one)
            assert set(PLACEHOLDER.findall(text)) <= source, entry.msgid
        if not entry.msgid_plural:
            assert sorted(PLACEHOLDER.findall(entry.msgstr)) == sorted(PLACEHOLDER.findall(entry.msgid)), entry.msgid


def test_the_committed_mo_holds_exactly_the_po():
    """Machines without gettext use the committed .mo: it must say what the .po says (content, not mtimes:
    a checkout does not keep them)."""
    assert MO.exists(), "run: manage.py compilemessages -l fr"
    assert contents(polib.mofile(str(MO))) == contents(po_file())


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext's msgfmt is not installed")
def test_msgfmt_compiles_the_po_cleanly_into_the_committed_mo(tmp_path):
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(PO)], check=True, capture_output=True)
    assert contents(polib.mofile(str(compiled))) == contents(polib.mofile(str(MO)))


def test_names_built_at_run_time_are_in_the_catalogue():
    """Module, kind, column, category and origin names reach gettext() as variables (lab/labels.py): a new one
    needs its catalogue entry."""
    msgids = contents(po_file())
    kinds = [spec for spec in KINDS.values() if spec.model.__module__.startswith("modules.")]  # not tests' toys
    names = {m.label for m in Module} | {spec.label for spec in kinds if spec.label}
    names |= set(COLUMN_LABELS.values()) | set(CATEGORY_LABELS.values()) | {str(s.label) for s in EntrySource}
    assert names - set(msgids) == set()


# --- pages in French ---------------------------------------------------------------------------------------
@pytest.fixture
def french_principal(year, tree):
    YearConfiguration.objects.filter(year=2025).update(is_started=True)
    tree["it4r"].label_en, tree["it4r"].label_fr = "IT for research", "Informatique pour la recherche"
    tree["it4r"].save()
    return user_with_roles(f"calco2.user.principal@unit:{CF}", display_name="Pat Principal", language="fr")


@pytest.fixture(autouse=True)
def english_after():
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.mark.django_db
def test_the_switch_stores_french_and_the_workspace_speaks_it(client, year, tree):
    YearConfiguration.objects.filter(year=2025).update(is_started=True)
    tree["it4r"].label_en, tree["it4r"].label_fr = "IT for research", "Informatique pour la recherche"
    tree["it4r"].save()
    user = user_with_roles(f"calco2.user.principal@unit:{CF}")
    client.force_login(user)
    english = client.get("/").content.decode()
    assert '<html lang="en">' in english and "My labs" in english and "IT for research" in english
    client.post("/language/", {"language": "fr"})
    user.refresh_from_db()
    assert user.language == "fr"
    page = client.get("/").content.decode()
    assert '<html lang="fr">' in page
    assert "Mes laboratoires" in page and "Responsable d’unité" in page and "Années ouvertes" in page
    assert "Informatique pour la recherche" in page and "IT for research" not in page  # the unit's French label
    assert 'lang="en">English</option>' in page and 'lang="fr" selected>Français</option>' in page  # own names


@pytest.mark.django_db
def test_the_overview_names_the_modules_in_french(client, french_principal):
    client.force_login(french_principal)
    page = client.get(LAB).content.decode()
    assert '<html lang="fr">' in page
    assert "Modules validés\u00a0: 0 sur 8." in page and "Vue d’ensemble" in page and "Voir les résultats" in page
    for name in ("Effectifs", "Voyages professionnels", "Bâtiments", "Équipements", "Achats",
                 "Infrastructures de recherche", "Cloud et IA externes", "Émissions de procédés"):
        assert name in page
    assert "Non commencé" in page and "Informatique pour la recherche" in page
    assert "Professional travel" not in page and "Not started" not in page


@pytest.mark.django_db
def test_a_module_page_and_its_form_in_french_with_french_numbers_but_plain_inputs(client, french_principal):
    client.force_login(french_principal)
    form = client.get(LAB + "process_emissions/process_emission/new/").content.decode()
    assert '<html lang="fr">' in form
    assert "Ajouter à «\u00a0Émissions de procédés\u00a0»" in form
    assert ">Gaz" in form and ">Quantité" in form and "Enregistrer" in form and "Annuler" in form
    created = client.post(LAB + "process_emissions/process_emission/new/", {"category": "CO2", "quantity": "2.5"})
    assert created.status_code == 302
    page = client.get(LAB + "process_emissions/").content.decode()
    assert "<h1>Émissions de procédés</h1>" in page and "Enregistré." in page
    assert "Importer un fichier CSV" in page and "Modèle CSV" in page and "Saisie manuelle" in page
    assert "2,5" in page and "2.5" not in page  # the table: the French decimal comma
    entry = KINDS["process_emission"].model.objects.get()
    assert entry.quantity == Decimal("2.5")
    edit = client.get(LAB + f"process_emissions/process_emission/{entry.pk}/").content.decode()
    # The input keeps the CSV and API's decimal point: what a French user edits is what a file would say.
    assert 'name="quantity" value="2.5' in edit and 'value="2,5' not in edit and "Modifier une ligne de" in edit


@pytest.mark.django_db
def test_validation_and_error_messages_in_french(client, french_principal):
    client.force_login(french_principal)
    confirm = client.get(LAB + "process_emissions/validation/").content.decode()
    assert "Valider le module «\u00a0Émissions de procédés\u00a0»\u00a0?" in confirm
    assert client.get(LAB + "nothing_here/").status_code == 404
    not_found = client.get(LAB + "nothing_here/").content.decode()
    assert "Page introuvable" in not_found and "Retour à mes laboratoires" in not_found


@pytest.mark.django_db
def test_the_admin_index_in_french_names_apps_and_models_in_french(client, tree):
    admin = user_with_roles("calco2.backoffice.admin@global", language="fr")
    client.force_login(admin)
    page = client.get("/admin/").content.decode()
    assert '<html lang="fr"' in page
    # The index is grouped by module and section (config/admin_site.py), not by app.
    for name in ("Organisation, personnes et rôles", "Effectifs", "Voyages professionnels", "Données de référence",
                 "Unités", "Années", "Voyages en avion", "Taux de change", "Campagne", "Importer un fichier"):
        assert name in page, name
    assert "Organisation, people and roles" not in page and "Plane trips" not in page


def test_the_admin_upload_form_in_french(client, tree):
    client.force_login(user_with_roles("calco2.backoffice.admin@global", language="fr"))
    page = client.get("/admin/upload/").content.decode()
    assert "Téléverser et vérifier" in page and "Téléverser un fichier CSV" in page
    assert "Upload and check" not in page


def test_the_api_detail_follows_the_language():
    missing = MissingModule(module=Module.purchase, status=ModuleStatus.IN_PROGRESS)
    assert missing.message == "Validate Purchases to see its results."
    with translation.override("fr"):
        assert missing.message == "Validez le module «\u00a0Achats\u00a0» pour voir ses résultats."
