"""Streaming CSV reading layer for the import contract (docs: shared/spec/csv-formats.md).

Pure Python, no Django. ``read_csv`` validates the header eagerly (raising ``CsvFileError``) and returns
a ``CsvReader`` that streams ``CsvRow`` objects; the ``parse_*`` helpers turn cell text into typed
values or raise ``CellError`` with a user-facing reason.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import functools
import io
import itertools
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import IO, Any, BinaryIO

__all__ = [
    "ISSUE_HEADER", "NUL_NOT_ALLOWED", "CellError", "ColumnSpec", "CsvFileError", "CsvReader", "CsvRow", "RowError",
    "RowWarning",
    "formula_error", "is_formula_injection", "neutralize_formula", "parse_bool", "parse_choice", "parse_date",
    "parse_decimal",
    "parse_int", "parse_text", "decimal_cell", "text_cell", "read_csv", "sanitize_cell_for_export", "write_csv",
    "csv_chunks", "export_cells",
]

Source = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO

NOT_UTF8_WARNING = "file is not UTF-8; read as Windows-1252"
_CHUNK = 64 * 1024
_SPOOL_IN_MEMORY = 4 * 1024 * 1024


# --------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class _Issue:
    row: int | None  # 1 = first data row; None = about the whole file
    column: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """Return ``{"row": ..., "column": ..., "reason": ...}`` (JSON-serialisable)."""
        return {"row": self.row, "column": self.column, "reason": self.reason}

    def __str__(self) -> str:
        where = "file" if self.row is None else f"row {self.row}"
        if self.column:
            where += f", column {self.column!r}"
        return f"{where}: {self.reason}"


ISSUE_HEADER = ["row", "column", "reason"]  # the columns of a file of row errors (RowError.as_dict)


@dataclass(frozen=True)
class RowError(_Issue):
    """A rejected row (or, with ``row=None``, a file-level problem)."""


@dataclass(frozen=True)
class RowWarning(_Issue):
    """Something the user should know about that does not reject anything."""


@dataclass
class ColumnSpec:
    """A column the caller understands. ``required`` means the *header* must contain it; whether a
    cell may be empty is up to the caller's parser (``allow_empty=False``)."""

    name: str
    required: bool = False


class CsvFileError(Exception):
    """The file cannot be imported at all (empty, no header, missing/typo'd/duplicate columns...)."""

    def __init__(self, errors: Sequence[RowError]):
        self.errors: list[RowError] = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


class CellError(ValueError):
    """Raised by the ``parse_*`` helpers; ``reason`` is a message meant for the user.

    Importers may name the ``column`` when they re-raise it for a row.
    """

    def __init__(self, reason: str, column: str | None = None):
        self.reason = reason
        self.column = column
        super().__init__(reason)


@dataclass(frozen=True)
class CsvRow:
    """One data row. ``values`` has a key for every declared column ('' when the cell is empty or
    the column is absent — see ``CsvReader.columns_present``); cells are stripped. ``error`` is set
    when the row is structurally invalid (too many cells); such rows should be rejected."""

    number: int
    values: dict[str, str]
    error: RowError | None = None

    def cell_error(self, column: str | None, reason: str) -> RowError:
        """Convenience: build a ``RowError`` for this row."""
        return RowError(self.number, column, reason)


# ---------------------------------------------------------------------------------------- byte input
class _Unclosable(io.RawIOBase):
    """Raw adapter so the TextIOWrapper we put on top never closes (or finalises) the caller's file."""

    def __init__(self, f: Any):
        self._f = f

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self._f.read(len(b))
        b[: len(data)] = data
        return len(data)


def _open_source(source: Source) -> tuple[Any, bool]:
    """Return (binary file object, owned_by_us)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source)), True
    if isinstance(source, (str, os.PathLike)):
        return open(source, "rb"), True  # closed by CsvReader.close()
    if hasattr(source, "read"):
        return source, False
    raise TypeError(f"read_csv() needs a path, bytes or a binary file object, not {type(source).__name__}")


def _is_seekable(f: Any) -> bool:
    try:
        return bool(f.seekable())
    except (AttributeError, ValueError, OSError):
        return False


def _too_large(max_bytes: int) -> CsvFileError:
    return CsvFileError([RowError(None, None, f"file exceeds the size limit of {max_bytes} bytes")])


def _check_type(chunk: Any) -> None:
    if isinstance(chunk, str):
        raise TypeError("read_csv() needs a binary file object (open the file with 'rb')")


def _make_seekable(f: Any, owned: bool, max_bytes: int | None) -> tuple[Any, bool, int]:
    """Return (file, owned, start offset); spool non-seekable streams to a temp file, enforcing
    ``max_bytes`` on the way."""
    if _is_seekable(f):
        start = f.tell()
        if max_bytes is not None:
            size = f.seek(0, io.SEEK_END) - start
            f.seek(start)
            if size > max_bytes:
                raise _too_large(max_bytes)
        return f, owned, start
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
    try:
        total = 0
        while chunk := f.read(_CHUNK):
            _check_type(chunk)
            total += len(chunk)
            if max_bytes is not None and total > max_bytes:
                raise _too_large(max_bytes)
            spool.write(chunk)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    if owned:
        f.close()
    return spool, True, 0


def _detect_encoding(f: Any, start: int) -> tuple[str, bool]:
    """Return (codec, has_utf8_bom) and leave ``f`` at ``start``.

    A file is UTF-8 only if *all* of it decodes as UTF-8, and an invalid byte can sit on the last of
    500,000 rows; sniffing a leading sample is not enough, and switching codec mid-stream would
    decode the two halves of the file differently. So we make a cheap first pass over the raw bytes
    with an incremental UTF-8 decoder (C speed, constant memory, 64 KiB at a time), stopping at the
    first invalid byte, then rewind and decode for real with the chosen codec. Bytes that are
    undefined even in cp1252 (0x81, 0x8D, 0x8F, 0x90, 0x9D) become U+FFFD rather than failing.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    head = b""
    utf8 = True
    while chunk := f.read(_CHUNK):
        _check_type(chunk)
        if len(head) < 3:
            head += chunk[: 3 - len(head)]
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError:
            utf8 = False
            break
    else:
        try:
            decoder.decode(b"", final=True)  # a truncated multi-byte sequence at EOF
        except UnicodeDecodeError:
            utf8 = False
    f.seek(start)
    bom = head.startswith(codecs.BOM_UTF8)
    if utf8:
        return ("utf-8-sig" if bom else "utf-8"), bom
    return "cp1252", bom


# ------------------------------------------------------------------------------------- header logic
def _norm(name: str) -> str:
    return name.strip().strip("\ufeff").strip().lower()


def _osa_distance(a: str, b: str) -> int:
    """Optimal-string-alignment edit distance (a transposition counts as one edit)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _resembles(unknown: str, known: str) -> float:
    """Similarity score > 0 if ``unknown`` is a likely typo of ``known`` (difflib ratio >= 0.8, or
    edit distance <= 2 — <= 1 for names shorter than 6 characters, so 'fte' is not a typo of 'note')."""
    ratio = difflib.SequenceMatcher(None, unknown, known).ratio()
    if ratio >= 0.8 or _osa_distance(unknown, known) <= (2 if len(known) >= 6 else 1):
        return ratio + 1e-9
    return 0.0


def _detect_delimiter(line: str) -> str:
    """Comma or semicolon, whichever occurs more often outside quotes in the header line."""
    counts = {",": 0, ";": 0}
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    return ";" if counts[";"] > counts[","] else ","


def _is_comment_line(line: str) -> bool:
    return line.strip().lstrip('"').lstrip().startswith("#")


def _is_blank_line(line: str) -> bool:
    return not line.strip().replace(",", "").replace(";", "").replace('"', "").strip()


# ------------------------------------------------------------------------------------------- reader
class CsvReader:
    """Iterate once over the data rows of a file opened by :func:`read_csv`.

    Attributes: ``encoding`` ('utf-8', 'utf-8-sig' when a BOM was present, or 'cp1252'),
    ``delimiter`` (',' or ';'), ``warnings`` (file-level ``RowWarning``s), ``columns_present``
    (canonical names found in the header, in header order), ``ignored_columns`` (unknown header cells).
    The underlying file is closed when iteration ends, on ``close()``, or when used as a context manager
    (a caller-supplied file object is never closed).
    """

    def __init__(self, binary: Any, owned: bool, encoding: str, bom: bool, columns: Sequence[ColumnSpec]):
        self._binary, self._owned = binary, owned
        self.encoding = encoding
        self.warnings: list[RowWarning] = []
        if encoding == "cp1252":
            self.warnings.append(RowWarning(None, None, NOT_UTF8_WARNING))
            if bom:
                binary.read(len(codecs.BOM_UTF8))
        errors = "replace" if encoding == "cp1252" else "strict"
        self._text = io.TextIOWrapper(io.BufferedReader(_Unclosable(binary)), encoding=encoding,
                                      errors=errors, newline="")
        self._names = [c.name for c in columns]
        self.delimiter = ","
        header_line = self._find_header_line()
        self._csv = csv.reader(itertools.chain([header_line], self._text), delimiter=self.delimiter)
        self._index, self.columns_present, self.ignored_columns = self._read_header(columns)
        self._started = False

    # -- header ---------------------------------------------------------------------------------
    def _find_header_line(self) -> str:
        """Skip leading blank/comment lines (and an Excel ``sep=;`` hint); pick the delimiter."""
        seen_content = False
        sep_hint: str | None = None
        while line := self._text.readline():
            if _is_blank_line(line):
                continue
            seen_content = True
            stripped = line.strip()
            if sep_hint is None and stripped.lower() in ("sep=,", "sep=;"):
                sep_hint = stripped[-1]
                continue
            if _is_comment_line(line):
                continue
            self.delimiter = sep_hint or _detect_delimiter(line)
            return line
        reason = "no header row found (only comments or blank lines)" if seen_content else "file is empty"
        raise CsvFileError([RowError(None, None, reason)])

    def _read_header(
        self, columns: Sequence[ColumnSpec]
    ) -> tuple[list[tuple[int, str]], list[str], list[str]]:
        try:
            header = next(self._csv)
        except csv.Error as exc:
            raise CsvFileError([RowError(None, None, f"malformed header row: {exc}")]) from exc
        self._header_width = len(header)
        known = {_norm(c.name): c.name for c in columns}
        index: list[tuple[int, str]] = []
        present: list[str] = []
        unknown: list[str] = []
        errors: list[RowError] = []
        seen: set[str] = set()
        for i, raw in enumerate(header):
            cell, key = raw.strip().strip("\ufeff").strip(), _norm(raw)
            if not key:
                continue  # trailing/empty header cells are ignored
            if key in seen:
                errors.append(RowError(None, cell, f"duplicate column '{cell}'"))
                continue
            seen.add(key)
            if key in known:
                index.append((i, known[key]))
                present.append(known[key])
            else:
                unknown.append(cell)
        absent = [k for k in known if k not in seen]
        ignored: list[str] = []
        for cell in unknown:
            # Only a column missing from the header can be the target of a typo: with 'note' present,
            # an extra 'notes' column blanks nothing and is merely ignored.
            scores = [(_resembles(_norm(cell), k), k) for k in absent]
            score, best = max(scores, default=(0.0, ""))
            if score > 0:
                errors.append(RowError(None, cell, f"unknown column '{cell}' looks like a misspelling of "
                                                   f"'{known[best]}'"))
            else:
                ignored.append(cell)
        for c in columns:
            if c.required and _norm(c.name) not in seen:
                errors.append(RowError(None, c.name, f"missing required column '{c.name}'"))
        if errors:
            raise CsvFileError(errors)
        if ignored:
            self.warnings.append(RowWarning(None, None, "ignored unknown column(s): " + ", ".join(ignored)))
        return index, present, ignored

    # -- rows -----------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[CsvRow]:
        if self._started:
            raise RuntimeError("a CsvReader can only be iterated once")
        self._started = True
        return self._rows()

    def _rows(self) -> Iterator[CsvRow]:
        number = 0
        width = self._header_width
        template = dict.fromkeys(self._names, "")
        try:
            for cells in self._csv:
                if cells and cells[0].lstrip().startswith("#"):
                    continue  # comments do not count as rows
                number += 1
                if not "".join(cells).strip():
                    continue  # blank rows are counted (the user sees them) but skipped silently
                values = template.copy()
                n = len(cells)
                for i, name in self._index:
                    if i < n:
                        values[name] = cells[i].strip()
                error = None
                if n > width:
                    used = max(i for i, c in enumerate(cells) if c.strip()) + 1
                    if used > width:
                        error = RowError(number, None, f"too many cells: the header has {width} columns "
                                                       f"but this row has {used}")
                if error is None:
                    error = formula_error(number, values)
                yield CsvRow(number, values, error)
        except csv.Error as exc:
            raise CsvFileError([RowError(number + 1, None, f"malformed CSV: {exc}")]) from exc
        except UnicodeDecodeError as exc:  # the file changed between the detection pass and now
            raise CsvFileError([RowError(number + 1, None, f"undecodable text: {exc}")]) from exc
        finally:
            self.close()

    def close(self) -> None:
        """Release the file (idempotent). Caller-supplied file objects are left open."""
        if not self._text.closed:
            self._text.close()
        if self._owned:
            self._binary.close()

    def __enter__(self) -> CsvReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_csv(source: Source, *, columns: Sequence[ColumnSpec], max_bytes: int | None = None) -> CsvReader:
    """Open a CSV import file, validate its header and return a streaming :class:`CsvReader`.

    ``source`` is a filesystem path (str/PathLike — never CSV text), ``bytes``, or a binary file object
    (read from its current position; non-seekable streams are spooled to a temporary file).
    Raises :class:`CsvFileError` for file-level problems: over ``max_bytes``, empty file, no header,
    duplicate header columns, an unknown column resembling a declared column absent from the header
    (a likely typo), missing required columns. Other unknown columns produce a warning.

    Row numbering: row 1 is the first record after the header; comment records (first cell starting
    with '#') do not advance the counter; fully blank records (e.g. ``,,,,``) do advance it but are
    not yielded. A quoted multi-line record is one row. Comment and blank lines *before* the header are
    skipped too. So row N is the N-th non-comment record after the header, as the user sees it.
    """
    names = [_norm(c.name) for c in columns]
    if len(set(names)) != len(names):
        raise ValueError("duplicate column names in ColumnSpec list")
    binary, owned = _open_source(source)
    try:
        binary, owned, start = _make_seekable(binary, owned, max_bytes)
        encoding, bom = _detect_encoding(binary, start)
        return CsvReader(binary, owned, encoding, bom, columns)
    except BaseException:
        if owned:
            binary.close()
        raise


# ------------------------------------------------------------------------------------ cell parsers
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_COMMA_DECIMAL_RE = re.compile(r"[+-]?\d*,\d+")


def _names_column(parse):
    """Every parser takes `column=`: its CellError then names the column, so callers need no wrapper."""

    @functools.wraps(parse)
    def parse_cell(*args, column: str | None = None, **kwargs):
        try:
            return parse(*args, **kwargs)
        except CellError as exc:
            if column is None or exc.column is not None:
                raise
            raise CellError(exc.reason, column=column) from None

    return parse_cell


def _cell(text: str | None, allow_empty: bool) -> str | None:
    """The stripped cell text, or None for an empty cell (an error unless ``allow_empty``)."""
    t = (text or "").strip()
    if not t and not allow_empty:
        raise CellError("a value is required")
    return t or None


def _check_range(value: Decimal, text: str, min: Any, max: Any) -> None:
    lo = None if min is None else Decimal(str(min))
    hi = None if max is None else Decimal(str(max))
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        if lo is not None and hi is not None:
            raise CellError(f"must be between {min} and {max} (got {text})")
        if lo is not None:
            raise CellError(f"must be ≥ {min} (got {text})")
        raise CellError(f"must be ≤ {max} (got {text})")


@_names_column
def parse_decimal(text: str | None, *, min: Any = None, max: Any = None,
                  allow_empty: bool = True) -> Decimal | None:
    """Parse a decimal number ('.' as decimal point, optional exponent). Empty -> None (or an error
    when ``allow_empty`` is false). NaN/infinity, '1,5' and thousands separators are rejected."""
    if (t := _cell(text, allow_empty)) is None:
        return None
    if not _NUMBER_RE.fullmatch(t):
        if _COMMA_DECIMAL_RE.fullmatch(t):
            raise CellError(f"'{t}' is not a number: use '.' as the decimal point")
        raise CellError(f"'{t}' is not a number")
    value = Decimal(t)  # the regex only lets finite literals through
    _check_range(value, t, min, max)
    return value


@_names_column
def parse_int(text: str | None, *, min: int | None = None, max: int | None = None,
              allow_empty: bool = True) -> int | None:
    """Parse a whole number. '3.0' (as spreadsheets write it) is accepted as 3; '3.5' is not."""
    if (t := _cell(text, allow_empty)) is None:
        return None
    if not _NUMBER_RE.fullmatch(t) or "e" in t.lower():
        raise CellError(f"'{t}' is not a whole number")
    value = Decimal(t)
    if value != value.to_integral_value():
        raise CellError(f"'{t}' is not a whole number")
    _check_range(value, t, min, max)
    return int(value)


_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


@_names_column
def parse_bool(text: str | None, *, allow_empty: bool = True) -> bool | None:
    """true/false, 1/0, yes/no (case-insensitive)."""
    if (t := _cell(text, allow_empty)) is None:
        return None
    if t.lower() in _TRUE:
        return True
    if t.lower() in _FALSE:
        return False
    raise CellError(f"'{t}' is not a boolean (use true/false, yes/no or 1/0)")


_DATE_FORMATS = [
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"), (1, 2, 3)),
    (re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"), (1, 2, 3)),
    (re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})"), (3, 2, 1)),
]


@_names_column
def parse_date(text: str | None, *, allow_empty: bool = True) -> date | None:
    """ISO YYYY-MM-DD, YYYY/MM/DD or DD.MM.YYYY; anything else (or an impossible date) is an error."""
    if (t := _cell(text, allow_empty)) is None:
        return None
    for regex, (y, m, d) in _DATE_FORMATS:
        match = regex.fullmatch(t)
        if match:
            try:
                return date(int(match[y]), int(match[m]), int(match[d]))
            except ValueError:
                raise CellError(f"'{t}' is not a valid date") from None
    raise CellError(f"'{t}' is not a date (use YYYY-MM-DD, YYYY/MM/DD or DD.MM.YYYY)")


@_names_column
def parse_choice(text: str | None, choices: Iterable[str], *, allow_empty: bool = True) -> str | None:
    """Match ``text`` case-insensitively against ``choices``; return the choice as spelled there."""
    if (t := _cell(text, allow_empty)) is None:
        return None
    options = list(choices)
    for option in options:
        if option.lower() == t.lower():
            return option
    raise CellError(f"'{t}' is not one of: {', '.join(options)}")


# ------------------------------------------------------------------------------------------ export
_DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_OR_SPACE = frozenset((*_DANGEROUS_FIRST, " "))


@_names_column
def parse_text(text: str | None, *, max_length: int | None = None, allow_empty: bool = True) -> str:
    """The stripped text ('' when empty and allowed); longer than `max_length` is an error."""
    t = _cell(text, allow_empty) or ""
    if max_length is not None and len(t) > max_length:
        raise CellError(f"at most {max_length} characters (got {len(t)})")
    return t


def is_formula_injection(text: object) -> bool:
    """True if a spreadsheet could interpret ``text`` as a formula (OWASP CSV injection): it starts
    with = + - @ TAB or CR (also after leading spaces). Plain numbers such as '-5' or '+1.5' are safe."""
    if not isinstance(text, str) or not (stripped := text.lstrip(" ")):
        return False
    return stripped[0] in _DANGEROUS_FIRST and not _NUMBER_RE.fullmatch(stripped.rstrip(" "))


NUL_NOT_ALLOWED = "a NUL character is not allowed"  # PostgreSQL text cannot hold one


def formula_error(number: int, values: dict[str, str]) -> RowError | None:
    """Imports refuse cells a spreadsheet would run as a formula (a lone '-' means "unknown"), and NUL
    characters, which no text column can store."""
    for name, text in values.items():
        if not text:
            continue
        if "\x00" in text:
            return RowError(number, name, NUL_NOT_ALLOWED)
        if text[0] not in _FORMULA_OR_SPACE:  # the common case, decided on the first character
            continue
        if text != "-" and is_formula_injection(text):
            return RowError(number, name, f"'{text[:20]}' looks like a spreadsheet formula "
                                          f"(starts with '{text[0]}'); formulas are not accepted")
    return None


def neutralize_formula(value: object) -> object:
    """The one formula-neutralising function of every file the product writes for a spreadsheet: a text
    that a spreadsheet would run gets a leading single quote; anything else (numbers, dates) is returned
    as it is, so binary formats keep their native types."""
    return "'" + value if isinstance(value, str) and is_formula_injection(value) else value


def sanitize_cell_for_export(value: object) -> str:
    """Render ``value`` as text (None -> ''), neutralised when it could be a formula."""
    return neutralize_formula("" if value is None else value if isinstance(value, str) else str(value))


def export_cells(row: Sequence[object] | Mapping[str, object], header: Sequence[str]) -> list[str]:
    """One row of an exported CSV: a sequence as it is, a mapping in `header`'s order; every cell sanitised."""
    cells = [row.get(h) for h in header] if isinstance(row, Mapping) else row
    return [sanitize_cell_for_export(c) for c in cells]


def write_csv(rows: Iterable[Sequence[object] | Mapping[str, object]], header: Sequence[str],
              stream: IO[str]) -> int:
    """Write ``header`` then ``rows`` (sequences, or mappings keyed by header names) to a text stream,
    sanitising every cell. Returns the number of data rows written."""
    writer = csv.writer(stream)
    writer.writerow(export_cells(header, header))
    count = 0
    for row in rows:
        writer.writerow(export_cells(row, header))
        count += 1
    return count


CSV_BATCH_ROWS = 500


def csv_chunks(rows: Iterable[Sequence[object] | Mapping[str, object]], header: Sequence[str]) -> Iterator[bytes]:
    """The header then the rows, as UTF-8 CSV bytes, one batch of rows at a time (bounded memory, for
    streamed responses); cells sanitised as `write_csv`'s."""
    buffer = io.StringIO(newline="")
    pending = write_csv([], header, buffer)
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(export_cells(row, header))
        pending += 1
        if pending >= CSV_BATCH_ROWS:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


# Cell parsers bound to a model field's limits (decimal places, max digits, max length), shared by the factor
# and entry kinds and their API serializers; each raises CellError naming its column.
def decimal_cell(text: str, column: str, field, *, min=0, max=None,
                 allow_empty: bool = False) -> Decimal | None:
    """A number that fits `field`: rounded to its decimal places as PostgreSQL would, too large → error."""
    value = parse_decimal(text, min=min, max=max, allow_empty=allow_empty, column=column)
    if value is None:
        return None
    if value and value.adjusted() >= field.max_digits - field.decimal_places:
        raise CellError(f"'{text}' is too large", column=column)
    return value.quantize(Decimal(1).scaleb(-field.decimal_places), rounding=ROUND_HALF_UP)


def text_cell(text: str, column: str, field, *, required: bool = True) -> str:
    """A text that fits `field` (a model field: its max_length is the one place the limit is written)."""
    return parse_text(text, max_length=field.max_length, allow_empty=not required, column=column)
