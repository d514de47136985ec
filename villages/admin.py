from __future__ import annotations

from django.contrib import admin

from villages.models import Division, Village
from villages.scoping import JurisdictionScopedAdmin


@admin.register(Division)
class DivisionAdmin(JurisdictionScopedAdmin):
    list_display = ["code", "name", "level", "parent", "is_active"]
    list_filter = ["level", "is_active"]
    search_fields = ["^code", "name"]
    list_select_related = ["parent"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    readonly_fields = ["code", "level", "parent"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False  # divisions come from the NBS table: `manage.py import_divisions`


@admin.register(Village)
class VillageAdmin(JurisdictionScopedAdmin):
    list_display = ["code", "name", "kind", "township", "location_source", "is_active"]
    list_filter = ["kind", "location_source", "is_active"]
    search_fields = ["^code", "name"]
    list_select_related = ["township"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    readonly_fields = ["code", "township"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
