"""The bad-input corpus: files a CRM export should never be, but sometimes is.

Each builder writes its file(s) into a folder and returns the path to give `crmkpi report`.
Files are built in code so the corpus needs no binary fixtures and stays small in the repo.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path

HEADER = "Deal ID,Deal Name,Deal Stage,Amount,Currency,Create Date,Close Date,Deal Owner\n"
GOOD_ROWS = [
    "D1,Alpha,Closed Won,1000,USD,2024-01-05,2024-02-01,Ann",
    "D2,Beta,Closed Lost,250,USD,2024-01-10,2024-01-20,Bob",
    "D3,Gamma,Proposal,400,USD,2024-02-01,,Ann",
]


def deals_csv(folder: Path, rows: list[str], header: str = HEADER, name: str = "deals.csv") -> Path:
    path = folder / name
    path.write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def empty(folder: Path) -> Path:
    path = folder / "deals.csv"
    path.write_bytes(b"")
    return path


def header_only(folder: Path) -> Path:
    return deals_csv(folder, [])


def binary_garbage(folder: Path) -> Path:
    path = folder / "deals.csv"
    path.write_bytes(random.Random(7).randbytes(8192))
    return path


def pdf_renamed(folder: Path) -> Path:
    path = folder / "deals.csv"
    body = (
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
        b"3 0 obj\n<< /Length 44 >>\nstream\n" + zlib.compress(b"BT /F1 12 Tf (Deals) Tj ET" * 20)
    )
    path.write_bytes(body + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
    return path


def _xlsx_bytes(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def truncated_xlsx(folder: Path) -> Path:
    rows = [HEADER.strip().split(",")] + [r.split(",") for r in GOOD_ROWS * 200]
    data = _xlsx_bytes(rows)
    path = folder / "deals.xlsx"
    path.write_bytes(data[: len(data) // 2])
    return path


# The minimal parts of a workbook, with the sheet supplied by the caller.
_CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-'
    b'package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.spreadsheetml.worksheet+xml"/>'
    b"</Types>"
)  # fmt: skip
_ROOT_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="xl/workbook.xml"/>'
    b"</Relationships>"
)  # fmt: skip
_WORKBOOK = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    b'<sheets><sheet name="Deals" sheetId="1" r:id="rId1"/></sheets></workbook>'
)  # fmt: skip
_WORKBOOK_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    b"</Relationships>"
)  # fmt: skip
_SHEET_OPEN = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_SHEET_CLOSE = b"</sheetData></worksheet>"


def _small_parts() -> dict[str, bytes]:
    return {
        "[Content_Types].xml": _CONTENT_TYPES,
        "_rels/.rels": _ROOT_RELS,
        "xl/workbook.xml": _WORKBOOK,
        "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS,
    }


def _deflated_member(name: str, chunk: bytes, repeats: int, head: bytes, tail: bytes) -> bytes:
    """A zip local entry whose content is head + chunk * repeats + tail, built without ever
    holding (or compressing) the whole content: the deflate blocks of `chunk` after a full flush
    are identical, so they are compressed once and repeated."""
    crc = zlib.crc32(head)
    for _ in range(repeats):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(tail, crc)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(head) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    last = comp.compress(tail) + comp.flush()
    data = first + block * repeats + last
    size = len(head) + len(chunk) * repeats + len(tail)
    return _local_entry(name, data, crc, size)


def _local_entry(name: str, data: bytes, crc: int, size: int) -> bytes:
    raw = name.encode()
    header = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(raw), 0
    )
    return header + raw + data


def _zip(entries: list[bytes]) -> bytes:
    """Assemble local entries (from _local_entry) into a zip with a central directory."""
    body = b""
    central = b""
    for entry in entries:
        offset = len(body)
        (_, ver, flag, method, t, d, crc, csize, usize, nlen, xlen) = struct.unpack(
            "<IHHHHHIIIHH", entry[:30]
        )
        name = entry[30 : 30 + nlen]
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, ver, flag, method, t, d, crc, csize, usize,
            nlen, 0, 0, 0, 0, 0, offset,
        ) + name  # fmt: skip
        body += entry
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(body), 0
    )
    return body + central + end


def _stored(name: str, data: bytes) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = comp.compress(data) + comp.flush()
    return _local_entry(name, packed, zlib.crc32(data), len(data))


def xlsx_zip_bomb(folder: Path, unpacked_gib: float = 1.0) -> Path:
    """A real workbook whose one sheet unpacks to `unpacked_gib` GiB from about 1 MB."""
    row = b'<row><c t="inlineStr"><is><t>bomb</t></is></c></row>'
    chunk = row * ((1 << 20) // len(row))
    repeats = int(unpacked_gib * 1024)
    entries = [_stored(name, data) for name, data in _small_parts().items()]
    entries.append(
        _deflated_member("xl/worksheets/sheet1.xml", chunk, repeats, _SHEET_OPEN, _SHEET_CLOSE)
    )
    path = folder / "deals.xlsx"
    path.write_bytes(_zip(entries))
    return path


def xlsx_lying_zip_bomb(folder: Path) -> Path:
    """The same 1 GiB sheet, but its zip headers declare 1 KiB (with the CRC of that first KiB),
    so that a check of the declared sizes alone lets it through."""
    row = b'<row><c t="inlineStr"><is><t>bomb</t></is></c></row>'
    chunk = row * ((1 << 20) // len(row))
    entries = [_stored(name, data) for name, data in _small_parts().items()]
    sheet = _deflated_member("xl/worksheets/sheet1.xml", chunk, 1024, _SHEET_OPEN, _SHEET_CLOSE)
    fields = list(struct.unpack("<IHHHHHIIIHH", sheet[:30]))
    declared = (_SHEET_OPEN + chunk)[:1024]
    fields[6], fields[8] = zlib.crc32(declared), len(declared)  # crc, uncompressed size
    entries.append(struct.pack("<IHHHHHIIIHH", *fields) + sheet[30:])
    path = folder / "deals.xlsx"
    path.write_bytes(_zip(entries))
    return path


def xml_entity_bomb(folder: Path) -> Path:
    """A workbook whose sheet declares nested entities (billion laughs) and uses the last one."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ]
    doctype = ("<!DOCTYPE worksheet [" + "".join(entities) + "]>").encode()
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        + doctype
        + b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Deal ID</t></is></c></row>'
        b'<row r="2"><c r="A2" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
        b"</sheetData></worksheet>"
    )
    entries = [_stored(name, data) for name, data in _small_parts().items()]
    entries.append(_stored("xl/worksheets/sheet1.xml", sheet))
    path = folder / "deals.xlsx"
    path.write_bytes(_zip(entries))
    return path


def valid_xlsx(folder: Path) -> Path:
    """A small correct workbook (the control for the archive checks)."""
    path = folder / "deals.xlsx"
    rows = [HEADER.strip().split(",")] + [r.split(",") for r in GOOD_ROWS]
    path.write_bytes(_xlsx_bytes(rows))
    return path


def huge_cell(folder: Path, megabytes: int = 50) -> Path:
    """One deal whose name is a 50 MB cell (a pasted e-mail thread, a base64 attachment)."""
    big = "x" * (megabytes * 1024 * 1024)
    return deals_csv(folder, [GOOD_ROWS[0], f"D9,{big},Proposal,10,USD,2024-03-01,,Ann"])


def ragged_rows(folder: Path) -> Path:
    return deals_csv(
        folder,
        [
            GOOD_ROWS[0],
            "D2,Beta,Closed Lost,250",  # short: missing dates and owner
            "D3,Gamma,Proposal,400,USD,2024-02-01,,Ann,extra,cells",  # long
            GOOD_ROWS[2].replace("D3", "D4"),
        ],
    )


def mixed_types(folder: Path) -> Path:
    return deals_csv(
        folder,
        [
            GOOD_ROWS[0],
            "D2,Beta,Closed Lost,two hundred,USD,2024-01-10,2024-01-20,Bob",
            "D3,Gamma,Proposal,400,USD,yesterday,,Ann",
            "D4,Delta,Closed Won,TRUE,USD,2024-01-05,2024-02-03,Ann",
        ],
    )


def unparseable_dates_and_numbers(folder: Path) -> Path:
    return deals_csv(
        folder,
        [
            "D1,Alpha,Closed Won,n/a?,USD,soon,later,Ann",
            "D2,Beta,Closed Lost,lots,USD,someday,never,Bob",
            "D3,Gamma,Proposal,???,USD,tbd,,Ann",
        ],
    )


def duplicate_headers(folder: Path) -> Path:
    header = "Deal ID,Deal Name,Amount,Amount,Deal Stage,Create Date,Close Date\n"
    return deals_csv(
        folder,
        [
            "D1,Alpha,1000,1100,Closed Won,2024-01-05,2024-02-01",
            "D2,Beta,250,260,Closed Lost,2024-01-10,2024-01-20",
        ],
        header=header,
    )


def duplicate_ids(folder: Path) -> Path:
    return deals_csv(folder, [*GOOD_ROWS, GOOD_ROWS[0].replace("Alpha", "Alpha again")])


def absurd_amounts(folder: Path) -> Path:
    return deals_csv(
        folder,
        [
            GOOD_ROWS[0],
            "D2,Beta,Closed Won,-500,USD,2024-01-10,2024-01-20,Bob",
            "D3,Gamma,Closed Won,1e300,USD,2024-01-10,2024-01-25,Bob",
            "D4,Delta,Closed Won,99999999999999999999,USD,2024-01-10,2024-01-28,Ann",
        ],
    )


def closed_before_created(folder: Path) -> Path:
    return deals_csv(folder, [GOOD_ROWS[0], "D2,Beta,Closed Won,250,USD,2024-03-10,2024-01-20,Bob"])


def future_dates(folder: Path) -> Path:
    return deals_csv(folder, [GOOD_ROWS[0], "D2,Beta,Closed Won,250,USD,2024-01-10,2091-01-20,Bob"])


def history_for_unknown_deals(folder: Path) -> Path:
    deals_csv(folder, GOOD_ROWS)
    (folder / "stage_history.csv").write_text(
        "Deal ID,Stage,Entered At\n"
        "D1,Proposal,2024-01-06\nD1,Closed Won,2024-02-01\n"
        "X404,Proposal,2024-01-07\nX405,Demo,2024-01-08\n",
        encoding="utf-8",
    )
    return folder


def mixed_currencies(folder: Path) -> Path:
    return deals_csv(
        folder,
        [
            GOOD_ROWS[0],
            "D2,Beta,Closed Won,250,EUR,2024-01-10,2024-01-20,Bob",
            "D3,Gamma,Closed Won,400,XYZ,2024-02-01,2024-02-11,Ann",
        ],
    )
