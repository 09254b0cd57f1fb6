"""A call the provider no longer lists, or no longer knows, is ended on the wall, whatever
the last notification about it said."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from dashboard.models import AuditEntry
from dashboard.providers import accounts
from livecalls.models import CallSession, Leg
from livecalls.services.reconcile import GONE_CALLGEAR, GONE_CCAI, reconcile_account
from tests.livecalls.test_reconcile import hold_while_listing

pytestmark = pytest.mark.django_db(transaction=True)

S = CallSession.State
L = Leg.State


async def reconcile(account):
    return await sync_to_async(reconcile_account)(account=account)


async def test_a_held_call_the_listing_left_out_is_ended_though_a_notification_came_while_it_was_read(
        sandbox, sandbox_transport, sandbox_accounts, monkeypatch):
    """The call ended at the provider with its end notification lost; a late call_held
    arrives while list.calls is read. The listing, which left the call out, wins."""

    account = sandbox_accounts["callgear"]
    twin = sandbox.twin("callgear")
    sid = twin.simulate_incoming_call(employee_id=26, contact=twin.find_contact(min_talk=120))
    await sandbox.settle(10, step=1)
    assert twin.sessions[sid].state == "talk"
    assert (await reconcile(account)).ok  # the wall has it, talking
    session = await CallSession.objects.aget(account=account, provider_session_id=str(sid))
    assert session.state == S.TALKING
    record = twin.sessions[sid]
    contact_leg = record.role("contact").leg_id
    twin.end_call(sid)  # no notification reaches us (none are wired here)
    hold_while_listing(monkeypatch, account, sid=sid, seq=record.seq + 1, leg=contact_leg)
    outcome = await reconcile(account)
    assert outcome.ok and outcome.ended == 1
    await session.arefresh_from_db()
    assert (session.state, session.finish_reason) == (S.ENDED, GONE_CALLGEAR)
    assert session.ended_at is not None
    assert not await Leg.objects.filter(session=session).exclude(state=L.ENDED).aexists()


async def test_ccai_calls_read_one_by_one_take_turns(sandbox, sandbox_transport, sandbox_accounts, monkeypatch):
    """Active calls the listing's window missed are read a few per run: one the provider
    still calls active must not keep a forgotten one from ever being read."""
    from livecalls.services import reconcile as module

    account = sandbox_accounts["ccai"]
    call = sandbox.twin("ccai").simulate_incoming_call("+18596579628")
    await sandbox.settle(5, step=1)
    async with accounts.open_ccai(account) as client:
        assert not (await client.get_call(call["id"])).is_terminal
    now = timezone.now()
    live = await CallSession.objects.acreate(account=account, provider_session_id=str(call["id"]), state=S.TALKING,
                                             started_at=now)
    ghost = await CallSession.objects.acreate(account=account, provider_session_id="987655", state=S.TALKING,
                                              started_at=now - timedelta(minutes=1))
    monkeypatch.setattr(module, "CCAI_SINGLE_READS", 1)
    monkeypatch.setattr(module, "reconcile_window", lambda: timedelta(hours=-1))  # the listing shows neither

    assert (await reconcile(account)).ok
    assert (await reconcile(account)).ok
    await ghost.arefresh_from_db()
    await live.arefresh_from_db()
    assert (ghost.state, ghost.finish_reason) == (S.ENDED, GONE_CCAI)
    assert live.ended_at is None


def test_an_action_on_a_call_the_provider_has_forgotten_ends_it_on_the_wall(sandbox, sandbox_transport,
                                                                            sandbox_accounts, agent, agent_client):
    from dashboard.models import AgentProfile
    from tests.livecalls.test_actions import ANNA, start_talking_call, toast

    AgentProfile.objects.create(user=agent, callgear_employee_id=ANNA, callgear_phone_numbers=["79260000001"])
    call = start_talking_call(sandbox, sandbox_accounts["callgear"], agent)
    # Any other provider error leaves the call as it was.
    response = agent_client.post(f"/calls/{call.pk}/unhold/", headers={"HX-Request": "true"})  # not on hold
    assert "invalid_state" in toast(response)["text"]
    assert CallSession.objects.get(pk=call.pk).ended_at is None

    CallSession.objects.filter(pk=call.pk).update(state=S.ON_HOLD)  # what the wall last heard
    sandbox.twin("callgear").end_call(int(call.provider_session_id))  # its end notification lost
    response = agent_client.post(f"/calls/{call.pk}/unhold/", headers={"HX-Request": "true"})
    message = toast(response)
    assert message["level"] == "error"
    assert "already ended" in message["text"] and "call_session_not_found" in message["text"]
    row = CallSession.objects.get(pk=call.pk)
    assert (row.state, row.finish_reason) == (S.ENDED, "call session not found") and row.ended_at is not None
    assert not Leg.objects.filter(session=row).exclude(state=L.ENDED).exists()
    assert 'data-state="ended"' in response.content.decode()  # the card it answers with
    entry = AuditEntry.objects.filter(action="call.unhold").latest("pk")
    assert (entry.result, entry.provider_mnemonic) == ("error", "call_session_not_found")
