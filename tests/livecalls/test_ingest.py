"""Webhooks applied to call sessions and legs: once, in any order, never backwards."""

from __future__ import annotations

import asyncio
import json
import random

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from dashboard.broadcast import message_html
from dashboard.models import AgentProfile
from livecalls.models import AccountSync, CallSession, Leg, WebhookEvent
from livecalls.services.ingest import webhook_event_ingest
from livecalls.webhooks import parse_event

pytestmark = pytest.mark.django_db(transaction=True)

S = CallSession.State
L = Leg.State


def cg(account, kind: str, seq: int, second: int, session: int = 777, **values):
    """A CallGear notification exactly as its template renders it, parsed like the view does."""
    from dashboard.providers.callgear.notifications import TEMPLATES

    base = {
        "notification_mnemonic": kind, "notification_time": f"2026-01-01T10:00:{second:02d}Z",
        "call_session_id": session, "session_event_seq": seq, "virtual_phone_number": "74993720692",
        "contact_phone_number": "79160000001", "direction": "in", "external_id": "", "employee_id": 25,
        "employee_full_name": "Anna Petrova", "scenario_name": "Sales line",
    }
    base.update(values)
    return parse_event(account, TEMPLATES[kind].render(base).encode())


def incoming_call(account, session: int = 777) -> list:
    """An incoming call: rings Anna (leg 11), talk, hold, tag, recording, unhold, hold."""
    return [
        cg(account, "incoming_call", 1, 0, session, employee_id=""),
        cg(account, "waiting_for_answer", 2, 1, session, leg_id=11, called_phone_number="79260000001"),
        cg(account, "talk_started", 3, 5, session, leg_ids="10,11"),
        cg(account, "call_held", 4, 9, session, leg_id=10),
        cg(account, "tag_added", 5, 10, session, tag_id=36, tag_names="Hot lead"),
        cg(account, "recording_changed", 6, 11, session, recording_state="on"),
        cg(account, "call_unheld", 7, 12, session, leg_id=10),
        cg(account, "tag_added", 8, 13, session, tag_id=254, tag_names="Hot lead,Relevant"),
        cg(account, "call_held", 9, 14, session, leg_id=10),
    ]


def ending(account, session: int = 777) -> list:
    return [
        cg(account, "talk_ended", 10, 20, session, leg_ids="10,11", talk_time_duration=15),
        cg(account, "call_ended", 11, 20, session, tag_names="Hot lead,Relevant", finish_reason="contact_hung_up",
           talk_time_duration=15, total_time_duration=20, wait_time_duration=5),
        cg(account, "recording_ready", 12, 25, session, file_link="https://app.callgear.com/system/media/talk/777/",
           file_duration=15),
    ]


def snapshot(session: CallSession) -> dict:
    session.refresh_from_db()
    return {
        "state": session.state, "direction": session.direction, "contact": session.contact_number,
        "virtual": session.virtual_number, "tags": session.tags, "recording": session.recording,
        "link": session.recording_link, "agent": session.agent_id, "started": session.started_at,
        "answered": session.answered_at, "ended": session.ended_at, "reason": session.finish_reason,
        "seq": session.last_event_seq, "at": session.last_event_at,
        "legs": {leg.provider_leg_id: (leg.state, leg.agent_id, leg.employee_id, leg.is_operator, leg.called_number,
                                       leg.answered_at, leg.ended_at, leg.last_event_seq)
                 for leg in session.legs.all()},
    }


def ingest_all(account, events) -> CallSession:
    for event in events:
        webhook_event_ingest(account=account, event=event)
    return CallSession.objects.get(account=account, provider_session_id=events[0].session_ref)


def test_an_incoming_call_is_applied_to_the_session_and_its_legs(account, agent):
    AgentProfile.objects.update_or_create(user=agent, defaults={"callgear_employee_id": 25})
    session = ingest_all(account, incoming_call(account)[:3])
    assert session.state == S.TALKING
    assert (session.direction, session.contact_number, session.virtual_number) == ("in", "79160000001",
                                                                                   "74993720692")
    assert session.agent == agent
    assert session.answered_at is not None and session.started_at < session.answered_at
    legs = {leg.provider_leg_id: leg for leg in session.legs.all()}
    assert legs["11"].agent == agent and legs["11"].is_operator and legs["11"].employee_id == "25"
    assert legs["11"].state == legs["10"].state == L.TALKING
    assert not legs["10"].is_operator
    assert session.details["scenario_name"] == "Sales line"
    assert WebhookEvent.objects.filter(applied_at__isnull=False).count() == 3


def test_the_whole_call_ends_with_tags_recording_and_reason(account):
    session = ingest_all(account, incoming_call(account) + ending(account))
    assert session.state == S.ENDED and session.ended_at is not None
    assert session.finish_reason == "contact_hung_up"
    assert session.tags == ["Hot lead", "Relevant"]
    assert session.recording is True
    assert session.recording_link == "https://app.callgear.com/system/media/talk/777/"
    assert set(session.legs.values_list("state", flat=True)) == {L.ENDED}
    assert session.last_event_seq == 12


def test_a_duplicate_event_is_applied_once(account):
    events = incoming_call(account)[:4]
    ingest_all(account, events)
    result = webhook_event_ingest(account=account, event=cg(account, "call_held", 4, 9, leg_id=10))
    assert result.duplicate and result.status == "duplicate"
    assert WebhookEvent.objects.count() == 4
    session = CallSession.objects.get()
    assert session.state == S.ON_HOLD and session.last_event_seq == 4


@pytest.mark.parametrize("with_end", [False, True])
def test_shuffled_events_converge_to_the_in_order_state(account, agent, with_end):
    AgentProfile.objects.update_or_create(user=agent, defaults={"callgear_employee_id": 25})
    in_order = incoming_call(account, 100) + (ending(account, 100) if with_end else [])
    expected = snapshot(ingest_all(account, in_order))
    assert expected["state"] == (S.ENDED if with_end else S.ON_HOLD)
    rng = random.Random(5)
    for n in range(6):
        sid = 200 + n
        events = incoming_call(account, sid) + (ending(account, sid) if with_end else [])
        rng.shuffle(events)
        got = snapshot(ingest_all(account, events))
        assert got == expected, [e.event_type for e in events]


def test_a_late_talk_started_never_reopens_an_ended_call(account):
    events = incoming_call(account)
    talk = events.pop(2)
    session = ingest_all(account, events[:2] + ending(account))
    assert session.state == S.ENDED
    webhook_event_ingest(account=account, event=talk)
    session.refresh_from_db()
    assert session.state == S.ENDED
    assert set(session.legs.values_list("state", flat=True)) == {L.ENDED}
    # ...but it may still fill what was empty.
    assert session.answered_at is not None


def test_an_older_event_fills_empty_fields_but_does_not_move_state(account):
    events = incoming_call(account)
    session = ingest_all(account, [events[3]])  # call_held first: on hold
    assert session.state == S.ON_HOLD
    webhook_event_ingest(account=account, event=events[0])  # incoming_call (seq 1): ringing is older
    webhook_event_ingest(account=account, event=events[2])  # talk_started (seq 3): older than the hold
    session.refresh_from_db()
    assert session.state == S.ON_HOLD
    assert session.legs.get(provider_leg_id="10").state == L.ON_HOLD
    assert session.legs.get(provider_leg_id="11").state == L.TALKING
    assert session.last_event_seq == 4


def test_a_tag_id_without_names_is_looked_up_in_reference_data(account):
    session = ingest_all(account, [cg(account, "tag_added", 1, 1, tag_id=254, tag_names="")])
    assert session.tags == ["Relevant"]


def test_a_lost_call_ends_the_session(account):
    events = [
        *incoming_call(account)[:2],
        cg(account, "lost_call", 3, 20, wait_time_duration=20),
        cg(account, "call_ended", 4, 20, finish_reason="no_answer", talk_time_duration=0, total_time_duration=20,
           wait_time_duration=20),
    ]
    session = ingest_all(account, events)
    assert (session.state, session.finish_reason) == (S.ENDED, "no_answer")
    assert session.answered_at is None
    session = ingest_all(account, [cg(account, "lost_call", 3, 20, session=778, wait_time_duration=20)])
    assert (session.state, session.finish_reason) == (S.ENDED, "lost call")


def test_a_consultation_and_its_failure_put_the_call_back_on_hold(account):
    events = [
        *incoming_call(account)[:4],
        cg(account, "consultation_started", 5, 15, leg_id=12, called_phone_number="79262444393",
           employee_id=26, employee_full_name="Boris Ivanov"),
    ]
    session = ingest_all(account, events)
    assert session.state == S.CONSULTING
    third = session.legs.get(provider_leg_id="12")
    assert (third.state, third.employee_id, third.is_operator) == (L.RINGING, "26", True)
    assert session.details["employee_id"] == "25"  # the session's employee is still Anna
    webhook_event_ingest(account=account, event=cg(account, "leg_disconnected", 6, 40, leg_id=12))
    session.refresh_from_db()
    assert session.state == S.ON_HOLD
    assert session.legs.get(provider_leg_id="12").state == L.ENDED


def test_account_sync_freshness_moves(account):
    assert not AccountSync.objects.filter(account=account).exists()
    ingest_all(account, incoming_call(account)[:1])
    first = AccountSync.objects.get(account=account).last_event_at
    assert first is not None
    ingest_all(account, incoming_call(account)[1:2])
    assert AccountSync.objects.get(account=account).last_event_at >= first


def test_a_forged_webhook_changes_nothing(account):
    from dashboard.providers.callgear.notifications import TEMPLATES

    body = TEMPLATES["incoming_call"].render({"notification_mnemonic": "incoming_call", "call_session_id": 9,
                                               "session_event_seq": 1, "notification_time": "2026-01-01T10:00:00Z"})
    response = Client().post(f"/hooks/{account.pk}/", data=body, content_type="application/json",
                             headers={"X-Callboard-Secret": "forged"})
    assert response.status_code == 403
    assert not WebhookEvent.objects.exists() and not CallSession.objects.exists()
    assert not AccountSync.objects.filter(account=account, last_event_at__isnull=False).exists()


# --- CCAI --------------------------------------------------------------------------------------


def ccai_body(sequence: int, status: str, participants: list[dict], second: int, call_id: int = 1001,
              agent_email: str | None = "admin@somedomain.com") -> bytes:
    from dashboard.providers.ccai.webhooks import build_status_change

    call = {"id": call_id, "call_type": "Voice Outbound (API)", "status": status, "participants": participants,
            "fail_reason": "nothing"}
    body = build_status_change(call=call, previous_status=None, sequence=sequence,
                               event_time=f"2026-01-01T10:00:{second:02d}.000Z", end_user_number="+18596579625",
                               agent_email=agent_email, menu_id=None)
    return json.dumps(body).encode()


def ccai_events(account, call_id: int = 1001) -> list:
    agent = {"id": 1, "type": "agent", "user_id": 1, "call_id": call_id}
    user = {"id": 2, "type": "end_user", "end_user_id": 7, "call_id": call_id}
    t0, t1 = "2026-01-01T10:00:05.000Z", "2026-01-01T10:00:30.000Z"
    bodies = [
        ccai_body(1, "assigned", [{**agent, "status": "waiting"}], 0, call_id),
        ccai_body(2, "connecting", [{**agent, "status": "connected", "connected_at": t0},
                                    {**user, "status": "connecting"}], 3, call_id),
        ccai_body(3, "connected", [{**agent, "status": "connected", "connected_at": t0},
                                   {**user, "status": "connected", "connected_at": t0}], 5, call_id),
        ccai_body(4, "finished", [{**agent, "status": "finished", "connected_at": t0, "ended_at": t1},
                                  {**user, "status": "finished", "connected_at": t0, "ended_at": t1}], 30, call_id),
    ]
    return [parse_event(account, b) for b in bodies]


def test_ccai_calls_appear_with_participants_as_legs_and_finish(ccai_account, agent):
    AgentProfile.objects.update_or_create(user=agent, defaults={"ccai_agent_email": "admin@somedomain.com"})
    events = ccai_events(ccai_account)
    session = ingest_all(ccai_account, events[:3])
    assert (session.state, session.provider_status, session.direction) == (S.TALKING, "connected", "out")
    assert session.agent == agent and session.contact_number == "+18596579625"
    legs = {leg.provider_leg_id: leg for leg in session.legs.all()}
    assert legs["1"].is_operator and legs["1"].employee_id == "admin@somedomain.com" and legs["1"].agent == agent
    assert legs["2"].called_number == "+18596579625" and legs["2"].state == L.TALKING
    webhook_event_ingest(account=ccai_account, event=events[3])
    session.refresh_from_db()
    assert (session.state, session.finish_reason) == (S.ENDED, "finished")
    assert set(session.legs.values_list("state", flat=True)) == {L.ENDED}


def test_ccai_events_shuffled_converge(ccai_account):
    expected = snapshot(ingest_all(ccai_account, ccai_events(ccai_account, 500)[:3]))
    rng = random.Random(3)
    for n in range(5):
        events = ccai_events(ccai_account, 600 + n)[:3]
        rng.shuffle(events)
        assert snapshot(ingest_all(ccai_account, events)) == expected


# --- broadcasts ---------------------------------------------------------------------------------


async def test_the_broadcast_reaches_the_account_group_and_the_agents_group(account, agent):
    from channels.layers import get_channel_layer

    from dashboard import groups

    await AgentProfile.objects.aupdate_or_create(user=agent, defaults={"callgear_employee_id": 25})
    layer = get_channel_layer()
    watch_all, watch_own = await layer.new_channel(), await layer.new_channel()
    await layer.group_add(groups.calls_account_group(account.pk), watch_all)
    await layer.group_add(groups.calls_agent_group(agent.pk), watch_own)
    events = incoming_call(account)
    for event in events[:2]:
        await sync_to_async(webhook_event_ingest)(account=account, event=event)
    session = await CallSession.objects.aget()
    for channel in (watch_all, watch_own):
        message = await asyncio.wait_for(layer.receive(channel), timeout=2)
        assert message["type"] == "html.push"
        assert f"{session.pk}" in message_html(message)
