from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from dashboard.models import AuditEntry, ProviderAccount


def provider_account_list() -> QuerySet[ProviderAccount]:
    return ProviderAccount.objects.order_by("kind", "name")


def audit_recent(*, limit: int = 50) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.select_related("user", "account")[:limit]


def account_health(account: ProviderAccount) -> dict[str, Any]:
    """Request figures of the last five minutes and, for CallGear, the points left."""
    from dashboard.providers.accounts import callgear_limits, timings_for

    health: dict[str, Any] = {"requests": timings_for(account).summary(300)}
    if account.kind == ProviderAccount.Kind.CALLGEAR:
        health["limits"] = callgear_limits(account)
    return health


def overview_summary(*, with_webhook_trouble: bool = False) -> dict[str, Any]:
    """``with_webhook_trouble``: each account's health also says which provider
    notifications could not be applied (for those who watch all calls)."""
    accounts = list(provider_account_list())
    trouble: dict[int, Any] = {}
    if with_webhook_trouble:
        from livecalls.selectors import webhook_events_given_up

        trouble = webhook_events_given_up(account_ids=[a.pk for a in accounts])
    for account in accounts:
        account.health = account_health(account)  # type: ignore[attr-defined]
        account.health["webhooks"] = trouble.get(account.pk)  # type: ignore[attr-defined]
    return {
        "accounts": accounts,
        "accounts_by_kind": {kind: [a for a in accounts if a.kind == kind] for kind, _ in ProviderAccount.Kind.choices},
    }
