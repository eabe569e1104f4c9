"""Evidence files are checked by their content, never by their name.

Allowed: images (JPEG, PNG, GIF, WebP, HEIC), PDF, video (MP4, QuickTime, WebM) and plain
UTF-8 text. The name's extension, when it claims a type, must agree with the content: a
script renamed to .png is refused. Text that looks like a script or markup is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePath

import filetype
from django.conf import settings
from django.utils.translation import gettext as _

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
MAX_FILES = 5


@dataclass(frozen=True)
class CheckedFile:
    name: str
    content: bytes
    content_type: str
    extension: str
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)


def _is_plain_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    head = data[:512].lstrip().lower()
    return not any(head.startswith(marker) for marker in SCRIPT_MARKERS)


def evidence_check(*, name: str, data: bytes) -> CheckedFile:
    limit = settings.REFUNDDESK_EVIDENCE_MAX_BYTES
    field = "evidence"
    if len(data) > limit:
        raise ValidationError(
            _("%(name)s is %(size).1f MB; the limit is %(limit).0f MB per file. Send a smaller file.")
            % {"name": name, "size": len(data) / 1e6, "limit": limit / 1e6}, field=field)
    if not data:
        raise ValidationError(_("%(name)s is empty.") % {"name": name}, field=field)
    kind = filetype.guess(data)
    content_type = kind.mime if kind else ("text/plain" if _is_plain_text(data) else None)
    if content_type not in ALLOWED:
        raise ValidationError(
            _("%(name)s is not an image, PDF, video or plain text file; those are the kinds accepted.")
            % {"name": name}, field=field)
    suffix = PurePath(name).suffix.lower()
    claimed = EXTENSION_CLAIMS.get(suffix)
    if suffix and claimed is None or (claimed is not None and content_type not in claimed):
        raise ValidationError(
            _("%(name)s is named like a %(ext)s file but its content is %(type)s; send the original file.")
            % {"name": name, "ext": suffix or "?", "type": content_type}, field=field)
    return CheckedFile(name=PurePath(name).name[:255], content=data, content_type=content_type,
                       extension=ALLOWED[content_type], sha256=hashlib.sha256(data).hexdigest())


def evidence_check_all(files: list[tuple[str, bytes]]) -> list[CheckedFile]:
    if len(files) > MAX_FILES:
        raise ValidationError(_("at most %(n)d files per message.") % {"n": MAX_FILES}, field="evidence")
    return [evidence_check(name=name, data=data) for name, data in files]
