"""Template helpers of the call-control panel."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template

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
