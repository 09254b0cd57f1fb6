"""A big list's call jobs are stored by a writer process beside the import: everything
arrives once, with the counts and the progress, and a writer that fails or dies fails
the list with a message instead of leaving it importing."""

from __future__ import annotations

import os
import signal

import pytest
from django.core.files.base import ContentFile

from campaigns.importing.validate import AcceptedNumber
from campaigns.models import CallJob, CampaignStatusCount, NumberList
from campaigns.services import imports, job_writer
from campaigns.services.job_writer import JobWriterProcess, WriterProcessFailed

pytestmark = pytest.mark.django_db(transaction=True)


def a_list(campaign, rows: int) -> NumberList:
    text = "phone,name\n" + "".join(f"+1 650 555 {n:04d},Customer {n}\n" for n in range(rows))
    number_list = NumberList(campaign=campaign, original_name="big.csv", default_region="US", state="importing",
                             mapping={"phone": "phone", "payload": ["name"]})
    number_list.file.save("big.csv", ContentFile(text.encode()), save=True)
    return number_list


def test_a_big_list_is_stored_by_the_writer_process_in_several_commits(campaign, monkeypatch):
    monkeypatch.setattr(job_writer, "WRITER_PROCESS_MIN_BYTES", 0)  # this small list counts as big
    monkeypatch.setattr(job_writer, "IMPORT_BATCH_ROWS", 700)
    opened = []

    def job_writer_open(**kwargs):
        opened.append(job_writer.job_writer_open(**kwargs))
        return opened[-1]

    monkeypatch.setattr(imports, "job_writer_open", job_writer_open)
    commits = []
    real_flush = JobWriterProcess._flush

    def counted_flush(self, rows=None):
        commits.append(len(self.items[:rows]))
        real_flush(self, rows)

    monkeypatch.setattr(JobWriterProcess, "_flush", counted_flush)
    number_list = a_list(campaign, 2500)

    summary = imports.number_list_import_run(number_list=number_list)

    assert isinstance(opened[0], JobWriterProcess) and opened[0].process.exitcode == 0
    assert commits[:4] == [700, 700, 700, 400] and sum(commits) == 2500, commits
    assert summary.valid == 2500
    jobs = CallJob.objects.filter(campaign=campaign)
    assert jobs.count() == 2500 and jobs.values("phone_e164").distinct().count() == 2500
    assert jobs.get(phone_e164="+16505551234").payload == {"name": "Customer 1234"}
    assert CampaignStatusCount.objects.get(campaign=campaign, status="pending").count == 2500
    number_list.refresh_from_db()
    assert (number_list.state, number_list.rows_done) == ("imported", 2500)


def test_a_writer_that_cannot_store_fails_the_list_with_its_message(campaign, monkeypatch):
    # The writer stores into a campaign that does not exist: its commit breaks the
    # foreign key there, not here.
    monkeypatch.setattr(imports, "job_writer_open", lambda **kw: JobWriterProcess(
        campaign_id=campaign.pk + 1000, number_list_id=kw["number_list_id"]))
    number_list = a_list(campaign, 50)

    with pytest.raises(WriterProcessFailed, match="could not be stored: IntegrityError"):
        imports.number_list_import_run(number_list=number_list)

    number_list.refresh_from_db()
    assert number_list.state == "failed" and "could not be stored: IntegrityError" in number_list.error
    # The database's own words (rows, hosts) stay in the worker's log.
    assert "FOREIGN KEY" not in number_list.error and "constraint" not in number_list.error.lower()
    assert not CallJob.objects.exists()


def test_without_processes_the_list_is_stored_here(campaign, monkeypatch):
    monkeypatch.setattr(job_writer, "WRITER_PROCESS_MIN_BYTES", 0)

    def no_processes(*args, **kwargs):
        raise OSError("process limit reached")

    monkeypatch.setattr(job_writer.multiprocessing, "get_context", no_processes)
    number_list = a_list(campaign, 30)

    imports.number_list_import_run(number_list=number_list)

    assert CallJob.objects.filter(campaign=campaign).count() == 30


def test_a_writer_killed_mid_import_stops_the_import_instead_of_hanging(campaign):
    number_list = a_list(campaign, 1)
    writer = JobWriterProcess(campaign_id=campaign.pk, number_list_id=number_list.pk)
    os.kill(writer.process.pid, signal.SIGKILL)
    writer.process.join(timeout=30)
    numbers = [AcceptedNumber(row=n, phone=f"1650555{n:04d}", e164=f"+1650555{n:04d}", gmt_zone=None, zone_source="",
                              payload={}) for n in range(job_writer.IMPORT_BATCH_ROWS * 3)]

    with pytest.raises(WriterProcessFailed, match="stopped"):
        writer.add(numbers[:job_writer.IMPORT_BATCH_ROWS])
        writer.add(numbers[job_writer.IMPORT_BATCH_ROWS:])
        writer.close()
    writer.abort()


def test_progress_reaches_the_database_between_commits(campaign, monkeypatch):
    """A list whose numbers are mostly set aside may not commit until its end: a page
    reopened meanwhile still reads how far it got."""
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 0)
    number_list = a_list(campaign, 12_000)  # three pipeline batches, one commit at the end
    seen = []

    def on_progress(nl):
        seen.append((nl.rows_done, NumberList.objects.values_list("rows_done", flat=True).get(pk=nl.pk)))

    imports.number_list_import_run(number_list=number_list, on_progress=on_progress)

    during = [stored for shown, stored in seen if 0 < shown < 12_000]
    assert during and during == [shown for shown, _ in seen if 0 < shown < 12_000], seen


def test_an_interrupted_import_leaves_the_list_failed_not_importing(campaign, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(imports, "import_numbers", interrupted)
    number_list = a_list(campaign, 10)

    with pytest.raises(KeyboardInterrupt):
        imports.number_list_import_run(number_list=number_list)

    number_list.refresh_from_db()
    assert number_list.state == "failed" and "interrupted" in number_list.error
