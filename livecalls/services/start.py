"""Starting calls: CallGear's five start.* methods and CCAI's outbound, incoming and
scheduled calls.

One service, ``call_start``: the provider is asked, the attempt is audited, and a started
call gets its CallSession row at once (and is pushed to the wall), so the person who
started it sees it before the first webhook arrives. Webhooks and reconciliation then
move it. A refused start creates nothing locally.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from dashboard.audit import audit_record
from dashboard.models import AgentProfile, AuditEntry, ProviderAccount
from dashboard.providers import accounts
from dashboard.providers.base import ProviderError, ProviderUnavailable
from dashboard.providers.ccai.models import Call, CreateCallResult
from dashboard.services import ActionResult
from livecalls.models import CallSession
from livecalls.selectors import agent_for
from livecalls.services.live import session_broadcast

logger = logging.getLogger(__name__)

CALLGEAR = ProviderAccount.Kind.CALLGEAR
CCAI = ProviderAccount.Kind.CCAI


@dataclass(frozen=True)
class StartKind:
    key: str
    provider: str  # ProviderAccount.Kind
    label: str
    description: str
    client_method: str
    # CallSession.direction; None: the form's ``direction`` parameter decides (CallGear).
    direction: str | None = None


START_KINDS: dict[str, StartKind] = {
    k.key: k
    for k in (
        StartKind("employee_call", CALLGEAR, "Employee call",
                  "Connects a contact and one employee directly, without a scenario.",
                  "start_employee_call"),
        StartKind("simple_call", CALLGEAR, "Simple call",
                  "Connects a contact and an operator number (not an employee).",
                  "start_simple_call"),
        StartKind("informer_call", CALLGEAR, "Informer call",
                  "Plays a media file or a text to the contact, then ends by itself.",
                  "start_informer_call"),
        StartKind("scenario_call", CALLGEAR, "Scenario call",
                  "Calls the contact and follows one of the virtual PBX's scenarios.",
                  "start_scenario_call"),
        StartKind("vnumber_call", CALLGEAR, "Virtual number call",
                  "Calls the contact through the scenario of a virtual number.",
                  "start_vnumber_call"),
        StartKind("outbound_call", CCAI, "Outbound call",
                  "An agent calls an end user (by number or CRM ticket).",
                  "create_outbound_call", CallSession.Direction.OUT),
        StartKind("incoming_call", CCAI, "Incoming call",
                  "Queues a call on a menu as if the end user had called in.",
                  "create_incoming_call", CallSession.Direction.IN),
        # A scheduled call is the platform calling the end user back: outgoing.
        StartKind("scheduled_call", CCAI, "Scheduled call",
                  "Calls the end user back at a set time, through a menu's queue.",
                  "create_scheduled_call", CallSession.Direction.OUT),
    )
}


def kinds_for(account: ProviderAccount) -> list[StartKind]:
    return [k for k in START_KINDS.values() if k.provider == account.kind]


@dataclass
class StartResult(ActionResult):
    session: CallSession | None = None


def _jsonable(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
        elif isinstance(value, Mapping):
            out[key] = _jsonable(value)
        else:
            out[key] = value
    return out


async def _ask_provider(account: ProviderAccount, kind: StartKind, params: dict[str, Any]) -> Any:
    if kind.provider == CALLGEAR:
        async with accounts.open_callgear(account) as client:
            return await getattr(client, kind.client_method)(**params)
    async with accounts.open_ccai(account) as client:
        return await getattr(client, kind.client_method)(**params)


def _profile(user: Any) -> AgentProfile | None:
    return AgentProfile.objects.filter(user_id=getattr(user, "pk", None)).first()


def _callgear_agent(account: ProviderAccount, kind: str, params: Mapping[str, Any], user: Any) -> Any:
    profile = _profile(user)
    if kind == "employee_call":
        employee_id = params.get("employee_id")
        if profile is not None and profile.callgear_employee_id == employee_id:
            return user
        return agent_for(account, employee_id)
    if kind == "simple_call" and profile is not None and params.get("operator") in (profile.callgear_phone_numbers or []):
        return user
    # Scenario and virtual-number calls pick their employee at the provider: the legs'
    # webhooks name them later. Informer calls have no one on our side.
    return None


def _ccai_agent(account: ProviderAccount, params: Mapping[str, Any], user: Any) -> Any:
    email = str(params.get("agent_email") or "")
    if not email:
        return None
    profile = _profile(user)
    if profile is not None and profile.ccai_agent_email and profile.ccai_agent_email.lower() == email.lower():
        return user
    return agent_for(account, email)


def _ccai_state(call: Call) -> str:
    status = (call.status or "").lower()
    if status == "scheduled":
        return CallSession.State.SCHEDULED
    if status == "queued":
        return CallSession.State.QUEUED
    return CallSession.State.RINGING


def _session_save(*, account: ProviderAccount, provider_session_id: str, fields: dict[str, Any]) -> CallSession:
    """Create the session; if a webhook already created it, fill in what it lacks."""
    try:
        with transaction.atomic():
            session, created = CallSession.objects.get_or_create(
                account=account, provider_session_id=provider_session_id, defaults=fields
            )
    except IntegrityError:
        session, created = CallSession.objects.get(account=account, provider_session_id=provider_session_id), False
    if not created:
        changed = []
        for name, value in fields.items():
            if name == "details":
                merged = {**value, **(session.details or {})}
                if merged != session.details:
                    session.details = merged
                    changed.append(name)
            elif name not in ("state", "provider_status") and value not in (None, "") and not getattr(session, name):
                setattr(session, name, value)
                changed.append(name)
        if changed:
            session.save(update_fields=[*changed, "updated_at"])
    return session


def _callgear_session(account: ProviderAccount, kind: str, params: Mapping[str, Any], user: Any,
                      call_session_id: int) -> CallSession:
    details: dict[str, Any] = {"start_kind": kind, "method": f"start.{kind}", "started_by": user.pk}
    for key in ("scenario_id", "employee_id", "operator", "first_call"):
        if params.get(key) is not None:
            details[key] = params[key]
    fields = {
        "direction": params.get("direction") or CallSession.Direction.IN,  # the docs' default
        "virtual_number": params.get("virtual_phone_number") or "",
        "contact_number": params.get("contact") or "",
        "external_id": params.get("external_id") or "",
        "state": CallSession.State.RINGING,
        "started_at": timezone.now(),
        "agent": _callgear_agent(account, kind, params, user),
        "details": details,
    }
    return _session_save(account=account, provider_session_id=str(call_session_id), fields=fields)


def _ccai_session(account: ProviderAccount, kind: StartKind, params: Mapping[str, Any], user: Any,
                  call: Call) -> CallSession:
    details: dict[str, Any] = {"start_kind": kind.key, "call_type": call.call_type, "started_by": user.pk}
    for key in ("menu_id", "ticket_id", "lang", "call_id", "recording_permission"):
        if params.get(key) not in (None, ""):
            details[key] = params[key]
    if call.scheduled_at is not None:
        details["scheduled_at"] = call.scheduled_at.isoformat()
    fields = {
        "direction": kind.direction,
        "virtual_number": call.outbound_number or params.get("outbound_number") or "",
        "contact_number": params.get("end_user_number") or "",
        "state": _ccai_state(call),
        "provider_status": call.status or "",
        "started_at": call.created_at or timezone.now(),
        "agent": _ccai_agent(account, params, user) if kind.key == "outbound_call" else None,
        "details": details,
    }
    return _session_save(account=account, provider_session_id=str(call.id), fields=fields)


def call_start(*, account: ProviderAccount, kind: str, params: Mapping[str, Any], user: Any) -> StartResult:
    """Start one call of ``kind`` with the client's keyword arguments ``params``.

    ``params`` have passed the form's checks; the client checks the documented rules once
    more (and refuses locally with the provider's own error), the provider the rest.
    """
    spec = START_KINDS.get(kind)
    if spec is None or spec.provider != account.kind:
        raise ValueError(f"{account.get_kind_display()} accounts cannot start a {kind!r}")
    params = dict(params)
    action = f"call.start.{kind}"
    started = time.perf_counter()
    try:
        answer = accounts.run(lambda: _ask_provider(account, spec, params))
    except ProviderError as exc:
        latency = (time.perf_counter() - started) * 1000
        if isinstance(exc, ProviderUnavailable):
            # Starts are never retried (a repeat could place a second call), and a lost
            # answer does not mean nothing happened.
            summary = (f"No clear answer: the {spec.label.lower()} may have started anyway; check the wall "
                       f"before trying again. {exc.describe()}")
        else:
            summary = f"The {spec.label.lower()} was not started: {exc.describe()}"
        result = StartResult(False, summary, latency, error=exc)
        audit_record(user=user, action=action, result=AuditEntry.Result.ERROR, account=account,
                     target=str(params.get("contact") or params.get("end_user_number") or ""),
                     parameters=_jsonable(params), error=exc, latency_ms=latency)
        return result
    latency = (time.perf_counter() - started) * 1000

    session: CallSession | None = None
    if spec.provider == CALLGEAR:
        session = _callgear_session(account, kind, params, user, int(answer))
        summary = f"Call started: session {session.pk}"
        details = {"call_session_id": int(answer)}
    else:
        outcome: CreateCallResult = answer
        details = {"outcome": str(outcome.outcome), "http_status": outcome.status_code}
        if outcome.call is not None:
            session = _ccai_session(account, spec, params, user, outcome.call)
            details["call_id"] = outcome.call.id
            summary = f"Call started: session {session.pk}"
        else:
            # 202 (the agent picks an outbound number in the widget) or 200 (the call
            # adapter was prompted): there is no call yet; it appears once the agent acts.
            summary = ("CCAI accepted the call: the agent must place it in the widget; it shows on the "
                       "wall once placed")
    audit_record(user=user, action=action, result=AuditEntry.Result.OK, account=account,
                 target=f"session {session.provider_session_id}" if session else "",
                 parameters={**_jsonable(params), "answer": details}, message=summary, latency_ms=latency)
    if session is not None:
        try:
            session_broadcast(session=session)
        except Exception:
            # The call is running at the provider: a card that fails to render must not
            # turn that into an error page; the next event or reconcile pushes it again.
            logger.exception("could not push the new session %s to the wall", session.pk)
    return StartResult(True, summary, latency, details, session=session)
