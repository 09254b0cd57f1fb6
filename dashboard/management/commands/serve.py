from __future__ import annotations

from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand

from dashboard.scheduler import Scheduler
from dashboard.workers import WorkerThreads


class Command(BaseCommand):
    help = "Run the dashboard: the ASGI server, in-process task workers and the embedded sandbox."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=None, help="default: $PORT or 8000")
        parser.add_argument("--workers", type=int, default=settings.IN_PROCESS_WORKERS,
                            help="in-process task worker threads (0 when db_worker processes run)")

    def handle(self, *args: Any, host: str, port: int | None, workers: int, **options: Any) -> None:
        port = port or settings.PORT
        worker_threads = WorkerThreads.in_process(workers)
        worker_threads.start()
        scheduler = Scheduler() if settings.IN_PROCESS_SCHEDULER else None
        if scheduler is not None:
            scheduler.start()
        config = uvicorn.Config(
            "dashboard.asgi:application",
            host=host,
            port=port,
            lifespan="on",
            log_level="info",
            access_log=False,
            ws_ping_interval=20,
        )
        server = uvicorn.Server(config)
        self.stdout.write(self.style.SUCCESS(f"Callboard on http://{host}:{port}/  (Ctrl-C stops it all)"))
        try:
            server.run()  # shuts down gracefully on Ctrl-C / SIGTERM, then re-raises the signal
        except KeyboardInterrupt:
            pass
        finally:
            if scheduler is not None:
                scheduler.stop()
            worker_threads.stop()
            self.stdout.write("Callboard stopped.")
