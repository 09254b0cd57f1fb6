"""Reading provider notifications into WebhookEvent rows.

Providers sign nothing: the account's secret travels in the ``X-Callboard-Secret``
header (what the sandbox and any cabinet that can set headers send) or, for cabinets that
can only write a URL, in a ``secret`` query parameter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.crypto import constant_time_compare
from django.utils.dateparse import parse_datetime

from dashboard.models import ProviderAccount
from dashboard.providers.callgear.notifications import parse_notification
from dashboard.providers.ccai.webhooks import parse_status_change

SECRET_HEADER = "X-Callboard-Secret"


class BadNotification(ValueError):
    """The body is not a notification we understand; the message names what is wrong."""


SEQ_MAX = 2**31 - 1  # the sequence columns' range on every database
REF_MAX = 2**63 - 1  # ids as the provider gives them, stored as text of at most 64 characters


def _in_range(value: int | None, name: str, low: int, high: int) -> int | None:
    if value is not None and not low <= value <= high:
        raise BadNotification(f"{name} is out of range ({value})")
    return value


def _when(value: object, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise BadNotification(f"{name} is not a date and time: {str(value)[:40]!r}")
    return parsed


@dataclass(frozen=True)
class ParsedEvent:
    event_type: str
    session_ref: str
    leg_ref: str
    sequence: int | None
    occurred_at: datetime | None
    dedupe_key: str
    payload: dict[str, Any]


def secret_matches(account: ProviderAccount, given: str | None) -> bool:
    return bool(given) and bool(account.webhook_secret) and constant_time_compare(given, account.webhook_secret)


def parse_event(account: ProviderAccount, body: bytes) -> ParsedEvent:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadNotification(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadNotification("body must be a JSON object")
    if account.kind == ProviderAccount.Kind.CALLGEAR:
        note = parse_notification(data)
        if not note.event_type:
            raise BadNotification("notification_mnemonic is missing")
        if note.call_session_id is None:
            raise BadNotification("call_session_id is missing or not a number")
        _in_range(note.call_session_id, "call_session_id", 0, REF_MAX)
        _in_range(note.seq, "session_event_seq", 0, SEQ_MAX)
        for leg in note.leg_ids:
            _in_range(leg, "leg_id", 0, REF_MAX)
        legs = ",".join(str(i) for i in note.leg_ids)
        occurred = _when(note.notification_time, "notification_time")
        key = f"{note.event_type}|{note.call_session_id}|{legs}|{note.notification_time or ''}|{note.seq or ''}"
        return ParsedEvent(note.event_type, str(note.call_session_id), legs, note.seq, occurred, key, data)
    if account.kind == ProviderAccount.Kind.CCAI:
        try:
            change = parse_status_change(data)
        except ValueError as exc:
            raise BadNotification(str(exc)) from exc
        _in_range(change.call_id, "call_id", 0, REF_MAX)
        _in_range(change.sequence, "sequence", 0, SEQ_MAX)
        for participant in change.participants:
            _in_range(getattr(participant, "id", None), "participants.id", 0, REF_MAX)
        legs = ",".join(str(p.id) for p in change.participants if getattr(p, "id", None) is not None)
        key = f"call.status_changed|{change.call_id}|{change.sequence}"
        return ParsedEvent("call.status_changed", str(change.call_id), legs, change.sequence,
                           change.event_time, key, data)
    raise BadNotification(f"{account.get_kind_display()} accounts send no notifications")
