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
