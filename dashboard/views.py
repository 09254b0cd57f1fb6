from __future__ import annotations

from django.contrib.auth.decorators import login_not_required, permission_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dashboard import selectors
from dashboard.health import check_health
from dashboard.roles import perm


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/overview.html", selectors.overview_summary())


@require_GET
@permission_required(perm("manage_provider_accounts"), raise_exception=True)
def provider_accounts(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/provider_accounts.html", {"accounts": selectors.provider_account_list()})


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
