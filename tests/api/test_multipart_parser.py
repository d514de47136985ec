"""The API's streaming multipart parser: what Django's parser gives, and the refusals it adds.

Bodies are written by hand, so that each test says exactly what a client sent. The parser is
compared with Django's own on the same bodies and upload handlers (fields, file names,
types, the files' bytes), fed in chunks small enough that boundaries and headers straddle
them; then the photo endpoint answers the bodies it refuses with a problem and leaves no
file behind.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from rest_framework.exceptions import ParseError

from inspections.api.parsers import MultiPartParser
from inspections.evidence.models import Photo
from tests import builders
from tests.builders import camera_jpeg
from tests.conftest import assert_problem, client_for

BOUNDARY = "qingshan-boundary-7MA4YWxkTrZu0gW"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def part(headers: str, content: bytes) -> bytes:
    return f"--{BOUNDARY}\r\n{headers}\r\n\r\n".encode() + content + b"\r\n"


def body(*parts: bytes, closed: bool = True) -> bytes:
    return b"".join(parts) + (f"--{BOUNDARY}--\r\n".encode() if closed else b"")


def field(name: str, value: str) -> bytes:
    return part(f'Content-Disposition: form-data; name="{name}"', value.encode())


def file_part(name: str, file_name: str, content: bytes, content_type: str = "image/jpeg") -> bytes:
    return part(
        f'Content-Disposition: form-data; name="{name}"; filename="{file_name}"\r\n'
        f"Content-Type: {content_type}",
        content,
    )


class Request:
    """What the parser reads of DRF's request: its upload handlers and its headers."""

    def __init__(self, data: bytes = b"") -> None:
        self.upload_handlers = [MemoryFileUploadHandler(), TemporaryFileUploadHandler()]
        self.META = {"CONTENT_TYPE": CONTENT_TYPE, "CONTENT_LENGTH": str(len(data))}


def streamed(data: bytes, *, chunk_size: int = MultiPartParser.chunk_size) -> tuple[Any, Any]:
    parser = MultiPartParser()
    parser.chunk_size = chunk_size
    parsed = parser.parse(io.BytesIO(data), CONTENT_TYPE, {"request": Request(data), "encoding": "utf-8"})
    return parsed.data, parsed.files


def by_django(data: bytes) -> tuple[Any, Any]:
    request = Request(data)
    return DjangoMultiPartParser(request.META, io.BytesIO(data), request.upload_handlers, "utf-8").parse()


def files_seen(files: Any) -> dict[str, list[tuple[str, str, str | None, int, bytes]]]:
    seen: dict[str, list[tuple[str, str, str | None, int, bytes]]] = {}
    for name, received in files.lists():
        seen[name] = []
        for upload in received:
            upload.seek(0)
            seen[name].append((upload.name, upload.content_type, upload.charset, upload.size, upload.read()))
    return seen


# A photo large enough for Django's temporary-file handler (past 2.5 MB in memory) beside small files.
LARGE = bytes(range(256)) * 11_000
MIXED = body(
    field("client_uuid", "3f0b2c59-5f4e-4bb9-9d3c-3f9a1c2e7d10"),
    field("comment", "村口污水井盖破损"),
    field("tag", "a"),
    field("tag", "b"),
    file_part("file", "IMG_0001.jpg", b"\xff\xd8" + b"x" * 5000 + b"\xff\xd9"),
    file_part("large", "C:\\DCIM\\..\\IMG_0002.HEIC", LARGE, "image/heic"),
    file_part("note", "../../etc/notes.txt", "笔记".encode(), "text/plain; charset=utf-8"),
    part(
        "Content-Disposition: form-data; name=\"rfc2231\"; filename*=UTF-8''%E7%85%A7%E7%89%87.jpg",
        b"\xff\xd8\xff\xd9",
    ),
    file_part("empty_name", "", b"a field, as Django takes it"),
    file_part("dots", "..", b"skipped"),
    part("Content-Disposition: form-data", b"a part without a name"),
    field("latitude", ""),
)


@pytest.mark.parametrize("chunk_size", [MultiPartParser.chunk_size, 4096, 7, 1])
def test_it_parses_what_djangos_parser_parses(chunk_size: int) -> None:
    data = MIXED if chunk_size > 1 else MIXED.replace(LARGE, LARGE[:3000])
    fields, files = streamed(data, chunk_size=chunk_size)
    django_fields, django_files = by_django(data)

    assert dict(fields.lists()) == dict(django_fields.lists())
    assert files_seen(files) == files_seen(django_files)
    assert dict(fields.lists()) == {
        "client_uuid": ["3f0b2c59-5f4e-4bb9-9d3c-3f9a1c2e7d10"],
        "comment": ["村口污水井盖破损"],
        "tag": ["a", "b"],
        "latitude": [""],
        "empty_name": ["a field, as Django takes it"],
    }
    names = {name: [upload.name for upload in uploads] for name, uploads in files.lists()}
    assert names == {
        "file": ["IMG_0001.jpg"],
        "large": ["IMG_0002.HEIC"],
        "note": ["notes.txt"],
        "rfc2231": ["照片.jpg"],
    }
    assert not fields._mutable  # as Django leaves them


def test_a_large_file_part_goes_to_a_temporary_file_whole() -> None:
    _fields, files = streamed(MIXED)
    large = files["large"]
    assert large.temporary_file_path()  # past FILE_UPLOAD_MAX_MEMORY_SIZE: Django's temporary file
    large.seek(0)
    assert hashlib.sha256(large.read()).digest() == hashlib.sha256(LARGE).digest()


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (MIXED[:-40], CONTENT_TYPE),  # cut before the closing boundary
        (body(field("client_uuid", "x"), closed=False), CONTENT_TYPE),
        (b"no boundary anywhere in this body", CONTENT_TYPE),
        (MIXED, "multipart/form-data"),  # no boundary parameter
        (MIXED, "multipart/form-data; boundary=" + "b" * 300),  # longer than RFC 2046 allows
        (body(part('Content-Disposition: form-data; name="f"\r\nX-Long: ' + "y" * 5000, b"1")), CONTENT_TYPE),
        (
            body(
                part(
                    'Content-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
                    "Content-Transfer-Encoding: base64",
                    b"/9j/2Q==",
                )
            ),
            CONTENT_TYPE,
        ),
    ],
    ids=["cut", "unclosed", "no-parts", "no-boundary", "long-boundary", "long-header", "base64"],
)
def test_a_malformed_body_is_a_parse_error(data: bytes, content_type: str) -> None:
    parser = MultiPartParser()
    with pytest.raises(ParseError):
        parser.parse(io.BytesIO(data), content_type, {"request": Request(data), "encoding": "utf-8"})


@pytest.fixture
def sender(isolated_storage: Path) -> tuple[Any, int]:
    member = builders.inspector()
    inspection = builders.inspection(team=[member])
    return client_for(member.user), inspection.pk


def post(client: Any, data: bytes, content_type: str = CONTENT_TYPE) -> Any:
    return client.generic("POST", "/api/v1/photos/", data, content_type=content_type)


def leftovers(media: Path) -> list[Path]:
    return [path for path in media.rglob("*") if path.is_file()]


@pytest.mark.django_db
def test_the_photo_endpoint_stores_a_streamed_photo_once(
    sender: tuple[Any, int], isolated_storage: Path
) -> None:
    client, inspection = sender
    content = camera_jpeg()
    data = body(
        field("client_uuid", str(uuid.uuid4())),
        field("inspection", str(inspection)),
        file_part("file", "IMG_0001.jpg", content),
    )
    response = post(client, data)

    assert response.status_code == 201, response.content
    photo = Photo.objects.get()
    assert photo.sha256 == hashlib.sha256(content).hexdigest()
    assert photo.original_name == "IMG_0001.jpg"
    assert leftovers(isolated_storage) == [isolated_storage / photo.original.name]


@pytest.mark.django_db
@pytest.mark.parametrize("cut", [40, 3000])
def test_the_photo_endpoint_answers_a_cut_body_400_and_keeps_nothing(
    sender: tuple[Any, int], isolated_storage: Path, cut: int
) -> None:
    client, inspection = sender
    data = body(
        field("client_uuid", str(uuid.uuid4())),
        field("inspection", str(inspection)),
        file_part("file", "IMG_0001.jpg", camera_jpeg()),
    )
    assert_problem(post(client, data[:-cut]), 400, "parse_error")
    assert not Photo.objects.exists()
    assert leftovers(isolated_storage) == []


@pytest.mark.django_db
def test_the_photo_endpoint_holds_djangos_limits(
    sender: tuple[Any, int], isolated_storage: Path, settings: Any
) -> None:
    client, inspection = sender
    photo = file_part("file", "IMG_0001.jpg", camera_jpeg())
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3
    too_many_fields = body(*(field(f"f{index}", "1") for index in range(4)), photo)
    assert_problem(post(client, too_many_fields), 400, "bad_request")

    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 1
    two_files = body(field("inspection", str(inspection)), photo, file_part("other", "b.jpg", b"\xff\xd8"))
    assert_problem(post(client, two_files), 400, "bad_request")

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    large_field = body(field("client_uuid", "u" * 1200), photo)
    assert_problem(post(client, large_field), 413, "request_too_large")

    assert not Photo.objects.exists()
    assert leftovers(isolated_storage) == []
