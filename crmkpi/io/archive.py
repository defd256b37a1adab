"""Limits on zip-based workbooks (XLSX, ODS), checked before any reader unpacks them.

A workbook is a zip of XML parts. A hostile or broken one can unpack to gigabytes from a few
kilobytes (a zip bomb) or declare XML entities that expand exponentially (billion laughs). The
readers (calamine, openpyxl) would try to hold the result in memory, so before them:

* the sizes the zip directory declares are checked (an honest bomb is refused at once);
* every part is inflated once as a stream, counting bytes and keeping none, because the declared
  sizes can lie and calamine trusts the stream, not the directory (~0.3 s for a 100k-row sheet);
* the prolog of every XML part is read for a DOCTYPE.

Limits are generous for real exports: the largest sheet Excel can hold (1,048,576 rows) of a
typical CRM export unpacks to well under `MAX_UNPACKED_BYTES`, and real sheets compress 5-30x,
far below `MAX_RATIO`.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from pathlib import Path

from crmkpi.errors import InputError

MAX_UNPACKED_BYTES = 2 * 1024**3
MAX_MEMBERS = 10_000
MAX_RATIO = 250  # unpacked / packed, checked for parts over RATIO_MIN_BYTES
RATIO_MIN_BYTES = 16 * 1024**2
XML_PROLOG_MAX_BYTES = 1024**2
_ROOT_START = re.compile(rb"<[A-Za-z_]")
_HINT = "open it in a spreadsheet program and save it again, or export as CSV"


def _mib(n: int) -> str:
    return f"{n / 1024**2:,.0f} MiB"


def check_workbook_archive(data: bytes, path: Path, fmt: str = "xlsx") -> None:
    """Raise InputError when the zip would unpack too large or an XML part declares entities."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise InputError(
            f"damaged {fmt} workbook (not a readable zip: {exc})", path=str(path), hint=_HINT
        ) from exc
    if len(members) > MAX_MEMBERS:
        raise InputError(
            f"refusing {fmt} workbook with {len(members):,} parts (limit {MAX_MEMBERS:,})",
            path=str(path),
        )
    total = sum(m.file_size for m in members)
    if total > MAX_UNPACKED_BYTES:
        raise InputError(
            f"refusing {fmt} workbook that unpacks to {_mib(total)} "
            f"(limit {_mib(MAX_UNPACKED_BYTES)}; possible zip bomb)",
            path=str(path),
            hint=_HINT,
        )
    for member in members:
        _check_ratio(member, member.file_size, path, fmt)
    unpacked = 0
    for member in members:
        size = _unpacked_size(data, member, MAX_UNPACKED_BYTES - unpacked, path, fmt)
        if size > member.file_size:
            raise InputError(
                f"refusing {fmt} workbook: part {member.filename!r} declares "
                f"{member.file_size:,} bytes but unpacks to more (possible zip bomb)",
                path=str(path),
                hint=_HINT,
            )
        if size < member.file_size:
            raise InputError(
                f"damaged {fmt} workbook: part {member.filename!r} is shorter than declared",
                path=str(path),
                hint=_HINT,
            )
        unpacked += size
    for member in members:
        if member.filename.endswith((".xml", ".rels")) and not member.is_dir():
            _check_xml_head(archive, member, path, fmt)


def _check_ratio(member: zipfile.ZipInfo, size: int, path: Path, fmt: str) -> None:
    packed = max(member.compress_size, 1)
    if size > RATIO_MIN_BYTES and size / packed > MAX_RATIO:
        raise InputError(
            f"refusing {fmt} workbook: part {member.filename!r} unpacks "
            f"{size / packed:,.0f}x ({_mib(size)}; possible zip bomb)",
            path=str(path),
            hint=_HINT,
        )


def _unpacked_size(data: bytes, member: zipfile.ZipInfo, limit: int, path: Path, fmt: str) -> int:
    """The bytes `member` really inflates to, counted up to just past `limit` and its declared
    size (whichever is smaller), so a lying directory entry cannot make this unpack a bomb."""
    if member.flag_bits & 0x1 or member.compress_type not in (
        zipfile.ZIP_STORED,
        zipfile.ZIP_DEFLATED,
    ):
        return member.file_size  # encrypted or exotic: the reader will refuse it on its own
    offset = member.header_offset
    name_length, extra_length = struct.unpack("<HH", data[offset + 26 : offset + 30])
    start = offset + 30 + name_length + extra_length
    packed = memoryview(data)[start : start + member.compress_size]
    if member.compress_type == zipfile.ZIP_STORED:
        return len(packed)
    cap = min(limit, member.file_size) + 1
    inflater = zlib.decompressobj(-15)
    total = 0
    try:
        for i in range(0, len(packed), 1 << 16):
            piece: bytes | memoryview = packed[i : i + (1 << 16)]
            while piece:
                total += len(inflater.decompress(piece, 1 << 20))
                if total >= cap:
                    return total
                piece = inflater.unconsumed_tail
    except zlib.error as exc:
        raise InputError(
            f"damaged {fmt} workbook: part {member.filename!r} cannot be unpacked ({exc})",
            path=str(path),
            hint=_HINT,
        ) from exc
    return total


def _check_xml_head(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, path: Path, fmt: str
) -> None:
    """Office XML parts never carry a DOCTYPE; one that does is refused (entity expansion).

    Only the prolog is read: everything before the root element, where a DOCTYPE must stand.
    """
    head = b""
    try:
        with archive.open(member) as fh:
            while len(head) < XML_PROLOG_MAX_BYTES:
                block = fh.read(8192)
                head += block
                if not block or _ROOT_START.search(head):
                    break
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise InputError(
            f"damaged {fmt} workbook: part {member.filename!r} cannot be unpacked ({exc})",
            path=str(path),
            hint=_HINT,
        ) from exc
    except RuntimeError as exc:  # encrypted member
        raise InputError(
            f"{fmt} workbook is password-protected ({member.filename!r})",
            path=str(path),
            hint="save an unprotected copy",
        ) from exc
    root = _ROOT_START.search(head)
    prolog = (head[: root.start()] if root else head).lower()
    if b"<!doctype" in prolog or b"<!entity" in prolog:
        raise InputError(
            f"refusing {fmt} workbook: part {member.filename!r} declares XML entities "
            "(a DOCTYPE, which real workbooks never have)",
            path=str(path),
            hint=_HINT,
        )
