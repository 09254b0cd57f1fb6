"""Reconciliation against the sandbox: the providers' listings restore what webhooks missed."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from dashboard.providers import accounts
from dashboard.providers.callgear.models import Message
from livecalls.models import AccountSync, CallSession, Leg, WebhookEvent
from livecalls.services.ingest import webhook_event_ingest
from livecalls.services.reconcile import (
    CALLGEAR_LEG_CODES,
    GONE_CALLGEAR,
    callgear_session_state,
    reconcile_account,
)

pytestmark = pytest.mark.django_db(transaction=True)

S = CallSession.State
L = Leg.State


@pytest.fixture
def wired(sandbox, sandbox_transport, sandbox_accounts, monkeypatch):
    """Sandbox notifications reach /hooks/<id>/ with each account's secret and are applied
    (through webhook_event_ingest even while the view still only stores them)."""
    from dashboard.sandbox.notify import WebhookTarget
    from livecalls.services import inbox
    from livecalls.webhooks import SECRET_HEADER

    def store_and_apply(*, account, event):
        result = webhook_event_ingest(account=account, event=event)
        return result.event, not result.duplicate

    # ingest.py holds its own reference to the real store, so this only changes the view's
    # call; once the view calls webhook_event_ingest itself, this changes nothing.
    monkeypatch.setattr(inbox, "webhook_event_store", store_and_apply)
    for kind in ("callgear", "ccai"):
        account = sandbox_accounts[kind]
        sandbox.notifier.set_targets(kind, [WebhookTarget(url=f"http://testserver/hooks/{account.pk}/",
                                                          headers={SECRET_HEADER: account.webhook_secret})])
    return sandbox_accounts


async def reconcile(account):
    return await sync_to_async(reconcile_account)(account=account)


async def provider_calls(account):
    async with accounts.open_callgear(account) as client:
        return await client.list_calls()


async def assert_matches_list_calls(account):
    """Local active sessions, their open legs and states are what list.calls says."""
    listed = await provider_calls(account)
    local = {s.provider_session_id: s async for s in CallSession.objects.filter(account=account, ended_at=None)}
    assert set(local) == {str(s.call_session_id) for s in listed}
    for item in listed:
        session = local[str(item.call_session_id)]
        legs = {leg.provider_leg_id: leg async for leg in Leg.objects.filter(session=session).exclude(state=L.ENDED)}
        assert set(legs) == {str(leg.leg_id) for leg in item.legs}, item
        for data in item.legs:
            assert legs[str(data.leg_id)].state == CALLGEAR_LEG_CODES[data.state]
        assert session.state == callgear_session_state([leg.state for leg in item.legs])
        assert session.contact_number == item.contact_phone_number
        assert session.tags == [t.tag_name for t in item.tags]


async def test_with_half_the_webhooks_dropped_reconciliation_restores_the_truth(sandbox, wired):
    account = wired["callgear"]
    twin = sandbox.twin("callgear")
    sandbox.faults.update({"notify_drop_rate": 0.5})
    ids = [twin.simulate_incoming_call(employee_id=e, contact=twin.find_contact(min_talk=60, start=n * 500))
           for n, e in enumerate([25, 26, 27, 29])]
    async with accounts.open_callgear(account) as client:
        await client.start_employee_call(first_call="employee", virtual_phone_number="74993720692",
                                         contact=twin.find_contact(min_talk=60, start=9000), employee_id=25)
    await sandbox.settle(12, step=1)
    talking = [s.call_session_id for s in twin.active_sessions() if s.state == "talk"]
    assert talking, "some calls should be talking by now"
    async with accounts.open_callgear(account) as client:
        await client.hold_call(talking[0], contact_message=Message.media(2034))
        await client.tag_call(talking[0], tag_id=36)
    await sandbox.settle(1, step=1)
    delivered = await WebhookEvent.objects.filter(account=account, applied_at__isnull=False).acount()
    assert 0 < delivered < sum(s.seq for s in twin.sessions.values())

    outcome = await reconcile(account)
    assert outcome.ok and outcome.seen == len(twin.active_sessions())
    await assert_matches_list_calls(account)
    held = await CallSession.objects.aget(account=account, provider_session_id=str(talking[0]))
    assert held.state == S.ON_HOLD and "Hot lead" in held.tags

    # A second run with nothing new changes nothing.
    again = await reconcile(account)
    assert again.changed == 0

    await sandbox.settle(900, step=5)
    assert not twin.active_sessions()
    outcome = await reconcile(account)
    assert outcome.ok
    assert not await CallSession.objects.filter(account=account, ended_at=None).aexists()
    assert not await Leg.objects.filter(session__account=account).exclude(state=L.ENDED).aexists()
    assert {str(i) for i in ids} <= {s async for s in CallSession.objects.filter(account=account).values_list(
        "provider_session_id", flat=True)}


async def test_webhooks_alone_follow_the_sandbox(sandbox, wired):
    """No faults: the webhooks already give what list.calls says, reconcile finds nothing to change."""
    account = wired["callgear"]
    twin = sandbox.twin("callgear")
    sid = twin.simulate_incoming_call(employee_id=26, contact=twin.find_contact(min_talk=60))
    await sandbox.settle(10, step=1)
    await assert_matches_list_calls(account)
    session = await CallSession.objects.aget(account=account, provider_session_id=str(sid))
    assert session.last_event_seq > 0
    outcome = await reconcile(account)
    assert outcome.ok and outcome.seen == 1
    await assert_matches_list_calls(account)


async def test_a_session_gone_from_list_calls_is_ended(sandbox, sandbox_transport, sandbox_accounts):
    account = sandbox_accounts["callgear"]
    ghost = await CallSession.objects.acreate(account=account, provider_session_id="999999", state=S.TALKING)
    await Leg.objects.acreate(session=ghost, provider_leg_id="1", state=L.TALKING)
    outcome = await reconcile(account)
    assert outcome.ok and outcome.ended == 1
    await ghost.arefresh_from_db()
    assert (ghost.state, ghost.finish_reason) == (S.ENDED, GONE_CALLGEAR)
    assert ghost.ended_at is not None
    assert not await Leg.objects.filter(session=ghost).exclude(state=L.ENDED).aexists()


async def test_a_call_ended_by_webhook_is_not_reopened_by_the_listing(sandbox, sandbox_transport, sandbox_accounts):
    from dashboard.providers.callgear.notifications import TEMPLATES
    from livecalls.webhooks import parse_event

    account = sandbox_accounts["callgear"]
    twin = sandbox.twin("callgear")
    sid = twin.simulate_incoming_call(employee_id=26, contact=twin.find_contact(min_talk=60))
    await sandbox.settle(10, step=1)
    body = TEMPLATES["call_ended"].render({
        "notification_mnemonic": "call_ended", "notification_time": "2030-01-01T00:00:00Z", "call_session_id": sid,
        "session_event_seq": 99, "talk_time_duration": 1, "total_time_duration": 1, "wait_time_duration": 1,
        "finish_reason": "ended"})
    await sync_to_async(webhook_event_ingest)(account=account, event=parse_event(account, body.encode()))
    assert twin.active_sessions()
    await reconcile(account)
    session = await CallSession.objects.aget(account=account, provider_session_id=str(sid))
    assert session.state == S.ENDED
    assert not await Leg.objects.filter(session=session).exclude(state=L.ENDED).aexists()


async def test_freshness_moves_and_an_error_is_recorded_not_raised(sandbox, sandbox_transport, sandbox_accounts):
    account = sandbox_accounts["callgear"]
    assert (await reconcile(account)).ok
    sync = await AccountSync.objects.aget(account=account)
    first = sync.last_reconcile_at
    assert first is not None and sync.last_reconcile_error == ""

    account.password = "wrong"
    await account.asave()
    accounts.forget_sessions()
    outcome = await reconcile(account)
    assert not outcome.ok and outcome.error
    sync = await AccountSync.objects.aget(account=account)
    assert sync.last_reconcile_error == outcome.error
    assert sync.last_reconcile_at == first  # only a successful run counts as fresh

    account.password = sandbox.twin("callgear").state()["password"]
    await account.asave()
    assert (await reconcile(account)).ok
    sync = await AccountSync.objects.aget(account=account)
    assert sync.last_reconcile_error == "" and sync.last_reconcile_at > first


async def test_an_injected_server_error_is_recorded(sandbox, sandbox_transport, sandbox_accounts):
    sandbox.faults.update({"error_rate": 1})
    outcome = await reconcile(sandbox_accounts["ccai"])
    assert not outcome.ok
    sync = await AccountSync.objects.aget(account=sandbox_accounts["ccai"])
    assert sync.last_reconcile_error and sync.last_reconcile_at is None


# --- CCAI ------------------------------------------------------------------------------------------


async def test_ccai_calls_appear_with_participants_and_finish_by_reconciliation(sandbox, sandbox_transport,
                                                                              sandbox_accounts):
    account = sandbox_accounts["ccai"]
    twin = sandbox.twin("ccai")
    call = twin.simulate_incoming_call("+18596579625")
    await sandbox.settle(20, step=1)
    outcome = await reconcile(account)
    assert outcome.ok and outcome.seen >= 1
    session = await CallSession.objects.aget(account=account, provider_session_id=str(call["id"]))
    async with accounts.open_ccai(account) as client:
        truth = await client.get_call(call["id"])
    legs = {leg.provider_leg_id: leg async for leg in Leg.objects.filter(session=session)}
    assert truth.participants and legs
    assert set(legs) == {str(p.id) for p in truth.participants}
    assert session.provider_status == truth.status or truth.is_terminal
    assert session.direction == CallSession.Direction.IN

    await sandbox.settle(1800, step=10)
    async with accounts.open_ccai(account) as client:
        truth = await client.get_call(call["id"])
    assert truth.is_terminal
    outcome = await reconcile(account)
    await session.arefresh_from_db()
    assert session.state == S.ENDED and session.ended_at is not None
    assert not await Leg.objects.filter(session=session).exclude(state=L.ENDED).aexists()


async def test_ccai_webhooks_put_calls_and_participants_in(sandbox, wired):
    account = wired["ccai"]
    twin = sandbox.twin("ccai")
    call = twin.simulate_incoming_call("+18596579626")
    await sandbox.settle(20, step=1)
    session = await CallSession.objects.aget(account=account, provider_session_id=str(call["id"]))
    assert session.last_event_seq >= 1
    async with accounts.open_ccai(account) as client:
        truth = await client.get_call(call["id"])
    assert session.provider_status == truth.status
    assert {leg.provider_leg_id async for leg in Leg.objects.filter(session=session)} == {
        str(p.id) for p in truth.participants}
    await sandbox.settle(1800, step=10)
    await session.arefresh_from_db()
    assert session.state == S.ENDED


# --- the periodic task -----------------------------------------------------------------------------


def test_the_tick_enqueues_one_reconcile_per_callgear_and_ccai_account(sandbox_accounts):
    from django_tasks_db.models import DBTaskResult

    from livecalls.tasks import live_reconcile_tick, reconcile_account_task

    assert live_reconcile_tick() == 2
    assert live_reconcile_tick() == 0  # already waiting
    queued = {r.args_kwargs["args"][0] for r in DBTaskResult.objects.filter(task_path=reconcile_account_task.module_path)}
    assert queued == {sandbox_accounts["callgear"].pk, sandbox_accounts["ccai"].pk}


def test_the_task_reconciles_and_never_raises(sandbox_transport, sandbox_accounts, immediate_tasks):
    from livecalls.tasks import reconcile_account_task

    account = sandbox_accounts["callgear"]
    account.password = "wrong"
    account.save()
    result = reconcile_account_task.enqueue(account.pk)
    assert result.return_value["ok"] is False and result.return_value["error"]
    assert AccountSync.objects.get(account=account).last_reconcile_error


async def test_a_scheduled_ccai_call_is_shown_as_scheduled(sandbox, sandbox_transport, sandbox_accounts):
    from datetime import UTC, datetime, timedelta

    account = sandbox_accounts["ccai"]
    when = datetime.fromtimestamp(sandbox.twin("ccai").sim.now, UTC) + timedelta(hours=1)
    async with accounts.open_ccai(account) as client:
        created = await client.create_scheduled_call(end_user_number="+18596579627", scheduled_at=when, menu_id=10)
    assert created.call is not None
    outcome = await reconcile(account)
    assert outcome.ok
    session = await CallSession.objects.aget(account=account, provider_session_id=str(created.call.id))
    assert (session.state, session.provider_status, session.direction) == (S.SCHEDULED, "scheduled", "out")


async def test_a_webhook_applied_while_the_listing_was_read_wins(sandbox, wired, monkeypatch):
    """list.calls says talking; a call_held applied after we asked is newer and stays."""

    account = wired["callgear"]
    twin = sandbox.twin("callgear")
    sid = twin.simulate_incoming_call(employee_id=26, contact=twin.find_contact(min_talk=120))
    await sandbox.settle(10, step=1)
    record = twin.sessions[sid]
    assert record.state == "talk"
    contact_leg = record.role("contact").leg_id
    hold_while_listing(monkeypatch, account, sid=sid, seq=record.seq + 1, leg=contact_leg)
    await reconcile(account)
    session = await CallSession.objects.aget(account=account, provider_session_id=str(sid))
    assert session.state == S.ON_HOLD
    assert (await Leg.objects.aget(session=session, provider_leg_id=str(contact_leg))).state == L.ON_HOLD


async def test_a_ccai_call_the_provider_no_longer_knows_is_ended(sandbox, sandbox_transport, sandbox_accounts):
    from livecalls.services.reconcile import GONE_CCAI

    account = sandbox_accounts["ccai"]
    ghost = await CallSession.objects.acreate(account=account, provider_session_id="987654", state=S.TALKING)
    outcome = await reconcile(account)
    assert outcome.ok and outcome.ended == 1
    await ghost.arefresh_from_db()
    assert (ghost.state, ghost.finish_reason) == (S.ENDED, GONE_CCAI)


def hold_while_listing(monkeypatch, account, *, sid, seq, leg) -> None:
    """A call_held notification applied while reconcile reads the provider's listing."""
    from dashboard.providers.callgear.notifications import TEMPLATES
    from livecalls.services import reconcile as module
    from livecalls.services.ingest import webhook_event_ingest
    from livecalls.webhooks import parse_event

    real_run = module.run

    def run_then_hold(fn):
        listed = real_run(fn)
        body = TEMPLATES["call_held"].render({
            "notification_mnemonic": "call_held", "notification_time": "2030-01-01T00:00:00Z",
            "call_session_id": sid, "session_event_seq": seq, "leg_id": leg})
        webhook_event_ingest(account=account, event=parse_event(account, body.encode()))
        return listed

    monkeypatch.setattr(module, "run", run_then_hold)
