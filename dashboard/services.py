"""Admin actions on provider accounts: checking a connection, pointing the sandbox's
webhooks at the dashboard. Each is audited."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings
from django.urls import reverse

from dashboard.audit import audit_record
from dashboard.models import AuditEntry, ProviderAccount
from dashboard.providers import accounts
from dashboard.providers.base import ProviderError, ProviderUnavailable
from livecalls.webhooks import SECRET_HEADER


@dataclass
class ActionResult:
    ok: bool
    summary: str
    latency_ms: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    error: ProviderError | None = None


def account_webhook_url(account: ProviderAccount) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("webhook", args=[account.pk])


def sandbox_base_url(account: ProviderAccount) -> str:
    """The sandbox root an account's base URL sits under (``…/sandbox/callgear`` -> ``…/sandbox``)."""
    base = account.base_url.rstrip("/")
    suffix = "/" + account.kind
    return base[: -len(suffix)] if base.endswith(suffix) else base


async def _check(account: ProviderAccount) -> ActionResult:
    started = time.perf_counter()
    if account.kind == ProviderAccount.Kind.CALLGEAR:
        async with accounts.open_callgear(account) as client:
            calls = await client.list_calls()
            limits = client.limits
        details: dict[str, Any] = {"active_calls": len(calls)}
        if limits is not None:
            details["limits"] = limits
        summary = f"Signed in; {len(calls)} active call(s)"
    elif account.kind == ProviderAccount.Kind.CCAI:
        async with accounts.open_ccai(account) as client:
            page = await client.list_calls_page(page=1, per=1)
        total = getattr(page, "total", None)
        details = {"calls": total}
        summary = "Signed in" + (f"; {total} call(s) on record" if total is not None else "")
    else:
        # JAICP authenticates per campaign token: there is no account-wide call to make.
        return ActionResult(True, "JAICP is checked per campaign (each campaign has its own token)")
    return ActionResult(True, summary, (time.perf_counter() - started) * 1000, details)


def account_check(*, account: ProviderAccount, user: Any) -> ActionResult:
    started = time.perf_counter()
    try:
        result = accounts.run(lambda: _check(account))
    except ProviderError as exc:
        result = ActionResult(False, exc.describe(), (time.perf_counter() - started) * 1000, error=exc)
    audit_record(
        user=user, action="account.check", account=account, target=account.name,
        result=AuditEntry.Result.OK if result.ok else AuditEntry.Result.ERROR,
        error=result.error, message=result.summary, latency_ms=result.latency_ms,
    )
    return result


async def _set_sandbox_target(account: ProviderAccount, url: str) -> dict[str, Any]:
    body = {"provider": account.kind, "targets": [{"url": url, "headers": {SECRET_HEADER: account.webhook_secret}}]}
    async with httpx.AsyncClient(transport=accounts.transport_for(account), timeout=10) as client:
        try:
            response = await client.post(sandbox_base_url(account) + "/_sandbox/webhooks", json=body)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"the sandbox did not answer ({type(exc).__name__})", provider=account.kind) from exc
    if response.status_code != 200:
        raise ProviderError(f"the sandbox refused the webhook target: {response.text[:200]}",
                            provider=account.kind, status=response.status_code)
    return response.json()


def sandbox_webhook_target_set(*, account: ProviderAccount, user: Any) -> ActionResult:
    """Point the sandbox's notifications for this account's provider at our receiver."""
    if not account.is_sandbox:
        raise ValueError("only sandbox accounts take their webhook target from here")
    url = account_webhook_url(account)
    try:
        accounts.run(lambda: _set_sandbox_target(account, url))
        result = ActionResult(True, f"The sandbox now sends {account.get_kind_display()} notifications to {url}")
    except ProviderError as exc:
        result = ActionResult(False, exc.describe(), error=exc)
    audit_record(
        user=user, action="account.webhook_target", account=account, target=account.name,
        parameters={"url": url}, result=AuditEntry.Result.OK if result.ok else AuditEntry.Result.ERROR,
        error=result.error, message=result.summary,
    )
    return result
