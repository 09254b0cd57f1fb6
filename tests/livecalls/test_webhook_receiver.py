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


class Answer:
    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code, self.content = status_code, content

    def json(self):
        return json.loads(self.content)


def asgi_posts(path: str, bodies: list[str | bytes], headers: dict[str, str], method: str = "POST") -> list[Answer]:
    """All at once through the ASGI application as uvicorn runs it: webhooks skip Django's
    handler there."""
    import asyncio

    import httpx
    from asgiref.sync import async_to_sync

    from dashboard.asgi import application

    async def go() -> list[Answer]:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            responses = await asyncio.gather(*(
                client.request(method, path, content=body, headers={"content-type": "application/json", **headers})
                for body in bodies))
        return [Answer(r.status_code, r.content) for r in responses]

    return async_to_sync(go)()


def asgi_post(path: str, body: str | bytes, headers: dict[str, str], method: str = "POST") -> Answer:
    return asgi_posts(path, [body], headers, method)[0]


def django_post(path: str, body: str | bytes, headers: dict[str, str]) -> Answer:
    response = Client().post(path, data=body, content_type="application/json", headers=headers)
    return Answer(response.status_code, response.content)


@pytest.fixture(params=["django", "asgi"])
def post(request):
    """Both ways in: Django's view (a WSGI server, the test client) and the ASGI receiver
    in front of Django (uvicorn)."""
    send = asgi_post if request.param == "asgi" else django_post

    def post(account, body, query: str = "", **headers) -> Answer:
        return send(f"/hooks/{account.pk}/{query}", body, headers)

    return post


def test_a_missing_or_wrong_secret_gets_403(callgear_account, post):
    assert post(callgear_account, callgear_body()).status_code == 403
    assert post(callgear_account, callgear_body(), **{"X-Callboard-Secret": "nope"}).status_code == 403
    assert WebhookEvent.objects.count() == 0


def test_the_secret_in_header_or_query_is_accepted(callgear_account, post):
    secret = callgear_account.webhook_secret
    assert post(callgear_account, callgear_body(), **{"X-Callboard-Secret": secret}).json() == {"status": "accepted"}
    response = post(callgear_account, callgear_body(session_event_seq=4), query=f"?secret={secret}")
    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 2


def test_a_repeated_event_is_stored_once(callgear_account, post):
    headers = {"X-Callboard-Secret": callgear_account.webhook_secret}
    assert post(callgear_account, callgear_body(), **headers).json()["status"] == "accepted"
    assert post(callgear_account, callgear_body(), **headers).json()["status"] == "duplicate"
    event = WebhookEvent.objects.get()
    assert (event.event_type, event.session_ref, event.leg_ref, event.sequence) == ("talk_started", "777", "11,12", 3)


def test_a_malformed_body_is_refused_with_what_is_wrong(callgear_account, post):
    headers = {"X-Callboard-Secret": callgear_account.webhook_secret}
    response = post(callgear_account, "not json", **headers)
    assert response.status_code == 400 and "not JSON" in response.json()["error"]
    response = post(callgear_account, json.dumps({"notification_mnemonic": "talk_started"}), **headers)
    assert response.status_code == 400 and "call_session_id" in response.json()["error"]


def test_unknown_or_disabled_account_is_404(callgear_account, post):
    callgear_account.enabled = False
    callgear_account.save()
    assert post(callgear_account, callgear_body(), **{"X-Callboard-Secret": callgear_account.webhook_secret}).status_code == 404


def test_the_asgi_receiver_answers_only_a_post_of_a_sane_size(callgear_account, settings):
    headers = {"X-Callboard-Secret": callgear_account.webhook_secret}
    path = f"/hooks/{callgear_account.pk}/"
    got = asgi_post(path, "", headers, method="GET")
    assert got.status_code == 405
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    assert asgi_post(path, "x" * 1001, headers).status_code == 413
    assert WebhookEvent.objects.count() == 0


def test_concurrent_deliveries_are_each_answered_and_stored_once(callgear_account):
    """Many at once (they are applied in batches): every request gets its own answer."""
    headers = {"X-Callboard-Secret": callgear_account.webhook_secret}
    bodies = [callgear_body(call_session_id=900 + n % 10, session_event_seq=1 + n // 10) for n in range(40)]
    answers = [a.json()["status"] for a in asgi_posts(f"/hooks/{callgear_account.pk}/", bodies + bodies[:10], headers)]
    assert answers[:40] == ["accepted"] * 40
    assert answers[40:] == ["duplicate"] * 10
    assert WebhookEvent.objects.count() == 40
    assert WebhookEvent.objects.filter(applied_at__isnull=True).count() == 0
