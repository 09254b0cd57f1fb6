"""How a CCAI sandbox call moves: the scheduled events behind every status change.

Mixed into ``CcaiSandbox``; split out so the twin's module keeps to the HTTP surface.
Every change goes through ``_move``, which renders the call and emits one
``call.status_changed`` webhook (body in ``webhooks.py``).
"""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING, Any

from .models import CallStatus, format_time
from .rules import CALL_TYPE_SCHEDULED
from .sandbox_world import Agent, CallRecord, ParticipantRecord, World
from .webhooks import EVENT_STATUS_CHANGED, build_status_change

if TYPE_CHECKING:
    from dashboard.sandbox.notify import Notifier
    from dashboard.sandbox.sim import Simulation, SubscriberProfile

__all__ = ["QUEUE_PATIENCE_SECONDS", "QUEUE_RETRY_SECONDS", "RING_OUT_SECONDS", "CallLifecycle"]

RING_OUT_SECONDS = 30.0
QUEUE_PATIENCE_SECONDS = 180.0
QUEUE_RETRY_SECONDS = 5.0


class CallLifecycle:
    name: str
    world: World
    rng: random.Random | Any

    if TYPE_CHECKING:

        @property
        def sim(self) -> Simulation: ...

        @property
        def notifier(self) -> Notifier: ...

        def subscriber(self, phone: str) -> SubscriberProfile: ...

    def _changed(self, call: CallRecord, previous: str | None) -> None:
        now = self.sim.now
        call.updated_at = now
        call.sequence += 1
        call.history.append((now, str(call.status)))
        body = build_status_change(
            call=call.render(),
            previous_status=previous,
            sequence=call.sequence,
            event_time=format_time(now) or "",
            end_user_number=call.end_user_number,
            agent_email=call.agent.email if call.agent else None,
            menu_id=call.menu.id if call.menu else None,
        )
        self.notifier.emit(self.name, EVENT_STATUS_CHANGED, body=json.dumps(body))

    def _move(self, call: CallRecord, status: str) -> None:
        previous = str(call.status)
        call.status = status
        self._changed(call, previous)

    def _live(self, call_id: int, *statuses: str) -> CallRecord | None:
        call = self.world.calls.get(call_id)
        return call if call is not None and call.status in statuses else None

    def _dial_end_user(self, call_id: int) -> None:
        call = self._live(call_id, CallStatus.ASSIGNED)
        if call is None:
            return
        now = self.sim.now
        agent_leg = call.participant("agent")
        if agent_leg is not None:
            agent_leg.status = "connected"
            agent_leg.connected_at = now
        end_leg = call.participant("end_user")
        if end_leg is not None:
            end_leg.status = "connecting"
        self._move(call, CallStatus.CONNECTING)
        profile = self.subscriber(call.end_user_number)
        if profile.kind == "nonexistent":
            self.sim.after(2.0, self._fail, call.id, "invalid_number")
        elif profile.kind == "busy":
            self.sim.after(3.0, self._fail, call.id, "busy")
        elif profile.kind == "answers" and self.rng.random() < profile.answer_probability:
            self.sim.after(min(profile.ring_seconds, RING_OUT_SECONDS - 1), self._connect, call.id)
        else:
            self.sim.after(RING_OUT_SECONDS, self._fail, call.id, "no_answer")

    def _connect(self, call_id: int) -> None:
        call = self._live(call_id, CallStatus.CONNECTING)
        if call is None:
            return
        now = self.sim.now
        call.connected_at = now
        for leg in call.participants:
            if leg.status != "connected":
                leg.status = "connected"
                leg.connected_at = now
        self._move(call, CallStatus.CONNECTED)
        talk = self.subscriber(call.end_user_number).talk_seconds
        self.sim.after(talk, self._finish, call.id)

    def _finish(self, call_id: int) -> None:
        call = self._live(call_id, CallStatus.CONNECTED)
        if call is None:
            return
        now = self.sim.now
        call.ends_at = now
        call.disconnected_by = self.rng.choice(
            ["disconnected_by_end_user", "disconnected_by_agent"]
        )
        for leg in call.participants:
            leg.status = "finished"
            leg.ended_at = now
        self._release(call)
        self._move(call, CallStatus.FINISHED)

    def _fail(self, call_id: int, reason: str) -> None:
        call = self._live(call_id, CallStatus.QUEUED, CallStatus.ASSIGNED, CallStatus.CONNECTING)
        if call is None:
            return
        now = self.sim.now
        call.ends_at = now
        call.fail_reason = reason
        for leg in call.participants:
            if leg.type == "end_user":
                leg.status = "failed"
                leg.fail_reason = reason
            else:
                leg.status = "finished"
            leg.ended_at = now
        self._release(call)
        self._move(call, CallStatus.FAILED)

    def _release(self, call: CallRecord) -> None:
        if call.agent is not None and call.agent.busy_call == call.id:
            call.agent.busy_call = None
            # The agent takes the next waiting queue call at once.
            self.sim.after(0.0, self._offer_queue)

    def _scheduled_due(self, call_id: int) -> None:
        call = self._live(call_id, CallStatus.SCHEDULED)
        if call is None:
            return
        call.queued_at = self.sim.now
        self._move(call, CallStatus.QUEUED)
        self._start_queue_wait(call)

    def _start_queue_wait(self, call: CallRecord) -> None:
        self.sim.after(QUEUE_PATIENCE_SECONDS, self._abandon, call.id)
        self.sim.after(3.0, self._try_assign, call.id)

    def _abandon(self, call_id: int) -> None:
        # Only a call still waiting in the queue is given up; an assigned one goes on.
        if self._live(call_id, CallStatus.QUEUED) is not None:
            self._fail(call_id, "abandoned")

    def _try_assign(self, call_id: int) -> None:
        call = self._live(call_id, CallStatus.QUEUED)
        if call is None:
            return
        # First come, first served: an older queued call gets the agent first.
        older = [
            c for c in self.world.calls.values() if c.status == CallStatus.QUEUED and c.id < call.id
        ]
        agent = self.world.queue_agent() if not older else None
        if agent is None:
            self.sim.after(QUEUE_RETRY_SECONDS, self._try_assign, call.id)
            return
        self._assign(call, agent)

    def _offer_queue(self) -> None:
        for call in sorted(self.world.calls.values(), key=lambda c: c.id):
            if call.status != CallStatus.QUEUED:
                continue
            agent = self.world.queue_agent()
            if agent is None:
                return
            self._assign(call, agent)

    def _assign(self, call: CallRecord, agent: Agent) -> None:
        now = self.sim.now
        call.agent = agent
        call.assigned_at = now
        agent.busy_call = call.id
        call.participants.insert(
            0,
            ParticipantRecord(self.world.new_participant_id(), "agent", call.id, user_id=agent.id),
        )
        self._move(call, CallStatus.ASSIGNED)
        if call.call_type == CALL_TYPE_SCHEDULED:
            # A scheduled call is a call back: the end user is dialled like an outbound call.
            self.sim.after(2.0, self._dial_end_user, call.id)
        else:
            self.sim.after(2.0, self._agent_connecting, call.id)

    def _agent_connecting(self, call_id: int) -> None:
        call = self._live(call_id, CallStatus.ASSIGNED)
        if call is None:
            return
        agent_leg = call.participant("agent")
        if agent_leg is not None:
            agent_leg.status = "connecting"
        self._move(call, CallStatus.CONNECTING)
        self.sim.after(3.0, self._connect, call.id)
