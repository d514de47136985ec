"""Inspection review in the admin: check-ins, findings, photos and their evidence flags.

Everything here starts from the embargo rule (``inspection_list``), so a
supervisor sees an inspection only when the API would show it to them. Photos
are shown through the admin's own authorising view (thumbnails for whoever
may see the inspection, originals only for those ``may_see_original`` allows),
never through a media URL. Read-only: evidence is reviewed, not edited.

The photo inline, its file view and the flag-review action stay here, on the
inspection's review page: an admin module never imports another concern's
admin, and the rules they apply are evidence's (``inspections.evidence.policies``,
``inspections.evidence.flags``, ``inspections.evidence.services``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from inspections.accounts.models import Role, User
from inspections.accounts.policies import user_covers
from inspections.common.admin import ReadOnlyAdminMixin, ReadOnlyInline, message_refusal
from inspections.common.errors import DomainError
from inspections.evidence import services as evidence
from inspections.evidence.flags import photo_flags_explained
from inspections.evidence.models import Photo
from inspections.evidence.policies import may_see_file
from inspections.evidence.recovery import photos_stuck
from inspections.fieldwork import services as fieldwork
from inspections.fieldwork.models import CheckIn, Finding, Inspection
from inspections.fieldwork.selectors import inspection_list


def _reviewer(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff and (user.is_superuser or user.has_role(Role.SUPERVISOR)))  # type: ignore[union-attr]


class ReviewInline(ReadOnlyInline):
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _reviewer(request)


class ReviewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Field records for supervisors to review: shown, never edited."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _reviewer(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _reviewer(request)


class CheckInInline(ReviewInline):
    model = CheckIn
    fields = readonly_fields = (
        "received_at",
        "device_time",
        "clock_skew",
        "longitude",
        "latitude",
        "accuracy_m",
        "location_status",
        "distance_m",
        "created_by",
    )

    @admin.display(description=_("clock skew (s)"))
    def clock_skew(self, check_in: CheckIn) -> str:
        return f"{check_in.clock_skew_seconds:+.0f}"


class FindingInline(ReviewInline):
    model = Finding
    fields = readonly_fields = (
        "category",
        "severity",
        "description",
        "longitude",
        "latitude",
        "datum",
        "photo_uuids",
    )


class PhotoInline(ReviewInline):
    model = Photo
    fields = readonly_fields = (
        "thumbnail_tag",
        "client_uuid",
        "received_at",
        "taken_at",
        "make",
        "model",
        "software",
        "distance_m",
        "flag_list",
        "flags_reviewed_at",
        "flags_reviewed_by",
        "original_link",
    )

    @admin.display(description=_("thumbnail"))
    def thumbnail_tag(self, photo: Photo) -> str:
        if not photo.thumbnail:
            return str(photo.get_status_display())
        url = reverse("admin:inspections_photo_file", args=[photo.client_uuid, "thumbnail"])
        return format_html('<img src="{}" alt="" style="max-width:160px;max-height:160px">', url)

    @admin.display(description=_("evidence flags"))
    def flag_list(self, photo: Photo) -> str:
        flags = photo_flags_explained(photo)
        if not flags:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "", "<li><strong>{}</strong>: {}</li>", ((f["code"], f["explanation"]) for f in flags)
            ),
        )

    @admin.display(description=_("original"))
    def original_link(self, photo: Photo) -> str:
        url = reverse("admin:inspections_photo_file", args=[photo.client_uuid, "original"])
        return format_html('<a href="{}">{}</a>', url, _("download"))


@admin.register(Inspection)
class InspectionReviewAdmin(ReviewAdmin):
    list_display = ["id", "village", "mode", "window_start", "window_end", "status", "submitted_at"]
    list_filter = ["status", "mode"]
    list_select_related = ["village"]
    search_fields = ["village__name", "village__code"]
    readonly_fields = ("mode", "village", "window_start", "window_end", "status", "summary", "submitted_at")
    fields = readonly_fields
    inlines = [CheckInInline, FindingInline, PhotoInline]
    actions = ["mark_flags_reviewed"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Inspection]:
        assert isinstance(request.user, User)
        return inspection_list(user=request.user).select_related("village")

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """Warn of photos of the reader's inspections that wait too long for processing."""
        assert isinstance(request.user, User)
        stuck = photos_stuck(photos=Photo.objects.filter(inspection__in=inspection_list(user=request.user)))
        count = stuck.count()
        if count and request.method == "GET":
            self.message_user(
                request,
                ngettext(
                    "%(count)d photo has waited more than %(minutes)d minutes for processing; "
                    "it is sent to processing again every few minutes.",
                    "%(count)d photos have waited more than %(minutes)d minutes for processing; "
                    "they are sent to processing again every few minutes.",
                    count,
                )
                % {"count": count, "minutes": int(settings.QINGSHAN_PHOTO_STUCK_AFTER.total_seconds() // 60)},
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)

    @admin.action(description=_("Mark the photos' evidence flags reviewed"))
    def mark_flags_reviewed(self, request: HttpRequest, queryset: QuerySet[Inspection]) -> None:
        """Record the review of the flagged photos of the selected inspections (in the reviewer's view)."""
        assert isinstance(request.user, User)
        count = evidence.photo_flags_mark_reviewed(
            photos=Photo.objects.filter(inspection__in=queryset), actor=request.user
        )
        self.message_user(
            request, _("Flags of %(count)d photos marked reviewed.") % {"count": count}, messages.SUCCESS
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "photo/<uuid:client_uuid>/<str:kind>/",
                self.admin_site.admin_view(self.photo_file),
                name="inspections_photo_file",
            ),
            *super().get_urls(),
        ]

    def photo_file(self, request: HttpRequest, client_uuid: Any, kind: str) -> FileResponse:
        """A photo's file for the review page, authorised like the API's file view."""
        assert isinstance(request.user, User)
        if not _reviewer(request):
            raise Http404
        photo = Photo.objects.filter(
            client_uuid=client_uuid, inspection__in=inspection_list(user=request.user)
        ).first()
        if photo is None or not may_see_file(request.user, photo, kind):
            raise Http404
        field = photo.stored_file(kind)
        if not field.name:
            raise Http404
        response = FileResponse(
            field.open("rb"),
            content_type=photo.content_type if kind == "original" else "image/jpeg",
            as_attachment=kind == "original",
            filename=field.name.rsplit("/", 1)[-1],
        )
        response["Cache-Control"] = "private, no-store"
        return response


@admin.register(CheckIn)
class CheckInAdmin(ReviewAdmin):
    """Check-ins, with the action that confirms a village's location from a good one."""

    list_display = ["inspection", "received_at", "accuracy_m", "location_status", "distance_m", "created_by"]
    list_select_related = ["inspection__village", "created_by"]
    actions = ["confirm_village_location"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CheckIn]:
        assert isinstance(request.user, User)
        return CheckIn.objects.filter(inspection__in=inspection_list(user=request.user))

    @admin.action(description=_("Confirm the village location from the selected check-in"))
    def confirm_village_location(self, request: HttpRequest, queryset: QuerySet[CheckIn]) -> None:
        assert isinstance(request.user, User)
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one check-in."), messages.WARNING)
            return
        check_in = queryset.select_related("inspection__village").get()
        if not user_covers(request.user, check_in.inspection.village.code):
            self.message_user(request, _("This village is outside your jurisdiction."), messages.ERROR)
            return
        try:
            village = fieldwork.village_confirm_location(check_in=check_in, by=request.user)
        except DomainError as refusal:
            message_refusal(self, request, refusal)
            return
        self.message_user(
            request, _("Location of %(village)s confirmed.") % {"village": village}, messages.SUCCESS
        )
