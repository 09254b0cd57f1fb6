"""The Call API methods of the CallGear sandbox, one ``_m_<method>`` per documented method.

Each takes the already validated ``params`` and the authenticated account, raises
RpcFault with the documented error, or returns ``result.data``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .world import RpcFault, SessionRecord

if TYPE_CHECKING:
    from .flows import CallFlows

    _Base = CallFlows
else:
    _Base = object

__all__ = ["RpcMethods"]

SESSION_LIFETIME = 3600.0  # docs: a login.user key lives one hour


class RpcMethods(_Base):
    """Mixed into the twin after CallFlows; uses its world, sessions, tokens and sim."""

    tokens: dict[str, dict[str, Any]]

    # --- business checks shared by the starts ------------------------------------------------

    def _session(self, params: dict[str, Any]) -> SessionRecord:
        s = self.sessions.get(int(params["call_session_id"]))
        if s is None or not s.active:
            # Our reading: a finished session is no longer an active call: not found.
            raise RpcFault(
                "call_session_not_found", field="call_session_id", value=params["call_session_id"]
            )
        return s

    def _check_message(self, field: str, message: dict[str, Any] | None) -> None:
        if message is None:
            return
        if message["type"] == "tts":
            limit = self.world["tts_max_length"]
            if len(message["value"]) > limit:
                raise RpcFault(
                    "tts_text_exceeded",
                    field=f"{field}.value",
                    value=message["value"],
                    params={
                        "tts_message_max_length": limit,
                        "sent_tts_message_length": len(message["value"]),
                    },
                )
        else:
            self._check_media(f"{field}.value", message["value"])

    def _check_media(self, field: str, media_id: Any) -> None:
        try:
            key = int(media_id)
        except (TypeError, ValueError):
            key = None
        if key not in self.world["media_files"]:
            raise RpcFault(
                "media_file_not_found",
                field=field,
                value=media_id,
                params={"media_file_id": media_id},
            )

    def _check_start(self, method: str, params: dict[str, Any]) -> str:
        # A parameter rule: checked before anything is looked up.
        leader = "operator" if method == "start.simple_call" else "employee"
        if params.get("early_switching") and not (
            params.get("first_call") == leader and params.get("switch_at_once") is True
        ):
            raise RpcFault("invalid_parameters_combination", field="early_switching", value=True)
        vnum = params["virtual_phone_number"]
        if vnum not in self.world["virtual_numbers"]:
            raise RpcFault(
                "virtual_phone_number_not_found",
                field="virtual_phone_number",
                value=vnum,
                params={"virtual_phone_number": vnum},
            )
        contact = params["contact"]
        if contact in self.world["virtual_numbers"]:
            raise RpcFault("own_virtual_phone_number_not_allowed", field="contact", value=contact)
        if contact in self.world["blacklist"]:
            raise RpcFault(
                "contact_in_blacklist", field="contact", value=contact, params={"contact": contact}
            )
        if params.get("media_file_id") is not None:
            self._check_media("media_file_id", params["media_file_id"])
        for field in ("contact_message", "employee_message", "operator_message"):
            self._check_message(field, params.get(field))
        return vnum

    def _start(
        self,
        method: str,
        params: dict[str, Any],
        *,
        employee: dict[str, Any] | None = None,
        scenario_name: str | None = None,
    ) -> SessionRecord:
        return self.new_session(
            method=method,
            direction=params.get("direction", "in"),
            contact=params["contact"],
            virtual_phone_number=params["virtual_phone_number"],
            external_id=params.get("external_id"),
            scenario_name=scenario_name,
            employee=employee,
        )

    def _scenario_staff(self, scenario_id: int) -> dict[str, Any]:
        ids = self.world["scenarios"][scenario_id]["employee_ids"]
        busy = {s.employee_id for s in self.sessions.values() if s.active}
        free = [e for e in ids if e not in busy and self.world["employees"][e]["phone_numbers"]]
        return self.employee((free or ids)[0])

    # --- the methods -------------------------------------------------------------------------

    def _m_login_user(self, params: dict[str, Any]) -> dict[str, Any]:
        if params["login"] != self.world["login"] or params["password"] != self.world["password"]:
            raise RpcFault("auth_error")
        self._ids["token"] += 1
        rng = self.sim.rng_for(f"callgear:token:{self._ids['token']}")
        token = "".join(rng.choice("0123456789abcdef") for _ in range(72))
        expire_at = int(self.sim.now + SESSION_LIFETIME)
        self.tokens[token] = {"kind": "session", "expire_at": expire_at}
        return {"access_token": token, "expire_at": expire_at}

    def _m_logout_user(self, params: dict[str, Any]) -> dict[str, Any]:
        info = self.tokens.get(params["access_token"])
        if info is not None and info["kind"] == "session":
            del self.tokens[params["access_token"]]
        # logout.user answers a boolean, unlike the control methods' "true" string (docs).
        return {"success": True}

    def _m_start_employee_call(self, params: dict[str, Any]) -> dict[str, Any]:
        self._check_start("start.employee_call", params)
        wanted = params["employee"]
        employee = self.employee(int(wanted["id"]))
        if employee is None:
            raise RpcFault(
                "employee_not_found",
                field="employee.id",
                value=wanted["id"],
                params={"employee_id": wanted["id"]},
            )
        number = wanted.get("phone_number")
        if number is None:
            if not employee["phone_numbers"]:
                raise RpcFault("no_active_phone_number", field="employee.id", value=wanted["id"])
            number = employee["phone_numbers"][0]
        elif number not in employee["phone_numbers"] and number != employee["extension"]:
            raise RpcFault("no_active_phone_number", field="employee.phone_number", value=number)
        elif number == employee["extension"] and not employee["phone_numbers"]:
            raise RpcFault("no_active_phone_number", field="employee.phone_number", value=number)
        s = self._start("start.employee_call", params, employee=employee)
        self.begin_two_party(
            s,
            first_call=params["first_call"],
            staff_role="employee",
            staff=employee,
            staff_number=number,
        )
        return {"call_session_id": s.call_session_id}

    def _m_start_scenario_call(self, params: dict[str, Any]) -> dict[str, Any]:
        self._check_start("start.scenario_call", params)
        scenario_id = int(params["scenario_id"])
        if scenario_id not in self.world["scenarios"]:
            raise RpcFault(
                "scenario_not_found",
                field="scenario_id",
                value=params["scenario_id"],
                params={"scenario_id": params["scenario_id"]},
            )
        staff = self._scenario_staff(scenario_id)
        s = self._start(
            "start.scenario_call",
            params,
            employee=staff,
            scenario_name=self.world["scenarios"][scenario_id]["name"],
        )
        self.begin_two_party(
            s,
            first_call=params["first_call"],
            staff_role="employee",
            staff=staff,
            staff_number=staff["phone_numbers"][0]
            if staff["phone_numbers"]
            else staff["extension"],
        )
        return {"call_session_id": s.call_session_id}

    def _m_start_vnumber_call(self, params: dict[str, Any]) -> dict[str, Any]:
        vnum = self._check_start("start.vnumber_call", params)
        scenario_id = self.world["virtual_numbers"][vnum]
        if scenario_id is None:
            # vnumber_call's own wording and code for this case (docs).
            raise RpcFault(
                "scenario_not_found",
                code=-32007,
                message="Virtual phone number does not have a scenario",
                field="virtual_phone_number",
                value=vnum,
            )
        staff = self._scenario_staff(scenario_id)
        s = self._start(
            "start.vnumber_call",
            params,
            employee=staff,
            scenario_name=self.world["scenarios"][scenario_id]["name"],
        )
        self.begin_two_party(
            s,
            first_call=params["first_call"],
            staff_role="employee",
            staff=staff,
            staff_number=staff["phone_numbers"][0]
            if staff["phone_numbers"]
            else staff["extension"],
        )
        return {"call_session_id": s.call_session_id}

    def _m_start_informer_call(self, params: dict[str, Any]) -> dict[str, Any]:
        self._check_start("start.informer_call", params)
        s = self._start("start.informer_call", params)
        self.begin_informer(
            s, message=params["contact_message"], timeout=float(params.get("dialing_timeout", 30))
        )
        return {"call_session_id": s.call_session_id}

    def _m_start_simple_call(self, params: dict[str, Any]) -> dict[str, Any]:
        self._check_start("start.simple_call", params)
        operator = params["operator"]
        if operator in self.world["virtual_numbers"]:
            raise RpcFault("own_virtual_phone_number_not_allowed", field="operator", value=operator)
        s = self._start("start.simple_call", params)
        self.begin_two_party(
            s,
            first_call=params["first_call"],
            staff_role="operator",
            staff=None,
            staff_number=operator,
        )
        return {"call_session_id": s.call_session_id}

    def _ok(self) -> dict[str, str]:
        # Control methods answer success as the string "true" (docs' examples).
        return {"success": "true"}

    def _m_make_call(self, params: dict[str, Any]) -> dict[str, Any]:
        s = self._session(params)
        self._check_message("to_message", params.get("to_message"))
        self.make_call(s, params["to"])
        return self._ok()

    def _m_transfer_talk(self, params: dict[str, Any]) -> dict[str, Any]:
        self.transfer(self._session(params))
        return self._ok()

    def _m_restore_talk(self, params: dict[str, Any]) -> dict[str, Any]:
        self.restore(self._session(params))
        return self._ok()

    def _m_hold_call(self, params: dict[str, Any]) -> dict[str, Any]:
        s = self._session(params)
        if s.state != "talk":
            raise RpcFault("invalid_state")
        self._check_message("contact_message", params["contact_message"])
        self.hold(s)
        return self._ok()

    def _m_unhold_call(self, params: dict[str, Any]) -> dict[str, Any]:
        self.unhold(self._session(params))
        return self._ok()

    def _m_add_coach(self, params: dict[str, Any]) -> dict[str, Any]:
        self.add_coach(self._session(params), params.get("phone_number"))
        return self._ok()

    def _m_tag_call(self, params: dict[str, Any]) -> dict[str, Any]:
        self.tag(self._session(params), int(params["tag_id"]))
        return self._ok()

    def _m_record_call(self, params: dict[str, Any]) -> dict[str, Any]:
        self.record(self._session(params), params["action"])
        return self._ok()

    def _m_disconnect_leg(self, params: dict[str, Any]) -> dict[str, Any]:
        self.disconnect(self._session(params), int(params["leg_id"]))
        return self._ok()

    def _m_send_dtmf(self, params: dict[str, Any]) -> dict[str, Any]:
        self.send_dtmf(self._session(params), params["dtmf_string"])
        return self._ok()

    def _m_block_contact(self, params: dict[str, Any]) -> dict[str, Any]:
        self.block(self._session(params))
        return self._ok()

    def _m_call_talk_option(self, params: dict[str, Any]) -> dict[str, Any]:
        self.talk_option(self._session(params), params["button"])
        return self._ok()

    def _m_release_call(self, params: dict[str, Any]) -> dict[str, Any]:
        self.release(self._session(params))
        return self._ok()

    def _m_list_calls(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for s in self.sessions.values():
            if not s.active:
                continue
            if params.get("direction") and s.direction != params["direction"]:
                continue
            if (
                params.get("virtual_phone_number")
                and s.virtual_phone_number != params["virtual_phone_number"]
            ):
                continue
            out.append(self.session_view(s))
        return out

    def _m_list_talk_options(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return [dict(o) for o in self.world["talk_options"]]
