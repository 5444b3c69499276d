"""The organisation tree, the people, and the role grants that anchor their scopes."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Func, Value
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase
from simple_history.models import HistoricalRecords

from units.roles import Role

__all__ = ["PathTokens", "Provider", "Unit", "UnitRoleGrant", "User"]


class PathTokens(Func):
    """`string_to_array(path, ' ')`: the code path as an array, for whole-token matching.

    `'142'` must not match `'1420'`, so the subtree test is array overlap, never LIKE.
    """

    function = "string_to_array"
    output_field = ArrayField(models.TextField())

    def __init__(self, expression="path_institutional_code", **extra):
        super().__init__(F(expression) if isinstance(expression, str) else expression, Value(" "), **extra)


class Unit(models.Model):
    """A node of the four-level organisation tree (1 institution … 4 lab)."""

    institutional_code = models.CharField(max_length=32, unique=True)
    institutional_id = models.CharField(
        _("cf"), max_length=32, unique=True, null=True, blank=True, help_text=_("Cost centre (cf).")
    )
    name = models.CharField(max_length=128, db_index=True)
    label_en = models.CharField(max_length=255, blank=True)
    label_fr = models.CharField(max_length=255, blank=True)
    level = models.PositiveSmallIntegerField(db_index=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path_institutional_code = models.TextField(
        editable=False, db_index=True, help_text=_("Ancestor codes and own code, space-separated.")
    )
    path_institutional_id = models.TextField(editable=False, blank=True)
    path_name = models.TextField(editable=False)
    unit_type_label = models.CharField(max_length=128, blank=True)
    principal_user_institutional_id = models.CharField(max_length=64, blank=True)
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["path_name"]
        indexes = [GinIndex(PathTokens(), name="unit_path_tokens_gin")]
        constraints = [
            models.CheckConstraint(condition=models.Q(level__gte=1, level__lte=4), name="unit_level_1_to_4"),
            models.CheckConstraint(
                condition=models.Q(level=1, parent__isnull=True) | models.Q(level__gt=1, parent__isnull=False),
                name="unit_parent_iff_not_root",
            ),
        ]
        permissions = [(role.codename, f"Acts as {role.label}") for role in Role]

    def __str__(self) -> str:
        return f"{self.name} ({self.institutional_id or self.institutional_code})"

    @property
    def cf(self) -> str | None:
        return self.institutional_id

    @property
    def affiliations(self) -> list[str]:
        return self.path_name.split(" ") if self.path_name else []

    @property
    def label(self) -> str:
        """The unit's full name in the active language: `label_fr` in French, else `label_en`; the other
        language's when that one is empty, "" when the unit has neither (pages then show `name` alone)."""
        french = (get_language() or "").startswith("fr")
        first, second = (self.label_fr, self.label_en) if french else (self.label_en, self.label_fr)
        return first or second


class Provider(models.TextChoices):
    OIDC = "oidc", "OpenID Connect"
    DEMO = "demo", "Demo (password, demo mode only)"
    LOCAL = "local", "Local operator"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        # Password login is for demo and local users only; OIDC users never log in by password.
        return self.get(institutional_id=username, provider__in=[Provider.DEMO, Provider.LOCAL])

    def create_user(self, institutional_id, email="", password=None, provider=Provider.LOCAL, *,
                    self_created: bool = False, **extra):
        """`self_created`: the account's first history row names the person (an identity-provider sign-in)."""
        user = self.model(institutional_id=institutional_id, email=self.normalize_email(email),
                          provider=provider, **extra)
        user.set_password(password) if password else user.set_unusable_password()
        if self_created:
            user._history_user = user  # its id exists by the time simple-history writes the row
        user.save(using=self._db)
        return user

    def create_superuser(self, institutional_id, email="", password=None, **extra):
        extra.setdefault("is_superuser", True)
        return self.create_user(institutional_id, email, password, provider=Provider.LOCAL, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Identity is (institutional_id, provider); email is contact data only."""

    institutional_id = models.CharField(max_length=64, help_text=_("Subject at the provider, e.g. a SCIPER."))
    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.OIDC)
    email = models.EmailField(blank=True)
    display_name = models.CharField(max_length=255, blank=True)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(auto_now_add=True)
    last_roles_sync_at = models.DateTimeField(null=True, blank=True)
    # The language the person chose in the switcher (empty: the browser's); followed on every device.
    language = models.CharField(max_length=8, blank=True, choices=settings.LANGUAGES)

    # Sign-ins and role syncs are audit events (audit app), not user versions: last_login and
    # last_roles_sync_at are written by queryset updates and kept out of the history. Global roles are
    # user permissions: tracking them makes each global grant or removal a history row of the user.
    history = HistoricalRecords(excluded_fields=["password", "last_login", "last_roles_sync_at"],
                                m2m_fields=["user_permissions"])

    objects = UserManager()

    USERNAME_FIELD = "institutional_id"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["display_name", "institutional_id"]
        constraints = [
            models.UniqueConstraint(fields=["institutional_id", "provider"], name="user_identity_unique"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.institutional_id

    def get_full_name(self) -> str:
        return self.display_name or self.institutional_id

    def get_short_name(self) -> str:
        return self.get_full_name()

    @property
    def is_staff(self) -> bool:
        """Admin-site access follows the roles: back-office staff, admins and auditors only."""
        from units.selectors import user_roles

        return self.is_active and (
            self.is_superuser or any(grant.role.is_backoffice for grant in user_roles(self))
        )


class UnitRoleGrant(UserObjectPermissionBase):
    """A role anchored on a unit: guardian's direct-FK object permission on `Unit`.

    Users hold a handful of these (their anchors); subtrees are expanded in SQL, never stored.
    Global roles are ordinary user permissions with the same codename.
    """

    content_object = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="role_grants")

    history = HistoricalRecords()

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = _("role grant")
        verbose_name_plural = _("role grants")
