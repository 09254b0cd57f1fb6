"""The docs' request and reply examples as contract fixtures, from both ends of the wire.

``seed_examples.json`` holds every example pair of the CallGear Call API page verbatim.
The client must send exactly the example ``params`` (ids aside) and parse the example
replies; the sandbox must accept the example requests and answer in the example shapes.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from dashboard.providers.callgear.client import METHODS, CallGearClient
from dashboard.providers.callgear.errors import CallGearError
from dashboard.providers.callgear.models import Message

from .conftest import EXAMPLES, raw_rpc

TOKEN = EXAMPLES["login.user"]["reply"]["result"]["data"]["access_token"]


def test_every_documented_method_has_an_example_and_a_client_method():
    documented = {name for name in EXAMPLES if not name.startswith("_")}
    assert documented == set(METHODS)
    assert len(METHODS) == 22  # the docs' method list: 22 methods
    for name in METHODS:
        attr = name.replace(".", "_")
        assert callable(getattr(CallGearClient, attr)), name


class Recorder:
    """A fake CallGear answering each method with the docs' reply example."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.headers: list[httpx.Headers] = []
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.sent.append(body)
        self.headers.append(request.headers)
        self.paths.append(request.url.path)
        reply = copy.deepcopy(EXAMPLES[body["method"]]["reply"])
        reply["id"] = body["id"]
        return httpx.Response(200, json=reply)


def recording_client(recorder: Recorder, **kwargs: Any) -> CallGearClient:
    kwargs.setdefault("access_key", TOKEN)
    return CallGearClient(
        base_url="https://callapi.callgear.com", transport=httpx.MockTransport(recorder), **kwargs
    )


CALLS = {
    "start.employee_call": lambda c: c.start_employee_call(
        first_call="employee",
        switch_at_once=True,
        media_file_id=2701,
        show_virtual_phone_number=False,
        virtual_phone_number="74993720692",
        external_id="334otr01",
        dtmf_string=".1.2.3",
        direction="in",
        contact="79260000000",
        employee_id=25,
        employee_phone_number="79260000001",
        contact_message=Message.tts("Hello"),
        employee_message=Message.media(2561),
    ),
    "start.scenario_call": lambda c: c.start_scenario_call(
        virtual_phone_number="74993720692",
        external_id="34rty567",
        dtmf_string="..1.2.3",
        contact="79260000000",
        first_call="employee",
        switch_at_once=False,
        scenario_id=23456,
        direction="in",
        contact_message=Message.media(237),
        employee_message={"type": "media", "value": "237"},
    ),
    "start.vnumber_call": lambda c: c.start_vnumber_call(
        virtual_phone_number="74993720692",
        external_id="34rty567",
        dtmf_string="..1.2.3",
        direction="in",
        contact="79260000000",
        first_call="employee",
        switch_at_once=False,
        show_virtual_phone_number=True,
        contact_message=Message.media(237),
    ),
    "start.informer_call": lambda c: c.start_informer_call(
        virtual_phone_number="74993720692",
        external_id="34rty567",
        dtmf_string="..1.2.3",
        direction="in",
        dialing_timeout=25,
        contact="79260000000",
        contact_message=Message.tts("Test message"),
    ),
    "start.simple_call": lambda c: c.start_simple_call(
        first_call="operator",
        switch_at_once=True,
        media_file_id=2701,
        show_virtual_phone_number=False,
        virtual_phone_number="74993720692",
        external_id="334otr01",
        dtmf_string=".1.2.3",
        direction="in",
        contact="79260000000",
        operator="79262444491",
        contact_message=Message.tts("Hello"),
        operator_message=Message.media(2561),
    ),
    "make.call": lambda c: c.make_call(2354891, to="79260000000"),
    "transfer.talk": lambda c: c.transfer_talk(2786459),
    "restore.talk": lambda c: c.restore_talk(25374860),
    "hold.call": lambda c: c.hold_call(23465781, contact_message=Message.media(2034)),
    "unhold.call": lambda c: c.unhold_call(2846590),
    "tag.call": lambda c: c.tag_call(2846590, tag_id=36),
    "disconnect.leg": lambda c: c.disconnect_leg(2875654, leg_id=9875),
    "add.coach": lambda c: c.add_coach(27934036, phone_number="79260000000"),
    "record.call": lambda c: c.record_call(235496, action="on"),
    "block.contact": lambda c: c.block_contact(27485639),
    "call.talk_option": lambda c: c.call_talk_option(246578, button="1"),
    "send.dtmf": lambda c: c.send_dtmf(27934036, dtmf_string="1"),
    "list.talk_options": lambda c: c.list_talk_options(),
    "list.calls": lambda c: c.list_calls(direction="in", virtual_phone_number="74951045771"),
    "release.call": lambda c: c.release_call(28575639),
}


@pytest.mark.parametrize("method", sorted(CALLS))
async def test_client_sends_the_documented_request(method: str):
    recorder = Recorder()
    async with recording_client(recorder) as client:
        result = await CALLS[method](client)
    sent = recorder.sent[0]
    example = EXAMPLES[method]["request"]
    assert sent["jsonrpc"] == "2.0"
    assert sent["method"] == method
    assert sent["params"] == example["params"]
    assert recorder.paths == ["/v4.0"]
    assert recorder.headers[0]["content-type"] == "application/json; charset=UTF-8"
    data = EXAMPLES[method]["reply"]["result"]["data"]
    if method.startswith("start."):
        assert result == data["call_session_id"]
    elif not method.startswith("list."):
        assert result is True  # "success": "true" (a string) read as True


async def test_login_and_logout_send_the_documented_requests():
    recorder = Recorder()
    async with recording_client(
        recorder, access_key=None, login="your_login", password="your_password"
    ) as client:
        session = await client.login_user()
        assert session.access_token == TOKEN
        assert session.expire_at == 1475853742
        assert await client.logout_user() is True  # "success": true, a boolean here
    assert recorder.sent[0]["params"] == EXAMPLES["login.user"]["request"]["params"]
    assert recorder.sent[1]["params"] == EXAMPLES["logout.user"]["request"]["params"]


async def test_request_ids_are_unique():
    recorder = Recorder()
    async with recording_client(recorder) as client:
        for _ in range(5):
            await client.list_talk_options()
    ids = [body["id"] for body in recorder.sent]
    assert len(set(ids)) == 5
    assert all(isinstance(i, str) and i for i in ids)


async def test_list_calls_example_reply_is_parsed_into_sessions_and_legs():
    recorder = Recorder()
    async with recording_client(recorder) as client:
        sessions = await client.list_calls()
    [session] = sessions
    assert session.call_session_id == 206597836
    assert (
        session.start_time is not None
        and session.start_time.isoformat() == "2016-10-19T12:26:48.418000+00:00"
    )
    assert session.external_id is None
    assert [(t.tag_id, t.tag_name) for t in session.tags] == [(456, "Relevant")]
    assert [leg.leg_id for leg in session.legs] == [287866245, 287866221]
    operator = session.leg(287866221)
    assert operator is not None and operator.is_operator and operator.employee_id == 2345
    assert operator.state_raw == "Talk" and operator.state == "talk"
    assert session.legs[0].called_phone_number == "74959268686...9.2.3.3"


async def test_list_talk_options_example_reply_is_parsed():
    recorder = Recorder()
    async with recording_client(recorder) as client:
        [option] = await client.list_talk_options()
    assert (option.button, option.mnemonic, option.name) == ("1", "tag_call", "Tag")
    assert (option.button_value_id, option.button_value) == (254, "Relevant")


async def test_documented_error_example_becomes_one_typed_error():
    example = EXAMPLES["_error_example"]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=example)

    async with CallGearClient(
        base_url="https://callapi.callgear.com",
        access_key=TOKEN,
        transport=httpx.MockTransport(handler),
    ) as client:
        with pytest.raises(CallGearError) as caught:
            await client.release_call(1)
    err = caught.value
    assert (err.code, err.mnemonic, err.message) == (
        -32602,
        "data_type_error",
        "Data supplied is of wrong type",
    )
    assert (err.field, err.value) == ("contact", "number")
    assert err.params == {"object": None}
    assert (
        err.describe()
        == "Data supplied is of wrong type; field contact [callgear: data_type_error]"
    )


# --- the sandbox end: it accepts the documented examples and answers their shapes ----------

START_METHODS = [
    "start.employee_call",
    "start.scenario_call",
    "start.vnumber_call",
    "start.informer_call",
    "start.simple_call",
]


@pytest.mark.parametrize("method", START_METHODS)
async def test_sandbox_accepts_the_documented_start_examples(app, twin, method: str):
    body = copy.deepcopy(EXAMPLES[method]["request"])
    body["params"]["access_token"] = twin.world["access_key"]
    status, reply = await raw_rpc(app, body)
    assert status == 200
    assert reply["jsonrpc"] == "2.0" and reply["id"] == "req1"
    assert set(reply["result"]["data"]) == {"call_session_id"}
    assert isinstance(reply["result"]["data"]["call_session_id"], int)
    assert set(reply["result"]["metadata"]["limits"]) == {
        "day_limit",
        "day_remaining",
        "day_reset",
        "minute_limit",
        "minute_remaining",
        "minute_reset",
    }


async def test_sandbox_answers_login_logout_and_lists_in_the_documented_shapes(app, twin):
    body = copy.deepcopy(EXAMPLES["login.user"]["request"])
    body["params"] = {"login": twin.world["login"], "password": twin.world["password"]}
    _, reply = await raw_rpc(app, body)
    assert set(reply["result"]["data"]) == {"access_token", "expire_at"}
    token = reply["result"]["data"]["access_token"]

    twin.simulate_incoming_call(virtual_number="74951045771", employee_id=26)
    app.advance(10)
    body = copy.deepcopy(EXAMPLES["list.calls"]["request"])
    body["params"]["access_token"] = token
    _, reply = await raw_rpc(app, body)
    [item] = reply["result"]["data"]
    example_item = EXAMPLES["list.calls"]["reply"]["result"]["data"][0]
    assert set(item) == set(example_item)
    assert set(item["legs"][0]) == set(example_item["legs"][0])

    body = copy.deepcopy(EXAMPLES["list.talk_options"]["request"])
    body["params"]["access_token"] = token
    _, reply = await raw_rpc(app, body)
    assert set(reply["result"]["data"][0]) == set(
        EXAMPLES["list.talk_options"]["reply"]["result"]["data"][0]
    )

    body = copy.deepcopy(EXAMPLES["logout.user"]["request"])
    body["params"]["access_token"] = token
    _, reply = await raw_rpc(app, body)
    assert reply["result"]["data"] == {"success": True}


async def test_sandbox_control_answers_success_as_the_string_true(app, twin, client):
    from .conftest import talking_call

    sid, _ = await talking_call(client, app, twin)
    body = copy.deepcopy(EXAMPLES["tag.call"]["request"])
    body["params"].update(access_token=twin.world["access_key"], call_session_id=sid)
    _, reply = await raw_rpc(app, body)
    assert (
        reply["result"]["data"]
        == EXAMPLES["tag.call"]["reply"]["result"]["data"]
        == {"success": "true"}
    )
