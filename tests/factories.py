"""factory-boy factories for the organisation, people and roles."""

from __future__ import annotations

import factory

from units.models import Provider, Unit, User
from units.roles import RoleSpec, ScopeKind


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit
        django_get_or_create = ("institutional_code",)

    institutional_code = factory.Sequence(lambda n: str(50000 + n))
    institutional_id = factory.Sequence(lambda n: str(70000 + n))
    name = factory.Sequence(lambda n: f"U{n}")
    parent = None
    level = factory.LazyAttribute(lambda o: 1 if o.parent is None else o.parent.level + 1)
    path_institutional_code = factory.LazyAttribute(
        lambda o: (f"{o.parent.path_institutional_code} " if o.parent else "") + o.institutional_code)
    path_institutional_id = factory.LazyAttribute(
        lambda o: (f"{o.parent.path_institutional_id} " if o.parent else "") + (o.institutional_id or ""))
    path_name = factory.LazyAttribute(lambda o: (f"{o.parent.path_name} " if o.parent else "") + o.name)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    institutional_id = factory.Sequence(lambda n: f"{100000 + n}")
    provider = Provider.OIDC
    email = factory.LazyAttribute(lambda o: f"{o.institutional_id}@example.org")
    display_name = factory.Sequence(lambda n: f"Person {n}")
    password = factory.django.Password("pw")


def user_with_roles(*specs: str, **kwargs) -> User:
    """A user holding roles written as claims: `calco2.user.principal@unit:13032`."""
    from units.roles import parse_role_claim
    from units.services import user_roles_replace

    user = UserFactory(**kwargs)
    # The login path: unknown cfs are skipped with a warning, as an OIDC roles claim would be.
    user_roles_replace(user=user, specs=[parse_role_claim(text) for text in specs])
    return user


def role(role, kind=ScopeKind.GLOBAL, cf=None) -> RoleSpec:
    return RoleSpec(role=role, kind=kind, cf=cf)
