"""Idempotence-Key (seed 001), the crmCalls 24 h duplicate rule (provider notes), and the
client surviving a lost answer without duplicating jobs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from dashboard.providers.jaicp.client import JaicpClient, JaicpError
from dashboard.providers.jaicp.sandbox import JaicpSandbox
from dashboard.sandbox.app import SandboxApp

from .conftest import NEW, PAUSED, RUNNING

DAY = 24 * 3600


def api_jobs(twin: JaicpSandbox, token: str | None = None) -> list[dict]:
    return [
        j
        for j in twin.ledger()["call_jobs"]
        if j["source"] != "list" and (token is None or j["campaign_token"] == token)
    ]


async def test_same_key_same_content_creates_one_set_of_jobs(
    client: JaicpClient, twin: JaicpSandbox
) -> None:
    items = [{"phone": "79110000001"}, {"phone": "79110000002", "payload": {"name": "Alex"}}]
    first = await client.add_phones(items, idempotence_key="batch-1")
    second = await client.add_phones(items, idempotence_key="batch-1")
    assert first == second
    jobs = api_jobs(twin)
    assert [j["job_id"] for j in jobs] == first
    assert {j["idempotence_key"] for j in jobs} == {"batch-1"}


async def test_without_a_key_each_request_is_new(
    raw: httpx.AsyncClient, twin: JaicpSandbox
) -> None:
    # Seed 000: adding the same phone again makes a new call job.
    url = f"/jaicp/api/calls/campaign/{RUNNING}/addPhones"
    a = (await raw.post(url, json=[{"phone": "79110000001"}])).json()
    b = (await raw.post(url, json=[{"phone": "79110000001"}])).json()
    assert a != b
    reports = (
        await raw.post(
            f"/jaicp/api/calls/campaign/{RUNNING}/callJob/getReport",
            json={"phones": ["79110000001"]},
        )
    ).json()
    assert [r["redialNumber"] for r in reports] == [None, 1]


async def test_different_keys_make_different_jobs(client: JaicpClient) -> None:
    a = await client.add_phones([{"phone": "79110000001"}], idempotence_key="k-a")
    b = await client.add_phones([{"phone": "79110000001"}], idempotence_key="k-b")
    assert a != b


async def test_same_key_different_content_is_a_conflict(
    client: JaicpClient, twin: JaicpSandbox
) -> None:
    await client.add_phones([{"phone": "79110000001"}], idempotence_key="k1")
    with pytest.raises(JaicpError) as info:
        await client.add_phones([{"phone": "79110000002"}], idempotence_key="k1")
    error = info.value
    assert (error.code, error.status, error.permanent) == ("idempotence.key.conflict", 400, True)
    assert error.message == "The idempotence key was already used with a different request"
    assert len(api_jobs(twin)) == 1


async def test_keys_are_account_wide(
    make_client: Callable[..., JaicpClient], twin: JaicpSandbox
) -> None:
    # Seed 001: to add the same numbers to another campaign, use another key.
    await make_client(RUNNING).add_phones([{"phone": "79110000001"}], idempotence_key="shared")
    with pytest.raises(JaicpError) as info:
        await make_client(PAUSED).add_phones([{"phone": "79110000001"}], idempotence_key="shared")
    assert info.value.code == "idempotence.key.conflict"
    await make_client(PAUSED).add_phones([{"phone": "79110000001"}], idempotence_key="other")
    assert len(api_jobs(twin, PAUSED)) == 1


async def test_keys_expire_one_day_after_first_use(
    app: SandboxApp, client: JaicpClient, twin: JaicpSandbox
) -> None:
    first = await client.add_phones([{"phone": "79110000001"}], idempotence_key="k1")
    app.advance(DAY - 1)
    assert await client.add_phones([{"phone": "79110000001"}], idempotence_key="k1") == first
    app.advance(1)
    again = await client.add_phones([{"phone": "79110000001"}], idempotence_key="k1")
    assert again != first
    assert len(api_jobs(twin)) == 2


async def test_error_answers_do_not_consume_the_key(
    make_client: Callable[..., JaicpClient], twin: JaicpSandbox
) -> None:
    client = make_client(RUNNING)
    with pytest.raises(JaicpError):
        await client.add_phones([{"phone": "not-a-phone"}], idempotence_key="k1")
    assert await client.add_phones([{"phone": "79110000001"}], idempotence_key="k1")


async def test_get_add_phone_key_in_the_query(raw: httpx.AsyncClient, twin: JaicpSandbox) -> None:
    url = f"/jaicp/api/calls/campaign/{RUNNING}/addPhone"
    params = {"phone": "16500000001", "Idempotence-Key": "d5f41bd4"}
    a = (await raw.get(url, params=params)).json()
    b = (await raw.get(url, params=params)).json()
    assert a == b and len(api_jobs(twin)) == 1
    conflict = await raw.get(url, params={**params, "name": "Alex"})
    assert conflict.status_code == 400
    assert conflict.json()["type"] == "idempotence.key.conflict"


async def test_cancel_and_control_replay(client: JaicpClient, twin: JaicpSandbox) -> None:
    ids = await client.add_phones([{"phone": "79110000001"}])
    assert await client.cancel(ids=ids, idempotence_key="c1") == ids
    # A replay answers the same ids, though nothing is left to cancel.
    assert await client.cancel(ids=ids, idempotence_key="c1") == ids
    assert await client.cancel(ids=ids) == []
    await client.pause(idempotence_key="p1")
    await client.pause(idempotence_key="p1")  # replayed, not "cannot pause a paused campaign"
    with pytest.raises(JaicpError):
        await client.pause()


# --- crmCalls duplicate rule ------------------------------------------------------------


async def test_crm_same_phone_and_payload_within_a_day_is_refused(
    app: SandboxApp, client: JaicpClient, twin: JaicpSandbox
) -> None:
    first = await client.crm_add_phone(
        "79110000001", payload={"name": "Alex"}, idempotence_key="k1"
    )
    # Same key within 24 h: the same job id.
    assert (
        await client.crm_add_phone("79110000001", payload={"name": "Alex"}, idempotence_key="k1")
        == first
    )
    # Another key (or none): refused.
    with pytest.raises(JaicpError) as info:
        await client.crm_add_phone("79110000001", payload={"name": "Alex"}, idempotence_key="k2")
    assert (info.value.code, info.value.field, info.value.value) == (
        "phone.duplicated",
        "phone",
        "79110000001",
    )
    with pytest.raises(JaicpError):
        await client.crm_add_phone("79110000001", payload={"name": "Alex"}, method="GET")
    # Another payload is another request.
    other = await client.crm_add_phone("79110000001", payload={"name": "Boris"})
    assert other != first
    # The test method skips the check.
    await client.test_add_phone("79110000001", payload={"name": "Alex"})
    # After 24 h: a new job.
    app.advance(DAY)
    later = await client.crm_add_phone("79110000001", payload={"name": "Alex"})
    assert later not in {first, other}
    assert Counter(j["source"] for j in api_jobs(twin)) == {"crm": 3, "test": 1}


async def test_crm_without_payload(client: JaicpClient) -> None:
    await client.crm_add_phone("79110000001")
    with pytest.raises(JaicpError) as info:
        await client.crm_add_phone("+79110000001", method="GET")
    assert info.value.code == "phone.duplicated"


# --- the response lost after commit --------------------------------------------------------


async def test_dropped_answers_with_retries_never_duplicate_a_phone(
    app: SandboxApp, make_client: Callable[..., JaicpClient], twin: JaicpSandbox
) -> None:
    client = make_client(NEW)
    app.faults.update({"drop_rate": 0.5})
    phones = [f"7911{n:07d}" for n in range(1, 41)]
    returned: list[str] = []
    for start in range(0, len(phones), 4):
        batch = [{"phone": p} for p in phones[start : start + 4]]
        returned += await client.add_phones(batch)  # one generated key, reused on retry
    for phone in ("79220000001", "79220000002", "79220000003"):
        returned.append(await client.crm_add_phone(phone))
        returned.append(await client.add_phone(phone.replace("792", "793")))
    jobs = api_jobs(twin, NEW)
    assert Counter(j["phone"] for j in jobs).most_common(1)[0][1] == 1
    assert sorted(returned) == sorted(j["job_id"] for j in jobs)
    # The fault did fire: some requests were sent more than once.
    assert len(client.timings.recent()) > 40 // 4 + 6
    assert any(not r.ok for r in client.timings.recent())


async def test_dropped_control_answer_is_replayed(
    app: SandboxApp, make_client: Callable[..., JaicpClient]
) -> None:
    client = make_client(RUNNING)
    app.faults.update({"drop_rate": 1.0})
    await client.pause()  # committed and dropped once, then replayed from the key
    app.faults.clear()
    assert await client.status() == "paused"
