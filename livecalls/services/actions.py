"""Call control: one function per action a person takes on a live call.

Each action calls the provider, records an audit entry (parameters, result, the
provider's code and mnemonic, latency) and returns an ``ActionResult``. On a provider
error nothing changes locally, except after call_session_not_found: the provider has
forgotten the call, so it is ended on the wall at once. On success only what the docs
make certain is applied at once (tags, the recording flag, CCAI customer flags) and
pushed to browsers; leg states (on hold, consulting, ended...) come from the provider's
notifications and the reconciler, never from here, so the wall shows what the provider
says happened.

The state rules in ``allowed_actions`` only grey out buttons. The services call the
provider whatever our copy of the state says: our copy may be a second behind, and when
it is right the person should read the provider's own words (``invalid_state``...).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from dashboard.audit import audit_record
from dashboard.models import AuditEntry, ProviderAccount
from dashboard.providers import accounts
from dashboard.providers.base import ProviderError
from dashboard.providers.callgear.client import CallGearClient
from dashboard.providers.callgear.models import Message
from dashboard.providers.ccai.client import CcaiClient
from dashboard.roles import perm
from dashboard.services import ActionResult
from livecalls.models import CallSession, Leg
from livecalls.services.live import session_broadcast
from livecalls.services.reconcile import session_end_gone

# Action names, as ``allowed_actions`` returns them and templates test them.
HOLD = "hold"
UNHOLD = "unhold"
CONSULT = "consult"
TRANSFER = "transfer"
RESTORE = "restore"
TAG = "tag"
RECORD_ON = "record_on"
RECORD_OFF = "record_off"
DTMF = "dtmf"
TALK_OPTION = "talk_option"
DISCONNECT = "disconnect"
RELEASE = "release"
BLOCK = "block"
COACH = "coach"
FLAGS = "flags"

# What a CallGear call can do in each of our session states (seed 003, "Diagram of call
# statuses"): hold.call only in talk, unhold.call only on hold, make.call only after
# hold.call, transfer.talk/restore.talk only after make.call (dialing or operator_talk),
# call.talk_option only in talk. Tags, recording, DTMF, leg disconnect, release and the
# blacklist are not tied to a state by the docs; we offer them while anyone is connected.
_ANY_LIVE = {TAG, DTMF, DISCONNECT, RELEASE, BLOCK}
_CALLGEAR_BY_STATE: dict[str, set[str]] = {
    CallSession.State.RINGING: {TAG, DISCONNECT, RELEASE, BLOCK},
    CallSession.State.TALKING: _ANY_LIVE | {HOLD, TALK_OPTION, COACH},
    CallSession.State.ON_HOLD: _ANY_LIVE | {UNHOLD, CONSULT},
    CallSession.State.CONSULTING: _ANY_LIVE | {TRANSFER, RESTORE},
    CallSession.State.QUEUED: {RELEASE, DISCONNECT, BLOCK},
    CallSession.State.SCHEDULED: set(),
    CallSession.State.ENDED: set(),
}

DEFAULT_HOLD_TTS = "Please hold the line, we will be right back with you."
SESSION_GONE = "call_session_not_found"  # CallGear's answer to any action on a finished session
FLAG_NAMES = ("verified_customer", "bad_actor", "repeat_customer")


def allowed_actions(session: CallSession, legs: Iterable[Leg] | None = None) -> set[str]:
    """The actions whose buttons are enabled for this session as we last saw it."""
    if session.ended_at is not None or session.state == CallSession.State.ENDED:
        return set()
    legs = list(session.legs.all() if legs is None else legs)
    if legs and all(leg.state == Leg.State.ENDED for leg in legs):
        return set()  # the end event has not been applied yet, but nobody is connected
    if session.account.kind == ProviderAccount.Kind.CCAI:
        return {FLAGS}
    if session.account.kind != ProviderAccount.Kind.CALLGEAR:
        return set()
    actions = set(_CALLGEAR_BY_STATE.get(session.state, set()))
    if actions & _ANY_LIVE:
        actions.add(RECORD_OFF if session.recording else RECORD_ON)
    if not any(leg.state != Leg.State.ENDED for leg in legs):
        actions.discard(DISCONNECT)
    return actions


# --- plumbing ------------------------------------------------------------------------


def _target(session: CallSession) -> str:
    return f"{session.account.kind} session {session.provider_session_id}"


def _call_id(session: CallSession) -> int:
    return int(session.provider_session_id)


def _wrong_provider(session: CallSession, user: Any, action: str, kind: str) -> ActionResult:
    result = ActionResult(False, f"This action is only for {kind} calls.")
    audit_record(user=user, action=action, result=AuditEntry.Result.ERROR, account=session.account,
                 target=_target(session), message=result.summary)
    return result


def _perform(
    *,
    session: CallSession,
    user: Any,
    action: str,
    parameters: Mapping[str, Any],
    work: Callable[[], Awaitable[Any]],
    summary: str | Callable[[Any], str],
    apply: Callable[[Any], bool] | None = None,
) -> ActionResult:
    """Run one provider call, audit it, and on success apply the local change.

    ``apply`` gets the provider's answer and returns whether it changed the session (then
    the card is pushed to browsers after commit)."""
    started = time.perf_counter()
    try:
        answer = accounts.run(work)
    except ProviderError as exc:
        latency = (time.perf_counter() - started) * 1000
        result = ActionResult(False, exc.describe(), latency, error=exc)
    else:
        latency = (time.perf_counter() - started) * 1000
        if answer is False:
            # The docs answer {"success": "true"}; anything else is not a confirmation.
            result = ActionResult(False, f"{session.account.get_kind_display()} did not confirm {action}.", latency)
        else:
            text = summary(answer) if callable(summary) else summary
            result = ActionResult(True, text, latency, details=_details(answer))
    audit_record(
        user=user, action=action, result=AuditEntry.Result.OK if result.ok else AuditEntry.Result.ERROR,
        account=session.account, target=_target(session), parameters=dict(parameters), error=result.error,
        message=result.summary, latency_ms=result.latency_ms,
    )
    if result.ok and apply is not None:
        with transaction.atomic():
            if apply(answer):
                session_broadcast(session=session)
    if result.error is not None and result.error.mnemonic == SESSION_GONE and _is_callgear(session):
        # The provider has forgotten the call: it is over, whatever the wall still showed.
        session_end_gone(session_id=session.pk, reason="call session not found")
        result = replace(result, summary=f"This call has already ended; it is shown as ended now. {result.summary}")
    return result


def _details(answer: Any) -> dict[str, Any]:
    if isinstance(answer, Mapping):
        return dict(answer)
    return {}


def _callgear(session: CallSession, fn: Callable[[CallGearClient, int], Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
    account, call_id = session.account, _call_id(session)

    async def work() -> Any:
        async with accounts.open_callgear(account) as client:
            return await fn(client, call_id)

    return work


def _ccai(session: CallSession, fn: Callable[[CcaiClient, int], Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
    account, call_id = session.account, _call_id(session)

    async def work() -> Any:
        async with accounts.open_ccai(account) as client:
            return await fn(client, call_id)

    return work


def _is_callgear(session: CallSession) -> bool:
    return session.account.kind == ProviderAccount.Kind.CALLGEAR


def _locked(session: CallSession) -> CallSession:
    # A webhook may be updating the same row: read-modify-write under a row lock, so a
    # tag added here and a state applied there both survive.
    return CallSession.objects.select_for_update().get(pk=session.pk)


def reference(session: CallSession, key: str) -> list[dict[str, Any]]:
    """A picker list from the account's reference data (tags, media_files, employees...)."""
    items = (session.account.reference_data or {}).get(key) or []
    return [item for item in items if isinstance(item, Mapping)]


def _tag_name(session: CallSession, tag_id: int) -> str:
    for tag in reference(session, "tags"):
        if str(tag.get("id")) == str(tag_id):
            return str(tag.get("name") or tag_id)
    return f"#{tag_id}"


def _digits(number: str | None) -> str:
    """A typed number as CallGear takes it: E.164 digits without "+", spaces or dashes.
    Anything else (a SIP id) is left for the client's documented check to judge."""
    text = (number or "").strip()
    cleaned = text.lstrip("+").replace(" ", "").replace("-", "").replace("(", "").replace(")", "")
    return cleaned if cleaned.isdigit() else text


def _employee(session: CallSession, employee_id: int) -> Mapping[str, Any] | None:
    return next((e for e in reference(session, "employees") if str(e.get("id")) == str(employee_id)), None)


# --- hold, consult, transfer, restore ------------------------------------------------------


def call_hold(*, session: CallSession, user: Any, media_file_id: int | str | None = None,
              tts: str | None = None) -> ActionResult:
    """hold.call: the contact hears the hold message (a media file or a TTS text).

    The docs make the message required; without a choice we play the account's first
    media file, else a short spoken text, rather than refuse a person in a hurry."""
    if not _is_callgear(session):
        return _wrong_provider(session, user, "call.hold", "CallGear")
    tts = (tts or "").strip() or None
    if tts is not None:
        message = Message.tts(tts)
    elif media_file_id not in (None, ""):
        message = Message.media(media_file_id)
    else:
        media = reference(session, "media_files")
        message = Message.media(media[0]["id"]) if media else Message.tts(DEFAULT_HOLD_TTS)
    return _perform(
        session=session, user=user, action="call.hold", parameters={"contact_message": message.as_param()},
        work=_callgear(session, lambda c, sid: c.hold_call(sid, contact_message=message)),
        summary="Call put on hold.",
    )


def call_unhold(*, session: CallSession, user: Any) -> ActionResult:
    if not _is_callgear(session):
        return _wrong_provider(session, user, "call.unhold", "CallGear")
    return _perform(session=session, user=user, action="call.unhold", parameters={},
                    work=_callgear(session, lambda c, sid: c.unhold_call(sid)), summary="Back with the caller.")


def call_consult(*, session: CallSession, user: Any, to: str | None = None,
                 employee_id: int | str | None = None) -> ActionResult:
    """make.call: dial a third party (a number, or an employee's first phone number)
    while the contact is on hold."""
    if not _is_callgear(session):
        return _wrong_provider(session, user, "call.consult", "CallGear")
    to = _digits(to)
    label = to
    if not to and employee_id not in (None, ""):
        employee = _employee(session, employee_id)
        if employee is None:
            result = ActionResult(False, f"Employee {employee_id} is not in this account's employee list.")
            audit_record(user=user, action="call.consult", result=AuditEntry.Result.ERROR, account=session.account,
                         target=_target(session), parameters={"employee_id": employee_id}, message=result.summary)
            return result
        numbers = [str(n) for n in employee.get("phone_numbers") or []]
        # The extension reaches the employee inside the PBX when no direct number is set.
        to = numbers[0] if numbers else str(employee.get("extension") or "")
        label = str(employee.get("full_name") or to)
    parameters = {"to": to, "employee_id": employee_id} if employee_id else {"to": to}
    return _perform(session=session, user=user, action="call.consult", parameters=parameters,
                    work=_callgear(session, lambda c, sid: c.make_call(sid, to=to)),
                    summary=f"Calling {label} for a consultation; the caller is on hold.")


def call_transfer(*, session: CallSession, user: Any) -> ActionResult:
    if not _is_callgear(session):
        return _wrong_provider(session, user, "call.transfer", "CallGear")
    return _perform(session=session, user=user, action="call.transfer", parameters={},
                    work=_callgear(session, lambda c, sid: c.transfer_talk(sid)),
                    summary="Caller transferred to the consulted party.")


def call_restore(*, session: CallSession, user: Any) -> ActionResult:
    if not _is_callgear(session):
        return _wrong_provider(session, user, "call.restore", "CallGear")
    return _perform(session=session, user=user, action="call.restore", parameters={},
                    work=_callgear(session, lambda c, sid: c.restore_talk(sid)),
                    summary="Consultation ended; back with the caller.")


# --- tags, recording, keypad, talk options -------------------------------------------------


def call_tag(*, session: CallSession, user: Any, tag_id: int) -> ActionResult:
    if not _is_callgear(session):
        return _wrong_provider(session, user, "call.tag", "CallGear")
    name = _tag_name(session, tag_id)

    def apply(_answer: Any) -> bool:
        row = _locked(session)
        if name in row.tags:
            return False
        row.tags = [*row.tags, name]
        row.save(update_fields=["tags", "updated_at"])
        session.tags = row.tags
        return True

    return _perform(session=session, user=user, action="call.tag", parameters={"tag_id": tag_id, "tag": name},
                    work=_callgear(session, lambda c, sid: c.tag_call(sid, tag_id=int(tag_id))),
                    summary=f"Tagged “{name}”.", apply=apply)


def call_record(*, session: CallSession, user: Any, action: str) -> ActionResult:
    """record.call on/off. An unknown ``action`` is refused by the client's own check
    (the documented invalid_parameter_value), audited like any provider error."""
    if not _is_callgear(session):
        return _wrong_provider(session, user, "call.record", "CallGear")

    def apply(_answer: Any) -> bool:
        row = _locked(session)
        row.recording = action == "on"
        row.save(update_fields=["recording", "updated_at"])
        session.recording = row.recording
        return True

    return _perform(session=session, user=user, action="call.record", parameters={"action": action},
                    work=_callgear(session, lambda c, sid: c.record_call(sid, action=action)),
                    summary="Recording started." if action == "on" else "Recording stopped.", apply=apply)


def call_send_dtmf(*, session: CallSession, user: Any, digits: str) -> ActionResult:
    digits = (digits or "").strip()
    if not _is_callgear(session):
        return _wrong_provider(session, user, "call.dtmf", "CallGear")
    return _perform(session=session, user=user, action="call.dtmf", parameters={"dtmf_string": digits},
                    work=_callgear(session, lambda c, sid: c.send_dtmf(sid, dtmf_string=digits)),
                    summary=f"Sent {digits}.")


def talk_options_list(*, session: CallSession, user: Any) -> ActionResult:
    """list.talk_options: the buttons set up in the PBX. A read, so not audited unless it
    fails (a failure is what support asks about)."""
    if not _is_callgear(session):
        return ActionResult(False, "Talk options are a CallGear feature.")
    started = time.perf_counter()

    async def work() -> Any:
        async with accounts.open_callgear(session.account) as client:
            return await client.list_talk_options()

    try:
        options = accounts.run(work)
    except ProviderError as exc:
        result = ActionResult(False, exc.describe(), (time.perf_counter() - started) * 1000, error=exc)
        audit_record(user=user, action="call.talk_options", result=AuditEntry.Result.ERROR, account=session.account,
                     target=_target(session), error=exc, latency_ms=result.latency_ms)
        return result
    rows = [{"button": o.button, "name": o.name, "mnemonic": o.mnemonic, "value": o.button_value} for o in options]
    return ActionResult(True, f"{len(rows)} talk option(s).", (time.perf_counter() - started) * 1000,
                        details={"options": rows})


def call_talk_option(*, session: CallSession, user: Any, button: str) -> ActionResult:
    """call.talk_option. What an option does (tag, record, coach, finish) arrives as
    notifications, so nothing is applied here."""
    if not _is_callgear(session):
        return _wrong_provider(session, user, "call.talk_option", "CallGear")
    button = str(button or "").strip()
    return _perform(session=session, user=user, action="call.talk_option", parameters={"button": button},
                    work=_callgear(session, lambda c, sid: c.call_talk_option(sid, button=button)),
                    summary=f"Talk option {button} called.")


# --- legs and the whole call ---------------------------------------------------------------


def call_disconnect_leg(*, session: CallSession, user: Any, leg_id: int | str) -> ActionResult:
    """disconnect.leg. ``leg_id`` is the provider's leg id; the provider checks it belongs
    to the session (leg_not_found otherwise). Dropping the contact ends the session."""
    if not _is_callgear(session):
        return _wrong_provider(session, user, "call.disconnect_leg", "CallGear")
    try:
        leg_number = int(str(leg_id))
    except ValueError:
        result = ActionResult(False, "Choose a participant to disconnect.")
        audit_record(user=user, action="call.disconnect_leg", result=AuditEntry.Result.ERROR,
                     account=session.account, target=_target(session), parameters={"leg_id": str(leg_id)},
                     message=result.summary)
        return result
    return _perform(session=session, user=user, action="call.disconnect_leg", parameters={"leg_id": leg_number},
                    work=_callgear(session, lambda c, sid: c.disconnect_leg(sid, leg_id=leg_number)),
                    summary="Participant disconnected.")


def call_release(*, session: CallSession, user: Any) -> ActionResult:
    if not _is_callgear(session):
        return _wrong_provider(session, user, "call.release", "CallGear")
    return _perform(session=session, user=user, action="call.release", parameters={},
                    work=_callgear(session, lambda c, sid: c.release_call(sid)), summary="Call released.")


def call_block_contact(*, session: CallSession, user: Any) -> ActionResult:
    if not _is_callgear(session):
        return _wrong_provider(session, user, "call.block_contact", "CallGear")
    return _perform(session=session, user=user, action="call.block_contact",
                    parameters={"contact": session.contact_number},
                    work=_callgear(session, lambda c, sid: c.block_contact(sid)),
                    summary=f"{session.contact_number or 'The caller'} is on the blacklist now.")


def call_add_coach(*, session: CallSession, user: Any, phone_number: str | None = None) -> ActionResult:
    """add.coach: the coach from the PBX settings, or the one at ``phone_number``.
    Supervisors only (coach_calls); checked here too, since a coach hears everything."""
    if not user.has_perm(perm("coach_calls")):
        audit_record(user=user, action="call.coach", result=AuditEntry.Result.DENIED, account=session.account,
                     target=_target(session), message="coach_calls permission missing")
        raise PermissionDenied
    if not _is_callgear(session):
        return _wrong_provider(session, user, "call.coach", "CallGear")
    number = _digits(phone_number) or None
    return _perform(session=session, user=user, action="call.coach", parameters={"phone_number": number},
                    work=_callgear(session, lambda c, sid: c.add_coach(sid, phone_number=number)),
                    summary="Coach is being called into the conversation.")


# --- CCAI customer flags ------------------------------------------------------------------


def _flags_dict(flags: Any) -> dict[str, bool]:
    return {name: bool(getattr(flags, name)) for name in FLAG_NAMES if getattr(flags, name) is not None}


def _store_flags(session: CallSession, flags: Any) -> bool:
    values = _flags_dict(flags)
    row = _locked(session)
    merged = {**(row.customer_flags or {}), **values}
    if merged == row.customer_flags:
        session.customer_flags = merged
        return False
    row.customer_flags = merged
    row.save(update_fields=["customer_flags", "updated_at"])
    session.customer_flags = merged
    return True


def customer_flags_get(*, session: CallSession, user: Any) -> ActionResult:
    """Read the CCAI call's customer flags and keep them on the session."""
    if session.account.kind != ProviderAccount.Kind.CCAI:
        return ActionResult(False, "Customer flags are a CCAI feature.")
    started = time.perf_counter()
    try:
        flags = accounts.run(_ccai(session, lambda c, call_id: c.get_customer_flags(call_id)))
    except ProviderError as exc:
        result = ActionResult(False, exc.describe(), (time.perf_counter() - started) * 1000, error=exc)
        audit_record(user=user, action="call.flags_get", result=AuditEntry.Result.ERROR, account=session.account,
                     target=_target(session), error=exc, latency_ms=result.latency_ms)
        return result
    with transaction.atomic():
        if _store_flags(session, flags):
            session_broadcast(session=session)
    return ActionResult(True, "Customer flags refreshed.", (time.perf_counter() - started) * 1000,
                        details=_flags_dict(flags))


def customer_flags_update(*, session: CallSession, user: Any, verified_customer: bool | None = None,
                          bad_actor: bool | None = None, repeat_customer: bool | None = None) -> ActionResult:
    """PATCH only the flags given; the answer (or a read-back) becomes the session's copy."""
    if session.account.kind != ProviderAccount.Kind.CCAI:
        return _wrong_provider(session, user, "call.flags_update", "CCAI")
    changes = {name: value for name, value in (("verified_customer", verified_customer), ("bad_actor", bad_actor),
                                                ("repeat_customer", repeat_customer)) if value is not None}
    return _perform(
        session=session, user=user, action="call.flags_update", parameters=changes,
        work=_ccai(session, lambda c, call_id: c.update_customer_flags(call_id, **changes)),
        summary="Customer flags saved.", apply=lambda flags: _store_flags(session, flags),
    )
