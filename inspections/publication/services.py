"""Publication (一公开): results of inspections, typical cases, public images.

What the public sees is decided here and in ``inspections.public``: only
published rows, only submitted inspections, no personal names, and photos as
re-encoded copies without EXIF or GPS.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import uuid
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps

from inspections.accounts.models import User
from inspections.api.problems import Problem
from inspections.cases.events import HEAD_FIELDS, case_event_append, case_lock
from inspections.cases.models import Case, CaseEvent
from inspections.common.china_time import local_date
from inspections.common.dispatch import enqueue_on_commit
from inspections.evidence.models import Photo
from inspections.fieldwork.models import Inspection
from inspections.publication.models import Publication, PublicImage, TypicalCase
from inspections.sampling.models import Draw
from inspections.sampling.services import draw_publish
from inspections.workdays.calendar import WorkingCalendar, add_working_days, working_days_between

logger = logging.getLogger(__name__)

PUBLIC_IMAGE_MAX_SIDE = 1600


# --- Hooks wired at merge ------------------------------------------------------


def photo_original_bytes(photo_uuid: str) -> bytes | None:
    """The original bytes of a received photo, read from storage as they were received.

    None when no photo has this client UUID (or it is not a UUID), or when its
    original is missing from storage: the public copy is then simply not made.
    """
    try:
        key = uuid.UUID(str(photo_uuid))
    except ValueError:
        return None
    photo = Photo.objects.filter(client_uuid=key).only("pk", "original").first()
    if photo is None or not photo.original.name:
        return None
    try:
        with photo.original.open("rb") as original:
            data: bytes = original.read()
    except OSError:
        logger.warning("the original of photo %s is missing from storage", photo_uuid)
        return None
    return data


# --- Public images ------------------------------------------------------------------


def reencode_without_metadata(data: bytes) -> tuple[bytes, int, int]:
    """A public JPEG copy: orientation applied, at most 1600 px, no EXIF, GPS, XMP or ICC text.

    Pillow writes only what it is given: ``save()`` without ``exif=`` or
    ``icc_profile=`` drops every metadata segment of the original.
    """
    with Image.open(io.BytesIO(data)) as original:
        image = ImageOps.exif_transpose(original)
        image = image.convert("RGB")
        image.thumbnail((PUBLIC_IMAGE_MAX_SIDE, PUBLIC_IMAGE_MAX_SIDE))
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=85, optimize=True)
        return out.getvalue(), image.width, image.height


def public_images_make(*, photo_uuids: Iterable[str]) -> list[PublicImage]:
    """Make the public copy of each photo that has none yet and whose original is available."""
    made: list[PublicImage] = []
    wanted = {str(u) for u in photo_uuids}
    existing = {
        str(u)
        for u in PublicImage.objects.filter(source_photo_uuid__in=wanted).values_list(
            "source_photo_uuid", flat=True
        )
    }
    for photo_uuid in sorted(wanted - existing):
        data = photo_original_bytes(photo_uuid)
        if data is None:
            continue
        try:
            encoded, width, height = reencode_without_metadata(data)
        except (OSError, ValueError):
            logger.warning("photo %s could not be re-encoded for the public", photo_uuid)
            continue
        public = PublicImage(source_photo_uuid=photo_uuid, width=width, height=height)
        public.image.save(f"{public.uuid}.jpg", ContentFile(encoded), save=False)
        try:
            with transaction.atomic():
                public.save()
        except IntegrityError:
            continue  # made concurrently
        made.append(public)
    return made


def public_images_for(photo_uuids: Iterable[str]) -> dict[str, PublicImage]:
    """The public copies of these photos, by source photo UUID: one query."""
    wanted = {str(u) for u in photo_uuids}
    if not wanted:
        return {}
    return {str(p.source_photo_uuid): p for p in PublicImage.objects.filter(source_photo_uuid__in=wanted)}


# --- Typical cases (典型案例) -------------------------------------------------------


@transaction.atomic
def typical_case_publish(*, case: Case, actor: User, now: dt.datetime | None = None) -> TypicalCase:
    """Publish a case as a typical case, with the public summary written for it."""
    now = now or timezone.now()
    locked = case_lock(case)
    typical = TypicalCase.objects.select_for_update().filter(case=locked).first()
    if typical is None or not typical.summary_zh_hans.strip() or not typical.title_zh_hans.strip():
        raise Problem(
            status=409,
            code="typical_case_summary_missing",
            detail=str(_("Write the public title and summary before publishing.")),
        )
    if typical.published_at is not None:
        raise Problem(status=409, code="already_published", detail=str(_("This case is already published.")))
    if locked.inspection.status != Inspection.Status.SUBMITTED:
        raise Problem(
            status=409, code="inspection_not_submitted", detail=str(_("The inspection is not submitted."))
        )
    typical.published_at = now
    typical.published_by = actor
    typical.save(update_fields=["published_at", "published_by"])
    case_event_append(
        locked,
        kind=CaseEvent.Kind.PUBLISHED,
        actor=actor,
        from_status=locked.status,
        evidence={"typical_case": typical.pk},
        now=now,
    )
    locked.save(update_fields=HEAD_FIELDS)
    photos = [str(u) for u in typical.photo_uuids]
    enqueue_on_commit("inspections.cases.make_public_images", photos)
    return typical


# --- Results publication ------------------------------------------------------------


@transaction.atomic
def publication_create(
    *,
    title_zh_hans: str,
    inspections: Sequence[Inspection],
    organisers: Sequence[User] = (),
    title_en: str = "",
    draw: Draw | None = None,
) -> Publication:
    """A publication of these inspections' results, due N working days after the last window closed."""
    if not inspections:
        raise Problem(
            status=400, code="publication_empty", detail=str(_("Choose the inspections to publish."))
        )
    if draw is not None and draw.drawn_at is None:
        raise Problem(status=409, code="not_drawn", detail=str(_("The draw has not run yet.")))
    closed_on = max(local_date(i.window_end) for i in inspections)
    due = add_working_days(closed_on, settings.QINGSHAN_PUBLICATION_WORKING_DAYS)
    publication = Publication.objects.create(
        title_zh_hans=title_zh_hans,
        title_en=title_en,
        draw=draw,
        windows_closed_on=closed_on,
        due_on=due.date,
        due_warning=due.warning,
    )
    publication.inspections.set(inspections)
    publication.organisers.set(organisers)
    return publication


@transaction.atomic
def publication_create_for_draw(*, draw: Draw) -> Publication:
    """The results publication of a drawn plan: its inspections (but cancelled ones), organisers and name.

    One per draw; the title can be edited in the admin before publishing.
    """
    draw = Draw.objects.select_for_update(of=("self",)).select_related("plan").get(pk=draw.pk)
    if draw.drawn_at is None:
        raise Problem(status=409, code="not_drawn", detail=str(_("The draw has not run yet.")))
    if Publication.objects.filter(draw=draw).exists():
        raise Problem(
            status=409,
            code="publication_exists",
            detail=str(_("This draw already has a results publication.")),
        )
    inspections = list(
        Inspection.objects.filter(assignment__draw=draw).exclude(status=Inspection.Status.CANCELLED)
    )
    return publication_create(
        title_zh_hans=draw.plan.name,
        inspections=inspections,
        organisers=list(draw.plan.organisers.all()),
        draw=draw,
    )


@transaction.atomic
def publication_publish(
    *, publication: Publication, actor: User, now: dt.datetime | None = None
) -> Publication:
    """Publish the results: every inspection must be submitted; reveals the draw's seed.

    With a draw, sampling's ``draw_publish`` runs in the same transaction: it
    refuses (``embargo_active``) while any inspection of the draw is still open,
    and then nothing is published.
    """
    now = now or timezone.now()
    locked = Publication.objects.select_for_update().get(pk=publication.pk)
    if locked.published_at is not None:
        raise Problem(
            status=409, code="already_published", detail=str(_("These results are already published."))
        )
    if locked.inspections.exclude(status=Inspection.Status.SUBMITTED).exists():
        # An unsubmitted inspection may still be ahead of its visit: publishing it would break the embargo.
        raise Problem(
            status=409,
            code="publication_has_unsubmitted",
            detail=str(_("Every inspection must be submitted before its results are published.")),
        )
    if locked.draw is not None:
        locked.draw = draw_publish(draw=locked.draw, now=now)
    locked.published_at = now
    locked.published_by = actor
    locked.save(update_fields=["published_at", "published_by"])
    photos = [
        str(u)
        for uuids in locked.inspections.values_list("findings__photo_uuids", flat=True)
        if uuids
        for u in uuids
    ]
    enqueue_on_commit("inspections.cases.make_public_images", photos)
    return locked


def publications_warn_due(*, now: dt.datetime | None = None) -> int:
    """Warn the organisers of results due within the warning period; once per publication.

    Each publication is claimed by a conditional UPDATE of ``warned_at``, so
    two workers never send the same warning.
    """
    from inspections.publication.emails import publication_deadline_email_send

    now = now or timezone.now()
    today = local_date(now)
    warn_days = settings.QINGSHAN_PUBLICATION_WARN_WORKING_DAYS
    calendar = WorkingCalendar.load()
    horizon = today + dt.timedelta(days=warn_days * 3 + 30)  # a generous calendar-day bound
    warned = 0
    candidates = Publication.objects.filter(
        published_at__isnull=True, warned_at__isnull=True, due_on__lte=horizon
    ).order_by("due_on")
    for publication in candidates:
        if working_days_between(today, publication.due_on, calendar=calendar) > warn_days:
            continue
        if not Publication.objects.filter(pk=publication.pk, warned_at__isnull=True).update(warned_at=now):
            continue
        for organiser in publication.organisers.filter(is_active=True):
            publication_deadline_email_send(publication=publication, recipient=organiser)
        warned += 1
    return warned
