"""Applying again the provider notifications that failed to apply (issue 11).

A notification the webhook path could not apply stays stored, unapplied, with its attempt
and error counted (ingest_batch.py, step 3). A periodic task applies each account's
again, through the same pipeline, oldest first, until it applies or its attempts run out
(ingest_batch.MAX_APPLY_ATTEMPTS); then it is given up and shown on the account's health tile.

Once only, however many workers run: the rows are claimed in the transaction that applies
them, locked and skipped by others where the database can (PostgreSQL), and marked
applied as the webhook path marks its own; SQLite serialises whole write transactions
(``transaction_mode`` IMMEDIATE), so the second worker reads the first one's result.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from dashboard.models import ProviderAccount
from livecalls.models import WebhookEvent
from livecalls.services.ingest import IngestResult
from livecalls.services.ingest_batch import batch_run, event_failed, events_apply
from livecalls.webhooks import ParsedEvent

logger = logging.getLogger(__name__)

# Not younger than this: the webhook path may be applying a repeat of it right now.
RETRY_AFTER = timedelta(seconds=2)
RETRY_BATCH = 200

@dataclass(frozen=True)
class RetryOutcome:
    applied: int = 0
    failed: int = 0
    given_up: int = 0


def webhook_events_to_retry() -> QuerySet[WebhookEvent]:
    """Stored, unapplied, not given up, and old enough; oldest first (arrival order)."""
    return WebhookEvent.objects.filter(
        applied_at__isnull=True, given_up_at__isnull=True, received_at__lte=timezone.now() - RETRY_AFTER,
    ).order_by("received_at", "pk")


def webhook_events_retry(*, account: ProviderAccount, limit: int = RETRY_BATCH) -> RetryOutcome:
    """Apply ``account``'s waiting notifications again, up to ``limit``, as one batch; if
    the batch cannot be written, one by one, so that one the database refuses counts its
    own attempt instead of holding the others back for ever."""
    try:
        return _outcome(batch_run(lambda: _retry(account, limit=limit), what=f"retry of {account}"))
    except Exception:
        logger.warning("%s: the retry batch failed; applying its events one by one", account, exc_info=True)
    outcomes = [_retry_alone(account, pk) for pk in
                webhook_events_to_retry().filter(account=account).values_list("pk", flat=True)[:limit]]
    return RetryOutcome(applied=sum(o.applied for o in outcomes), failed=sum(o.failed for o in outcomes),
                        given_up=sum(o.given_up for o in outcomes))


def _retry(account: ProviderAccount, *, limit: int, pk: int | None = None) -> list[IngestResult]:
    waiting = webhook_events_to_retry().filter(account=account)
    if pk is not None:
        waiting = waiting.filter(pk=pk)
    if connection.features.has_select_for_update_skip_locked:
        waiting = waiting.select_for_update(skip_locked=True)  # another worker's claim: theirs
    rows = list(waiting[:limit])
    if not rows:
        return []
    now = timezone.now()
    # Marked applied in the transaction that applies them, as events_store marks new rows;
    # the pipeline unmarks the ones that fail again.
    WebhookEvent.objects.filter(pk__in=[row.pk for row in rows]).update(applied_at=now)
    for row in rows:
        row.applied_at = now
        row.account = account
    items = [(account, event_parsed(row)) for row in rows]
    return events_apply(items, rows, now)


def _retry_alone(account: ProviderAccount, pk: int) -> RetryOutcome:
    try:
        return _outcome(batch_run(lambda: _retry(account, limit=1, pk=pk), what=f"retry of event {pk}"))
    except Exception as exc:
        logger.exception("%s event %s not applied again", account, pk)
        error = exc
    with transaction.atomic():
        row = webhook_events_to_retry().select_for_update().filter(pk=pk).first()
        if row is None:  # applied or given up meanwhile
            return RetryOutcome()
        event_failed(row, error, timezone.now())
        row.save(update_fields=["applied_at", "apply_attempts", "apply_error", "given_up_at"])
    return RetryOutcome(failed=1, given_up=int(row.given_up_at is not None))


def _outcome(results: list[IngestResult]) -> RetryOutcome:
    failed = [r.event for r in results if r.status == "stored" and r.event is not None]
    return RetryOutcome(applied=sum(r.status == "applied" for r in results), failed=len(failed),
                        given_up=sum(row.given_up_at is not None for row in failed))


def event_parsed(row: WebhookEvent) -> ParsedEvent:
    """A stored notification as the webhook path parsed it (what the rules read)."""
    return ParsedEvent(row.event_type, row.session_ref, row.leg_ref, row.sequence, row.occurred_at, row.dedupe_key,
                       row.payload)
