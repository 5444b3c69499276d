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
    from units.scoping import is_backoffice_admin

    return user is not None and is_backoffice_admin(user)
