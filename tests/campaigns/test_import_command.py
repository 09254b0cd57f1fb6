from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from campaigns.models import CallJob, NumberList

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_imports_with_the_web_code_path_and_prints_the_summary(campaign, tmp_path):
    path = tmp_path / "numbers.csv"
    path.write_text("phone,name\n+1 650 555 0100,Ann\nnope,Bob\n+1 650 555 0100,Again\n+1 650 555 0101,Cy\n")
    out, err = io.StringIO(), io.StringIO()
    call_command("import_numbers", str(campaign.pk), str(path), "--region", "US", stdout=out, stderr=err)
    text = out.getvalue()
    assert "rows        4" in text and "valid       2" in text
    assert "duplicate_in_list" in text and "unparseable_phone" in text
    assert "100%" in err.getvalue()
    assert CallJob.objects.filter(campaign=campaign).count() == 2
    assert NumberList.objects.get().state == "imported"
    assert CallJob.objects.get(phone="16505550100").payload == {"name": "Ann"}


def test_a_wrong_mapping_is_refused_with_the_reason(campaign, tmp_path):
    path = tmp_path / "numbers.csv"
    path.write_text("phone,name\n+1 650 555 0100,Ann\n")
    with pytest.raises(CommandError, match="not in the file"):
        call_command("import_numbers", campaign.name, str(path), "--phone", "tel", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No single campaign"):
        call_command("import_numbers", "nope", str(path), stdout=io.StringIO())


def test_numbers_the_database_knows_are_refused_by_reason_and_large_lists_commit_in_parts(
        campaign, tmp_path, monkeypatch):
    """The import's three database checks (in this campaign, called lately elsewhere,
    do-not-call) on both sides of their conditions, with commits of two rows so the
    list is stored over several transactions."""
    from datetime import timedelta

    from django.utils import timezone

    from campaigns.models import Campaign, CampaignStatusCount, DoNotCallEntry
    from campaigns.services import job_writer

    monkeypatch.setattr(job_writer, "IMPORT_BATCH_ROWS", 2)
    commits = []
    real_commit = job_writer.commit
    monkeypatch.setattr(job_writer, "commit", lambda *args: commits.append(len(args[2])) or real_commit(*args))
    other = Campaign.objects.create(account=campaign.account, name="Autumn", token="autumn-token")
    CallJob.objects.create(campaign=campaign, phone="16505550100", phone_e164="+16505550100")
    lately = CallJob.objects.create(campaign=other, phone="16505550101", phone_e164="+16505550101")
    long_ago = CallJob.objects.create(campaign=other, phone="16505550102", phone_e164="+16505550102")
    CallJob.objects.filter(pk=lately.pk).update(created_at=timezone.now() - timedelta(days=2))
    CallJob.objects.filter(pk=long_ago.pk).update(created_at=timezone.now() - timedelta(days=40))
    DoNotCallEntry.objects.create(phone_e164="+16505550103")
    path = tmp_path / "numbers.csv"
    path.write_text("phone\n" + "".join(f"+1 650 555 {n:04d}\n" for n in range(100, 109)))

    out = io.StringIO()
    call_command("import_numbers", str(campaign.pk), str(path), "--region", "US", "--recent-days", "7", stdout=out,
                 stderr=io.StringIO())

    summary = NumberList.objects.get().summary
    assert summary["total"] == 9 and summary["valid"] == 6, summary
    assert sorted((row, reason) for row, _, reason in summary["first_errors"]) == [
        (2, "The number is already in this campaign."),
        (3, "The number was given to a campaign recently."),
        (5, "The number is on the do-not-call list."),
    ]
    stored = set(CallJob.objects.filter(campaign=campaign, number_list__isnull=False).values_list("row_number", flat=True))
    assert stored == {4, 6, 7, 8, 9, 10}
    assert CampaignStatusCount.objects.get(campaign=campaign, status="pending").count == 6
    assert commits[:3] == [2, 2, 2] and sum(commits) == 6, commits
