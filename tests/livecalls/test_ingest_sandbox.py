"""Webhooks from the sandbox twins, delivered through /hooks/<id>/, against list.calls."""

from __future__ import annotations

import pytest

from dashboard.providers import accounts
from dashboard.providers.callgear.models import Message
from livecalls.models import CallSession, Leg
from tests.livecalls.test_reconcile import assert_matches_list_calls, reconcile, wired  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wired")]

S = CallSession.State
L = Leg.State


async def talking_call(sandbox, account, employee_id=26):
    twin = sandbox.twin("callgear")
    sid = twin.simulate_incoming_call(employee_id=employee_id, contact=twin.find_contact(min_talk=300))
    for _ in range(12):
        await sandbox.settle(1, step=1)
        if twin.sessions[sid].state == "talk":
            return sid
    pytest.skip("the seeded call was not answered")


async def test_a_consultation_and_transfer_follow_the_sandbox(sandbox, sandbox_accounts):
    account = sandbox_accounts["callgear"]
    sid = await talking_call(sandbox, account)
    async with accounts.open_callgear(account) as client:
        await client.hold_call(sid, contact_message=Message.media(2034))
        await sandbox.settle(1, step=1)
        await assert_matches_list_calls(account)
        await client.make_call(sid, to="79262444491")
        await sandbox.settle(1, step=1)
        session = await CallSession.objects.aget(account=account, provider_session_id=str(sid))
        assert session.state == S.CONSULTING
        await assert_matches_list_calls(account)
        await sandbox.settle(8, step=1)  # the third party answers: operators talk
        # No notification says so (CallGear has no event for it): only list.calls shows it.
        await reconcile(account)
        await assert_matches_list_calls(account)
        await client.transfer_talk(sid)
        await sandbox.settle(1, step=1)
    await assert_matches_list_calls(account)
    session = await CallSession.objects.select_related("agent").aget(account=account, provider_session_id=str(sid))
    assert session.state == S.TALKING
    assert session.details["employee_id"] == "27"  # Clara took the call over
    outcome = await reconcile(account)
    assert outcome.ok and outcome.changed == 0


async def test_a_coach_ringing_does_not_take_the_call_over(sandbox, sandbox_accounts, agent, other_agent):
    from dashboard.models import AgentProfile

    await AgentProfile.objects.aupdate_or_create(user=agent, defaults={"callgear_employee_id": 26})
    await AgentProfile.objects.aupdate_or_create(user=other_agent, defaults={"callgear_employee_id": 27})
    account = sandbox_accounts["callgear"]
    sid = await talking_call(sandbox, account)
    async with accounts.open_callgear(account) as client:
        await client.add_coach(sid)
    await sandbox.settle(6, step=1)
    session = await CallSession.objects.aget(account=account, provider_session_id=str(sid))
    assert session.agent_id == agent.pk
    coach = await Leg.objects.aget(session=session, employee_id="27")
    assert coach.agent_id == other_agent.pk and coach.state == L.RINGING
    await reconcile(account)  # a coach joining sends no notification: list.calls shows it
    await assert_matches_list_calls(account)
    await session.arefresh_from_db()
    await coach.arefresh_from_db()
    assert session.agent_id == agent.pk and coach.state == L.TALKING


async def test_duplicated_and_reordered_webhooks_still_follow_the_sandbox(sandbox, sandbox_accounts):
    account = sandbox_accounts["callgear"]
    sandbox.faults.update({"notify_duplicate_rate": 0.5, "notify_reorder_rate": 0.5})
    twin = sandbox.twin("callgear")
    for n, employee in enumerate([25, 26, 27, 29]):
        twin.simulate_incoming_call(employee_id=employee, contact=twin.find_contact(min_talk=60, start=n * 700))
    for _ in range(15):
        await sandbox.settle(1, step=1)
    # A reordered event is held back until the next one: flush with one more.
    twin.simulate_incoming_call(employee_id=25, contact=twin.find_contact(min_talk=60, start=5000))
    await sandbox.settle(1, step=1)
    active = {str(s.call_session_id) for s in twin.active_sessions()}
    for ref in active:
        session = await CallSession.objects.aget(account=account, provider_session_id=ref)
        truth = twin.sessions[int(ref)]
        assert session.state == {"talk": S.TALKING, "connecting": S.RINGING}[truth.state], ref
    await sandbox.settle(900, step=5)
    twin.simulate_incoming_call(employee_id=25, contact=twin.find_contact(min_talk=60, start=6000))
    await sandbox.settle(1, step=1)
    ended = [str(s.call_session_id) for s in twin.sessions.values() if not s.active]
    assert await CallSession.objects.filter(account=account, provider_session_id__in=ended,
                                            state=S.ENDED).acount() == len(ended)
