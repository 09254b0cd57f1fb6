from __future__ import annotations

import time

import pytest

from dashboard.workers import WorkerThreads


@pytest.mark.django_db
def test_a_worker_thread_survives_an_error_outside_its_tasks(monkeypatch):
    threads = WorkerThreads.for_queues("survivor", queue_names=["default"], interval=0.01, live=False)
    worker = threads.workers[0]
    calls = {"n": 0}

    def flaky_run():
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database is locked")
        while worker.running:
            time.sleep(0.01)

    monkeypatch.setattr(worker, "run", flaky_run)
    monkeypatch.setattr("dashboard.workers.time.sleep", lambda s: None)
    threads.start()
    deadline = time.monotonic() + 5
    while calls["n"] < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    threads.stop()
    assert calls["n"] == 2
