"""Limits on what one input may expand into, checked before a reader is given it.

The readers (calamine behind fastexcel, polars) build a dense grid in memory: a 1.7 KB workbook
with one cell at XFD1048576 asks for 2^34 cells (512 GiB), and a Rust allocation failure aborts
the whole process. So before any reader:

* a workbook's declared unpacked size is held to `[limits] max_workbook_mb`;
* each XLSX sheet's grid (rows x columns, from the row and cell references calamine uses) is held
  to `max_cells`, and the text its shared-string cells decode to is added to the workbook's
  bytes (one 32 KB string referenced by 100,000 cells is 3.3 GB of text from 50 KB);
* an HTML table's colspans are held to `max_columns` and `max_cells` while it is parsed;
* a FIFO, a pipe or a device is read as a stream, up to `max_stream_mb`, waiting at most
  `stream_timeout_seconds` for data (a FIFO nobody writes to, /dev/zero);
* a panic inside a Rust reader becomes one error naming the file, not a crash.

The `<dimension>` of a sheet is not used: calamine ignores it, and a wrong one is harmless.
"""

from __future__ import annotations

import io
import os
import re
import select
import stat
import time
import zipfile
from array import array
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmkpi.errors import InputError

if TYPE_CHECKING:
    from crmkpi.config import Config

MIB = 1024**2
_BLOCK = 1 << 20


@dataclass(frozen=True)
class Limits:
    """`[limits]` in crmkpi.toml; each default fits the largest real export seen with room."""

    max_cells: int = 20_000_000  # per sheet: 1M rows x 20 columns; calamine holds 32 bytes each
    max_columns: int = 16_384  # Excel's own width
    max_workbook_mb: float = 1024  # text a workbook's parts decode to, shared strings included
    max_stream_mb: float = 256  # bytes read from a pipe, FIFO or device
    stream_timeout_seconds: float = 60  # wait for the first byte of a FIFO or pipe

    @property
    def max_workbook_bytes(self) -> int:
        return int(self.max_workbook_mb * MIB)

    @property
    def max_stream_bytes(self) -> int:
        return int(self.max_stream_mb * MIB)


DEFAULT_LIMITS = Limits()


def limits_of(config: Config | None) -> Limits:
    """The `[limits]` section (validated with the config) over the defaults."""
    section = (config.raw.get("limits") if config else None) or {}
    return Limits(**{k: v for k, v in section.items() if k in Limits.__dataclass_fields__})


def _refuse(path: Path, what: str, setting: str, limit: str) -> InputError:
    return InputError(
        f"refusing: {what} (limit {limit})",
        path=str(path),
        hint=f"raise [limits] {setting} in crmkpi.toml if the file is genuine",
    )


# --- reading the bytes --------------------------------------------------------------------


def read_input_bytes(path: Path, limits: Limits = DEFAULT_LIMITS) -> tuple[bytes, os.stat_result]:
    """The file's bytes and its stat before reading; non-regular files read as a bounded stream."""
    try:
        before = path.stat()
        if stat.S_ISREG(before.st_mode):
            return path.read_bytes(), before
        if stat.S_ISDIR(before.st_mode):
            raise InputError("is a folder, not a file", path=str(path))
        return _read_stream(path, limits), before
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=str(path)) from exc


def _read_stream(path: Path, limits: Limits) -> bytes:
    """Read a pipe, FIFO or device without blocking forever and without reading forever."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    buffer = bytearray()
    deadline = time.monotonic() + limits.stream_timeout_seconds
    try:
        while True:
            try:
                block = os.read(fd, _BLOCK)
            except BlockingIOError:
                block = None
            if block:
                buffer += block
                if len(buffer) > limits.max_stream_bytes:
                    raise _refuse(
                        path,
                        f"more than {limits.max_stream_mb:g} MB from a stream",
                        "max_stream_mb",
                        f"{limits.max_stream_mb:g} MB",
                    )
                continue
            if block == b"" and (buffer or not _is_fifo(fd)):
                return bytes(buffer)  # end of data
            # a FIFO with no writer yet (reads give b"") or a pipe with nothing written yet
            left = deadline - time.monotonic()
            if left <= 0:
                raise _refuse(
                    path,
                    f"no data arrived within {limits.stream_timeout_seconds:g} s",
                    "stream_timeout_seconds",
                    f"{limits.stream_timeout_seconds:g} s",
                )
            if block is None:
                select.select([fd], [], [], min(left, 0.5))
            else:
                time.sleep(min(left, 0.05))
    finally:
        os.close(fd)


def _is_fifo(fd: int) -> bool:
    return stat.S_ISFIFO(os.fstat(fd).st_mode)


@contextmanager
def reader_failures(path: Path | str) -> Iterator[None]:
    """A panic in a Rust reader (pyo3's PanicException is a BaseException) -> InputError."""
    try:
        yield
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except InputError:
        raise
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":
            raise
        text = " ".join(str(exc).split())[:200]
        raise InputError(
            f"the file reader failed on this file ({text})",
            path=str(path),
            hint="open it in a spreadsheet program and save it again, or export as CSV",
        ) from None


# --- workbooks ------------------------------------------------------------------------------


def check_workbook_size(data: bytes, path: Path, limits: Limits = DEFAULT_LIMITS) -> None:
    """The unpacked size the zip directory declares, against `max_workbook_mb` (the archive
    check then proves no part unpacks to more than it declares)."""
    try:
        declared = sum(m.file_size for m in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, ValueError, EOFError):
        return  # the archive check names the damage
    if declared > limits.max_workbook_bytes:
        raise _refuse(
            path,
            f"workbook unpacks to {declared / MIB:,.0f} MB",
            "max_workbook_mb",
            f"{limits.max_workbook_mb:,g} MB",
        )


_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*?\sr="(\d+)"')
_CELL_REF = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="([A-Z]{1,3})(\d+)"')
_CELL_TAG = re.compile(rb"<(?:\w+:)?c[\s>/]")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")
_SHARED_REF = re.compile(rb'<(?:\w+:)?c\s[^>]*?\bt="s"[^>]*>\s*<(?:\w+:)?v>\s*(\d+)\s*<')
_SHARED_ITEM = re.compile(rb"<(?:\w+:)?si\b.*?</(?:\w+:)?si>", re.DOTALL)


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ch - 64
    return number


@dataclass
class _SheetExtent:
    rows: tuple[int, int] | None = None
    columns: tuple[int, int] | None = None
    row_tags: int = 0
    cells: int = 0
    referenced_cells: int = 0
    widest_row: int = 0  # cells written without a reference: the most in one row

    def cell_count(self) -> int:
        lo_row, hi_row = self.rows or (1, 0)
        row_span = max(hi_row - lo_row + 1, self.row_tags)
        lo_col, hi_col = self.columns or (1, 0)
        col_span = max(hi_col - lo_col + 1, self.widest_row, 1 if self.cells else 0)
        return row_span * col_span


def _xml_blocks(
    book: zipfile.ZipFile, name: str, cut_after: bytes = b">", tail_keep: int = 4096
) -> Iterator[bytes]:
    """The part's text in blocks that end after `cut_after` (the rest carried into the next
    block), so no tag, or no row, is split between two blocks."""
    carry = b""
    with book.open(name) as fh:
        while True:
            block = fh.read(_BLOCK)
            if not block:
                if carry:
                    yield carry
                return
            text = carry + block
            found = text.rfind(cut_after)
            cut = found + len(cut_after) if found != -1 else 0
            if cut == 0 and len(text) > tail_keep * 256:
                cut = len(text)  # no tag for megabytes: pass it on as it is
            yield text[:cut]
            carry = text[cut:]


def _shared_string_sizes(book: zipfile.ZipFile, names: set[str]) -> array[int]:
    """The XML length of every shared string (an upper bound on the text it decodes to)."""
    sizes: array[int] = array("q")
    if "xl/sharedStrings.xml" not in names:
        return sizes
    carry = b""
    for block in _xml_blocks(book, "xl/sharedStrings.xml"):
        text = carry + block
        end = 0
        for item in _SHARED_ITEM.finditer(text):
            sizes.append(item.end() - item.start())
            end = item.end()
        carry = text[end:]
    return sizes


def _scan_sheet(book: zipfile.ZipFile, name: str, sizes: array[int]) -> tuple[_SheetExtent, int]:
    """The grid a sheet spans and the bytes its shared-string cells decode to."""
    extent = _SheetExtent()
    shared_bytes = 0
    unreferenced = False
    for block in _xml_blocks(book, name):
        rows = [int(r) for r in _ROW.findall(block)]
        if rows:
            lo, hi = extent.rows or (rows[0], rows[0])
            extent.rows = (min(lo, *rows), max(hi, *rows))
        extent.row_tags += len(_ROW_TAG.findall(block))
        cells = len(_CELL_TAG.findall(block))
        extent.cells += cells
        columns = set()
        refs = 0
        for letters, row in _CELL_REF.findall(block):
            columns.add(letters)
            refs += 1
            r = int(row)
            lo, hi = extent.rows or (r, r)
            if r < lo or r > hi:
                extent.rows = (min(lo, r), max(hi, r))
        extent.referenced_cells += refs
        if columns:
            numbers = [_column_number(c) for c in columns]
            lo, hi = extent.columns or (numbers[0], numbers[0])
            extent.columns = (min(lo, *numbers), max(hi, *numbers))
        unreferenced = unreferenced or refs < cells
        if sizes:
            for index, count in Counter(_SHARED_REF.findall(block)).items():
                i = int(index)
                shared_bytes += count * (sizes[i] if i < len(sizes) else 0)
    if unreferenced:
        extent.widest_row = _widest_row(book, name)
    return extent, shared_bytes


def _widest_row(book: zipfile.ZipFile, name: str) -> int:
    """Cells written without a reference sit one after another: the most any row holds."""
    widest = current = 0
    tag = re.compile(rb"<(?:\w+:)?(row|c)[\s>/]")
    for block in _xml_blocks(book, name):
        for found in tag.finditer(block):
            if found.group(1) == b"row":
                current = 0
            else:
                current += 1
                widest = max(widest, current)
    return widest


# digits -> "0" and capitals -> "A": one substring search then finds the widest cell reference
_SHAPES = bytes.maketrans(b"0123456789" + bytes(range(65, 91)), b"0" * 10 + b"A" * 26)
_SMALL_STRING = 128  # shared strings up to this many bytes are bounded together, not one by one
_MAX_BIG_STRINGS = 64


def _widest(shapes: bytes, head: bytes, unit: bytes, tail: bytes, most: int) -> int:
    """The largest n (<= most) for which head + unit * n + tail occurs in `shapes`."""
    for n in range(most, 0, -1):
        if head + unit * n + tail in shapes:
            return n
    return 0


def _quick_bound(
    book: zipfile.ZipFile, name: str, sizes: array[int], max_cells: int
) -> tuple[int, int] | None:
    """Upper bounds on a sheet's cells and shared-string bytes from substring counts (several
    times faster than parsing every reference), or None when the sheet is written in a way the
    counts cannot bound (namespace prefixes, cells or rows without a reference, shared cells not
    written `t="s"><v>`, many long strings): then it is scanned cell by cell."""
    big = {i: n for i, n in enumerate(sizes) if n > _SMALL_STRING}
    if len(big) > _MAX_BIG_STRINGS:
        return None
    letters = digits = 0
    shared = 0
    for block in _xml_blocks(book, name, b"</row>"):
        if b":c " in block or b":row" in block or b":c>" in block:
            return None
        cells = block.count(b"<c ") + block.count(b"<c>") + block.count(b"<c/>")
        row_tags = block.count(b"<row ") + block.count(b"<row>")
        if cells != block.count(b'<c r="') or row_tags != block.count(b'<row r="'):
            return None
        shared_cells = block.count(b't="s"')
        if shared_cells != block.count(b't="s"><v>'):
            return None
        shared += shared_cells * min(_SMALL_STRING, max(sizes, default=0))
        for index, size in big.items():
            shared += block.count(b't="s"><v>%d</v>' % index) * size
        shapes = block.translate(_SHAPES)
        # one search each says whether this block holds a wider reference than seen so far
        if b'<c r="' + b"A" * (letters + 1) in shapes:
            letters = max(letters, _widest(shapes, b'<c r="', b"A", b"0", 4))
        if b"0" * (digits + 1) + b'"' in shapes:
            digits = max(
                digits,
                _widest(shapes, b"A", b"0", b'"', 10),
                _widest(shapes, b'<row r="', b"0", b'"', 10),
            )
    columns = {0: 0, 1: 26, 2: 702, 3: 18_278}.get(letters, 26**letters)
    rows = 10**digits - 1
    if rows * columns > max_cells:  # the bound is loose: the largest row number, exactly
        rows = _largest_row(book, name, digits)
    return max(rows, 1 if columns else 0) * columns, shared


def _largest_row(book: zipfile.ZipFile, name: str, digits: int) -> int:
    """The largest row number written with `digits` digits, in a cell or a row reference."""
    refs = re.compile(rb'<c r="[A-Z]{1,3}(\d{%d})"|<row r="(\d{%d})"' % (digits, digits))
    largest = 0
    for block in _xml_blocks(book, name, b"</row>"):
        for cell, row in refs.findall(block):
            largest = max(largest, int(cell or row))
    return largest


def check_xlsx_extent(data: bytes, path: Path, limits: Limits = DEFAULT_LIMITS) -> None:
    """Every sheet's grid against `max_cells`, the workbook's decoded text against
    `max_workbook_mb`, both before calamine allocates anything."""
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        members = {m.filename: m for m in book.infolist()}
        sizes = _shared_string_sizes(book, set(members))
        decoded = sum(m.file_size for m in members.values())
        for name in sorted(members):
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            bound = _quick_bound(book, name, sizes, limits.max_cells)
            if (
                bound is not None
                and bound[0] <= limits.max_cells
                and (decoded + bound[1] <= limits.max_workbook_bytes)
            ):
                decoded += bound[1]
                continue
            extent, shared_bytes = _scan_sheet(book, name, sizes)
            cells = extent.cell_count()
            if cells > limits.max_cells:
                raise _refuse(
                    path,
                    f"sheet part {name!r} spans {cells:,} cells",
                    "max_cells",
                    f"{limits.max_cells:,}",
                )
            decoded += shared_bytes
            if decoded > limits.max_workbook_bytes:
                raise _refuse(
                    path,
                    f"workbook decodes to more than {decoded / MIB:,.0f} MB of text",
                    "max_workbook_mb",
                    f"{limits.max_workbook_mb:,g} MB",
                )
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError):
        return  # damaged or protected: the archive check and the reader name it


# --- HTML tables ----------------------------------------------------------------------------


def check_table_span(
    path: Path | str, row: int, width: int, cells: int, limits: Limits = DEFAULT_LIMITS
) -> None:
    """An HTML row `width` cells wide, `cells` cells in the table so far (colspans counted)."""
    if width > limits.max_columns:
        raise _refuse(
            Path(path),
            f"table row {row:,} spans {width:,} columns",
            "max_columns",
            f"{limits.max_columns:,}",
        )
    if cells > limits.max_cells:
        raise _refuse(
            Path(path), f"table spans {cells:,} cells", "max_cells", f"{limits.max_cells:,}"
        )


def setting_names() -> dict[str, Any]:
    """The `[limits]` keys and their defaults (for the config schema and the docs)."""
    return {name: getattr(DEFAULT_LIMITS, name) for name in Limits.__dataclass_fields__}
