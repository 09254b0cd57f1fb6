"""The CCAI sandbox's world: the account (agents, menus, numbers, languages, CRM tickets)
and the calls, rendered exactly as the API's call object.

Seeded so the seed's examples replay: admin@somedomain.com can place the 201 outbound call,
agent@somedomain.com is not available, allen@somedomain.com may not make calls, tickets
71450 and 76517 belong to the contacts (end users 67 and 75) of the examples, menu 9 is
"Lock Star". The examples contradict each other on a few of these (the same agent is
"not a valid agent email" in one example and places a call in another): where they do, the
world follows the success examples and another name or id triggers the error.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from .models import format_time

__all__ = [
    "Agent",
    "CallRecord",
    "EndUserRecord",
    "MenuDef",
    "ParticipantRecord",
    "Ticket",
    "World",
]


@dataclass
class Agent:
    id: int
    email: str
    first_name: str
    last_name: str
    on_duty: bool = True  # the agent's widget status is "Available"
    can_call: bool = True  # has the outbound-call permission
    # How an outbound call without outbound_number goes: "default" number (201),
    # "widget" choice by the agent (202), the CRM call "adapter" prompts (200).
    outbound_choice: str = "default"
    takes_queue: bool = False  # receives incoming and scheduled calls from the menus
    busy_call: int | None = None

    @property
    def available(self) -> bool:
        return self.on_duty and self.busy_call is None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "agent_number": None,
            "name": self.name,
            "last_name": self.last_name,
            "first_name": self.first_name,
            "avatar_url": "https://somedomain.com/avatar.jpg",
        }


@dataclass
class MenuDef:
    id: int
    name: str
    menu_type: str  # ivr_menu, mobile_menu, web_menu, email_menu
    state: str = "open"  # open, after_hours, manual_redirection
    ask_recording_permission: bool = False
    position: int = 0

    def selected(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "parent_id": None,
            "position": self.position,
            "deleted": False,
            "menu_type": self.menu_type,
            "output_msg": f"You selected {self.name}.",
            "hidden": False,
        }

    def path(self) -> dict[str, Any]:
        return {"items_count": 1, "name": self.name, "materialized_path": str(self.id)}


@dataclass
class Ticket:
    id: str
    phone: str
    end_user_id: int
    out_contact_id: str


@dataclass
class EndUserRecord:
    id: int
    phone: str
    out_contact_id: str | None = None

    def render(self) -> dict[str, Any]:
        return {"id": self.id, "identifier": None, "out_contact_id": self.out_contact_id}


@dataclass
class ParticipantRecord:
    id: int
    type: str  # agent, end_user
    call_id: int
    user_id: int | None = None
    end_user_id: int | None = None
    status: str = "waiting"
    connected_at: float | None = None
    ended_at: float | None = None
    fail_reason: str = "nothing"

    def render(self) -> dict[str, Any]:
        duration = None
        if self.connected_at is not None and self.ended_at is not None:
            duration = round(self.ended_at - self.connected_at)
        return {
            "id": self.id,
            "type": self.type,
            "status": self.status,
            "call_id": self.call_id,
            "user_id": self.user_id,
            "end_user_id": self.end_user_id,
            "call_duration": duration,
            "hold_duration": 0 if duration is not None else None,
            "connected_at": format_time(self.connected_at),
            "ended_at": format_time(self.ended_at),
            "fail_reason": self.fail_reason,
        }


@dataclass
class CallRecord:
    id: int
    call_type: str
    status: str
    lang: str
    created_at: float
    end_user_number: str
    updated_at: float = 0.0
    parent_id: int | None = None
    menu: MenuDef | None = None
    agent: Agent | None = None
    end_user: EndUserRecord | None = None
    ticket_id: str | None = None
    outbound_number: str | None = None
    recording_permission: str = "not_asked"
    queued_at: float | None = None
    assigned_at: float | None = None
    connected_at: float | None = None
    ends_at: float | None = None
    scheduled_at: float | None = None
    fail_reason: str = "nothing"
    disconnected_by: str = "disconnected_by_unknown"
    participants: list[ParticipantRecord] = field(default_factory=list)
    flags: dict[str, bool] = field(default_factory=dict)
    sequence: int = 0  # of status-change notifications
    history: list[tuple[float, str]] = field(default_factory=list)

    def participant(self, kind: str) -> ParticipantRecord | None:
        return next((p for p in self.participants if p.type == kind), None)

    def render(self, *, manager: bool = False) -> dict[str, Any]:
        """The call object, key for key as the seed's examples plus ``parent_id`` (in the
        seed's object definition); the Manager API adds ``updated_at`` (tap-ujet's schema)."""
        wait = 0
        if self.queued_at is not None and self.assigned_at is not None:
            wait = max(0, round(self.assigned_at - self.queued_at))
        duration = 0
        if self.connected_at is not None and self.ends_at is not None:
            duration = round(self.ends_at - self.connected_at)
        queued = self.queued_at is not None and self.menu is not None
        data: dict[str, Any] = {
            "id": self.id,
            "parent_id": self.parent_id,
            "lang": self.lang,
            "call_type": self.call_type,
            "status": str(self.status),
            "created_at": format_time(self.created_at),
            "queued_at": format_time(self.queued_at),
            "assigned_at": format_time(self.assigned_at),
            "connected_at": format_time(self.connected_at),
            "ends_at": format_time(self.ends_at),
            "scheduled_at": format_time(self.scheduled_at),
            "wait_duration": wait,
            "call_duration": duration,
            "hold_duration": 0,
            "rating": None,
            "has_feedback": False,
            "voip_provider": "voip_provider_twilio",
            "out_ticket_id": self.ticket_id,
            "out_ticket_url": None,
            "verified": bool(self.flags.get("verified_customer")),
            "recording_url": None,
            "recording_permission": self.recording_permission,
            "voicemail_reason": "not_voicemail",
            "deflection": "no_deflection",
            "disconnected_by": self.disconnected_by,
            "fail_reason": self.fail_reason,
            "fail_details": None,
            "support_number": None,
            "selected_menu": self.menu.selected() if self.menu else None,
            "menu_path": self.menu.path() if self.menu else None,
            "agent_info": self.agent.info() if self.agent else None,
            "end_user": self.end_user.render() if self.end_user else None,
            "photos": [],
            "videos": [],
            "transfers": [],
            "deflection_details": [],
            "participants": [p.render() for p in self.participants],
            "offer_type": "cascade" if self.menu is not None else None,
            "offer_events": [{"casting_time": format_time(self.queued_at), "group": "Group 1"}]
            if queued
            else [],
            "answer_type": "manual",
            "outbound_number": self.outbound_number,
        }
        if manager:
            data["updated_at"] = format_time(self.updated_at or self.created_at)
        return data

    def ledger_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "call_type": self.call_type,
            "status": str(self.status),
            "end_user_number": self.end_user_number,
            "agent_email": self.agent.email if self.agent else None,
            "created_at": format_time(self.created_at),
            "menu_id": self.menu.id if self.menu else None,
            "scheduled_at": format_time(self.scheduled_at),
            "fail_reason": self.fail_reason,
            "history": [[format_time(t), s] for t, s in self.history],
        }


class World:
    """Everything one sandbox account holds, built from the seed."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"{seed}:ccai:credentials")
        self.company_key = "ck_" + "".join(rng.choice("0123456789abcdef") for _ in range(24))
        self.company_secret = "cs_" + "".join(rng.choice("0123456789abcdef") for _ in range(32))
        self.subdomain = "callboard"
        self.api_token = "tok_" + "".join(rng.choice("0123456789abcdef") for _ in range(32))
        self.agents: dict[str, Agent] = {
            a.email: a
            for a in [
                Agent(1, "admin@somedomain.com", "Admin", "UJET"),
                Agent(2, "agent@somedomain.com", "Agent", "Smith", on_duty=False),
                Agent(
                    3,
                    "allen@somedomain.com",
                    "Allen",
                    "Park",
                    can_call=False,
                    takes_queue=True,
                    on_duty=False,
                ),
                Agent(4, "widget@somedomain.com", "Wendy", "Ito", outbound_choice="widget"),
                Agent(5, "adapter@somedomain.com", "Adam", "Ruiz", outbound_choice="adapter"),
                Agent(6, "maria@somedomain.com", "Maria", "Lopez", takes_queue=True),
                Agent(7, "li@somedomain.com", "Li", "Chen", takes_queue=True),
                Agent(8, "sam@somedomain.com", "Sam", "Okafor", takes_queue=True),
                Agent(9, "nora@somedomain.com", "Nora", "Berg"),
                Agent(10, "omar@somedomain.com", "Omar", "Haddad"),
            ]
        }
        # Incoming calls accept IVR and mobile menus, scheduled calls mobile and web ones
        # (the error texts; the incoming table says "IVR and Web", its error "IVR and
        # mobile": we follow the error). Menu 50 is of a channel neither accepts, so both
        # "Only ..." examples replay with the seed's id.
        self.menus: dict[int, MenuDef] = {
            m.id: m
            for m in [
                MenuDef(9, "Lock Star", "ivr_menu"),
                MenuDef(10, "Lock Star App", "mobile_menu", position=1),
                MenuDef(11, "Lock Star Web", "web_menu", ask_recording_permission=True, position=2),
                MenuDef(12, "Billing", "ivr_menu", state="manual_redirection", position=3),
                MenuDef(13, "Night Desk", "ivr_menu", state="after_hours", position=4),
                MenuDef(14, "Night Desk App", "mobile_menu", state="after_hours", position=5),
                MenuDef(15, "Billing Web", "web_menu", state="manual_redirection", position=6),
                MenuDef(50, "Email Desk", "email_menu", position=7),
            ]
        }
        self.outbound_numbers = ["+1 339-219-5276", "+1 760-867-5309", "+1 760-410-8538"]
        self.default_outbound_number = self.outbound_numbers[0]
        self.languages = ["en", "es", "de", "ko"]
        self.tickets: dict[str, Ticket] = {
            t.id: t
            for t in [
                Ticket("71450", "+1 859-657-9625", 67, "381630957514"),
                Ticket("76517", "+82-10-6861-2345", 75, "389391400633"),
                Ticket("123123", "+1 205-123-4567", 68, "381630957600"),
            ]
        }
        self.end_users: dict[str, EndUserRecord] = {}
        for ticket in self.tickets.values():
            self.end_users[_digits(ticket.phone)] = EndUserRecord(
                ticket.end_user_id, ticket.phone, ticket.out_contact_id
            )
        self.calls: dict[int, CallRecord] = {}
        self.pending_actions: list[dict[str, Any]] = []  # 202/200 answers awaiting the agent
        self._next_call = 1001
        self._next_participant = 5001
        self._next_end_user = 201

    def new_call_id(self) -> int:
        self._next_call += 1
        return self._next_call - 1

    def new_participant_id(self) -> int:
        self._next_participant += 1
        return self._next_participant - 1

    def end_user_for(self, phone: str) -> EndUserRecord:
        key = _digits(phone)
        if key not in self.end_users:
            self.end_users[key] = EndUserRecord(
                self._next_end_user, phone, str(389391500000 + self._next_end_user)
            )
            self._next_end_user += 1
        return self.end_users[key]

    def known_end_user(self, phone: str) -> EndUserRecord | None:
        return self.end_users.get(_digits(phone))

    def had_calls(self, phone: str) -> bool:
        key = _digits(phone)
        return any(_digits(c.end_user_number) == key for c in self.calls.values())

    def queue_agent(self) -> Agent | None:
        """The longest-idle agent taking queue calls: the lowest id is good enough."""
        return next((a for a in self.agents.values() if a.takes_queue and a.available), None)


def _digits(phone: str) -> str:
    return "".join(ch for ch in str(phone) if ch.isdigit())
