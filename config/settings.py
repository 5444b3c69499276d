"""Settings, all read from the environment (see README "Configuration")."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from config.database import database_config

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
    "rest_framework.authtoken",  # API tokens for scripts (manage.py api_token); no admin page (units/admin.py)
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files (no CDN)
    "csp",
    "import_export",
    "simple_history",
    "guardian",
    "django_q",
    "mozilla_django_oidc",
    "axes",
    "config",  # the project package: demo commands
    # Domain apps, in dependency order: each depends only on the ones above it; audit observes all.
    "units",
    "carbon",
    "factors",
    "modules",
    "reporting",
    "audit",
    # Last: its autodiscovery imports every admin.py after the apps' ready() filled the kind registries.
    # django.contrib.admin with the back office's site (config/admin_site.py: the index grouped by module).
    "config.admin_site.BackOfficeAdminConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (policy: CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the language cookie, else the browser's languages
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "units.middleware.UserLanguageMiddleware",  # a signed-in person's chosen language wins
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # The source ("admin", "API", "lab pages", "sign-in") that ends the change reason of history rows.
    "audit.middleware.RequestOriginMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "config.context_processors.site",
            ],
        },
    },
]

DATABASES = {"default": database_config(BASE_DIR)}
# A second connection to the same database: job progress and heartbeats commit through it while the
# job's data transaction is still open on `default` (docs/architecture.md "Job machinery").
DATABASES["jobs"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
JOB_STALE_SECONDS = int(os.environ.get("JOB_STALE_SECONDS", 120))
# The account management commands write as when no --actor is given (institutional_id); empty: the
# operating-system user, recorded as "operator <name>" (units/operators.py).
OPERATOR_ACTOR = os.environ.get("OPERATOR_ACTOR", "")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "units.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out (user, IP) before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "units.auth.DemoPasswordBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# USERNAME_FIELD (institutional_id) is unique only together with the provider, by design.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
# Password login (demo and local accounts) is throttled: after AXES_FAILURE_LIMIT failures for one
# (user, client address) that pair is locked out for AXES_COOLOFF_MINUTES. OIDC logins are throttled
# by the identity provider.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
# The client's address as our reverse proxy saw it when BEHIND_PROXY is set (else every client would share
# the proxy's address and one user's lockout would hit everyone behind it).
AXES_CLIENT_IP_CALLABLE = "units.auth.client_address"  # the login form's field (axes would read USERNAME_FIELD's name)
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # successful logins belong to the audit trail, not to a second log
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = False  # units/admin.py registers the lockouts on the scoped base instead
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "lab:workspace"
LOGOUT_REDIRECT_URL = "login"
# Sign-in, sign-in failure and sign-out events older than this are deleted by `manage.py audit_retention`
# (run it daily); they are outside the audit hash chain (docs/architecture.md "Tamper evidence").
AUDIT_AUTH_EVENT_RETENTION_DAYS = int(os.environ.get("AUDIT_AUTH_EVENT_RETENTION_DAYS", 400))

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
BEHIND_PROXY = env_bool("BEHIND_PROXY")
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- HTTPS (README "Configuration"); `manage.py check --deploy` is clean with the defaults --------
# The http→https redirect follows SECURE_COOKIES (on unless DEBUG/DEMO_MODE): a site whose cookies are
# not Secure is served over http and must not redirect. `healthz` is exempt, so a load balancer's plain
# http probe gets its answer. Under pytest the default is off: `make test` runs with the production
# defaults (DEMO_MODE=0) but the test client and live_server speak plain http, so every request would
# be answered 301. A test that checks the redirect turns it on with the `settings` fixture, and
# tests/test_deploy_check.py checks the production defaults in a subprocess without PYTEST_VERSION.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SECURE_COOKIES and not os.environ.get("PYTEST_VERSION"))
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# HSTS is sent on https responses only; debug/demo setups on a developer's host get none.
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 0 if (DEBUG or DEMO_MODE) else 31536000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    # security.W021 asks for preload. Submitting a domain to the browsers' preload lists binds the whole
    # registrable domain and every subdomain to https for months, and is hard to undo: it is the domain
    # owner's decision (the institution's), not an application default. Opt in with SECURE_HSTS_PRELOAD=1.
    SILENCED_SYSTEM_CHECKS.append("security.W021")
SECURE_REFERRER_POLICY = os.environ.get("SECURE_REFERRER_POLICY", "same-origin")
SECURE_CROSS_ORIGIN_OPENER_POLICY = os.environ.get("SECURE_CROSS_ORIGIN_OPENER_POLICY", "same-origin")

# --- Content-Security-Policy (django-csp 4) ----------------------------------------------------------
# Scripts and style sheets come from our own origin only (no inline <script>/<style>, no CDN: Swagger UI
# is served by drf-spectacular-sidecar); tests/test_browser_csp.py visits every kind of page in Chromium
# and fails on any violation.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        # Plus one inline event handler, allowed by the hash of its exact text: django-import-export's
        # export page has `onchange="onSelectToggleChange(event)"` on its "Select all" box.
        "script-src": ["'self'", "'unsafe-hashes'", "'sha256-wid4zL8fR53ZYy1ljOepzR77Dn6vWUUxuNnnWWBP3I8='"],
        "style-src": ["'self'"],
        # The one relaxation: inline style *attributes* (style="…"), not <style> elements (those fall back to
        # style-src: 'self'). Django's own admin pages need none, but django-simple-history's history page
        # (`<p class="paginator" style="border-top: 0">`) and the campaign view of a year (its status dots,
        # reporting/admin.py) use them, and would be refused. An attribute has no selectors, so it cannot
        # read the page the way an injected <style> can, and url() loads stay bound by img-src. Drop this
        # line once neither page carries a style attribute.
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

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
# PKCE (S256): an authorization code intercepted on its way back is useless without the verifier,
# which stays in our session.
OIDC_USE_PKCE = True
# SessionRefresh re-checks a signed-in user at the provider (silently, prompt=none) once this many
# seconds have passed since the last check: a deactivation or a role change there reaches open
# sessions within minutes (each re-check re-runs the role sync), not at the end of SESSION_COOKIE_AGE.
OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS = int(os.environ.get("OIDC_SESSION_REFRESH_SECONDS", 300))
# The oidc/ URLs are always routed; these views refuse to start or finish a login while OIDC is off.
OIDC_AUTHENTICATE_CLASS = "units.auth.OIDCAuthenticateView"
OIDC_CALLBACK_CLASS = "units.auth.OIDCCallbackView"
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.insert(0, "units.auth.InstitutionOIDCBackend")
    # Needs request.user, so right after AuthenticationMiddleware. Only GET requests are re-checked.
    MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                      "mozilla_django_oidc.middleware.SessionRefresh")

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Zurich")
USE_I18N = True
USE_TZ = True
# Numbers and dates follow the active language (always on since Django 5: "2,5" and "2 décembre 2025" in
# French). No automatic thousands separator: plain integers (years, ids) would read "2 025"; totals ask for
# grouping themselves (floatformat:"0g"). Form inputs get the CSV's plain values ("2.5"), never localized.
USE_THOUSAND_SEPARATOR = False

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
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication",
                                       "rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "infra.api_errors.exception_handler",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Carbon calculator API",
    "VERSION": "1.0.0",
    # The schema and its docs are for signed-in users only (anonymous: 403; the docs page also
    # redirects to the login page, see config/urls.py).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI and Redoc from drf-spectacular-sidecar's static files, not from a CDN (CSP: 'self').
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The default hook (enum names), then the error shape on every operation and what each path parameter's
    # converter matches (infra/api_errors.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "infra.api_errors.document_error_responses",
                             "infra.api_errors.document_path_converters"],
}

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

# The results' "equivalent car kilometres" = kg CO2-eq / this factor (product.md §5 decision 17; read by
# reporting/results.py). Default 0.17 kg CO2-eq per km: an average passenger car of unknown fuel in the UK
# Government (DESNZ, formerly BEIS/DEFRA) "Greenhouse gas reporting: conversion factors" for company
# reporting (≈ 0.17 kg CO2e/km in the recent editions), also the value of the reference system's results
# tests (reference-reporting.md §5).
CAR_KM_KG_CO2EQ_PER_KM = Decimal(os.environ.get("CAR_KM_KG_CO2EQ_PER_KM") or "0.17")
CAR_KM_SOURCE = os.environ.get(
    "CAR_KM_SOURCE",
    "UK Government (DESNZ) greenhouse gas conversion factors for company reporting: average car, "
    "unknown fuel, about 0.17 kg CO2e per km",
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "pgserver": {"level": "WARNING"},
                "axes": {"level": "WARNING"}},
}
