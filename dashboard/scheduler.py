"""Periodic work: a thread that enqueues ticks on the task queue at fixed intervals.

The default run keeps it in the server process; the scale path runs it once as
``manage.py scheduler`` beside the workers. Each tick only enqueues (with
``enqueue_once``), so a slow run never stacks up behind itself.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    every: float
    fn: Callable[[], object]
    next_at: float = 0.0


def _load(path: str) -> Callable[[], object]:
    module, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def default_jobs() -> list[Job]:
    return [Job(path, float(every), _load(path)) for path, every in settings.PERIODIC_JOBS.items()]


class Scheduler:
    def __init__(self, jobs: list[Job] | None = None) -> None:
        self.jobs = jobs if jobs is not None else default_jobs()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="scheduler", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(5)

    def run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for job in self.jobs:
                if now >= job.next_at:
                    job.next_at = now + job.every
                    try:
                        close_old_connections()
                        job.fn()
                    except Exception:
                        logger.exception("periodic job %s failed", job.name)
            self._stop.wait(0.5)
