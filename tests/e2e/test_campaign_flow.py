"""An admin runs a campaign end to end in Chromium, against the embedded sandbox."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dashboard.roles import ADMIN
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

ROWS = [f"+1 (650) 555-{2000 + i * 3:04d},Customer {i},Springfield" for i in range(40)]
CSV = "\n".join(["phone,name,city", *ROWS, "not a number,Bad,Row", "+1 (650) 555-2000,Dup,Row", "12,Short,Row"])


@pytest.fixture
def campaign(server):
    from campaigns.models import Campaign
    from dashboard.models import ProviderAccount
    from dashboard.sandbox.embedded import get_embedded_sandbox

    admin = make_user("ada", ADMIN, is_staff=True, is_superuser=True)
    account = ProviderAccount.objects.create(kind="jaicp", name="Sandbox JAICP", base_url=f"{server.url}/sandbox/jaicp",
                                             is_sandbox=True)
    token = next(c["token"] for c in get_embedded_sandbox().twin("jaicp").state()["campaigns"] if c["status"] == "new")
    return Campaign.objects.create(
        account=account, name="Payment reminder", token=token, owner=admin, push_batch_size=10,
        # Every hour of every day, so the sandbox dials whenever the test runs.
        default_policy={"allowedDays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                        "allowedTime": {"default": [{"localTimeFrom": "00:00", "localTimeTo": "23:59"}]},
                        "retryIntervalInMinutes": 1, "maxAttempts": 2},
    )


def count_of(page, group: str) -> int:
    return int(page.locator(f'#campaign-counts [data-group="{group}"] .stat').inner_text())


def test_admin_uploads_maps_pushes_watches_controls_cancels_and_exports(server, page, campaign, tmp_path):
    login(page, server, "ada", PASSWORD)
    page.goto(f"{server.url}/campaigns/{campaign.pk}/")
    expect(page.locator("#ws-status")).to_have_attribute("data-state", "connected", timeout=10_000)

    # Upload a CSV with bad rows and map its columns.
    page.click("text=Upload numbers")
    csv_path = tmp_path / "customers.csv"
    csv_path.write_text(CSV)
    page.set_input_files("input[name=file]", str(csv_path))
    page.fill("input[name=default_region]", "US")
    page.click("text=Upload and preview")
    expect(page.locator(".preview-table")).to_contain_text("Customer 0")
    page.select_option("select[name=phone]", "phone")
    page.check("input[name=payload][value=name]")
    page.click("button:has-text('Import customers.csv')")

    # The page follows the import live and shows the summary when it is over.
    expect(page.locator(".stat.text-ok")).to_have_text("40", timeout=45_000)
    summary = page.locator("main")
    expect(summary).to_contain_text("Set aside, by reason")
    expect(summary).to_contain_text("The same number appears earlier in this file.")
    expect(page.locator("text=Download error report")).to_be_visible()

    # Push to the sandbox and watch the counts move without a reload.
    page.click("text=Go to push")
    expect(page.locator('[data-testid="unbatched"]')).to_have_text("40")
    page.click("#campaign-push button:has-text('Push 40 numbers')")
    expect(page.locator('[data-testid="unbatched"]')).to_have_text("0", timeout=20_000)
    expect(page.locator('#campaign-counts [data-group="waiting"] .stat')).to_have_text("40", timeout=20_000)

    page.click(".control-bar button:has-text('Start')")
    expect(page.locator("#campaign-status .pill")).to_have_text("Running", timeout=10_000)
    page.wait_for_function(
        "() => ['calling','reached','unreached'].some(g => +document.querySelector(`#campaign-counts [data-group=${g}] .stat`).textContent > 0)",
        timeout=30_000,
    )

    # Pause, cancel one number still waiting (nothing dials while paused), resume.
    page.click(".control-bar button:has-text('Pause')")
    expect(page.locator("#campaign-status .pill")).to_have_text("Paused", timeout=10_000)
    page.select_option("select[name=status]", "planned")
    row = page.locator("#jobs tbody tr").last
    expect(row.locator(".pill")).to_have_text("Planned", timeout=10_000)
    phone = row.get_attribute("data-phone")
    page.on("dialog", lambda dialog: dialog.accept())
    row.locator("input[type=checkbox]").check()
    page.click("text=Cancel selected")
    expect(page.locator("#toasts")).to_contain_text("Cancelled 1 call job", timeout=10_000)
    page.select_option("select[name=status]", "")
    page.fill("input[name=phone]", phone[-4:])
    expect(page.locator(f'#jobs tr[data-phone="{phone}"] .pill')).to_have_text("Cancelled", timeout=10_000)
    page.click(".control-bar button:has-text('Resume')")
    expect(page.locator("#campaign-status .pill")).to_have_text("Running", timeout=10_000)

    # Export the report.
    with page.expect_download() as download:
        page.click("text=Export report (CSV)")
    content = open(download.value.path(), encoding="utf-8").read()
    assert content.startswith("phone,job_id,status")
    assert re.search(rf"^\{phone},\d+,cancelledByUser", content, re.M)
    assert "payload.name" in content.splitlines()[0]
