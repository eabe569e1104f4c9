"""The staff console: the queue, the case page and its actions, appeals, finance, the policy editor.

Thin views: parse the form, call one service or selector, render. A refusal from a service is
shown beside the field it names (exc.field), with the input kept.
"""

from __future__ import annotations

import holidays
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from refunddesk.channels import selectors as channel_selectors
from refunddesk.channels import services as channel_services
from refunddesk.console import selectors
from refunddesk.console import services as console_services
from refunddesk.console.forms import (
    AppealDecisionForm,
    ApproveForm,
    AskInfoForm,
    AssignForm,
    CustomerMessageForm,
    DisagreementForm,
    HolidayScheduleForm,
    MarkPaidForm,
    MediationForm,
    OfferForm,
    PolicyDraftForm,
    PublishForm,
    QueueFilterForm,
    RejectForm,
    RetryForm,
    StaffNoteForm,
)
from refunddesk.core import roles
from refunddesk.core import services as core_services
from refunddesk.core.errors import ApplicationError, NotFound
from refunddesk.payments import services as payment_services
from refunddesk.payments.models import Refund
from refunddesk.payments.selectors import refund_held_reason
from refunddesk.policies.services import policy_publish
from refunddesk.portal.web import or_404, page_language, raise_for_page, role_required, serve_evidence
from refunddesk.refunds import deadlines
from refunddesk.refunds.actions import STAFF_ACTIONS, staff_action_run
from refunddesk.refunds.selectors import QueueFilters

REVIEWERS = (roles.AGENT, roles.SUPERVISOR)


def home(request: HttpRequest) -> HttpResponse:
    """Each role lands on its own work."""
    user = request.user
    if not user.is_authenticated:
        return redirect(f"{reverse('accounts:login')}?next=/console/")
    if roles.has_role(user, roles.AGENT) or roles.has_role(user, roles.SUPERVISOR):
        return redirect("console:queue")
    if roles.has_role(user, roles.FINANCE):
        return redirect("console:finance")
    if roles.has_role(user, roles.POLICY_OWNER):
        return redirect("console:policy")
    raise DjangoPermissionDenied("not staff")


# --- the queue --------------------------------------------------------------------------------


def _queue(request: HttpRequest, *, appeals: bool) -> HttpResponse:
    form = QueueFilterForm(request.GET or None, staff=list(selectors.staff_members()),
                           gateways=selectors.gateways(), appeals=appeals)
    data = form.cleaned_data if form.is_valid() else {}
    overdue = {"yes": True, "no": False}.get(data.get("overdue") or "")
    filters = QueueFilters(status=data.get("status") or None, reason=data.get("reason") or None, overdue=overdue,
                           assignee=data.get("assignee") or None, gateway=data.get("gateway") or None,
                           appeals=appeals)
    page = selectors.queue_page(filters=filters, user=request.user, page=request.GET.get("page", 1))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "console/queue.html", {
        "form": form, "page": page, "appeals": appeals, "query": query.urlencode(),
        "section": "appeals" if appeals else "queue",
        "missing_year": deadlines.missing_year(timezone.localdate()),
    })


@role_required(*REVIEWERS)
def queue(request: HttpRequest) -> HttpResponse:
    return _queue(request, appeals=False)


@role_required(roles.SUPERVISOR)
def appeals(request: HttpRequest) -> HttpResponse:
    return _queue(request, appeals=True)


# --- the case page ----------------------------------------------------------------------------


def _money_arg(value: str):
    return (value or "").strip() or None


# The console's form for each staff action of the one table (refunds.actions.STAFF_ACTIONS); both appeal
# actions share one form (its two buttons post to appeal_approve and appeal_reject).
CASE_FORMS = {
    "assign": AssignForm,
    "ask_info": AskInfoForm,
    "offer": OfferForm,
    "approve": ApproveForm,
    "reject": RejectForm,
    "appeal_approve": AppealDecisionForm,
    "appeal_reject": AppealDecisionForm,
    "note": StaffNoteForm,
    "mediation": MediationForm,
}
WITH_CLAUSES = ("offer", "approve", "reject", "appeal_approve", "appeal_reject")


def _form_key(action: str) -> str:
    """The form (and its prefix) an action's fields come from: both appeal decisions share the appeal form."""
    return "appeal" if action.startswith("appeal_") else action


def _params(cleaned: dict) -> dict:
    """A form's cleaned data as the action table's params (the note forms call the text `note`)."""
    params = dict(cleaned)
    params.setdefault("message", params.get("note", ""))
    return params


def _done(action: str) -> str:
    return {
        "assign": _("Assigned."), "ask_info": _("The customer was asked; the deadline is paused."),
        "offer": _("The offer was sent to the customer."), "approve": _("Approved; the refund is on its way."),
        "reject": _("Rejected; the customer was told why."), "appeal_approve": _("The appeal was decided."),
        "appeal_reject": _("The appeal was decided."),
        "note": _("Note added."), "mediation": _("Mediation recorded."),
    }[action]


def _case_forms(view, staff, bound: dict):
    clauses = view.clauses
    initial_clause = view.req.policy_clause

    def make(action):
        key = _form_key(action)
        if key in bound:
            return bound[key]
        kwargs = {"prefix": key}
        if action == "assign":
            kwargs["staff"] = staff
        if action in WITH_CLAUSES:
            kwargs.update(clauses=clauses, initial_clause=initial_clause)
        return CASE_FORMS[action](**kwargs)

    return {_form_key(action): make(action) for action in CASE_FORMS}


def _case_page(request, public_id, *, bound=None, status=200):
    view = or_404(selectors.case_view, public_id=public_id, user=request.user, language=page_language())
    staff = selectors.staff_members()
    forms = _case_forms(view, staff, bound or {})
    forms["message"] = (bound or {}).get("message") or CustomerMessageForm(
        prefix="message", channels=channel_selectors.reply_channels(view.req.customer))
    return render(request, "console/case.html", {
        "conversation": channel_selectors.conversation(view.req),
        "wechat_state": channel_selectors.wechat_state(view.req.customer),
        "view": view, "req": view.req, "forms": forms, "failed": next(iter(bound or {}), ""),
        "is_supervisor": roles.has_role(request.user, roles.SUPERVISOR),
        "default_amount": selectors.default_amount(view.req),
        "section": "appeals" if view.req.status == "appealed" else "queue",
    }, status=status)


@role_required(*REVIEWERS)
def case(request: HttpRequest, public_id: str) -> HttpResponse:
    return _case_page(request, public_id)


@role_required(*REVIEWERS)
def case_action(request: HttpRequest, public_id: str, action: str) -> HttpResponse:
    if action not in CASE_FORMS:
        raise Http404("no such action")
    if request.method != "POST":  # e.g. the language switcher on a page shown after a form error
        return redirect("console:case", public_id=public_id)
    if STAFF_ACTIONS[action].supervisor_only and not roles.has_role(request.user, roles.SUPERVISOR):
        raise DjangoPermissionDenied("missing role")
    kwargs = {"prefix": _form_key(action)}
    if action == "assign":
        kwargs["staff"] = selectors.staff_members()
    if action in WITH_CLAUSES:
        kwargs["clauses"] = or_404(selectors.clause_choices, public_id=public_id)
    form = CASE_FORMS[action](request.POST, **kwargs)
    if form.is_valid():
        try:
            result = staff_action_run(name=action, user=request.user, public_id=public_id,
                                      params=_params(form.cleaned_data))
        except ApplicationError as exc:
            if isinstance(exc, NotFound) and exc.field is None:
                raise_for_page(exc)
            form.add_service_error(exc)
        else:
            held = refund_held_reason(request=result) if action in ("approve", "appeal_approve") else None
            if held:  # issue 14.6: the agent sees at approval that the money cannot move
                messages.warning(request, _("Approved, but the refund cannot be sent: %(why)s. It waits for "
                                            "finance; the customer was not told it is on its way.") % {"why": held})
            else:
                messages.success(request, _done(action))
            return redirect("console:case", public_id=public_id)
    return _case_page(request, public_id, bound={_form_key(action): form})


@role_required(*REVIEWERS)
@require_http_methods(["POST"])
def case_message(request: HttpRequest, public_id: str) -> HttpResponse:
    """The reply box: a message to the customer on the channel chosen (channels.services.staff_message_send)."""
    req = or_404(selectors.case_view, public_id=public_id, user=request.user, language=page_language()).req
    form = CustomerMessageForm(request.POST, prefix="message",
                               channels=channel_selectors.reply_channels(req.customer))
    if form.is_valid():
        try:
            channel_services.staff_message_send(public_id=public_id, user=request.user,
                                                message=form.cleaned_data["message"],
                                                channel=form.cleaned_data["channel"])
        except ApplicationError as exc:
            if isinstance(exc, NotFound) and exc.field is None:
                raise_for_page(exc)
            form.add_service_error(exc)
        else:
            messages.success(request, _("Message sent."))
            return redirect("console:case", public_id=public_id)
    return _case_page(request, public_id, bound={"message": form})


@role_required(*REVIEWERS)
@require_http_methods(["GET", "POST"])
def kept_messages(request: HttpRequest) -> HttpResponse:
    """Messages on no request that wait for an agent (unknown senders, questions); POST marks one handled."""
    if request.method == "POST":
        try:
            channel_services.message_handle(message_id=int(request.POST.get("message") or 0), user=request.user)
        except (ApplicationError, ValueError) as exc:
            messages.error(request, str(getattr(exc, "message", exc)))
        else:
            messages.success(request, _("Marked as handled."))
        return redirect("console:messages")
    return render(request, "console/messages.html", {"rows": channel_selectors.kept_for_agents()[:500],
                                                     "section": "messages"})


@role_required(*REVIEWERS)
def evidence_file(request: HttpRequest, public_id: str, pk: int):
    return serve_evidence(or_404(selectors.staff_evidence, public_id=public_id, pk=pk))


# --- finance ----------------------------------------------------------------------------------


def _finance_page(request, *, bound=None, status=200):
    rows = list(selectors.refunds_needing_attention())
    bound = bound or {}
    for refund in rows:
        refund.paid_form = bound.get(("paid", refund.pk)) or MarkPaidForm(prefix=f"paid-{refund.pk}")
        refund.retry_form = bound.get(("retry", refund.pk)) or RetryForm(prefix=f"retry-{refund.pk}")
        refund.checked_form = bound.get(("checked", refund.pk)) or DisagreementForm(prefix=f"checked-{refund.pk}")
    return render(request, "console/finance.html", {"rows": rows, "section": "finance",
                                                    "stale_hours": int(selectors.STALE_AFTER.total_seconds() // 3600)},
                  status=status)


@role_required(roles.FINANCE)
def finance(request: HttpRequest) -> HttpResponse:
    return _finance_page(request)


@role_required(roles.FINANCE)
def finance_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if request.method != "POST":
        return redirect("console:finance")
    if action == "paid":
        form = MarkPaidForm(request.POST, prefix=f"paid-{pk}")
    elif action == "retry":
        form = RetryForm(request.POST, prefix=f"retry-{pk}")
    elif action == "checked":
        form = DisagreementForm(request.POST, prefix=f"checked-{pk}")
    else:
        raise Http404("no such action")
    if form.is_valid():
        try:
            if action == "paid":
                payment_services.refund_mark_paid(refund_id=pk, user=request.user,
                                                  reference=form.cleaned_data["reference"])
            elif action == "checked":
                payment_services.refund_disagreement_clear(refund_id=pk, user=request.user,
                                                           note=form.cleaned_data["note"])
            else:
                payment_services.refund_retry(refund_id=pk, user=request.user)
        except ApplicationError as exc:
            form.add_service_error(exc)
        except Refund.DoesNotExist as exc:
            raise Http404("no such refund") from exc
        else:
            messages.success(request, {"paid": _("Recorded as paid."), "checked": _("Recorded as checked.")}.get(
                action, _("Sent again.")))
            return redirect("console:finance")
    return _finance_page(request, bound={(action, pk): form})


# --- the policy editor ------------------------------------------------------------------------


@role_required(roles.POLICY_OWNER)
@require_http_methods(["GET", "POST"])
def policy_editor(request: HttpRequest) -> HttpResponse:
    draft = selectors.draft_current()
    result = {}
    publish_form = PublishForm(prefix="publish")
    if request.method == "POST":
        form = PolicyDraftForm(request.POST)
        action = request.POST.get("action", "check")
        if action == "publish":
            publish_form = PublishForm(request.POST, prefix="publish")
        if form.is_valid() and (action != "publish" or publish_form.is_valid()):
            document, cases = form.cleaned_data["document"], form.cleaned_data["cases"]
            try:
                if action == "save":
                    console_services.policy_draft_save(user=request.user, document=document, cases=cases)
                    messages.success(request, _("Draft saved."))
                    return redirect("console:policy")
                if action == "publish":
                    version = policy_publish(
                        document=document, cases=cases, effective_at=publish_form.cleaned_data["effective_at"],
                        major_change=publish_form.cleaned_data["major_change"],
                        change_note=publish_form.cleaned_data["change_note"], user=request.user)
                    messages.success(request, _("Published %(version)s.") % {"version": version})
                    return redirect("console:policy")
                if action == "test":
                    result["test"] = selectors.draft_test(document=document, cases=cases)
                elif action == "diff":
                    result["diff"] = selectors.draft_diff(document=document)
                else:
                    result["check"] = selectors.draft_check(document=document)
            except ApplicationError as exc:
                if exc.field in publish_form.fields:
                    publish_form.add_service_error(exc)
                else:
                    name = exc.field if exc.field in form.fields else (
                        "cases" if exc.code == "policy_cases_invalid" else "document")
                    form.add_error(name, str(exc.message))
                result["problem"] = str(exc.message)
                result["failures"] = exc.extra.get("failures") or []
        result["action"] = action
    else:
        form = PolicyDraftForm(initial={"document": draft.document, "cases": draft.cases})
    return render(request, "console/policy.html", {
        "form": form, "publish_form": publish_form, "draft": draft, "result": result, "section": "policy_editor",
    })


# --- the holiday calendar ---------------------------------------------------------------------


@role_required(roles.SUPERVISOR)
@require_http_methods(["GET", "POST"])
def calendar_page(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    problem = ""
    if request.method == "POST" and request.POST.get("action") == "remove":
        year = request.POST.get("year", "")
        try:
            core_services.holiday_schedule_remove(country=settings.REFUNDDESK_HOLIDAY_COUNTRY,
                                                  year=int(year) if year.isdigit() else 0)
            messages.success(request, _("The schedule for %(year)s was removed.") % {"year": year})
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        return redirect("console:calendar")
    calendar = deadlines.calendar()  # a change below redirects: this is the one the page shows
    if request.method == "POST":
        form = HolidayScheduleForm(request.POST)
        if form.is_valid():
            try:
                row = core_services.holiday_schedule_record(
                    document=form.cleaned_data["document"], country=settings.REFUNDDESK_HOLIDAY_COUNTRY,
                    user=request.user)
                messages.success(request, _("The schedule for %(year)s is recorded and used from now on. Deadlines "
                                            "that could not be computed are filled in within a minute.")
                                 % {"year": row.year})
                return redirect("console:calendar")
            except ApplicationError as exc:
                form.add_error("document", _("Not recorded: the schedule is not valid. What to change is listed "
                                             "beside it."))
                problem = str(exc.message)
    else:
        year = request.GET.get("year", "")
        form = HolidayScheduleForm(initial={"document": selectors.schedule_draft(
            calendar=calendar, year=int(year) if year.isdigit() else None, today=today)})
    return render(request, "console/calendar.html", {
        "form": form, "years": selectors.calendar_years(calendar=calendar, today=today), "section": "calendar",
        "holidays_version": holidays.__version__, "calendar": calendar, "problem": problem,
    })
