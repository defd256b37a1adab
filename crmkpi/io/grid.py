"""Any supported file -> a grid of text cells with its header row found and line numbers known.

Every cell is read as text (the reader never guesses a type); numbers and dates are parsed later,
one sniffed format per column. Workbooks give one grid per sheet.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import Any

import polars as pl

from crmkpi.errors import InputError
from crmkpi.io.archive import check_workbook_archive
from crmkpi.io.columns import EDGE_SPACES
from crmkpi.io.html_table import read_html_rows
from crmkpi.io.limits import (
    DEFAULT_LIMITS,
    Limits,
    check_table_span,
    check_workbook_size,
    check_xlsx_extent,
    read_input_bytes,
    reader_failures,
)
from crmkpi.io.sniff import (
    decode,
    find_header_row,
    sniff_delimiter,
    sniff_encoding,
    sniff_format,
)
from crmkpi.io.text_lines import decode_by_lines, normalise_line_ends, short, transcode

SNIFF_LINES = 60
MAX_HEADER_CHARS = 256
SNIFF_BYTES = 256 * 1024
WORKBOOK_FORMATS = ("xlsx", "xls", "ods")


@dataclass
class Grid:
    """Header cells and data rows as String columns c0..cN; row i is on line first_line + i."""

    headers: list[str]
    frame: pl.DataFrame
    format: str
    header_row: int  # 1-based line (or sheet row) of the header
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    # line number -> field count, for lines with more fields than the header (the reader keeps
    # the header's width; the loader flags these rows so no dropped field goes unnoticed)
    long_lines: dict[int, int] = field(default_factory=dict)
    # those of them whose extra fields hold text: every value after the stray delimiter moved
    shifted_lines: frozenset[int] = frozenset()
    # whether some cell holds a line break, so rows and lines part ways (None: not known)
    multiline_cells: bool | None = None
    # the edge spaces (columns.EDGE_SPACES) the file holds at all (None: not known)
    edge_spaces: str | None = None
    # line number -> the encoding a line was read in when it differs from the file's
    odd_encoding_lines: dict[int, str] = field(default_factory=dict)

    @property
    def first_line(self) -> int:
        return self.header_row + 1


def _header_names(cells: list[Any]) -> list[str]:
    """Stripped header names; blanks become `column_N`, repeats get a numeric suffix."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, cell in enumerate(cells):
        name = str(cell).strip().lstrip("\ufeff") if cell is not None else ""
        if len(name) > MAX_HEADER_CHARS:  # a pasted cell or a file of one line, not a name:
            name = f"{name[:MAX_HEADER_CHARS]}…"  # header matching would crawl through it
        name = name or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        names.append(name)
    return names


def _from_rows(rows: list[list[str | None]], **meta: Any) -> Grid:
    idx = find_header_row(rows) if rows else 0
    header = rows[idx] if rows else []
    width = len(header)
    body = [(r + [None] * (width - len(r)))[:width] for r in rows[idx + 1 :]]
    frame = pl.DataFrame(
        {f"c{j}": [r[j] for r in body] for j in range(width)},
        schema={f"c{j}": pl.String for j in range(width)},
    )
    return Grid(_header_names(header), frame, header_row=idx + 1, **meta)


def _from_frame(raw: pl.DataFrame, header_index: int | None = None, **meta: Any) -> Grid:
    """A headerless String frame -> Grid, finding the header among its first rows (or taking
    row `header_index`, 0-based, when the config pins it)."""
    head_rows = raw.head(max(SNIFF_LINES, (header_index or 0) + 1)).rows()
    if header_index is not None and not 0 <= header_index < len(head_rows):
        raise InputError(f"header_row {header_index + 1} is outside the sheet's rows")
    if header_index is not None:
        idx = header_index
    else:
        idx = find_header_row([list(r) for r in head_rows]) if head_rows else 0
    header = list(head_rows[idx]) if head_rows else []
    body = raw.slice(idx + 1)
    body.columns = [f"c{j}" for j in range(body.width)]
    return Grid(_header_names(header), body, header_row=idx + 1, **meta)


def read_text(
    data: bytes, hints: dict[str, Any], path: Path, limits: Limits = DEFAULT_LIMITS
) -> Grid:
    hinted = hints.get("encoding")
    encoding = hinted or sniff_encoding(data)
    odd_lines: dict[int, str] = {}
    if encoding.replace("_", "-").lower() in ("utf-8", "utf8", "utf-8-sig"):
        utf8 = normalise_line_ends(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
    elif not hinted and not encoding.startswith("utf-16"):
        # a legacy code page was guessed because some bytes are not UTF-8: decided per line
        decoded = decode_by_lines(normalise_line_ends(data), encoding)
        utf8, encoding, odd_lines = decoded.utf8, decoded.encoding, decoded.odd_lines
    else:  # transcoded once, in chunks, handed to the CSV reader as UTF-8
        try:
            utf8 = normalise_line_ends(transcode(data, encoding))
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(f"cannot decode as {encoding}: {short(str(exc))}",
                             path=str(path)) from exc  # fmt: skip
    head = utf8[:SNIFF_BYTES].decode("utf-8", errors="ignore")
    lines = head.splitlines()[:SNIFF_LINES]
    import csv

    # The sample is at most SNIFF_BYTES: let the csv module's sniffing take a field that long
    # (its default limit, 128 KiB, fails on one huge cell such as a pasted e-mail thread).
    csv.field_size_limit(max(csv.field_size_limit(), SNIFF_BYTES + 1))
    # Excel's "sep=;" first line names the delimiter and is not part of the table
    excel_sep = re.fullmatch(r"sep=(.)", lines[0].strip()) if lines else None
    offset = 1 if excel_sep else 0
    delimiter = hints.get("delimiter") or (
        excel_sep.group(1) if excel_sep else sniff_delimiter(lines)
    )
    delimiter = "\t" if delimiter in ("\\t", "tab") else delimiter
    if len(delimiter.encode("utf-8")) != 1:
        raise InputError(
            f"the delimiter {short(delimiter, 20)!r} is not a one-byte character",
            path=str(path), row=1 if excel_sep else None,
            hint="use , ; | or a tab (Excel's sep= line or [sources.*.parse] delimiter)",
        )  # fmt: skip
    if "header_row" in hints:
        skip = int(hints["header_row"]) - 1
    else:
        body = lines[offset:]
        sample_rows = list(csv.reader(io.StringIO("\n".join(body)), delimiter=delimiter))
        # csv rows may span lines; count physical lines up to the header row
        idx = find_header_row([list(r) for r in sample_rows])
        skip = offset + _physical_line(body, delimiter, idx)
    if skip < len(lines) and lines[skip].count(delimiter) >= limits.max_columns:
        # the header's width is the frame's: the reader would build it before any check
        whole = utf8.split(b"\n", skip + 1)[skip]  # the sample may have cut the line short
        width = whole.count(delimiter.encode("utf-8")) + 1
        check_table_span(path, skip + 1, width, 0, limits)  # raises: names the line and limit
    options: dict[str, Any] = {
        "has_header": False, "skip_lines": skip, "separator": delimiter, "infer_schema": False,
        "quote_char": '"', "raise_if_empty": False,
    }  # fmt: skip
    try:
        # No row wider than the header is the common case: reading strictly proves it.
        raw = _read_csv(utf8, truncate_ragged_lines=False, **options)
        ragged = False
    except pl.exceptions.ComputeError:
        ragged = True
    try:
        if ragged:
            raw = _read_csv(utf8, truncate_ragged_lines=True, **options)
    except pl.exceptions.ComputeError as exc:
        raise InputError(
            f"cannot read as delimited text: {short(str(exc))}",
            path=str(path),
            row=_unclosed_quote_line(utf8),
        ) from exc
    if raw.height == 0:
        return Grid([], raw, "csv", skip + 1, encoding, delimiter)
    header = list(raw.row(0))
    body = raw.slice(1)
    body.columns = [f"c{j}" for j in range(body.width)]
    grid = Grid(_header_names(header), body, "csv", skip + 1, encoding, delimiter)
    grid.odd_encoding_lines = odd_lines
    # Every row on its own line (lines counted after the skipped ones = header + rows): no cell
    # holds a line break, and a line without quotes is judged alone exactly as the reader did.
    quoted = b'"' in utf8  # without quotes no cell can hold a line break
    lines = utf8.count(b"\n") + (0 if utf8.endswith(b"\n") else 1) if quoted else 0
    grid.multiline_cells = quoted and lines != skip + raw.height
    # a space the bytes lack cannot start or end a cell: cleaning checks test the others only
    # (NBSP is looked for by its last byte: one-byte searches are many times faster)
    grid.edge_spaces = "".join(
        c for c in EDGE_SPACES
        if (c != "\n" or grid.multiline_cells) and c.encode("utf-8")[-1:] in utf8
    )  # fmt: skip
    if ragged or grid.multiline_cells:
        grid.long_lines, grid.shifted_lines = _long_lines(utf8, skip, delimiter, len(header))
    elif quoted:  # the strict read passed: only lines with quotes can be judged apart
        grid.long_lines, grid.shifted_lines = _long_lines(
            utf8, skip, delimiter, len(header), quoted_only=True
        )
    return grid


def _unclosed_quote_line(data: bytes) -> int | None:
    """The line of the quote left open when the quotes of the file do not pair up."""
    if data.count(b'"') % 2 == 0:
        return None
    return data.count(b"\n", 0, data.rfind(b'"')) + 1


def _read_csv(data: bytes, **options: Any) -> pl.DataFrame:
    """The streaming engine reads text in parallel batches: on ten million rows it takes half
    the time of `pl.read_csv`."""
    return pl.scan_csv(data, **options).collect(engine="streaming")


def _long_lines(
    data: bytes, skip: int, delimiter: str, width: int, *, quoted_only: bool = False
) -> tuple[dict[int, int], frozenset[int]]:
    """Lines holding more fields than the header, counted per physical line in one vectorised
    pass: quoted parts are removed first; a line left with an unpaired quote (part of a cell
    spanning lines) cannot be judged alone and is left out. `quoted_only` looks at lines
    holding a quote only (the others are known not to be wider than the header)."""
    lines = _read_csv(
        data, has_header=False, separator="\x1f", quote_char=None, infer_schema=False,
        skip_lines=skip, raise_if_empty=False, truncate_ragged_lines=True,
    )  # fmt: skip
    if lines.width == 0:
        return {}, frozenset()
    text = lines.to_series(0)
    numbers = pl.int_range(skip + 1, skip + 1 + text.len(), eager=True)
    if quoted_only:
        quoted = text.str.contains('"', literal=True)
        text, numbers = text.filter(quoted), numbers.filter(quoted)
    text = text.str.replace_all(r'"[^"]*"', "")
    fields = text.str.count_matches(delimiter, literal=True) + 1
    many = pl.DataFrame({"line": numbers, "fields": fields, "text": text}).filter(
        (pl.col("fields") > width) & ~pl.col("text").str.contains('"', literal=True)
    )
    extra = pl.col("text").str.split(delimiter).list.slice(width).list.join("").str.strip_chars()
    shifted = many.filter(extra.str.len_bytes() > 0)["line"].to_list()
    return dict(many.select("line", "fields").iter_rows()), frozenset(shifted)


def _physical_line(lines: list[str], delimiter: str, record: int) -> int:
    """Physical line index where csv record number `record` starts."""
    if record == 0:
        return 0
    import csv

    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
    for i, _ in enumerate(reader):
        if i == record - 1:
            return reader.line_num
    return record


_SHEET_TAG = re.compile(r"<(?:\w+:)?sheet\b[^>]*>")
_REL_TAG = re.compile(r"<(?:\w+:)?Relationship\b[^>]*>")


def _attr(tag: str, name: str) -> str | None:
    found = re.search(rf'\s{re.escape(name)}="([^"]*)"', tag)
    return found.group(1) if found else None


_CELL = re.compile(r'<(?:\w+:)?c r="[A-Z]+(\d+)"[^>]*?(?:/>|>(.*?)</(?:\w+:)?c>)', re.DOTALL)


def xlsx_first_row(data: bytes, sheet: str) -> int:
    """The sheet row of the first cell holding a value (calamine starts its grid there).

    Read from the start of the sheet's XML only, so line numbers in messages match what a
    person sees in Excel even when a sheet starts below row 1.
    """
    from html import unescape

    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        workbook = book.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = book.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
        rid = next(
            _attr(t, "r:id") for t in _SHEET_TAG.findall(workbook)
            if unescape(_attr(t, "name") or "") == sheet
        )  # fmt: skip
        target = next(_attr(t, "Target") for t in _REL_TAG.findall(rels) if _attr(t, "Id") == rid)
        if target is None:
            return 1
        member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        with book.open(member) as fh:
            head = fh.read(1 << 20).decode("utf-8", "replace")
    except (KeyError, StopIteration, zipfile.BadZipFile, OSError):
        return 1
    for row, inner in _CELL.findall(head):
        if inner and ("<v" in inner or "<is" in inner or ":v" in inner):
            return int(row)
    return 1


def read_workbook(
    data: bytes,
    fmt: str,
    sheet: str | None,
    path: Path,
    header_row: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[Grid]:
    """One grid per sheet; `header_row` (the sheet row, 1-based) pins the header."""
    import fastexcel

    if fmt in ("xlsx", "ods"):
        check_workbook_size(data, path, limits)
        check_workbook_archive(data, path, fmt)
    if fmt == "xlsx":
        check_xlsx_extent(data, path, limits)
    try:
        book = fastexcel.read_excel(data)
    except Exception as exc:  # fastexcel raises its own error types per failure
        raise InputError(f"cannot open {fmt} workbook: {exc}", path=str(path)) from exc
    names = book.sheet_names
    if sheet is not None and sheet not in names:
        raise InputError(
            f"no sheet named {sheet!r}", path=str(path), hint=f"sheets: {', '.join(names)}"
        )
    grids = []
    for name in [sheet] if sheet else names:
        try:
            raw = book.load_sheet(name, header_row=None, dtypes="string").to_polars()
        except Exception as exc:  # a damaged sheet part: calamine's own error types
            raise InputError(f"cannot read sheet {name!r}: {exc}", path=str(path)) from exc
        if raw.width == 0:
            continue
        raw = raw.select(pl.all().cast(pl.String))
        # calamine starts its grid at the first used row; Excel row numbers are kept
        first = xlsx_first_row(data, name) if fmt == "xlsx" else 1
        pinned = None if header_row is None else int(header_row) - first
        try:
            grid = _from_frame(raw, pinned, format=fmt, sheet=name)
        except InputError as exc:
            raise InputError(exc.message, path=f"{path} [{name}]") from exc
        grid.header_row += first - 1
        grids.append(grid)
    return grids


def read_grids(
    path: Path,
    sheet: str | None = None,
    hints: dict[str, Any] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[Grid]:
    """Read any supported file into grids (one per sheet for workbooks)."""
    hints = hints or {}
    data, before = read_input_bytes(path, limits)
    try:
        after = path.stat()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=str(path)) from exc
    if S_ISREG(before.st_mode) and (
        len(data) != before.st_size
        or (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns)
    ):
        raise InputError(
            "file changed while being read",
            path=str(path),
            hint="run again once the export has finished writing",
        )
    fmt = sniff_format(data)
    if fmt == "zip" and path.suffix.lower() in (".xlsx", ".xlsm", ".ods"):
        check_workbook_archive(data, path, path.suffix[1:].lower())  # names what is damaged
    if fmt in WORKBOOK_FORMATS:
        with reader_failures(path):
            return read_workbook(data, fmt, sheet, path, hints.get("header_row"), limits)
    if sheet is not None:
        raise InputError(
            f"no sheet {sheet!r}: this file is {fmt}, not a workbook", path=str(path),
            hint="sheets apply to XLSX, XLS and ODS files",
        )  # fmt: skip
    if fmt == "html":
        encoding = hints.get("encoding") or sniff_encoding(data)
        rows = read_html_rows(decode(data, encoding), path, limits)
        return [_from_rows(rows, format="html", encoding=encoding)]
    if fmt in ("zip", "binary", "spreadsheetml"):
        raise InputError(
            f"not a table file this tool reads (looks like {fmt})",
            path=str(path),
            hint="export as CSV, XLSX, XLS or ODS",
        )
    with reader_failures(path):
        return [read_text(data, hints, path, limits)]
