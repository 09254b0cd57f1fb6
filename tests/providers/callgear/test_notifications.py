"""Notification templates: rendered, valid, complete, and delivered by the sandbox as rendered."""

from __future__ import annotations

import json

import httpx
import pytest

from dashboard.providers.callgear.models import Message
from dashboard.providers.callgear.notifications import (
    EVENT_TYPES,
    PLACEHOLDER,
    PLACEHOLDERS,
    TEMPLATES,
    parse_notification,
    render,
    template_texts,
)
from dashboard.sandbox.notify import WebhookTarget

from .conftest import talking_call

SAMPLE = {
    "notification_time": "2026-01-01T10:00:00Z",
    "call_session_id": 237859081,
    "session_event_seq": 3,
    "leg_id": 287866201,
    "leg_ids": [287866201, 287866202],
    "virtual_phone_number": "74993720692",
    "contact_phone_number": "79161234567",
    "employee_id": 25,
    "employee_full_name": 'Anna "Ann" Petrova\\',
    "talk_time_duration": 61,
    "total_time_duration": 80,
    "wait_time_duration": 19,
    "file_duration": 61,
    "tag_names": ["Hot lead", "Relevant"],
}


def test_one_template_per_event_type_with_the_documented_essentials():
    for name in (
        "incoming_call",
        "waiting_for_answer",
        "talk_started",
        "talk_ended",
        "call_ended",
        "call_held",
        "call_unheld",
        "call_transferred",
        "consultation_started",
        "talk_restored",
        "recording_changed",
        "tag_added",
        "lost_call",
        "recording_ready",
        "outgoing_call",
    ):
        assert name in TEMPLATES
    for name, template in TEMPLATES.items():
        used = PLACEHOLDER.findall(template.body)
        assert set(used) <= set(PLACEHOLDERS), name
        for required in (
            "notification_mnemonic",
            "notification_time",
            "call_session_id",
            "session_event_seq",
        ):
            assert required in used, (name, required)
        assert template.method == "POST"
    assert "leg_id" in PLACEHOLDER.findall(TEMPLATES["waiting_for_answer"].body)
    assert "leg_ids" in PLACEHOLDER.findall(TEMPLATES["talk_started"].body)
    assert "talk_time_duration" in PLACEHOLDER.findall(TEMPLATES["talk_ended"].body)
    assert {"total_time_duration", "wait_time_duration", "tag_names"} <= set(
        PLACEHOLDER.findall(TEMPLATES["call_ended"].body)
    )
    assert "file_link" in PLACEHOLDER.findall(TEMPLATES["recording_ready"].body)
    assert template_texts()["talk_started"] == TEMPLATES["talk_started"].body


@pytest.mark.parametrize("event", EVENT_TYPES)
def test_every_template_renders_valid_json(event):
    body = render(TEMPLATES[event].body, {**SAMPLE, "notification_mnemonic": event})
    data = json.loads(body)
    assert data["notification_mnemonic"] == event
    assert data["call_session_id"] == 237859081
    parsed = parse_notification(body)
    assert parsed.event_type == event and parsed.call_session_id == 237859081 and parsed.seq == 3


def test_render_fills_lists_escapes_quotes_and_blanks_missing_values():
    body = render(
        TEMPLATES["talk_started"].body,
        {**SAMPLE, "employee_id": None, "notification_mnemonic": "x"},
    )
    data = json.loads(body)
    assert data["leg_ids"] == "287866201,287866202"
    assert data["employee_full_name"] == 'Anna "Ann" Petrova\\'
    assert data["employee_id"] == ""
    assert parse_notification(body).leg_ids == (287866201, 287866202)
    assert render("{{ a }}-{{b}}-{{unknown}}", {"a": 1, "b": True}, json_escape=False) == "1-true-"


@pytest.fixture
def captured(app):
    received: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    app.notifier.transport = httpx.MockTransport(handler)
    app.notifier.set_targets(
        "callgear",
        [
            WebhookTarget(
                "http://dashboard/hooks/callgear?secret=s3", headers={"X-Callboard-Secret": "s3"}
            )
        ],
    )
    return received


async def test_sandbox_sends_exactly_what_the_templates_render(app, twin, key_client, captured):
    sid, _ = await talking_call(key_client, app, twin)
    await key_client.hold_call(sid, contact_message=Message.media(2034))
    await key_client.unhold_call(sid)
    await key_client.tag_call(sid, tag_id=36)
    await key_client.record_call(sid, action="on")
    await key_client.release_call(sid)
    await app.settle(10)

    events = [parse_notification(r.content) for r in captured]
    assert [e.event_type for e in events] == [
        "outgoing_call",
        "waiting_for_answer",
        "waiting_for_answer",
        "talk_started",
        "call_held",
        "call_unheld",
        "tag_added",
        "recording_changed",
        "talk_ended",
        "call_ended",
        "recording_ready",
    ]
    assert {e.call_session_id for e in events} == {sid}
    assert [e.seq for e in events] == list(range(1, 12))
    assert all(r.method == "POST" and r.headers["x-callboard-secret"] == "s3" for r in captured)
    assert all(r.headers["content-type"] == "application/json" for r in captured)

    # Each body is the template rendered, byte for byte (the log keeps what was sent).
    for request, logged in zip(captured, twin.notification_log, strict=True):
        assert request.content.decode() == logged["body"]
        values = json.loads(logged["body"])
        assert render(TEMPLATES[logged["event"]].body, values) == logged["body"]

    talk = events[3]
    assert len(talk.leg_ids) == 2
    ended = next(e for e in events if e.event_type == "call_ended").data
    assert ended["tag_names"] == "Hot lead"
    assert ended["finish_reason"] == "released"
    assert ended["total_time_duration"] >= ended["talk_time_duration"] > 0
    held = next(e for e in events if e.event_type == "call_held")
    assert len(held.leg_ids) == 1
    assert (
        next(e for e in events if e.event_type == "recording_ready")
        .data["file_link"]
        .startswith("https://")
    )


async def test_incoming_and_lost_calls_are_notified(app, twin, captured):
    sids = [twin.simulate_incoming_call(virtual_number="74951045771") for _ in range(12)]
    await app.settle(25)
    events = [parse_notification(r.content) for r in captured]
    kinds = {e.event_type for e in events}
    assert {
        "incoming_call",
        "waiting_for_answer",
        "talk_started",
        "lost_call",
        "call_ended",
    } <= kinds
    incoming = next(e for e in events if e.event_type == "incoming_call")
    assert incoming.data["scenario_name"] == "Support line"
    assert incoming.data["direction"] == "in"
    lost = [e.call_session_id for e in events if e.event_type == "lost_call"]
    assert set(lost) <= set(sids)


async def test_consultation_and_transfer_events_name_their_legs(app, twin, key_client, captured):
    sid, _ = await talking_call(key_client, app, twin)
    await key_client.hold_call(sid, contact_message=Message.media(2034))
    await key_client.make_call(sid, to="103")
    await app.settle(5)
    await key_client.transfer_talk(sid)
    await app.settle(0)
    events = [parse_notification(r.content) for r in captured]
    consult = next(e for e in events if e.event_type == "consultation_started")
    transfer = next(e for e in events if e.event_type == "call_transferred")
    assert consult.leg_ids == (twin.sessions[sid].legs[-1].leg_id,)
    assert consult.data["employee_full_name"] == "Clara Smirnova"
    assert len(transfer.leg_ids) == 2 and consult.leg_ids[0] in transfer.leg_ids


async def test_targets_set_through_the_control_endpoint(app, twin):
    received: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(204)

    app.notifier.transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox"
    ) as http:
        answer = await http.post(
            "/_sandbox/webhooks",
            json={
                "provider": "callgear",
                "targets": [
                    {"url": "http://dashboard/hooks/callgear", "headers": {"X-Secret": "k"}}
                ],
            },
        )
        assert answer.status_code == 200
        twin.simulate_incoming_call(employee_id=29)
        await http.post("/_sandbox/advance", json={"seconds": 1})
    events = [parse_notification(r.content).event_type for r in received]
    assert events[:2] == ["incoming_call", "waiting_for_answer"]
    assert all(r.headers["x-secret"] == "k" for r in received)
