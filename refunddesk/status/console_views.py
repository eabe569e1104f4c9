"""Console pages for incidents (supervisors and admins): open, update, correct, close, compensate."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from refunddesk.core import roles
from refunddesk.core.errors import ApplicationError
from refunddesk.status import compensation, selectors, services
from refunddesk.status.forms import CloseForm, EditForm, IncidentForm, UpdateForm
from refunddesk.status.models import CompensationRun, Incident, RunStatus


def status_staff(view):
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not roles.has_role(request.user, roles.SUPERVISOR):  # admins and superusers pass too
            raise PermissionDenied("incidents are managed by supervisors and admins")
        return view(request, *args, **kwargs)

    return wrapper


def _fail(form, exc: ApplicationError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc.message))


def _incident(incident_id: int) -> Incident:
    incident = Incident.objects.prefetch_related("regions").filter(pk=incident_id).first()
    if incident is None:
        raise Http404("no such incident")
    return incident


def _initial(incident: Incident) -> dict:
    return {
        "title_en": incident.title_en, "title_zh": incident.title_zh,
        "regions": [r.code for r in incident.regions.all()], "severity": incident.severity,
        "started_at": timezone.localtime(incident.started_at), "cause": incident.cause,
        "cause_zh": incident.cause_zh, "force_majeure": incident.force_majeure,
        "force_majeure_note": incident.force_majeure_note, "force_majeure_note_zh": incident.force_majeure_note_zh,
        "ended_at": timezone.localtime(incident.ended_at) if incident.ended_at else None,
    }


def run_progress(run: CompensationRun | None) -> dict | None:
    if run is None:
        return None
    unfinished = run.status in (RunStatus.QUEUED, RunStatus.RUNNING)
    stale = unfinished and compensation.is_stale(run, timezone.now())
    label = _("Stalled: no progress for a while; start it again to continue") if stale else run.get_status_display()
    return {
        "id": run.pk, "status": run.status, "status_label": str(label),
        "processed": run.processed, "total": run.total, "percent": run.percent, "rate": round(run.rate),
        "created": run.created, "approved": run.approved, "review": run.review, "rejected": run.rejected,
        "skipped": run.skipped, "applied": run.applied, "error": run.error,
        "active": unfinished and not stale,
    }


@status_staff
def incident_list(request: HttpRequest) -> HttpResponse:
    return render(request, "status/console/list.html", {
        "incidents": selectors.incidents_for_console(), "lang": get_language(),
    })


@status_staff
def incident_new(request: HttpRequest) -> HttpResponse:
    form = IncidentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            incident, _created = services.incident_open(user=request.user, **data)
        except ApplicationError as exc:
            _fail(form, exc)
        else:
            messages.success(request, _("Incident opened; it is on the status page now."))
            return redirect("status_console:detail", incident_id=incident.pk)
    return render(request, "status/console/new.html", {"form": form, "lang": get_language()})


def _detail(request: HttpRequest, incident: Incident, **forms) -> HttpResponse:
    forms.setdefault("update_form", UpdateForm())
    forms.setdefault("edit_form", EditForm(initial=_initial(incident)))
    forms.setdefault("close_form", CloseForm())
    now = timezone.now()
    run = selectors.latest_run(incident_id=incident.pk)
    return render(request, "status/console/detail.html", {
        "incident": incident, "updates": incident.updates.order_by("-at", "-id"), "lang": get_language(),
        "eligibility": compensation.eligibility(incident, now=now), "run": run, "progress": run_progress(run),
        **forms,
    }, status=400 if any(f.errors for f in forms.values()) else 200)


@status_staff
def incident_detail(request: HttpRequest, incident_id: int) -> HttpResponse:
    return _detail(request, _incident(incident_id))


def _form_action(request: HttpRequest, incident, form, form_name: str, call, done: str) -> HttpResponse:
    """The console's incident forms: valid input goes to the service; its refusal shows beside the field."""
    if form.is_valid():
        try:
            call({k: v for k, v in form.cleaned_data.items() if v is not None or k not in ("started_at", "ended_at")})
        except ApplicationError as exc:
            _fail(form, exc)
        else:
            messages.success(request, done)
            return redirect("status_console:detail", incident_id=incident.pk)
    return _detail(request, incident, **{form_name: form})


@status_staff
@require_POST
def incident_post_update(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = _incident(incident_id)
    return _form_action(request, incident, UpdateForm(request.POST), "update_form",
                        lambda data: services.incident_update(incident_id=incident.pk, user=request.user, **data),
                        _("Update posted."))


@status_staff
@require_POST
def incident_edit(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = _incident(incident_id)
    return _form_action(request, incident, EditForm(request.POST), "edit_form",
                        lambda data: services.incident_update(incident_id=incident.pk, user=request.user, **data),
                        _("Incident corrected."))


@status_staff
@require_POST
def incident_close(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = _incident(incident_id)
    return _form_action(request, incident, CloseForm(request.POST), "close_form",
                        lambda data: services.incident_close(incident_id=incident.pk, user=request.user, **data),
                        _("Incident closed."))


@status_staff
@require_POST
def incident_compensate(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = _incident(incident_id)
    try:
        run, started = services.compensation_start(incident_id=incident.pk, user=request.user,
                                                    force=request.POST.get("force") == "1")
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        if started:
            messages.success(request, _("Compensation started: the affected orders are being evaluated."))
        else:
            messages.info(request, _("A compensation run for this incident is already in progress."))
    return redirect("status_console:detail", incident_id=incident.pk)


@status_staff
def run_progress_json(request: HttpRequest, run_id: int) -> JsonResponse:
    run = CompensationRun.objects.filter(pk=run_id).first()
    if run is None:
        raise Http404("no such run")
    return JsonResponse(run_progress(run))
