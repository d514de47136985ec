"""The holiday calendar in the admin: a year's notice (放假安排), and the provisional years before it.

Entering a year's notice replaces the calendar library and the provisional
statutory holidays for that year, and recounts what was counted on them: the
open problems' deadlines (each moved one with a history event saying why) and
the unpublished results' due days.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from inspections.accounts.models import User
from inspections.cases.deadlines import cases_recount_deadlines
from inspections.common.china_time import local_date
from inspections.publication.services import publications_recount_due
from inspections.workdays.calendar import year_is_known
from inspections.workdays.models import HolidayDate, HolidayYear
from inspections.workdays.statutory import statutory_day_name, statutory_days_off


class HolidayDateInline(admin.TabularInline):  # type: ignore[type-arg]
    model = HolidayDate
    extra = 10
    fields = ["date", "is_working_day", "name"]


def provisional_days_text(year: int) -> str:
    """The statutory days off counted for ``year`` until its notice is entered, as one line."""
    days = statutory_days_off(year) or {}
    return "; ".join(f"{day:%m-%d} {statutory_day_name(key)}" for day, key in days.items())


@admin.register(HolidayYear)
class HolidayYearAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A year's holidays and adjusted working weekends, from its notice; they replace the library.

    Saving recounts the deadlines and due days counted provisionally in that year.
    """

    list_display = ["year", "note", "created_at"]
    readonly_fields = ["statutory_days"]
    inlines = [HolidayDateInline]

    @admin.display(description=_("statutory days off (counted provisionally before the notice)"))
    def statutory_days(self, obj: HolidayYear | None) -> Any:
        if obj is None or not obj.pk:
            return _("Shown once the year is saved; the list of years shows those still provisional.")
        days = statutory_days_off(obj.year) or {}
        return format_html_join(
            "",
            "<div>{} {}</div>",
            ((f"{day:%Y-%m-%d}", statutory_day_name(key)) for day, key in days.items()),
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        today = local_date(timezone.now())
        for year in (today.year, today.year + 1):
            if not year_is_known(year):
                messages.warning(
                    request,
                    format_html(
                        "{} {}",
                        _(
                            "%(year)d is provisional (暂定): its notice is not entered yet, so deadlines "
                            "count the statutory days off:"
                        )
                        % {"year": year},
                        provisional_days_text(year) or "—",
                    ),
                )
        return super().changelist_view(request, extra_context)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        actor = request.user if isinstance(request.user, User) else None
        year = form.instance.year
        now = timezone.now()
        changed = cases_recount_deadlines(year=year, actor=actor, now=now)
        moved = publications_recount_due(year=year, now=now)
        self.message_user(
            request,
            _(
                "The %(year)d notice is in force: %(count)d deadlines and %(due)d publication due days "
                "recounted."
            )
            % {"year": year, "count": changed, "due": moved},
        )
