"""What a jurisdiction sets for its problems: review policies, deadline rules, departments."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from inspections.cases.models import (
    DeadlineRule,
    Department,
    ReviewPolicy,
)
from villages.scoping import JurisdictionScopedAdmin


@admin.register(ReviewPolicy)
class ReviewPolicyAdmin(JurisdictionScopedAdmin):
    scope_code_field = "division__code"
    list_display = ["division", "auto_hand_over"]
    # A province holds tens of thousands of divisions, the country 665,000: searched, not listed.
    autocomplete_fields = ["division"]


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["category", "severity", "working_days"]
    list_filter = ["severity", "category__domain"]
    list_editable = ["working_days"]
    list_select_related = ["category"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The departments a problem's responsibility may name (农业农村, 生态环境, 住建, 水利, 卫健…)."""

    list_display = ["name", "position", "active"]
    list_editable = ["position", "active"]
    search_fields = ["name"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # named by problems: retire one by unticking "active"
