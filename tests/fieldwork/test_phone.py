"""A scripted phone replays its offline queue: retries, reordering, cut tus uploads.

The phone holds 50 operations (check-ins, findings, photos by multipart and by
tus, the submission). It sends them in a shuffled order, loses some responses
(so it sends again), has every tus upload cut in the middle, keeps a submission
refused with ``photos_pending`` for later, and then replays the whole queue a
second time in another order. Afterwards there must be exactly one of each
record, and every stored original must hash to the bytes the phone sent.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from inspections.evidence.models import Photo, Upload
from inspections.fieldwork.models import CheckIn, Finding, Inspection
from tests import builders
from tests.builders import YUCUN_WGS84, camera_jpeg, category
from tests.builders import inspector as team_member
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


@dataclass
class Operation:
    kind: str
    send: Callable[[], list[Any]]  # the responses of the requests it took


class Phone:
    def __init__(self, client: Any, inspection: Inspection, rng: random.Random) -> None:
        self.client = client
        self.inspection = inspection
        self.rng = rng
        self.sent_photos: dict[str, bytes] = {}

    def check_in(self) -> Operation:
        body = {
            "client_uuid": str(uuid.uuid4()),
            "longitude": YUCUN_WGS84[0],
            "latitude": YUCUN_WGS84[1],
            "accuracy_m": 10,
            "device_time": timezone.now().isoformat(),
        }
        url = f"/api/v1/inspections/{self.inspection.pk}/check-in/"
        return Operation("check-in", lambda: [self.client.post(url, body)])

    def finding(self, photo_uuids: list[str]) -> Operation:
        body = {
            "client_uuid": str(uuid.uuid4()),
            "inspection": self.inspection.pk,
            "category": "garbage-pile",
            "severity": "moderate",
            "description": f"问题 {self.rng.randrange(1000)}",
            "photo_uuids": photo_uuids,
        }
        return Operation("finding", lambda: [self.client.post("/api/v1/findings/", body)])

    def multipart_photo(self, photo_uuid: str, seed: int) -> Operation:
        content = camera_jpeg(seed=seed, size=(96, 72))
        self.sent_photos[photo_uuid] = content

        def send() -> list[Any]:
            from django.core.files.uploadedfile import SimpleUploadedFile

            data = {
                "file": SimpleUploadedFile("p.jpg", content),
                "client_uuid": photo_uuid,
                "inspection": self.inspection.pk,
            }
            return [self.client.post("/api/v1/photos/", data, format="multipart")]

        return Operation("photo", send)

    def tus_photo(self, photo_uuid: str, seed: int) -> Operation:
        content = camera_jpeg(seed=seed, size=(96, 72)) + os.urandom(40_000)
        self.sent_photos[photo_uuid] = content
        metadata = ",".join(
            f"{key} {base64.b64encode(value.encode()).decode()}"
            for key, value in {"client_uuid": photo_uuid, "inspection": str(self.inspection.pk)}.items()
        )

        def send() -> list[Any]:
            created = self.client.post(
                "/api/v1/uploads/", HTTP_UPLOAD_LENGTH=str(len(content)), HTTP_UPLOAD_METADATA=metadata, **TUS
            )
            responses = [created]
            location = created["Location"]
            offset = int(self.client.head(location, **TUS)["Upload-Offset"])
            if offset < len(content):
                # The connection drops somewhere in the middle of the body.
                cut_at = self.rng.randrange(offset + 1, len(content))
                responses.append(
                    self._patch(location, offset, content[offset:cut_at], announce=len(content) - offset)
                )
                offset = int(self.client.head(location, **TUS)["Upload-Offset"])
                responses.append(self._patch(location, offset, content[offset:]))
            return responses

        return Operation("photo", send)

    def _patch(self, location: str, offset: int, body: bytes, announce: int | None = None) -> Any:
        extra: dict[str, Any] = {"HTTP_UPLOAD_OFFSET": str(offset), **TUS}
        if announce is not None:
            extra["CONTENT_LENGTH"] = str(announce)
            extra["wsgi.input"] = io.BytesIO(body)
        return self.client.generic(
            "PATCH", location, body, content_type="application/offset+octet-stream", **extra
        )

    def submit(self) -> Operation:
        url = f"/api/v1/inspections/{self.inspection.pk}/submit/"
        return Operation(
            "submit", lambda: [self.client.post(url, {"summary": "发现问题若干，详见各条记录。"})]
        )

    def play(self, queue: list[Operation]) -> None:
        """Send every operation until acknowledged; some responses are 'lost' and resent."""
        pending = list(queue)
        rounds = 0
        while pending:
            rounds += 1
            assert rounds < 500, "the queue never drained"
            operation = pending.pop(0)
            responses = operation.send()
            if self.rng.random() < 0.3:  # the response never reached the phone: send again
                responses = operation.send()
            final = responses[-1]
            if final.status_code == 409 and final.json()["code"] == "photos_pending":
                pending.append(operation)  # try again once the photos are in
                continue
            for response in responses:
                assert response.status_code in (200, 201, 204), (operation.kind, response.content)


def test_a_phone_replaying_its_queue_twice_leaves_exactly_one_of_everything() -> None:
    rng = random.Random(20260601)
    member = team_member()
    inspection = builders.inspection(team=[member])
    category("garbage-pile")
    phone = Phone(client_for(member.user), inspection, rng)

    photo_uuids = [str(uuid.uuid4()) for _ in range(32)]
    queue = [phone.check_in(), phone.check_in()]
    for index, photo_uuid in enumerate(photo_uuids):
        make = phone.tus_photo if index % 3 == 0 else phone.multipart_photo
        queue.append(make(photo_uuid, seed=index))
    for index in range(15):
        queue.append(phone.finding(photo_uuids[index * 2 : index * 2 + 2]))
    queue.append(phone.submit())
    assert len(queue) == 50

    first_order = queue[:]
    rng.shuffle(first_order)
    phone.play(first_order)
    second_order = queue[:]
    rng.shuffle(second_order)
    phone.play(second_order)

    assert CheckIn.objects.count() == 2
    assert Finding.objects.count() == 15
    assert Photo.objects.count() == 32
    assert Upload.objects.filter(photo__isnull=False).count() == 11
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.SUBMITTED
    for photo in Photo.objects.all():
        sent = phone.sent_photos[str(photo.client_uuid)]
        assert photo.sha256 == hashlib.sha256(sent).hexdigest()
        with photo.original.open("rb") as original:
            assert hashlib.sha256(original.read()).hexdigest() == photo.sha256
