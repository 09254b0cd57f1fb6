from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from dashboard.models import AuditEntry, ProviderAccount


def provider_account_list() -> QuerySet[ProviderAccount]:
    return ProviderAccount.objects.order_by("kind", "name")


def audit_recent(*, limit: int = 50) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.select_related("user", "account")[:limit]


def overview_summary() -> dict[str, Any]:
    accounts = list(provider_account_list())
    return {
        "accounts": accounts,
        "accounts_by_kind": {kind: [a for a in accounts if a.kind == kind] for kind, _ in ProviderAccount.Kind.choices},
    }
