"""Number lists: upload, column mapping, and the import into call jobs.

The web upload and ``manage.py import_numbers`` share ``number_list_import_run``. One
list per campaign imports at a time: a second upload waits in the queue (its lists are
taken oldest first), so two files never mix their duplicates checks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import File
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone

from campaigns.importing.mapping import ColumnMapping, MappingError, guess_mapping
from campaigns.importing.pipeline import import_numbers
from campaigns.importing.reader import preview
from campaigns.importing.report import ImportSummary
from campaigns.importing.window import CallingPolicy, WindowPreview, preview_calling_window
from campaigns.models import CallJob, Campaign, DoNotCallEntry, NumberList
from campaigns.selectors import phones_among
from campaigns.services.job_writer import JobWriter, WriterProcessFailed, job_writer_open

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 0.5  # seconds between progress writes and pushes


class ImportRefused(ValueError):
    """The file cannot be imported as it is; the message says why, in words."""


def number_list_create(*, campaign: Campaign, upload: UploadedFile, user: Any, default_region: str = "",
                       recent_days: int | None = None) -> NumberList:
    """Store the file and what its first rows look like, for the mapping screen."""
    number_list = NumberList(
        campaign=campaign, uploaded_by=user, original_name=upload.name[:255], size=upload.size or 0,
        default_region=(default_region or settings.PHONE_DEFAULT_REGION).upper(), recent_days=recent_days,
    )
    number_list.file.save(upload.name, upload, save=False)
    try:
        with number_list.file.open("rb") as fh:
            seen = preview(fh, n=8)
    except (ValueError, OSError) as exc:
        number_list.file.delete(save=False)
        raise ImportRefused(f"{upload.name} could not be read as CSV or XLSX: {exc}") from exc
    if not seen.columns:
        number_list.file.delete(save=False)
        raise ImportRefused(f"{upload.name} holds no rows.")
    guess = guess_mapping(seen.columns, seen.rows)
    number_list.detected = {
        "kind": seen.kind, "encoding": seen.encoding, "delimiter": seen.delimiter, "has_header": seen.has_header,
        "columns": seen.columns, "rows": seen.rows,
    }
    number_list.mapping = mapping_to_json(guess)
    number_list.save()
    return number_list


def mapping_to_json(mapping: ColumnMapping) -> dict[str, Any]:
    return {"phone": mapping.phone, "time_zone": mapping.time_zone, "payload": list(mapping.payload),
            "policy": dict(mapping.policy)}


def mapping_from_json(data: dict[str, Any]) -> ColumnMapping:
    return ColumnMapping(phone=data.get("phone") or "", time_zone=data.get("time_zone") or None,
                         payload=tuple(data.get("payload") or ()), policy=dict(data.get("policy") or {}))


def number_list_queue(*, number_list: NumberList, mapping: ColumnMapping, default_region: str | None = None,
                      recent_days: int | None = None) -> NumberList:
    """Confirm the mapping and put the list in its campaign's import queue."""
    mapping.validate(number_list.detected.get("columns", []))  # raises MappingError
    number_list.mapping = mapping_to_json(mapping)
    if default_region:
        number_list.default_region = default_region.upper()
    number_list.recent_days = recent_days
    number_list.state = NumberList.State.QUEUED
    number_list.queued_at = timezone.now()
    number_list.save()
    return number_list


def number_list_claim_next(*, campaign_id: int) -> NumberList | None:
    """Take the campaign's oldest queued list, unless one is importing already."""
    with transaction.atomic():
        lists = NumberList.objects.select_for_update().filter(campaign_id=campaign_id)
        if lists.filter(state=NumberList.State.IMPORTING).exists():
            return None
        number_list = lists.filter(state=NumberList.State.QUEUED).order_by("queued_at", "pk").first()
        if number_list is None:
            return None
        number_list.state = NumberList.State.IMPORTING
        number_list.started_at = timezone.now()
        number_list.rows_done = number_list.bytes_done = 0
        number_list.save(update_fields=["state", "started_at", "rows_done", "bytes_done"])
    return number_list


def number_lists_interrupted(*, campaign_id: int) -> int:
    """After the worker importing the campaign's list died: the list is failed with the
    reason (the rows committed so far stay, as after any failed import), and the lists
    queued behind it are imported next. Returns how many lists were failed."""
    from campaigns.tasks import number_lists_import_task

    failed = NumberList.objects.filter(campaign_id=campaign_id, state=NumberList.State.IMPORTING).update(
        state=NumberList.State.FAILED, finished_at=timezone.now(),
        error=INTERRUPTED + " Upload the file again to import the rest: numbers already"
        " stored are reported as already in the campaign.")
    if NumberList.objects.filter(campaign_id=campaign_id, state=NumberList.State.QUEUED).exists():
        number_lists_import_task.enqueue(campaign_id)
    return failed


def _lookup_existing(campaign_id: int) -> Callable[[list[str]], set[str]]:
    def lookup(numbers: list[str]) -> set[str]:
        return phones_among(numbers, model=CallJob, where="campaign_id = %s", params=[campaign_id])
    return lookup


def _lookup_recent(campaign_id: int, days: int) -> Callable[[list[str]], set[str]]:
    since = timezone.now() - timedelta(days=days)

    def lookup(numbers: list[str]) -> set[str]:
        stamp = connection.ops.adapt_datetimefield_value(since)
        return phones_among(numbers, model=CallJob, where="created_at >= %s AND campaign_id <> %s",
                            params=[stamp, campaign_id])
    return lookup


def _lookup_dnc(numbers: list[str]) -> set[str]:
    return phones_among(numbers, model=DoNotCallEntry)


INTERRUPTED = "The import was interrupted (its worker stopped); the numbers stored until then stay in the campaign."


def _failure_words(exc: BaseException) -> str:
    """What the list shows when its import stopped: the reason for what we raise in
    words, the kind only for anything else (a database's message can name hosts and
    hold rows; the whole error goes to the log)."""
    if isinstance(exc, (MappingError, ValueError, OSError, WriterProcessFailed)):
        return str(exc) or type(exc).__name__
    logger.error("number list import stopped", exc_info=exc)
    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
        return INTERRUPTED
    return f"The import stopped on an unexpected error ({type(exc).__name__}); the details are in the worker's log."


def number_list_import_run(*, number_list: NumberList,
                           on_progress: Callable[[NumberList], None] | None = None) -> ImportSummary:
    """Import a claimed list: accepted numbers become pending call jobs, the rest goes to
    the error report. Progress is written with the jobs (so a reopened page shows what
    is stored) and handed to ``on_progress`` at most every half second. A list that
    cannot be finished is marked failed, with the reason, and the error raised."""
    campaign_id = number_list.campaign_id
    writer: JobWriter | None = None
    last = [0.0]

    def progress(rows: int, done: int, total: int) -> None:
        writer.note_progress(rows, done)
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY and done < total:
            return
        last[0] = now
        writer.save_progress()
        number_list.rows_done, number_list.bytes_done = rows, done
        if on_progress is not None:
            on_progress(number_list)

    try:
        writer = job_writer_open(campaign_id=campaign_id, number_list_id=number_list.pk,
                                 size_bytes=number_list.size or number_list.file.size)
        with number_list.file.open("rb") as fh:
            summary = import_numbers(
                fh,
                mapping=mapping_from_json(number_list.mapping),
                default_region=number_list.default_region or settings.PHONE_DEFAULT_REGION,
                sink=writer.add,
                existing_phones=_lookup_existing(campaign_id),
                recent_phones=_lookup_recent(campaign_id, number_list.recent_days) if number_list.recent_days else None,
                dnc=_lookup_dnc,
                progress=progress,
            )
        writer.close()
    except BaseException as exc:  # an interrupt too: a list left "importing" blocks its campaign's queue
        if writer is not None:
            writer.abort()
        number_list.state, number_list.error = NumberList.State.FAILED, _failure_words(exc)
        number_list.finished_at = timezone.now()
        number_list.save(update_fields=["state", "error", "finished_at"])
        if on_progress is not None:
            on_progress(number_list)
        raise
    report = summary.error_report
    if report is not None and len(report):
        number_list.error_report.save(f"errors-{number_list.pk}.csv", File(report.open()), save=False)
    data = summary.as_dict()
    data["reasons"] = summary.reasons_in_words()
    data["first_errors"] = [(r.row, r.value, r.label) for r in (report.first if report else [])][:20]
    number_list.summary = {"total": summary.total_rows, **data}
    number_list.state = NumberList.State.IMPORTED
    number_list.finished_at = timezone.now()
    number_list.rows_done = summary.total_rows
    number_list.bytes_done = summary.bytes_total
    number_list.save()
    if report is not None:
        report.close()
    if on_progress is not None:
        on_progress(number_list)
    return summary


def calling_window_preview(*, number_list: NumberList, now: Any = None) -> WindowPreview:
    campaign = number_list.campaign
    policy = CallingPolicy.from_jaicp(campaign.default_policy, default_zone=settings.TIME_ZONE)
    zones = number_list.summary.get("zones") or {}
    return preview_calling_window(zones, policy, now=now or timezone.now())
