"""Parsing the call object, the error table and the status webhooks."""

from __future__ import annotations

import json

import pytest

from dashboard.providers.ccai.errors import error_from_message
from dashboard.providers.ccai.models import Call, CallStatus, normalize_status
from dashboard.providers.ccai.rules import Msg, is_well_formed_phone, static_problem
from dashboard.providers.ccai.webhooks import build_status_change, parse_status_change

# The seed's "Call object" example (a list of one), as printed.
OBJECT_EXAMPLE = [
    {
        "id": 0,
        "parent_id": 0,
        "lang": "en",
        "call_type": "Voice Scheduled (API)",
        "status": "scheduled",
        "created_at": "2018-06-07T19:49:52.896Z",
        "queued_at": "2018-06-07T19:49:52.896Z",
        "assigned_at": "2018-06-07T19:49:52.896Z",
        "connected_at": "2018-06-07T19:49:52.896Z",
        "ends_at": "2018-06-07T19:49:52.896Z",
        "scheduled_at": "2018-06-07T19:49:52.896Z",
        "wait_duration": 0,
        "call_duration": 0,
        "hold_duration": 0,
        "rating": 0,
        "has_feedback": True,
        "voip_provider": "voip_provider_twilio",
        "out_ticket_id": "string",
        "out_ticket_url": "string",
        "verified": True,
        "recording_url": "string",
        "recording_permission": "not_asked",
        "voicemail_reason": "not_voicemail",
        "deflection": "no_deflection",
        "disconnected_by": "disconnected_by_unknown",
        "fail_details": "string",
        "fail_reason": "nothing",
        "support_number": "string",
        "selected_menu": {
            "id": 0,
            "name": "string",
            "parent_id": 0,
            "position": 0,
            "deleted": True,
            "hidden": "string",
            "menu_type": "ivr_menu",
            "output_msg": "string",
        },
        "menu_path": {"items_count": 0, "name": "string", "materialized_path": "string"},
        "agent_info": {
            "id": 0,
            "name": "string",
            "last_name": "string",
            "first_name": "string",
            "agent_number": "string",
            "avatar_url": "string",
        },
        "end_user": {"id": 0, "identifier": "string", "out_contact_id": "string"},
        "photos": [{"id": 0, "photo_type": "photo", "url": "string"}],
        "videos": [{"id": 0, "url": "string"}],
        "transfers": [
            {
                "id": 0,
                "status": "transferring",
                "fail_reason": "nothing",
                "created_at": "2018-06-07T19:49:52.896Z",
                "from_menu": {"items_count": 0, "name": "string", "materialized_path": "string"},
                "to_menu": {"items_count": 0, "name": "string", "materialized_path": "string"},
                "from_agent": {
                    "id": 0,
                    "name": "string",
                    "last_name": "string",
                    "first_name": "string",
                    "agent_number": "string",
                    "avatar_url": "string",
                },
                "to_agent": {
                    "id": 0,
                    "name": "string",
                    "last_name": "string",
                    "first_name": "string",
                    "agent_number": "string",
                    "avatar_url": "string",
                },
            }
        ],
        "participants": [
            {
                "id": 0,
                "type": "end_user",
                "status": "waiting",
                "call_id": 0,
                "user_id": 0,
                "end_user_id": 0,
                "call_duration": 0,
                "hold_duration": 0,
                "connected_at": "2018-06-07T19:49:52.896Z",
                "ended_at": "2018-06-07T19:49:52.896Z",
                "fail_reason": "nothing",
            }
        ],
    }
]


def test_the_call_object_example_parses_completely():
    call = Call.from_json(OBJECT_EXAMPLE[0])
    assert call.status == CallStatus.SCHEDULED and call.parent_id == 0
    assert call.scheduled_at is not None and call.scheduled_at.microsecond == 896000
    assert call.selected_menu is not None and call.selected_menu.hidden is False  # "string"
    assert call.transfers[0].status == "transferring"
    assert call.transfers[0].from_agent is not None and call.transfers[0].to_menu is not None
    assert call.participants[0].connected_at is not None
    assert call.photos[0]["photo_type"] == "photo"
    assert call.raw["voip_provider"] == "voip_provider_twilio"


def test_doc_slips_and_unknown_values_are_tolerated():
    call = Call.from_json(
        {
            "id": 5,
            "call_tye": "Voice Outbound (API)",
            "status": "Action Only Finished",
            "voicemail_reaso": "not_voicemail",
            "brand_new_key": 1,
            "transfers": [{"id": 1, "status": "x", "from_menu_path": {"name": "A"}}],
        }
    )
    assert call.call_type == "Voice Outbound (API)"
    assert call.status == "action_only_finished" and call.is_terminal
    assert call.voicemail_reason == "not_voicemail"
    assert call.transfers[0].from_menu is not None and call.transfers[0].from_menu.name == "A"
    assert Call.from_json({"id": 6, "status": "teleporting"}).status == "teleporting"
    assert normalize_status("Voicemail Received") == CallStatus.VOICEMAIL_RECEIVED
    with pytest.raises(ValueError):
        Call.from_json({"status": "queued"})


MESSAGES = [
    (Msg.INVALID_CALL_TYPE, "invalid_call_type", "call_type"),
    (Msg.AGENT_EMAIL_REQUIRED, "agent_email_required", "agent_email"),
    (Msg.NOT_A_VALID_AGENT_EMAIL, "invalid_agent_email", "agent_email"),
    (Msg.AGENT_NO_ACCESS, "agent_cannot_call", "agent_email"),
    (Msg.AGENT_NOT_AVAILABLE, "agent_not_available", "agent_email"),
    (Msg.TICKET_OR_NUMBER_REQUIRED, "end_user_required", "end_user_number"),
    (Msg.OUTBOUND_NUMBER_MALFORMED, "invalid_end_user_number", "end_user_number"),
    (Msg.NUMBER_MALFORMED, "invalid_end_user_number", "end_user_number"),
    (Msg.NUMBER_REQUIRED, "end_user_number_required", "end_user_number"),
    (Msg.CONTACT_NOT_FOUND, "contact_not_found", "ticket_id"),
    (Msg.MENU_ID_REQUIRED, "menu_id_required", "menu_id"),
    (Msg.MENU_ID_MALFORMED, "invalid_menu_id", "menu_id"),
    ("menu_id 9999 is not found", "menu_not_found", "menu_id"),
    (Msg.INBOUND_MENU_TYPES, "menu_type_not_permitted", "menu_id"),
    (Msg.SCHEDULED_MENU_TYPES, "menu_type_not_permitted", "menu_id"),
    (Msg.MENU_MANUAL_REDIRECTION, "menu_manual_redirection", "menu_id"),
    (Msg.MENU_AFTER_HOURS, "menu_after_hours", "menu_id"),
    ("Language 'fr' is not available", "language_not_available", "lang"),
    ("Language 'xy' is not found", "language_not_found", "lang"),
    (Msg.SCHEDULED_AT_REQUIRED, "scheduled_at_required", "scheduled_at"),
]


@pytest.mark.parametrize(("message", "mnemonic", "field"), MESSAGES)
def test_every_seed_message_has_a_mnemonic_and_field(message: str, mnemonic: str, field: str):
    error = error_from_message(message, status=400, request={"menu_id": 9999, "lang": "fr"})
    assert (error.mnemonic, error.field, error.code, error.status) == (mnemonic, field, 400, 400)
    assert error.describe() == f"{message}; field {field} [ccai: {mnemonic}]"


def test_values_are_taken_from_the_message():
    assert error_from_message("menu_id 9999 is not found", status=400).value == "9999"
    assert error_from_message("Language 'xy' is not found", status=400).value == "xy"
    unknown = error_from_message("Something new", status=400)
    assert (unknown.mnemonic, unknown.permanent) == ("bad_request", True)
    assert error_from_message(Msg.AGENT_NOT_AVAILABLE, status=400).permanent is False


def test_phone_reading():
    assert is_well_formed_phone("+1 205-123-4567")  # possible though not a valid exchange
    assert is_well_formed_phone("+82-10-6861-2345")
    assert not is_well_formed_phone("123123")
    assert not is_well_formed_phone("+1 999-657-12")
    assert not is_well_formed_phone("8596579625")  # no country: refused


def test_ticket_id_takes_precedence_so_the_number_is_not_checked():
    assert (
        static_problem(
            {
                "call_type": "Voice Outbound (API)",
                "agent_email": "a@b.co",
                "ticket_id": "71450",
                "end_user_number": "123123",
            }
        )
        is None
    )


def test_status_change_round_trip():
    body = build_status_change(
        call={
            "id": 3,
            "call_type": "Voice Inbound (API)",
            "status": "assigned",
            "fail_reason": "nothing",
            "scheduled_at": None,
            "participants": [{"id": 1, "type": "agent", "status": "waiting"}],
        },
        previous_status="queued",
        sequence=2,
        event_time="2026-01-01T10:00:03.000Z",
        end_user_number="+1 650-555-0100",
        agent_email="maria@somedomain.com",
        menu_id=9,
    )
    change = parse_status_change(json.dumps(body))
    assert (change.call_id, change.status, change.previous_status, change.sequence) == (
        3,
        "assigned",
        "queued",
        2,
    )
    assert change.menu_id == 9 and change.participants[0].type == "agent"
    with pytest.raises(ValueError):
        parse_status_change(b'{"event": "other"}')
    with pytest.raises(ValueError):
        parse_status_change({"event": "call.status_changed", "call_id": "x", "sequence": 1})
