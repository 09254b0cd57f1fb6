"""The one sandbox of this process, built from settings on first use."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from dashboard.sandbox.app import SandboxApp
from dashboard.sandbox.notify import WebhookTarget


@cache
def get_embedded_sandbox() -> SandboxApp:
    return SandboxApp(prefix="/sandbox", seed=settings.SANDBOX_SEED, scale=settings.SANDBOX_TIME_SCALE,
                      demo_traffic=settings.SANDBOX_DEMO_TRAFFIC)


def embedded_webhook_targets() -> dict[str, list[WebhookTarget]]:
    """Where the embedded sandbox sends notifications: every enabled sandbox account that
    points at it, so a fresh start delivers without anyone pressing a button."""
    from dashboard.models import ProviderAccount
    from dashboard.services import account_webhook_url, sandbox_base_url
    from livecalls.webhooks import SECRET_HEADER

    targets: dict[str, list[WebhookTarget]] = {}
    accounts = ProviderAccount.objects.filter(is_sandbox=True, enabled=True).exclude(kind=ProviderAccount.Kind.JAICP)
    for account in accounts:
        if sandbox_base_url(account) != settings.SANDBOX_URL.rstrip("/"):
            continue
        targets.setdefault(account.kind, []).append(
            WebhookTarget(url=account_webhook_url(account), headers={SECRET_HEADER: account.webhook_secret})
        )
    return targets
