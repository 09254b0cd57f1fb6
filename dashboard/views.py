from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dashboard import selectors, services
from dashboard.health import check_health
from dashboard.models import ProviderAccount
from dashboard.roles import perm


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    context = selectors.overview_summary(with_webhook_trouble=request.user.has_perm(perm("view_all_calls")))
    if request.user.has_perm(perm("view_campaigns")):
        from campaigns.selectors import overview_tiles

        context["campaign_tiles"] = overview_tiles()
    return render(request, "dashboard/overview.html", context)


def _with_webhook_url(account: ProviderAccount) -> ProviderAccount:
    account.webhook_url = services.account_webhook_url(account)  # type: ignore[attr-defined]
    return account


@require_GET
@permission_required(perm("manage_provider_accounts"), raise_exception=True)
def provider_accounts(request: HttpRequest) -> HttpResponse:
    accounts = [_with_webhook_url(a) for a in selectors.provider_account_list()]
    return render(request, "dashboard/provider_accounts.html", {"accounts": accounts})


def _account_result(request: HttpRequest, account: ProviderAccount, result: services.ActionResult) -> HttpResponse:
    if request.htmx:
        return render(request, "dashboard/provider_accounts.html#account-card",
                      {"account": _with_webhook_url(account), "check": result})
    (messages.success if result.ok else messages.error)(request, f"{account.name}: {result.summary}")
    return redirect("provider-accounts")


@require_POST
@permission_required(perm("manage_provider_accounts"), raise_exception=True)
def provider_account_check(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ProviderAccount, pk=pk)
    return _account_result(request, account, services.account_check(account=account, user=request.user))


@require_POST
@permission_required(perm("manage_provider_accounts"), raise_exception=True)
def provider_account_webhook_target(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ProviderAccount, pk=pk, is_sandbox=True)
    return _account_result(request, account, services.sandbox_webhook_target_set(account=account, user=request.user))


@require_GET
@permission_required(perm("manage_provider_accounts"), raise_exception=True)
def provider_account_templates(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ProviderAccount, pk=pk)
    if account.kind == ProviderAccount.Kind.JAICP:
        raise Http404("JAICP sends no notifications")
    from dashboard.providers.callgear.notifications import TEMPLATES
    from dashboard.providers.ccai import webhooks as ccai_webhooks

    return render(request, "dashboard/notification_templates.html", {
        "account": account,
        "webhook_url": services.account_webhook_url(account),
        "templates": list(TEMPLATES.values()),
        "ccai_doc": (ccai_webhooks.__doc__ or "").split("Body (", 1)[-1].split("::", 1)[-1].strip(),
    })


@require_GET
@permission_required(perm("view_audit_log"), raise_exception=True)
def audit_log(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/audit_log.html", {"entries": selectors.audit_recent(limit=200)})


@login_not_required
@never_cache
async def healthz(request: HttpRequest) -> HttpResponse:
    results = await check_health()
    healthy = all(v == "ok" for v in results.values())
    return JsonResponse({"status": "ok" if healthy else "failed", **results}, status=200 if healthy else 503)
