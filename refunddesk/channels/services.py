"""Writes of the channels: messages coming in by email and WeChat customer service (微信客服), notices and
agents' messages going out on the channel the customer uses, site messages (站内信), WeChat links.

A message that asks for a refund becomes a request only through the customers' submission service
(refunds.services.refund_request_submit: the one way in, refunds.intake); a message on a request is added by
refunds.services.refund_request_message (lifecycle: a reply or a timeline entry). Inbound messages are stored
once per channel and id (the email's Message-ID, WeCom's msgid), in one transaction with what they cause.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from refunddesk.billing.models import Customer, Order
from refunddesk.channels import mail, reading, wecom
from refunddesk.channels.models import Channel, Cursor, Message, Thread, WeChatLink, WeChatLinkCode
from refunddesk.core.dates import format_date
from refunddesk.core.errors import ApplicationError, Conflict, ValidationError
from refunddesk.notify.services import language_of, render_email, send_text_enqueue
from refunddesk.refunds import services as refund_services
from refunddesk.refunds.evidence import Upload, evidence_check, max_files
from refunddesk.refunds.models import RefundRequest
from refunddesk.refunds.states import OPEN

log = logging.getLogger(__name__)
IN, OUT = Message.Direction.IN, Message.Direction.OUT
S = Message.Status
LINK_CODE_MINUTES = 30
CHAT_DAYS = 7


# --- threads ---------------------------------------------------------------------------------------


def thread_for_request(req: RefundRequest) -> Thread:
    """The request's thread (created on first use): its token is in the Reply-To of every email about it.
    Called where the request is being changed, so its row is locked and no other transaction creates the thread
    meanwhile: a plain INSERT, without get_or_create's savepoint."""
    thread = Thread.objects.filter(request=req).first()
    return thread if thread is not None else Thread.objects.create(request=req, customer_id=req.customer_id)


def _thread_of_email(inbound: mail.Inbound) -> Thread | None:
    """The thread a reply belongs to: the token of our plus-address among its recipients, else one of the
    Message-IDs we sent that it names in In-Reply-To / References. Never the subject."""
    token = mail.token_in(inbound.recipients)
    if token:
        thread = Thread.objects.select_related("request", "customer").filter(token=token).first()
        if thread is not None:
            return thread
    ids = inbound.in_reply_to + inbound.references
    if ids:
        sent = (Message.objects.filter(channel=Channel.EMAIL, direction=OUT, external_id__in=ids)
                .exclude(thread=None).select_related("thread").order_by("-created_at").first())
        if sent is not None:
            return sent.thread
    return None


def _customer_by_email(address: str) -> Customer | None:
    if not address:
        return None
    return Customer.objects.filter(email__iexact=address).order_by("-user_id", "-created_at").first()


# --- evidence from attachments and photos ------------------------------------------------------------


@dataclass
class Files:
    accepted: list[Upload]
    refused: list[str]  # "name: why", in the customer's language


def files_check(pairs: list[tuple[str, bytes]], language: str) -> Files:
    """Check each file like a portal upload (refunds.evidence.evidence_check: by content), keeping the good
    ones (at most max_files()) and saying why each other one was refused, in `language`."""
    accepted, refused = [], []
    with translation.override(language_of(language)):
        for name, data in pairs:
            try:
                evidence_check(name=name, data=data)
            except ValidationError as exc:
                refused.append(str(exc.message))
                continue
            if len(accepted) >= max_files():
                refused.append(_("%(name)s: too many files in one message.") % {"name": name})
                continue
            accepted.append(Upload(name=name, data=data))
    return Files(accepted, refused)


# --- what a customer's message does -------------------------------------------------------------------


@dataclass
class Outcome:
    status: str
    request: RefundRequest | None = None
    answer: str = ""  # the kind of automatic answer to send ("" for none)
    answer_context: dict | None = None
    error: str = ""


def _open_requests(customer: Customer):
    return RefundRequest.objects.filter(customer=customer, status__in=OPEN).order_by("-submitted_at")


def _customer_text(*, customer: Customer, channel: str, text: str, files: Files, thread: Thread | None,
                   now: dt.datetime) -> Outcome:
    """What a known customer's message does: on a request's thread it joins that request; one that asks for a
    refund and names one of their orders becomes a request (the policy decides at once); one that asks without
    an order number is answered with their orders; otherwise it joins their only open request, or waits for
    an agent."""
    uploads = files.accepted
    if thread is not None and thread.request_id is not None:
        return _join(customer, thread.request, channel, text, uploads, now)
    order = reading.order_named(customer, text)
    if order is not None and (reading.asks_refund(text) or thread is not None):
        open_req = _open_requests(customer).filter(order=order).first()
        if open_req is not None:
            return _join(customer, open_req, channel, text, uploads, now)
        try:
            req = refund_services.refund_request_submit(
                customer=customer, order_number=order.external_id, reason=reading.reason_of(text),
                description=text[:5000], language=customer.language, files=uploads, now=now)
        except ApplicationError as exc:
            log.info("a %s message of customer %s did not become a request: %s", channel, customer.pk, exc)
            return Outcome(S.NEEDS_AGENT, error=str(exc.message))
        return Outcome(S.REQUEST_CREATED, request=req)
    if reading.asks_refund(text) and order is None:
        return Outcome(S.NEEDS_AGENT, answer="which_order", answer_context={"orders": _orders_listed(customer)})
    open_reqs = list(_open_requests(customer)[:2])
    if len(open_reqs) == 1:
        return _join(customer, open_reqs[0], channel, text, uploads, now)
    return Outcome(S.NEEDS_AGENT)


def _chat_request(customer: Customer, now: dt.datetime) -> RefundRequest | None:
    """The request the customer's WeChat chat is about: that of their last WeChat message in the last
    CHAT_DAYS days (a chat has no threads; what follows a message is about the same thing)."""
    last = (Message.objects.filter(customer=customer, channel=Channel.WECHAT, direction=IN,
                                   created_at__gte=now - dt.timedelta(days=CHAT_DAYS))
            .exclude(request=None).select_related("request").order_by("-created_at").first())
    return last.request if last is not None else None


def _join(customer, req, channel, text, uploads, now) -> Outcome:
    try:
        refund_services.refund_request_message(customer=customer, public_id=req.public_id, message=text,
                                               channel=channel, files=uploads, now=now)
    except ApplicationError as exc:
        return Outcome(S.NEEDS_AGENT, request=req, error=str(exc.message))
    return Outcome(S.JOINED, request=req)


def _orders_listed(customer: Customer) -> list[dict]:
    orders = Order.objects.filter(customer=customer).select_related("plan").order_by("-purchased_at")[:10]
    return [{"number": o.external_id, "plan": o.plan.name if o.plan_id else "",
             "date": format_date(o.purchased_at, customer.language)} for o in orders]


def _store_in(**fields) -> Message | None:
    """Insert an inbound message; None when this channel already has its id (a second fetch)."""
    try:
        with transaction.atomic():
            return Message.objects.create(direction=IN, **fields)
    except IntegrityError:
        return None


# --- email in ---------------------------------------------------------------------------------------------


def mail_receive(*, raw: bytes, now: dt.datetime | None = None) -> Message:
    """One inbound email (raw RFC 5322 bytes), stored once per Message-ID with what it caused: automatic
    messages (mail.automated_reason) are kept and never answered; a reply joins its thread's request; a known
    customer's refund request with an order number becomes a request with its attachments as evidence; an
    unknown sender is answered with how to apply and kept for an agent. Returns the stored message (the one
    stored before, when fetched again)."""
    now = now or timezone.now()
    inbound = mail.parse(raw)
    with transaction.atomic():
        existing = Message.objects.filter(channel=Channel.EMAIL, direction=IN, external_id=inbound.message_id).first()
        if existing is not None:
            return existing
        thread = _thread_of_email(inbound)
        customer = (thread.customer if thread is not None and thread.customer_id else None) \
            or _customer_by_email(inbound.sender)
        body = mail.reply_text(inbound.text)
        message = _store_in(
            channel=Channel.EMAIL, status=S.NEEDS_AGENT, external_id=inbound.message_id, sender=inbound.sender[:254],
            recipient=",".join(inbound.recipients)[:254], subject=inbound.subject, body=body,
            original=inbound.text, customer=customer, thread=thread,
            request=thread.request if thread is not None else None, reply_channel=Channel.EMAIL, created_at=now,
            data={"attachments": [a.name for a in inbound.attachments]})
        if message is None:
            return Message.objects.get(channel=Channel.EMAIL, direction=IN, external_id=inbound.message_id)
        if inbound.automated:
            message.status, message.reply_channel, message.data["automated"] = S.AUTOMATED, "", inbound.automated
            message.save(update_fields=["status", "reply_channel", "data"])
            _bounced(raw, inbound, message)
            return message
        language = customer.language if customer else reading.language_of(inbound.text)
        files = files_check([(a.name, a.data) for a in inbound.attachments], language)
        if customer is None:
            thread = thread or Thread.objects.create(address=inbound.sender[:254])
            outcome = Outcome(S.UNKNOWN_SENDER, answer="how_to_apply",
                              answer_context={"channel": Channel.EMAIL})
        else:
            outcome = _customer_text(customer=customer, channel=Channel.EMAIL, text=body, files=files,
                                     thread=thread, now=now)
            if outcome.request is not None:
                if thread is not None and thread.request_id is None:  # e.g. the answer to "which order?"
                    Message.objects.filter(thread=thread, request=None, direction=IN, status=S.NEEDS_AGENT).update(
                        request=outcome.request, status=S.JOINED)
                thread = thread_for_request(outcome.request)
            elif thread is None:
                thread = Thread.objects.create(customer=customer)
        message.status, message.request, message.thread = outcome.status, outcome.request, thread
        message.data.update(refused=files.refused, error=outcome.error)
        message.save(update_fields=["status", "request", "thread", "data"])
        if outcome.answer:
            email_out(thread=thread, to=inbound.sender, kind=outcome.answer, language=language, customer=customer,
                      context={"name": (customer.name or customer.email) if customer else "",
                               "portal_link": f"{settings.SITE_URL}/portal/", **(outcome.answer_context or {})},
                      answering=inbound, auto=True, now=now)
    return message


def _bounced(raw: bytes, inbound: mail.Inbound, report: Message) -> None:
    """A delivery report that names emails we sent (their Message-IDs, in its returned headers): those are
    marked not delivered, so that agents see the customer did not get them."""
    import re

    domain = re.escape(mail.own_address().partition("@")[2].encode())
    ids = {i.decode("ascii", "replace") for i in re.findall(rb"<[^<>\s]+@" + domain + rb">", raw)}
    ids.update(inbound.in_reply_to + inbound.references)
    if ids and any(why in inbound.automated for why in ("report", "system sender", "Return-Path")):
        Message.objects.filter(channel=Channel.EMAIL, direction=OUT, external_id__in=ids).update(
            status=S.FAILED, error=f"bounced: {inbound.subject}"[:1000])


def email_out(*, thread: Thread, to: str, kind: str, language: str, context: dict, now: dt.datetime,
              customer: Customer | None = None, request: RefundRequest | None = None,
              answering: mail.Inbound | None = None, auto: bool = False, author=None, text: str = "") -> Message:
    """Queue email `kind` (notify KINDS) to `to` in `language`, with a new Message-ID (kept, so that a reply's
    In-Reply-To finds the thread), Reply-To the thread's plus-address, In-Reply-To / References when it
    `answering` an email, and Auto-Submitted (RFC 3834: auto-replied for answers, auto-generated for notices;
    an agent's message has none). Returns the outbound Message."""
    message_id = mail.message_id_new()
    headers = {"Message-ID": message_id}
    if answering is not None:
        headers["In-Reply-To"] = answering.message_id
        headers["References"] = " ".join([*answering.references, answering.message_id][-10:])
    if author is None:
        headers["Auto-Submitted"] = "auto-replied" if auto else "auto-generated"
    subject, body = render_email(kind=kind, language=language, context=context)
    send_text_enqueue(to=to, subject=subject, body=body, headers=headers, reply_to=mail.reply_address(thread.token))
    return Message.objects.create(
        thread=thread, customer=customer, request=request, channel=Channel.EMAIL, direction=OUT, status=S.SENT,
        external_id=message_id, sender=mail.own_address()[:254], recipient=to[:254], subject=subject[:255],
        body=text or body, kind=kind, author=author, created_at=now, sent_at=now)


# --- notices about a request (refunds.lifecycle.customer_told) ----------------------------------------


def reachable(customer: Customer, *, now: dt.datetime | None = None) -> dict[str, bool]:
    """The channels `customer` can be reached on now: email (an address on file), wechat (linked, inside
    WeChat's window: wecom.WINDOW_HOURS after their last message, wecom.WINDOW_MESSAGES messages), site."""
    now = now or timezone.now()
    link = WeChatLink.objects.filter(customer=customer).first()
    return {Channel.EMAIL: bool(customer.email), Channel.WECHAT: link is not None and window_open(link, now=now),
            Channel.SITE: True}


def window_open(link: WeChatLink, *, now: dt.datetime) -> bool:
    """Whether WeChat lets us write to `link`'s customer now (48 hours, 5 messages per customer message)."""
    return (link.last_inbound_at is not None and now - link.last_inbound_at < dt.timedelta(hours=wecom.WINDOW_HOURS)
            and link.sent_since_inbound < wecom.WINDOW_MESSAGES and wecom.configured())


def channel_used(req: RefundRequest) -> str:
    """The channel the customer last wrote on about `req` (else about anything): email when none."""
    last = (Message.objects.filter(direction=IN, customer_id=req.customer_id)
            .filter(Q(request=req) | Q(request=None)).exclude(status=S.AUTOMATED).order_by("-created_at").first())
    return last.channel if last is not None else Channel.EMAIL


def notice_route(sender=None, *, request: RefundRequest, kind: str, context: dict, **_kwargs) -> bool:
    """Receiver of refunds.lifecycle.customer_told: the notice goes out on the channel the customer used (WeChat
    while its window is open, else email), in the request's language, and is kept for the site inbox. Runs in
    the caller's transaction. Returns True (delivered here)."""
    req, now = request, timezone.now()
    customer = req.customer
    thread = thread_for_request(req)
    if channel_used(req) == Channel.WECHAT and reachable(customer, now=now)[Channel.WECHAT]:
        subject, body = render_email(kind=kind, language=req.language, context=context)
        wechat_out(customer=customer, request=req, text=f"{subject}\n\n{body}", kind=kind, now=now)
        return True
    email_out(thread=thread, to=customer.email, kind=kind, language=req.language, context=context,
              customer=customer, request=req, now=now)
    return True


# --- agents' messages ---------------------------------------------------------------------------------------


def staff_message_send(*, public_id: str, user, message: str, channel: str, now: dt.datetime | None = None
                       ) -> Message:
    """An agent writes to the customer of request `public_id` on `channel` (email, wechat or site; the console
    offers those the customer can be reached on: `reachable`). The message is on the request's timeline and in
    the customer's site inbox. Raises ValidationError (channel, message), PermissionDenied, NotFound, Conflict
    (channel: WeChat's window is closed or the customer never linked WeChat: use email)."""
    now = now or timezone.now()
    if channel not in Channel.values:
        raise ValidationError(_("Choose how to send the message."), field="channel")
    with transaction.atomic():
        req = refund_services.refund_request_staff_message(public_id=public_id, user=user, message=message,
                                                           channel=channel, now=now)
        customer = req.customer
        if channel == Channel.WECHAT and not reachable(customer, now=now)[Channel.WECHAT]:
            raise Conflict(_("WeChat's window to answer this customer is closed (48 hours after their last "
                             "message, at most 5 messages); send it by email instead."), field="channel")
        if channel == Channel.EMAIL and not customer.email:
            raise Conflict(_("This customer has no email address."), field="channel")
        text = message.strip()
        if channel == Channel.WECHAT:
            return wechat_out(customer=customer, request=req, text=text, kind="agent_message", now=now, author=user)
        if channel == Channel.EMAIL:
            context = {"req": req, "name": customer.name or customer.email, "text": text,
                       "link": f"{settings.SITE_URL}/portal/requests/{req.public_id}/",
                       "agent": user.first_name or user.username}
            return email_out(thread=thread_for_request(req), to=customer.email, kind="agent_message",
                             language=req.language, context=context, customer=customer, request=req, now=now,
                             author=user, text=text)
        return Message.objects.create(
            thread=thread_for_request(req), customer=customer, request=req, channel=Channel.SITE, direction=OUT,
            status=S.SENT, body=text, kind="agent_message", author=user, created_at=now, sent_at=now)


@transaction.atomic
def message_handle(*, message_id: int, user, note: str = "", now: dt.datetime | None = None) -> Message:
    """An agent has dealt with a message kept for them (answered it from the mailbox, linked the sender...):
    it leaves the console's Messages page, with who and when. Raises PermissionDenied (not an agent or
    supervisor), NotFound, Conflict (it was not waiting)."""
    from refunddesk.core.errors import NotFound
    from refunddesk.refunds.states import staff_actor

    staff_actor(user)
    message = Message.objects.select_for_update().filter(pk=message_id, direction=IN).first()
    if message is None:
        raise NotFound(_("There is no such message."))
    if message.status not in (S.NEEDS_AGENT, S.UNKNOWN_SENDER):
        raise Conflict(_("This message was already dealt with."))
    message.status = S.HANDLED
    message.data = {**message.data, "handled_by": user.username, "handled_at": (now or timezone.now()).isoformat(),
                    "handled_note": note.strip()}
    message.save(update_fields=["status", "data"])
    return message


# --- site messages (站内信) -------------------------------------------------------------------------------


def site_reply(*, customer: Customer, public_id: str, message: str, now: dt.datetime | None = None) -> Message:
    """The customer answers from their site inbox on request `public_id`: on the request's timeline (a reply
    when it waits for them) and in the conversation. Raises ValidationError (message), NotFound."""
    now = now or timezone.now()
    with transaction.atomic():
        req = refund_services.refund_request_message(customer=customer, public_id=public_id, message=message,
                                                     channel=Channel.SITE, now=now)
        return Message.objects.create(
            thread=thread_for_request(req), customer=customer, request=req, channel=Channel.SITE, direction=IN,
            status=S.JOINED, body=message.strip(), reply_channel=Channel.SITE, created_at=now)


def inbox_mark_read(*, customer: Customer, now: dt.datetime | None = None) -> int:
    """Everything sent to `customer` is read (they opened their inbox). Returns how many were unread."""
    return (Message.objects.filter(customer=customer, direction=OUT, read_at=None)
            .update(read_at=now or timezone.now()))


# --- WeChat customer service ----------------------------------------------------------------------------


def wechat_link_code_create(*, customer: Customer, now: dt.datetime | None = None) -> WeChatLinkCode:
    """A one-time code (valid LINK_CODE_MINUTES) the signed-in customer sends in the WeChat chat to link it."""
    import secrets

    now = now or timezone.now()
    for _attempt in range(5):
        code = f"{secrets.randbelow(10 ** 6):06d}"
        try:
            with transaction.atomic():
                WeChatLinkCode.objects.filter(expires_at__lt=now).delete()
                return WeChatLinkCode.objects.create(customer=customer, code=code,
                                                     expires_at=now + dt.timedelta(minutes=LINK_CODE_MINUTES))
        except IntegrityError:
            continue
    raise Conflict(_("Please try again."))


@transaction.atomic
def wechat_link(*, customer: Customer, external_userid: str, open_kfid: str = "",
                now: dt.datetime | None = None) -> WeChatLink:
    """Link `customer` to a WeChat identity (an agent who knows both, or a code sent in the chat). A WeChat
    identity belongs to one customer: linking it again moves it. Raises ValidationError (external_userid)."""
    now = now or timezone.now()
    external_userid = (external_userid or "").strip()
    if not external_userid:
        raise ValidationError(_("Give the customer's WeChat id (external_userid)."), field="external_userid")
    WeChatLink.objects.filter(external_userid=external_userid).exclude(customer=customer).delete()
    link, _created = WeChatLink.objects.update_or_create(
        customer=customer, defaults={"external_userid": external_userid,
                                     "open_kfid": open_kfid or settings.REFUNDDESK_WECOM_OPEN_KFID,
                                     "linked_at": now})
    return link


def wechat_out(*, customer: Customer, text: str, kind: str, now: dt.datetime, request: RefundRequest | None = None,
               author=None, link: WeChatLink | None = None) -> Message:
    """Queue a WeChat text to a linked customer (tasks.wechat_send, in the caller's transaction), counting it
    against WeChat's window. Returns the outbound Message."""
    from refunddesk.channels.tasks import wechat_send

    link = link or WeChatLink.objects.select_for_update().get(customer=customer)
    link.sent_since_inbound += 1
    link.save(update_fields=["sent_since_inbound"])
    thread = thread_for_request(request) if request is not None else None
    message = Message.objects.create(
        thread=thread, customer=customer, request=request, channel=Channel.WECHAT, direction=OUT, status=S.QUEUED,
        recipient=link.external_userid, body=text, kind=kind, author=author, created_at=now,
        data={"open_kfid": link.open_kfid})
    wechat_send.enqueue(message_id=message.pk)
    return message


def wechat_send_now(*, message_id: int) -> None:
    """Send a queued WeChat message (kf/send_msg). When WeChat refuses it (the window closed meanwhile, a
    configuration error), it is marked failed and a notice about a request goes by email instead."""
    message = Message.objects.select_related("request", "customer").get(pk=message_id)
    if message.status != S.QUEUED:
        return
    try:
        msgid = wecom.client().kf_send_text(touser=message.recipient, open_kfid=message.data.get("open_kfid", ""),
                                            content=message.body)
    except (wecom.WeChatClientException, ApplicationError) as exc:
        log.warning("WeChat message %s not sent: %s", message.pk, exc)
        with transaction.atomic():
            Message.objects.filter(pk=message.pk).update(status=S.FAILED, error=str(exc)[:1000])
            req = message.request
            if req is not None and message.customer.email:
                subject, _sep, body = message.body.partition("\n\n")
                email_out(thread=thread_for_request(req), to=message.customer.email, kind="agent_message",
                          language=req.language, customer=message.customer, request=req, now=timezone.now(),
                          context={"req": req, "name": message.customer.name or message.customer.email,
                                   "text": message.body, "agent": _agent_name(message),
                                   "link": f"{settings.SITE_URL}/portal/requests/{req.public_id}/"},
                          author=message.author)
        return
    Message.objects.filter(pk=message.pk).update(status=S.SENT, external_id=msgid, sent_at=timezone.now())


def _agent_name(message: Message) -> str:
    if message.author is not None:
        return message.author.first_name or message.author.username
    return "refunddesk"


def wechat_sync(*, token: str = "", open_kfid: str = "") -> int:
    """Pull the customer-service account's new messages (kf/sync_msg, page by page from the kept cursor; the
    callback's `token` lets WeCom answer at once) and act on each (`wechat_receive`). Returns how many were
    new. Raises WeChatClientException when WeCom refuses (the task is retried)."""
    open_kfid = open_kfid or settings.REFUNDDESK_WECOM_OPEN_KFID
    client = wecom.client()
    name = f"wecom:{open_kfid}"
    new = 0
    for _page in range(100):
        cursor = Cursor.objects.filter(name=name).values_list("value", flat=True).first() or ""
        page = client.kf_sync_msg(cursor=cursor, token=token, open_kfid=open_kfid)
        for item in page.get("msg_list", []):
            new += wechat_receive(item=item) is not None
        Cursor.objects.update_or_create(name=name, defaults={"value": page.get("next_cursor", cursor)})
        if not page.get("has_more"):
            break
    return new


def wechat_receive(*, item: dict, now: dt.datetime | None = None) -> Message | None:
    """One sync_msg item. Only customers' messages (origin 3) are read; each is stored once by msgid. An
    unlinked customer who sends a valid link code is linked; another is told how to link and kept for an
    agent. A linked customer's text is read like an email (a refund with an order number becomes a request);
    a photo (media/get) becomes evidence on their open request. Returns the stored message, or None for one
    seen before or not a customer's."""
    now = now or timezone.now()
    if item.get("origin") != 3 or not item.get("msgid"):
        return None
    external_userid = item.get("external_userid", "")
    kind = item.get("msgtype", "")
    text = (item.get("text") or {}).get("content", "") if kind == "text" else ""
    sent_at = dt.datetime.fromtimestamp(int(item.get("send_time") or now.timestamp()), tz=dt.UTC)
    photo: tuple[bytes, str] | None = None
    if kind == "image":  # fetched before the transaction: the network is not held inside it
        if Message.objects.filter(channel=Channel.WECHAT, direction=IN, external_id=item["msgid"]).exists():
            return None
        photo = wecom.client().media_get(item["image"]["media_id"])
    with transaction.atomic():
        link = WeChatLink.objects.select_for_update().select_related("customer").filter(
            external_userid=external_userid).first()
        message = _store_in(channel=Channel.WECHAT, status=S.NEEDS_AGENT, external_id=item["msgid"],
                            sender=external_userid, body=text or ("[photo]" if photo else f"[{kind}]"),
                            original=json.dumps(item, ensure_ascii=False), reply_channel=Channel.WECHAT,
                            customer=link.customer if link else None, created_at=now)
        if message is None:
            return None
        if link is None:
            code = WeChatLinkCode.objects.select_related("customer").filter(
                code=text.strip(), used_at=None, expires_at__gt=now).first() if text.strip().isdigit() else None
            if code is None:
                message.status = S.UNKNOWN_SENDER
                message.save(update_fields=["status"])
                _wechat_answer(external_userid, item.get("open_kfid", ""), "wechat_how_to_link",
                               reading.language_of(text, "zh-hans"), {"link_page": f"{settings.SITE_URL}/portal/wechat/"},
                               now)
                return message
            code.used_at = now
            code.save(update_fields=["used_at"])
            link = wechat_link(customer=code.customer, external_userid=external_userid,
                               open_kfid=item.get("open_kfid", ""), now=now)
            link.last_inbound_at, link.sent_since_inbound = sent_at, 0
            link.save(update_fields=["last_inbound_at", "sent_since_inbound"])
            message.status, message.customer = S.LINKED, code.customer
            message.save(update_fields=["status", "customer"])
            customer = code.customer
            subject, body = render_email(kind="wechat_linked", language=customer.language,
                                         context={"name": customer.name or customer.email})
            wechat_out(customer=customer, text=body.replace("\n\n", "\n").strip(), kind="wechat_linked", now=now,
                       link=link)
            return message
        link.last_inbound_at, link.sent_since_inbound = max(sent_at, link.last_inbound_at or sent_at), 0
        link.save(update_fields=["last_inbound_at", "sent_since_inbound"])
        customer = link.customer
        files = files_check([(photo[1], photo[0])] if photo else [], customer.language)
        if photo and not files.accepted:
            outcome = Outcome(S.NEEDS_AGENT, error="; ".join(files.refused))
        elif photo:
            target = _open_requests(customer).first() or _chat_request(customer, now)
            outcome = (_join(customer, target, Channel.WECHAT, "", files.accepted, now) if target
                       else Outcome(S.NEEDS_AGENT, error="a photo without a request"))
        else:
            chat = _chat_request(customer, now)
            outcome = _customer_text(customer=customer, channel=Channel.WECHAT, text=text, files=files,
                                     thread=thread_for_request(chat) if chat and not reading.asks_refund(text)
                                     else None, now=now)
        message.status, message.request = outcome.status, outcome.request
        message.data = {"refused": files.refused, "error": outcome.error}
        message.save(update_fields=["status", "request", "data"])
        if outcome.answer:
            subject, body = render_email(kind=outcome.answer, language=customer.language,
                                         context={"name": customer.name or customer.email,
                                                  "portal_link": f"{settings.SITE_URL}/portal/",
                                                  **(outcome.answer_context or {})})
            wechat_out(customer=customer, text=body, kind=outcome.answer, now=now, link=link)
    return message


def _wechat_answer(external_userid: str, open_kfid: str, kind: str, language: str, context: dict,
                   now: dt.datetime) -> Message:
    """An automatic answer to an unlinked WeChat customer (inside the window their message just opened)."""
    from refunddesk.channels.tasks import wechat_send

    _subject, body = render_email(kind=kind, language=language, context=context)
    message = Message.objects.create(channel=Channel.WECHAT, direction=OUT, status=S.QUEUED,
                                     recipient=external_userid, body=body, kind=kind, created_at=now,
                                     data={"open_kfid": open_kfid or settings.REFUNDDESK_WECOM_OPEN_KFID})
    wechat_send.enqueue(message_id=message.pk)
    return message


def wechat_pull_enqueue() -> None:
    """The worker's periodic job: queue a pull of WeChat messages when WeChat customer service is configured."""
    if wecom.configured():
        from refunddesk.channels.tasks import wechat_pull

        wechat_pull.enqueue()


def wechat_callback(*, signature: str, timestamp: str, nonce: str, body: bytes) -> dict[str, str]:
    """A WeCom callback: verified (msg_signature over Token, timestamp, nonce and the ciphertext) and decrypted
    by wechatpy's WeChatCrypto; a `kf_msg_or_event` queues the pull of new messages (tasks.wechat_pull) with
    the callback's token. Returns the decrypted fields. Raises InvalidSignatureException."""
    from refunddesk.channels.tasks import wechat_pull

    fields = wecom.callback_fields(wecom.crypto().decrypt_message(body.decode(), signature, timestamp, nonce))
    if fields.get("Event") == "kf_msg_or_event":
        wechat_pull.enqueue(token=fields.get("Token", ""), open_kfid=fields.get("OpenKfId", ""))
    return fields


# --- the mailbox ---------------------------------------------------------------------------------------------


def mail_fetch_enqueue() -> None:
    """The worker's periodic job: queue a fetch of the support mailbox when IMAP is configured."""
    if settings.REFUNDDESK_IMAP_HOST:
        from refunddesk.channels.tasks import mail_fetch

        mail_fetch.enqueue()


def mail_fetch() -> int:
    """Fetch the support mailbox's new messages (channels.imap) and act on each (`mail_receive`). Returns how
    many messages were read."""
    from refunddesk.channels import imap

    return imap.fetch(receive=lambda raw: mail_receive(raw=raw))
