"""The seed's examples as contract fixtures: the client sends the seed's bodies, reads the
seed's answers, and the sandbox answers with the seed's shapes."""

from __future__ import annotations

import json
from typing import Any

import httpx

from dashboard.providers.ccai.client import CcaiClient
from dashboard.providers.ccai.models import CallStatus, CreateOutcome

from .conftest import SEED_EXAMPLES, no_sleep


def example(title: str, section: str | None = None) -> dict[str, Any]:
    return next(
        e
        for e in SEED_EXAMPLES
        if e["title"] == title and (section is None or e["section"] == section)
    )


OUTBOUND_NUMBER = example(
    "Create an outbound call with end-user number", "Outbound call - end_user_number"
)
OUTBOUND_TICKET = example(
    "Create an outbound call with ticket ID", "Outbound call - end_user_number"
)
INCOMING_NUMBER = example("Create an incoming call with end-user number")
INCOMING_TICKET = example("Create an incoming call with ticket ID")
SCHEDULED_MENU = example("Create a scheduled call with menu ID")
SCHEDULED_PARENT = example("Create a scheduled call with call ID")

# The call object definition of the seed (its first example): keys an answer may carry
# beyond those of a create example.
OBJECT_KEYS = {
    "id",
    "parent_id",
    "lang",
    "call_type",
    "status",
    "created_at",
    "queued_at",
    "assigned_at",
    "connected_at",
    "ends_at",
    "scheduled_at",
    "wait_duration",
    "call_duration",
    "hold_duration",
    "rating",
    "has_feedback",
    "voip_provider",
    "out_ticket_id",
    "out_ticket_url",
    "verified",
    "recording_url",
    "recording_permission",
    "voicemail_reason",
    "deflection",
    "disconnected_by",
    "fail_details",
    "fail_reason",
    "support_number",
    "selected_menu",
    "menu_path",
    "agent_info",
    "end_user",
    "photos",
    "videos",
    "transfers",
    "participants",
}


class Recorder:
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.body is None:
            return httpx.Response(self.status)
        return httpx.Response(self.status, json=self.body)

    def sent(self) -> dict[str, Any]:
        return json.loads(self.requests[-1].content)


def recording_client(status: int, body: Any) -> tuple[CcaiClient, Recorder]:
    recorder = Recorder(status, body)
    client = CcaiClient(
        base_url="https://acme.uc1.ccaiplatform.com",
        company_key="key",
        company_secret="secret",
        transport=httpx.MockTransport(recorder),
        sleep=no_sleep,
    )
    return client, recorder


async def test_outbound_with_number_sends_the_seed_body_and_reads_the_seed_answer():
    client, recorder = recording_client(201, OUTBOUND_NUMBER["response"])
    result = await client.create_outbound_call(
        agent_email="admin@somedomain.com",
        end_user_number="+1 859-657-9625",
        outbound_number="+1 339-219-5276",
        lang="en",
    )
    request = recorder.requests[-1]
    assert request.method == "POST"
    assert request.url == "https://acme.uc1.ccaiplatform.com/apps/api/v1/calls"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == httpx.BasicAuth("key", "secret")._auth_header
    assert recorder.sent() == OUTBOUND_NUMBER["request"]
    assert result.outcome is CreateOutcome.CREATED and result.status_code == 201
    call = result.call
    assert call is not None
    assert (call.id, call.status, call.call_type) == (
        397,
        CallStatus.ASSIGNED,
        "Voice Outbound (API)",
    )
    assert call.agent_info is not None and call.agent_info.name == "Admin UJET"
    assert call.end_user is None
    assert [(p.id, p.type, p.status) for p in call.participants] == [
        (610, "agent", "waiting"),
        (611, "end_user", "waiting"),
    ]
    assert call.outbound_number == "+1 339-219-5276"
    assert call.assigned_at is not None and call.assigned_at.microsecond == 441000


async def test_outbound_with_ticket_sends_the_seed_body():
    client, recorder = recording_client(201, OUTBOUND_TICKET["response"])
    result = await client.create_outbound_call(
        agent_email="agent@somedomain.com",
        ticket_id="71450",
        outbound_number="+1 339-219-5276",
        lang="en",
    )
    assert recorder.sent() == OUTBOUND_TICKET["request"]
    assert result.call is not None
    assert result.call.out_ticket_id == "71450"
    assert (
        result.call.end_user is not None and result.call.end_user.out_contact_id == "381630957514"
    )


async def test_second_listing_slip_voicemail_reaso_is_tolerated():
    slipped = next(e for e in SEED_EXAMPLES if e["response"] and "voicemail_reaso" in e["response"])
    client, _ = recording_client(201, slipped["response"])
    result = await client.create_call(slipped["request"])
    assert result.call is not None and result.call.voicemail_reason == "not_voicemail"


async def test_incoming_calls_send_the_seed_bodies():
    client, recorder = recording_client(201, INCOMING_NUMBER["response"])
    result = await client.create_incoming_call(
        lang="en",
        menu_id=9,
        end_user_number="+82-10-6861-2345",
        recording_permission="recording_permission_granted",
    )
    assert recorder.sent() == INCOMING_NUMBER["request"]
    call = result.call
    assert call is not None and call.status == CallStatus.QUEUED
    assert call.selected_menu is not None and call.selected_menu.menu_type == "ivr_menu"
    assert call.menu_path is not None and call.menu_path.materialized_path == "9"
    assert call.offer_type == "cascade" and call.offer_events[0].group == "Group 1"
    assert call.participant("end_user") is not None and call.participant("agent") is None

    client, recorder = recording_client(201, INCOMING_TICKET["response"])
    await client.create_incoming_call(
        lang="en",
        menu_id=9,
        ticket_id="76517",
        end_user_number="+1 859-657-9625",
        recording_permission="recording_permission_granted",
    )
    assert recorder.sent() == INCOMING_TICKET["request"]


async def test_scheduled_calls_send_the_seed_bodies():
    client, recorder = recording_client(201, SCHEDULED_MENU["response"])
    result = await client.create_scheduled_call(
        lang="en",
        menu_id=9,
        end_user_number="+82-10-6861-2345",
        scheduled_at="2019-09-15T00:19:14.421Z",
        recording_permission="recording_permission_granted",
    )
    assert recorder.sent() == SCHEDULED_MENU["request"]
    # The seed answers a scheduled call as "Voice Inbound (API)": parsed, not refused.
    assert result.call is not None and result.call.call_type == "Voice Inbound (API)"
    assert result.call.scheduled_at is not None and result.call.scheduled_at.year == 2019

    client, recorder = recording_client(201, SCHEDULED_PARENT["response"])
    await client.create_scheduled_call(
        lang="en",
        call_id=514,
        end_user_number="+82-10-6861-2345",
        scheduled_at="2019-09-15T00:19:14.421Z",
        recording_permission="recording_permission_granted",
    )
    assert recorder.sent() == SCHEDULED_PARENT["request"]


async def test_202_without_body_and_200_echo_are_told_apart():
    client, _ = recording_client(202, None)
    accepted = await client.create_outbound_call(
        agent_email="allen@somedomain.com", end_user_number="+1 205-123-4567", lang="en"
    )
    assert (
        accepted.outcome is CreateOutcome.ACCEPTED
        and accepted.call is None
        and accepted.needs_agent_action
    )

    echo = example(
        "Prompt the call adapter by multiple outbound numbers", "Outbound call - end_user_number"
    )
    client, _ = recording_client(200, echo["response"])
    prompted = await client.create_outbound_call(
        agent_email="admin@somedomain.com", end_user_number="+1 859-657-9625", lang="en"
    )
    assert prompted.outcome is CreateOutcome.PROMPTED and prompted.status_code == 200
    assert prompted.echo == echo["response"]


def _keys(data: dict[str, Any]) -> set[str]:
    return set(data) - {"voicemail_reaso"}


async def _sandbox_answer(raw: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await raw.post("/apps/api/v1/calls", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_sandbox_201_answers_have_the_seed_shapes(raw: httpx.AsyncClient):
    future = "2026-01-02T09:30:00.000Z"
    cases = [
        (OUTBOUND_NUMBER, dict(OUTBOUND_NUMBER["request"])),
        (OUTBOUND_TICKET, {**OUTBOUND_TICKET["request"], "agent_email": "nora@somedomain.com"}),
        (INCOMING_NUMBER, dict(INCOMING_NUMBER["request"])),
        (INCOMING_TICKET, dict(INCOMING_TICKET["request"])),
        (SCHEDULED_MENU, {**SCHEDULED_MENU["request"], "menu_id": 10, "scheduled_at": future}),
    ]
    for seed, body in cases:
        answer = await _sandbox_answer(raw, body)
        expected = _keys(seed["response"]) | {"voicemail_reason"}
        assert expected <= set(answer), expected - set(answer)
        assert set(answer) - expected <= OBJECT_KEYS
        for mine, theirs in zip(
            answer["participants"], seed["response"]["participants"], strict=True
        ):
            assert set(mine) == set(theirs)
            assert (mine["type"], mine["status"]) == (theirs["type"], theirs["status"])
        for key in ("agent_info", "end_user", "selected_menu", "menu_path"):
            if seed["response"][key] is not None:
                assert set(answer[key]) == set(seed["response"][key]), key
        for key in (
            "recording_permission",
            "voicemail_reason",
            "deflection",
            "disconnected_by",
            "fail_reason",
            "answer_type",
            "has_feedback",
            "verified",
            "wait_duration",
        ):
            assert answer[key] == seed["response"].get(
                key, seed["response"].get("voicemail_reaso")
            ), key
        assert answer["created_at"].endswith("Z") and len(answer["created_at"]) == 24

    # Values the seed's world shares with the sandbox's.
    outbound = await _sandbox_answer(
        raw, {**OUTBOUND_TICKET["request"], "agent_email": "omar@somedomain.com"}
    )
    assert outbound["status"] == "assigned"
    assert outbound["out_ticket_id"] == "71450"
    assert outbound["end_user"] == {"id": 67, "identifier": None, "out_contact_id": "381630957514"}
    incoming = await _sandbox_answer(raw, dict(INCOMING_TICKET["request"]))
    assert incoming["status"] == "queued"
    assert incoming["selected_menu"] == INCOMING_TICKET["response"]["selected_menu"]
    assert incoming["menu_path"] == INCOMING_TICKET["response"]["menu_path"]
    assert incoming["end_user"] == INCOMING_TICKET["response"]["end_user"]
    assert incoming["outbound_number"] == "+1 339-219-5276"
    scheduled = await _sandbox_answer(
        raw, {**SCHEDULED_MENU["request"], "menu_id": 10, "scheduled_at": future}
    )
    # Reading: the answer names the scheduled type and status the seed's example slips on.
    assert (scheduled["call_type"], scheduled["status"]) == ("Voice Scheduled (API)", "scheduled")
    assert scheduled["scheduled_at"] == "2026-01-02T09:30:00.000Z"
    assert scheduled["queued_at"] is None
