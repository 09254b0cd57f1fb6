from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from campaigns.tasks import campaign_reports_sync_task
from dashboard.tasking import enqueue_once


@pytest.mark.django_db
def test_enqueue_once_skips_waiting_work_but_not_a_dead_workers_leftover():
    assert enqueue_once(campaign_reports_sync_task, 7) is True
    assert enqueue_once(campaign_reports_sync_task, 7) is False  # still waiting
    assert enqueue_once(campaign_reports_sync_task, 8) is True  # another campaign
    row = DBTaskResult.objects.get(args_kwargs={"args": [7], "kwargs": {}})
    row.status, row.started_at = "RUNNING", timezone.now()
    row.save()
    assert enqueue_once(campaign_reports_sync_task, 7) is False  # running now
    row.started_at = timezone.now() - timedelta(hours=1)  # its worker was killed long ago
    row.save()
    assert enqueue_once(campaign_reports_sync_task, 7) is True
