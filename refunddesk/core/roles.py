"""Staff roles are Django groups. Permissions are attached where each app defines them."""

from __future__ import annotations

AGENT = "agent"
SUPERVISOR = "supervisor"
FINANCE = "finance"
POLICY_OWNER = "policy_owner"
ADMIN = "admin"
ALL_ROLES = (AGENT, SUPERVISOR, FINANCE, POLICY_OWNER, ADMIN)


def has_role(user, role: str) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    names = getattr(user, "_role_names", None)
    if names is None:
        names = set(user.groups.values_list("name", flat=True))
        user._role_names = names
    return role in names or ADMIN in names


# role -> permission codenames ("app_label.codename") it carries
ROLE_PERMISSIONS = {
    AGENT: ["refunds.review_request", "refunds.view_refundrequest", "billing.view_order", "billing.view_customer"],
    SUPERVISOR: ["refunds.review_request", "refunds.decide_appeal", "refunds.view_refundrequest",
                 "billing.view_order", "billing.view_customer", "status.add_incident", "status.change_incident"],
    FINANCE: ["refunds.manage_refunds", "payments.view_refund", "payments.change_refund", "billing.view_order"],
    POLICY_OWNER: ["policies.publish_policy", "policies.view_policyversion"],
    ADMIN: [],
}


def roles_ensure(*, using: str = "default") -> None:
    """Create the role groups and give them their permissions (idempotent; runs after every migrate)."""
    from django.contrib.auth.models import Group, Permission

    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        wanted = []
        for name in names:
            app_label, codename = name.split(".", 1)
            wanted += list(Permission.objects.using(using).filter(content_type__app_label=app_label,
                                                                  codename=codename))
        if role == ADMIN:
            wanted = list(Permission.objects.using(using).all())
        group.permissions.add(*wanted)
