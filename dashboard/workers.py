"""Task workers: the threads of one process that run queued tasks.

The default run keeps its workers inside the server process (with the in-memory channel
layer only code there can push to browsers); the scale path runs ``manage.py db_worker``
processes (our command, dashboard/management/commands/db_worker.py). Both are a
``WorkerThreads``: workers on the default queue, plus one on the "live" queue so that
live reconcile never waits behind a long push or import, all registered and beating
(``dashboard.tasking``) so that a dead one's tasks are failed within a second.
"""

from __future__ import annotations

import logging
import threading
import time

from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from dashboard.tasking import Heartbeat, lost_tasks_reap, task_worker_register, task_workers_stopped

logger = logging.getLogger(__name__)

LIVE_QUEUE = "live"


def task_worker(worker_id: str, *, queue_names: list[str], interval: float, excluded: list[str] | None = None,
                batch: bool = False, max_tasks: int | None = None) -> Worker:
    return Worker(queue_names=queue_names, interval=interval, batch=batch, backend_name="default",
                  startup_delay=False, max_tasks=max_tasks, worker_id=worker_id,
                  excluded_queue_names=excluded or [])


class WorkerThreads:
    """Task workers, each on a thread of this process, registered and beating."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers
        self.threads = [threading.Thread(target=self.keep_running, args=(w,), name=w.worker_id, daemon=True)
                        for w in self.workers]
        self.heartbeat = Heartbeat(w.worker_id for w in self.workers)

    @classmethod
    def for_queues(cls, worker_id: str, *, queue_names: list[str], interval: float, excluded: list[str] | None = None,
                   live: bool = True, batch: bool = False, max_tasks: int | None = None) -> WorkerThreads:
        """One worker on ``queue_names`` and, with ``live``, one on the live queue beside it
        (unless the first serves that queue already)."""
        excluded = list(excluded or [])
        live = live and not batch and LIVE_QUEUE not in queue_names
        if live and "*" in queue_names:
            excluded.append(LIVE_QUEUE)
        workers = [task_worker(worker_id, queue_names=queue_names, interval=interval, excluded=excluded,
                               batch=batch, max_tasks=max_tasks)]
        if live:
            workers.append(task_worker(f"{worker_id[:59]}-{LIVE_QUEUE}", queue_names=[LIVE_QUEUE], interval=interval))
        return cls(workers)

    @classmethod
    def in_process(cls, count: int, *, interval: float = 0.5) -> WorkerThreads:
        """``count`` workers on the default queue and one on the live queue (none at all
        for 0: the scale path's servers leave tasks to db_worker processes)."""
        prefix = f"inproc-{get_random_string(6)}"
        workers = [task_worker(f"{prefix}-{i}", queue_names=["default"], interval=interval) for i in range(count)]
        if count:
            workers.append(task_worker(f"{prefix}-{LIVE_QUEUE}", queue_names=[LIVE_QUEUE], interval=interval))
        return cls(workers)

    def register(self) -> None:
        """Before any worker claims a task: record the workers, then fail what dead ones
        (an earlier run of this process among them) left RUNNING."""
        if not self.workers:
            return
        for worker in self.workers:
            task_worker_register(worker.worker_id)
        lost_tasks_reap()
        self.heartbeat.start()

    @staticmethod
    def keep_running(worker: Worker) -> None:
        """Keep the worker alive: an error outside a task (a database locked past its busy
        timeout while claiming, a dropped connection) would otherwise end the thread
        silently and leave every later task waiting."""
        from django.db import close_old_connections, connection

        while worker.running:
            try:
                worker.run()
                return  # --batch or --max-tasks: done
            except Exception:
                logger.exception("task worker %s failed; restarting it", worker.worker_id)
                close_old_connections()
                connection.close()
                time.sleep(1.0)

    def start(self) -> None:
        self.register()
        for thread in self.threads:
            thread.start()
        if self.threads:
            logger.info("started %d task worker thread(s)", len(self.threads))

    def stop(self, timeout: float = 10.0) -> None:
        for worker in self.workers:
            worker.running = False
        for thread in self.threads:
            if thread.is_alive():
                thread.join(timeout)
        if self.workers:
            self.heartbeat.stop()
            task_workers_stopped(w.worker_id for w in self.workers)
