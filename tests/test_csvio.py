"""Tests for infra.csvio (pure Python, no database, no Django)."""

from __future__ import annotations

import io
import tracemalloc
from datetime import date
from decimal import Decimal

import pytest

from infra.csvio import (
    NOT_UTF8_WARNING,
    CellError,
    ColumnSpec,
    CsvFileError,
    CsvRow,
    RowError,
    RowWarning,
    is_formula_injection,
    parse_bool,
    parse_choice,
    parse_date,
    parse_decimal,
    parse_int,
    read_csv,
    sanitize_cell_for_export,
    write_csv,
)
from tests.samples import SAMPLES

ROOM_COLUMNS = [
    ColumnSpec("building_location"),
    ColumnSpec("building_name", required=True),
    ColumnSpec("room_name", required=True),
    ColumnSpec("room_type", required=True),
    ColumnSpec("room_allocation_ratio"),
    ColumnSpec("note"),
]
SIMPLE = [ColumnSpec("name", required=True), ColumnSpec("quantity", required=True), ColumnSpec("note")]


def rows(data: bytes, columns=SIMPLE) -> list[CsvRow]:
    return list(read_csv(data, columns=columns))


def file_errors(data: bytes, columns=SIMPLE) -> list[RowError]:
    with pytest.raises(CsvFileError) as excinfo:
        read_csv(data, columns=columns)
    return excinfo.value.errors


# ------------------------------------------------------------------------------------ encodings
def test_utf8_without_bom():
    reader = read_csv("name,quantity\nCécile,1\n".encode(), columns=SIMPLE)
    assert reader.encoding == "utf-8"
    assert reader.warnings == []
    assert [r.values["name"] for r in reader] == ["Cécile"]


def test_utf8_with_bom_is_stripped_from_first_header():
    reader = read_csv(b"\xef\xbb\xbfname,quantity\nx,1\n", columns=SIMPLE)
    assert reader.encoding == "utf-8-sig"
    assert reader.columns_present == ["name", "quantity"]
    assert [r.values for r in reader] == [{"name": "x", "quantity": "1", "note": ""}]


def test_cp1252_file_is_read_with_warning():
    data = "name,quantity,note\nstation\u2019s caf\u00e9,1,\n".encode("cp1252")
    assert b"\x92" in data
    reader = read_csv(data, columns=SIMPLE)
    assert reader.encoding == "cp1252"
    assert reader.warnings == [RowWarning(None, None, NOT_UTF8_WARNING)]
    assert [r.values["name"] for r in reader] == ["station\u2019s caf\u00e9"]


def test_invalid_utf8_far_into_the_file_switches_whole_file_to_cp1252():
    lines = [b"name,quantity"] + [b"row%d,1" % i for i in range(20_000)] + [b"caf\xe9,2"]
    reader = read_csv(b"\n".join(lines) + b"\n", columns=SIMPLE)
    assert reader.encoding == "cp1252"
    assert list(reader)[-1].values["name"] == "café"


def test_truncated_multibyte_sequence_at_eof_is_not_utf8():
    reader = read_csv(b"name,quantity\nx,1\ny,\xc3", columns=SIMPLE)
    assert reader.encoding == "cp1252"
    assert list(reader)[-1].values["quantity"] == "Ã"


def test_cp1252_with_utf8_bom_drops_the_bom():
    reader = read_csv(b"\xef\xbb\xbfname,quantity\ncaf\xe9,1\n", columns=SIMPLE)
    assert reader.encoding == "cp1252"
    assert reader.columns_present == ["name", "quantity"]


# ------------------------------------------------------------------------------ delimiter/quoting
def test_semicolon_delimiter_detected():
    reader = read_csv(b"name;quantity;note\nGaz, naturel;1.5;a,b\n", columns=SIMPLE)
    assert reader.delimiter == ";"
    assert [r.values for r in reader] == [{"name": "Gaz, naturel", "quantity": "1.5", "note": "a,b"}]


def test_comma_wins_when_semicolons_are_quoted_in_header():
    reader = read_csv(b'name,"quantity;x",note\nx,1,\n', columns=[ColumnSpec("name")])
    assert reader.delimiter == ","


def test_excel_sep_hint_line():
    reader = read_csv(b"sep=;\nname;quantity\na,b;1\n", columns=SIMPLE)
    assert reader.delimiter == ";"
    assert [(r.number, r.values["name"]) for r in reader] == [(1, "a,b")]


def test_quoted_fields_with_delimiters_newlines_and_quotes():
    data = b'name,quantity,note\n"Smith, ""J""",1,"line1\r\nline2"\nnext,2,\n'
    result = rows(data)
    assert result[0].values == {"name": 'Smith, "J"', "quantity": "1", "note": "line1\r\nline2"}
    assert [r.number for r in result] == [1, 2]  # a multi-line record is one row


def test_crlf_line_endings():
    assert [r.values["quantity"] for r in rows(b"name,quantity\r\na,1\r\nb,2\r\n")] == ["1", "2"]


# ------------------------------------------------------------------------------------ header
def test_header_case_and_whitespace_insensitive_any_order():
    reader = read_csv(b"  NOTE , Quantity,name \nhello,  3 , x \n", columns=SIMPLE)
    assert reader.columns_present == ["note", "quantity", "name"]
    assert [r.values for r in reader] == [{"name": "x", "quantity": "3", "note": "hello"}]


def test_missing_optional_column_gives_empty_value():
    (row,) = rows(b"quantity,name\n1,x\n")
    assert row.values == {"name": "x", "quantity": "1", "note": ""}


def test_missing_required_columns_are_listed():
    errors = file_errors(b"note\nx\n")
    assert errors == [
        RowError(None, "name", "missing required column 'name'"),
        RowError(None, "quantity", "missing required column 'quantity'"),
    ]
    assert errors[0].as_dict() == {"row": None, "column": "name", "reason": "missing required column 'name'"}


def test_typo_column_is_an_error_naming_the_intended_column():
    data = b"building_name,room_name,room_type,room_allocation_ration\nBC,BC 1,office,0.5\n"
    assert file_errors(data, ROOM_COLUMNS) == [
        RowError(None, "room_allocation_ration", "unknown column 'room_allocation_ration' looks like "
                                                 "a misspelling of 'room_allocation_ratio'"),
    ]


@pytest.mark.parametrize("typo", ["quantitty", "qantity", "Quantiy", "nmae", "notes"])
def test_other_typos(typo):
    columns = [ColumnSpec("name"), ColumnSpec("quantity"), ColumnSpec("note")]
    header = {"nmae": "quantity,note", "notes": "name,quantity"}.get(typo, "name,note")
    errors = file_errors(f"{header},{typo}\n".encode(), columns)
    assert len(errors) == 1 and errors[0].column == typo
    assert "looks like a misspelling of" in errors[0].reason


def test_unknown_column_similar_to_a_present_column_is_only_a_warning():
    reader = read_csv(b"name,quantity,note,notes\nx,1,a,b\n", columns=SIMPLE)
    assert reader.ignored_columns == ["notes"]


def test_unknown_columns_ignored_with_warning():
    reader = read_csv(b"name,position_title,quantity,kg_co2eq,\nx,Prof,1,3,\n", columns=SIMPLE)
    assert reader.warnings == [RowWarning(None, None, "ignored unknown column(s): position_title, kg_co2eq")]
    assert reader.ignored_columns == ["position_title", "kg_co2eq"]
    assert [r.values for r in reader] == [{"name": "x", "quantity": "1", "note": ""}]


def test_short_names_are_not_confused():
    # 'fte' is two edits from 'note' but is not a typo of it.
    reader = read_csv(b"name,quantity,fte\nx,1,1\n", columns=SIMPLE)
    assert reader.ignored_columns == ["fte"]


def test_duplicate_header_columns():
    errors = file_errors(b"name,quantity,Name\n")
    assert errors == [RowError(None, "Name", "duplicate column 'Name'")]


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "file is empty"),
    (b"\xef\xbb\xbf", "file is empty"),
    (b"\n,,,\n  \n", "file is empty"),
    (b"# instructions\n# more\n", "no header row found (only comments or blank lines)"),
])
def test_empty_or_headerless_file(data, reason):
    assert file_errors(data) == [RowError(None, None, reason)]


def test_comment_and_blank_lines_before_header():
    data = b"# Fill one row per room\n\n,,,\nname,quantity\nx,1\n"
    assert [(r.number, r.values["name"]) for r in rows(data)] == [(1, "x")]


# --------------------------------------------------------------------------------------- rows
def test_comment_rows_skipped_and_not_counted_blank_rows_counted():
    data = (b"name,quantity,note\n"
            b"# instruction: one row per fuel,,\n"
            b'"# quoted comment",,\n'
            b"a,1,\n"
            b",,\n"
            b"\n"
            b"  ,  ,\n"
            b"b,2,\n"
            b",,,,,\n")
    assert [(r.number, r.values["name"]) for r in rows(data)] == [(1, "a"), (5, "b")]


def test_extra_cells_is_a_row_error_but_trailing_empty_cells_are_fine():
    data = b"name,quantity\na,1,,\nb,2,oops\nc,3\n"
    result = rows(data)
    assert [r.error for r in result] == [
        None,
        RowError(2, None, "too many cells: the header has 2 columns but this row has 3"),
        None,
    ]
    assert result[1].values == {"name": "b", "quantity": "2", "note": ""}


def test_fewer_cells_are_empty():
    (row,) = rows(b"name,quantity,note\nx\n")
    assert row.values == {"name": "x", "quantity": "", "note": ""}


def test_cell_error_helper():
    (row,) = rows(b"name,quantity\nx,-1\n")
    with pytest.raises(CellError) as excinfo:
        parse_decimal(row.values["quantity"], min=0)
    err = row.cell_error("quantity", excinfo.value.reason)
    assert err.as_dict() == {"row": 1, "column": "quantity", "reason": "must be ≥ 0 (got -1)"}
    assert str(err) == "row 1, column 'quantity': must be ≥ 0 (got -1)"


# ------------------------------------------------------------------------------------ sources
def test_path_and_pathlike_and_binary_file(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"name,quantity\nx,1\n")
    assert len(rows_from(str(path))) == 1
    assert len(rows_from(path)) == 1
    with open(path, "rb") as fh:
        fh.read(0)
        assert len(rows_from(fh)) == 1
        assert not fh.closed  # caller's file is left open


def rows_from(source) -> list[CsvRow]:
    return list(read_csv(source, columns=SIMPLE))


class _Pipe:
    """A non-seekable binary stream (like a socket or a pipe)."""

    def __init__(self, data: bytes):
        self._buf = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._buf.read(n)


def test_non_seekable_stream_is_spooled():
    reader = read_csv(_Pipe("name;quantity\ncafé;1\n".encode()), columns=SIMPLE)
    assert (reader.encoding, reader.delimiter) == ("utf-8", ";")
    assert [r.values["name"] for r in reader] == ["café"]


def test_seekable_stream_read_from_current_position():
    buf = io.BytesIO(b"JUNKname,quantity\nx,1\n")
    buf.seek(4)
    assert len(rows_from(buf)) == 1


def test_max_bytes(tmp_path):
    data = b"name,quantity\n" + b"x,1\n" * 100
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    for source in (data, path, _Pipe(data)):
        with pytest.raises(CsvFileError) as excinfo:
            read_csv(source, columns=SIMPLE, max_bytes=100)
        assert excinfo.value.errors == [RowError(None, None, "file exceeds the size limit of 100 bytes")]
    assert len(list(read_csv(data, columns=SIMPLE, max_bytes=len(data)))) == 100


def test_text_stream_is_rejected():
    with pytest.raises(TypeError, match="binary"):
        read_csv(io.StringIO("name,quantity\n"), columns=SIMPLE)


def test_reader_is_single_use_and_context_manager():
    with read_csv(b"name,quantity\nx,1\n", columns=SIMPLE) as reader:
        assert len(list(reader)) == 1
        with pytest.raises(RuntimeError):
            iter(reader)


def test_streaming_does_not_hold_the_file_in_memory(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("\ufeffname,unit,quantity,note\r\n")
        for i in range(200_000):
            fh.write(f"Gaz naturel n°{i},kWh,{i}.25,\r\n")
    size = path.stat().st_size
    assert size > 5_000_000
    tracemalloc.start()
    try:
        reader = read_csv(path, columns=SIMPLE + [ColumnSpec("unit")])
        count = total = 0
        for row in reader:
            count += 1
            total += len(row.values["name"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_000 and row.number == 200_000
    # ~0.3 MB of read buffers in practice; materialising the rows would take tens of MB.
    assert peak < size / 10, (peak, size)


# ------------------------------------------------------------------------------- real samples
def test_sample_travel_trains_template_is_cp1252():
    columns = [ColumnSpec(n, required=True) for n in (
        "origin_name", "origin_country_code", "destination_name", "destination_country_code",
        "user_institutional_id", "cabin_class")] + [
        ColumnSpec("departure_date"), ColumnSpec("number_of_trips"), ColumnSpec("note")]
    reader = read_csv(SAMPLES / "travel_trains_template.csv", columns=columns)
    assert reader.encoding == "cp1252"
    assert RowWarning(None, None, NOT_UTF8_WARNING) in reader.warnings
    result = list(reader)
    assert "station\u2019s local language" in result[0].values["origin_name"]  # the instruction row
    assert result[1].number == 2
    assert result[1].values["origin_name"] == "Lausanne"
    assert parse_date(result[1].values["departure_date"]) == date(2025, 12, 3)


def test_sample_valid_module_per_year():
    columns = [ColumnSpec("unit_institutional_id"), ColumnSpec("name", required=True),
               ColumnSpec("user_institutional_id", required=True), ColumnSpec("fte", required=True),
               ColumnSpec("sius_code"), ColumnSpec("note")]
    reader = read_csv(SAMPLES / "valid_module_per_year.csv", columns=columns)
    assert reader.encoding == "utf-8"
    assert reader.ignored_columns == ["position_title", "position_category"]
    result = list(reader)
    assert [(r.number, r.values["name"], parse_decimal(r.values["fte"])) for r in result] == [
        (1, "John Doe", Decimal("1.0")), (2, "Jane Smith", Decimal("0.5"))]  # trailing ,,,,, skipped


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.csv")), ids=lambda p: p.name)
def test_every_sample_reads(path):
    reader = read_csv(path, columns=[ColumnSpec("note")])
    for row in reader:
        assert row.number >= 1


# ------------------------------------------------------------------------------------ parsers
@pytest.mark.parametrize(("text", "expected"), [
    ("1.5", Decimal("1.5")), (" 0 ", Decimal("0")), ("-2", Decimal("-2")), ("+3.", Decimal("3")),
    (".25", Decimal("0.25")), ("1e3", Decimal("1e3")), ("", None), ("   ", None), (None, None),
])
def test_parse_decimal_accepts(text, expected):
    assert parse_decimal(text) == expected


@pytest.mark.parametrize(("text", "kwargs", "reason"), [
    ("1,5", {}, "'1,5' is not a number: use '.' as the decimal point"),
    (",5", {}, "',5' is not a number: use '.' as the decimal point"),
    ("1'000", {}, "'1'000' is not a number"),
    ("1 000", {}, "'1 000' is not a number"),
    ("abc", {}, "'abc' is not a number"),
    ("NaN", {}, "'NaN' is not a number"),
    ("inf", {}, "'inf' is not a number"),
    ("-Infinity", {}, "'-Infinity' is not a number"),
    ("1.2.3", {}, "'1.2.3' is not a number"),
    ("-1", {"min": 0}, "must be ≥ 0 (got -1)"),
    ("169", {"max": 168}, "must be ≤ 168 (got 169)"),
    ("1.5", {"min": 0, "max": 1}, "must be between 0 and 1 (got 1.5)"),
    ("0.05", {"min": Decimal("0.1")}, "must be ≥ 0.1 (got 0.05)"),
    ("", {"allow_empty": False}, "a value is required"),
])
def test_parse_decimal_rejects(text, kwargs, reason):
    with pytest.raises(CellError) as excinfo:
        parse_decimal(text, **kwargs)
    assert excinfo.value.reason == reason
    assert str(excinfo.value) == reason


def test_parse_decimal_bounds_inclusive():
    assert parse_decimal("0", min=0, max=1) == 0
    assert parse_decimal("1", min=0, max=1) == 1


@pytest.mark.parametrize(("text", "expected"), [("3", 3), (" -2 ", -2), ("+7", 7), ("2.0", 2), ("", None)])
def test_parse_int_accepts(text, expected):
    assert parse_int(text) == expected


@pytest.mark.parametrize(("text", "kwargs", "reason"), [
    ("2.5", {}, "'2.5' is not a whole number"),
    ("1,0", {}, "'1,0' is not a whole number"),
    ("1e3", {}, "'1e3' is not a whole number"),
    ("x", {}, "'x' is not a whole number"),
    ("0", {"min": 1}, "must be ≥ 1 (got 0)"),
    ("5", {"min": 1, "max": 4}, "must be between 1 and 4 (got 5)"),
    (" ", {"allow_empty": False}, "a value is required"),
])
def test_parse_int_rejects(text, kwargs, reason):
    with pytest.raises(CellError) as excinfo:
        parse_int(text, **kwargs)
    assert excinfo.value.reason == reason


@pytest.mark.parametrize(("text", "expected"), [
    ("true", True), ("TRUE", True), (" Yes ", True), ("1", True),
    ("false", False), ("No", False), ("0", False), ("", None),
])
def test_parse_bool_accepts(text, expected):
    assert parse_bool(text) is expected


@pytest.mark.parametrize("text", ["maybe", "y", "2", "vrai"])
def test_parse_bool_rejects(text):
    with pytest.raises(CellError) as excinfo:
        parse_bool(text)
    assert excinfo.value.reason == f"'{text}' is not a boolean (use true/false, yes/no or 1/0)"
    with pytest.raises(CellError, match="a value is required"):
        parse_bool("", allow_empty=False)


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-03-10", date(2025, 3, 10)), ("2025/03/10", date(2025, 3, 10)),
    ("10.03.2025", date(2025, 3, 10)), (" 2024-02-29 ", date(2024, 2, 29)), ("", None),
])
def test_parse_date_accepts(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("03/10/2025", "'03/10/2025' is not a date (use YYYY-MM-DD, YYYY/MM/DD or DD.MM.YYYY)"),
    ("2025-03-10T10:00", "'2025-03-10T10:00' is not a date (use YYYY-MM-DD, YYYY/MM/DD or DD.MM.YYYY)"),
    ("10 March 2025", "'10 March 2025' is not a date (use YYYY-MM-DD, YYYY/MM/DD or DD.MM.YYYY)"),
    ("2025-10", "'2025-10' is not a date (use YYYY-MM-DD, YYYY/MM/DD or DD.MM.YYYY)"),
    ("2025-02-30", "'2025-02-30' is not a valid date"),
    ("31.04.2025", "'31.04.2025' is not a valid date"),
    ("2025/13/01", "'2025/13/01' is not a valid date"),
])
def test_parse_date_rejects(text, reason):
    with pytest.raises(CellError) as excinfo:
        parse_date(text)
    assert excinfo.value.reason == reason


def test_parse_choice():
    choices = ["economy", "business", "first"]
    assert parse_choice(" Business ", choices) == "business"
    assert parse_choice("FIRST", ("first",)) == "first"
    assert parse_choice("", choices) is None
    with pytest.raises(CellError) as excinfo:
        parse_choice("premium", choices)
    assert excinfo.value.reason == "'premium' is not one of: economy, business, first"
    with pytest.raises(CellError, match="a value is required"):
        parse_choice("", choices, allow_empty=False)


# ---------------------------------------------------------------------------- formula injection
@pytest.mark.parametrize("text", [
    "=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\t=1", "\rfoo", "-", " =HYPERLINK(\"x\")",
    "=-5",
])
def test_formula_injection_detected(text):
    assert is_formula_injection(text)
    assert sanitize_cell_for_export(text) == "'" + text


@pytest.mark.parametrize("text", ["-5", "-5.2", "+3", "-0.5e3", "hello", "", "a=b", "1-2", "  "])
def test_not_formula_injection(text):
    assert not is_formula_injection(text)
    assert sanitize_cell_for_export(text) == text


def test_sanitize_non_strings():
    assert sanitize_cell_for_export(None) == ""
    assert sanitize_cell_for_export(Decimal("-1.5")) == "-1.5"
    assert sanitize_cell_for_export(3) == "3"
    assert sanitize_cell_for_export(date(2025, 1, 2)) == "2025-01-02"
    assert not is_formula_injection(None)


def test_write_csv_sanitizes_every_cell_and_round_trips():
    out = io.StringIO()
    count = write_csv(
        [["=cmd", Decimal("-2.5"), 'say "hi", ok'], {"name": "@x", "quantity": 1}],
        ["name", "quantity", "note"], out)
    assert count == 2
    assert out.getvalue() == "name,quantity,note\r\n'=cmd,-2.5,\"say \"\"hi\"\", ok\"\r\n'@x,1,\r\n"
    back = rows(out.getvalue().encode())
    assert [r.values for r in back] == [
        {"name": "'=cmd", "quantity": "-2.5", "note": 'say "hi", ok'},
        {"name": "'@x", "quantity": "1", "note": ""},
    ]
