"""What a problem's page shows of its evidence: the finding's photos and the after-photos, with the
flags the reader may be told of.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q

from inspections.accounts.models import User
from inspections.cases.flags import after_photo_flag_explanation, after_photo_flag_label
from inspections.cases.models import (
    Case,
    Rectification,
)
from inspections.cases.selectors import case_list
from inspections.common.china_time import display
from inspections.common.flags import flag_params
from inspections.evidence.flags import flag_label, photo_flags_for_reader
from inspections.evidence.models import Photo
from inspections.evidence.policies import originals_visible
from inspections.evidence.selectors import visible_photos


def _parsed_uuids(values: Any) -> list[uuid.UUID]:
    """The UUIDs among stored photo names (a list of strings; anything else is no photo)."""
    parsed: list[uuid.UUID] = []
    for value in values if isinstance(values, list) else []:
        try:
            parsed.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return parsed


def _shown_flags(photo: Photo, shown: dict[int, list[dict[str, Any]]]) -> list[dict[str, str]]:
    return [
        {"label": flag_label(f["code"]), "explanation": f["explanation"]} for f in shown.get(photo.pk, [])
    ]


def _after_photo_flags(rectification: Rectification, photo: Photo) -> list[dict[str, str]]:
    """The rectification's own flags on this after-photo: far from the finding, or the problem's picture."""
    key = str(photo.client_uuid)
    return [
        {"label": after_photo_flag_label(f.get("code", "")), "explanation": after_photo_flag_explanation(f)}
        for f in rectification.flags or []
        if str(flag_params(f).get("photo", "")) == key
    ]


class ProblemEvidence:
    """A problem's photos as one reader may be shown them: the finding's, and each rectification's.

    Only photos the reader may see (``visible_photos``), with the flags the
    reader may be told of (``photo_flags_for_reader``: a flag naming a visit
    still under way is not there) and originals only where
    ``originals_visible`` allows. A named photo that is not the finding's
    inspection's (or the case's own) is counted as not received, as the
    rectification's sender was told. A few queries, whatever the number of photos.
    """

    def __init__(self, case: Case, reader: User) -> None:
        self.case = case
        self.visible = visible_photos(user=reader, visible_cases=case_list(user=reader))
        finding = case.finding
        self.before_named = _parsed_uuids(finding.photo_uuids)
        self.rectifications = list(Rectification.objects.filter(case=case).order_by("-created_at", "-id"))
        after_named = {u for r in self.rectifications for u in _parsed_uuids(r.photo_uuids)}
        photos = self.visible.filter(
            Q(inspection_id=case.inspection_id, case__isnull=True, client_uuid__in=self.before_named)
            | Q(case_id=case.pk, client_uuid__in=after_named)
        ).select_related("inspection__village", "case__village")
        self.photos = {photo.client_uuid: photo for photo in photos}
        self.originals = originals_visible(reader, self.photos.values())
        self.flags = photo_flags_for_reader(
            self.photos.values(), visible=self.visible, originals=self.originals
        )

    def _figure(
        self, photo: Photo, prefix: str, flags: list[dict[str, str]], compact: bool
    ) -> dict[str, Any]:
        shown = bool(self.flags.get(photo.pk))
        return {
            "photo": photo,
            "key": str(photo.client_uuid),
            "prefix": prefix,
            "compact": compact,
            "flags": flags,
            "original": photo.pk in self.originals,
            # The review of flags the reader is not shown would tell of them.
            "reviewed_at": display(photo.flags_reviewed_at) if shown and photo.flags_reviewed_at else "",
        }

    def before(self, *, compact: bool = False) -> tuple[list[dict[str, Any]], int]:
        """The finding's photos (figures) and how many it names that are not here."""
        figures = []
        for key in dict.fromkeys(self.before_named):
            photo = self.photos.get(key)
            if photo is not None and photo.inspection_id == self.case.inspection_id:
                figures.append(self._figure(photo, "before", _shown_flags(photo, self.flags), compact))
        return figures, len(dict.fromkeys(self.before_named)) - len(figures)

    def after(
        self, rectification: Rectification, *, compact: bool = False
    ) -> tuple[list[dict[str, Any]], int]:
        """One rectification's after-photos (figures, with its own flags too) and how many are not here."""
        named = list(dict.fromkeys(_parsed_uuids(rectification.photo_uuids)))
        figures = []
        for key in named:
            photo = self.photos.get(key)
            if photo is not None and photo.case_id == self.case.pk:
                flags = [*_shown_flags(photo, self.flags), *_after_photo_flags(rectification, photo)]
                figures.append(self._figure(photo, f"after{rectification.pk}", flags, compact))
        return figures, len(named) - len(figures)

    def awaiting_review(self) -> list[int]:
        """The pks of the photos shown here whose flags the reader is shown and nobody has reviewed."""
        return [
            photo.pk
            for photo in self.photos.values()
            if self.flags.get(photo.pk)
            and photo.flags_reviewed_at is None
            and photo.status == Photo.Status.READY
        ]
