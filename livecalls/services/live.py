"""Pushing call state to browsers: one rendered call card per change, to the account's
group (supervisors) and to the groups of the agents on the call, after commit.

A card rendered for a supervisor has the supervisor's buttons (coach...); an agent's has
the agent's; each is rendered once per change, not per connection. Every message
carries the session's event sequence so a page can tell it missed one (and resync).
"""

from __future__ import annotations

from django.template.loader import render_to_string

from dashboard import groups
from dashboard.broadcast import Part, perms_context, send_html, send_parts
from livecalls.models import CallSession, Leg

SUPERVISOR_PERMS = ("view_all_calls", "control_any_call", "coach_calls", "start_calls")
AGENT_PERMS = ("control_own_calls", "start_calls")


def session_card_html(session: CallSession, *codenames: str, oob: bool = True, legs: list[Leg] | None = None,
                      compact: bool = False, controls_open: bool = False, card_top: str | None = None) -> str:
    """``compact``: the supervisors' wall card, whose control panel loads when opened
    (``controls_open`` renders it opened and filled, for the answer to an action sent from it).
    ``card_top``: :func:`session_card_top_html` of the same session, if rendered already."""
    legs = list(session.legs.all()) if legs is None else legs
    context = {"session": session, "legs": legs, "oob": oob, "compact": compact or controls_open,
               "controls_open": controls_open, "card_top": card_top, **perms_context(*codenames)}
    return render_to_string("livecalls/wall.html#session-card", context)


def session_card_top_html(session: CallSession, *, legs: list[Leg], oob: bool = True) -> str:
    """The part of a card every audience sees (the call, its chips and legs): rendered
    once for a push, it was about 40% of rendering both cards (bench/fanout.py)."""
    return render_to_string("livecalls/wall.html#session-card-top", {"session": session, "legs": legs, "oob": oob})


def session_broadcast(*, session: CallSession) -> None:
    """Send the session's card to everyone who may see it (after the current commit)."""
    sessions_broadcast([(session, list(session.legs.all()))])


def sessions_broadcast(changed: list[tuple[CallSession, list[Leg]]]) -> None:
    """The cards of several changed sessions (with their legs), after the current commit:
    each card rendered once per audience, and one frame per group however many cards it
    holds (htmx swaps every top-level element of a frame), so a supervisor watching a busy
    floor gets a frame per batch, not per event (shared PERFORMANCE-NOTES, 7)."""
    frames: dict[str, list[Part]] = {}
    for session, legs in changed:
        key = f"session-{session.pk}"  # the card's id: a socket behind sends only its newest
        top = session_card_top_html(session, legs=legs)
        frames.setdefault(groups.calls_account_group(session.account_id), []).append(
            (key, session_card_html(session, *SUPERVISOR_PERMS, legs=legs, compact=True, card_top=top)))
        agent_ids = {session.agent_id, *(leg.agent_id for leg in legs)} - {None}
        if agent_ids:
            html = session_card_html(session, *AGENT_PERMS, legs=legs, card_top=top)
            for agent_id in agent_ids:
                frames.setdefault(groups.calls_agent_group(agent_id), []).append((key, html))
    for group, cards in frames.items():
        send_parts(group, cards)


def account_freshness_broadcast(*, account_id: int) -> None:
    """After each reconcile of the account (tasks.py), whatever its outcome: the wall's bar
    of last events and checks to its supervisors, and the top bar's stale accounts to every
    page of everyone who may see calls. A successful reconcile is what clears an account
    the page's own clock marked stale (_freshness.html)."""
    from livecalls.selectors_wall import freshness

    board = freshness()
    send_html(groups.calls_account_group(account_id),
              render_to_string("livecalls/_freshness.html#wall-bar", {"freshness": board, "oob": True}), key="freshness")
    top_bar = render_to_string("livecalls/_freshness.html#topbar", {"freshness": board, "oob": True})
    nothing = render_to_string("livecalls/_freshness.html#topbar", {"oob": True})  # who sees no calls
    send_html(groups.ANNOUNCEMENTS, nothing, key="live-freshness",
              variants={"view_all_calls": top_bar, "control_own_calls": top_bar})
