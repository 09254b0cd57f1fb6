"""Typed shapes of CallGear Call API answers: call sessions, legs, talk options, limits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "LEG_STATES",
    "ApiVersion",
    "AuthSession",
    "CallSession",
    "Leg",
    "Limits",
    "Message",
    "Tag",
    "TalkOption",
    "leg_state",
    "parse_start_time",
    "parse_success",
]


# list.calls leg ``state``: English on CallGear (the docs' list, plus "Talk" from the docs'
# own example), Russian on the CoMagic/UIS docs of the same API. Mapped to one short code.
LEG_STATES: dict[str, str] = {
    "redial": "ringing",
    "дозвон": "ringing",
    "conversation": "talk",
    "talk": "talk",
    "разговор": "talk",
    "next in line": "queued",
    "в очереди": "queued",
    "disconnect": "disconnected",
    "разъединение": "disconnected",
    "operators' conversation": "operators_talk",
    "operators conversation": "operators_talk",
    "разговор операторов": "operators_talk",
    "on hold": "hold",
    "на удержании": "hold",
    "удержание": "hold",
    "transferring call": "transferring",
    "перевод звонка": "transferring",
    "sending dtmf": "sending_dtmf",
    "отправка dtmf": "sending_dtmf",
    "receiving fax": "receiving_fax",
    "прием факса": "receiving_fax",
    "приём факса": "receiving_fax",
    "fax received": "fax_received",
    "факс принят": "fax_received",
    "sending fax": "sending_fax",
    "отправка факса": "sending_fax",
    "fax sent": "fax_sent",
    "факс отправлен": "fax_sent",
}


def leg_state(raw: str | None) -> str:
    """Our code for a leg state in either language; ``unknown`` for anything new."""
    if not raw:
        return "unknown"
    return LEG_STATES.get(raw.strip().lower().replace("’", "'"), "unknown")


def parse_success(value: Any) -> bool:
    """Control methods answer ``"true"`` (a string), logout.user a boolean ``true``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def parse_start_time(raw: str | None) -> dt.datetime | None:
    """``2016-10-19T12:26:48.418`` (the example, no zone), ``YYYY-MM-DD hh:mm:ss`` (the
    table) or ISO 8601 with ``Z``. A value without zone is taken as UTC: the Agreements
    section says times travel as UTC (``...Z``)."""
    if not raw:
        return None
    text = raw.strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Message:
    """A message played to a participant: a media file id or a TTS text."""

    type: str  # "media" | "tts"
    value: str

    @classmethod
    def media(cls, media_file_id: int | str) -> Message:
        return cls("media", str(media_file_id))

    @classmethod
    def tts(cls, text: str) -> Message:
        return cls("tts", text)

    def as_param(self) -> dict[str, str]:
        return {"type": self.type, "value": self.value}


@dataclass(frozen=True)
class Limits:
    """``metadata.limits`` of the latest answer, in points."""

    day_limit: int | None = None
    day_remaining: int | None = None
    day_reset: float | None = None
    minute_limit: int | None = None
    minute_remaining: int | None = None
    minute_reset: float | None = None
    received_at: float | None = None  # our clock when the answer arrived

    @classmethod
    def from_metadata(
        cls, limits: Mapping[str, Any], *, received_at: float | None = None
    ) -> Limits:
        def num(key: str) -> Any:
            value = limits.get(key)
            return value if isinstance(value, int | float) and not isinstance(value, bool) else None

        return cls(
            day_limit=num("day_limit"),
            day_remaining=num("day_remaining"),
            day_reset=num("day_reset"),
            minute_limit=num("minute_limit"),
            minute_remaining=num("minute_remaining"),
            minute_reset=num("minute_reset"),
            received_at=received_at,
        )

    def reset_wait(self, limit_type: str | None = None) -> float | None:
        """Seconds until the exhausted limit resets (the minute one unless told or seen)."""
        day_out = self.day_remaining is not None and self.day_remaining <= 0
        if limit_type == "day" or (limit_type is None and day_out):
            return self.day_reset
        return self.minute_reset if self.minute_reset is not None else self.day_reset


@dataclass(frozen=True)
class ApiVersion:
    """``metadata.api_version``: only sent for a deprecated version (docs' spelling)."""

    deprecated: bool
    current_version: str | None
    latest_version: str | None

    @classmethod
    def from_metadata(cls, data: Mapping[str, Any]) -> ApiVersion:
        flag = data.get("current_version_depricated", data.get("current_version_deprecated"))
        return cls(
            deprecated=parse_success(flag) if flag is not None else False,
            current_version=data.get("current_version"),
            latest_version=data.get("latest_version"),
        )


@dataclass(frozen=True)
class AuthSession:
    access_token: str
    expire_at: float


@dataclass(frozen=True)
class Tag:
    tag_id: int
    tag_name: str


@dataclass(frozen=True)
class Leg:
    leg_id: int
    calling_phone_number: str | None
    called_phone_number: str | None
    is_operator: bool
    employee_id: int | None
    employee_full_name: str | None
    record_call_enabled: bool
    state_raw: str | None
    state: str  # our code: ringing, talk, hold, operators_talk, transferring...

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Leg:
        raw = data.get("state")
        return cls(
            leg_id=int(data["leg_id"]),
            calling_phone_number=data.get("calling_phone_number"),
            called_phone_number=data.get("called_phone_number"),
            is_operator=bool(data.get("is_operator")),
            employee_id=data.get("employee_id"),
            employee_full_name=data.get("employee_full_name"),
            record_call_enabled=bool(data.get("record_call_enabled")),
            state_raw=raw,
            state=leg_state(raw),
        )


@dataclass(frozen=True)
class CallSession:
    call_session_id: int
    direction: str | None
    start_time: dt.datetime | None
    start_time_raw: str | None
    virtual_phone_number: str | None
    contact_phone_number: str | None
    external_id: str | None
    tags: list[Tag] = field(default_factory=list)
    legs: list[Leg] = field(default_factory=list)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> CallSession:
        return cls(
            call_session_id=int(data["call_session_id"]),
            direction=data.get("direction"),
            start_time=parse_start_time(data.get("start_time")),
            start_time_raw=data.get("start_time"),
            virtual_phone_number=data.get("virtual_phone_number"),
            contact_phone_number=data.get("contact_phone_number"),
            external_id=data.get("external_id"),
            tags=[
                Tag(int(t["tag_id"]), str(t.get("tag_name") or "")) for t in data.get("tags") or []
            ],
            legs=[Leg.from_api(leg) for leg in data.get("legs") or []],
        )

    def leg(self, leg_id: int) -> Leg | None:
        return next((leg for leg in self.legs if leg.leg_id == leg_id), None)


@dataclass(frozen=True)
class TalkOption:
    button: str
    mnemonic: str
    name: str
    button_value_id: int | None = None
    button_value: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> TalkOption:
        value = data.get("button_value") or {}
        return cls(
            button=str(data.get("button")),
            mnemonic=str(data.get("mnemonic")),
            name=str(data.get("name")),
            button_value_id=value.get("id"),
            button_value=value.get("value"),
        )
