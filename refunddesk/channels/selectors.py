"""Reads of the channels: one conversation per request (every message in and out, whatever the channel), the
channels a customer can be reached on, and a customer's site inbox (站内信)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from refunddesk.billing.models import Customer
from refunddesk.channels import services
from refunddesk.channels.models import Channel, Message, WeChatLink
from refunddesk.refunds.models import RefundRequest


@dataclass(frozen=True)
class Entry:
    message: Message
    channel: str  # the channel's label
    where: str  # where it came from / went to, and where the answer goes, in words


def _where(m: Message) -> str:
    if m.direction == Message.Direction.IN:
        came = {Channel.EMAIL: _("by email from %(who)s") % {"who": m.sender},
                Channel.WECHAT: _("in WeChat"), Channel.SITE: _("in the portal")}[m.channel]
        if m.reply_channel:
            return _("%(came)s; the answer goes by %(channel)s") % {
                "came": came, "channel": Channel(m.reply_channel).label}
        return _("%(came)s; not answered (automatic message)") % {"came": came}
    return {Channel.EMAIL: _("by email to %(who)s") % {"who": m.recipient},
            Channel.WECHAT: _("in WeChat"), Channel.SITE: _("in the portal inbox")}[m.channel]


def conversation(req: RefundRequest) -> list[Entry]:
    """Every message in and out about `req`, oldest first, each with its channel and where the answer goes."""
    messages = Message.objects.filter(request=req).select_related("author").order_by("created_at", "id")
    return [Entry(message=m, channel=Channel(m.channel).label, where=_where(m)) for m in messages]


def reply_channels(customer: Customer) -> list[tuple[str, str]]:
    """(value, label) of the channels an agent can write to `customer` on now: email when they have an
    address, WeChat while its window is open, the portal inbox always."""
    reach = services.reachable(customer)
    return [(c.value, c.label) for c in Channel if reach[c.value]]


def wechat_state(customer: Customer) -> str:
    """What the console says about WeChat for `customer`: "" (not linked), "open" or "closed"."""
    link = WeChatLink.objects.filter(customer=customer).first()
    if link is None:
        return ""
    return "open" if services.window_open(link, now=timezone.now()) else "closed"


def inbox(customer: Customer) -> QuerySet[Message]:
    """Everything sent to `customer` on any channel and what they wrote on requests, newest first."""
    return (Message.objects.filter(customer=customer)
            .filter(Q(direction=Message.Direction.OUT) | ~Q(request=None))
            .exclude(status=Message.Status.AUTOMATED).select_related("request").order_by("-created_at", "-id"))


def unread_count(customer: Customer | None) -> int:
    """How many messages sent to `customer` they have not opened in their inbox."""
    if customer is None:
        return 0
    return Message.objects.filter(customer=customer, direction=Message.Direction.OUT, read_at=None).count()


#: Inbound messages on no request that a person must read (the console's Messages page).
KEPT = (Message.Status.NEEDS_AGENT, Message.Status.UNKNOWN_SENDER)


def kept_for_agents() -> QuerySet[Message]:
    """Messages from customers or strangers that are on no request and wait for an agent, oldest first."""
    return (Message.objects.filter(direction=Message.Direction.IN, request=None, status__in=KEPT)
            .select_related("customer").order_by("created_at", "id"))


def kept_count() -> int:
    """How many messages wait for an agent (the console's menu)."""
    return kept_for_agents().count()
