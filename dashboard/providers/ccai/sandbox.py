"""The CCAI Platform twin: ``/ccai/apps/api/v1/calls...`` and ``/ccai/manager/api/v1/calls``.

It answers with the seed's bodies, status codes and messages, checks HTTP Basic auth, and
moves every call through its statuses on the sandbox clock, notifying each change as a
``call.status_changed`` webhook (body in ``webhooks.py``).

Lifecycles (all durations realistic seconds, scaled by the simulation):

- outbound (201): assigned -> connecting (+1 s, the agent's leg is up, the end user rings)
  -> connected after the number's ring time if it answers -> finished after its talk time;
  or failed (busy after 3 s, no_answer after 30 s of ringing, invalid_number after 2 s).
- incoming (201): queued -> assigned when a queue agent is free (checked every 5 s) ->
  connecting (+2 s) -> connected (+3 s; the caller is already on the line) -> finished;
  failed with "abandoned" when nobody took it within 180 s.
- scheduled (201): scheduled -> queued at ``scheduled_at`` -> as incoming, except that
  once assigned the platform calls the end user back, who answers or not as outbound.
- 202 / 200 (agent must act in the widget / adapter): the agent places the call 8 s later
  with the default outbound number, if still available; it then runs as outbound.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import urlencode

from dashboard.sandbox.app import ProviderTwin
from dashboard.sandbox.http import Request, Response, Router, json_response, text_response

from .models import CallStatus, format_time, parse_time
from .rules import (
    CALL_TYPE_INBOUND,
    CALL_TYPE_OUTBOUND,
    CALL_TYPE_SCHEDULED,
    Msg,
    canonical_call_type,
    menu_id_value,
    parse_scheduled_at,
    static_problem,
    ticket_id_value,
)
from .sandbox_lifecycle import CallLifecycle
from .sandbox_world import Agent, CallRecord, ParticipantRecord, World

__all__ = ["CcaiSandbox", "CreateRefused"]

AGENT_ACTION_SECONDS = 8.0
MAX_PER_PAGE = 100
INBOUND_MENU_TYPES = frozenset({"ivr_menu", "mobile_menu"})
SCHEDULED_MENU_TYPES = frozenset({"mobile_menu", "web_menu"})
SORT_COLUMNS = frozenset({"id", "created_at", "updated_at", "status"})


class CreateRefused(Exception):
    """A create-call body the API answers with 400 ``{"message": ...}``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CcaiSandbox(CallLifecycle, ProviderTwin):
    name = "ccai"

    # --- world -------------------------------------------------------------------

    def reset(self) -> None:
        self.world = World(self.sim.seed)
        self.rng = self.sim.rng_for("ccai:calls")

    def state(self) -> dict[str, Any]:
        w = self.world
        return {
            "company_key": w.company_key,
            "company_secret": w.company_secret,
            "subdomain": w.subdomain,
            "api_token": w.api_token,
            "agents": [
                {
                    "email": a.email,
                    "available": a.available,
                    "on_duty": a.on_duty,
                    "can_call": a.can_call,
                    "outbound_choice": a.outbound_choice,
                    "takes_queue": a.takes_queue,
                    "busy_call": a.busy_call,
                }
                for a in w.agents.values()
            ],
            "menus": [
                {"id": m.id, "menu_type": m.menu_type, "name": m.name, "state": m.state}
                for m in w.menus.values()
            ],
            "outbound_numbers": list(w.outbound_numbers),
            "default_outbound_number": w.default_outbound_number,
            "languages": list(w.languages),
            "tickets": [{"id": t.id, "phone": t.phone} for t in w.tickets.values()],
        }

    def ledger(self) -> dict[str, Any]:
        return {
            "calls": [c.ledger_row() for c in self.world.calls.values()],
            "pending_agent_actions": list(self.world.pending_actions),
        }

    def rate_limited(self, request: Request) -> Response:
        # The docs give the limit (10 requests per second per customer) but not the body.
        return json_response(
            {"message": "Too Many Requests"}, status=429, headers=[("retry-after", "1")]
        )

    def set_agent_on_duty(self, email: str, on_duty: bool) -> None:
        """Demo and tests: an agent sets the widget to Available or not."""
        self.world.agents[email].on_duty = on_duty
        if on_duty:
            self._offer_queue()

    def set_menu_state(self, menu_id: int, state: str) -> None:
        """Demo and tests: "open", "after_hours" or "manual_redirection"."""
        if state not in ("open", "after_hours", "manual_redirection"):
            raise ValueError(f"unknown menu state {state!r}")
        self.world.menus[menu_id].state = state

    # --- routes ------------------------------------------------------------------

    def mount(self, router: Router) -> None:
        router.add("POST", "/ccai/apps/api/v1/calls", self._guard(self._create))
        router.add(
            "GET", "/ccai/apps/api/v1/calls/{call_id}/customer_flag", self._guard(self._flags_get)
        )
        router.add(
            "PATCH",
            "/ccai/apps/api/v1/calls/{call_id}/customer_flag",
            self._guard(self._flags_patch),
        )
        router.add("GET", "/ccai/manager/api/v1/calls", self._guard(self._list))
        router.add("GET", "/ccai/manager/api/v1/calls/{call_id}", self._guard(self._get))

    def _guard(self, handler: Any) -> Any:
        async def guarded(request: Request) -> Response:
            if not self._authorized(request.header("authorization")):
                # Rails' http_basic_authenticate answer, which the platform is built on.
                response = text_response("HTTP Basic: Access denied.\n", status=401)
                response.headers.append(("www-authenticate", 'Basic realm="Application"'))
                return response
            return await handler(request)

        return guarded

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.lower().startswith("basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        w = self.world
        return (user, password) in {(w.company_key, w.company_secret), (w.subdomain, w.api_token)}

    # --- POST /apps/api/v1/calls ---------------------------------------------------

    async def _create(self, request: Request) -> Response:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        try:
            status, payload = self.create_call(body)
        except CreateRefused as refused:
            return json_response({"message": refused.message}, status=400)
        response = (
            json_response(payload, status=status)
            if payload is not None
            else Response(status=status)
        )
        response.committed = True
        return response

    def create_call(self, body: Any) -> tuple[int, dict[str, Any] | None]:
        """Validate and act on one create body: (HTTP status, answer body or None)."""
        problem = static_problem(body)
        if problem is not None:
            raise CreateRefused(problem)
        call_type = canonical_call_type(body["call_type"])
        if call_type == CALL_TYPE_OUTBOUND:
            return self._create_outbound(body)
        return 201, self._create_queued(body, call_type or CALL_TYPE_INBOUND).render()

    def _lang(self, body: dict[str, Any]) -> str:
        lang = (body.get("lang") or "en").strip().lower()
        if lang not in self.world.languages:
            raise CreateRefused(Msg.LANGUAGE_NOT_AVAILABLE.format(lang=body.get("lang")))
        return lang

    def _contact_number(self, body: dict[str, Any]) -> tuple[str, str | None]:
        """ticket_id has the higher priority: the ticket's contact is dialled."""
        ticket_id = ticket_id_value(body.get("ticket_id"))
        if ticket_id is None:
            return str(body["end_user_number"]).strip(), None
        ticket = self.world.tickets.get(ticket_id)
        if ticket is None:
            raise CreateRefused(Msg.CONTACT_NOT_FOUND)
        return ticket.phone, ticket.id

    def _create_outbound(self, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        w = self.world
        agent = w.agents.get(str(body["agent_email"]).strip().lower())
        if agent is None:
            raise CreateRefused(Msg.NOT_A_VALID_AGENT_EMAIL)
        if not agent.can_call:
            raise CreateRefused(Msg.AGENT_NO_ACCESS)
        number, ticket_id = self._contact_number(body)
        lang = self._lang(body)
        if not agent.available:
            raise CreateRefused(Msg.AGENT_NOT_AVAILABLE)
        # An outbound_number not managed in Settings falls back to the default, as the
        # incoming-call table says; the outbound table only promises the default when empty.
        requested = body.get("outbound_number")
        managed = requested if requested in w.outbound_numbers else None
        if managed is None and requested is None and agent.outbound_choice != "default":
            return self._await_agent(agent, body, number, ticket_id, lang)
        call = self._new_outbound(
            agent, number, ticket_id, lang, managed or w.default_outbound_number
        )
        return 201, call.render()

    def _await_agent(
        self, agent: Agent, body: dict[str, Any], number: str, ticket_id: str | None, lang: str
    ) -> tuple[int, dict[str, Any] | None]:
        """202: the agent must pick a number in the widget; 200: the adapter is prompted and
        the answer echoes the request. Either way the call comes later, placed by the agent."""
        action = {
            "agent_email": agent.email,
            "end_user_number": number,
            "ticket_id": ticket_id,
            "kind": "widget" if agent.outbound_choice == "widget" else "adapter",
            "requested_at": format_time(self.sim.now),
            "call_id": None,
            "outcome": "pending",
        }
        self.world.pending_actions.append(action)
        self.sim.after(AGENT_ACTION_SECONDS, self._agent_places_call, action, lang)
        if agent.outbound_choice == "widget":
            return 202, None
        echo = {
            "call_type": body["call_type"],
            "agent_email": agent.email,
            "end_user_number": number,
            "lang": lang,
        }
        return 200, echo

    def _agent_places_call(self, action: dict[str, Any], lang: str) -> None:
        agent = self.world.agents[action["agent_email"]]
        if not agent.available:
            action["outcome"] = "abandoned"
            return
        call = self._new_outbound(
            agent,
            action["end_user_number"],
            action["ticket_id"],
            lang,
            self.world.default_outbound_number,
        )
        action["call_id"] = call.id
        action["outcome"] = "placed"

    def _new_outbound(
        self, agent: Agent, number: str, ticket_id: str | None, lang: str, outbound_number: str
    ) -> CallRecord:
        w = self.world
        now = self.sim.now
        call = CallRecord(
            id=w.new_call_id(),
            call_type=CALL_TYPE_OUTBOUND,
            status=CallStatus.ASSIGNED,
            lang=lang,
            created_at=now,
            end_user_number=number,
            agent=agent,
            ticket_id=ticket_id,
            outbound_number=outbound_number,
            assigned_at=now,
        )
        # Like the seed's example, a bare number has no end user record until it is known.
        end_user = w.tickets.get(ticket_id or "")
        call.end_user = w.known_end_user(number) if end_user is not None else None
        self._init_flags(call)
        call.participants = [
            ParticipantRecord(w.new_participant_id(), "agent", call.id, user_id=agent.id),
            ParticipantRecord(
                w.new_participant_id(),
                "end_user",
                call.id,
                end_user_id=call.end_user.id if call.end_user else None,
            ),
        ]
        agent.busy_call = call.id
        w.calls[call.id] = call
        self._changed(call, None)
        self.sim.after(1.0, self._dial_end_user, call.id)
        return call

    def _create_queued(self, body: dict[str, Any], call_type: str) -> CallRecord:
        w = self.world
        scheduled = call_type == CALL_TYPE_SCHEDULED
        parent: CallRecord | None = None
        if scheduled and body.get("call_id") not in (None, ""):
            parent_id = menu_id_value(body["call_id"])
            parent = w.calls.get(parent_id) if parent_id is not None else None
            if parent is None:
                raise CreateRefused(Msg.CALL_NOT_FOUND.format(call_id=body["call_id"]))
        if body.get("menu_id") in (None, ""):
            menu = parent.menu if parent is not None else None
            if menu is None:  # a parent without a menu (an outbound call) gives none to inherit
                raise CreateRefused(Msg.MENU_ID_REQUIRED)
        else:
            menu_id = menu_id_value(body["menu_id"])
            menu = w.menus.get(menu_id) if menu_id is not None else None
            if menu is None:
                raise CreateRefused(Msg.MENU_NOT_FOUND.format(menu_id=body["menu_id"]))
            # Only a menu_id given in the body is checked for its channel: a call back
            # linked by call_id stays on its parent's queue, IVR included (the tables speak
            # of "Mobile and Web menu IDs" as an input rule).
            allowed = SCHEDULED_MENU_TYPES if scheduled else INBOUND_MENU_TYPES
            if menu.menu_type not in allowed:
                raise CreateRefused(
                    Msg.SCHEDULED_MENU_TYPES if scheduled else Msg.INBOUND_MENU_TYPES
                )
        number, ticket_id = self._contact_number(body)
        scheduled_at = None
        if scheduled:
            when = parse_scheduled_at(body["scheduled_at"])
            scheduled_at = when.timestamp() if when else None
            if scheduled_at is None or scheduled_at <= self.sim.now:
                raise CreateRefused(Msg.SCHEDULED_AT_NOT_FUTURE)
        lang = self._lang(body)
        if menu.state == "manual_redirection":
            raise CreateRefused(Msg.MENU_MANUAL_REDIRECTION)
        if menu.state == "after_hours":
            raise CreateRefused(Msg.MENU_AFTER_HOURS)
        permission = "not_asked"
        if menu.ask_recording_permission:
            permission = str(
                body.get("recording_permission") or "recording_permission_not_asked"
            ).removeprefix("recording_permission_")
        now = self.sim.now
        end_user = w.end_user_for(number)
        call = CallRecord(
            id=w.new_call_id(),
            call_type=call_type,
            status=CallStatus.SCHEDULED if scheduled else CallStatus.QUEUED,
            lang=lang,
            created_at=now,
            end_user_number=number,
            parent_id=parent.id if parent else None,
            menu=menu,
            end_user=end_user,
            ticket_id=ticket_id,
            outbound_number=w.default_outbound_number,
            recording_permission=permission,
            queued_at=None if scheduled else now,
            scheduled_at=scheduled_at,
        )
        self._init_flags(call)
        call.participants = [
            ParticipantRecord(w.new_participant_id(), "end_user", call.id, end_user_id=end_user.id)
        ]
        w.calls[call.id] = call
        self._changed(call, None)
        if scheduled:
            self.sim.at(scheduled_at, self._scheduled_due, call.id)
        else:
            self._start_queue_wait(call)
        return call

    def simulate_incoming_call(
        self,
        end_user_number: str,
        *,
        menu_id: int = 9,
        lang: str = "en",
        ticket_id: str | None = None,
    ) -> dict[str, Any]:
        """Demo traffic: an end user calls the IVR of ``menu_id``. Raises CreateRefused."""
        body: dict[str, Any] = {
            "call_type": CALL_TYPE_INBOUND,
            "lang": lang,
            "menu_id": menu_id,
            "end_user_number": end_user_number,
        }
        if ticket_id is not None:
            body["ticket_id"] = ticket_id
        status, payload = self.create_call(body)
        assert status == 201 and payload is not None
        return payload

    def _init_flags(self, call: CallRecord) -> None:
        # Reserved data attributes "during a call": kept per call; repeat_customer starts
        # true when the same end user called before.
        call.flags = {
            "verified_customer": False,
            "bad_actor": False,
            "repeat_customer": self.world.had_calls(call.end_user_number),
        }

    # --- reads -------------------------------------------------------------------

    def _call_from(self, request: Request) -> CallRecord | None:
        raw = request.path_params.get("call_id", "")
        return self.world.calls.get(int(raw)) if raw.isdigit() else None

    async def _get(self, request: Request) -> Response:
        call = self._call_from(request)
        if call is None:
            return _not_found()
        return json_response(call.render(manager=True))

    async def _flags_get(self, request: Request) -> Response:
        call = self._call_from(request)
        if call is None:
            return _not_found()
        return json_response(dict(call.flags))

    async def _flags_patch(self, request: Request) -> Response:
        call = self._call_from(request)
        if call is None:
            return _not_found()
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return json_response({"message": Msg.FLAG_NOT_BOOLEAN.format(flag="body")}, status=400)
        updates: dict[str, bool] = {}
        # The PATCH example spells repeat_customers; the GET answer repeat_customer.
        for key, sources in (
            ("verified_customer", ("verified_customer",)),
            ("bad_actor", ("bad_actor",)),
            ("repeat_customer", ("repeat_customer", "repeat_customers")),
        ):
            source = next((s for s in sources if s in body), None)
            if source is None:
                continue
            value = _boolean(body[source])
            if value is None:
                return json_response(
                    {"message": Msg.FLAG_NOT_BOOLEAN.format(flag=source)}, status=400
                )
            updates[key] = value
        call.flags.update(updates)
        call.updated_at = self.sim.now
        response = json_response(dict(call.flags))
        response.committed = True
        return response

    async def _list(self, request: Request) -> Response:
        """Manager API listing, paginated the way api-pagination does it (headers)."""
        query = request.query_dict()
        page = _positive(query.get("page"), 1)
        per = min(_positive(query.get("per"), MAX_PER_PAGE), MAX_PER_PAGE)
        calls = list(self.world.calls.values())
        since = parse_time(query.get("created_at[from]"))
        until = parse_time(query.get("created_at[to]"))
        if since is not None:
            calls = [c for c in calls if c.created_at >= since.timestamp()]
        if until is not None:
            calls = [c for c in calls if c.created_at <= until.timestamp()]
        if query.get("status"):
            calls = [c for c in calls if c.status == query["status"]]
        column = query.get("sort_column") if query.get("sort_column") in SORT_COLUMNS else "id"
        descending = str(query.get("sort_direction", "ASC")).upper() == "DESC"
        calls.sort(key=lambda c: (getattr(c, column), c.id), reverse=descending)
        total = len(calls)
        last_page = max(1, -(-total // per))
        chunk = calls[(page - 1) * per : page * per]
        headers = [("total", str(total)), ("per-page", str(per))]
        link = self._link(request, query, page, last_page)
        if link:
            headers.append(("link", link))
        return json_response([c.render(manager=True) for c in chunk], headers=headers)

    def _link(self, request: Request, query: dict[str, str], page: int, last_page: int) -> str:
        host = request.header("host") or "sandbox"
        scheme = request.header("x-forwarded-proto") or "http"
        base = f"{scheme}://{host}{self.app.prefix}{request.path}"

        def url(n: int) -> str:
            return f"{base}?{urlencode({**query, 'page': n})}"

        parts = []
        if page > 1:
            parts += [f'<{url(1)}>; rel="first"', f'<{url(min(page - 1, last_page))}>; rel="prev"']
        if page < last_page:
            parts += [f'<{url(last_page)}>; rel="last"', f'<{url(page + 1)}>; rel="next"']
        return ", ".join(parts)


def _not_found() -> Response:
    return json_response({"message": "Resource not found"}, status=404)


def _positive(value: str | None, default: int) -> int:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return number if number > 0 else default


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None
