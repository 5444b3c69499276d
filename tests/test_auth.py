"""Login: OIDC claims → user by (subject, provider); roles claim grammar; demo passwords; logout."""

import logging

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from tests.factories import UserFactory, user_with_roles
from units.auth import InstitutionOIDCBackend
from units.models import Provider, User
from units.roles import Role, ScopeKind, parse_roles_claim
from units.selectors import user_roles


@pytest.fixture
def backend(settings):
    settings.OIDC_OP_TOKEN_ENDPOINT = "https://idp.invalid/token"
    settings.OIDC_OP_USER_ENDPOINT = "https://idp.invalid/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = "https://idp.invalid/jwks"
    settings.OIDC_RP_CLIENT_ID = "carbon"
    settings.OIDC_RP_CLIENT_SECRET = "secret"
    return InstitutionOIDCBackend()


def login_with_claims(backend, claims):
    users = backend.filter_users_by_claims(claims)
    return backend.update_user(users[0], claims) if users else backend.create_user(claims)


def test_claims_create_user_with_roles(backend, tree):
    user = login_with_claims(backend, {
        "sub": "123456", "email": "ann@example.org", "given_name": "Ann", "family_name": "Lee",
        "roles": ["calco2.user.principal@unit:13032", "calco2.backoffice.metier@affiliation:13030"],
    })
    assert (user.institutional_id, user.provider, user.display_name) == ("123456", Provider.OIDC, "Ann Lee")
    assert {(h.role, h.kind, h.cf) for h in user_roles(user)} == {
        (Role.PRINCIPAL, ScopeKind.UNIT, "13032"), (Role.METIER, ScopeKind.AFFILIATION, "13030")}


def test_roles_are_replaced_on_each_login(backend, tree):
    claims = {"sub": "1", "email": "a@example.org", "roles": ["calco2.user.principal@unit:13032"]}
    user = login_with_claims(backend, claims)
    user = login_with_claims(backend, {**claims, "roles": ["calco2.user.standard@own:13032"]})
    user = User.objects.get(pk=user.pk)
    assert [(h.role, h.cf) for h in user_roles(user)] == [(Role.STANDARD, "13032")]


def test_never_matched_by_email_or_across_providers(backend, tree):
    demo = UserFactory(institutional_id="777", provider=Provider.DEMO, email="same@example.org")
    other = UserFactory(institutional_id="888", provider=Provider.OIDC, email="same@example.org")
    user = login_with_claims(backend, {"sub": "777", "email": "same@example.org"})
    assert user.pk not in {demo.pk, other.pk}
    assert User.objects.filter(institutional_id="777").count() == 2


@pytest.mark.parametrize(
    ("claim", "expected"),
    [
        (["calco2.user.standard@own:13032"], ["calco2.user.standard@own:13032"]),
        (["calco2.superadmin@global", "calco2.backoffice.admin@global"], ["calco2.backoffice.admin@global"]),
        (["calco2.user.principal@team:1"], []),
        (["calco2.user.principal@global"], []),  # wrong scope kind grants nothing
        (["", None, 42, "no-at-sign"], []),
        ("calco2.backoffice.admin@global", ["calco2.backoffice.admin@global"]),
        ({"role": "x"}, []),
        (None, []),
    ],
    ids=["own", "unknown-role-skipped", "unknown-scope", "wrong-kind", "junk", "string", "dict", "missing"],
)
def test_roles_claim_grammar(claim, expected, caplog):
    with caplog.at_level(logging.WARNING):
        assert [str(s) for s in parse_roles_claim(claim)] == expected
    if claim not in (None,) and len(expected) < (len(claim) if isinstance(claim, list) else 1):
        assert "skipped" in caplog.text or "ignored" in caplog.text


def test_unknown_cf_in_claim_is_skipped_with_warning(backend, tree, caplog):
    with caplog.at_level(logging.WARNING):
        user = login_with_claims(backend, {"sub": "5", "roles": ["calco2.user.principal@unit:404"]})
    assert user_roles(user) == []
    assert "unknown unit cf '404'" in caplog.text


def test_claims_without_subject_are_refused(backend):
    assert not backend.verify_claims({"email": "x@example.org"})
    assert not backend.verify_claims({"sub": "  "})


@pytest.fixture
def demo_user(db):
    user = UserFactory(institutional_id="demo-admin", provider=Provider.DEMO)
    user.set_password("demo")
    user.save()
    return user


def test_password_login_only_in_demo_mode(client, demo_user, settings):
    settings.DEMO_MODE = False
    response = client.post(reverse("login"), {"username": "demo-admin", "password": "demo"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    settings.DEMO_MODE = True
    response = client.post(reverse("login"), {"username": "demo-admin", "password": "demo"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(demo_user.pk)


def test_oidc_users_never_log_in_by_password(client, db, settings):
    settings.DEMO_MODE = True
    user = UserFactory(institutional_id="424242", provider=Provider.OIDC)
    user.set_password("pw")
    user.save()
    client.post(reverse("login"), {"username": "424242", "password": "pw"})
    assert "_auth_user_id" not in client.session


def test_identity_never_comes_from_request(client, tree):
    user = user_with_roles("calco2.user.standard@own:13032", institutional_id="1001")
    client.force_login(user)
    response = client.get("/api/v1/me/?institutional_id=ATTACKER", HTTP_X_INSTITUTIONAL_ID="ATTACKER",
                          HTTP_X_USER_SUB="ATTACKER", HTTP_REMOTE_USER="ATTACKER")
    assert response.json()["institutional_id"] == "1001"


def test_logout_ends_the_server_side_session(client, tree):
    client.force_login(user_with_roles("calco2.user.standard@own:13032"))
    key = client.session.session_key
    assert client.get("/api/v1/me/").status_code == 200
    client.post(reverse("logout"))
    assert not Session.objects.filter(session_key=key).exists()
    client.cookies["sessionid"] = key  # replaying the old cookie
    assert client.get("/api/v1/me/").status_code == 403


def test_lab_users_have_no_admin_access(client, tree):
    client.force_login(user_with_roles("calco2.user.principal@unit:13032"))
    assert client.get(reverse("admin:index")).status_code == 302
    assert client.get(reverse("lab:workspace")).status_code == 200
