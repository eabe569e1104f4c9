"""A fake WeCom (企业微信) customer-service API: a real HTTP server on 127.0.0.1 that does what WeCom does for
refunddesk's calls, written from WeCom's documentation and independently of wechatpy:

* `gettoken` issues access tokens for the right corp id and secret; every other call checks its token;
* a customer's message is kept and announced by a callback signed and encrypted as WeCom does it
  (AES-256-CBC with the EncodingAESKey, random 16 bytes + length + message + corp id, PKCS#7 to 32 bytes;
  msg_signature = SHA1 of the sorted Token, timestamp, nonce and ciphertext);
* `kf/sync_msg` returns the messages page by page with `next_cursor` / `has_more` (a callback's token must be
  one it gave);
* `kf/send_msg` enforces WeChat's window: only within 48 hours after the customer's last message, at most
  5 messages per customer message;
* `media/get` returns an uploaded photo's bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import struct
import time
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.payments.fakes.server import FakeServer, Request, Response

WINDOW_SECONDS = 48 * 3600
WINDOW_MESSAGES = 5
ERR_TOKEN = 40014  # invalid access_token
ERR_WINDOW = 95001  # the fake's code for a message outside WeChat's window (48 hours / 5 messages)


@dataclass
class Sent:
    touser: str
    open_kfid: str
    msgtype: str
    content: str
    at: float


@dataclass
class FakeWeCom:
    corp_id: str = "ww0123456789abcdef"
    secret: str = "kf-secret-for-tests"
    token: str = "callbacktoken"
    aes_key: str = field(default_factory=lambda: base64.b64encode(os.urandom(32)).decode().rstrip("="))
    open_kfid: str = "wkKF0001"
    page_size: int = 2
    clock: float = field(default_factory=time.time)  # WeCom's "now" (tests move it)
    access_tokens: set[str] = field(default_factory=set)
    callback_tokens: set[str] = field(default_factory=set)
    messages: list[dict] = field(default_factory=list)
    media: dict[str, bytes] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    last_customer_message: dict[str, float] = field(default_factory=dict)
    sent_since: dict[str, int] = field(default_factory=dict)

    # --- what a customer does in WeChat -----------------------------------------------------------------

    def customer_sends(self, external_userid: str, *, text: str | None = None,
                       image: bytes | None = None) -> tuple[dict[str, str], bytes]:
        """The customer writes (text) or sends a photo; returns the callback WeCom would POST: (query, body)."""
        msg = {"msgid": secrets.token_hex(8), "open_kfid": self.open_kfid, "external_userid": external_userid,
               "send_time": int(self.clock), "origin": 3}
        if image is not None:
            media_id = "media-" + secrets.token_hex(6)
            self.media[media_id] = image
            msg.update(msgtype="image", image={"media_id": media_id})
        else:
            msg.update(msgtype="text", text={"content": text or ""})
        self.messages.append(msg)
        self.last_customer_message[external_userid] = self.clock
        self.sent_since[external_userid] = 0
        return self.callback()

    def callback(self) -> tuple[dict[str, str], bytes]:
        """A kf_msg_or_event callback, encrypted and signed."""
        callback_token = "cbt-" + secrets.token_hex(8)
        self.callback_tokens.add(callback_token)
        plain = (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName><CreateTime>{int(self.clock)}"
                 f"</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
                 f"<Token><![CDATA[{callback_token}]]></Token><OpenKfId><![CDATA[{self.open_kfid}]]></OpenKfId></xml>")
        encrypted = self.encrypt(plain)
        timestamp, nonce = str(int(self.clock)), secrets.token_hex(5)
        query = {"msg_signature": self.signature(timestamp, nonce, encrypted), "timestamp": timestamp,
                 "nonce": nonce}
        body = (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName><AgentID><![CDATA[]]></AgentID>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()
        return query, body

    def verification(self) -> tuple[dict[str, str], str]:
        """The GET WeCom sends when the callback address is saved: (query, the echostr it expects back)."""
        echo = secrets.token_hex(8)
        encrypted = self.encrypt(echo)
        timestamp, nonce = str(int(self.clock)), secrets.token_hex(5)
        return {"msg_signature": self.signature(timestamp, nonce, encrypted), "timestamp": timestamp,
                "nonce": nonce, "echostr": encrypted}, echo

    # --- WeCom's crypto (from its documentation) ----------------------------------------------------

    def _key(self) -> bytes:
        return base64.b64decode(self.aes_key + "=")

    def encrypt(self, plain: str) -> str:
        data = plain.encode()
        raw = os.urandom(16) + struct.pack(">I", len(data)) + data + self.corp_id.encode()
        pad = 32 - len(raw) % 32
        raw += bytes([pad]) * pad
        key = self._key()
        enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
        return base64.b64encode(enc.update(raw) + enc.finalize()).decode()

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return hashlib.sha1("".join(sorted([self.token, timestamp, nonce, encrypted])).encode()).hexdigest()

    # --- the HTTP API --------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = request.path.removeprefix("/cgi-bin/")
        if path == "gettoken":
            q = request.query
            if q.get("corpid") != [self.corp_id] or q.get("corpsecret") != [self.secret]:
                return Response.json(200, {"errcode": 40001, "errmsg": "invalid credential"})
            tok = "at-" + secrets.token_hex(8)
            self.access_tokens.add(tok)
            return Response.json(200, {"errcode": 0, "errmsg": "ok", "access_token": tok, "expires_in": 7200})
        if request.query.get("access_token", [""])[0] not in self.access_tokens:
            return Response.json(200, {"errcode": ERR_TOKEN, "errmsg": "invalid access_token"})
        if path == "kf/sync_msg":
            return self._sync(json.loads(request.body or b"{}"))
        if path == "kf/send_msg":
            return self._send(json.loads(request.body or b"{}"))
        if path == "media/get":
            data = self.media.get(request.query.get("media_id", [""])[0])
            if data is None:
                return Response.json(200, {"errcode": 40007, "errmsg": "invalid media_id"})
            return Response(200, data, {"Content-Type": "image/png",
                                        "Content-Disposition": 'attachment; filename="photo.png"'})
        return Response.json(404, {"errcode": 404, "errmsg": "no such api"})

    def _sync(self, body: dict) -> Response:
        token = body.get("token")
        if token and token not in self.callback_tokens:
            return Response.json(200, {"errcode": 95007, "errmsg": "invalid msg token"})
        if body.get("open_kfid") != self.open_kfid:
            return Response.json(200, {"errcode": 95000, "errmsg": "invalid open_kfid"})
        start = int(body["cursor"].removeprefix("c")) if body.get("cursor") else 0
        limit = min(int(body.get("limit") or 1000), self.page_size)
        page = self.messages[start:start + limit]
        end = start + len(page)
        return Response.json(200, {"errcode": 0, "errmsg": "ok", "next_cursor": f"c{end}",
                                   "has_more": int(end < len(self.messages)), "msg_list": page})

    def _send(self, body: dict) -> Response:
        user = body.get("touser", "")
        if body.get("open_kfid") != self.open_kfid or body.get("msgtype") != "text":
            return Response.json(200, {"errcode": 40003, "errmsg": "invalid parameter"})
        last = self.last_customer_message.get(user)
        if last is None or self.clock - last >= WINDOW_SECONDS or self.sent_since.get(user, 0) >= WINDOW_MESSAGES:
            return Response.json(200, {"errcode": ERR_WINDOW, "errmsg": "out of the 48 hours / 5 messages window"})
        self.sent_since[user] = self.sent_since.get(user, 0) + 1
        self.sent.append(Sent(touser=user, open_kfid=body["open_kfid"], msgtype="text",
                              content=body["text"]["content"], at=self.clock))
        return Response.json(200, {"errcode": 0, "errmsg": "ok", "msgid": "sent-" + secrets.token_hex(6)})


def start(fake: FakeWeCom | None = None) -> tuple[FakeWeCom, FakeServer]:
    fake = fake or FakeWeCom()
    return fake, FakeServer(fake).start()
