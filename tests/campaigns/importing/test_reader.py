from __future__ import annotations

import codecs
import io

import pytest
from openpyxl import Workbook

from campaigns.importing.reader import (
    MALFORMED_ROW,
    UNDECODABLE_ROW,
    TableReader,
    detect_encoding,
    preview,
)

TEXT = "телефон,имя,город\n+7 911 000-00-00,Иван,Москва\n8 912 111-22-33,Анна,Казань\n"


def rows_of(path, **kw):
    table = TableReader(path, **kw)
    return table, list(table.rows())


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("utf-16"), "utf-16"),  # native order with BOM
        (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
        (TEXT.encode("utf-16-le"), "utf-16-le"),
        (TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.encode("cp1251"), "cp1251"),
    ],
)
def test_it_detects_encodings_and_reads_cyrillic(write, data, encoding):
    table, rows = rows_of(write(data))
    assert table.encoding == encoding
    assert table.has_header
    assert table.columns == ["телефон", "имя", "город"]
    assert [r.cells for r in rows] == [
        ["+7 911 000-00-00", "Иван", "Москва"],
        ["8 912 111-22-33", "Анна", "Казань"],
    ]
    assert [r.number for r in rows] == [2, 3]


def test_detect_encoding_waits_for_a_character_cut_by_the_sample():
    data = ("ж" * 10).encode()
    assert detect_encoding(data[:-1]) == "utf-8"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_it_sniffs_delimiters_and_keeps_quoted_fields(write, delimiter):
    d = delimiter
    text = (
        f"phone{d}name{d}note\n"
        f'79110000000{d}"Smith{d} John"{d}"said ""hi"""\n'
        f'79110000001{d}"Two\nlines"{d}x\n'
        f"79110000002{d}Bob{d}y\n"
    )
    table, rows = rows_of(write(text))
    assert table.delimiter == delimiter
    assert [r.cells for r in rows] == [
        ["79110000000", f"Smith{d} John", 'said "hi"'],
        ["79110000001", "Two\nlines", "x"],
        ["79110000002", "Bob", "y"],
    ]
    # Line numbers are the file's: the quoted line break pushes the next row to line 5.
    assert [r.number for r in rows] == [2, 3, 5]


def test_without_header_columns_are_numbered(write):
    table, rows = rows_of(write("79110000000;Ivan\n79110000001;Anna\n"))
    assert not table.has_header
    assert table.columns == ["column 1", "column 2"]
    assert [r.number for r in rows] == [1, 2]
    assert rows[0].cells == ["79110000000", "Ivan"]


def test_a_first_row_of_numbers_is_not_a_header(write):
    table, _ = rows_of(write("id,amount\n1,200\n"))
    assert table.has_header  # names
    table, _ = rows_of(write("1,200\n2,300\n"))
    assert not table.has_header  # no letters: data


def test_header_can_be_overridden_and_duplicates_renamed(write):
    table, rows = rows_of(write("phone,name,name,\n79110000000,a,b,c\n"))
    assert table.columns == ["phone", "name", "name (2)", "column 4"]
    table, rows = rows_of(write("phone,name\n79110000000,a\n"), has_header=False)
    assert len(rows) == 2 and rows[0].number == 1


def test_a_row_with_another_column_count_is_reported_and_the_rest_goes_on(write):
    text = "phone,name\n79110000000,a\n79110000001,b,extra\n79110000002\n79110000003,d,\n"
    _, rows = rows_of(write(text))
    assert [(r.number, r.problem) for r in rows] == [
        (2, None),
        (3, MALFORMED_ROW),
        (4, MALFORMED_ROW),
        (5, None),  # a trailing empty cell is a ragged edge, not an error
    ]
    assert "expected 2 columns, found 3" in rows[1].detail
    assert rows[1].raw.startswith("79110000001,b,extra")
    assert rows[3].cells == ["79110000003", "d"]


def test_an_unterminated_quote_spoils_one_row_only(write):
    lines = ["phone,name", '79110000000,"Ivan'] + [f"7911000{i:04d},n{i}" for i in range(1, 40)]
    _, rows = rows_of(write("\n".join(lines) + "\n"))
    assert rows[0].number == 2 and rows[0].problem == MALFORMED_ROW
    assert "never closed" in rows[0].detail
    good = [r for r in rows if r.problem is None]
    assert len(good) == 39
    assert good[0].number == 3 and good[0].cells == ["79110000001", "n1"]
    assert good[-1].number == 41


def test_an_unterminated_quote_at_the_end_of_the_file(write):
    _, rows = rows_of(write('phone,name\n79110000000,a\n79110000001,"b\n79110000002,c\n'))
    assert [(r.number, r.problem) for r in rows] == [
        (2, None),
        (3, MALFORMED_ROW),
        (4, None),
    ]


def test_an_undecodable_row_is_reported_and_the_rest_goes_on(write):
    # The sample (first 64 KB) is clean UTF-8, so UTF-8 is chosen; the bad bytes come later.
    good = "".join(f"7911{i:07d},Иван\n" for i in range(5000)).encode()
    data = b"phone,name\n" + good + b"79110000001,\xff\xfe\xfa\n" + "79110000002,Анна\n".encode()
    table, rows = rows_of(write(data))
    assert table.encoding == "utf-8"
    assert [(r.number, r.problem) for r in rows[-2:]] == [(5002, UNDECODABLE_ROW), (5003, None)]
    assert rows[-2].raw.startswith("79110000001,")
    assert rows[-1].cells == ["79110000002", "Анна"]
    assert all(r.problem is None for r in rows[:-2])


def test_a_wrong_byte_in_the_sample_means_cp1251(write):
    data = b"phone,name\n79110000000,Ivan\n" + "79110000001,Анна\n".encode("cp1251")
    table, rows = rows_of(write(data))
    assert table.encoding == "cp1251"
    assert rows[1].cells == ["79110000001", "Анна"]


def test_undecodable_utf16_row(write):
    good = "phone,name\n79110000000,a\n".encode("utf-16-le")
    bad = (
        "79110000001,".encode("utf-16-le") + b"\x00\xdc" + "\n".encode("utf-16-le")
    )  # lone surrogate
    tail = "79110000002,c\n".encode("utf-16-le")
    table, rows = rows_of(write(codecs.BOM_UTF16_LE + good + bad + tail))
    assert table.encoding == "utf-16"
    assert [(r.number, r.problem) for r in rows] == [(2, None), (3, UNDECODABLE_ROW), (4, None)]


def test_blank_lines_are_skipped_but_counted_in_line_numbers(write):
    _, rows = rows_of(write("phone\r\n79110000000\r\n\r\n79110000001\r\n"))
    assert [(r.number, r.cells) for r in rows] == [(2, ["79110000000"]), (4, ["79110000001"])]


def make_xlsx(path, rows):
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.create_sheet("ignored").append(["not", "read"])
    workbook.save(path)
    return path


def test_it_streams_the_first_sheet_of_an_xlsx(tmp_path):
    path = make_xlsx(
        tmp_path / "list.xlsx",
        [
            ["Телефон", "Name", "Amount"],
            [79110000000, "Иван", 10.5],
            ["+1 650 253 0000", None, 3],
            [None, None, None],
            ["8 912 111 22 33", "Анна", 7],
        ],
    )
    table, rows = rows_of(path)
    assert table.kind == "xlsx"
    assert table.has_header
    assert table.columns == ["Телефон", "Name", "Amount"]
    assert [(r.number, r.cells) for r in rows] == [
        (2, ["79110000000", "Иван", "10.5"]),
        (3, ["+1 650 253 0000", "", "3"]),
        (5, ["8 912 111 22 33", "Анна", "7"]),
    ]


def test_xlsx_without_header(tmp_path):
    table, rows = rows_of(make_xlsx(tmp_path / "l.xlsx", [[79110000000, "a"], [79110000001, "b"]]))
    assert not table.has_header
    assert table.columns == ["column 1", "column 2"]
    assert [r.number for r in rows] == [1, 2]


def test_preview_reads_an_upload_and_leaves_it_open(write):
    upload = io.BytesIO(
        ("phone;name\n" + "".join(f"7911000{i:04d};n{i}\n" for i in range(30))).encode("cp1251")
    )
    shown = preview(upload, n=5)
    assert (shown.kind, shown.encoding, shown.delimiter, shown.has_header) == (
        "csv",
        "utf-8",
        ";",
        True,
    )
    assert shown.columns == ["phone", "name"]
    assert shown.rows[0] == ["79110000000", "n0"] and len(shown.rows) == 5
    assert not upload.closed
    # The same upload can then be imported in full.
    assert sum(1 for _ in TableReader(upload).rows()) == 30


def test_preview_of_xlsx(tmp_path):
    path = make_xlsx(tmp_path / "l.xlsx", [["phone"], *([79110000000 + i] for i in range(20))])
    shown = preview(path, n=3)
    assert shown.kind == "xlsx" and shown.encoding is None
    assert shown.rows == [["79110000000"], ["79110000001"], ["79110000002"]]


def test_a_stray_quote_inside_a_field_is_just_a_character(write):
    text = 'phone,note\n79110000000,5" screen\n79110000001,ok\n79110000002,"a ""b"" c"\n'
    _, rows = rows_of(write(text))
    assert [(r.number, r.cells) for r in rows] == [
        (2, ["79110000000", '5" screen']),
        (3, ["79110000001", "ok"]),
        (4, ["79110000002", 'a "b" c']),
    ]


def test_quoted_line_breaks_in_crlf_files(write):
    text = 'phone;note\r\n79110000000;"line one\r\nline two"\r\n79110000001;x\r\n'
    _, rows = rows_of(write(text))
    assert [(r.number, r.cells) for r in rows] == [
        (2, ["79110000000", "line one\r\nline two"]),
        (4, ["79110000001", "x"]),
    ]
