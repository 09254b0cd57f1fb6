"""A push goes on by itself after a crash; no number is stranded, none skips the
do-not-call list."""

from __future__ import annotations

import subprocess

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from campaigns.models import CallJob, Campaign, CampaignStatusCount, DoNotCallEntry, PushBatch
from campaigns.services import push
from campaigns.tasks import campaign_push_task, push_resume_tick
from dashboard.models import TaskWorker
from dashboard.tasking import lost_tasks_reap, task_worker_register
from tests.campaigns.test_push import PHONES, ledger_phones, refuse_first_batch
from tests.conftest import add_jobs

pytestmark = pytest.mark.django_db(transaction=True)


def counts(campaign):
    return {s: n for s, n in CampaignStatusCount.objects.filter(campaign=campaign).values_list("status", "count") if n}


def push_tasks(campaign, status):
    return DBTaskResult.objects.filter(task_path=campaign_push_task.module_path, status=status,
                                       args_kwargs={"args": [campaign.pk], "kwargs": {}})


def test_a_push_whose_worker_died_is_resumed_without_anyone_pressing_push(admin_client_, sandbox, sandbox_transport, campaign):
    add_jobs(campaign, PHONES)
    admin_client_.post(f"/campaigns/{campaign.pk}/push/", headers={"HX-Request": "true"})
    row = push_tasks(campaign, "READY").get()
    # A worker claims it, sends one batch, and is SIGKILLed.
    task_worker_register("killed-mid-push")
    child = subprocess.Popen(["true"])
    child.wait()
    TaskWorker.objects.filter(pk="killed-mid-push").update(pid=child.pid, pid_started="1")
    DBTaskResult.objects.filter(pk=row.pk).update(status="RUNNING", started_at=timezone.now(),
                                                  worker_ids=["killed-mid-push"])
    push.campaign_push(campaign=Campaign.objects.select_related("account").get(pk=campaign.pk), max_batches=1)
    assert push_resume_tick() == 0  # the dead run still holds the push

    assert lost_tasks_reap() == 1
    assert push_resume_tick() == 1
    assert push_tasks(campaign, "READY").count() == 1
    campaign_push_task.call(campaign.pk)  # what the restarted worker runs

    assert sorted(ledger_phones(sandbox, campaign.token)) == sorted(p.lstrip("+") for p in PHONES)
    assert counts(campaign) == {"planned": 10}
    assert Campaign.objects.get(pk=campaign.pk).push_requested_at is None  # done: nothing to resume
    assert push_resume_tick() == 0


def test_numbers_imported_but_never_asked_to_be_pushed_are_not_pushed_by_the_tick(campaign):
    add_jobs(campaign, PHONES[:3])
    assert push_resume_tick() == 0


def test_a_batch_formed_before_a_crash_is_sent_by_the_tick_even_without_a_request(sandbox, sandbox_transport, campaign):
    add_jobs(campaign, PHONES[:3])
    push.push_batch_form(campaign=campaign, size=10)  # then the worker died
    assert push_resume_tick() == 1
    campaign_push_task.call(campaign.pk)
    assert sorted(ledger_phones(sandbox, campaign.token)) == sorted(p.lstrip("+") for p in PHONES[:3])


def test_a_refused_batch_shows_its_numbers_failed_with_the_reason_and_a_retry_pushes_them_once(
        admin_client_, sandbox, sandbox_transport, campaign, monkeypatch, immediate_tasks):
    add_jobs(campaign, PHONES[:6])
    refuse_first_batch(monkeypatch)
    admin_client_.post(f"/campaigns/{campaign.pk}/push/")
    assert counts(campaign) == {"pushFailed": 3, "planned": 3}
    failed = CallJob.objects.filter(campaign=campaign, job_status="pushFailed")
    assert all("invalid.call.task.state" in j.push_error for j in failed)
    page = admin_client_.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "3 numbers not pushed" in page and "Retry 3" in page

    response = admin_client_.post(f"/campaigns/{campaign.pk}/push/retry/", headers={"HX-Request": "true"})
    assert "put back in line" in response["HX-Trigger"]
    assert counts(campaign) == {"planned": 6}
    assert sorted(ledger_phones(sandbox, campaign.token)) == sorted(p.lstrip("+") for p in PHONES[:6])


def test_supervisors_cannot_retry_without_the_control_permission_and_agents_get_403(agent_client, campaign):
    assert agent_client.post(f"/campaigns/{campaign.pk}/push/retry/").status_code == 403


def test_a_number_put_on_the_do_not_call_list_after_import_is_never_pushed(sandbox, sandbox_transport, campaign):
    add_jobs(campaign, PHONES[:5])
    DoNotCallEntry.objects.create(phone_e164=PHONES[1])
    DoNotCallEntry.objects.create(phone_e164=PHONES[2])
    push.campaign_push(campaign=campaign)
    assert sorted(ledger_phones(sandbox, campaign.token)) == sorted(p.lstrip("+") for p in [PHONES[0], *PHONES[3:5]])
    assert counts(campaign) == {"planned": 3, "doNotCall": 2}
    assert set(CallJob.objects.filter(job_status="doNotCall").values_list("phone_e164", flat=True)) == set(PHONES[1:3])


def test_a_batch_formed_but_never_sent_is_formed_again_without_a_new_do_not_call_number(sandbox, sandbox_transport, campaign):
    add_jobs(campaign, PHONES[:3])
    old = push.push_batch_form(campaign=campaign, size=10)
    DoNotCallEntry.objects.create(phone_e164=PHONES[0])
    push.campaign_push(campaign=campaign)
    assert not PushBatch.objects.filter(pk=old.pk).exists()
    assert sorted(ledger_phones(sandbox, campaign.token)) == sorted(p.lstrip("+") for p in PHONES[1:3])
    assert counts(campaign) == {"planned": 2, "doNotCall": 1}


def test_a_batch_that_may_have_gone_out_goes_again_as_it_was_and_its_blocked_job_is_cancelled(
        sandbox, sandbox_transport, campaign, monkeypatch):
    add_jobs(campaign, PHONES[:3])
    real_record = push._record_sent

    def killed(batch, job_ids):
        raise SystemExit("worker killed after JAICP created the jobs")

    monkeypatch.setattr(push, "_record_sent", killed)
    with pytest.raises(SystemExit):
        push.campaign_push(campaign=campaign)
    monkeypatch.setattr(push, "_record_sent", real_record)
    batch = PushBatch.objects.get()
    assert batch.attempts == 1 and batch.state == "pending"
    DoNotCallEntry.objects.create(phone_e164=PHONES[0])

    push.campaign_push(campaign=campaign)

    assert PushBatch.objects.get().idempotence_key == batch.idempotence_key
    assert sorted(ledger_phones(sandbox, campaign.token)) == sorted(p.lstrip("+") for p in PHONES[:3])  # once each
    blocked = CallJob.objects.get(phone_e164=PHONES[0])
    assert "cancelled at JAICP" in blocked.push_error
    status = {j["job_id"]: j["status"] for j in sandbox.twin("jaicp").ledger()["call_jobs"]}
    assert status[blocked.provider_job_id] == "cancelledByUser"
    assert [s for job_id, s in status.items() if job_id != blocked.provider_job_id and s == "cancelledByUser"] == []
