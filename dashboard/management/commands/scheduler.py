from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand

from dashboard.scheduler import Scheduler


class Command(BaseCommand):
    help = "Run the periodic jobs (report sync...) that enqueue tasks; one per deployment."

    def handle(self, *args: Any, **options: Any) -> None:
        scheduler = Scheduler()
        self.stdout.write(f"Scheduler running {len(scheduler.jobs)} periodic job(s); Ctrl-C stops it.")
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        scheduler.start()
        while not stopping:
            scheduler.thread.join(0.5)
        scheduler.stop()
