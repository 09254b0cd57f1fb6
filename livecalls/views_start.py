"""Starting calls: one page with a form per kind of call, for every enabled CallGear and
CCAI account. A plain POST redirects to the wall with a message; an HTMX request gets
the form back with a notice."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dashboard.models import ProviderAccount
from dashboard.roles import perm
from livecalls.forms_start import START_FORMS
from livecalls.services.start import StartResult, call_start, kinds_for

START_ACCOUNT_KINDS = (ProviderAccount.Kind.CALLGEAR, ProviderAccount.Kind.CCAI)


def _pick(request: HttpRequest, accounts: list[ProviderAccount]) -> tuple[ProviderAccount | None, str]:
    """The account and kind asked for (``?account=&kind=``), or the first available."""
    if not accounts:
        return None, ""
    wanted = request.GET.get("account", "")
    account = next((a for a in accounts if str(a.pk) == wanted), None)
    if wanted and account is None:
        raise Http404("No such enabled account")
    kind = request.GET.get("kind", "")
    if account is None:
        # A kind alone picks the first account that has it.
        account = next((a for a in accounts if kind in {k.key for k in kinds_for(a)}), accounts[0])
    keys = [k.key for k in kinds_for(account)]
    if kind and kind not in keys:
        raise Http404("This account cannot start that kind of call")
    return account, kind or keys[0]


@require_http_methods(["GET", "POST"])
@permission_required(perm("start_calls"), raise_exception=True)
def call_start_page(request: HttpRequest) -> HttpResponse:
    accounts = list(ProviderAccount.objects.filter(enabled=True, kind__in=START_ACCOUNT_KINDS))
    account, kind = _pick(request, accounts)
    context: dict[str, object] = {
        "tabs": [(a, kinds_for(a)) for a in accounts],
        "account": account,
        "kind": kind,
        "form": None,
        "result": None,
    }
    if account is None:
        return render(request, "livecalls/start_call.html", context)
    form_class = START_FORMS[kind]
    context["spec"] = next(k for k in kinds_for(account) if k.key == kind)
    if request.method == "POST":
        form = form_class(request.POST, account=account, user=request.user)
        if form.is_valid():
            result = call_start(account=account, kind=kind, params=form.start_params(), user=request.user)
            if result.ok and not request.htmx:
                messages.success(request, result.summary)
                return redirect("wall")
            if result.ok:
                form = form_class(account=account, user=request.user)  # ready for the next call
            elif result.error is not None:
                form.add_provider_error(result.error)
            context["result"] = result
    else:
        form = form_class(account=account, user=request.user)
    context["form"] = form
    if not request.htmx:
        return render(request, "livecalls/start_call.html", context)
    response = render(request, "livecalls/start_call.html#start-form", context)
    result = context["result"]
    if isinstance(result, StartResult):
        response["HX-Trigger"] = json.dumps(
            {"toast": {"level": "success" if result.ok else "error", "text": result.summary}})
    return response
