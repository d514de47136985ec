"""Accounts, jurisdictions and the roster of credentialed inspectors."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from villages.models import Division


class Role(models.TextChoices):
    """The kinds of user; each is a group carrying its permissions."""

    INSPECTOR = "inspector", _("inspector")
    SUPERVISOR = "supervisor", _("supervisor")
    RESPONSIBLE_PARTY = "responsible_party", _("responsible party")
    # Records complaints (12345 / 12369) and alone reads the reporter's contact.
    COMPLAINT_INTAKE = "complaint_intake", _("complaint intake")


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

    def get_full_name(self) -> str:
        """The person's name as written in Chinese: family name first, no space between."""
        family, given = self.last_name.strip(), self.first_name.strip()
        if family.isascii() and given.isascii():
            return f"{given} {family}".strip()
        return f"{family}{given}"

    def get_short_name(self) -> str:
        # The admin's greeting shows this; a Chinese name is said whole.
        return self.get_full_name()

    def __str__(self) -> str:
        """People are shown by name; the username only where no name is recorded."""
        return self.get_full_name() or self.get_username()

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
        help_text=_(
            "The division of the inspector's unit: it decides which plans' pools the inspector is in."
        ),
    )
    home_county = models.ForeignKey(
        Division,
        verbose_name=_("home county"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        limit_choices_to={"level": 3},
        help_text=_(
            "The county the inspector is from: its villages are recused. Empty: the county of the "
            "home division, when that is a county or lower (provincial and prefecture staff are "
            "recused only from their home county, so give it for them)."
        ),
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

    def recusal_county_code(self) -> str:
        """The 6-digit county recused as home: the home county, else a county-or-lower home division."""
        if self.home_county is not None:
            return self.home_county.code[:6]
        code = self.home_division.code
        return code[:6] if len(code) >= 6 else ""


class InspectorConflict(models.Model):
    """A declared conflict (利害关系): the inspector is recused from every village under the division."""

    class Kind(models.TextChoices):
        LIVES = "lives", _("lives there")
        WORKS = "works", _("works there")
        RELATED = "related", _("personal relation")

    inspector = models.ForeignKey(
        Inspector, verbose_name=_("inspector"), on_delete=models.CASCADE, related_name="conflicts"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    village = models.ForeignKey(
        "villages.Village",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    division = models.ForeignKey(
        Division,
        verbose_name=_("division or unit"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text=_("A township, county or wider division whose villages are all recused."),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("inspector conflict")
        verbose_name_plural = _("inspector conflicts")
        ordering = ["inspector", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(village__isnull=False, division__isnull=True)
                | models.Q(village__isnull=True, division__isnull=False),
                name="conflict_names_one_place",
                violation_error_message=_("Name either a village or a division."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inspector}: {self.get_kind_display()}"

    @property
    def prefix(self) -> str:
        """The code prefix of the recused villages."""
        place = self.village if self.village_id is not None else self.division
        assert place is not None  # conflict_names_one_place
        return place.code
