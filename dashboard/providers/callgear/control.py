"""Call management in the CallGear sandbox: hold, consultation (make.call), transfer,
restore, tags, recording, coaches, blacklist, talk options, disconnect and release.

The rules are the docs': hold.call only in talk; unhold.call only on hold; make.call only
after hold.call; transfer.talk and restore.talk only after make.call, while the third
party is dialled or talking to the employee ("condition dialing or operator_talk").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .world import DEFAULT_DIALING_TIMEOUT, RpcFault, SessionRecord, WorldLeg

if TYPE_CHECKING:
    from .flows import CallFlows

    _Base = CallFlows
else:
    _Base = object

__all__ = ["CallControl"]


class CallControl(_Base):
    """Mixed into the twin before CallFlows, whose helpers it uses."""

    # --- call management ----------------------------------------------------------------

    def hold(self, s: SessionRecord) -> None:
        if s.state != "talk":
            raise RpcFault("invalid_state")
        contact = s.role("contact")
        if contact is None:
            raise RpcFault("invalid_state")
        contact.state = "hold"
        s.state = "hold"
        self.notify("call_held", s, leg_id=contact.leg_id)

    def unhold(self, s: SessionRecord) -> None:
        if s.state != "hold":
            raise RpcFault("invalid_state")
        contact = s.role("contact")
        if contact is not None:
            contact.state = "talk"
        s.state = "talk"
        self.notify("call_unheld", s, leg_id=contact.leg_id if contact else None)

    def make_call(self, s: SessionRecord, to: str) -> None:
        if s.state != "hold":
            raise RpcFault("invalid_state")
        employee, active = self.employee_by_number(to)
        if employee is not None and not active:
            raise RpcFault("no_active_phone_number", field="to", value=to)
        staff = s.role("employee") or s.role("operator")
        called = employee["phone_numbers"][0] if employee and to == employee["extension"] else to
        leg = self.add_leg(
            s,
            "third",
            calling=staff.called if staff else (s.virtual_phone_number or ""),
            called=called,
            employee=employee,
        )
        s.third_leg_id = leg.leg_id
        s.state = "dialing"
        self.notify(
            "consultation_started",
            s,
            leg_id=leg.leg_id,
            called_phone_number=called,
            employee_id=leg.employee_id,
            employee_full_name=leg.employee_full_name,
        )
        self.dial(
            s,
            leg,
            subscriber=employee is None,
            timeout=DEFAULT_DIALING_TIMEOUT,
            on_answer=self._third_answered,
            on_fail=self._third_failed,
        )

    def _third_answered(self, s: SessionRecord, leg: WorldLeg) -> None:
        if s.state == "dialing":
            leg.state = "operators_talk"
            staff = s.role("employee") or s.role("operator")
            if staff is not None:
                staff.state = "operators_talk"
            s.state = "operator_talk"
        elif s.state == "transferring":
            self._close_talk(s)
            self._take_over(s, leg)
            self.start_talk(s, [s.role("contact"), leg])

    def _third_failed(self, s: SessionRecord, leg: WorldLeg, reason: str) -> None:
        leg.state = "disconnected"
        s.third_leg_id = None
        if s.state == "transferring":
            self.end_session(s, f"transfer_{reason}")
            return
        s.state = "hold"
        staff = s.role("employee") or s.role("operator")
        if staff is not None:
            staff.state = "talk"
        self.notify("leg_disconnected", s, leg_id=leg.leg_id)

    def _take_over(self, s: SessionRecord, leg: WorldLeg) -> None:
        """The third party becomes the one in charge (after a transfer)."""
        s.third_leg_id = None
        leg.role = "employee" if leg.employee_id else "operator"
        s.employee_id = leg.employee_id
        s.employee_full_name = leg.employee_full_name

    def transfer(self, s: SessionRecord) -> None:
        if s.state not in ("dialing", "operator_talk") or s.third_leg_id is None:
            raise RpcFault("invalid_state")
        third = s.leg(s.third_leg_id)
        staff = next(
            (leg for leg in s.legs if leg.role in ("employee", "operator") and leg.active), None
        )
        if staff is not None:
            staff.state = "disconnected"
        contact = s.role("contact")
        if s.state == "operator_talk":
            self._close_talk(s)
            self._take_over(s, third)
            self.notify(
                "call_transferred",
                s,
                leg_ids=[contact.leg_id, third.leg_id],
                called_phone_number=third.called,
            )
            self.start_talk(s, [contact, third])
        else:
            contact.state = "transferring"
            s.state = "transferring"
            self.notify(
                "call_transferred",
                s,
                leg_ids=[contact.leg_id, third.leg_id],
                called_phone_number=third.called,
                employee_id=third.employee_id,
                employee_full_name=third.employee_full_name,
            )

    def restore(self, s: SessionRecord) -> None:
        if s.state not in ("dialing", "operator_talk") or s.third_leg_id is None:
            raise RpcFault("invalid_state")
        third = s.leg(s.third_leg_id)
        self._cancel(s, f"leg{third.leg_id}")
        third.state = "disconnected"
        s.third_leg_id = None
        contact = s.role("contact")
        staff = s.role("employee") or s.role("operator")
        for leg in (contact, staff):
            if leg is not None:
                leg.state = "talk"
        s.state = "talk"
        self.notify("talk_restored", s, leg_ids=[leg.leg_id for leg in (contact, staff) if leg])

    def tag(self, s: SessionRecord, tag_id: int) -> None:
        if tag_id not in self.world["tags"]:
            raise RpcFault("tag_not_found", field="tag_id", value=tag_id, params={"tag_id": tag_id})
        if tag_id in s.tags:
            raise RpcFault("duplicate_tag", field="tag_id", value=tag_id)
        s.tags.append(tag_id)
        self.notify(
            "tag_added", s, tag_id=tag_id, tag_names=[self.world["tags"][t] for t in s.tags]
        )

    def record(self, s: SessionRecord, action: str) -> None:
        if action == "on":
            if s.recording:
                raise RpcFault("record_already_started", field="action", value=action)
            s.recording = True
        else:
            if s.record_all:
                # Universal recording is an employee setting: it cannot be switched off.
                raise RpcFault("forbidden", field="action", value=action)
            if not s.recording:
                raise RpcFault("record_already_stopped", field="action", value=action)
            s.recording = False
        self.notify("recording_changed", s, recording_state=action)

    def disconnect(self, s: SessionRecord, leg_id: int) -> None:
        leg = s.leg(leg_id)
        if leg is None or not leg.active:
            raise RpcFault("leg_not_found", field="leg_id", value=leg_id)
        if leg.role == "contact":
            # Docs: disconnecting the contact ends the whole call session.
            self.end_session(s, "contact_disconnected")
        elif leg.role == "third":
            self._cancel(s, f"leg{leg.leg_id}")
            self._third_failed(s, leg, "disconnected")
        elif leg.role == "coach":
            self._cancel(s, f"leg{leg.leg_id}")
            leg.state = "disconnected"
            self.notify("leg_disconnected", s, leg_id=leg.leg_id)
        elif s.state in ("dialing", "operator_talk"):
            # The employee leaves a consultation: the contact goes to the third party.
            self.transfer(s)
        else:
            self.end_session(s, f"{leg.role}_disconnected")

    def add_coach(self, s: SessionRecord, phone_number: str | None) -> None:
        if phone_number is None:
            staff = self.employee(s.employee_id)
            coach = self.employee(staff.get("coach_id")) if staff else None
            if coach is None:
                raise RpcFault("coach_not_found")
            if not coach["phone_numbers"]:
                raise RpcFault("no_active_phone_number")
            number = coach["phone_numbers"][0]
        else:
            coach, active = self.employee_by_number(phone_number)
            if coach is not None and not active:
                raise RpcFault("no_active_phone_number", field="phone_number", value=phone_number)
            number = phone_number
        leg = self.add_leg(
            s, "coach", calling=s.virtual_phone_number or "", called=number, employee=coach
        )

        def joined(_s: SessionRecord, leg: WorldLeg) -> None:
            leg.state = "talk"

        self.dial(
            s,
            leg,
            subscriber=coach is None,
            timeout=DEFAULT_DIALING_TIMEOUT,
            on_answer=joined,
            on_fail=lambda _s, leg, _why: setattr(leg, "state", "disconnected"),
        )

    def block(self, s: SessionRecord) -> None:
        if s.contact in self.world["blacklist"]:
            raise RpcFault("duplicate_contact", params={"contact_phone_number": s.contact})
        self.world["blacklist"].append(s.contact)

    def talk_option(self, s: SessionRecord, button: str) -> None:
        option = next((o for o in self.world["talk_options"] if o["button"] == button), None)
        if option is None:
            raise RpcFault("talk_option_not_found", field="button", value=button)
        if s.state not in ("talk", "operator_talk"):
            raise RpcFault("invalid_state")
        mnemonic = option["mnemonic"]
        if mnemonic == "tag_call":
            tag_id = option["button_value"]["id"]
            if tag_id not in s.tags:
                self.tag(s, tag_id)
        elif mnemonic == "record_talk":
            if s.recording and s.record_all:
                raise RpcFault("forbidden")
            self.record(s, "off" if s.recording else "on")
        elif mnemonic == "call_coach":
            self.add_coach(s, None)
        elif mnemonic == "finish_conversation":
            self.end_session(s, "talk_option_finish")

    def send_dtmf(self, s: SessionRecord, dtmf: str) -> None:
        s.dtmf.append(dtmf)

    def release(self, s: SessionRecord) -> None:
        # Our reading: release.call lets go of the whole session (every leg hangs up).
        self.end_session(s, "released")
