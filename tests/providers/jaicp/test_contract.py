"""Seed examples as contract fixtures: what the client puts on the wire, and the shapes
the sandbox answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import httpx
import pytest

from dashboard.providers.jaicp.client import JaicpClient

from .conftest import NEW, RUNNING, no_sleep


class Recorder:
    """An httpx.MockTransport that records requests and answers canned bodies."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def make(answer: Callable[[httpx.Request], httpx.Response]) -> tuple[JaicpClient, Recorder]:
    recorder = Recorder(answer)
    client = JaicpClient(
        "https://app.jaicp.com", RUNNING, transport=recorder.transport, sleep=no_sleep
    )
    return client, recorder


async def test_add_phones_sends_the_seed_002_body() -> None:
    client, rec = make(lambda r: httpx.Response(200, json=["5665336642"]))
    ids = await client.add_phones(
        [{"phone": 79110000000, "gmtZone": "+03:00", "payload": {"name": "Alex"}}],
        idempotence_key="d5f41bd4",
    )
    assert ids == ["5665336642"]
    request = rec.last
    assert request.method == "POST"
    assert (
        str(request.url) == "https://app.jaicp.com/api/calls/campaign/8231.7056.1b131df1/addPhones"
    )
    assert request.headers["Idempotence-Key"] == "d5f41bd4"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == [
        {"phone": "79110000000", "gmtZone": "+03:00", "payload": {"name": "Alex"}}
    ]


async def test_every_post_carries_a_key_even_when_the_caller_gives_none() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/addPhones") or request.url.path.endswith("/cancel"):
            return httpx.Response(200, json=["1"])
        if "control" in request.url.path:
            return httpx.Response(200)
        if "ByDate" in request.url.path or "Unfinished" in request.url.path:
            return httpx.Response(
                200, json={"items": [], "pagination": {"page": 0, "pageSize": 20}}
            )
        return httpx.Response(200, json=[])

    client, rec = make(answer)
    await client.add_phones([{"phone": "79110000000"}])
    await client.cancel(ids=["1"])
    await client.call_job_report(ids=["1"])
    await client.get_report(phones=["79110000000"])
    await client.call_attempt_report(ids=["1"])
    await client.call_job_report_by_date()
    await client.call_job_unfinished()
    await client.call_attempt_report_by_date()
    await client.pause()
    keys = [r.headers.get("Idempotence-Key") for r in rec.requests]
    assert all(r.method == "POST" for r in rec.requests)
    assert all(keys) and len(set(keys)) == len(keys)


async def test_a_retry_reuses_the_generated_key() -> None:
    answers = iter([httpx.Response(503), httpx.Response(502), httpx.Response(200, json=["7"])])
    client, rec = make(lambda r: next(answers))
    assert await client.add_phones([{"phone": "79110000000"}]) == ["7"]
    keys = {r.headers["Idempotence-Key"] for r in rec.requests}
    assert len(rec.requests) == 3 and len(keys) == 1


async def test_get_add_phone_sends_the_seed_002_query() -> None:
    # curl '.../addPhone?phone=79110000000&gmtZone=+03:00&name=Alex'
    client, rec = make(lambda r: httpx.Response(200, json="5665336642"))
    job_id = await client.add_phone(
        "79110000000", gmt_zone="+03:00", payload={"name": "Alex"}, idempotence_key="d5f41bd4"
    )
    assert job_id == "5665336642"
    request = rec.last
    assert request.method == "GET"
    assert request.url.path == "/api/calls/campaign/8231.7056.1b131df1/addPhone"
    # "+" is percent-encoded so the server does not read it as a space.
    assert b"gmtZone=%2B03%3A00" in request.url.query
    assert parse_qsl(request.url.query.decode()) == [
        ("phone", "79110000000"),
        ("gmtZone", "+03:00"),
        ("name", "Alex"),
        ("Idempotence-Key", "d5f41bd4"),
    ]
    assert request.headers["Idempotence-Key"] == "d5f41bd4"  # the spec's header, too


async def test_crm_add_phone_post_is_form_urlencoded() -> None:
    client, rec = make(lambda r: httpx.Response(200, text="42"))
    job_id = await client.crm_add_phone(
        "9991234567890",
        gmt_zone="+03:30",
        payload={"name": "Alex", "age": 34},
        idempotence_key="k1",
    )
    assert job_id == "42"  # a bare number in text is tolerated
    request = rec.last
    assert request.url.path == "/api/crmCalls/campaign/8231.7056.1b131df1/addPhone"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Idempotence-Key"] == "k1"
    assert parse_qsl(request.content.decode()) == [
        ("phone", "9991234567890"),
        ("gmtZone", "+03:30"),
        ("name", "Alex"),
        ("age", "34"),
    ]


async def test_crm_add_phone_get_and_test_add_phone_paths() -> None:
    client, rec = make(lambda r: httpx.Response(200, json="1"))
    await client.crm_add_phone("79110000000", method="GET")
    assert rec.last.method == "GET"
    assert rec.last.url.path == "/api/crmCalls/campaign/8231.7056.1b131df1/addPhone"
    assert rec.last.url.params["Idempotence-Key"] == rec.last.headers["Idempotence-Key"]
    await client.test_add_phone("79110000000")
    assert rec.last.url.path == "/api/crmCalls/campaign/8231.7056.1b131df1/test/addPhone"


async def test_cancel_and_reports_send_phones_and_ids_as_strings() -> None:
    client, rec = make(lambda r: httpx.Response(200, json=[1234, 6543]))
    # The spec's own CallJobIDList example has numbers; ids come back as strings anyway.
    assert await client.cancel(phones=[9991234567890], ids=[1234]) == ["1234", "6543"]
    assert rec.last.url.path.endswith("/callJob/cancel")
    assert json.loads(rec.last.content) == {"phones": ["9991234567890"], "ids": ["1234"]}


async def test_paginated_report_bodies() -> None:
    client, rec = make(
        lambda r: httpx.Response(200, json={"items": [], "pagination": {"page": 3, "pageSize": 50}})
    )
    page = await client.call_job_report_by_date(
        created_at_from=datetime(2026, 1, 1, tzinfo=UTC),
        finished_at_to="2026-01-02T00:00:00Z",
        page=3,
        page_size=50,
    )
    assert (page.page, page.page_size, page.items) == (3, 50, [])
    assert rec.last.url.path.endswith("/callJob/getReportByDate")
    assert json.loads(rec.last.content) == {
        "filter": {
            "createdAtFrom": "2026-01-01T00:00:00.000Z",
            "finishedAtTo": "2026-01-02T00:00:00Z",
        },
        "pagination": {"page": 3, "pageSize": 50},
    }
    await client.call_attempt_report_by_date(started_at_from="2026-01-01T00:00:00Z")
    assert rec.last.url.path.endswith("/callAttempt/getReportByDate")
    assert json.loads(rec.last.content) == {
        "filter": {"startedAtFrom": "2026-01-01T00:00:00Z"},
        "pagination": {"page": 0, "pageSize": 20},
    }
    await client.call_job_unfinished(page=1, page_size=10)
    assert rec.last.url.path.endswith("/callJob/getUnfinished")
    body = json.loads(rec.last.content)
    assert body["page"] == 1 and body["pagination"] == {"page": 1, "pageSize": 10}


async def test_campaign_info_status_and_control_paths() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/status"):
            return httpx.Response(200, text="inProcess")  # older docs' spelling, bare text
        if "/control/" in request.url.path:
            return httpx.Response(200)
        return httpx.Response(
            200,
            json={
                "id": 7056,
                "name": "n",
                "projectName": "p",
                "creationDate": "1691006924166",
                "botId": "b",
                "status": "paused",
                "shortReport": {},
            },
        )

    client, rec = make(answer)
    assert (await client.campaign_info()).status == "paused"
    assert (
        rec.last.method == "GET" and rec.last.url.path == "/api/calls/campaign/8231.7056.1b131df1"
    )
    assert await client.status() == "inProgress"
    for action in ("start", "pause", "resume", "stop"):
        await client.control(action)
        assert rec.last.method == "POST"
        assert rec.last.url.path == f"/api/calls/campaign/8231.7056.1b131df1/control/{action}"
        assert rec.last.content == b""
    with pytest.raises(ValueError):
        await client.control("restart")


# --- the sandbox's answers ---------------------------------------------------------------


async def test_sandbox_add_phones_answers_string_ids_in_input_order(raw: httpx.AsyncClient) -> None:
    response = await raw.post(
        "/jaicp/api/calls/campaign/8231.7056.1b131df1/addPhones",
        headers={"Idempotence-Key": "d5f41bd4"},
        json=[
            {"phone": 16500000001},
            {"phone": "79110000001", "gmtZone": "+03:00", "payload": {"name": "Alex"}},
        ],
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    ids = response.json()
    assert all(isinstance(i, str) for i in ids) and len(ids) == 2
    assert int(ids[0]) < int(ids[1])


async def test_sandbox_get_add_phone_reads_the_docs_curl(raw: httpx.AsyncClient, twin) -> None:
    # The docs' curl leaves "+" unencoded, so the server sees a space: read as "+".
    response = await raw.get(
        "/jaicp/api/calls/campaign/8231.7056.1b131df1/addPhone?phone=79110000001&gmtZone=+03:00&name=Alex&Idempotence-Key=d5f41bd4"
    )
    assert response.status_code == 200
    job_id = response.json()
    assert isinstance(job_id, str)
    job = twin.campaigns[RUNNING].jobs[int(job_id)]
    assert job.payload == {"name": "Alex"}
    assert job.params == {"gmtZone": "+03:00"}
    assert job.idempotence_key == "d5f41bd4"


async def test_sandbox_report_shapes(raw: httpx.AsyncClient) -> None:
    # A campaign not started yet, so the job stays planned.
    base = f"/jaicp/api/calls/campaign/{NEW}"
    ids = (await raw.post(base + "/addPhones", json=[{"phone": "79110000001"}])).json()
    report = (await raw.post(base + "/callJob/getReport", json={"ids": ids})).json()
    assert report == [
        {
            "attemptsCount": 0,
            "callDuration": 0,
            "callJobId": ids[0],
            "createdAt": 1767261600000,
            "finishedAt": None,
            "jobStatus": "planned",
            "phone": "79110000001",
            "redialNumber": None,
            "reportData": None,
            "tagName": None,
            "tagPayload": None,
        }
    ]
    older = (await raw.post(base + "/getReport", json={"ids": ids})).json()
    assert older == report
    page = (await raw.post(base + "/callJob/getReportByDate", json={})).json()
    assert page["pagination"] == {"page": 0, "pageSize": 20}
    assert [r["callJobId"] for r in page["items"]][-1] == ids[0]


async def test_sandbox_campaign_info_and_status(raw: httpx.AsyncClient) -> None:
    base = "/jaicp/api/calls/campaign/8231.7056.1b131df1"
    info = (await raw.get(base)).json()
    assert set(info) >= {
        "id",
        "name",
        "projectName",
        "creationDate",
        "botId",
        "status",
        "shortReport",
    }
    assert isinstance(info["creationDate"], int)
    assert info["status"] == "inProgress" and info["maxSimultaneousCalls"] == 2
    assert set(info["shortReport"]) == {
        "totalNumbers",
        "processedNumbers",
        "usedTalkingTime",
        "usedAsrSeconds",
        "inProcessCalls",
        "retryCalls",
    }
    status = await raw.get(base + "/status")
    assert status.json() == "inProgress"


async def test_sandbox_control_answers_200_with_an_empty_body(raw: httpx.AsyncClient) -> None:
    response = await raw.post("/jaicp/api/calls/campaign/8231.7056.1b131df1/control/pause")
    assert response.status_code == 200
    assert response.content == b""


async def test_client_against_sandbox_round_trip(client: JaicpClient) -> None:
    ids = await client.add_phones([{"phone": "79110000001", "payload": {"name": "Alex"}}])
    [report] = await client.call_job_report(ids=ids)
    # The running campaign dials at once: the job may already be in process.
    assert report.call_job_id == ids[0] and report.job_status in {"planned", "inProcess"}
    assert (await client.campaign_info()).name == "Delivery reminders"
    assert await client.status() == "inProgress"


async def test_seed_001_curl_examples(raw: httpx.AsyncClient, twin) -> None:
    # POST with the Idempotence-Key header, twice (the "system failure" story): one job.
    url = "/jaicp/api/calls/campaign/8231.7056.1b131df1/addPhones"
    first = await raw.post(
        url, headers={"Idempotence-Key": "d5f41bd4"}, json=[{"phone": 16500000000}]
    )
    second = await raw.post(
        url, headers={"Idempotence-Key": "d5f41bd4"}, json=[{"phone": 16500000000}]
    )
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    # GET with the key as a query parameter.
    get_url = "/jaicp/api/calls/campaign/8231.7056.1b131df1/addPhone?phone=16500000000&Idempotence-Key=e6a52ce5"
    a, b = (await raw.get(get_url)).json(), (await raw.get(get_url)).json()
    assert a == b
    phones = [j["phone"] for j in twin.ledger()["call_jobs"] if j["source"] == "api"]
    assert phones == ["16500000000", "16500000000"]


async def test_seed_000_token_reaches_its_campaign(raw: httpx.AsyncClient) -> None:
    url = (
        "/jaicp/api/calls/campaign/123456.789.mBoMyfZLZqKHIPKjFjWYfRw9hgfIV9InFC4bHGVw5ND/addPhones"
    )
    response = await raw.post(url, json=[{"phone": "79110000001"}])
    assert response.status_code == 200
