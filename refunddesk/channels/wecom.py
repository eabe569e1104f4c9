"""WeCom's customer-service API (微信客服, kf) through `wechatpy`: its enterprise client (access token fetched,
cached and renewed on 40014/42001) and its WeChatCrypto (callback signature and AES decryption, as WeCom
documents them). wechatpy 1.8 has no kf endpoints, so the three calls refunddesk needs are written here on its
client: kf/sync_msg, kf/send_msg, media/get.

Settings: REFUNDDESK_WECOM_CORP_ID, REFUNDDESK_WECOM_SECRET (the customer-service secret),
REFUNDDESK_WECOM_TOKEN and REFUNDDESK_WECOM_AES_KEY (the callback's Token and EncodingAESKey),
REFUNDDESK_WECOM_OPEN_KFID (the customer-service account), REFUNDDESK_WECOM_API_BASE (WeCom's address; tests
point it at a fake)."""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET

from django.conf import settings
from wechatpy.enterprise import WeChatClient
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException, WeChatClientException

from refunddesk.core.errors import ConfigurationError

#: WeChat's window for answering a customer (kf/send_msg): 48 hours after their last message, and at most
#: 5 messages per message of theirs (WeCom developer docs, 发送消息 "限制").
WINDOW_HOURS = 48
WINDOW_MESSAGES = 5
#: What one text message may hold (kf/send_msg: text.content, 2048 bytes).
TEXT_MAX_BYTES = 2048

__all__ = ["InvalidSignatureException", "WeChatClientException", "client", "configured", "crypto"]


def configured() -> bool:
    """Whether WeChat customer service is set up (corp id, secret and the customer-service account)."""
    return bool(settings.REFUNDDESK_WECOM_CORP_ID and settings.REFUNDDESK_WECOM_SECRET
                and settings.REFUNDDESK_WECOM_OPEN_KFID)


class KfClient(WeChatClient):
    """wechatpy's WeCom client at `api_base`, with the customer-service calls."""

    def __init__(self, corp_id: str, secret: str, *, api_base: str, timeout: float = 10):
        super().__init__(corp_id, secret, timeout=timeout)
        self.API_BASE_URL = api_base.rstrip("/") + "/"

    def fetch_access_token(self):
        return self._fetch_access_token(url=self.API_BASE_URL + "gettoken",
                                        params={"corpid": self.corp_id, "corpsecret": self.secret})

    def kf_sync_msg(self, *, cursor: str, token: str, open_kfid: str, limit: int = 1000) -> dict:
        """One page of messages after `cursor` ("" for the oldest kept): {next_cursor, has_more, msg_list}."""
        data = {"cursor": cursor, "token": token, "limit": limit, "open_kfid": open_kfid}
        return self.post("kf/sync_msg", data={k: v for k, v in data.items() if v != ""})

    def kf_send_text(self, *, touser: str, open_kfid: str, content: str) -> str:
        """Send a text message; returns WeCom's msgid. Raises WeChatClientException (errcode, errmsg)."""
        result = self.post("kf/send_msg", data={"touser": touser, "open_kfid": open_kfid, "msgtype": "text",
                                                "text": {"content": text_fit(content)}})
        return result.get("msgid", "")

    def media_get(self, media_id: str) -> tuple[bytes, str]:
        """A temporary media file (a customer's photo): (bytes, the file name WeCom gives). Raises
        WeChatClientException when WeCom answers an error."""
        res = self._http.get(self.API_BASE_URL + "media/get", timeout=self.timeout,
                             params={"access_token": self.access_token, "media_id": media_id})
        res.raise_for_status()
        if res.headers.get("Content-Type", "").startswith(("application/json", "text/plain")):
            body = res.json()
            raise WeChatClientException(body.get("errcode"), body.get("errmsg"), client=self, request=res.request,
                                        response=res)
        disposition = res.headers.get("Content-Disposition", "")
        name = disposition.partition('filename="')[2].rstrip('"') or f"{media_id}.jpg"
        return res.content, name


def text_fit(content: str) -> str:
    """`content` cut to what one WeChat text message holds (TEXT_MAX_BYTES of UTF-8), on a character boundary."""
    data = content.encode()
    if len(data) <= TEXT_MAX_BYTES:
        return content
    return data[:TEXT_MAX_BYTES - 3].decode(errors="ignore") + "…"


@functools.lru_cache(maxsize=4)
def _client(corp_id: str, secret: str, api_base: str) -> KfClient:
    return KfClient(corp_id, secret, api_base=api_base)


def client() -> KfClient:
    """The process's client (its access token kept between calls). Raises ConfigurationError when not set up."""
    if not configured():
        raise ConfigurationError("WeChat customer service is not configured (REFUNDDESK_WECOM_*)")
    return _client(settings.REFUNDDESK_WECOM_CORP_ID, settings.REFUNDDESK_WECOM_SECRET,
                   settings.REFUNDDESK_WECOM_API_BASE)


def crypto() -> WeChatCrypto:
    """The callback's crypto (Token, EncodingAESKey, corp id). Raises ConfigurationError when not set up."""
    if not (settings.REFUNDDESK_WECOM_TOKEN and settings.REFUNDDESK_WECOM_AES_KEY):
        raise ConfigurationError("the WeChat callback is not configured (REFUNDDESK_WECOM_TOKEN, _AES_KEY)")
    return WeChatCrypto(settings.REFUNDDESK_WECOM_TOKEN, settings.REFUNDDESK_WECOM_AES_KEY,
                        settings.REFUNDDESK_WECOM_CORP_ID)


def callback_fields(xml_text: str) -> dict[str, str]:
    """The fields of a decrypted callback (flat XML) by tag: ToUserName, CreateTime, MsgType, Event, Token,
    OpenKfId."""
    root = ET.fromstring(xml_text)
    return {child.tag: (child.text or "") for child in root}
