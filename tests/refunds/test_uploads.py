"""Evidence uploads under hostile and careless input (issue 15.4): kept on disk only up to the limits, refused
early when declared too large, decompression bombs refused with Pillow's limit, files served so that a
browser runs nothing in them."""

from __future__ import annotations

import socket
import struct
import uuid
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation

from refunddesk.core.errors import ValidationError
from refunddesk.core.services import access_token_create
from refunddesk.refunds import services as s
from refunddesk.refunds.evidence import evidence_check
from refunddesk.refunds.models import Evidence, RefundRequest
from tests.refunds.test_workflow import PNG

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width: int, height: int) -> bytes:
    """A valid greyscale PNG of width x height black pixels, compressed row by row (a bomb when large:
    16000 x 16000 is 256 MB once decoded and about 250 KB on disk)."""
    packer = zlib.compressobj(9)
    row = b"\0" * (width + 1)  # filter byte + pixels
    rows_per_chunk = max(1, (4 * MB) // len(row))
    parts = []
    for start in range(0, height, rows_per_chunk):
        parts.append(packer.compress(row * min(rows_per_chunk, height - start)))
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")


def gif(width: int, height: int) -> bytes:
    """A GIF89a whose screen and only frame declare width x height (one black pixel of data)."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    frame = b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return screen + frame + b";"


@pytest.fixture(scope="module")
def png_bomb() -> bytes:
    return png(16000, 16000)


@pytest.fixture
def customer_client(customer) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(customer.user)
    yield client
    translation.deactivate()


@pytest.fixture
def api(customer) -> Client:
    _, raw = access_token_create(user=customer.user)
    return Client(headers={"Authorization": f"Bearer {raw}"}, HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def files(n: int, size: int, stem: str = "note") -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(f"{stem}{i}.txt", b"a" * size, content_type="text/plain") for i in range(n)]


# --- how many, how large ------------------------------------------------------------------------------


def _send_headers_and_a_little(url: str, path: str, headers: dict[str, str], declared: int) -> tuple[int, bytes]:
    """POST a multipart body declared `declared` bytes long, send only its first 64 KiB, then read the answer.

    A server that refuses early answers now; one that reads the whole body first never answers (the read gives
    up after a minute and the test fails)."""
    host, port = url.removeprefix("http://").split(":")
    boundary = uuid.uuid4().hex
    start = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big0.mp4\"\r\n"
             f"Content-Type: video/mp4\r\n\r\n").encode() + b"\0" * (64 * 1024)
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {declared}",
            f"Content-Type: multipart/form-data; boundary={boundary}", "Connection: close",
            *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + start)
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    status = int(answer.split(b" ", 2)[1])
    return status, answer


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", ["portal", "api"])
def test_thirty_files_of_ten_mb_are_refused_before_the_body_is_read(where, live_server, published_policy, customer,
                                                                   order, media):
    """The issue's example: 30 files of 10 MB (300 MB) used to be read whole, then refused. Now the answer
    (413) comes after 64 KiB of it, and nothing reaches the storage."""
    if where == "api":
        _, raw = access_token_create(user=customer.user)
        path, headers = "/api/v1/requests", {"Authorization": f"Bearer {raw}"}
    else:
        client = Client()
        client.force_login(customer.user)
        path = f"/portal/orders/{order.external_id}/apply/"
        csrf = uuid.uuid4().hex  # a cookie is needed before Django reads the form's token from the body
        headers = {"Cookie": f"sessionid={client.cookies['sessionid'].value}; csrftoken={csrf}",
                   "Accept-Language": "en"}
    status, answer = _send_headers_and_a_little(live_server.url, path, headers, declared=30 * 10 * MB + 30 * 200)
    assert status == 413, answer[:500]
    assert not RefundRequest.objects.exists() and not Evidence.objects.exists()
    assert stored(media) == []


def test_beyond_five_files_nothing_more_is_kept_and_the_form_says_so(published_policy, customer_client, order,
                                                                    media):
    response = customer_client.post(f"/portal/orders/{order.external_id}/apply/", {
        "reason": "technical_issue", "description": "Keep this text", "evidence": files(12, 100 * 1024)})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="id_evidence_error"' in html
    assert "Send at most 5 files per message; note5.txt was one too many." in html and "Keep this text" in html
    received = response.wsgi_request.FILES.getlist("evidence")  # what the server kept of the upload
    assert len(received) == 12 and sum(f.size for f in received) == 5 * 100 * 1024
    assert not Evidence.objects.exists() and stored(media) == []


def test_a_reply_with_too_many_files_is_refused_in_the_customers_language(published_policy, customer, order,
                                                                         agent, media):
    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue")
    s.refund_request_ask_info(public_id=req.public_id, user=agent, message="Which server?")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(customer.user)
    client.cookies["django_language"] = "zh-hans"  # the customer (en) chose Chinese with the switcher
    response = client.post(f"/portal/requests/{req.public_id}/reply/",
                           {"message": "东京 3 号", "evidence": files(7, 1000, stem="日志")})
    html = response.content.decode()
    assert 'id="id_evidence_error"' in html and "每条消息最多发送 5 个文件；日志5.txt 超出了数量。" in html
    assert not Evidence.objects.exists() and stored(media) == []


def test_files_beyond_the_total_size_are_not_kept(published_policy, api, customer_client, order, media, settings):
    settings.REFUNDDESK_EVIDENCE_MAX_TOTAL_BYTES = 1 * MB
    r = api.post("/api/v1/requests", {"order_number": order.external_id, "reason": "technical_issue",
                                      "files": files(3, 400 * 1024)})
    assert r.status_code == 422, r.content
    error = r.json()["error"]
    assert error["field"] in {"files", "evidence"} and "1 MB together" in error["message"]
    assert "note2.txt" in error["message"]
    response = customer_client.post(f"/portal/orders/{order.external_id}/apply/", {
        "reason": "technical_issue", "evidence": files(3, 400 * 1024)})
    assert "may be 1 MB together; note2.txt went past that" in response.content.decode()
    kept = response.wsgi_request.FILES.getlist("evidence")
    assert [f.size for f in kept] == [400 * 1024, 400 * 1024, 0]
    assert not RefundRequest.objects.exists() and stored(media) == []


def test_a_file_over_the_limit_is_cut_off_where_it_passes_it(published_policy, customer_client, order, media,
                                                             settings):
    settings.REFUNDDESK_EVIDENCE_MAX_BYTES = 200 * 1024
    response = customer_client.post(f"/portal/orders/{order.external_id}/apply/", {
        "reason": "technical_issue", "evidence": files(1, 300 * 1024, stem="huge")})
    assert "huge0.txt is 0.3 MB; the limit is 0.2 MB per file." in response.content.decode()  # its whole size
    assert response.wsgi_request.FILES.getlist("evidence")[0].size == 0
    assert stored(media) == []


def test_more_files_than_django_reads_is_a_page_that_says_how_many(published_policy, customer_client, order):
    response = customer_client.post(f"/portal/orders/{order.external_id}/apply/", {
        "reason": "technical_issue", "evidence": files(21, 10)})
    assert response.status_code == 400
    html = response.content.decode()
    assert "send at most 5 files with one message" in html and 'class="error-page' in html
    assert not RefundRequest.objects.exists()


# --- decompression bombs -------------------------------------------------------------------------------


def test_a_png_that_declares_16000_by_16000_is_refused(published_policy, customer, order, api, png_bomb, media):
    assert len(png_bomb) < 800 * 1024  # small on the wire, 256 megapixels once decoded
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(customer.user)
    client.cookies["django_language"] = "zh-hans"  # the customer (en) chose Chinese with the switcher
    response = client.post(f"/portal/orders/{order.external_id}/apply/", {
        "reason": "technical_issue",
        "evidence": [SimpleUploadedFile("screenshot.png", png_bomb, content_type="image/png")]})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="id_evidence_error"' in html
    assert "screenshot.png 声明的图片尺寸过大" in html
    r = api.post("/api/v1/requests", {"order_number": order.external_id, "reason": "technical_issue",
                                      "files": [SimpleUploadedFile("screenshot.png", png_bomb)]})
    assert r.status_code == 422 and r.json()["error"]["field"] in {"files", "evidence"}
    assert "too large to open safely" in r.json()["error"]["message"]
    assert not RefundRequest.objects.exists() and stored(media) == []


def test_a_gif_that_declares_65535_by_65535_is_refused():
    with pytest.raises(ValidationError, match="too large to open safely") as err:
        evidence_check(name="anim.gif", data=gif(65535, 65535))
    assert err.value.field == "evidence"


def test_real_photos_and_screenshots_still_pass(published_policy, customer, order):
    for name, data in [("photo.png", png(4000, 3000)), ("tiny.gif", gif(16, 16)), ("shot.png", PNG)]:
        assert evidence_check(name=name, data=data).content_type.startswith("image/")
    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue",
                                  files=[s.Upload("photo.png", png(4000, 3000))])
    assert req.evidence.get().size == len(png(4000, 3000))


def test_an_image_pillow_cannot_read_is_refused():
    with pytest.raises(ValidationError, match="could not be read as an image"):
        evidence_check(name="broken.png", data=b"\x89PNG\r\n\x1a\n" + b"\0" * 100)


# --- serving -------------------------------------------------------------------------------------------


def test_evidence_is_served_so_that_nothing_in_it_runs(published_policy, customer, order, agent, customer_client):
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue",
                                  files=[s.Upload("receipt.pdf", PDF), s.Upload("shot.png", PNG),
                                         s.Upload("notes.txt", b"it drops\n"), s.Upload("IMG.HEIC", heic)])
    staff = Client()
    staff.force_login(agent)
    for ev in req.evidence.all():
        for client, url in [(customer_client, f"/portal/requests/{req.public_id}/evidence/{ev.pk}/"),
                            (staff, f"/console/requests/{req.public_id}/evidence/{ev.pk}/")]:
            r = client.get(url)
            assert r.status_code == 200, url
            assert r["X-Content-Type-Options"] == "nosniff"
            assert "sandbox" in r["Content-Security-Policy"], (ev.original_name, r["Content-Security-Policy"])
            disposition = r["Content-Disposition"]
            if ev.content_type in ("application/pdf", "image/heic"):  # PDFs carry scripts and forms; HEIC no browser shows
                assert disposition.startswith("attachment"), (ev.original_name, disposition)
            else:
                assert disposition.startswith("inline"), (ev.original_name, disposition)
            b"".join(r.streaming_content)

