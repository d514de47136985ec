"""Publication (一公开): results of inspections, typical cases, public images.

What the public sees is decided here and in :mod:`inspections.publication.selectors`:
only published rows, only submitted inspections, no personal names, and photos
as re-encoded copies without EXIF or GPS (:mod:`inspections.publication.images`).
When results are due is decided by :func:`publication_due` alone; the admin
calls it too. Refusals are :mod:`inspections.publication.errors` (and, for a
draw's results, sampling's ``not_drawn`` and ``embargo_active``).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from inspections.accounts.models import User
from inspections.cases.events import HEAD_FIELDS, case_event_append, case_lock
from inspections.cases.models import Case, CaseEvent
from inspections.cases.selectors import case_list
from inspections.common.china_time import local_date
from inspections.common.dispatch import enqueue_on_commit_or_sweep
from inspections.common.mail import MailTransientError, mail_deliver, mail_record, mails_claimable
from inspections.common.models import MailSend
from inspections.evidence.models import Photo
from inspections.evidence.selectors import visible_photos
from inspections.evidence.storage import STORAGE_ERRORS
from inspections.fieldwork.models import Inspection
from inspections.publication.emails import publication_deadline_email, publication_overdue_email
from inspections.publication.errors import (
    AlreadyPublished,
    InspectionNotSubmitted,
    PublicationEmpty,
    PublicationExists,
    PublicationHasUnsubmitted,
    TypicalCasePhotoNotAllowed,
    TypicalCaseSummaryMissing,
)
from inspections.publication.images import reencode_without_metadata
from inspections.publication.models import Publication, PublicImage, TypicalCase
from inspections.publication.selectors import case_photos
from inspections.sampling.errors import NotDrawn
from inspections.sampling.models import Draw
from inspections.sampling.services import draw_publish
from inspections.workdays.calendar import WorkingCalendar, add_working_days, working_days_between

logger = logging.getLogger(__name__)


# --- Originals of photos, as evidence stored them ------------------------------


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
    except STORAGE_ERRORS:
        logger.warning("the original of photo %s cannot be read from storage", photo_uuid)
        return None
    return data


# --- Public images ------------------------------------------------------------------


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


# What was published this long ago or less is looked at again for public copies still missing.
PUBLIC_IMAGES_SWEEP_WINDOW = dt.timedelta(days=30)


def recently_published_photos(*, now: dt.datetime) -> list[str]:
    """The photos shown by what was published in the last 30 days (``PUBLIC_IMAGES_SWEEP_WINDOW``).

    The same photos the publication's own task was given (a typical case's, the results'
    :func:`results_photo_uuids`): nothing else is ever made public.
    """
    since = now - PUBLIC_IMAGES_SWEEP_WINDOW
    wanted: set[str] = set()
    for photo_uuids in TypicalCase.objects.filter(published_at__gte=since).values_list(
        "photo_uuids", flat=True
    ):
        wanted.update(str(u) for u in photo_uuids)
    for publication in Publication.objects.filter(published_at__gte=since).order_by("pk"):
        wanted.update(results_photo_uuids(publication=publication))
    return sorted(wanted)


def public_images_sweep(*, now: dt.datetime | None = None) -> int:
    """The periodic job: make the public copies still missing (their task was never sent, or lost).

    :func:`public_images_make` leaves out the photos that have their copy already.
    """
    return len(public_images_make(photo_uuids=recently_published_photos(now=now or timezone.now())))


# --- Typical cases (典型案例) -------------------------------------------------------


def typical_case_photos_check(*, case: Case, actor: User, photo_uuids: Sequence[object]) -> list[str]:
    """The photo UUIDs a typical case of ``case`` may show when ``actor`` publishes it (normalised).

    Only photos of the case (:func:`~inspections.publication.selectors.case_photos`)
    that ``actor`` may see; anything else, a UUID no photo has included, is
    refused alike (``typical_case_photo_not_allowed``). Two queries.
    """
    values: list[str] = []
    for value in photo_uuids:
        try:
            values.append(str(uuid.UUID(str(value))))
        except ValueError:
            raise TypicalCasePhotoNotAllowed.of([str(value)]) from None
    if not values:
        return values
    seen = visible_photos(user=actor, visible_cases=case_list(user=actor)).values("pk")
    allowed = {
        str(u)
        for u in case_photos(case)
        .filter(client_uuid__in=values, pk__in=seen)
        .values_list("client_uuid", flat=True)
    }
    refused = [v for v in dict.fromkeys(values) if v not in allowed]
    if refused:
        raise TypicalCasePhotoNotAllowed.of(refused)
    return list(dict.fromkeys(values))


@transaction.atomic
def typical_case_publish(*, case: Case, actor: User, now: dt.datetime | None = None) -> TypicalCase:
    """Publish a case as a typical case, with the public summary written for it."""
    now = now or timezone.now()
    locked = case_lock(case)
    typical = TypicalCase.objects.select_for_update().filter(case=locked).first()
    if typical is None or not typical.summary_zh_hans.strip() or not typical.title_zh_hans.strip():
        raise TypicalCaseSummaryMissing
    if typical.published_at is not None:
        raise AlreadyPublished.typical_case()
    if locked.inspection.status != Inspection.Status.SUBMITTED:
        raise InspectionNotSubmitted
    typical_case_photos_check(case=locked, actor=actor, photo_uuids=typical.photo_uuids)
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
    # Never waits on the broker: copies not made are made by public_images_sweep.
    enqueue_on_commit_or_sweep("inspections.cases.make_public_images", photos)
    return typical


# --- Results publication ------------------------------------------------------------


@dataclass(frozen=True)
class PublicationDue:
    """When results are due: the day the last visit window closed, the due day, and its warning."""

    windows_closed_on: dt.date
    due_on: dt.date
    #: Non-empty when the working calendar had to guess a year (see ``workdays.calendar``).
    warning: str


def publication_due(*, inspections: Iterable[Inspection]) -> PublicationDue:
    """The due date of these inspections' results: the one rule, used by the services and the admin.

    The windows close on the latest window end, as a day in China; the results
    are due ``QINGSHAN_PUBLICATION_WORKING_DAYS`` working days later.
    Refuses (``publication_empty``) without inspections.
    """
    window_ends = [inspection.window_end for inspection in inspections]
    if not window_ends:
        raise PublicationEmpty
    closed_on = max(local_date(end) for end in window_ends)
    due = add_working_days(closed_on, settings.QINGSHAN_PUBLICATION_WORKING_DAYS)
    return PublicationDue(windows_closed_on=closed_on, due_on=due.date, warning=due.warning)


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
        raise PublicationEmpty
    if draw is not None and draw.drawn_at is None:
        raise NotDrawn
    due = publication_due(inspections=inspections)
    publication = Publication.objects.create(
        title_zh_hans=title_zh_hans,
        title_en=title_en,
        draw=draw,
        windows_closed_on=due.windows_closed_on,
        due_on=due.due_on,
        due_warning=due.warning,
    )
    publication.inspections.set(inspections)
    publication.organisers.set(organisers)
    return publication


@transaction.atomic
def publication_create_for_draw(*, draw: Draw) -> Publication:
    """The results publication of a drawn plan: its inspections, organisers and name.

    A visit cancelled with a written reason (sampling's ``assignment_cancel``)
    is kept, to be listed with the results; one cancelled otherwise is left out.

    One per draw; the title can be edited in the admin before publishing.
    """
    draw = Draw.objects.select_for_update(of=("self",)).select_related("plan").get(pk=draw.pk)
    if draw.drawn_at is None:
        raise NotDrawn
    if Publication.objects.filter(draw=draw).exists():
        raise PublicationExists
    # A visit cancelled by an organiser with a reason stays, to be listed with the results.
    inspections = list(
        Inspection.objects.filter(assignment__draw=draw).exclude(
            status=Inspection.Status.CANCELLED, assignment__cancellation__isnull=True
        )
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
    """Publish the results: every inspection must be submitted or cancelled; reveals the draw's seed.

    A visit that could not happen is cancelled by an organiser with a written
    reason (sampling's ``assignment_cancel``): the results go ahead without it
    and list it, with the reason. With a draw, sampling's ``draw_publish`` runs in the same transaction: it
    refuses (``embargo_active``) while any inspection of the draw is still open,
    and then nothing is published.
    """
    now = now or timezone.now()
    locked = Publication.objects.select_for_update().get(pk=publication.pk)
    if locked.published_at is not None:
        raise AlreadyPublished
    closed = (Inspection.Status.SUBMITTED, Inspection.Status.CANCELLED)
    if locked.inspections.exclude(status__in=closed).exists():
        # An unsubmitted inspection may still be ahead of its visit: publishing it would break the embargo.
        raise PublicationHasUnsubmitted
    if locked.draw is not None:
        locked.draw = draw_publish(draw=locked.draw, now=now)
    locked.published_at = now
    locked.published_by = actor
    locked.save(update_fields=["published_at", "published_by"])
    # Never waits on the broker: copies not made are made by public_images_sweep.
    enqueue_on_commit_or_sweep(
        "inspections.cases.make_public_images", results_photo_uuids(publication=locked)
    )
    return locked


def results_photo_uuids(*, publication: Publication) -> list[str]:
    """The photos the results show: those the findings name that are photos of their own inspection.

    A finding may name a UUID before its photo arrives, so a name alone proves
    nothing: the photo it names may be another inspection's, perhaps one still
    embargoed. Two queries.
    """
    named: dict[int, set[str]] = {}
    for inspection_id, uuids in publication.inspections.values_list("pk", "findings__photo_uuids"):
        named.setdefault(inspection_id, set()).update(str(u) for u in uuids or [])
    wanted = {u for uuids in named.values() for u in uuids}
    if not wanted:
        return []
    keys = []
    for value in wanted:
        try:
            keys.append(uuid.UUID(value))
        except ValueError:
            continue
    rows = Photo.objects.filter(inspection_id__in=list(named), client_uuid__in=keys).values_list(
        "inspection_id", "client_uuid"
    )
    return sorted(str(u) for inspection_id, u in rows if str(u) in named.get(inspection_id, set()))


def publications_warn_due(*, now: dt.datetime | None = None) -> int:
    """Warn the organisers of results due within the warning period, once, and flag the overdue ones.

    Each publication is claimed by a conditional UPDATE of ``warned_at``, so
    two workers never owe the same warning; each organiser's email then goes
    through the mail ledger (claimed, sent, completed), and the warnings still
    owed from an earlier run (a transient SMTP error) are sent again. Raises
    :class:`~inspections.common.mail.MailTransientError` when some failed
    transiently, for the task to retry.
    """
    now = now or timezone.now()
    today = local_date(now)
    warn_days = settings.QINGSHAN_PUBLICATION_WARN_WORKING_DAYS
    calendar = WorkingCalendar.load()
    horizon = today + dt.timedelta(days=warn_days * 3 + 30)  # a generous calendar-day bound
    warned = 0
    # Past its day, a publication is flagged overdue instead (publications_flag_overdue).
    candidates = Publication.objects.filter(
        published_at__isnull=True, warned_at__isnull=True, due_on__gte=today, due_on__lte=horizon
    ).order_by("due_on")
    for publication in candidates:
        if working_days_between(today, publication.due_on, calendar=calendar) > warn_days:
            continue
        with transaction.atomic():  # the claim and the emails owed, or neither
            if not Publication.objects.filter(pk=publication.pk, warned_at__isnull=True).update(
                warned_at=now
            ):
                continue
            for organiser in publication.organisers.filter(is_active=True):
                mail_record(
                    kind=PUBLICATION_DUE_MAIL,
                    key=f"{PUBLICATION_DUE_MAIL}:{publication.pk}:{organiser.pk}",
                    recipient_id=organiser.pk,
                    args={"publication": publication.pk},
                )
        warned += 1
    publications_flag_overdue(now=now)
    publication_warnings_send(now=now)
    return warned


PUBLICATION_DUE_MAIL = "publication_due"
PUBLICATION_OVERDUE_MAIL = "publication_overdue"


def publications_overdue() -> QuerySet[Publication]:
    """Unpublished results flagged past their due day (the admin's filter counts the same)."""
    return Publication.objects.filter(published_at__isnull=True, overdue_flagged_at__isnull=False)


def publications_flag_overdue(*, now: dt.datetime | None = None) -> int:
    """Flag the unpublished results past their due day, and tell their organisers; once per due day.

    Each publication is claimed by a conditional UPDATE of ``overdue_flagged_at``;
    each organiser's email is recorded in the mail ledger under a key naming
    the due day, so a due day moved later (a holiday notice entered) and then
    missed again is told again, and a retry never twice. Returns how many
    were flagged; the emails go out with :func:`publication_warnings_send`.
    """
    now = now or timezone.now()
    flagged = 0
    for publication in Publication.objects.filter(
        published_at__isnull=True, overdue_flagged_at__isnull=True, due_on__lt=local_date(now)
    ).order_by("due_on"):
        with transaction.atomic():
            if not Publication.objects.filter(pk=publication.pk, overdue_flagged_at__isnull=True).update(
                overdue_flagged_at=now
            ):
                continue
            for organiser in publication.organisers.filter(is_active=True):
                mail_record(
                    kind=PUBLICATION_OVERDUE_MAIL,
                    key=f"{PUBLICATION_OVERDUE_MAIL}:{publication.pk}:{publication.due_on}:{organiser.pk}",
                    recipient_id=organiser.pk,
                    args={"publication": publication.pk},
                )
        flagged += 1
    return flagged


def _publication_warning(send: MailSend) -> EmailMultiAlternatives | None:
    publication = Publication.objects.filter(
        pk=send.args.get("publication"), published_at__isnull=True
    ).first()
    if publication is None:
        return None  # published meanwhile (or gone): nothing to warn of
    if send.kind == PUBLICATION_OVERDUE_MAIL:
        return publication_overdue_email(publication=publication, recipient=send.recipient)
    return publication_deadline_email(publication=publication, recipient=send.recipient)


def publication_warnings_send(*, now: dt.datetime | None = None) -> int:
    """Send the publication warnings still owed; raises ``MailTransientError`` after trying them all."""
    sent = 0
    transient: list[str] = []
    for kind in (PUBLICATION_DUE_MAIL, PUBLICATION_OVERDUE_MAIL):
        for send in mails_claimable(kind=kind, now=now).select_related("recipient"):
            try:
                sent += (
                    mail_deliver(key=send.key, build=_publication_warning, now=now) == MailSend.Status.SENT
                )
            except MailTransientError as exc:
                transient.append(str(exc))
    if transient:
        raise MailTransientError(f"{len(transient)} transient failure(s): {transient[0]}")
    return sent


def publications_recount_due(*, year: int, now: dt.datetime | None = None) -> int:
    """Recount the due days counted provisionally (or weekends-only) for ``year``; returns how many moved.

    Called when an administrator enters that year's notice: each unpublished
    publication whose due day named ``year`` in its warning is counted again
    from the day its windows closed. One whose overdue flag was raised under
    the old day and is not overdue under the new one has the flag lowered (and
    is flagged again, once, should it pass the new day).
    """
    now = now or timezone.now()
    today = local_date(now)
    calendar = WorkingCalendar.load()
    moved = 0
    with transaction.atomic():
        candidates = Publication.objects.select_for_update().filter(
            published_at__isnull=True, due_warning__contains=str(year)
        )
        for publication in candidates:
            due = add_working_days(
                publication.windows_closed_on, settings.QINGSHAN_PUBLICATION_WORKING_DAYS, calendar=calendar
            )
            fields = ["due_on", "due_warning"]
            if due.date != publication.due_on:
                logger.info(
                    "publication %s due %s, recounted to %s on the %s holiday notice",
                    publication.pk,
                    publication.due_on,
                    due.date,
                    year,
                )
                moved += 1
                if publication.overdue_flagged_at is not None and due.date >= today:
                    publication.overdue_flagged_at = None
                    fields.append("overdue_flagged_at")
            publication.due_on, publication.due_warning = due.date, due.warning
            publication.save(update_fields=fields)
    return moved
