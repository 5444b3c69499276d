"""Authentication backends: OIDC for everyone, passwords for demo users in demo mode only.

Identity is (institutional_id, provider) and comes only from the identity provider's verified
claims (or the demo login form) — never from request parameters or headers, never by email.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from units.models import Provider, User
from units.roles import parse_roles_claim
from units.services import user_roles_replace

logger = logging.getLogger(__name__)

__all__ = ["DemoPasswordBackend", "InstitutionOIDCBackend", "OIDCAuthenticateView", "OIDCCallbackView",
           "client_address"]


def client_address(request) -> str:
    """The address a request came from, for login throttling. Behind our reverse proxy (BEHIND_PROXY) it is
    the last X-Forwarded-For hop — the one our proxy appended; earlier hops are whatever the client sent."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "") if settings.BEHIND_PROXY else ""
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return hops[-1] if hops else request.META.get("REMOTE_ADDR", "")


class DemoPasswordBackend(ModelBackend):
    """Password login for the demo users (provider `demo`), and only when DEMO_MODE is on.

    Local operator accounts (createsuperuser) may also sign in with a password when demo mode is on;
    in production there is no password login at all.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not settings.DEMO_MODE:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id):
        # Called on every request for sessions this backend opened: they end with demo mode.
        if not settings.DEMO_MODE:
            return None
        return User.objects.filter(pk=user_id, is_active=True).first()


class InstitutionOIDCBackend(OIDCAuthenticationBackend):
    """Maps verified OIDC claims to a user by (subject, provider) and syncs roles from `roles`."""

    def get_username(self, claims):
        return self._subject(claims)

    def get_user(self, user_id):
        # Called on every request: a user deactivated here is signed out at once (the library's
        # get_user does not look at is_active).
        return User.objects.filter(pk=user_id, is_active=True).first()

    def _subject(self, claims) -> str:
        subject = claims.get(settings.OIDC_SUBJECT_CLAIM)
        if not isinstance(subject, str) or not subject.strip():
            raise SuspiciousOperation("OIDC claims carry no subject")
        return subject.strip()

    def verify_claims(self, claims):
        try:
            self._subject(claims)
        except SuspiciousOperation:
            return False
        return True

    def filter_users_by_claims(self, claims):
        # Never by email: two providers may share an address, and email is not identity.
        return User.objects.filter(institutional_id=self._subject(claims), provider=Provider.OIDC)

    def create_user(self, claims):
        user = User.objects.create_user(
            institutional_id=self._subject(claims), email=claims.get("email", "") or "",
            provider=Provider.OIDC, display_name=self._display_name(claims), self_created=True,
        )
        self._sync_roles(user, claims)
        return user

    def update_user(self, user, claims):
        # Runs at each login and at each SessionRefresh re-check, so roles follow the provider.
        if not user.is_active:
            # Deactivated here: refuse (the library logs it and returns no user), touch nothing.
            raise SuspiciousOperation(f"OIDC login refused: user {user.institutional_id} is inactive")
        email = claims.get("email", "") or user.email
        display_name = self._display_name(claims) or user.display_name
        if (email, display_name) != (user.email, user.display_name):  # a sign-in that changes nothing writes nothing
            user.email, user.display_name, user._history_user = email, display_name, user
            user.save(update_fields=["email", "display_name"])
        self._sync_roles(user, claims)
        return user

    @staticmethod
    def _display_name(claims) -> str:
        given, family = claims.get("given_name") or "", claims.get("family_name") or ""
        name = f"{given} {family}".strip() or claims.get("name") or ""
        if not name and claims.get("email"):
            name = str(claims["email"]).split("@")[0]
        return str(name)

    @staticmethod
    def _sync_roles(user, claims):
        for warning in user_roles_replace(user=user, specs=parse_roles_claim(claims.get("roles"))):
            logger.warning("login of %s: %s", user.institutional_id, warning)


class _OnlyWhenOIDCEnabled:
    """The oidc/ URLs are always routed (so the URLconf does not depend on import-time settings);
    starting a login or accepting a callback is refused while OIDC is not configured."""

    def dispatch(self, request, *args, **kwargs):
        if not settings.OIDC_ENABLED:
            raise Http404("OpenID Connect is not configured")
        return super().dispatch(request, *args, **kwargs)


class OIDCAuthenticateView(_OnlyWhenOIDCEnabled, OIDCAuthenticationRequestView):
    pass


class OIDCCallbackView(_OnlyWhenOIDCEnabled, OIDCAuthenticationCallbackView):
    pass
