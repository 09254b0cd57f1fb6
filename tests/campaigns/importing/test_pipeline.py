from __future__ import annotations

import csv
import io
import os
import tracemalloc

import pytest
from openpyxl import Workbook

from campaigns.importing import (
    ColumnMapping,
    MappingError,
    TableReader,
    guess_mapping,
    import_numbers,
    pipeline,
)
from campaigns.importing.sample import write_sample_csv


class Store:
    """A sink that keeps what it is given, like a bulk_create per batch would."""

    def __init__(self) -> None:
        self.batches: list[list] = []

    def __call__(self, batch) -> None:
        self.batches.append(list(batch))

    @property
    def numbers(self):
        return [n for batch in self.batches for n in batch]


def test_it_imports_a_realistic_list(tmp_path):
    path = write_sample_csv(tmp_path / "list.csv", 5_000)
    store, progress = Store(), []
    table = TableReader(path)
    summary = import_numbers(
        table,
        mapping=guess_mapping(table.columns),
        default_region="RU",
        existing_phones={"+79110000000"},
        dnc=lambda numbers: [n for n in numbers if n.endswith("13")],
        sink=store,
        progress=lambda *args: progress.append(args),
        batch_size=1_000,
    )
    assert summary.total_rows == 5_000
    assert summary.valid == len(store.numbers) == sum(summary.zones.values())
    assert summary.valid + summary.invalid == 5_000
    assert all(len(batch) <= 1_000 for batch in store.batches)
    reasons = summary.invalid_by_reason
    # ~3% invalid values, ~2% repeats, ~1% ending in 13 on the DNC list.
    assert 100 < reasons["invalid_phone"] + reasons["unparseable_phone"] < 250
    assert 50 < reasons["duplicate_in_list"] < 150
    assert 20 < summary.blocked_by_dnc < 100
    first = store.numbers[0]
    assert first.row == 2
    assert set(first.payload) == {"name", "city", "amount"}
    assert first.phone == first.e164[1:]
    # Progress: rows only go up, and the last call says "all of it".
    assert [p[0] for p in progress] == sorted(p[0] for p in progress)
    assert progress[-1] == (5_000, table.total_bytes, table.total_bytes)
    # The error report has one line per rejected row, with file row numbers.
    report = list(csv.reader(io.StringIO(summary.error_report.getvalue())))
    assert len(report) == 1 + summary.invalid
    assert all(int(line[0]) >= 2 for line in report[1:])


def test_a_worker_process_gives_the_same_result(tmp_path):
    path = write_sample_csv(tmp_path / "list.csv", 3_000, seed=7)
    mapping = guess_mapping(TableReader(path).columns)
    here, there = Store(), Store()
    one = import_numbers(path, mapping=mapping, default_region="RU", sink=here, workers=0)
    two = import_numbers(
        path, mapping=mapping, default_region="RU", sink=there, workers=1, batch_size=500
    )
    assert one.as_dict() | {"seconds": 0} == two.as_dict() | {"seconds": 0}
    assert [n.call_job() for n in here.numbers] == [n.call_job() for n in there.numbers]
    assert one.error_report.getvalue() == two.error_report.getvalue()


def test_a_mapping_that_does_not_fit_fails_before_reading(tmp_path):
    path = write_sample_csv(tmp_path / "list.csv", 10)
    store = Store()
    with pytest.raises(MappingError):
        import_numbers(path, mapping=ColumnMapping(phone="tel"), default_region="RU", sink=store)
    assert store.batches == []


def test_it_imports_xlsx_from_an_upload():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Телефон", "Имя", "Часовой пояс"])
    sheet.append([79110000000, "Иван", "Europe/Moscow"])
    sheet.append(["8 (912) 111-22-33", "Анна", "UTC+25"])
    sheet.append([None, "Пустой", None])
    upload = io.BytesIO()
    workbook.save(upload)
    store = Store()
    table = TableReader(upload)
    summary = import_numbers(
        table, mapping=guess_mapping(table.columns), default_region="RU", sink=store
    )
    assert [(n.row, n.phone, n.gmt_zone, n.payload) for n in store.numbers] == [
        (2, "79110000000", "Europe/Moscow", {"Имя": "Иван"})
    ]
    assert summary.invalid_by_reason == {"invalid_time_zone": 1, "empty_phone": 1}


def test_empty_file_reports_full_progress(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("phone\n")
    progress = []
    summary = import_numbers(
        path,
        mapping=ColumnMapping(phone="phone"),
        default_region="RU",
        sink=Store(),
        progress=lambda *a: progress.append(a),
    )
    assert summary.total_rows == 0
    assert progress == [(0, 6, 6)]


def test_it_streams_a_200k_row_file_in_little_memory(tmp_path):
    path = write_sample_csv(tmp_path / "big.csv", 200_000)
    table = TableReader(path)
    mapping = guess_mapping(table.columns)

    tracemalloc.start()
    try:
        rows = list(table.rows())  # what holding the parsed file would cost
        parsed = tracemalloc.get_traced_memory()[0]
        del rows
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        summary = import_numbers(
            table, mapping=mapping, default_region="RU", sink=lambda batch: None, workers=0
        )
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert summary.total_rows == 200_000
    # What grows is the set of accepted numbers (~60 bytes each); rows themselves don't stay.
    assert peak < parsed / 3, (peak, parsed)


def crash(values, region):
    """Stands in for check_phones in a worker: the worker dies, as under the OOM killer."""
    os._exit(1)


def test_a_broken_worker_pool_falls_back_to_this_process(tmp_path, monkeypatch):
    path = write_sample_csv(tmp_path / "list.csv", 2_000, seed=3)
    mapping = guess_mapping(TableReader(path).columns)
    expected = import_numbers(path, mapping=mapping, default_region="RU", sink=Store(), workers=0)
    monkeypatch.setattr(pipeline, "check_phones", crash)
    store = Store()
    summary = import_numbers(
        path, mapping=mapping, default_region="RU", sink=store, workers=1, batch_size=300
    )
    assert summary.valid == expected.valid == len(store.numbers)
    assert summary.invalid_by_reason == expected.invalid_by_reason
