"""The push sends each valid phone to JAICP exactly once, whatever fails on the way."""

from __future__ import annotations

import httpx
import pytest

from campaigns.models import CallJob, CampaignStatusCount, PushBatch
from campaigns.services import push
from tests.conftest import add_jobs

pytestmark = pytest.mark.django_db(transaction=True)

PHONES = [f"+1650555{n:04d}" for n in range(100, 110)]


def ledger_phones(sandbox, token):
    import asyncio

    async def get():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url="http://sb") as c:
            return (await c.get("/_sandbox/ledger")).json()["jaicp"]["call_jobs"]

    return [j["phone"] for j in asyncio.run(get()) if j["campaign_token"] == token and j["idempotence_key"]]


def counts(campaign):
    return dict(CampaignStatusCount.objects.filter(campaign=campaign).values_list("status", "count"))


def test_it_pushes_every_pending_job_in_batches_and_moves_the_counts(sandbox, sandbox_transport, campaign):
    add_jobs(campaign, PHONES)
    outcome = push.campaign_push(campaign=campaign)
    assert (outcome.batches_sent, outcome.jobs_pushed, outcome.errors) == (4, 10, [])
    assert sorted(ledger_phones(sandbox, campaign.token)) == sorted(p.lstrip("+") for p in PHONES)
    assert not CallJob.objects.filter(campaign=campaign, provider_job_id="").exists()
    assert counts(campaign) == {"pending": 0, "planned": 10}
    assert PushBatch.objects.filter(campaign=campaign, state="sent").count() == 4
    # Nothing left: a second run sends nothing.
    assert push.campaign_push(campaign=campaign).batches_sent == 0


def test_a_crash_between_send_and_record_is_resumed_without_a_second_job(sandbox, sandbox_transport, campaign, monkeypatch):
    add_jobs(campaign, PHONES)
    real_record = push._record_sent
    calls = {"n": 0}

    def crash_on_second(batch, job_ids):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed after the provider created the jobs")
        return real_record(batch, job_ids)

    monkeypatch.setattr(push, "_record_sent", crash_on_second)
    with pytest.raises(SystemExit):
        push.campaign_push(campaign=campaign)
    monkeypatch.setattr(push, "_record_sent", real_record)
    outcome = push.campaign_push(campaign=campaign)  # the restarted worker
    assert outcome.errors == []
    phones = ledger_phones(sandbox, campaign.token)
    assert sorted(phones) == sorted(p.lstrip("+") for p in PHONES)  # each exactly once
    assert counts(campaign) == {"pending": 0, "planned": 10}


def test_commit_then_drop_faults_with_retries_leave_each_phone_once(sandbox, sandbox_transport, campaign):
    add_jobs(campaign, PHONES)
    sandbox.faults.update({"drop_rate": 0.6, "seed": 11})
    for _ in range(20):  # the worker retries the task until it finishes
        if push.campaign_push(campaign=campaign).stopped == "" and not CallJob.objects.filter(
                campaign=campaign, provider_job_id="").exists():
            break
    sandbox.faults.clear()
    assert sorted(ledger_phones(sandbox, campaign.token)) == sorted(p.lstrip("+") for p in PHONES)
    assert not CallJob.objects.filter(campaign=campaign, provider_job_id="").exists()


def test_a_refused_phone_is_marked_and_its_batch_goes_again_without_it(sandbox, sandbox_transport, campaign):
    add_jobs(campaign, PHONES[:3])
    add_jobs(campaign, ["+12"])  # JAICP refuses this number
    add_jobs(campaign, PHONES[3:6])
    outcome = push.campaign_push(campaign=campaign)
    assert outcome.jobs_rejected == 1 and outcome.jobs_pushed == 6 and outcome.batches_failed == 0
    rejected = CallJob.objects.get(phone="12")
    assert rejected.job_status == "rejected" and "phone.bad.format" in rejected.push_error
    failed = PushBatch.objects.get(state="failed")
    assert failed.error_code == "phone.bad.format"
    assert sorted(ledger_phones(sandbox, campaign.token)) == sorted(p.lstrip("+") for p in PHONES[:6])
    assert counts(campaign) == {"pending": 0, "planned": 6, "rejected": 1}


def refuse_first_batch(monkeypatch) -> None:
    """JAICP refuses the first batch as a whole (an error that names no phone)."""
    from dashboard.providers.base import ProviderError

    real_send = push._send
    calls = {"n": 0}

    async def refuse_first(campaign_, batch):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ProviderError("The campaign is finished", provider="jaicp", code="invalid.call.task.state",
                                mnemonic="invalid.call.task.state", status=400)
        return await real_send(campaign_, batch)

    monkeypatch.setattr(push, "_send", refuse_first)


def test_an_error_naming_no_phone_fails_the_batch_and_the_push_goes_on(sandbox, sandbox_transport, campaign, monkeypatch):
    add_jobs(campaign, PHONES[:6])
    refuse_first_batch(monkeypatch)
    outcome = push.campaign_push(campaign=campaign)
    assert outcome.batches_failed == 1 and outcome.batches_sent == 1
    assert PushBatch.objects.get(state="failed").error_code == "invalid.call.task.state"


def test_a_transient_failure_stops_the_run_and_keeps_the_batch_pending(sandbox, sandbox_transport, campaign, monkeypatch):
    add_jobs(campaign, PHONES[:3])
    sandbox.faults.update({"error_rate": 1})
    monkeypatch.setattr("dashboard.providers.base.RetryPolicy.delay", lambda self, attempt: 0)
    outcome = push.campaign_push(campaign=campaign)
    assert outcome.stopped and outcome.jobs_pushed == 0
    batch = PushBatch.objects.get()
    assert batch.state == "pending" and batch.error
    sandbox.faults.clear()
    assert push.campaign_push(campaign=campaign).jobs_pushed == 3
    assert PushBatch.objects.get().idempotence_key == batch.idempotence_key
