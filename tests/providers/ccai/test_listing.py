"""GET /manager/api/v1/calls with header pagination, and GET /manager/api/v1/calls/:id."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from dashboard.providers.ccai.client import CcaiClient
from dashboard.providers.ccai.errors import CcaiError
from dashboard.providers.ccai.sandbox import CcaiSandbox
from dashboard.sandbox.app import SandboxApp

from .conftest import no_sleep


async def _make_calls(twin: CcaiSandbox, app: SandboxApp, count: int) -> list[int]:
    ids = []
    for n in range(count):
        ids.append(twin.simulate_incoming_call(f"+1 650-555-{1000 + n:04d}")["id"])
        await app.settle(60)
    return ids


async def test_pages_follow_the_link_header_until_the_last(
    ccai: CcaiClient, twin: CcaiSandbox, ccai_app: SandboxApp
):
    ids = await _make_calls(twin, ccai_app, 7)
    page = await ccai.list_calls_page(per=3)
    assert (page.total, page.per_page, page.page, page.next_page) == (7, 3, 1, 2)
    assert [c.id for c in page.calls] == ids[:3]
    assert page.next_url is not None and page.next_url.startswith(
        "http://sandbox/ccai/manager/api/v1/calls?"
    )
    last = await ccai.list_calls_page(per=3, page=3)
    assert [c.id for c in last.calls] == ids[6:]
    assert last.next_page is None and not last.has_next

    seen = [call.id async for call in ccai.iter_calls(per=3)]
    assert seen == ids
    assert [r.operation for r in ccai.timings.recent()][-3:] == ["calls.list"] * 3


async def test_sort_direction_and_created_from(
    ccai: CcaiClient, twin: CcaiSandbox, ccai_app: SandboxApp
):
    ids = await _make_calls(twin, ccai_app, 4)
    newest_first = [c.id async for c in ccai.iter_calls(per=2, sort_direction="DESC")]
    assert newest_first == list(reversed(ids))
    since = datetime.fromtimestamp(1_767_261_600 + 120, tz=UTC)  # the third call's creation
    recent = [c.id async for c in ccai.iter_calls(created_from=since)]
    assert recent == ids[2:]


async def test_link_and_headers_on_the_wire(
    raw: httpx.AsyncClient, twin: CcaiSandbox, ccai_app: SandboxApp
):
    await _make_calls(twin, ccai_app, 5)
    response = await raw.get(
        "/manager/api/v1/calls",
        params={"page": 2, "per": 2, "sort_column": "created_at", "sort_direction": "ASC"},
    )
    assert response.status_code == 200
    assert response.headers["total"] == "5"
    assert response.headers["per-page"] == "2"
    link = response.headers["link"]
    rels = {rel: url for url, rel in re.findall(r'<([^>]*)>; rel="(\w+)"', link)}
    assert {rel: parse_qs(urlsplit(url).query)["page"] for rel, url in rels.items()} == {
        "first": ["1"],
        "prev": ["1"],
        "last": ["3"],
        "next": ["3"],
    }
    assert parse_qs(urlsplit(rels["next"]).query)["sort_column"] == ["created_at"]
    assert len(response.json()) == 2
    assert "updated_at" in response.json()[0]
    last = await raw.get("/manager/api/v1/calls", params={"page": 3, "per": 2})
    assert 'rel="next"' not in last.headers.get("link", "")
    # "A larger value is reduced to 100."
    big = await raw.get("/manager/api/v1/calls", params={"per": 500})
    assert big.headers["per-page"] == "100"
    assert "link" not in big.headers


async def test_get_call_by_id_and_404(ccai: CcaiClient, twin: CcaiSandbox):
    call_id = twin.simulate_incoming_call("+1 650-555-0100")["id"]
    call = await ccai.get_call(call_id)
    assert call.id == call_id and call.status == "queued"
    with pytest.raises(CcaiError) as caught:
        await ccai.get_call(999_999)
    error = caught.value
    assert (error.status, error.mnemonic, error.message) == (404, "not_found", "Resource not found")


async def test_iterator_uses_the_page_number_of_the_link_not_its_host():
    """Behind a proxy the link names the host the server saw; we keep our base URL."""
    requested: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requested.append(request.url)
        page = int(request.url.params["page"])
        body = [{"id": page, "status": "finished", "call_type": "Voice Inbound (API)"}]
        headers = {"total": "2", "per-page": "1"}
        if page == 1:
            headers["link"] = (
                '<https://internal-host/manager/api/v1/calls?page=2&per=1>; rel="next", <https://internal-host/manager/api/v1/calls?page=2&per=1>; rel="last"'
            )
        return httpx.Response(200, json=body, headers=headers)

    client = CcaiClient(
        base_url="https://acme.uc1.ccaiplatform.com",
        company_key="k",
        company_secret="s",
        transport=httpx.MockTransport(handler),
        sleep=no_sleep,
    )
    assert [c.id async for c in client.iter_calls(per=1)] == [1, 2]
    assert {u.host for u in requested} == {"acme.uc1.ccaiplatform.com"}
    assert requested[0].params["sort_column"] == "created_at"
    assert requested[0].params["sort_direction"] == "ASC"
