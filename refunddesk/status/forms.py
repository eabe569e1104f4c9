"""Console forms for incidents. They only parse; the services validate and write."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from refunddesk.status.models import Region, Severity, UpdateKind

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _region_choices():
    from django.utils.translation import get_language

    lang = get_language() or ""
    return [(r.code, f"{r.name(lang)} ({r.code})") for r in Region.objects.all()]


class IncidentForm(forms.Form):
    title_en = forms.CharField(label=_("Title (English)"), max_length=200)
    title_zh = forms.CharField(label=_("Title (Chinese)"), max_length=200, required=False)
    regions = forms.MultipleChoiceField(label=_("Regions"), widget=forms.CheckboxSelectMultiple, choices=())
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    started_at = forms.DateTimeField(label=_("Started at"), widget=DATETIME, required=False,
                                     help_text=_("Leave empty for now."))
    cause = forms.CharField(label=_("Cause (English)"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    cause_zh = forms.CharField(label=_("Cause (Chinese)"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    force_majeure = forms.BooleanField(label=_("Caused by force majeure (not refunded)"), required=False)
    force_majeure_note = forms.CharField(label=_("What the force majeure was (English)"), required=False,
                                         widget=forms.Textarea(attrs={"rows": 2}))
    force_majeure_note_zh = forms.CharField(label=_("What the force majeure was (Chinese)"), required=False,
                                            widget=forms.Textarea(attrs={"rows": 2}))
    message_en = forms.CharField(label=_("First update (English)"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 3}))
    message_zh = forms.CharField(label=_("First update (Chinese)"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["regions"].choices = _region_choices()


class EditForm(IncidentForm):
    """Correct an incident's details (also after it is closed)."""

    ended_at = forms.DateTimeField(label=_("Ended at"), widget=DATETIME, required=False,
                                   help_text=_("Only for a closed incident."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["message_en"], self.fields["message_zh"]


class UpdateForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=[c for c in UpdateKind.choices if c[0] != UpdateKind.RESOLVED])
    message_en = forms.CharField(label=_("Update (English)"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    message_zh = forms.CharField(label=_("Update (Chinese)"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class CloseForm(forms.Form):
    ended_at = forms.DateTimeField(label=_("Ended at"), widget=DATETIME, required=False,
                                   help_text=_("Leave empty for now."))
    message_en = forms.CharField(label=_("Closing note (English)"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 2}))
    message_zh = forms.CharField(label=_("Closing note (Chinese)"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 2}))
