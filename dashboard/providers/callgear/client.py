"""Async client of the CallGear Call API v4.0 (JSON-RPC 2.0 over one POST endpoint).

Every method of the docs is a typed coroutine. Authentication is either a ``login.user``
session (one hour, renewed before it runs out and once more when the server says the
token expired or is invalid) or the permanent access key, which travels in the same
``params.access_token`` field. Each answer's ``metadata.limits`` is kept in
``client.limits``; on ``limit_exceeded`` the client waits for the reset the metadata
names and tries once more instead of hammering.

Retries: reads (list.*) and login/logout are safe to repeat on transport failures;
control actions (start.*, hold.call...) are not, since the server may have acted.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from ..base import ProviderHTTP, ProviderUnavailable, RequestTimings, RetryPolicy
from .checks import (
    DTMF,
    MessageArg,
    check_choice,
    check_dtmf,
    check_early_switching,
    check_message,
    check_number,
    local_error,
)
from .errors import CallGearError
from .models import ApiVersion, AuthSession, CallSession, Limits, Message, TalkOption, parse_success

__all__ = ["DEFAULT_BASE_URL", "METHODS", "CallGearClient"]

DEFAULT_BASE_URL = "https://callapi.callgear.com"
PROVIDER = "callgear"

# The 22 methods of the docs' method list (the brief says 25; the seed lists 22).
METHODS = (
    "login.user",
    "logout.user",
    "start.employee_call",
    "start.scenario_call",
    "start.vnumber_call",
    "start.informer_call",
    "start.simple_call",
    "make.call",
    "transfer.talk",
    "restore.talk",
    "hold.call",
    "unhold.call",
    "add.coach",
    "tag.call",
    "record.call",
    "disconnect.leg",
    "send.dtmf",
    "block.contact",
    "list.calls",
    "list.talk_options",
    "call.talk_option",
    "release.call",
)

READ_METHODS = frozenset({"list.calls", "list.talk_options", "login.user", "logout.user"})

SESSION_LIFETIME = 3600.0  # docs: a login.user key lives one hour


class CallGearClient:
    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        login: str | None = None,
        password: str | None = None,
        access_key: str | None = None,
        version: str = "v4.0",
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timings: RequestTimings | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        renew_margin: float = 120.0,
        max_limit_wait: float = 65.0,
    ) -> None:
        if not access_key and not (login and password):
            raise ValueError("CallGearClient needs an access_key or a login and password")
        self.login = login
        self.password = password
        self.access_key = access_key
        self.version = version if version.startswith("v") else f"v{version}"
        self.renew_margin = renew_margin
        # A daily limit resets in hours: waiting that long inside a request helps nobody,
        # so only waits up to this many seconds are taken; longer ones raise at once.
        self.max_limit_wait = max_limit_wait
        self._sleep = sleep
        self._clock = clock
        self.http = ProviderHTTP(
            provider=PROVIDER,
            base_url=base_url,
            retry=retry,
            transport=transport,
            timings=timings,
            sleep=sleep,
        )
        self._ids = itertools.count(1)
        self._id_prefix = uuid.uuid4().hex[:8]
        self._session: AuthSession | None = None
        self._login_lock = asyncio.Lock()
        self.limits: Limits | None = None
        self.api_version: ApiVersion | None = None
        self.last_request_id: str | None = None

    # --- plumbing -----------------------------------------------------------------

    @property
    def timings(self) -> RequestTimings:
        return self.http.timings

    @property
    def deprecated(self) -> bool:
        """True once the server said this API version is deprecated."""
        return bool(self.api_version and self.api_version.deprecated)

    @property
    def session(self) -> AuthSession | None:
        return self._session

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> CallGearClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _next_id(self) -> str:
        return f"{self._id_prefix}-{next(self._ids)}"

    async def _token(self) -> str:
        if self.access_key and not (self.login and self.password):
            return self.access_key
        session = self._session
        if session is None or self._clock() >= session.expire_at - self.renew_margin:
            async with self._login_lock:
                session = self._session
                if session is None or self._clock() >= session.expire_at - self.renew_margin:
                    session = await self.login_user()
        return session.access_token

    async def _rpc(
        self,
        method: str,
        params: dict[str, Any],
        *,
        authenticated: bool = True,
    ) -> Any:
        """Send one call; returns ``result.data``. Handles token renewal and limits."""
        token_retried = False
        limit_retried = False
        while True:
            sent = dict(params)
            if authenticated:
                sent = {"access_token": await self._token(), **params}
            try:
                return await self._send(method, sent)
            except CallGearError as exc:
                if (
                    authenticated
                    and not token_retried
                    and exc.mnemonic in {"access_token_expired", "access_token_invalid"}
                    and self.login
                    and self.password
                ):
                    # A session token can die early (logout elsewhere, server restart):
                    # log in again once; a permanent key cannot be renewed by us.
                    token_retried = True
                    self._session = None
                    continue
                if exc.mnemonic == "limit_exceeded" and not limit_retried:
                    wait = self._limit_wait(exc)
                    if wait is not None and wait <= self.max_limit_wait:
                        limit_retried = True
                        await self._sleep(wait)
                        continue
                raise

    def _limit_wait(self, exc: CallGearError) -> float | None:
        limit_type = str(exc.params.get("limit_type") or "") or None
        meta = exc.details.get("metadata") or {}
        limits = meta.get("limits") if isinstance(meta, Mapping) else None
        source = Limits.from_metadata(limits) if isinstance(limits, Mapping) else self.limits
        if source is None:
            return None
        wait = source.reset_wait(limit_type if limit_type in {"day", "minute"} else None)
        return None if wait is None else max(0.0, float(wait))

    async def _send(self, method: str, params: dict[str, Any]) -> Any:
        request_id = self._next_id()
        self.last_request_id = request_id
        envelope = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        response = await self.http.request(
            "POST",
            f"/{self.version}",
            operation=method,
            retry_safe=method in READ_METHODS,
            json=envelope,
            headers={
                "Content-Type": "application/json; charset=UTF-8",
                "Accept": "application/json",
            },
        )
        return self._parse(method, request_id, response)

    def _parse(self, method: str, request_id: str, response: httpx.Response) -> Any:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, Mapping):
            self.http.record_failure(method, "bad_response")
            if status >= 500 or status == 429:
                raise ProviderUnavailable(
                    f"CallGear answered {method} with HTTP {status}",
                    provider=PROVIDER,
                    status=status,
                )
            raise CallGearError(
                f"CallGear answered {method} with HTTP {status} and no JSON-RPC body",
                mnemonic="bad_response",
                status=status,
                request_id=request_id,
                method=method,
            )
        result = body.get("result")
        # Real answers carry metadata inside ``result``; tolerate it at the top level and,
        # for errors, inside ``error.data`` too.
        metadata = None
        if isinstance(result, Mapping) and isinstance(result.get("metadata"), Mapping):
            metadata = result["metadata"]
        elif isinstance(body.get("metadata"), Mapping):
            metadata = body["metadata"]
        elif isinstance(body.get("error"), Mapping):
            data = body["error"].get("data")
            if isinstance(data, Mapping) and isinstance(data.get("metadata"), Mapping):
                metadata = data["metadata"]
        if metadata is not None:
            self._remember_metadata(metadata)
        error = body.get("error")
        if isinstance(error, Mapping):
            exc = CallGearError.from_rpc(
                error,
                status=status,
                request_id=body.get("id", request_id),
                method=method,
                metadata=metadata,
            )
            self.http.record_failure(method, exc.mnemonic)
            raise exc
        if not isinstance(result, Mapping) or "data" not in result:
            self.http.record_failure(method, "bad_response")
            raise CallGearError(
                f"CallGear answered {method} without result.data",
                mnemonic="bad_response",
                status=status,
                request_id=request_id,
                method=method,
            )
        return result["data"]

    def _remember_metadata(self, metadata: Mapping[str, Any]) -> None:
        limits = metadata.get("limits")
        if isinstance(limits, Mapping) and limits:
            self.limits = Limits.from_metadata(limits, received_at=self._clock())
        version = metadata.get("api_version")
        if isinstance(version, Mapping) and version:
            self.api_version = ApiVersion.from_metadata(version)

    @staticmethod
    def _clean(params: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in params.items() if v is not None}

    def _common_start(
        self,
        *,
        virtual_phone_number: str,
        contact: str,
        external_id: str | None,
        dtmf_string: str | None,
        direction: str | None,
    ) -> dict[str, Any]:
        return {
            "virtual_phone_number": check_number("virtual_phone_number", virtual_phone_number),
            "external_id": external_id,
            "dtmf_string": check_dtmf("dtmf_string", dtmf_string),
            "direction": None
            if direction is None
            else check_choice("direction", direction, ("in", "out")),
            "contact": check_number("contact", contact, sip_ok=True),
        }

    # --- authentication --------------------------------------------------------------

    async def login_user(self) -> AuthSession:
        """login.user: a session key for one hour. Kept and used by every later call."""
        if not (self.login and self.password):
            raise ValueError("login.user needs a login and password")
        data = await self._rpc(
            "login.user", {"login": self.login, "password": self.password}, authenticated=False
        )
        expire_at = data.get("expire_at")
        if not isinstance(expire_at, int | float):
            expire_at = self._clock() + SESSION_LIFETIME
        self._session = AuthSession(str(data["access_token"]), float(expire_at))
        return self._session

    async def logout_user(self) -> bool:
        """logout.user: ends the session key (a permanent key cannot be logged out)."""
        if self._session is None:
            return True
        token = self._session.access_token
        self._session = None
        data = await self._rpc("logout.user", {"access_token": token}, authenticated=False)
        return parse_success(data.get("success"))

    # --- starting calls --------------------------------------------------------------

    async def start_employee_call(
        self,
        *,
        virtual_phone_number: str,
        contact: str,
        employee_id: int,
        employee_phone_number: str | None = None,
        first_call: str = "employee",
        switch_at_once: bool | None = None,
        early_switching: bool | None = None,
        media_file_id: int | None = None,
        show_virtual_phone_number: bool | None = None,
        external_id: str | None = None,
        dtmf_string: str | None = None,
        direction: str | None = None,
        contact_message: MessageArg = None,
        employee_message: MessageArg = None,
    ) -> int:
        """start.employee_call: a direct call between a contact and an employee."""
        check_choice("first_call", first_call, ("employee", "contact"))
        check_early_switching(early_switching, first_call, "employee", switch_at_once)
        employee: dict[str, Any] = {"id": employee_id}
        if employee_phone_number is not None:
            employee["phone_number"] = check_number(
                "employee.phone_number", employee_phone_number, sip_ok=True
            )
        params = {
            "first_call": first_call,
            "switch_at_once": switch_at_once,
            "early_switching": early_switching,
            "media_file_id": media_file_id,
            "show_virtual_phone_number": show_virtual_phone_number,
            **self._common_start(
                virtual_phone_number=virtual_phone_number,
                contact=contact,
                external_id=external_id,
                dtmf_string=dtmf_string,
                direction=direction,
            ),
            "employee": employee,
            "contact_message": check_message("contact_message", contact_message),
            "employee_message": check_message("employee_message", employee_message),
        }
        data = await self._rpc("start.employee_call", self._clean(params))
        return int(data["call_session_id"])

    async def start_scenario_call(
        self,
        *,
        virtual_phone_number: str,
        contact: str,
        scenario_id: int,
        first_call: str = "contact",
        switch_at_once: bool | None = None,
        external_id: str | None = None,
        dtmf_string: str | None = None,
        direction: str | None = None,
        contact_message: MessageArg = None,
        employee_message: MessageArg = None,
    ) -> int:
        """start.scenario_call: a call following a scenario of the virtual PBX."""
        check_choice("first_call", first_call, ("employee", "contact"))
        params = {
            **self._common_start(
                virtual_phone_number=virtual_phone_number,
                contact=contact,
                external_id=external_id,
                dtmf_string=dtmf_string,
                direction=direction,
            ),
            "first_call": first_call,
            "switch_at_once": switch_at_once,
            "scenario_id": scenario_id,
            "contact_message": check_message("contact_message", contact_message),
            "employee_message": check_message("employee_message", employee_message),
        }
        data = await self._rpc("start.scenario_call", self._clean(params))
        return int(data["call_session_id"])

    async def start_vnumber_call(
        self,
        *,
        virtual_phone_number: str,
        contact: str,
        first_call: str = "contact",
        switch_at_once: bool | None = None,
        show_virtual_phone_number: bool | None = None,
        external_id: str | None = None,
        dtmf_string: str | None = None,
        direction: str | None = None,
        contact_message: MessageArg = None,
    ) -> int:
        """start.vnumber_call: a call through the scenario of a virtual number."""
        check_choice("first_call", first_call, ("employee", "contact"))
        params = {
            **self._common_start(
                virtual_phone_number=virtual_phone_number,
                contact=contact,
                external_id=external_id,
                dtmf_string=dtmf_string,
                direction=direction,
            ),
            "first_call": first_call,
            "switch_at_once": switch_at_once,
            # Not in the parameter table but in the docs' own example: sent only when given.
            "show_virtual_phone_number": show_virtual_phone_number,
            "contact_message": check_message("contact_message", contact_message),
        }
        data = await self._rpc("start.vnumber_call", self._clean(params))
        return int(data["call_session_id"])

    async def start_informer_call(
        self,
        *,
        virtual_phone_number: str,
        contact: str,
        contact_message: Message | Mapping[str, Any],
        dialing_timeout: int | None = None,
        external_id: str | None = None,
        dtmf_string: str | None = None,
        direction: str | None = None,
    ) -> int:
        """start.informer_call: plays a message to the contact, then ends by itself."""
        if dialing_timeout is not None and not (0 < dialing_timeout <= 120):
            raise local_error("dialing_timeout", dialing_timeout)  # docs: up to 120 seconds
        params = {
            **self._common_start(
                virtual_phone_number=virtual_phone_number,
                contact=contact,
                external_id=external_id,
                dtmf_string=dtmf_string,
                direction=direction,
            ),
            "dialing_timeout": dialing_timeout,
            "contact_message": check_message("contact_message", contact_message),
        }
        data = await self._rpc("start.informer_call", self._clean(params))
        return int(data["call_session_id"])

    async def start_simple_call(
        self,
        *,
        virtual_phone_number: str,
        contact: str,
        operator: str,
        first_call: str = "operator",
        switch_at_once: bool | None = None,
        early_switching: bool | None = None,
        media_file_id: int | None = None,
        show_virtual_phone_number: bool | None = None,
        operator_confirmation: str | None = None,
        external_id: str | None = None,
        dtmf_string: str | None = None,
        direction: str | None = None,
        contact_message: MessageArg = None,
        operator_message: MessageArg = None,
    ) -> int:
        """start.simple_call: connects an operator number (not an employee) and a contact."""
        check_choice("first_call", first_call, ("operator", "contact"))
        check_early_switching(early_switching, first_call, "operator", switch_at_once)
        if operator_confirmation is not None and not (
            operator_confirmation == "any" or DTMF.match(operator_confirmation)
        ):
            raise local_error("operator_confirmation", operator_confirmation)
        params = {
            "first_call": first_call,
            "switch_at_once": switch_at_once,
            "early_switching": early_switching,
            "media_file_id": media_file_id,
            "show_virtual_phone_number": show_virtual_phone_number,
            **self._common_start(
                virtual_phone_number=virtual_phone_number,
                contact=contact,
                external_id=external_id,
                dtmf_string=dtmf_string,
                direction=direction,
            ),
            "operator": check_number("operator", operator),
            "operator_confirmation": operator_confirmation,
            "contact_message": check_message("contact_message", contact_message),
            "operator_message": check_message("operator_message", operator_message),
        }
        data = await self._rpc("start.simple_call", self._clean(params))
        return int(data["call_session_id"])

    # --- managing calls -------------------------------------------------------------

    async def _control(self, method: str, call_session_id: int, **params: Any) -> bool:
        data = await self._rpc(method, self._clean({"call_session_id": call_session_id, **params}))
        return parse_success(data.get("success") if isinstance(data, Mapping) else data)

    async def make_call(
        self, call_session_id: int, *, to: str, to_message: MessageArg = None
    ) -> bool:
        """make.call: dial a third party for consultation or transfer (only after hold.call)."""
        return await self._control(
            "make.call",
            call_session_id,
            to=check_number("to", to, sip_ok=True),
            to_message=check_message("to_message", to_message),
        )

    async def transfer_talk(self, call_session_id: int) -> bool:
        """transfer.talk: hand the contact to the party dialled by make.call."""
        return await self._control("transfer.talk", call_session_id)

    async def restore_talk(self, call_session_id: int) -> bool:
        """restore.talk: drop the consulted party and return to the contact."""
        return await self._control("restore.talk", call_session_id)

    async def hold_call(
        self, call_session_id: int, *, contact_message: Message | Mapping[str, Any]
    ) -> bool:
        """hold.call: the contact hears ``contact_message`` (required by the docs)."""
        return await self._control(
            "hold.call",
            call_session_id,
            contact_message=check_message("contact_message", contact_message),
        )

    async def unhold_call(self, call_session_id: int) -> bool:
        return await self._control("unhold.call", call_session_id)

    async def add_coach(self, call_session_id: int, *, phone_number: str | None = None) -> bool:
        """add.coach: the coach from the settings, or the one at ``phone_number``."""
        number = (
            None
            if phone_number is None
            else check_number("phone_number", phone_number, sip_ok=True)
        )
        return await self._control("add.coach", call_session_id, phone_number=number)

    async def tag_call(self, call_session_id: int, *, tag_id: int) -> bool:
        return await self._control("tag.call", call_session_id, tag_id=tag_id)

    async def record_call(self, call_session_id: int, *, action: str) -> bool:
        """record.call: ``on`` or ``off``."""
        return await self._control(
            "record.call", call_session_id, action=check_choice("action", action, ("on", "off"))
        )

    async def disconnect_leg(self, call_session_id: int, *, leg_id: int) -> bool:
        """disconnect.leg: dropping the contact's leg ends the whole session."""
        return await self._control("disconnect.leg", call_session_id, leg_id=leg_id)

    async def send_dtmf(self, call_session_id: int, *, dtmf_string: str) -> bool:
        return await self._control(
            "send.dtmf",
            call_session_id,
            dtmf_string=check_dtmf("dtmf_string", dtmf_string, pauses=False),
        )

    async def block_contact(self, call_session_id: int) -> bool:
        """block.contact: put the session's contact on the blacklist."""
        return await self._control("block.contact", call_session_id)

    async def call_talk_option(self, call_session_id: int, *, button: str) -> bool:
        return await self._control("call.talk_option", call_session_id, button=str(button))

    async def release_call(self, call_session_id: int) -> bool:
        return await self._control("release.call", call_session_id)

    # --- reads ---------------------------------------------------------------------

    async def list_calls(
        self, *, direction: str | None = None, virtual_phone_number: str | None = None
    ) -> list[CallSession]:
        """list.calls: active call sessions with their legs."""
        params = self._clean(
            {
                "direction": None
                if direction is None
                else check_choice("direction", direction, ("in", "out")),
                "virtual_phone_number": None
                if virtual_phone_number is None
                else check_number("virtual_phone_number", virtual_phone_number),
            }
        )
        data = await self._rpc("list.calls", params)
        return [CallSession.from_api(item) for item in data or []]

    async def list_talk_options(self) -> list[TalkOption]:
        data = await self._rpc("list.talk_options", {})
        return [TalkOption.from_api(item) for item in data or []]

    async def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """Any method by name, for the odd one-off; returns ``result.data`` untouched."""
        if method not in METHODS:
            raise ValueError(f"unknown CallGear method {method!r}")
        return await self._rpc(method, dict(params or {}), authenticated=method != "login.user")
