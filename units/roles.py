"""The five roles, their one valid scope kind each, and the `roles` claim grammar.

Kept free of models so that the OIDC backend, the CSV importer and the admin form share one
parser. A role with the wrong scope kind grants nothing and is refused on input.
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass

logger = logging.getLogger(__name__)


class ScopeKind(enum.StrEnum):
    GLOBAL = "global"
    UNIT = "unit"
    OWN = "own"
    AFFILIATION = "affiliation"


class Role(enum.StrEnum):
    STANDARD = "calco2.user.standard"
    PRINCIPAL = "calco2.user.principal"
    METIER = "calco2.backoffice.metier"
    ADMIN = "calco2.backoffice.admin"
    AUDITOR = "calco2.auditor"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def scope_kinds(self) -> frozenset[ScopeKind]:
        return VALID_SCOPES[self]

    @property
    def codename(self) -> str:
        """The permission codename that stores this role (global or per unit)."""
        return "role_" + self.name.lower()

    @property
    def is_backoffice(self) -> bool:
        return self in {Role.METIER, Role.ADMIN, Role.AUDITOR}


ROLE_LABELS = {
    Role.STANDARD: "Standard user",
    Role.PRINCIPAL: "Principal (unit manager)",
    Role.METIER: "Back-office staff",
    Role.ADMIN: "Back-office admin",
    Role.AUDITOR: "Auditor",
}

VALID_SCOPES: dict[Role, frozenset[ScopeKind]] = {
    Role.STANDARD: frozenset({ScopeKind.OWN}),
    Role.PRINCIPAL: frozenset({ScopeKind.UNIT}),
    Role.METIER: frozenset({ScopeKind.AFFILIATION}),
    Role.ADMIN: frozenset({ScopeKind.GLOBAL}),
    Role.AUDITOR: frozenset({ScopeKind.AFFILIATION, ScopeKind.GLOBAL}),
}

# Lower is stronger; used to pick one role per lab for the workspace.
ROLE_PRIORITY = {Role.PRINCIPAL: 0, Role.STANDARD: 2}


class RoleSpecError(ValueError):
    """A role/scope text that cannot be granted."""


@dataclass(frozen=True)
class RoleSpec:
    """One role assignment as written in a claim or a CSV row: a role on a scope."""

    role: Role
    kind: ScopeKind
    cf: str | None = None

    def __str__(self) -> str:
        if self.kind is ScopeKind.GLOBAL:
            return f"{self.role}@global"
        return f"{self.role}@{self.kind}:{self.cf}"


_SCOPE_RE = re.compile(r"^(global|unit|own|affiliation)(?::(.+))?$")


def parse_role(role_text: str) -> Role:
    try:
        return Role(role_text.strip())
    except ValueError:
        raise RoleSpecError(f"unknown role '{role_text.strip()}'") from None


def parse_scope(role: Role, scope_text: str) -> RoleSpec:
    match = _SCOPE_RE.match(scope_text.strip())
    if not match:
        raise RoleSpecError(
            f"unknown scope '{scope_text.strip()}' (expected global, unit:CF, own:CF or affiliation:CF)"
        )
    kind, cf = ScopeKind(match.group(1)), (match.group(2) or "").strip() or None
    if kind is ScopeKind.GLOBAL and cf:
        raise RoleSpecError("the global scope takes no unit")
    if kind is not ScopeKind.GLOBAL and not cf:
        raise RoleSpecError(f"the {kind} scope needs a unit cf ({kind}:CF)")
    if kind not in role.scope_kinds:
        allowed = " or ".join(sorted(role.scope_kinds))
        raise RoleSpecError(f"role {role} takes the {allowed} scope, not {kind}")
    return RoleSpec(role=role, kind=kind, cf=cf)


def parse_role_claim(entry: object) -> RoleSpec:
    """Parse one `role@scope` entry of an OIDC `roles` claim."""
    if not isinstance(entry, str) or "@" not in entry:
        raise RoleSpecError(f"not a role@scope string: {entry!r}")
    role_text, scope_text = entry.split("@", 1)
    return parse_scope(parse_role(role_text), scope_text)


def parse_roles_claim(claim: object) -> list[RoleSpec]:
    """Parse a whole `roles` claim; bad entries are skipped with a warning, never a crash."""
    if claim is None:
        return []
    if isinstance(claim, str):
        claim = [claim]
    if not isinstance(claim, list):
        logger.warning("roles claim ignored: not a list (%s)", type(claim).__name__)
        return []
    specs: list[RoleSpec] = []
    for entry in claim:
        try:
            specs.append(parse_role_claim(entry))
        except RoleSpecError as exc:
            logger.warning("roles claim entry skipped: %s", exc)
    return specs
