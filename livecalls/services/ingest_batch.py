"""Applying provider notifications in batches: the webhook path's unit of work.

At a busy floor's rate (hundreds of events a second) the cost of an event was not its
rules but the round trips around them: a transaction, ~18 statements, a session and
legs read again, two card renders, each per event (bench/RESULTS.md, fan-out profile).
A batch (whatever arrived while the previous one was being applied) is one transaction:

1. store: the batch's notifications are inserted at once; ones already stored (a repeat
   delivery, or a repeat inside the batch) are answered "duplicate" and touch nothing;
2. load: the sessions the batch names are read and locked once, with their legs;
3. apply: each event runs ingest.py's rules in memory, in arrival order; one that fails
   is put back as it was (its session and legs too) and stays stored, unapplied, with
   its attempt and error counted: background work applies it again through this same
   pipeline (ingest_retry.py), a bounded number of times;
4. write: new sessions and legs are inserted at once, changed ones updated once, with
   only the fields that changed;
5. push: after commit, one card per changed session, and one frame per group.

Two processes creating the same session at once (the scale path) make one batch fail
its insert; it is run again, when the session is there to be read. Rows are inserted and
locked in key order, so two batches wait for each other in one direction only.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from dashboard.models import ProviderAccount
from livecalls.models import CallSession, Leg, WebhookEvent
from livecalls.selectors import agent_for, agents_for
from livecalls.services.inbox import webhook_event_store
from livecalls.services.ingest import (
    IngestResult,
    L,
    SessionLegs,
    account_sync_touch,
    event_agent_ref,
    event_apply,
)
from livecalls.services.live import sessions_broadcast
from livecalls.webhooks import ParsedEvent

logger = logging.getLogger(__name__)

ATTEMPTS = 3  # a batch that lost a creation race runs again (module docstring)
# Tries to apply one notification (on the webhook path, then in the background) before
# it is given up: a fault that outlives them is a bug, and reconciliation has long since
# put its call right.
MAX_APPLY_ATTEMPTS = 5
ERROR_MAX = WebhookEvent._meta.get_field("apply_error").max_length

Item = tuple[ProviderAccount, ParsedEvent]


def _values(obj: Any, fields: Sequence[Any]) -> dict[str, Any]:
    return _copied({f.attname: getattr(obj, f.attname) for f in fields})


_SESSION_FIELDS = [f for f in CallSession._meta.concrete_fields if not f.primary_key]
_LEG_FIELDS = [f for f in Leg._meta.concrete_fields if not f.primary_key]


class BufferedLegs(SessionLegs):
    """One session of a batch with its legs, changed in memory and written once."""

    def __init__(self, session: CallSession, legs: Iterable[Leg], agents: dict[tuple[int, str], Any]) -> None:
        super().__init__(session)
        self.legs = {leg.provider_leg_id: leg for leg in legs}
        self.agents = agents  # shared by the batch: (account, employee) -> user
        self.applied = 0
        # What was read, to write only what changed.
        self.loaded = {id(obj): _values(obj, fields) for obj, fields in self._objects()}

    def _objects(self) -> list[tuple[Any, Sequence[Any]]]:
        return [(self.session, _SESSION_FIELDS), *((leg, _LEG_FIELDS) for leg in self.legs.values())]

    def get_or_create(self, ref: str) -> tuple[Leg, bool]:
        leg = self.legs.get(ref)
        if leg is not None:
            return leg, False
        leg = self.legs[ref] = Leg(session=self.session, provider_leg_id=ref)
        return leg, True

    def open(self) -> list[Leg]:
        return [leg for leg in self.legs.values() if leg.state != L.ENDED]

    def save(self, leg: Leg) -> None:
        """Written with the batch (``write``)."""

    def agent(self, account: ProviderAccount, ref: str | int | None) -> Any:
        key = (account.pk, str(ref))
        if key not in self.agents:
            self.agents[key] = agent_for(account, ref)
        return self.agents[key]

    def ordered(self) -> list[Leg]:
        """The legs as ``session.legs.all()`` orders them (started_at, pk)."""
        return sorted(self.legs.values(), key=lambda leg: (leg.started_at is not None, leg.started_at or 0,
                                                            leg.pk is not None, leg.pk or 0))

    # An event that fails leaves its session as it found it.
    def checkpoint(self) -> tuple[dict[str, Leg], list[tuple[Any, dict[str, Any], dict[str, Any]]]]:
        return dict(self.legs), [(obj, _copied(obj.__dict__), dict(obj._state.fields_cache))
                                 for obj, _ in self._objects()]

    def restore(self, point: tuple[dict[str, Leg], list[tuple[Any, dict[str, Any], dict[str, Any]]]]) -> None:
        legs, states = point
        self.legs = legs
        for obj, values, cache in states:
            state = obj._state
            obj.__dict__.clear()
            obj.__dict__.update(values)
            obj._state = state
            state.fields_cache = cache

    def changed(self, obj: Any, fields: Sequence[Any]) -> list[str]:
        loaded = self.loaded.get(id(obj))
        return [] if loaded is None else [f.attname for f in fields if getattr(obj, f.attname) != loaded[f.attname]]


def _copied(values: dict[str, Any]) -> dict[str, Any]:
    # JSON fields (details, tags, customer_flags) are the only mutable values.
    return {k: copy.deepcopy(v) if isinstance(v, (dict, list)) else v for k, v in values.items() if k != "_state"}


def webhook_events_ingest(items: Sequence[Item]) -> list[IngestResult]:
    """Store and apply a batch of notifications (module docstring); one result per item."""
    return batch_run(lambda: _ingest(items), what=f"webhook batch of {len(items)}")


def batch_run[T](work: Callable[[], T], *, what: str) -> T:
    """``work`` in one transaction, run again when it lost a creation race (module docstring)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return work()
        except (IntegrityError, OperationalError) as exc:
            if attempt == ATTEMPTS or not _lost_a_race(exc):
                raise
            logger.info("%s lost a race (%s); applying it again", what, type(exc).__name__)
    raise AssertionError("unreachable")


def _lost_a_race(exc: Exception) -> bool:
    """A creation race (unique key) or, on PostgreSQL, a deadlock the server broke."""
    return isinstance(exc, IntegrityError) or getattr(exc.__cause__, "sqlstate", None) == "40P01"


def _ingest(items: Sequence[Item]) -> list[IngestResult]:
    now = timezone.now()
    rows = events_store(items, now)
    results = events_apply(items, rows, now)
    touched = {account.pk: account for (account, _), row in zip(items, rows, strict=True) if row}
    for _, account in sorted(touched.items()):
        account_sync_touch(account, last_event_at=now)
    return results


def events_apply(items: Sequence[Item], rows: Sequence[WebhookEvent | None], now: datetime) -> list[IngestResult]:
    """Load, apply, write and push (module docstring, steps 2 to 5) the stored ``rows``,
    already marked applied in this transaction; None for an item not to apply (a repeat).
    A row that fails is unmarked, with its attempt counted."""
    agents = agents_prefetch([item for item, row in zip(items, rows, strict=True) if row is not None])
    books = sessions_load([item for item, row in zip(items, rows, strict=True) if row is not None], agents)
    results: list[IngestResult] = []
    failed: list[WebhookEvent] = []
    for (account, event), row in zip(items, rows, strict=True):
        if row is None:
            results.append(IngestResult("duplicate"))
            continue
        key = (account.pk, event.session_ref)
        book = books.get(key)
        if book is None:
            book = books[key] = BufferedLegs(CallSession(account=account, provider_session_id=event.session_ref),
                                             (), agents)
        point = book.checkpoint()
        try:
            event_apply(book, event)
        except Exception as exc:
            # A notification we cannot apply stays stored (and unapplied) rather than making
            # the provider retry it forever; we retry it ourselves (ingest_retry.py), and the
            # next reconciliation restores the truth meanwhile.
            logger.exception("%s event %s not applied", account, event.dedupe_key)
            book.restore(point)
            event_failed(row, exc, now)
            failed.append(row)
            results.append(IngestResult("stored", event=row))
            continue
        book.applied += 1
        results.append(IngestResult("applied", event=row, session=book.session))
    changed = [book for book in books.values() if book.applied]
    sessions_write(changed)
    if failed:
        WebhookEvent.objects.bulk_update(failed, ["applied_at", "apply_attempts", "apply_error", "given_up_at"])
    sessions_broadcast([(book.session, book.ordered()) for book in changed])
    return results


def event_failed(row: WebhookEvent, exc: BaseException, now: datetime) -> None:
    """Count a failed try to apply ``row`` (in memory; the caller saves it), and give it
    up after the last one."""
    row.applied_at = None
    row.apply_attempts += 1
    row.apply_error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX]
    if row.apply_attempts >= MAX_APPLY_ATTEMPTS:
        row.given_up_at = now


def events_store(items: Sequence[Item], now: datetime) -> list[WebhookEvent | None]:
    """Insert the batch's new notifications (applied_at = now: one transaction with the
    apply); None for each already stored or repeated in the batch."""
    keys_by_account: dict[int, set[str]] = {}
    for account, event in items:
        keys_by_account.setdefault(account.pk, set()).add(event.dedupe_key[:300])
    seen = {(account_id, key) for account_id, keys in keys_by_account.items()
            for key in WebhookEvent.objects.filter(account_id=account_id, dedupe_key__in=keys)
            .order_by().values_list("dedupe_key", flat=True)}
    rows: list[WebhookEvent | None] = []
    for account, event in items:
        key = (account.pk, event.dedupe_key[:300])
        if key in seen:
            rows.append(None)
            continue
        seen.add(key)
        rows.append(WebhookEvent(account=account, event_type=event.event_type, session_ref=event.session_ref,
                                 leg_ref=event.leg_ref[:200], sequence=event.sequence, occurred_at=event.occurred_at,
                                 dedupe_key=key[1], payload=event.payload, applied_at=now))
    # In key order, as sessions_write inserts sessions: two servers inserting overlapping
    # rows at once then wait for each other in one order, never in a circle.
    new = sorted((row for row in rows if row is not None), key=lambda row: (row.account_id, row.dedupe_key))
    try:
        with transaction.atomic():
            WebhookEvent.objects.bulk_create(new)
    except IntegrityError:
        # Another process stored one of them meanwhile: one by one, to tell which.
        for i, row in enumerate(rows):
            if row is not None:
                stored, created = webhook_event_store(account=row.account, event=items[i][1])
                if created and stored is not None:
                    stored.applied_at = now
                    stored.save(update_fields=["applied_at"])
                rows[i] = stored if created else None
    return rows


def agents_prefetch(items: Sequence[Item]) -> dict[tuple[int, str], Any]:
    """The agents the batch's events name, one query per account: (account, ref) -> user."""
    refs: dict[int, tuple[ProviderAccount, set[str]]] = {}
    for account, event in items:
        ref = event_agent_ref(account, event)
        if ref:
            refs.setdefault(account.pk, (account, set()))[1].add(ref)
    return {(account.pk, ref): user for account, names in refs.values()
            for ref, user in agents_for(account, names).items()}


def sessions_load(items: Sequence[Item], agents: dict[tuple[int, str], Any]) -> dict[tuple[int, str], BufferedLegs]:
    """The sessions the batch names that exist, locked (in id order, so two batches never
    wait on each other in a circle), with their legs."""
    refs: dict[int, tuple[ProviderAccount, set[str]]] = {}
    for account, event in items:
        refs.setdefault(account.pk, (account, set()))[1].add(event.session_ref)
    sessions: list[CallSession] = []
    for account, names in sorted(refs.values(), key=lambda entry: entry[0].pk):  # lock order: module docstring
        found = (CallSession.objects.select_for_update(of=("self",)).select_related("agent")
                 .filter(account=account, provider_session_id__in=names).order_by("pk"))
        for session in found:
            session.account = account
            sessions.append(session)
    legs: dict[int, list[Leg]] = {}
    for leg in Leg.objects.filter(session__in=[s.pk for s in sessions]).order_by("started_at", "pk"):
        legs.setdefault(leg.session_id, []).append(leg)
    return {(s.account_id, s.provider_session_id): BufferedLegs(s, legs.get(s.pk, ()), agents) for s in sessions}


def sessions_write(books: Sequence[BufferedLegs]) -> None:
    """New sessions and legs in one INSERT each; changed ones updated, changed fields only."""
    new_sessions = sorted((book.session for book in books if book.session.pk is None),
                          key=lambda session: (session.account_id, session.provider_session_id))
    if new_sessions:
        CallSession.objects.bulk_create(new_sessions)
    created = {id(session) for session in new_sessions}
    new_legs: list[Leg] = []
    changed: list[tuple[Any, tuple[str, ...]]] = []
    for book in books:
        if id(book.session) not in created:
            # updated_at always: reconciliation reads it as "a webhook came after my listing".
            changed.append((book.session, (*book.changed(book.session, _SESSION_FIELDS), "updated_at")))
        for leg in book.legs.values():
            if leg.pk is None:
                leg.session = book.session  # now with its id
                new_legs.append(leg)
            else:
                fields = book.changed(leg, _LEG_FIELDS)
                if fields:
                    changed.append((leg, tuple(fields)))
    rows_update(changed)
    if new_legs:
        Leg.objects.bulk_create(new_legs)


def rows_update(rows: Sequence[tuple[Any, tuple[str, ...]]]) -> None:
    """``save(update_fields=fields)`` for each (instance, fields), as one prepared UPDATE
    per model and field set run over its rows: one ``save`` per row compiled its UPDATE
    every time, 0.55 ms of an event's 2.7 (bench/fanout.py, in process). Values go
    through each field's ``pre_save`` (``auto_now``) and ``get_db_prep_save``, as in
    ``save``; no model here has save signals."""
    groups: dict[tuple[type, tuple[str, ...]], list[Any]] = {}
    for instance, fields in rows:
        groups.setdefault((type(instance), fields), []).append(instance)
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for (model, names), instances in groups.items():
            fields = [model._meta.get_field(name) for name in names]
            assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
            cursor.executemany(
                f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s",
                [[*(field.get_db_prep_save(field.pre_save(instance, False), connection) for field in fields),
                  instance.pk] for instance in instances])
