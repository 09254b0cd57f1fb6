from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.roles import perm


@require_GET
def wall(request: HttpRequest) -> HttpResponse:
    if not (request.user.has_perm(perm("view_all_calls")) or request.user.has_perm(perm("control_own_calls"))):
        raise PermissionDenied
    return render(request, "livecalls/wall.html", {"sessions": []})
