"""The writer process of a big import (campaigns.services.job_writer).

Apart because a spawned process imports its target's module before Django is set up:
this one imports nothing of the project until it has set Django up itself.
"""

from __future__ import annotations

from typing import Any


def run(settings_dict: dict[str, Any], campaign_id: int, number_list_id: int, inbox: Any, outbox: Any) -> None:
    """Store each (items, progress) from ``inbox`` until None, then answer ("done",
    jobs stored) on ``outbox``; on an error answer ("error", message) and stop."""
    import logging
    import multiprocessing
    import queue
    import signal

    import django

    # A Ctrl-C or a worker's graceful stop is the importer's to handle: it finishes or
    # aborts, and this process follows it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    django.setup()  # DJANGO_SETTINGS_MODULE comes with the environment
    from django.db import connections

    from campaigns.services.job_writer import commit

    # The importer's database exactly (a test run's is not the one in settings).
    connections["default"].settings_dict.update(settings_dict)
    importer = multiprocessing.parent_process()
    stored = 0
    try:
        while True:
            try:
                message = inbox.get(timeout=1)
            except queue.Empty:
                if importer is not None and not importer.is_alive():
                    return  # the importer died (OOM, kill): nobody to store for
                continue
            if message is None:
                break
            items, progress = message
            stored += commit(campaign_id, number_list_id, items, progress)
    except Exception as exc:
        # The details stay in this worker's log; the list shows the kind of error only
        # (a database's message can name hosts and hold rows).
        logging.getLogger("campaigns.imports").exception("call-job writer of list %s failed", number_list_id)
        outbox.put(("error", f"{type(exc).__name__}, see the worker's log"))
        return
    finally:
        connections.close_all()
    outbox.put(("done", stored))
