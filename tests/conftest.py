import os

import pytest

from tests.factories import UnitFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
