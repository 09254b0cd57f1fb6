"""Reconciliation: the providers' listings of calls put right what webhooks missed.

Notifications get lost, duplicated and reordered; the listing is the truth for "is this
call still active" and for its current legs. The rules on top of ingest.py's:

- A session the listing shows is upserted with its legs. Its state comes from its legs'
  states (CallGear) or the call's status (CCAI), but never steps back in rank (waiting <
  answered < ended) and an ended session or leg never reopens.
- A session a webhook touched after we asked for the listing keeps its state: that event
  is newer than the listing we hold (the next run, a few seconds later, compares again).
- CallGear: a local active session absent from list.calls has ended ("gone from
  list.calls"), whatever its last notification said (on hold, or applied while the
  listing was read: a late notification cannot bring back a call the listing left out),
  as has an active leg absent from its session's listing (list.calls shows active legs
  only). Sessions first heard of after we asked are left for the next run.
- CCAI: the recent listing (newest first, a window back) updates status and participants;
  finished/failed calls end their sessions. Active local calls the window missed are read
  one by one, the least lately reconciled first; one the provider no longer knows (404)
  has ended.
- A control action answered "call session not found" ends its session too
  (``session_end_gone``, called by actions.py).
- Every changed session is broadcast. AccountSync.last_reconcile_at moves on success,
  last_reconcile_error holds the failure's ``describe()`` line; nothing raises.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from dashboard.models import ProviderAccount
from dashboard.providers.accounts import open_callgear, open_ccai, run
from dashboard.providers.base import ProviderError
from livecalls.models import CallSession, Leg
from livecalls.selectors import agent_for
from livecalls.services.ingest import (
    L,
    S,
    account_sync_touch,
    ccai_direction,
    ccai_participants_apply,
    ccai_status_apply,
    earliest,
    fill,
    leg_get_or_create,
    leg_state_set,
    session_end,
    session_get_or_create,
    session_state_set,
    tags_merge,
)
from livecalls.services.live import session_broadcast

logger = logging.getLogger(__name__)

GONE_CALLGEAR = "gone from list.calls"
GONE_CCAI = "gone from the calls listing"
CCAI_WINDOW = timedelta(hours=12)  # how far back the CCAI listing is read
CCAI_MAX_PAGES = 5
CCAI_SINGLE_READS = 25  # active local calls outside the window, read one by one per run


@dataclass(frozen=True)
class ReconcileOutcome:
    ok: bool
    seen: int = 0  # sessions the provider listed
    changed: int = 0  # sessions whose card changed (broadcast)
    ended: int = 0  # sessions ended because the provider says so (or forgot them)
    error: str = ""


def reconcile_account(*, account: ProviderAccount) -> ReconcileOutcome:
    """One reconciliation of an account's live calls. Never raises for provider trouble."""
    try:
        if account.kind == ProviderAccount.Kind.CALLGEAR:
            outcome = reconcile_callgear(account)
        elif account.kind == ProviderAccount.Kind.CCAI:
            outcome = reconcile_ccai(account)
        else:
            return ReconcileOutcome(ok=True)
    except ProviderError as exc:
        return _failed(account, exc.describe())
    except Exception as exc:  # a bug or a transport surprise must not stop the periodic job
        logger.exception("reconciling %s failed", account)
        return _failed(account, f"{type(exc).__name__}: {exc}")
    account_sync_touch(account, last_reconcile_at=timezone.now(), last_reconcile_error="")
    return outcome


def _failed(account: ProviderAccount, error: str) -> ReconcileOutcome:
    logger.warning("reconciling %s failed: %s", account, error)
    account_sync_touch(account, last_reconcile_error=error)
    return ReconcileOutcome(ok=False, error=error)


def fingerprint(session: CallSession) -> tuple[Any, ...]:
    """What a browser's card shows; a reconcile broadcasts only when this changes."""
    legs = tuple(
        Leg.objects.filter(session=session).order_by("pk").values_list(
            "provider_leg_id", "state", "agent_id", "employee_id", "employee_name", "calling_number",
            "called_number", "is_operator", "recording")
    )
    return (session.state, session.provider_status, session.ended_at, session.answered_at, session.agent_id,
            tuple(session.tags or []), session.recording, session.contact_number, session.virtual_number,
            session.direction, session.finish_reason, legs)


def _touched_since(session: CallSession, asked_at: datetime, created: bool) -> bool:
    """A webhook applied after we asked: its news is newer than the listing we hold."""
    return not created and session.updated_at is not None and session.updated_at > asked_at


def _ended_absent(account: ProviderAccount, listed: set[str], asked_at: datetime, reason: str,
                  refs: list[str] | None = None) -> int:
    """End local active sessions the provider no longer lists. A session we knew of before
    asking was at the provider before its listing was taken: left out, it has ended."""
    qs = CallSession.objects.filter(account=account, ended_at__isnull=True, created_at__lt=asked_at)
    if refs is not None:
        qs = qs.filter(provider_session_id__in=refs)
    pks = list(qs.exclude(provider_session_id__in=listed).values_list("pk", flat=True))
    return sum(session_end_gone(session_id=pk, reason=reason) for pk in pks)


def session_end_gone(*, session_id: int, reason: str) -> bool:
    """End a session the provider has forgotten (absent from its listing, or "call session
    not found" to an action), and push its card after commit. False if it had ended."""
    with transaction.atomic():
        session = CallSession.objects.select_for_update().select_related("account").filter(pk=session_id).first()
        if session is None or session.ended_at is not None:
            return False
        now = timezone.now()
        session_end(session, at=now, reason=reason)
        session.reconciled_at = now
        session.save()
        session_broadcast(session=session)
    return True


# --- CallGear -----------------------------------------------------------------------------

# Our leg codes (callgear.models.leg_state) onto leg states; unknown ones leave the leg be.
CALLGEAR_LEG_CODES: dict[str, str] = {
    "ringing": L.RINGING,
    "queued": L.RINGING,  # "Next in line": waiting to be put through
    "talk": L.TALKING,
    "operators_talk": L.TALKING,
    "sending_dtmf": L.TALKING,
    "receiving_fax": L.TALKING,
    "fax_received": L.TALKING,
    "sending_fax": L.TALKING,
    "fax_sent": L.TALKING,
    "hold": L.ON_HOLD,
    "transferring": L.ON_HOLD,  # the contact waits for the third party
    "disconnected": L.ENDED,
}


def callgear_session_state(codes: list[str]) -> str | None:
    """The session's state from its listed legs, as the webhooks would have put it."""
    if not codes:
        return None
    if "operators_talk" in codes or "transferring" in codes or ("hold" in codes and "ringing" in codes):
        return S.CONSULTING  # a third party rings or talks with the employee
    if "hold" in codes:
        return S.ON_HOLD
    if any(CALLGEAR_LEG_CODES.get(c) == L.TALKING for c in codes):
        return S.TALKING
    if all(c == "queued" for c in codes):
        return S.QUEUED
    return S.RINGING


def reconcile_callgear(account: ProviderAccount) -> ReconcileOutcome:
    asked_at = timezone.now()

    async def fetch() -> list[Any]:
        async with open_callgear(account) as client:
            return await client.list_calls()

    listed = run(fetch)
    changed = 0
    for item in listed:
        with transaction.atomic():
            if callgear_listing_apply(account, item, asked_at):
                changed += 1
    ended = _ended_absent(account, {str(s.call_session_id) for s in listed}, asked_at, GONE_CALLGEAR)
    return ReconcileOutcome(ok=True, seen=len(listed), changed=changed + ended, ended=ended)


def callgear_listing_apply(account: ProviderAccount, item: Any, asked_at: datetime) -> bool:
    """Upsert one list.calls session and its legs; broadcast and return True on change."""
    session, created = session_get_or_create(account, str(item.call_session_id))
    before = None if created else fingerprint(session)
    now = timezone.now()
    if created and item.direction in (CallSession.Direction.IN, CallSession.Direction.OUT):
        session.direction = item.direction
    fill(session, "virtual_number", (item.virtual_phone_number or "")[:32])
    fill(session, "contact_number", (item.contact_phone_number or "")[:32])
    fill(session, "external_id", (item.external_id or "")[:128])
    session.started_at = earliest(session.started_at, item.start_time)
    session.tags = tags_merge(list(session.tags or []), [t.tag_name for t in item.tags if t.tag_name], newer=True)
    if item.legs:
        session.recording = any(leg.record_call_enabled for leg in item.legs)

    keep_state = session.state == S.ENDED or _touched_since(session, asked_at, created)
    listed_refs = set()
    operator_agent = None
    for data in item.legs:
        ref = str(data.leg_id)
        listed_refs.add(ref)
        leg, _ = leg_get_or_create(session, ref)
        leg.started_at = leg.started_at or now
        leg.calling_number = (data.calling_phone_number or leg.calling_number)[:32]
        leg.called_number = (data.called_phone_number or leg.called_number)[:32]
        leg.is_operator = data.is_operator
        leg.recording = data.record_call_enabled
        if data.employee_id is not None:
            leg.employee_id = str(data.employee_id)
            leg.employee_name = (data.employee_full_name or leg.employee_name)[:200]
            leg.agent = agent_for(account, data.employee_id) or leg.agent
        leg.provider_state = (data.state_raw or "")[:40]
        state = CALLGEAR_LEG_CODES.get(data.state)
        if state is not None and not keep_state and leg_state_set(leg, state, now) and state != L.RINGING:
            leg.answered_at = leg.answered_at or now  # answered while its webhooks were lost
        if session.state == S.ENDED:
            leg_state_set(leg, L.ENDED, session.ended_at)
        leg.save()
        if data.is_operator and data.employee_id is not None and leg.state != L.ENDED:
            operator_agent = leg.agent
            session.details = {**session.details, "employee_id": str(data.employee_id),
                               "employee_full_name": data.employee_full_name or ""}
    if not keep_state:
        for leg in session.legs.exclude(state=L.ENDED).exclude(provider_leg_id__in=listed_refs):
            leg_state_set(leg, L.ENDED, now)  # list.calls shows active legs only
            leg.save()
        state = callgear_session_state([leg.state for leg in item.legs])
        if state is not None and session_state_set(session, state) and state != S.RINGING:
            if state not in (S.QUEUED, S.SCHEDULED):
                session.answered_at = session.answered_at or now
        if operator_agent is not None:
            session.agent = operator_agent
    session.reconciled_at = now
    session.save()
    if created or fingerprint(session) != before:
        session_broadcast(session=session)
        return True
    return False


# --- CCAI ---------------------------------------------------------------------------------


def reconcile_ccai(account: ProviderAccount) -> ReconcileOutcome:
    from dashboard.providers.ccai.models import Call

    asked_at = timezone.now()
    since = asked_at - reconcile_window()
    # Least lately reconciled first: the calls read one by one take turns, so a few the
    # provider still calls active cannot keep the others from ever being read.
    local_active = list(
        CallSession.objects.filter(account=account, ended_at__isnull=True, created_at__lt=asked_at)
        .order_by(F("reconciled_at").asc(nulls_first=True), "pk").values_list("provider_session_id", flat=True)
    )

    async def fetch() -> tuple[list[Call], dict[str, Call | None]]:
        async with open_ccai(account) as client:
            calls = [c async for c in client.iter_calls(sort_direction="DESC", created_from=since,
                                                        max_pages=CCAI_MAX_PAGES)]
            seen = {str(c.id) for c in calls}
            singles: dict[str, Call | None] = {}
            for ref in [r for r in local_active if r not in seen and r.isdigit()][:CCAI_SINGLE_READS]:
                try:
                    singles[ref] = await client.get_call(int(ref))
                except ProviderError as exc:
                    if exc.status != 404:
                        raise
                    singles[ref] = None  # the provider no longer knows it
            return calls, singles

    calls, singles = run(fetch)
    changed = ended = 0
    known_active = set(local_active)
    for call in [*calls, *(c for c in singles.values() if c is not None)]:
        ref = str(call.id)
        if call.is_terminal and ref not in known_active:
            continue  # history, not a live call: nothing to show or end
        with transaction.atomic():
            moved, was_ended = ccai_call_apply(account, call, asked_at)
        changed += moved
        ended += was_ended
    gone = [ref for ref, call in singles.items() if call is None]
    if gone:
        vanished = _ended_absent(account, set(), asked_at, GONE_CCAI, refs=gone)
        changed += vanished
        ended += vanished
    return ReconcileOutcome(ok=True, seen=len(calls), changed=changed, ended=ended)


def ccai_call_apply(account: ProviderAccount, call: Any, asked_at: datetime) -> tuple[bool, bool]:
    """Upsert one listed CCAI call; returns (changed, ended by this run)."""
    session, created = session_get_or_create(account, str(call.id))
    before = None if created else fingerprint(session)
    was_active = session.state != S.ENDED
    now = timezone.now()
    if created or not session.details.get("call_type"):
        session.direction = ccai_direction(call.call_type)
    session.details = {**session.details, "call_type": call.call_type,
                       "menu_id": call.selected_menu.id if call.selected_menu else session.details.get("menu_id")}
    fill(session, "virtual_number", (call.outbound_number or call.support_number or "")[:32])
    fill(session, "contact_number", ((call.end_user.identifier if call.end_user else None) or "")[:32])
    session.started_at = earliest(session.started_at, call.created_at)
    session.answered_at = earliest(session.answered_at, call.connected_at)
    if call.recording_url:
        fill(session, "recording_link", call.recording_url[:500])
    agent_names = {}
    if call.agent_info is not None and call.agent_info.id is not None:
        agent_names[call.agent_info.id] = call.agent_info.name or " ".join(
            x for x in (call.agent_info.first_name, call.agent_info.last_name) if x)
    if call.is_terminal or not _touched_since(session, asked_at, created):
        ccai_participants_apply(session, call.participants, None,
                                agent_email=session.details.get("agent_email"),
                                end_user_number=session.contact_number or None, agent_names=agent_names)
        ccai_status_apply(session, call.status, call.fail_reason, None,
                          at=(call.ends_at or now) if call.is_terminal else call.connected_at, newer=True)
    if session.state == S.ENDED:
        session_end(session, at=session.ended_at)  # ended is final: no participant stays open on it
    session.reconciled_at = now
    session.save()
    if created or fingerprint(session) != before:
        session_broadcast(session=session)
        return True, was_active and session.state == S.ENDED
    return False, False


def reconcile_window() -> timedelta:
    """How far back the CCAI listing is read (settings.LIVE_CCAI_WINDOW_HOURS, default 12)."""
    return timedelta(hours=float(getattr(settings, "LIVE_CCAI_WINDOW_HOURS", CCAI_WINDOW.total_seconds() / 3600)))
