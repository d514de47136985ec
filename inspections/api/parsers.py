"""The API's parsers: JSON (DRF's, a body nested too deeply answered as a parse error) and multipart.

The multipart parser streams the body through python-multipart and hands file parts to
the request's upload handlers, as Django's parser does but without copying the bytes
several times (:class:`MultiPartParser`).
"""

from __future__ import annotations

import contextlib
from typing import Any, cast

import python_multipart
import python_multipart.exceptions
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers
from django.http import QueryDict
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.utils.datastructures import MultiValueDict
from django.utils.http import parse_header_parameters
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """Parses JSON like DRF's; a body nested deeper than Python's decoder can follow is a 400.

    ``json.loads`` raises ``RecursionError`` (not ``ValueError``) on a document
    nested some thousands deep, which a 200 kB body can be: without this, an
    anonymous caller gets a 500.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("JSON parse error - the document is nested too deeply.")) from None


class MultiPartParser(parsers.BaseParser):
    """``multipart/form-data`` parsed as it streams, each file part handed to the request's upload handlers.

    DRF's parser runs Django's, which copies every chunk of a file part several times while
    it looks for the next boundary (2.9 ms of CPU for a 2.3 MB photo, the hash included);
    here python-multipart finds the boundaries and the handlers are given views of the bytes
    read (1.8 ms). What Django's parser guarantees is kept: the request's upload handlers
    receive each file part (``new_file``, ``receive_data_chunk``, ``file_complete``, in
    their order, as Django calls them), file names are sanitised as Django does, a part
    without a name or whose file name sanitises to nothing is skipped, a part whose file name
    is empty is a field, and Django's limits hold
    (``DATA_UPLOAD_MAX_NUMBER_FIELDS``, ``DATA_UPLOAD_MAX_NUMBER_FILES``,
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` for the fields). Stricter: a body that ends before its
    closing boundary, and a part sent with a ``Content-Transfer-Encoding`` (which RFC 7578
    forbids senders), are a ``400 parse_error``, not parsed as far as they go. On any error
    the files already received are closed (their handlers remove them).
    """

    media_type = "multipart/form-data"
    chunk_size = 1024 * 1024

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        context = parser_context or {}
        request = context["request"]
        encoding = context.get("encoding") or settings.DEFAULT_CHARSET
        parameters = parse_header_parameters(media_type or "")[1]
        boundary = parameters.get("boundary", "")
        if not boundary or not DjangoMultiPartParser.boundary_re.fullmatch(boundary):
            raise exceptions.ParseError(_("Multipart form parse error - the boundary is missing or invalid."))
        handlers = list(request.upload_handlers)
        meta = request.META
        length = str(meta.get("CONTENT_LENGTH") or "")
        for handler in handlers:  # as Django's parser starts: a handler may size itself, or parse it all
            taken = handler.handle_raw_input(
                stream, meta, int(length) if length.isdigit() else 0, boundary.encode("ascii"), encoding
            )
            if taken is not None:
                return parsers.DataAndFiles(*taken)
        form = _Form(handlers, encoding=encoding)
        parser = python_multipart.MultipartParser(boundary.encode("ascii"), form.callbacks())
        try:
            if stream is not None:
                while data := stream.read(self.chunk_size):
                    parser.write(data)
            parser.finalize()
            if not form.ended:
                raise exceptions.ParseError(
                    _("Multipart form parse error - the body ends before its closing boundary.")
                )
            form.complete()
        except python_multipart.exceptions.MultipartParseError as exc:
            form.interrupted()
            raise exceptions.ParseError(_("Multipart form parse error - the body is malformed.")) from exc
        except BaseException:
            form.interrupted()
            raise
        return parsers.DataAndFiles(form.data, form.files)


class _Form:
    """The parts of one multipart body as python-multipart finds them: fields kept, files handed on."""

    def __init__(self, handlers: list[FileUploadHandler], *, encoding: str) -> None:
        self.handlers = handlers
        self.encoding = encoding
        self.data = QueryDict(mutable=True, encoding=encoding)
        self.files: MultiValueDict[str, Any] = MultiValueDict()
        self.ended = False
        self._opened: list[Any] = []
        self._fields = 0
        self._file_count = 0
        self._field_bytes = 0
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, str] = {}
        self._name: str | None = None
        self._value: bytearray | None = None
        self._active: list[FileUploadHandler] = []  # the handlers of the file part being received
        self._counters: list[int] = []

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._header_name.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._name = None
        self._value = None
        self._active = []

    def _header_end(self) -> None:
        name = self._header_name.decode("latin-1").strip().lower()
        self._headers[name] = self._header_value.decode(self.encoding, errors="replace").strip()
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        if self._headers.get("content-transfer-encoding", "").lower() not in ("", "7bit", "8bit", "binary"):
            raise exceptions.ParseError(
                _("Multipart form parse error - parts may not have a Content-Transfer-Encoding.")
            )
        disposition = parse_header_parameters(self._headers.get("content-disposition", ""))[1]
        name = (disposition.get("name") or "").strip()
        if not disposition.get("filename"):  # as Django: a part with an empty file name is a field
            self._fields += 1
            limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
            if limit is not None and self._fields > limit:
                raise TooManyFieldsSent("More fields than settings.DATA_UPLOAD_MAX_NUMBER_FIELDS.")
            if name:
                self._name, self._value = name, bytearray()
            return
        self._file_count += 1
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        if limit is not None and self._file_count > limit:
            raise TooManyFilesSent("More files than settings.DATA_UPLOAD_MAX_NUMBER_FILES.")
        file_name = _sanitize_file_name(disposition["filename"])
        if not name or not file_name:
            return  # skipped, as Django does
        content_type, parameters = parse_header_parameters(self._headers.get("content-type", ""))
        type_parameters = {key: value.encode() for key, value in parameters.items()}  # bytes, as Django's
        length = self._headers.get("content-length", "")
        self._name = name
        self._counters = [0] * len(self.handlers)
        for handler in self.handlers:
            self._active.append(handler)
            try:
                handler.new_file(
                    name,
                    file_name,
                    content_type,
                    int(length) if length.isdigit() else None,
                    cast(Any, type_parameters.get("charset")),
                    type_parameters,
                )
            except StopFutureHandlers:
                break
            finally:
                opened = getattr(handler, "file", None)
                if opened is not None:
                    self._opened.append(opened)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._value is not None:
            self._field_bytes += end - start
            self._check_field_bytes()
            self._value.extend(data[start:end])
            return
        chunk: Any = memoryview(data)[start:end]
        for index, handler in enumerate(self._active):
            size = len(chunk)
            chunk = handler.receive_data_chunk(chunk, self._counters[index])
            self._counters[index] += size
            if chunk is None:
                break

    def _part_end(self) -> None:
        if self._value is not None and self._name is not None:
            self._field_bytes += len(self._name) + 2  # as Django counts a field's name and its "&="
            self._check_field_bytes()
            self.data.appendlist(self._name, self._value.decode(self.encoding, errors="replace"))
        elif self._active and self._name is not None:
            for index, handler in enumerate(self._active):
                received = handler.file_complete(self._counters[index])
                if received is not None:
                    self.files.appendlist(self._name, received)
                    break
        self._part_begin()

    def _check_field_bytes(self) -> None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and self._field_bytes > limit:
            raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")

    def _end(self) -> None:
        self.ended = True

    def complete(self) -> None:
        self.data._mutable = False  # as Django leaves its parsed fields
        for handler in self.handlers:
            if cast(Any, handler).upload_complete() is not None:  # Django's handlers may answer
                break

    def interrupted(self) -> None:
        for file in self._opened:
            with contextlib.suppress(OSError):
                file.close()
        for handler in self.handlers:
            upload_interrupted = getattr(handler, "upload_interrupted", None)
            if upload_interrupted is not None:
                upload_interrupted()


def _sanitize_file_name(file_name: str) -> str | None:
    """Django's own sanitising of an upload's file name (its parser's, which keeps no state)."""
    return cast("str | None", DjangoMultiPartParser.sanitize_file_name(cast(Any, None), file_name))
