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
        legs = ",".join(str(i) for i in note.leg_ids)
        occurred = parse_datetime(note.notification_time) if note.notification_time else None
        key = f"{note.event_type}|{note.call_session_id}|{legs}|{note.notification_time or ''}|{note.seq or ''}"
        return ParsedEvent(note.event_type, str(note.call_session_id), legs, note.seq, occurred, key, data)
    if account.kind == ProviderAccount.Kind.CCAI:
        try:
            change = parse_status_change(data)
        except ValueError as exc:
            raise BadNotification(str(exc)) from exc
        legs = ",".join(str(p.id) for p in change.participants if getattr(p, "id", None) is not None)
        key = f"call.status_changed|{change.call_id}|{change.sequence}"
        return ParsedEvent("call.status_changed", str(change.call_id), legs, change.sequence,
                           change.event_time, key, data)
    raise BadNotification(f"{account.get_kind_display()} accounts send no notifications")
