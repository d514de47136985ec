from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from villages.models import Datum, Division, Village


class DivisionSummarySerializer(serializers.ModelSerializer[Division]):
    class Meta:
        model = Division
        fields = ["code", "name", "level"]


class LocationSerializer(serializers.Serializer):
    longitude = serializers.FloatField()
    latitude = serializers.FloatField()
    datum = serializers.ChoiceField(choices=Datum.choices)
    source = serializers.ChoiceField(choices=Village.LocationSource.choices)  # type: ignore[assignment]


class VillageOutput(serializers.ModelSerializer[Village]):
    township = DivisionSummarySerializer()
    county_code = serializers.CharField()
    location = serializers.SerializerMethodField()

    class Meta:
        model = Village
        fields = [
            "code",
            "name",
            "kind",
            "urban_rural_class",
            "township",
            "county_code",
            "location",
            "population",
            "is_active",
        ]

    @extend_schema_field(LocationSerializer(allow_null=True))
    def get_location(self, village: Village) -> dict[str, object] | None:
        if not village.has_location:
            return None
        return {
            "longitude": village.longitude,
            "latitude": village.latitude,
            "datum": village.datum,
            "source": village.location_source,
        }
