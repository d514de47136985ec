"""A Python client generated from the OpenAPI schema works unmodified against a live server.

openapi-python-client generates a package from ``/api/schema/`` (with
``tests/clients/python/config.yaml``, and no warning), and that package, as
generated, plays the phone's day: log in, list the assignments, check in, record
a finding naming a photo, be refused the submission with a ``Problem`` listing
the pending photo, send the photo as a multipart form and a second one through
tus (OPTIONS, POST, HEAD, PATCH), submit, and read the case it opened.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib
import io
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests import builders
from tests.integration.client_contract import PASSWORD, USERNAME, assert_the_day_is_recorded, field_day

pytestmark = pytest.mark.slow

CONFIG = Path(__file__).resolve().parent.parent / "clients" / "python" / "config.yaml"


@pytest.fixture
def generated(client: Any, tmp_path: Path) -> Iterator[ModuleType]:
    """The generated package ``qs_client``, importable for the test."""
    (tmp_path / "schema.yaml").write_bytes(client.get("/api/schema/", HTTP_ACCEPT_LANGUAGE="zh-hans").content)
    generator = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent))
    assert generator is not None
    result = subprocess.run(
        [
            generator,
            "generate",
            "--path",
            "schema.yaml",
            "--config",
            str(CONFIG),
            "--meta",
            "none",
            "--fail-on-warning",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("qs_client")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "qs_client" or m.startswith("qs_client.")]:
            del sys.modules[name]


def api(name: str) -> Any:
    return importlib.import_module(f"qs_client.api.{name}")


@pytest.mark.django_db(transaction=True)
def test_a_generated_client_plays_the_field_day(live_server: Any, generated: ModuleType) -> None:
    day = field_day()
    models = importlib.import_module("qs_client.models")
    types = importlib.import_module("qs_client.types")

    anonymous = generated.Client(base_url=live_server.url)
    tokens = api("auth.auth_token_create").sync(
        client=anonymous, body=models.TokenObtainPairRequest(username=USERNAME, password=PASSWORD)
    )
    assert isinstance(tokens, models.TokenObtainPair)
    phone = generated.AuthenticatedClient(base_url=live_server.url, token=tokens.access)

    assignments = api("assignments.assignments_list").sync(client=phone)
    assert isinstance(assignments, models.PaginatedAssignmentOutputList)
    assert [a.id for a in assignments.results] == [day.inspection]
    assignment = assignments.results[0]
    assert assignment.village.code == day.village
    assert [item.code for item in assignment.checklist] == ["garbage-pile"]
    assert assignment.cases == []  # an ordinary visit: no case to verify

    now = dt.datetime.now(dt.UTC)
    check_in = api("fieldwork.inspections_check_in_create").sync(
        day.inspection,
        client=phone,
        body=models.CheckInInputRequest(
            client_uuid=uuid.uuid4(),
            longitude=builders.YUCUN_WGS84[0],
            latitude=builders.YUCUN_WGS84[1],
            accuracy_m=8.0,
            fixed_at=now - dt.timedelta(minutes=20),  # fixed offline, sent now
            device_time=now,
        ),
    )
    assert isinstance(check_in, models.CheckInOutput)
    assert check_in.location_status == models.LocationStatusEnum.KNOWN
    assert check_in.fixed_at == now - dt.timedelta(minutes=20) and check_in.flags == []

    by_form, by_tus, lost = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    finding = api("fieldwork.findings_create").sync(
        client=phone,
        body=models.FindingInputRequest(
            client_uuid=uuid.uuid4(),
            inspection=day.inspection,
            category="garbage-pile",
            description="垃圾堆放",
            photo_uuids=[by_form, by_tus, lost],
        ),
    )
    assert isinstance(finding, models.FindingOutput)

    submit = api("fieldwork.inspections_submit_create")
    refused = submit.sync(day.inspection, client=phone, body=models.SubmitInputRequest(summary="一处问题"))
    assert isinstance(refused, models.Problem)
    assert refused.code == "photos_pending"
    assert sorted(refused.pending_photos) == sorted([by_form, by_tus, lost])

    # Multipart: only the fields given are sent (none of them as the string "None").
    photo = api("evidence.photos_create").sync(
        client=phone,
        body=models.PhotoUploadInputRequest(
            file=types.File(payload=io.BytesIO(builders.camera_jpeg(seed=1)), file_name="a.jpg"),
            client_uuid=by_form,
            inspection=day.inspection,
            device_time=now,
        ),
    )
    assert isinstance(photo, models.PhotoOutput)
    assert (photo.client_uuid, photo.inspection, photo.case) == (by_form, day.inspection, None)

    # tus, through the generated operations.
    content = builders.camera_jpeg(seed=2)
    discovery = api("evidence.uploads_options").sync_detailed(client=phone)
    assert discovery.status_code == 204
    assert int(discovery.headers["Tus-Max-Size"]) >= len(content)
    metadata = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}"
        for key, value in {"client_uuid": str(by_tus), "inspection": str(day.inspection)}.items()
    )
    created = api("evidence.uploads_create").sync_detailed(
        client=phone,
        tus_resumable=models.TusResumable.V1_0_0,
        upload_length=len(content),
        upload_metadata=metadata,
    )
    assert created.status_code == 201, created.content
    upload_id = uuid.UUID(created.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    head = api("evidence.uploads_detail_head").sync_detailed(
        upload_id, client=phone, tus_resumable=models.TusResumable.V1_0_0
    )
    assert head.headers["Upload-Offset"] == "0"
    patched = api("evidence.uploads_partial_update").sync_detailed(
        upload_id,
        client=phone,
        body=types.File(payload=io.BytesIO(content)),
        tus_resumable=models.TusResumable.V1_0_0,
        upload_offset=0,
    )
    assert patched.status_code == 204, patched.content
    assert patched.headers["Qingshan-Photo"] == f"/api/v1/photos/{by_tus}/"
    # Created again (a phone that lost the upload's URL), with a new sending time: the same
    # upload, finished.
    again = api("evidence.uploads_create").sync_detailed(
        client=phone,
        tus_resumable=models.TusResumable.V1_0_0,
        upload_length=len(content),
        upload_metadata=metadata + f",device_time {base64.b64encode(now.isoformat().encode()).decode()}",
    )
    assert again.status_code == 201 and again.headers["Location"] == created.headers["Location"]
    assert again.headers["Upload-Offset"] == str(len(content))

    # The third photo was lost on the phone: dropped, so that submission can go on.
    dropped = api("fieldwork.findings_photos_destroy").sync(finding.client_uuid, lost, client=phone)
    assert isinstance(dropped, models.FindingOutput)
    assert dropped.dropped_photo_uuids == [lost] and lost not in dropped.photo_uuids

    submitted = submit.sync(day.inspection, client=phone, body=models.SubmitInputRequest(summary="一处问题"))
    assert isinstance(submitted, models.InspectionSummaryOutput)
    assert submitted.status == models.InspectionStatusEnum.SUBMITTED

    cases = api("cases.cases_list").sync(client=phone, severity=models.CasesListSeverity.MODERATE)
    assert isinstance(cases, models.PaginatedCaseListOutputList)
    assert [c.inspection for c in cases.results] == [day.inspection]
    detail = api("cases.cases_retrieve").sync(cases.results[0].id, client=phone)
    assert isinstance(detail, models.CaseDetailOutput)
    assert sorted(detail.finding.photo_uuids) == sorted([by_form, by_tus])
    assert detail.status == models.CaseStatusEnum.AWAITING_REVIEW  # reviewed before 交办

    bad_token = generated.AuthenticatedClient(base_url=live_server.url, token="bad")
    problem = api("cases.cases_list").sync(client=bad_token)
    assert isinstance(problem, models.Problem)
    assert problem.code == "token_not_valid"
    assert_the_day_is_recorded(day)


@pytest.mark.django_db(transaction=True)
def test_the_generated_client_lists_villages(live_server: Any, generated: ModuleType) -> None:
    builders.village("330523108204", "余村村委会")
    builders.supervisor("330523", username="anji", password=PASSWORD)
    models = importlib.import_module("qs_client.models")

    tokens = api("auth.auth_token_create").sync(
        client=generated.Client(base_url=live_server.url),
        body=models.TokenObtainPairRequest(username="anji", password=PASSWORD),
    )
    authed = generated.AuthenticatedClient(base_url=live_server.url, token=tokens.access)
    page = api("villages.villages_list").sync(client=authed, search="余村")

    assert [v.code for v in page.results] == ["330523108204"]
    assert page.results[0].township.code == "330523108"
