"""The three twins together, as the dashboard and outside tools see the sandbox."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from livecalls.models import WebhookEvent

ROOT = Path(__file__).resolve().parents[2]


async def test_state_has_every_documented_key(sandbox):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url="http://sb/sandbox") as c:
        state = (await c.get("/_sandbox/state")).json()
    assert {"token", "name", "status"} <= set(state["jaicp"]["campaigns"][0])
    cg = state["callgear"]
    for key in ["login", "password", "access_key", "virtual_numbers", "employees", "tags", "media_files",
                "scenarios", "talk_options", "coaches", "blacklist"]:
        assert key in cg, key
    assert {"id", "full_name", "phone_numbers"} <= set(cg["employees"][0])
    ccai = state["ccai"]
    for key in ["company_key", "company_secret", "agents", "menus", "outbound_numbers", "languages"]:
        assert key in ccai, key
    assert {"email", "available"} <= set(ccai["agents"][0])
    assert {"id", "menu_type"} <= set(ccai["menus"][0])


async def test_faults_are_validated_set_and_cleared_and_reset_rebuilds_the_world(sandbox):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url="http://sb/sandbox") as c:
        bad = await c.post("/_sandbox/faults", json={"error_rate": 2, "bogus": 1})
        assert bad.status_code == 400
        assert "error_rate must be between 0 and 1" in bad.json()["errors"]
        ok = await c.post("/_sandbox/faults", json={"latency_ms": 5, "notify_duplicate_rate": 0.5})
        assert ok.json()["latency_ms"] == 5
        assert (await c.get("/_sandbox/faults")).json()["notify_duplicate_rate"] == 0.5
        before = (await c.get("/_sandbox/state")).json()
        await c.post("/_sandbox/reset")
        assert (await c.get("/_sandbox/faults")).json()["latency_ms"] == 0
        assert (await c.get("/_sandbox/state")).json()["callgear"]["employees"] == before["callgear"]["employees"]
        ledger = (await c.get("/_sandbox/ledger")).json()
        assert set(ledger) == {"jaicp", "callgear", "ccai"}


async def test_injected_5xx_is_answered_before_anything_happens(sandbox):
    sandbox.faults.update({"error_rate": 1})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url="http://sb/sandbox") as c:
        token = sandbox.twin("jaicp").state()["campaigns"][0]["token"]
        response = await c.post(f"/jaicp/api/calls/campaign/{token}/addPhones", json=[{"phone": "16505550100"}],
                                headers={"Idempotence-Key": "k1"})
        assert response.status_code == 503
        sandbox.faults.clear()
        jobs = (await c.get("/_sandbox/ledger")).json()["jaicp"]["call_jobs"]
        assert not [j for j in jobs if j["phone"] == "16505550100"]


def test_webhook_targets_hide_their_secret_headers(sandbox):
    import asyncio

    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url="http://sb/sandbox") as c:
            r = await c.post("/_sandbox/webhooks", json={"provider": "callgear", "targets": [
                {"url": "http://dash/hooks/1/", "headers": {"X-Callboard-Secret": "topsecret"}}]})
            assert r.status_code == 200
            listing = (await c.get("/_sandbox/webhooks")).text
            assert "topsecret" not in listing and "X-Callboard-Secret" in listing
            r = await c.post("/_sandbox/webhooks", json={"provider": "nope", "targets": []})
            assert r.status_code == 400

    asyncio.run(go())


@pytest.mark.django_db(transaction=True)
async def test_sandbox_notifications_reach_the_dashboard_authenticated(sandbox, sandbox_transport, sandbox_accounts):
    """An account's "send sandbox notifications here" wiring, end to end without sockets."""
    from asgiref.sync import sync_to_async

    from dashboard.providers import accounts
    from dashboard.sandbox.embedded import embedded_webhook_targets

    with pytest.MonkeyPatch.context() as mp:
        from django.conf import settings

        mp.setattr(settings, "SANDBOX_URL", "http://testserver/sandbox")
        targets = await sync_to_async(embedded_webhook_targets)()
    assert set(targets) == {"callgear", "ccai"}
    for provider, provider_targets in targets.items():
        sandbox.notifier.set_targets(provider, provider_targets)

    account = sandbox_accounts["callgear"]
    employee = sandbox.twin("callgear").state()["employees"][0]
    async with accounts.open_callgear(account) as client:
        await client.start_employee_call(
            first_call="contact",
            virtual_phone_number=sandbox.twin("callgear").state()["virtual_numbers"][0],
            contact="79110000001",
            employee_id=employee["id"],
        )
    await sandbox.settle(120, step=1)
    count = await WebhookEvent.objects.filter(account=account).acount()
    assert count >= 2
    kinds = {e async for e in WebhookEvent.objects.filter(account=account).values_list("event_type", flat=True)}
    assert kinds  # the mnemonics the templates document
    assert not sandbox.notifier.failed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_runsandbox_serves_all_three_apis_on_a_port():
    port = _free_port()
    env = {**os.environ, "CALLBOARD_LOCAL": "1"}
    proc = subprocess.Popen([sys.executable, "manage.py", "runsandbox", "--port", str(port), "--seed", "3"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                state = httpx.get(f"{base}/_sandbox/state", timeout=1).json()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(proc.stdout.read().decode() if proc.stdout else "no output") from None
                time.sleep(0.2)
        token = state["jaicp"]["campaigns"][0]["token"]
        assert httpx.get(f"{base}/jaicp/api/calls/campaign/{token}/status").status_code == 200
        rpc = httpx.post(f"{base}/callgear/v4.0", json={"jsonrpc": "2.0", "id": 1, "method": "list.calls",
                                                         "params": {"access_token": state["callgear"]["access_key"]}})
        assert "result" in rpc.json(), rpc.text
        ccai = httpx.get(f"{base}/ccai/manager/api/v1/calls",
                         auth=(state["ccai"]["company_key"], state["ccai"]["company_secret"]))
        assert ccai.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
