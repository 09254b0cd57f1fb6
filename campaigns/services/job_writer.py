"""Storing an import's accepted numbers as pending call jobs.

Small lists are stored by the importing process itself. Big ones are stored by a writer
process beside it: SQLite's share of a million-row import (about half of it, on one
core) then runs on the second core while the import reads and checks the next rows
(bench/ingest.py). Either way the jobs, the campaign's status counts and the list's
progress move together, in one transaction per :data:`IMPORT_BATCH_ROWS` rows.
"""

from __future__ import annotations

import json
import multiprocessing
import queue
from collections import Counter
from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from campaigns.importing.validate import AcceptedNumber
from campaigns.models import CallJob, NumberList
from campaigns.services import job_writer_main
from campaigns.services.counts import status_counts_apply

# Rows stored per transaction. Each commit writes every index page it touched, and the
# unique (phone, campaign) index takes random keys, so small commits rewrite the same
# pages over and over: a million rows take 21 s of SQLite alone in commits of 5,000 and
# 15 s in commits of 20,000 (bench/storage_floor.py). A commit of 20,000 holds SQLite's
# write lock for ~0.5 s, well inside the 20 s busy timeout other writers wait.
IMPORT_BATCH_ROWS = 20_000
# Below this a writer process costs more to start (a spawned interpreter and Django,
# ~1 s) than it saves.
WRITER_PROCESS_MIN_BYTES = 4 * 1024 * 1024

# One accepted number as it travels to the writer, its payload and policy already JSON:
# plain strings pickle several times faster than the dataclass and its dicts, and the
# encoding is done by the importing process, which waits on the writer anyway.
# (row, phone, e164, gmt_zone, payload JSON, policy JSON)
Item = tuple[int, str, str, str, str, str]

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


def _item(number: AcceptedNumber) -> Item:
    return (number.row, number.phone, number.e164, number.gmt_zone or "", _json_object(number.payload),
            _json_object(number.policy))


def call_jobs_insert(*, campaign_id: int, number_list_id: int | None, accepted: Sequence[AcceptedNumber]) -> int:
    """Store accepted numbers as pending call jobs; a phone the campaign already has is
    skipped (the unique constraint, for a concurrent writer: the import itself checks
    first). Returns how many were stored."""
    return call_job_items_insert(campaign_id=campaign_id, number_list_id=number_list_id,
                                 items=[_item(number) for number in accepted])


def call_job_items_insert(*, campaign_id: int, number_list_id: int | None, items: Sequence[Item]) -> int:
    """:func:`call_jobs_insert` for numbers already in :data:`Item` form.

    One prepared INSERT run over the rows instead of ``bulk_create``: building and
    compiling the model instances was two thirds of an import (bench/ingest.py)."""
    connection = transaction.get_connection()
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = [(*item, now) for item in items]
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


def commit(campaign_id: int, number_list_id: int, items: Sequence[Item], progress: tuple[int, int] | None) -> int:
    with transaction.atomic():
        created = call_job_items_insert(campaign_id=campaign_id, number_list_id=number_list_id, items=items)
        status_counts_apply(campaign_id=campaign_id, delta=Counter({"pending": created}))
        if progress is not None:
            NumberList.objects.filter(pk=number_list_id).update(rows_done=progress[0], bytes_done=progress[1])
    return created


class JobWriter:
    """Stores in this process. ``add`` the accepted numbers of each pipeline batch,
    ``note_progress`` after it (written with the next commit, so a reopened page shows
    what is stored), and ``close`` at the end: it stores the rest and returns how many
    jobs were stored in all."""

    def __init__(self, *, campaign_id: int, number_list_id: int) -> None:
        self.campaign_id, self.number_list_id = campaign_id, number_list_id
        self.items: list[Item] = []
        self.progress: tuple[int, int] | None = None
        self.stored = 0

    def add(self, accepted: Sequence[AcceptedNumber]) -> None:
        self.items.extend(map(_item, accepted))
        while len(self.items) >= IMPORT_BATCH_ROWS:
            self._flush(IMPORT_BATCH_ROWS)

    def note_progress(self, rows_done: int, bytes_done: int) -> None:
        self.progress = (rows_done, bytes_done)

    def save_progress(self) -> None:
        """Write the progress now, between commits (a list of few valid numbers may
        not commit until its end): called every half second by the import."""
        if self.progress is not None:
            NumberList.objects.filter(pk=self.number_list_id).update(
                rows_done=self.progress[0], bytes_done=self.progress[1])

    def close(self) -> int:
        if self.items or self.progress is not None:
            self._flush()
        return self.stored

    def abort(self) -> None:
        self.items = []

    def _flush(self, rows: int | None = None) -> None:
        items, self.items = self.items[:rows], self.items[rows:]
        self.stored += commit(self.campaign_id, self.number_list_id, items, self.progress)


class WriterProcessFailed(RuntimeError):
    @classmethod
    def answered(cls, value: Any) -> WriterProcessFailed:
        """From the writer's error answer (or the "stopped" of one that left none)."""
        return cls(f"The call jobs could not be stored: {value}")


class JobWriterProcess(JobWriter):
    """Stores in a spawned process with its own database connection. One transaction's
    worth of rows waits for it while it stores the previous one (each waiting batch is
    ~16 MB here), so memory stays flat; an error there stops the import here at its
    next batch, with the writer's message."""

    def __init__(self, *, campaign_id: int, number_list_id: int) -> None:
        super().__init__(campaign_id=campaign_id, number_list_id=number_list_id)
        context = multiprocessing.get_context("spawn")  # safe from a threaded server or task runner
        self.inbox = context.Queue(maxsize=1)
        # close() waits for the writer's last word, so everything queued was delivered
        # by then; otherwise (a writer gone, an interrupted import) exiting must not
        # wait on rows nobody will read.
        self.inbox.cancel_join_thread()
        self.outbox = context.Queue()
        self.process = context.Process(
            target=job_writer_main.run, name="callboard-job-writer", daemon=True,
            args=(dict(connection.settings_dict), campaign_id, number_list_id, self.inbox, self.outbox))
        self.process.start()

    def _flush(self, rows: int | None = None) -> None:
        items, self.items = self.items[:rows], self.items[rows:]
        self._put((items, self.progress))

    def save_progress(self) -> None:
        # The writer holds SQLite's write lock most of the time: an UPDATE from here
        # would wait for it. Sent as an empty commit, and skipped while a batch (which
        # carries the progress too) is already waiting.
        if self.progress is not None:
            try:
                self.inbox.put_nowait(([], self.progress))
            except queue.Full:
                pass

    def close(self) -> int:
        if self.items or self.progress is not None:
            self._flush()
        self._put(None)
        kind, value = self._answer()
        self.process.join(timeout=30)
        if kind == "error":
            raise WriterProcessFailed.answered(value)
        self.stored = value
        return self.stored

    def abort(self) -> None:
        self.items = []
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=10)
        self.inbox.close()

    def _put(self, message: Any) -> None:
        while True:
            self._raise_if_failed()
            try:
                self.inbox.put(message, timeout=0.5)
                return
            except queue.Full:
                if not self.process.is_alive():
                    _, value = self._answer()  # its error, or "stopped" if it left none
                    raise WriterProcessFailed.answered(value) from None

    def _raise_if_failed(self) -> None:
        try:
            _, value = self.outbox.get_nowait()
        except queue.Empty:
            return
        # Before the end is asked for, the only answer is an error.
        raise WriterProcessFailed.answered(value)

    def _answer(self) -> tuple[str, Any]:
        """The writer's last word: ("done", stored) or ("error", message)."""
        while True:
            try:
                return self.outbox.get(timeout=0.5)
            except queue.Empty:
                if self.process.is_alive():
                    continue
            try:  # it exited: what it sent may still be in the pipe
                return self.outbox.get(timeout=1)
            except queue.Empty:
                raise WriterProcessFailed(
                    f"The call-job writer stopped (exit code {self.process.exitcode}).") from None


def job_writer_open(*, campaign_id: int, number_list_id: int, size_bytes: int) -> JobWriter:
    """The writer for a list of ``size_bytes``: a process for a big one, unless another
    process could not see what this one holds (a transaction still open here, or an
    in-memory SQLite database)."""
    shared = not connection.in_atomic_block and not (
        connection.vendor == "sqlite" and connection.is_in_memory_db())
    if shared and size_bytes >= WRITER_PROCESS_MIN_BYTES:
        try:
            return JobWriterProcess(campaign_id=campaign_id, number_list_id=number_list_id)
        except OSError:  # no processes here (a sandbox, a limit): slower, same result
            pass
    return JobWriter(campaign_id=campaign_id, number_list_id=number_list_id)
