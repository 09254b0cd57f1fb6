"""Every documented JAICP error: the sandbox's status and body, and the ProviderError the
client raises for it (code and mnemonic = the body's type, message, field/value)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from dashboard.providers.base import ProviderError, ProviderUnavailable, RetryPolicy
from dashboard.providers.jaicp.client import JaicpClient, JaicpError
from dashboard.sandbox.app import SandboxApp

from .conftest import FINISHED, NEW, RUNNING, UNKNOWN, no_sleep

CALLS = "/jaicp/api/calls/campaign/{token}"
CRM = "/jaicp/api/crmCalls/campaign/{token}"
ENDPOINTS = [
    ("POST", CALLS + "/addPhones", [{"phone": "79110000001"}]),
    ("GET", CALLS + "/addPhone?phone=79110000001", None),
    ("GET", CRM + "/addPhone?phone=79110000001", None),
    ("POST", CRM + "/addPhone", None),
    ("GET", CRM + "/test/addPhone?phone=79110000001", None),
    ("POST", CALLS + "/callJob/cancel", {"ids": ["1"]}),
    ("POST", CALLS + "/callJob/getReport", {"ids": ["1"]}),
    ("POST", CALLS + "/getReport", {"ids": ["1"]}),
    ("POST", CALLS + "/callAttempt/getReport", {"ids": ["1"]}),
    ("POST", CALLS + "/callJob/getReportByDate", {}),
    ("POST", CALLS + "/callJob/getUnfinished", {}),
    ("POST", CALLS + "/callAttempt/getReportByDate", {}),
    ("GET", CALLS, None),
    ("GET", CALLS + "/status", None),
    ("POST", CALLS + "/control/pause", None),
    ("POST", CALLS + "/control/start", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_unknown_token_is_404_invalid_token_everywhere(
    raw: httpx.AsyncClient, method: str, path: str, body: object
) -> None:
    kwargs = {"json": body} if body is not None else {}
    if path.endswith("/addPhone") and method == "POST":
        kwargs = {"data": {"phone": "79110000001"}}
    response = await raw.request(method, path.format(token=UNKNOWN), **kwargs)
    assert response.status_code == 404
    assert response.json() == {"type": "invalid.token", "message": "Campaign is not found"}


async def test_client_calls_map_invalid_token(make_client: Callable[..., JaicpClient]) -> None:
    client = make_client(UNKNOWN)
    calls = [
        client.add_phones([{"phone": "79110000001"}]),
        client.add_phone("79110000001"),
        client.crm_add_phone("79110000001"),
        client.crm_add_phone("79110000001", method="GET"),
        client.test_add_phone("79110000001"),
        client.cancel(ids=["1"]),
        client.call_job_report(ids=["1"]),
        client.get_report(ids=["1"]),
        client.call_attempt_report(ids=["1"]),
        client.call_job_report_by_date(),
        client.call_job_unfinished(),
        client.call_attempt_report_by_date(),
        client.campaign_info(),
        client.status(),
        client.pause(),
    ]
    for call in calls:
        with pytest.raises(JaicpError) as info:
            await call
        error = info.value
        assert (error.code, error.mnemonic, error.status) == ("invalid.token", "invalid.token", 404)
        assert error.message == "Campaign is not found"
        assert error.permanent
        assert error.describe() == "Campaign is not found [jaicp: invalid.token]"


# --- addPhones ---------------------------------------------------------------------------


async def post_add_phones(
    raw: httpx.AsyncClient, body: object, token: str = RUNNING
) -> httpx.Response:
    return await raw.post(CALLS.format(token=token) + "/addPhones", json=body)


async def test_phone_duplicated(raw: httpx.AsyncClient, client: JaicpClient) -> None:
    body = [{"phone": "79110000001"}, {"phone": "79110000002"}, {"phone": "79110000001"}]
    response = await post_add_phones(raw, body)
    assert response.status_code == 400
    assert response.json() == {
        "type": "phone.duplicated",
        "message": "There are duplicated phone numbers in the phone list",
        "phone": "79110000001",
        "phonesDuplicates": ["79110000001"],
    }
    with pytest.raises(JaicpError) as info:
        await client.add_phones(body)
    error = info.value
    assert (error.code, error.field, error.value, error.status) == (
        "phone.duplicated",
        "phone",
        "79110000001",
        None,  # refused before sending
    )
    assert error.details["phonesDuplicates"] == ["79110000001"]


async def test_phone_bad_format(raw: httpx.AsyncClient, client: JaicpClient) -> None:
    response = await post_add_phones(raw, [{"phone": "call-me-maybe"}])
    assert response.status_code == 400
    assert response.json() == {
        "type": "phone.bad.format",
        "message": "Phone number call-me-maybe doesn't comply to regional format",
        "phone": "call-me-maybe",
    }
    # The client leaves regional rules to the server: the error comes from the wire.
    with pytest.raises(JaicpError) as info:
        await client.add_phones([{"phone": "call-me-maybe"}])
    error = info.value
    assert (error.code, error.mnemonic, error.status) == (
        "phone.bad.format",
        "phone.bad.format",
        400,
    )
    assert (error.field, error.value) == ("phone", "call-me-maybe")
    assert "regional format" in error.describe()


async def test_phone_gmt_zone_bad_format(raw: httpx.AsyncClient, client: JaicpClient) -> None:
    response = await post_add_phones(raw, [{"phone": "79110000001", "gmtZone": "+25:00"}])
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "phone.gmtZone.bad.format"
    assert (body["phone"], body["gmtZone"]) == ("79110000001", "+25:00")
    with pytest.raises(JaicpError) as info:
        await client.add_phones([{"phone": "79110000001", "gmtZone": "+25:00"}])
    error = info.value
    assert (error.code, error.field, error.value) == (
        "phone.gmtZone.bad.format",
        "gmtZone",
        "+25:00",
    )
    assert error.details["phone"] == "79110000001"
    # The same check guards the single-number methods.
    with pytest.raises(JaicpError) as info:
        await client.add_phone("79110000001", gmt_zone="Mars/Olympus")
    assert info.value.code == "phone.gmtZone.bad.format"


async def test_gmt_zone_bad_format_on_get_add_phone_wire(raw: httpx.AsyncClient) -> None:
    response = await raw.get(
        CRM.format(token=RUNNING) + "/addPhone", params={"phone": "79110000001", "gmtZone": "MSK"}
    )
    assert response.status_code == 400
    assert response.json()["type"] == "phone.gmtZone.bad.format"


async def test_invalid_call_task_state_when_the_campaign_is_finished(
    raw: httpx.AsyncClient, make_client: Callable[..., JaicpClient]
) -> None:
    response = await post_add_phones(raw, [{"phone": "79110000001"}], token=FINISHED)
    assert response.status_code == 400
    assert response.json() == {
        "type": "invalid.call.task.state",
        "message": "Campaign is stopped: phone numbers cannot be added",
        "state": "FINISHED",
    }
    client = make_client(FINISHED)
    for call in (
        client.add_phones([{"phone": "79110000001"}]),
        client.add_phone("79110000001"),
        client.crm_add_phone("79110000001"),
        client.test_add_phone("79110000001"),
    ):
        with pytest.raises(JaicpError) as info:
            await call
        assert (info.value.code, info.value.field, info.value.value) == (
            "invalid.call.task.state",
            "state",
            "FINISHED",
        )


async def test_invalid_call_allowed_time(raw: httpx.AsyncClient, client: JaicpClient) -> None:
    item = {
        "phone": "79110000001",
        "allowedTime": {
            "default": [
                {"localTimeFrom": "09:00", "localTimeTo": "13:00"},
                {"localTimeFrom": "12:00", "localTimeTo": "18:00"},
            ]
        },
    }
    response = await post_add_phones(raw, [item])
    assert response.status_code == 400
    assert response.json()["type"] == "invalid.call.allowed.time"
    assert response.json()["message"] == "Intervals must not overlap"
    with pytest.raises(JaicpError) as info:
        await client.add_phones([item])
    assert (info.value.code, info.value.field) == ("invalid.call.allowed.time", "allowedTime")


async def test_invalid_dialer_priority(raw: httpx.AsyncClient, client: JaicpClient) -> None:
    response = await post_add_phones(raw, [{"phone": "79110000001", "dialerPriority": 7}])
    assert response.status_code == 400
    assert response.json()["type"] == "invalid.dialer_priority"
    assert response.json()["message"] == (
        "The priority value must be an integer in the range between 1 and 5 inclusive"
    )
    with pytest.raises(JaicpError) as info:
        await client.add_phones([{"phone": "79110000001", "dialerPriority": 7}])
    assert (info.value.code, info.value.field, info.value.value) == (
        "invalid.dialer_priority",
        "dialerPriority",
        7,
    )


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"retryIntervalInMinutes": 2881}, "retryIntervalInMinutes"),
        ({"maxAttempts": 0}, "maxAttempts"),
        ({"allowedDays": ["mon", "mon"]}, "allowedDays"),
        (
            {"startDateTime": "2026-01-02T00:00:00Z", "finishDateTime": "2026-01-01T00:00:00Z"},
            "startDateTime",
        ),
        ({"externalCheck": {}}, "externalCheck"),
    ],
)
async def test_invalid_parameters(
    raw: httpx.AsyncClient, client: JaicpClient, item: dict, field: str
) -> None:
    response = await post_add_phones(raw, [{"phone": "79110000001", **item}])
    assert response.status_code == 400
    assert response.json()["type"] == "invalid.parameter"
    assert response.json()["field"] == field
    with pytest.raises(JaicpError) as info:
        await client.add_phones([{"phone": "79110000001", **item}])
    assert (info.value.code, info.value.field) == ("invalid.parameter", field)


async def test_malformed_json_body(raw: httpx.AsyncClient) -> None:
    response = await raw.post(
        CALLS.format(token=RUNNING) + "/addPhones",
        content=b"[{",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["type"] == "invalid.request"


# --- cancel and reports --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/callJob/cancel", "/callJob/getReport", "/getReport", "/callAttempt/getReport"]
)
async def test_id_and_phone_not_found(raw: httpx.AsyncClient, path: str) -> None:
    url = CALLS.format(token=RUNNING) + path
    response = await raw.post(url, json={"ids": ["123"]})
    assert response.status_code == 400
    assert response.json() == {
        "type": "id.not.found",
        "message": "Call job id 123 was not found in the campaign",
        "id": "123",
    }
    response = await raw.post(url, json={"phones": ["79990000001"]})
    assert response.status_code == 400
    assert response.json() == {
        "type": "phone.not.found",
        "message": "Phone 79990000001 was not found in the campaign",
        "phone": "79990000001",
    }


async def test_client_maps_not_found(client: JaicpClient) -> None:
    for call in (
        client.cancel(ids=["123"]),
        client.call_job_report(ids=["123"]),
        client.call_attempt_report(ids=["123"]),
    ):
        with pytest.raises(JaicpError) as info:
            await call
        assert (info.value.code, info.value.status) == ("id.not.found", 400)
    with pytest.raises(JaicpError) as info:
        await client.get_report(phones=["79990000001"])
    assert (info.value.code, info.value.field, info.value.value) == (
        "phone.not.found",
        "phone",
        "79990000001",
    )


async def test_jobs_not_added_through_the_api_cannot_be_cancelled(
    client: JaicpClient, twin
) -> None:
    # Seeded from a list in the UI: in reports, not cancellable (seed 000).
    listed = next(j for j in twin.campaigns[RUNNING].jobs.values() if j.source == "list")
    [report] = await client.call_job_report(ids=[str(listed.id)])
    assert report.phone == listed.phone
    with pytest.raises(JaicpError) as info:
        await client.cancel(ids=[str(listed.id)])
    assert info.value.code == "id.not.found"
    with pytest.raises(JaicpError) as info:
        await client.cancel(phones=[listed.phone])
    assert info.value.code == "phone.not.found"


@pytest.mark.parametrize(
    ("pagination", "field", "value"),
    [
        ({"page": 200}, "page", 200),
        ({"page": -1}, "page", -1),
        ({"pageSize": 0}, "pageSize", 0),
        ({"pageSize": 201}, "pageSize", 201),
    ],
)
@pytest.mark.parametrize("path", ["/callJob/getReportByDate", "/callAttempt/getReportByDate"])
async def test_pagination_limits(
    raw: httpx.AsyncClient, path: str, pagination: dict, field: str, value: int
) -> None:
    response = await raw.post(CALLS.format(token=RUNNING) + path, json={"pagination": pagination})
    assert response.status_code == 400
    assert response.json()["type"] == "invalid.pagination"
    assert (response.json()["field"], response.json()["value"]) == (field, value)


async def test_unfinished_pagination_limits_bare_body(raw: httpx.AsyncClient) -> None:
    response = await raw.post(
        CALLS.format(token=RUNNING) + "/callJob/getUnfinished", json={"pageSize": 500}
    )
    assert response.status_code == 400
    assert response.json()["field"] == "pageSize"


async def test_client_refuses_pagination_outside_the_spec(client: JaicpClient) -> None:
    with pytest.raises(JaicpError) as info:
        await client.call_job_report_by_date(page=200)
    assert (info.value.code, info.value.field) == ("invalid.pagination", "page")
    with pytest.raises(JaicpError):
        await client.call_attempt_report_by_date(page_size=0)


async def test_bad_filter_date(raw: httpx.AsyncClient) -> None:
    response = await raw.post(
        CALLS.format(token=RUNNING) + "/callJob/getReportByDate",
        json={"filter": {"createdAtFrom": "yesterday"}},
    )
    assert response.status_code == 400
    assert (response.json()["type"], response.json()["field"]) == (
        "invalid.parameter",
        "createdAtFrom",
    )


# --- control -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "action", "status"),
    [
        (FINISHED, "pause", "finished"),
        (FINISHED, "resume", "finished"),
        (FINISHED, "stop", "finished"),
        (RUNNING, "resume", "inProgress"),
        (RUNNING, "start", "inProgress"),
        (NEW, "resume", "new"),
    ],
)
async def test_invalid_transitions(
    raw: httpx.AsyncClient,
    make_client: Callable[..., JaicpClient],
    token: str,
    action: str,
    status: str,
) -> None:
    response = await raw.post(CALLS.format(token=token) + f"/control/{action}")
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid.call.task.state.transition",
        "message": f"Cannot {action} a campaign in status {status}",
        "args": {"action": action, "status": status},
    }
    with pytest.raises(JaicpError) as info:
        await make_client(token).control(action)
    error = info.value
    assert (error.code, error.mnemonic, error.status) == (
        "invalid.call.task.state.transition",
        "invalid.call.task.state.transition",
        400,
    )
    assert error.details["args"] == {"action": action, "status": status}


async def test_unknown_control_action(raw: httpx.AsyncClient) -> None:
    response = await raw.post(CALLS.format(token=RUNNING) + "/control/restart")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid.action"
    assert response.json()["args"] == {"action": "restart"}


# --- transport-level failures --------------------------------------------------------------


async def test_rate_limit_answer(
    app: SandboxApp, raw: httpx.AsyncClient, client: JaicpClient
) -> None:
    app.faults.update({"rate_limit_rate": 1.0})
    response = await raw.get(CALLS.format(token=RUNNING) + "/status")
    assert response.status_code == 429
    assert response.json() == {
        "type": "too.many.requests",
        "message": "Too many requests, retry later",
    }
    with pytest.raises(ProviderError) as info:
        await client.status()
    error = info.value
    assert (error.code, error.status, error.permanent) == ("too.many.requests", 429, False)


async def test_server_errors_are_retried_then_unavailable(app: SandboxApp) -> None:
    app.faults.update({"error_rate": 1.0})
    client = JaicpClient(
        "http://sandbox/jaicp",
        RUNNING,
        transport=httpx.ASGITransport(app=app),
        retry=RetryPolicy(attempts=3),
        sleep=no_sleep,
    )
    with pytest.raises(ProviderUnavailable) as info:
        await client.add_phones([{"phone": "79110000001"}])
    assert info.value.status == 503 and not info.value.permanent
    assert [r.status for r in client.timings.recent()] == [503, 503, 503]
    assert twin_jobs(app) == 0
    await client.aclose()


async def test_unreachable_host_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = JaicpClient(
        "https://app.jaicp.com", RUNNING, transport=httpx.MockTransport(refuse), sleep=no_sleep
    )
    with pytest.raises(ProviderUnavailable) as info:
        await client.status()
    assert info.value.mnemonic == "unavailable"


def twin_jobs(app: SandboxApp) -> int:
    return sum(1 for j in app.twin("jaicp").ledger()["call_jobs"] if j["source"] != "list")


async def test_hanging_answers_time_out_and_are_unavailable(app: SandboxApp, twin) -> None:
    app.faults.update({"timeout_rate": 1.0, "timeout_seconds": 0.2})
    client = JaicpClient(
        "http://sandbox/jaicp",
        RUNNING,
        transport=httpx.ASGITransport(app=app),
        retry=RetryPolicy(attempts=2, timeout=0.02),
        sleep=no_sleep,
    )
    with pytest.raises(ProviderUnavailable) as info:
        await client.add_phones([{"phone": "79110000001"}])
    assert info.value.details == {"attempts": 2}
    assert [r.mnemonic for r in client.timings.recent()] == ["unavailable", "unavailable"]
    assert twin_jobs(app) == 0
    await client.aclose()
