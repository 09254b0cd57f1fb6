"""A push JAICP refuses shows its numbers failed with the reason; the admin retries them
from the page once the cause is fixed. A number listed as do-not-call after its import is
skipped and said so."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, add_jobs
from tests.e2e.conftest import ARTIFACTS, login
from tests.e2e.test_campaign_flow import campaign  # noqa: F401  (the fixture)

pytestmark = pytest.mark.e2e

PHONES = [f"+1650555{n:04d}" for n in range(300, 306)]


def test_refused_numbers_are_shown_failed_and_pushed_once_by_retry(server, page, campaign):  # noqa: F811
    from campaigns.models import CallJob, Campaign, DoNotCallEntry
    from dashboard.sandbox.embedded import get_embedded_sandbox

    add_jobs(campaign, PHONES)
    DoNotCallEntry.objects.create(phone_e164=PHONES[0], reason="asked by phone")
    good_token = campaign.token
    Campaign.objects.filter(pk=campaign.pk).update(token="0.0.not-a-real-token")
    login(page, server, "ada", PASSWORD)
    page.goto(f"{server.url}/campaigns/{campaign.pk}/")

    page.get_by_role("button", name="Push 6 numbers").click()
    failed = page.get_by_test_id("push-failed")
    expect(failed).to_contain_text("5 numbers not pushed", timeout=20_000)
    expect(failed).to_contain_text("invalid.token")
    expect(page.get_by_test_id("push-do-not-call")).to_contain_text("1 number put on the do-not-call list")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 420):
        page.set_viewport_size({"width": width, "height": 900})
        page.locator("#campaign-push").screenshot(path=str(Path(ARTIFACTS) / f"push-failed-{width}.png"))
    page.set_viewport_size({"width": 1280, "height": 800})

    Campaign.objects.filter(pk=campaign.pk).update(token=good_token)  # the admin fixes the token
    page.get_by_role("button", name="Retry 5").click()
    expect(page.get_by_test_id("push-failed")).to_have_count(0, timeout=20_000)
    expect(page.get_by_test_id("unbatched")).to_have_text("0", timeout=20_000)

    ledger = [j["phone"] for j in get_embedded_sandbox().twin("jaicp").ledger()["call_jobs"]
              if j["campaign_token"] == good_token]
    assert sorted(ledger) == sorted(p.lstrip("+") for p in PHONES[1:])
    assert CallJob.objects.get(phone_e164=PHONES[0]).job_status == "doNotCall"
