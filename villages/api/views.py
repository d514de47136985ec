from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import filters, generics

from villages.api.serializers import VillageOutput
from villages.models import Village
from villages.scoping import user_prefix
from villages.selectors import village_list


class VillageFilter(django_filters.FilterSet):
    division = django_filters.CharFilter(
        field_name="code",
        lookup_expr="startswith",
        label="Division code prefix (2, 4, 6 or 9 digits)",
    )
    kind = django_filters.ChoiceFilter(choices=Village.Kind.choices)
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = Village
        fields = ["division", "kind", "is_active"]


@extend_schema_view(get=extend_schema(tags=["villages"]))
class VillageListView(generics.ListAPIView[Village]):
    """Village-level units in the caller's jurisdiction.

    ``search`` matches a name fragment or the start of a code.
    """

    serializer_class = VillageOutput
    filterset_class = VillageFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, filters.SearchFilter]
    search_fields = ["name", "^code"]

    def get_queryset(self) -> QuerySet[Village]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Village.objects.none()
        return village_list(prefix=user_prefix(self.request.user)).order_by("code")
