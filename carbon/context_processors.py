from django.conf import settings


def site(request):
    user = getattr(request, "user", None)
    return {
        "DEMO_MODE": settings.DEMO_MODE,
        "OIDC_ENABLED": settings.OIDC_ENABLED,
        # Campaign tools (uploads, pipelines console) are for back-office admins only.
        "is_backoffice_admin": _is_admin(user),
    }


def _is_admin(user) -> bool:
    if user is None or not user.is_authenticated:
        return False
    from units.scoping import Action, unit_scope

    return unit_scope(user, Action.MANAGE).is_global
