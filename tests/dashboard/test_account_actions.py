from __future__ import annotations

import pytest

from dashboard.models import AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)


def test_check_connection_signs_in_to_the_sandbox_and_is_audited(admin_client_, sandbox_transport, sandbox_accounts):
    account = sandbox_accounts["callgear"]
    response = admin_client_.post(f"/settings/providers/{account.pk}/check/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="provider-account-{account.pk}"' in html
    assert "Signed in" in html and "result-ok" in html
    assert account.password not in html
    entry = AuditEntry.objects.get(action="account.check")
    assert entry.result == "ok" and entry.account == account


def test_check_connection_shows_the_provider_error_with_its_mnemonic(admin_client_, sandbox_transport, sandbox_accounts):
    account = sandbox_accounts["callgear"]
    account.password = "wrong-password"
    account.save()
    response = admin_client_.post(f"/settings/providers/{account.pk}/check/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "result-err" in html and "auth_error" in html
    entry = AuditEntry.objects.get(action="account.check")
    assert entry.result == "error" and entry.provider_mnemonic == "auth_error"
    assert "wrong-password" not in str(entry.parameters) + entry.message


def test_ccai_check_and_plain_post_redirects_with_a_message(admin_client_, sandbox_transport, sandbox_accounts):
    account = sandbox_accounts["ccai"]
    response = admin_client_.post(f"/settings/providers/{account.pk}/check/")
    assert response.status_code == 302 and response["Location"] == "/settings/providers/"
    page = admin_client_.get("/settings/providers/").content.decode()
    assert "SB CCAI: Signed in" in page


def test_sandbox_webhook_target_is_set_from_the_settings_page(admin_client_, sandbox, sandbox_transport, sandbox_accounts):
    account = sandbox_accounts["callgear"]
    response = admin_client_.post(f"/settings/providers/{account.pk}/webhook-target/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "now sends CallGear Call API notifications to" in response.content.decode()
    [target] = sandbox.notifier.targets["callgear"]
    assert target.url.endswith(f"/hooks/{account.pk}/")
    assert target.headers["X-Callboard-Secret"] == account.webhook_secret
    assert AuditEntry.objects.get(action="account.webhook_target").result == "ok"


def test_supervisor_and_agent_cannot_use_account_actions(supervisor_client, agent_client, sandbox_accounts):
    account = sandbox_accounts["callgear"]
    for client in (supervisor_client, agent_client):
        assert client.post(f"/settings/providers/{account.pk}/check/").status_code == 403
        assert client.post(f"/settings/providers/{account.pk}/webhook-target/").status_code == 403
        assert client.get(f"/settings/providers/{account.pk}/templates/").status_code == 403


def test_account_actions_need_csrf(admin_user, sandbox_accounts):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    account = sandbox_accounts["callgear"]
    assert client.post(f"/settings/providers/{account.pk}/check/").status_code == 403


def test_templates_page_shows_every_callgear_template_without_the_secret(admin_client_, sandbox_accounts):
    from dashboard.providers.callgear.notifications import TEMPLATES

    account = sandbox_accounts["callgear"]
    html = admin_client_.get(f"/settings/providers/{account.pk}/templates/").content.decode()
    for template in TEMPLATES.values():
        assert template.title in html
    assert f"/hooks/{account.pk}/" in html
    assert account.webhook_secret not in html
    assert admin_client_.get(f"/settings/providers/{sandbox_accounts['jaicp'].pk}/templates/").status_code == 404
