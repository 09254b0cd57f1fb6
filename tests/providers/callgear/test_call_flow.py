"""Call sessions move over time on a ManualClock, through the documented state rules."""

from __future__ import annotations

from dashboard.providers.callgear.models import Message

from .conftest import VNUM, talking_call

HOLD = Message.media(2034)


def states(session) -> list[tuple[str | None, str]]:
    return [(leg.employee_full_name, leg.state) for leg in session.legs]


async def test_employee_first_call_rings_employee_then_contact_then_talks_and_ends(
    app, twin, key_client
):
    contact = twin.find_contact(min_talk=120, max_ring=20)
    profile = twin.subscriber(contact)
    sid = await key_client.start_employee_call(
        virtual_phone_number=VNUM, contact=contact, employee_id=25
    )

    [session] = await key_client.list_calls()
    assert session.call_session_id == sid
    assert states(session) == [("Anna Petrova", "ringing")]

    app.advance(4)  # Anna picks up; the contact's phone rings
    [session] = await key_client.list_calls()
    assert states(session) == [("Anna Petrova", "queued"), (None, "ringing")]

    app.advance(profile.ring_seconds)
    [session] = await key_client.list_calls()
    assert states(session) == [("Anna Petrova", "talk"), (None, "talk")]
    assert twin.sessions[sid].state == "talk"

    app.advance(profile.talk_seconds + 1)  # the contact hangs up after their usual talk
    assert await key_client.list_calls() == []
    record = twin.ledger()["call_sessions"][0]
    assert record["state"] == "ended" and record["finish_reason"] == "contact_hung_up"


async def test_contact_first_call_reaches_the_employee_after_the_contact_answers(
    app, twin, key_client
):
    contact = twin.find_contact(min_talk=120, max_ring=20)
    profile = twin.subscriber(contact)
    sid = await key_client.start_employee_call(
        virtual_phone_number=VNUM, contact=contact, employee_id=29, first_call="contact"
    )
    app.advance(profile.ring_seconds)
    [session] = await key_client.list_calls()
    assert [leg.state for leg in session.legs] == ["queued", "ringing"]
    app.advance(4)
    assert twin.sessions[sid].state == "talk"


async def test_unanswered_and_busy_contacts_end_the_session(app, twin, key_client):
    silent = twin.find_contact(answers=False, kind="no_answer")
    busy = twin.find_contact(answers=False, kind="busy")
    s1 = await key_client.start_employee_call(
        virtual_phone_number=VNUM, contact=silent, employee_id=25
    )
    s2 = await key_client.start_employee_call(
        virtual_phone_number=VNUM, contact=busy, employee_id=29
    )
    app.advance(10)
    assert twin.sessions[s2].state == "ended" and twin.sessions[s2].finish_reason == "contact_busy"
    assert twin.sessions[s1].state == "connecting"
    app.advance(30)
    assert twin.sessions[s1].finish_reason == "contact_no_answer"


async def test_hold_make_call_operator_talk_then_restore(app, twin, key_client):
    sid, _ = await talking_call(key_client, app, twin)
    assert await key_client.hold_call(sid, contact_message=HOLD)
    [session] = await key_client.list_calls()
    assert ("On hold", "hold") in [(leg.state_raw, leg.state) for leg in session.legs]

    assert await key_client.make_call(sid, to="103")  # Clara's extension
    assert twin.sessions[sid].state == "dialing"
    app.advance(4)
    assert twin.sessions[sid].state == "operator_talk"
    [session] = await key_client.list_calls()
    assert states(session) == [
        ("Anna Petrova", "operators_talk"),
        (None, "hold"),
        ("Clara Smirnova", "operators_talk"),
    ]

    assert await key_client.restore_talk(sid)
    [session] = await key_client.list_calls()
    assert states(session) == [("Anna Petrova", "talk"), (None, "talk")]
    # Back in talk: hold again, unhold.
    assert await key_client.hold_call(sid, contact_message=HOLD)
    assert await key_client.unhold_call(sid)
    assert twin.sessions[sid].state == "talk"


async def test_transfer_after_consultation_hands_the_contact_over(app, twin, key_client):
    sid, _ = await talking_call(key_client, app, twin)
    await key_client.hold_call(sid, contact_message=HOLD)
    await key_client.make_call(sid, to="79262444491")
    app.advance(4)
    assert await key_client.transfer_talk(sid)
    [session] = await key_client.list_calls()
    assert states(session) == [(None, "talk"), ("Clara Smirnova", "talk")]
    assert twin.sessions[sid].employee_id == 27


async def test_blind_transfer_while_dialing_connects_when_the_third_party_answers(
    app, twin, key_client
):
    sid, _ = await talking_call(key_client, app, twin)
    third = twin.find_contact(min_talk=10, max_ring=20, start=5000)
    await key_client.hold_call(sid, contact_message=HOLD)
    await key_client.make_call(sid, to=third)
    assert await key_client.transfer_talk(sid)  # allowed in "dialing"
    [session] = await key_client.list_calls()
    assert [leg.state for leg in session.legs] == ["transferring", "ringing"]
    app.advance(twin.subscriber(third).ring_seconds)
    [session] = await key_client.list_calls()
    assert [(leg.called_phone_number, leg.state) for leg in session.legs][-1] == (third, "talk")


async def test_unanswered_consultation_returns_to_hold(app, twin, key_client):
    sid, _ = await talking_call(key_client, app, twin)
    await key_client.hold_call(sid, contact_message=HOLD)
    await key_client.make_call(
        sid, to=twin.find_contact(answers=False, kind="no_answer", start=7000)
    )
    app.advance(31)
    assert twin.sessions[sid].state == "hold"
    assert await key_client.unhold_call(sid)


async def test_disconnecting_the_contact_ends_the_session(app, twin, key_client):
    sid, _ = await talking_call(key_client, app, twin)
    [session] = await key_client.list_calls()
    contact_leg = next(leg for leg in session.legs if not leg.is_operator)
    assert await key_client.disconnect_leg(sid, leg_id=contact_leg.leg_id)
    assert await key_client.list_calls() == []
    assert twin.sessions[sid].finish_reason == "contact_disconnected"


async def test_disconnecting_the_consulted_party_goes_back_to_hold(app, twin, key_client):
    sid, _ = await talking_call(key_client, app, twin)
    await key_client.hold_call(sid, contact_message=HOLD)
    await key_client.make_call(sid, to="103")
    app.advance(4)
    third = twin.sessions[sid].third_leg_id
    assert await key_client.disconnect_leg(sid, leg_id=third)
    assert twin.sessions[sid].state == "hold"


async def test_tags_recording_coach_dtmf_and_talk_options(app, twin, key_client):
    sid, _ = await talking_call(key_client, app, twin)
    assert await key_client.tag_call(sid, tag_id=456)
    assert await key_client.call_talk_option(sid, button="1")  # tags "Relevant"
    assert await key_client.record_call(sid, action="on")
    assert await key_client.send_dtmf(sid, dtmf_string="12#")
    assert await key_client.add_coach(sid)  # Anna's coach is Clara
    app.advance(4)
    [session] = await key_client.list_calls()
    assert [t.tag_name for t in session.tags] == ["Callback requested", "Relevant"]
    assert all(leg.record_call_enabled for leg in session.legs)
    assert ("Clara Smirnova", "talk") in states(session)
    assert twin.sessions[sid].dtmf == ["12#"]
    assert await key_client.record_call(sid, action="off")
    assert await key_client.call_talk_option(sid, button="9")  # finish conversation
    assert await key_client.list_calls() == []


async def test_informer_call_plays_its_message_and_ends(app, twin, key_client):
    contact = twin.find_contact(max_ring=20)
    sid = await key_client.start_informer_call(
        virtual_phone_number=VNUM, contact=contact, contact_message=Message.media(237)
    )
    app.advance(twin.subscriber(contact).ring_seconds)
    assert twin.sessions[sid].state == "informing"
    app.advance(12)
    assert twin.sessions[sid].finish_reason == "informer_finished"


async def test_scenario_vnumber_and_simple_calls_reach_talk(app, twin, key_client):
    c1, c2, c3 = (twin.find_contact(min_talk=200, max_ring=20, start=n) for n in (0, 3000, 6000))
    s1 = await key_client.start_scenario_call(
        virtual_phone_number=VNUM, contact=c1, scenario_id=23457
    )
    s2 = await key_client.start_vnumber_call(
        virtual_phone_number="74951045771", contact=c2, first_call="employee"
    )
    s3 = await key_client.start_simple_call(
        virtual_phone_number=VNUM, contact=c3, operator="79031112233"
    )
    app.advance(30)
    assert [twin.sessions[s].state for s in (s1, s2, s3)] == ["talk", "talk", "talk"]
    assert twin.sessions[s1].scenario_name == "Support line"
    [simple] = [
        s for s in await key_client.list_calls(virtual_phone_number=VNUM) if s.call_session_id == s3
    ]
    operator = next(leg for leg in simple.legs if leg.is_operator)
    assert operator.employee_id is None and operator.called_phone_number == "79031112233"


async def test_incoming_calls_ring_an_employee_and_can_be_lost(app, twin, key_client):
    answered = [twin.simulate_incoming_call(employee_id=25) for _ in range(20)]
    app.advance(10)
    in_talk = [sid for sid in answered if twin.sessions[sid].state == "talk"]
    ringing = [sid for sid in answered if twin.sessions[sid].state == "connecting"]
    assert in_talk and ringing  # some employees never pick up (lost calls)
    app.advance(15)
    lost = [sid for sid in answered if twin.sessions[sid].finish_reason == "no_answer"]
    assert lost
    calls = await key_client.list_calls(direction="in")
    assert {c.call_session_id for c in calls} <= set(in_talk)


async def test_same_seed_same_world(app, twin):
    from dashboard.sandbox.app import SandboxApp
    from dashboard.sandbox.sim import ManualClock

    other = SandboxApp(providers=("callgear",), clock=ManualClock(), seed=1).twin("callgear")
    assert other.state() == twin.state()
    assert other.find_contact(min_talk=100) == twin.find_contact(min_talk=100)
    a = [twin.simulate_incoming_call() for _ in range(5)]
    b = [other.simulate_incoming_call() for _ in range(5)]
    assert a == b
    assert [twin.sessions[s].contact for s in a] == [other.sessions[s].contact for s in b]


async def test_reset_rebuilds_the_world(app, twin, key_client):
    sid, _ = await talking_call(key_client, app, twin)
    await key_client.block_contact(sid)
    app.reset()
    assert twin.ledger() == {"call_sessions": []}
    assert twin.state()["blacklist"] == ["79169999999"]
