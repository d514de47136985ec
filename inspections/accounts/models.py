"""Accounts, jurisdictions and the roster of credentialed inspectors."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from villages.models import Division


class Role(models.TextChoices):
    """The three kinds of user; each is a group carrying its permissions."""

    INSPECTOR = "inspector", _("inspector")
    SUPERVISOR = "supervisor", _("supervisor")
    RESPONSIBLE_PARTY = "responsible_party", _("responsible party")


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", _("Simplified Chinese")
    EN = "en", _("English")


class User(AbstractUser):
    """An account. Every non-inspector account sees its jurisdiction's subtree."""

    jurisdiction = models.ForeignKey(
        Division,
        verbose_name=_("jurisdiction"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The division whose subtree this account sees."),
    )
    language = models.CharField(
        _("language"), max_length=7, choices=Language.choices, default=Language.ZH_HANS
    )
    tokens_revoked_at = models.DateTimeField(
        _("tokens revoked at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Tokens issued before this time are refused (set when the account is deactivated)."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def roles(self) -> set[str]:
        """The role names this account holds (cached per instance)."""
        cached: set[str] | None = getattr(self, "_roles_cache", None)
        if cached is None:
            values = Role.values
            cached = {g.name for g in self.groups.all() if g.name in values}
            self._roles_cache = cached
        return cached

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def scope_prefix(self) -> str | None:
        """The code prefix of everything this account may see.

        ``""`` (everything) for superusers, the jurisdiction's code for
        accounts that have one, and ``None`` (nothing) otherwise.
        """
        if self.is_superuser:
            return ""
        if self.jurisdiction is not None:
            return self.jurisdiction.code
        return None


class Inspector(models.Model):
    """A user's credentialed inspector profile (检查人员)."""

    user = models.OneToOneField(
        User,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="inspector_profile",
    )
    credential_number = models.CharField(_("credential number (执法证号)"), max_length=40, unique=True)
    unit = models.CharField(_("unit"), max_length=200)
    home_division = models.ForeignKey(
        Division,
        verbose_name=_("home division"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Where the inspector lives or works: inspections there are recused."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    capacity = models.PositiveSmallIntegerField(
        _("capacity"),
        default=3,
        help_text=_("The most inspections this inspector takes on within one visit window."),
    )

    class Meta:
        verbose_name = _("inspector")
        verbose_name_plural = _("inspectors")
        ordering = ["credential_number"]

    def __str__(self) -> str:
        return f"{self.user.get_full_name() or self.user.username} ({self.credential_number})"
