"""Hostile and unusual inputs, a few bytes each, that expand, hang or mislead a reader.

Each builder writes into a folder and returns the path to give `crmkpi`. Workbooks are zipped
by hand (badinput_corpus's helpers), so a 1.7 KB file can declare a cell at XFD1048576.
"""

from __future__ import annotations

from pathlib import Path

from badinput_corpus import (
    _CONTENT_TYPES,
    _ROOT_RELS,
    _SHEET_CLOSE,
    _SHEET_OPEN,
    _WORKBOOK,
    _WORKBOOK_RELS,
    GOOD_ROWS,
    HEADER,
    _deflated_member,
    _stored,
    _zip,
)

HEADER_CELLS = HEADER.strip().split(",")
_MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _inline(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


def _header_row() -> bytes:
    cells = b"".join(_inline(f"{chr(65 + i)}1", name) for i, name in enumerate(HEADER_CELLS))
    return b'<row r="1">' + cells + b"</row>"


def _good_rows() -> bytes:
    out = b""
    for n, row in enumerate(GOOD_ROWS, start=2):
        cells = b"".join(
            _inline(f"{chr(65 + i)}{n}", value) for i, value in enumerate(row.split(",")) if value
        )
        out += f'<row r="{n}">'.encode() + cells + b"</row>"
    return out


def _workbook(folder: Path, sheet: bytes, extra: dict[str, bytes] | None = None) -> Path:
    parts = {
        "[Content_Types].xml": _CONTENT_TYPES,
        "_rels/.rels": _ROOT_RELS,
        "xl/workbook.xml": _WORKBOOK,
        "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS,
        "xl/worksheets/sheet1.xml": sheet,
        **(extra or {}),
    }
    path = folder / "deals.xlsx"
    path.write_bytes(_zip([_stored(name, data) for name, data in parts.items()]))
    return path


def xlsx_far_cell(folder: Path, ref: str = "XFD1048576") -> Path:
    """Three good deals, then one cell at `ref`: a dense grid to there is 17 billion cells."""
    row = int("".join(c for c in ref if c.isdigit()))
    far = f'<row r="{row}">'.encode() + _inline(ref, "x") + b"</row>"
    return _workbook(folder, _SHEET_OPEN + _header_row() + _good_rows() + far + _SHEET_CLOSE)


def xlsx_far_dimension(folder: Path) -> Path:
    """Good cells, but a <dimension> claiming the whole sheet (A1:XFD1048576)."""
    sheet = _SHEET_OPEN.replace(b"<sheetData>", b'<dimension ref="A1:XFD1048576"/><sheetData>')
    return _workbook(folder, sheet + _header_row() + _good_rows() + _SHEET_CLOSE)


def xlsx_shared_string_fill(folder: Path, cells: int = 100_000, length: int = 32_768) -> Path:
    """One `length`-byte shared string referenced by `cells` cells: 3.3 GB of text from ~50 KB."""
    strings = (
        b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="' + _MAIN_NS + b'" count="1" '
        b'uniqueCount="1"><si><t>' + b"s" * length + b"</t></si></sst>"
    )
    body = b"".join(
        f'<row r="{n}"><c r="A{n}" t="s"><v>0</v></c></row>'.encode() for n in range(2, cells + 2)
    )
    rels = _WORKBOOK_RELS.replace(
        b"</Relationships>",
        b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
    )
    types = _CONTENT_TYPES.replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )
    path = _workbook(
        folder,
        _SHEET_OPEN + _header_row() + body + _SHEET_CLOSE,
        {"xl/sharedStrings.xml": strings, "xl/_rels/workbook.xml.rels": rels,
         "[Content_Types].xml": types},
    )  # fmt: skip
    return path


def xlsx_many_big_sheets(folder: Path, sheets: int = 120, mib_each: int = 15) -> Path:
    """`sheets` sheets of `mib_each` MiB each, every one under the per-part ratio check's
    16 MiB floor: together they unpack to 1.8 GiB from about 1 MB."""
    row = b'<row><c t="inlineStr"><is><t>bomb</t></is></c></row>'
    chunk = row * ((1 << 20) // len(row))
    names = "".join(
        f'<sheet name="S{i}" sheetId="{i}" r:id="rId{i}"/>' for i in range(1, sheets + 1)
    ).encode()
    workbook = _WORKBOOK.replace(b'<sheet name="Deals" sheetId="1" r:id="rId1"/>', names)
    rels = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + b"".join(
            f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/'
            f'2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'.encode()
            for i in range(1, sheets + 1)
        )
        + b"</Relationships>"
    )
    entries = [
        _stored("[Content_Types].xml", _CONTENT_TYPES),
        _stored("_rels/.rels", _ROOT_RELS),
        _stored("xl/workbook.xml", workbook),
        _stored("xl/_rels/workbook.xml.rels", rels),
    ]
    sheet = _deflated_member("xl/worksheets/sheet1.xml", chunk, mib_each, _SHEET_OPEN, _SHEET_CLOSE)
    head_length = 30 + len("xl/worksheets/sheet1.xml")
    for i in range(1, sheets + 1):
        name = f"xl/worksheets/sheet{i}.xml"
        fields = sheet[:26]  # the same content under another name
        entries.append(
            fields + len(name).to_bytes(2, "little") + b"\0\0" + name.encode()
            + sheet[head_length:]
        )  # fmt: skip
    path = folder / "deals.xlsx"
    path.write_bytes(_zip(entries))
    return path


def html_colspan(folder: Path, span: int = 5_000_000) -> Path:
    """A Bitrix24-style HTML .xls whose one cell spans five million columns."""
    rows = "".join(
        "<tr>" + "".join(f"<td>{v}</td>" for v in r.split(",")) + "</tr>" for r in GOOD_ROWS
    )
    text = (
        "<html><body><table><tr>" + "".join(f"<th>{h}</th>" for h in HEADER_CELLS) + "</tr>"
        + rows + f'<tr><td colspan="{span}">total</td></tr></table></body></html>'
    )  # fmt: skip
    path = folder / "deals.xls"
    path.write_text(text, encoding="utf-8")
    return path


def deals_bytes(folder: Path, body: bytes, name: str = "deals.csv") -> Path:
    path = folder / name
    path.write_bytes(body)
    return path


def good_csv_bytes(line_end: bytes = b"\n") -> bytes:
    lines = [HEADER.strip(), *GOOD_ROWS]
    return b"".join(line.encode() + line_end for line in lines)


def xlsx_far_cell_prefixed(folder: Path) -> Path:
    """The far cell again, every tag written with a namespace prefix (`<x:c r=...>`), which a
    search for `<c r="` alone would miss."""
    sheet = _SHEET_OPEN + _header_row() + _good_rows()
    sheet += b'<row r="1048576">' + _inline("XFD1048576", "x") + b"</row>" + _SHEET_CLOSE
    for tag in (b"row", b"c", b"is", b"t", b"sheetData"):
        sheet = sheet.replace(b"<" + tag + b" ", b"<x:" + tag + b" ")
        sheet = sheet.replace(b"<" + tag + b">", b"<x:" + tag + b">")
        sheet = sheet.replace(b"</" + tag + b">", b"</x:" + tag + b">")
    sheet = sheet.replace(b"<worksheet xmlns=", b'<x:worksheet xmlns:x="' + _MAIN_NS + b'" xmlns=')
    sheet = sheet.replace(b"</worksheet>", b"</x:worksheet>")
    return _workbook(folder, sheet)


def xlsx_cell_outside_its_row(folder: Path) -> Path:
    """A cell whose reference (XFD1048576) disagrees with its row tag (r="5")."""
    far = b'<row r="5">' + _inline("XFD1048576", "x") + b"</row>"
    return _workbook(folder, _SHEET_OPEN + _header_row() + _good_rows() + far + _SHEET_CLOSE)
