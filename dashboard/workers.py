"""In-process task workers for the default run.

With the in-memory channel layer only code inside the server process can push to
browsers, so the default run keeps its task workers there, as threads. The scale path
runs ``manage.py db_worker`` processes instead (see README).
"""

from __future__ import annotations

import logging
import threading
import time

from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

logger = logging.getLogger(__name__)


class WorkerThreads:
    def __init__(self, count: int, *, interval: float = 0.5) -> None:
        self.workers = [
            Worker(
                queue_names=["*"],
                interval=interval,
                batch=False,
                backend_name="default",
                startup_delay=False,
                max_tasks=None,
                worker_id=f"inproc-{i}-{get_random_string(6)}",
                excluded_queue_names=[],
            )
            for i in range(count)
        ]
        self.threads = [threading.Thread(target=self._run, args=(w,), name=w.worker_id, daemon=True)
                        for w in self.workers]

    @staticmethod
    def _run(worker: Worker) -> None:
        """Keep the worker alive: an error outside a task (a database locked past its busy
        timeout while claiming, a dropped connection) would otherwise end the thread
        silently and leave every later task waiting."""
        from django.db import close_old_connections, connection

        while worker.running:
            try:
                worker.run()
            except Exception:
                logger.exception("in-process task worker %s failed; restarting it", worker.worker_id)
                close_old_connections()
                connection.close()
                time.sleep(1.0)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()
        if self.threads:
            logger.info("started %d in-process task worker(s)", len(self.threads))

    def stop(self, timeout: float = 10.0) -> None:
        for worker in self.workers:
            worker.running = False
        for thread in self.threads:
            thread.join(timeout)
