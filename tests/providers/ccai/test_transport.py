"""Auth, 404, rate limits, server errors and lost answers."""

from __future__ import annotations

import httpx
import pytest

from dashboard.providers.base import ProviderUnavailable, RetryPolicy
from dashboard.providers.ccai.client import CcaiClient
from dashboard.providers.ccai.errors import CcaiError, CcaiRateLimited, CcaiUnavailable
from dashboard.sandbox.app import SandboxApp

from .conftest import BASE_URL, Sleeps, make_client, no_sleep


async def test_bad_credentials_are_401(ccai_app: SandboxApp):
    client = make_client(ccai_app, company_secret="wrong")
    with pytest.raises(CcaiError) as caught:
        await client.create_incoming_call(menu_id=9, end_user_number="+1 650-555-0100")
    error = caught.value
    assert (error.status, error.mnemonic, error.permanent) == (401, "unauthorized", True)
    assert "HTTP Basic: Access denied." in error.details["body"]
    with pytest.raises(CcaiError):
        await client.list_calls_page()
    assert ccai_app.twin("ccai").ledger()["calls"] == []


async def test_raw_requests_without_or_with_bad_auth(ccai_app: SandboxApp):
    async with httpx.AsyncClient(
        base_url=BASE_URL, transport=httpx.ASGITransport(app=ccai_app)
    ) as plain:
        for method, path in (
            ("POST", "/apps/api/v1/calls"),
            ("GET", "/apps/api/v1/calls/1/customer_flag"),
            ("PATCH", "/apps/api/v1/calls/1/customer_flag"),
            ("GET", "/manager/api/v1/calls"),
            ("GET", "/manager/api/v1/calls/1"),
        ):
            response = await plain.request(method, path, json={})
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == 'Basic realm="Application"'
        response = await plain.get("/manager/api/v1/calls", headers={"Authorization": "Basic !!!"})
        assert response.status_code == 401


async def test_subdomain_and_api_token_are_credentials_too(ccai_app: SandboxApp):
    state = ccai_app.twin("ccai").state()
    client = CcaiClient(
        base_url=BASE_URL,
        subdomain=state["subdomain"],
        api_token=state["api_token"],
        transport=httpx.ASGITransport(app=ccai_app),
        sleep=no_sleep,
    )
    page = await client.list_calls_page()
    assert page.total == 0 and page.calls == ()


def test_credentials_are_required():
    with pytest.raises(ValueError):
        CcaiClient(base_url=BASE_URL, company_key="only-the-key")
    client = CcaiClient.for_subdomain("acme", "tok", domain="uc1.ccaiplatform.com")
    assert client.http.base_url == "https://acme.uc1.ccaiplatform.com"


async def test_unknown_path_is_404(ccai_app: SandboxApp):
    client = make_client(ccai_app, base_url="http://sandbox/not-ccai")
    with pytest.raises(CcaiError) as caught:
        await client.get_call(1)
    assert (caught.value.status, caught.value.mnemonic) == (404, "not_found")


async def test_local_refusal_sends_nothing():
    sent: list[httpx.Request] = []
    client = CcaiClient(
        base_url="https://acme.ccaiplatform.com",
        company_key="k",
        company_secret="s",
        transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(500)),
        sleep=no_sleep,
    )
    with pytest.raises(CcaiError) as caught:
        await client.create_outbound_call(agent_email="", end_user_number="+1 650-555-0100")
    assert caught.value.status is None and caught.value.details == {"local": True}
    assert caught.value.message == "Agent email required" and caught.value.field == "agent_email"
    with pytest.raises(CcaiError) as caught:
        await client.create_incoming_call(
            menu_id=9, end_user_number="+1 650-555-0100", recording_permission="yes"
        )
    assert caught.value.mnemonic == "invalid_recording_permission"
    with pytest.raises(CcaiError) as caught:
        # The typed helpers pin their call type: an incoming type on the outbound helper.
        await client.create_outbound_call(
            agent_email="a@b.co", end_user_number="+1 650-555-0100", call_type="IncomingCall"
        )
    assert caught.value.message == "Invalid call type"
    assert sent == []


async def test_deprecated_call_type_aliases_are_accepted(ccai: CcaiClient):
    result = await ccai.create_outbound_call(
        agent_email="admin@somedomain.com",
        end_user_number="+1 650-555-0100",
        call_type="OutboundCall",
    )
    assert result.call.call_type == "Voice Outbound (API)"
    result = await ccai.create_incoming_call(
        menu_id=9, end_user_number="+1 650-555-0102", call_type="IncomingCall"
    )
    assert result.call.call_type == "Voice Inbound (API)"
    result = await ccai.create_scheduled_call(
        menu_id=11,
        end_user_number="+1 650-555-0103",
        scheduled_at="2026-01-01T12:00:00Z",
        call_type="ScheduledCall",
        recording_permission="recording_permission_granted",
    )
    assert result.call.call_type == "Voice Scheduled (API)"
    # Menu 11 asks for permission: the answer carries the end user's choice.
    assert result.call.recording_permission == "granted"


async def test_rate_limit_is_waited_out_with_retry_after(ccai_app: SandboxApp):
    sleeps = Sleeps()
    client = make_client(ccai_app, sleep=sleeps)
    ccai_app.faults.update({"rate_limit_rate": 1.0})
    with pytest.raises(CcaiRateLimited) as caught:
        await client.create_incoming_call(menu_id=9, end_user_number="+1 650-555-0100")
    error = caught.value
    assert (error.status, error.mnemonic, error.permanent, error.retry_after) == (
        429,
        "rate_limited",
        False,
        1.0,
    )
    assert sleeps.waits == [1.0, 1.0]  # three attempts, Retry-After between them
    assert ccai_app.twin("ccai").ledger()["calls"] == []


async def test_a_429_then_success_goes_through_even_for_post():
    answers = iter(
        [
            httpx.Response(
                429, headers={"Retry-After": "2"}, json={"message": "Too Many Requests"}
            ),
            httpx.Response(429),
            httpx.Response(202),
        ]
    )
    sleeps = Sleeps()
    client = CcaiClient(
        base_url="https://acme.ccaiplatform.com",
        company_key="k",
        company_secret="s",
        transport=httpx.MockTransport(lambda r: next(answers)),
        sleep=sleeps,
        retry=RetryPolicy(attempts=3, backoff=0.5),
    )
    result = await client.create_outbound_call(
        agent_email="a@b.co", end_user_number="+1 650-555-0100"
    )
    assert result.status_code == 202
    assert sleeps.waits[0] == 2.0 and len(sleeps.waits) == 2  # then the policy's backoff


async def test_a_retry_after_beyond_the_limit_is_handed_back_at_once():
    sleeps = Sleeps()
    client = CcaiClient(
        base_url="https://acme.ccaiplatform.com",
        company_key="k",
        company_secret="s",
        transport=httpx.MockTransport(
            lambda r: httpx.Response(429, headers={"Retry-After": "120"})
        ),
        sleep=sleeps,
        max_retry_after=30,
    )
    with pytest.raises(CcaiRateLimited) as caught:
        await client.get_call(1)
    assert caught.value.retry_after == 120 and sleeps.waits == []


async def test_server_errors_retry_reads_but_never_a_create(ccai_app: SandboxApp):
    ccai_app.faults.update({"error_rate": 1.0})
    client = make_client(ccai_app)
    with pytest.raises(CcaiUnavailable) as caught:
        await client.create_incoming_call(menu_id=9, end_user_number="+1 650-555-0100")
    assert (caught.value.status, caught.value.permanent) == (503, False)
    assert len(client.timings.recent()) == 1  # no retry: a repeat could place a second call
    with pytest.raises(CcaiUnavailable):
        await client.list_calls_page()
    assert len(client.timings.recent()) == 1 + 3
    assert client.timings.summary()["errors"] == 4


async def test_a_lost_answer_after_commit_is_transient_and_the_call_exists(ccai_app: SandboxApp):
    """No idempotence key in this API: the caller finds the call by listing, not by retrying."""
    ccai_app.faults.update({"drop_rate": 1.0})
    client = make_client(ccai_app)
    with pytest.raises(ProviderUnavailable) as caught:
        await client.create_outbound_call(
            agent_email="admin@somedomain.com", end_user_number="+1 650-555-0100"
        )
    assert caught.value.permanent is False
    ccai_app.faults.clear()
    calls = [c async for c in client.iter_calls()]
    assert [(c.call_type, c.agent_info.first_name) for c in calls] == [
        ("Voice Outbound (API)", "Admin")
    ]
