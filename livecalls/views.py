from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from dashboard.params import int_param
from dashboard.roles import perm
from livecalls import selectors_wall
from livecalls.receiver import RECEIVER
from livecalls.selectors import session_for_user
from livecalls.webhooks import SECRET_HEADER


def _may_see_calls(user) -> bool:  # type: ignore[no-untyped-def]
    return user.has_perm(perm("view_all_calls")) or user.has_perm(perm("control_own_calls"))


@require_GET
def wall(request: HttpRequest) -> HttpResponse:
    """Supervisors: every active call. Agents: their own. Filled at load, then pushed."""
    if not _may_see_calls(request.user):
        raise PermissionDenied
    filters = {k: request.GET.get(k, "") for k in selectors_wall.FILTERS}
    compact = request.user.has_perm(perm("view_all_calls"))
    after = int_param(request.GET.get("after"))
    if after is not None and request.htmx:  # a later window, fetched by the page itself
        window = selectors_wall.wall_sessions(user=request.user, filters=filters, after=after,
                                              limit=selectors_wall.WALL_CHUNK)
        return render(request, "livecalls/wall.html#wall-window",
                      {"sessions": window.sessions, "more_url": _more_url(filters, window.after),
                       "freshness": selectors_wall.freshness(), "oob": False, "compact": compact, "chunk": True})
    # Without JavaScript the "more" link pages through the wall instead.
    window = selectors_wall.wall_sessions(user=request.user, filters=filters, after=after)
    context = {
        "sessions": window.sessions,
        "more_url": _more_url(filters, window.after),
        "counts": selectors_wall.wall_counts(user=request.user, filters=filters),
        "filters": filters,
        "choices": selectors_wall.filter_choices(user=request.user),
        "freshness": selectors_wall.freshness(),  # stale accounts: top bar, marked cards (wall bar: supervisors)
        "oob": False,
        # Supervisors' cards carry a Controls button, not the panel: see _actions.html#controls.
        "compact": compact,
    }
    template = "livecalls/wall.html"
    if request.htmx and request.htmx.target == "wall-cards":
        template += "#wall-cards"  # the resync after a reconnect
    return render(request, template, context)


def _more_url(filters: dict[str, str], after: int | None) -> str:
    if after is None:
        return ""
    return f"{reverse('wall')}?{urlencode({**filters, 'after': after})}"


@require_GET
def history(request: HttpRequest) -> HttpResponse:
    if not _may_see_calls(request.user):
        raise PermissionDenied
    q = request.GET.get("q", "").strip()
    rows, older = selectors_wall.call_history(user=request.user, q=q, before=int_param(request.GET.get("before")))
    return render(request, "livecalls/history.html", {"rows": rows, "older": older, "q": q})


@require_GET
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from dashboard.models import AuditEntry

    session = session_for_user(request.user, pk)
    # Actions name their call as "<kind> session <id>", starts as "session <id>".
    audit = AuditEntry.objects.filter(account=session.account, target__endswith=f"session {session.provider_session_id}")
    audit = audit.select_related("user")[:100]
    return render(request, "livecalls/session_detail.html",
                  {"session": session, "legs": list(session.legs.all()), "audit": audit, "oob": False,
                   "freshness": selectors_wall.freshness()})


@csrf_exempt  # a provider posts here, authenticated by the account's secret instead
@login_not_required
@require_POST
async def webhook(request: HttpRequest, account_id: int) -> HttpResponse:
    secret = request.headers.get(SECRET_HEADER) or request.GET.get("secret")
    status, payload = await RECEIVER.receive(account_id, secret, request.body)  # stored, applied, pushed
    return JsonResponse(payload, status=status)
