from django.contrib import admin

from inspections.checklist.models import ProblemCategory


@admin.register(ProblemCategory)
class ProblemCategoryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "code",
        "name_zh_hans",
        "name_en",
        "domain",
        "default_severity",
        "rectification_days",
        "is_active",
    ]
    list_filter = ["domain", "default_severity", "is_active"]
    list_editable = ["rectification_days", "is_active"]
    search_fields = ["code", "name_zh_hans", "name_en"]
