import pytest

from refunddesk.core.errors import ValidationError
from refunddesk.refunds.evidence import evidence_check
from tests.refunds.test_workflow import PNG

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.mark.parametrize(("name", "data", "kind"), [
    ("shot.png", PNG, "image/png"),
    ("shot", PNG, "image/png"),
    ("receipt.pdf", PDF, "application/pdf"),
    ("notes.txt", "网络一直断开 / keeps dropping\n".encode(), "text/plain"),
])
def test_accepted_by_content(name, data, kind, settings):
    checked = evidence_check(name=name, data=data)
    assert checked.content_type == kind and checked.extension.startswith(".")


@pytest.mark.parametrize(("name", "data"), [
    ("cat.png", b"#!/bin/sh\nrm -rf /\n"),          # a script renamed to .png
    ("notes.txt", b"#!/usr/bin/env python\nprint(1)\n"),  # a script even as .txt
    ("page.txt", b"<html><script>alert(1)</script>"),
    ("photo.jpg", PNG),                              # the name lies about the type
    ("tool.exe", b"MZ\x90\x00" + b"\0" * 100),
    ("archive.zip", b"PK\x03\x04" + b"\0" * 100),
    ("empty.png", b""),
])
def test_refused(name, data, settings):
    with pytest.raises(ValidationError) as err:
        evidence_check(name=name, data=data)
    assert err.value.field == "evidence"


def test_size_limit(settings):
    settings.REFUNDDESK_EVIDENCE_MAX_BYTES = 100
    with pytest.raises(ValidationError, match="limit"):
        evidence_check(name="a.png", data=PNG + b"\0" * 200)
