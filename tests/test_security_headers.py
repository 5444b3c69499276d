"""Security headers and the pages around them: the API schema and docs need a signed-in user, the docs load
nothing from another host, every kind of response carries the Content-Security-Policy, HTTPS redirect and
HSTS, and the styled error pages (403, 404, CSRF failure, 500) with their way back."""

import re
from urllib.parse import urlsplit

import pytest
from django.template import loader
from django.test import Client

from tests.factories import user_with_roles

pytestmark = pytest.mark.django_db

# Scripts: our origin plus the one inline handler allowed by its hash (settings.py says why), nothing else.
SCRIPT_SRC = "script-src 'self' 'unsafe-hashes' 'sha256-wid4zL8fR53ZYy1ljOepzR77Dn6vWUUxuNnnWWBP3I8='"
EXPECTED_DIRECTIVES = {
    "default-src 'self'", SCRIPT_SRC, "style-src 'self'", "img-src 'self' data:",
    "frame-ancestors 'none'", "form-action 'self'", "base-uri 'self'", "object-src 'none'",
}


def directives(response) -> set[str]:
    return {part.strip() for part in response["Content-Security-Policy"].split(";")}


def unsafe_sources(response) -> set[str]:
    """Directives that allow something 'unsafe-…', but for style attributes and the one hashed handler
    (settings.py says why)."""
    return {d for d in directives(response) if "'unsafe-" in d} - {"style-src-attr 'unsafe-inline'", SCRIPT_SRC}


@pytest.fixture
def lab_user(tree):
    return user_with_roles("calco2.user.principal@unit:13032")


@pytest.fixture
def backoffice_admin(tree):
    return user_with_roles("calco2.backoffice.admin@global")


# --- API schema and docs ---------------------------------------------------------------------------
def test_anonymous_gets_no_schema_and_is_sent_to_login_from_the_docs(client):
    assert client.get("/api/v1/schema/").status_code == 403
    assert client.get("/api/v1/schema/?format=json").status_code == 403
    for url in ("/api/v1/docs/", "/api/v1/docs/?script="):
        response = client.get(url)
        assert response.status_code == 302
        assert urlsplit(response["Location"]).path == "/accounts/login/"


def test_signed_in_user_gets_the_schema(client, lab_user):
    client.force_login(lab_user)
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Carbon calculator API"
    assert "/api/v1/units/" in schema["paths"]


def test_docs_page_loads_everything_from_this_site_and_has_no_inline_script(client, lab_user):
    client.force_login(lab_user)
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="swagger-ui"' in html
    urls = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]*)"', html)
    assert any("swagger-ui-bundle.js" in url for url in urls), urls
    for url in urls:
        assert not re.match(r"^(https?:)?//", url), f"external resource in the docs page: {url}"
    assert "<style" not in html
    # Every <script> has a src: the init script is a file of its own (?script), served as JavaScript.
    assert len(re.findall(r"<script\b", html)) == len(re.findall(r"<script\b[^>]*\bsrc=", html))
    (init,) = [url for url in urls if "script=" in url]
    script = client.get(init.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()


# --- Content-Security-Policy on every kind of response ---------------------------------------------
def test_csp_on_the_login_page_the_lab_the_admin_and_the_api(client, backoffice_admin):
    assert directives(client.get("/accounts/login/")) >= EXPECTED_DIRECTIVES
    client.force_login(backoffice_admin)
    for url in ("/", "/admin/", "/admin/units/unit/", "/admin/upload/", "/api/v1/me/", "/api/v1/docs/",
                "/api/v1/schema/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert directives(response) >= EXPECTED_DIRECTIVES, url
        assert not unsafe_sources(response), url


def test_other_security_headers(client):
    response = client.get("/accounts/login/")
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_https_redirect_spares_healthz_and_https_gets_hsts(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = client.get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")
    assert client.get("/healthz").status_code == 200
    secure = client.get("/accounts/login/", secure=True)
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_tests_run_without_the_https_redirect(settings):
    """pytest speaks plain http: the redirect's default is off here (settings.py explains why)."""
    assert settings.SECURE_SSL_REDIRECT is False


# --- error pages -------------------------------------------------------------------------------------
def test_unknown_url_renders_the_styled_404_with_a_way_home(client, settings):
    settings.DEBUG = False
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert 'href="/static/css/lab.css"' in html
    assert 'href="/" id="error-home"' in html
    assert 'href="/admin/"' not in html  # the back-office link is for back-office users
    assert "Content-Security-Policy" in response


def test_admin_404_offers_the_back_office(client, settings, backoffice_admin):
    settings.DEBUG = False
    client.force_login(backoffice_admin)
    response = client.get("/admin/units/unit/999999/change/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert 'id="error-admin"' in html and 'href="/admin/"' in html
    assert 'id="error-home"' in html


def test_forbidden_renders_the_styled_403(client, settings, lab_user):
    settings.DEBUG = False
    client.force_login(lab_user)
    response = client.get("/admin/upload/")  # back-office admins only
    assert response.status_code == 403
    html = response.content.decode()
    assert "Access denied" in html and 'id="error-home"' in html


def test_csrf_failure_renders_the_styled_page(settings):
    settings.DEBUG = False
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "Your form could not be sent" in html
    assert 'href="/"' in html and 'href="/admin/"' in html


@pytest.mark.django_db(databases=[])  # any database access would fail this test
def test_500_page_stands_alone():
    html = loader.get_template("500.html").render()  # as handler500 renders it: no request, no context
    assert "Something went wrong on our side" in html
    assert 'href="/static/css/lab.css"' in html
    assert 'href="/"' in html and 'href="/admin/"' in html
    assert "<script" not in html
