"""Which refusal a storage error becomes: 507 when the storage says it is full, else 503."""

from __future__ import annotations

import errno

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
