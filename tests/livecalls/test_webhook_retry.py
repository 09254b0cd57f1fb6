"""Notifications that failed to apply are applied again in the background, a bounded
number of times, and the ones given up show on their account's health tile."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client

from dashboard.models import ProviderAccount
from livecalls.models import CallSession, WebhookEvent
from livecalls.services import ingest
from livecalls.services.ingest_batch import MAX_APPLY_ATTEMPTS
from livecalls.tasks import webhook_events_retry_task, webhook_events_retry_tick
from tests.livecalls.test_webhook_receiver import callgear_body

# The receiver applies events on its own thread and connection: committed rows only.
pytestmark = pytest.mark.django_db(transaction=True)

REAL_RULES = ingest.callgear_apply


class Rules:
    """The CallGear rules, counted, failing for the next ``failures`` events (-1: all)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.failures = 0
        self.pause: threading.Barrier | None = None
        monkeypatch.setattr(ingest, "callgear_apply", self)

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.pause is not None:
            try:  # both workers inside the rules at once would apply the event twice
                self.pause.wait()
            except threading.BrokenBarrierError:
                pass
        if self.failures:
            self.failures -= 1
            raise RuntimeError("boom")
        return REAL_RULES(*args, **kwargs)


@pytest.fixture
def rules(monkeypatch) -> Rules:
    return Rules(monkeypatch)


@pytest.fixture
def live_tasks(settings):
    """Tasks run at enqueue time, on the queues the settings declare."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
                                  "QUEUES": ["default", "live"]}}


def make_account(name: str = "CG") -> ProviderAccount:
    return ProviderAccount.objects.create(kind="callgear", name=name, base_url="https://callapi.example.com",
                                          callgear_auth="access_key", access_key="k")


@pytest.fixture
def account(transactional_db) -> ProviderAccount:
    return make_account()


def deliver(account: ProviderAccount, **values) -> str:
    response = Client().post(f"/hooks/{account.pk}/", data=callgear_body(**values), content_type="application/json",
                             headers={"X-Callboard-Secret": account.webhook_secret})
    assert response.status_code == 200
    return response.json()["status"]


def age_events() -> None:
    """As if the events had arrived a minute ago (the retry leaves fresh ones alone)."""
    WebhookEvent.objects.update(received_at=F("received_at") - timedelta(minutes=1))


def retry(account: ProviderAccount) -> dict:
    return webhook_events_retry_task.enqueue(account.pk).return_value


def test_an_event_that_failed_to_apply_is_applied_by_the_retry_task(account, rules, live_tasks):
    rules.failures = 1
    assert deliver(account) == "accepted"  # stored: the provider need not send it again
    event = WebhookEvent.objects.get()
    assert event.applied_at is None
    assert (event.apply_attempts, event.apply_error) == (1, "RuntimeError: boom")
    assert not CallSession.objects.exists()

    assert retry(account)["applied"] == 0  # just arrived: the webhook path's, for now
    age_events()
    assert retry(account) == {"ok": True, "applied": 1, "failed": 0, "given_up": 0}
    event.refresh_from_db()
    assert event.applied_at is not None and event.given_up_at is None
    session = CallSession.objects.get(account=account, provider_session_id="777")
    assert session.state == CallSession.State.TALKING
    assert sorted(session.legs.values_list("provider_leg_id", flat=True)) == ["11", "12"]


def test_events_are_applied_again_in_arrival_order(account, rules, live_tasks):
    rules.failures = 2
    deliver(account, notification_mnemonic="talk_started", session_event_seq=3)
    deliver(account, notification_mnemonic="call_held", session_event_seq=4)
    age_events()
    assert retry(account)["applied"] == 2
    assert CallSession.objects.get(provider_session_id="777").state == CallSession.State.ON_HOLD


def test_attempts_are_bounded_and_a_given_up_event_shows_on_the_health_page(
        account, rules, live_tasks, supervisor_client, agent_client):
    rules.failures = -1
    deliver(account)
    age_events()
    outcomes = [retry(account) for _ in range(MAX_APPLY_ATTEMPTS - 1)]
    assert [o["failed"] for o in outcomes] == [1] * (MAX_APPLY_ATTEMPTS - 1)
    assert outcomes[-1]["given_up"] == 1
    event = WebhookEvent.objects.get()
    assert event.apply_attempts == MAX_APPLY_ATTEMPTS and event.given_up_at is not None
    assert event.applied_at is None
    assert rules.calls == MAX_APPLY_ATTEMPTS

    assert retry(account)["failed"] == 0  # given up: never tried again
    assert webhook_events_retry_tick() == 0
    assert rules.calls == MAX_APPLY_ATTEMPTS

    tile = supervisor_client.get("/").content.decode().split(f'id="account-{account.pk}"')[1].split("</article>")[0]
    assert "1 notification could not be applied" in tile
    assert "talk_started" in tile and "RuntimeError: boom" in tile
    assert "could not be applied" not in agent_client.get("/").content.decode()


def test_an_event_already_applied_is_not_applied_twice(account, rules, live_tasks):
    rules.failures = 1
    deliver(account)
    age_events()
    assert retry(account)["applied"] == 1
    assert retry(account)["applied"] == 0
    assert deliver(account) == "duplicate"
    assert retry(account)["applied"] == 0
    assert rules.calls == 2  # the failed try and the retry
    assert WebhookEvent.objects.get().apply_attempts == 1


def test_two_workers_retrying_at_once_apply_an_event_once(account, rules, live_tasks):
    rules.failures = 1
    deliver(account)
    age_events()
    rules.calls = 0
    rules.pause = threading.Barrier(2, timeout=1)
    outcomes: list[dict] = []

    def worker() -> None:
        try:
            outcomes.append(webhook_events_retry_task.enqueue(account.pk).return_value)
        finally:
            connection.close()

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(30)
    assert sorted(o["applied"] for o in outcomes) == [0, 1]
    assert rules.calls == 1


def test_an_event_whose_batch_cannot_be_written_counts_its_attempt(account, rules, live_tasks, monkeypatch):
    from livecalls.services import ingest_batch

    rules.failures = 1
    deliver(account)
    age_events()

    def refuse(books):
        raise ValueError("value too long for type character varying(32)")

    monkeypatch.setattr(ingest_batch, "sessions_write", refuse)
    assert retry(account) == {"ok": True, "applied": 0, "failed": 1, "given_up": 0}
    event = WebhookEvent.objects.get()
    assert event.applied_at is None and event.apply_attempts == 2
    assert event.apply_error.startswith("ValueError: value too long")
    assert not CallSession.objects.exists()


def test_the_tick_enqueues_one_retry_per_account_with_events_waiting(account, rules):
    from django_tasks_db.models import DBTaskResult

    other, quiet, fresh = make_account("CG 2"), make_account("CG 3"), make_account("CG 4")
    rules.failures = 3
    deliver(account, session_event_seq=3)
    deliver(account, session_event_seq=4)
    deliver(other)
    deliver(quiet)  # applied
    age_events()
    rules.failures = 1
    deliver(fresh)  # failed just now: the webhook path's, for now
    assert webhook_events_retry_tick() == 2
    assert webhook_events_retry_tick() == 0  # already waiting
    queued = [r.args_kwargs["args"][0] for r in DBTaskResult.objects.filter(
        task_path=webhook_events_retry_task.module_path)]
    assert sorted(queued) == [account.pk, other.pk]
    assert {r.queue_name for r in DBTaskResult.objects.all()} == {"live"}
