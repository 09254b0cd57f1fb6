from __future__ import annotations

from django.db import IntegrityError, transaction

from dashboard.models import ProviderAccount
from livecalls.models import WebhookEvent
from livecalls.webhooks import ParsedEvent


def webhook_event_store(*, account: ProviderAccount, event: ParsedEvent) -> tuple[WebhookEvent | None, bool]:
    """Store one notification; returns (event, created). A repeat delivery is not stored twice."""
    try:
        with transaction.atomic():
            row = WebhookEvent.objects.create(
                account=account,
                event_type=event.event_type,
                session_ref=event.session_ref,
                leg_ref=event.leg_ref[:200],
                sequence=event.sequence,
                occurred_at=event.occurred_at,
                dedupe_key=event.dedupe_key[:300],
                payload=event.payload,
            )
    except IntegrityError:
        return None, False
    return row, True
