"""The job table's indexes against the reads that need them: a campaign holds up to a
million jobs, so each of these must be an index search, never a scan or a sort of the
campaign (bench/pages.py and bench/ingest.py measured what one costs: 40 -> 160 ms for
the campaign page when its list had to sort)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import CallJob
from campaigns.selectors import phones_among

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's EXPLAIN QUERY PLAN wording")]


def test_a_campaigns_jobs_are_listed_in_id_order_without_a_sort(campaign):
    for listing in (CallJob.objects.filter(campaign=campaign).order_by("pk"),
                    CallJob.objects.filter(campaign=campaign).order_by("-pk"),
                    CallJob.objects.filter(campaign=campaign, job_status="noAnswer").order_by("pk")):
        plan = listing[:51].explain()
        assert "TEMP B-TREE" not in plan and "SCAN" not in plan, plan


def test_the_import_phone_checks_search_the_unique_index(campaign):
    plans = []
    for where, params in (("campaign_id = %s", [campaign.pk]),  # in this campaign
                          ("created_at >= %s AND campaign_id <> %s", ["2026-01-01", campaign.pk])):  # lately
        with CaptureQueriesContext(connection) as ran:
            phones_among(["+16505550100", "+16505550101"], model=CallJob, where=where, params=params)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + ran.captured_queries[-1]["sql"])
            plans.append(" ".join(str(row[-1]) for row in cursor.fetchall()))
    assert all("SEARCH campaigns_calljob USING" in plan and "(phone_e164=?" in plan for plan in plans), plans
