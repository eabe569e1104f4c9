"""Forms of the customer portal (and the shared pieces the console uses).

Forms only parse input. A refusal from a service (an ApplicationError) is put back on the
form with `add_service_error`, beside the field the error names (`exc.field`), so the page
shows it where the person typed and keeps what they typed.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from refunddesk.core.api import username_for
from refunddesk.core.errors import ApplicationError
from refunddesk.refunds.evidence import (
    ALLOWED,
    RefusedUpload,
    Upload,
    max_files,
    refusal_message,
    too_large_message,
    too_many_message,
    too_much_message,
)
from refunddesk.refunds.models import Reason

EVIDENCE_ACCEPT = ",".join(sorted(set(ALLOWED) | set(ALLOWED.values())))


class ServiceErrorMixin:
    """Show an ApplicationError beside the field it names; anything else goes on top of the form."""

    #: service field name -> form field name, where they differ
    service_fields: dict[str, str] = {}

    def add_service_error(self, exc: ApplicationError) -> None:
        name = self.service_fields.get(exc.field or "", exc.field)
        message = str(exc.message)
        if name and name in self.fields:
            if self.is_bound and not hasattr(self, "cleaned_data"):
                self.full_clean()
            self.add_error(name, message)
        else:
            self.add_error(None, message)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


def _evidence_help_text() -> str:
    return gettext("Optional. Up to %(n)d files: screenshots, photos, PDF, video or plain text, %(mb)d MB each.") % {
        "n": max_files(), "mb": settings.REFUNDDESK_EVIDENCE_MAX_BYTES // (1024 * 1024)}


_evidence_help = lazy(_evidence_help_text, str)


def _evidence_limits() -> dict:
    """The data-* attributes with which the browser checks the files chosen before sending them (app.js): the
    limits in bytes and the server's own refusals, in the page's language, with {name}, {size} and {count} for
    the browser to fill in (sizes in MB as the server counts them)."""
    def setting(name: str):
        return lazy(lambda: str(getattr(settings, name)), str)()

    return {  # lazy: read when a page shows the form, in its language, with the settings then in force
        "data-max-files": lazy(lambda: str(max_files()), str)(),
        "data-max-bytes": setting("REFUNDDESK_EVIDENCE_MAX_BYTES"),
        "data-max-total-bytes": setting("REFUNDDESK_EVIDENCE_MAX_TOTAL_BYTES"),
        "data-too-many": lazy(too_many_message, str)("{count}"),
        "data-too-large": lazy(too_large_message, str)("{name}", "{size}"),
        "data-too-much": lazy(too_much_message, str)("{size}"),
    }


class EvidenceField(forms.FileField):
    """Up to max_files() files; their content is checked by the service (refunds.evidence), not here. A file the
    upload handler refused (refunds.evidence.RefusedUpload: too many, too large) is a field error here. The
    browser checks the count and the sizes before sending (data-* attributes, app.js), so that a customer does
    not wait for 30 MB to upload to be told the limit."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": EVIDENCE_ACCEPT, **_evidence_limits()}))
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", _evidence_help())  # lazy: in the language of each page
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        items = data if isinstance(data, list | tuple) else [data]
        refused = next((item for item in items if isinstance(item, RefusedUpload)), None)
        if refused is not None:
            raise forms.ValidationError(refusal_message(refused.name, refused.refusal, refused.received),
                                        code=refused.refusal)
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def uploads(files) -> list[Upload]:
    """Uploaded files (Django UploadedFile, on disk: refunds.evidence.EvidenceUploadHandler) -> the services'
    Upload values, which read them in chunks; nothing is read here."""
    return [Upload(name=f.name or "upload", file=f) for f in files or []]


class AppForm(ServiceErrorMixin, forms.Form):
    template_name = "portal/_form_fields.html"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


# --- signing in -------------------------------------------------------------------------------


class SignInForm(AppForm):
    login = forms.CharField(
        label=_("Email"), max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True, "inputmode": "email"}),
        help_text=_("Staff: your user name."),
    )
    password = forms.CharField(label=_("Password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, request=None, *args, **kwargs):
        self.request = request
        self.user = None
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        login, password = data.get("login", "").strip(), data.get("password")
        if not login or not password:
            return data
        # the account's user name: failures are counted per account (django-axes), whichever way it is typed
        self.user = authenticate(self.request, username=username_for(login), password=password)
        if self.user is None:
            raise forms.ValidationError(
                _("That email and password do not match an account. Check them, or ask for a sign-in link."),
                code="invalid_login")
        return data


class SignInLinkForm(AppForm):
    email = forms.EmailField(label=_("Email"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))


# --- refund requests ------------------------------------------------------------------------


class ApplyForm(AppForm):
    reason = forms.ChoiceField(label=_("Why do you want a refund?"),
                               choices=[("", _("Choose a reason")), *Reason.choices],
                               widget=forms.Select(attrs={"data-preview-reason": ""}))
    description = forms.CharField(
        label=_("What happened?"), required=False, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("A few sentences help us decide faster: what went wrong, since when, what you tried."),
    )
    evidence = EvidenceField(label=_("Evidence"))


class ReplyForm(AppForm):
    message = forms.CharField(label=_("Your answer"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)
    evidence = EvidenceField(label=_("Files"))


class AppealForm(AppForm):
    reason = forms.CharField(label=_("Why do you disagree with the decision?"),
                             widget=forms.Textarea(attrs={"rows": 4}), max_length=5000,
                             help_text=_("A supervisor who did not make the first decision will read it."))
    evidence = EvidenceField(label=_("Files"))


class NoteForm(AppForm):
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))


class InboxReplyForm(AppForm):
    """The customer's answer from their inbox (站内信), on one of their requests."""

    request = forms.ChoiceField(label=_("About request"))
    message = forms.CharField(label=_("Your message"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)

    def __init__(self, *args, requests: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["request"].choices = requests
