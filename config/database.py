"""Database selection: `DATABASE_URL` when set, otherwise a private embedded PostgreSQL.

The embedded server (the `pgserver` package ships the PostgreSQL binaries) lives under `.data/`
and is started on first use, then left running so that the web server, the worker and the test
runner share it. There is deliberately no SQLite fallback: the project uses PostgreSQL features
(array operators, partial unique indexes, COPY) everywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

EMBEDDED_DB_NAME = "carbon"


def database_config(base_dir: Path) -> dict:
    url = os.environ.get("DATABASE_URL")
    if url:
        # Tests open and drop databases: persistent connections would outlive them.
        max_age = 0 if os.environ.get("PYTEST_VERSION") else 60
        config = dj_database_url.parse(url, conn_max_age=max_age, conn_health_checks=True)
    else:
        config = _embedded_database(base_dir / ".data" / "pg")
    config.setdefault("TEST", {})
    # Worker processes started by the test suite are pointed at the test database this way.
    if os.environ.get("CARBON_DATABASE_NAME"):
        config["NAME"] = os.environ["CARBON_DATABASE_NAME"]
    return config


def _embedded_database(pgdata: Path) -> dict:
    import pgserver  # imported lazily: only needed when no DATABASE_URL is given

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{EMBEDDED_DB_NAME}';")
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {EMBEDDED_DB_NAME};")
    info = server.get_postmaster_info()
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": EMBEDDED_DB_NAME,
        "USER": server.postgres_user,
        "PASSWORD": "",
        "HOST": str(info.socket_dir) if info.socket_dir else info.hostname,
        "PORT": str(info.port or ""),
        "CONN_MAX_AGE": 0 if os.environ.get("PYTEST_VERSION") else 60,
    }
