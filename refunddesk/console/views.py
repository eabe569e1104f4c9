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
    LedgerForm,
    MarkPaidForm,
    MediationForm,
    OfferForm,
    PolicyDraftForm,
    PublishForm,
    QueueFilterForm,
    RejectForm,
    ReplayForm,
    ReportFilterForm,
    RetryForm,
    StaffNoteForm,
    days_off_formset,
    working_days_formset,
)
from refunddesk.core import roles
from refunddesk.core import services as core_services
from refunddesk.core.calendar import schedule_text
from refunddesk.core.dates import format_datetime
from refunddesk.core.errors import ApplicationError, NotFound
from refunddesk.payments import services as payment_services
from refunddesk.payments.models import Refund
from refunddesk.payments.selectors import refund_held_reason
from refunddesk.policies.services import policy_publish
from refunddesk.portal.web import or_404, page_language, raise_for_page, role_required, serve_evidence
from refunddesk.refunds import deadlines
from refunddesk.refunds import replay as replays
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
        # only to those who can act on it: supervisors record a missing year (agents see "No deadline yet")
        "missing_year": deadlines.missing_year(timezone.localdate())
        if roles.has_role(request.user, roles.SUPERVISOR) else None,
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


def _finance_page(request, *, bound=None, status=200, ledger_form=None):
    rows = list(selectors.refunds_needing_attention())
    bound = bound or {}
    for refund in rows:
        refund.paid_form = bound.get(("paid", refund.pk)) or MarkPaidForm(prefix=f"paid-{refund.pk}")
        refund.retry_form = bound.get(("retry", refund.pk)) or RetryForm(prefix=f"retry-{refund.pk}")
        refund.checked_form = bound.get(("checked", refund.pk)) or DisagreementForm(prefix=f"checked-{refund.pk}")
    if ledger_form is None:
        today = timezone.localdate()
        ledger_form = LedgerForm(initial={"start": today.replace(day=1), "end": today, "format": "csv"})
    return render(request, "console/finance.html", {"rows": rows, "section": "finance", "ledger_form": ledger_form,
                                                    "stale_hours": int(selectors.STALE_AFTER.total_seconds() // 3600)},
                  status=status)


@role_required(roles.FINANCE)
def finance(request: HttpRequest) -> HttpResponse:
    return _finance_page(request)


@role_required(roles.FINANCE)
def finance_ledger(request: HttpRequest) -> HttpResponse:
    """The refunds ledger of a period as a CSV or XLSX file (reports.ledger); form errors on the finance page."""
    from refunddesk.reports import ledger

    form = LedgerForm(request.GET)
    if not form.is_valid():
        return _finance_page(request, ledger_form=form, status=400)
    first, last, kind = form.cleaned_data["start"], form.cleaned_data["end"], form.cleaned_data["format"]
    try:
        start, end = ledger.period_of_days(first, last)
        if kind == "xlsx":
            response = HttpResponse(ledger.ledger_xlsx(start, end), content_type=(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
        else:
            response = HttpResponse(ledger.ledger_csv(start, end), content_type="text/csv; charset=utf-8")
    except ApplicationError as exc:
        form.add_service_error(exc)
        return _finance_page(request, ledger_form=form, status=400)
    response["Content-Disposition"] = f'attachment; filename="refunds-ledger-{first}-{last}.{kind}"'
    return response


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


def _since(day):
    """A day from a form as the start of that day in the merchant's time zone (None stays None)."""
    import datetime as dt

    return timezone.make_aware(dt.datetime.combine(day, dt.time.min)) if day else None


@role_required(roles.POLICY_OWNER)
@require_http_methods(["GET", "POST"])
def policy_editor(request: HttpRequest) -> HttpResponse:
    draft = selectors.draft_current()
    result = {}
    publish_form = PublishForm(prefix="publish")
    replay_form = ReplayForm(prefix="replay")
    if request.method == "POST":
        form = PolicyDraftForm(request.POST)
        action = request.POST.get("action", "check")
        if action == "publish":
            publish_form = PublishForm(request.POST, prefix="publish")
        if action in ("replay", "diff"):
            replay_form = ReplayForm(request.POST, prefix="replay")
        if form.is_valid() and (action != "publish" or publish_form.is_valid()) and (
                action not in ("replay", "diff") or replay_form.is_valid()):
            document, cases = form.cleaned_data["document"], form.cleaned_data["cases"]
            try:
                if action == "save":
                    console_services.policy_draft_save(user=request.user, document=document, cases=cases)
                    messages.success(request, _("Draft saved."))
                    return redirect("console:policy")
                if action == "publish":
                    run = replays.replay_run_for(document)  # a background replay of this very text, if any
                    version = policy_publish(
                        document=document, cases=cases, effective_at=publish_form.cleaned_data["effective_at"],
                        major_change=publish_form.cleaned_data["major_change"],
                        change_note=publish_form.cleaned_data["change_note"], user=request.user,
                        replay=run.result if run is not None else None)
                    messages.success(request, _("Published %(version)s.") % {"version": version})
                    return redirect("policies:clauses", pk=version.pk)
                if action == "test":
                    result["test"] = selectors.draft_test(document=document, cases=cases)
                elif action in ("replay", "diff"):
                    since = _since(replay_form.cleaned_data.get("since"))
                    if action == "diff":
                        result["diff"] = selectors.draft_diff(document=document)
                    if replays.requests_to_replay(since=since).count() > replays.replay_inline_limit():
                        run = replays.replay_run_start(document=document, since=since, user=request.user)
                        return redirect("console:policy_replay", pk=run.pk)
                    result["replay"] = replays.replay_document(document=document, since=since).to_json(limit=50)
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
        "form": form, "publish_form": publish_form, "replay_form": replay_form, "draft": draft, "result": result,
        "section": "policy_editor",
    })


@role_required(roles.POLICY_OWNER)
def policy_replay(request: HttpRequest, pk: int) -> HttpResponse:
    """A background replay's progress (the page reloads itself until it is done), then its summary."""
    from refunddesk.policies.models import ReplayRun

    run = ReplayRun.objects.filter(pk=pk).first()
    if run is None:
        raise Http404("no such replay")
    return render(request, "console/replay_run.html", {"run": run, "section": "policy_editor",
                                                        "replay": run.result if run.status == run.DONE else None})


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
        days_off, working = days_off_formset(request.POST), working_days_formset(request.POST)
        if form.is_valid() and days_off.is_valid() and working.is_valid():
            document = schedule_text(
                country=calendar.country, year=form.cleaned_data["year"], source=form.cleaned_data["source"],
                days_off=[(f.cleaned_data.get("name", ""), f.cleaned_data["start"], f.cleaned_data.get("end"))
                          for f in days_off if f.cleaned_data.get("start")],
                working_days=[f.cleaned_data["day"] for f in working if f.cleaned_data.get("day")])
            try:
                row = core_services.holiday_schedule_record(
                    document=document, country=settings.REFUNDDESK_HOLIDAY_COUNTRY, user=request.user)
                messages.success(request, _("The schedule for %(year)s is recorded and used from now on. Deadlines "
                                            "that could not be computed are filled in within a minute.")
                                 % {"year": row.year})
                return redirect("console:calendar")
            except ApplicationError as exc:
                form.add_error(None, _("Not recorded: the schedule is not valid. What to change is listed below."))
                problem = str(exc.message).replace("schedule: ", "")
        year_shown = form.cleaned_data.get("year") if form.is_valid() else None
    else:
        year = request.GET.get("year", "")
        initial = selectors.schedule_initial(calendar=calendar, year=int(year) if year.isdigit() else None,
                                             today=today)
        form = HolidayScheduleForm(initial={"year": initial["year"], "source": initial["source"]})
        days_off = days_off_formset(initial=[{"name": n, "start": a, "end": b if b != a else None}
                                             for n, a, b in initial["days_off"]])
        working = working_days_formset(initial=[{"day": d} for d in initial["working_days"]])
        year_shown = initial["year"]
    return render(request, "console/calendar.html", {
        "form": form, "years": selectors.calendar_years(calendar=calendar, today=today), "section": "calendar",
        "holidays_version": holidays.__version__, "calendar": calendar, "problem": problem,
        "days_off": days_off, "working": working,
        "package": selectors.package_days(country=calendar.country, year=year_shown, language=page_language())
        if year_shown else None,
    })


# --- reports ----------------------------------------------------------------------------------------


def _report_filters(request: HttpRequest):
    """The report filter form from the query string, and the Filters it gives (None when it has errors).
    Default period: the last 90 days up to today."""
    import datetime as dt

    from refunddesk.billing.models import Plan
    from refunddesk.reports import ledger
    from refunddesk.reports.selectors import Filters
    from refunddesk.status.models import Region

    lang = page_language()
    regions = [(r.code, r.name_zh if lang.startswith("zh") else r.name_en) for r in Region.objects.order_by("position")]
    plans = [(p.external_id, f"{p.name} ({p.external_id})") for p in Plan.objects.order_by("name")]
    today = timezone.localdate()
    form = ReportFilterForm(request.GET or None, plans=plans, regions=regions,
                            initial={"start": today - dt.timedelta(days=89), "end": today})
    if request.GET and not form.is_valid():
        return form, None
    data = form.cleaned_data if request.GET else {}
    first, last = data.get("start") or today - dt.timedelta(days=89), data.get("end") or today
    try:
        start, end = ledger.period_of_days(first, last)
        filters = Filters(start=start, end=end, plan=data.get("plan", ""), region=data.get("region", ""),
                          channel=data.get("channel", ""))
    except ApplicationError as exc:
        form.add_service_error(exc)
        return form, None
    return form, filters


@role_required(roles.SUPERVISOR, roles.FINANCE)
def report(request: HttpRequest, name: str = "requests") -> HttpResponse:
    """A report's charts (server-rendered SVG) with the filters; each chart links to its CSV."""
    from django.utils.safestring import mark_safe

    from refunddesk.reports import selectors as reports

    if name not in reports.REPORTS:
        raise Http404("no such report")
    form, filters = _report_filters(request)
    charts = []
    if filters is not None:
        for chart in reports.report_charts(name, filters, page_language()):
            chart.markup = mark_safe(chart.svg())  # noqa: S308 - built with html.escape (reports.charts)
            charts.append(chart)
    tabs = [(key, reports.report_title(key)) for key in reports.REPORTS]
    as_of = reports.figures_as_of()
    return render(request, "console/report.html", {
        "name": name, "title": reports.report_title(name), "tabs": tabs, "form": form, "charts": charts,
        "query": request.GET.urlencode(), "section": "reports", "as_of": as_of,
        "as_of_text": format_datetime(as_of.finished_at, page_language()) if as_of else "",
        "every_minutes": settings.REFUNDDESK_REPORTS_REFRESH_SECONDS // 60},
        status=200 if filters is not None else 400)


@role_required(roles.SUPERVISOR, roles.FINANCE)
@require_http_methods(["POST"])
def report_refresh(request: HttpRequest) -> HttpResponse:
    """"Refresh now": queue a rebuild of the report figures (reports.tasks) and go back to the report."""
    from django.utils.http import url_has_allowed_host_and_scheme

    from refunddesk.reports.tasks import figures_refresh

    figures_refresh.enqueue()
    messages.success(request, _("The figures are being rebuilt; reload the page in a minute to see them."))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("console:reports")
    return redirect(back)


@role_required(roles.SUPERVISOR, roles.FINANCE)
def report_csv(request: HttpRequest, name: str, chart: str) -> HttpResponse:
    """Exactly the figures of one chart, as CSV."""
    import csv

    from refunddesk.reports import selectors as reports

    if name not in reports.REPORTS:
        raise Http404("no such report")
    form, filters = _report_filters(request)
    if filters is None:
        return HttpResponse("\n".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()), status=400,
                            content_type="text/plain; charset=utf-8")
    found = next((c for c in reports.report_charts(name, filters, page_language()) if c.id == chart), None)
    if found is None:
        raise Http404("no such chart")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    csv.writer(response, lineterminator="\n").writerows(found.csv_rows())
    response["Content-Disposition"] = f'attachment; filename="{found.id}.csv"'
    return response
