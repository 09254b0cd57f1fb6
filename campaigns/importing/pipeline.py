"""The number-list import: read -> validate -> sink, streamed in batches.

Both the web upload (a background task) and the command-line twin call
:func:`import_numbers`; storage is the caller's business through ``sink``, a callable
given each batch of accepted numbers (a list of :class:`AcceptedNumber`), e.g. one
``bulk_create`` per batch. Memory stays flat whatever the file size: one batch of rows,
the set of accepted numbers (for in-file duplicates) and the error report, which spools
to disk.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Protocol

from campaigns.importing.mapping import ColumnMapping
from campaigns.importing.phones import check_phones
from campaigns.importing.reader import Source, SourceRow, TableReader
from campaigns.importing.report import ErrorReport, ImportSummary
from campaigns.importing.validate import AcceptedNumber, NumberValidator, PhoneLookup

__all__ = ["NumberSink", "ProgressCallback", "import_numbers"]

DEFAULT_BATCH_SIZE = 5000
# Below this a worker pool costs more to start (~0.3 s per spawned interpreter) than it
# saves; the phone check is ~60% of the work, so a worker pays off from a few MB.
PARALLEL_MIN_BYTES = 4 * 1024 * 1024
# Batches in flight per worker: enough to keep workers busy while the main process reads.
_AHEAD = 2


class NumberSink(Protocol):
    def __call__(self, batch: Sequence[AcceptedNumber], /) -> None: ...


# progress(rows_done, bytes_done, total_bytes)
ProgressCallback = Callable[[int, int, int], None]


def import_numbers(
    source: Source | TableReader,
    *,
    mapping: ColumnMapping,
    default_region: str,
    sink: NumberSink,
    existing_phones: PhoneLookup | None = None,
    recent_phones: PhoneLookup | None = None,
    dnc: PhoneLookup | None = None,
    progress: ProgressCallback | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    error_report: ErrorReport | None = None,
    workers: int | None = None,
) -> ImportSummary:
    """Import one number list; returns the summary with its error report attached.

    ``source`` is a path, a binary file (an upload) or a :class:`TableReader` already
    opened for the preview (so the detected or overridden settings are reused).
    ``existing_phones``/``recent_phones``/``dnc`` are sets of E.164 numbers or functions
    answering for a batch (see :data:`PhoneLookup`). ``progress`` is called after every
    batch and once at the end. Raises :class:`MappingError` before reading any row if the
    mapping does not fit the file.

    ``workers``: processes checking phone numbers while this one reads and decides. None
    picks one per spare core (at most 2) for files over :data:`PARALLEL_MIN_BYTES`, else 0
    (all in this process). Workers are spawned, not forked, so this is safe to call from a
    threaded server or task runner; they only import ``phonenumbers``. As with any spawn
    pool, a script calling this must guard its entry point with
    ``if __name__ == "__main__":`` (manage.py and task runners do).
    """
    with _fewer_gc_passes():
        return _import(
            source,
            mapping=mapping,
            default_region=default_region,
            sink=sink,
            existing_phones=existing_phones,
            recent_phones=recent_phones,
            dnc=dnc,
            progress=progress,
            batch_size=batch_size,
            error_report=error_report,
            workers=workers,
        )


@contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    """Run the youngest GC generation less often while importing.

    Each batch creates tens of thousands of short-lived container objects (rows, cell
    lists, payload dicts) that reference counting frees anyway; at the default threshold
    they trigger collections that rescan everything alive (phonenumbers' metadata
    included) and cost about 15% of a million-row import. Restored afterwards.
    """
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], 50_000), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _import(
    source: Source | TableReader,
    *,
    mapping: ColumnMapping,
    default_region: str,
    sink: NumberSink,
    existing_phones: PhoneLookup | None,
    recent_phones: PhoneLookup | None,
    dnc: PhoneLookup | None,
    progress: ProgressCallback | None,
    batch_size: int,
    error_report: ErrorReport | None,
    workers: int | None,
) -> ImportSummary:
    started = time.perf_counter()
    table = source if isinstance(source, TableReader) else TableReader(source)
    resolved = mapping.resolve(table.columns)
    validator = NumberValidator(
        mapping=resolved,
        default_region=default_region,
        existing_phones=existing_phones,
        recent_phones=recent_phones,
        dnc=dnc,
    )
    report = error_report if error_report is not None else ErrorReport()
    summary = ImportSummary(
        encoding=table.encoding,
        delimiter=table.delimiter,
        has_header=table.has_header,
        bytes_total=table.total_bytes,
        error_report=report,
    )

    reported = [-1]  # bytes_done of the last progress call

    def flush(batch: list[SourceRow], verdicts: list[tuple | None] | None) -> None:
        accepted, rejected = validator.check_rows(batch, verdicts)
        if rejected:
            report.add(rejected)
        if accepted:
            zones = summary.zones
            for number in accepted:
                zones[number.gmt_zone or ""] += 1
                if number.zone_source == "file":
                    summary.zone_from_file += 1
                elif number.zone_source == "number":
                    summary.zone_from_number += 1
            summary.valid += len(accepted)
            sink(accepted)
        summary.total_rows += len(batch)
        if progress is not None:
            reported[0] = table.bytes_read
            progress(summary.total_rows, table.bytes_read, table.total_bytes)

    if workers is None:
        cpus = os.process_cpu_count() or 1
        # One worker per spare core: this process reads and decides full time.
        big = table.total_bytes >= PARALLEL_MIN_BYTES
        workers = min(2, cpus - 1) if big else 0
    batches = _batches(table.rows(), batch_size)
    if workers <= 0:
        for batch in batches:
            flush(batch, None)
    else:
        _run_with_workers(batches, flush, validator, workers)
    if progress is not None and reported[0] != table.total_bytes:
        # The last batch goes out before the reader notices the end of the file.
        progress(summary.total_rows, table.total_bytes, table.total_bytes)
    summary.invalid_by_reason = dict(report.counts)
    summary.zone_ambiguous = validator.zone_ambiguous
    summary.seconds = time.perf_counter() - started
    return summary


def _run_with_workers(
    batches: Iterator[list[SourceRow]],
    flush: Callable[[list[SourceRow], list[tuple | None] | None], None],
    validator: NumberValidator,
    workers: int,
) -> None:
    """Keep the reading, in-file duplicates and the sink here (they are ordered and
    stateful); ship only the phone strings out and the verdicts back, a few batches ahead.

    If the pool breaks (a worker killed by the OOM killer, a sandbox forbidding processes),
    the remaining batches are checked here instead: slower, same result.
    """
    region = validator.default_region
    pool: ProcessPoolExecutor | None
    try:
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        )
    except OSError:
        pool = None
    pending: deque[tuple[list[SourceRow], Future[list[tuple | None]] | None]] = deque()

    def settle() -> None:
        batch, future = pending.popleft()
        verdicts = None
        if future is not None:
            try:
                verdicts = future.result()
            except BrokenProcessPool:
                verdicts = None
        flush(batch, verdicts)

    try:
        for batch in batches:
            future = None
            if pool is not None:
                try:
                    future = pool.submit(check_phones, validator.phone_values(batch), region)
                except (BrokenProcessPool, OSError):
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = None
            pending.append((batch, future))
            while pending and (pool is None or len(pending) >= workers * _AHEAD):
                settle()
        while pending:
            settle()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _batches(rows: Iterator[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    batch: list[SourceRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
