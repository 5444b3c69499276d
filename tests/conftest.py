import io
import os

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from carbon.services import year_create
from tests.factories import UnitFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # Playwright's sync API runs an event loop


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(autouse=True)
def force_login_backend(settings):
    """`client.force_login` takes the first backend with `get_user`: make it the test-only one."""
    settings.AUTHENTICATION_BACKENDS = ["tests.auth_backends.ForceLoginBackend", *settings.AUTHENTICATION_BACKENDS]


@pytest.fixture
def tree(db):
    """The reference's scoping seed: ENAC (12635/13030) → SG → IT4R (14270/13032); STI (13000/14000) → STI-LAB.

    Plus a root, and units whose codes share prefixes (142 / 1420) to catch substring matching.
    """
    root = UnitFactory(institutional_code="10000", institutional_id="10000", name="EPFL")
    enac = UnitFactory(institutional_code="12635", institutional_id="13030", name="ENAC", parent=root)
    sg = UnitFactory(institutional_code="12700", institutional_id="13100", name="SG", parent=enac)
    it4r = UnitFactory(institutional_code="14270", institutional_id="13032", name="IT4R", parent=sg)
    sti = UnitFactory(institutional_code="13000", institutional_id="14000", name="STI", parent=root)
    sti_inst = UnitFactory(institutional_code="13010", institutional_id="14010", name="STI-INST", parent=sti)
    sti_lab = UnitFactory(institutional_code="13011", institutional_id="14011", name="STI-LAB", parent=sti_inst)
    return {"root": root, "enac": enac, "sg": sg, "it4r": it4r, "sti": sti, "sti_inst": sti_inst,
            "sti_lab": sti_lab}


@pytest.fixture
def year(tree):
    """The 2025 campaign skeleton (settings and reports) over `tree`."""
    year_create(year=2025)
    return 2025


# --- the demo, loaded once per module for tests that only read it ---------------------------------------
@pytest.fixture(scope="module")
def demo_database(django_db_setup, django_db_blocker):
    """`load_demo` once for the module, in a transaction rolled back after the module's last test.

    Only for modules whose every test uses `demo` (a test without it would see the demo too). The demo's
    passwords are hashed with the tests' fast hasher, which the function-scoped fixture installs too late.
    """
    with (django_db_blocker.unblock(), transaction.atomic(),
          override_settings(DEMO_MODE=True, PASSWORD_HASHERS=FAST_HASHERS)):
        try:
            call_command("load_demo", stdout=io.StringIO())
            yield
        finally:
            transaction.set_rollback(True)


@pytest.fixture
def demo(demo_database, db, settings):
    """The loaded demo, each test rolled back to it (its savepoint); demo passwords enabled."""
    settings.DEMO_MODE = True
    return settings


# --- a lab's open year, for the lab pages and the lab API -------------------------------------------------
LAB_CF = "13032"  # IT4R, a level-4 lab of `tree`


@pytest.fixture
def open_year(year, tmp_path):
    """2025 opened to the labs, with process-emission factors (CO2 1, CH4 28 kg CO2-eq per kg)."""
    from carbon.models import YearConfiguration
    from tests.campaign import import_csv

    import_csv(tmp_path, "factors:process_emission", "category,ef_kg_co2eq_per_unit\nCO2,1\nCH4,28\n",
               "--year", "2025")
    YearConfiguration.objects.filter(year=2025).update(is_started=True)
    return 2025


@pytest.fixture
def principal(open_year):
    from tests.factories import user_with_roles

    return user_with_roles(f"calco2.user.principal@unit:{LAB_CF}", display_name="Pat Principal")


@pytest.fixture
def standard(open_year):
    from tests.factories import user_with_roles

    return user_with_roles(f"calco2.user.standard@own:{LAB_CF}", institutional_id="200001")
