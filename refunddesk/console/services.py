"""Writes the console needs that the policies app does not provide: saving the policy draft.

Kept apart from the views (they call this one function) and from policies/ (owned by another
team). It only stores text; checking, testing and publishing go through policies.services.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from refunddesk.core import roles
from refunddesk.core.errors import PermissionDenied, ValidationError
from refunddesk.policies.models import PolicyDraft

MAX_CHARS = 200_000


@transaction.atomic
def policy_draft_save(*, user, document: str, cases: str) -> PolicyDraft:
    """Store the policy owner's draft (there is one draft; saving replaces its text)."""
    if not roles.has_role(user, roles.POLICY_OWNER):
        raise PermissionDenied(_("Only a policy owner can edit the policy draft."))
    if not (document or "").strip():
        raise ValidationError(_("The policy document is empty."), field="document")
    for name, text in (("document", document), ("cases", cases)):
        if len(text or "") > MAX_CHARS:
            raise ValidationError(_("This text is too long (at most %(n)d characters).") % {"n": MAX_CHARS},
                                  field=name)
    draft = PolicyDraft.objects.select_for_update(no_key=True).order_by("-updated_at", "-id").first() or PolicyDraft()
    draft.document = document.replace("\r\n", "\n")
    draft.cases = (cases or "").replace("\r\n", "\n")
    draft.updated_by = user
    draft.save()
    return draft
