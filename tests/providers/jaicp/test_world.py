"""The sandbox world: seed campaigns, state and ledger shapes, reset, determinism."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from dashboard.providers.jaicp.client import JaicpClient
from dashboard.providers.jaicp.sandbox import JaicpSandbox
from dashboard.sandbox.app import SandboxApp
from dashboard.sandbox.sim import ManualClock

from .conftest import BASE, FINISHED, NEW, PAUSED, RUNNING, no_sleep


async def test_state_lists_the_seed_campaigns(raw: httpx.AsyncClient) -> None:
    state = (await raw.get("/_sandbox/state")).json()["jaicp"]
    campaigns = {c["token"]: c for c in state["campaigns"]}
    assert {t: c["status"] for t, c in campaigns.items()} == {
        RUNNING: "inProgress",
        NEW: "new",
        PAUSED: "paused",
        FINISHED: "finished",
    }
    assert all(c["name"] for c in campaigns.values())
    assert campaigns[NEW]["policy"]["allowedDays"] == ["mon", "tue", "wed", "thu", "fri"]


async def test_ledger_shape(raw: httpx.AsyncClient, client: JaicpClient) -> None:
    [job_id] = await client.add_phones([{"phone": "79110000001"}], idempotence_key="k1")
    ledger = (await raw.get("/_sandbox/ledger")).json()["jaicp"]
    [row] = [j for j in ledger["call_jobs"] if j["job_id"] == job_id]
    assert row["campaign_token"] == RUNNING
    assert row["phone"] == "79110000001"
    assert row["idempotence_key"] == "k1"
    assert row["status"] in {"planned", "inProcess"}


async def test_reset_rebuilds_the_world(
    app: SandboxApp, raw: httpx.AsyncClient, client: JaicpClient, twin: JaicpSandbox
) -> None:
    await client.add_phones([{"phone": "79110000001"}], idempotence_key="k1")
    await client.stop()
    assert (await raw.post("/_sandbox/reset")).json() == {"reset": True}
    assert await client.status() == "inProgress"
    assert [j for j in twin.ledger()["call_jobs"] if j["source"] != "list"] == []
    # Keys were forgotten with the world.
    [again] = await client.add_phones([{"phone": "79110000002"}], idempotence_key="k1")
    assert again


async def run_world(seed: int) -> list[tuple[str, str, int]]:
    app = SandboxApp(providers=("jaicp",), clock=ManualClock(), seed=seed)
    client = JaicpClient(BASE, RUNNING, transport=httpx.ASGITransport(app=app), sleep=no_sleep)
    ids = await client.add_phones([{"phone": f"7914{n:07d}"} for n in range(20)])
    app.advance(24 * 3600)
    reports = await client.call_job_report(ids=ids)
    await client.aclose()
    return [(r.phone, r.job_status, r.attempts_count) for r in reports]


async def test_same_seed_same_world() -> None:
    first = await run_world(1)
    assert first == await run_world(1)
    statuses = {status for _, status, _ in first}
    # Twenty seeded subscribers give a mix of outcomes, all final after a day.
    assert len(statuses) >= 2
    assert statuses <= {
        "longCallWithResult",
        "longCallWithNoResult",
        "noAnswer",
        "nonexistentNumber",
    }


async def test_paused_campaign_accepts_numbers_without_dialing(
    app: SandboxApp, make_client: Callable[..., JaicpClient]
) -> None:
    client = make_client(PAUSED)
    ids = await client.add_phones([{"phone": "79110000001"}])
    app.advance(3600)
    [report] = await client.call_job_report(ids=ids)
    assert (report.job_status, report.attempts_count) == ("planned", 0)
