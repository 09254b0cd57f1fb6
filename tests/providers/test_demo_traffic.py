from __future__ import annotations

from dashboard.sandbox.app import SandboxApp
from dashboard.sandbox.sim import ManualClock


async def test_demo_traffic_keeps_calls_going_to_the_demo_employees():
    app = SandboxApp(clock=ManualClock(1_767_261_600.0), seed=1, demo_traffic=True)
    twin = app.twin("callgear")
    staff = {e["id"] for e in twin.state()["employees"] if e.get("phone_numbers")}
    seen = 0
    for _ in range(120):
        app.sim.advance(5)
        await app.tick()
        seen = max(seen, len(twin.active_sessions()))
    assert 2 <= seen <= app.traffic.callgear_target
    ledger = twin.ledger()["call_sessions"]
    assert len(ledger) >= 5  # calls keep coming as others end
    for session in twin.active_sessions():
        assert session.employee_id in staff


async def test_no_demo_traffic_unless_asked():
    app = SandboxApp(clock=ManualClock(1_767_261_600.0), seed=1)
    for _ in range(20):
        app.sim.advance(10)
        await app.tick()
    assert app.twin("callgear").ledger()["call_sessions"] == []
