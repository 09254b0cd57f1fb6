"""GET and PATCH /apps/api/v1/calls/:id/customer_flag."""

from __future__ import annotations

import json

import httpx
import pytest

from dashboard.providers.ccai.client import CcaiClient
from dashboard.providers.ccai.errors import CcaiError
from dashboard.providers.ccai.models import CustomerFlags

from .conftest import no_sleep


async def test_flags_start_false_and_are_patched(ccai: CcaiClient):
    call = (await ccai.create_incoming_call(menu_id=9, end_user_number="+1 650-555-0100")).call
    flags = await ccai.get_customer_flags(call.id)
    assert flags == CustomerFlags(verified_customer=False, bad_actor=False, repeat_customer=False)

    flags = await ccai.update_customer_flags(call.id, verified_customer=True, repeat_customer=True)
    assert flags == CustomerFlags(verified_customer=True, bad_actor=False, repeat_customer=True)
    flags = await ccai.update_customer_flags(call.id, bad_actor=True)
    assert flags == CustomerFlags(verified_customer=True, bad_actor=True, repeat_customer=True)
    assert await ccai.get_customer_flags(call.id) == flags
    # The call object's "verified" follows the verified_customer flag.
    assert (await ccai.get_call(call.id)).verified is True


async def test_a_second_call_of_the_same_end_user_is_a_repeat_customer(ccai: CcaiClient):
    await ccai.create_incoming_call(menu_id=9, end_user_number="+1 650-555-0100")
    again = (await ccai.create_incoming_call(menu_id=10, end_user_number="+16505550100")).call
    assert (await ccai.get_customer_flags(again.id)).repeat_customer is True


async def test_the_docs_patch_spelling_repeat_customers_is_accepted(ccai: CcaiClient, raw):
    call = (await ccai.create_incoming_call(menu_id=9, end_user_number="+1 650-555-0100")).call
    # The seed's PATCH example, with its "boolean" placeholders made real values.
    response = await raw.patch(
        f"/apps/api/v1/calls/{call.id}/customer_flag",
        json={"verified_customer": "true", "bad_actor": False, "repeat_customers": True},
    )
    assert response.status_code == 200
    assert response.json() == {
        "verified_customer": True,
        "bad_actor": False,
        "repeat_customer": True,
    }


async def test_a_flag_that_is_not_a_boolean_is_refused(ccai: CcaiClient, raw):
    call = (await ccai.create_incoming_call(menu_id=9, end_user_number="+1 650-555-0100")).call
    response = await raw.patch(
        f"/apps/api/v1/calls/{call.id}/customer_flag", json={"bad_actor": "maybe"}
    )
    assert (response.status_code, response.json()) == (
        400,
        {"message": "bad_actor must be a boolean"},
    )


async def test_flags_of_an_unknown_call_are_404(ccai: CcaiClient):
    with pytest.raises(CcaiError) as caught:
        await ccai.get_customer_flags(424242)
    assert (caught.value.status, caught.value.mnemonic) == (404, "not_found")
    with pytest.raises(CcaiError) as caught:
        await ccai.update_customer_flags(424242, bad_actor=True)
    assert caught.value.status == 404


async def test_client_sends_both_spellings_and_reads_back_when_the_patch_answer_is_empty():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "PATCH":
            return httpx.Response(204)
        # The seed's GET answer shape (its "Status code 0" read as 200).
        return httpx.Response(
            200, json={"verified_customer": False, "bad_actor": False, "repeat_customer": True}
        )

    client = CcaiClient(
        base_url="https://acme.ccaiplatform.com",
        subdomain="acme",
        api_token="tok",
        transport=httpx.MockTransport(handler),
        sleep=no_sleep,
    )
    flags = await client.update_customer_flags(7, repeat_customer=True)
    assert json.loads(seen[0].content) == {"repeat_customer": True, "repeat_customers": True}
    assert seen[0].url.path == "/apps/api/v1/calls/7/customer_flag"
    assert seen[1].method == "GET"
    assert flags.repeat_customer is True
    assert seen[0].headers["authorization"] == httpx.BasicAuth("acme", "tok")._auth_header


def test_flags_parse_the_docs_placeholder_strings():
    assert CustomerFlags.from_json(
        {"verified_customer": "true", "bad_actor": "false", "repeat_customers": "true"}
    ) == (CustomerFlags(verified_customer=True, bad_actor=False, repeat_customer=True))
    assert CustomerFlags.from_json({"verified_customer": "boolean"}).verified_customer is None
