"""Inspection review in the admin: check-ins, findings, photos and their evidence flags.

Everything here starts from the embargo rule (``inspection_list``), so a
supervisor sees an inspection only when the API would show it to them. Photos
are shown through the admin's own authorising view (thumbnails for whoever
may see the inspection, originals only for those ``may_see_original`` allows),
never through a media URL. Read-only: evidence is reviewed, not edited.
What a photo's file says of itself (GPS distance, capture time, device) is
shown only to those who may see its original, and its flags say only what
the reader may see (``inspections.evidence.flags.photo_flags_for_reader``).
Every page that shows an unsubmitted inspection, its check-ins, findings or
photos adds a row to the embargo access log.

The photo inline, its file view (which serves a problem's after-photos too, to
whoever may see the problem) and the flag-review action stay here, on the
inspection's review page, with the queue of photos whose flags await review
(``FlagReviewQueueAdmin``): an admin module never imports another concern's
admin, and the rules they apply are evidence's (``inspections.evidence.policies``,
``inspections.evidence.flags``, ``inspections.evidence.services``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from inspections.accounts.models import Role, User
from inspections.accounts.policies import user_covers
from inspections.cases.selectors import case_list
from inspections.common.admin import ReadOnlyAdminMixin, ReadOnlyInline, message_refusal
from inspections.common.china_time import display, local_date
from inspections.common.errors import DomainError
from inspections.evidence import services as evidence
from inspections.evidence.errors import StorageUnavailable
from inspections.evidence.flags import (
    flag_label,
    photo_flags_for_reader,
    photos_flags_awaiting_review,
)
from inspections.evidence.models import Photo
from inspections.evidence.policies import may_see_file, originals_visible
from inspections.evidence.recovery import photos_stuck
from inspections.evidence.selectors import visible_photos
from inspections.evidence.storage import stored_file_open
from inspections.fieldwork import services as fieldwork
from inspections.fieldwork.models import CheckIn, Finding, Inspection
from inspections.fieldwork.selectors import inspection_list
from inspections.sampling.services import embargo_reads_record
from villages.admin_search import VillageSearchAdmin
from villages.scoping import DivisionFilter, request_prefix


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
        "fixed_at",
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
    """The findings, each with its photos as pictures that enlarge (their flags: the photo list below)."""

    model = Finding
    fields = readonly_fields = (
        "category",
        "severity",
        "description",
        "longitude",
        "latitude",
        "datum",
        "photos",
        "dropped_photo_uuids",
    )
    # A fresh inline for each request: the reader's photos of the inspection are read once.
    _reader: User | None = None
    _photos: dict[int, dict[str, Photo]] | None = None

    class Media:
        css = {"all": ["inspections/evidence.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Finding]:
        assert isinstance(request.user, User)
        self._reader = request.user
        return super().get_queryset(request)

    @admin.display(description=_("photos"))
    def photos(self, finding: Finding) -> str:
        reader = self._reader
        if reader is None:
            return "—"
        if self._photos is None or finding.inspection_id not in self._photos:
            visible = visible_photos(user=reader, visible_cases=case_list(user=reader))
            self._photos = {
                finding.inspection_id: {
                    str(photo.client_uuid): photo
                    for photo in visible.filter(inspection_id=finding.inspection_id, case__isnull=True)
                }
            }
        own = self._photos[finding.inspection_id]
        named = list(dict.fromkeys(str(value) for value in finding.photo_uuids or []))
        figures = [
            {"photo": own[key], "key": key, "prefix": f"finding{finding.pk}", "compact": True}
            for key in named
            if key in own
        ]
        return render_to_string(
            "admin/inspections/photo/figures.html",
            {"figures": figures, "missing": len(named) - len(figures), "empty": "—"},
        )


class PhotoInline(ReviewInline):
    """An inspection's photos as the reader may see them.

    Django makes a fresh inline for each request, so the reader's view of the
    page's photos (whose originals, which flags) is worked out once, at the
    first photo shown, and kept on the instance.
    """

    model = Photo
    fields = readonly_fields = (
        "thumbnail_tag",
        "client_uuid",
        "received_at",
        "exif_taken_at",
        "exif_make",
        "exif_model",
        "exif_software",
        "exif_distance_m",
        "flag_list",
        "reviewed_at",
        "reviewed_by",
        "original_link",
    )
    _reader: User | None = None
    _originals: set[int] | None = None
    _flags: dict[int, list[dict[str, Any]]] | None = None

    def get_queryset(self, request: HttpRequest) -> QuerySet[Photo]:
        assert isinstance(request.user, User)
        self._reader = request.user
        return super().get_queryset(request).select_related("flags_reviewed_by")

    def _read(self, photo: Photo) -> tuple[set[int], dict[int, list[dict[str, Any]]]]:
        if self._originals is None or self._flags is None or photo.pk not in self._flags:
            reader = self._reader
            if reader is None:  # shown without a request: say nothing
                return set(), {}
            photos = list(
                Photo.objects.filter(inspection=photo.inspection).select_related("inspection__village")
            )
            self._originals = originals_visible(reader, photos)
            self._flags = photo_flags_for_reader(
                photos,
                visible=visible_photos(user=reader, visible_cases=case_list(user=reader)),
                originals=self._originals,
            )
        return self._originals, self._flags

    def _metadata(self, photo: Photo, value: Any) -> Any:
        originals, _flags = self._read(photo)
        if photo.pk not in originals:
            return "—"
        return value if value not in (None, "") else "—"

    @admin.display(description=_("taken at (EXIF)"))
    def exif_taken_at(self, photo: Photo) -> Any:
        return self._metadata(photo, photo.taken_at)

    @admin.display(description=_("make"))
    def exif_make(self, photo: Photo) -> Any:
        return self._metadata(photo, photo.make)

    @admin.display(description=_("model"))
    def exif_model(self, photo: Photo) -> Any:
        return self._metadata(photo, photo.model)

    @admin.display(description=_("software"))
    def exif_software(self, photo: Photo) -> Any:
        return self._metadata(photo, photo.software)

    @admin.display(description=_("distance to village (m)"))
    def exif_distance_m(self, photo: Photo) -> Any:
        return self._metadata(photo, None if photo.distance_m is None else round(photo.distance_m))

    @admin.display(description=_("thumbnail"))
    def thumbnail_tag(self, photo: Photo) -> str:
        if not photo.thumbnail:
            return str(photo.get_status_display())
        url = reverse("admin:inspections_photo_file", args=[photo.client_uuid, "thumbnail"])
        return format_html('<img src="{}" alt="" style="max-width:160px;max-height:160px">', url)

    @admin.display(description=_("evidence flags"))
    def flag_list(self, photo: Photo) -> str:
        _originals, shown = self._read(photo)
        flags = shown.get(photo.pk, [])
        if not flags:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "", "<li><strong>{}</strong>: {}</li>", ((f["code"], f["explanation"]) for f in flags)
            ),
        )

    # The review of flags the reader is not shown is not shown either: it would tell of them.
    @admin.display(description=_("flags reviewed at"))
    def reviewed_at(self, photo: Photo) -> Any:
        _originals, shown = self._read(photo)
        return photo.flags_reviewed_at if shown.get(photo.pk) and photo.flags_reviewed_at else "—"

    @admin.display(description=_("flags reviewed by"))
    def reviewed_by(self, photo: Photo) -> Any:
        _originals, shown = self._read(photo)
        return photo.flags_reviewed_by if shown.get(photo.pk) and photo.flags_reviewed_by else "—"

    @admin.display(description=_("original"))
    def original_link(self, photo: Photo) -> str:
        originals, _flags = self._read(photo)
        if photo.pk not in originals:
            return "—"
        url = reverse("admin:inspections_photo_file", args=[photo.client_uuid, "original"])
        return format_html('<a href="{}">{}</a>', url, _("download"))


class FlagsAwaitingReviewFilter(admin.SimpleListFilter):
    """Inspections with a photo whose evidence flags, as the reader is shown them, await review."""

    title = _("evidence flags")
    parameter_name = "flags"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("awaiting", _("awaiting review"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Inspection]) -> QuerySet[Inspection]:
        if self.value() != "awaiting":
            return queryset
        assert isinstance(request.user, User)
        # A photo whose only flags name other photos counts when the reader is shown one of them.
        flagged = photos_flags_awaiting_review(
            Photo.objects.filter(inspection__in=queryset),
            visible=visible_photos(user=request.user, visible_cases=case_list(user=request.user)),
        )
        return queryset.filter(pk__in=flagged.values("inspection_id"))


@admin.register(Inspection)
class InspectionReviewAdmin(VillageSearchAdmin, ReviewAdmin):
    list_display = ["id", "village_name", "mode", "window", "status", "submitted"]
    list_filter = ["status", "mode", DivisionFilter, FlagsAwaitingReviewFilter]
    list_select_related = ["village"]
    search_fields = ["village"]  # by the village's name or code (VillageSearchAdmin)
    # Two million inspections nationally: one count per page, no facet counts.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    readonly_fields = ("mode", "village", "window_start", "window_end", "status", "summary", "submitted_at")
    fields = readonly_fields
    inlines = [CheckInInline, FindingInline, PhotoInline]
    actions = ["mark_flags_reviewed"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Inspection]:
        assert isinstance(request.user, User)
        return inspection_list(user=request.user).select_related("village")

    # The list fits 1280 px beside its filters: the village by name, the window by its days.
    @admin.display(description=_("village"), ordering="village__name")
    def village_name(self, inspection: Inspection) -> str:
        return inspection.village.name

    @admin.display(description=_("visit window"), ordering="window_start")
    def window(self, inspection: Inspection) -> str:
        start, end = local_date(inspection.window_start), local_date(inspection.window_end)
        return f"{start:%Y-%m-%d}" if start == end else f"{start:%Y-%m-%d} – {end:%m-%d}"

    @admin.display(description=_("submitted at"), ordering="submitted_at")
    def submitted(self, inspection: Inspection) -> str:
        return display(inspection.submitted_at)

    # --- Reads of unsubmitted inspections are logged; stuck photos are warned of ----------

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
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
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            embargo_reads_record(
                user=request.user,
                action="admin:inspection:list",
                path=request.path,
                inspections=changelist.result_list,
            )
        return response

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Inspection], search_term: str
    ) -> tuple[QuerySet[Inspection], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if request.path == reverse("admin:autocomplete"):
            # The picker of another page (a publication's inspections) lists a page of these
            # (Django's autocomplete pages by 20): its reads are logged like the list's.
            page = request.GET.get("page", "1")
            number = int(page) if page.isdigit() and int(page) > 0 else 1
            embargo_reads_record(
                user=request.user,
                action="admin:inspection:autocomplete",
                path=request.path,
                inspections=results[(number - 1) * 20 : number * 20],
            )
        return results, may_have_duplicates

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        """The inspection of a review page (its check-ins, findings and photos shown below it), logged."""
        inspection = super().get_object(request, object_id, from_field)
        if inspection is not None:
            embargo_reads_record(
                user=request.user, action="admin:inspection:view", path=request.path, inspections=[inspection]
            )
        return inspection

    @admin.action(description=_("Mark the photos' evidence flags reviewed"))
    def mark_flags_reviewed(self, request: HttpRequest, queryset: QuerySet[Inspection]) -> None:
        """Record the review of the flagged photos of the selected inspections (in the reviewer's view)."""
        assert isinstance(request.user, User)
        count = evidence.photo_flags_mark_reviewed_as_shown(
            photos=Photo.objects.filter(inspection__in=queryset),
            actor=request.user,
            visible_cases=case_list(user=request.user),
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

    def photo_file(self, request: HttpRequest, client_uuid: Any, kind: str) -> HttpResponseBase:
        """A photo's file for the review page, authorised like the API's file view."""
        assert isinstance(request.user, User)
        if not _reviewer(request):
            raise Http404
        # An inspection's photos and a problem's after-photos, each as the reader may see them.
        photo = (
            visible_photos(user=request.user, visible_cases=case_list(user=request.user))
            .filter(client_uuid=client_uuid)
            .select_related("inspection__village", "case__village")
            .first()
        )
        if photo is None or not may_see_file(request.user, photo, kind):
            raise Http404
        if photo.inspection is not None:
            embargo_reads_record(
                user=request.user,
                action="admin:photo:file",
                path=request.path,
                inspections=[photo.inspection],
            )
        field = photo.stored_file(kind)
        if not field.name:
            raise Http404
        try:
            opened = stored_file_open(field)
        except StorageUnavailable as refusal:
            return HttpResponse(refusal.detail, status=503, headers={"Retry-After": "60"})
        response = FileResponse(
            opened,
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
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ["confirm_village_location"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CheckIn]:
        assert isinstance(request.user, User)
        return CheckIn.objects.filter(inspection__in=inspection_list(user=request.user)).select_related(
            "inspection__village"
        )

    # --- Reads of unsubmitted inspections' check-ins are logged --------------------------

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            inspections = {check_in.inspection_id: check_in.inspection for check_in in changelist.result_list}
            embargo_reads_record(
                user=request.user,
                action="admin:checkin:list",
                path=request.path,
                inspections=inspections.values(),
            )
        return response

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        check_in = super().get_object(request, object_id, from_field)
        if check_in is not None:
            embargo_reads_record(
                user=request.user,
                action="admin:checkin:view",
                path=request.path,
                inspections=[check_in.inspection],
            )
        return check_in

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


# --- The queue of photos whose evidence flags await review ------------------------------------


class PhotoDivisionFilter(DivisionFilter):
    """Photos under one division: an inspection's by its village, an after-photo by its problem's."""

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        if not (value.isdigit() and len(value) <= 12):
            return queryset.none()
        return queryset.filter(
            Q(inspection__village__code__startswith=value) | Q(case__village__code__startswith=value)
        )


class PhotoBelongsFilter(admin.SimpleListFilter):
    title = _("belongs to")
    parameter_name = "belongs"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("inspection", _("an inspection (the finding's evidence)")), ("case", _("a rectification"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "inspection":
            return queryset.filter(inspection__isnull=False)
        if self.value() == "case":
            return queryset.filter(case__isnull=False)
        return queryset


@admin.register(Photo)
class FlagReviewQueueAdmin(ReviewAdmin):
    """Photos whose evidence flags await review, in the reader's jurisdiction, as the reader is shown them.

    Photos of submitted inspections and problems' after-photos only (a visit
    still under way is reviewed by nobody here), with the flags the reader may
    be told of (``photos_flags_awaiting_review``): the workbench's "evidence
    flags" figure counts exactly these. No page per photo: a photo is read on
    its inspection's or its problem's page, where its metadata is shown to
    those who may see it.
    """

    list_display = ["picture", "belongs_to", "village_name", "flags_shown", "received", "sha256_prefix"]
    list_display_links = None
    list_filter = [PhotoDivisionFilter, PhotoBelongsFilter]
    list_select_related = ["inspection__village", "case__village"]
    list_per_page = 50
    actions = ["mark_flags_reviewed"]
    ordering = ["received_at", "id"]

    class Media:
        css = {"all": ["inspections/evidence.css"]}

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and _reviewer(request)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Photo]:
        user = request.user
        prefix = request_prefix(request)
        if not isinstance(user, User) or prefix is None:
            return Photo.objects.none()
        in_scope = Q(
            inspection__status=Inspection.Status.SUBMITTED, inspection__village__code__startswith=prefix
        ) | Q(case__village__code__startswith=prefix)
        visible = visible_photos(user=user, visible_cases=case_list(user=user))
        return photos_flags_awaiting_review(visible.filter(in_scope), visible=visible)

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        """The page's photos, each with the flags the reader is shown (worked out once for the page)."""
        changelist = super().get_changelist_instance(request)
        assert isinstance(request.user, User)
        photos = list(changelist.result_list)
        shown = photo_flags_for_reader(
            photos,
            visible=visible_photos(user=request.user, visible_cases=case_list(user=request.user)),
            originals=originals_visible(request.user, photos),
        )
        for photo in photos:
            photo.flags_for_reader = shown.get(photo.pk, [])  # type: ignore[attr-defined]
        return changelist

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {"title": _("Photos whose evidence flags await review"), **(extra_context or {})}
        return super().changelist_view(request, context)

    @admin.display(description=_("photo"))
    def picture(self, photo: Photo) -> str:
        figure = {"photo": photo, "key": str(photo.client_uuid), "prefix": "queue", "compact": True}
        return render_to_string("admin/inspections/photo/figures.html", {"figures": [figure], "empty": "—"})

    @admin.display(description=_("belongs to"))
    def belongs_to(self, photo: Photo) -> str:
        if photo.case_id is not None:
            return format_html(
                '<a href="{}">{}</a>',
                reverse("admin:inspections_case_change", args=[photo.case_id]),
                _("problem #%(id)s (after-photo)") % {"id": photo.case_id},
            )
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:inspections_inspection_change", args=[photo.inspection_id]),
            _("inspection #%(id)s") % {"id": photo.inspection_id},
        )

    @admin.display(description=_("village"))
    def village_name(self, photo: Photo) -> str:
        village = photo.village
        return village.name if village is not None else "—"

    @admin.display(description=_("evidence flags"))
    def flags_shown(self, photo: Photo) -> str:
        flags = getattr(photo, "flags_for_reader", [])
        if not flags:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li><strong>{}</strong>: {}</li>",
                ((flag_label(f["code"]), f["explanation"]) for f in flags),
            ),
        )

    @admin.display(description=_("received at"), ordering="received_at")
    def received(self, photo: Photo) -> str:
        return display(photo.received_at)

    @admin.display(description=_("SHA-256"))
    def sha256_prefix(self, photo: Photo) -> str:
        return format_html('<code title="{}">{}…</code>', photo.sha256, photo.sha256[:12])

    @admin.action(description=_("Mark the photos' evidence flags reviewed"))
    def mark_flags_reviewed(self, request: HttpRequest, queryset: QuerySet[Photo]) -> None:
        """Record the review of the selected photos' flags (those the reader is shown: the queue's own)."""
        assert isinstance(request.user, User)
        count = evidence.photo_flags_mark_reviewed(
            photos=Photo.objects.filter(pk__in=list(queryset.values_list("pk", flat=True))),
            actor=request.user,
        )
        self.message_user(
            request, _("Flags of %(count)d photos marked reviewed.") % {"count": count}, messages.SUCCESS
        )
