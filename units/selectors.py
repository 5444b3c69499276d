"""Reads about people and their roles. Results are cached on the user object for one request."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Permission

from units.roles import Role, RoleSpec, ScopeKind

__all__ = ["RoleHeld", "user_roles"]

ROLE_BY_CODENAME = {role.codename: role for role in Role}
# The kind of a unit-anchored grant: the role's one scope kind other than global.
OBJECT_SCOPE = {role: kind for role in Role for kind in role.scope_kinds if kind is not ScopeKind.GLOBAL}


@dataclass(frozen=True)
class RoleHeld:
    """A role a user holds, with the anchor unit (None for the global scope)."""

    role: Role
    kind: ScopeKind
    unit_id: int | None = None
    unit_code: str | None = None
    cf: str | None = None

    def as_spec(self) -> RoleSpec:
        return RoleSpec(role=self.role, kind=self.kind, cf=self.cf)


def user_roles(user) -> list[RoleHeld]:
    """Every valid role of the user. Wrong role/scope combinations are never returned."""
    if not getattr(user, "is_authenticated", False) or not user.pk:
        return []
    cached = getattr(user, "_roles_held", None)
    if cached is not None:
        return cached
    from units.models import UnitRoleGrant

    held: list[RoleHeld] = []
    role_codenames = list(ROLE_BY_CODENAME)
    global_codenames = Permission.objects.filter(
        content_type__app_label="units", codename__in=role_codenames, user=user
    ).values_list("codename", flat=True)
    for codename in global_codenames:
        role = ROLE_BY_CODENAME[codename]
        if ScopeKind.GLOBAL in role.scope_kinds:
            held.append(RoleHeld(role=role, kind=ScopeKind.GLOBAL))
    grants = (
        UnitRoleGrant.objects.filter(user=user, permission__codename__in=role_codenames)
        .values_list("permission__codename", "content_object_id", "content_object__institutional_code",
                     "content_object__institutional_id")
    )
    for codename, unit_id, code, cf in grants:
        role = ROLE_BY_CODENAME[codename]
        kind = OBJECT_SCOPE.get(role)
        if kind is not None:
            held.append(RoleHeld(role=role, kind=kind, unit_id=unit_id, unit_code=code, cf=cf))
    user._roles_held = held
    return held
