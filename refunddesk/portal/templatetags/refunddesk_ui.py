"""Small template helpers shared by the portal, the console and the base layout.

Dates and money are formatted for the language of the page (Babel/CLDR through
refunddesk.core.dates and Money.format); roles come from refunddesk.core.roles.
"""

from __future__ import annotations

from django import template
from django.utils import translation
from django.utils.translation import gettext_lazy

from refunddesk.core import roles
from refunddesk.core.dates import format_countdown, format_date, format_datetime, time_zone_name
from refunddesk.core.i18n import is_zh
from refunddesk.core.money import Money

register = template.Library()

STATUS_TONE = {
    "approved": "ok", "accepted": "ok", "refunding": "ok", "refunded": "ok", "succeeded": "ok",
    "rejected": "bad", "rejected_final": "bad", "refund_failed": "bad", "failed": "bad",
    "needs_attention": "bad",
    "waiting_for_customer": "warn", "offered": "warn", "appealed": "warn", "declined": "warn",
    "pending": "warn", "submitted": "warn", "in_review": "info", "unanswered": "",
    "approve": "ok", "reject": "bad", "review": "warn", "redirect": "",
}


def _lang() -> str:
    return translation.get_language() or "en"


@register.filter
def has_role(user, role: str) -> bool:
    return roles.has_role(user, role)


@register.filter
def is_staff_member(user) -> bool:
    return any(roles.has_role(user, r) for r in (roles.AGENT, roles.SUPERVISOR, roles.FINANCE, roles.POLICY_OWNER))


@register.filter
def money(value) -> str:
    """A Money, formatted for the page's language ('¥30.00' / 'CN¥30.00')."""
    if value is None or value == "":
        return ""
    if isinstance(value, Money):
        return value.format(_lang())
    return str(value)


@register.simple_tag
def money_minor(minor, currency) -> str:
    if minor is None or not currency:
        return ""
    return Money(int(minor), currency).format(_lang())


@register.filter
def ldate(value) -> str:
    return format_date(value, _lang()) if value else ""


@register.filter
def ldatetime(value) -> str:
    """A moment for the page: long date and time without seconds, in the merchant's time zone."""
    return format_datetime(value, _lang()) if value else ""


@register.filter
def countdown(value) -> str:
    """How far a deadline is, naturally in the page's language: "in 2 days" / "2天后"."""
    return format_countdown(value, _lang()) if value else ""


@register.simple_tag
def time_zone() -> str:
    """The time zone every date and time on the pages is in: "China Standard Time" / "中国标准时间"."""
    return time_zone_name(_lang())


@register.filter
def tone(status: str) -> str:
    """The badge colour for a status or an outcome."""
    return STATUS_TONE.get(str(status), "")


@register.filter
def customer_status(status: str) -> str:
    """A request's status as the customer reads it ("Waiting for your reply"; refunds.states.status_label)."""
    from refunddesk.refunds.states import status_label

    return status_label(str(status), customer=True)


@register.filter
def explanation(req) -> str:
    """The policy's explanation of a request's decision, in the page's language."""
    return req.explanation(_lang()) if req is not None else ""


@register.filter
def in_language(texts, fallback: str = "") -> str:
    """{'en': ..., 'zh': ...} (or 'zh-Hans') -> the text for the page's language."""
    if not isinstance(texts, dict):
        return fallback
    zh = is_zh(_lang())
    if zh:
        return texts.get("zh") or texts.get("zh-Hans") or texts.get("en", fallback)
    return texts.get("en") or fallback


@register.filter
def policy_title(version) -> str:
    """A published policy version's title in the page's language."""
    return version.title(_lang()) if version is not None else ""


@register.filter
def get_item(mapping, key):
    if isinstance(mapping, dict):
        return mapping.get(key)
    return None


@register.filter
def startswith(value, prefix) -> bool:
    return str(value or "").startswith(str(prefix))


@register.filter
def next_step(req, who: str = "staff") -> dict:
    """The next date that matters on a request: {'label', 'at', 'overdue'} (at may be None).

    `who` is "customer" on the customer's own pages ("your answer") and "staff" elsewhere."""
    from django.utils import timezone
    from django.utils.translation import gettext as _

    from refunddesk.refunds.states import REFUND_CLOCK, REVIEW_CLOCK, Status

    now = timezone.now()
    status = req.status
    if status == Status.WAITING_FOR_CUSTOMER:
        label = _("Waiting for your answer") if who == "customer" else _("Waiting for the customer's answer")
        return {"label": label, "at": req.answer_due_at, "overdue": False}
    if status == Status.OFFERED:
        label = _("Accept or decline the offer") if who == "customer" else _("Waiting for the customer to accept or decline")
        return {"label": label, "at": req.answer_due_at, "overdue": False}
    if status in REVIEW_CLOCK or status in REFUND_CLOCK:
        if status in REFUND_CLOCK:
            label, at = _("Refund due"), req.refund_due_at
        else:
            label = _("Appeal decision due") if status == Status.APPEALED else _("Decision due")
            at = req.review_due_at
        if at is None and who != "customer":  # only when no holiday schedule was known for the year
            label = _("No deadline yet: the holiday schedule it needs is missing")
        return {"label": label, "at": at, "overdue": bool(at and at < now)}
    if status == Status.REFUNDED:
        # never a query per row: only when the list selected the refund with the request
        refund = req._state.fields_cache.get("refund") if type(req).refund.is_cached(req) else None
        if refund is not None and refund.arrival_by:
            return {"label": _("Should arrive by"), "at": refund.arrival_by, "overdue": False}
    return {"label": "", "at": None, "overdue": False}


OUTCOME_WORDS = {
    "approve": gettext_lazy("approve"),
    "reject": gettext_lazy("reject"),
    "review": gettext_lazy("review"),
    "redirect": gettext_lazy("redirect"),
}


@register.filter
def outcome(value: str) -> str:
    """A policy outcome (approve, reject, review, redirect) in the page's language."""
    return str(OUTCOME_WORDS.get(str(value), value))


@register.filter
def territory(code: str) -> str:
    """A country's name in the page's language, from CLDR (Babel): CN -> China / 中国."""
    from babel import Locale

    from refunddesk.core.money import babel_locale

    return Locale.parse(babel_locale(_lang())).territories.get(str(code).upper(), str(code))


@register.filter
def inbox_unread(user) -> int:
    """How many messages sent to the signed-in customer they have not opened in their inbox (站内信)."""
    from refunddesk.channels.selectors import unread_count
    from refunddesk.portal.selectors import customer_of

    return unread_count(customer_of(user)) if getattr(user, "is_authenticated", False) else 0


@register.filter
def messages_kept(user) -> int:
    """How many messages on no request wait for an agent (shown to agents and supervisors)."""
    from refunddesk.channels.selectors import kept_count

    return kept_count() if has_role(user, roles.AGENT) or has_role(user, roles.SUPERVISOR) else 0
