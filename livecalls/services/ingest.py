"""Applying provider notifications to call sessions and legs.

The ordering rule, in one place (reconcile.py follows the same one):

1. Each event is applied once: its row in WebhookEvent is unique on the dedupe key, a
   repeat delivery is answered "duplicate" and touches nothing.
2. An event's place in time is its sequence (CallGear ``session_event_seq``, CCAI
   ``sequence``, both per session), or its event time when the sequence is missing.
3. A session has several independent "aspects" (state, agent, recording, tags, status),
   each remembering the mark of the newest event that set it (``details["marks"]``). An
   event changes an aspect only when it is newer than that aspect's mark. Aspects are
   separate so a late ``call_held`` (seq 5) still holds the call when a ``tag_added``
   (seq 6) came first: a tag says nothing about the state.
4. A leg's mark is its own ``last_event_seq``/``last_event_at``: only events naming the
   leg move them, and an event changes the leg's state only when newer than that mark.
5. State never goes back in rank, whatever the marks say: waiting (ringing, queued,
   scheduled) < answered (talking, on_hold, consulting) < ended. Within a rank the newest
   event wins. Ended is final: a session or leg that ended never reopens, and the events
   that end it (call_ended, lost_call, leg_disconnected, a terminal CCAI status) apply in
   any order.
6. Any event, however old, fills fields that are still empty (numbers, external id,
   names...). Times that only have one true value take the earliest seen
   (started_at, answered_at, ended_at), so arrival order does not matter for them either.
7. ``session.last_event_seq``/``last_event_at`` are the newest applied, whatever aspect.

Events the rule cannot order perfectly (a consultation leg dropping, which puts the call
back on hold, arriving before the consultation itself) are put right by the next
reconciliation from the provider's listing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dashboard.models import ProviderAccount
from livecalls.models import AccountSync, CallSession, Leg, WebhookEvent
from livecalls.selectors import agent_for
from livecalls.webhooks import ParsedEvent

logger = logging.getLogger(__name__)

S = CallSession.State
L = Leg.State

STATE_RANK: dict[str, int] = {
    S.RINGING: 0, S.QUEUED: 0, S.SCHEDULED: 0,
    S.TALKING: 1, S.ON_HOLD: 1, S.CONSULTING: 1,
    S.ENDED: 2,
}
LEG_RANK: dict[str, int] = {L.RINGING: 0, L.TALKING: 1, L.ON_HOLD: 1, L.ENDED: 2}


@dataclass(frozen=True)
class IngestResult:
    """``status``: "applied", "duplicate", or "stored" (kept but not applied: see the log)."""

    status: str
    event: WebhookEvent | None = None
    session: CallSession | None = None

    @property
    def duplicate(self) -> bool:
        return self.status == "duplicate"


# --- marks -------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """Where an event sits in its session's time line."""

    seq: int | None
    at: datetime | None

    def after(self, seq: int | None, at: datetime | None) -> bool:
        """Is this mark newer than (seq, at)? With nothing to compare, yes (arrival order)."""
        if self.seq is not None and seq:
            return self.seq > seq
        if self.at is not None and at is not None:
            return self.at >= at
        return True


def aspect_newer(session: CallSession, aspect: str, mark: Mark) -> bool:
    stored = (session.details or {}).get("marks", {}).get(aspect)
    if not stored:
        return True
    return mark.after(stored[0], parse_datetime(stored[1]) if stored[1] else None)


def aspect_mark(session: CallSession, aspect: str, mark: Mark) -> None:
    details = dict(session.details or {})
    marks = dict(details.get("marks", {}))
    marks[aspect] = [mark.seq, mark.at.isoformat() if mark.at else None]
    details["marks"] = marks
    session.details = details


def leg_newer(leg: Leg, mark: Mark) -> bool:
    return mark.after(leg.last_event_seq, leg.last_event_at)


def leg_mark(leg: Leg, mark: Mark) -> None:
    if mark.seq is not None and mark.seq > leg.last_event_seq:
        leg.last_event_seq = mark.seq
    if mark.at is not None and (leg.last_event_at is None or mark.at > leg.last_event_at):
        leg.last_event_at = mark.at


def session_mark(session: CallSession, mark: Mark) -> None:
    if mark.seq is not None and mark.seq > session.last_event_seq:
        session.last_event_seq = mark.seq
    if mark.at is not None and (session.last_event_at is None or mark.at > session.last_event_at):
        session.last_event_at = mark.at


# --- small state helpers, shared with reconcile.py ------------------------------------------


def earliest(current: datetime | None, seen: datetime | None) -> datetime | None:
    if seen is None:
        return current
    return seen if current is None or seen < current else current


def fill(obj: Any, field: str, value: Any) -> None:
    """Set a field only while it is empty (rule 6)."""
    if value not in (None, "") and not getattr(obj, field):
        setattr(obj, field, value)


def session_state_set(session: CallSession, state: str) -> bool:
    """Move the session to ``state`` unless that is a step back in rank (rule 5)."""
    if session.state == S.ENDED or STATE_RANK[state] < STATE_RANK[session.state]:
        return False
    session.state = state
    return True


def leg_state_set(leg: Leg, state: str, at: datetime | None = None) -> bool:
    if leg.state == L.ENDED or LEG_RANK[state] < LEG_RANK[leg.state]:
        return False
    leg.state = state
    if state == L.ENDED:
        leg.ended_at = leg.ended_at or at or timezone.now()
    return True


def session_end(session: CallSession, *, at: datetime | None, reason: str = "", force_reason: bool = False,
                legs: SessionLegs | None = None) -> None:
    """End the session and every leg still open. Ending is final, so order does not matter."""
    legs = legs or SessionLegs(session)
    at = at or timezone.now()
    session.state = S.ENDED
    session.ended_at = earliest(session.ended_at, at)
    if reason and (force_reason or not session.finish_reason):
        session.finish_reason = reason[:80]
    for leg in legs.open():
        leg.state = L.ENDED
        leg.ended_at = leg.ended_at or at
        legs.save(leg)


class SessionLegs:
    """A session's legs (and the agents they name) as the rules below read and change them.

    This one goes to the database at once: reconciliation works one session at a time.
    The webhook ingest (ingest_batch.BufferedLegs) keeps a batch's sessions and legs in
    memory and writes each once per batch."""

    def __init__(self, session: CallSession) -> None:
        self.session = session

    def get_or_create(self, ref: str) -> tuple[Leg, bool]:
        return leg_get_or_create(self.session, ref)

    def open(self) -> list[Leg]:
        return list(self.session.legs.exclude(state=L.ENDED))

    def save(self, leg: Leg) -> None:
        leg.save()

    def agent(self, account: ProviderAccount, ref: str | int | None) -> Any:
        return agent_for(account, ref)


def session_get_or_create(account: ProviderAccount, ref: str) -> tuple[CallSession, bool]:
    """The session row, created when first heard of, and locked for this transaction.

    Most events are about a session we already have: lock and read it in one query, and
    only then fall back to creating it (bench/RESULTS.md, fan-out profile). ``of=self``
    because PostgreSQL cannot lock the nullable side of the agent join."""
    locked = (CallSession.objects.select_for_update(of=("self",)).select_related("account", "agent")
              .filter(account=account, provider_session_id=ref).first())
    if locked is not None:
        return locked, False
    try:
        with transaction.atomic():
            session, created = CallSession.objects.get_or_create(account=account, provider_session_id=ref)
    except IntegrityError:  # a concurrent delivery created it first
        session, created = CallSession.objects.get(account=account, provider_session_id=ref), False
    locked = CallSession.objects.select_for_update(of=("self",)).select_related("account", "agent").get(pk=session.pk)
    return locked, created


def leg_get_or_create(session: CallSession, ref: str) -> tuple[Leg, bool]:
    try:
        with transaction.atomic():
            leg, created = Leg.objects.get_or_create(session=session, provider_leg_id=ref)
    except IntegrityError:
        leg, created = Leg.objects.get(session=session, provider_leg_id=ref), False
    return leg, created


def account_sync_touch(account: ProviderAccount, **fields: Any) -> None:
    # One UPDATE in the usual case; the row is created only the first time.
    if AccountSync.objects.filter(account=account).update(**fields):
        return
    try:
        with transaction.atomic():
            AccountSync.objects.create(account=account, **fields)
    except IntegrityError:
        AccountSync.objects.filter(account=account).update(**fields)


def tag_names_from(account: ProviderAccount, names: str, tag_id: Any) -> list[str]:
    """Tag names an event gives, or the name of its tag id from the account's reference data."""
    found = [n.strip() for n in (names or "").split(",") if n.strip()]
    if not found and str(tag_id or "").strip():
        for tag in (account.reference_data or {}).get("tags", []):
            if str(tag.get("id")) == str(tag_id).strip():
                found.append(str(tag.get("name") or ""))
    return [n for n in found if n]


def tags_merge(current: list[str], names: list[str], *, newer: bool) -> list[str]:
    """Tags only grow. A newer full list gives the order; an older one only adds."""
    if newer:
        return names + [t for t in current if t not in names]
    return current + [t for t in names if t not in current]


# --- the entry point -----------------------------------------------------------------------


def webhook_event_ingest(*, account: ProviderAccount, event: ParsedEvent) -> IngestResult:
    """Store one notification and apply it to its call session, in one transaction; the
    session's card goes to browsers after commit. A repeat delivery is a no-op.
    (A batch of one: ingest_batch.webhook_events_ingest has the whole story.)"""
    from livecalls.services.ingest_batch import webhook_events_ingest

    return webhook_events_ingest([(account, event)])[0]


def event_agent_ref(account: ProviderAccount, event: ParsedEvent) -> str:
    """The provider identity of the agent an event names ("" if none), to look them up
    for a whole batch at once."""
    key = "agent_email" if account.kind == ProviderAccount.Kind.CCAI else "employee_id"
    return _text(event.payload, key)


def event_apply(legs: SessionLegs, event: ParsedEvent) -> None:
    """One notification onto its session and legs, in memory (the caller writes them)."""
    session = legs.session
    mark = Mark(event.sequence, event.occurred_at)
    if session.account.kind == ProviderAccount.Kind.CCAI:
        ccai_apply(session, event.payload, mark, legs)
    else:
        callgear_apply(session, event.event_type, event.payload, mark, legs)
    if session.state == S.ENDED:
        # A late event may have named a leg we had not seen: it cannot be open on an ended call.
        session_end(session, at=session.ended_at, legs=legs)
    session_mark(session, mark)


# --- CallGear -----------------------------------------------------------------------------

CALLGEAR_SESSION_STATE: dict[str, str] = {
    "incoming_call": S.RINGING,
    "outgoing_call": S.RINGING,
    "talk_started": S.TALKING,
    "call_held": S.ON_HOLD,
    "call_unheld": S.TALKING,
    "consultation_started": S.CONSULTING,
    # Either the contact now waits for the third party or talk_started follows at once.
    "call_transferred": S.CONSULTING,
    "talk_restored": S.TALKING,
}
CALLGEAR_LEG_STATE: dict[str, str] = {
    "waiting_for_answer": L.RINGING,
    "consultation_started": L.RINGING,
    "talk_started": L.TALKING,
    "call_held": L.ON_HOLD,
    "call_unheld": L.TALKING,
    "talk_restored": L.TALKING,
    "leg_disconnected": L.ENDED,
}
CALLGEAR_ENDING = frozenset({"call_ended", "lost_call"})
# Events whose employee is the one on the leg they name, not the session's employee.
CALLGEAR_LEG_EMPLOYEE = frozenset({"waiting_for_answer", "consultation_started"})


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value).strip()


def _leg_ids(data: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    for key in ("leg_id", "leg_ids"):
        raw = data.get(key)
        items = raw if isinstance(raw, list) else str(raw or "").split(",")
        ids.extend(str(i).strip() for i in items if str(i).strip().isdigit())
    return list(dict.fromkeys(ids))


def callgear_apply(session: CallSession, kind: str, data: dict[str, Any], mark: Mark, legs: SessionLegs) -> None:
    account = session.account
    at = mark.at
    direction = _text(data, "direction")
    if direction in (CallSession.Direction.IN, CallSession.Direction.OUT) and aspect_newer(session, "direction", mark):
        session.direction = direction
        aspect_mark(session, "direction", mark)
    fill(session, "virtual_number", _text(data, "virtual_phone_number")[:32])
    fill(session, "contact_number", _text(data, "contact_phone_number")[:32])
    fill(session, "external_id", _text(data, "external_id")[:128])
    session.started_at = earliest(session.started_at, at)
    scenario = _text(data, "scenario_name")
    if scenario and not session.details.get("scenario_name"):
        session.details = {**session.details, "scenario_name": scenario}

    employee_id = _text(data, "employee_id")
    if employee_id:
        # Most events name the session's employee in charge; a ringing leg or a consultation
        # names the employee on that leg (a coach, a third party), which only fills a
        # session nobody is in charge of yet.
        in_charge = kind not in CALLGEAR_LEG_EMPLOYEE
        unclaimed = "employee_id" not in session.details and "agent" not in session.details.get("marks", {})
        if (in_charge and aspect_newer(session, "agent", mark)) or (kind == "waiting_for_answer" and unclaimed):
            agent = legs.agent(account, employee_id)
            if agent is not None or session.agent_id is None:
                session.agent = agent
            session.details = {**session.details, "employee_id": employee_id,
                               "employee_full_name": _text(data, "employee_full_name")}
            if in_charge:
                aspect_mark(session, "agent", mark)

    # Legs the event names.
    leg_state = CALLGEAR_LEG_STATE.get(kind)
    for ref in _leg_ids(data):
        leg, _ = legs.get_or_create(ref)
        leg.started_at = earliest(leg.started_at, at)
        if kind in CALLGEAR_LEG_EMPLOYEE:
            called = _text(data, "called_phone_number")[:32]
            fill(leg, "called_number", called)
            if employee_id:
                leg.is_operator = True
                fill(leg, "employee_id", employee_id[:64])
                fill(leg, "employee_name", _text(data, "employee_full_name")[:200])
                if leg.agent_id is None:
                    leg.agent = legs.agent(account, employee_id)
            elif called and called == session.contact_number:
                fill(leg, "calling_number", session.virtual_number)
        if kind == "call_transferred" and employee_id and leg.employee_id == employee_id:
            leg.is_operator = True  # the third party now has the call, as its employee
        if kind == "talk_started":
            leg.answered_at = earliest(leg.answered_at, at)
        if leg_state is not None and (leg_state == L.ENDED or leg_newer(leg, mark)):
            leg_state_set(leg, leg_state, at)
        if leg_state == L.ENDED and kind == "leg_disconnected" and not _is_contact_leg(session, leg):
            # A consultation leg dropping puts the call back on hold (the sandbox's rule).
            if session.state == S.CONSULTING and aspect_newer(session, "state", mark):
                session_state_set(session, S.ON_HOLD)
                aspect_mark(session, "state", mark)
        leg_mark(leg, mark)
        legs.save(leg)

    if kind == "call_transferred" and aspect_newer(session, "state", mark):
        # The employee who transferred has left; only the contact and the third party stay.
        named = _leg_ids(data)
        for leg in legs.open():
            if leg.is_operator and leg.provider_leg_id not in named:
                leg_state_set(leg, L.ENDED, at)
                legs.save(leg)
    if kind == "talk_started":
        session.answered_at = earliest(session.answered_at, at)
    if kind in CALLGEAR_ENDING:
        reason = _text(data, "finish_reason") if kind == "call_ended" else "lost call"
        session_end(session, at=at, reason=reason or kind.replace("_", " "), force_reason=kind == "call_ended",
                    legs=legs)
        aspect_mark(session, "state", mark)
    else:
        state = CALLGEAR_SESSION_STATE.get(kind)
        if state is not None and aspect_newer(session, "state", mark):
            if session_state_set(session, state):
                aspect_mark(session, "state", mark)

    if kind in ("tag_added", "call_ended"):
        names = tag_names_from(account, _text(data, "tag_names"), data.get("tag_id"))
        newer = aspect_newer(session, "tags", mark)
        session.tags = tags_merge(list(session.tags or []), names, newer=newer)
        if newer:
            aspect_mark(session, "tags", mark)
    if kind == "recording_changed":
        state = _text(data, "recording_state").lower()
        if state in ("on", "off") and aspect_newer(session, "recording", mark):
            session.recording = state == "on"
            aspect_mark(session, "recording", mark)
    if kind == "recording_ready":
        fill(session, "recording_link", _text(data, "file_link")[:500])


def _is_contact_leg(session: CallSession, leg: Leg) -> bool:
    if leg.is_operator:
        return False
    number = session.contact_number
    return bool(number) and number in (leg.called_number, leg.calling_number)


# --- CCAI -----------------------------------------------------------------------------------

CCAI_SESSION_STATE: dict[str, str] = {
    "selecting": S.QUEUED,
    "queued": S.QUEUED,
    "assigned": S.RINGING,
    "connecting": S.RINGING,
    "connected": S.TALKING,
    "switching": S.CONSULTING,  # moving to another agent or menu
    "action_only": S.TALKING,
    "voicemail": S.TALKING,
    "scheduled": S.SCHEDULED,
}
CCAI_LEG_STATE: dict[str, str] = {
    "waiting": L.RINGING,
    "connecting": L.RINGING,
    "connected": L.TALKING,
    "finished": L.ENDED,
    "failed": L.ENDED,
}


def ccai_terminal(status: str | None) -> bool:
    from dashboard.providers.ccai.models import TERMINAL_STATUSES

    return status in TERMINAL_STATUSES


def ccai_direction(call_type: str | None) -> str:
    text = (call_type or "").lower()
    return CallSession.Direction.OUT if ("outbound" in text or "scheduled" in text) else CallSession.Direction.IN


def ccai_finish_reason(status: str | None, fail_reason: str | None) -> str:
    if fail_reason and fail_reason not in ("nothing", "none"):
        return f"{status}: {fail_reason}" if status else fail_reason
    return status or "ended"


def ccai_apply(session: CallSession, data: dict[str, Any], mark: Mark, legs: SessionLegs) -> None:
    from dashboard.providers.ccai.webhooks import parse_status_change

    change = parse_status_change(data)
    at = mark.at
    newer = aspect_newer(session, "state", mark)
    if newer or not session.details.get("call_type"):
        session.direction = ccai_direction(change.call_type)
        session.details = {**session.details, "call_type": change.call_type, "menu_id": change.menu_id}
    fill(session, "contact_number", (change.end_user_number or "")[:32])
    session.started_at = earliest(session.started_at, at)
    if change.scheduled_at:
        session.details = {**session.details, "scheduled_at": change.scheduled_at.isoformat()}
    if change.agent_email and aspect_newer(session, "agent", mark):
        agent = legs.agent(session.account, change.agent_email)
        if agent is not None or session.agent_id is None:
            session.agent = agent
        session.details = {**session.details, "agent_email": change.agent_email}
        aspect_mark(session, "agent", mark)
    ccai_participants_apply(session, change.participants, mark, agent_email=change.agent_email,
                            end_user_number=change.end_user_number, legs=legs)
    ccai_status_apply(session, change.status, change.fail_reason, mark, at=at, newer=newer, legs=legs)


def ccai_status_apply(session: CallSession, status: str | None, fail_reason: str | None, mark: Mark | None, *,
                      at: datetime | None, newer: bool, legs: SessionLegs | None = None) -> None:
    """The call's status onto the session: rank rule, ended is final (rule 5)."""
    if status == "connected":
        session.answered_at = earliest(session.answered_at, at)
    if ccai_terminal(status):
        if session.state != S.ENDED:
            session_end(session, at=at, reason=ccai_finish_reason(status, fail_reason), legs=legs)
            session.provider_status = status or ""
        if mark is not None:
            aspect_mark(session, "state", mark)
        return
    if not newer or session.state == S.ENDED:
        return
    if status:
        session.provider_status = status[:40]
    state = CCAI_SESSION_STATE.get(status or "")
    if state is not None:
        session_state_set(session, state)
    if mark is not None:
        aspect_mark(session, "state", mark)


def ccai_participants_apply(session: CallSession, participants: Any, mark: Mark | None, *,
                            agent_email: str | None, end_user_number: str | None,
                            agent_names: dict[int, str] | None = None, legs: SessionLegs | None = None) -> bool:
    """Participants as legs; each leg's state moves only forward in its own time line.
    Returns whether a leg changed (reconcile broadcasts only on change)."""
    legs = legs or SessionLegs(session)
    changed = False
    agents = [p for p in participants if p.type == "agent" and p.id is not None]
    # The call's agent is the newest agent participant still on the call (or the newest).
    current_agent = next((p for p in reversed(agents) if CCAI_LEG_STATE.get(p.status or "") != L.ENDED),
                         agents[-1] if agents else None)
    for p in participants:
        if p.id is None:
            continue
        leg, created = legs.get_or_create(str(p.id))
        before = (leg.state, leg.calling_number, leg.called_number, leg.employee_id, leg.agent_id, leg.answered_at,
                  leg.ended_at, leg.provider_state, leg.employee_name)
        leg.started_at = earliest(leg.started_at, p.connected_at)
        if p.type == "agent":
            leg.is_operator = True
            if p is current_agent and agent_email:
                fill(leg, "employee_id", agent_email[:64])
                if leg.agent_id is None:
                    leg.agent = legs.agent(session.account, agent_email)
            if agent_names and p.user_id in agent_names:
                fill(leg, "employee_name", agent_names[p.user_id][:200])
        elif end_user_number:
            field = "called_number" if session.direction == CallSession.Direction.OUT else "calling_number"
            fill(leg, field, end_user_number[:32])
        state = CCAI_LEG_STATE.get(p.status or "")
        leg.answered_at = earliest(leg.answered_at, p.connected_at)
        if state is not None and (state == L.ENDED or mark is None or leg_newer(leg, mark)):
            if leg_state_set(leg, state, p.ended_at if state == L.ENDED else p.connected_at):
                leg.provider_state = (p.status or "")[:40]
        if mark is not None:
            leg_mark(leg, mark)
        after = (leg.state, leg.calling_number, leg.called_number, leg.employee_id, leg.agent_id, leg.answered_at,
                 leg.ended_at, leg.provider_state, leg.employee_name)
        if created or before != after or mark is not None:
            legs.save(leg)
            changed = changed or created or before != after
    return changed
