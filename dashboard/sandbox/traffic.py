"""Demo traffic: the sandbox keeps a realistic number of calls going to the demo agents,
so the wall is alive from the first second of `make run`.

CallGear: incoming calls to the first employees that have phone numbers (the demo links
its agents to them), topped up to a target of active sessions. CCAI: now and then an end
user calls an IVR menu and is routed to an available agent.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dashboard.sandbox.app import SandboxApp

logger = logging.getLogger(__name__)


class DemoTraffic:
    def __init__(self, app: SandboxApp, *, callgear_target: int = 5, ccai_target: int = 2, employees: int = 2,
                 every: float = 8.0) -> None:
        self.app = app
        self.callgear_target = callgear_target
        self.ccai_target = ccai_target
        self.employees = employees
        self.every = every  # realistic seconds between top-ups (scaled like every duration)
        self.rng = app.sim.rng_for("demo-traffic")
        self._next = 0.0
        self._n = 0

    def step(self) -> None:
        sim = self.app.sim
        if sim.clock.now() < self._next:
            return
        self._next = sim.clock.now() + sim.duration(self.every * self.rng.uniform(0.5, 1.5))
        try:
            self._callgear()
            self._ccai()
        except Exception:  # demo traffic must never break the sandbox
            logger.exception("demo traffic step failed")

    def _callgear(self) -> None:
        twin = self.app.twins.get("callgear")
        if twin is None:
            return
        staff = [e for e in twin.state()["employees"] if e.get("phone_numbers")][: self.employees]
        if not staff or len(twin.active_sessions()) >= self.callgear_target:
            return
        self._n += 1
        # Most callers answer and talk a while (the wall has something to show); a few don't.
        if self.rng.random() < 0.8:
            contact = twin.find_contact(answers=True, min_talk=300, start=self.rng.randrange(0, 5_000_000))
        else:
            contact = f"7916{self.rng.randrange(10**6, 10**7)}"
        twin.simulate_incoming_call(contact=contact, employee_id=self.rng.choice(staff)["id"])

    def _ccai(self) -> None:
        twin = self.app.twins.get("ccai")
        if twin is None or self.rng.random() > 0.35:
            return
        ledger = twin.ledger().get("calls", [])
        live = [c for c in ledger if c.get("status") not in ("finished", "failed", "deflected")]
        if len(live) >= self.ccai_target:
            return
        number = f"+1 415 555 {self.rng.randrange(1000, 9999)}"
        try:
            twin.simulate_incoming_call(number)
        except Exception as exc:  # e.g. the menu is after hours: try again later
            logger.debug("demo CCAI call refused: %s", exc)
