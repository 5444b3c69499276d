"""Writes on the organisation tree and on role grants."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from infra.events import emit
from infra.history import bulk_update_with_history
from units.models import Unit, UnitRoleGrant, User
from units.roles import Role, RoleSpec, RoleSpecError, ScopeKind

__all__ = ["role_permission", "unit_paths_recompute", "user_role_grant", "user_roles_replace"]


def unit_paths_recompute(*, actor=None, reason: str = "tree paths recomputed") -> int:
    """Recompute the self-inclusive code, cf and name paths of every unit from the parent links.

    The tree is small (thousands of units) and paths change together when a parent moves, so the
    whole tree is walked in memory and only changed rows are written (with history).
    """
    units = {u.pk: u for u in Unit.objects.all()}
    memo: dict[int, tuple[list[str], list[str], list[str]]] = {}

    def paths(unit: Unit, seen: frozenset[int] = frozenset()):
        if unit.pk in memo:
            return memo[unit.pk]
        if unit.pk in seen:
            raise ValueError(f"cycle in the unit tree at {unit.institutional_code}")
        if unit.parent_id is None:
            codes, cfs, names = [], [], []
        else:
            codes, cfs, names = paths(units[unit.parent_id], seen | {unit.pk})
        result = (codes + [unit.institutional_code], cfs + [unit.institutional_id or ""], names + [unit.name])
        memo[unit.pk] = result
        return result

    changed = []
    for unit in units.values():
        codes, cfs, names = paths(unit)
        new = (" ".join(codes), " ".join(cfs), " ".join(names))
        if new != (unit.path_institutional_code, unit.path_institutional_id, unit.path_name):
            unit.path_institutional_code, unit.path_institutional_id, unit.path_name = new
            changed.append(unit)
    if changed:
        bulk_update_with_history(
            changed, Unit, ["path_institutional_code", "path_institutional_id", "path_name"],
            default_user=actor, default_change_reason=reason, batch_size=2000,
        )
    return len(changed)


def role_permission(role: Role) -> Permission:
    """The permission that stores a role (on a unit, or globally)."""
    content_type = ContentType.objects.get_for_model(Unit)
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename=role.codename, defaults={"name": f"Acts as {role.label}"}
    )
    return permission


def user_role_grant(*, user: User, spec: RoleSpec, actor: User | None = None) -> bool:
    """Grant one role; returns False when it was already held. Unknown cf → RoleSpecError.

    `actor`: who the history row names (default: the request's user, through simple-history)."""
    if spec.kind not in spec.role.scope_kinds:
        raise RoleSpecError(f"role {spec.role} takes the {'/'.join(spec.role.scope_kinds)} scope")
    permission = role_permission(spec.role)
    if spec.kind is ScopeKind.GLOBAL:
        if user.user_permissions.filter(pk=permission.pk).exists():
            return False
        _global_roles_change(user, f"global role granted: {spec}", user.user_permissions.add, permission, actor)
        return True
    unit = Unit.objects.filter(institutional_id=spec.cf).first()
    if unit is None:
        raise RoleSpecError(f"unknown unit cf '{spec.cf}'")
    if UnitRoleGrant.objects.filter(user=user, permission=permission, content_object=unit).exists():
        return False
    grant = UnitRoleGrant(user=user, permission=permission, content_object=unit)
    grant._history_user, grant._change_reason = actor, f"role granted: {spec}"
    grant.save()
    _forget_roles(user)
    return True


@transaction.atomic
def user_roles_replace(*, user: User, specs: Iterable[RoleSpec], source: str = "auth", request=None) -> list[str]:
    """Make the user's roles exactly `specs` (login sync). Returns warnings for skipped specs.

    A change is a `roles_changed` audit event with the role claims before and after."""
    from units.selectors import user_roles

    warnings: list[str] = []
    wanted: set[RoleSpec] = set()
    for spec in specs:
        if spec.kind is not ScopeKind.GLOBAL and not Unit.objects.filter(institutional_id=spec.cf).exists():
            warnings.append(f"{spec}: unknown unit cf '{spec.cf}', skipped")
            continue
        wanted.add(spec)
    current = {held.as_spec(): held for held in user_roles(user)}
    for spec, held in current.items():
        if spec not in wanted:
            permission = role_permission(spec.role)
            if held.kind is ScopeKind.GLOBAL:
                _global_roles_change(user, f"global role removed: {spec}", user.user_permissions.remove,
                                     permission, user)
            else:
                for grant in UnitRoleGrant.objects.filter(user=user, permission=permission,
                                                          content_object_id=held.unit_id):
                    grant._history_user, grant._change_reason = user, f"role removed: {spec}"
                    grant.delete()
    # The identity provider speaks for the person at their sign-in: the history rows name them.
    for spec in wanted - set(current):
        user_role_grant(user=user, spec=spec, actor=user)
    user.last_roles_sync_at = timezone.now()
    User.objects.filter(pk=user.pk).update(last_roles_sync_at=user.last_roles_sync_at)  # no history row
    _forget_roles(user)
    before, after = sorted(str(spec) for spec in current), sorted(str(spec) for spec in wanted)
    if before != after:
        emit("roles_changed", source=source, actor=user, obj=user, request=request, before=before, after=after,
             skipped=warnings)
    return warnings


def _global_roles_change(user: User, reason: str, change, permission, actor: User | None = None) -> None:
    """Add or remove a global role: the user's history gets a row (user_permissions is tracked) with `reason`."""
    user._change_reason = reason
    if actor is not None:
        user._history_user = actor
    try:
        change(permission)
    finally:
        del user._change_reason
        user.__dict__.pop("_history_user", None)
    _forget_roles(user)


def _forget_roles(user: User) -> None:
    user.__dict__.pop("_roles_held", None)
