"""Live-call background work: reconciling each account's calls with its provider, and
applying again the provider notifications that failed to apply."""

from __future__ import annotations

from typing import Any

from django.tasks import task

from dashboard.models import ProviderAccount


@task(queue_name="live")  # never behind a push or an import (dashboard/workers.py)
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


@task(queue_name="live")
def webhook_events_retry_task(account_id: int) -> dict[str, Any]:
    from livecalls.services.ingest_retry import webhook_events_retry

    account = ProviderAccount.objects.filter(pk=account_id, enabled=True).first()
    if account is None:  # disabled or deleted since the tick enqueued it
        return {"ok": False, "error": "account gone or disabled"}
    outcome = webhook_events_retry(account=account)
    return {"ok": True, "applied": outcome.applied, "failed": outcome.failed, "given_up": outcome.given_up}


def webhook_events_retry_tick() -> int:
    """Called by the scheduler every WEBHOOK_RETRY_SECONDS: one retry per enabled account
    with notifications waiting to be applied again (none on a healthy floor)."""
    from dashboard.tasking import enqueue_once
    from livecalls.services.ingest_retry import webhook_events_to_retry

    ids = (webhook_events_to_retry().filter(account__enabled=True).order_by("account_id")
           .values_list("account_id", flat=True).distinct())
    return sum(enqueue_once(webhook_events_retry_task, pk) for pk in ids)
