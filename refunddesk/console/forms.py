"""Forms of the staff console. Each action form maps onto one service's arguments."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from refunddesk.portal.forms import AppForm
from refunddesk.refunds.models import Reason
from refunddesk.refunds.states import Status

YES_NO_ANY = [("", _("Any")), ("yes", _("Overdue only")), ("no", _("Not overdue"))]


class QueueFilterForm(AppForm):
    status = forms.ChoiceField(label=_("Status"), required=False)
    reason = forms.ChoiceField(label=_("Reason"), required=False, choices=[("", _("Any")), *Reason.choices])
    overdue = forms.ChoiceField(label=_("Deadline"), required=False, choices=YES_NO_ANY)
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    gateway = forms.ChoiceField(label=_("Gateway"), required=False)

    def __init__(self, *args, staff=(), gateways=(), appeals=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("Open (all in the queue)")), *Status.choices]
        self.fields["assignee"].choices = [("", _("Anyone")), ("me", _("Me")), ("none", _("Nobody")),
                                           *[(u.username, u.display_name) for u in staff]]
        self.fields["gateway"].choices = [("", _("Any")), *[(g, g) for g in gateways]]
        if appeals:
            del self.fields["status"]


CLAUSE_LABEL = _("Clause cited")


def _clause_field(choices, *, required=True, label=CLAUSE_LABEL):
    if choices:
        return forms.ChoiceField(label=label, required=required, choices=[("", "—"), *choices],
                                 help_text=_("The clause of the policy this rests on."))
    return forms.CharField(label=label, required=required, max_length=100,
                           help_text=_("The clause of the policy this rests on."))


class CaseForm(AppForm):
    """An action on a case; forms that cite a clause get the policy's clauses as choices."""

    def __init__(self, *args, clauses=(), initial_clause="", **kwargs):
        super().__init__(*args, **kwargs)
        if "clause" in self.fields:
            self.fields["clause"] = _clause_field(clauses)
            self.fields["clause"].initial = initial_clause
            self.order_fields(self.field_order_list)

    field_order_list: list[str] = []


AMOUNT_HELP = _("In the order's currency, like 12.50. Leave empty for the policy's amount (or what is left).")
OVERRIDE_HELP = _("Needed when you go beyond the policy (against its outcome, or above its amount).")


class AssignForm(AppForm):
    assignee = forms.ModelChoiceField(label=_("Assign to"), queryset=None, required=False, to_field_name="username",
                                      empty_label=_("Me"))

    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = staff


class AskInfoForm(AppForm):
    message = forms.CharField(label=_("What should the customer send or try?"), max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 4}),
                              help_text=_("The customer reads this; the deadline pauses until they answer."))


class OfferForm(CaseForm):
    amount = forms.CharField(label=_("Amount"), max_length=30, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    clause = forms.CharField()
    note = forms.CharField(label=_("Message to the customer"), required=False, max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 3}))
    override_reason = forms.CharField(label=_("Why go beyond the policy"), required=False, max_length=2000,
                                      help_text=OVERRIDE_HELP, widget=forms.Textarea(attrs={"rows": 2}))
    field_order_list = ["amount", "clause", "note", "override_reason"]


class ApproveForm(CaseForm):
    amount = forms.CharField(label=_("Amount"), required=False, max_length=30, help_text=AMOUNT_HELP,
                             widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    clause = forms.CharField()
    reason = forms.CharField(label=_("Reason for the decision"), max_length=5000,
                             widget=forms.Textarea(attrs={"rows": 3}), help_text=_("The customer reads this."))
    override_reason = forms.CharField(label=_("Why go beyond the policy"), required=False, max_length=2000,
                                      help_text=OVERRIDE_HELP, widget=forms.Textarea(attrs={"rows": 2}))
    field_order_list = ["amount", "clause", "reason", "override_reason"]


class RejectForm(CaseForm):
    clause = forms.CharField()
    reason = forms.CharField(label=_("Reason for the decision"), max_length=5000,
                             widget=forms.Textarea(attrs={"rows": 3}), help_text=_("The customer reads this."))
    field_order_list = ["clause", "reason"]


class AppealDecisionForm(CaseForm):
    """Both appeal decisions (appeal_approve, appeal_reject): the button says which."""

    amount = forms.CharField(label=_("Amount (when upholding)"), required=False, max_length=30,
                             help_text=AMOUNT_HELP, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    clause = forms.CharField()
    reason = forms.CharField(label=_("Reason for the decision"), max_length=5000,
                             widget=forms.Textarea(attrs={"rows": 3}), help_text=_("The customer reads this."))
    override_reason = forms.CharField(label=_("Why go beyond the policy"), required=False, max_length=2000,
                                      help_text=OVERRIDE_HELP, widget=forms.Textarea(attrs={"rows": 2}))
    field_order_list = ["amount", "clause", "reason", "override_reason"]


class StaffNoteForm(AppForm):
    note = forms.CharField(label=_("Internal note"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("Only staff see it."))


class MediationForm(AppForm):
    mediator = forms.CharField(label=_("Mediator"), max_length=200,
                               help_text=_("The organisation or person who mediated."))
    outcome = forms.CharField(label=_("Outcome"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class MarkPaidForm(AppForm):
    reference = forms.CharField(label=_("Payment reference"), max_length=200, widget=forms.TextInput(
        attrs={"placeholder": _("bank transfer or gateway number")}))


class RetryForm(AppForm):
    pass


class DisagreementForm(AppForm):
    note = forms.CharField(label=_("What you checked"), max_length=500, widget=forms.TextInput(
        attrs={"placeholder": _("e.g. matched the gateway's report of 28 Nov")}))


class PolicyDraftForm(AppForm):
    document = forms.CharField(label=_("Policy document (YAML)"), strip=False, required=False,
                               widget=forms.Textarea(attrs={"class": "code", "spellcheck": "false", "rows": 30}))
    cases = forms.CharField(label=_("Test cases (YAML)"), strip=False, required=False,
                            widget=forms.Textarea(attrs={"class": "code", "spellcheck": "false", "rows": 30}))


class LedgerForm(AppForm):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=_("To (included)"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    format = forms.ChoiceField(label=_("File"), choices=[("csv", "CSV"), ("xlsx", "XLSX (Excel)")], initial="csv")

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The period must end on or after its first day."))
        return data


class ReportFilterForm(AppForm):
    start = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=_("To (included)"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    plan = forms.ChoiceField(label=_("Plan"), required=False)
    region = forms.ChoiceField(label=_("Region"), required=False)
    channel = forms.ChoiceField(label=_("Sales channel"), required=False)

    def __init__(self, *args, plans=(), regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        from refunddesk.billing.models import SalesChannel

        everything = [("", _("All"))]
        self.fields["plan"].choices = everything + list(plans)
        self.fields["region"].choices = everything + list(regions)
        self.fields["channel"].choices = everything + list(SalesChannel.choices)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The period must end on or after its first day."))
        return data


class ReplayForm(AppForm):
    since = forms.DateField(label=_("Replay the requests submitted since"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                            help_text=_("Empty: every request the policy has decided."))

    def clean_since(self):
        day = self.cleaned_data.get("since")
        if day and not 1970 <= day.year <= 2999:
            raise forms.ValidationError(_("Choose a day between the years 1970 and 2999."))
        return day


class PublishForm(AppForm):
    effective_at = forms.DateTimeField(
        label=_("In force from"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        help_text=_("Empty: from now. Requests on orders bought before then keep the version in force then."))
    major_change = forms.BooleanField(label=_("Major change: tell customers by email"), required=False)
    change_note = forms.CharField(label=_("What changed"), required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 2}))


class HolidayScheduleForm(AppForm):
    """A year's official schedule as a person reads the notice: the year, where it was published, then the days
    off (DaysOffFormSet) and the make-up working days (WorkingDaysFormSet) as date ranges and dates."""

    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2999)
    source = forms.CharField(label=_("Where the official notice was published"), required=False, max_length=500,
                             help_text=_("A link or the notice's title, for whoever checks it later."))


DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class DayOffForm(AppForm):
    name = forms.CharField(label=_("Holiday"), required=False, max_length=100)
    start = forms.DateField(label=_("First day off"), required=False, widget=DATE_WIDGET)
    end = forms.DateField(label=_("Last day off"), required=False, widget=DATE_WIDGET,
                          help_text=_("Empty for a single day."))

    def clean(self):
        data = super().clean()
        if (data.get("name") or data.get("end")) and not data.get("start"):
            self.add_error("start", _("Give the first day off."))
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The last day off is before the first."))
        return data


class WorkingDayForm(AppForm):
    day = forms.DateField(label=_("Make-up working day"), required=False, widget=DATE_WIDGET)


class _AtLeastOneDayOff(forms.BaseFormSet):
    def clean(self):
        super().clean()
        if not any(f.is_valid() and f.cleaned_data.get("start") for f in self.forms):
            raise forms.ValidationError(_("List at least one day off: every holiday of the notice, weekends "
                                          "inside it included."))


def days_off_formset(data=None, *, initial=None):
    """The days off of a schedule: the rows given (`initial`, dicts of name, start, end) and blank ones."""
    extra = 3 if initial else 9
    return forms.formset_factory(DayOffForm, formset=_AtLeastOneDayOff, extra=extra)(
        data, initial=initial, prefix="off")


def working_days_formset(data=None, *, initial=None):
    """The make-up working days of a schedule: the rows given (`initial`, dicts of day) and blank ones."""
    extra = 3 if initial else 8
    return forms.formset_factory(WorkingDayForm, extra=extra)(data, initial=initial, prefix="work")


class CustomerMessageForm(AppForm):
    """An agent's message to the customer, on one of the channels the customer can be reached on."""

    message = forms.CharField(label=_("Message to the customer"), max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 4}))
    channel = forms.ChoiceField(label=_("Send by"), widget=forms.RadioSelect)

    def __init__(self, *args, channels: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = channels
        if channels:
            self.fields["channel"].initial = channels[0][0]
