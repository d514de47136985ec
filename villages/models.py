"""China's statistical divisions (NBS 统计用区划代码) and village-level units.

Codes carry the hierarchy: a village-level code (12 digits) starts with its
township (9), county (6), prefecture (4) and province (2). Every subtree query
is a code-prefix query; on PostgreSQL Django adds a ``varchar_pattern_ops``
index beside each unique code column, which serves ``LIKE 'prefix%'``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.utils.translation import gettext_lazy as _

from villages.geo import distance_to_point_m, to_wgs84

models.CharField.register_lookup(Length)

# The code length of each division level; villages have 12 digits.
LEVEL_CODE_LENGTHS = {1: 2, 2: 4, 3: 6, 4: 9}
VILLAGE_CODE_LENGTH = 12
PARENT_CODE_LENGTH = {4: 2, 6: 4, 9: 6, 12: 9}


class Datum(models.TextChoices):
    """Geodetic datum of a point: GPS and EXIF are WGS-84, Chinese web maps GCJ-02."""

    WGS84 = "wgs84", _("WGS-84 (GPS)")
    GCJ02 = "gcj02", _("GCJ-02 (Chinese web maps)")


class DivisionQuerySet(models.QuerySet["Division"]):
    def within(self, prefix: str) -> DivisionQuerySet:
        """The divisions inside the subtree whose code starts with ``prefix`` (all of them for "")."""
        # No LIKE '%' for the whole country: a test of each of its rows for nothing.
        return self.filter(code__startswith=prefix) if prefix else self.all()


class Division(models.Model):
    class Level(models.IntegerChoices):
        PROVINCE = 1, _("province")
        PREFECTURE = 2, _("prefecture")
        COUNTY = 3, _("county")
        TOWNSHIP = 4, _("township")

    code = models.CharField(_("code"), max_length=9, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("Units dropped by a newer edition of the table stay, marked inactive."),
    )

    objects = DivisionQuerySet.as_manager()

    class Meta:
        verbose_name = _("division")
        verbose_name_plural = _("divisions")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(level=1, code__length=2, parent__isnull=True)
                    | Q(level=2, code__length=4, parent__isnull=False)
                    | Q(level=3, code__length=6, parent__isnull=False)
                    | Q(level=4, code__length=9, parent__isnull=False)
                ),
                name="division_level_matches_code",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class VillageQuerySet(models.QuerySet["Village"]):
    def within(self, prefix: str) -> VillageQuerySet:
        """The village-level units whose code starts with ``prefix`` (all of them for "")."""
        # No LIKE '%' for the whole country: a test of each of its 620,000 rows for nothing.
        return self.filter(code__startswith=prefix) if prefix else self.all()


class Village(models.Model):
    """A village-level unit (村级): a villagers' or residents' committee."""

    class Kind(models.TextChoices):
        VILLAGERS = "villagers", _("villagers' committee (村委会)")
        RESIDENTS = "residents", _("residents' committee (居委会)")
        OTHER = "other", _("other village-level unit")

    class UrbanRuralClass(models.TextChoices):
        URBAN_CORE = "111", _("111 main urban area")
        URBAN_FRINGE = "112", _("112 urban-rural fringe")
        TOWN_CORE = "121", _("121 town centre")
        TOWN_FRINGE = "122", _("122 town-rural fringe")
        SPECIAL = "123", _("123 special area")
        RURAL_TOWN = "210", _("210 rural township centre")
        RURAL_VILLAGE = "220", _("220 village")

    class LocationSource(models.TextChoices):
        DERIVED = "derived", _("derived (approximate, not survey data)")
        CONFIRMED = "confirmed", _("confirmed on site")
        SURVEY = "survey", _("survey")

    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100)
    township = models.ForeignKey(
        Division,
        verbose_name=_("township"),
        on_delete=models.PROTECT,
        related_name="villages",
    )
    kind = models.CharField(_("class"), max_length=10, choices=Kind.choices)
    urban_rural_class = models.CharField(
        _("urban-rural class"), max_length=3, choices=UrbanRuralClass.choices, blank=True
    )
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    datum = models.CharField(_("datum"), max_length=5, choices=Datum.choices, blank=True)
    location_source = models.CharField(
        _("location source"), max_length=10, choices=LocationSource.choices, blank=True
    )
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = VillageQuerySet.as_manager()

    class Meta:
        verbose_name = _("village")
        verbose_name_plural = _("villages")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__length=12), name="village_code_has_12_digits"),
            # A point is meaningless without its datum and its provenance.
            models.CheckConstraint(
                condition=(
                    Q(longitude__isnull=True, latitude__isnull=True, datum="", location_source="")
                    | (
                        Q(longitude__isnull=False, latitude__isnull=False)
                        & ~Q(datum="")
                        & ~Q(location_source="")
                        & Q(longitude__gte=-180, longitude__lte=180)
                        & Q(latitude__gte=-90, latitude__lte=90)
                    )
                ),
                name="village_location_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def has_location(self) -> bool:
        return self.longitude is not None and self.latitude is not None

    @property
    def county_code(self) -> str:
        return self.code[:6]

    def reference_point(self) -> tuple[float, float] | None:
        """The village's point in WGS-84, if it is trustworthy enough to measure against.

        Only confirmed and surveyed locations count. Derived locations are
        approximate by construction (kilometres off), so they count as unknown:
        better "location unknown" than a false "far away" flag.
        """
        if not self.has_location or self.location_source not in TRUSTED_LOCATION_SOURCES:
            return None
        assert self.longitude is not None and self.latitude is not None
        return to_wgs84(self.longitude, self.latitude, self.datum)

    def distance_m(self, *, longitude: float, latitude: float) -> float | None:
        """Metres from a WGS-84 point to the village, or None when its location is unknown."""
        return distance_to_point_m(self.reference_point(), longitude=longitude, latitude=latitude)


# The location sources a distance is measured against (see Village.reference_point).
TRUSTED_LOCATION_SOURCES = (Village.LocationSource.CONFIRMED, Village.LocationSource.SURVEY)


def village_kind_for(code: str, name: str) -> str:
    """Classify a village-level unit as the NBS code rules say.

    Village digits 001–199 are residents' committees and 200–399 villagers'
    committees; above that (farms, development zones, "virtual communities")
    the name decides.
    """
    digits = int(code[9:12])
    if 200 <= digits <= 399:
        return Village.Kind.VILLAGERS
    if 1 <= digits <= 199:
        return Village.Kind.RESIDENTS
    if "村委会" in name or "村民委员会" in name:
        return Village.Kind.VILLAGERS
    if "居委会" in name or "居民委员会" in name or "社区" in name:
        return Village.Kind.RESIDENTS
    return Village.Kind.OTHER


# The areas a village is in, and counted in: its province, prefecture, county and township
# (the lengths of their codes, each a prefix of the village's code).
VILLAGE_AREA_LENGTHS = tuple(LEVEL_CODE_LENGTHS.values())


class VillageTally(models.Model):
    """How many active villages an area holds: read where the villages of a country are too many to count.

    Areas are code prefixes (a province's two digits, a prefecture's four, a county's six,
    a township's nine), whether or not their division has a row. The database keeps the
    tallies (migration ``0003_village_tally``): triggers on the villages add, remove and
    move a village's count whatever writes it, the division import and the admin among
    them. An area whose villages all went has a tally of 0.
    """

    area = models.CharField(_("area code"), max_length=9, primary_key=True)
    area_length = models.PositiveSmallIntegerField(_("length of the area code"))
    villages = models.IntegerField(_("active villages"), default=0)

    class Meta:
        verbose_name = _("village tally")
        verbose_name_plural = _("village tallies")
        indexes = [models.Index(fields=["area_length", "area"], name="village_tally_level_idx")]

    def __str__(self) -> str:
        return f"{self.area} {self.villages}"
