"""The three roles, as groups with permissions. This module is the one place that says who
may do what; views check permissions, never role names."""

from __future__ import annotations

from typing import Any

ADMIN = "admin"
SUPERVISOR = "supervisor"
AGENT = "agent"
ROLES = (ADMIN, SUPERVISOR, AGENT)

ROLE_PERMISSIONS: dict[str, set[str]] = {
    ADMIN: {
        "manage_provider_accounts",
        "view_audit_log",
        "manage_campaigns",
        "view_campaigns",
        "control_campaigns",
        "view_all_calls",
        "control_any_call",
        "coach_calls",
        "start_calls",
    },
    SUPERVISOR: {
        "view_audit_log",
        "view_campaigns",
        "control_campaigns",
        "view_all_calls",
        "control_any_call",
        "coach_calls",
        "start_calls",
    },
    AGENT: {"control_own_calls", "start_calls"},
}

ROLE_LABELS = {ADMIN: "Admin", SUPERVISOR: "Supervisor", AGENT: "Agent"}


def perm(codename: str) -> str:
    return f"dashboard.{codename}"


def sync_roles(sender: Any = None, **kwargs: Any) -> None:
    """Create the role groups and set exactly their permissions (idempotent)."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from dashboard.models import Capability

    if sender is not None and getattr(sender, "name", None) != "dashboard":
        return
    ct = ContentType.objects.get_for_model(Capability, for_concrete_model=False)
    for codename, name in Capability._meta.permissions:
        Permission.objects.get_or_create(content_type=ct, codename=codename, defaults={"name": name})
    by_code = {p.codename: p for p in Permission.objects.filter(content_type=ct)}
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([by_code[c] for c in sorted(codes)])


def role_of(user: Any) -> str | None:
    if user is None or not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    names = {g.name for g in user.groups.all()}
    for role in ROLES:
        if role in names:
            return role
    return None


def assign_role(user: Any, role: str) -> None:
    from django.contrib.auth.models import Group

    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(name=role))
    user.groups.add(Group.objects.get(name=role))
