"""Task queue plumbing over Django's tasks framework (django-tasks-db backend): enqueue
once, and heal what a dead worker leaves behind.

django-tasks-db marks a task RUNNING when a worker claims it and only its worker ever
moves it on, so a worker killed mid-task (SIGKILL, OOM, a lost machine) leaves the row
RUNNING for good (upstream issue RealOrangeOne/django-tasks-db#5, still open; the worker
pings PR of django-tasks #133 was closed unmerged). A periodic job guarded by
``enqueue_once`` would then never run again. So every worker registers a ``TaskWorker``
row and beats on it, and ``lost_tasks_reap`` (run by the scheduler every second and by a
worker as it starts) fails each RUNNING task whose worker is gone:

- on the same machine, a worker is gone when its process is (pid and start time from
  /proc): known at once, and a slow task whose process is alive is never run twice;
- elsewhere, when its heartbeat is older than ``LEASE``;
- a worker that starts with the id of an earlier one takes over that id: what the
  earlier one left RUNNING is failed first.

A failed task is not re-run as such: the periodic ticks enqueue their work again, a push
resumes through ``campaigns.tasks.push_resume_tick``, and tasks that need to clean up
register an ``on_worker_lost`` handler (an import fails its list).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import cache
from typing import Any

from django.db import DatabaseError, close_old_connections
from django.tasks import Task, TaskResultStatus
from django.utils import timezone

logger = logging.getLogger(__name__)

BEAT_SECONDS = 1.0
LEASE = timedelta(seconds=10)  # a worker on another machine silent this long is dead
LOST = "dashboard.tasking.WorkerLost"

_on_lost: dict[str, Callable[[list[Any]], None]] = {}


class WorkerLost(Exception):
    """The worker running a task died before finishing it (recorded as the task's error)."""


def enqueue_once(task: Task, *args: Any) -> bool:
    """Enqueue ``task(*args)`` unless the same call is already waiting or running, so a
    periodic tick never piles up work behind a slow run. Returns True when enqueued.
    A run whose worker died is failed by ``lost_tasks_reap``, so it no longer counts."""
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
        task_path=task.module_path, args_kwargs={"args": list(args), "kwargs": {}},
    ).exists()
    if waiting:
        return False
    task.enqueue(*args)
    return True


def on_worker_lost(task: Task) -> Callable[[Callable[[list[Any]], None]], Callable[[list[Any]], None]]:
    """Register ``fn(args)`` to run when a run of ``task`` is failed because its worker died."""
    def register(fn: Callable[[list[Any]], None]) -> Callable[[list[Any]], None]:
        _on_lost[task.module_path] = fn
        return fn
    return register


# --- Which process is this ------------------------------------------------------------------


@cache
def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""  # not Linux: workers are judged by their heartbeat alone


def _process_started(pid: int) -> str:
    """The process's start time in clock ticks since boot, or "" if there is no such process.
    With the pid it names one process: a pid reused later has another start time."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return ""
    # Field 22; the command name (field 2) may hold spaces, so count from its ")".
    return stat.rsplit(")", 1)[1].split()[19]


def _here() -> dict[str, Any]:
    pid = os.getpid()
    return {"host": socket.gethostname()[:255], "boot_id": _boot_id(), "pid": pid,
            "pid_started": _process_started(pid)}


# --- Workers --------------------------------------------------------------------------------


def task_worker_register(worker_id: str) -> None:
    """Record a worker starting in this process. Tasks an earlier holder of the same id
    left RUNNING are failed first: that worker is gone, this one has claimed nothing yet."""
    from dashboard.models import TaskWorker

    now = timezone.now()
    _reap(lambda held_by, _started_at: held_by == worker_id, why="its worker restarted")
    TaskWorker.objects.update_or_create(
        worker_id=worker_id, defaults={**_here(), "started_at": now, "beat_at": now, "stopped_at": None})


def task_workers_stopped(worker_ids: Iterable[str]) -> None:
    from dashboard.models import TaskWorker

    TaskWorker.objects.filter(worker_id__in=list(worker_ids), pid=os.getpid()).update(stopped_at=timezone.now())


class Heartbeat:
    """A thread that keeps this process's workers' rows fresh for other machines."""

    def __init__(self, worker_ids: Iterable[str], *, every: float = BEAT_SECONDS) -> None:
        self.worker_ids = list(worker_ids)
        self.every = every
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="task-worker-heartbeat", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(5)

    def _run(self) -> None:
        from dashboard.models import TaskWorker

        while not self._stop.wait(self.every):
            try:
                close_old_connections()
                TaskWorker.objects.filter(worker_id__in=self.worker_ids).update(beat_at=timezone.now())
            except DatabaseError:  # a busy SQLite: the next beat will do
                logger.debug("heartbeat of %s skipped", self.worker_ids, exc_info=True)


def _alive(worker: Any, here: dict[str, Any], now: Any) -> bool:
    if worker is None or worker.stopped_at is not None:
        return False
    if worker.boot_id and worker.host == here["host"] and worker.boot_id == here["boot_id"]:
        return worker.pid_started != "" and _process_started(worker.pid) == worker.pid_started
    return worker.beat_at >= now - LEASE


def lost_tasks_reap() -> int:
    """Fail every RUNNING task whose worker is gone; returns how many. Cheap when nothing
    runs (one indexed query), so the scheduler calls it every second."""
    from dashboard.models import TaskWorker

    here, now = _here(), timezone.now()
    workers: dict[str, Any] = {}

    def dead(worker_id: str, started_at: Any) -> bool:
        if worker_id not in workers:
            workers[worker_id] = TaskWorker.objects.filter(worker_id=worker_id).first()
        worker = workers[worker_id]
        if worker is None:  # a worker from before heartbeats: give it the lease
            return started_at is None or started_at < now - LEASE
        return not _alive(worker, here, now)

    reaped = _reap(dead, why="its worker stopped")
    TaskWorker.objects.filter(stopped_at__lt=now - timedelta(days=1)).delete()
    return reaped


def _reap(dead: Callable[[str, Any], bool], *, why: str) -> int:
    """Fail the RUNNING tasks for which ``dead(worker_id, started_at)`` holds."""
    from django_tasks_db.models import DBTaskResult

    reaped = 0
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).values_list(
        "pk", "worker_ids", "started_at", "task_path", "args_kwargs")
    for pk, worker_ids, started_at, task_path, args_kwargs in running:
        worker_id = worker_ids[-1] if worker_ids else ""
        try:
            is_dead = dead(worker_id, started_at)
        except DatabaseError:
            logger.warning("could not tell whether worker %s is alive", worker_id, exc_info=True)
            continue
        if not is_dead:
            continue
        message = f"{WorkerLost.__name__}: {why} (worker {worker_id or 'unknown'}) before the task finished\n"
        # Only if still RUNNING: its worker may have finished it since we looked.
        failed = DBTaskResult.objects.filter(pk=pk, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED, finished_at=timezone.now(), return_value=None,
            exception_class_path=LOST, traceback=message)
        if not failed:
            continue
        reaped += 1
        logger.warning("task %s %s(%s) failed: %s", pk, task_path, args_kwargs.get("args"), message.strip())
        handler = _on_lost.get(task_path)
        if handler is not None:
            try:
                handler(args_kwargs.get("args") or [])
            except Exception:
                logger.exception("cleaning up after lost task %s failed", pk)
    return reaped
