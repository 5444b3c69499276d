"""`manage.py check --deploy` is clean with production settings (README "Configuration", HTTPS rows).

Settings read the environment at import, so the check runs in a subprocess with a production environment:
DEBUG and DEMO_MODE off, a random 64-character SECRET_KEY, a real host name, and without PYTEST_VERSION
(under pytest the HTTPS redirect defaults off, see settings.py).
"""

import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def production_env():
    env = {name: value for name, value in os.environ.items()
           if name != "PYTEST_VERSION" and not name.startswith(("DJANGO_", "SECURE_", "OIDC_"))}
    env.update({
        "DEBUG": "0",
        "DEMO_MODE": "0",
        "SECRET_KEY": "".join(secrets.choice(string.ascii_letters + string.digits + "!@#%^&*(-_=+)")
                              for _ in range(64)),
        "ALLOWED_HOSTS": "carbon.example.org",
        "CSRF_TRUSTED_ORIGINS": "https://carbon.example.org",
        # The HTTPS settings of the README, as a production deployment sets them.
        "SECURE_COOKIES": "1",
        "SECURE_SSL_REDIRECT": "1",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    })
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    return env


def run_check(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_deploy_check_is_clean_in_production(production_env):
    result = run_check(production_env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output and "ERRORS" not in output, output


def test_deploy_check_is_clean_with_the_defaults(production_env):
    """Setting only the required variables is enough: the HTTPS defaults are the production ones."""
    for name in ("SECURE_COOKIES", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS"):
        del production_env[name]
    result = run_check(production_env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output, output


def test_deploy_check_catches_an_insecure_setting(production_env):
    """The check is live: plain http in production is reported."""
    production_env["SECURE_SSL_REDIRECT"] = "0"
    result = run_check(production_env)
    assert result.returncode != 0
    assert "security.W008" in result.stdout + result.stderr
