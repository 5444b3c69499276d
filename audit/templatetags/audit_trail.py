from django import template

from units.scoping import Action, unit_scope

register = template.Library()


@register.simple_tag
def can_audit(user) -> bool:
    """True when the user's AUDIT scope is not empty (auditors and back-office admins)."""
    return not unit_scope(user, Action.AUDIT).is_empty
