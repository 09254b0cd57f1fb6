from __future__ import annotations

import subprocess
import threading
import time
from datetime import timedelta

import pytest
from django.tasks import task
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from campaigns.models import NumberList
from campaigns.tasks import campaign_reports_sync_task, number_lists_import_task
from dashboard.models import TaskWorker
from dashboard.tasking import LEASE, enqueue_once, lost_tasks_reap, task_worker_register
from dashboard.workers import WorkerThreads

pytestmark = pytest.mark.django_db


def _running(task_obj, *args, worker_id: str, started_ago: timedelta = timedelta(0)) -> DBTaskResult:
    task_obj.enqueue(*args)
    row = DBTaskResult.objects.get(task_path=task_obj.module_path, args_kwargs={"args": list(args), "kwargs": {}})
    row.status, row.started_at, row.worker_ids = "RUNNING", timezone.now() - started_ago, [worker_id]
    row.save()
    return row


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_enqueue_once_skips_waiting_and_running_work():
    assert enqueue_once(campaign_reports_sync_task, 7) is True
    assert enqueue_once(campaign_reports_sync_task, 7) is False  # still waiting
    assert enqueue_once(campaign_reports_sync_task, 8) is True  # another campaign
    row = DBTaskResult.objects.get(args_kwargs={"args": [7], "kwargs": {}})
    row.status, row.started_at = "RUNNING", timezone.now() - timedelta(hours=1)
    row.save()
    assert enqueue_once(campaign_reports_sync_task, 7) is False  # a slow run is still a run


def test_a_task_whose_worker_process_died_is_failed_at_once_and_its_periodic_job_enqueued_again():
    task_worker_register("doomed")
    TaskWorker.objects.filter(pk="doomed").update(pid=_dead_pid(), pid_started="12345")
    row = _running(campaign_reports_sync_task, 7, worker_id="doomed")
    assert enqueue_once(campaign_reports_sync_task, 7) is False

    assert lost_tasks_reap() == 1

    row.refresh_from_db()
    assert row.status == "FAILED" and row.exception_class_path == "dashboard.tasking.WorkerLost"
    assert "doomed" in row.traceback
    assert enqueue_once(campaign_reports_sync_task, 7) is True


def test_a_slow_task_whose_worker_is_alive_is_left_running_however_long_it_takes():
    task_worker_register("slow")  # this very process: alive
    TaskWorker.objects.filter(pk="slow").update(beat_at=timezone.now() - timedelta(hours=1))
    row = _running(campaign_reports_sync_task, 7, worker_id="slow", started_ago=timedelta(hours=2))
    assert lost_tasks_reap() == 0
    row.refresh_from_db()
    assert row.status == "RUNNING"


def test_a_worker_on_another_machine_is_judged_by_its_heartbeat():
    now = timezone.now()
    TaskWorker.objects.create(worker_id="elsewhere", host="other-host", boot_id="b", pid=1, pid_started="1",
                              started_at=now, beat_at=now)
    row = _running(campaign_reports_sync_task, 7, worker_id="elsewhere")
    assert lost_tasks_reap() == 0  # beating
    TaskWorker.objects.filter(pk="elsewhere").update(beat_at=now - LEASE - timedelta(seconds=1))
    assert lost_tasks_reap() == 1
    row.refresh_from_db()
    assert row.status == "FAILED"


def test_a_worker_stopped_with_a_task_still_running_loses_it():
    task_worker_register("stopping")
    TaskWorker.objects.filter(pk="stopping").update(stopped_at=timezone.now())
    _running(campaign_reports_sync_task, 7, worker_id="stopping")
    assert lost_tasks_reap() == 1


def test_a_worker_restarting_with_the_same_id_fails_what_it_left_running():
    task_worker_register("worker-1")  # alive, as far as the reaper can tell: same process
    row = _running(campaign_reports_sync_task, 7, worker_id="worker-1")
    assert lost_tasks_reap() == 0
    task_worker_register("worker-1")  # a new process took the id: the old one is gone
    row.refresh_from_db()
    assert row.status == "FAILED"


def test_an_import_whose_worker_died_fails_its_list_and_the_queue_goes_on(campaign):
    importing = NumberList.objects.create(campaign=campaign, original_name="a.csv", state="importing")
    queued = NumberList.objects.create(campaign=campaign, original_name="b.csv", state="queued")
    TaskWorker.objects.create(worker_id="gone", host="h", pid=1, started_at=timezone.now(),
                              beat_at=timezone.now() - LEASE * 2)
    DBTaskResult.objects.create(task_path=number_lists_import_task.module_path, status="RUNNING",
                                args_kwargs={"args": [campaign.pk], "kwargs": {}}, worker_ids=["gone"],
                                backend_name="default", run_after=timezone.now(), started_at=timezone.now())

    assert lost_tasks_reap() == 1

    importing.refresh_from_db()
    queued.refresh_from_db()
    assert importing.state == "failed" and "worker stopped" in importing.error
    assert queued.state == "queued"
    assert DBTaskResult.objects.filter(task_path=number_lists_import_task.module_path, status="READY",
                                       args_kwargs={"args": [campaign.pk], "kwargs": {}}).exists()


# --- The live queue never waits behind long work -----------------------------------------

_release = threading.Event()


@task()
def long_push_like_task() -> str:
    _release.wait(20)
    return "long"


@task(queue_name="live")
def reconcile_like_task() -> str:
    return "live"


@pytest.mark.django_db(transaction=True)
def test_one_worker_process_runs_live_work_while_a_long_task_holds_its_default_queue():
    _release.clear()
    threads = WorkerThreads.for_queues("one-process", queue_names=["default"], interval=0.05)
    long_result = long_push_like_task.enqueue()
    threads.start()
    try:
        deadline = time.monotonic() + 20
        while long_push_like_task.get_result(long_result.id).status != "RUNNING":
            assert time.monotonic() < deadline, "the long task never started"
            time.sleep(0.02)
        live_result = reconcile_like_task.enqueue()
        while (status := reconcile_like_task.get_result(live_result.id).status) != "SUCCESSFUL":
            assert time.monotonic() < deadline, f"the live task waited behind the long one ({status})"
            time.sleep(0.02)
        assert long_push_like_task.get_result(long_result.id).status == "RUNNING"
    finally:
        _release.set()
        threads.stop()
    assert set(TaskWorker.objects.filter(stopped_at__isnull=False).values_list("pk", flat=True)) == {
        "one-process", "one-process-live"}
