from __future__ import annotations

import json

import pytest
from django.test import Client

from livecalls.models import WebhookEvent

# The receiver applies events on its own thread and connection: the rows it reads must be
# committed, not inside a test's transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def callgear_body(**overrides):
    from dashboard.providers.callgear.notifications import TEMPLATES

    values = {
        "notification_mnemonic": "talk_started", "notification_time": "2026-01-01T10:00:05.000Z",
        "call_session_id": 777, "session_event_seq": 3, "leg_ids": "11,12",
        "virtual_phone_number": "74950000000", "contact_phone_number": "79110000001",
        "direction": "in", "external_id": "", "employee_id": 5, "employee_full_name": "E",
    }
    values.update(overrides)
    template = TEMPLATES[values["notification_mnemonic"]]
    return template.render(values)


@pytest.fixture
def callgear_account(transactional_db):
    from dashboard.models import ProviderAccount

    return ProviderAccount.objects.create(kind="callgear", name="CG", base_url="https://callapi.example.com",
                                          callgear_auth="access_key", access_key="k")


def post(account, body, **headers):
    return Client().post(f"/hooks/{account.pk}/", data=body, content_type="application/json", headers=headers)


def test_a_missing_or_wrong_secret_gets_403(callgear_account):
    assert post(callgear_account, callgear_body()).status_code == 403
    assert post(callgear_account, callgear_body(), **{"X-Callboard-Secret": "nope"}).status_code == 403
    assert WebhookEvent.objects.count() == 0


def test_the_secret_in_header_or_query_is_accepted(callgear_account):
    secret = callgear_account.webhook_secret
    assert post(callgear_account, callgear_body(), **{"X-Callboard-Secret": secret}).json() == {"status": "accepted"}
    response = Client().post(f"/hooks/{callgear_account.pk}/?secret={secret}",
                             data=callgear_body(session_event_seq=4), content_type="application/json")
    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 2


def test_a_repeated_event_is_stored_once(callgear_account):
    headers = {"X-Callboard-Secret": callgear_account.webhook_secret}
    assert post(callgear_account, callgear_body(), **headers).json()["status"] == "accepted"
    assert post(callgear_account, callgear_body(), **headers).json()["status"] == "duplicate"
    event = WebhookEvent.objects.get()
    assert (event.event_type, event.session_ref, event.leg_ref, event.sequence) == ("talk_started", "777", "11,12", 3)


def test_a_malformed_body_is_refused_with_what_is_wrong(callgear_account):
    headers = {"X-Callboard-Secret": callgear_account.webhook_secret}
    response = post(callgear_account, "not json", **headers)
    assert response.status_code == 400 and "not JSON" in response.json()["error"]
    response = post(callgear_account, json.dumps({"notification_mnemonic": "talk_started"}), **headers)
    assert response.status_code == 400 and "call_session_id" in response.json()["error"]


def test_unknown_or_disabled_account_is_404(callgear_account):
    callgear_account.enabled = False
    callgear_account.save()
    assert post(callgear_account, callgear_body(), **{"X-Callboard-Secret": callgear_account.webhook_secret}).status_code == 404
