"""Call status notifications of the CCAI sandbox, and their parser for the dashboard.

The seed documents no push channel: the real platform reports call changes through its own
integrations (CRM adapters, the Manager API that tap-ujet polls). The sandbox therefore
defines one JSON body per status change, POSTed to every target configured for "ccai" with
event name ``call.status_changed``. A dashboard against the real service gets the same
facts by polling ``GET /manager/api/v1/calls``; this body carries exactly what a poller
would compare, so both paths can feed one service.

Body (``Content-Type: application/json``)::

    {
      "event": "call.status_changed",
      "call_id": 1001,
      "call_type": "Voice Outbound (API)",
      "status": "connected",              # lowercase snake case, as in the call object
      "previous_status": "connecting",    # null for the first event of a call
      "sequence": 4,                      # 1, 2, 3... per call: order and drop detection
      "event_time": "2026-01-01T10:00:12.000Z",
      "end_user_number": "+1 859-657-9625",
      "agent_email": "admin@somedomain.com",   # null until an agent is assigned
      "menu_id": null,
      "scheduled_at": null,
      "fail_reason": "nothing",
      "participants": [ {"id", "type", "status", "call_id", "user_id", "end_user_id",
                         "connected_at", "ended_at", "fail_reason"} ]
    }

A consumer keeps the highest ``sequence`` seen per call and ignores older or repeated ones
(the notifier may duplicate or reorder on purpose).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .models import Participant, normalize_status, parse_time

__all__ = ["EVENT_STATUS_CHANGED", "CallStatusChange", "build_status_change", "parse_status_change"]

EVENT_STATUS_CHANGED = "call.status_changed"


def build_status_change(
    *,
    call: Mapping[str, Any],
    previous_status: str | None,
    sequence: int,
    event_time: str,
    end_user_number: str | None,
    agent_email: str | None,
    menu_id: int | None,
) -> dict[str, Any]:
    """The body for one change of ``call`` (a call object as the API renders it)."""
    return {
        "event": EVENT_STATUS_CHANGED,
        "call_id": call["id"],
        "call_type": call.get("call_type"),
        "status": call.get("status"),
        "previous_status": previous_status,
        "sequence": sequence,
        "event_time": event_time,
        "end_user_number": end_user_number,
        "agent_email": agent_email,
        "menu_id": menu_id,
        "scheduled_at": call.get("scheduled_at"),
        "fail_reason": call.get("fail_reason"),
        "participants": [
            {
                key: p.get(key)
                for key in (
                    "id",
                    "type",
                    "status",
                    "call_id",
                    "user_id",
                    "end_user_id",
                    "connected_at",
                    "ended_at",
                    "fail_reason",
                )
            }
            for p in call.get("participants", [])
        ],
    }


@dataclass(frozen=True)
class CallStatusChange:
    call_id: int
    call_type: str | None
    status: str | None
    previous_status: str | None
    sequence: int
    event_time: datetime | None
    end_user_number: str | None
    agent_email: str | None
    menu_id: int | None
    scheduled_at: datetime | None
    fail_reason: str | None
    participants: tuple[Participant, ...]


def parse_status_change(body: bytes | str | Mapping[str, Any]) -> CallStatusChange:
    """Raises ValueError on a body that is not a status change."""
    data = json.loads(body) if isinstance(body, (bytes, str)) else body
    if not isinstance(data, Mapping) or data.get("event") != EVENT_STATUS_CHANGED:
        raise ValueError("not a ccai call.status_changed body")
    try:
        call_id = int(data["call_id"])
        sequence = int(data["sequence"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError("call_id and sequence must be integers") from exc
    menu_id = data.get("menu_id")
    return CallStatusChange(
        call_id=call_id,
        call_type=data.get("call_type"),
        status=normalize_status(data.get("status")),
        previous_status=normalize_status(data.get("previous_status")),
        sequence=sequence,
        event_time=parse_time(data.get("event_time")),
        end_user_number=data.get("end_user_number"),
        agent_email=data.get("agent_email"),
        menu_id=int(menu_id) if isinstance(menu_id, int) else None,
        scheduled_at=parse_time(data.get("scheduled_at")),
        fail_reason=data.get("fail_reason"),
        participants=tuple(
            Participant.from_json(p)
            for p in data.get("participants") or []
            if isinstance(p, Mapping)
        ),
    )
