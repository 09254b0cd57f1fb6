"""The CCAI call object and the answers around it, as typed dataclasses.

Parsing is lenient on purpose: Google says to expect unrecognised keys, and the seed has
slips (``call_tye``, ``voicemail_reaso``, ``repeat_customers``, a scheduled call answered as
"Voice Inbound (API)"). Unknown keys are kept in ``raw``; unknown status values are kept as
strings rather than refused, so a new status never breaks a sync.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "ACTIVE_STATUSES",
    "TERMINAL_STATUSES",
    "AgentInfo",
    "Call",
    "CallPage",
    "CallStatus",
    "CreateCallResult",
    "CreateOutcome",
    "CustomerFlags",
    "EndUser",
    "Menu",
    "MenuPath",
    "OfferEvent",
    "Participant",
    "ParticipantStatus",
    "Transfer",
    "format_time",
    "normalize_status",
    "parse_time",
]


class CallStatus(StrEnum):
    """JSON values of ``status`` (the seed's table names them in title case)."""

    SELECTING = "selecting"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    FINISHED = "finished"
    FAILED = "failed"
    SWITCHING = "switching"
    RECOVERED = "recovered"
    SCHEDULED = "scheduled"
    ACTION_ONLY = "action_only"
    ACTION_ONLY_FINISHED = "action_only_finished"
    DEFLECTED = "deflected"
    VOICEMAIL = "voicemail"
    VOICEMAIL_RECEIVED = "voicemail_received"
    VOICEMAIL_READ = "voicemail_read"


class ParticipantStatus(StrEnum):
    """The seed shows only ``waiting``; the rest is the reading the sandbox uses."""

    WAITING = "waiting"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    FINISHED = "finished"
    FAILED = "failed"


TERMINAL_STATUSES = frozenset(
    {
        CallStatus.FINISHED,
        CallStatus.FAILED,
        CallStatus.RECOVERED,
        CallStatus.ACTION_ONLY_FINISHED,
        CallStatus.DEFLECTED,
        CallStatus.VOICEMAIL_RECEIVED,
        CallStatus.VOICEMAIL_READ,
    }
)
ACTIVE_STATUSES = frozenset(
    {
        CallStatus.SELECTING,
        CallStatus.QUEUED,
        CallStatus.ASSIGNED,
        CallStatus.CONNECTING,
        CallStatus.SWITCHING,
        CallStatus.CONNECTED,
        CallStatus.ACTION_ONLY,
        CallStatus.VOICEMAIL,
    }
)


def normalize_status(value: Any) -> str | None:
    """Read the docs' table form ("Action Only Finished") and the JSON's alike."""
    if value is None:
        return None
    return str(value).strip().lower().replace(" ", "_").replace("-", "_")


def parse_time(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(value: datetime | float | None) -> str | None:
    """The API's timestamp form: ``2019-06-07T01:27:30.406Z`` (UTC, milliseconds)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromtimestamp(float(value), tz=UTC)
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _pick(data: Mapping[str, Any], *keys: str) -> Any:
    """The first key present: the right spelling first, then the docs' slips."""
    for key in keys:
        if key in data:
            return data[key]
    return None


@dataclass(frozen=True)
class AgentInfo:
    id: int | None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    agent_number: str | None = None
    avatar_url: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> AgentInfo | None:
        if not isinstance(data, Mapping):
            return None
        return cls(
            id=_int(data.get("id")),
            name=_str(data.get("name")),
            first_name=_str(data.get("first_name")),
            last_name=_str(data.get("last_name")),
            agent_number=_str(data.get("agent_number")),
            avatar_url=_str(data.get("avatar_url")),
        )


@dataclass(frozen=True)
class EndUser:
    id: int | None
    identifier: str | None = None
    out_contact_id: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> EndUser | None:
        if not isinstance(data, Mapping):
            return None
        return cls(
            id=_int(data.get("id")),
            identifier=_str(data.get("identifier")),
            out_contact_id=_str(data.get("out_contact_id")),
        )


@dataclass(frozen=True)
class Menu:
    id: int | None
    name: str | None = None
    parent_id: int | None = None
    position: int | None = None
    deleted: bool = False
    hidden: bool = False
    menu_type: str | None = None
    output_msg: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> Menu | None:
        if not isinstance(data, Mapping):
            return None
        hidden = data.get("hidden")
        return cls(
            id=_int(data.get("id")),
            name=_str(data.get("name")),
            parent_id=_int(data.get("parent_id")),
            position=_int(data.get("position")),
            deleted=bool(data.get("deleted")),
            # The object example types hidden as "string", the call examples as a boolean.
            hidden=hidden is True or (isinstance(hidden, str) and hidden.lower() == "true"),
            menu_type=_str(data.get("menu_type")),
            output_msg=_str(data.get("output_msg")),
        )


@dataclass(frozen=True)
class MenuPath:
    name: str | None
    items_count: int | None = None
    materialized_path: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> MenuPath | None:
        if not isinstance(data, Mapping):
            return None
        return cls(
            name=_str(data.get("name")),
            items_count=_int(data.get("items_count")),
            materialized_path=_str(data.get("materialized_path")),
        )


@dataclass(frozen=True)
class Participant:
    id: int | None
    type: str | None  # "agent" or "end_user"
    status: str | None
    call_id: int | None = None
    user_id: int | None = None
    end_user_id: int | None = None
    call_duration: int | None = None
    hold_duration: int | None = None
    connected_at: datetime | None = None
    ended_at: datetime | None = None
    fail_reason: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Participant:
        return cls(
            id=_int(data.get("id")),
            type=_str(data.get("type")),
            status=normalize_status(data.get("status")),
            call_id=_int(data.get("call_id")),
            user_id=_int(data.get("user_id")),
            end_user_id=_int(data.get("end_user_id")),
            call_duration=_int(data.get("call_duration")),
            hold_duration=_int(data.get("hold_duration")),
            connected_at=parse_time(data.get("connected_at")),
            ended_at=parse_time(data.get("ended_at")),
            fail_reason=_str(data.get("fail_reason")),
        )


@dataclass(frozen=True)
class Transfer:
    id: int | None
    status: str | None
    fail_reason: str | None = None
    created_at: datetime | None = None
    from_menu: MenuPath | None = None
    to_menu: MenuPath | None = None
    from_agent: AgentInfo | None = None
    to_agent: AgentInfo | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Transfer:
        return cls(
            id=_int(data.get("id")),
            status=normalize_status(data.get("status")),
            fail_reason=_str(data.get("fail_reason")),
            created_at=parse_time(data.get("created_at")),
            # The seed says from_menu/to_menu; the Manager API (tap-ujet) says *_menu_path.
            from_menu=MenuPath.from_json(_pick(data, "from_menu", "from_menu_path")),
            to_menu=MenuPath.from_json(_pick(data, "to_menu", "to_menu_path")),
            from_agent=AgentInfo.from_json(data.get("from_agent")),
            to_agent=AgentInfo.from_json(data.get("to_agent")),
        )


@dataclass(frozen=True)
class OfferEvent:
    casting_time: datetime | None
    group: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OfferEvent:
        return cls(casting_time=parse_time(data.get("casting_time")), group=_str(data.get("group")))


def _objects(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


@dataclass(frozen=True)
class Call:
    id: int
    call_type: str | None
    status: str | None
    lang: str | None = None
    parent_id: int | None = None
    created_at: datetime | None = None
    queued_at: datetime | None = None
    assigned_at: datetime | None = None
    connected_at: datetime | None = None
    ends_at: datetime | None = None
    scheduled_at: datetime | None = None
    wait_duration: int | None = None
    call_duration: int | None = None
    hold_duration: int | None = None
    rating: int | None = None
    has_feedback: bool = False
    voip_provider: str | None = None
    out_ticket_id: str | None = None
    out_ticket_url: str | None = None
    verified: bool = False
    recording_url: str | None = None
    recording_permission: str | None = None
    voicemail_reason: str | None = None
    deflection: str | None = None
    disconnected_by: str | None = None
    fail_reason: str | None = None
    fail_details: str | None = None
    support_number: str | None = None
    outbound_number: str | None = None
    answer_type: str | None = None
    offer_type: str | None = None
    selected_menu: Menu | None = None
    menu_path: MenuPath | None = None
    agent_info: AgentInfo | None = None
    end_user: EndUser | None = None
    participants: tuple[Participant, ...] = ()
    transfers: tuple[Transfer, ...] = ()
    offer_events: tuple[OfferEvent, ...] = ()
    photos: tuple[dict[str, Any], ...] = ()
    videos: tuple[dict[str, Any], ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def failed(self) -> bool:
        return self.status == CallStatus.FAILED

    def participant(self, kind: str) -> Participant | None:
        return next((p for p in self.participants if p.type == kind), None)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Call:
        if not isinstance(data, Mapping) or _int(data.get("id")) is None:
            raise ValueError("a CCAI call object needs an integer id")
        return cls(
            id=_int(data["id"]) or 0,
            call_type=_str(_pick(data, "call_type", "call_tye")),
            status=normalize_status(data.get("status")),
            lang=_str(data.get("lang")),
            parent_id=_int(data.get("parent_id")),
            created_at=parse_time(data.get("created_at")),
            queued_at=parse_time(data.get("queued_at")),
            assigned_at=parse_time(data.get("assigned_at")),
            connected_at=parse_time(data.get("connected_at")),
            ends_at=parse_time(data.get("ends_at")),
            scheduled_at=parse_time(data.get("scheduled_at")),
            wait_duration=_int(data.get("wait_duration")),
            call_duration=_int(data.get("call_duration")),
            hold_duration=_int(data.get("hold_duration")),
            rating=_int(data.get("rating")),
            has_feedback=bool(data.get("has_feedback")),
            voip_provider=_str(data.get("voip_provider")),
            out_ticket_id=_str(data.get("out_ticket_id")),
            out_ticket_url=_str(data.get("out_ticket_url")),
            verified=bool(data.get("verified")),
            recording_url=_str(data.get("recording_url")),
            recording_permission=_str(data.get("recording_permission")),
            voicemail_reason=_str(_pick(data, "voicemail_reason", "voicemail_reaso")),
            deflection=_str(data.get("deflection")),
            disconnected_by=_str(data.get("disconnected_by")),
            fail_reason=_str(data.get("fail_reason")),
            fail_details=_str(data.get("fail_details")),
            support_number=_str(data.get("support_number")),
            outbound_number=_str(data.get("outbound_number")),
            answer_type=_str(data.get("answer_type")),
            offer_type=_str(data.get("offer_type")),
            selected_menu=Menu.from_json(data.get("selected_menu")),
            menu_path=MenuPath.from_json(data.get("menu_path")),
            agent_info=AgentInfo.from_json(data.get("agent_info")),
            end_user=EndUser.from_json(data.get("end_user")),
            participants=tuple(
                Participant.from_json(p) for p in _objects(data.get("participants"))
            ),
            transfers=tuple(Transfer.from_json(t) for t in _objects(data.get("transfers"))),
            offer_events=tuple(OfferEvent.from_json(e) for e in _objects(data.get("offer_events"))),
            photos=tuple(dict(p) for p in _objects(data.get("photos"))),
            videos=tuple(dict(v) for v in _objects(data.get("videos"))),
            raw=dict(data),
        )


class CreateOutcome(StrEnum):
    """What ``POST /apps/api/v1/calls`` did.

    CREATED (201): the call exists and is returned. ACCEPTED (202): "manual intervention
    is required inside of the widget" (the agent must pick an outbound number or dial the
    ticket), no call yet and no body. PROMPTED (200): the call adapter was prompted (several
    outbound numbers); the body echoes the request, no call yet. In both latter cases the
    call appears later (listing, status webhooks) once the agent acts.
    """

    CREATED = "created"
    ACCEPTED = "accepted"
    PROMPTED = "prompted"


@dataclass(frozen=True)
class CreateCallResult:
    outcome: CreateOutcome
    status_code: int
    call: Call | None = None
    echo: dict[str, Any] | None = None  # the 200 answer's body

    @property
    def created(self) -> bool:
        return self.outcome is CreateOutcome.CREATED

    @property
    def needs_agent_action(self) -> bool:
        return self.outcome is not CreateOutcome.CREATED


@dataclass(frozen=True)
class CustomerFlags:
    verified_customer: bool | None
    bad_actor: bool | None
    repeat_customer: bool | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CustomerFlags:
        def flag(*keys: str) -> bool | None:
            value = _pick(data, *keys)
            if isinstance(value, str):  # the docs type them as the string "boolean"
                return {"true": True, "false": False}.get(value.strip().lower())
            return None if value is None else bool(value)

        return cls(
            verified_customer=flag("verified_customer"),
            bad_actor=flag("bad_actor"),
            repeat_customer=flag("repeat_customer", "repeat_customers"),
        )


@dataclass(frozen=True)
class CallPage:
    """One page of ``GET /manager/api/v1/calls``; totals come from the response headers."""

    calls: tuple[Call, ...]
    page: int
    per_page: int | None
    total: int | None
    next_page: int | None  # from ``link: <...page=N...>; rel="next"``; None on the last page
    next_url: str | None = None

    @property
    def has_next(self) -> bool:
        return self.next_page is not None
