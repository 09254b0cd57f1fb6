from dashboard.sandbox.sim import ManualClock, Simulation, subscriber_profile


def test_events_run_in_time_order_at_their_own_time():
    clock = ManualClock(1000.0)
    sim = Simulation(clock=clock, seed=3)
    seen = []
    sim.after(5, lambda: seen.append(("b", sim.now)))
    sim.after(2, lambda: seen.append(("a", sim.now)))
    sim.after(2, lambda: sim.after(10, lambda: seen.append(("c", sim.now))))
    sim.advance(20)
    assert seen == [("a", 1002.0), ("b", 1005.0), ("c", 1012.0)]
    assert clock.now() == 1020.0


def test_same_seed_same_subscriber():
    assert subscriber_profile("+1 650 555 0100", seed=1) == subscriber_profile("16505550100", seed=1)
