"""Streaming readers for uploaded number lists (CSV in any common encoding, or XLSX).

Nothing here holds a whole file: CSV is decoded and split line by line, XLSX is read with
openpyxl's ``read_only`` streaming. Every row comes out as a :class:`SourceRow` carrying
its 1-based line (CSV) or row (XLSX) number in the file, counting the header, so an admin
can find it in their spreadsheet. A row that cannot be read (bad bytes, an unterminated
quote, a different number of columns) comes out with a ``problem`` code instead of cells;
the rest of the file goes on.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

__all__ = [
    "MALFORMED_ROW",
    "UNDECODABLE_ROW",
    "Preview",
    "SourceRow",
    "TableReader",
    "detect_encoding",
    "open_table",
    "preview",
]

MALFORMED_ROW = "malformed_row"
UNDECODABLE_ROW = "undecodable_row"

DELIMITERS = (",", ";", "\t", "|")
SAMPLE_BYTES = 64 * 1024
# A quoted field may hold line breaks; past this many lines we call the quote unterminated
# rather than swallow the rest of the file into one cell.
MAX_LINES_PER_RECORD = 20
MAX_RECORD_CHARS = 64 * 1024

# Decoding errors become this lone surrogate, which no correct decoding of UTF-8, UTF-16 or
# cp1251 can produce, so a line holding it is known to be undecodable.
_BAD = "\udfff"
_ERRORS = "callboard-import-mark"


def _mark_bad(error: UnicodeError) -> tuple[str, int]:
    return _BAD, error.end  # type: ignore[attr-defined]


codecs.register_error(_ERRORS, _mark_bad)

Source = str | os.PathLike[str] | IO[bytes]


@dataclass(slots=True)
class SourceRow:
    """One row of the file. ``cells`` is None when ``problem`` says why it could not be read;
    ``raw`` then holds what we could make of the line, for the error report."""

    number: int
    cells: list[str] | None
    problem: str | None = None
    detail: str = ""
    raw: str = ""


@dataclass(frozen=True)
class Preview:
    """What the column-mapping screen shows before the import runs."""

    kind: str  # "csv" or "xlsx"
    encoding: str | None
    delimiter: str | None
    has_header: bool
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    total_bytes: int = 0


# -- detection -----------------------------------------------------------------------------


def detect_encoding(sample: bytes) -> str:
    """The codec name for a CSV file, from its first bytes.

    BOMs first; then BOM-less UTF-16 from the share of NUL bytes at odd or even offsets
    (CSV is mostly ASCII digits and delimiters, whose high byte is 0); then strict UTF-8 on
    the sample; else cp1251, the usual Russian Excel export, which decodes almost any byte.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith(codecs.BOM_UTF16_LE):
        return "utf-16"
    if sample.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    head = sample[:4096]
    if len(head) >= 4:
        even = head[0::2].count(0) / max(1, len(head[0::2]))
        odd = head[1::2].count(0) / max(1, len(head[1::2]))
        if odd >= 0.3 and even <= 0.05:
            return "utf-16-le"
        if even >= 0.3 and odd <= 0.05:
            return "utf-16-be"
    try:
        # A sample cut mid-character is still UTF-8: let the incremental decoder wait.
        codecs.getincrementaldecoder("utf-8")("strict").decode(sample, final=False)
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8"


def _sniff_delimiter(lines: list[str]) -> str:
    """The delimiter giving the most rows with the same (more than one) number of fields."""
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter) if row]
        counts = [c for c in counts if c > 1]
        if not counts:
            continue
        usual = max(set(counts), key=counts.count)
        score = (counts.count(usual), usual)
        if score > best_score:
            best, best_score = delimiter, score
    return best


_DIGITS = re.compile(r"\d")
_LETTER = re.compile(r"[^\W\d_]")


def looks_like_phone(text: str) -> bool:
    return len(_DIGITS.findall(text)) >= 7


def looks_like_name(text: str) -> bool:
    return bool(_LETTER.search(text)) and not looks_like_phone(text)


def _is_header(cells: list[str]) -> bool:
    """A first row none of whose cells look like a phone and most of whose cells look like
    column names (have a letter)."""
    filled = [c.strip() for c in cells if c.strip()]
    if not filled or any(looks_like_phone(c) for c in filled):
        return False
    return sum(looks_like_name(c) for c in filled) * 2 > len(filled)


def _column_names(header: list[str] | None, width: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for index in range(width):
        name = header[index].strip() if header and index < len(header) else ""
        name = name or f"column {index + 1}"
        unique, n = name, 2
        while unique in seen:
            unique, n = f"{name} ({n})", n + 1
        seen.add(unique)
        names.append(unique)
    return names


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        # Excel keeps 79110000000 as a float; "79110000000.0" would not be a phone.
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


# -- the reader ----------------------------------------------------------------------------


class TableReader:
    """An opened number list. Detection happens on construction from a small sample;
    :meth:`rows` streams the data rows (the header, if any, is not among them).

    ``source`` is a path or a seekable binary file object (an upload), read from its start
    on every pass; a file object is not closed.
    ``kind``, ``encoding``, ``delimiter`` and ``has_header`` override detection.
    """

    def __init__(
        self,
        source: Source,
        *,
        kind: str | None = None,
        encoding: str | None = None,
        delimiter: str | None = None,
        has_header: bool | None = None,
    ) -> None:
        self._path: str | None = None
        self._file: IO[bytes] | None = None
        if isinstance(source, str | os.PathLike):
            self._path = os.fspath(source)
            self.total_bytes = os.path.getsize(self._path)
        else:
            # Always from the start: the same upload serves the preview, then the import.
            self._file = source
            self.total_bytes = source.seek(0, io.SEEK_END)
            source.seek(0)
        self._start = 0
        self.bytes_read = 0
        with self._open() as raw:
            sample = raw.read(SAMPLE_BYTES)
        self.kind = kind or ("xlsx" if sample.startswith(b"PK\x03\x04") else "csv")
        self.encoding: str | None = None
        self.delimiter: str | None = None
        if self.kind == "csv":
            self.encoding = encoding or detect_encoding(sample)
            lines = self._sample_lines(sample)
            self.delimiter = delimiter or _sniff_delimiter(lines[:50])
            first = next(csv.reader(lines[:1], delimiter=self.delimiter), [])
            width = max(
                (len(r) for r in csv.reader(lines[:50], delimiter=self.delimiter)), default=0
            )
        else:
            first, width = self._xlsx_first_row()
        self.has_header = _is_header(first) if has_header is None else has_header
        self.columns = _column_names(first if self.has_header else None, max(width, len(first)))
        self._width = len(first) if first else width

    # The file is opened per pass (preview, then the import), so one reader can serve both.
    def _open(self) -> IO[bytes]:
        if self._file is not None:
            self._file.seek(self._start)
            return io.BufferedReader(_Unclosed(self._file))
        return open(self._path, "rb")

    def _sample_lines(self, sample: bytes) -> list[str]:
        assert self.encoding is not None
        decoder = codecs.getincrementaldecoder(self.encoding)(_ERRORS)
        text = decoder.decode(sample, final=len(sample) < SAMPLE_BYTES)
        lines = text.splitlines()
        if len(sample) >= SAMPLE_BYTES and lines:
            lines.pop()  # probably cut short
        return [line for line in lines if _BAD not in line]

    def _xlsx_first_row(self) -> tuple[list[str], int]:
        from openpyxl import load_workbook

        with self._open() as raw:
            workbook = load_workbook(raw, read_only=True, data_only=True)
            try:
                sheet = workbook.worksheets[0]
                for values in sheet.iter_rows(values_only=True):
                    cells = [_cell_text(v) for v in values]
                    while cells and not cells[-1]:
                        cells.pop()
                    return cells, len(values)
                return [], 0
            finally:
                workbook.close()

    def rows(self) -> Iterator[SourceRow]:
        """Data rows with their file line/row numbers. Sets :attr:`bytes_read` as it goes."""
        if self.kind == "xlsx":
            yield from self._xlsx_rows()
        else:
            yield from self._csv_rows()

    # -- CSV -------------------------------------------------------------------------------

    def _csv_rows(self) -> Iterator[SourceRow]:
        assert self.encoding is not None and self.delimiter is not None
        width = self._width
        skip_header = self.has_header
        with self._open() as raw:
            text = io.TextIOWrapper(raw, encoding=self.encoding, errors=_ERRORS, newline="")
            records = _Records(text, raw, self, self.delimiter)
            reader = csv.reader(records, delimiter=self.delimiter, strict=False)
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    break
                except csv.Error as error:
                    yield SourceRow(records.line, None, MALFORMED_ROW, str(error), records.text)
                    continue
                line = records.line
                if records.problem is not None:
                    problem, detail = records.problem
                    records.problem = None
                    yield SourceRow(line, None, problem, detail, records.text)
                    continue
                if skip_header:
                    skip_header = False
                    continue
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue  # blank line
                if len(cells) != width:
                    # Trailing empty cells (a spreadsheet's ragged right edge) are harmless.
                    while len(cells) > width and not cells[-1].strip():
                        cells.pop()
                    if len(cells) != width:
                        yield SourceRow(
                            line,
                            None,
                            MALFORMED_ROW,
                            f"expected {width} columns, found {len(cells)}",
                            records.text,
                        )
                        continue
                yield SourceRow(line, cells)
            text.detach()
        self.bytes_read = self.total_bytes

    # -- XLSX ------------------------------------------------------------------------------

    def _xlsx_rows(self) -> Iterator[SourceRow]:
        from openpyxl import load_workbook

        with self._open() as raw:
            workbook = load_workbook(raw, read_only=True, data_only=True)
            try:
                sheet = workbook.worksheets[0]
                total = sheet.max_row or 0
                for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                    if number == 1 and self.has_header:
                        continue
                    if total:
                        # openpyxl does not say how far into the zip it is; rows are a
                        # fair stand-in for the progress bar.
                        self.bytes_read = min(self.total_bytes, self.total_bytes * number // total)
                    cells = [_cell_text(v) for v in values]
                    if not any(c.strip() for c in cells):
                        continue
                    width = len(self.columns)
                    cells = (cells + [""] * width)[:width] if len(cells) != width else cells
                    yield SourceRow(number, cells)
            finally:
                workbook.close()
        self.bytes_read = self.total_bytes


class _Records:
    """Feeds ``csv.reader`` one complete record per item, tracking the file line it starts
    on, and cutting off quotes that never close.

    A line without a quote character is a record by itself (almost every line of a number
    list). Otherwise :func:`_ends_in_quotes` tells whether a quoted field runs on to the
    next line; we join lines until it closes. ``csv.reader`` pulls exactly one item per
    record when every item is complete, so ``line`` is the current record's line.
    """

    def __init__(
        self, text: io.TextIOWrapper, raw: IO[bytes], owner: TableReader, delimiter: str
    ) -> None:
        self._lines = iter(text)
        self._delimiter = delimiter
        self._raw = raw
        self._owner = owner
        self._pending: list[str] = []  # lines to re-read after an unterminated quote
        self._next_line = 1
        self.line = 0
        self.text = ""
        self.problem: tuple[str, str] | None = None

    def __iter__(self) -> _Records:
        return self

    def _read(self) -> str:
        if self._pending:
            return self._pending.pop()
        line = next(self._lines)
        return line

    def __next__(self) -> str:
        line = self._pending.pop() if self._pending else next(self._lines)
        start = self._next_line
        self._next_line += 1
        if self._next_line % 4096 == 0:
            self._owner.bytes_read = self._raw.tell()
        if _BAD in line:
            self.line, self.text = start, line.replace(_BAD, "\ufffd").rstrip("\r\n")
            self.problem = (UNDECODABLE_ROW, "bytes that are not valid in the file's encoding")
            return "\n"
        if '"' not in line or not _ends_in_quotes(line, self._delimiter):
            self.line, self.text = start, line
            return line
        parts = [line]
        size = len(line)
        while True:
            try:
                more = self._read()
            except StopIteration:
                more = None
            if more is not None:
                parts.append(more)
                size += len(more)
            if more is not None and _BAD in more:
                # Undecodable bytes must not hide inside a record: call the quote
                # unterminated, so the bad line is read again and reported on its own.
                more = None
            elif more is not None and not _ends_in_quotes("".join(parts), self._delimiter):
                self._next_line += len(parts) - 1
                self.line, self.text = start, "".join(parts)
                return self.text
            if more is None or len(parts) > MAX_LINES_PER_RECORD or size > MAX_RECORD_CHARS:
                # Give up on this line alone; the lines after it are read again as rows.
                self._pending.extend(reversed(parts[1:]))
                self.line, self.text = start, line.rstrip("\r\n")
                self.problem = (MALFORMED_ROW, "a quoted field is never closed")
                return "\n"


def _ends_in_quotes(text: str, delimiter: str) -> bool:
    """Whether ``text`` ends inside a quoted field, read as ``csv`` (excel dialect, not
    strict) reads it: a quote opens a field only at the field's start, ``""`` inside is
    an escaped quote; a stray quote elsewhere (``5" screen``) is just a character."""
    quoted = False
    at_start = True
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if quoted:
            if c == '"':
                if i + 1 < n and text[i + 1] == '"':
                    i += 1
                else:
                    quoted = False
        elif c == '"' and at_start:
            quoted = True
            at_start = False
        else:
            at_start = c == delimiter or c in "\r\n"
        i += 1
    return quoted


class _Unclosed(io.RawIOBase):
    """A view of an upload that a ``with`` block must not close."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._file.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()


def open_table(source: Source | Path, **overrides: Any) -> TableReader:
    return TableReader(source, **overrides)


def preview(source: Source, n: int = 10, **overrides: Any) -> Preview:
    """Detected settings, column names and the first ``n`` readable rows."""
    table = TableReader(source, **overrides)
    rows: list[list[str]] = []
    for row in table.rows():
        if row.cells is not None:
            rows.append(row.cells)
        if len(rows) >= n:
            break
    return Preview(
        kind=table.kind,
        encoding=table.encoding,
        delimiter=table.delimiter,
        has_header=table.has_header,
        columns=table.columns,
        rows=rows,
        total_bytes=table.total_bytes,
    )
