"""Number lists: upload, column mapping, and the import into call jobs.

The web upload and ``manage.py import_numbers`` share ``number_list_import_run``. One
list per campaign imports at a time: a second upload waits in the queue (its lists are
taken oldest first), so two files never mix their duplicates checks.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
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
from campaigns.importing.validate import AcceptedNumber
from campaigns.importing.window import CallingPolicy, WindowPreview, preview_calling_window
from campaigns.models import CallJob, Campaign, DoNotCallEntry, NumberList
from campaigns.selectors import phones_among
from campaigns.services.counts import status_counts_apply

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 0.5  # seconds between progress writes and pushes
# Rows stored per transaction. Each commit writes every index page it touched, and the
# unique (phone, campaign) index takes random keys, so small commits rewrite the same
# pages over and over: a million rows take 21 s of SQLite alone in commits of 5,000 and
# 15 s in commits of 20,000 (bench/storage_floor.py). A commit of 20,000 holds SQLite's
# write lock for ~0.4 s, well inside the 20 s busy timeout other writers wait.
IMPORT_BATCH_ROWS = 20_000


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


_INSERT_COLUMNS = ("campaign_id", "number_list_id", "provider_job_id", "push_error", "job_status", "attempts_count",
                   "tag_name", "row_number", "phone", "phone_e164", "gmt_zone", "payload", "policy", "created_at")
_PG_ROWS_PER_STATEMENT = 5000  # 7 parameters a row, under PostgreSQL's 65,535


_quote = json.encoder.encode_basestring_ascii  # json.dumps's own string encoder (C)


def _json_object(values: dict[str, Any]) -> str:
    """``json.dumps(values)``, at half the cost for what an import carries: flat dicts of
    cells. Two of these per row were ~10% of a million-row import (bench/ingest.py)."""
    if not values:
        return "{}"
    try:
        return "{" + ", ".join([f"{_quote(key)}: {_quote(value)}" for key, value in values.items()]) + "}"
    except TypeError:  # not all strings (a policy's numbers and lists)
        return json.dumps(values)


def call_jobs_insert(*, campaign_id: int, number_list_id: int | None, accepted: Sequence[AcceptedNumber]) -> int:
    """Store accepted numbers as pending call jobs; a phone the campaign already has is
    skipped (the unique constraint, for a concurrent writer: the import itself checks
    first). Returns how many were stored.

    One prepared INSERT run over the rows instead of ``bulk_create``: building and
    compiling the model instances was two thirds of an import (bench/ingest.py)."""
    connection = transaction.get_connection()
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    encode = _json_object
    rows = [(a.row, a.phone, a.e164, a.gmt_zone or "", encode(a.payload), encode(a.policy), now) for a in accepted]
    if not rows:
        return 0
    table = connection.ops.quote_name(CallJob._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _INSERT_COLUMNS)
    # What every row of the call shares is written into the statement (two ids made
    # ints here, and constants): binding it again for each of a million rows was ~5%.
    shared = f"{int(campaign_id)}, {'NULL' if number_list_id is None else int(number_list_id)}, '', '', 'pending', 0, ''"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One multi-row statement per chunk: rowcount is exact, and the JSON goes in as jsonb.
            one = f"({shared}, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s)"
            stored = 0
            for start in range(0, len(rows), _PG_ROWS_PER_STATEMENT):
                chunk = rows[start:start + _PG_ROWS_PER_STATEMENT]
                cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(chunk))} "
                               "ON CONFLICT DO NOTHING", [v for row in chunk for v in row])
                stored += cursor.rowcount
            return stored
        # SQLite sums executemany's modifications into rowcount; ignored conflicts add 0.
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({shared}, %s, %s, %s, %s, %s, %s, %s) "
                           "ON CONFLICT DO NOTHING", rows)
        return cursor.rowcount


def number_list_import_run(*, number_list: NumberList,
                           on_progress: Callable[[NumberList], None] | None = None) -> ImportSummary:
    """Import a claimed list: accepted numbers become pending call jobs, the rest goes to
    the error report. Progress is written to the row (so a reopened page shows it) and
    handed to ``on_progress`` at most every half second."""
    campaign_id = number_list.campaign_id
    last = [0.0]

    def progress(rows: int, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY and done < total:
            return
        last[0] = now
        number_list.rows_done, number_list.bytes_done = rows, done
        NumberList.objects.filter(pk=number_list.pk).update(rows_done=rows, bytes_done=done)
        if on_progress is not None:
            on_progress(number_list)

    unstored: list[AcceptedNumber] = []

    def store() -> None:
        with transaction.atomic():
            created = call_jobs_insert(campaign_id=campaign_id, number_list_id=number_list.pk, accepted=unstored)
            status_counts_apply(campaign_id=campaign_id, delta=Counter({"pending": created}))
        unstored.clear()

    # The pipeline's batches stay small (they set its memory); commits gather several.
    def sink(batch: Sequence[AcceptedNumber]) -> None:
        unstored.extend(batch)
        if len(unstored) >= IMPORT_BATCH_ROWS:
            store()

    try:
        with number_list.file.open("rb") as fh:
            summary = import_numbers(
                fh,
                mapping=mapping_from_json(number_list.mapping),
                default_region=number_list.default_region or settings.PHONE_DEFAULT_REGION,
                sink=sink,
                existing_phones=_lookup_existing(campaign_id),
                recent_phones=_lookup_recent(campaign_id, number_list.recent_days) if number_list.recent_days else None,
                dnc=_lookup_dnc,
                progress=progress,
            )
        if unstored:
            store()
    except (MappingError, ValueError, OSError) as exc:
        number_list.state, number_list.error = NumberList.State.FAILED, str(exc)
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
