"""The CallGear sandbox world: seeded account data and the records of call sessions.

The behaviour (state rules, timing, notifications) lives in flows.py.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RpcFault", "SessionRecord", "WorldLeg", "iso", "seed_world"]

EMPLOYEE_RING = 4.0  # seconds an employee's phone rings before they pick up
DEFAULT_DIALING_TIMEOUT = 30.0
INCOMING_MISS_RATE = 0.15  # share of incoming calls nobody answers (lost calls)

# list.calls ``state`` values, from the docs' English list.
LEG_STATE_TEXT = {
    "ringing": "Redial",
    "waiting": "Next in line",
    "talk": "Conversation",
    "hold": "On hold",
    "operators_talk": "Operators' conversation",
    "transferring": "Transferring call",
    "disconnected": "Disconnect",
}


class RpcFault(Exception):
    """A documented error a handler answers with (mnemonic, field, value, params, code)."""

    def __init__(
        self,
        mnemonic: str,
        *,
        field: str | None = None,
        value: Any = None,
        params: dict[str, Any] | None = None,
        code: int | None = None,
        message: str | None = None,
    ) -> None:
        super().__init__(mnemonic)
        self.mnemonic = mnemonic
        self.field = field
        self.value = value
        self.params = params or {}
        self.code = code
        self.message = message


def seed_world(seed: int) -> dict[str, Any]:
    """The account the sandbox serves. Fixed data; only secrets depend on the seed."""
    rng = random.Random(f"{seed}:callgear:world")
    return {
        "login": "callboard",
        "password": "sandbox-password",
        "access_key": "cgk" + "".join(rng.choice("0123456789abcdef") for _ in range(61)),
        "blocked_access_key": "cgk-blocked-"
        + "".join(rng.choice("0123456789abcdef") for _ in range(20)),
        "virtual_numbers": {
            "74993720692": 23456,
            "74951045771": 23457,
            "74957775500": None,  # a number without a scenario
        },
        "scenarios": {
            23456: {"name": "Sales line", "employee_ids": [25, 29]},
            23457: {"name": "Support line", "employee_ids": [26, 27]},
        },
        "employees": {
            25: {
                "full_name": "Anna Petrova",
                "phone_numbers": ["79260000001"],
                "extension": "101",
                "inactive_numbers": [],
                "record_all": False,
                "coach_id": 27,
            },
            26: {
                "full_name": "Boris Ivanov",
                "phone_numbers": ["79262444393"],
                "extension": "102",
                "inactive_numbers": [],
                "record_all": True,
                "coach_id": 27,
            },
            27: {
                "full_name": "Clara Smirnova",
                "phone_numbers": ["79262444491", "79262444492"],
                "extension": "103",
                "inactive_numbers": [],
                "record_all": False,
                "coach_id": None,
            },
            28: {
                "full_name": "Dmitry Orlov",
                "phone_numbers": [],
                "extension": "104",
                "inactive_numbers": ["79265550128"],
                "record_all": False,
                "coach_id": 27,
            },
            29: {
                "full_name": "Elena Volkova",
                "phone_numbers": ["79265550129"],
                "extension": "105",
                "inactive_numbers": ["79265550139"],
                "record_all": False,
                "coach_id": 27,
            },
            30: {
                "full_name": "Fyodor Kuznetsov",
                "phone_numbers": [],
                "extension": "106",
                "inactive_numbers": ["79265550130"],
                "record_all": False,
                "coach_id": None,
            },
        },
        "tags": {36: "Hot lead", 254: "Relevant", 456: "Callback requested", 457: "Wrong number"},
        "media_files": {
            237: "greeting.mp3",
            2034: "hold_music.mp3",
            2561: "employee_intro.mp3",
            2701: "dialing_music.mp3",
        },
        "talk_options": [
            {
                "button": "1",
                "mnemonic": "tag_call",
                "name": "Tag",
                "button_value": {"id": 254, "value": "Relevant"},
            },
            {
                "button": "2",
                "mnemonic": "record_talk",
                "name": "Voice recorder",
                "button_value": None,
            },
            {"button": "3", "mnemonic": "call_coach", "name": "Call coach", "button_value": None},
            {
                "button": "9",
                "mnemonic": "finish_conversation",
                "name": "Finish conversation",
                "button_value": None,
            },
        ],
        "blacklist": ["79169999999"],
        "tts_max_length": 250,
    }


@dataclass
class WorldLeg:
    leg_id: int
    role: str  # contact, employee, operator, third, coach
    calling: str
    called: str
    employee_id: int | None = None
    employee_full_name: str | None = None
    state: str = "ringing"
    answered_at: float | None = None

    @property
    def active(self) -> bool:
        return self.state != "disconnected"


@dataclass
class SessionRecord:
    call_session_id: int
    method: str
    direction: str
    contact: str
    virtual_phone_number: str | None
    external_id: str | None
    created_at: float
    state: str = "ringing"
    legs: list[WorldLeg] = field(default_factory=list)
    tags: list[int] = field(default_factory=list)
    recording: bool = False
    record_all: bool = False
    scenario_name: str | None = None
    employee_id: int | None = None  # the employee currently in charge
    employee_full_name: str | None = None
    seq: int = 0
    first_answer_at: float | None = None
    talk_since: float | None = None
    talk_total: float = 0.0
    ended_at: float | None = None
    finish_reason: str | None = None
    third_leg_id: int | None = None
    dtmf: list[str] = field(default_factory=list)
    timers: dict[str, Any] = field(default_factory=dict)

    def leg(self, leg_id: int) -> WorldLeg | None:
        return next((leg for leg in self.legs if leg.leg_id == leg_id), None)

    def role(self, role: str) -> WorldLeg | None:
        """The active leg of a role (the latest one)."""
        return next((leg for leg in reversed(self.legs) if leg.role == role and leg.active), None)

    @property
    def active(self) -> bool:
        return self.state != "ended"


def iso(ts: float, *, millis: bool = False) -> str:
    moment = dt.datetime.fromtimestamp(ts, dt.UTC)
    if millis:  # list.calls start_time, as the docs' example: no zone, milliseconds
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
