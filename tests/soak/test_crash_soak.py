"""Issue 11: Callboard heals itself after crashes.

A standalone sandbox with faults on, a server without in-process workers, the scheduler
and one db_worker; a few thousand numbers pushed (one Push, pressed over HTTP) while the
worker is SIGKILLed at least ten times at random moments, several of them while a task
row is RUNNING. Then, with no manual step: every number in the provider's ledger exactly
once, no batch unsent, the reconcile advancing within three periods of the last restart,
and the wall's calls equal to the provider's list. Figures and logs: test-artifacts/soak/.
"""

from __future__ import annotations

import json
import os

import pytest

from bench.soakkit import ROOT, SoakConfig, SoakRun
from tests.soak.conftest import postgresql_skip_reason

pytestmark = pytest.mark.soak


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_push_and_the_wall_heal_after_the_worker_is_killed_again_and_again(database: str) -> None:
    if database == "postgresql" and (reason := postgresql_skip_reason()):
        pytest.skip(reason)
    config = SoakConfig(
        database=database,
        admin_database_url=os.environ.get("SCALE_DATABASE_URL", "") if database == "postgresql" else "",
        redis_url=os.environ.get("SCALE_REDIS_URL", "") if database == "postgresql" else "",
        phones=3000,
        batch_size=50,
        kills=10,
        finish_timeout=90,  # a healed push ends seconds after the last restart
        logs=ROOT / "test-artifacts" / "soak" / database,
        log=print,  # the timeline, shown with a failure
    )
    figures = SoakRun(config).run()
    report = json.dumps(figures.as_dict(), indent=1, default=str)

    # The harness did what it says: enough kills, several of them inside a task.
    assert figures.kills >= 10, report
    assert figures.kills_mid_task >= 3, report
    # Then, by itself: the push finished with every number at the provider exactly once
    # and nothing left unsent, the reconcile ran within three periods of the last restart
    # and the wall shows the provider's calls. All of it listed when any is not so.
    assert figures.problems() == [], report
