"""Import summary and the downloadable error report.

The error report is written to a temporary file as rows are rejected (a million-row file
can have a million errors), with only the counts and the first few rejections kept in
memory for the result page.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO

from campaigns.importing.validate import (
    DO_NOT_CALL,
    DUPLICATE_IN_CAMPAIGN,
    DUPLICATE_IN_LIST,
    DUPLICATE_RECENT,
    REASONS,
    RejectedRow,
)

__all__ = ["ERROR_REPORT_HEADER", "ErrorReport", "ImportSummary", "safe_cell"]

ERROR_REPORT_HEADER = ("row", "value", "reason_code", "reason")
DUPLICATE_REASONS = (DUPLICATE_IN_LIST, DUPLICATE_IN_CAMPAIGN, DUPLICATE_RECENT)

# Spreadsheet programs run a cell starting with these as a formula (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """Neutralise a cell for spreadsheets: a leading ``'`` makes Excel and LibreOffice show
    it as text. ``+79110000000`` becomes ``'+79110000000``, still readable as the number."""
    if value and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


@dataclass
class ImportSummary:
    """Counts for the result page. ``total_rows`` counts data rows (blank lines and the
    header excluded); ``invalid`` counts every rejected row, whatever the reason."""

    total_rows: int = 0
    valid: int = 0
    invalid_by_reason: dict[str, int] = field(default_factory=dict)
    zone_from_file: int = 0
    zone_from_number: int = 0
    zone_ambiguous: int = 0
    # Accepted numbers per gmtZone ("" = left to the campaign): the calling-window input.
    zones: Counter[str] = field(default_factory=Counter)
    encoding: str | None = None
    delimiter: str | None = None
    has_header: bool = False
    bytes_total: int = 0
    seconds: float = 0.0
    error_report: ErrorReport | None = None

    @property
    def invalid(self) -> int:
        return sum(self.invalid_by_reason.values())

    @property
    def duplicates(self) -> int:
        return sum(self.invalid_by_reason.get(r, 0) for r in DUPLICATE_REASONS)

    @property
    def blocked_by_dnc(self) -> int:
        return self.invalid_by_reason.get(DO_NOT_CALL, 0)

    def reasons_in_words(self) -> list[tuple[str, str, int]]:
        """(code, words, count), most frequent first, for the result page."""
        return [
            (code, REASONS[code], count)
            for code, count in sorted(self.invalid_by_reason.items(), key=lambda kv: -kv[1])
        ]

    def as_dict(self) -> dict[str, object]:
        return {
            "total_rows": self.total_rows,
            "valid": self.valid,
            "invalid": self.invalid,
            "invalid_by_reason": dict(self.invalid_by_reason),
            "duplicates": self.duplicates,
            "blocked_by_dnc": self.blocked_by_dnc,
            "zone_from_file": self.zone_from_file,
            "zone_from_number": self.zone_from_number,
            "zone_ambiguous": self.zone_ambiguous,
            "zones": dict(self.zones),
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "has_header": self.has_header,
            "bytes_total": self.bytes_total,
            "seconds": round(self.seconds, 3),
        }


class ErrorReport:
    """Collects rejected rows into a CSV (UTF-8 with BOM so Excel reads Cyrillic), spooled
    in memory up to ``memory_limit`` bytes and on disk beyond. Keeps counts per reason and
    the first ``keep`` rejections for display."""

    def __init__(self, *, keep: int = 100, memory_limit: int = 1024 * 1024) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=memory_limit, mode="w+b")
        self._text = io.TextIOWrapper(self._file, encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._text)
        self._writer.writerow(ERROR_REPORT_HEADER)
        self.counts: Counter[str] = Counter()
        self.first: list[RejectedRow] = []
        self._keep = keep

    def add(self, rejected: Iterable[RejectedRow]) -> None:
        rows = []
        for item in rejected:
            self.counts[item.reason] += 1
            if len(self.first) < self._keep:
                self.first.append(item)
            words = REASONS[item.reason]
            if item.detail:
                words = f"{words} {item.detail}"
            rows.append((item.row, safe_cell(item.value), item.reason, safe_cell(words)))
        self._writer.writerows(rows)

    def __len__(self) -> int:
        return sum(self.counts.values())

    def open(self) -> IO[bytes]:
        """The report as a binary file positioned at its start (for a download response or
        ``FileField.save``). Adding after this is not supported."""
        self._text.flush()
        self._file.seek(0)
        return self._file

    def getvalue(self) -> str:
        return self.open().read().decode("utf-8-sig")

    def close(self) -> None:
        self._text.close()
