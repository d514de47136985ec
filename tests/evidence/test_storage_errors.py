"""Which refusal a storage error becomes: 507 when the storage says it is full, else 503."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from inspections.evidence.errors import StorageFull, StorageUnavailable
from inspections.evidence.storage import storage_error


def client_error(code: str, status: int) -> ClientError:
    """The error botocore raises for an S3 error answer (built as botocore builds it)."""
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutObject",
    )


@pytest.mark.parametrize(
    ("exc", "refusal"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), StorageFull),
        (OSError(errno.EROFS, "Read-only file system"), StorageUnavailable),
        (client_error("QuotaExceeded", 403), StorageFull),
        (client_error("XMinioStorageFull", 507), StorageFull),
        (client_error("InternalError", 507), StorageFull),
        (client_error("NoSuchBucket", 404), StorageUnavailable),
        (client_error("AccessDenied", 403), StorageUnavailable),
        (client_error("SlowDown", 503), StorageUnavailable),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), StorageUnavailable),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), StorageUnavailable),
    ],
)
def test_storage_errors_map_to_507_when_full_and_503_otherwise(exc: Exception, refusal: type) -> None:
    mapped = storage_error(exc)

    assert type(mapped) is refusal
    assert (mapped.status, mapped.code) == (
        (507, "storage_full") if refusal is StorageFull else (503, "storage_unavailable")
    )


@pytest.mark.django_db
def test_a_file_the_storage_cannot_give_is_503_with_retry_after_on_the_api_and_in_the_admin() -> None:
    from django.test import Client

    from tests.builders import inspection, inspector, photo, process_all, supervisor
    from tests.conftest import assert_problem, client_for

    member = inspector()
    visit = inspection(team=[member])
    stored = photo(inspection=visit, by=member, process=False)
    process_all()
    stored.refresh_from_db()
    Path(stored.original.path).unlink()  # the disk lost it (unmounted, failed): the row still names it
    organiser = supervisor("330523")
    visit.organisers.add(organiser)
    browser = Client()
    browser.force_login(organiser)

    api = client_for(member.user).get(f"/api/v1/photos/{stored.client_uuid}/original/")
    page = browser.get(f"/admin/inspections/inspection/photo/{stored.client_uuid}/original/")
    rendition = client_for(member.user).get(f"/api/v1/photos/{stored.client_uuid}/preview/")

    assert assert_problem(api, 503, "storage_unavailable")
    assert api["Retry-After"] == "60", dict(api.items())
    assert page.status_code == 503, (page.status_code, page.get("Location"))
    assert (page.status_code, page["Retry-After"]) == (503, "60")
    assert rendition.status_code == 200  # the renditions are still there
