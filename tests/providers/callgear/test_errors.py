"""Every documented error, answered by the sandbox and raised by the client as CallGearError."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from dashboard.providers.callgear.errors import CATALOGUE, CallGearError
from dashboard.providers.callgear.models import Message

from .conftest import VNUM, make_client, raw_rpc, talking_call

BLACKLISTED = "79169999999"


def check(
    err: CallGearError, code: int, mnemonic: str, message: str, field: str | None = None
) -> None:
    assert (err.code, err.mnemonic, err.message) == (code, mnemonic, message)
    assert err.provider == "callgear"
    assert err.status == 200  # JSON-RPC errors travel with HTTP 200
    if field is not None:
        assert err.field == field


async def raises(coro: Any) -> CallGearError:
    with pytest.raises(CallGearError) as caught:
        await coro
    return caught.value


def envelope(method: str, params: dict[str, Any], rid: Any = "req1") -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}


# --- JSON-RPC framing -------------------------------------------------------------------------


async def test_parse_error(app):
    status, reply = await raw_rpc(app, b'{"jsonrpc": "2.0", "id": ')
    assert status == 200
    assert reply == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {
            "code": -32700,
            "message": "Invalid JSON was received by the server.",
            "data": {
                "mnemonic": "parse_error",
                "field": None,
                "value": None,
                "params": {},
                "extended_helper": None,
            },
        },
    }


@pytest.mark.parametrize(
    "body",
    [
        {"jsonrpc": "1.0", "id": "a", "method": "list.calls", "params": {}},
        {"jsonrpc": "2.0", "id": "a", "method": "list.calls"},
        {"jsonrpc": "2.0", "id": {"x": 1}, "method": "list.calls", "params": {}},
        {"jsonrpc": "2.0", "id": "a", "method": 5, "params": {}},
        b'"just a string"',
        b"42",
    ],
)
async def test_invalid_request(app, body):
    _, reply = await raw_rpc(app, body)
    assert reply["error"]["code"] == -32600
    assert reply["error"]["data"]["mnemonic"] == "invalid_request"
    assert (
        reply["error"]["message"] == "Invalid Request The JSON sent is not a valid Request object"
    )
    assert "metadata" not in reply  # no limits on framing errors (docs)


async def test_method_not_found(app, twin):
    _, reply = await raw_rpc(
        app, envelope("list.everything", {"access_token": twin.world["access_key"]})
    )
    assert reply["id"] == "req1"
    assert (
        reply["error"]["code"],
        reply["error"]["data"]["mnemonic"],
        reply["error"]["message"],
    ) == (-32601, "method_not_found", "The method does not exist / is not available")


async def test_batch_is_refused_with_the_docs_spelling(app, twin):
    one = envelope("list.calls", {"access_token": twin.world["access_key"]})
    _, reply = await raw_rpc(app, [one, one])
    assert (
        reply["error"]["code"],
        reply["error"]["data"]["mnemonic"],
        reply["error"]["message"],
    ) == (-32099, "batch_opreations_not_supported", "Batch operations not supported")


async def test_notifications_are_refused(app, twin):
    body = {
        "jsonrpc": "2.0",
        "method": "list.calls",
        "params": {"access_token": twin.world["access_key"]},
    }
    _, reply = await raw_rpc(app, body)
    assert (
        reply["error"]["code"],
        reply["error"]["data"]["mnemonic"],
        reply["error"]["message"],
    ) == (-32099, "notifications_not_supported", "Notifications not supported")


@pytest.mark.parametrize(
    "headers,encoding",
    [
        ({"Content-Type": "application/json; charset=UTF-8"}, "cp1251"),
        ({"Content-Type": "application/json; charset=windows-1251"}, "utf-8"),
    ],
)
async def test_character_encoding_not_allowed(app, twin, headers, encoding):
    body = {
        "jsonrpc": "2.0",
        "id": "r",
        "method": "start.informer_call",
        "params": {
            "access_token": twin.world["access_key"],
            "virtual_phone_number": "74993720692",
            "contact": "79161234567",
            "contact_message": {"type": "tts", "value": "Здравствуйте"},
        },
    }
    text = json.dumps(body, ensure_ascii=False)
    _, reply = await raw_rpc(app, text.encode(encoding), headers=headers)
    assert (
        reply["error"]["code"],
        reply["error"]["data"]["mnemonic"],
        reply["error"]["message"],
    ) == (-32602, "character_encoding_not_allowed", "The character encoding must be UTF-8")


# --- parameter validation, through the client's raw ``call`` (no local checks) -------------


@pytest.mark.parametrize(
    "params,mnemonic,message,field,value",
    [
        (
            {"direction": "in", "colour": "red"},
            "unexpected_parameters",
            "Unexpected method parameter(s)",
            "colour",
            "red",
        ),
        (
            {"direction": 1},
            "data_type_error",
            "Data supplied is of wrong type",
            "direction",
            "number",
        ),
        (
            {"direction": "sideways"},
            "invalid_parameter_value",
            "Invalid parameter value",
            "direction",
            "sideways",
        ),
        (
            {"virtual_phone_number": "+74993720692"},
            "invalid_parameter_value",
            "Invalid parameter value",
            "virtual_phone_number",
            "+74993720692",
        ),
    ],
)
async def test_parameter_errors(key_client, params, mnemonic, message, field, value):
    err = await raises(key_client.call("list.calls", params))
    check(err, -32602, mnemonic, message, field)
    assert err.value == value
    assert key_client.limits is not None  # parameter errors still report limits


async def test_required_parameter_missed_names_nested_fields(key_client):
    err = await raises(
        key_client.call(
            "start.employee_call",
            {
                "virtual_phone_number": VNUM,
                "contact": "79161234567",
                "first_call": "employee",
                "employee": {},
            },
        )
    )
    check(
        err,
        -32602,
        "required_parameter_missed",
        "The required parameter has been missed",
        "employee.id",
    )
    assert err.value is None


async def test_data_type_error_for_a_number_sent_as_contact(key_client):
    err = await raises(
        key_client.call(
            "start.informer_call",
            {
                "virtual_phone_number": VNUM,
                "contact": 79161234567,
                "contact_message": {"type": "tts", "value": "x"},
            },
        )
    )
    check(err, -32602, "data_type_error", "Data supplied is of wrong type", "contact")
    assert err.value == "number"  # as the docs' error example


async def test_invalid_parameters_combination_from_the_sandbox(key_client):
    err = await raises(
        key_client.call(
            "start.employee_call",
            {
                "virtual_phone_number": VNUM,
                "contact": "79161234567",
                "first_call": "contact",
                "switch_at_once": True,
                "early_switching": True,
                "employee": {"id": 25},
            },
        )
    )
    check(
        err,
        -32602,
        "invalid_parameters_combination",
        "The combination of parameters is not permitted",
        "early_switching",
    )


# --- authentication and access ----------------------------------------------------------------


async def test_auth_error(app, clock, sleeps):
    async with make_client(app, clock, sleeps, password="wrong") as client:
        err = await raises(client.list_calls())
    check(err, -32001, "auth_error", "Login or password is wrong")


async def test_access_token_invalid(app, clock, sleeps):
    async with make_client(
        app, clock, sleeps, login=None, password=None, access_key="nope"
    ) as client:
        err = await raises(client.list_calls())
    check(err, -32001, "access_token_invalid", "Access token is invalid")
    assert client.limits is None  # auth errors carry no limits


async def test_access_token_blocked(app, clock, sleeps, twin):
    async with make_client(
        app, clock, sleeps, login=None, password=None, access_key=twin.world["blocked_access_key"]
    ) as client:
        err = await raises(client.list_calls())
    check(err, -32001, "access_token_blocked", "Access token has been blocked")


async def test_access_token_expired_for_a_session_key_past_its_hour(app, twin, clock, client):
    session = await client.login_user()
    clock.advance(3601)
    _, reply = await raw_rpc(app, envelope("list.calls", {"access_token": session.access_token}))
    assert (
        reply["error"]["code"],
        reply["error"]["data"]["mnemonic"],
        reply["error"]["message"],
    ) == (-32001, "access_token_expired", "Access token has been expired")


async def test_ip_not_whitelisted(twin, key_client):
    twin.ip_whitelist = {"10.0.0.1"}
    err = await raises(key_client.list_calls())
    check(err, -32003, "ip_not_whitelisted", "Your IP 127.0.0.1 is not whitelisted")


async def test_component_disabled(twin, key_client):
    twin.disabled_components = {"Call API Informer calls"}
    err = await raises(
        key_client.start_informer_call(
            virtual_phone_number=VNUM, contact="79161234567", contact_message=Message.tts("hi")
        )
    )
    check(err, -32008, "component_disabled", "Component Call API Informer calls has been disabled")


async def test_account_inactive(twin, key_client):
    twin.account_active = False
    err = await raises(key_client.list_talk_options())
    check(
        err,
        -32009,
        "account_inactive",
        "Your account has been disabled, contact the support service",
    )


async def test_internal_error_is_transient(twin, key_client):
    twin.internal_error_methods = {"call.talk_option"}
    err = await raises(key_client.call_talk_option(1, button="1"))
    check(err, -32603, "internal_error", "Internal error, contact the support service")
    assert err.permanent is False


# --- starting calls --------------------------------------------------------------------------


def start(client, method: str, **over: Any):
    contact = over.pop("contact", "79161234567")
    if method == "start.employee_call":
        return client.start_employee_call(
            virtual_phone_number=over.pop("vnum", VNUM),
            contact=contact,
            employee_id=over.pop("employee_id", 25),
            **over,
        )
    if method == "start.scenario_call":
        return client.start_scenario_call(
            virtual_phone_number=over.pop("vnum", VNUM),
            contact=contact,
            scenario_id=over.pop("scenario_id", 23456),
            **over,
        )
    if method == "start.vnumber_call":
        return client.start_vnumber_call(
            virtual_phone_number=over.pop("vnum", VNUM), contact=contact, **over
        )
    if method == "start.informer_call":
        over.setdefault("contact_message", Message.tts("Your order is ready"))
        return client.start_informer_call(
            virtual_phone_number=over.pop("vnum", VNUM), contact=contact, **over
        )
    return client.start_simple_call(
        virtual_phone_number=over.pop("vnum", VNUM),
        contact=contact,
        operator=over.pop("operator", "79262444491"),
        **over,
    )


STARTS = [
    "start.employee_call",
    "start.scenario_call",
    "start.vnumber_call",
    "start.informer_call",
    "start.simple_call",
]


@pytest.mark.parametrize("method", STARTS)
async def test_virtual_phone_number_not_found(key_client, method):
    err = await raises(start(key_client, method, vnum="74990000001"))
    check(
        err,
        -32007,
        "virtual_phone_number_not_found",
        "Virtual phone number 74990000001 not found. It is not your virtual phone number.",
        "virtual_phone_number",
    )


@pytest.mark.parametrize("method", STARTS)
async def test_own_virtual_phone_number_not_allowed(key_client, method):
    err = await raises(start(key_client, method, contact="74951045771"))
    check(
        err,
        -32602,
        "own_virtual_phone_number_not_allowed",
        "Parameter contact can not contain own virtual phone number",
        "contact",
    )


@pytest.mark.parametrize(
    "method,code",
    [
        ("start.employee_call", -32002),
        ("start.simple_call", -32002),
        ("start.scenario_call", -32602),
        ("start.vnumber_call", -32602),
        ("start.informer_call", -32602),
    ],
)
async def test_contact_in_blacklist_with_each_methods_documented_code(key_client, method, code):
    err = await raises(start(key_client, method, contact=BLACKLISTED))
    check(
        err,
        code,
        "contact_in_blacklist",
        f"The contact {BLACKLISTED} has been found in the blacklist",
        "contact",
    )


@pytest.mark.parametrize(
    "method,field",
    [
        ("start.employee_call", "contact_message"),
        ("start.scenario_call", "contact_message"),
        ("start.vnumber_call", "contact_message"),
        ("start.informer_call", "contact_message"),
        ("start.simple_call", "operator_message"),
    ],
)
async def test_tts_text_exceeded(key_client, method, field):
    err = await raises(start(key_client, method, **{field: Message.tts("x" * 300)}))
    check(
        err,
        -32602,
        "tts_text_exceeded",
        "The maximum length of Text-to-Speech message is 250. The length of your message is 300",
    )
    assert err.params == {"tts_message_max_length": 250, "sent_tts_message_length": 300}


@pytest.mark.parametrize("method", STARTS)
async def test_media_file_not_found(key_client, method):
    err = await raises(start(key_client, method, contact_message=Message.media(999)))
    check(
        err,
        -32602,
        "media_file_not_found",
        "The media file with id 999 not found",
        "contact_message.value",
    )


async def test_media_file_not_found_for_dialing_music(key_client):
    err = await raises(start(key_client, "start.employee_call", media_file_id=404))
    check(
        err, -32602, "media_file_not_found", "The media file with id 404 not found", "media_file_id"
    )


async def test_employee_not_found(key_client):
    err = await raises(start(key_client, "start.employee_call", employee_id=999))
    check(
        err,
        -32602,
        "employee_not_found",
        "Employee with id 999 not found. It is not your employee.",
        "employee.id",
    )


@pytest.mark.parametrize("employee_id,number", [(28, None), (25, "79265550128"), (30, "106")])
async def test_employee_without_active_phone_number(key_client, employee_id, number):
    err = await raises(
        start(
            key_client, "start.employee_call", employee_id=employee_id, employee_phone_number=number
        )
    )
    check(err, -32602, "no_active_phone_number", "The phone number does not exist or inactive")


async def test_scenario_not_found_for_scenario_call(key_client):
    err = await raises(start(key_client, "start.scenario_call", scenario_id=1))
    check(err, -32602, "scenario_not_found", "Scenario with id 1 not found", "scenario_id")


async def test_scenario_not_found_for_vnumber_call_uses_its_own_code_and_text(key_client):
    err = await raises(start(key_client, "start.vnumber_call", vnum="74957775500"))
    check(err, -32007, "scenario_not_found", "Virtual phone number does not have a scenario")


# --- managing calls ---------------------------------------------------------------------------

SESSION_CALLS = {
    "make.call": lambda c, sid: c.make_call(sid, to="79161234567"),
    "transfer.talk": lambda c, sid: c.transfer_talk(sid),
    "restore.talk": lambda c, sid: c.restore_talk(sid),
    "hold.call": lambda c, sid: c.hold_call(sid, contact_message=Message.media(2034)),
    "unhold.call": lambda c, sid: c.unhold_call(sid),
    "add.coach": lambda c, sid: c.add_coach(sid),
    "tag.call": lambda c, sid: c.tag_call(sid, tag_id=36),
    "record.call": lambda c, sid: c.record_call(sid, action="on"),
    "disconnect.leg": lambda c, sid: c.disconnect_leg(sid, leg_id=1),
    "send.dtmf": lambda c, sid: c.send_dtmf(sid, dtmf_string="1"),
    "block.contact": lambda c, sid: c.block_contact(sid),
    "call.talk_option": lambda c, sid: c.call_talk_option(sid, button="1"),
    "release.call": lambda c, sid: c.release_call(sid),
}


@pytest.mark.parametrize("method", sorted(SESSION_CALLS))
async def test_call_session_not_found(key_client, method):
    err = await raises(SESSION_CALLS[method](key_client, 42))
    check(err, -32602, "call_session_not_found", "Call session not found", "call_session_id")


async def test_a_finished_session_is_not_found(app, twin, key_client):
    sid, _ = await talking_call(key_client, app, twin)
    assert await key_client.release_call(sid)
    err = await raises(key_client.hold_call(sid, contact_message=Message.media(2034)))
    assert err.mnemonic == "call_session_not_found"


INVALID_STATE = "This method can not be called in this state"


@pytest.mark.parametrize(
    "method", ["make.call", "transfer.talk", "restore.talk", "unhold.call", "call.talk_option"]
)
async def test_invalid_state_before_the_documented_step(app, twin, key_client, method):
    sid = await start(key_client, "start.employee_call", contact=twin.find_contact(min_talk=300))
    app.advance(1)  # still ringing: no talk, no hold, no make.call
    err = await raises(SESSION_CALLS[method](key_client, sid))
    check(err, -32004, "invalid_state", INVALID_STATE)


async def test_hold_only_in_talk(app, twin, key_client):
    sid = await start(key_client, "start.employee_call", contact=twin.find_contact(min_talk=300))
    err = await raises(SESSION_CALLS["hold.call"](key_client, sid))
    check(err, -32004, "invalid_state", INVALID_STATE)


async def test_hold_message_errors(app, twin, key_client):
    sid, _ = await talking_call(key_client, app, twin)
    err = await raises(key_client.hold_call(sid, contact_message=Message.media(1)))
    check(err, -32602, "media_file_not_found", "The media file with id 1 not found")
    err = await raises(key_client.hold_call(sid, contact_message=Message.tts("y" * 251)))
    check(
        err,
        -32602,
        "tts_text_exceeded",
        "The maximum length of Text-to-Speech message is 250. The length of your message is 251",
    )


async def test_transfer_and_restore_only_after_make_call(app, twin, key_client):
    sid, _ = await talking_call(key_client, app, twin)
    await key_client.hold_call(sid, contact_message=Message.media(2034))
    for method in ("transfer.talk", "restore.talk"):
        err = await raises(SESSION_CALLS[method](key_client, sid))
        check(err, -32004, "invalid_state", INVALID_STATE)


@pytest.mark.parametrize("to", ["104", "79265550128"])
async def test_make_call_to_an_employee_without_active_numbers(app, twin, key_client, to):
    sid, _ = await talking_call(key_client, app, twin)
    await key_client.hold_call(sid, contact_message=Message.media(2034))
    err = await raises(key_client.make_call(sid, to=to))
    check(
        err, -32602, "no_active_phone_number", "The phone number does not exist or inactive", "to"
    )


async def test_tag_not_found_and_duplicate_tag(app, twin, key_client):
    sid, _ = await talking_call(key_client, app, twin)
    err = await raises(key_client.tag_call(sid, tag_id=7))
    check(err, -32602, "tag_not_found", "Tag with 7 not found", "tag_id")
    assert await key_client.tag_call(sid, tag_id=36)
    err = await raises(key_client.tag_call(sid, tag_id=36))
    check(err, -32602, "duplicate_tag", "Duplicate tag", "tag_id")


async def test_leg_not_found(app, twin, key_client):
    sid, _ = await talking_call(key_client, app, twin)
    err = await raises(key_client.disconnect_leg(sid, leg_id=1))
    check(err, -32602, "leg_not_found", "The call's leg not found", "leg_id")


async def test_coach_not_found_and_inactive_coach_number(app, twin, key_client):
    sid, _ = await talking_call(key_client, app, twin, employee_id=27)  # Clara has no coach set
    err = await raises(key_client.add_coach(sid))
    check(err, -32602, "coach_not_found", "The coach not found in your settings")
    err = await raises(key_client.add_coach(sid, phone_number="79265550130"))
    check(err, -32602, "no_active_phone_number", "The phone number does not exist or inactive")


async def test_recording_errors(app, twin, key_client):
    sid, _ = await talking_call(key_client, app, twin)
    err = await raises(key_client.record_call(sid, action="off"))
    check(err, -32602, "record_already_stopped", "The call record is not enabled")
    assert await key_client.record_call(sid, action="on")
    err = await raises(key_client.record_call(sid, action="on"))
    check(err, -32602, "record_already_started", "The call record is already started")


async def test_universal_recording_cannot_be_switched_off(app, twin, key_client):
    sid, _ = await talking_call(key_client, app, twin, employee_id=26)  # Boris records every call
    err = await raises(key_client.record_call(sid, action="off"))
    check(err, -32003, "forbidden", "Permission denied")
    err = await raises(key_client.call_talk_option(sid, button="2"))
    check(err, -32003, "forbidden", "Permission denied")


async def test_duplicate_contact(app, twin, key_client):
    sid, contact = await talking_call(key_client, app, twin)
    assert await key_client.block_contact(sid)
    assert contact in twin.state()["blacklist"]
    err = await raises(key_client.block_contact(sid))
    check(
        err, -32602, "duplicate_contact", f"The contact with phone number {contact} already exists"
    )


async def test_talk_option_not_found(app, twin, key_client):
    sid, _ = await talking_call(key_client, app, twin)
    err = await raises(key_client.call_talk_option(sid, button="7"))
    check(err, -32602, "talk_option_not_found", "Talk option not found", "button")


# --- the client refuses what the docs forbid, before sending ---------------------------------


class Never(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise AssertionError("the client should not have sent anything")


@pytest.fixture
async def offline():
    from dashboard.providers.callgear.client import CallGearClient

    async with CallGearClient(base_url="http://x", access_key="k", transport=Never()) as client:
        yield client


@pytest.mark.parametrize(
    "kwargs",
    [
        {"first_call": "contact", "switch_at_once": True, "early_switching": True},
        {"first_call": "employee", "switch_at_once": False, "early_switching": True},
        {"first_call": "employee", "early_switching": True},
    ],
)
async def test_early_switching_needs_employee_first_and_switch_at_once(offline, kwargs):
    err = await raises(
        offline.start_employee_call(
            virtual_phone_number=VNUM, contact="79161234567", employee_id=25, **kwargs
        )
    )
    check_local(
        err, "invalid_parameters_combination", "The combination of parameters is not permitted"
    )


async def test_early_switching_for_simple_calls_needs_operator_first(offline):
    err = await raises(
        offline.start_simple_call(
            virtual_phone_number=VNUM,
            contact="79161234567",
            operator="79262444491",
            first_call="contact",
            switch_at_once=True,
            early_switching=True,
        )
    )
    check_local(
        err, "invalid_parameters_combination", "The combination of parameters is not permitted"
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.start_informer_call(
            virtual_phone_number="+74993720692",
            contact="79161234567",
            contact_message=Message.tts("x"),
        ),
        lambda c: c.start_informer_call(
            virtual_phone_number=VNUM, contact="+7 916 123-45-67", contact_message=Message.tts("x")
        ),
        lambda c: c.start_informer_call(
            virtual_phone_number=VNUM,
            contact="79161234567",
            contact_message=Message.tts("x"),
            dialing_timeout=121,
        ),
        lambda c: c.start_simple_call(
            virtual_phone_number=VNUM, contact="79161234567", operator="+79262444491"
        ),
        lambda c: c.record_call(1, action="pause"),
        lambda c: c.send_dtmf(1, dtmf_string="1.2"),
        lambda c: c.list_calls(direction="both"),
        lambda c: c.start_vnumber_call(
            virtual_phone_number=VNUM, contact="79161234567", first_call="operator"
        ),
        lambda c: c.hold_call(1, contact_message={"type": "mp3", "value": "1"}),
    ],
)
async def test_local_checks(offline, call):
    err = await raises(call(offline))
    check_local(err, "invalid_parameter_value", "Invalid parameter value")


def check_local(err: CallGearError, mnemonic: str, message: str) -> None:
    assert (err.code, err.mnemonic, err.message) == (CATALOGUE[mnemonic][0], mnemonic, message)
    assert err.local is True and err.status is None
