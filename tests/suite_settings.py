"""The test suite's settings: the project's, plus the toy entry kind (tests/toy_kind), installed before the
admin so that its autodiscovery sees the kind like any other."""

from config.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS[:-1], "tests.toy_kind", INSTALLED_APPS[-1]]  # noqa: F405
assert INSTALLED_APPS[-1] == "config.admin_site.BackOfficeAdminConfig"  # the admin, last
