"""`manage.py db_worker`: django-tasks-db's worker, with what Callboard needs around it.

Same options as upstream, plus: the live queue is served on a thread of its own (so live
reconcile runs every period even while this process pushes a big campaign), and the
workers register and beat (dashboard.tasking), so a SIGKILL of this process costs its
running tasks one second, not their periodic jobs for good.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from django.core.management.base import CommandError
from django.utils.autoreload import run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as UpstreamCommand

from dashboard.tasking import task_workers_stopped
from dashboard.workers import WorkerThreads

logger = logging.getLogger("django_tasks_db")


class Command(UpstreamCommand):
    help = "Run a background task worker (the given queues, and the live queue beside them)"

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument("--no-live-queue", action="store_false", dest="live_queue",
                            help="don't serve the live queue on a thread of its own")

    def handle(self, *, verbosity: int, queue_name: str, interval: float, batch: bool, backend_name: str,
               startup_delay: bool, reload: bool, max_tasks: int | None, worker_id: str, exclude_queues: str,
               live_queue: bool = True, **options: Any) -> None:
        self.configure_logging(verbosity)
        if backend_name != "default":
            raise CommandError("Callboard's workers serve the default backend only")
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")

        def run() -> None:
            threads = WorkerThreads.for_queues(worker_id, queue_names=queue_names, interval=interval,
                                               excluded=excluded, live=live_queue, batch=batch, max_tasks=max_tasks)
            stopping = threading.Event()

            def shutdown(signum: int, frame: Any) -> None:
                if stopping.is_set():
                    # Second signal: leave now. The tasks still running are failed by the
                    # next reap, since these workers are recorded as stopped.
                    logger.warning("Received %s again - terminating running tasks.", signal.strsignal(signum))
                    task_workers_stopped(w.worker_id for w in threads.workers)
                    os._exit(1)
                logger.warning("Received %s - finishing running tasks (send again to force)...",
                               signal.strsignal(signum))
                stopping.set()
                for worker in threads.workers:
                    worker.running = False

            for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGQUIT", None)):
                if sig is not None:
                    signal.signal(sig, shutdown)
            threads.start()
            # The first worker decides when the process is done (--batch, --max-tasks, a signal).
            while threads.threads[0].is_alive():
                threads.threads[0].join(0.5)
            threads.stop()

        if reload and not batch:
            run_with_reloader(run)
        else:
            run()
