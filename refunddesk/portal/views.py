"""The customer portal: orders with what the policy would say, applying, and each request's timeline.

Thin views: parse the form, call one service or selector, render. A refusal from a service is
shown beside the field it names, with the customer's input kept.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from refunddesk.channels import selectors as channel_selectors
from refunddesk.channels import services as channel_services
from refunddesk.core.errors import ApplicationError, NotFound
from refunddesk.payments.selectors import refund_held_reason
from refunddesk.portal import selectors
from refunddesk.portal.forms import AppealForm, ApplyForm, InboxReplyForm, NoteForm, ReplyForm, uploads
from refunddesk.portal.web import or_404, page_language, raise_for_page, serve_evidence
from refunddesk.refunds import services
from refunddesk.refunds.models import Reason


def customer_required(view):
    """Signed in, with a customer account; staff without one get a page that says so."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        customer = selectors.customer_of(request.user)
        if customer is None:
            return render(request, "portal/no_customer.html", status=403)
        return view(request, customer, *args, **kwargs)

    return wrapper


@customer_required
def orders(request: HttpRequest, customer) -> HttpResponse:
    rows = selectors.customer_orders(customer=customer)
    return render(request, "portal/orders.html", {"customer": customer, "rows": rows, "section": "orders",
                                                  "appeal_days": settings.REFUNDDESK_APPEAL_BUSINESS_DAYS})


@customer_required
@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest, customer, order_number: str) -> HttpResponse:
    order = or_404(selectors.customer_order, customer=customer, order_number=order_number)
    if request.method == "POST":
        form = ApplyForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                req = services.refund_request_submit(
                    customer=customer, order_number=order.external_id, reason=form.cleaned_data["reason"],
                    description=form.cleaned_data["description"], language=page_language(),
                    files=uploads(form.cleaned_data["evidence"]),
                )
            except ApplicationError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("We received your request %(id)s.") % {"id": req.public_id})
                return redirect("portal:request", public_id=req.public_id)
    else:
        reason = request.GET.get("reason", "")
        form = ApplyForm(initial={"reason": reason if reason in Reason.values else ""})
    open_req, earlier = selectors.open_request_for(order=order)
    preview = selectors.policy_preview(order=order) if open_req is None else None
    chosen = (form.data.get("reason") if form.is_bound else form.initial.get("reason")) or ""
    return render(request, "portal/apply.html", {
        "order": order, "form": form, "preview": preview, "open_request": open_req, "earlier": earlier,
        "chosen": preview.for_reason(chosen) if preview and chosen else None, "chosen_reason": chosen,
        "section": "orders", "appeal_days": settings.REFUNDDESK_APPEAL_BUSINESS_DAYS,
    })


@customer_required
def request_list(request: HttpRequest, customer) -> HttpResponse:
    rows = selectors.customer_requests(customer=customer)
    return render(request, "portal/requests.html", {"rows": rows, "section": "requests"})


def _request_page(request, customer, public_id, *, forms=None, status=200):
    page = or_404(selectors.customer_request_page, customer=customer, public_id=public_id)
    forms = forms or {}
    context = {
        "page": page, "req": page.req, "refund": page.refund, "section": "requests",
        "held": refund_held_reason(request=page.req) is not None,  # issue 14.6: money that cannot move
        "reply_form": forms.get("reply") or ReplyForm(),
        "appeal_form": forms.get("appeal") or AppealForm(),
        "decline_form": forms.get("decline_offer") or NoteForm(prefix="decline"),
        "withdraw_form": forms.get("withdraw") or NoteForm(prefix="withdraw"),
        "accept_form": forms.get("accept_offer") or NoteForm(prefix="accept"),
        "failed": next(iter(forms), ""),
        "failed_form": next(iter(forms.values()), None),
    }
    return render(request, "portal/request.html", context, status=status)


@customer_required
def request_detail(request: HttpRequest, customer, public_id: str) -> HttpResponse:
    return _request_page(request, customer, public_id)


def _reply(customer, pid, data):
    return services.refund_request_reply(customer=customer, public_id=pid, message=data["message"],
                                         files=uploads(data["evidence"]))


def _appeal(customer, pid, data):
    return services.refund_request_appeal(customer=customer, public_id=pid, reason=data["reason"],
                                          files=uploads(data["evidence"]))


def _accept(customer, pid, data):
    return services.refund_request_accept_offer(customer=customer, public_id=pid)


def _decline(customer, pid, data):
    return services.refund_request_decline_offer(customer=customer, public_id=pid, note=data["note"])


def _withdraw(customer, pid, data):
    return services.refund_request_withdraw(customer=customer, public_id=pid, note=data["note"])


# action -> (form class, form prefix, the one service it calls)
ACTIONS = {
    "reply": (ReplyForm, None, _reply),
    "appeal": (AppealForm, None, _appeal),
    "accept_offer": (NoteForm, "accept", _accept),
    "decline_offer": (NoteForm, "decline", _decline),
    "withdraw": (NoteForm, "withdraw", _withdraw),
}


def _done_message(action: str) -> str:
    return {
        "reply": _("Thank you: your answer was sent and the review continues."),
        "appeal": _("Your appeal was received; a supervisor will decide it."),
        "accept_offer": _("You accepted the offer; the refund is on its way."),
        "decline_offer": _("You declined the offer; an agent will look at your request again."),
        "withdraw": _("Your request was withdrawn."),
    }[action]


@customer_required
def request_action(request: HttpRequest, customer, public_id: str, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("no such action")
    if request.method != "POST":  # e.g. the language switcher on a page shown after a form error
        return redirect("portal:request", public_id=public_id)
    form_class, prefix, call = ACTIONS[action]
    form = form_class(request.POST, request.FILES, prefix=prefix)
    if form.is_valid():
        try:
            result = call(customer, public_id, form.cleaned_data)
        except NotFound as exc:
            raise_for_page(exc)
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            if action == "accept_offer" and refund_held_reason(request=result):  # issue 14.6
                messages.success(request, _("You accepted the offer. Our finance team is arranging the refund "
                                            "and will email you when it has been sent."))
            else:
                messages.success(request, _done_message(action))
            return redirect(reverse("portal:request", kwargs={"public_id": public_id}) + "#status")
    return _request_page(request, customer, public_id, forms={action: form})


@customer_required
def evidence_file(request: HttpRequest, customer, public_id: str, pk: int):
    evidence = or_404(selectors.customer_evidence, customer=customer, public_id=public_id, pk=pk)
    return serve_evidence(evidence)


@customer_required
@require_http_methods(["GET", "POST"])
def inbox(request: HttpRequest, customer) -> HttpResponse:
    """Site messages (站内信): everything sent to the customer on any channel, and their answers from here."""
    choices = [(r.public_id, f"{r.public_id} · {r.order.external_id}")
               for r in selectors.customer_requests(customer=customer)]
    form = InboxReplyForm(request.POST or None, requests=choices)
    if request.method == "POST" and form.is_valid():
        try:
            channel_services.site_reply(customer=customer, public_id=form.cleaned_data["request"],
                                        message=form.cleaned_data["message"])
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("Your message was sent."))
            return redirect("portal:inbox")
    rows = list(channel_selectors.inbox(customer)[:200])
    unread = {m.pk for m in rows if m.direction == "out" and m.read_at is None}
    if request.method == "GET":
        channel_services.inbox_mark_read(customer=customer)
    return render(request, "portal/inbox.html", {"rows": rows, "unread": unread, "form": form, "section": "inbox",
                                                 "has_requests": bool(choices)})


@customer_required
@require_http_methods(["GET", "POST"])
def wechat_link(request: HttpRequest, customer) -> HttpResponse:
    """Link WeChat: a one-time code to send in the merchant's WeChat customer-service chat."""
    code = channel_services.wechat_link_code_create(customer=customer) if request.method == "POST" else None
    return render(request, "portal/wechat.html", {"code": code, "linked": channel_selectors.wechat_state(customer),
                                                  "section": "inbox"})
