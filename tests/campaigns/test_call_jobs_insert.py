"""The import's writer: accepted numbers become pending call jobs, each phone once, and it
says how many it stored (the status counts move by that, not by what it was given)."""

from __future__ import annotations

import pytest
from django.db import transaction

from campaigns.importing.validate import AcceptedNumber
from campaigns.models import CallJob
from campaigns.services.job_writer import call_jobs_insert

pytestmark = pytest.mark.django_db(transaction=True)


def accepted(row: int, phone: str, **extra) -> AcceptedNumber:
    return AcceptedNumber(row=row, phone=phone, e164="+" + phone, gmt_zone=extra.get("zone"), zone_source="",
                          payload=extra.get("payload", {}), policy=extra.get("policy", {}))


def test_stores_jobs_with_their_payload_and_policy_and_skips_phones_already_there(campaign):
    with transaction.atomic():
        first = call_jobs_insert(campaign_id=campaign.pk, number_list_id=None, accepted=[
            accepted(2, "14155550101", zone="America/Los_Angeles", payload={"name": "Zoë", "sum": "12.50"}),
            accepted(3, "14155550102", policy={"maxAttempts": 3}),
            accepted(4, "14155550104", payload={'say "hi"\\': "line\nbreak\t\u2028 ☎", "n": 12},
                     policy={"allowedDays": ["mon", "fri"], "retryIntervalInMinutes": 5}),
        ])
    assert first == 3
    odd = CallJob.objects.get(phone_e164="+14155550104")
    assert odd.payload == {'say "hi"\\': "line\nbreak\t\u2028 ☎", "n": 12}
    assert odd.policy == {"allowedDays": ["mon", "fri"], "retryIntervalInMinutes": 5}
    job = CallJob.objects.get(campaign=campaign, phone_e164="+14155550101")
    assert (job.row_number, job.phone, job.gmt_zone, job.job_status) == (2, "14155550101", "America/Los_Angeles", "pending")
    assert job.payload == {"name": "Zoë", "sum": "12.50"} and job.policy == {} and job.created_at is not None
    assert CallJob.objects.get(phone_e164="+14155550102").policy == {"maxAttempts": 3}
    # A concurrent writer got there first for one phone: that row is skipped, and counted out.
    with transaction.atomic():
        again = call_jobs_insert(campaign_id=campaign.pk, number_list_id=None,
                                 accepted=[accepted(4, "14155550102"), accepted(5, "14155550103")])
    assert again == 1
    assert CallJob.objects.filter(campaign=campaign).count() == 4
    assert call_jobs_insert(campaign_id=campaign.pk, number_list_id=None, accepted=[]) == 0
