"""Settings, all read from the environment (see README "Configuration")."""

from __future__ import annotations

import os
from pathlib import Path

from carbon.database import database_config

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# Demo mode enables password login for the demo users only (product.md: identity comes from OIDC).
DEMO_MODE = env_bool("DEMO_MODE", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or DEMO_MODE or os.environ.get("PYTEST_VERSION")):
        raise RuntimeError("SECRET_KEY must be set (web and workers must share it; see README).")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "import_export",
    "simple_history",
    "guardian",
    "django_q",
    "mozilla_django_oidc",
    # Domain apps, in dependency order: each depends only on the ones above it; audit observes all.
    "units",
    "carbon",
    "factors",
    "modules",
    "reporting",
    "audit",
    # Last: its autodiscovery imports every admin.py after the apps' ready() filled the kind registries.
    "django.contrib.admin",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "carbon.urls"
WSGI_APPLICATION = "carbon.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "carbon.context_processors.site",
            ],
        },
    },
]

DATABASES = {"default": database_config(BASE_DIR)}
# A second connection to the same database: job progress and heartbeats commit through it while the
# job's data transaction is still open on `default` (docs/architecture.md "Job machinery").
DATABASES["jobs"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
JOB_STALE_SECONDS = int(os.environ.get("JOB_STALE_SECONDS", 120))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "units.User"
AUTHENTICATION_BACKENDS = [
    "units.auth.DemoPasswordBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# USERNAME_FIELD (institutional_id) is unique only together with the provider, by design.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "lab:workspace"
LOGOUT_REDIRECT_URL = "login"

# Sessions live in the database: logout ends them server-side.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", 8 * 3600))
SECURE_COOKIES = env_bool("SECURE_COOKIES", not (DEBUG or DEMO_MODE))
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Proxy headers are trusted only when the operator says a proxy sets them.
if env_bool("BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- OpenID Connect (mozilla-django-oidc); enabled when a client id is configured ---------------
OIDC_ENABLED = bool(os.environ.get("OIDC_RP_CLIENT_ID"))
OIDC_PROVIDER_NAME = os.environ.get("OIDC_PROVIDER_NAME", "oidc")
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_RP_CLIENT_SECRET", "")
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = os.environ.get("OIDC_RP_SCOPES", "openid email profile")
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = os.environ.get("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_OP_JWKS_ENDPOINT", "")
OIDC_OP_LOGOUT_ENDPOINT = os.environ.get("OIDC_OP_LOGOUT_ENDPOINT", "")
# Claim that carries the stable subject (the institutional id, e.g. a SCIPER).
OIDC_SUBJECT_CLAIM = os.environ.get("OIDC_SUBJECT_CLAIM", "sub")
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.insert(0, "units.auth.InstitutionOIDCBackend")

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Zurich")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".data" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / ".data" / "media"))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if DEBUG or os.environ.get("PYTEST_VERSION"):
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
}
SPECTACULAR_SETTINGS = {"TITLE": "Carbon calculator API", "VERSION": "1.0.0"}

# django-import-export: without these, has_import/export_permission return True for everyone.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_SKIP_ADMIN_LOG = True

GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None

# django-q2: the job row in PostgreSQL is the truth; the task carries only its id.
# retry must exceed timeout, or a running task is redelivered and runs twice.
Q_CLUSTER = {
    "name": "carbon",
    "orm": "default",
    "workers": int(os.environ.get("Q_WORKERS", 2)),
    "timeout": int(os.environ.get("Q_TIMEOUT", 3600)),
    "retry": int(os.environ.get("Q_RETRY", 3900)),
    "max_attempts": 2,
    "ack_failures": True,
    "save_limit": 1000,
    "catch_up": False,
    "label": "Task queue",
}
if os.environ.get("REDIS_URL"):
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = os.environ["REDIS_URL"]

# Kilograms of CO2-eq per car-km used for the "equivalent car kilometres" figure (see docs).
CO2_PER_CAR_KM_KG = float(os.environ.get("CO2_PER_CAR_KM_KG", "0.17"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "pgserver": {"level": "WARNING"}},
}
