"""The writer process of a big import (campaigns.services.job_writer).

Apart because a spawned process imports its target's module before Django is set up:
this one imports nothing of the project until it has set Django up itself.
"""

from __future__ import annotations

from typing import Any


def run(settings_dict: dict[str, Any], campaign_id: int, number_list_id: int, inbox: Any, outbox: Any) -> None:
    """Store each (items, progress) from ``inbox`` until None, then answer ("done",
    jobs stored) on ``outbox``; on an error answer ("error", message) and stop."""
    import django

    django.setup()  # DJANGO_SETTINGS_MODULE comes with the environment
    from django.db import connections

    from campaigns.services.job_writer import commit

    # The importer's database exactly (a test run's is not the one in settings).
    connections["default"].settings_dict.update(settings_dict)
    stored = 0
    try:
        while (message := inbox.get()) is not None:
            items, progress = message
            stored += commit(campaign_id, number_list_id, items, progress)
    except Exception as exc:  # reported to the importer, which fails the list
        outbox.put(("error", f"{type(exc).__name__}: {exc}"))
        return
    finally:
        connections.close_all()
    outbox.put(("done", stored))
