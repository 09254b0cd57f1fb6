"""Call session behaviour of the CallGear sandbox: ringing, talk, hold, consultation,
transfer, recording, tags and the end of a call, all on scheduled events.

Session states (ours; the docs' diagram is an image we do not have, its rules are in the
method texts): ``ringing`` (first leg dials), ``connecting`` (first leg answered, second
dials), ``talk``, ``hold`` (hold.call only in talk), ``dialing`` (make.call only after
hold: the third party rings, contact on hold), ``operator_talk`` (employee talks to the
third party), ``transferring`` (transfer.talk while still dialing: the contact waits for
the third party), ``informing`` (an informer message plays), ``ended``.
transfer.talk and restore.talk are allowed in ``dialing`` and ``operator_talk`` only, as
the docs say ("after the make.call method in condition dialing or operator_talk").
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from .notifications import TEMPLATES, render
from .world import (
    DEFAULT_DIALING_TIMEOUT,
    EMPLOYEE_RING,
    INCOMING_MISS_RATE,
    LEG_STATE_TEXT,
    SessionRecord,
    WorldLeg,
    iso,
)

if TYPE_CHECKING:
    from collections import deque

    from dashboard.sandbox.notify import Notifier
    from dashboard.sandbox.sim import Simulation, SubscriberProfile

__all__ = ["CallFlows"]


class CallFlows:
    """Call session behaviour, mixed into the twin (which provides sim, notifier, world)."""

    sim: Simulation
    world: dict[str, Any]
    sessions: dict[int, SessionRecord]
    _ids: dict[str, int]

    if TYPE_CHECKING:  # provided by ProviderTwin and the twin's reset()
        notifier: Notifier
        notification_log: deque[dict[str, Any]]
        _attempts: dict[str, int]

        def subscriber(self, phone: str) -> SubscriberProfile: ...

    # --- ids, lookups ----------------------------------------------------------------

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def employee(self, employee_id: int | None) -> dict[str, Any] | None:
        if employee_id is None:
            return None
        data = self.world["employees"].get(employee_id)
        return None if data is None else {"id": employee_id, **data}

    def employee_by_number(self, number: str) -> tuple[dict[str, Any] | None, bool]:
        """(employee, active) for a phone number or extension of an employee."""
        for eid, data in self.world["employees"].items():
            if number in data["phone_numbers"]:
                return {"id": eid, **data}, True
            if number in data["inactive_numbers"]:
                return {"id": eid, **data}, False
            if number == data["extension"]:
                return {"id": eid, **data}, bool(data["phone_numbers"])
        return None, False

    def will_answer(self, phone: str) -> bool:
        """Whether the next call to ``phone`` is picked up (deterministic per attempt)."""
        profile = self.subscriber(phone)
        if profile.kind != "answers":
            return False
        attempt = self._attempts.get(phone, 0)
        roll = random.Random(f"{self.sim.seed}:callgear:answer:{phone}:{attempt}").random()
        return roll < profile.answer_probability

    def find_contact(
        self,
        *,
        answers: bool = True,
        min_talk: float = 0.0,
        max_ring: float = 60.0,
        kind: str | None = None,
        start: int = 0,
    ) -> str:
        """A subscriber number that behaves as asked (tests and the demo traffic use it)."""
        for n in range(start, start + 100_000):
            phone = f"7916{n:07d}"
            if phone in self.world["blacklist"]:
                continue
            profile = self.subscriber(phone)
            if kind is not None and profile.kind != kind:
                continue
            if answers and not (
                self.will_answer(phone)
                and profile.talk_seconds >= min_talk
                and profile.ring_seconds <= max_ring
            ):
                continue
            if not answers and kind is None and self.will_answer(phone):
                continue
            return phone
        raise LookupError("no such subscriber in the first 100000 numbers")

    # --- notifications -------------------------------------------------------------

    def _values(self, s: SessionRecord, **extra: Any) -> dict[str, Any]:
        s.seq += 1
        values: dict[str, Any] = {
            "notification_time": iso(self.sim.now),
            "call_session_id": s.call_session_id,
            "session_event_seq": s.seq,
            "virtual_phone_number": s.virtual_phone_number,
            "contact_phone_number": s.contact,
            "direction": s.direction,
            "external_id": s.external_id,
            "employee_id": s.employee_id,
            "employee_full_name": s.employee_full_name,
            "scenario_name": s.scenario_name,
        }
        values.update(extra)
        return values

    def notify(self, event: str, s: SessionRecord, **extra: Any) -> None:
        template = TEMPLATES[event]
        values = self._values(s, notification_mnemonic=event, **extra)
        body = render(template.body, values)
        self.notifier.emit(
            "callgear", event, body=body, content_type=template.content_type, method=template.method
        )
        self.notification_log.append(
            {"event": event, "call_session_id": s.call_session_id, "body": body}
        )

    # --- building sessions --------------------------------------------------------------

    def new_session(
        self,
        *,
        method: str,
        direction: str,
        contact: str,
        virtual_phone_number: str | None,
        external_id: str | None = None,
        scenario_name: str | None = None,
        employee: dict[str, Any] | None = None,
    ) -> SessionRecord:
        s = SessionRecord(
            call_session_id=self._next("session"),
            method=method,
            direction=direction,
            contact=contact,
            virtual_phone_number=virtual_phone_number,
            external_id=external_id,
            created_at=self.sim.now,
            scenario_name=scenario_name,
        )
        if employee is not None:
            s.employee_id = employee["id"]
            s.employee_full_name = employee["full_name"]
            s.record_all = bool(employee.get("record_all"))
            s.recording = s.record_all
        self.sessions[s.call_session_id] = s
        return s

    def add_leg(
        self,
        s: SessionRecord,
        role: str,
        *,
        calling: str,
        called: str,
        employee: dict[str, Any] | None = None,
        state: str = "ringing",
    ) -> WorldLeg:
        leg = WorldLeg(
            leg_id=self._next("leg"),
            role=role,
            calling=calling,
            called=called,
            employee_id=employee["id"] if employee else None,
            employee_full_name=employee["full_name"] if employee else None,
            state=state,
        )
        s.legs.append(leg)
        return leg

    def dial(
        self,
        s: SessionRecord,
        leg: WorldLeg,
        *,
        subscriber: bool,
        timeout: float,
        on_answer: Any,
        on_fail: Any,
    ) -> None:
        """Ring ``leg``; employees pick up after EMPLOYEE_RING, subscribers per profile."""
        self.notify(
            "waiting_for_answer",
            s,
            leg_id=leg.leg_id,
            called_phone_number=leg.called,
            employee_id=leg.employee_id,
            employee_full_name=leg.employee_full_name,
        )
        if not subscriber:
            s.timers[f"leg{leg.leg_id}"] = self.sim.after(
                EMPLOYEE_RING, self._answered, s, leg, on_answer
            )
            return
        profile = self.subscriber(leg.called)
        answers = self.will_answer(leg.called)
        self._attempts[leg.called] = self._attempts.get(leg.called, 0) + 1
        if answers and profile.ring_seconds <= timeout:
            event = self.sim.after(profile.ring_seconds, self._answered, s, leg, on_answer)
        elif profile.kind == "busy":
            event = self.sim.after(2.0, self._failed, s, leg, on_fail, "busy")
        elif profile.kind == "nonexistent":
            event = self.sim.after(1.0, self._failed, s, leg, on_fail, "nonexistent")
        else:
            event = self.sim.after(timeout, self._failed, s, leg, on_fail, "no_answer")
        s.timers[f"leg{leg.leg_id}"] = event

    def _answered(self, s: SessionRecord, leg: WorldLeg, then: Any) -> None:
        if not s.active or not leg.active:
            return
        leg.answered_at = self.sim.now
        if s.first_answer_at is None:
            s.first_answer_at = self.sim.now
        then(s, leg)

    def _failed(self, s: SessionRecord, leg: WorldLeg, then: Any, reason: str) -> None:
        if not s.active or not leg.active:
            return
        then(s, leg, reason)

    def _cancel(self, s: SessionRecord, key: str) -> None:
        self.sim.cancel(s.timers.pop(key, None))

    # --- talk and end --------------------------------------------------------------------

    def start_talk(self, s: SessionRecord, legs: list[WorldLeg]) -> None:
        for leg in legs:
            leg.state = "talk"
        s.state = "talk"
        s.talk_since = self.sim.now
        self.notify("talk_started", s, leg_ids=[leg.leg_id for leg in legs])
        if "hangup" not in s.timers:
            # The subscriber's patience for the whole call, whatever the operators do.
            talk = self.subscriber(s.contact).talk_seconds
            s.timers["hangup"] = self.sim.after(talk, self.end_session, s, "contact_hung_up")

    def _close_talk(self, s: SessionRecord) -> None:
        if s.talk_since is None:
            return
        s.talk_total += self.sim.now - s.talk_since
        s.talk_since = None

    def end_session(self, s: SessionRecord, reason: str) -> None:
        if not s.active:
            return
        for key in list(s.timers):
            self._cancel(s, key)
        if s.talk_since is not None:
            duration = self.sim.now - s.talk_since
            self._close_talk(s)
            talking = [leg.leg_id for leg in s.legs if leg.active and leg.state != "ringing"]
            self.notify("talk_ended", s, leg_ids=talking, talk_time_duration=round(duration))
        for leg in s.legs:
            leg.state = "disconnected"
        s.state = "ended"
        s.ended_at = self.sim.now
        s.finish_reason = reason
        wait = (s.first_answer_at or s.ended_at) - s.created_at
        if s.first_answer_at is None and s.method == "incoming":
            self.notify("lost_call", s, wait_time_duration=round(wait))
        self.notify(
            "call_ended",
            s,
            talk_time_duration=round(s.talk_total),
            total_time_duration=round(s.ended_at - s.created_at),
            wait_time_duration=round(wait),
            tag_names=[self.world["tags"][t] for t in s.tags],
            finish_reason=reason,
        )
        if s.recording and s.talk_total > 0:
            s.timers["recording"] = self.sim.after(5.0, self._recording_ready, s)

    def _recording_ready(self, s: SessionRecord) -> None:
        self.notify(
            "recording_ready",
            s,
            file_link=f"https://app.callgear.com/system/media/talk/{s.call_session_id}/",
            file_duration=round(s.talk_total),
        )

    # --- the starts -----------------------------------------------------------------

    def begin_two_party(
        self,
        s: SessionRecord,
        *,
        first_call: str,
        staff_role: str,
        staff: dict[str, Any] | None,
        staff_number: str,
        timeout: float = DEFAULT_DIALING_TIMEOUT,
    ) -> None:
        """Employee/operator and contact calls: dial the first side, then the other, then talk."""
        vnum = s.virtual_phone_number or ""
        contact_first = first_call == "contact"
        self.notify("outgoing_call", s)

        def dial_contact(_s: SessionRecord, staff_leg: WorldLeg | None) -> None:
            leg = self.add_leg(s, "contact", calling=vnum, called=s.contact)
            if staff_leg is not None:
                staff_leg.state = "waiting"
                s.state = "connecting"
            self.dial(
                s,
                leg,
                subscriber=True,
                timeout=timeout,
                on_answer=contact_answered,
                on_fail=lambda _s, _l, why: self.end_session(s, f"contact_{why}"),
            )

        def contact_answered(_s: SessionRecord, leg: WorldLeg) -> None:
            if contact_first:
                leg.state = "waiting"
                s.state = "connecting"
                dial_staff(s, leg)
            else:
                self.start_talk(s, [s.role(staff_role), leg])

        def dial_staff(_s: SessionRecord, contact_leg: WorldLeg | None) -> None:
            leg = self.add_leg(
                s,
                staff_role,
                calling=vnum if staff_role == "operator" else s.contact,
                called=staff_number,
                employee=staff,
            )
            self.dial(
                s,
                leg,
                subscriber=False,
                timeout=timeout,
                on_answer=staff_answered,
                on_fail=lambda _s, _l, why: self.end_session(s, f"{staff_role}_{why}"),
            )

        def staff_answered(_s: SessionRecord, leg: WorldLeg) -> None:
            if contact_first:
                self.start_talk(s, [s.role("contact"), leg])
            else:
                dial_contact(s, leg)

        if contact_first:
            dial_contact(s, None)
        else:
            dial_staff(s, None)

    def begin_informer(self, s: SessionRecord, *, message: dict[str, str], timeout: float) -> None:
        self.notify("outgoing_call", s)
        leg = self.add_leg(s, "contact", calling=s.virtual_phone_number or "", called=s.contact)
        seconds = 12.0 if message["type"] == "media" else max(3.0, len(message["value"]) / 12)

        def answered(_s: SessionRecord, leg: WorldLeg) -> None:
            leg.state = "talk"
            s.state = "informing"
            s.talk_since = self.sim.now
            self.notify("talk_started", s, leg_ids=[leg.leg_id])
            s.timers["informer"] = self.sim.after(seconds, self.end_session, s, "informer_finished")

        self.dial(
            s,
            leg,
            subscriber=True,
            timeout=timeout,
            on_answer=answered,
            on_fail=lambda _s, _l, why: self.end_session(s, f"contact_{why}"),
        )

    def begin_incoming(self, s: SessionRecord, staff: dict[str, Any]) -> None:
        """A subscriber calls a virtual number; the PBX rings an employee."""
        contact_leg = self.add_leg(
            s, "contact", calling=s.contact, called=s.virtual_phone_number or "", state="waiting"
        )
        contact_leg.answered_at = self.sim.now
        s.state = "connecting"
        self.notify("incoming_call", s)
        number = (staff["phone_numbers"] or [staff["extension"]])[0]
        leg = self.add_leg(s, "employee", calling=s.contact, called=number, employee=staff)
        self.notify(
            "waiting_for_answer",
            s,
            leg_id=leg.leg_id,
            called_phone_number=leg.called,
            employee_id=leg.employee_id,
            employee_full_name=leg.employee_full_name,
        )
        rng = random.Random(f"{self.sim.seed}:callgear:incoming:{s.call_session_id}")
        if rng.random() < INCOMING_MISS_RATE:
            s.timers[f"leg{leg.leg_id}"] = self.sim.after(20.0, self.end_session, s, "no_answer")
            return
        ring = round(rng.uniform(2.0, 8.0), 1)

        def answered(_s: SessionRecord, leg: WorldLeg) -> None:
            self.start_talk(s, [contact_leg, leg])

        s.timers[f"leg{leg.leg_id}"] = self.sim.after(ring, self._answered, s, leg, answered)

    # --- what list.calls and the ledger show --------------------------------------------

    def session_view(self, s: SessionRecord) -> dict[str, Any]:
        legs = []
        for leg in s.legs:
            if not leg.active:
                continue
            legs.append(
                {
                    "leg_id": leg.leg_id,
                    "calling_phone_number": leg.calling,
                    "called_phone_number": leg.called,
                    "is_operator": leg.role in ("employee", "operator"),
                    "employee_id": leg.employee_id,
                    "employee_full_name": leg.employee_full_name,
                    "record_call_enabled": s.recording,
                    "state": LEG_STATE_TEXT[leg.state],
                }
            )
        return {
            "call_session_id": s.call_session_id,
            "direction": s.direction,
            "start_time": iso(s.created_at, millis=True),
            "virtual_phone_number": s.virtual_phone_number,
            "contact_phone_number": s.contact,
            "external_id": s.external_id,
            "tags": [{"tag_id": t, "tag_name": self.world["tags"][t]} for t in s.tags],
            "legs": legs,
        }
