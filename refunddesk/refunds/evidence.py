"""Evidence files: how they are received, what they may be, and how they are served.

Receiving (`EvidenceUploadHandler`, Django's FILE_UPLOAD_HANDLERS): every uploaded file is streamed to
a temporary file on disk in chunks, never held whole in memory. Files beyond the count limit, and the
rest of a file once it passes the per-file or the per-message total limit, are not stored at all (their
bytes are read off the connection and dropped); each becomes a `RefusedUpload` that the form or the
service refuses with a message naming the field. A request whose declared length is beyond anything a
valid message can be is refused before its body is read (RequestDataTooBig: the 413 page).

Checking (`evidence_check_all`, called by the refund services before any write): the count and total
first, from the sizes alone; then each file by its content, never by its name. Allowed: images (JPEG,
PNG, GIF, WebP, HEIC), PDF, video (MP4, QuickTime, WebM) and plain UTF-8 text. The name's extension,
when it claims a type, must agree with the content: a script renamed to .png is refused. Text that looks
like a script or markup is refused. Images are opened with Pillow, which reads the declared size from
the header: more pixels than Pillow's own decompression-bomb limit (`PIL.Image.MAX_IMAGE_PIXELS`,
89,478,485) is refused, so no browser of an agent is made to decode a 16000x16000 "screenshot".

Serving: refunddesk.portal.web.serve_evidence (nosniff; PDFs as attachments; a sandboxing CSP).

Limits (settings, from the environment): REFUNDDESK_EVIDENCE_MAX_FILES (5 per message),
REFUNDDESK_EVIDENCE_MAX_BYTES (10 MB per file), REFUNDDESK_EVIDENCE_MAX_TOTAL_BYTES (30 MB per message).
"""

from __future__ import annotations

import codecs
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import IO

import filetype
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import StopFutureHandlers, TemporaryFileUploadHandler
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from refunddesk.core.errors import ValidationError

ALLOWED = {
    "image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp",
    "image/heic": ".heic", "application/pdf": ".pdf", "video/mp4": ".mp4", "video/quicktime": ".mov",
    "video/webm": ".webm", "text/plain": ".txt",
}
# what a file name's extension claims -> the content types that may carry it
EXTENSION_CLAIMS = {
    ".jpg": {"image/jpeg"}, ".jpeg": {"image/jpeg"}, ".png": {"image/png"}, ".gif": {"image/gif"},
    ".webp": {"image/webp"}, ".heic": {"image/heic"}, ".pdf": {"application/pdf"},
    ".mp4": {"video/mp4"}, ".m4v": {"video/mp4"}, ".mov": {"video/quicktime"}, ".webm": {"video/webm"},
    ".txt": {"text/plain"}, ".log": {"text/plain"},
}
SCRIPT_MARKERS = (b"#!", b"<?php", b"<script", b"<html", b"<!doctype", b"<svg", b"@echo off")
# Images Pillow opens to read their declared size (HEIC needs a plugin Pillow does not ship; browsers cannot
# show HEIC, so the pages offer it as a download and never decode it).
PILLOW_CHECKED = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
CHUNK = 64 * 1024
FIELD = "evidence"


def max_files() -> int:
    """Files per message (REFUNDDESK_EVIDENCE_MAX_FILES, default 5)."""
    return settings.REFUNDDESK_EVIDENCE_MAX_FILES


MAX_FILES = 5  # the default of max_files(); kept for code that imported it


def _mb(size: int) -> str:
    """Bytes as MB (MiB, as the forms' limits and the browser's check count them) for people: "30", "0.2", "10.5"."""
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


def too_large_message(name: str, size: str) -> str:
    """The refusal of file `name` of `size` MB (a text: "30") beyond the per-file limit, in the active language."""
    return _("%(name)s is %(size)s MB; the limit is %(limit)s MB per file. Send a smaller file.") % {
        "name": name, "size": size, "limit": _mb(settings.REFUNDDESK_EVIDENCE_MAX_BYTES)}


def too_much_message(size: str) -> str:
    """The refusal of the files of one message, `size` MB together (a text), beyond the total limit."""
    return _("The files of one message may be %(limit)s MB together; these are %(size)s MB. Send fewer or smaller "
             "files.") % {"limit": _mb(settings.REFUNDDESK_EVIDENCE_MAX_TOTAL_BYTES), "size": size}


def too_many_message(count: str) -> str:
    """The refusal of `count` files (a text) in one message beyond REFUNDDESK_EVIDENCE_MAX_FILES."""
    return _("Send at most %(n)d files per message; these are %(count)s.") % {"n": max_files(), "count": count}


# --- values ---------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """One file a customer sent: its name and either its bytes (`data`) or a binary file object (`file`,
    e.g. Django's UploadedFile, read in chunks and never whole). `Upload("shot.png", png_bytes)` still works."""

    name: str
    data: bytes | None = None
    file: IO[bytes] | None = field(default=None, compare=False)

    def open(self) -> IO[bytes]:
        """A binary file object positioned at 0."""
        handle = self.file if self.file is not None else io.BytesIO(self.data or b"")
        handle.seek(0)
        return handle

    @property
    def size(self) -> int:
        """Bytes, without reading the content."""
        if self.file is None:
            return len(self.data or b"")
        size = getattr(self.file, "size", None)
        if size is None:
            position = self.file.tell()
            size = self.file.seek(0, io.SEEK_END)
            self.file.seek(position)
        return size

    @property
    def refusal(self) -> str | None:
        """Why the upload handler did not keep this file (a RefusedUpload), or None."""
        return getattr(self.file, "refusal", None)

    @property
    def received(self) -> int:
        """For a refused file: how many bytes of it came (all of them, though none was kept)."""
        return getattr(self.file, "received", 0)


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed evidence_check: `source` is a binary file object (position undefined) of `size` bytes."""

    name: str
    source: IO[bytes] = field(compare=False)
    size: int
    content_type: str
    extension: str
    sha256: str


class RefusedUpload(UploadedFile):
    """What the upload handler put in request.FILES for a file it did not keep: no content, why, and how big it
    was (`received`: every byte of it that came, counted though not kept).

    `refusal` is "count" (beyond REFUNDDESK_EVIDENCE_MAX_FILES), "size" (beyond REFUNDDESK_EVIDENCE_MAX_BYTES)
    or "total" (the message beyond REFUNDDESK_EVIDENCE_MAX_TOTAL_BYTES)."""

    def __init__(self, name: str, refusal: str, content_type: str | None = None, received: int = 0):
        super().__init__(file=io.BytesIO(), name=name or "upload", content_type=content_type, size=0)
        self.refusal = refusal
        self.received = received


def refusal_message(name: str, refusal: str, received: int = 0) -> str:
    """The message (in the active language) for a RefusedUpload's `refusal`, with the size of the file that
    was refused (`received` bytes, all of it: a 30 MB file is told as 30 MB)."""
    if refusal == "count":
        return _("Send at most %(n)d files per message; %(name)s was one too many.") % {
            "n": max_files(), "name": name}
    if refusal == "total":
        return _("The files of one message may be %(limit)s MB together; %(name)s went past that. Send fewer "
                 "or smaller files.") % {"limit": _mb(settings.REFUNDDESK_EVIDENCE_MAX_TOTAL_BYTES), "name": name}
    return too_large_message(name, _mb(received))


# --- receiving ------------------------------------------------------------------


def max_request_bytes() -> int:
    """The largest request body a multipart message may declare: the files' total limit, plus room for its
    text fields (DATA_UPLOAD_MAX_MEMORY_SIZE) and the multipart framing. Beyond it nothing is read."""
    return settings.REFUNDDESK_EVIDENCE_MAX_TOTAL_BYTES + 2 * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) + 256 * 1024


class EvidenceUploadHandler(TemporaryFileUploadHandler):
    """Django upload handler (the only one in FILE_UPLOAD_HANDLERS): every file streamed to a temporary
    file, counted, and cut off at the limits before more of it is kept.

    - a body declared larger than `max_request_bytes()`: RequestDataTooBig before anything is read;
    - the (max_files()+1)th file and later ones: not stored, a RefusedUpload("count");
    - a file passing REFUNDDESK_EVIDENCE_MAX_BYTES, or the message passing REFUNDDESK_EVIDENCE_MAX_TOTAL_BYTES:
      what was written of it is deleted, the rest dropped, a RefusedUpload("size" / "total").
    Memory: one chunk (64 KiB) at a time. Disk: never more than the total limit per request.
    """

    chunk_size = CHUNK

    def __init__(self, request=None):
        super().__init__(request)
        self.count = 0
        self.kept = 0  # bytes of the files kept so far
        self.received = 0  # bytes of the current file
        self.refused: str | None = None

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > max_request_bytes():
            raise RequestDataTooBig(
                f"a multipart body of {content_length} bytes; at most {max_request_bytes()} are read")
        return None

    def new_file(self, field_name, file_name, content_type, content_length, charset=None,
                 content_type_extra=None):
        self.count += 1
        self.received = 0
        self.refused = None
        self.field_name, self.file_name, self.content_type = field_name, file_name, content_type
        self.content_length, self.charset, self.content_type_extra = content_length, charset, content_type_extra
        if self.count > max_files():
            self.refused = "count"
            if hasattr(self, "file"):
                del self.file  # the previous file, kept and handed over: not ours to close any more
            raise StopFutureHandlers()
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        raise StopFutureHandlers()

    def _refuse(self, why: str) -> None:
        self.refused = why
        self.file.close()  # a NamedTemporaryFile: closing deletes what was written
        del self.file  # (Django's parser closes the `file` of every handler when a request breaks off)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)  # every byte counts, kept or not: a refusal says how big the file was
        if self.refused:
            return None
        if self.received > settings.REFUNDDESK_EVIDENCE_MAX_BYTES:
            self._refuse("size")
        elif self.kept + self.received > settings.REFUNDDESK_EVIDENCE_MAX_TOTAL_BYTES:
            self._refuse("total")
        else:
            self.file.write(raw_data)
        return None

    def file_complete(self, file_size):
        if self.refused:
            return RefusedUpload(self.file_name, self.refused, self.content_type, received=self.received)
        self.kept += file_size
        return super().file_complete(file_size)


# --- checking -------------------------------------------------------------------


def _refuse(message: str) -> ValidationError:
    return ValidationError(message, field=FIELD)


def _scan(handle: IO[bytes]) -> tuple[bytes, str, bool]:
    """(first 8 KiB, sha256 hex, whether the whole is plain UTF-8 text without NUL) in one pass of chunks."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    head = b""
    text = True
    while chunk := handle.read(CHUNK):
        if len(head) < 8192:
            head += chunk[: 8192 - len(head)]
        digest.update(chunk)
        if text:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                text = False
            text = text and b"\x00" not in chunk
    if text:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            text = False
    return head, digest.hexdigest(), text


def _looks_like_script(head: bytes) -> bool:
    start = head[:512].lstrip().lower()
    return any(start.startswith(marker) for marker in SCRIPT_MARKERS)


def _check_image(name: str, handle: IO[bytes], content_type: str) -> None:
    """Open the image with Pillow (its header only) and refuse a decompression bomb or an unreadable image."""
    handle.seek(0)
    try:
        with Image.open(handle, formats=[PILLOW_CHECKED[content_type]]) as image:
            width, height = image.size
    except Image.DecompressionBombError:
        width = height = None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _refuse(_("%(name)s could not be read as an image; send the original file.") % {"name": name})
    limit = Image.MAX_IMAGE_PIXELS
    if width is None or (limit and width * height > limit):
        raise _refuse(
            _("%(name)s declares an image too large to open safely (more than %(limit)s million pixels); send "
              "a screenshot or a smaller photo.") % {"name": name, "limit": f"{(limit or 0) / 1e6:.0f}"})


def evidence_check(*, name: str, data: bytes | None = None, file: IO[bytes] | None = None) -> CheckedFile:
    """One file -> a CheckedFile, or ValidationError(field="evidence") saying what is wrong in the active language.

    Give the content as `data` (bytes) or `file` (a binary file object, read in 64 KiB chunks). Refused: a
    RefusedUpload, more than REFUNDDESK_EVIDENCE_MAX_BYTES, empty, not one of ALLOWED by content, a name whose
    extension claims another type, text that starts like a script or markup, an image Pillow cannot open or
    that declares more than PIL.Image.MAX_IMAGE_PIXELS pixels.
    """
    upload = Upload(name=name, data=data, file=file)
    if upload.refusal:
        raise _refuse(refusal_message(name, upload.refusal, upload.received))
    size = upload.size
    if size > settings.REFUNDDESK_EVIDENCE_MAX_BYTES:
        raise _refuse(too_large_message(name, _mb(size)))
    if not size:
        raise _refuse(_("%(name)s is empty.") % {"name": name})
    handle = upload.open()
    head, sha256, plain = _scan(handle)
    kind = filetype.guess(head)
    content_type = kind.mime if kind else ("text/plain" if plain and not _looks_like_script(head) else None)
    if content_type not in ALLOWED:
        raise _refuse(_("%(name)s is not an image, PDF, video or plain text file; those are the kinds accepted.")
                      % {"name": name})
    suffix = PurePath(name).suffix.lower()
    claimed = EXTENSION_CLAIMS.get(suffix)
    if suffix and claimed is None or (claimed is not None and content_type not in claimed):
        raise _refuse(_("%(name)s is named like a %(ext)s file but its content is %(type)s; send the original "
                        "file.") % {"name": name, "ext": suffix or "?", "type": content_type})
    if content_type in PILLOW_CHECKED:
        _check_image(name, handle, content_type)
    handle.seek(0)
    return CheckedFile(name=PurePath(name).name[:255], source=handle, size=size, content_type=content_type,
                       extension=ALLOWED[content_type], sha256=sha256)


def evidence_check_all(files: Sequence[Upload] | Sequence[tuple[str, bytes]]) -> list[CheckedFile]:
    """Uploads (or (name, bytes) pairs) -> CheckedFiles, in order; ValidationError(field="evidence") on the first
    problem. The count (max_files()) and the total (REFUNDDESK_EVIDENCE_MAX_TOTAL_BYTES) are checked from the
    sizes before any content is read."""
    uploads = [f if isinstance(f, Upload) else Upload(name=f[0], data=f[1]) for f in files]
    refused = next((u for u in uploads if u.refusal), None)
    if refused is not None:
        raise _refuse(refusal_message(refused.name, refused.refusal, refused.received))
    if len(uploads) > max_files():
        raise _refuse(too_many_message(str(len(uploads))))
    total = sum(u.size for u in uploads)
    if total > settings.REFUNDDESK_EVIDENCE_MAX_TOTAL_BYTES:
        raise _refuse(too_much_message(_mb(total)))
    return [evidence_check(name=u.name, data=u.data, file=u.file) for u in uploads]
