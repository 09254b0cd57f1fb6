"""The documented rules of ``POST /apps/api/v1/calls``, shared by the client (checks before
sending) and the sandbox twin (answers after receiving), so both ends agree on every reading.

Message texts are the seed's, byte for byte, including its inconsistencies: the outbound
call answers "end_user_number is not well-formed" (hyphen) while incoming and scheduled calls
answer "end_user_number is not well formed" (no hyphen). Texts marked INVENTED are answers the
seed does not document (a past ``scheduled_at``, an unknown parent ``call_id``...); the sandbox
needs some answer there and we keep them short and in the seed's style.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import phonenumbers

__all__ = [
    "CALL_TYPE_ALIASES",
    "CALL_TYPE_INBOUND",
    "CALL_TYPE_OUTBOUND",
    "CALL_TYPE_SCHEDULED",
    "ISO_639_1",
    "RECORDING_PERMISSIONS",
    "Msg",
    "canonical_call_type",
    "is_agent_email",
    "is_well_formed_phone",
    "menu_id_value",
    "parse_scheduled_at",
    "static_problem",
    "ticket_id_value",
]

CALL_TYPE_OUTBOUND = "Voice Outbound (API)"
CALL_TYPE_INBOUND = "Voice Inbound (API)"
CALL_TYPE_SCHEDULED = "Voice Scheduled (API)"

# The deprecated names are still accepted ("available for now", say the parameter tables).
# One outbound example answers "Invalid call type" to "ScheduledCall" sent with outbound
# fields; we read that as a copy slip (the tables list ScheduledCall as valid) and do not
# reject aliases.
CALL_TYPE_ALIASES: dict[str, str] = {
    CALL_TYPE_OUTBOUND: CALL_TYPE_OUTBOUND,
    CALL_TYPE_INBOUND: CALL_TYPE_INBOUND,
    CALL_TYPE_SCHEDULED: CALL_TYPE_SCHEDULED,
    "OutboundCall": CALL_TYPE_OUTBOUND,
    "IncomingCall": CALL_TYPE_INBOUND,
    "ScheduledCall": CALL_TYPE_SCHEDULED,
}

RECORDING_PERMISSIONS = frozenset(
    {
        "recording_permission_not_asked",
        "recording_permission_denied",
        "recording_permission_granted",
    }
)


class Msg:
    """Every 400 ``message`` of the seed, and the few we had to invent."""

    INVALID_CALL_TYPE = "Invalid call type"
    AGENT_EMAIL_REQUIRED = "Agent email required"
    NOT_A_VALID_AGENT_EMAIL = "Not a valid agent email"
    AGENT_NO_ACCESS = "Agent does not have access to make calls"
    AGENT_NOT_AVAILABLE = "Agent is not available to take this call"
    TICKET_OR_NUMBER_REQUIRED = "ticket_id or end_user_number required"
    OUTBOUND_NUMBER_MALFORMED = "end_user_number is not well-formed"
    CONTACT_NOT_FOUND = "Contact not found"
    NUMBER_MALFORMED = "end_user_number is not well formed"
    NUMBER_REQUIRED = "end_user_number is required"
    MENU_ID_REQUIRED = "menu_id is required"
    MENU_ID_MALFORMED = "menu_id is not well formed"
    MENU_NOT_FOUND = "menu_id {menu_id} is not found"
    INBOUND_MENU_TYPES = "Only IVR and mobile menu IDs are permitted"
    SCHEDULED_MENU_TYPES = "Only mobile and web menu IDs are permitted"
    MENU_MANUAL_REDIRECTION = "Menu is in 'manual redirection' state, can't accept calls"
    MENU_AFTER_HOURS = "Menu is in 'after hours' state, can't accept incoming calls"
    LANGUAGE_NOT_AVAILABLE = "Language '{lang}' is not available"
    LANGUAGE_NOT_FOUND = "Language '{lang}' is not found"
    SCHEDULED_AT_REQUIRED = "scheduled_at is required"
    # INVENTED: the seed says "ISO 8601 format to a valid future time" but shows no error.
    SCHEDULED_AT_MALFORMED = "scheduled_at is not well formed"
    SCHEDULED_AT_NOT_FUTURE = "scheduled_at must be a future time"
    # INVENTED: the seed documents call_id (parent call) but no error for it.
    CALL_ID_MALFORMED = "call_id is not well formed"
    CALL_NOT_FOUND = "call_id {call_id} is not found"
    # INVENTED: the seed lists the three accepted values but no error for others.
    RECORDING_PERMISSION_INVALID = "recording_permission is not valid"
    # INVENTED: customer_flag PATCH with a value that is not a boolean.
    FLAG_NOT_BOOLEAN = "{flag} must be a boolean"


# ISO 639-1 (the seed: "Uses ISO 639-1 codes"). A code outside this list is "not found";
# a listed code the company has not enabled is "not available".
ISO_639_1 = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu
    cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho
    hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv
    kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr
    nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq
    sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh
    yi yo za zh zu""".split()
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def canonical_call_type(value: Any) -> str | None:
    """The current name of a call type, or None when it is not one the API accepts."""
    return CALL_TYPE_ALIASES.get(value) if isinstance(value, str) else None


def is_agent_email(value: Any) -> bool:
    return isinstance(value, str) and bool(_EMAIL.match(value.strip()))


def is_well_formed_phone(value: Any) -> bool:
    """Reading: "well-formed" means a possible number in international form.

    The seed rejects "123123" and "+1 999-657-12" yet accepts "+1 205-123-4567", whose
    exchange 123 is not a valid NANP exchange: so the check is on length per country
    (libphonenumber's "possible"), not on validity. A number without a leading "+" has no
    country and is refused; the dashboard stores E.164 numbers anyway.
    """
    if not isinstance(value, str) or not value.strip().startswith("+"):
        return False
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_possible_number(parsed)


def menu_id_value(value: Any) -> int | None:
    """The seed types menu_id as Integer and rejects "menu_999"; a digit string is read as
    the integer it spells (JSON clients often send ids as strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def parse_scheduled_at(value: Any) -> datetime | None:
    """ISO 8601 with a zone ("2019-09-15T00:19:14.421Z"); a naive time is read as UTC,
    which is what a Rails backend does with a zoneless timestamp."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def ticket_id_value(value: Any) -> str | None:
    """The tables type ticket_id as String, one example sends the integer 1: take both."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def static_problem(body: Any) -> str | None:
    """The first rule a create-call body breaks that needs no knowledge of the account.

    The client refuses such bodies before sending; the sandbox runs the same checks first,
    then the ones that need its world (agents, menus, tickets, languages, the clock), so
    both ends give the same message for the same body.
    """
    if not isinstance(body, dict):
        return Msg.INVALID_CALL_TYPE
    call_type = canonical_call_type(body.get("call_type"))
    if call_type is None:
        return Msg.INVALID_CALL_TYPE
    has_ticket = ticket_id_value(body.get("ticket_id")) is not None
    number = body.get("end_user_number")
    if call_type == CALL_TYPE_OUTBOUND:
        if _blank(body.get("agent_email")):
            return Msg.AGENT_EMAIL_REQUIRED
        if not is_agent_email(body.get("agent_email")):
            return Msg.NOT_A_VALID_AGENT_EMAIL
        if not has_ticket and _blank(number):
            return Msg.TICKET_OR_NUMBER_REQUIRED
        # ticket_id has the higher priority: the number is not dialled, so not checked.
        if not has_ticket and not is_well_formed_phone(number):
            return Msg.OUTBOUND_NUMBER_MALFORMED
    else:
        has_parent = not _blank(body.get("call_id"))
        if call_type == CALL_TYPE_SCHEDULED and has_parent:
            value = body.get("call_id")
            if isinstance(value, bool) or menu_id_value(value) is None:
                return Msg.CALL_ID_MALFORMED
        # "When call ID is being used, menu_id can be optional" (scheduled calls only).
        if _blank(body.get("menu_id")):
            if not (call_type == CALL_TYPE_SCHEDULED and has_parent):
                return Msg.MENU_ID_REQUIRED
        elif menu_id_value(body.get("menu_id")) is None:
            return Msg.MENU_ID_MALFORMED
        # end_user_number is marked required even when a ticket_id is given.
        if _blank(number):
            return Msg.NUMBER_REQUIRED
        if not has_ticket and not is_well_formed_phone(number):
            return Msg.NUMBER_MALFORMED
        if call_type == CALL_TYPE_SCHEDULED:
            if _blank(body.get("scheduled_at")):
                return Msg.SCHEDULED_AT_REQUIRED
            if parse_scheduled_at(body.get("scheduled_at")) is None:
                return Msg.SCHEDULED_AT_MALFORMED
        permission = body.get("recording_permission")
        if permission is not None and permission not in RECORDING_PERMISSIONS:
            return Msg.RECORDING_PERMISSION_INVALID
    lang = body.get("lang")
    if lang is not None and (not isinstance(lang, str) or lang.strip().lower() not in ISO_639_1):
        return Msg.LANGUAGE_NOT_FOUND.format(lang=lang)
    return None
