"""Reads for the live wall and the call history."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from dashboard.models import ProviderAccount
from dashboard.params import int_param
from livecalls.models import AccountSync, CallSession
from livecalls.selectors import sessions_visible_to

FILTERS = ("direction", "vnumber", "agent", "tag")


# The wall arrives in windows: the first is in the page (what a screen shows, fast), the
# rest follow in chunks the page fetches one after another as soon as it has loaded.
# 2,000 cards in one response are ~2 s of template rendering and megabytes of HTML.
WALL_FIRST = 60
WALL_CHUNK = 200


def _wall_queryset(user: Any, f: dict[str, str]) -> QuerySet[CallSession]:
    qs: QuerySet[CallSession] = sessions_visible_to(user).filter(ended_at__isnull=True)
    if f.get("direction") in ("in", "out"):
        qs = qs.filter(direction=f["direction"])
    if f.get("vnumber"):
        qs = qs.filter(virtual_number=f["vnumber"])
    agent_id = int_param(f.get("agent"))
    if agent_id is not None:
        qs = qs.filter(Q(agent_id=agent_id) | Q(legs__agent_id=agent_id)).distinct()
    if f.get("tag"):
        qs = qs.filter(tags__icontains=f["tag"])  # names are few; exact match is checked after
    return qs


@dataclass
class WallWindow:
    sessions: list[CallSession]
    after: int | None  # the cursor of the next window (a session pk), None at the end


def wall_sessions(*, user: Any, filters: dict[str, str] | None = None, after: int | None = None,
                  limit: int | None = None) -> WallWindow:
    """Active calls the user may see, longest-running first, one window at a time
    (keyset on (started_at, pk): a call ending between two windows shifts nothing)."""
    f = filters or {}
    limit = limit or WALL_FIRST
    qs = _wall_queryset(user, f)
    if after is not None:
        anchor = list(CallSession.objects.filter(pk=after).values_list("started_at", flat=True))
        if not anchor:  # sessions are not deleted; if one was, go on by pk
            qs = qs.filter(pk__gt=after)
        elif anchor[0] is None:  # calls without a start time come first, by pk
            qs = qs.filter(Q(started_at__isnull=True, pk__gt=after) | Q(started_at__isnull=False))
        else:
            qs = qs.filter(Q(started_at__gt=anchor[0]) | Q(started_at=anchor[0], pk__gt=after))
    # NULLs first on every database (SQLite and PostgreSQL disagree by default).
    rows = list(qs.order_by(F("started_at").asc(nulls_first=True), "pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = rows[-1].pk if more and rows else None
    if f.get("tag"):
        rows = [s for s in rows if f["tag"] in (s.tags or [])]
    return WallWindow(rows, cursor)


@dataclass
class WallCounts:
    active: int = 0
    talking: int = 0
    on_hold: int = 0
    ringing: int = 0


def wall_counts(*, user: Any, filters: dict[str, str] | None = None) -> WallCounts:
    """The tiles over every call the filter matches, not just the first window."""
    f = filters or {}
    counts = WallCounts()
    # "pk" in the values: the agent filter's DISTINCT must not merge two calls alike.
    for _, state, tags in _wall_queryset(user, f).prefetch_related(None).values_list("pk", "state", "tags"):
        if f.get("tag") and f["tag"] not in (tags or []):
            continue
        counts.active += 1
        if state in (CallSession.State.TALKING, CallSession.State.CONSULTING):
            counts.talking += 1
        elif state == CallSession.State.ON_HOLD:
            counts.on_hold += 1
        elif state in (CallSession.State.RINGING, CallSession.State.QUEUED):
            counts.ringing += 1
    return counts


def filter_choices(*, user: Any) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    active = sessions_visible_to(user).filter(ended_at__isnull=True)
    tags: set[str] = set()
    for names in active.values_list("tags", flat=True):
        tags.update(names or [])
    for account in ProviderAccount.objects.filter(kind=ProviderAccount.Kind.CALLGEAR, enabled=True):
        tags.update(t.get("name", "") for t in account.reference_data.get("tags", []) if t.get("name"))
    users = get_user_model().objects.filter(agent_profile__isnull=False).order_by("first_name", "username")
    vnumbers = sorted({v for v in active.values_list("virtual_number", flat=True) if v})
    return {"tags": sorted(tags), "agents": list(users), "vnumbers": vnumbers}


def stale_after_seconds() -> float:
    """How old an account's last successful reconcile may be before its calls are shown
    as not confirmed: a few periods (a run may be slow or skipped once), never under 10 s.
    The one place this is decided; pages get it as data-stale-after for their own clock."""
    return max(10.0, 3 * float(settings.LIVE_RECONCILE_SECONDS))


def age_label(seconds: float) -> str:
    """Seconds as the wall says them (40 s, 3 min, 2 h); ageLabel in static/js/app.js
    says them the same way as time goes by."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


@dataclass(frozen=True)
class Freshness:
    """One account's view of live calls: ``last_reconcile_at`` is when the provider's call
    list last confirmed it (it moves only on a successful reconcile)."""

    account: ProviderAccount
    last_event_at: datetime | None
    last_reconcile_at: datetime | None
    error: str
    stale: bool
    age: float | None  # seconds since last_reconcile_at, None if never

    @property
    def age_label(self) -> str:
        return age_label(self.age) if self.age is not None else ""


@dataclass(frozen=True)
class LiveFreshness:
    """Every live account's freshness, as of ``now`` (iterates over the accounts)."""

    accounts: list[Freshness]
    now: datetime
    stale_after: float

    def __iter__(self) -> Iterator[Freshness]:
        return iter(self.accounts)

    def __len__(self) -> int:
        return len(self.accounts)

    @property
    def stale(self) -> list[Freshness]:
        return [f for f in self.accounts if f.stale]

    @cached_property  # asked once per card
    def stale_ids(self) -> set[int]:
        """Accounts whose live calls are not confirmed (their cards are marked)."""
        return {f.account.pk for f in self.stale}


def freshness(*, now: datetime | None = None) -> LiveFreshness:
    """Stale: no successful reconcile for longer than stale_after_seconds(), or never."""
    now = now or timezone.now()
    limit = stale_after_seconds()
    accounts = ProviderAccount.objects.filter(enabled=True).exclude(kind=ProviderAccount.Kind.JAICP).order_by("name")
    syncs = {s.account_id: s for s in AccountSync.objects.filter(account__in=accounts)}
    out = []
    for account in accounts:
        sync = syncs.get(account.pk)
        confirmed = sync.last_reconcile_at if sync else None
        age = (now - confirmed).total_seconds() if confirmed else None
        out.append(Freshness(account, sync.last_event_at if sync else None, confirmed,
                             sync.last_reconcile_error if sync else "", stale=age is None or age > limit, age=age))
    return LiveFreshness(out, now, limit)


HISTORY_PAGE = 50


def call_history(*, user: Any, q: str = "", before: int | None = None) -> tuple[list[CallSession], int | None]:
    qs = sessions_visible_to(user).filter(ended_at__isnull=False)
    if q:
        digits = "".join(c for c in q if c.isdigit())
        cond = Q(tags__icontains=q) | Q(agent__username__icontains=q) | Q(agent__first_name__icontains=q)
        if digits:
            cond |= Q(contact_number__contains=digits) | Q(virtual_number__contains=digits) | Q(provider_session_id=digits)
        qs = qs.filter(cond)
    if before is not None:
        qs = qs.filter(pk__lt=before)
    rows = list(qs.order_by("-pk")[: HISTORY_PAGE + 1])
    more = len(rows) > HISTORY_PAGE
    rows = rows[:HISTORY_PAGE]
    return rows, (rows[-1].pk if more and rows else None)
