"""Small helpers over Django's tasks framework (django-tasks-db backend)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.tasks import Task, TaskResultStatus
from django.utils import timezone

RUNNING_LEASE = timedelta(minutes=10)


def enqueue_once(task: Task, *args: Any) -> bool:
    """Enqueue ``task(*args)`` unless the same call is already waiting or running, so a
    periodic tick never piles up work behind a slow run. Returns True when enqueued.

    A worker killed mid-task leaves its row RUNNING for good: past the lease, such a row
    no longer counts, or one crash would stop that periodic work forever.
    """
    from django_tasks_db.models import DBTaskResult

    fresh = Q(status=TaskResultStatus.READY) | Q(
        status=TaskResultStatus.RUNNING, started_at__gte=timezone.now() - RUNNING_LEASE)
    waiting = DBTaskResult.objects.filter(
        fresh, task_path=task.module_path, args_kwargs={"args": list(args), "kwargs": {}},
    ).exists()
    if waiting:
        return False
    task.enqueue(*args)
    return True
