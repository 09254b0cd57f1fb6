from __future__ import annotations

import logging

import pytest

from dashboard.forms import ProviderAccountForm
from dashboard.models import ProviderAccount

SECRET = "pa55-very-secret-value"


@pytest.fixture
def callgear_account(db) -> ProviderAccount:
    return ProviderAccount.objects.create(
        kind="callgear", name="CG", base_url="https://callapi.example.com",
        callgear_auth="login", login="operator", password=SECRET, access_key=SECRET + "-key",
    )


def test_secrets_are_never_rendered_in_pages_or_admin(admin_client_, callgear_account):
    for url in [
        "/settings/providers/",
        "/admin/dashboard/provideraccount/",
        f"/admin/dashboard/provideraccount/{callgear_account.pk}/change/",
        "/",
    ]:
        page = admin_client_.get(url).content.decode()
        assert SECRET not in page, url
        assert callgear_account.webhook_secret not in page, url


def test_blank_secret_keeps_the_stored_one(callgear_account):
    form = ProviderAccountForm(
        instance=callgear_account,
        data={"kind": "callgear", "name": "CG", "base_url": "https://callapi.example.com", "enabled": "on",
              "callgear_auth": "login", "login": "operator", "password": "", "access_key": "",
              "company_key": "", "company_secret": "", "webhook_secret": ""},
    )
    assert form.is_valid(), form.errors
    saved = form.save()
    saved.refresh_from_db()
    assert saved.password == SECRET
    assert saved.webhook_secret == callgear_account.webhook_secret


def test_ccai_account_needs_key_and_secret(db):
    form = ProviderAccountForm(data={"kind": "ccai", "name": "C", "base_url": "https://acme.example.com"})
    assert not form.is_valid()
    assert "company_key" in form.errors


def test_repr_and_str_hold_no_secret(callgear_account, caplog):
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("account %r / %s", callgear_account, callgear_account)
    assert SECRET not in caplog.text


def test_audit_scrubs_credentials(db, admin_user):
    from dashboard.audit import audit_record

    entry = audit_record(user=admin_user, action="test.action", result="ok",
                         parameters={"phone": "15550100", "password": SECRET, "nested": {"access_token": SECRET}})
    assert SECRET not in str(entry.parameters)
    assert entry.parameters["phone"] == "15550100"
