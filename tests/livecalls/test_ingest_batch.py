"""Webhooks applied in batches: the same result as one at a time, one card per changed
session per batch, a failing event leaves no trace but its stored row."""

from __future__ import annotations

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard import broadcast, groups
from dashboard.models import AgentProfile
from livecalls.models import CallSession, WebhookEvent
from livecalls.services import ingest_batch
from livecalls.services.ingest_batch import webhook_events_ingest
from tests.livecalls.test_ingest import ccai_events, cg, ending, incoming_call, snapshot

pytestmark = pytest.mark.django_db(transaction=True)


def without_ids(snap: dict) -> dict:
    return {k: v for k, v in snap.items() if k != "legs"} | {"legs": sorted(snap["legs"].values(), key=repr)}


def session_of(account, ref) -> CallSession:
    return CallSession.objects.get(account=account, provider_session_id=str(ref))


@pytest.fixture
def frames(monkeypatch):
    """What each group is sent, frame by frame (the channel layer is not under test here)."""
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(broadcast, "group_send", lambda group, message: sent.append((group, broadcast.message_html(message))))
    return sent


def test_any_batching_gives_the_state_one_at_a_time_gives(account, agent):
    AgentProfile.objects.update_or_create(user=agent, defaults={"callgear_employee_id": 25})
    one_by_one = incoming_call(account, 700) + ending(account, 700)
    for event in one_by_one:
        webhook_events_ingest([(account, event)])
    expected = without_ids(snapshot(session_of(account, 700)))
    rng = random.Random(7)
    for n in range(4):
        ref = 701 + n
        events = incoming_call(account, ref) + ending(account, ref)
        if n % 2:
            rng.shuffle(events)  # out of order too: the rules, not the arrival, decide
        i = 0
        while i < len(events):
            size = rng.randint(1, len(events))
            webhook_events_ingest([(account, e) for e in events[i:i + size]])
            i += size
        assert without_ids(snapshot(session_of(account, ref))) == expected
    assert WebhookEvent.objects.filter(applied_at__isnull=True).count() == 0


def test_ccai_events_in_one_batch(ccai_account):
    events = ccai_events(ccai_account, 800)
    for event in events:
        webhook_events_ingest([(ccai_account, event)])
    batched = ccai_events(ccai_account, 801)
    webhook_events_ingest([(ccai_account, e) for e in batched])
    assert without_ids(snapshot(session_of(ccai_account, 801))) == without_ids(snapshot(session_of(ccai_account, 800)))


def test_repeats_in_and_across_batches_are_duplicates(account):
    events = incoming_call(account)[:3]
    first = webhook_events_ingest([(account, events[0]), (account, events[1]), (account, events[0])])
    assert [r.status for r in first] == ["applied", "applied", "duplicate"]
    second = webhook_events_ingest([(account, events[1]), (account, events[2])])
    assert [r.status for r in second] == ["duplicate", "applied"]
    assert WebhookEvent.objects.count() == 3
    assert CallSession.objects.count() == 1


def test_a_failing_event_is_stored_unapplied_and_leaves_its_session_as_it_was(account, monkeypatch):
    real = ingest_batch.event_apply

    def apply(legs, event):
        real(legs, event)
        if event.event_type == "call_held":  # changed the session and legs, then failed
            legs.session.tags = ["half-done"]
            legs.get_or_create("999")
            raise RuntimeError("boom")

    monkeypatch.setattr(ingest_batch, "event_apply", apply)
    events = incoming_call(account)[:5]  # ... talk_started (3), call_held (4), tag_added (5)
    results = webhook_events_ingest([(account, e) for e in events])
    assert [r.status for r in results] == ["applied", "applied", "applied", "stored", "applied"]
    session = session_of(account, 777)
    assert session.state == CallSession.State.TALKING  # the hold never happened
    assert session.tags == ["Hot lead"]
    assert sorted(session.legs.values_list("provider_leg_id", flat=True)) == ["10", "11"]
    stored = WebhookEvent.objects.get(event_type="call_held")
    assert stored.applied_at is None
    assert WebhookEvent.objects.filter(applied_at__isnull=False).count() == 4


def test_a_failing_first_event_creates_no_session(account, monkeypatch):
    def apply(legs, event):
        raise RuntimeError("boom")

    monkeypatch.setattr(ingest_batch, "event_apply", apply)
    results = webhook_events_ingest([(account, incoming_call(account)[0])])
    assert [r.status for r in results] == ["stored"]
    assert not CallSession.objects.exists()


def test_one_frame_per_group_and_one_card_per_session_per_batch(account, agent, other_agent, frames):
    AgentProfile.objects.update_or_create(user=agent, defaults={"callgear_employee_id": 25})
    AgentProfile.objects.update_or_create(user=other_agent, defaults={"callgear_employee_id": 26})
    mine = incoming_call(account, 901)[:4]
    theirs = [cg(account, "incoming_call", 1, 0, 902, employee_id=26),
              cg(account, "talk_started", 2, 3, 902, leg_ids="20,21", employee_id=26)]
    webhook_events_ingest([(account, e) for e in mine + theirs])
    by_group = {}
    for group, html in frames:
        by_group.setdefault(group, []).append(html)
    supervisors = groups.calls_account_group(account.pk)
    assert set(by_group) == {supervisors, groups.calls_agent_group(agent.pk), groups.calls_agent_group(other_agent.pk)}
    assert all(len(sent) == 1 for sent in by_group.values())  # one frame each
    first, second = session_of(account, 901), session_of(account, 902)
    wall_frame = by_group[supervisors][0]
    assert wall_frame.count('class="call-card') == 2  # each session once, in its newest state
    assert f'id="session-{first.pk}"' in wall_frame and 'data-seq="4"' in wall_frame
    mine_frame = by_group[groups.calls_agent_group(agent.pk)][0]
    assert f'id="session-{first.pk}"' in mine_frame and f'id="session-{second.pk}"' not in mine_frame
    assert f'id="session-{second.pk}"' in by_group[groups.calls_agent_group(other_agent.pk)][0]


def test_the_queries_of_a_batch_do_not_grow_with_its_events(account, agent):
    AgentProfile.objects.update_or_create(user=agent, defaults={"callgear_employee_id": 25})

    def queries(n: int, base: int) -> int:
        events = [cg(account, "talk_started", 1, 1, base + i, leg_ids=f"{i}1,{i}2") for i in range(n)]
        with CaptureQueriesContext(connection) as captured:
            webhook_events_ingest([(account, e) for e in events])
        return len(captured)

    queries(1, 5000)  # the account's first event also creates its freshness row
    # New sessions and legs are inserted together, agents looked up together: 1 call or 20
    # take the same statements.
    assert queries(20, 1000) == queries(1, 2000)


def test_a_batch_that_lost_a_creation_race_is_applied_again_once(account, monkeypatch):
    """Another server created the session between our read and our insert: the batch's
    transaction is rolled back and run again, and nothing is stored twice."""
    from django.db import IntegrityError

    real = ingest_batch.sessions_write
    calls = []

    def write(books):
        calls.append(len(books))
        if len(calls) == 1:
            real(books)  # our rows went in, then the insert of another server's twin failed
            raise IntegrityError("UNIQUE constraint failed: livecalls_callsession.account_id, provider_session_id")
        real(books)

    monkeypatch.setattr(ingest_batch, "sessions_write", write)
    events = incoming_call(account)[:3]
    results = webhook_events_ingest([(account, e) for e in events])
    assert len(calls) == 2
    assert [r.status for r in results] == ["applied"] * 3
    assert WebhookEvent.objects.count() == 3
    assert CallSession.objects.count() == 1
    assert session_of(account, 777).state == CallSession.State.TALKING
    assert session_of(account, 777).legs.count() == 2


# --- one bad delivery fails alone ---------------------------------------------------------


def deliveries(account, bodies):
    return [(account.pk, account.webhook_secret, body) for body in bodies]


def callgear_body(**values) -> bytes:
    from dashboard.providers.callgear.notifications import TEMPLATES

    base = {"notification_mnemonic": "talk_started", "notification_time": "2026-01-01T10:00:05Z",
            "call_session_id": 4242, "session_event_seq": 1, "leg_ids": "1,2", "virtual_phone_number": "74950000000",
            "contact_phone_number": "79110000001", "direction": "in", "external_id": "", "employee_id": 25,
            "employee_full_name": "E"}
    base.update(values)
    return TEMPLATES[base["notification_mnemonic"]].render(base).encode()


@pytest.mark.parametrize(("values", "names"), [
    ({"employee_id": "²"}, None),  # not a number: no agent, the event is still applied
    ({"notification_time": "2024-13-01 00:00:00"}, "notification_time"),
    ({"session_event_seq": 2**40}, "session_event_seq"),
    ({"leg_ids": "1" * 70}, "leg_id"),
    ({"call_session_id": "9" * 70}, "call_session_id"),
])
def test_crafted_values_are_refused_by_name_and_the_rest_of_the_batch_goes_on(account, values, names):
    from livecalls.receiver import webhooks_receive

    bodies = [callgear_body(call_session_id=1), callgear_body(**values), callgear_body(call_session_id=2)]
    answers = webhooks_receive(deliveries(account, bodies))
    assert answers[0] == answers[2] == (200, {"status": "accepted"})
    if names is None:
        assert answers[1] == (200, {"status": "accepted"})
    else:
        assert answers[1][0] == 400 and names in answers[1][1]["error"], answers[1]
    assert CallSession.objects.filter(provider_session_id__in=["1", "2"]).count() == 2


def test_an_event_the_database_refuses_fails_alone(account, monkeypatch):
    from django.db import DataError

    from livecalls.receiver import webhooks_receive

    real = ingest_batch.sessions_write

    def write(books):
        if any(book.session.provider_session_id == "13" for book in books):
            raise DataError("value too long for type character varying(32)")
        real(books)

    monkeypatch.setattr(ingest_batch, "sessions_write", write)
    bodies = [callgear_body(call_session_id=n) for n in (11, 12, 13, 14)]
    answers = webhooks_receive(deliveries(account, bodies))
    assert [code for code, _ in answers] == [200, 200, 503, 200]
    assert sorted(CallSession.objects.values_list("provider_session_id", flat=True)) == ["11", "12", "14"]
    assert WebhookEvent.objects.count() == 3  # the refused one is not stored: its provider sends it again


def test_agents_named_two_ways_are_both_found(account, agent):
    from livecalls.selectors import agents_for

    AgentProfile.objects.update_or_create(user=agent, defaults={"callgear_employee_id": 7})
    assert agents_for(account, ["7", "007", "8", "²"]) == {"7": agent, "007": agent, "8": None, "²": None}


def test_the_receiver_outlives_a_request_that_went_away(account):
    """A request cancelled (its loop closed) before its answer: the next ones are answered."""
    import asyncio

    from livecalls.receiver import RECEIVER

    async def gone():
        try:
            await asyncio.wait_for(RECEIVER.receive(account.pk, account.webhook_secret, callgear_body()), 0)
        except TimeoutError:
            pass

    asyncio.run(gone())  # its loop is closed when the receiver answers

    async def next_one():
        return await asyncio.wait_for(
            RECEIVER.receive(account.pk, account.webhook_secret, callgear_body(call_session_id=5151)), 10)

    assert asyncio.run(next_one()) == (200, {"status": "accepted"})
