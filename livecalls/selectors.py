from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404
from django.utils import timezone

from dashboard.models import AgentProfile, ProviderAccount
from dashboard.roles import perm
from livecalls.models import CallSession, WebhookEvent


def can_see_all_calls(user: Any) -> bool:
    return user.has_perm(perm("view_all_calls"))


def can_act_on(user: Any, session: CallSession) -> bool:
    """Supervisors act on any call; an agent only on calls that are theirs."""
    if user.has_perm(perm("control_any_call")):
        return True
    return user.has_perm(perm("control_own_calls")) and is_own_call(user, session)


def is_own_call(user: Any, session: CallSession) -> bool:
    return session.agent_id == user.pk or session.legs.filter(agent_id=user.pk).exists()


def sessions_visible_to(user: Any) -> QuerySet[CallSession]:
    qs = CallSession.objects.select_related("account", "agent").prefetch_related("legs")
    if can_see_all_calls(user):
        return qs
    if user.has_perm(perm("control_own_calls")):
        return qs.filter(Q(agent=user) | Q(legs__agent=user)).distinct()
    return qs.none()


def session_for_user(user: Any, pk: int, *, act: bool = False) -> CallSession:
    """The permission-checked lookup every call view goes through: 404 if unknown, 403
    if the user may not see it (or, with ``act``, may not act on it)."""
    session = get_object_or_404(CallSession.objects.select_related("account", "agent"), pk=pk)
    if act:
        allowed = can_act_on(user, session)
    else:  # an agent's own call, and only while the user is an agent
        allowed = can_see_all_calls(user) or (user.has_perm(perm("control_own_calls")) and is_own_call(user, session))
    if not allowed:
        raise PermissionDenied
    return session


def agent_for(account: ProviderAccount, employee_ref: str | int | None) -> Any:
    """The dashboard user behind a provider identity (CallGear employee id, CCAI e-mail)."""
    if employee_ref in (None, ""):
        return None
    profiles = AgentProfile.objects.select_related("user")
    if account.kind == ProviderAccount.Kind.CALLGEAR:
        ref = str(employee_ref)
        profile = profiles.filter(callgear_employee_id=int(ref)).first() if ref.isascii() and ref.isdigit() else None
    else:
        profile = profiles.filter(ccai_agent_email__iexact=str(employee_ref)).first()
    return profile.user if profile else None


def agents_for(account: ProviderAccount, employee_refs: Iterable[str]) -> dict[str, Any]:
    """``agent_for`` for many provider identities in one query: ref -> user or None."""
    refs = {str(r) for r in employee_refs if r not in (None, "")}
    found: dict[str, Any] = dict.fromkeys(refs)
    wanted: dict[Any, list[str]] = {}  # as the database compares them: "007" is 7, "A@x" is "a@x"
    profiles = AgentProfile.objects.select_related("user").order_by("pk")  # first match wins, as agent_for
    if account.kind == ProviderAccount.Kind.CALLGEAR:
        for ref in refs:
            if ref.isascii() and ref.isdigit():
                wanted.setdefault(int(ref), []).append(ref)
        matches = ((p.callgear_employee_id, p) for p in profiles.filter(callgear_employee_id__in=wanted))
    else:
        for ref in refs:
            wanted.setdefault(ref.lower(), []).append(ref)
        matches = ((p.email, p) for p in profiles.annotate(email=Lower("ccai_agent_email")).filter(email__in=wanted))
    for key, profile in matches:
        for ref in wanted[key]:
            if found[ref] is None:
                found[ref] = profile.user
    return found


GIVEN_UP_SHOWN = timedelta(hours=24)  # a tile clears itself a day after the trouble


@dataclass(frozen=True)
class WebhookTrouble:
    """Notifications of one account given up lately (see services/ingest_retry.py)."""

    count: int
    last_error: str
    last_event_type: str
    last_at: datetime


def webhook_events_given_up(*, account_ids: Iterable[int]) -> dict[int, WebhookTrouble]:
    """Per account with any: how many notifications were given up in the last day, and why
    the last one failed."""
    given_up = WebhookEvent.objects.filter(account_id__in=list(account_ids),
                                           given_up_at__gte=timezone.now() - GIVEN_UP_SHOWN)
    counts = dict(given_up.order_by().values("account_id").annotate(n=Count("pk")).values_list("account_id", "n"))
    trouble: dict[int, WebhookTrouble] = {}
    for account_id, count in counts.items():
        last = given_up.filter(account_id=account_id).order_by("-given_up_at", "-pk").first()
        if last is not None:
            trouble[account_id] = WebhookTrouble(count, last.apply_error, last.event_type, last.given_up_at)
    return trouble
