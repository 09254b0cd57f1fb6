from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_overview_shows_limits_error_rate_and_latency_per_account(admin_client_, sandbox_transport, sandbox_accounts):
    account = sandbox_accounts["callgear"]
    admin_client_.post(f"/settings/providers/{account.pk}/check/")  # one list.calls: limits arrive
    page = admin_client_.get("/").content.decode()
    assert "Points left" in page and "per minute" in page and "per day" in page
    assert "p50" in page  # latency of the requests just made
    assert "no answer yet" not in page.split(f'id="account-{account.pk}"')[1].split("</article>")[0]
