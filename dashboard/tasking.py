"""Small helpers over Django's tasks framework (django-tasks-db backend)."""

from __future__ import annotations

from typing import Any

from django.tasks import Task, TaskResultStatus


def enqueue_once(task: Task, *args: Any) -> bool:
    """Enqueue ``task(*args)`` unless the same call is already waiting or running, so a
    periodic tick never piles up work behind a slow run. Returns True when enqueued."""
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(
        task_path=task.module_path,
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
        args_kwargs={"args": list(args), "kwargs": {}},
    ).exists()
    if waiting:
        return False
    task.enqueue(*args)
    return True
