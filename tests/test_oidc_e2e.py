"""OIDC login end to end, against a real OpenID provider (oidc-provider, tests/oidc/) on loopback.

Our side runs in Django's test client; the provider's side (its login form, its session cookie) in a
`requests.Session`, the "browser at the IdP". Django exchanges the code at the provider's token
endpoint and reads its userinfo and JWKS for real: nothing is mocked.

Settings: OIDC's backend and middleware are chosen when config/settings.py is imported, so the test
imports that file in a subprocess with the OIDC_* environment a deployment would set, and applies the
OIDC_*, MIDDLEWARE and AUTHENTICATION_BACKENDS values it computes with the `settings` fixture: the
wiring under test is the production one. The oidc/ URLs are always routed (their views refuse while
OIDC is off), so the real URLconf serves.
"""

import json
import os
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.contrib.sessions.models import Session
from django.test import Client

from units.models import Provider, User
from units.roles import Role, ScopeKind
from units.selectors import user_roles

ROOT = Path(__file__).resolve().parent.parent
OIDC_DIR = ROOT / "tests" / "oidc"
CLIENT = {"client_id": "carbon-test", "client_secret": "test-secret", "redirect_uri": "http://testserver/oidc/callback/"}
SUB = "123456"
PRINCIPAL = ["calco2.user.principal@unit:13032", "calco2.backoffice.metier@affiliation:13030"]


def default_accounts():
    return {SUB: {"password": "pw", "active": True, "claims": {
        "email": "ann@example.org", "given_name": "Ann", "family_name": "Lee", "roles": PRINCIPAL}}}


class IdP:
    """The provider process and its accounts file (re-read by the provider on every account lookup)."""

    def __init__(self, issuer: str, config: Path):
        self.issuer, self.config = issuer, config
        self.endpoints = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()

    def set_accounts(self, accounts: dict) -> None:
        self.config.write_text(json.dumps({**CLIENT, "accounts": accounts}))

    def update_account(self, sub: str, **fields) -> None:
        accounts = json.loads(self.config.read_text())["accounts"]
        accounts[sub].update(fields)
        self.set_accounts(accounts)


@pytest.fixture(scope="module")
def idp_process(tmp_path_factory):
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the OIDC end-to-end test needs it to run its OpenID provider")
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.skip("tests/oidc/node_modules is missing: run `(cd tests/oidc && npm ci)` (make install-dev does)")
    tmp = tmp_path_factory.mktemp("oidc")
    config, log = tmp / "provider.json", tmp / "provider.log"
    config.write_text(json.dumps({**CLIENT, "accounts": default_accounts()}))
    with log.open("w") as stderr:
        # stdin stays an open pipe: the provider exits when it closes (if pytest dies without teardown).
        proc = subprocess.Popen(["node", "provider.mjs", "0", str(config)], cwd=OIDC_DIR, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        line = proc.stdout.readline() if ready else ""
        if not line:
            pytest.fail(f"the OpenID provider did not start:\n{log.read_text()}")
        yield IdP(json.loads(line)["issuer"], config)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def production_oidc_settings(idp_process):
    """What config/settings.py computes when a deployment configures OIDC (read in a subprocess)."""
    ep = idp_process.endpoints
    env = {**os.environ, "OIDC_RP_CLIENT_ID": CLIENT["client_id"], "OIDC_RP_CLIENT_SECRET": CLIENT["client_secret"],
           "OIDC_OP_AUTHORIZATION_ENDPOINT": ep["authorization_endpoint"],
           "OIDC_OP_TOKEN_ENDPOINT": ep["token_endpoint"], "OIDC_OP_USER_ENDPOINT": ep["userinfo_endpoint"],
           "OIDC_OP_JWKS_ENDPOINT": ep["jwks_uri"], "OIDC_SESSION_REFRESH_SECONDS": "120"}
    code = ("import json; from config import settings as s; print(json.dumps({k: getattr(s, k) for k in dir(s) "
            "if k.startswith('OIDC_') or k in ('MIDDLEWARE', 'AUTHENTICATION_BACKENDS')}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture
def idp(idp_process, production_oidc_settings, settings, tree):
    for name, value in production_oidc_settings.items():
        setattr(settings, name, value)
    idp_process.set_accounts(default_accounts())
    return idp_process


def at_idp(browser: requests.Session, url: str, credentials: tuple[str, str] | None = None) -> str:
    """Follows the provider's redirects, filling its login form once if asked, until it sends the
    browser back to our callback; returns that callback URL."""
    for _ in range(10):
        if url.startswith(CLIENT["redirect_uri"]):
            return url
        response = browser.get(url, allow_redirects=False, timeout=10)
        if response.status_code == 200 and "<form" in response.text and credentials:
            action = re.search(r'action="([^"]+)"', response.text).group(1)
            login, password = credentials
            response = browser.post(urljoin(url, action), data={"login": login, "password": password},
                                    allow_redirects=False, timeout=10)
            credentials = None
        assert response.status_code in (302, 303), (response.status_code, response.text[:500])
        url = urljoin(url, response.headers["Location"])
    raise AssertionError("the provider never redirected back to the callback")


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def oidc_login(client: Client, browser: requests.Session, password: str = "pw"):
    """The whole authorization-code flow; returns (authorization URL, our callback's response)."""
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 302
    authorization_url = response["Location"]
    return authorization_url, client.get(at_idp(browser, authorization_url, (SUB, password)))


def roles_of(user) -> set:
    return {(h.role, h.kind, h.cf) for h in user_roles(User.objects.get(pk=user.pk))}


def is_signed_in(client: Client) -> bool:
    return client.get("/api/v1/me/").status_code == 200


def test_production_settings_wire_oidc(production_oidc_settings):
    s = production_oidc_settings
    assert s["AUTHENTICATION_BACKENDS"][0] == "units.auth.InstitutionOIDCBackend"
    auth = s["MIDDLEWARE"].index("django.contrib.auth.middleware.AuthenticationMiddleware")
    assert s["MIDDLEWARE"][auth + 1] == "mozilla_django_oidc.middleware.SessionRefresh"
    assert s["OIDC_USE_PKCE"] is True
    assert s["OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS"] == 120  # from OIDC_SESSION_REFRESH_SECONDS


def test_login_with_pkce_creates_the_user_with_the_claimed_roles(idp, client):
    browser = requests.Session()
    authorization_url, response = oidc_login(client, browser)

    params = query(authorization_url)
    assert authorization_url.startswith(idp.endpoints["authorization_endpoint"])
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    user = User.objects.get(institutional_id=SUB, provider=Provider.OIDC)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)
    assert (user.email, user.display_name) == ("ann@example.org", "Ann Lee")
    assert roles_of(user) == {(Role.PRINCIPAL, ScopeKind.UNIT, "13032"), (Role.METIER, ScopeKind.AFFILIATION, "13030")}
    assert client.get("/api/v1/me/").json()["institutional_id"] == SUB

    # The provider requires PKCE: without a challenge, no code (so our successful exchange sent the verifier).
    no_pkce = re.sub(r"&code_challenge(_method)?=[^&]*", "", authorization_url)
    assert query(at_idp(browser, no_pkce))["error"] == "invalid_request"


def test_a_user_deactivated_here_is_refused_and_signed_out(idp, client):
    oidc_login(client, requests.Session())
    assert is_signed_in(client)
    User.objects.filter(institutional_id=SUB, provider=Provider.OIDC).update(is_active=False)

    assert not is_signed_in(client)  # the open session stops working on the next request
    other = Client()
    _, response = oidc_login(other, requests.Session())  # a fresh login is refused
    assert response.status_code == 302 and "_auth_user_id" not in other.session
    assert not is_signed_in(other)


@pytest.mark.parametrize("logout_path", ["/oidc/logout/", "/accounts/logout/"])
def test_logout_ends_the_server_side_session(idp, client, logout_path):
    oidc_login(client, requests.Session())
    key = client.cookies["sessionid"].value
    assert is_signed_in(client)

    client.post(logout_path)
    assert not Session.objects.filter(session_key=key).exists()
    replay = Client()
    replay.cookies["sessionid"] = key
    assert not is_signed_in(replay)


def test_provider_side_changes_reach_an_open_session_at_the_next_refresh(idp, client, settings):
    # Refresh due at once (a deployment waits OIDC_SESSION_REFRESH_SECONDS): every GET re-checks.
    settings.OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS = 0
    browser = requests.Session()
    oidc_login(client, browser)
    user = User.objects.get(institutional_id=SUB, provider=Provider.OIDC)
    idp.update_account(SUB, claims={**default_accounts()[SUB]["claims"], "roles": ["calco2.user.standard@own:13032"]})

    # JSON/XHR requests get 403 with the URL to refresh at (the library's choice): the page must reload.
    xhr = client.get("/api/v1/me/", headers={"X-Requested-With": "XMLHttpRequest"})
    assert xhr.status_code == 403 and "prompt=none" in xhr.json()["refresh_url"]

    # A page load is sent to the provider silently (prompt=none, PKCE again); the code it brings back
    # re-runs the login, hence the role sync.
    response = client.get("/")
    assert response.status_code == 302
    params = query(response["Location"])
    assert (params["prompt"], params["code_challenge_method"]) == ("none", "S256")
    back = client.get(at_idp(browser, response["Location"]))
    assert back["Location"] == "/" and client.session["_auth_user_id"] == str(user.pk)  # back where it was
    assert roles_of(user) == {(Role.STANDARD, ScopeKind.OWN, "13032")}

    # Deactivated at the provider: the silent re-check answers login_required and we sign the user out.
    idp.update_account(SUB, active=False)
    response = client.get("/")
    callback = at_idp(browser, response["Location"])
    assert query(callback)["error"] == "login_required"
    client.get(callback)
    assert "_auth_user_id" not in client.session


def test_oidc_views_refuse_while_oidc_is_off(client, settings, db):
    settings.OIDC_ENABLED = False
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404
