"""Limits on zip-based workbooks (XLSX, ODS), checked before any reader unpacks them.

A workbook is a zip of XML parts. A hostile or broken one can unpack to gigabytes from a few
kilobytes (a zip bomb) or declare XML entities that expand exponentially (billion laughs). The
readers (calamine, openpyxl) would try to hold the result in memory, so the zip directory and the
head of every XML part are checked first: that costs reading a few KiB per part, not unpacking.

Limits are generous for real exports: the largest sheet Excel can hold (1,048,576 rows) of a
typical CRM export unpacks to well under `MAX_UNPACKED_BYTES`, and real sheets compress 5-30x,
far below `MAX_RATIO`.
"""

from __future__ import annotations

import io
import re
import zipfile
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
        packed = max(member.compress_size, 1)
        if member.file_size > RATIO_MIN_BYTES and member.file_size / packed > MAX_RATIO:
            raise InputError(
                f"refusing {fmt} workbook: part {member.filename!r} unpacks "
                f"{member.file_size / packed:,.0f}x ({_mib(member.file_size)}; possible zip bomb)",
                path=str(path),
                hint=_HINT,
            )
    for member in members:
        if member.filename.endswith((".xml", ".rels")) and not member.is_dir():
            _check_xml_head(archive, member, path, fmt)


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
