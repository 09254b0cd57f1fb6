"""Call-control views: one POST per action (``calls/<pk>/hold/``...).

Each view reads top to bottom: the permission-checked lookup (404/403), one service
call, then the answer. An htmx request gets the re-rendered call card and a toast; a
plain form post (no JavaScript) is redirected back with a message.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from dashboard.params import int_param
from dashboard.roles import perm
from dashboard.services import ActionResult
from livecalls.models import CallSession
from livecalls.selectors import session_for_user
from livecalls.services import actions
from livecalls.services.live import session_card_html


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _codenames(user: Any) -> tuple[str, ...]:
    return tuple(sorted(p.split(".", 1)[1] for p in user.get_all_permissions() if p.startswith("dashboard.")))


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return target
    return "/calls/"


def _answer(request: HtmxHttpRequest, session: CallSession, result: ActionResult) -> HttpResponse:
    if request.htmx:
        # Fresh from the database: the service may have changed the row (tags, flags).
        session = CallSession.objects.select_related("account", "agent").get(pk=session.pk)
        response = HttpResponse(session_card_html(session, *_codenames(request.user), oob=False,
                                                  controls_open=request.POST.get("panel") == "open"))
        response["HX-Trigger"] = json.dumps(
            {"toast": {"level": "success" if result.ok else "error", "text": result.summary}}
        )
        return response
    (messages.success if result.ok else messages.error)(request, result.summary)
    return redirect(_back(request))


def _int_or_none(value: str | None) -> int | None:
    return int_param(value, signed=True)


def _refused(text: str) -> ActionResult:
    """A form sent without what the action needs: said before anything is sent."""
    return ActionResult(False, text)


@require_POST
def call_hold(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    session = session_for_user(request.user, pk, act=True)
    result = actions.call_hold(session=session, user=request.user,
                               media_file_id=request.POST.get("media_file_id") or None,
                               tts=request.POST.get("tts") or None)
    return _answer(request, session, result)


@require_POST
def call_unhold(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    session = session_for_user(request.user, pk, act=True)
    return _answer(request, session, actions.call_unhold(session=session, user=request.user))


@require_POST
def call_consult(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    session = session_for_user(request.user, pk, act=True)
    to = request.POST.get("to", "").strip()
    employee_id = request.POST.get("employee_id", "").strip()
    if not to and not employee_id:
        result = _refused("Enter a number or choose an employee to call.")
    else:
        result = actions.call_consult(session=session, user=request.user, to=to or None,
                                      employee_id=employee_id or None)
    return _answer(request, session, result)


@require_POST
def call_transfer(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    session = session_for_user(request.user, pk, act=True)
    return _answer(request, session, actions.call_transfer(session=session, user=request.user))


@require_POST
def call_restore(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    session = session_for_user(request.user, pk, act=True)
    return _answer(request, session, actions.call_restore(session=session, user=request.user))


@require_POST
def call_tag(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    session = session_for_user(request.user, pk, act=True)
    tag_id = _int_or_none(request.POST.get("tag_id"))
    if tag_id is None:
        result = _refused("Choose a tag.")
    else:
        result = actions.call_tag(session=session, user=request.user, tag_id=tag_id)
    return _answer(request, session, result)


@require_POST
def call_record(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    session = session_for_user(request.user, pk, act=True)
    result = actions.call_record(session=session, user=request.user, action=request.POST.get("action", ""))
    return _answer(request, session, result)


@require_POST
def call_dtmf(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    session = session_for_user(request.user, pk, act=True)
    digits = request.POST.get("digits", "").strip()
    if not digits:
        result = _refused("Type the digits to send.")
    else:
        result = actions.call_send_dtmf(session=session, user=request.user, digits=digits)
    return _answer(request, session, result)


@require_GET
def call_controls(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """A wall card's control panel, loaded when its Controls button opens."""
    session = session_for_user(request.user, pk, act=True)
    return render(request, "livecalls/_actions.html",
                  {"session": session, "legs": list(session.legs.all()), "next_url": "/calls/"})


@require_GET
def call_talk_options(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The PBX's talk options as buttons (loaded when the panel opens)."""
    session = session_for_user(request.user, pk, act=True)
    result = actions.talk_options_list(session=session, user=request.user)
    return render(request, "livecalls/_actions.html#talk-options",
                  {"session": session, "result": result, "options": result.details.get("options", [])})


@require_POST
def call_talk_option(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    session = session_for_user(request.user, pk, act=True)
    button = request.POST.get("button", "").strip()
    if not button:
        result = _refused("Choose a talk option.")
    else:
        result = actions.call_talk_option(session=session, user=request.user, button=button)
    return _answer(request, session, result)


@require_POST
def call_disconnect(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    session = session_for_user(request.user, pk, act=True)
    leg_id = request.POST.get("leg_id", "").strip()
    if not leg_id:
        result = _refused("Choose a participant to disconnect.")
    else:
        result = actions.call_disconnect_leg(session=session, user=request.user, leg_id=leg_id)
    return _answer(request, session, result)


@require_POST
def call_release(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    session = session_for_user(request.user, pk, act=True)
    return _answer(request, session, actions.call_release(session=session, user=request.user))


@require_POST
def call_block(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    session = session_for_user(request.user, pk, act=True)
    return _answer(request, session, actions.call_block_contact(session=session, user=request.user))


@require_POST
def call_coach(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    session = session_for_user(request.user, pk, act=True)
    if not request.user.has_perm(perm("coach_calls")):
        raise PermissionDenied
    result = actions.call_add_coach(session=session, user=request.user,
                                    phone_number=request.POST.get("phone_number") or None)
    return _answer(request, session, result)


@require_POST
def call_flags_refresh(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    # Reading the flags changes nothing at the provider: whoever may see the call may.
    session = session_for_user(request.user, pk)
    return _answer(request, session, actions.customer_flags_get(session=session, user=request.user))


@require_POST
def call_flags_update(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The flags form sends every flag: a checkbox left unticked means false."""
    session = session_for_user(request.user, pk, act=True)
    values = {name: request.POST.get(name) in ("1", "on", "true") for name in actions.FLAG_NAMES}
    result = actions.customer_flags_update(session=session, user=request.user, **values)
    return _answer(request, session, result)
