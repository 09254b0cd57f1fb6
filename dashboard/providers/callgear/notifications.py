"""CallGear notifications: the templates a customer pastes into the provider's cabinet.

CallGear does not push a fixed payload: in the cabinet ("Notifications") the customer
picks an event type, an HTTP method, a URL and writes a body with ``{{placeholders}}``
that CallGear fills in. So the dashboard gives admins one template per event type (the
exact text below), its receiver parses what these templates render, and the sandbox
sends exactly ``render(template, values)``: one source of truth for both ends.

Placeholders are the documented ones (notification_mnemonic, notification_time,
call_session_id, leg_id/leg_ids, virtual_phone_number, contact_phone_number,
employee_id, employee_full_name, direction, external_id, scenario_name, the
*_duration ones, tag_names, file_link, file_duration) plus a few of ours, marked
"(ours)" in PLACEHOLDERS: the real cabinet may leave those empty or literal, so the
receiver treats them as optional.

- ``session_event_seq`` (ours): a per-call-session sequence number, 1, 2, 3... so the
  receiver can order events that arrive out of order and drop duplicates.
- ``called_phone_number`` (ours, also a list.calls leg field): the number a leg dials.
- ``tag_id``, ``recording_state``, ``finish_reason`` (ours): what changed.

Every template names its call session, and its leg(s) where the event has one, and the
event time (``notification_time``, ISO 8601 UTC with ``Z``, as the docs' Agreements say).
Strings are quoted in the JSON; ``call_session_id`` and durations are bare numbers, since
CallGear always fills them on the events that carry them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EVENT_TYPES",
    "PLACEHOLDERS",
    "TEMPLATES",
    "Notification",
    "NotificationTemplate",
    "parse_notification",
    "render",
    "template_texts",
]

PLACEHOLDER = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")

PLACEHOLDERS: dict[str, str] = {
    "notification_mnemonic": "event type (the keys of TEMPLATES)",
    "notification_time": "when the event happened, ISO 8601 UTC",
    "call_session_id": "the call session",
    "session_event_seq": "(ours) 1, 2, 3... per call session, in the order events happened",
    "leg_id": "the leg the event is about",
    "leg_ids": "legs in the conversation, comma separated",
    "virtual_phone_number": "the virtual number of the call",
    "contact_phone_number": "the subscriber's number",
    "called_phone_number": "(ours) the number the leg dials",
    "scenario_name": "the scenario handling an incoming call",
    "employee_id": "the employee on the leg (empty when none)",
    "employee_full_name": "the employee's name",
    "direction": "in or out",
    "external_id": "the external_id given when the call was started",
    "talk_time_duration": "seconds of conversation",
    "total_time_duration": "seconds from start to end",
    "wait_time_duration": "seconds before the first answer",
    "tag_id": "(ours) the tag just added",
    "tag_names": "all tags of the session, comma separated",
    "recording_state": "(ours) on or off",
    "finish_reason": "(ours) why the session ended",
    "file_link": "link to the call recording",
    "file_duration": "seconds of recording",
}

_BASE = ("notification_mnemonic", "notification_time", "call_session_id", "session_event_seq")
_CALL = ("virtual_phone_number", "contact_phone_number", "direction", "external_id")
_EMPLOYEE = ("employee_id", "employee_full_name")
_BARE = frozenset(
    {
        "call_session_id",
        "talk_time_duration",
        "total_time_duration",
        "wait_time_duration",
        "file_duration",
    }
)


@dataclass(frozen=True)
class NotificationTemplate:
    event_type: str
    title: str  # the cabinet's event type, as an admin sees it
    placeholders: tuple[str, ...]
    method: str = "POST"
    content_type: str = "application/json"
    body: str = field(default="")

    def render(self, values: Mapping[str, Any]) -> str:
        return render(self.body, values)


def _body(fields: tuple[str, ...]) -> str:
    lines = []
    for name in fields:
        value = f"{{{{{name}}}}}" if name in _BARE else f'"{{{{{name}}}}}"'
        lines.append(f'  "{name}": {value}')
    return "{\n" + ",\n".join(lines) + "\n}"


def _template(event_type: str, title: str, *fields: str) -> NotificationTemplate:
    names = tuple(dict.fromkeys((*_BASE, *fields)))
    return NotificationTemplate(event_type, title, names, body=_body(names))


_ALL = [
    _template("incoming_call", "Incoming call to a virtual number", *_CALL, "scenario_name"),
    _template("outgoing_call", "Outgoing call (started through the Call API)", *_CALL),
    _template(
        "waiting_for_answer",
        "Waiting for answer (a leg rings)",
        "leg_id",
        *_CALL,
        "called_phone_number",
        *_EMPLOYEE,
    ),
    _template("talk_started", "Talk start", "leg_ids", *_CALL, *_EMPLOYEE),
    _template("talk_ended", "Talk end", "leg_ids", *_CALL, *_EMPLOYEE, "talk_time_duration"),
    _template("call_held", "Call put on hold", "leg_id", *_CALL, *_EMPLOYEE),
    _template("call_unheld", "Call taken off hold", "leg_id", *_CALL, *_EMPLOYEE),
    _template(
        "consultation_started",
        "Consultation/transfer call dialled (make.call)",
        "leg_id",
        *_CALL,
        "called_phone_number",
        *_EMPLOYEE,
    ),
    _template(
        "call_transferred", "Call transferred", "leg_ids", *_CALL, "called_phone_number", *_EMPLOYEE
    ),
    _template("talk_restored", "Talk restored after consultation", "leg_ids", *_CALL, *_EMPLOYEE),
    _template(
        "recording_changed", "Call recording switched on/off", "recording_state", *_CALL, *_EMPLOYEE
    ),
    _template("tag_added", "Call tagged", "tag_id", "tag_names", *_CALL, *_EMPLOYEE),
    _template("leg_disconnected", "Participant disconnected", "leg_id", *_CALL, *_EMPLOYEE),
    _template("lost_call", "Lost call", *_CALL, "wait_time_duration"),
    _template(
        "call_ended",
        "Call end",
        *_CALL,
        *_EMPLOYEE,
        "talk_time_duration",
        "total_time_duration",
        "wait_time_duration",
        "tag_names",
        "finish_reason",
    ),
    _template("recording_ready", "Call recording ready", *_CALL, "file_link", "file_duration"),
]

TEMPLATES: dict[str, NotificationTemplate] = {t.event_type: t for t in _ALL}
EVENT_TYPES: tuple[str, ...] = tuple(TEMPLATES)


def template_texts() -> dict[str, str]:
    """event type -> the exact body text an admin pastes into the cabinet."""
    return {name: t.body for name, t in TEMPLATES.items()}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(_text(v) for v in value)
    return str(value)


def render(template: str, values: Mapping[str, Any], *, json_escape: bool = True) -> str:
    """Fill ``{{name}}`` placeholders: missing/None become empty, lists are comma joined.

    ``json_escape`` escapes quotes and backslashes so a name like ``O"Neil`` keeps the
    body valid JSON (our reading: the real service's escaping is not documented; the
    receiver accepts both). Unknown placeholders render empty, as the cabinet does.
    """

    def fill(match: re.Match[str]) -> str:
        text = _text(values.get(match.group(1)))
        return json.dumps(text, ensure_ascii=False)[1:-1] if json_escape else text

    return PLACEHOLDER.sub(fill, template)


@dataclass(frozen=True)
class Notification:
    """What the receiver needs from one rendered notification."""

    event_type: str
    call_session_id: int | None
    leg_ids: tuple[int, ...]
    notification_time: str | None
    seq: int | None
    data: dict[str, Any]


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = value.strip().lstrip("-") if isinstance(value, str) else ""
    if text.isascii() and text.isdigit():  # "²".isdigit() is true, int("²") fails
        return int(value.strip())
    return None


def parse_notification(body: bytes | str | Mapping[str, Any]) -> Notification:
    """Parse a body rendered from one of TEMPLATES (or a hand-written variant of it)."""
    if isinstance(body, bytes | str):
        data = json.loads(body)
    else:
        data = dict(body)
    if not isinstance(data, dict):
        raise ValueError("a CallGear notification body must be a JSON object")
    legs: list[int] = []
    for key in ("leg_id", "leg_ids"):
        raw = data.get(key)
        items = raw if isinstance(raw, list) else str(raw or "").split(",")
        legs.extend(i for i in (_int(x) for x in items) if i is not None)
    return Notification(
        event_type=str(data.get("notification_mnemonic") or ""),
        call_session_id=_int(data.get("call_session_id")),
        leg_ids=tuple(dict.fromkeys(legs)),
        notification_time=data.get("notification_time") or None,
        seq=_int(data.get("session_event_seq")),
        data=data,
    )
