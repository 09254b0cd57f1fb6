from __future__ import annotations

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from dashboard.models import ProviderAccount
from dashboard.roles import perm
from livecalls import services
from livecalls.webhooks import SECRET_HEADER, BadNotification, parse_event, secret_matches


@require_GET
def wall(request: HttpRequest) -> HttpResponse:
    if not (request.user.has_perm(perm("view_all_calls")) or request.user.has_perm(perm("control_own_calls"))):
        raise PermissionDenied
    return render(request, "livecalls/wall.html", {"sessions": []})


@csrf_exempt  # a provider posts here, authenticated by the account's secret instead
@login_not_required
@require_POST
async def webhook(request: HttpRequest, account_id: int) -> HttpResponse:
    account = await ProviderAccount.objects.filter(pk=account_id, enabled=True).afirst()
    if account is None:
        return JsonResponse({"error": "unknown account"}, status=404)
    if not secret_matches(account, request.headers.get(SECRET_HEADER) or request.GET.get("secret")):
        return JsonResponse({"error": "wrong or missing secret"}, status=403)
    try:
        event = parse_event(account, request.body)
    except BadNotification as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    _, created = await sync_to_async(services.webhook_event_store)(account=account, event=event)
    return JsonResponse({"status": "accepted" if created else "duplicate"})
