from __future__ import annotations

import csv
import io

from campaigns.importing.report import ErrorReport, ImportSummary, safe_cell
from campaigns.importing.validate import RejectedRow


def test_safe_cell_neutralises_formulas_and_keeps_phones_readable():
    assert safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert safe_cell("+79110000000") == "'+79110000000"
    assert safe_cell("-2+3") == "'-2+3"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("\tx") == "'\tx"
    assert safe_cell("\rx") == "'\rx"
    assert safe_cell("8 911 000-00-00") == "8 911 000-00-00"
    assert safe_cell("") == ""


def test_error_report_csv():
    report = ErrorReport(keep=2)
    report.add(
        [
            RejectedRow(2, "=cmd|' /C calc'!A0", "unparseable_phone"),
            RejectedRow(3, "+7 000 000-00-00", "invalid_phone"),
            RejectedRow(4, "79110000000", "bad_policy_value", "maxAttempts must be a whole number"),
        ]
    )
    data = report.open().read()
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens UTF-8 correctly
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["row", "value", "reason_code", "reason"]
    assert rows[1] == [
        "2",
        "'=cmd|' /C calc'!A0",
        "unparseable_phone",
        "This does not read as a phone number.",
    ]
    assert rows[2][1] == "'+7 000 000-00-00"
    assert rows[3][3].endswith("maxAttempts must be a whole number")
    assert len(report) == 3
    assert [r.row for r in report.first] == [2, 3]
    assert report.counts == {"unparseable_phone": 1, "invalid_phone": 1, "bad_policy_value": 1}


def test_error_report_spills_to_disk_beyond_its_memory_limit():
    report = ErrorReport(memory_limit=10_000)
    report.add(RejectedRow(i, "junk", "unparseable_phone") for i in range(5_000))
    report.open()
    assert report._file._rolled  # on disk, not in memory
    assert report.getvalue().count("\n") == 5_001


def test_summary_counts():
    summary = ImportSummary(
        total_rows=10,
        valid=4,
        invalid_by_reason={
            "do_not_call": 2,
            "duplicate_in_list": 1,
            "duplicate_in_campaign": 1,
            "duplicate_recent": 1,
            "invalid_phone": 1,
        },
    )
    assert summary.invalid == 6
    assert summary.duplicates == 3
    assert summary.blocked_by_dnc == 2
    assert summary.reasons_in_words()[0] == (
        "do_not_call",
        "The number is on the do-not-call list.",
        2,
    )
    assert summary.as_dict()["invalid"] == 6
