"""Reading a multipart photo upload into memory, within limits, without ever writing it to disk.

Starlette's form parser spools files over 1 MB to temporary files; enrolment photos are biometric data
that must not be left on a terminal or the HR server, so this parser (used by the terminal panel and by
the HR API's photo enrolment) keeps every part in memory and bounds it instead:
the whole request (HTTP 413 beyond it), the number of files, and each file (a file over the limit is
kept as a name and a size only, and the enrolment report rejects it as "too-large").
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from core.errors import InputError

#: Default limits: a phone photo is 2-8 MB; twenty of them is more than any enrolment needs.
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 20
MAX_REQUEST_BYTES = 64 * 1024 * 1024
MAX_FIELD_BYTES = 4096
MAX_FIELDS = 20


class UploadError(InputError):
    """The request as a whole cannot be used (too large, too many files, not multipart)."""

    code = "upload-invalid"

    def __init__(self, what: str, fix: str, *, code: str, status: int) -> None:
        super().__init__(what, fix, code=code)
        self.status = status


@dataclass
class UploadedFile:
    name: str
    size: int
    data: bytes | None  # None when the file was larger than the per-file limit (its bytes were dropped)


@dataclass
class Upload:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = MAX_FILE_BYTES
    max_files: int = MAX_FILES
    max_request_bytes: int = MAX_REQUEST_BYTES


DEFAULT_LIMITS = Limits()


class _Collector:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.upload = Upload()
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._name = ""
        self._filename: str | None = None
        self._buffer = bytearray()
        self._size = 0

    def on_part_begin(self) -> None:
        self._disposition, self._name, self._filename = b"", "", None
        self._buffer, self._size = bytearray(), 0

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            self._filename = options[b"filename"].decode("utf-8", "replace").replace("\\", "/").rsplit("/", 1)[-1]
        elif len(self.upload.fields) >= MAX_FIELDS:
            raise UploadError("The form has too many fields.", "Send the enrolment form as the page makes it.",
                              code="upload-too-many-fields", status=400)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._size += end - start
        limit = self.limits.max_file_bytes if self._filename is not None else MAX_FIELD_BYTES
        if self._size <= limit:
            self._buffer += data[start:end]
        elif self._filename is None:
            raise UploadError(f"The form field {self._name!r} is too long.", "Send the form as the page makes it.",
                              code="upload-field-too-long", status=400)
        else:
            self._buffer = bytearray()  # over the limit: keep counting, stop keeping

    def on_part_end(self) -> None:
        if self._filename is None:
            self.upload.fields[self._name] = self._buffer.decode("utf-8", "replace")
            return
        if not self._filename and self._size == 0:
            return  # the browser sends an empty part when no file was chosen
        if len(self.upload.files) >= self.limits.max_files:
            raise UploadError(
                f"More than {self.limits.max_files} photos were sent at once.",
                f"Send at most {self.limits.max_files} photos per upload.",
                code="upload-too-many-files", status=400,
            )
        data = bytes(self._buffer) if self._size <= self.limits.max_file_bytes else None
        self.upload.files.append(UploadedFile(self._filename or "(unnamed)", self._size, data))
        self._buffer = bytearray()


async def read_upload(
    content_type: str, content_length: str | None, stream: AsyncIterator[bytes], limits: Limits = DEFAULT_LIMITS
) -> Upload:
    """Parse a multipart/form-data body from ``stream`` (a request's ``stream()``) within ``limits``."""
    mime, params = parse_options_header(content_type)
    if mime != b"multipart/form-data" or b"boundary" not in params:
        raise UploadError("The upload is not a multipart form.", "Upload photos with the page's form.",
                          code="upload-not-multipart", status=400)
    too_large = UploadError(
        f"The upload is larger than {limits.max_request_bytes // (1024 * 1024)} MiB.",
        f"Send fewer or smaller photos at a time (each at most {limits.max_file_bytes // (1024 * 1024)} MiB).",
        code="upload-too-large", status=413,
    )
    if content_length is not None and content_length.isdigit() and int(content_length) > limits.max_request_bytes:
        raise too_large
    collector = _Collector(limits)
    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_part_begin": collector.on_part_begin,
            "on_part_data": collector.on_part_data,
            "on_part_end": collector.on_part_end,
            "on_header_field": collector.on_header_field,
            "on_header_value": collector.on_header_value,
            "on_header_end": collector.on_header_end,
            "on_headers_finished": collector.on_headers_finished,
        },
    )
    received = 0
    try:
        async for chunk in stream:
            received += len(chunk)
            if received > limits.max_request_bytes:
                raise too_large
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        raise UploadError("The upload is not a well-formed multipart form.", "Upload photos with the page's form.",
                          code="upload-malformed", status=400) from exc
    return collector.upload
