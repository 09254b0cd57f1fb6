"""Template helpers of the call-control panel."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from livecalls.models import CallSession, Leg
from livecalls.services.actions import allowed_actions
from livecalls.services.actions import reference as reference_list

register = template.Library()


@register.filter
def allowed(session: CallSession, legs: Iterable[Leg] | None = None) -> list[str]:
    """``{% with acts=session|allowed:legs %}``: the actions the session's state allows
    (sorted, so ``{{ acts|join:" " }}`` is stable)."""
    # Without ``legs`` in the context the filter gets "": read them from the session.
    return sorted(allowed_actions(session, legs or None))


@register.filter
def reference(session: CallSession, key: str) -> list[dict[str, Any]]:
    """``session|reference:"tags"``: a picker list from the account's reference data."""
    return reference_list(session, key)


_PK = 987654321987654321  # stands for the call's id in a reversed pattern


@functools.cache
def _call_url_pattern(name: str, prefix: str) -> str:
    return reverse(name, args=[_PK])


@register.simple_tag
def call_url(name: str, pk: int) -> str:
    """``{% call_url 'call-hold' pk %}``: ``{% url %}`` for the per-call routes, reversed
    once per route. A pushed agent card holds ~20 of them and ``{% url %}`` reverses each
    every time: a third of the card's rendering, done per event (bench/RESULTS.md, fan-out)."""
    return _call_url_pattern(name, get_script_prefix()).replace(str(_PK), str(int(pk)))


@register.simple_tag(takes_context=True)
def form_extras(context: template.Context) -> str:
    """The hidden inputs of every form in the panel: the CSRF token and ``next`` when the
    panel is rendered for a request. Pushes are rendered without one (htmx sends the
    token from the page then). A tag, not a partial: it is in every form of every pushed
    agent card."""
    parts = []
    token = context.get("csrf_token")
    if token and token != "NOTPROVIDED":  # as {% csrf_token %} does
        parts.append(format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token))
    next_url = context.get("next_url")
    request = context.get("request")
    if not next_url and request is not None:
        next_url = request.get_full_path()
    if next_url:
        parts.append(format_html('<input type="hidden" name="next" value="{}">', next_url))
    return mark_safe("".join(parts))
