"""CallGearSandbox: the Call API v4.0 twin, one JSON-RPC endpoint at ``/callgear/v4.0``.

Answers carry HTTP 200 whatever the outcome, as JSON-RPC over HTTP does; the outcome is
in ``result`` or ``error``. ``metadata`` (limits, and ``api_version`` on the deprecated
``/callgear/v3.0``) sits inside ``result`` on success, as real answers do; on errors it
is a top-level sibling of ``error`` (our reading: the docs say errors carry it too but
show no example). Framing and authentication errors carry no limits, as the docs say.
"""

from __future__ import annotations

import json
import logging
import re
from collections import deque
from typing import Any

from dashboard.sandbox.app import ProviderTwin
from dashboard.sandbox.http import Request, Response, Router, json_response

from .control import CallControl
from .errors import CATALOGUE, error_text
from .flows import CallFlows
from .methods import RpcMethods
from .schema import COMPONENTS, METHOD_POINTS, SCHEMAS, check_params
from .world import RpcFault, SessionRecord, seed_world

__all__ = ["CallGearSandbox"]

logger = logging.getLogger(__name__)

LATEST_VERSION = "4.0"
VERSIONS = ("3.0", "4.0")  # docs: at most two supported versions, the older deprecated

# Errors the docs list as carrying no limits in the metadata.
NO_LIMITS = frozenset(
    {
        "parse_error",
        "invalid_request",
        "method_not_found",
        "access_token_blocked",
        "access_token_invalid",
        "access_token_expired",
        "auth_error",
        "ip_not_whitelisted",
        "batch_opreations_not_supported",
        "notifications_not_supported",
        "character_encoding_not_allowed",
    }
)

# contact_in_blacklist: the docs give -32002 for employee and simple calls, -32602 for the
# other three starts. Each method answers with its own documented code.
BLACKLIST_CODES = {
    "start.employee_call": -32002,
    "start.simple_call": -32002,
    "start.scenario_call": -32602,
    "start.vnumber_call": -32602,
    "start.informer_call": -32602,
}


class CallGearSandbox(RpcMethods, CallControl, CallFlows, ProviderTwin):
    name = "callgear"

    def reset(self) -> None:
        self.world = seed_world(self.sim.seed)
        self.sessions: dict[int, SessionRecord] = {}
        self._ids = {"session": 237859080, "leg": 287866200, "token": 0}
        self._attempts: dict[str, int] = {}
        self.tokens: dict[str, dict[str, Any]] = {
            self.world["access_key"]: {"kind": "key", "expire_at": None},
            self.world["blocked_access_key"]: {"kind": "key", "expire_at": None, "blocked": True},
        }
        self.day_limit = 50_000
        self.minute_limit = 150
        self._used: dict[str, tuple[int, int]] = {"day": (-1, 0), "minute": (-1, 0)}
        # Knobs for tests (and the demo's fault panel): none of these are on by default.
        self.ip_whitelist: set[str] | None = None
        self.disabled_components: set[str] = set()
        self.account_active = True
        self.internal_error_methods: set[str] = set()
        self.notification_log: deque[dict[str, Any]] = deque(maxlen=2000)
        self.requests: deque[dict[str, Any]] = deque(maxlen=500)

    def mount(self, router: Router) -> None:
        for version in VERSIONS:
            router.add("POST", f"/callgear/v{version}", self._endpoint)

    # --- sandbox control ------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        w = self.world
        return {
            "login": w["login"],
            "password": w["password"],
            "access_key": w["access_key"],
            "blocked_access_key": w["blocked_access_key"],
            "virtual_numbers": list(w["virtual_numbers"]),
            "employees": [
                {
                    "id": eid,
                    "full_name": e["full_name"],
                    "phone_numbers": list(e["phone_numbers"]),
                    "extension": e["extension"],
                    "inactive_numbers": list(e["inactive_numbers"]),
                    "record_all": e["record_all"],
                    "coach_id": e["coach_id"],
                }
                for eid, e in w["employees"].items()
            ],
            "tags": [{"id": tid, "name": name} for tid, name in w["tags"].items()],
            "media_files": [{"id": mid, "name": name} for mid, name in w["media_files"].items()],
            "scenarios": [
                {
                    "id": sid,
                    "name": sc["name"],
                    "employee_ids": sc["employee_ids"],
                    "virtual_numbers": [v for v, x in w["virtual_numbers"].items() if x == sid],
                }
                for sid, sc in w["scenarios"].items()
            ],
            "talk_options": list(w["talk_options"]),
            "coaches": [
                {"employee_id": eid, "coach_id": e["coach_id"]}
                for eid, e in w["employees"].items()
                if e["coach_id"]
            ],
            "blacklist": list(w["blacklist"]),
            "tts_max_length": w["tts_max_length"],
            "limits": self.limits(),
            "active_calls": sum(1 for s in self.sessions.values() if s.active),
        }

    def ledger(self) -> dict[str, Any]:
        return {
            "call_sessions": [
                {
                    "call_session_id": s.call_session_id,
                    "method": s.method,
                    "contact": s.contact,
                    "virtual_phone_number": s.virtual_phone_number,
                    "created_at": s.created_at,
                    "state": s.state,
                    "employee_id": s.employee_id,
                    "external_id": s.external_id,
                    "tags": list(s.tags),
                    "recording": s.recording,
                    "finish_reason": s.finish_reason,
                    "legs": [
                        {
                            "leg_id": leg.leg_id,
                            "role": leg.role,
                            "called": leg.called,
                            "state": leg.state,
                        }
                        for leg in s.legs
                    ],
                }
                for s in self.sessions.values()
            ]
        }

    def rate_limited(self, request: Request) -> Response:
        """The provider's own rate-limit answer: limit_exceeded for the minute limit."""
        rid = None
        try:
            data = request.json()
            if isinstance(data, dict):
                rid = data.get("id")
        except (ValueError, UnicodeDecodeError):
            pass
        fault = RpcFault(
            "limit_exceeded", params={"limit_type": "minute", "limit_max_value": self.minute_limit}
        )
        limits = {**self.limits(), "minute_remaining": 0}
        return self._error(rid, fault, metadata={"limits": limits})

    # --- helpers for the demo traffic and tests ---------------------------------------------

    def simulate_incoming_call(
        self,
        virtual_number: str | None = None,
        contact: str | None = None,
        employee_id: int | None = None,
    ) -> int:
        """A subscriber calls a virtual number and the PBX rings an employee."""
        vnums = list(self.world["virtual_numbers"])
        rng = self.sim.rng_for(f"callgear:incoming:{self._ids['session']}")
        vnum = virtual_number or rng.choice(vnums)
        if employee_id is None:
            scenario = self.world["scenarios"].get(self.world["virtual_numbers"].get(vnum))
            candidates = [
                e
                for e in (scenario["employee_ids"] if scenario else self.world["employees"])
                if self.world["employees"][e]["phone_numbers"]
            ]
            employee_id = rng.choice(candidates)
        staff = self.employee(employee_id)
        if staff is None:
            raise KeyError(f"no employee {employee_id}")
        if contact is None:
            contact = self.find_contact(start=rng.randrange(0, 90_000))
        scenario_id = self.world["virtual_numbers"].get(vnum)
        scenario_name = self.world["scenarios"][scenario_id]["name"] if scenario_id else None
        s = self.new_session(
            method="incoming",
            direction="in",
            contact=contact,
            virtual_phone_number=vnum,
            scenario_name=scenario_name,
            employee=staff,
        )
        self.begin_incoming(s, staff)
        return s.call_session_id

    def end_call(self, call_session_id: int, reason: str = "ended_by_sandbox") -> None:
        self.end_session(self.sessions[call_session_id], reason)

    def active_sessions(self) -> list[SessionRecord]:
        return [s for s in self.sessions.values() if s.active]

    def expire_session_tokens(self) -> None:
        """Make every login.user token expired now (tests of renewal)."""
        for info in self.tokens.values():
            if info["kind"] == "session":
                info["expire_at"] = self.sim.now - 1

    # --- limits ------------------------------------------------------------------------------

    def _window(self, kind: str) -> tuple[int, int]:
        size = 86_400 if kind == "day" else 60
        window = int(self.sim.now // size)
        current, used = self._used[kind]
        return (window, used if current == window else 0)

    def limits(self) -> dict[str, Any]:
        now = self.sim.now
        _, day_used = self._window("day")
        _, minute_used = self._window("minute")
        return {
            "day_limit": self.day_limit,
            "day_remaining": max(0, self.day_limit - day_used),
            "day_reset": int(86_400 - now % 86_400),
            "minute_limit": self.minute_limit,
            "minute_remaining": max(0, self.minute_limit - minute_used),
            "minute_reset": int(60 - now % 60) or 60,
        }

    def _check_limits(self, method: str) -> None:
        cost = METHOD_POINTS[method]
        if cost == 0:
            return
        for kind, limit in (("day", self.day_limit), ("minute", self.minute_limit)):
            _, used = self._window(kind)
            if used + cost > limit:
                raise RpcFault(
                    "limit_exceeded", params={"limit_type": kind, "limit_max_value": limit}
                )

    def _spend(self, method: str) -> None:
        cost = METHOD_POINTS[method]
        for kind in ("day", "minute"):
            window, used = self._window(kind)
            self._used[kind] = (window, used + cost)

    # --- the endpoint -----------------------------------------------------------------------

    def _metadata(self, version: str) -> dict[str, Any]:
        meta: dict[str, Any] = {"limits": self.limits()}
        if version != LATEST_VERSION:
            meta["api_version"] = {
                "current_version_depricated": True,
                "current_version": version,
                "latest_version": LATEST_VERSION,
            }
        return meta

    def _error(
        self,
        rid: Any,
        fault: RpcFault,
        *,
        metadata: dict[str, Any] | None = None,
        method: str | None = None,
    ) -> Response:
        code, _ = CATALOGUE[fault.mnemonic]
        if fault.mnemonic == "contact_in_blacklist" and method in BLACKLIST_CODES:
            code = BLACKLIST_CODES[method]
        body: dict[str, Any] = {
            "jsonrpc": "2.0",
            "id": rid,
            "error": {
                "code": fault.code if fault.code is not None else code,
                "message": fault.message or error_text(fault.mnemonic, fault.params),
                "data": {
                    "mnemonic": fault.mnemonic,
                    "field": fault.field,
                    "value": fault.value,
                    "params": fault.params,
                    "extended_helper": None,
                },
            },
        }
        if metadata is not None and fault.mnemonic not in NO_LIMITS:
            body["metadata"] = metadata
        return json_response(body)

    async def _endpoint(self, request: Request) -> Response:
        version = request.path.rsplit("/v", 1)[1]
        content_type = request.header("content-type") or ""
        charset = re.search(r"charset=\s*\"?([\w-]+)", content_type, re.IGNORECASE)
        try:
            if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
                raise UnicodeDecodeError("utf-8", b"", 0, 1, "declared charset is not UTF-8")
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            return self._error(None, RpcFault("character_encoding_not_allowed"))
        try:
            data = json.loads(text)
        except ValueError:
            return self._error(None, RpcFault("parse_error"))
        if isinstance(data, list):
            return self._error(None, RpcFault("batch_opreations_not_supported"))
        if not isinstance(data, dict):
            return self._error(None, RpcFault("invalid_request"))
        if "id" not in data and isinstance(data.get("method"), str):
            return self._error(None, RpcFault("notifications_not_supported"))
        rid = data.get("id")
        if isinstance(rid, bool) or not isinstance(rid, str | int) or rid == "":
            return self._error(None, RpcFault("invalid_request"))
        method = data.get("method")
        params = data.get("params")
        if (
            data.get("jsonrpc") != "2.0"
            or not isinstance(method, str)
            or not isinstance(params, dict)
        ):
            return self._error(rid, RpcFault("invalid_request"))
        if method not in SCHEMAS:
            return self._error(rid, RpcFault("method_not_found"))
        self.requests.append({"at": self.sim.now, "method": method, "id": rid})
        try:
            self._check_access(request, method)
            check_params(params, SCHEMAS[method])
            if method != "login.user":
                self._authenticate(params["access_token"])
            if method in self.internal_error_methods:
                raise RpcFault("internal_error")
            self._check_limits(method)
            handler = getattr(self, "_m_" + method.replace(".", "_"))
            result = handler(params)
        except RpcFault as fault:
            return self._error(rid, fault, metadata=self._metadata(version), method=method)
        except Exception:  # a twin bug still answers as the provider would, and is logged
            logger.exception("callgear sandbox failed on %s", method)
            return self._error(rid, RpcFault("internal_error"), metadata=self._metadata(version))
        self._spend(method)
        metadata = self._metadata(version)
        response = json_response(
            {"jsonrpc": "2.0", "id": rid, "result": {"data": result, "metadata": metadata}}
        )
        response.committed = not method.startswith("list.")
        return response

    def _check_access(self, request: Request, method: str) -> None:
        if self.ip_whitelist is not None:
            ip = request.client[0] if request.client else "unknown"
            if ip not in self.ip_whitelist:
                raise RpcFault("ip_not_whitelisted", params={"ip": ip})
        if not self.account_active:
            raise RpcFault("account_inactive")
        component = COMPONENTS[method]
        if component in self.disabled_components:
            raise RpcFault("component_disabled", params={"component_name": component})

    def _authenticate(self, token: str) -> None:
        info = self.tokens.get(token)
        if info is None:
            raise RpcFault("access_token_invalid")
        if info.get("blocked"):
            raise RpcFault("access_token_blocked")
        if info["expire_at"] is not None and self.sim.now >= info["expire_at"]:
            # The docs tie access_token_expired to permanent keys and say an expired key
            # may also answer access_token_invalid; we answer expired for session keys
            # past their hour (kept a day so they can say so), invalid once forgotten.
            if self.sim.now >= info["expire_at"] + 86_400:
                raise RpcFault("access_token_invalid")
            raise RpcFault("access_token_expired")
