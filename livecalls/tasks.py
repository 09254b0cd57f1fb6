"""Live-call background work: reconciling each account's calls with its provider."""

from __future__ import annotations

from typing import Any

from django.tasks import task

from dashboard.models import ProviderAccount


@task()
def reconcile_account_task(account_id: int) -> dict[str, Any]:
    from livecalls.services.reconcile import reconcile_account

    account = ProviderAccount.objects.filter(pk=account_id, enabled=True).first()
    if account is None:  # disabled or deleted since the tick enqueued it
        return {"ok": False, "error": "account gone or disabled"}
    outcome = reconcile_account(account=account)
    from livecalls.services.live import account_freshness_broadcast

    account_freshness_broadcast(account_id=account.pk)  # the wall's "checked N s ago"
    return {"ok": outcome.ok, "seen": outcome.seen, "changed": outcome.changed, "ended": outcome.ended,
            "error": outcome.error}


def live_reconcile_tick() -> int:
    """Called by the scheduler every LIVE_RECONCILE_SECONDS: one reconciliation per enabled
    CallGear and CCAI account, never two of the same account at once."""
    from dashboard.tasking import enqueue_once

    ids = ProviderAccount.objects.filter(
        enabled=True, kind__in=[ProviderAccount.Kind.CALLGEAR, ProviderAccount.Kind.CCAI]
    ).values_list("pk", flat=True)
    return sum(enqueue_once(reconcile_account_task, pk) for pk in ids)
